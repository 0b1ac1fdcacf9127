"""Training on several processes: the process group torchrun describes, DDP or FSDP2, and the few
collectives the trainer needs.

torchrun (`train/launch.py` starts it) gives each process RANK, LOCAL_RANK, WORLD_SIZE and the
rendezvous address in its environment; `Dist.from_env` joins the group (NCCL on CUDA, gloo on
CPU) and picks the process' device. Without that environment it is one process, and nothing here
runs: single-device training is the code path it always was.

- `ddp` (default): every process holds the whole model; `LossModule` (the loss as one module, so
  that DDP sees every forward, chunked head included) is wrapped in DDP, and gradients are
  averaged once per step (`no_sync` on the other micro batches).
- `fsdp`: FSDP2's `fully_shard` on each block and on the model, so weights, gradients and AdamW
  state are split over the processes. Evaluation and sampling then run on every process in step
  (each forward gathers the weights), and only rank 0 writes.

Checkpoints stay in the single-device format (`train/checkpoint.py`): rank 0 writes the full
weights and optimizer state (gathered first under FSDP), every process restores from them. So a
run saved on N processes resumes on M, and export reads them as always.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from train.recompute import causal_lm_loss

ENV_KEYS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


class LossModule(nn.Module):
    """The training loss as one module (what DDP and FSDP wrap): `forward(x, y)` -> mean loss."""

    def __init__(self, model: nn.Module, chunk_tokens: int | None):
        super().__init__()
        self.model, self.chunk_tokens = model, chunk_tokens

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return causal_lm_loss(self.model, inputs, targets, chunk_tokens=self.chunk_tokens)


@dataclass
class Dist:
    """This process' place in the run: rank, world size, and how the model is split."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    mode: str = "ddp"
    control: Any = field(default=None, repr=False)  # a gloo group for agreeing on flags (CPU tensors)

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def sharded(self) -> bool:
        return self.enabled and self.mode == "fsdp"

    @classmethod
    def from_env(cls, cfg, device: torch.device) -> Dist:
        """Join the group torchrun set up (see the module docstring); one process without it."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world == 1:
            return cls(mode=cfg.parallel)
        if world != cfg.world_size:
            raise RuntimeError(f"torchrun started {world} processes, but train.devices x train.nodes is "
                               f"{cfg.devices} x {cfg.nodes} = {cfg.world_size}; set them to match")
        rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        timeout = datetime.timedelta(seconds=cfg.dist_timeout_s)
        if device.type == "cuda":
            dist.init_process_group("nccl", timeout=timeout, device_id=device)
            control = dist.new_group(backend="gloo", timeout=timeout)
        else:
            dist.init_process_group("gloo", timeout=timeout)
            control = dist.group.WORLD
        return cls(rank=rank, world_size=world, local_rank=local, mode=cfg.parallel, control=control)

    def agree(self, flag: bool) -> bool:
        """True on every process when it is true on any (a stop signal seen by one of them)."""
        if not self.enabled:
            return flag
        t = torch.tensor([1 if flag else 0], dtype=torch.int32)
        dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.control)
        return bool(t.item())

    def total(self, value: torch.Tensor) -> torch.Tensor:
        """`value` summed over the processes (in place; returned)."""
        if self.enabled:
            dist.all_reduce(value, op=dist.ReduceOp.SUM)
        return value

    def from_main(self, value: Any) -> Any:
        """Rank 0's `value` (picklable) on every process."""
        if not self.enabled:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0, group=self.control)
        return box[0]

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier(group=self.control)

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()

    # The model ---------------------------------------------------------------------------------

    def wrap(self, model: nn.Module, chunk_tokens: int | None, device: torch.device) -> nn.Module:
        """The loss module training calls: plain, in DDP, or over a `fully_shard`ed model."""
        loss = LossModule(model, chunk_tokens)
        if not self.enabled or self.sharded:  # (FSDP: `shard` split the model itself, before the optimizer)
            return loss
        from torch.nn.parallel import DistributedDataParallel as DDP

        return DDP(loss, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False,
                   gradient_as_bucket_view=True)  # no second copy of the gradients

    def shard(self, model: nn.Module) -> None:
        """FSDP2: each block its own unit, the model the root (embeddings, norm, head)."""
        if not self.sharded:
            return
        from torch.distributed.fsdp import fully_shard

        for block in model.model.layers:
            fully_shard(block)
        fully_shard(model)

    def reshard(self, model: nn.Module) -> None:
        """After a forward without backward (evaluation, sampling): free the gathered weights."""
        if self.sharded:
            for m in model.modules():
                if hasattr(m, "reshard"):
                    m.reshard()

    def no_sync(self, loss_module: nn.Module, last: bool) -> contextlib.AbstractContextManager:
        """DDP: average gradients on the step's last micro batch only."""
        if self.enabled and not self.sharded and not last:
            return loss_module.no_sync()
        return contextlib.nullcontext()

    # Checkpoints: the single-device format ---------------------------------------------------

    def full_state(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[dict, dict] | None:
        """(model state, optimizer state) as one process would save them, on rank 0; None elsewhere.
        Under FSDP every process must call this (it gathers)."""
        if not self.sharded:
            return (model.state_dict(), optimizer.state_dict()) if self.is_main else None
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_model_state_dict,
            get_optimizer_state_dict,
        )

        opts = StateDictOptions(full_state_dict=True, cpu_offload=True)
        msd = get_model_state_dict(model, options=opts)
        osd = get_optimizer_state_dict(model, optimizer, options=opts)
        return (msd, _by_index(osd, optimizer, model)) if self.is_main else None

    def load_full_state(self, model: nn.Module, optimizer: torch.optim.Optimizer, model_state: dict | None,
                        optimizer_state: dict | None) -> None:
        """Load single-device states (read on rank 0 only under FSDP; on every process else)."""
        if not self.sharded:
            model.load_state_dict(model_state)
            optimizer.load_state_dict(optimizer_state)
            return
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            set_model_state_dict,
            set_optimizer_state_dict,
        )

        opts = StateDictOptions(full_state_dict=True, broadcast_from_rank0=True)
        set_model_state_dict(model, model_state if self.is_main else {}, options=opts)
        osd = _by_name(optimizer_state, optimizer, model) if self.is_main else {}
        set_optimizer_state_dict(model, optimizer, osd, options=opts)


def _names(optimizer: torch.optim.Optimizer, model: nn.Module) -> list[str]:
    """Parameter names in the optimizer's order: the ids `optimizer.state_dict()` gives them."""
    by_id = {id(p): n for n, p in model.named_parameters()}
    return [by_id[id(p)] for g in optimizer.param_groups for p in g["params"]]


def _by_index(osd: dict, optimizer: torch.optim.Optimizer, model: nn.Module) -> dict:
    """A name-keyed optimizer state (torch.distributed.checkpoint's) as `optimizer.state_dict()`'s."""
    index = {n: i for i, n in enumerate(_names(optimizer, model))}
    groups = [{**g, "params": [index[n] for n in g["params"]]} for g in osd["param_groups"]]
    return {"state": {index[n]: s for n, s in osd["state"].items()}, "param_groups": groups}


def _by_name(osd: dict, optimizer: torch.optim.Optimizer, model: nn.Module) -> dict:
    names = _names(optimizer, model)
    groups = [{**g, "params": [names[i] for i in g["params"]]} for g in osd["param_groups"]]
    return {"state": {names[int(i)]: s for i, s in osd["state"].items()}, "param_groups": groups}


def grad_norm_value(norm: torch.Tensor) -> float:
    """A clip_grad_norm_ result as a float (a DTensor under FSDP: its full value)."""
    if hasattr(norm, "full_tensor"):
        norm = norm.full_tensor()
    return float(norm)
