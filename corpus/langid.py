"""Language identification: langdetect's model and algorithm, made fast enough for a corpus.

langdetect (a port of Nakatani Shuyo's language-detection) scores 55 languages with character
1-3-gram profiles: it draws n-grams of the text at random and multiplies per-language
probabilities until one language passes 0.99999, seven times with a jittered smoothing, and
averages. The library does this one n-gram and one language at a time in Python, about 4 ms a
document; most of a cleaning run's time. `LanguageId` runs the same steps with the same random
draws, but extracts the n-grams of a whole batch of documents at once in numpy (code-point
lookup tables, `extract_rows`), and runs their trials together (corpus/langid_trials.py). Its
n-grams equal the library's exactly (tests/corpus/test_langid_exact.py), its probabilities
to floating-point rounding (tests/corpus/test_quality_signals.py). The text it is given is a bounded sample (see
`lang_sample`), so the cost per document is bounded too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from langdetect.utils.ngram import NGram

from corpus.langid_trials import batch_probabilities

# langdetect's text preparation (langdetect/detector.py).
_URL_RE = re.compile(r"https?://[-_.?&~;+=/#0-9A-Za-z]{1,2076}")
_MAIL_RE = re.compile(r"[-_.0-9A-Za-z]{1,64}@[-_0-9A-Za-z]{1,255}[-_.0-9A-Za-z]{1,255}")
# Vietnamese combining marks langdetect folds into letters (NGram.DMARK_CLASS).
_VI_MARK_RE = re.compile("[\u0300\u0301\u0303\u0309\u0323]")
_SPACE = 0x20
_N_CODES = 0x110000


@lru_cache(maxsize=1)
def _normalised_bmp() -> dict[int, str]:
    """langdetect's `NGram.normalize` for every BMP character it changes (computed once).

    It changes no character outside the BMP (tests/corpus/test_langid_exact.py checks a sample)."""
    out = {}
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        norm = NGram.normalize(ch)
        if norm != ch:
            out[code] = norm
    return out


@dataclass(frozen=True)
class _Tables:
    """Code-point lookup tables for extracting n-gram rows in numpy (built once per process)."""

    normalise: np.ndarray  # code point -> langdetect-normalised code point
    upper: np.ndarray  # code point -> str.isupper()
    letter: np.ndarray  # code point -> alphabet index (1..), 0 for characters in no profile n-gram
    size: int  # alphabet size + 1: the radix of n-gram keys
    unigram_rows: np.ndarray  # alphabet index -> profile row of that 1-gram, -1 for none
    lookup: pc.SetLookupOptions  # every n-gram key (see `_gram_keys`), for pc.index_in
    rows: np.ndarray  # profile row of each of those keys


def _gram_keys(size: int, a2: np.ndarray, a1: np.ndarray, a0: np.ndarray, n: int) -> np.ndarray:
    """One int64 per n-gram of alphabet indices (a2, a1, a0: oldest to newest); the three
    lengths occupy disjoint key ranges, and an index 0 (unknown character) matches no gram."""
    if n == 1:
        return a0.astype(np.int64)
    if n == 2:
        return size + a1.astype(np.int64) * size + a0
    return size + size * size + (a2.astype(np.int64) * size + a1) * size + a0


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    """The lookup tables, from langdetect's normalisation and profiles."""
    normalise = np.arange(_N_CODES, dtype=np.int32)
    for code, norm in _normalised_bmp().items():
        normalise[code] = ord(norm)
    upper = np.frombuffer(bytes(chr(c).isupper() for c in range(_N_CODES)), dtype=np.bool_)
    _, index, _ = _profiles()
    alphabet = sorted(set("".join(index)))
    letter = np.zeros(_N_CODES, dtype=np.int32)
    letter[[ord(ch) for ch in alphabet]] = np.arange(1, len(alphabet) + 1, dtype=np.int32)
    size = len(alphabet) + 1
    grams = list(index)
    # Every n-gram as three code points, right-aligned (U+0000, in no profile, pads it).
    padded = "".join(g.rjust(3, "\0") for g in grams).encode("utf-32-le")
    codes = letter[np.frombuffer(padded, dtype=np.uint32).reshape(-1, 3)]
    length = np.array([len(g) for g in grams])
    keys = np.zeros(len(grams), dtype=np.int64)
    for n in (1, 2, 3):
        keys[length == n] = _gram_keys(size, codes[:, 0], codes[:, 1], codes[:, 2], n)[length == n]
    rows = np.array([index[g] for g in grams], dtype=np.int64)
    unigram_rows = np.full(size, -1, dtype=np.int64)
    unigram_rows[keys[length == 1]] = rows[length == 1]
    lookup = pc.SetLookupOptions(value_set=pa.array(keys))
    return _Tables(normalise, upper, letter, size, unigram_rows, lookup, rows)


def _prepare(text: str) -> str:
    """langdetect's per-text cleaning that needs regexes: URLs, e-mails, Vietnamese marks."""
    if "http" in text:
        text = _URL_RE.sub(" ", text)
    if "@" in text:
        text = _MAIL_RE.sub(" ", text)
    if _VI_MARK_RE.search(text):
        text = NGram.normalize_vi(text)
    return text


def extract_rows(texts: list[str]) -> list[np.ndarray]:
    """Profile rows (int64) of the n-grams langdetect extracts from each prepared text, in its
    order: for each character, its 1-, 2- and 3-gram present in the profiles.

    All texts go through numpy together, joined by spaces, as one array of code points.
    langdetect's NGram keeps the last three characters of the current word, with a space before
    it; a separator (any character it normalises to a space) ends the word, adding " "-closed
    2- and 3-grams; a letter adds nothing while it and the one before it are capitals.
    """
    t = _tables()
    lengths = np.array([len(x) for x in texts], dtype=np.int64)
    joined = " " + " ".join(texts) + " "
    code = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    # Which text each position belongs to (the space after a text counts as its own), and the
    # joining spaces, which must not close a word: a text's end adds no closing n-grams.
    text_id = np.repeat(np.arange(-1, len(texts)), np.concatenate(([1], lengths + 1)))
    joiner = np.zeros(len(code), dtype=np.bool_)
    joiner[np.cumsum(lengths + 1)] = True
    # langdetect's cleaning_text: drop Latin letters ([A-z]) when they are fewer than half the
    # characters at or above U+0300. (It means to exempt Latin Extended Additional, but compares
    # unicode_block's int with the block's name, so it exempts nothing; we do as it does.)
    latin = (code >= 0x41) & (code <= 0x7A)
    non_latin = code >= 0x300
    per_text = np.cumsum(np.stack([latin, non_latin]), axis=1)[:, np.cumsum(lengths + 1)]
    per_text = np.diff(per_text, axis=1, prepend=0)
    drop = per_text[0] * 2 < per_text[1]
    if drop.any():
        keep = ~(latin & np.concatenate(([False], drop))[text_id + 1])
        code, text_id, joiner = code[keep], text_id[keep], joiner[keep]
    s = t.normalise[code]
    sep = s == _SPACE
    sep_prev = np.concatenate(([True], sep[:-1]))
    up = t.upper[s]
    capital = up & np.concatenate(([False], up[:-1]))
    a0 = t.letter[s]
    a1 = np.concatenate(([0], a0[:-1]))
    a2 = np.concatenate(([0, 0], a0[:-2]))
    # A word's letter adds its n-grams unless capital; a separator after a letter closes the
    # word (2- and 3-gram ending in " "); the 3-gram needs a letter before this character.
    valid1 = ~sep & ~capital
    valid2 = valid1 | (sep & ~sep_prev & ~joiner)
    valid3 = valid2 & ~sep_prev
    found = np.full((len(s), 3), -1, dtype=np.int64)  # profile row per position and length
    found[valid1, 0] = t.unigram_rows[a0[valid1]]
    for n, valid in ((2, valid2), (3, valid3)):
        keys = _gram_keys(t.size, a2[valid], a1[valid], a0[valid], n)
        # A hash lookup in C (Arrow's set lookup): several times faster than a binary search.
        at = pc.index_in(keys, options=t.lookup).fill_null(-1).to_numpy()
        found[valid, n - 1] = np.where(at >= 0, t.rows[at], -1)
    present = found >= 0
    rows = found[present]  # row-major: position by position, 1- then 2- then 3-gram
    counts = np.diff(np.cumsum(present.sum(axis=1))[joiner], prepend=0)
    return np.split(rows, np.cumsum(counts)[:-1])
@dataclass(frozen=True)
class LanguageGuess:
    """The top language (None when the text has no letters langdetect knows) and P(pl)."""

    top: str | None
    top_prob: float
    pl_prob: float


@lru_cache(maxsize=1)
def _profiles() -> tuple[tuple[str, ...], dict[str, int], np.ndarray]:
    """langdetect's profiles as (languages sorted by name, n-gram -> row, rows x languages)."""
    from langdetect import detector_factory

    detector_factory.init_factory()
    factory = detector_factory._factory
    # The factory's language order follows os.listdir; sort it so results never depend on it.
    order = sorted(range(len(factory.langlist)), key=lambda i: factory.langlist[i])
    langs = tuple(factory.langlist[i] for i in order)
    grams = list(factory.word_lang_prob_map)
    matrix = np.array([factory.word_lang_prob_map[g] for g in grams], dtype=np.float64)[:, order]
    matrix = np.ascontiguousarray(matrix)
    return langs, {g: i for i, g in enumerate(grams)}, matrix


def lang_sample(text: str, max_chars: int) -> str:
    """A bounded, deterministic sample: the whole text, or its start and its middle.

    Half of `max_chars` from the start and half from the middle, each cut back to a space, so
    that a title or a boilerplate opening does not decide the language of a long document.
    """
    if len(text) <= max_chars:
        return text
    half = max_chars // 2
    head = text[:half]
    mid_start = len(text) // 2
    mid = text[mid_start : mid_start + half]
    cut = head.rfind(" ")
    head = head[:cut] if cut > half // 2 else head
    space = mid.find(" ")
    mid = mid[space + 1 :] if 0 <= space < half // 2 else mid
    return head + " " + mid


class LanguageId:
    """langdetect's detector, vectorised. One instance per process (profiles take ~40 MB)."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.langs, self._index, self._matrix = _profiles()
        self._pl = self.langs.index("pl")

    # ---------------------------------------------------------------- n-grams

    def ngram_rows_batch(self, texts: list[str]) -> list[np.ndarray]:
        """Profile rows of the n-grams langdetect would extract from each text, in its order."""
        return extract_rows([_prepare(t) for t in texts])

    def ngram_rows(self, text: str) -> list[int]:
        """Profile rows of the n-grams langdetect would extract from `text`, in its order."""
        return self.ngram_rows_batch([text])[0].tolist()

    # ---------------------------------------------------------------- trials

    def probabilities_batch(self, texts: list[str]) -> np.ndarray:
        """P(language) for `self.langs` per text, as langdetect computes it (NaN rows: texts
        without features). The trials of all texts run together (corpus/langid_trials.py)."""
        return batch_probabilities(self._matrix, self.ngram_rows_batch(texts), self.seed)

    def probabilities(self, text: str) -> np.ndarray | None:
        """P(language) for `self.langs` as langdetect computes it; None without features."""
        probs = self.probabilities_batch([text])[0]
        return None if np.isnan(probs[0]) else probs

    def guess_batch(self, texts: list[str]) -> list[LanguageGuess]:
        """`guess` for many texts at once (much faster than one by one)."""
        out = []
        for probs in self.probabilities_batch(texts):
            if np.isnan(probs[0]):
                out.append(LanguageGuess(None, 0.0, 0.0))
            else:
                top = int(np.argmax(probs))
                out.append(LanguageGuess(self.langs[top], float(probs[top]), float(probs[self._pl])))
        return out

    def guess(self, text: str) -> LanguageGuess:
        """Top language, its probability and P(pl) for a text (pass a bounded sample)."""
        return self.guess_batch([text])[0]
