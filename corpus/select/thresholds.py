"""The quality thresholds and the rules that apply them: the corpus stage's selection.

Signals are computed once by the quality stage (`corpus/quality/`); thresholds are applied here,
by the corpus stage (`decide`, `decide_table`), so a changed threshold never recomputes a signal
(DESIGN.md). Each rule tests one catalogue column (`corpus/quality/catalogue.py`) against one
`Thresholds` field; a test checks that every column named here is in the catalogue.

`decide` applies the rules of `QUALITY_RULES` in their order; the first that fails is the reason.
The order: what makes a document unusable at all (empty, too short, Speakleash's own LOW label,
not Polish, word count), then FineWeb-2's three filters in the order its pipeline ran them
(Gopher repetition, FineWeb quality, Gopher quality).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from corpus.quality.catalogue import DUP_NGRAMS, TOP_NGRAMS
from kuznia.config import Section

_FW2 = "FineWeb-2, configs/pol_Latn.yml"


class Thresholds(Section):
    """Selection thresholds, applied by the corpus stage. `None` turns a rule off.

    Sources: FineWeb-2's Polish settings (huggingface/fineweb-2, configs/pol_Latn.yml and the
    filter arguments of fineweb-2-pipeline.py), Gopher (Rae et al. 2021, table A1, as datatrove
    implements it), and ours where neither applies.
    """

    min_chars: int | None = Field(200, ge=0)
    """Reason `too_short`: fewer characters (ours)."""
    reject_speakleash_labels: list[str] = Field(default_factory=lambda: ["LOW"])
    """Reason `speakleash_low`: Speakleash's own per-document quality label is one of these
    (ours; the labels are Speakleash's)."""
    min_pl_prob: float | None = Field(0.5, ge=0, le=1)
    """Reason `not_polish`: langdetect's P(pl) below this (ours: FineWeb-2's 0.689 is a GlotLID
    score; langdetect's probability is the share of its 7 trials that chose Polish)."""
    min_words: int | None = Field(50, ge=0)
    """Reason `too_few_words` (Gopher; FineWeb-2 kept it)."""
    max_words: int | None = Field(100_000, ge=1)
    """Reason `too_long` (Gopher; FineWeb-2 kept it)."""
    max_dup_line_frac: float | None = 0.353
    """Reason `dup_line_frac`: duplicate lines / lines (FineWeb-2 pl; Gopher 0.30)."""
    max_dup_para_frac: float | None = None
    """Reason `dup_para_frac` (Gopher 0.30; FineWeb-2 turned it off)."""
    max_dup_line_char_frac: float | None = None
    """Reason `dup_line_char_frac` (Gopher 0.20; FineWeb-2 turned it off)."""
    max_dup_para_char_frac: float | None = None
    """Reason `dup_para_char_frac` (Gopher 0.20; FineWeb-2 turned it off)."""
    max_top_2gram_frac: float | None = 0.096
    """Reason `top_ngram_2`: characters of the most frequent 2-gram (FineWeb-2 pl; Gopher 0.20)."""
    max_top_3gram_frac: float | None = 0.12
    """Reason `top_ngram_3` (FineWeb-2 pl; Gopher 0.18)."""
    max_top_4gram_frac: float | None = 0.144
    """Reason `top_ngram_4` (FineWeb-2 pl; Gopher 0.16)."""
    max_dup_5gram_frac: float | None = 0.203
    """Reason `dup_ngram_5`: characters in repeated 5-grams (FineWeb-2 pl; Gopher 0.15)."""
    max_dup_6gram_frac: float | None = 0.182
    """Reason `dup_ngram_6` (FineWeb-2 pl; Gopher 0.14)."""
    max_dup_7gram_frac: float | None = 0.163
    """Reason `dup_ngram_7` (FineWeb-2 pl; Gopher 0.13)."""
    max_dup_8gram_frac: float | None = 0.15
    """Reason `dup_ngram_8` (FineWeb-2 pl; Gopher 0.12)."""
    max_dup_9gram_frac: float | None = 0.137
    """Reason `dup_ngram_9` (FineWeb-2 pl; Gopher 0.11)."""
    max_dup_10gram_frac: float | None = 0.126
    """Reason `dup_ngram_10` (FineWeb-2 pl; Gopher 0.10)."""
    min_line_punct_frac: float | None = 0.2
    """Reason `line_punct`: lines ending in terminal punctuation (FineWeb-2 pl; FineWeb 0.12)."""
    max_short_line_frac: float | None = None
    """Reason `short_lines` (FineWeb 0.67; FineWeb-2 turned it off)."""
    max_char_dup_frac: float | None = 0.1
    """Reason `char_dup`: characters in duplicate lines (FineWeb-2; FineWeb 0.01)."""
    max_newline_ratio: float | None = 0.209
    """Reason `newline_ratio`: line breaks per token (FineWeb-2 pl; FineWeb 0.3)."""
    min_mean_word_len: float | None = 3
    """Reason `mean_word_len`, below (FineWeb-2 pl; Gopher 3)."""
    max_mean_word_len: float | None = 11
    """Reason `mean_word_len`, above (FineWeb-2 pl; Gopher 10)."""
    max_hash_ratio: float | None = 0.1
    """Reason `hash_ratio`: '#' per token (Gopher)."""
    max_ellipsis_ratio: float | None = 0.1
    """Reason `ellipsis_ratio`: ellipses per token (Gopher)."""
    max_bullet_lines_frac: float | None = 0.9
    """Reason `bullet_lines` (Gopher)."""
    max_ellipsis_lines_frac: float | None = 0.3
    """Reason `ellipsis_lines` (Gopher)."""
    min_alpha_words_frac: float | None = 0.726
    """Reason `alpha_words`: words with a letter / tokens (FineWeb-2 pl; Gopher 0.8)."""
    min_stopwords: int | None = Field(2, ge=0)
    """Reason `few_stopwords`: distinct Polish stop words present (FineWeb-2)."""


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class QualityRule:
    """A document fails when `column <op> threshold`; `threshold` names a `Thresholds` field."""

    reason: str
    column: str
    op: str  # "<", ">" or "in"
    threshold: str | None  # None: a fixed rule (`empty`)


_R = QualityRule
QUALITY_RULES: tuple[QualityRule, ...] = (
    _R("empty", "text_v1_chars", "<", None),
    _R("too_short", "text_v1_chars", "<", "min_chars"),
    _R("speakleash_low", "speakleash_label", "in", "reject_speakleash_labels"),
    _R("not_polish", "lang_v1_pl_prob", "<", "min_pl_prob"),
    _R("too_few_words", "gopher_v1_words", "<", "min_words"),
    _R("too_long", "gopher_v1_words", ">", "max_words"),
    _R("dup_line_frac", "gopher_v1_dup_line_frac", ">", "max_dup_line_frac"),
    _R("dup_para_frac", "gopher_v1_dup_para_frac", ">", "max_dup_para_frac"),
    _R("dup_line_char_frac", "gopher_v1_dup_line_char_frac", ">", "max_dup_line_char_frac"),
    _R("dup_para_char_frac", "gopher_v1_dup_para_char_frac", ">", "max_dup_para_char_frac"),
    *(_R(f"top_ngram_{n}", f"gopher_v1_top_{n}gram_frac", ">", f"max_top_{n}gram_frac")
      for n in TOP_NGRAMS),
    *(_R(f"dup_ngram_{n}", f"gopher_v1_dup_{n}gram_frac", ">", f"max_dup_{n}gram_frac")
      for n in DUP_NGRAMS),
    _R("line_punct", "fineweb_v1_line_punct_frac", "<", "min_line_punct_frac"),
    _R("short_lines", "fineweb_v1_short_line_frac", ">", "max_short_line_frac"),
    _R("char_dup", "fineweb_v1_char_dup_frac", ">", "max_char_dup_frac"),
    _R("newline_ratio", "fineweb_v1_newline_ratio", ">", "max_newline_ratio"),
    _R("mean_word_len", "gopher_v1_mean_word_len", "<", "min_mean_word_len"),
    _R("mean_word_len", "gopher_v1_mean_word_len", ">", "max_mean_word_len"),
    _R("hash_ratio", "gopher_v1_hash_ratio", ">", "max_hash_ratio"),
    _R("ellipsis_ratio", "gopher_v1_ellipsis_ratio", ">", "max_ellipsis_ratio"),
    _R("bullet_lines", "gopher_v1_bullet_lines_frac", ">", "max_bullet_lines_frac"),
    _R("ellipsis_lines", "gopher_v1_ellipsis_lines_frac", ">", "max_ellipsis_lines_frac"),
    _R("alpha_words", "gopher_v1_alpha_words_frac", "<", "min_alpha_words_frac"),
    _R("few_stopwords", "pl_stopwords_v1_count", "<", "min_stopwords"),
)
REASONS: tuple[str, ...] = tuple(dict.fromkeys(r.reason for r in QUALITY_RULES))
_OPS = {"<": operator.lt, ">": operator.gt}


def _limit(rule: QualityRule, thresholds: Thresholds) -> Any:
    return 1 if rule.threshold is None else getattr(thresholds, rule.threshold)


def decide(signals: Mapping[str, Any], thresholds: Thresholds) -> tuple[bool, str | None]:
    """(keep, reason) for one document's signals: the first rule of `QUALITY_RULES` that fails.

    A missing or null signal never fails a rule (a source without Speakleash labels is not
    `speakleash_low`).
    """
    for rule in QUALITY_RULES:
        limit = _limit(rule, thresholds)
        if limit is None:
            continue
        value = signals.get(rule.column)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        failed = value in limit if rule.op == "in" else _OPS[rule.op](value, limit)
        if failed:
            return False, rule.reason
    return True, None


def decide_table(table: pa.Table | Mapping[str, Any], thresholds: Thresholds) -> pa.Array:
    """The reason per row (null: keep) for a table of signals; agrees with `decide` row by row.

    Vectorised: one numpy comparison per rule over whole columns, for the millions of rows
    the corpus stage selects from.
    """
    if not isinstance(table, pa.Table):
        table = pa.table(dict(table))
    n = table.num_rows
    reason_index = np.zeros(n, dtype=np.int16)  # 0: keep; i: REASONS[i - 1]
    for rule in QUALITY_RULES:
        limit = _limit(rule, thresholds)
        if limit is None or rule.column not in table.column_names:
            continue
        column = table.column(rule.column)
        if rule.op == "in":
            failed = pc.fill_null(pc.is_in(column, value_set=pa.array(limit, pa.string())), False)
            failed = failed.to_numpy(zero_copy_only=False)
        else:
            values = column.to_numpy(zero_copy_only=False)
            if values.dtype == object:  # nulls in an integer column
                values = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
            elif values.dtype.kind == "f":
                # Compare in float64, as `decide` does: NumPy would compare a float32 column
                # with a Python float in float32, and 0.353 is not 0.353 in both.
                values = values.astype(np.float64)
            with np.errstate(invalid="ignore"):
                failed = _OPS[rule.op](values, limit)  # NaN compares False: never fails
        undecided = reason_index == 0
        reason_index[undecided & failed] = REASONS.index(rule.reason) + 1
    labels = np.array([None, *REASONS], dtype=object)
    return pa.array(labels[reason_index], type=pa.string())
