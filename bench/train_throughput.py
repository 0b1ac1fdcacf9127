"""Training throughput of our LLaMA against transformers' LlamaForCausalLM, in one process.

Both train the same shape with the recipe's numerics: fp32 master weights and AdamW state,
bf16 autocast, fused AdamW (CUDA), clip 1.0, random tokens. Prints tokens/s, MFU
(6·N_non-embedding + 12·L·d·T FLOPs per token against the device's dense bf16 peak) and peak
memory per variant, then ours/baseline.

    # the real numbers, one H100 (APT3-1B shape, context 2048):
    python bench/train_throughput.py --device cuda --preset apt3-1b --sweep --cap-gib 24
    # one variant:
    python bench/train_throughput.py --device cuda --micro-batch 4 --compile --ckpt mlp --loss-chunk 4096
    # CPU smoke check:
    python bench/train_throughput.py --device cpu --preset tiny --steps 3
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.config import PRESETS, ModelArgs
from model.flops import flops_per_token
from model.hf import hf_config
from model.llama import Llama
from train.recompute import apply_activation_checkpointing, causal_lm_loss
from train.trainer import param_groups, peak_flops


@dataclass
class Variant:
    name: str
    micro_batch: int = 1
    compile: bool = False
    ckpt: str = "none"
    loss_chunk: int | None = None
    hf: bool = False


# What `--sweep` measures: the levers of the table, baseline first.
SWEEP = [
    Variant("HF LlamaForCausalLM sdpa, mb 1 (baseline)", hf=True),
    Variant("ours eager, mb 1"),
    Variant("ours compiled, mb 1", compile=True),
    Variant("ours compiled, mb 2", micro_batch=2, compile=True),
    Variant("ours compiled, mb 2, loss chunks 4096", micro_batch=2, compile=True, loss_chunk=4096),
    Variant("ours compiled, mb 4, mlp ckpt, loss chunks 4096", micro_batch=4, compile=True, ckpt="mlp",
            loss_chunk=4096),
    Variant("ours compiled, mb 8, block ckpt, loss chunks 4096", micro_batch=8, compile=True, ckpt="block",
            loss_chunk=4096),
]


def build(variant: Variant, args: ModelArgs, device: torch.device):
    """The model (fp32 weights) and a loss function `(x, y) -> loss` for a variant."""
    torch.manual_seed(0)
    if variant.hf:
        from transformers import LlamaForCausalLM

        cfg = hf_config(args, bos_token_id=1, eos_token_id=2, pad_token_id=3)
        cfg._attn_implementation = "sdpa"
        model = LlamaForCausalLM(cfg).to(device)

        def loss_fn(x, y):
            logits = model(input_ids=x).logits
            return torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), y.flatten())

        return model, loss_fn
    model = Llama(args).to(device)
    apply_activation_checkpointing(model, variant.ckpt)
    fn = functools.partial(causal_lm_loss, model, chunk_tokens=variant.loss_chunk)
    if variant.compile:
        fn = torch.compile(fn)
    return model, fn


def measure(variant: Variant, args: ModelArgs, device: torch.device, *, steps: int, warmup: int,
            accum: int, peak: float | None) -> dict:
    """Time `steps` optimizer steps of `accum` micro batches after `warmup` untimed steps."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    model, loss_fn = build(variant, args, device)
    opt = torch.optim.AdamW(param_groups(model, 0.1), lr=2e-4, betas=(0.9, 0.95), eps=1e-8,
                            fused=device.type == "cuda")
    autocast = (functools.partial(torch.autocast, device_type=device.type, dtype=torch.bfloat16))
    T = args.context_tokens
    gen = torch.Generator(device="cpu").manual_seed(1)
    data = torch.randint(0, args.vocab_size, (variant.micro_batch * accum, T + 1), generator=gen).to(device)

    def step() -> float:
        total = 0.0
        for i in range(accum):
            rows = data[i * variant.micro_batch : (i + 1) * variant.micro_batch]
            with autocast():
                loss = loss_fn(rows[:, :-1], rows[:, 1:])
            (loss / accum).backward()
            total += loss.detach()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(total) / accum  # syncs

    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    seconds = time.perf_counter() - t0
    tokens = steps * accum * variant.micro_batch * T
    tps = tokens / seconds
    out = {"tokens_per_s": tps, "mfu": tps * flops_per_token(args, T) / peak if peak else None,
           "peak_gib": torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None,
           "loss": loss}
    return out  # the model and optimizer die with this frame; the caller collects


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--preset", default="apt3-1b", choices=sorted(PRESETS))
    p.add_argument("--context", type=int, default=None, help="tokens per window (default: the preset's)")
    p.add_argument("--micro-batch", type=int, default=1)
    p.add_argument("--accum", type=int, default=4, help="micro batches per optimizer step")
    p.add_argument("--steps", type=int, default=5, help="timed optimizer steps")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (compilation, allocator)")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--ckpt", default="none", choices=["none", "mlp", "block"], help="activation checkpointing")
    p.add_argument("--loss-chunk", type=int, default=None, help="output head + loss in chunks of N tokens")
    p.add_argument("--cap-gib", type=float, default=None, help="cap CUDA memory (24 stands in for an RTX 4090)")
    p.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak for MFU (default: by name)")
    p.add_argument("--sweep", action="store_true", help="measure the SWEEP list instead of one variant")
    p.add_argument("--no-baseline", action="store_true")
    a = p.parse_args(argv)

    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device; use --device cpu --preset tiny for a smoke check", file=sys.stderr)
        return 2
    args = PRESETS[a.preset]
    if a.context:
        from dataclasses import replace

        args = replace(args, context_tokens=a.context)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        if a.cap_gib:
            total = torch.cuda.get_device_properties(device).total_memory
            torch.cuda.set_per_process_memory_fraction(min(1.0, a.cap_gib * 2**30 / total), device)
    peak = peak_flops(device, a.peak_tflops)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device {name}; preset {a.preset}, context {args.context_tokens}, bf16 autocast, fp32 master "
          f"weights, AdamW{' fused' if device.type == 'cuda' else ''}; {a.steps} timed steps x {a.accum} "
          f"micro batches after {a.warmup} warmup; memory cap {a.cap_gib or 'none'} GiB; "
          f"peak {peak / 1e12 if peak else 'n/a'} TFLOP/s")
    if a.sweep:
        variants = SWEEP[1:] if a.no_baseline else SWEEP
    else:
        variants = [] if a.no_baseline else [SWEEP[0]]
        variants.append(Variant(f"ours mb {a.micro_batch}{', compiled' if a.compile else ''}, ckpt {a.ckpt}, "
                                f"loss chunk {a.loss_chunk}", a.micro_batch, a.compile, a.ckpt, a.loss_chunk))
    results = []
    print(f"{'variant':58s} {'tokens/s':>10s} {'MFU':>6s} {'peak GiB':>9s}")
    for v in variants:
        if v.compile and device.type != "cuda":
            print(f"{v.name:58s} {'skipped':>10s} (torch.compile is measured on CUDA only)")
            continue
        try:
            r = measure(v, args, device, steps=a.steps, warmup=a.warmup, accum=a.accum, peak=peak)
        except torch.OutOfMemoryError:
            gc.collect()
            print(f"{v.name:58s} {'OOM':>10s}")
            continue
        gc.collect()
        results.append((v, r))
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "n/a"
        mem = f"{r['peak_gib']:.1f}" if r["peak_gib"] is not None else "n/a"
        print(f"{v.name:58s} {r['tokens_per_s']:10,.0f} {mfu:>6s} {mem:>9s}", flush=True)
    base = next((r for v, r in results if v.hf), None)
    ours = [(v, r) for v, r in results if not v.hf]
    if base and ours:
        best_v, best = max(ours, key=lambda vr: vr[1]["tokens_per_s"])
        print(f"ours/baseline: {best['tokens_per_s'] / base['tokens_per_s']:.2f}x ({best_v.name})")
    return 0 if results else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
