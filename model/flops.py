"""What a model shape costs: parameters, training FLOPs per token, memory, and MFU.

`describe()` is what `kuznia model-info PRESET` prints. MFU follows PaLM's accounting
(6·N_non-embedding + 12·L·d·T FLOPs per token) against a device's dense bf16 peak.
"""

from __future__ import annotations

import math

from model.config import ModelArgs, preset_args

# Dense bf16 peaks (no sparsity) in TFLOP/s, by a substring of the CUDA device name.
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "RTX 4090": 165.2, "L40S": 362.0, "L4": 121.0}


def peak_flops_of(device_name: str, override_tflops: float | None = None) -> float | None:
    """A device's dense bf16 peak in FLOP/s (an override wins; None for an unknown device)."""
    if override_tflops:
        return override_tflops * 1e12
    return next((v * 1e12 for k, v in PEAK_TFLOPS.items() if k in device_name), None)


def count_parameters(args: ModelArgs) -> int:
    """All parameters, from the shape: embeddings, blocks, final norm and the untied head."""
    d, i, v = args.d_model, args.intermediate_size, args.vocab_size
    per_layer = 4 * d * d + 3 * d * i + 2 * d  # q,k,v,o; gate,up,down; two RMSNorm weights
    return v * d + args.n_layers * per_layer + d + v * d


def count_non_embedding_parameters(args: ModelArgs) -> int:
    """Parameters less the input embedding table (a lookup, no FLOPs); the head is a matmul."""
    return count_parameters(args) - args.vocab_size * args.d_model


def flops_per_token(args: ModelArgs, context_tokens: int | None = None) -> int:
    """Training FLOPs per token: 6·N_non-embedding + 12·L·d·T (forward + backward, PaLM's MFU)."""
    t = context_tokens or args.context_tokens
    return 6 * count_non_embedding_parameters(args) + 12 * args.n_layers * args.d_model * t


def estimate_training_memory(args: ModelArgs, micro_batch: int = 1, context_tokens: int | None = None,
                             dtype: str = "bfloat16") -> dict[str, int]:
    """Bytes for fp32 weights, fp32 grads, AdamW state and an activation estimate.

    Activations: what autograd keeps per token and layer with fused (SDPA) attention: the fp32
    residual input twice, the norm outputs, q/k/v before and after RoPE, the attention output
    (about 24·d values at 16-bit compute) and gate, up, SiLU and their product (8·i), plus
    the logits (16-bit), their fp32 copy for the loss and its gradient. Doubled for fp32 compute.
    """
    n = count_parameters(args)
    t = context_tokens or args.context_tokens
    tokens = micro_batch * t
    scale = 1 if dtype in ("bfloat16", "float16") else 2
    per_token_layer = (24 * args.d_model + 8 * args.intermediate_size) * scale
    logits = (2 * scale + 8) * args.vocab_size * tokens
    return {
        "weights": 4 * n,
        "gradients": 4 * n,
        "optimizer": 8 * n,
        "activations": per_token_layer * args.n_layers * tokens + logits,
    }


def per_device_memory(args: ModelArgs, devices: int, parallel: str, micro_batch: int = 1,
                      context_tokens: int | None = None, dtype: str = "bfloat16") -> dict[str, int]:
    """`estimate_training_memory` for one of `devices` processes.

    `ddp`: each holds everything (DDP's gradient buckets are views of the gradients). `fsdp`
    (FSDP2 over each block and the model): weights, gradients and AdamW state split `devices`
    ways, plus what is gathered whole at a time: the root's embeddings, norm and head (kept
    during forward and backward), and two blocks' weights and one block's gradients (the one
    computed and the one prefetched). Activations are per process either way.
    """
    mem = estimate_training_memory(args, micro_batch, context_tokens, dtype)
    if parallel == "ddp" or devices == 1:
        return {**mem, "gathered": 0}
    if parallel != "fsdp":
        raise ValueError(f"parallel={parallel!r}; allowed: ddp, fsdp")
    block = (count_parameters(args) - 2 * args.vocab_size * args.d_model - args.d_model) // args.n_layers
    root = 2 * args.vocab_size * args.d_model + args.d_model
    split = {k: -(-mem[k] // devices) for k in ("weights", "gradients", "optimizer")}
    return {**split, "gathered": 4 * (root + 2 * block + block), "activations": mem["activations"]}


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def _gib(b: float) -> str:
    return f"{b / 2**30:.2f} GiB"


def describe(preset: str | ModelArgs, micro_batch: int = 1, context: int | None = None,
             dtype: str = "bfloat16", devices: int = 1) -> str:
    """A human-readable summary of a model shape (what `kuznia model-info PRESET` prints)."""
    args = preset_args(preset) if isinstance(preset, str) else preset
    name = preset if isinstance(preset, str) else "custom"
    t = context or args.context_tokens
    n = count_parameters(args)
    mem = estimate_training_memory(args, micro_batch, t, dtype)
    fpt = flops_per_token(args, t)
    lines = [
        (f"model {name}: {args.n_layers} layers, d_model {args.d_model}, {args.n_heads} heads x "
         f"{args.head_dim}, intermediate {args.intermediate_size}, vocab {args.vocab_size}, "
         f"context {args.context_tokens}, RoPE theta {args.rope_theta:g}, RMSNorm eps {args.norm_eps:g}"),
        f"parameters:              {_fmt_int(n)} ({n / 1e6:.1f} M)",
        f"non-embedding params:    {_fmt_int(count_non_embedding_parameters(args))}",
        f"FLOPs per token (train): {fpt / 1e9:.3f} GFLOP  (6*N_non-emb + 12*L*d*T, T={t})",
        f"training memory, micro batch {micro_batch} x {t} tokens, {dtype} compute (estimate):",
        f"  weights fp32   {_gib(mem['weights'])}",
        f"  gradients fp32 {_gib(mem['gradients'])}",
        f"  AdamW state    {_gib(mem['optimizer'])}",
        f"  activations    {_gib(mem['activations'])}",
        f"  total          {_gib(sum(mem.values()))}",
    ]
    if devices > 1:
        per = {mode: per_device_memory(args, devices, mode, micro_batch, t, dtype) for mode in ("ddp", "fsdp")}
        lines.append(f"per device on {devices} devices:{'ddp':>21}{'fsdp':>14}  (train.parallel)")
        for key, label in (("weights", "weights fp32"), ("gradients", "gradients fp32"), ("optimizer", "AdamW state"),
                           ("gathered", "gathered whole"), ("activations", "activations")):
            lines.append(f"  {label:<15}{_gib(per['ddp'][key]):>30} {_gib(per['fsdp'][key]):>13}")
        lines.append(f"  {'total':<15}{_gib(sum(per['ddp'].values())):>30} {_gib(sum(per['fsdp'].values())):>13}")
    return "\n".join(lines)


def mfu(tokens_per_second: float, args: ModelArgs, peak_flops: float | None,
        context_tokens: int | None = None) -> float | None:
    """Model FLOPs utilisation against a device's dense peak (None when the peak is unknown)."""
    if not peak_flops or not math.isfinite(tokens_per_second):
        return None
    return tokens_per_second * flops_per_token(args, context_tokens) / peak_flops
