"""Config sections of the tokenizer and tokens stages.

Defaults are APT3-1B-Base's recipe (BPE, 31,980 entries, 8 special tokens, 113-character
alphabet); `configs/demo.yaml` shrinks the vocabulary and the sample to what a few MB can fill.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from kuznia.config import Section

# Ids 0-3 have fixed roles (unk, bos, eos, pad); 4-7 are reserved. We reserve a ChatML pair for
# chat fine-tuning and two plain slots: fill-in-the-middle needs three sentinels, which would not
# fit beside the chat pair, and a reserved slot can be renamed later without moving any id.
DEFAULT_SPECIAL_TOKENS = [
    "<unk>", "<s>", "</s>", "<pad>",
    "<|im_start|>", "<|im_end|>", "<reserved_0>", "<reserved_1>",
]
N_SPECIAL = 8
N_BYTE_TOKENS = 256


class TokenizerConfig(Section):
    """BPE training (stage `tokenizer`)."""

    vocab_size: int = Field(31_980, ge=N_SPECIAL + N_BYTE_TOKENS + 1, le=65_536)
    """Total entries, special and `<0x00>`…`<0xFF>` byte tokens included (uint16 shards: ≤ 65,536)."""
    special_tokens: list[str] = Field(default_factory=lambda: list(DEFAULT_SPECIAL_TOKENS))
    """The 8 special tokens at ids 0-7: unk, bos, eos, pad, then four reserved ones."""
    alphabet_size: int = Field(113, ge=1, le=4096)
    """The initial alphabet: this many most frequent characters of the sample; any other
    character is spelled with byte tokens."""
    byte_fallback: bool = True
    """Add the 256 byte tokens so that every string encodes without `<unk>` and decodes exactly."""
    sample_bytes: int = Field(1_000_000_000, ge=1)
    """UTF-8 bytes of corpus text to train on (a seeded sample; the whole corpus if smaller)."""
    min_frequency: int = Field(2, ge=1)
    """A pair must occur this often in the sample to be merged."""
    seed: int = 1234
    """Seed of the training sample and of the held-out documents."""
    heldout_fraction: float = Field(0.02, gt=0.0, lt=0.5)
    """Documents (by id hash) never trained on; fertility is measured on them."""
    fertility_bytes: int = Field(2_000_000, ge=1)
    """Held-out text per source to measure fertility on (the first this many bytes, by hash order)."""

    @field_validator("special_tokens")
    @classmethod
    def _eight_distinct(cls, v: list[str]) -> list[str]:
        if len(v) != N_SPECIAL or len(set(v)) != N_SPECIAL or not all(v):
            raise ValueError(
                f"exactly {N_SPECIAL} distinct non-empty tokens are needed (unk, bos, eos, pad and "
                f"four reserved), got {len(v)}: {v}"
            )
        return v

    @model_validator(mode="after")
    def _room_for_merges(self) -> TokenizerConfig:
        fixed = N_SPECIAL + (N_BYTE_TOKENS if self.byte_fallback else 0) + self.alphabet_size
        if self.vocab_size <= fixed:
            raise ValueError(
                f"tokenizer.vocab_size {self.vocab_size} leaves no room for merges after "
                f"{N_SPECIAL} special, {N_BYTE_TOKENS if self.byte_fallback else 0} byte and "
                f"{self.alphabet_size} alphabet tokens; raise it above {fixed}"
            )
        return self


class TokensConfig(Section):
    """Token shards (stage `tokens`)."""

    # Fields that cannot change outputs (Section.NOT_FINGERPRINTED).
    NOT_FINGERPRINTED = frozenset({"batch_docs", "parts_per_task", "bucket_tokens", "keep_work"})

    shard_tokens: int = Field(250_000_000, ge=1)
    """Tokens per shard file (500 MB at 2 bytes a token): a shard closes at the first document
    boundary past this budget. The write phase holds about twice a shard in memory."""
    val_fraction: float = Field(0.001, ge=0.0, lt=1.0)
    """Share of documents (by id hash) that go to `tokens/val/` instead of `tokens/train/`."""
    val_min_docs: int = Field(1, ge=0)
    """Every source with more documents than this gets at least this many val documents (its
    lowest split hashes) when the `val_fraction` draw gives it fewer, so that per-source val
    figures cover every source; 0: the draw alone (`tokenizer/val_split.py`)."""
    seed: int = 1234
    """Seed of the train/val split and of the document order across shards."""
    batch_docs: int = Field(1024, ge=1)
    """Documents per `encode_batch` call (bounds the Python-side memory of one call)."""
    parts_per_task: int = Field(1, ge=1)
    """Corpus parts encoded by one task (more: fewer, larger tasks)."""
    keep_work: bool = True
    """Keep each corpus part's encoded tokens (`tokens/_work/`, about the shards' size again), so
    that a rerun after a change to some sources re-encodes only their parts. Off (and with
    `disk.remove_intermediate`), the write phase gives their disk blocks back as it reads them
    and the folder goes at the end: the encoded tokens are on disk once, not twice."""
    bucket_tokens: int = Field(64 * 1024 * 1024, ge=1)
    """Shuffle bucket size: the write phase holds one bucket (2 bytes a token) in memory."""
