"""Training on several devices or nodes: the train stage starts PyTorch's own launcher.

`train_processes` writes the run's spec to `checkpoints/launch/spec.json` and runs
`python -m torch.distributed.run ... -m train.worker spec.json` (torchrun), one process per
device, and streams its output line by line to `log` (the flow run's log under Prefect). With
one node torchrun runs `--standalone` (a free local port); with several, every node runs the
same command with its own `--node-rank` and the rendezvous settings of `train.*`
(`torchrun_command` is what `kuznia train-node` runs on the other nodes).

Failure: torchrun stops every process when one dies (`--max-restarts 0`); the stage then names
the failed rank(s) from the processes' own error files and torchrun's summary, and the next run
resumes from the last complete checkpoint. SIGTERM or SIGINT to this process goes to the worker
processes themselves: they agree to stop, rank 0 saves, they exit, and the result says so.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from kuznia.files import read_json, write_json_atomic
from kuznia.stage import StageError
from kuznia.usage import die_with_parent
from train.checkpoint import latest_checkpoint
from train.config import TrainConfig
from train.trainer import StopSignals, TrainResult
from train.worker import LAUNCH_DIR, result_path

REPO_ROOT = Path(__file__).resolve().parent.parent
TAIL_LINES = 40
FAILURE_RE = re.compile(r"rank\s*:\s*(\d+)\s*\(local_rank.*?\)\s*\n\s*exitcode\s*:\s*(-?\d+)", re.S)


class TrainingFailed(StageError):
    """A training process failed; the message names the rank(s) and how to resume."""


def torchrun_command(cfg: TrainConfig, spec: Path) -> list[str]:
    """The torchrun command line of this node (see the module docstring)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={cfg.devices}", "--max-restarts=0",
           "--monitor-interval=1"]
    if cfg.nodes == 1:
        cmd.append("--standalone")
    else:
        cmd += [f"--nnodes={cfg.nodes}", f"--node-rank={cfg.node_rank}", f"--rdzv-backend={cfg.rdzv_backend}",
                f"--rdzv-endpoint={cfg.rdzv_endpoint}", f"--rdzv-id={cfg.rdzv_id}"]
        if cfg.rdzv_backend == "static":
            host, _, port = cfg.rdzv_endpoint.rpartition(":")
            cmd += [f"--master-addr={host}", f"--master-port={port}"]
    return [*cmd, "-m", "train.worker", str(spec)]


def write_spec(root: Path, model_section, cfg: TrainConfig, *, stop_at_step: int | None = None, **trainer) -> Path:
    """`checkpoints/launch/spec.json`: what every process builds its `Trainer` from."""
    launch = Path(root) / (LAUNCH_DIR if cfg.node_rank == 0 else f"{LAUNCH_DIR}-node{cfg.node_rank}")
    shutil.rmtree(launch, ignore_errors=True)
    launch.mkdir(parents=True)
    spec = {"model": model_section.model_dump(mode="json"), "train": cfg.model_dump(mode="json"),
            "stop_at_step": stop_at_step,
            "trainer": {k: (str(v) if isinstance(v, Path) else v) for k, v in trainer.items()}}
    write_json_atomic(launch / "spec.json", spec)
    return launch / "spec.json"


class _Forward(StopSignals):
    """While training runs: SIGTERM / SIGINT to this process go to the worker processes."""

    def __init__(self, proc: subprocess.Popen, log: Callable[[str], None]):
        super().__init__()
        self.proc, self.log = proc, log

    def _handle(self, signum, frame) -> None:
        import psutil

        self.received = signal.Signals(signum).name
        try:
            workers = psutil.Process(self.proc.pid).children()
        except psutil.NoSuchProcess:
            return
        self.log(f"{self.received}: asking the {len(workers)} training processes to save and stop")
        for w in workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                w.send_signal(signal.SIGTERM)


def run_torchrun(cmd: list[str], log: Callable[[str], None]) -> tuple[int, list[str]]:
    """Run `cmd`, each output line to `log`; (exit code, the last lines)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)}
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    log("launching: " + " ".join(cmd))
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                          cwd=REPO_ROOT, preexec_fn=die_with_parent,  # torchrun saves if we die
                          bufsize=1) as proc, _Forward(proc, log):
        for line in proc.stdout:
            line = line.rstrip("\n")
            tail.append(line)
            log(line)
        rc = proc.wait()
    return rc, list(tail)


def failure_message(root: Path, rc: int, tail: list[str]) -> str:
    """Which rank failed first and how (killed by a signal, or its exception), what the others
    did after it, and where a rerun resumes."""
    # every node's launch folder (ranks are global; on a shared work dir node 0 sees them all)
    files = sorted(root.glob(f"{LAUNCH_DIR}*/error-rank*.txt"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    errors = {int(re.sub(r"\D", "", p.name)): p.read_text("utf-8").strip() for p in files}  # first written first
    codes = {int(r): int(c) for r, c in FAILURE_RE.findall("\n".join(tail))}
    # torchrun stops the survivors with SIGTERM: any other signal is what killed a rank
    killed = {r: signal.Signals(-c).name for r, c in sorted(codes.items()) if c < 0 and -c != signal.SIGTERM}
    first = [f"rank {r} was killed by {name}" for r, name in killed.items()]
    rest = [f"rank {r}: {_short(msg)}" for r, msg in errors.items()]
    if not first and errors:  # no rank was killed: the first error file written is the cause
        r, msg = next(iter(errors.items()))
        first, rest = [f"rank {r} failed first: {_short(msg)}"], rest[1:]
    if not first:
        first = [f"torchrun exited with code {rc}" + (f" (exit codes by rank: {codes})" if codes else "")]
    text = "; ".join(first) + (f"; the others stopped after it ({'; '.join(rest)})" if rest else "")
    last = latest_checkpoint(root)
    resume = (f"the last complete checkpoint is {last.name}; run `kuznia stage train` again to resume from it"
              if last else "no checkpoint was saved; run `kuznia stage train` again to start over")
    return f"training failed: {text}; {resume}. torchrun's last lines:\n" + "\n".join(tail[-12:])


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def train_processes(model_section, cfg: TrainConfig, *, checkpoints_dir: Path, log: Callable[[str], None] = print,
                    stop_at_step: int | None = None, **trainer) -> TrainResult:
    """Train with torchrun on `cfg.devices` processes of this node (see the module docstring)."""
    root = Path(checkpoints_dir)
    spec = write_spec(root, model_section, cfg, stop_at_step=stop_at_step, checkpoints_dir=root, **trainer)
    rc, tail = run_torchrun(torchrun_command(cfg, spec), log)
    result = result_path(root)
    if cfg.node_rank > 0:  # node 0 reads the result
        if rc != 0:
            raise TrainingFailed(failure_message(root, rc, tail))
        return TrainResult(step=-1, tokens_seen=0)
    if not result.exists():  # (rank 0 finished when it exists: a SIGTERM to torchrun exits it non-zero)
        raise TrainingFailed(failure_message(root, rc, tail))
    r = read_json(result)
    for key in ("checkpoint", "resumed_from", "superseded"):
        r[key] = Path(r[key]) if r.get(key) else None
    r["losses"] = [tuple(x) for x in r["losses"]]
    return TrainResult(**r)
