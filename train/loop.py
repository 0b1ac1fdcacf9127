"""The training loop: micro batches with gradient accumulation, AdamW, periodic eval and saves.

fp32 master weights and AdamW state, bf16 autocast for compute, fused AdamW on CUDA, weight
decay on matrices only, global-norm clipping, the LR a pure function of the step. Exact
resume: the checkpoint holds everything the next step depends on (weights, optimizer state,
step, data position, RNG), so N steps straight and N/2 + resume + N/2 give identical bits on
CPU. SIGTERM/SIGINT stop at the next micro batch: the unfinished step is dropped and the state
of the last finished one saved, so nothing is lost or repeated.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from corpus.stage import atomic_path
from model.config import ModelArgs, ModelSection, count_parameters, flops_per_token, resolve_model_args
from model.llama import Llama
from train.checkpoint import (
    LATEST,
    check_model_compatible,
    list_checkpoints,
    load_checkpoint,
    remove_incomplete,
    resolve_resume,
    save_checkpoint,
    set_rng_state,
)
from train.config import TrainConfig
from train.data import WindowLoader, eval_batches
from train.eval import count_target_bytes, evaluate
from train.recompute import apply_activation_checkpointing, causal_lm_loss
from train.schedule import lr_at

METRICS = "metrics.jsonl"
# Dense bf16 peaks (no sparsity) for MFU, by a substring of the device name.
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "RTX 4090": 165.2, "L40S": 362.0, "L4": 121.0}


@dataclass
class TrainResult:
    step: int
    tokens_seen: int
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, loss) run in this call
    last_eval: dict | None = None
    checkpoint: Path | None = None
    stopped_by: str | None = None  # "SIGTERM", "SIGINT", "stop_at_step"; None: reached max_steps
    resumed_from: Path | None = None


def resolve_device(name: str) -> torch.device:
    """`auto` -> cuda if available, else cpu; `cuda` without a GPU is an error saying so."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device=cuda but no CUDA GPU is visible; use train.device=cpu or auto")
    return torch.device(name)


def peak_flops(device: torch.device, override_tflops: float | None) -> float | None:
    """The device's dense bf16 peak in FLOP/s (None on CPU or an unknown GPU without override)."""
    if override_tflops:
        return override_tflops * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v * 1e12 for k, v in PEAK_TFLOPS.items() if k in name), None)


def memory_gib(device: torch.device) -> float:
    """Peak CUDA memory allocated, or this process's resident memory on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    import psutil

    return psutil.Process().memory_info().rss / 2**30


def progress_enabled() -> bool:
    return os.environ.get("KUZNIA_PROGRESS", "1") != "0" and sys.stderr.isatty()


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


def _rewrite_metrics(path: Path, keep_through_step: int) -> None:
    """On resume, drop metric lines past the resumed step (they will be written again)."""
    if not path.exists():
        return
    lines = [ln for ln in path.read_text("utf-8").splitlines()
             if ln.strip() and json.loads(ln).get("step", 0) <= keep_through_step]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(ln + "\n" for ln in lines), "utf-8")


def _start_over(root: Path, log: Callable[[str], None]) -> None:
    old = list_checkpoints(root)
    if old:
        log(f"train.resume=no: deleting {len(old)} checkpoint(s) under {root}")
    for _, p in old:
        shutil.rmtree(p)
    (root / LATEST).unlink(missing_ok=True)
    (root / METRICS).unlink(missing_ok=True)


def train(model_section: ModelSection, cfg: TrainConfig, *, tokens_dir: Path, checkpoints_dir: Path,
          vocab_size: int, seed: int, tokenizer_hash: str | None = None, tokenizer_json: Path | None = None,
          stop_at_step: int | None = None, log: Callable[[str], None] = print) -> TrainResult:
    """Train (or continue training) until `cfg.max_steps`, `stop_at_step`, or a stop signal."""
    tokens_dir, root = Path(tokens_dir), Path(checkpoints_dir)
    args: ModelArgs = resolve_model_args(model_section, vocab_size)
    device = resolve_device(cfg.device)
    seed = cfg.seed if cfg.seed is not None else seed
    root.mkdir(parents=True, exist_ok=True)
    if cfg.resume not in ("auto", "no"):  # an explicit path: refuse a bad one before any cleanup
        resolve_resume(root, cfg.resume)
    for p in remove_incomplete(root):
        log(f"removed incomplete checkpoint {p} (a save was interrupted)")
    if cfg.resume == "no":
        _start_over(root, log)
    resume_path = resolve_resume(root, cfg.resume)

    loader = WindowLoader(tokens_dir / "train", context_tokens=args.context_tokens,
                          micro_batch_size=cfg.micro_batch_size, seed=seed,
                          vocab_size=vocab_size, tokenizer_hash=tokenizer_hash)
    val = eval_batches(tokens_dir / "val", context_tokens=args.context_tokens,
                       micro_batch_size=cfg.micro_batch_size, n_batches=cfg.eval_batches,
                       vocab_size=vocab_size, tokenizer_hash=tokenizer_hash)
    val_bytes = count_target_bytes(tokenizer_json, val)

    torch.manual_seed(seed)
    model = Llama(args).to(device)  # initialised on CPU: the same weights on every device
    optimizer = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr,
                                  betas=(cfg.beta1, cfg.beta2), eps=cfg.adam_eps,
                                  fused=device.type == "cuda")
    step, tokens_seen = 0, 0
    if resume_path is not None:
        ckpt = load_checkpoint(resume_path, map_location=device)
        check_model_compatible(resume_path, ckpt.meta.get("model", {}), args.to_dict())
        if tokenizer_hash and ckpt.meta.get("tokenizer_hash") not in (None, tokenizer_hash):
            raise RuntimeError(f"checkpoint {resume_path} was trained on tokens of tokenizer "
                               f"{ckpt.meta['tokenizer_hash'][:12]}…, the shards now come from "
                               f"{tokenizer_hash[:12]}…; start over with `train.resume=no`")
        model.load_state_dict(ckpt.model_state)
        optimizer.load_state_dict(ckpt.optimizer_state)
        loader.load_state_dict(ckpt.meta["data"], where=f"checkpoint {resume_path}")
        set_rng_state(ckpt.rng)
        step, tokens_seen = ckpt.step, int(ckpt.meta["tokens_seen"])
        changed = sorted(k for k, v in cfg.model_dump(mode="json").items()
                         if ckpt.meta.get("train", {}).get(k) != v and k != "resume")
        log(f"resumed from {resume_path} at step {step} ({tokens_seen:,} tokens)"
            + (f"; train settings changed since: {', '.join(changed)}" if changed else ""))
        del ckpt
    _rewrite_metrics(root / METRICS, step)

    if device.type == "cuda" and cfg.max_memory_gib:
        total = torch.cuda.get_device_properties(device).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, cfg.max_memory_gib * 2**30 / total), device)
    apply_activation_checkpointing(model, cfg.activation_checkpointing)
    loss_fn = functools.partial(causal_lm_loss, model, chunk_tokens=cfg.loss_chunk_tokens)
    if cfg.compile:
        if device.type == "cuda":
            loss_fn = torch.compile(loss_fn)
        else:
            log("train.compile is ignored on CPU (it pays off on CUDA only)")
    autocast = _autocast(device, cfg.dtype)
    peak = peak_flops(device, cfg.peak_tflops)
    tokens_per_step = cfg.micro_batch_size * cfg.grad_accum_steps * args.context_tokens
    fpt = flops_per_token(args, args.context_tokens)
    log(f"model: {count_parameters(args):,} parameters; {fpt / 1e9:.3f} GFLOP/token; device {device}, "
        f"{cfg.dtype} compute; {tokens_per_step:,} tokens/step = {cfg.micro_batch_size} x "
        f"{cfg.grad_accum_steps} accumulation x {args.context_tokens}; train split {loader.stream.n_tokens:,} "
        f"tokens ({loader.n_windows:,} windows), val {sum(y.numel() for _, y in val):,} tokens")

    def meta() -> dict:
        return {"model": args.to_dict(), "train": cfg.model_dump(mode="json"), "data": loader.state_dict(),
                "tokens_seen": tokens_seen, "tokenizer_hash": tokenizer_hash, "vocab_size": vocab_size,
                "seed": seed, "last_loss": result.losses[-1][1] if result.losses else None}

    def save() -> Path:
        return save_checkpoint(root, step, model=model, optimizer=optimizer, meta=meta(), keep=cfg.keep_checkpoints)

    result = TrainResult(step=step, tokens_seen=tokens_seen, resumed_from=resume_path)
    target = min(cfg.max_steps, stop_at_step) if stop_at_step is not None else cfg.max_steps
    model.train()
    bar = None
    if progress_enabled():
        from tqdm import tqdm

        bar = tqdm(total=cfg.max_steps, initial=step, unit="step", dynamic_ncols=True)
    metrics = open(root / METRICS, "a", encoding="utf-8")
    # Throughput counts the steps' own time, not evaluations or saves between them.
    seconds_window, tokens_window = 0.0, 0
    try:
        with StopSignals() as stop:
            while step < target and not stop.received:
                position = loader.state_dict()
                t_step = time.perf_counter()
                lr = lr_at(step, lr=cfg.lr, min_lr=cfg.min_lr, warmup_steps=cfg.warmup_steps, max_steps=cfg.max_steps)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                loss_sum = torch.zeros((), device=device)
                for _ in range(cfg.grad_accum_steps):
                    if stop.received:
                        break
                    x, y = loader.next_batch()
                    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                    with autocast():
                        loss = loss_fn(x, y)
                    (loss / cfg.grad_accum_steps).backward()
                    loss_sum += loss.detach()
                if stop.received:  # drop the unfinished step: resume redoes it from its start
                    optimizer.zero_grad(set_to_none=True)
                    loader.load_state_dict(position)
                    break
                grad_norm = (torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip_norm)
                             if cfg.grad_clip_norm else None)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                tokens_seen += tokens_per_step
                tokens_window += tokens_per_step
                step_loss = float(loss_sum) / cfg.grad_accum_steps  # syncs: the step is done
                seconds_window += time.perf_counter() - t_step
                if not math.isfinite(step_loss):
                    raise FloatingPointError(f"loss is {step_loss} at step {step}; lower train.lr or "
                                             "check the data; resume from the last checkpoint")
                result.losses.append((step, step_loss))
                record = None
                if step % cfg.log_every_steps == 0 or step == target:
                    tps = tokens_window / seconds_window if seconds_window > 0 else float("nan")
                    record = {"step": step, "loss": round(step_loss, 6), "lr": lr, "tokens": tokens_seen,
                              "grad_norm": round(float(grad_norm), 6) if grad_norm is not None else None,
                              "tokens_per_s": round(tps, 1),
                              "mfu": round(tps * fpt / peak, 4) if peak else None,
                              "mem_gib": round(memory_gib(device), 3)}
                    seconds_window, tokens_window = 0.0, 0
                if (cfg.eval_every_steps and step % cfg.eval_every_steps == 0) or step == cfg.max_steps:
                    result.last_eval = evaluate(model, loss_fn, val, device=device, autocast=autocast,
                                                target_bytes=val_bytes)
                    record = {**(record or {"step": step, "loss": round(step_loss, 6)}), **result.last_eval}
                if record:
                    metrics.write(json.dumps(record, sort_keys=True) + "\n")
                    metrics.flush()
                    _report(record, bar, log, cfg.max_steps)
                elif bar is not None:
                    bar.update(1)
                if step % cfg.checkpoint_every_steps == 0 or step == target:
                    result.checkpoint = save()
            if stop.received:
                result.stopped_by = stop.received
                result.checkpoint = save()
                log(f"stopped by {stop.received} at step {step}; saved {result.checkpoint}; "
                    "run the same command again to resume")
    finally:
        metrics.close()
        if bar is not None:
            bar.close()
    if result.stopped_by is None and step < cfg.max_steps:
        result.stopped_by = "stop_at_step"
    if result.stopped_by is None and result.last_eval is None:  # resumed at max_steps: evaluate anyway
        result.last_eval = evaluate(model, loss_fn, val, device=device, autocast=autocast, target_bytes=val_bytes)
    if result.checkpoint is None:  # no step ran in this call
        found = list_checkpoints(root)
        result.checkpoint = found[-1][1] if found and found[-1][0] == step else save()
    result.step, result.tokens_seen = step, tokens_seen
    return result


def _report(record: dict, bar, log: Callable[[str], None], max_steps: int) -> None:
    """Show a metrics record on the progress bar, or as a log line without one."""
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
    if bar is not None:
        bar.set_postfix(parts, refresh=False)
        bar.update(record["step"] - bar.n)
    else:
        log(f"step {record['step']}/{max_steps} " + " ".join(f"{k} {v}" for k, v in parts.items()))
