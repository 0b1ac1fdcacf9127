"""The stage contract: skip, wipe on change, reuse of finished tasks, --force, --source, atomic writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kuznia.config import Section
from kuznia.driver import run_stage
from kuznia.mappers import serial_mapper
from kuznia.files import atomic_path, write_json_atomic
from kuznia.manifest import stage_status
from kuznia.registry import StageInfo
from kuznia.stage import MANIFEST, Phase, StageError, StageSpec, TaskError

CALLS: list[str] = []
FAIL_ON: set[str] = set()


class ToyConfig(Section):
    parts: int = 1
    """How many tasks the toy stage plans."""


def _plan(ctx):
    n = ctx.cfg.toy.parts
    return [{"id": f"p{i}", "source": "a" if i % 2 == 0 else "b", "n": i} for i in range(n)]


def _run(ctx, task):
    CALLS.append(task["id"])
    if task["id"] in FAIL_ON:
        raise RuntimeError(f"boom in {task['id']}")
    with atomic_path(ctx.dir / task["source"] / f"{task['id']}.txt") as tmp:
        tmp.write_text(f"part {task['n']}\n")
    return {"rows": task["n"]}


def _finish(ctx, records):
    return {"counts": {"rows": sum(r["rows"] for r in records["main"])}}


TOY = StageInfo("toy", "docs", "test_driver:SPEC", (), "a toy stage writing one file per task")
SPEC = StageSpec(info=TOY, config_keys=("toy",), phases=[Phase("main", _plan, _run)], finish=_finish)


def cfg_with(parts: int) -> dict:
    return {"toy": ToyConfig(parts=parts)}


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    FAIL_ON.clear()


def test_run_writes_manifest_last_and_skips_when_up_to_date(tmp_path: Path):
    res = run_stage(SPEC, cfg_with(4), tmp_path, log=lambda m: None)
    assert not res.skipped and sorted(CALLS) == ["p0", "p1", "p2", "p3"]
    m = json.loads((tmp_path / "docs" / MANIFEST).read_text())
    assert m["counts"] == {"rows": 6}
    assert [o["path"] for o in m["outputs"]] == ["a/p0.txt", "a/p2.txt", "b/p1.txt", "b/p3.txt"]
    assert all(o["checksum"].startswith("xxh3_128:") for o in m["outputs"])
    CALLS.clear()
    res2 = run_stage(SPEC, cfg_with(4), tmp_path, log=lambda m: None)
    assert res2.skipped and CALLS == []
    assert stage_status(SPEC, cfg_with(4), tmp_path).state == "done"
    assert stage_status(SPEC, cfg_with(3), tmp_path).state == "stale"


def test_config_change_wipes_old_outputs(tmp_path: Path):
    run_stage(SPEC, cfg_with(4), tmp_path, log=lambda m: None)
    run_stage(SPEC, cfg_with(2), tmp_path, log=lambda m: None)
    files = sorted(p.relative_to(tmp_path / "docs").as_posix() for p in (tmp_path / "docs").rglob("*.txt"))
    assert files == ["a/p0.txt", "b/p1.txt"]


def test_interrupted_run_reuses_finished_tasks(tmp_path: Path):
    FAIL_ON.add("p2")
    with pytest.raises(TaskError, match="p2: RuntimeError: boom in p2"):
        run_stage(SPEC, cfg_with(4), tmp_path, log=lambda m: None)
    assert not (tmp_path / "docs" / MANIFEST).exists()
    assert sorted(CALLS) == ["p0", "p1", "p2", "p3"]  # siblings of the failed task still ran
    FAIL_ON.clear()
    CALLS.clear()
    run_stage(SPEC, cfg_with(4), tmp_path, log=lambda m: None)
    assert CALLS == ["p2"]
    assert (tmp_path / "docs" / MANIFEST).exists()


def test_force_reruns_everything_and_source_reruns_one_source(tmp_path: Path):
    run_stage(SPEC, cfg_with(4), tmp_path, log=lambda m: None)
    CALLS.clear()
    run_stage(SPEC, cfg_with(4), tmp_path, force=True, log=lambda m: None)
    assert sorted(CALLS) == ["p0", "p1", "p2", "p3"]
    CALLS.clear()
    run_stage(SPEC, cfg_with(4), tmp_path, force=True, source="b", log=lambda m: None)
    assert sorted(CALLS) == ["p1", "p3"]
    assert (tmp_path / "docs" / MANIFEST).exists()


def test_source_alone_does_not_finish_the_stage(tmp_path: Path):
    res = run_stage(SPEC, cfg_with(4), tmp_path, source="a", log=lambda m: None)
    assert sorted(CALLS) == ["p0", "p2"] and res.manifest_path is None
    CALLS.clear()
    run_stage(SPEC, cfg_with(4), tmp_path, log=lambda m: None)
    assert sorted(CALLS) == ["p1", "p3"]


def test_missing_upstream_names_the_stage_to_run(tmp_path: Path):
    info = StageInfo("toy2", "toy2", "test_driver:SPEC", ("docs",), "reads docs")
    spec = StageSpec(info=info, config_keys=("toy",), phases=[Phase("main", _plan, _run)], finish=_finish)
    with pytest.raises(StageError, match=r"needs the output of stage 'docs'.*kuznia stage docs"):
        run_stage(spec, cfg_with(1), tmp_path, log=lambda m: None)


def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path):
    target = tmp_path / "x" / "out.json"
    with pytest.raises(ZeroDivisionError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            1 / 0
    assert not target.exists() and os.listdir(tmp_path / "x") == []
    write_json_atomic(target, {"b": 1, "a": 2})
    assert target.read_text() == '{\n  "a": 2,\n  "b": 1\n}\n'


def test_inputs_outside_the_work_dir_are_part_of_the_fingerprint(tmp_path: Path):
    src = tmp_path / "texts"
    src.mkdir()
    (src / "a.txt").write_text("Ala ma kota.")

    def listing(cfg):
        return sorted(p.name for p in src.iterdir())

    spec = StageSpec(info=TOY, config_keys=("toy",), phases=[Phase("main", _plan, _run)], finish=_finish,
                     inputs=listing)
    run_stage(spec, cfg_with(1), tmp_path / "w", log=lambda m: None)
    assert stage_status(spec, cfg_with(1), tmp_path / "w").state == "done"
    (src / "b.txt").write_text("Kot ma Alę.")
    assert stage_status(spec, cfg_with(1), tmp_path / "w").state == "stale"


def test_a_mapping_of_sections_is_all_a_stage_needs(tmp_path: Path):
    with pytest.raises(StageError, match="no section 'toy'"):
        run_stage(SPEC, {"other": ToyConfig()}, tmp_path, log=lambda m: None)


def test_task_markers_say_where_the_task_ran(tmp_path: Path):
    run_stage(SPEC, cfg_with(2), tmp_path, log=lambda m: None)
    marker = json.loads((tmp_path / "docs" / "_tasks" / "main" / "p0.json").read_text())
    assert marker["worker"]["pid"] == os.getpid() and marker["rows"] == 0


def test_an_unknown_source_is_refused_with_the_sources_listed(tmp_path: Path):
    with pytest.raises(StageError, match=r"--source bb: stage 'toy' has no such source; did you mean b\? "
                                         r"Its sources: a, b"):
        run_stage(SPEC, cfg_with(4), tmp_path, source="bb", log=lambda m: None)
    assert CALLS == []


def test_a_changed_config_reruns_and_drops_what_no_task_wrote(tmp_path: Path):
    run_stage(SPEC, cfg_with(4), tmp_path, log=lambda m: None)
    (tmp_path / "docs" / "stray.txt").write_text("left by something else")
    CALLS.clear()
    run_stage(SPEC, cfg_with(2), tmp_path, log=lambda m: None)
    assert sorted(CALLS) == ["p0", "p1"]  # the task record changed with the config: both re-run
    files = sorted(p.relative_to(tmp_path / "docs").as_posix() for p in (tmp_path / "docs").rglob("*.txt"))
    assert files == ["a/p0.txt", "b/p1.txt"]
    markers = sorted(p.name for p in (tmp_path / "docs" / "_tasks" / "main").iterdir())
    assert markers == ["p0.json", "p1.json"]


def _inputs(ctx, task):
    return [ctx.work_dir / "in" / f"{task['id']}.txt"]


def test_tasks_with_declared_inputs_rerun_only_when_their_inputs_change(tmp_path: Path):
    (tmp_path / "in").mkdir()
    for i in range(3):
        (tmp_path / "in" / f"p{i}.txt").write_text(f"input {i}")
    spec = StageSpec(info=TOY, config_keys=("toy",), phases=[Phase("main", _plan, _run, _inputs)],
                     finish=_finish, inputs=lambda cfg: sorted(
                         (p.name, p.read_text()) for p in (tmp_path / "in").iterdir()))
    run_stage(spec, cfg_with(3), tmp_path, log=lambda m: None)
    CALLS.clear()
    (tmp_path / "in" / "p1.txt").write_text("input 1, edited")
    logs: list[str] = []
    res = run_stage(spec, cfg_with(3), tmp_path, log=logs.append)
    assert not res.skipped and CALLS == ["p1"]
    assert "[toy] main: reusing 2 finished task(s) of 3" in logs


def test_a_mapper_is_told_how_many_bytes_each_task_reads(tmp_path: Path):
    (tmp_path / "in").mkdir()
    for i in range(3):
        (tmp_path / "in" / f"p{i}.txt").write_text("x" * (10 * (i + 1)))
    seen: list = []

    def mapper(calls):
        seen.extend(c.input_bytes for c in calls)
        return serial_mapper(calls)

    spec = StageSpec(info=TOY, config_keys=("toy",), phases=[Phase("main", _plan, _run, _inputs)], finish=_finish)
    run_stage(spec, cfg_with(3), tmp_path, mapper=mapper, log=lambda m: None)
    assert seen == [10, 20, 30]
    seen.clear()
    run_stage(StageSpec(info=TOY, config_keys=("toy",), phases=[Phase("main", _plan, _run)], finish=_finish),
              cfg_with(3), tmp_path / "other", mapper=mapper, log=lambda m: None)
    assert seen == [None, None, None]  # a phase that lists no inputs


def test_force_salts_what_it_rewrites_and_the_content_changes(tmp_path: Path):
    a = run_stage(SPEC, cfg_with(2), tmp_path, log=lambda m: None).manifest
    b = run_stage(SPEC, cfg_with(2), tmp_path, force=True, source="a", log=lambda m: None).manifest
    assert a["outputs"] == b["outputs"]  # same bytes
    assert set(b["salts"]) == {"a/p0.txt"} and a["salts"] == {}
    assert a["content"] != b["content"]  # ...but what reads it downstream sees a forced re-do
