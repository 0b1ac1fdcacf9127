"""Config of the dedup stage: shingles, MinHash permutations, LSH banding and pair verification."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from kuznia.config import Section


class DedupConfig(Section):
    """Exact and MinHash near-duplicate detection (`corpus/dedup/`)."""

    # Fields that cannot change outputs (Section.NOT_FINGERPRINTED).
    NOT_FINGERPRINTED = frozenset({"bands_per_task", "batch_chars", "verify_shingles_per_task"})

    ngram: int = Field(5, ge=1, le=32)
    """Words per shingle. Documents shorter than this are one shingle of all their words."""
    num_perm: int = Field(112, ge=8, le=1024)
    """MinHash permutations (signature length). The LSH bands use the first `bands * rows`
    (as datasketch's `MinHashLSH` does); `verify: estimate` uses all of them. 112 = 14 x 8: with
    `verify: exact` the signatures only propose candidates, and F1 on pairs at Jaccard >= 0.8 is
    the same as with 256 (0.971-0.978 vs 0.969-0.982, generator seeds 0-2, `bench/dedup.py
    accuracy`) while signatures are faster (~31 vs 21-30 MB/s per core, `bench/dedup.py speed`).
    With `verify: estimate`, 256 lifts F1 from 0.90-0.92 to 0.93-0.95."""
    seed: int = Field(1, ge=0)
    """Seed of datasketch's permutation generator (`MinHash(seed=...)`; datasketch's default is 1)."""
    scheme: Literal["affine32", "affine64", "legacy"] = "affine32"
    """datasketch's permutation scheme (datasketch >= 2.0): `affine32` (its default, uint32 values,
    fastest), `affine64` (uint64, for sets of ~1e8 shingles and more) or `legacy` (pre-2.0, mod a
    Mersenne prime). Signatures equal datasketch's `MinHash(scheme=...)` for the same seed."""
    threshold: float = Field(0.8, gt=0.0, lt=1.0)
    """The Jaccard similarity the LSH is tuned for; also the default verification threshold."""
    bands: int | None = Field(14, ge=1)
    """LSH bands. With `rows`, both None: datasketch's optimiser picks them for `threshold`."""
    rows: int | None = Field(8, ge=1)
    """Signature values per band (14 x 8 as in FineWeb: P(candidate) is 0.92 at Jaccard 0.8)."""
    verify: Literal["exact", "estimate", "none"] = "exact"
    """How candidate pairs (documents sharing a band) are checked before clustering: `exact`
    re-reads the clean text of the candidate documents only and computes their true shingle
    Jaccard (phases `shingles` and `verify`; F1 0.97-0.98 on `bench/dedup.py accuracy`),
    `estimate` compares their full MinHash signatures (no second read of the text; F1 0.93-0.95),
    `none` links every candidate (LSH false positives included). Pairs below
    `verify_threshold` are dropped."""
    verify_threshold: float | None = Field(None, gt=0.0, le=1.0)
    """Minimum (exact or estimated) Jaccard of a verified pair; None means `threshold`."""
    verify_max_rounds: int = Field(16, ge=1, le=1024)
    """How many leaders a doc of a band bucket is compared against before it is left unlinked
    (a bucket whose docs are mutually dissimilar, e.g. a shared boilerplate line)."""
    verify_shingles_per_task: int = Field(20_000_000, ge=1)
    """Exact verification: member shingles (8 bytes each) one `verify` task loads at most, plus
    one bucket (tasks take whole buckets; a doc is counted once per bucket it is in)."""
    bands_per_task: int = Field(7, ge=1)
    """Bands handled by one task of the `bands` phase (tasks run in parallel; each reads the
    signatures of its candidate docs once for all its bands)."""
    batch_chars: int = Field(4_000_000, ge=10_000)
    """Characters of text normalised and hashed at once (bounds memory of the `signatures` phase)."""
    nfc: bool = True
    """Unicode-NFC-normalise text first (a decomposed `a` + combining ogonek becomes `ą`)."""
    lowercase: bool = True
    """Lower-case text before shingling (simple per-character case mapping)."""

    @model_validator(mode="after")
    def _check_bands(self) -> DedupConfig:
        problems = []
        if (self.bands is None) != (self.rows is None):
            problems.append("`dedup.bands` and `dedup.rows` must both be set or both be null")
        elif self.bands is not None and self.bands * self.rows > self.num_perm:
            problems.append(
                f"`dedup.bands` x `dedup.rows` = {self.bands * self.rows} exceeds "
                f"`dedup.num_perm` = {self.num_perm}; lower them or raise num_perm"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def lsh_params(self) -> tuple[int, int]:
        """(bands, rows): as configured, or datasketch's optimum for `threshold` and `num_perm`."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        from datasketch.lsh import _optimal_param

        return _optimal_param(self.threshold, self.num_perm, 0.5, 0.5)

    def min_verified_jaccard(self) -> float:
        """The (exact or estimated) Jaccard a candidate pair needs to be kept when verifying."""
        return self.threshold if self.verify_threshold is None else self.verify_threshold
