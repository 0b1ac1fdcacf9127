"""Model shapes: presets by name and the `model:` config section.

`ModelArgs` is the resolved shape the LLaMA module is built from; `ModelSection` is what a
config file says (a preset plus optional overrides). The vocabulary size normally comes from
the tokenizer, so a preset's `vocab_size` is only a default for `kuznia model-info` and the
benchmark. What a shape costs (parameters, FLOPs, memory, MFU) is in `model/flops.py`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from pydantic import Field, field_validator

from kuznia.config import Section


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


class ModelSection(Section):
    """Which model to train: a preset and optional overrides of its shape."""

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

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, v: str) -> str:
        if v not in PRESETS:
            raise ValueError(f"unknown model preset {v!r}; choose one of: {', '.join(PRESETS)}")
        return v


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
