"""Config of the corpus stage: thresholds, the keep-one-per-cluster rule, source weights."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, field_validator, model_validator

from corpus.select.profiles import CURATED, CURATED_NAME, WEB, ProfileMap
from corpus.select.thresholds import Thresholds
from kuznia.config import Section


class CorpusConfig(Section):
    """Which documents make the corpus: thresholds, the duplicate keeper rule, source weights."""

    NOT_FINGERPRINTED = frozenset({"parts_per_task", "mixture_tolerance"})  # cannot change outputs

    thresholds: Thresholds = Field(default_factory=Thresholds)
    """Quality thresholds (`corpus/select/thresholds.py`): the `web` profile, FineWeb-2's Polish
    settings; changing them re-runs this stage only."""
    profiles: dict[str, dict[str, Any]] = Field(default_factory=lambda: {CURATED_NAME: dict(CURATED)})
    """Other threshold profiles (`corpus/select/profiles.py`), each the `thresholds` fields it
    changes: `{curated: {min_words: 20, min_line_punct_frac: null, ...}}`. What you set is merged
    field by field over the built-in `curated` (`profiles.curated.min_words: 10` changes that one
    field); a new name adds a profile."""
    profile_of: ProfileMap = Field(default_factory=ProfileMap)
    """Which profile judges a source: by its name, its Speakleash category, its kind."""
    default_profile: str = WEB
    """The profile of a source nothing in `profile_of` names (crawled web: the strictest)."""
    stale_label_on_mojibake: bool = True
    """A document whose mojibake cleaning repaired has a stale Speakleash label (it was computed
    on the garbled text): `speakleash_low` does not apply to it; our signals decide."""
    stale_label_removed_frac: float | None = Field(0.1, ge=0, le=1)
    """The same when cleaning removed more than this share of a document's characters (None:
    never); such documents are counted as `speakleash_low_overridden` when kept."""
    source_priority: list[str] = Field(default_factory=lambda: ["wikipedia", "speakleash", "local"])
    """Source kinds or names, best first: which copy of a duplicate to keep once quality and the
    Speakleash label tie (an exact name beats its kind; unlisted sources come last). Wikipedia
    first: edited text with stable provenance; crawled local text last."""
    weights: dict[str, float] = Field(default_factory=dict)
    """Per source name or kind (a name beats its kind): 1 keeps a source as is, below 1 keeps that
    share of its documents (seeded hash of the id), above 1 repeats each document `floor(w)` times
    plus once more for a seeded `w - floor(w)` share. Copies keep their id, so the val split (by
    id hash) puts all of them on the same side."""
    mixture_tolerance: float = Field(0.02, ge=0, le=1)
    """The report warns when a group's share of the corpus characters is this far (absolute)
    from its `target_mixture` share."""
    target_mixture: dict[str, float] = Field(
        default_factory=lambda: {"speakleash": 0.93, "local": 0.06, "wikipedia": 0.01})
    """Target shares of the corpus characters by source kind or name (APT3: 93 % Speakleash, 6 %
    other, 1 % Wikipedia). The report sets the achieved mixture against it and warns beyond
    `mixture_tolerance`; `apply_mixture` makes the corpus stage reach it."""
    apply_mixture: bool = False
    """Weight each group so the corpus matches `target_mixture` (corpus/select/mixture.py): a
    group above its share is sampled down, one below it repeated, the corpus keeping its size.
    Off: the mixture is what the data gives (APT3 used all its data once)."""
    max_mixture_weight: float = Field(4.0, ge=1.0, le=100.0)
    """With `apply_mixture`, the most times a document may be repeated to reach a group's share."""
    seed: int = 1234
    """Seed of the weight sampling and of which rejected documents the report shows."""
    parts_per_task: int = Field(4, ge=1)
    """Clean parts handled by one `select` / `write` task."""
    excerpts_per_reason: int = Field(5, ge=0, le=100)
    """Rejected documents per reason (and source) whose excerpt goes into the manifest/report."""
    excerpt_chars: int = Field(300, ge=20, le=5000)
    """Characters of each excerpt."""
    top_clusters: int = Field(20, ge=0, le=1000)
    """Largest duplicate clusters listed in the manifest/report, with excerpts."""

    @field_validator("profiles", mode="before")
    @classmethod
    def _over_the_built_in(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out = {CURATED_NAME: dict(CURATED)}
        for name, fields in v.items():
            out[name] = {**out.get(name, {}), **fields} if isinstance(fields, dict) else fields
        return out

    @field_validator("weights")
    @classmethod
    def _weights_in_range(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: w for k, w in v.items() if not (0.0 <= w <= 1000.0) or math.isnan(w)}
        if bad:
            raise ValueError(f"weights must be in [0, 1000] (0 drops a source), got {bad}")
        return v

    @field_validator("source_priority")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        dup = sorted({s for s in v if v.count(s) > 1})
        if dup:
            raise ValueError(f"source_priority lists {dup} more than once")
        return v

    @model_validator(mode="after")
    def _profiles_are_known(self) -> CorpusConfig:
        allowed = sorted(Thresholds.model_fields)
        problems = []
        if WEB in self.profiles:
            problems.append(f"corpus.profiles.{WEB}: `{WEB}` is corpus.thresholds itself; set it there")
        for name, fields in self.profiles.items():
            bad = sorted(set(fields) - set(allowed))
            if bad:
                problems.append(f"corpus.profiles.{name}: {', '.join(bad)} not a threshold "
                                f"(allowed: {', '.join(allowed)})")
                continue
            try:
                Thresholds.model_validate({**self.thresholds.model_dump(), **fields})
            except ValueError as e:
                problems.append(f"corpus.profiles.{name}: {e}")
        known = sorted({WEB, *self.profiles})
        named = [("corpus.default_profile", self.default_profile)]
        named += [(f"corpus.profile_of.categories.{k}", v) for k, v in self.profile_of.categories.items()]
        named += [(f"corpus.profile_of.sources.{k}", v) for k, v in self.profile_of.sources.items()]
        problems += [f"{key}: no profile {value!r} (profiles: {', '.join(known)})"
                     for key, value in named if value not in known]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _mixture_sums_to_one(self) -> CorpusConfig:
        total = sum(self.target_mixture.values())
        if self.target_mixture and (abs(total - 1.0) > 1e-6 or min(self.target_mixture.values()) < 0):
            raise ValueError(f"corpus.target_mixture shares must be >= 0 and sum to 1, got {total:g} "
                             f"({self.target_mixture}); use {{}} for no target")
        return self
