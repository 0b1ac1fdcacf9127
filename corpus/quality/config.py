"""Config of the quality stage: how signals are computed (never which documents pass: the
thresholds belong to the corpus stage, `corpus/select/thresholds.py`)."""

from __future__ import annotations

from pydantic import Field

from corpus.polish import FINEWEB2_STOPWORDS
from kuznia.config import Section


class QualityConfig(Section):
    """How signals are computed (never which documents pass: see `Thresholds`)."""

    lang_sample_chars: int = Field(2000, ge=50, le=10000)
    """Characters of a document the language identifier reads: its start and its middle
    (half each) for a longer one. Bounds the cost per document. 1000 misjudged Polish pages
    that open with an English paragraph or an IRC log's nicknames; 2000 rarely does."""
    lang_seed: int = 0
    """Seed of langdetect's random n-gram draws (the same seed gives the same probabilities)."""
    stopwords: list[str] = Field(default_factory=lambda: list(FINEWEB2_STOPWORDS))
    """Polish stop words counted by `pl_stopwords_v1_*` (FineWeb-2's Polish list)."""
    max_signal_chars: int = Field(2_000_000, ge=10_000)
    """Text statistics of a longer document are computed on its first `max_signal_chars`
    characters (and `text_v1_truncated` is set); bounds a worker's memory. Its word count is
    extrapolated, so `too_long` still sees it."""
