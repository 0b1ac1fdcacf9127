"""What a training run records and shows: `metrics.jsonl`, the progress bar or log lines.

One JSON line per logged step (loss, LR, grad norm, tokens/s, MFU, memory, wall time) and per
evaluation (val loss, perplexity, bits per byte overall and per source). On resume, lines past
the resumed step are dropped, so the file stays one continuous curve however often the run was
stopped; the TensorBoard events and the report are built from it. The bar (or, without one, the
log line) shows the step, loss, tokens/s, MFU and the time left to `max_steps`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import torch

from kuznia.files import atomic_path
from kuznia.progress import duration_text, progress_bar, progress_enabled

METRICS = "metrics.jsonl"


def memory_gib(device: torch.device) -> float:
    """Peak CUDA memory allocated, or this process's resident memory on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    import psutil

    return psutil.Process().memory_info().rss / 2**30


def read_jsonl(path: Path) -> list[dict]:
    """The records of a JSON-lines file ([] when it is not there)."""
    if not Path(path).exists():
        return []
    return [json.loads(ln) for ln in Path(path).read_text("utf-8").splitlines() if ln.strip()]


def truncate_jsonl(path: Path, keep_through_step: int) -> list[dict]:
    """Drop the records past a step (a resumed run writes them again); returns those kept."""
    kept = [r for r in read_jsonl(path) if r.get("step", 0) <= keep_through_step]
    if Path(path).exists():
        with atomic_path(path) as tmp:
            tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in kept), "utf-8")
    return kept


class MetricsLog:
    """`metrics.jsonl` of a checkpoints folder, and the progress bar (or log lines) of the run."""

    def __init__(self, root: Path, *, resumed_step: int, max_steps: int, log: Callable[[str], None]):
        self.path = Path(root) / METRICS
        self.max_steps, self.log = max_steps, log
        self.records = truncate_jsonl(self.path, resumed_step)
        self._file = open(self.path, "a", encoding="utf-8")
        self.bar = progress_bar(max_steps, initial=resumed_step, unit="step") if progress_enabled() else None
        self._t0, self._first_step = time.monotonic(), resumed_step

    def write(self, record: dict) -> dict:
        """Append a record (stamped with the wall time) and show it; returns the stamped record."""
        record = {**record, "time": round(time.time(), 3)}
        self._file.write(json.dumps(record, sort_keys=True) + "\n")
        self._file.flush()
        self.records.append(record)
        self.show(record)
        return record

    def tick(self) -> None:
        """A step passed without a record."""
        if self.bar is not None:
            self.bar.update(1)

    def eta_s(self, step: int) -> float | None:
        """Seconds to `max_steps` at this run's pace so far (evaluations and saves included)."""
        done = step - self._first_step
        return (self.max_steps - step) * (time.monotonic() - self._t0) / done if done > 0 else None

    def summary(self, record: dict) -> dict[str, str]:
        """The figures of a record as short texts (bar postfix, log line, progress artifact)."""
        parts = {"loss": f"{record['loss']:.4f}"}
        if "lr" in record:
            parts["lr"] = f"{record['lr']:.2e}"
            parts["tok/s"] = f"{record['tokens_per_s']:,.0f}"
            if record.get("mfu") is not None:
                parts["mfu"] = f"{record['mfu']:.1%}"
            parts["mem"] = f"{record['mem_gib']:.1f}G"
        if record.get("val_loss") is not None:
            parts["val"] = f"{record['val_loss']:.4f}"
            if record.get("val_bpb") is not None:
                parts["bpb"] = f"{record['val_bpb']:.3f}"
        eta = self.eta_s(record["step"])
        if eta is not None and record["step"] < self.max_steps:
            parts["eta"] = duration_text(eta)
        return parts

    def show(self, record: dict) -> None:
        """A metrics record on the progress bar (tqdm shows the time left), or as a log line."""
        parts = self.summary(record)
        if self.bar is not None:
            parts.pop("eta", None)
            self.bar.set_postfix(parts, refresh=False)
            self.bar.update(record["step"] - self.bar.n)
        else:
            self.log(f"step {record['step']}/{self.max_steps} " + " ".join(f"{k} {v}" for k, v in parts.items()))

    def close(self) -> None:
        self._file.close()
        if self.bar is not None:
            self.bar.close()
