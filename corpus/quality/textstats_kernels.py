"""Numba kernels behind `corpus.textstats`: every count of a batch of texts from its code points.

`batch_counts` walks each text's code points once (tokens, lines, paragraphs and character
counts together), then its tokens once (exact interning: equal tokens get one id), then the
n-grams of repeated (n-1)-grams for n = 2, 3, ... It returns integer counts only; the Python
side divides them, so every ratio is the same one division of the same two integers as in
plain Python. Character classes come in as a table built from Python's own `re` and `str`
(see `corpus.textstats.char_classes`), so the kernels never decide what a letter is.

Equality is never decided by a hash alone: tokens, lines and paragraphs found under one hash
are compared code point by code point, n-grams token id by token id. Hashes only pick a slot
in an open-addressing table (one per text, in scratch arrays sized once per batch), so a
64-bit collision costs a comparison, never a wrong count.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kuznia.hash_kernels import FNV_SEED as _SEED
from kuznia.hash_kernels import finish as _finish
from kuznia.hash_kernels import fnv_step as _step

# Bits of the character-class table.
WORD_RUN = 1  # matched by `[^\W_]`: runs of these make one token
NON_SPACE = 2  # matched by `\S`: any other such character is a token on its own
ALNUM = 4  # str.isalnum
DIGIT = 8  # str.isdigit
SPACE = 16  # str.isspace: what strip() removes
LINE_BREAK = 32  # a str.splitlines boundary ("\r\n" is one, handled in the kernel)
BULLET = 64  # a bullet line starts with it (after lstrip)
END_STRIP = 128  # stripped from a line's end before the terminal punctuation test
TERMINAL = 256  # terminal punctuation

# Columns of `batch_counts`'s first result, one row per text.
(WORDS, TOKENS, TOKEN_CHARS, DIGIT_TOKENS, HASHES, ELLIPSES, CHARS, NEWLINES, ALL_LINES,
 BULLET_LINES, ELLIPSIS_LINES, LINES, PUNCT_LINES, SHORT_LINES, DUP_LINES, DUP_LINE_CHARS,
 PARAS, DUP_PARAS, DUP_PARA_CHARS, LINE_BREAKS, STOPWORDS, STOP_TOKENS,
 WORD_CHARS, ALPHA_WORDS, NON_NEWLINE_CHARS) = range(25)
N_COLUMNS = 25

_LF, _CR, _HASH, _DOT, _ELLIPSIS = 0x0A, 0x0D, 0x23, 0x2E, 0x2026
_NGRAM = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier that chains token hashes into n-grams


@njit(cache=True)
def _table_mask(n):
    """Mask of a power-of-two table at most half full with n keys."""
    cap = 16
    while cap < 2 * n:
        cap *= 2
    return cap - 1


@njit(cache=True, inline="always")
def _same_run(values, a, b, length):
    """values[a:a + length] == values[b:b + length] (code points of two spans, or token ids of
    two n-grams)."""
    for k in range(length):
        if values[a + k] != values[b + k]:
            return False
    return True


@njit(cache=True)
def _duplicate_spans(cp, starts, ends, hashes, n, tab_item, tab_key):
    """(spans equal to an earlier span, their code points): Python's `len(items) - len(set)`
    and the characters of the repeats, over spans [starts[i], ends[i]) of `cp`."""
    mask = _table_mask(n)
    tab_item[: mask + 1] = -1
    dups = dup_chars = 0
    for i in range(n):
        h = hashes[i]
        length = ends[i] - starts[i]
        slot = np.int64(h & np.uint64(mask))
        while True:
            j = tab_item[slot]
            if j < 0:
                tab_item[slot] = i
                tab_key[slot] = h
                break
            if (tab_key[slot] == h and ends[j] - starts[j] == length
                    and _same_run(cp, starts[j], starts[i], length)):
                dups += 1
                dup_chars += length
                break
            slot = (slot + 1) & mask
    return dups, dup_chars


@njit(cache=True)
def _stopword_table(sw_cp, sw_offsets, sw_key, sw_item):
    """Open-addressing table of the stop words' hashes (same hash as tokens); returns its mask."""
    n = len(sw_offsets) - 1
    mask = _table_mask(n)
    sw_item[: mask + 1] = -1
    for i in range(n):
        h = _SEED
        for k in range(sw_offsets[i], sw_offsets[i + 1]):
            h = _step(h, sw_cp[k])
        h = _finish(h, sw_offsets[i + 1] - sw_offsets[i])
        slot = np.int64(h & np.uint64(mask))
        while sw_item[slot] >= 0:
            slot = (slot + 1) & mask
        sw_item[slot] = i
        sw_key[slot] = h
    return mask


@njit(cache=True)
def _is_stopword(cp, start, length, h, sw_cp, sw_offsets, sw_key, sw_item, sw_mask):
    slot = np.int64(h & np.uint64(sw_mask))
    while sw_item[slot] >= 0:
        i = sw_item[slot]
        s = sw_offsets[i]
        if sw_key[slot] == h and sw_offsets[i + 1] - s == length:
            same = True
            for k in range(length):
                if sw_cp[s + k] != cp[start + k]:
                    same = False
                    break
            if same:
                return True
        slot = (slot + 1) & sw_mask
    return False


@njit(cache=True)
def _scan_text(cp, b, e, classes, short_line_chars, row, tok_start, tok_len, tok_hash,
               line_start, line_end, line_hash, para_start, para_end, para_hash):
    """One pass over the code points of cp[b:e]: tokens (`[^\\W_]+|\\S`), splitlines lines,
    paragraphs of the stripped text (split at runs of 2+ "\\n") and character counts.
    Fills the token, line and paragraph arrays; returns (tokens, lines, paragraphs)."""
    # Bounds of text.strip(): paragraphs and line breaks only count inside them.
    s0 = b
    while s0 < e and classes[cp[s0]] & SPACE:
        s0 += 1
    s1 = e
    while s1 > s0 and classes[cp[s1 - 1]] & SPACE:
        s1 -= 1

    n_tok = n_line = n_para = 0
    words = token_chars = digit_tokens = 0
    hashes = ellipses = newlines = dot_run = 0
    all_lines = bullets = ellipsis_lines = punct = short = line_breaks = 0
    in_run = False
    run_start = 0
    run_hash = _SEED
    run_alnum = run_digit = True
    ls = b  # current line's start
    lh = _SEED
    first_flags = 0  # classes of the line's first non-space character
    last_ns = -1  # the line's last non-space position (-1: blank so far)
    ps = s0  # current paragraph's start
    ph = _SEED
    nl_run = 0
    nl_start = 0
    for i in range(b, e + 1):
        if i < e:
            c = cp[i]
            f = classes[c]
        else:  # a sentinel that ends the last token and line
            c = 0
            f = LINE_BREAK
        # Tokens.
        if f & WORD_RUN:
            if not in_run:
                in_run = True
                run_start = i
                run_hash = _SEED
                run_alnum = run_digit = True
            run_hash = _step(run_hash, c)
            run_alnum = run_alnum and (f & ALNUM) != 0
            run_digit = run_digit and (f & DIGIT) != 0
        else:
            if in_run:
                in_run = False
                length = i - run_start
                tok_start[n_tok] = run_start
                tok_len[n_tok] = length
                tok_hash[n_tok] = _finish(run_hash, length)
                n_tok += 1
                token_chars += length
                words += run_alnum
                digit_tokens += run_digit
            if f & NON_SPACE and i < e:
                tok_start[n_tok] = i
                tok_len[n_tok] = 1
                tok_hash[n_tok] = _finish(_step(_SEED, c), 1)
                n_tok += 1
                token_chars += 1
                words += (f & ALNUM) != 0
                digit_tokens += (f & DIGIT) != 0
        # Lines.
        if f & LINE_BREAK:
            if i == e and ls == e:
                pass  # splitlines adds no empty line after a final break (or for "")
            elif c == _LF and i > b and cp[i - 1] == _CR:
                pass  # "\r\n" is one break: the "\r" ended the line
            else:
                all_lines += 1
                if last_ns >= 0:  # line.strip() is not empty
                    if first_flags & BULLET:
                        bullets += 1
                    j = last_ns
                    if cp[j] == _ELLIPSIS or (j - 2 >= ls and cp[j] == _DOT
                                              and cp[j - 1] == _DOT and cp[j - 2] == _DOT):
                        ellipsis_lines += 1
                    if i - ls <= short_line_chars:
                        short += 1
                    k = i - 1
                    while k >= ls and classes[cp[k]] & END_STRIP:
                        k -= 1
                    if k >= ls and classes[cp[k]] & TERMINAL:
                        punct += 1
                    line_start[n_line] = ls
                    line_end[n_line] = i
                    line_hash[n_line] = _finish(lh, i - ls)
                    n_line += 1
            ls = i + 1
            lh = _SEED
            first_flags = 0
            last_ns = -1
        else:
            lh = _step(lh, c)
            if not f & SPACE:
                if last_ns < 0:
                    first_flags = f
                last_ns = i
        if i == e:
            break
        # Paragraphs of the stripped text.
        if s0 <= i < s1:
            if c == _LF:
                if nl_run == 0:
                    nl_start = i
                    line_breaks += 1
                nl_run += 1
            else:
                if nl_run >= 2:
                    para_start[n_para] = ps
                    para_end[n_para] = nl_start
                    para_hash[n_para] = _finish(ph, nl_start - ps)
                    n_para += 1
                    ps = i
                    ph = _SEED
                elif nl_run == 1:
                    ph = _step(ph, _LF)
                nl_run = 0
                ph = _step(ph, c)
        # Characters.
        if c == _LF:
            newlines += 1
        elif c == _HASH:
            hashes += 1
        elif c == _ELLIPSIS:
            ellipses += 1
        if c == _DOT:  # str.count("...") counts non-overlapping runs of three
            dot_run += 1
            if dot_run == 3:
                ellipses += 1
                dot_run = 0
        else:
            dot_run = 0
    if s1 > s0:  # the stripped text ends in a non-space character: no pending "\n" run
        para_start[n_para] = ps
        para_end[n_para] = s1
        para_hash[n_para] = _finish(ph, s1 - ps)
        n_para += 1

    row[WORDS] = words
    row[TOKENS] = n_tok
    row[TOKEN_CHARS] = token_chars
    row[DIGIT_TOKENS] = digit_tokens
    row[HASHES] = hashes
    row[ELLIPSES] = ellipses
    row[CHARS] = e - b
    row[NEWLINES] = newlines
    row[ALL_LINES] = all_lines
    row[BULLET_LINES] = bullets
    row[ELLIPSIS_LINES] = ellipsis_lines
    row[LINES] = n_line
    row[PUNCT_LINES] = punct
    row[SHORT_LINES] = short
    row[LINE_BREAKS] = line_breaks
    row[PARAS] = max(n_para, 1)  # "".split("\n\n") is [""]: one (empty) paragraph
    return n_tok, n_line, n_para


@njit(cache=True)
def _intern_tokens(cp, n_tok, tok_start, tok_len, tok_hash, tid, tab_item, tab_key,
                   id_first, id_stop, sw_cp, sw_offsets, sw_key, sw_item, sw_mask):
    """Give equal tokens one id (in order of first occurrence); returns
    (distinct stop words, stop-word tokens)."""
    mask = _table_mask(n_tok)
    tab_item[: mask + 1] = -1
    n_ids = distinct_stop = stop_tokens = 0
    for t in range(n_tok):
        h = tok_hash[t]
        length = tok_len[t]
        slot = np.int64(h & np.uint64(mask))
        while True:
            k = tab_item[slot]
            if k < 0:
                k = n_ids
                n_ids += 1
                tab_item[slot] = k
                tab_key[slot] = h
                id_first[k] = t
                stop = _is_stopword(cp, tok_start[t], length, h, sw_cp, sw_offsets,
                                    sw_key, sw_item, sw_mask)
                id_stop[k] = stop
                distinct_stop += stop
                break
            first = id_first[k]
            if (tab_key[slot] == h and tok_len[first] == length
                    and _same_run(cp, tok_start[first], tok_start[t], length)):
                break
            slot = (slot + 1) & mask
        tid[t] = k
        stop_tokens += id_stop[k]
    return distinct_stop, stop_tokens


@njit(cache=True)
def _ngram_counts(n_tok, tok_len, tok_hash, tid, want_top, want_dup, ngram_row,
                  cum_len, cand_pos, cand_hash, cand_slot, tab_item, tab_key, tab_count, tab_seen):
    """Top n-gram numerators (count x characters joined by spaces) and duplicate n-gram
    characters (datatrove's skip walk) of one text's tokens, into ngram_row[n, 0 / 1].

    A repeated n-gram starts with a repeated (n-1)-gram, so n only looks at the positions
    whose (n-1)-gram repeated; their n-gram counts are exact for every repeated n-gram."""
    max_n = len(want_top) - 1
    cum_len[0] = 0
    for t in range(n_tok):
        cum_len[t + 1] = cum_len[t] + tok_len[t]
    k = 0
    for p in range(n_tok - 1):
        cand_pos[k] = p
        cand_hash[k] = tok_hash[p] * _NGRAM + tok_hash[p + 1]
        k += 1
    for n in range(2, max_n + 1):
        if n > n_tok:
            break
        mask = _table_mask(k)
        tab_item[: mask + 1] = -1
        for j in range(k):
            p = cand_pos[j]
            h = cand_hash[j]
            slot = np.int64(_finish(h, n) & np.uint64(mask))
            while True:
                first = tab_item[slot]
                if first < 0:
                    tab_item[slot] = p
                    tab_key[slot] = h
                    tab_count[slot] = 1
                    tab_seen[slot] = 0
                    break
                if tab_key[slot] == h and _same_run(tid, first, p, n):
                    tab_count[slot] += 1
                    break
                slot = (slot + 1) & mask
            cand_slot[j] = slot
        if want_top[n]:
            # datatrove's most frequent n-gram, the earliest of equals; without repeats,
            # the first n-gram, once.
            best = 1
            where = 0
            for j in range(k):
                c = tab_count[cand_slot[j]]
                if c > best:
                    best = c
                    where = cand_pos[j]
            ngram_row[n, 0] = best * (cum_len[where + n] - cum_len[where] + n - 1)
        if want_dup[n]:
            # datatrove's find_all_duplicate: a repeat adds its characters and jumps n
            # ahead; n-grams seen only once can never repeat, so skipping them is exact.
            dup_chars = 0
            next_free = 0
            for j in range(k):
                slot = cand_slot[j]
                p = cand_pos[j]
                if tab_count[slot] < 2 or p < next_free:
                    continue
                if tab_seen[slot]:
                    dup_chars += cum_len[p + n] - cum_len[p]
                    next_free = p + n
                else:
                    tab_seen[slot] = 1
            ngram_row[n, 1] = dup_chars
        kept = 0
        for j in range(k):
            p = cand_pos[j]
            if tab_count[cand_slot[j]] >= 2 and p + n < n_tok:
                cand_pos[kept] = p
                cand_hash[kept] = cand_hash[j] * _NGRAM + tok_hash[p + n]
                kept += 1
        k = kept


@njit(cache=True)
def batch_counts(cp, offsets, classes, short_line_chars, sw_cp, sw_offsets, want_top, want_dup):
    """Counts of every text cp[offsets[d]:offsets[d + 1]] (code points as uint32).

    Returns (counts[d, column] with the columns above, ngrams[d, n, 0 / 1]: the top n-gram
    numerator and the duplicate n-gram characters for n where want_top / want_dup is set).
    Scratch arrays are sized once by the longest text, so memory is bounded by the batch."""
    n_docs = len(offsets) - 1
    longest = 0
    for d in range(n_docs):
        longest = max(longest, offsets[d + 1] - offsets[d])
    size = longest + 1
    cap = _table_mask(size) + 1
    counts = np.zeros((n_docs, N_COLUMNS), dtype=np.int64)
    ngrams = np.zeros((n_docs, len(want_top), 2), dtype=np.int64)
    tok_start = np.empty(size, dtype=np.int64)
    tok_len = np.empty(size, dtype=np.int64)
    tok_hash = np.empty(size, dtype=np.uint64)
    tid = np.empty(size, dtype=np.int32)
    line_start = np.empty(size, dtype=np.int64)
    line_end = np.empty(size, dtype=np.int64)
    line_hash = np.empty(size, dtype=np.uint64)
    para_start = np.empty(size, dtype=np.int64)
    para_end = np.empty(size, dtype=np.int64)
    para_hash = np.empty(size, dtype=np.uint64)
    id_first = np.empty(size, dtype=np.int32)
    id_stop = np.empty(size, dtype=np.uint8)
    cum_len = np.empty(size + 1, dtype=np.int64)
    cand_pos = np.empty(size, dtype=np.int64)
    cand_hash = np.empty(size, dtype=np.uint64)
    cand_slot = np.empty(size, dtype=np.int64)
    tab_item = np.empty(cap, dtype=np.int64)
    tab_key = np.empty(cap, dtype=np.uint64)
    tab_count = np.empty(cap, dtype=np.int32)
    tab_seen = np.empty(cap, dtype=np.uint8)
    sw_cap = _table_mask(len(sw_offsets)) + 1
    sw_item = np.empty(sw_cap, dtype=np.int64)
    sw_key = np.empty(sw_cap, dtype=np.uint64)
    sw_mask = _stopword_table(sw_cp, sw_offsets, sw_key, sw_item)
    for d in range(n_docs):
        b = offsets[d]
        e = offsets[d + 1]
        row = counts[d]
        n_tok, n_line, n_para = _scan_text(
            cp, b, e, classes, short_line_chars, row, tok_start, tok_len, tok_hash,
            line_start, line_end, line_hash, para_start, para_end, para_hash)
        row[DUP_LINES], row[DUP_LINE_CHARS] = _duplicate_spans(
            cp, line_start, line_end, line_hash, n_line, tab_item, tab_key)
        row[DUP_PARAS], row[DUP_PARA_CHARS] = _duplicate_spans(
            cp, para_start, para_end, para_hash, n_para, tab_item, tab_key)
        # Tokens that are not words are single characters.
        row[WORD_CHARS] = row[TOKEN_CHARS] - (row[TOKENS] - row[WORDS])
        row[ALPHA_WORDS] = row[WORDS] - row[DIGIT_TOKENS]
        row[NON_NEWLINE_CHARS] = row[CHARS] - row[NEWLINES]
        row[STOPWORDS], row[STOP_TOKENS] = _intern_tokens(
            cp, n_tok, tok_start, tok_len, tok_hash, tid, tab_item, tab_key,
            id_first, id_stop, sw_cp, sw_offsets, sw_key, sw_item, sw_mask)
        _ngram_counts(n_tok, tok_len, tok_hash, tid, want_top, want_dup, ngrams[d],
                      cum_len, cand_pos, cand_hash, cand_slot, tab_item, tab_key, tab_count,
                      tab_seen)
    return counts, ngrams


@njit(cache=True)
def ratios(counts, numerators, denominators):
    """counts[:, numerators] / counts[:, denominators], 0.0 where the denominator is 0: one
    float64 division of integers below 2**53, so Python's correctly rounded `int / int`."""
    out = np.zeros((counts.shape[0], len(numerators)), dtype=np.float64)
    for d in range(counts.shape[0]):
        for j in range(len(numerators)):
            den = counts[d, denominators[j]]
            if den != 0:
                out[d, j] = np.float64(counts[d, numerators[j]]) / np.float64(den)
    return out
