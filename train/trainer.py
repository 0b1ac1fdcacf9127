"""The trainer: micro batches with gradient accumulation, AdamW, periodic eval and saves.

Shaped like torchtitan's: `Trainer.__init__` builds everything once (model, optimizer, data,
the checkpoint manager that owns the stateful parts, the metrics log), `train_step` is one
optimizer step, `fit` is the short loop around it. fp32 master weights and AdamW state, bf16
autocast for compute, fused AdamW on CUDA, weight decay on matrices only, global-norm clipping,
the LR a pure function of the step. Exact resume: a checkpoint holds everything the next step
depends on (weights, optimizer state, step, data position, RNG), so N steps straight and
N/2 + resume + N/2 give identical bits on CPU. SIGTERM/SIGINT stop at the next micro batch: the
unfinished step is dropped and the state of the last finished one saved.

Under torchrun (`train/distributed.py`) each process runs its share of the step's micro batches
on its slice of the data, the processes agree on a stop before each micro batch, rank 0 alone
writes checkpoints and everything the run shows; one process is the code path it always was.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from model.config import ModelArgs, ModelSection, resolve_model_args
from model.flops import count_parameters, flops_per_token, mfu, peak_flops_of
from model.llama import Llama
from train.checkpoint import CheckpointManager
from train.config import TrainConfig
from train.data import WindowLoader
from train.distributed import Dist, grad_norm_value
from train.eval import evaluate_valset
from train.metrics import memory_gib
from train.observe import RUN_FILES, FollowerObserver, RunObserver, run_facts, settle_views
from train.recompute import apply_activation_checkpointing
from train.resume import prepare_resume
from train.schedule import lr_at
from train.valset import load_valset


@dataclass
class TrainResult:
    step: int
    tokens_seen: int
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, loss) run in this call
    last_eval: dict | None = None
    checkpoint: Path | None = None
    stopped_by: str | None = None  # "SIGTERM", "SIGINT", "stop_at_step"; None: reached max_steps
    resumed_from: Path | None = None
    superseded: Path | None = None  # where checkpoints of another run were set aside
    train_seconds: float = 0.0  # the steps' own time in this call
    observe_seconds: float = 0.0  # logging, events, evaluations, samples, report in this call


def resolve_device(name: str) -> torch.device:
    """`auto` -> cuda if available, else cpu; `cuda` without a GPU is an error saying so. Under
    torchrun a CUDA process takes the GPU of its LOCAL_RANK."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device=cuda but no CUDA GPU is visible; use train.device=cpu or auto")
    if name == "cuda" and "LOCAL_RANK" in os.environ:
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
        return device
    return torch.device(name)


def peak_flops(device: torch.device, override_tflops: float | None) -> float | None:
    """The device's dense bf16 peak in FLOP/s (None on CPU or an unknown GPU without override)."""
    if override_tflops or device.type != "cuda":
        return peak_flops_of("", override_tflops)
    return peak_flops_of(torch.cuda.get_device_name(device))


class StopSignals:
    """Turn SIGTERM/SIGINT into a flag the loop checks between micro batches (main thread only).

    A second SIGINT while stopping raises KeyboardInterrupt, for a user who cannot wait.
    """

    def __init__(self) -> None:
        self.received: str | None = None
        self._old: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        if self.received and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = name

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices (linears, embeddings), none on vectors (norm weights)."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _autocast(device: torch.device, dtype: str) -> Callable[[], contextlib.AbstractContextManager]:
    if dtype == "float32":
        return contextlib.nullcontext
    return functools.partial(torch.autocast, device_type=device.type, dtype=torch.bfloat16)


class Trainer:
    """One training run: built once from the configs, then `fit` (or `train_step` by step)."""

    def __init__(self, model_section: ModelSection, cfg: TrainConfig, *, tokens_dir: Path,
                 checkpoints_dir: Path, vocab_size: int, seed: int, tokenizer_hash: str | None = None,
                 tokenizer_json: Path | None = None, data_id: str | None = None,
                 log: Callable[[str], None] = print):
        tokens_dir, self.root = Path(tokens_dir), Path(checkpoints_dir)
        self.cfg, self.log, self.vocab_size, self.tokenizer_hash = cfg, log, vocab_size, tokenizer_hash
        self.data_id = data_id
        self.args: ModelArgs = resolve_model_args(model_section, vocab_size)
        self.device = resolve_device(cfg.device)
        self.dist = Dist.from_env(cfg, self.device)
        self.seed = cfg.seed if cfg.seed is not None else seed
        settled = None
        if self.dist.is_main:  # settles the checkpoints folder; the others take its decision
            settled = prepare_resume(self.root, cfg.resume, fits=self._fits, run_files=RUN_FILES, log=log)
            settle_views(self.root, resumed=settled[0] is not None, superseded=settled[1])
        self.resumed_from, self.superseded = self.dist.from_main(settled)

        self.loader = WindowLoader(tokens_dir / "train", context_tokens=self.args.context_tokens,
                                   micro_batch_size=cfg.micro_batch_size, seed=self.seed,
                                   vocab_size=vocab_size, tokenizer_hash=tokenizer_hash,
                                   rank=self.dist.rank, world_size=self.dist.world_size)
        self.tokenizer_json = tokenizer_json
        self.valset = load_valset(tokens_dir, bytes_per_source=cfg.eval_bytes_per_source, tokenizer_json=tokenizer_json,
                                  vocab_size=vocab_size, tokenizer_hash=tokenizer_hash)

        torch.manual_seed(self.seed)
        self.model = Llama(self.args).to(self.device)  # initialised on CPU: the same weights everywhere
        self.dist.shard(self.model)
        self.optimizer = torch.optim.AdamW(param_groups(self.model, cfg.weight_decay), lr=cfg.lr,
                                           betas=(cfg.beta1, cfg.beta2), eps=cfg.adam_eps,
                                           fused=self.device.type == "cuda")
        self.checkpoints = CheckpointManager(self.root, model=self.model, optimizer=self.optimizer,
                                             loader=self.loader, keep=cfg.keep_checkpoints, dist=self.dist)
        self.step, self.tokens_seen = 0, 0
        if self.resumed_from is not None:
            self._restore(self.resumed_from)
        self._build_step()

    def _fits(self, meta: dict) -> str | None:
        """Why a checkpoint cannot continue this run (None: it can)."""
        saved, now = meta.get("model", {}), self.args.to_dict()
        diffs = [f"{k} {saved.get(k)!r} → {now.get(k)!r}" for k in sorted(set(saved) | set(now))
                 if saved.get(k) != now.get(k)]
        if diffs:
            return "has another model shape (" + "; ".join(diffs) + ")"
        if self.tokenizer_hash and meta.get("tokenizer_hash") not in (None, self.tokenizer_hash):
            return (f"was trained on tokens of another tokenizer ({meta['tokenizer_hash'][:12]}…, now "
                    f"{self.tokenizer_hash[:12]}…)")
        if self.data_id and meta.get("data_id") not in (None, self.data_id):
            return f"was trained on other token shards (data {meta['data_id'][:12]}…, now {self.data_id[:12]}…)"
        return None

    def _restore(self, path: Path) -> None:
        meta = self.checkpoints.restore(path, device=self.device, model_args=self.args.to_dict())
        self.step, self.tokens_seen = int(meta["step"]), int(meta["tokens_seen"])
        changed = sorted(k for k, v in self.cfg.model_dump(mode="json").items()
                         if meta.get("train", {}).get(k) != v and k != "resume")
        self.log(f"resumed from {path} at step {self.step} ({self.tokens_seen:,} tokens)"
                 + (f"; train settings changed since: {', '.join(changed)}" if changed else ""))

    def _build_step(self) -> None:
        """Memory cap, recomputation, the (compiled) loss, autocast, and the startup line."""
        cfg, device = self.cfg, self.device
        if device.type == "cuda" and cfg.max_memory_gib:
            total = torch.cuda.get_device_properties(device).total_memory
            torch.cuda.set_per_process_memory_fraction(min(1.0, cfg.max_memory_gib * 2**30 / total), device)
        apply_activation_checkpointing(self.model, cfg.activation_checkpointing)
        self.loss_module = self.dist.wrap(self.model, cfg.loss_chunk_tokens, device)
        self.loss_fn = self.loss_module
        self.accum = cfg.grad_accum_steps // self.dist.world_size  # micro batches per step, per process
        self.trace = None
        if cfg.trace_windows:
            (self.root / "trace").mkdir(exist_ok=True)
            self.trace = open(self.root / "trace" / f"windows-rank{self.dist.rank}.jsonl", "a", encoding="utf-8")
        if cfg.compile:
            if device.type == "cuda":
                self.loss_fn = torch.compile(self.loss_fn)
            else:
                self.log("train.compile is ignored on CPU (it pays off on CUDA only)")
        self.autocast = _autocast(device, cfg.dtype)
        peak = peak_flops(device, cfg.peak_tflops)
        self.peak = peak * self.dist.world_size if peak else peak  # tokens/s count every process
        self.tokens_per_step = cfg.micro_batch_size * cfg.grad_accum_steps * self.args.context_tokens
        self.log(f"model: {count_parameters(self.args):,} parameters; "
                 f"{flops_per_token(self.args) / 1e9:.3f} GFLOP/token; device {device}, "
                 f"{cfg.dtype} compute; {self.tokens_per_step:,} tokens/step = {cfg.micro_batch_size} x "
                 f"{cfg.grad_accum_steps} accumulation x {self.args.context_tokens}"
                 + (f" ({self.dist.world_size} processes, {cfg.parallel}, {self.accum} micro batches each)"
                    if self.dist.enabled else "") + "; train split "
                 f"{self.loader.stream.n_tokens:,} tokens ({self.loader.n_windows:,} windows), "
                 f"val {self.valset.n_tokens:,} tokens")
        self.log(self.valset.describe())

    def meta(self, last_loss: float | None) -> dict:
        """What a checkpoint records beside the stateful parts."""
        return {"model": self.args.to_dict(), "train": self.cfg.model_dump(mode="json"),
                "tokens_seen": self.tokens_seen, "tokenizer_hash": self.tokenizer_hash, "data_id": self.data_id,
                "vocab_size": self.vocab_size, "seed": self.seed, "last_loss": last_loss}

    def train_step(self, stop: StopSignals) -> tuple[float, float | None, float] | None:
        """One optimizer step: (loss, grad norm, LR), or None when a stop signal arrived mid-step
        (the unfinished step is dropped and the data position put back)."""
        cfg = self.cfg
        position = self.loader.state_dict()
        lr = lr_at(self.step, lr=cfg.lr, min_lr=cfg.min_lr, warmup_steps=cfg.warmup_steps, max_steps=cfg.max_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss_sum = torch.zeros((), device=self.device)
        for j in range(self.accum):
            if self.dist.agree(bool(stop.received)):
                self.optimizer.zero_grad(set_to_none=True)
                self.loader.load_state_dict(position)
                return None
            x, y = self.loader.next_batch()
            if self.trace is not None:
                self.trace.write(json.dumps({"step": self.step + 1, "micro": j, "windows": self.loader.last_windows}) + "\n")
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            with self.dist.no_sync(self.loss_module, last=j == self.accum - 1):
                with self.autocast():
                    loss = self.loss_fn(x, y)
                (loss / self.accum).backward()
            loss_sum += loss.detach()
        grad_norm = (torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip_norm)
                     if cfg.grad_clip_norm else None)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.tokens_seen += self.tokens_per_step
        step_loss = float(self.dist.total(loss_sum)) / cfg.grad_accum_steps  # syncs: the step is done
        if not math.isfinite(step_loss):
            raise FloatingPointError(f"loss is {step_loss} at step {self.step}; lower train.lr or "
                                     "check the data; resume from the last checkpoint")
        return step_loss, (grad_norm_value(grad_norm) if grad_norm is not None else None), lr

    def evaluate(self) -> dict | None:
        """Val loss and bits per byte, overall and per source (`train/eval.py`). Rank 0 alone
        under DDP (None on the others); every process in step under FSDP."""
        if not (self.dist.is_main or self.dist.sharded):
            return None
        try:
            return evaluate_valset(self.model, self.valset, device=self.device, autocast=self.autocast,
                                   batch_tokens=self.cfg.micro_batch_size * self.args.context_tokens)
        finally:
            self.dist.reshard(self.model)

    def _stop(self, stop: StopSignals) -> str | None:
        """The stop signal this process got, or the one another process got (all agree)."""
        if self.dist.agree(bool(stop.received)):
            return stop.received or "a stop signal to another process"
        return None

    def fit(self, stop_at_step: int | None = None) -> TrainResult:
        """Train until `max_steps`, `stop_at_step`, or a stop signal; save as configured."""
        cfg = self.cfg
        result = TrainResult(step=self.step, tokens_seen=self.tokens_seen, resumed_from=self.resumed_from,
                             superseded=self.superseded)
        target = min(cfg.max_steps, stop_at_step) if stop_at_step is not None else cfg.max_steps
        observer = (RunObserver(self.root, cfg, resumed_step=self.step, facts=run_facts(self),
                                tokenizer_json=self.tokenizer_json, log=self.log) if self.dist.is_main
                    else FollowerObserver(cfg, tokenizer_json=self.tokenizer_json, sharded=self.dist.sharded))
        self.model.train()
        # Throughput counts the steps' own time, not evaluations or saves between them.
        seconds, tokens, train_s = 0.0, 0, 0.0
        try:
            with StopSignals() as stop:
                stopped = None
                while self.step < target and not (stopped := self._stop(stop)):
                    t0 = time.perf_counter()
                    done = self.train_step(stop)
                    if done is None:
                        break
                    loss, grad_norm, lr = done
                    dt = time.perf_counter() - t0
                    seconds, train_s = seconds + dt, train_s + dt
                    tokens += self.tokens_per_step
                    result.losses.append((self.step, loss))
                    record = None
                    if self.step % cfg.log_every_steps == 0 or self.step == target:
                        tps = tokens / seconds if seconds > 0 else float("nan")
                        record = self._step_record(loss, grad_norm, lr, tps)
                        seconds, tokens = 0.0, 0
                    if (cfg.eval_every_steps and self.step % cfg.eval_every_steps == 0) or self.step == cfg.max_steps:
                        with observer.timed():
                            result.last_eval = self.evaluate()
                        record = {**(record or {"step": self.step, "loss": round(loss, 6)}), **(result.last_eval or {})}
                    observer.step_done(record, self.model)
                    if record and "val_loss" in record:
                        self.dist.reshard(self.model)  # after the samples' forwards
                    if self.step % cfg.checkpoint_every_steps == 0 or self.step == target:
                        result.checkpoint = self.checkpoints.save(self.step, self.meta(loss))
                stopped = stopped or self._stop(stop)
                if stopped:
                    result.stopped_by = stopped
                    result.checkpoint = self.checkpoints.save(self.step, self.meta(_last(result)))
                    self.log(f"stopped by {stopped} at step {self.step}; saved {result.checkpoint}; "
                             "run the same command again to resume")
        finally:
            observer.close(train_s)
            if self.trace is not None:
                self.trace.close()
        result.train_seconds, result.observe_seconds = train_s, observer.overhead_s
        return self._finish(result)

    def _step_record(self, loss: float, grad_norm: float | None, lr: float, tokens_per_s: float) -> dict:
        return {"step": self.step, "loss": round(loss, 6), "lr": lr, "tokens": self.tokens_seen,
                "grad_norm": round(grad_norm, 6) if grad_norm is not None else None,
                "tokens_per_s": round(tokens_per_s, 1),
                "mfu": (round(m, 4) if (m := mfu(tokens_per_s, self.args, self.peak)) is not None else None),
                "mem_gib": round(memory_gib(self.device), 3)}

    def _finish(self, result: TrainResult) -> TrainResult:
        if result.stopped_by is None and self.step < self.cfg.max_steps:
            result.stopped_by = "stop_at_step"
        if result.stopped_by is None and result.last_eval is None:  # resumed at max_steps: evaluate anyway
            result.last_eval = self.evaluate()
        if result.checkpoint is None:  # no step ran in this call
            result.checkpoint = self.dist.from_main(self.checkpoints.at_step(self.step)) or self.checkpoints.save(
                self.step, self.meta(_last(result)))
        result.step, result.tokens_seen = self.step, self.tokens_seen
        return result


def _last(result: TrainResult) -> float | None:
    return result.losses[-1][1] if result.losses else None


def train(model_section: ModelSection, cfg: TrainConfig, *, stop_at_step: int | None = None,
          **kwargs) -> TrainResult:
    """Build a `Trainer` (see its arguments) and fit it."""
    return Trainer(model_section, cfg, **kwargs).fit(stop_at_step)
