"""Checkpoints: `checkpoints/step-NNNNNNN/`, written whole under a temp name, then renamed.

A checkpoint folder holds `model.pt` (fp32 state dict), `optimizer.pt` (AdamW state),
`rng.pt` (torch CPU/CUDA generator states) and `meta.json` (step, tokens seen, the data
position, the model shape, the resolved train config), then `COMPLETE` (the sentinel, listing
every file's size). A folder counts only with its sentinel, so a crash mid-save is never
resumed; `latest` names the newest complete one. Everything loads with `weights_only=True`.

`CheckpointManager` owns the stateful parts of a run (model, optimizer, data loader, RNG) and
saves or restores them together; `prepare_resume` settles `train.resume` before anything is
built; `resolve_checkpoint` and `load_model` find and load a checkpoint for export and sampling.
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

from kuznia.files import atomic_path, disk_full, file_checksum, free_bytes, is_disk_full
from model.config import ModelArgs
from model.llama import Llama

SENTINEL = "COMPLETE"
LATEST = "latest"
SUPERSEDED = "superseded"  # checkpoints of an earlier run that cannot continue (other data, shape)
FILES = ("model.pt", "optimizer.pt", "rng.pt", "meta.json")
STEP_RE = re.compile(r"^step-(\d{7,})$")
FORMAT = "kuznia-checkpoint/1"


AFTER_DAMAGE = ("`kuznia stage train` sets a damaged checkpoint aside (kept, under superseded/) and continues "
                "from the one before it")


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
    """Delete the temp folders a crash mid-save left (never renamed into place, so never a
    checkpoint). A `step-NNNNNNN` folder without its sentinel is not deleted: a save never
    leaves one, so it is someone's damaged checkpoint, and resume sets it aside."""
    root = Path(root)
    removed = []
    if root.is_dir():
        for p in sorted(root.iterdir()):
            if p.is_dir() and p.name.startswith(".step-") and ".tmp-" in p.name:
                shutil.rmtree(p)
                removed.append(p)
    return removed


def unfinished(root: Path) -> list[Path]:
    """`step-NNNNNNN` folders without a sentinel."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and STEP_RE.match(p.name) and not is_complete(p))


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


def _state_bytes(model_state: dict, optimizer_state: dict) -> int:
    """About what a checkpoint of these takes on disk: weights and the optimizer's tensors."""
    tensors = [*model_state.values(), *(v for st in optimizer_state["state"].values() for v in st.values())]
    return sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor))


def _write_files(tmp: Path, step: int, model_state: dict, optimizer_state: dict, meta: dict[str, Any]) -> None:
    """The checkpoint's files, fsynced, then the sentinel with each file's size and checksum."""
    torch.save(model_state, tmp / "model.pt")
    torch.save(optimizer_state, tmp / "optimizer.pt")
    torch.save(rng_state(), tmp / "rng.pt")
    (tmp / "meta.json").write_text(
        json.dumps({"format": FORMAT, "step": step, **meta}, indent=2, sort_keys=True) + "\n", "utf-8")
    for name in FILES:  # on disk before the sentinel says so
        with open(tmp / name, "rb") as f:
            os.fsync(f.fileno())
    sentinel = {"files": {name: (tmp / name).stat().st_size for name in FILES},
                "checksums": {name: file_checksum(tmp / name) for name in FILES}}
    (tmp / SENTINEL).write_text(json.dumps(sentinel, sort_keys=True) + "\n", "utf-8")


def save_checkpoint(root: Path, step: int, *, model: torch.nn.Module | None = None,
                    optimizer: torch.optim.Optimizer | None = None, meta: dict[str, Any], keep: int | None = None,
                    states: tuple[dict, dict] | None = None) -> Path:
    """Write `root/step-NNNNNNN/` atomically (temp folder + sentinel + rename); prune to `keep`.
    The model's and optimizer's state dicts, or `states` (both, gathered elsewhere)."""
    model_state, optimizer_state = states or (model.state_dict(), optimizer.state_dict())
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / step_dir_name(step)
    tmp = root / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _write_files(tmp, step, model_state, optimizer_state, meta)
        if final.exists():  # an older save of the same step (a re-run): replace it
            shutil.rmtree(final)
        os.replace(tmp, final)
    except Exception as e:
        # torch.save reports a full disk as "unexpected pos ...": ask the disk, not the message
        free, needed = free_bytes(root), _state_bytes(model_state, optimizer_state)
        if is_disk_full(e) or (free is not None and free < needed):
            raise disk_full(final, e, needed) from e
        raise
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
            f"checkpoint file {path} is corrupt or truncated ({type(e).__name__}: {e}); `kuznia stage "
            "train` sets a damaged checkpoint aside and continues from the one before it"
        ) from e


def _sentinel(path: Path) -> dict:
    try:
        sentinel = json.loads((path / SENTINEL).read_text("utf-8"))
        sentinel["files"].items()
        return sentinel
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"checkpoint {path}: its {SENTINEL} sentinel is unreadable ({e}): the checkpoint "
                              f"is damaged; {AFTER_DAMAGE}") from e


def checkpoint_outputs(path: Path) -> list[dict]:
    """A checkpoint's files as manifest outputs (`step-N/<file>`, bytes, checksum): the sizes
    and checksums its sentinel took at save time (hashed now only for an older sentinel)."""
    sentinel = _sentinel(path)
    out = []
    for f in sorted(p for p in Path(path).iterdir() if p.is_file()):
        checksum = (sentinel.get("checksums") or {}).get(f.name) or file_checksum(f)
        size = sentinel["files"].get(f.name, f.stat().st_size)
        out.append({"path": f"{Path(path).name}/{f.name}", "bytes": size, "checksum": checksum})
    return out


def check_files(path: Path, *, checksums: bool = False) -> None:
    """Every file of a checkpoint folder as its sentinel records it: present, of its size and
    (with `checksums`, when the sentinel has them) of its checksum; else a CheckpointError."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if not is_complete(path):
        raise CheckpointError(f"checkpoint {path} has no {SENTINEL} sentinel (a save never leaves one "
                              f"so: it is damaged); {AFTER_DAMAGE}")
    sentinel = _sentinel(path)
    for name in FILES:
        f = path / name
        if not f.is_file():
            raise CheckpointError(f"checkpoint {path} lacks {name}; {AFTER_DAMAGE}")
        if f.stat().st_size != sentinel["files"].get(name):
            raise CheckpointError(f"checkpoint file {f} has {f.stat().st_size} bytes but was saved with "
                                  f"{sentinel['files'].get(name)} (truncated or altered); {AFTER_DAMAGE}")
        want = (sentinel.get("checksums") or {}).get(name)
        if checksums and want and file_checksum(f) != want:
            raise CheckpointError(f"checkpoint file {f} has other bytes than were saved (checksum "
                                  f"{want} expected); {AFTER_DAMAGE}")


def read_meta(path: Path, *, checksums: bool = False) -> dict:
    """Check a checkpoint folder (`check_files`); return its `meta.json`."""
    path = Path(path)
    check_files(path, checksums=checksums)
    try:
        meta = json.loads((path / "meta.json").read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path}/meta.json is unreadable ({e}); {AFTER_DAMAGE}") from e
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} has format {meta.get('format')!r}, expected {FORMAT!r}")
    return meta


def load_checkpoint(path: Path, map_location: Any = "cpu", *, checksums: bool = True) -> Checkpoint:
    """Load a complete checkpoint folder, its files checked against the sentinel (byte for byte
    with `checksums`; weights_only); errors name the file and the fix."""
    path = Path(path)
    meta = read_meta(path, checksums=checksums)
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
    """The checkpoint `train.resume` asks for: `auto` / `must` (the newest complete one, or
    None), `no`, or a path."""
    if resume == "no":
        return None
    if resume in ("auto", "must"):
        return latest_checkpoint(root)
    path = Path(resume)
    if not path.is_dir():
        raise CheckpointError(f"train.resume={resume!r}: no such checkpoint folder; use `auto`, `no`, "
                              f"or one of {[p.name for _, p in list_checkpoints(root)]}")
    read_meta(path)
    return path


def resolve_checkpoint(path: Path, step: int | None = None) -> Path:
    """A `step-NNNNNNN` folder from itself or from a checkpoints folder (`step`, else the newest)."""
    path = Path(path)
    if is_complete(path):
        return path
    if not path.exists():
        raise CheckpointError(f"{path} does not exist: give a step-NNNNNNN folder or a checkpoints folder")
    found = dict(list_checkpoints(path))
    if step is not None:
        if step not in found:
            raise CheckpointError(f"no complete checkpoint for step {step} under {path}; "
                                  f"there are steps {sorted(found)}")
        return found[step]
    newest = latest_checkpoint(path)
    if newest is None:
        raise CheckpointError(f"{path} holds no complete checkpoint (step-NNNNNNN with its COMPLETE "
                              "sentinel); run `kuznia stage train` first")
    return newest


def load_model(checkpoint: Path, device: str | torch.device = "cpu") -> tuple[Llama, dict]:
    """Our model (fp32) and the meta record from a checkpoint folder or a checkpoints folder."""
    path = resolve_checkpoint(checkpoint)
    meta = read_meta(path, checksums=True)
    try:
        args = ModelArgs.from_dict(meta["model"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path}/meta.json has no usable model shape ({e})") from e
    state = load_pt(path / "model.pt", device)
    with torch.device(device):
        model = Llama(args)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {path}/model.pt does not fit the shape in its meta.json: {e}") from e
    return model.eval(), meta


class CheckpointManager:
    """The stateful parts of a run and its checkpoints folder: saves and restores them together.

    `loader` is anything with `state_dict()` / `load_state_dict(state, where=...)` (the data
    position); the RNG streams are torch's global ones. With several processes (`dist`, a
    `train.distributed.Dist`) rank 0 writes the single-device format (gathered first under FSDP)
    and every process restores from it: the data position is global, the same on every process.
    """

    def __init__(self, root: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 loader: Any, keep: int | None = None, dist: Any = None):
        self.root, self.model, self.optimizer, self.loader, self.keep = Path(root), model, optimizer, loader, keep
        self.dist = dist

    def save(self, step: int, meta: dict[str, Any]) -> Path:
        """Write `step-NNNNNNN/` with every stateful part and `meta` (plus the data position)."""
        meta = {**meta, "data": self.loader.state_dict()}
        if self.dist is None or not self.dist.enabled:
            return save_checkpoint(self.root, step, model=self.model, optimizer=self.optimizer, meta=meta,
                                   keep=self.keep)
        states = self.dist.full_state(self.model, self.optimizer)
        if states is not None:  # rank 0
            save_checkpoint(self.root, step, meta={**meta, "processes": self.dist.world_size}, keep=self.keep,
                            states=states)
        self.dist.barrier()  # a checkpoint exists for every process once save returns
        return self.root / step_dir_name(step)

    def restore(self, path: Path, *, device: torch.device, model_args: dict) -> dict:
        """Load a checkpoint into the parts (after checking its shape); returns its meta."""
        sharded = self.dist is not None and self.dist.sharded
        if sharded and not self.dist.is_main:  # FSDP: rank 0 reads and broadcasts the states
            meta = read_meta(path)
            self.dist.load_full_state(self.model, self.optimizer, None, None)
        else:
            ckpt = load_checkpoint(path, map_location="cpu" if sharded else device, checksums=False)
            meta = ckpt.meta  # (prepare_resume verified the checksums)
            check_model_compatible(path, meta.get("model", {}), model_args)
            if self.dist is not None:
                self.dist.load_full_state(self.model, self.optimizer, ckpt.model_state, ckpt.optimizer_state)
            else:
                self.model.load_state_dict(ckpt.model_state)
                self.optimizer.load_state_dict(ckpt.optimizer_state)
            set_rng_state(ckpt.rng)
        self.loader.load_state_dict(meta["data"], where=f"checkpoint {path}")
        return meta

    def at_step(self, step: int) -> Path | None:
        """The complete checkpoint of `step`, if there is one."""
        return dict(list_checkpoints(self.root)).get(step)

