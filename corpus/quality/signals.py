"""Per-document quality signals: what the quality stage computes, column by column.

`SignalComputer` turns cleaned texts (and their source meta) into the columns of the catalogue
(`corpus/quality/catalogue.py`): language identification (langdetect's algorithm, replayed
exactly in numba kernels), Gopher / FineWeb statistics, Polish stop words, and Speakleash's own
label. Thresholds are not applied here: the corpus stage does that (DESIGN.md).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from corpus.quality.catalogue import DUP_NGRAMS, SIGNAL_SCHEMA, SIGNALS, TOP_NGRAMS
from corpus.quality.config import QualityConfig
from corpus.quality.langid import LanguageId, lang_sample
from corpus.quality.textstats import text_stats_columns

_F = pa.float32()

# text_stats key -> column name
_STAT_COLUMNS = {
    "mean_word_len": "gopher_v1_mean_word_len", "alpha_words_frac": "gopher_v1_alpha_words_frac",
    "hash_ratio": "gopher_v1_hash_ratio", "ellipsis_ratio": "gopher_v1_ellipsis_ratio",
    "bullet_lines_frac": "gopher_v1_bullet_lines_frac",
    "ellipsis_lines_frac": "gopher_v1_ellipsis_lines_frac",
    "stopwords": "pl_stopwords_v1_count", "stopword_frac": "pl_stopwords_v1_frac",
    "dup_line_frac": "gopher_v1_dup_line_frac", "dup_line_char_frac": "gopher_v1_dup_line_char_frac",
    "dup_para_frac": "gopher_v1_dup_para_frac", "dup_para_char_frac": "gopher_v1_dup_para_char_frac",
    **{f"top_{n}gram_frac": f"gopher_v1_top_{n}gram_frac" for n in TOP_NGRAMS},
    **{f"dup_{n}gram_frac": f"gopher_v1_dup_{n}gram_frac" for n in DUP_NGRAMS},
    "line_punct_frac": "fineweb_v1_line_punct_frac", "short_line_frac": "fineweb_v1_short_line_frac",
    "char_dup_frac": "fineweb_v1_char_dup_frac", "newline_ratio": "fineweb_v1_newline_ratio",
}
_FLOAT_COLUMNS = frozenset(s.name for s in SIGNALS if s.type == _F)


def speakleash_label(meta: str) -> str | None:
    """The `quality` label of a document's meta JSON, upper-cased; None when there is none."""
    if '"quality"' not in meta:  # most sources have none: skip the JSON parse
        return None
    try:
        value = json.loads(meta).get("quality")
    except (ValueError, AttributeError):
        return None
    return str(value).upper() if value is not None else None


class SignalComputer:
    """Computes the signals of documents; holds the language model (one per process)."""

    def __init__(self, cfg: QualityConfig):
        self.cfg = cfg
        self.lang = LanguageId(seed=cfg.lang_seed)
        self.stopwords = frozenset(cfg.stopwords)

    def __call__(self, text: str, meta: str = "{}") -> dict[str, Any]:
        """Signals of one cleaned document, keyed by column name (no `id`)."""
        return self.batch([text], [meta])[0]

    def batch(self, texts: list[str], metas: list[str]) -> list[dict[str, Any]]:
        """Signals of many documents, one dict per document (values as stored: floats are
        float32 values)."""
        columns = self.columns(texts, metas)
        values = [c.tolist() if isinstance(c, np.ndarray) else c for c in columns.values()]
        return [dict(zip(columns, row)) for row in zip(*values)]

    def columns(self, texts: list[str], metas: list[str]) -> dict[str, np.ndarray | list]:
        """Every signal of many documents as one column each, in `SIGNALS` order (what the
        quality stage writes; no Python object per document and signal). The language trials
        and the text statistics of all of them run together."""
        n = len(texts)
        limit = self.cfg.max_signal_chars
        top, top_prob, pl_prob = self.lang.guess_columns(
            [lang_sample(t, self.cfg.lang_sample_chars) for t in texts])
        stats = text_stats_columns([t[:limit] for t in texts], self.stopwords)
        chars = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        truncated = chars > limit
        words = stats["words"].copy()
        for i in np.flatnonzero(truncated).tolist():  # extrapolated as Python would: int / int
            words[i] = round(int(words[i]) * int(chars[i]) / limit)
        out: dict[str, np.ndarray | list] = {
            "text_v1_chars": chars,
            "text_v1_truncated": truncated,
            "lang_v1_top": top,
            "lang_v1_top_prob": top_prob,
            "lang_v1_pl_prob": pl_prob,
            "gopher_v1_words": words,
        }
        for key, column in _STAT_COLUMNS.items():
            out[column] = stats[key]
        out["speakleash_label"] = [speakleash_label(m) for m in metas]
        for column in _FLOAT_COLUMNS:  # stored as float32: decide must see the stored value
            out[column] = np.asarray(out[column], dtype=np.float64).astype(np.float32)
        return {s.name: out[s.name] for s in SIGNALS}


def signals_table(ids: list[str], rows: list[dict[str, Any]]) -> pa.Table:
    """The quality part of a clean part: `id` plus one column per signal, row for row."""
    return signals_table_from_columns(ids, {s.name: [r[s.name] for r in rows] for s in SIGNALS})


def signals_table_from_columns(ids: list[str], columns: dict[str, np.ndarray | list]) -> pa.Table:
    """`signals_table` from `SignalComputer.columns` (what the quality stage writes)."""
    return pa.table({"id": ids, **{s.name: columns[s.name] for s in SIGNALS}}, schema=SIGNAL_SCHEMA)
