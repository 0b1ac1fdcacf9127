"""What a training run records and shows: `metrics.jsonl`, the progress bar or log lines.

One JSON line per logged step (loss, LR, grad norm, tokens/s, MFU, memory) and per evaluation
(val loss, perplexity, bits per byte). On resume, lines past the resumed step are dropped, so
the file stays one continuous curve however often the run was stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch

from kuznia.files import atomic_path
from kuznia.progress import progress_bar, progress_enabled

METRICS = "metrics.jsonl"


def memory_gib(device: torch.device) -> float:
    """Peak CUDA memory allocated, or this process's resident memory on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    import psutil

    return psutil.Process().memory_info().rss / 2**30


class MetricsLog:
    """`metrics.jsonl` of a checkpoints folder, and the progress bar (or log lines) of the run."""

    def __init__(self, root: Path, *, resumed_step: int, max_steps: int, log: Callable[[str], None]):
        self.path = Path(root) / METRICS
        self.max_steps, self.log = max_steps, log
        self._truncate(resumed_step)
        self._file = open(self.path, "a", encoding="utf-8")
        self.bar = progress_bar(max_steps, initial=resumed_step, unit="step") if progress_enabled() else None

    def _truncate(self, keep_through_step: int) -> None:
        """Drop lines past the resumed step (they will be written again)."""
        if not self.path.exists():
            return
        lines = [ln for ln in self.path.read_text("utf-8").splitlines()
                 if ln.strip() and json.loads(ln).get("step", 0) <= keep_through_step]
        with atomic_path(self.path) as tmp:
            tmp.write_text("".join(ln + "\n" for ln in lines), "utf-8")

    def write(self, record: dict) -> None:
        """Append a record and show it."""
        self._file.write(json.dumps(record, sort_keys=True) + "\n")
        self._file.flush()
        self.show(record)

    def tick(self) -> None:
        """A step passed without a record."""
        if self.bar is not None:
            self.bar.update(1)

    def show(self, record: dict) -> None:
        """A metrics record on the progress bar, or as a log line without one."""
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
        if self.bar is not None:
            self.bar.set_postfix(parts, refresh=False)
            self.bar.update(record["step"] - self.bar.n)
        else:
            self.log(f"step {record['step']}/{self.max_steps} " + " ".join(f"{k} {v}" for k, v in parts.items()))

    def close(self) -> None:
        self._file.close()
        if self.bar is not None:
            self.bar.close()
