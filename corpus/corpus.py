"""The corpus stage: thresholds, one document per duplicate cluster, source weights."""

from __future__ import annotations

from pydantic import Field

from corpus.config_base import Section
from corpus.quality import Thresholds


class CorpusConfig(Section):
    thresholds: Thresholds = Field(default_factory=Thresholds)
