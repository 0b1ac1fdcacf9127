"""What torchrun runs on every process: `python -m train.worker <spec.json>`.

The spec (written by `train/launch.py`) holds the resolved `model` and `train` config sections
and the trainer's other arguments. Every process builds the same `Trainer` (it joins the process
group from torchrun's environment) and fits; rank 0 writes the result (`result_path`). A process
that fails writes `error-rank<R>.txt` there (its exception in one line) before it exits, so the
stage can say which rank failed and why; a process killed outright leaves none, and torchrun's
summary names it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

from torch.distributed.elastic.multiprocessing.errors import record

from kuznia.files import write_json_atomic
from model.config import ModelSection
from train.config import TrainConfig

LAUNCH_DIR = "launch"  # under the checkpoints folder: node 0's spec, and the result
RESULT = "result.json"


def result_path(checkpoints_dir: Path) -> Path:
    """Where rank 0 writes the run's result: node 0's launch folder, wherever rank 0 runs (a c10d
    rendezvous gives ranks in the order the nodes join, not by `train.node_rank`)."""
    return Path(checkpoints_dir) / LAUNCH_DIR / RESULT


def error_file(launch_dir: Path, rank: int) -> Path:
    return Path(launch_dir) / f"error-rank{rank}.txt"


def _log(line: str) -> None:
    print(line, flush=True)


@record
def main(argv: list[str] | None = None) -> int:
    spec_path = Path((argv if argv is not None else sys.argv[1:])[0])
    spec = json.loads(spec_path.read_text("utf-8"))
    rank = int(os.environ.get("RANK", "0"))
    from train.trainer import Trainer

    trainer = None
    try:
        kwargs = {k: (Path(v) if k.endswith(("_dir", "_json")) and v is not None else v)
                  for k, v in spec["trainer"].items()}
        trainer = Trainer(ModelSection(**spec["model"]), TrainConfig(**spec["train"]),
                          log=_log if rank == 0 else (lambda line: None), **kwargs)
        result = trainer.fit(spec.get("stop_at_step"))
        if trainer.dist.is_main:
            out = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(result).items()}
            write_json_atomic(result_path(spec["trainer"]["checkpoints_dir"]), out)
        trainer.dist.barrier()
    except BaseException as e:
        error_file(spec_path.parent, rank).write_text(f"{type(e).__name__}: {e}\n", "utf-8")
        raise
    finally:
        if trainer is not None:
            trainer.dist.close()
    return 0


if __name__ == "__main__":  # pragma: no cover - run by torchrun
    sys.exit(main())
