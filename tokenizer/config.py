"""Config sections of the tokenizer and tokens stages."""

from __future__ import annotations

from corpus.config_base import Section


class TokenizerConfig(Section):
    """BPE training."""


class TokensConfig(Section):
    """Token shards."""
