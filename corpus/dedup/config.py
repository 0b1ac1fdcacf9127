"""Config of the dedup stage."""

from __future__ import annotations

from corpus.config_base import Section


class DedupConfig(Section):
    """Exact and MinHash near-duplicate detection."""
