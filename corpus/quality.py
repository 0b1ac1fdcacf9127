"""Per-document quality signals and the thresholds that select on them."""

from __future__ import annotations

from corpus.config_base import Section


class QualityConfig(Section):
    """How signals are computed (never which documents pass: see `Thresholds`)."""


class Thresholds(Section):
    """Selection thresholds, applied by the corpus stage."""
