"""Text -> words -> word 5-gram shingle hashes, vectorised over a batch of documents with numpy.

Normalisation (one definition, two implementations that a test keeps equal):
  1. Unicode NFC (so a decomposed `a` + combining ogonek is the letter `ą`),
  2. lower-case, one code point at a time (Unicode simple case mapping),
  3. every character that is not a letter or digit (`str.isalnum()`) is a separator: punctuation,
     symbols and all kinds of whitespace. Diacritics are kept: `łąka` and `laka` are different
     words (folding them, as datatrove does, would merge different Polish words).
A word is a maximal run of letters and digits.

Hashes:
  * word:    fmix64(sum_j cp_j * R**j mod 2**64) over the word's code points cp_j. A polynomial
             hash computes for all words of a batch at once (array ops, no Python call per
             word), which is what takes signatures past 20 MB/s per core; fmix64 spreads it.
  * shingle: fmix64(Horner(word hashes, C)) over `ngram` consecutive words; a document with
             fewer words than `ngram` (but at least one) is a single shingle of all its words.
  * exact:   xxh3_128 of the normalised text (words joined by one space) as UTF-32-LE.
`shingles(text)` gives the shingles as bytes (words joined by a space) and `shingle_hash` hashes
one of them to the same value, so datasketch's `MinHash(hashfunc=datasketch_hashfunc(...))`
updated with `shingles(text)` equals our signature (tests/corpus/dedup/test_minhash.py).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import xxhash

U64 = np.uint64
WORD_BASE = 0x9E3779B97F4A7C15  # R: odd, so word hashes use every bit
SHINGLE_BASE = 0xC2B2AE3D27D4EB4F  # C: odd
MASK64 = (1 << 64) - 1
N_CODEPOINTS = 0x110000


# --------------------------------------------------------------------------- reference definitions


def fmix64_int(h: int) -> int:
    """MurmurHash3's 64-bit finaliser on a Python int (the scalar twin of `fmix64`)."""
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & MASK64
    return h ^ (h >> 33)


def _simple_lower(ch: str) -> str:
    low = ch.lower()
    return low[0]  # simple case mapping: one code point ("İ" -> "i", not "i" + combining dot)


def normalize_words(text: str, *, lowercase: bool = True, nfc: bool = True) -> list[str]:
    """The words of `text` after normalisation (the reference; `shingle_batch` is the fast path)."""
    if nfc:
        text = unicodedata.normalize("NFC", text)
    words, cur = [], []
    for ch in text:
        if lowercase:
            ch = _simple_lower(ch)
        if ch.isalnum():
            cur.append(ch)
        elif cur:
            words.append("".join(cur))
            cur = []
    if cur:
        words.append("".join(cur))
    return words


def word_hash(word: str) -> int:
    """64-bit hash of one normalised word (see the module docstring)."""
    raw, p = 0, 1
    for ch in word:
        raw = (raw + ord(ch) * p) & MASK64
        p = (p * WORD_BASE) & MASK64
    return fmix64_int(raw)


def shingle_hash(shingle: bytes | str) -> int:
    """64-bit hash of one shingle: its words (UTF-8, separated by one space) hashed and combined."""
    if isinstance(shingle, bytes):
        shingle = shingle.decode("utf-8")
    h = 0
    for w in shingle.split(" "):
        h = (h * SHINGLE_BASE + word_hash(w)) & MASK64
    return fmix64_int(h)


def shingles(text: str, ngram: int = 5, *, lowercase: bool = True, nfc: bool = True) -> list[bytes]:
    """The shingles of `text` in order (with repeats) as UTF-8 bytes: what datasketch is fed."""
    words = normalize_words(text, lowercase=lowercase, nfc=nfc)
    if not words:
        return []
    if len(words) < ngram:
        return [" ".join(words).encode("utf-8")]
    return [" ".join(words[i : i + ngram]).encode("utf-8") for i in range(len(words) - ngram + 1)]


def exact_key(text: str, *, lowercase: bool = True, nfc: bool = True) -> bytes:
    """16-byte xxh3_128 of the normalised text: equal keys mean exact duplicates."""
    norm = " ".join(normalize_words(text, lowercase=lowercase, nfc=nfc))
    return xxhash.xxh3_128_digest(norm.encode("utf-32-le"))


# --------------------------------------------------------------------------- vectorised path


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser on a uint64 array (wrapping arithmetic is intended)."""
    h = h ^ (h >> U64(33))
    h *= U64(0xFF51AFD7ED558CCD)
    h ^= h >> U64(33)
    h *= U64(0xC4CEB9FE1A85EC53)
    h ^= h >> U64(33)
    return h


@lru_cache(maxsize=2)
def char_table(lowercase: bool) -> np.ndarray:
    """uint32 table over all code points: the normalised character, or 0 for a separator."""
    table = np.zeros(N_CODEPOINTS, dtype=np.uint32)
    for c in range(N_CODEPOINTS):
        ch = chr(c)
        if lowercase:
            ch = _simple_lower(ch)
        if ch.isalnum():
            table[c] = ord(ch)
    return table


_powers = np.ones(1, dtype=U64)
_inv_powers = np.ones(1, dtype=U64)
WORD_BASE_INV = pow(WORD_BASE, -1, 1 << 64)  # R is odd, so it has an inverse mod 2**64


def _position_powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(R**i, R**-i) mod 2**64 for i < n (grown on demand, kept between batches)."""
    global _powers, _inv_powers
    if len(_powers) < n:
        size = max(n, 2 * len(_powers))
        p = np.full(size, U64(WORD_BASE))
        p[0] = 1
        _powers = np.cumprod(p, dtype=U64)
        p[:] = U64(WORD_BASE_INV)
        p[0] = 1
        _inv_powers = np.cumprod(p, dtype=U64)
    return _powers[:n], _inv_powers[:n]


@dataclass
class ShingledBatch:
    """Shingle hashes of a batch of documents, concatenated in document order."""

    words: np.ndarray  # int64 (n_docs,): words per document
    chars: np.ndarray  # int64 (n_docs,): characters of the original text
    exact: list[bytes]  # n_docs x 16-byte exact keys
    hashes: np.ndarray  # uint64 (n_shingles,)
    offsets: np.ndarray  # int64 (n_docs + 1,): document i owns hashes[offsets[i]:offsets[i+1]]

    @property
    def n_docs(self) -> int:
        return len(self.words)


def shingle_batch(texts: list[str], *, ngram: int = 5, lowercase: bool = True, nfc: bool = True
                  ) -> ShingledBatch:
    """Normalise, split and hash a batch of documents at once (equal to the reference functions)."""
    n = len(texts)
    chars = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    if nfc:
        texts = [unicodedata.normalize("NFC", t) for t in texts]
    # Documents joined by a NUL (a separator), so no word spans two documents.
    lens = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    doc_start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens + 1, out=doc_start[1:])
    cps = np.frombuffer("\0".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    norm = char_table(lowercase)[cps]
    is_word = norm != 0

    edges = np.diff(is_word.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    w_start = np.flatnonzero(edges == 1)
    w_end = np.flatnonzero(edges == -1)
    n_words = len(w_start)

    # Word hashes: sum of cp * R**(position in word). Summing cp * R**(position in the batch)
    # over each word and multiplying by R**-(its first position) gives the same value (R is odd,
    # so invertible mod 2**64) with two passes over the characters and no per-word positions.
    # Separators have cp 0, so each reduceat run may run on past its word's end.
    pw, inv_pw = _position_powers(len(cps))
    terms = np.multiply(pw, norm, dtype=U64)
    if n_words:
        whash = np.add.reduceat(terms, w_start)
        whash *= inv_pw[w_start]
        whash = fmix64(whash)
    else:
        whash = np.zeros(0, U64)
    del terms

    # Words per document: word starts are ascending and so are document starts.
    first_word = np.searchsorted(w_start, doc_start)
    first_word[-1] = n_words
    words = np.diff(first_word)

    hashes, counts = _shingle_hashes(whash, words, first_word, ngram)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    exact = _exact_keys(norm, is_word, w_start, w_end, first_word)
    return ShingledBatch(words=words, chars=chars, exact=exact, hashes=hashes, offsets=offsets)


def _shingle_hashes(whash: np.ndarray, words: np.ndarray, first_word: np.ndarray, ngram: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Horner-combine each run of `ngram` words within a document (short documents: all words)."""
    n_words = len(whash)
    padded = np.concatenate([whash, np.zeros(ngram, dtype=U64)])
    full = padded[:n_words].copy()
    for t in range(1, ngram):
        full *= U64(SHINGLE_BASE)
        full += padded[t : t + n_words]
    # A shingle starts at every word but the last ngram - 1 of its document (per-document work,
    # not per-word: no gather of each word's document end).
    keep = np.ones(n_words, dtype=bool)
    ends, begins = first_word[1:], first_word[:-1]
    for t in range(1, ngram):
        pos = ends - t
        keep[pos[pos >= begins]] = False
    short_docs = np.flatnonzero((words > 0) & (words < ngram))
    if len(short_docs):
        starts = first_word[short_docs]
        sizes = words[short_docs]
        h = np.zeros(len(short_docs), dtype=U64)
        for t in range(ngram - 1):
            live = t < sizes
            h[live] = h[live] * U64(SHINGLE_BASE) + whash[starts[live] + t]
        full[starts] = h
        keep[starts] = True
    counts = np.maximum(words - ngram + 1, 0) + ((words > 0) & (words < ngram))
    return fmix64(full[keep]), counts


def _exact_keys(norm: np.ndarray, is_word: np.ndarray, w_start: np.ndarray, w_end: np.ndarray,
                first_word: np.ndarray) -> list[bytes]:
    """xxh3_128 per document of its words joined by single spaces (UTF-32-LE).

    Overwrites `norm` and `is_word` (the caller is done with them; copies would cost two more
    passes over the characters).
    """
    words = np.diff(first_word)
    # The separator run after a word becomes one space if another word of the same doc follows.
    inner = np.ones(len(w_start), dtype=bool)
    inner[first_word[1:][words > 0] - 1] = False  # each document's last word
    sep = w_end[inner]
    norm[sep] = 32
    is_word[sep] = True
    buf = memoryview(norm[is_word]).cast("B")  # slices of a memoryview are not copies
    # Kept characters per document: its word lengths plus one space between consecutive words.
    chars_before = np.zeros(len(w_start) + 1, dtype=np.int64)
    np.cumsum(w_end - w_start, out=chars_before[1:])
    kept = chars_before[first_word[1:]] - chars_before[first_word[:-1]]
    kept += np.maximum(words - 1, 0)
    bounds = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(kept, out=bounds[1:])
    bounds *= 4
    digest = xxhash.xxh3_128_digest
    return [digest(buf[a:b]) for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]
