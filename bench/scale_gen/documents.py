"""Documents as segment ids, their Speakleash meta, and their `.jsonl` lines, a batch at a time.

A document's content is sentences drawn at random from one range of the segment table, joined
by a space, or by a paragraph break with probability 1 / (sentences per paragraph); a web page
adds its site's chrome above and below. Everything numeric is done for the whole batch with
numpy (the sentence draws, the separators, the summed statistics, the meta ratios and the
quality label); what is left per document is one `b"".join` of precomputed JSON bodies and one
`json.dumps` of its meta.

The quality label follows the demo mirror's rule (scripts/demo_data/text_stats.py,
`quality_of`), on the meta alone, vectorised:
LOW: under 300 characters, stop words under 12 % of words, symbols over 5 % of characters or
OOV-like words over 20 %; HIGH: at least 2,000 characters, stop words 20-45 %, punctuation at
most 7 %, symbols at most 1 %, average word length 4-7.5, OOV-like words at most 5 %; else MEDIUM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scale_gen.plan import MIN_SENTENCES
from scale_gen.segments import COL, SegmentTable

# Meta keys summed into the manifest's `stats` (with `documents` and `quality` counts).
SUMMED = ("sentences", "words", "nouns", "verbs", "punctuations", "symbols", "stopwords", "oovs")


@dataclass
class Content:
    """A batch of documents' content: flat segment ids, per-document offsets and statistics."""

    ids: list[int]
    offsets: list[int]
    stats: np.ndarray  # (docs, len(STATS))

    def of(self, i: int) -> list[int]:
        """Document `i`'s segment ids."""
        return self.ids[self.offsets[i]:self.offsets[i + 1]]


def _assemble(table: SegmentTable, counts: np.ndarray, sentences: np.ndarray, openers: np.ndarray,
               u: np.ndarray, paragraph_sentences: float, paragraph_break: int) -> Content:
    """Documents of `counts` sentences each, with no separator after a document's last sentence.

    Paragraphs hold two sentences or more: a break may follow only the 2nd, 4th, ... sentence
    of a document and not its second to last one, and does where the uniform `u` says (so the
    mean paragraph has about `paragraph_sentences`). A paragraph is a line, and a line of one
    sentence would recur in many documents of a large corpus (the pool is finite), which the
    clean stage rightly takes for page chrome; two random sentences do not recur. For the same
    reason a line opens with its `openers` sentence (`SegmentTable.line_starts`)."""
    total = int(counts.sum())
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    k = np.arange(total, dtype=np.int64) - np.repeat(starts, counts)
    allowed = (k % 2 == 1) & (k <= np.repeat(counts, counts) - 3)
    flat = np.empty(2 * total, dtype=np.int64)
    breaks = allowed & (u < 2 / paragraph_sentences)
    opens = np.empty(total, dtype=bool)
    opens[1:] = breaks[:-1]
    opens[starts] = True  # a document's first sentence opens its first line
    flat[0::2] = np.where(opens, openers, sentences)
    flat[1::2] = np.where(breaks, paragraph_break, table.space)
    keep = np.ones(2 * total, dtype=bool)
    keep[np.cumsum(counts) * 2 - 1] = False
    flat = flat[keep]
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(2 * counts - 1, out=offsets[1:])
    stats = np.add.reduceat(table.stats[flat], offsets[:-1], axis=0)
    return Content(flat.tolist(), offsets.tolist(), stats)


def sentence_counts(table: SegmentTable, pool: tuple[int, int], sizes) -> np.ndarray:
    """Sentences of `pool` that make documents of about `sizes` bytes (at least `MIN_SENTENCES`)."""
    return np.maximum(MIN_SENTENCES, np.rint(np.asarray(sizes) / table.mean_bytes(pool))).astype(np.int64)


def draw_content(table: SegmentTable, pool: tuple[int, int], sizes: np.ndarray, paragraph_sentences: float,
                 paragraph_break: int, rng: np.random.Generator) -> Content:
    """Content of documents of about `sizes` bytes, from the sentences in `pool` (start, end)."""
    counts = sentence_counts(table, pool, sizes)
    total = int(counts.sum())
    openers = table.line_starts(pool)
    return _assemble(table, counts, rng.integers(pool[0], pool[1], total), openers[rng.integers(len(openers), size=total)],
                     rng.random(total), paragraph_sentences, paragraph_break)


# SplitMix64: a document's random numbers are a function of its key (seed, dataset, line) alone,
# so any process makes the same document again, in any batch.
GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's output function on a uint64 array (wrapping arithmetic intended)."""
    with np.errstate(over="ignore"):
        z = x + GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def doc_keys(seed: int, dataset: int, lines: np.ndarray) -> np.ndarray:
    """One uint64 key per line of a dataset."""
    base = (np.uint64(seed & 0xFFFF) << np.uint64(48)) | (np.uint64(dataset) << np.uint64(32))
    return splitmix64(base | np.asarray(lines, dtype=np.uint64))


def uniforms(keys: np.ndarray, salt: int, n: int) -> np.ndarray:
    """(len(keys), n) floats in [0, 1), a function of each key."""
    with np.errstate(over="ignore"):
        x = keys[:, None] + np.uint64(salt * 0x632BE59BD9B4E019) + np.arange(1, n + 1, dtype=np.uint64) * GOLDEN
    return (splitmix64(x) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def keyed_content(table: SegmentTable, pool: tuple[int, int], keys: np.ndarray, sizes: np.ndarray,
                  paragraph_sentences: float, paragraph_break: int) -> Content:
    """`draw_content` with each document's draws a function of its key."""
    counts = sentence_counts(table, pool, sizes)
    offsets = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    k = np.arange(int(counts.sum()), dtype=np.uint64) - np.repeat(offsets, counts).astype(np.uint64)
    with np.errstate(over="ignore"):
        h = splitmix64(np.repeat(keys, counts) + k * GOLDEN)
    span = np.uint64(pool[1] - pool[0])
    sentences = (h % span).astype(np.int64) + pool[0]
    u = (splitmix64(h) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    openers = table.line_starts(pool)
    opener = openers[(splitmix64(h ^ np.uint64(0x2545F4914F6CDD1D)) % np.uint64(len(openers))).astype(np.int64)]
    return _assemble(table, counts, sentences, opener, u, paragraph_sentences, paragraph_break)


def quality_labels(stats: np.ndarray) -> np.ndarray:
    """The demo rule's label (module docstring) for each row of summed statistics."""
    chars = stats[:, COL["chars"]]
    words = np.maximum(stats[:, COL["words"]], 1)
    stop = stats[:, COL["stopwords"]] / words
    punct = stats[:, COL["punctuations"]] / np.maximum(chars, 1)
    sym = stats[:, COL["symbols"]] / np.maximum(chars, 1)
    oov = stats[:, COL["oovs"]] / words
    word_len = stats[:, COL["letters"]] / words
    low = (chars < 300) | (stop < 0.12) | (sym > 0.05) | (oov > 0.20)
    high = ((chars >= 2000) & (stop >= 0.20) & (stop <= 0.45) & (punct <= 0.07) & (sym <= 0.01)
            & (word_len >= 4.0) & (word_len <= 7.5) & (oov <= 0.05))
    return np.where(low, "LOW", np.where(high, "HIGH", "MEDIUM"))


# The meta's keys, sorted (the order `json.dumps(sort_keys=True)` writes), and how each is written.
META_FORMAT = {"avg_word_length": "%r", "length": "%d", "nouns": "%d", "oovs": "%d", "punctuation_ratio": "%r",
               "punctuations": "%d", "quality": '"%s"', "sentences": "%d", "stopwords": "%d",
               "stopwords_ratio": "%r", "symbol_ratio": "%r", "symbols": "%d", "title": '"%s"', "url": '"%s"',
               "verbs": "%d", "words": "%d"}
COLUMNS = [k for k in META_FORMAT if k not in ("title", "url")]


def _template(keys: list[str]) -> str:
    return '{"meta":{' + ",".join(f'"{k}":{META_FORMAT[k]}' for k in keys) + '},"text":"'


HEAD = _template([k for k in META_FORMAT if k != "url"])
HEAD_URL = _template(list(META_FORMAT))


class Metas:
    """Speakleash-style meta of a batch of documents (counts, ratios, `quality`), from their
    summed statistics, written straight to each line's head `{"meta":{...},"text":"`."""

    def __init__(self, stats: np.ndarray):
        stats = np.atleast_2d(stats)
        chars, words = stats[:, COL["chars"]], stats[:, COL["words"]]
        w, c = np.maximum(words, 1), np.maximum(chars, 1)
        cols = {
            "length": chars, "words": words, "sentences": np.maximum(stats[:, COL["sentences"]], 1),
            **{k: stats[:, COL[k]] for k in ("punctuations", "symbols", "stopwords", "oovs", "nouns", "verbs")},
            "avg_word_length": np.round(stats[:, COL["letters"]] / w, 4),
            "stopwords_ratio": np.round(stats[:, COL["stopwords"]] / w, 4),
            "punctuation_ratio": np.round(stats[:, COL["punctuations"]] / c, 4),
            "symbol_ratio": np.round(stats[:, COL["symbols"]] / c, 4),
            "quality": quality_labels(stats),
        }
        self.arrays = cols
        self.rows = list(zip(*(cols[k].tolist() for k in COLUMNS), strict=True))

    def head(self, i: int, title: str, url: str | None = None, length: int | None = None) -> bytes:
        """Line `i`'s head; `title` is a JSON string body; `length` overrides the character count."""
        row = self.rows[i]
        if length is not None:
            row = (row[0], length, *row[2:])
        if url is None:
            return (HEAD % (*row[:12], title, *row[12:])).encode("utf-8")
        return (HEAD_URL % (*row[:12], title, url, *row[12:])).encode("utf-8")

    def counts(self, i: int, length: int | None = None) -> tuple:
        """What line `i` adds to its manifest's stats: (length, the `SUMMED` values, quality)."""
        row = dict(zip(COLUMNS, self.rows[i], strict=True))
        return (row["length"] if length is None else length, *(row[k] for k in SUMMED), row["quality"])


def document_line(head: bytes, body: bytes) -> bytes:
    """An lm_dataformat line (no newline): `{"meta": {...}, "text": "..."}`, keys sorted."""
    return head + body + b'"}'
