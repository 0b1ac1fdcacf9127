"""Speakleash labels that went stale: when cleaning changed a document, its label is no evidence.

Speakleash computed each document's `quality` label on the text as published. When cleaning
repaired its mojibake, or its content rules removed more than `corpus.stale_label_removed_frac`
of its characters (boilerplate, markup, symbol lines: not whitespace or masks), the label describes a text that is no longer there: 47 % of documents
whose mojibake was repaired exactly were rejected as `speakleash_low` for their garbling. Such a
document's label is set aside, and our signals alone decide; one the label would have dropped
and the signals keep is counted as `speakleash_low_overridden`.

What cleaning did comes from the clean stage's per-document side table (`clean/_stats`: characters
in, characters the content rules removed, hits per rule), which mirrors the clean part row for row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.select.config import CorpusConfig
from kuznia.parts import read_table
from kuznia.stage import StageContext, StageError

STATS_DIR = "_stats"  # the clean stage's side table (corpus/clean/stage.py)
LABEL_SIGNAL = "speakleash_label"
OVERRIDDEN = "speakleash_low_overridden"  # kept by our signals where the stale label would drop it
STALE = "labels_stale"  # documents whose label was set aside


def stats_path(ctx: StageContext, source: str, part: str) -> Path:
    return ctx.upstream_dir("clean") / STATS_DIR / source / part


def stale_labels(ctx: StageContext, source: str, part: str, ids: pa.Array) -> np.ndarray:
    """Per document of a clean part: is its Speakleash label stale (see the module docstring)?"""
    ccfg: CorpusConfig = ctx.cfg.corpus
    path = stats_path(ctx, source, part)
    if not path.exists():
        raise StageError(f"{path} is missing for clean part {source}/{part}; run `kuznia stage clean --force`")
    stats = read_table(path, columns=["id", "chars_in", "chars_removed_content", "hits_mojibake"])
    if not stats.column("id").combine_chunks().equals(ids):
        raise StageError(f"{path} does not mirror clean/{source}/{part} row for row; "
                         "run `kuznia stage clean --force`")
    stale = np.zeros(len(ids), dtype=bool)
    if ccfg.stale_label_on_mojibake:
        stale |= stats.column("hits_mojibake").to_numpy(zero_copy_only=False) > 0
    if ccfg.stale_label_removed_frac is not None:
        chars_in = stats.column("chars_in").to_numpy(zero_copy_only=False).astype(np.float64)
        gone = stats.column("chars_removed_content").to_numpy(zero_copy_only=False).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            removed = np.where(chars_in > 0, gone / chars_in, 0.0)
        stale |= removed > ccfg.stale_label_removed_frac
    return stale


def without_stale_labels(signals: pa.Table, stale: np.ndarray) -> pa.Table:
    """The signals with the Speakleash label of stale documents set to null (no rule sees it)."""
    if not stale.any() or LABEL_SIGNAL not in signals.column_names:
        return signals
    i = signals.column_names.index(LABEL_SIGNAL)
    label = signals.column(LABEL_SIGNAL).combine_chunks()
    return signals.set_column(i, LABEL_SIGNAL, pc.if_else(pa.array(stale), pa.nulls(len(stale), label.type), label))


def override_counts(stale: np.ndarray, labels: pa.Array, before: pa.Array, after: pa.Array,
                    chars: pa.Array) -> dict:
    """`{labels_stale: {docs, chars}, speakleash_low_overridden: {docs, chars}}`: documents with
    a label set aside, and those of them kept that the label would have rejected."""
    c = chars.to_numpy(zero_copy_only=False)
    has_label = np.asarray(pc.is_valid(labels).to_numpy(zero_copy_only=False), bool)
    set_aside = stale & has_label
    was_low = np.asarray(pc.fill_null(pc.equal(before, "speakleash_low"), False).to_numpy(zero_copy_only=False), bool)
    kept = np.asarray(pc.is_null(after).to_numpy(zero_copy_only=False), bool)
    overridden = set_aside & was_low & kept
    return {STALE: {"docs": int(set_aside.sum()), "chars": int(c[set_aside].sum())},
            OVERRIDDEN: {"docs": int(overridden.sum()), "chars": int(c[overridden].sum())}}
