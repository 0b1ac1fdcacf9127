"""Checkpoints: `checkpoints/step-NNNNNNN/`, written whole under a temp name, then renamed.

A checkpoint folder holds `model.pt` (fp32 state dict), `optimizer.pt` (AdamW state),
`rng.pt` (torch CPU/CUDA generator states) and `meta.json` (step, tokens seen, the data
position, the model shape, the resolved train config), then `COMPLETE` (the sentinel, listing
every file's size). A folder counts only with its sentinel, so a crash mid-save is never
resumed; `latest` names the newest complete one. Everything loads with `weights_only=True`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from corpus.stage import atomic_path

SENTINEL = "COMPLETE"
LATEST = "latest"
FILES = ("model.pt", "optimizer.pt", "rng.pt", "meta.json")
STEP_RE = re.compile(r"^step-(\d{7,})$")
FORMAT = "kuznia-checkpoint/1"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be resumed: incomplete, corrupt, or for another model/config."""


def step_dir_name(step: int) -> str:
    return f"step-{step:07d}"


def is_complete(path: Path) -> bool:
    return (Path(path) / SENTINEL).is_file()


def list_checkpoints(root: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints under `root`, oldest first, as (step, folder)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        m = STEP_RE.match(p.name)
        if m and p.is_dir() and is_complete(p):
            found.append((int(m.group(1)), p))
    return sorted(found)


def latest_checkpoint(root: Path) -> Path | None:
    """The newest complete checkpoint folder, or None."""
    found = list_checkpoints(root)
    return found[-1][1] if found else None


def remove_incomplete(root: Path) -> list[Path]:
    """Delete temp folders and step folders without a sentinel (left by a crash mid-save)."""
    root = Path(root)
    removed = []
    if root.is_dir():
        for p in sorted(root.iterdir()):
            temp = p.name.startswith(".step-") and ".tmp-" in p.name
            if p.is_dir() and (temp or (STEP_RE.match(p.name) and not is_complete(p))):
                shutil.rmtree(p)
                removed.append(p)
    return removed


def rng_state() -> dict[str, torch.Tensor]:
    state = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            state[f"torch_cuda_{i}"] = s
    return state


def set_rng_state(state: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(state["torch_cpu"])
    cuda = [state[k] for k in sorted(state) if k.startswith("torch_cuda_")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])


def save_checkpoint(root: Path, step: int, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    meta: dict[str, Any], keep: int | None = None) -> Path:
    """Write `root/step-NNNNNNN/` atomically (temp folder + sentinel + rename); prune to `keep`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / step_dir_name(step)
    tmp = root / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        torch.save(model.state_dict(), tmp / "model.pt")
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(rng_state(), tmp / "rng.pt")
        (tmp / "meta.json").write_text(
            json.dumps({"format": FORMAT, "step": step, **meta}, indent=2, sort_keys=True) + "\n", "utf-8")
        sizes = {name: (tmp / name).stat().st_size for name in FILES}
        for name in FILES:  # on disk before the sentinel says so
            with open(tmp / name, "rb") as f:
                os.fsync(f.fileno())
        (tmp / SENTINEL).write_text(json.dumps({"files": sizes}, sort_keys=True) + "\n", "utf-8")
        if final.exists():  # an older save of the same step (a re-run): replace it
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with atomic_path(root / LATEST) as tmp_latest:
        tmp_latest.write_text(final.name + "\n", "utf-8")
    if keep is not None:
        for _, old in list_checkpoints(root)[:-keep]:
            shutil.rmtree(old)
    return final


@dataclass
class Checkpoint:
    """A loaded checkpoint: state dicts (on the requested device) and the meta record."""

    path: Path
    step: int
    meta: dict
    model_state: dict
    optimizer_state: dict
    rng: dict


def load_pt(path: Path, map_location: Any) -> Any:
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # a truncated zip, a bad pickle, a forbidden type: all the same to us
        raise CheckpointError(
            f"checkpoint file {path} is corrupt or truncated ({type(e).__name__}: {e}); delete "
            f"{path.parent} to resume from the one before it, or set `train.resume=no` to start over"
        ) from e


def read_meta(path: Path) -> dict:
    """Check a checkpoint folder's sentinel and file sizes; return its `meta.json`."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"checkpoint {path} does not exist (train.resume points at it?)")
    if not is_complete(path):
        raise CheckpointError(f"checkpoint {path} is incomplete (no {SENTINEL} sentinel: the save was "
                              "interrupted); delete it, or resume from another step")
    try:
        sizes = json.loads((path / SENTINEL).read_text("utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"checkpoint {path}: its {SENTINEL} sentinel is unreadable ({e}); delete it") from e
    for name in FILES:
        f = path / name
        if not f.is_file():
            raise CheckpointError(f"checkpoint {path} lacks {name}; delete {path} to resume from the one before it")
        if f.stat().st_size != sizes.get(name):
            raise CheckpointError(
                f"checkpoint file {f} has {f.stat().st_size} bytes but was saved with {sizes.get(name)} "
                f"(truncated or altered); delete {path} to resume from the one before it"
            )
    try:
        meta = json.loads((path / "meta.json").read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path}/meta.json is unreadable ({e}); delete {path}") from e
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} has format {meta.get('format')!r}, expected {FORMAT!r}")
    return meta


def load_checkpoint(path: Path, map_location: Any = "cpu") -> Checkpoint:
    """Load a complete checkpoint folder (weights_only); errors name the file and the fix."""
    path = Path(path)
    meta = read_meta(path)
    return Checkpoint(
        path=path,
        step=int(meta["step"]),
        meta=meta,
        model_state=load_pt(path / "model.pt", map_location),
        optimizer_state=load_pt(path / "optimizer.pt", map_location),
        rng=load_pt(path / "rng.pt", "cpu"),
    )


def check_model_compatible(path: Path, saved: dict, current: dict) -> None:
    """Refuse a checkpoint whose model shape differs from the config's, naming each difference."""
    diffs = [f"{k}: checkpoint {saved.get(k)!r}, config {current.get(k)!r}"
             for k in sorted(set(saved) | set(current)) if saved.get(k) != current.get(k)]
    if diffs:
        raise CheckpointError(
            f"checkpoint {path} was trained with another model shape ({'; '.join(diffs)}); set the "
            "`model:` section back, point `train.resume` at a matching checkpoint, or start over "
            "with `train.resume=no` (deletes the checkpoints)"
        )


def resolve_resume(root: Path, resume: str) -> Path | None:
    """The checkpoint `train.resume` asks for: `auto` (newest complete or None), `no`, or a path."""
    if resume == "no":
        return None
    if resume == "auto":
        return latest_checkpoint(root)
    path = Path(resume)
    if not path.is_dir():
        raise CheckpointError(f"train.resume={resume!r}: no such checkpoint folder; use `auto`, `no`, "
                              f"or one of {[p.name for _, p in list_checkpoints(root)]}")
    read_meta(path)
    return path

