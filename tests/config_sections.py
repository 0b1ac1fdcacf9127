"""Config sections for library tests, without the pipeline's config class (`flows/`).

A stage reads only its own sections; `sections(clean={...})` gives every library section at its
defaults, with the named ones validated from the given dicts, so a test can run several stages
with one mapping.
"""

from __future__ import annotations

from typing import Any

from corpus.clean.config import CleanConfig
from corpus.dedup.config import DedupConfig
from corpus.quality.config import QualityConfig
from corpus.select.config import CorpusConfig
from corpus.sources.config import DocsConfig, FetchConfig
from model.config import ModelSection
from tokenizer.config import TokenizerConfig, TokensConfig
from train.config import EvalConfig, ExportConfig, TrainConfig

SECTIONS = {"fetch": FetchConfig, "docs": DocsConfig, "clean": CleanConfig, "quality": QualityConfig,
            "dedup": DedupConfig, "corpus": CorpusConfig, "tokenizer": TokenizerConfig,
            "tokens": TokensConfig, "model": ModelSection, "train": TrainConfig, "export": ExportConfig,
            "eval": EvalConfig}


def sections(seed: int = 1234, **given: dict[str, Any]) -> dict[str, Any]:
    """Every section at its defaults, the `given` ones validated from dicts; plus `seed`."""
    unknown = set(given) - set(SECTIONS)
    if unknown:
        raise KeyError(f"no such section(s): {sorted(unknown)}")
    out: dict[str, Any] = {k: cls.model_validate(given.get(k, {})) for k, cls in SECTIONS.items()}
    out["seed"] = seed
    return out
