"""Our tokenizer's ids, exactly as `Tokenizer.encode(text, add_special_tokens=False).ids`, several
times faster.

Text repeats its words (Zipf): a 31 MB corpus has ~5 M pre-tokenizer pieces but a few hundred
thousand distinct ones. One numba kernel (`fast_encode_kernels.py`) splits the texts into
pieces, looks each up in a bounded cache of pieces seen before (cleared when full), and runs BPE
on a piece it has not seen, with the tokenizer's own vocabulary and merges. The steps are
`Tokenizer.encode`'s, in its order:

1. Special-token text is split out first (only when `tok.encode_special_tokens` is off: the
   tokens stage turns it on, so a literal `</s>` in a document is text), leftmost-longest on
   the raw text, as `tokenizers` does for `normalized=False` added tokens.
2. NFC: a text made only of NFC-inert code points (NFC quick check Yes and combining class 0,
   by the `regex` module's Unicode data) is NFC already; any other text goes through the
   tokenizer's own normalizer. Unicode's stability policy keeps an assigned character's
   inertness in later versions, and characters `regex` does not know are untrusted (step 3).
3. The split, by a class table built with the `regex` module (the `\\p{L}`, `\\p{M}`, `\\p{N}`,
   `\\s` the pattern names). `tokenizers` runs Oniguruma, whose Unicode version is neither the
   `regex` module's nor Python's: a code point is untrusted when those two give it different
   classes (a character Python's Unicode does not know yet counts as "other", as in any engine
   that does not know it) or when even `regex` does not assign it, and a text holding one is
   encoded by `tokenizers` itself (so is a text with a piece longer than `max_bpe_chars`). The
   test suite checks the split against `tokenizers`' on every trusted code point.
4. BPE per piece, as `tokenizers`' BPE model does it (lowest merge rank first, leftmost on
   ties; characters outside the vocabulary as `<0xXX>` bytes, else `<unk>`).

`unsupported_reason` says when a tokenizer's pipeline is not this one; `fast_encoder` then
returns None and the caller uses `tokenizers`.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata

import numpy as np
import regex
from tokenizers import Tokenizer

from tokenizer import fast_encode_kernels as K
from tokenizer.bpe import PRETOKENIZE_PATTERN, byte_tokens

NORMALIZER = {"type": "NFC"}
PRE_TOKENIZER = {"type": "Split", "pattern": {"Regex": PRETOKENIZE_PATTERN}, "behavior": "Isolated",
                 "invert": False}
_PLAIN_MODEL = {"type": "BPE", "dropout": None, "continuing_subword_prefix": None,
                "end_of_word_suffix": None, "fuse_unk": False, "ignore_merges": False}
_PLAIN_ADDED = {"single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
_PY_CLASS = {"L": K.LETTER, "M": K.MARK, "N": K.NUMBER}


class UnsupportedTokenizer(ValueError):
    """A tokenizer whose pipeline `FastEncoder` does not reproduce (the message says what)."""


def tokenizer_config(tok: Tokenizer) -> dict:
    """The tokenizer's own JSON description (pipeline, vocabulary, merges)."""
    return json.loads(tok.to_str())


def unsupported_reason(tok, cfg: dict | None = None) -> str | None:
    """Why `FastEncoder` cannot reproduce `tok.encode` (None when it can); `cfg` is
    `tokenizer_config(tok)` when the caller has it already."""
    if not isinstance(tok, Tokenizer):
        return f"{type(tok).__name__} is not a tokenizers.Tokenizer"
    cfg = cfg or tokenizer_config(tok)
    if cfg.get("normalizer") != NORMALIZER:
        return f"normalizer {cfg.get('normalizer')} is not {NORMALIZER}"
    if cfg.get("pre_tokenizer") != PRE_TOKENIZER:
        return f"pre-tokenizer {cfg.get('pre_tokenizer')} is not {PRE_TOKENIZER}"
    for key in ("post_processor", "truncation", "padding"):
        if cfg.get(key) is not None:
            return f"{key} is set"
    model = cfg["model"]
    if any(model.get(k) != v for k, v in _PLAIN_MODEL.items()):
        return f"model {({k: model.get(k) for k in _PLAIN_MODEL})} is not {_PLAIN_MODEL}"
    vocab = model["vocab"]
    if model["byte_fallback"] and not all(b in vocab for b in byte_tokens()):
        return "byte fallback without all 256 byte tokens"
    if not model["byte_fallback"] and model.get("unk_token") not in vocab:
        return "neither byte fallback nor an <unk> token in the vocabulary"
    for added in cfg.get("added_tokens", []):
        if any(added.get(k) != v for k, v in _PLAIN_ADDED.items()):
            return f"added token {added.get('content')!r} is not a plain special token"
    return None


@functools.cache
def char_table() -> np.ndarray:
    """Per code point: its class for the split (low 3 bits) and the `UNTRUSTED` and
    `NOT_NFC_INERT` flags (see the module docstring). Built once per process (~0.3 s)."""
    cps = np.r_[0:0xD800, 0xE000:0x110000].astype(np.uint32)  # every code point a str can hold
    text = cps.tobytes().decode("utf-32-le")

    def matching(char_class: str) -> np.ndarray:
        """Mask over `cps` of the code points in a `regex` character class (found as runs)."""
        mask = np.zeros(cps.size, np.bool_)
        for m in regex.finditer(f"{char_class}+", text):
            mask[m.start() : m.end()] = True
        return mask

    classes = np.full(cps.size, K.OTHER, np.uint8)
    for cls, char_class in ((K.LETTER, r"\p{L}"), (K.MARK, r"\p{M}"), (K.NUMBER, r"\p{N}"),
                            (K.WHITESPACE, r"\s")):
        classes[matching(char_class)] = cls
    # Python's Unicode (older): unassigned there means "other" for the split, as in any engine
    # that does not know the character yet.
    py_classes = np.array([_PY_CLASS.get(unicodedata.category(ch)[0], K.OTHER) for ch in text], np.uint8)
    lmn = np.where(classes == K.WHITESPACE, K.OTHER, classes)
    untrusted = (py_classes != lmn) | matching(r"\p{Cn}")  # and what not even `regex` assigns
    not_inert = matching(r"[^\p{NFC_Quick_Check=Yes}]") | matching(r"[^\p{Canonical_Combining_Class=0}]")
    table = np.full(0x110000, K.OTHER | K.UNTRUSTED, np.uint8)  # surrogates: never in valid text
    table[cps] = classes | np.where(untrusted, K.UNTRUSTED, 0) | np.where(not_inert, K.NOT_NFC_INERT, 0)
    table[0x20] = K.SPACE
    return table


def bpe_tables(model: dict) -> tuple:
    """The BPE model (`tokenizer_config(tok)["model"]`) as arrays: the id of each one-character
    token by code point, the ids of the 256 byte tokens (all -1 without byte fallback), the
    `<unk>` id, and the merges as an open-addressing table (left id << 32 | right id) → (rank,
    merged id)."""
    vocab: dict[str, int] = model["vocab"]
    char_ids = np.full(0x110000, -1, np.int32)
    for token, i in vocab.items():
        if len(token) == 1:
            char_ids[ord(token)] = i
    byte_ids = np.array([vocab[t] if model["byte_fallback"] else -1 for t in byte_tokens()], np.int32)
    merges: dict[int, tuple[int, int]] = {}
    for rank, m in enumerate(model["merges"]):
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        merges[(vocab[a] << 32) | vocab[b]] = (rank, vocab[a + b])  # a later duplicate wins, as there
    cap = 1 << max(4, (4 * len(merges) - 1).bit_length())
    keys, ranks, new = np.zeros(cap, np.uint64), np.full(cap, -1, np.int32), np.zeros(cap, np.int32)
    for key, (rank, merged) in merges.items():
        s = ((key * 0xFF51AFD7ED558CCD) % (1 << 64) >> 20) & (cap - 1)  # as _pair_rank probes
        while ranks[s] >= 0:
            s = (s + 1) & (cap - 1)
        keys[s], ranks[s], new[s] = key, rank, merged
    unk_id = vocab.get(model.get("unk_token") or "", -1)
    return char_ids, byte_ids, unk_id, keys, ranks, new


def pieces(text: str) -> list[str]:
    """The pre-tokenizer's pieces of `text` as the kernels cut them (for tests and debugging;
    `tok.pre_tokenizer.pre_tokenize_str` is the reference)."""
    cps = _code_points(text)
    cuts = K.piece_starts(cps, char_table()).tolist() + [len(text)]
    return [text[a:b] for a, b in zip(cuts, cuts[1:])]


def _bounds(texts: list[str]) -> np.ndarray:
    bounds = np.zeros(len(texts) + 1, np.int64)
    np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)), out=bounds[1:])
    return bounds


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), np.uint32)


def _split_flat(ids: np.ndarray, counts: np.ndarray) -> list[np.ndarray]:
    return np.split(ids, np.cumsum(counts)[:-1]) if len(counts) else []


class FastEncoder:
    """`encode(texts)`: the ids of `tok.encode(t, add_special_tokens=False)` for every text.

    The cache holds at most `cache_slots // 2` pieces of up to `max_piece_chars` code points,
    with `pool_size` code points and ids in all (16 bytes per slot plus 4 per pool entry: 48 MB
    at the defaults, touched as it fills). Pieces longer than `max_bpe_chars` (rare: BPE here is
    quadratic in the piece) send their text to `tokenizers`. The kernel holds the GIL, so
    threads sharing an encoder take turns rather than race on the cache.
    """

    def __init__(self, tok: Tokenizer, *, cache_slots: int = 1 << 20, pool_size: int = 1 << 23,
                 max_piece_chars: int = 48, max_bpe_chars: int = 1000):
        if cache_slots & (cache_slots - 1) or not 0 <= max_piece_chars <= min(max_bpe_chars, K.MAX_PIECE_CHARS):
            raise ValueError(f"cache_slots={cache_slots} must be a power of two and max_piece_chars="
                             f"{max_piece_chars} at most max_bpe_chars={max_bpe_chars} and {K.MAX_PIECE_CHARS}")
        cfg = tokenizer_config(tok) if isinstance(tok, Tokenizer) else None
        if reason := unsupported_reason(tok, cfg):
            raise UnsupportedTokenizer(f"FastEncoder cannot reproduce this tokenizer: {reason}")
        self.tok = tok
        self.table = char_table()
        self.bpe = bpe_tables(cfg["model"])
        self.limits = (cache_slots // 2, max_piece_chars, max_bpe_chars)  # a table at most half full
        self.slots = np.zeros((cache_slots, 2), np.uint64)
        self.pool = np.empty(pool_size, np.uint32)
        self.state = np.zeros(2, np.int64)  # cached pieces, pool used
        self.special_ids = {t.content: i for i, t in tok.get_added_tokens_decoder().items()}
        longest_first = sorted(self.special_ids, key=lambda s: (-len(s), s))
        self.special_re = re.compile("(" + "|".join(map(re.escape, longest_first)) + ")") if longest_first else None

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """All texts' ids concatenated (int32), and the number of ids of each text (int64)."""
        if self.special_re is not None and not self.tok.encode_special_tokens:
            return self._encode_with_specials(texts)
        return self._encode_plain(texts)

    def reset(self) -> None:
        """Empty the cache."""
        self.slots[:, 0] = 0
        self.state.fill(0)

    def _encode_with_specials(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Step 1: special-token text out first; the text between is encoded on its own."""
        units: list[str] = []
        plans: list[list[int]] = []  # per text: unit index >= 0, or -(special id) - 1
        for text in texts:
            plan = []
            for k, part in enumerate(self.special_re.split(text)):
                if k % 2:
                    plan.append(-self.special_ids[part] - 1)
                elif part:
                    plan.append(len(units))
                    units.append(part)
            plans.append(plan)
        unit_ids = _split_flat(*self._encode_plain(units))
        parts = [unit_ids[u] if u >= 0 else np.array([-u - 1], np.int32) for plan in plans for u in plan]
        counts = np.array([sum(unit_ids[u].size if u >= 0 else 1 for u in plan) for plan in plans], np.int64)
        return (np.concatenate(parts) if parts else np.zeros(0, np.int32)), counts

    def _encode_plain(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Steps 2-4, for texts without special-token text to split out."""
        try:
            cps = _code_points("".join(texts))
        except UnicodeEncodeError:  # a lone surrogate: tokenizers says what is wrong with it
            return self._by_tokenizers(texts)
        bounds = _bounds(texts)
        flags = K.doc_flags(cps, bounds, self.table)
        untrusted = (flags & K.UNTRUSTED) != 0
        to_normalize = ((flags & K.NOT_NFC_INERT) != 0) & ~untrusted
        if to_normalize.any():
            normalize = self.tok.normalizer.normalize_str
            texts = [normalize(t) if n else t for t, n in zip(texts, to_normalize.tolist())]
            cps, bounds = _code_points("".join(texts)), _bounds(texts)
            untrusted = (K.doc_flags(cps, bounds, self.table) & K.UNTRUSTED) != 0  # of the NFC text
        if self.state[0] >= self.limits[0] or self.state[1] > 0.9 * self.pool.size:
            self.reset()  # full: start again (pieces that matter come back at once)
        counts = np.zeros(len(texts), np.int64)
        too_long = np.zeros(len(texts), np.bool_)
        ids = K.encode_texts(cps, bounds, untrusted, self.table, self.slots, self.pool, self.state,
                             self.limits, self.bpe, counts, too_long)
        if untrusted.any() or too_long.any():
            ids, counts = self._splice(texts, ids, counts, np.flatnonzero(untrusted | too_long))
        return ids, counts

    def _by_tokenizers(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        encoded = [e.ids for e in self.tok.encode_batch_fast(texts, add_special_tokens=False)]
        counts = np.fromiter(map(len, encoded), np.int64, len(encoded))
        return np.fromiter((i for ids in encoded for i in ids), np.int32, int(counts.sum())), counts

    def _splice(self, texts: list[str], ids: np.ndarray, counts: np.ndarray,
                idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`tokenizers`' own ids for the texts at `idx` (which got none here), put in place."""
        theirs, their_counts = self._by_tokenizers([texts[i] for i in idx.tolist()])
        parts = _split_flat(ids, counts)
        for k, part in zip(idx.tolist(), _split_flat(theirs, their_counts)):
            parts[k] = part
        counts[idx] = their_counts
        return np.concatenate(parts).astype(np.int32, copy=False), counts


_ENCODERS: dict[int, tuple[Tokenizer, FastEncoder | None]] = {}


def fast_encoder(tok) -> FastEncoder | None:
    """The `FastEncoder` of `tok`, built once per tokenizer object in this process, or None
    when `tok` is not a pipeline it reproduces (`unsupported_reason`)."""
    hit = _ENCODERS.get(id(tok))
    if hit is None or hit[0] is not tok:
        if len(_ENCODERS) >= 4:
            _ENCODERS.clear()
        try:
            encoder = FastEncoder(tok)
        except UnsupportedTokenizer:
            encoder = None
        hit = _ENCODERS[id(tok)] = (tok, encoder)
    return hit[1]
