"""The catalogue of quality signals: one entry per column the quality stage writes.

Every signal column's name carries the version of its definition (`gopher_v1_dup_line_frac`):
a changed definition gets a new name, so a threshold written for one definition never silently
applies to another. The quality stage computes them (`corpus/quality/signals.py`); the corpus
stage's rules (`corpus/select/thresholds.py`) and the report read them by these names. This
module holds names, types and descriptions only: importing it loads no language model.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TOP_NGRAMS = (2, 3, 4)  # Gopher's "top n-gram" signals
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)  # Gopher's "duplicate n-gram" signals


@dataclass(frozen=True)
class Signal:
    name: str
    type: pa.DataType
    description: str

    @property
    def version(self) -> int:
        return int(self.name.split("_v")[1].split("_")[0]) if "_v" in self.name else 1


_F = pa.float32()
SIGNALS: tuple[Signal, ...] = (
    Signal("text_v1_chars", pa.int64(), "characters of the cleaned text"),
    Signal("text_v1_truncated", pa.bool_(), "statistics computed on the first max_signal_chars"),
    Signal("lang_v1_top", pa.string(), "langdetect's most probable language (null: no letters)"),
    Signal("lang_v1_top_prob", _F, "its probability"),
    Signal("lang_v1_pl_prob", _F, "langdetect's P(pl) on a start+middle sample"),
    Signal("gopher_v1_words", pa.int64(), "words (\\w+ runs); extrapolated when truncated"),
    Signal("gopher_v1_mean_word_len", _F, "mean characters per word"),
    Signal("gopher_v1_alpha_words_frac", _F, "words with a letter / tokens"),
    Signal("gopher_v1_hash_ratio", _F, "'#' per token"),
    Signal("gopher_v1_ellipsis_ratio", _F, "'...' and '…' per token"),
    Signal("gopher_v1_bullet_lines_frac", _F, "lines starting with a bullet"),
    Signal("gopher_v1_ellipsis_lines_frac", _F, "lines ending with an ellipsis"),
    Signal("pl_stopwords_v1_count", pa.int32(), "distinct Polish stop words present"),
    Signal("pl_stopwords_v1_frac", _F, "stop-word tokens / words"),
    Signal("gopher_v1_dup_line_frac", _F, "duplicate lines / lines"),
    Signal("gopher_v1_dup_line_char_frac", _F, "characters in duplicate lines / characters"),
    Signal("gopher_v1_dup_para_frac", _F, "duplicate paragraphs / paragraphs"),
    Signal("gopher_v1_dup_para_char_frac", _F, "characters in duplicate paragraphs / characters"),
    *(Signal(f"gopher_v1_top_{n}gram_frac", _F, f"characters of the most frequent {n}-gram")
      for n in TOP_NGRAMS),
    *(Signal(f"gopher_v1_dup_{n}gram_frac", _F, f"characters in repeated {n}-grams")
      for n in DUP_NGRAMS),
    Signal("fineweb_v1_line_punct_frac", _F, "lines ending in terminal punctuation"),
    Signal("fineweb_v1_short_line_frac", _F, "lines of at most 30 characters"),
    Signal("fineweb_v1_char_dup_frac", _F, "characters in duplicate lines / non-newline characters"),
    Signal("fineweb_v1_newline_ratio", _F, "line breaks per token"),
    Signal("speakleash_label", pa.string(), "the source's own quality label (HIGH/MEDIUM/LOW)"),
)
SIGNAL_SCHEMA = pa.schema([pa.field("id", pa.string(), nullable=False)]
                          + [pa.field(s.name, s.type) for s in SIGNALS])
SIGNAL_NAMES = frozenset(s.name for s in SIGNALS)
