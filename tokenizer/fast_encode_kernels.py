"""Numba kernels behind `tokenizer.fast_encode`: split texts into the pre-tokenizer's pieces and
map each piece to its token ids through a cache of pieces already seen.

The split is `tokenizer.bpe.PRETOKENIZE_PATTERN` (`Split(..., "isolated")`) written out as the
automaton it is. At a piece's first character, by its class:

- a letter (after an optional U+0020): `\\p{L}+(?:\\p{M}+\\p{L}*)*` takes every following letter
  or mark (greedy; nothing after it can make it give any back);
- a number (after an optional U+0020): exactly one character;
- anything else that is not whitespace, marks included (after an optional U+0020): the longest
  run of such characters (`[^\\s\\p{L}\\p{N}]+`);
- whitespace: the longest run; at the text's end all of it, before a non-space all but its last
  character (`\\s+(?!\\S)`), or the single character when the run is one long (`\\s+`).

A U+0020 goes to the next piece only when that piece is a letter, number or symbol piece; the
class table (`fast_encode.char_table`) says which class each code point is in, so the kernels
never decide what a letter is.

A piece not in the cache goes through `bpe`, then into the cache while there is room (the
caller empties a full cache between batches). The cache is an open-addressing table: a slot
holds a piece's hash and where its code points and ids sit in `pool`. Equality is never decided
by the hash alone: a slot matches only when the code points are the same.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kuznia.hash_kernels import FNV_SEED, MIX1, finish, fnv_step, nonzero

# Low three bits of the class table.
OTHER = 0  # neither whitespace, letter nor number (symbols, controls, unassigned)
LETTER = 1  # \p{L}
MARK = 2  # \p{M}: continues a letter piece, else counts as a symbol
NUMBER = 3  # \p{N}
WHITESPACE = 4  # \s other than U+0020
SPACE = 5  # U+0020, the one character ` ?` takes
CLASS_BITS = 7
# Flags above the class.
UNTRUSTED = 8  # its class may differ in the tokenizers' regex engine: the text goes to `tokenizers`
NOT_NFC_INERT = 16  # NFC might change a text holding it: normalise the text first



@njit(cache=True)
def doc_flags(cps, bounds, table):
    """The OR of the flag bits of each text's code points (`bounds[d]:bounds[d + 1]`)."""
    n = bounds.size - 1
    out = np.zeros(n, np.uint8)
    for d in range(n):
        f = np.uint8(0)
        for i in range(bounds[d], bounds[d + 1]):
            f |= table[cps[i]]
        out[d] = f & ~np.uint8(CLASS_BITS)
    return out


@njit(cache=True, inline="always")
def _class(cps, i, table):
    return table[cps[i]] & CLASS_BITS


@njit(cache=True, inline="always")
def _run_end(cps, j, end, table, cls):
    """Where a run of class `cls` (combining marks included) that goes on from `j` ends."""
    while j < end:
        k = _class(cps, j, table)
        if k != cls and k != MARK:
            break
        j += 1
    return j


@njit(cache=True)
def piece_end(cps, i, end, table):
    """Where the piece starting at `i` ends (exclusive); `end` is the text's end."""
    c = _class(cps, i, table)
    j = i
    if c == SPACE and i + 1 < end:
        nxt = _class(cps, i + 1, table)
        if nxt != SPACE and nxt != WHITESPACE:
            j, c = i + 1, nxt  # ` ?` takes the space
    if c == LETTER:
        return _run_end(cps, j + 1, end, table, LETTER)
    if c == NUMBER:
        return j + 1
    if c == OTHER or c == MARK:
        return _run_end(cps, j + 1, end, table, OTHER)
    k = i + 1  # whitespace: here j == i
    while k < end:
        w = _class(cps, k, table)
        if w != SPACE and w != WHITESPACE:
            break
        k += 1
    if k < end and k - i >= 2:
        return k - 1  # `\s+(?!\S)` leaves the last one to the next piece
    return k


@njit(cache=True)
def piece_starts(cps, table):
    """Where each piece of one text starts."""
    starts = np.empty(cps.size, np.int64)
    n, i = 0, 0
    while i < cps.size:
        starts[n] = i
        n += 1
        i = piece_end(cps, i, cps.size, table)
    return starts[:n]


@njit(cache=True, inline="always")
def _hash(cps, i, n):
    """FNV-1a over the code points, then murmur3's finalizer with the length; never 0 (0 marks
    an empty slot)."""
    h = FNV_SEED
    for k in range(i, i + n):
        h = fnv_step(h, cps[k])
    return nonzero(finish(h, n))


@njit(cache=True, inline="always")
def _pair_rank(a, b, pair_keys, pair_rank):
    """The slot of merge (a, b) in the merge table, or -1."""
    key = (np.uint64(a) << np.uint64(32)) | np.uint64(b)
    mask = pair_keys.size - 1
    s = np.int64(((key * MIX1) >> np.uint64(20)) & np.uint64(mask))
    while pair_rank[s] >= 0:
        if pair_keys[s] == key:
            return s
        s = (s + 1) & mask
    return np.int64(-1)


@njit(cache=True)
def _initial_symbols(cps, i, n, char_ids, byte_ids, unk_id, sym):
    """BPE's starting symbols: each character's id, else its UTF-8 bytes' `<0xXX>` ids (byte
    fallback), else `<unk>` (`fuse_unk` off), else nothing (as `tokenizers` does)."""
    m = 0
    for k in range(i, i + n):
        c = cps[k]
        t = char_ids[c]
        if t >= 0:
            sym[m] = t
            m += 1
        elif byte_ids[0] >= 0:  # byte fallback: the caller checked all 256 byte tokens exist
            if c < 0x80:
                sym[m] = byte_ids[c]
                m += 1
            elif c < 0x800:
                sym[m], sym[m + 1] = byte_ids[0xC0 | (c >> 6)], byte_ids[0x80 | (c & 0x3F)]
                m += 2
            elif c < 0x10000:
                sym[m] = byte_ids[0xE0 | (c >> 12)]
                sym[m + 1], sym[m + 2] = byte_ids[0x80 | ((c >> 6) & 0x3F)], byte_ids[0x80 | (c & 0x3F)]
                m += 3
            else:
                sym[m], sym[m + 1] = byte_ids[0xF0 | (c >> 18)], byte_ids[0x80 | ((c >> 12) & 0x3F)]
                sym[m + 2], sym[m + 3] = byte_ids[0x80 | ((c >> 6) & 0x3F)], byte_ids[0x80 | (c & 0x3F)]
                m += 4
        elif unk_id >= 0:
            sym[m] = unk_id
            m += 1
    return m


@njit(cache=True)
def bpe(cps, i, n, char_ids, byte_ids, unk_id, pair_keys, pair_rank, pair_new, sym, ranks, slots):
    """Token ids of one piece into `sym`; returns how many. The merge of lowest rank is applied
    first, the leftmost among equal ranks: the order `tokenizers`' heap of merges pops them in."""
    m = _initial_symbols(cps, i, n, char_ids, byte_ids, unk_id, sym)
    none = np.iinfo(np.int32).max
    for p in range(m - 1):
        slots[p] = _pair_rank(sym[p], sym[p + 1], pair_keys, pair_rank)
        ranks[p] = pair_rank[slots[p]] if slots[p] >= 0 else none
    while m > 1:
        best = 0
        for p in range(1, m - 1):
            if ranks[p] < ranks[best]:
                best = p
        if ranks[best] == none:
            break
        sym[best] = pair_new[slots[best]]
        for p in range(best + 1, m - 1):  # the right symbol is gone: shift what follows left
            sym[p] = sym[p + 1]
            ranks[p], slots[p] = ranks[p + 1], slots[p + 1]
        m -= 1
        for p in (best - 1, best):  # the two pairs the new symbol is in
            if 0 <= p < m - 1:
                slots[p] = _pair_rank(sym[p], sym[p + 1], pair_keys, pair_rank)
                ranks[p] = pair_rank[slots[p]] if slots[p] >= 0 else none
    return m


# A cached piece: slots[s] = (hash, pool offset << 24 | code points << 12 | ids), and at that
# offset in `pool` its code points followed by its ids, so that a hit reads two cache lines.
_LEN_BITS = np.uint64(12)
_LEN_MASK = np.uint64(0xFFF)
_AT_SHIFT = np.uint64(24)
MAX_PIECE_CHARS = 1023  # 4 byte tokens per code point still fit in 12 bits


@njit(cache=True, inline="always")
def _same(pool, a, cps, b, n):
    for k in range(n):
        if pool[a + k] != cps[b + k]:
            return False
    return True


@njit(cache=True)
def _lookup(cps, i, n, h, slots, pool):
    """(slot holding the piece or -1, the empty slot where it would go)."""
    mask = slots.shape[0] - 1
    s = np.int64(h & np.uint64(mask))
    while slots[s, 0] != 0:
        if (slots[s, 0] == h and np.int64((slots[s, 1] >> _LEN_BITS) & _LEN_MASK) == n
                and _same(pool, np.int64(slots[s, 1] >> _AT_SHIFT), cps, i, n)):
            return s, s
        s = (s + 1) & mask
    return np.int64(-1), s


@njit(cache=True)
def _grow(out, o, need):
    if o + need <= out.size:
        return out
    grown = np.empty(2 * out.size + need, np.int32)
    grown[:o] = out[:o]
    return grown


@njit(cache=True)
def encode_texts(cps, bounds, skip, table, slots, pool, state, limits, bpe_tables, doc_tokens, too_long):
    """The ids of every text not skipped, concatenated; `doc_tokens[d]` gets text d's count.

    `slots` and `pool` are the cache (see above), `state` = [cached pieces, pool used]
    (updated), `limits` = (most pieces to cache, longest piece to cache, longest piece to run
    BPE on here). A text with a longer piece is marked `too_long` and left to the caller, with
    no ids here.
    """
    max_entries, max_piece_chars, max_bpe_chars = limits
    char_ids, byte_ids, unk_id, pair_keys, pair_rank, pair_new = bpe_tables
    sym = np.empty(4 * max_bpe_chars + 4, np.int32)
    ranks, pair_slots = np.empty_like(sym), np.empty(sym.size, np.int64)
    out = np.empty(cps.size // 2 + 16, np.int32)
    o = 0
    for d in range(bounds.size - 1):
        first = o
        i, end = bounds[d], bounds[d + 1]
        while i < end and not skip[d]:
            j = piece_end(cps, i, end, table)
            n = j - i
            if n > max_bpe_chars:
                too_long[d] = True
                o = first
                break
            s, empty, h = -1, -1, np.uint64(0)
            if n <= max_piece_chars:
                h = _hash(cps, i, n)
                s, empty = _lookup(cps, i, n, h, slots, pool)
            if s >= 0:
                at = np.int64(slots[s, 1] >> _AT_SHIFT) + n
                m = np.int64(slots[s, 1] & _LEN_MASK)
                out = _grow(out, o, m)
                for k in range(at, at + m):
                    out[o] = pool[k]
                    o += 1
            else:
                m = bpe(cps, i, n, char_ids, byte_ids, unk_id, pair_keys, pair_rank, pair_new, sym, ranks,
                        pair_slots)
                out = _grow(out, o, m)
                out[o : o + m] = sym[:m]
                o += m
                if empty >= 0 and state[0] < max_entries and state[1] + n + m <= pool.size:
                    at = state[1]
                    slots[empty, 0] = h
                    slots[empty, 1] = (np.uint64(at) << _AT_SHIFT) | (np.uint64(n) << _LEN_BITS) | np.uint64(m)
                    pool[at : at + n] = cps[i:j]
                    pool[at + n : at + n + m] = sym[:m]
                    state[0] += 1
                    state[1] += n + m
            i = j
        doc_tokens[d] = o - first
    return out[:o]

