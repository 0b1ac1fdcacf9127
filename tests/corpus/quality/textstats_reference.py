"""The plain-Python text statistics that `corpus.textstats` replaced, kept as its test reference.

This is `corpus/textstats.py` as it was before the numba kernels (regex tokens, str methods,
sets, numpy n-gram hashes), unchanged apart from this docstring: tests
compare the kernels' output with `text_stats_batch` here, `==` on the dicts. See
`corpus/textstats.py` for the definitions and where they differ from datatrove.
"""

from __future__ import annotations

import re
from itertools import chain, pairwise

import numpy as np

from corpus.polish import CLOSING_MARKS, TERMINAL_PUNCTUATION

# Tokens: runs of letters and digits, and every other non-space character on its own. (Python's
# `\w` is "alphanumeric or _", so `[^\W_]` is exactly `str.isalnum`: a token is a word iff
# `token.isalnum()`, which `map` evaluates at C speed.)
TOKEN_RE = re.compile(r"[^\W_]+|\S")
_PARAGRAPH_SPLIT_RE = re.compile(r"\n{2,}")
_LINE_BREAKS_RE = re.compile(r"\n+")
_BULLETS = ("•", "-", "–", "*")
_ELLIPSES = ("...", "…")
_LINE_END = tuple(TERMINAL_PUNCTUATION)
_LINE_END_STRIP = CLOSING_MARKS + " \t"
SHORT_LINE_CHARS = 30  # FineWeb's short_line_length
TOP_NGRAMS = (2, 3, 4)
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)
_PRIME = np.uint64(1099511628211)  # FNV's 64-bit prime: any odd multiplier mixes well here
_SALT = np.uint64(0x9E3779B97F4A7C15)  # keeps texts of one batch apart (golden-ratio constant)


def _duplicates(items: list[str]) -> tuple[int, int]:
    """(duplicate elements, their characters): every occurrence after the first counts."""
    unique = set(items)
    if len(unique) == len(items):
        return 0, 0
    return len(items) - len(unique), sum(map(len, items)) - sum(map(len, unique))


def _ngram_stats_batch(token_lists: list[list[str]], n_chars: list[int]) -> list[dict[str, float]]:
    """Top 2-4-gram and duplicate 5-10-gram character fractions per text, datatrove's
    definitions, for a batch of texts at once.

    The texts' tokens are concatenated; an n-gram never spans two texts, and each token's hash
    is salted with its text's number so that equal n-grams of different texts never meet. A
    duplicated (n+1)-gram starts with a duplicated n-gram, so each n only hashes the positions
    where the (n-1)-gram was duplicated; in prose that set shrinks fast. One sort per n serves
    the whole batch (per text, the numpy calls' overhead would dominate short texts).
    """
    out = [{**{f"top_{n}gram_frac": 0.0 for n in TOP_NGRAMS},
            **{f"dup_{n}gram_frac": 0.0 for n in DUP_NGRAMS}} for _ in token_lists]
    sizes = np.array([len(t) for t in token_lists], dtype=np.int64)
    total = int(sizes.sum())
    if total < 2:
        return out
    tokens = list(chain.from_iterable(token_lists))
    doc_of = np.repeat(np.arange(len(token_lists)), sizes)
    doc_start = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    doc_end = doc_start + sizes
    ids = np.fromiter(map(hash, tokens), dtype=np.int64, count=total).view(np.uint64)
    ids = ids ^ (doc_of.astype(np.uint64) * _SALT)
    lens = np.fromiter(map(len, tokens), dtype=np.int64, count=total)
    cum_len = np.concatenate(([0], np.cumsum(lens)))
    chars = np.array(n_chars, dtype=np.float64)
    positions = np.flatnonzero(np.arange(total - 1) + 1 < doc_end[doc_of[:-1]])
    hashes = ids[positions] * _PRIME + ids[positions + 1]
    for n in range(2, max(DUP_NGRAMS) + 1):
        if n > 2:
            keep = positions + n - 1 < doc_end[doc_of[positions]]
            positions, hashes = positions[keep], hashes[keep]
            hashes = hashes * _PRIME + ids[positions + n - 1]
        counts = _group_counts(hashes) if positions.size else positions
        if n in TOP_NGRAMS:
            _top_ngrams(out, n, positions, counts, doc_of, doc_start, sizes, cum_len, chars)
        repeated = counts >= 2
        positions, hashes = positions[repeated], hashes[repeated]
        if n in DUP_NGRAMS and positions.size:
            docs = doc_of[positions]
            bounds = np.flatnonzero(np.concatenate(([True], docs[1:] != docs[:-1], [True])))
            for s, e in pairwise(bounds):
                d = int(docs[s])
                out[d][f"dup_{n}gram_frac"] = _skip_walk(positions[s:e], hashes[s:e], cum_len, n) / chars[d]
    return out


def _top_ngrams(out, n, positions, counts, doc_of, doc_start, sizes, cum_len, chars) -> None:
    """datatrove's top n-gram: the most frequent n-gram (the earliest of equals) times its
    length (tokens joined by spaces), over the text's length. Without repeats it is the first
    n-gram, once."""
    has = np.flatnonzero((sizes - n + 1 > 0) & (chars > 0))
    start = doc_start[has]
    top = np.ones(len(has))
    if positions.size:
        repeated = counts >= 2
        pos, cnt = positions[repeated], counts[repeated]
        if pos.size:
            docs = doc_of[pos]
            seg = np.flatnonzero(np.concatenate(([True], docs[1:] != docs[:-1])))
            best = np.maximum.reduceat(cnt, seg)
            seg_of = np.repeat(np.arange(len(seg)), np.diff(np.append(seg, len(pos))))
            earliest = np.minimum.reduceat(np.where(cnt == best[seg_of], pos, np.iinfo(np.int64).max), seg)
            where = np.searchsorted(has, docs[seg])
            start[where] = earliest
            top[where] = best
    frac = top * (cum_len[start + n] - cum_len[start] + n - 1) / chars[has]
    for d, f in zip(has.tolist(), frac.tolist()):
        out[d][f"top_{n}gram_frac"] = f


def _group_counts(hashes: np.ndarray) -> np.ndarray:
    """Per element: how often its hash occurs (a sort, then group sizes scattered back)."""
    order = np.argsort(hashes)
    ordered = hashes[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    sizes = np.diff(np.append(starts, len(ordered)))
    counts = np.empty(len(hashes), dtype=np.int64)
    counts[order] = np.repeat(sizes, sizes)
    return counts


def _skip_walk(positions: np.ndarray, hashes: np.ndarray, cum_len: np.ndarray, n: int) -> int:
    """datatrove's find_all_duplicate over the positions whose n-gram occurs twice or more.

    datatrove walks every position, remembers each n-gram it visits, and on a repeat counts
    its characters and jumps n positions ahead (skipped n-grams are not remembered). An
    n-gram that occurs once can never repeat, so visiting only the others is exact.
    """
    seen: set[int] = set()
    repeated_chars = 0
    next_free = 0
    for p, h in zip(positions.tolist(), hashes.tolist()):
        if p < next_free:
            continue
        if h in seen:
            repeated_chars += cum_len[p + n] - cum_len[p]
            next_free = p + n
        else:
            seen.add(h)
    return int(repeated_chars)


def text_stats(text: str, stopwords: frozenset[str]) -> dict[str, float | int]:
    """Every statistic of one text, keyed by its short name (the caller adds versions).

    Ratios over an empty set are 0.0; `decide` rejects empty and too-short texts first, so no
    threshold ever sees those zeros.
    """
    return text_stats_batch([text], stopwords)[0]


def text_stats_batch(texts: list[str], stopwords: frozenset[str]) -> list[dict[str, float | int]]:
    """`text_stats` for many texts (the n-gram statistics of all of them computed together)."""
    token_lists = [TOKEN_RE.findall(t) for t in texts]
    out = [_line_and_word_stats(t, tokens, stopwords) for t, tokens in zip(texts, token_lists)]
    for stats, ngrams in zip(out, _ngram_stats_batch(token_lists, [len(t) for t in texts])):
        stats.update(ngrams)
    return out


def _line_and_word_stats(text: str, tokens: list[str], stopwords: frozenset[str]) -> dict[str, float | int]:
    n_chars = len(text)
    n_tokens = len(tokens)
    n_words = sum(map(str.isalnum, tokens))
    no_letter_words = sum(map(str.isdigit, tokens))
    word_chars = sum(map(len, tokens)) - (n_tokens - n_words)  # other tokens are 1 character
    stop_tokens = sum(map(stopwords.__contains__, tokens))

    all_lines = text.splitlines()
    n_all_lines = len(all_lines)
    lines = [line for line in all_lines if line.strip()]
    n_lines = len(lines)
    bullets = ellipsis_ends = punct_ends = short = 0
    for line in all_lines:
        if line.lstrip().startswith(_BULLETS):
            bullets += 1
        if line.rstrip().endswith(_ELLIPSES):
            ellipsis_ends += 1
    for line in lines:
        if line.rstrip(_LINE_END_STRIP).endswith(_LINE_END):
            punct_ends += 1
        if len(line) <= SHORT_LINE_CHARS:
            short += 1
    stripped = text.strip()
    if "\n\n\n" in stripped:
        paragraphs = _PARAGRAPH_SPLIT_RE.split(stripped)
        line_breaks = len(_LINE_BREAKS_RE.findall(stripped))
    else:  # the usual case after cleaning: no runs of more than two line breaks
        paragraphs = stripped.split("\n\n")
        line_breaks = stripped.count("\n") - stripped.count("\n\n")
    dup_lines, dup_line_chars = _duplicates(lines)
    dup_paras, dup_para_chars = _duplicates(paragraphs)
    newlines = text.count("\n")

    def ratio(a: float, b: float) -> float:
        return a / b if b else 0.0

    stats: dict[str, float | int] = {
        "words": n_words,
        "tokens": n_tokens,
        "mean_word_len": ratio(word_chars, n_words),
        # datatrove divides by all tokens, punctuation included.
        "alpha_words_frac": ratio(n_words - no_letter_words, n_tokens),
        "hash_ratio": ratio(text.count("#"), n_tokens),
        "ellipsis_ratio": ratio(text.count("...") + text.count("…"), n_tokens),
        "bullet_lines_frac": ratio(bullets, n_all_lines),
        "ellipsis_lines_frac": ratio(ellipsis_ends, n_all_lines),
        "stopwords": len(stopwords.intersection(tokens)),
        "stopword_frac": ratio(stop_tokens, n_words),
        "dup_line_frac": ratio(dup_lines, n_lines),
        "dup_line_char_frac": ratio(dup_line_chars, n_chars),
        "dup_para_frac": ratio(dup_paras, len(paragraphs)) if n_chars else 0.0,
        "dup_para_char_frac": ratio(dup_para_chars, n_chars),
        "line_punct_frac": ratio(punct_ends, n_lines),
        "short_line_frac": ratio(short, n_lines),
        "char_dup_frac": ratio(dup_line_chars, n_chars - newlines),
        "newline_ratio": ratio(line_breaks, n_tokens),
    }
    return stats
