"""Integrity under real conditions, through the real CLI in subprocesses.

Damage: a truncated clean part, a bit-flipped corpus part, a truncated token shard and a
checkpoint with flipped bytes (same size) are each named by `kuznia verify` and `kuznia status
--verify` with the command that repairs it; running the printed commands gives back the reference
run's bytes, resuming training never loads the damaged checkpoint, and `verify` is clean after.

Bad sources: a Speakleash mirror served over HTTP from 127.0.0.1 whose index has a traversal
name, a nameless entry, a dataset that answers 404, one whose file is cut short (its manifest
says otherwise) and one whose `.zst` is corrupt, next to good ones: `kuznia run` builds the
corpus from the good ones and reports every failed source with its reason, after at most one
full transfer of the cut-short file.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sqlite3
import threading
from collections import Counter
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from e2e_support import ROOT, data_files, e2e_config, kuznia, manifest

from corpus.report.summary import load_report_json
from kuznia.registry import folder
from train.checkpoint import list_checkpoints

pytestmark = pytest.mark.slow


def _flip(path: Path, at: int, n: int) -> None:
    """Invert `n` bytes of a file from offset `at` (its size stays the same)."""
    data = bytearray(path.read_bytes())
    data[at:at + n] = bytes(b ^ 0xFF for b in data[at:at + n])
    path.write_bytes(bytes(data))


def _repairs(text: str) -> list[str]:
    """The repair commands a verify printed (`repair: `...``) below its table, in order, without
    repeats (a table cell wraps a command between the cells of other columns)."""
    seen: list[str] = []
    for cmd in re.findall(r"repair: `([^`]+)`", " ".join(text.rsplit("└", 1)[-1].split())):
        if cmd not in seen:
            seen.append(cmd)
    return seen


def test_damage_is_named_and_the_printed_commands_repair_it(reference, copy_of, tmp_path):
    wd = copy_of(reference)
    cfg = e2e_config(tmp_path / "config.yaml", **{"runner.kind": "process", "runner.workers": 2})
    where = ["--config", str(cfg), "--work-dir", str(wd)]
    clean_part = sorted((wd / folder("clean")).glob("*/part-*.parquet"))[0]
    corpus_part = sorted((wd / folder("corpus")).glob("*/part-*.parquet"))[-1]
    shard = wd / folder("tokens") / "train" / "shard-00000.npy"
    last = list_checkpoints(wd / folder("train"))[-1][1]
    clean_part.write_bytes(clean_part.read_bytes()[:-300])
    _flip(corpus_part, corpus_part.stat().st_size // 2, 64)
    shard.write_bytes(shard.read_bytes()[:-4096])
    _flip(last / "model.pt", 1 << 16, 4096)
    damaged = [clean_part, corpus_part, shard, last]

    out = kuznia(["verify", *where], tmp_path, check=False)
    said = " ".join(out.stdout.split())
    assert out.returncode == 1
    for p in damaged:
        assert f"damaged {p.relative_to(wd).as_posix()}" in said, p
    assert "cut short or overwritten" in said and "its bytes changed" in said
    commands = _repairs(out.stdout)
    assert [c.split()[2] for c in commands] == ["clean", "corpus", "tokens", "train"]

    # status: sizes without --verify (the flipped files keep their size), everything with it
    st = kuznia(["status", *where], tmp_path, check=False)
    assert st.returncode == 1 and sorted(c.split()[2] for c in _repairs(st.stdout)) == ["clean", "tokens"]
    st = kuznia(["status", "--verify", *where], tmp_path, check=False)
    assert st.returncode == 1 and _repairs(st.stdout) == commands
    assert re.search(r"clean\W+damaged", st.stdout)  # its row in the table

    logs = []
    for cmd in commands:
        args = shlex.split(cmd)
        assert args[:2] == ["kuznia", "stage"] and args[-4:] == where
        logs.append(kuznia(args[1:], tmp_path).stdout)
    train_log = " ".join(logs[-1].split())
    assert f"checkpoint {last.name} is damaged" in train_log and "set aside" in train_log
    # the repair re-ran only what was damaged: the same bytes as the reference run, everywhere
    assert kuznia(["verify", *where], tmp_path).returncode == 0
    for stage in ("clean", "corpus", "tokens"):
        assert data_files(wd, stage) == data_files(reference, stage), stage
    assert (last / "model.pt").read_bytes() == (reference / folder("train") / last.name / "model.pt").read_bytes()
    aside = [p for p in (wd / folder("train") / "superseded").rglob("model.pt")]
    assert len(aside) == 1 and aside[0].parent.name == last.name  # the damaged one, kept
    assert "every stage is done" in kuznia(["status", "--verify", *where], tmp_path).stdout


class _CountingHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - the http.server API
        self.server.gets[self.path.lstrip("/")] += 1
        super().do_GET()


@pytest.fixture
def bad_mirror(tmp_path):
    """The demo mirror with five bad datasets next to the good ones, served on 127.0.0.1."""
    root = tmp_path / "mirror"
    shutil.copytree(ROOT / "data" / "demo", root)
    sl = root / "speakleash"
    index = json.loads((sl / "speakleash.json").read_text("utf-8"))
    good = [e["name"] for e in index]

    def clone(src: str, dst: str, data: bytes, file_size: int) -> None:
        m = json.loads((sl / f"{src}.manifest").read_text("utf-8"))
        m.update(name=dst, file_size=file_size)
        (sl / f"{dst}.manifest").write_text(json.dumps(m), "utf-8")
        (sl / f"{dst}.jsonl.zst").write_bytes(data)
        index.append({**next(e for e in index if e["name"] == src), "name": dst, "file_size": file_size})

    full = (sl / "fortunes_pl.jsonl.zst").read_bytes()
    clone("fortunes_pl", "cut_pl", full[: len(full) // 2], len(full))  # the manifest says the whole
    corrupt = full[:1000] + bytes(b ^ 0x5A for b in full[1000:3000]) + full[3000:]
    clone("fortunes_pl", "corrupt_pl", corrupt, len(corrupt))  # fetches fine, cannot be parsed
    clone("fortunes_pl", "missing_pl", b"", 1)
    (sl / "missing_pl.jsonl.zst").unlink()  # its manifest is there, its data file answers 404
    index += [{"name": "../../etc/x", "file_size": 1}, {"category": "no name", "file_size": 1}]
    (sl / "speakleash.json").write_text(json.dumps(index), "utf-8")

    srv = ThreadingHTTPServer(("127.0.0.1", 0), partial(_CountingHandler, directory=str(root)))
    srv.gets = Counter()
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield srv, good
    srv.shutdown()
    srv.server_close()


def test_bad_sources_are_reported_and_the_corpus_is_built_from_the_rest(bad_mirror, tmp_path):
    srv, good = bad_mirror
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    cfg = e2e_config(tmp_path / "config.yaml", **{"fetch.speakleash.base_url": f"{url}/speakleash",
                                                   "fetch.wikipedia.base_url": f"{url}/wikipedia",
                                                   "fetch.backoff_s": 0.01})
    wd = tmp_path / "work"
    where = ["--config", str(cfg), "--work-dir", str(wd)]
    kuznia(["run", "--stages", "fetch-corpus", *where], tmp_path)

    failed = {**manifest(wd, "fetch")["failed"], **manifest(wd, "docs")["failed"]}
    assert sorted(failed) == ["speakleash index entry 8", "speakleash index entry 9", "speakleash.corrupt_pl",
                              "speakleash.cut_pl", "speakleash.missing_pl"]
    assert "refusing dataset name '../../etc/x'" in failed["speakleash index entry 8"]
    assert "refusing dataset name None" in failed["speakleash index entry 9"]
    assert "size mismatch" in failed["speakleash.cut_pl"]
    assert "HTTP 404" in failed["speakleash.missing_pl"]
    assert "records are malformed" in failed["speakleash.corrupt_pl"]
    assert srv.gets["speakleash/cut_pl.jsonl.zst"] == 1  # one transfer, not one per retry
    assert (wd / folder("fetch") / "speakleash" / "cut_pl.jsonl.zst.size-mismatch").exists()
    assert not any(".." in p for p in srv.gets)

    corpus_sources = sorted(manifest(wd, "corpus")["funnel"]["sources"])
    assert corpus_sources == sorted(["wikipedia", *(f"speakleash.{g}" for g in good)])
    report = load_report_json(wd)["run"]["failed_sources"]
    assert len(report) == 5 and all(why for why in report.values())
    st = " ".join(kuznia(["status", *where], tmp_path).stdout.split())
    for src in failed:
        assert f"{src}:" in st, src


def test_a_gpu_slot_left_taken_by_a_dead_run_is_given_back(reference, copy_of, tmp_path):
    """The slot count of Prefect's concurrency limit lives in the database, the lease that frees it
    in the temporary API server: a run killed while training left the slot taken for good, and
    every later run waited for it. The GPU lock file says no live run holds it: it is given back."""
    wd = copy_of(reference)
    cfg = e2e_config(tmp_path / "config.yaml")
    where = ["--config", str(cfg), "--work-dir", str(wd)]
    kuznia(["run", "--stages", "train", *where], tmp_path)  # creates the limit
    db = sqlite3.connect(tmp_path / "prefect-home" / "prefect.db")
    with db:
        assert db.execute("update concurrency_limit_v2 set active_slots = 1 where name like 'kuznia-gpu-%'"
                          ).rowcount == 1  # what a SIGKILL mid-training leaves
    out = kuznia(["run", "--stages", "train", *where], tmp_path, timeout=180)
    assert "giving back 1 slot(s) left taken by a run that died" in out.stdout + out.stderr
    assert [r[0] for r in db.execute("select active_slots from concurrency_limit_v2")] == [0]
    db.close()
