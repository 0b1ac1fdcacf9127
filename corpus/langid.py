"""Language identification: langdetect's model and algorithm, made fast enough for a corpus.

langdetect (a port of Nakatani Shuyo's language-detection) scores 55 languages with character
1-3-gram profiles: it draws n-grams of the text at random and multiplies per-language
probabilities until one language passes 0.99999, seven times with a jittered smoothing, and
averages. The library does this one n-gram and one language at a time in Python, about 4 ms a
document; most of a cleaning run's time. `LanguageId` runs the same steps with the same random
draws, but extracts n-grams word by word with a cache (Polish repeats its words), and runs the
trials of a whole batch of documents together in numpy (corpus/langid_trials.py). Its
probabilities equal the library's to floating-point rounding (tests/corpus/
test_quality_signals.py checks this). The text it is given is a bounded sample (see
`lang_sample`), so the cost per document is bounded too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np
from langdetect.utils.ngram import NGram

from corpus.langid_trials import batch_probabilities

# langdetect's text preparation (langdetect/detector.py).
_URL_RE = re.compile(r"https?://[-_.?&~;+=/#0-9A-Za-z]{1,2076}")
_MAIL_RE = re.compile(r"[-_.0-9A-Za-z]{1,64}@[-_0-9A-Za-z]{1,255}[-_.0-9A-Za-z]{1,255}")
_LATIN_RE = re.compile("[A-z]")
# langdetect counts a character >= U+0300 outside Latin Extended Additional as non-Latin.
_NON_LATIN_RE = re.compile("[^\u0000-\u02ff\u1e00-\u1eff]")
_LATIN_BYTES = bytes(range(ord("A"), ord("z") + 1))
# Vietnamese combining marks langdetect folds into letters (NGram.DMARK_CLASS).
_VI_MARK_RE = re.compile("[\u0300\u0301\u0303\u0309\u0323]")
_WORD_CACHE_MAX = 400_000  # entries; bounds the cache's memory (about 100 MB at most)


@lru_cache(maxsize=1)
def _normalised_bmp() -> dict[int, str]:
    """langdetect's `NGram.normalize` for every BMP character it changes (computed once)."""
    out = {}
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        norm = NGram.normalize(ch)
        if norm != ch:
            out[code] = norm
    return out


@lru_cache(maxsize=1)
def _separators() -> re.Pattern:
    """Runs of characters langdetect normalises to a space (digits, punctuation, ...)."""
    spaces = "".join(chr(c) for c, v in _normalised_bmp().items() if v == " ") + " "
    return re.compile("[" + re.escape(spaces) + "]+")


@lru_cache(maxsize=1)
def _mapped() -> tuple[re.Pattern, dict[int, str]]:
    """Characters langdetect normalises to another letter (kana, CJK, Romanian, ...)."""
    table = {c: v for c, v in _normalised_bmp().items() if v != " "}
    return re.compile("[" + re.escape("".join(map(chr, table))) + "]"), table


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
        self._words: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    # ---------------------------------------------------------------- n-grams

    def _word_ngrams(self, word: str) -> tuple[list[int], list[int]]:
        """Rows of the n-grams langdetect extracts from " word" and from its closing space."""
        index = self._index
        grams, capital, body = " ", False, []
        for ch in word:  # langdetect's NGram.add_char, minus the normalisation done already
            last = grams[-1]
            if len(grams) >= 3:
                grams = grams[1:]
            grams += ch
            if ch.isupper():
                if last.isupper():
                    capital = True
            else:
                capital = False
            if capital:
                continue
            for n in (1, 2, 3):
                if len(grams) < n:
                    break
                g = grams[-n:]
                if g != " " and g in index:
                    body.append(index[g])
        if len(grams) >= 3:
            grams = grams[1:]
        grams += " "
        tail = [index[g] for g in (grams[-2:], grams[-3:] if len(grams) >= 3 else "") if g in index]
        return body, tail

    def _entry(self, word: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(rows of " word", rows of " word ") from the cache, computed on a miss."""
        body, tail = self._word_ngrams(word)
        entry = (tuple(body), tuple(body + tail))
        self._words[word] = entry
        return entry

    def ngram_rows(self, text: str) -> list[int]:
        """Profile rows of the n-grams langdetect would extract from `text`, in its order."""
        if "http" in text:
            text = _URL_RE.sub(" ", text)
        if "@" in text:
            text = _MAIL_RE.sub(" ", text)
        if _VI_MARK_RE.search(text):
            text = NGram.normalize_vi(text)
        non_latin = len(_NON_LATIN_RE.findall(text))
        if non_latin:
            raw = text.encode("utf-8")  # ASCII letters are single bytes; count them in C
            latin = len(raw) - len(raw.translate(None, _LATIN_BYTES))
            if latin * 2 < non_latin:
                text = _LATIN_RE.sub("", text)  # langdetect's cleaning_text: drop Latin letters
        words = _separators().split(text)
        mapped = _mapped()
        if mapped[0].search(text):
            words = [w.translate(mapped[1]) for w in words]
        cache = self._words
        if len(cache) > _WORD_CACHE_MAX:
            cache.clear()
        get, entry = cache.get, self._entry
        entries = [get(w) or entry(w) for w in words]
        # Every word but the last is followed by a separator (split on runs of them).
        rows = list(chain.from_iterable(e[1] for e in entries[:-1]))
        rows += entries[-1][0]
        return rows

    # ---------------------------------------------------------------- trials

    def probabilities_batch(self, texts: list[str]) -> np.ndarray:
        """P(language) for `self.langs` per text, as langdetect computes it (NaN rows: texts
        without features). The trials of all texts run together (corpus/langid_trials.py)."""
        rows = [np.asarray(self.ngram_rows(t), dtype=np.int64) for t in texts]
        return batch_probabilities(self._matrix, rows, self.seed)

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
