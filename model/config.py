"""Model shapes: presets by name, the `model:` config section, and what a shape costs.

`ModelArgs` is the resolved shape the LLaMA module is built from; `ModelSection` is what a
config file says (a preset plus optional overrides). The vocabulary size normally comes from
the tokenizer, so a preset's `vocab_size` is only a default for `kuznia model-info` and the
benchmark. `describe()` is what `kuznia model-info PRESET` prints: parameters, FLOPs per token
and an estimate of the training memory of one micro batch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True)
class ModelArgs:
    """The shape of a LLaMA-style decoder (no biases, RMSNorm, SwiGLU, RoPE, untied head)."""

    vocab_size: int
    context_tokens: int
    n_layers: int
    d_model: int
    n_heads: int
    intermediate_size: int
    rope_theta: float = 10000.0
    norm_eps: float = 1e-6
    init_std: float = 0.02

    def __post_init__(self) -> None:
        problems = []
        for f in ("vocab_size", "context_tokens", "n_layers", "d_model", "n_heads", "intermediate_size"):
            if getattr(self, f) < 1:
                problems.append(f"{f} must be at least 1 (got {getattr(self, f)})")
        if self.n_heads >= 1 and self.d_model % self.n_heads:
            problems.append(f"d_model {self.d_model} must be divisible by n_heads {self.n_heads}")
        elif self.n_heads >= 1 and (self.d_model // self.n_heads) % 2:
            problems.append(f"head_dim {self.d_model // self.n_heads} must be even (RoPE rotates pairs)")
        if problems:
            raise ValueError("invalid model shape: " + "; ".join(problems))

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelArgs:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown model shape keys {unknown}; allowed: {sorted(known)}")
        return cls(**d)


PRESETS: dict[str, ModelArgs] = {
    # Azurro's APT3-1B-Base (seed/apt3-1b-base-model-card.txt): exactly 1,041,754,112 parameters.
    "apt3-1b": ModelArgs(vocab_size=31980, context_tokens=2048, n_layers=18, d_model=2048,
                         n_heads=32, intermediate_size=5504),
    # Trains on two CPU cores in about two minutes on the demo corpus; the loss clearly falls.
    "demo": ModelArgs(vocab_size=8000, context_tokens=256, n_layers=4, d_model=192,
                      n_heads=4, intermediate_size=512),
    # Unit tests and the CPU smoke run of the benchmark.
    "tiny": ModelArgs(vocab_size=512, context_tokens=64, n_layers=2, d_model=64,
                      n_heads=4, intermediate_size=172),
}


class ModelSection(BaseModel):
    """Which model to train: a preset and optional overrides of its shape."""

    # The same settings as corpus.config_base.Section, repeated: model/ imports nothing of ours.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_attribute_docstrings=True)

    preset: str = "demo"
    """A preset name: apt3-1b, demo or tiny (`kuznia model-info PRESET` shows each)."""
    vocab_size: int | None = Field(None, ge=1, le=65536)
    """None: take it from the tokenizer (the usual case). If set, it must equal the tokenizer's."""
    context_tokens: int | None = Field(None, ge=8)
    """Override the preset's context length (tokens per training window)."""
    n_layers: int | None = Field(None, ge=1)
    d_model: int | None = Field(None, ge=8)
    n_heads: int | None = Field(None, ge=1)
    intermediate_size: int | None = Field(None, ge=1)
    rope_theta: float | None = Field(None, gt=0)
    norm_eps: float | None = Field(None, gt=0)
    init_std: float | None = Field(None, gt=0)


def preset_args(name: str) -> ModelArgs:
    """The shape of a named preset; the error lists the presets there are."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown model preset {name!r}; choose one of: {', '.join(PRESETS)}") from None


def resolve_model_args(section: ModelSection, tokenizer_vocab_size: int | None = None) -> ModelArgs:
    """The preset with the section's overrides and the tokenizer's vocabulary applied."""
    args = preset_args(section.preset)
    overrides = {
        k: v for k, v in section.model_dump().items()
        if k not in ("preset", "vocab_size") and v is not None
    }
    vocab = args.vocab_size
    if tokenizer_vocab_size is not None:
        if section.vocab_size is not None and section.vocab_size != tokenizer_vocab_size:
            raise ValueError(
                f"model.vocab_size is {section.vocab_size} but the tokenizer has "
                f"{tokenizer_vocab_size} tokens; remove model.vocab_size (it follows the tokenizer)"
            )
        vocab = tokenizer_vocab_size
    elif section.vocab_size is not None:
        vocab = section.vocab_size
    try:
        return replace(args, vocab_size=vocab, **overrides)
    except ValueError as e:
        raise ValueError(f"model preset {section.preset!r} with overrides {overrides}: {e}") from None


# --------------------------------------------------------------------------- costs


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


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def _gib(b: float) -> str:
    return f"{b / 2**30:.2f} GiB"


def describe(preset: str | ModelArgs, micro_batch: int = 1, context: int | None = None,
             dtype: str = "bfloat16") -> str:
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
    return "\n".join(lines)


def mfu(tokens_per_second: float, args: ModelArgs, peak_flops: float | None,
        context_tokens: int | None = None) -> float | None:
    """Model FLOPs utilisation against a device's dense peak (None when the peak is unknown)."""
    if not peak_flops or not math.isfinite(tokens_per_second):
        return None
    return tokens_per_second * flops_per_token(args, context_tokens) / peak_flops
