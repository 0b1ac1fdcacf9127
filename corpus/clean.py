"""Rule-based cleaning of Polish text (to be filled by the cleaning issue)."""

from __future__ import annotations

from corpus.config_base import Section


class CleanConfig(Section):
    """Cleaning rules and their switches."""
