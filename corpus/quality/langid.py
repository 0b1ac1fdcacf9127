"""Language identification: langdetect's model and algorithm, made fast enough for a corpus.

langdetect (a port of Nakatani Shuyo's language-detection) scores 55 languages with character
1-3-gram profiles: it draws n-grams of the text at random and multiplies per-language
probabilities until one language passes 0.99999, seven times with a jittered smoothing, and
averages. The library does this one n-gram and one language at a time in Python, about 4 ms a
document; most of a cleaning run's time. `LanguageId` runs the same steps, compiled with numba:
`_extract` walks a whole batch's code points through lookup tables and langdetect's n-gram
state machine, and corpus/langid_trials.py replays the same random draws. Its n-grams equal the
library's exactly (tests/corpus/test_langid_exact.py) and so do its probabilities, bit for bit
(tests/corpus/test_langid_trials.py). The text it is given is a bounded sample (see
`lang_sample`), so the cost per document is bounded too. The kernels compile once into numba's
cache (corpus/__pycache__); a later process loads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from langdetect.utils.ngram import NGram
from numba import njit

from corpus.quality.langid_trials import batch_probabilities

# langdetect's text preparation (langdetect/detector.py).
_URL_RE = re.compile(r"https?://[-_.?&~;+=/#0-9A-Za-z]{1,2076}")
_MAIL_RE = re.compile(r"[-_.0-9A-Za-z]{1,64}@[-_0-9A-Za-z]{1,255}[-_.0-9A-Za-z]{1,255}")
_MAIL_LOCAL_CHARS = "-_.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Vietnamese combining marks langdetect folds into letters (NGram.DMARK_CLASS).
_VI_MARKS = "\u0300\u0301\u0303\u0309\u0323"
_SPACE = 0x20
_N_CODES = 0x110000
_ROW_BITS = 20  # profile row bits in a hash slot
_MAX_TEXT_CHARS = 10000  # Detector.max_text_length: append() keeps this many characters


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
    """Code-point lookup tables and the n-gram hash table for `_extract` (built once per process)."""

    classes: np.ndarray  # code point -> alphabet index of its normalised form << 1 | isupper()
    space: int  # alphabet index of " " (every separator normalises to it)
    size: int  # alphabet size + 1: the radix of n-gram keys (index 0: in no profile n-gram)
    unigram_rows: np.ndarray  # alphabet index -> profile row of that 1-gram, -1 for none
    slots: np.ndarray  # hash table of every 2- and 3-gram: key << _ROW_BITS | row, -1: empty


def _gram_keys(size: int, a2: np.ndarray, a1: np.ndarray, a0: np.ndarray, n: int) -> np.ndarray:
    """One int64 per n-gram of alphabet indices (a2, a1, a0: oldest to newest), as `_extract`
    computes it; the three lengths occupy disjoint key ranges, and an index 0 (unknown
    character) matches no gram."""
    if n == 1:
        return a0.astype(np.int64)
    if n == 2:
        return size + a1.astype(np.int64) * size + a0
    return size + size * size + (a2.astype(np.int64) * size + a1) * size + a0


@njit(cache=True)
def _slot(slots: np.ndarray, key: int) -> int:
    """The slot holding `key` in the hash table, or the empty slot where it would go."""
    mask = len(slots) - 1
    # Fibonacci hashing: the multiplier's high bits spread the radix-structured keys evenly.
    h = int((np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) & mask
    while slots[h] != -1 and slots[h] >> _ROW_BITS != key:
        h = (h + 1) & mask
    return h


@njit(cache=True)
def _row(slots: np.ndarray, key: int) -> int:
    """The profile row of n-gram `key`, -1 for none."""
    slot = slots[_slot(slots, key)]
    return -1 if slot == -1 else slot & ((1 << _ROW_BITS) - 1)


@njit(cache=True)
def _hash_table(keys: np.ndarray, rows: np.ndarray, n_slots: int) -> np.ndarray:
    """Linear-probing table of `keys` -> `rows` (key and row in one int64, so that a lookup
    reads one cache line); `n_slots` a power of two, over twice the keys, at most 2**24."""
    slots = np.full(n_slots, -1, dtype=np.int64)
    for i in range(len(keys)):
        slots[_slot(slots, keys[i])] = keys[i] << _ROW_BITS | rows[i]
    return slots


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    """The lookup tables, from langdetect's normalisation and profiles."""
    normalise = np.arange(_N_CODES, dtype=np.int32)
    for code, norm in _normalised_bmp().items():
        normalise[code] = ord(norm)
    upper = np.frombuffer(bytes(chr(c).isupper() for c in range(_N_CODES)), dtype=np.bool_)
    _, index, _, _ = _profiles()
    alphabet = sorted(set("".join(index)))
    letter = np.zeros(_N_CODES, dtype=np.int32)
    letter[[ord(ch) for ch in alphabet]] = np.arange(1, len(alphabet) + 1, dtype=np.int32)
    size = len(alphabet) + 1
    classes = letter[normalise] << 1 | upper[normalise]
    grams = list(index)
    # Every n-gram as three code points, right-aligned (U+0000, in no profile, pads it).
    padded = "".join(g.rjust(3, "\0") for g in grams).encode("utf-32-le")
    codes = letter[np.frombuffer(padded, dtype=np.uint32).reshape(-1, 3)]
    length = np.array([len(g) for g in grams])
    keys = np.zeros(len(grams), dtype=np.int64)
    for n in (1, 2, 3):
        keys[length == n] = _gram_keys(size, codes[:, 0], codes[:, 1], codes[:, 2], n)[length == n]
    rows = np.array([index[g] for g in grams], dtype=np.int32)
    unigram_rows = np.full(size, -1, dtype=np.int32)
    unigram_rows[keys[length == 1]] = rows[length == 1]
    longer = length > 1
    n_slots = 1 << (2 * int(longer.sum())).bit_length()
    # The packed slots and the hash's 24 bits must hold every key, row and slot.
    assert len(rows) < 1 << _ROW_BITS and keys.max() < 1 << (63 - _ROW_BITS) and n_slots <= 1 << 24
    slots = _hash_table(keys[longer], rows[longer].astype(np.int64), n_slots)
    return _Tables(classes, letter[_SPACE], size, unigram_rows, slots)


def _drop_mail(text: str) -> str:
    """`_MAIL_RE.sub(" ", text)`, trying the pattern only where it can match.

    re tries the pattern at every position, which costs more than all of extraction. A match
    holds one "@", the first after its start, with 1-64 `_MAIL_LOCAL_CHARS` right before it;
    so the leftmost match containing a given "@" can only start at the earliest of those, and
    whether it matches does not depend on where in the run it starts. For each "@" in turn,
    that one start is tried (tests/corpus/test_langid_exact.py compares with re.sub).
    """
    pieces, done, at = [], 0, text.find("@")
    while at >= 0:
        window = text[max(done, at - 64) : at]
        local = len(window) - len(window.rstrip(_MAIL_LOCAL_CHARS))
        found = _MAIL_RE.match(text, at - local) if local else None
        if found:
            pieces += (text[done : found.start()], " ")
            done = found.end()
        at = text.find("@", max(at + 1, done))
    return "".join(pieces) + text[done:]


def _prepare(text: str) -> str:
    """langdetect's per-text cleaning that needs regexes (URLs, e-mails, Vietnamese marks), and
    its cut at `_MAX_TEXT_CHARS`."""
    if "http" in text:
        text = _URL_RE.sub(" ", text)
    if "@" in text:
        text = _drop_mail(text)
    if any(mark in text for mark in _VI_MARKS):  # str.find: several times faster than re
        text = NGram.normalize_vi(text)
    return text[:_MAX_TEXT_CHARS]


@njit(cache=True)
def _extract(codes, ends, classes, space, size, unigram_rows, slots):
    """Profile rows of every text's n-grams in one int32 array, and each text's end in it.

    `codes` holds the texts' code points back to back, text i ending at `ends[i]`. Per text,
    langdetect's cleaning_text and then its NGram state machine, character by character.
    """
    out = np.empty(3 * len(codes), dtype=np.int32)
    out_ends = np.empty(len(ends), dtype=np.int64)
    n_out = 0
    start = 0
    for t in range(len(ends)):
        end = ends[t]
        # cleaning_text: drop Latin letters ([A-z]) when they are fewer than half the
        # characters at or above U+0300. (It means to exempt Latin Extended Additional, but
        # compares unicode_block's int with the block's name, so it exempts nothing; as it does.)
        latin = 0
        non_latin = 0
        for i in range(start, end):
            if 0x41 <= codes[i] <= 0x7A:
                latin += 1
            elif codes[i] >= 0x300:
                non_latin += 1
        drop_latin = latin * 2 < non_latin
        # NGram: the last three characters of the current word (g2, g1, g0: oldest to newest)
        # with a space before it; `length` of them are held. A letter adds nothing while it and
        # the one before it are capitals (capitalword).
        g2, g1, g0, length = 0, 0, space, 1
        last_upper = False
        for i in range(start, end):
            code = codes[i]
            if drop_latin and 0x41 <= code <= 0x7A:
                continue
            ch = classes[code] >> 1
            upper = (classes[code] & 1) == 1
            if g0 == space:
                length = 1
                if ch == space:
                    continue
            elif length == 3:
                length = 2
            g2, g1, g0, length = g1, g0, ch, length + 1
            # capitalword: set by a capital after a capital, cleared by any other character (a
            # capital after a non-capital finds it already cleared).
            capital_word = upper and last_upper
            last_upper = upper
            if capital_word:
                continue
            if ch != space and unigram_rows[ch] >= 0:
                out[n_out] = unigram_rows[ch]
                n_out += 1
            row = _row(slots, size + g1 * size + g0)
            if row >= 0:
                out[n_out] = row
                n_out += 1
            if length == 3:
                row = _row(slots, size + size * size + (g2 * size + g1) * size + g0)
                if row >= 0:
                    out[n_out] = row
                    n_out += 1
        out_ends[t] = n_out
        start = end
    return out[:n_out], out_ends


def extract_rows(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Profile rows (int32) of the n-grams langdetect extracts from each prepared text, in its
    order, all in one array, and the end of each text's rows in it (int64).

    For each character, its 1-, 2- and 3-gram present in the profiles (`_extract`).
    """
    t = _tables()
    codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    ends = np.cumsum(np.array([len(x) for x in texts], dtype=np.int64))
    return _extract(codes, ends, t.classes, t.space, t.size, t.unigram_rows, t.slots)


@dataclass(frozen=True)
class LanguageGuess:
    """The top language (None when the text has no letters langdetect knows) and P(pl)."""

    top: str | None
    top_prob: float
    pl_prob: float


@lru_cache(maxsize=1)
def _profiles() -> tuple[tuple[str, ...], dict[str, int], np.ndarray, np.ndarray]:
    """langdetect's profiles as (languages sorted by name, n-gram -> row, rows x languages,
    the factory's language order as indices into the sorted languages)."""
    from langdetect import detector_factory

    detector_factory.init_factory()
    factory = detector_factory._factory
    # The factory's language order follows os.listdir; sort it so the columns never depend on
    # it. The factory's order (`factory_order`) is kept for one use: summing probabilities in
    # it rounds as the library does, bit for bit (the tests do so to check the algorithm).
    # `LanguageId` sums in sorted order instead, so that its results are the same bytes on
    # every machine (langdetect's own last bits vary with how a file system lists its folder).
    order = sorted(range(len(factory.langlist)), key=lambda i: factory.langlist[i])
    langs = tuple(factory.langlist[i] for i in order)
    factory_order = np.argsort(np.array(order, dtype=np.int64)).astype(np.int64)
    grams = list(factory.word_lang_prob_map)
    matrix = np.array([factory.word_lang_prob_map[g] for g in grams], dtype=np.float64)[:, order]
    matrix = np.ascontiguousarray(matrix)
    return langs, {g: i for i, g in enumerate(grams)}, matrix, factory_order


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
    """langdetect's detector, compiled. One instance per process (profiles take ~40 MB)."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.langs, self._index, self._matrix, self._factory_order = _profiles()
        # The order probabilities are summed in: sorted, the same on every machine (equal to
        # langdetect's to ~1e-16; tests set `_factory_order` here to compare bit for bit).
        self._sum_order = np.arange(len(self.langs), dtype=np.int64)
        self._pl = self.langs.index("pl")

    # ---------------------------------------------------------------- n-grams

    def ngram_rows_batch(self, texts: list[str]) -> list[np.ndarray]:
        """Profile rows of the n-grams langdetect would extract from each text, in its order."""
        if not texts:
            return []
        rows, ends = extract_rows([_prepare(t) for t in texts])
        return np.split(rows, ends[:-1])

    def ngram_rows(self, text: str) -> list[int]:
        """Profile rows of the n-grams langdetect would extract from `text`, in its order."""
        return self.ngram_rows_batch([text])[0].tolist()

    # ---------------------------------------------------------------- trials

    def probabilities_batch(self, texts: list[str]) -> np.ndarray:
        """P(language) for `self.langs` per text, as langdetect computes it (NaN rows: texts
        without features); the trials are corpus/langid_trials.py's."""
        rows, ends = extract_rows([_prepare(t) for t in texts])
        return batch_probabilities(self._matrix, self._sum_order, rows, ends, self.seed)

    def probabilities(self, text: str) -> np.ndarray | None:
        """P(language) for `self.langs` as langdetect computes it; None without features."""
        probs = self.probabilities_batch([text])[0]
        return None if np.isnan(probs[0]) else probs

    def guess_columns(self, texts: list[str]) -> tuple[list[str | None], np.ndarray, np.ndarray]:
        """`guess` for many texts as columns: top languages (None for a text without letters
        langdetect knows), their probabilities and P(pl) (0.0 for such a text)."""
        probs = self.probabilities_batch(texts)
        known = ~np.isnan(probs[:, 0])
        top = np.argmax(np.where(known[:, None], probs, 0.0), axis=1)
        top_prob = np.where(known, probs[np.arange(len(texts)), top], 0.0)
        langs = [self.langs[t] if k else None for t, k in zip(top.tolist(), known.tolist())]
        return langs, top_prob, np.where(known, probs[:, self._pl], 0.0)

    def guess_batch(self, texts: list[str]) -> list[LanguageGuess]:
        """`guess` for many texts at once (one call into each kernel)."""
        langs, top_prob, pl_prob = self.guess_columns(texts)
        return [LanguageGuess(*g) for g in zip(langs, top_prob.tolist(), pl_prob.tolist())]

    def guess(self, text: str) -> LanguageGuess:
        """Top language, its probability and P(pl) for a text (pass a bounded sample)."""
        return self.guess_batch([text])[0]
