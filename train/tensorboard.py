"""TensorBoard event files of a run: `checkpoints/tensorboard/`, a view of `metrics.jsonl`.

`tensorboard --logdir <work_dir>/checkpoints` shows the run (and the runs set aside under
`superseded/`). The events are rebuilt from `metrics.jsonl` whenever a run starts or resumes (that
file is truncated to the resumed step first), then appended to as the run goes: event files are
append-only, so a resume after a crash would otherwise log the steps past the checkpoint twice.
One source of truth keeps the curve continuous, with each point's original wall time.

Scalars: `train/{loss,lr,grad_norm,tokens}`, `perf/{tokens_per_s,mfu,memory_gib}`,
`val/{loss,ppl,bpb}` and `val_bpb_by_source/<source>`. The writer is torch's `SummaryWriter`,
which needs the `tensorboard` package (the `tensorboard` extra); without it the run logs one line
and goes on.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

EVENTS_DIR = "tensorboard"
TAGS = {"loss": "train/loss", "lr": "train/lr", "grad_norm": "train/grad_norm", "tokens": "train/tokens",
        "tokens_per_s": "perf/tokens_per_s", "mfu": "perf/mfu", "mem_gib": "perf/memory_gib",
        "val_loss": "val/loss", "val_ppl": "val/ppl", "val_bpb": "val/bpb"}
SOURCE_TAG = "val_bpb_by_source/"


def scalars(record: dict) -> list[tuple[str, float]]:
    """The (tag, value) pairs of one metrics record (missing and None values left out)."""
    out = [(tag, float(record[k])) for k, tag in TAGS.items() if record.get(k) is not None]
    for source, figures in sorted((record.get("val_sources") or {}).items()):
        if figures.get("bpb") is not None:
            out.append((SOURCE_TAG + source, float(figures["bpb"])))
    return out


class TensorBoardLog:
    """The event files of a checkpoints folder; `open` returns None when tensorboard is missing."""

    def __init__(self, writer) -> None:
        self.writer = writer

    @classmethod
    def open(cls, root: Path, records: Iterable[dict], log: Callable[[str], None]) -> TensorBoardLog | None:
        """Start the events over from `records` (the run so far)."""
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:  # tensorboard is an extra
            log(f"TensorBoard events are off: {e} (install it: pip install 'kuznia[tensorboard]', or set "
                "train.tensorboard=false to silence this)")
            return None
        events = Path(root) / EVENTS_DIR
        shutil.rmtree(events, ignore_errors=True)
        tb = cls(SummaryWriter(log_dir=str(events), flush_secs=30))
        for r in records:
            tb.write(r)
        tb.writer.flush()
        return tb

    def write(self, record: dict) -> None:
        """Add a record's scalars at its step (and its wall time, when it has one)."""
        for tag, value in scalars(record):
            self.writer.add_scalar(tag, value, global_step=int(record["step"]), walltime=record.get("time"))

    def close(self) -> None:
        self.writer.close()
