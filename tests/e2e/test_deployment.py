"""The deployment path users take: a real `prefect server`, a `process` work pool and worker,
`prefect deploy --all` from prefect.yaml, and `prefect deployment run 'kuznia-pipeline/demo'
--watch`. The run must complete and leave a corpus, a tokenizer, token shards and a trained
checkpoint; a second run on another work dir keeps its own artifacts; a run that fails says why
in the `--watch` output. Server and worker are stopped afterwards, also when the test fails."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from e2e_support import ROOT, kuznia_env

from kuznia.stage import MANIFEST

pytestmark = pytest.mark.slow
PREFECT = str(Path(sys.executable).parent / "prefect")
POOL = "kuznia-process"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"prefect server exited {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"prefect server not healthy after {timeout}s:\n{log.read_text()[-4000:]}")


def stop(proc: subprocess.Popen | None) -> None:
    """SIGTERM the process group, then SIGKILL what is left."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def _api(api: str, path: str, body: dict) -> list | dict:
    req = urllib.request.Request(api + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def artifact_keys(api: str) -> set[str]:
    return {a["key"] for a in _api(api, "/artifacts/latest/filter", {"limit": 200}) if a.get("key")}


def latest_artifact(api: str, key: str) -> dict:
    found = _api(api, "/artifacts/latest/filter", {"artifacts": {"key": {"any_": [key]}}, "limit": 1})
    assert found, f"no artifact {key}"
    return found[0]


def test_prefect_deployment_run_of_the_demo(tmp_path):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = kuznia_env(tmp_path / "prefect-home")
    env.update({"PREFECT_API_URL": api, "PREFECT_WORKER_QUERY_SECONDS": "2",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false"})

    def prefect(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        p = subprocess.run([PREFECT, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        assert p.returncode == 0, f"prefect {' '.join(args)} exited {p.returncode}\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}"
        return p

    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    server = worker = None
    try:
        with open(server_log, "w") as out:
            server = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                      cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        wait_healthy(api, server, server_log)
        prefect("work-pool", "create", POOL, "--type", "process")
        with open(worker_log, "w") as out:
            worker = subprocess.Popen([PREFECT, "worker", "start", "--pool", POOL], cwd=ROOT, env=env,
                                      stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deployed = prefect("--no-prompt", "deploy", "--all")
        assert "kuznia-pipeline/demo" in deployed.stdout + deployed.stderr

        wd = tmp_path / "work"
        params = {"work_dir": str(wd), "overrides": {"train.max_steps": 12, "train.warmup_steps": 3, "train.eval_every_steps": 6,
                                                     "train.checkpoint_every_steps": 6, "train.eval_bytes_per_source": 1024}}
        run = subprocess.run([PREFECT, "deployment", "run", "kuznia-pipeline/demo", "--watch",
                              "--params", json.dumps(params)], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=900)
        out = run.stdout + run.stderr
        assert run.returncode == 0 and "Completed" in out, f"{out[-4000:]}\n--- worker\n{worker_log.read_text()[-6000:]}"
        for stage_dir in ("corpus", "tokenizer", "tokens", "checkpoints", "export"):
            assert (wd / stage_dir / MANIFEST).exists(), f"{stage_dir} has no manifest"
        assert list((wd / "corpus").glob("*/part-*.parquet"))
        assert (wd / "tokenizer" / "tokenizer.json").exists()
        assert list((wd / "tokens" / "train").glob("shard-*.npy"))
        assert list((wd / "checkpoints").glob("step-*/COMPLETE")), "no complete checkpoint"

        wd2 = tmp_path / "work2"  # the same config on another work dir, the data stages only
        run2 = subprocess.run([PREFECT, "deployment", "run", "kuznia-pipeline/demo", "--watch", "--params",
                               json.dumps({"work_dir": str(wd2), "stages": "fetch-corpus"})],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert run2.returncode == 0, (run2.stdout + run2.stderr)[-4000:]
        keys = artifact_keys(api)
        prefixes = {k[: -len("-corpus-report")] for k in keys if k.endswith("-corpus-report")}
        assert len(prefixes) == 2 and all(p.startswith("kuznia-demo-") for p in prefixes), keys
        for p in prefixes:
            assert {f"{p}-run", f"{p}-corpus-funnel", f"{p}-corpus"} <= keys
        # the trainer's progress and evaluations, through the run reporter hook (the first work dir trained)
        assert sum({f"{p}-train-progress", f"{p}-train-eval", f"{p}-train-eval-sources"} <= keys for p in prefixes) == 1
        report = latest_artifact(api, sorted(prefixes)[0] + "-corpus-report")
        assert "![funnel](data:image/png;base64," in report["data"]  # charts inline, not a file:// link

        bad = subprocess.run([PREFECT, "deployment", "run", "kuznia-one-stage/stage", "--watch", "--params",
                              json.dumps({"stage": "corpsu", "work_dir": str(wd2)})],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        out = " ".join((bad.stdout + bad.stderr).split())
        assert bad.returncode != 0 and "unknown stage 'corpsu' in stage 'corpsu'" in out, out[-3000:]
    finally:
        stop(worker)
        stop(server)
    assert server.poll() is not None and worker.poll() is not None
