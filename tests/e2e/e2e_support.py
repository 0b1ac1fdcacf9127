"""Shared pieces of the end-to-end tests (fixtures are re-exported by conftest.py): a demo config with absolute paths, the `kuznia` CLI in a
subprocess (its own PREFECT_HOME, so each run uses a fresh ephemeral API), and one uninterrupted
reference run of the data stages that the Dask, crash and rerun tests compare against."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kuznia.registry import folder
from kuznia.stage import MANIFEST

ROOT = Path(__file__).resolve().parents[2]
DATA_STAGES = ["fetch", "docs", "clean", "quality", "dedup", "corpus", "tokenizer", "tokens"]
KUZNIA = [sys.executable, "-m", "flows.cli"]


def e2e_config(path: Path, **overrides) -> Path:
    """The demo config with absolute data paths, small docs parts (more tasks per stage: a
    crash lands mid-stage) and a short training run; dotted `overrides` on top."""
    data = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text("utf-8"))
    data["fetch"]["speakleash"]["base_url"] = str(ROOT / "data" / "demo" / "speakleash")
    data["fetch"]["wikipedia"]["base_url"] = str(ROOT / "data" / "demo" / "wikipedia")
    data["docs"]["part_bytes"] = 262144
    data["train"].update({"max_steps": 12, "warmup_steps": 3, "eval_every_steps": 6, "checkpoint_every_steps": 6, "eval_bytes_per_source": 1024})
    for key, value in overrides.items():
        d = data
        *head, last = key.split(".")
        for k in head:
            d = d.setdefault(k, {})
        d[last] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def kuznia_env(prefect_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PREFECT_HOME": str(prefect_home), "KUZNIA_PROGRESS": "0", "PYTHONUNBUFFERED": "1"})
    return env


def kuznia(args: list[str], tmp: Path, *, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    """Run the CLI in a subprocess from the repo root, with its own PREFECT_HOME under `tmp`."""
    proc = subprocess.run([*KUZNIA, *args], cwd=ROOT, env=kuznia_env(tmp / "prefect-home"),
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"kuznia {' '.join(args)} exited {proc.returncode}\n"
                             f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}")
    return proc


def manifest(wd: Path, stage: str) -> dict:
    return json.loads((wd / folder(stage) / MANIFEST).read_text("utf-8"))


def outputs(wd: Path, stage: str) -> dict[str, tuple[int, str]]:
    """A stage's outputs as the manifest lists them: path -> (bytes, checksum)."""
    return {o["path"]: (o["bytes"], o["checksum"]) for o in manifest(wd, stage)["outputs"]}


def data_files(wd: Path, stage: str) -> dict[str, bytes]:
    """Every part / shard file of a stage (not bookkeeping, not reports), path -> bytes."""
    d = wd / folder(stage)
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*"))
            if p.is_file() and not any(s.startswith("_") for s in p.relative_to(d).parts)
            and "reports" not in p.relative_to(d).parts}


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Path:
    """One uninterrupted `kuznia run` of every stage (process runner, 2 workers, 12 steps)."""
    tmp = tmp_path_factory.mktemp("reference")
    cfg = e2e_config(tmp / "config.yaml", **{"runner.kind": "process", "runner.workers": 2})
    kuznia(["run", "--config", str(cfg), "--work-dir", str(tmp / "work")], tmp)
    return tmp / "work"


def markers(wd: Path, stage: str) -> dict[str, int]:
    """A stage's task markers -> their mtimes (a task that runs again rewrites its marker)."""
    d = wd / folder(stage) / "_tasks"
    return {p.relative_to(d).as_posix(): p.stat().st_mtime_ns for p in d.glob("*/*.json")}


@pytest.fixture
def copy_of(tmp_path):
    def _copy(wd: Path) -> Path:
        dst = tmp_path / "copy"
        shutil.copytree(wd, dst)
        return dst

    return _copy
