"""The fetch stage over HTTP from 127.0.0.1: skip, resume, per-source failures, refused names."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from source_fixtures import build_mirror, stage_config

from corpus.sources.stage import FETCH as SPEC
from kuznia.driver import run_stage
from kuznia.files import read_json
from kuznia.mappers import thread_mapper
from kuznia.stage import MANIFEST, TaskError

REPO = Path(__file__).resolve().parents[3]
BETA = "speakleash/beta.jsonl.zst"


def fetch(cfg, work_dir, **kw):
    logs: list[str] = []
    res = run_stage(SPEC, cfg, work_dir, mapper=thread_mapper(cfg["fetch"].concurrency), log=logs.append, **kw)
    return res, logs


def data_requests(srv) -> int:
    return sum(1 for p, _ in srv.requests if p.endswith((".zst", ".bz2")))


@pytest.fixture
def served(mirror):
    build_mirror(mirror.root)
    return mirror


def test_fetch_everything_then_nothing_the_second_time(served, tmp_path):
    local_dir = tmp_path / "moje"
    local_dir.mkdir()
    (local_dir / "x.txt").write_text("lokalny tekst", "utf-8")
    cfg = stage_config(served, {"fetch": {"local": [{"name": "moje", "path": str(local_dir)}]}})
    res, _ = fetch(cfg, tmp_path / "work")
    raw = tmp_path / "work" / "raw"
    for name in ("alpha", "beta", "gamma"):
        for ext in ("jsonl.zst", "manifest"):
            assert (raw / "speakleash" / f"{name}.{ext}").read_bytes() == \
                (served.root / "speakleash" / f"{name}.{ext}").read_bytes()
    dump = "plwiki-20240101-pages-articles.xml.bz2"
    assert (raw / "wikipedia" / dump).read_bytes() == \
        (served.root / "wikipedia/plwiki/20240101" / dump).read_bytes()
    m = res.manifest
    assert sorted(m["sources"]) == ["local.moje", "speakleash.alpha", "speakleash.beta",
                                    "speakleash.gamma", "wikipedia"]
    assert m["sources"]["wikipedia"]["checksum"].startswith("sha1 ")
    assert m["sources"]["local.moje"]["inventory"][0]["path"] == "x.txt"
    assert m["counts"]["files"] == 7 and m["counts"]["already_there"] == 0
    assert [o["path"] for o in m["outputs"]] == sorted(o["path"] for o in m["outputs"])
    assert not list(raw.rglob("*.part"))

    before = list(served.requests)
    res2, logs = fetch(cfg, tmp_path / "work")
    assert res2.skipped and served.requests == before  # not even the index is read again
    assert any("up to date" in line for line in logs)


def test_cut_connection_in_the_stage_resumes(served, tmp_path):
    size = (served.root / BETA).stat().st_size
    served.cut_after[BETA] = size // 3
    res, _ = fetch(stage_config(served), tmp_path / "work")
    assert served.requests_for(BETA) == [None, f"bytes={size // 3}-"]
    assert served.bytes_served[BETA] == size
    assert res.manifest["sources"]["speakleash.beta"]["download"]["attempts"] == 2


def test_a_size_that_disagrees_with_the_manifest_costs_one_transfer(served, tmp_path):
    good = (served.root / BETA).read_bytes()
    (served.root / BETA).write_bytes(good + b"junk")  # the file on the server is not what its manifest says
    res, _ = fetch(stage_config(served), tmp_path / "work")
    assert "size mismatch" in res.manifest["failed"]["speakleash.beta"]
    assert res.manifest["counts"]["failed_sources"] == 1 and "speakleash.beta" not in res.manifest["sources"]
    assert served.requests_for(BETA) == [None]
    assert (tmp_path / "work/raw" / (BETA + ".size-mismatch")).read_bytes() == good + b"junk"
    # trusting the file instead: accepted, and the disagreement noted
    res, _ = fetch(stage_config(served, {"fetch": {"trust_size": False}}), tmp_path / "work2")
    assert "accepted" in res.manifest["sources"]["speakleash.beta"]["size_disagrees"]


def test_failed_sources_are_recorded_and_the_rest_go_on(served, tmp_path, closed_port):
    served.not_found.add(BETA)
    dead = f"http://127.0.0.1:{closed_port}/wikipedia"
    cfg = stage_config(served, {"fetch": {"wikipedia": {"base_url": dead}}})
    res, _ = fetch(cfg, tmp_path / "work")
    failed = res.manifest["failed"]
    assert sorted(failed) == ["speakleash.beta", "wikipedia"]
    assert f"cannot fetch {served.url(BETA)}: HTTP 404" in failed["speakleash.beta"]
    assert sorted(res.manifest["sources"]) == ["speakleash.alpha", "speakleash.gamma"]


def test_404_and_unreachable_host_fail_their_source_while_the_others_finish(served, tmp_path, closed_port):
    served.not_found.add(BETA)
    dead = f"http://127.0.0.1:{closed_port}/wikipedia"
    cfg = stage_config(served, {"fetch": {"wikipedia": {"base_url": dead}, "on_error": "fail"}})
    with pytest.raises(TaskError) as e:
        fetch(cfg, tmp_path / "work")
    msg = str(e.value)
    assert "2 task(s) failed" in msg
    assert f"speakleash.beta: NotFoundError: cannot fetch {served.url(BETA)}: HTTP 404" in msg
    assert f"cannot fetch {dead}/plwiki/20240101/plwiki-20240101-sha1sums.txt: gave up" in msg
    raw = tmp_path / "work" / "raw"
    assert (raw / "speakleash/alpha.jsonl.zst").exists() and (raw / "speakleash/gamma.jsonl.zst").exists()
    assert not (raw / "speakleash/beta.jsonl.zst").exists() and not (raw / MANIFEST).exists()

    # Fixed: the rerun fetches only what failed (the config changed, the files stay and verify).
    served.not_found.clear()
    served.bytes_served.clear()
    res, _ = fetch(stage_config(served), tmp_path / "work")
    assert set(served.bytes_served) == {BETA, "speakleash/speakleash.json", "speakleash/alpha.manifest",
                                        "speakleash/beta.manifest", "speakleash/gamma.manifest",
                                        "wikipedia/plwiki/20240101/plwiki-20240101-sha1sums.txt",
                                        "wikipedia/plwiki/20240101/plwiki-20240101-pages-articles.xml.bz2"}
    assert res.manifest["counts"]["already_there"] == 2


def test_unreachable_index_fails_speakleash_only(served, tmp_path, closed_port):
    dead = f"http://127.0.0.1:{closed_port}/speakleash"
    cfg = stage_config(served, {"fetch": {"speakleash": {"base_url": dead}}})
    res, _ = fetch(cfg, tmp_path / "skip")
    assert list(res.manifest["failed"]) == ["speakleash index"] and list(res.manifest["sources"]) == ["wikipedia"]
    cfg = stage_config(served, {"fetch": {"speakleash": {"base_url": dead}, "on_error": "fail"}})
    with pytest.raises(TaskError) as e:
        fetch(cfg, tmp_path / "work")
    assert f"speakleash/index: FetchError: cannot fetch {dead}/speakleash.json: gave up" in str(e.value)
    assert "1 task(s) failed" in str(e.value)
    assert (tmp_path / "work/raw/wikipedia/plwiki-20240101-pages-articles.xml.bz2").exists()


def test_a_traversal_name_in_the_index_is_refused(served, tmp_path):
    build_mirror(served.root, names=["alpha", "../x", "a/../../y", None])
    res, _ = fetch(stage_config(served), tmp_path / "work")
    failed = res.manifest["failed"]
    index = served.url("speakleash/speakleash.json")
    assert sorted(failed) == ["speakleash index entry 1", "speakleash index entry 2", "speakleash index entry 3"]
    msg = "\n".join(failed.values())
    assert f"refusing dataset name '../x' from the Speakleash index {index}" in msg
    assert f"refusing dataset name 'a/../../y' from the Speakleash index {index}" in msg
    assert f"refusing dataset name None from the Speakleash index {index}" in msg
    assert not any(".." in p or p.endswith(("x.manifest", "y.manifest")) for p, _ in served.requests)
    assert sorted(p.name for p in (tmp_path / "work").rglob("*.jsonl.zst")) == ["alpha.jsonl.zst"]
    assert sorted(res.manifest["sources"]) == ["speakleash.alpha", "wikipedia"]
    # `exclude` takes the unsafe names as the index lists them (they never become paths)
    cfg = stage_config(served, {"fetch": {"speakleash": {"exclude": ["../x", "a/../../y"]}}})
    assert list(fetch(cfg, tmp_path / "w2")[0].manifest["failed"]) == ["speakleash index entry 3"]  # the nameless one
    with pytest.raises(TaskError, match="3 task"):
        fetch(stage_config(served, {"fetch": {"on_error": "fail"}}), tmp_path / "w3")


def test_killed_fetch_finishes_without_fetching_finished_files_again(served, tmp_path):
    size = (served.root / BETA).stat().st_size
    half = size // 2
    served.stall_after[BETA] = half  # beta hangs half-way; we kill the process there
    work = tmp_path / "work"
    slow = stage_config(served, {"fetch": {"concurrency": 1, "timeout_s": 60,
                                           "wikipedia": {"enabled": False}}})
    script = ("import json, sys\nfrom corpus.sources.config import FetchConfig\n"
              "from kuznia.driver import run_stage\nfrom kuznia.mappers import thread_mapper\n"
              "from corpus.sources.stage import FETCH as SPEC\n"
              "cfg = {'fetch': FetchConfig.model_validate(json.loads(sys.argv[1]))}\n"
              "run_stage(SPEC, cfg, sys.argv[2], mapper=thread_mapper(1))\n")
    proc = subprocess.Popen([sys.executable, "-c", script, json.dumps(slow["fetch"].model_dump(mode="json")),
                             str(work)], cwd=REPO, env={"PYTHONPATH": str(REPO), "KUZNIA_PROGRESS": "0"})
    part = work / "raw" / (BETA + ".part")
    deadline = time.monotonic() + 60
    while not (part.exists() and part.stat().st_size == half):
        assert proc.poll() is None and time.monotonic() < deadline, "fetch did not reach the stall"
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert (work / "raw/speakleash/alpha.jsonl.zst").exists()  # finished before the kill
    assert not (work / "raw/speakleash/gamma.jsonl.zst").exists()  # not started
    alpha_requests = served.requests_for("speakleash/alpha.jsonl.zst")

    served.bytes_served.clear()
    res, logs = fetch(slow, work)
    assert served.requests_for("speakleash/alpha.jsonl.zst") == alpha_requests  # reused, not re-fetched
    assert any("reusing 1 finished task(s)" in line for line in logs)
    assert served.requests_for(BETA)[-1] == f"bytes={half}-"
    assert served.bytes_served[BETA] == size - half
    assert (work / "raw" / BETA).read_bytes() == (served.root / BETA).read_bytes()
    assert res.manifest["counts"]["resumed_bytes"] == half
    assert read_json(work / "raw" / MANIFEST)["counts"]["files"] == 6
