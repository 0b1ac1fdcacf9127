"""Config sections of the train and export stages."""

from __future__ import annotations

from corpus.config_base import Section


class TrainConfig(Section):
    """The training recipe."""


class ExportConfig(Section):
    """Export to transformers."""
