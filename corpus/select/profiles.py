"""Threshold profiles: one set of quality thresholds per kind of source.

FineWeb-2's thresholds were tuned on crawled web text; curated text trips them by nature (help
pages repeat their UI terms: `top_ngram_2`, `char_dup`, `dup_ngram_5`; reference pages are short:
`too_few_words`; man pages and verse have lines without a full stop: `line_punct`). So each source
is judged by a named profile: `web` is `corpus.thresholds` itself (FineWeb-2's Polish settings);
every other profile is a set of fields that differ from it (`CURATED`, the default `curated`).

Which profile a source gets (`SourceProfile`), the first that applies:
1. its name in `corpus.profile_of.sources` (`speakleash.wolne_lektury_corpus: curated`);
2. its Speakleash category (the dataset manifest's `category`) in `profile_of.categories`;
3. its kind in `profile_of.sources` (`wikipedia`, `local`, `speakleash`);
4. `corpus.default_profile`.
The categories come from the manifests the fetch stage saved (`source_categories`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from corpus.select.rules import source_kind
from corpus.select.thresholds import Thresholds
from kuznia.config import Section
from kuznia.stage import StageContext, read_manifest

WEB = "web"
CURATED_NAME = "curated"
# The curated profile: FineWeb-2's web thresholds with the rules that curated text trips by its
# nature loosened (values from the demo's man pages, manual, wiki and fortunes: ≤ 2 % of their
# clean documents rejected, foreign and junk still are). What makes a document unusable at all
# (empty, too short or long, not Polish, no Polish stop words, word length, '#', ellipses,
# bullets) stays as it is.
CURATED: dict[str, Any] = {
    "min_words": 20,  # Gopher/FineWeb-2: 50; reference and help pages are short
    "min_alpha_words_frac": 0.5,  # 0.726: options, code and paths are tokens without letters
    "min_line_punct_frac": None,  # headings, list items, syntax lines, verse
    "max_newline_ratio": 0.4,  # 0.209: lists and tables
    "max_dup_line_frac": 0.5,  # 0.353
    "max_char_dup_frac": 0.3,  # 0.1
    "max_top_2gram_frac": 0.2,  # 0.096; Gopher's own values for 2-4
    "max_top_3gram_frac": 0.18,  # 0.12
    "max_top_4gram_frac": 0.16,  # 0.144
    "max_dup_5gram_frac": 0.3,  # 0.203
    "max_dup_6gram_frac": 0.28,  # 0.182
    "max_dup_7gram_frac": 0.26,  # 0.163
    "max_dup_8gram_frac": 0.24,  # 0.15
    "max_dup_9gram_frac": 0.22,  # 0.137
    "max_dup_10gram_frac": 0.2,  # 0.126
}
# Speakleash categories of curated text (documentation, books, law); unlisted ones get
# `corpus.default_profile`. Categories are compared without regard to case.
CURATED_CATEGORIES = ("Dokumentacja", "Literatura", "Książki", "Prawo", "Encyklopedia")


class ProfileMap(Section):
    """Which threshold profile a source is judged by."""

    categories: dict[str, str] = Field(
        default_factory=lambda: {c: CURATED_NAME for c in CURATED_CATEGORIES})
    """Speakleash category (from the dataset's manifest, any case) -> profile."""
    sources: dict[str, str] = Field(default_factory=lambda: {"wikipedia": CURATED_NAME})
    """Source name (`speakleash.<dataset>`, `local.<name>`, `wikipedia`) or kind (`speakleash`,
    `local`) -> profile. A name beats the category, the category beats the kind."""


@dataclass(frozen=True)
class SourceProfile:
    """A source's profile and why it has it (for the report)."""

    profile: str
    category: str | None
    why: str  # "source", "category", "kind" or "default"


def profile_thresholds(base: Thresholds, profiles: dict[str, dict[str, Any]]) -> dict[str, Thresholds]:
    """Every profile's thresholds: `web` is `base`; the others are `base` with their fields."""
    out = {WEB: base}
    for name, fields in sorted(profiles.items()):
        out[name] = Thresholds.model_validate({**base.model_dump(), **fields})
    return out


def profile_of(source: str, category: str | None, mapping: ProfileMap, default: str) -> SourceProfile:
    """The profile of one source (see the module docstring for the order)."""
    if source in mapping.sources:
        return SourceProfile(mapping.sources[source], category, "source")
    if category:
        folded = {k.casefold(): v for k, v in mapping.categories.items()}
        if category.casefold() in folded:
            return SourceProfile(folded[category.casefold()], category, "category")
    kind = source_kind(source)
    if kind in mapping.sources:
        return SourceProfile(mapping.sources[kind], category, "kind")
    return SourceProfile(default, category, "default")


def source_categories(ctx: StageContext) -> dict[str, str | None]:
    """Each fetched source's Speakleash category (None for other kinds, or a manifest without
    one), from the dataset manifests the fetch stage saved in `raw/`."""
    fetch_dir = ctx.upstream_dir("fetch")
    out: dict[str, str | None] = {}
    for source, rec in ((read_manifest(fetch_dir) or {}).get("sources") or {}).items():
        out[source] = None
        if rec.get("kind") != "speakleash":
            continue
        path = next((f["path"] for f in rec.get("files", []) if f["path"].endswith(".manifest")), None)
        if path and (fetch_dir / path).is_file():
            category = json.loads((fetch_dir / path).read_text("utf-8")).get("category")
            out[source] = str(category) if category else None
    return out


def category_files(ctx: StageContext, source: str) -> list[Path]:
    """The dataset manifest a source's category is read from (none for other kinds)."""
    fetch_dir = ctx.upstream_dir("fetch")
    rec = ((read_manifest(fetch_dir) or {}).get("sources") or {}).get(source) or {}
    return [fetch_dir / f["path"] for f in rec.get("files", []) if f["path"].endswith(".manifest")]


def profiles_of_sources(ctx: StageContext, sources: list[str]) -> dict[str, SourceProfile]:
    """The profile of each of `sources` under the corpus config."""
    ccfg = ctx.cfg.corpus
    categories = source_categories(ctx)
    return {s: profile_of(s, categories.get(s), ccfg.profile_of, ccfg.default_profile) for s in sources}
