"""Repair of mojibake in Polish text: ftfy, plus our own repair of what ftfy leaves.

Polish text goes wrong in two ways. UTF-8 bytes read as a single-byte code page turn each
letter into two characters ("będzie" -> "bÄ™dzie" through cp1250 or cp1252, "Ã³" for "ó"), and
text written in cp1250 / iso-8859-2 but read as cp1252 / latin-1 swaps letters one for one
("będzie" -> "bêdzie", "łąka" -> "³¹ka"). ftfy fixes the first kind when a whole segment is
garbled, but leaves a lone garbled word in clean text ("PrzeglÄ…daj"), gives up on a segment
with one undecodable sequence, and never fixes the second kind. So, in order:

1. `repair_utf8_spans`: every run of characters that a code page (cp1250, cp1252, iso-8859-2,
   latin-1; the one that converts most runs of this document first) maps back to bytes is
   re-read as UTF-8, one valid sequence at a time, and a sequence is kept only if it decodes to
   a plausible character (Latin letters, typographic punctuation). A second byte lost to the
   decoder ("Ä\ufffd", or a lone "Ä" when it was dropped) is restored when only one Polish
   letter fits (Ę, Ł).
2. ftfy, with HTML unescaping, quote uncurling and normalisation off (other rules own those),
   on the lines that need it (`ftfy_gate.py`).
3. `repair_codepage_swap`: a document with no Polish letter but with letters such as "³", "¹",
   "¿", "œ" inside words is re-read through the code page that gives it Polish letters.

Everything here runs only on documents that hold a character outside `polish.PLAIN_CHARS`:
plain Polish text has nothing to repair, and ftfy is the slowest step of cleaning.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from itertools import chain

from corpus.clean.ftfy_gate import ftfy_where_needed, needs_ftfy
from corpus.polish import PLAIN_CHARS

# Code pages whose misreading of UTF-8 we undo, in the order that wins a tie.
CODECS = ("cp1250", "cp1252", "iso-8859-2", "latin-1")

# A decoded character is accepted only if it is one a Polish text plausibly holds. Two-byte
# sequences: Latin-1 and Latin Extended-A letters and signs; a Cyrillic or IPA result means the
# "sequence" was two genuine letters ("ÓŁ" in cp1250 reads as valid UTF-8 for "ӣ"). Three-byte
# sequences: punctuation and symbols (U+2000..U+2BFF: quotes, dashes, arrows, brackets) and the
# Latin ligatures; genuine text almost never spells one (it takes a letter such as "â" or "ę"
# followed by two punctuation marks), while CJK or Yi results are rejected outright.
# C1 controls, "ƒ" and the spacing accents of cp1250/cp1252 (ˆ ˇ ˘ ˙ ˛ ˜ ˝) are what an inner layer
# of double mojibake decodes to first; they are accepted only as such (`_INTERMEDIATE_RE`).
_PLAUSIBLE_2_RE = re.compile("[\u0080-\u017f\u0192\u02c6-\u02dd]")
_INTERMEDIATE_RE = re.compile("[\u0080-\u009f\u0192\u02c6-\u02dd]")
_PLAUSIBLE_3_RE = re.compile("[\u2000-\u2bff\ufb00-\ufb06]")

# A last byte the decoder could not map (undefined in the code page, so replaced by U+FFFD or
# dropped) after the rest of a sequence, where one plausible character fits: cp1250 leaves
# 0x81 0x83 0x88 0x90 0x98 undefined, cp1252 0x81 0x8D 0x8F 0x90 0x9D. "Ĺ" could also be Ń
# (C5 83), a letter ten times rarer than Ł (C5 81) and never at the start of a word, so Ł is
# the guess; cp1252's "â€" + lost 0x9D is the closing quote ” (E2 80 9D).
_LOST_LAST_BYTE = {
    "cp1250": {"Ä": "Ę", "Ĺ": "Ł"},
    "cp1252": {"Å": "Ł", "â€": "”"},
}

# The Polish letters that a code-page confusion changes (ó/Ó are the same byte everywhere).
SWAPPED_LETTERS = "ąćęłńśźżĄĆĘŁŃŚŹŻ"

# Frequent Polish words with letters a code-page swap changes: a re-read text that has them is
# Polish.
_COMMON_WORDS = frozenset(["się", "że", "są", "już", "być", "może", "także", "też", "będzie", "jeśli", "więc", "gdzie", "ją", "można"])
_WORD_RE = re.compile(r"\w+")

# Code-page swaps: (read as, written as) and the letters that betray each inside a word.
_SWAPS = (("cp1252", "cp1250", "¹³¿œŸ¥£Œ¯\x8f"), ("latin-1", "iso-8859-2", "±¶¼³¿¡¦¬"))


@cache
def _high_chars(codec: str) -> dict[str, int]:
    """Character -> byte for the bytes 0x80..0xFF, read "sloppily": a byte the code page leaves
    undefined reads as the C1 control of the same number, as Windows' own conversion (and
    ftfy's sloppy-windows codecs) do: "Ł" (C5 81) through cp1250 is "Ĺ" + U+0081."""
    out = {}
    for b in range(0x80, 0x100):
        try:
            out[bytes([b]).decode(codec)] = b
        except UnicodeDecodeError:
            out[chr(b)] = b
    return out


@cache
def _run_re(codec: str) -> re.Pattern:
    """Runs that could be UTF-8 read through `codec`: a lead character (a byte 0xC2..0xEF),
    then characters of continuation, lead bytes or U+FFFD. Starting with a character class
    lets the regex engine skip ahead in C; plain Polish text has few such runs ("część" has
    one: "ęś", which `_convert_run` then leaves alone)."""
    table = _high_chars(codec)

    def chars(lo: int, hi: int) -> str:
        return re.escape("".join(c for c, b in table.items() if lo <= b <= hi))

    leads = chars(0xC2, 0xEF)
    return re.compile(f"[{leads}][{leads}{chars(0x80, 0xBF)}\ufffd]+")


def _utf8_length(lead: int) -> int:
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    return 0


def _plausible(dec: str) -> bool:
    return bool(_PLAUSIBLE_2_RE.fullmatch(dec) if len(dec.encode("utf-8")) == 2 else _PLAUSIBLE_3_RE.fullmatch(dec))


def _convert_run(run: str, codec: str, before: str = "", after: str = "") -> tuple[str, int]:
    """Re-read one run through `codec` -> UTF-8, sequence by sequence; (new run, sequences).

    `before` and `after` are the characters around the run (context for a lost byte)."""
    table = _high_chars(codec)
    lost = _LOST_LAST_BYTE.get(codec, {})
    out: list[str] = []
    fixed = 0
    i, n = 0, len(run)
    while i < n:
        ch = run[i]
        size = _utf8_length(table.get(ch, 0))
        if size and i + size <= n:
            try:
                dec = bytes(table[c] for c in run[i : i + size]).decode("utf-8")
            except (KeyError, UnicodeDecodeError):
                dec = ""
            if dec and _plausible(dec):
                out.append(dec)
                fixed += 1
                i += size
                continue
        for head, letter in lost.items():
            if run.startswith(head + "\ufffd", i):
                context = before + "".join(out) + run[i:] + after
                out.append(_letter_in_context(letter, context, len(before) + len("".join(out)), len(head) + 1))
                fixed += 1
                i += len(head) + 1
                break
        else:
            out.append(ch)
            i += 1
    return "".join(out), fixed


_SWAPPED_RE = re.compile(f"[{SWAPPED_LETTERS}]")


def _polish_count(s: str) -> int:
    return len(_SWAPPED_RE.findall(s))


def _restore_dropped_bytes(text: str, codec: str) -> tuple[str, int]:
    """A lead whose last byte the decoder dropped, inside a word ("ZIÄBA", "â€ " for "” ")."""
    lost = _LOST_LAST_BYTE.get(codec)
    if not lost:
        return text, 0
    heads = "|".join(re.escape(h) for h in sorted(lost, key=len, reverse=True))
    letter_heads = "|".join(re.escape(h) for h in lost if len(h) == 1) or "(?!)"
    # Not before a character that could continue the sequence: that is a layer still to undo.
    cont = re.escape("".join(c for c, b in _high_chars(codec).items() if b <= 0xBF)) + "\\ufffd"
    pattern = re.compile(
        f"(?<=[^\\W\\d_])(?:{heads})(?![{cont}])|(?:{letter_heads})(?=[^\\W\\d_])(?![{cont}])"
    )
    return pattern.subn(lambda m: _letter_in_context(lost[m.group()], text, m.start(), len(m.group())), text)


def _letter_in_context(letter: str, text: str, start: int, length: int) -> str:
    """Ł, except where capital Ń is likelier: "WYRAŻEŃ", "DZIEŃ", "KOŃCA" (Ń is lost too)."""
    if letter != "Ł" or start == 0 or not text[start - 1].isupper():
        return letter
    after = text[start + length : start + length + 1]
    if after == "C" or (text[start - 1] == "E" and not (after.isalpha() and after.islower())):
        return "Ń"
    return letter


@lru_cache(maxsize=1)
def _suspicious_re() -> re.Pattern:
    """A character some code page of `CODECS` maps to a byte 0x80..0xFF that is not a plain
    Polish character, or U+FFFD: what every run that converts holds."""
    chars = {c for codec in CODECS for c in _high_chars(codec)} - set(PLAIN_CHARS)
    return re.compile("[" + re.escape("".join(sorted(chars))) + "\ufffd]")


def _suspicious_line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the lines (split on "\n") holding a suspicious character, adjacent
    lines merged."""
    spans: list[tuple[int, int]] = []
    pattern = _suspicious_re()
    m = pattern.search(text)
    while m is not None:
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.end())
        end = len(text) if end < 0 else end
        if spans and spans[-1][1] + 1 >= start:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
        m = pattern.search(text, end + 1) if end < len(text) else None
    return spans


def repair_utf8_spans(text: str, max_rounds: int = 3) -> tuple[str, int]:
    """Undo UTF-8 read as a single-byte code page, run by run; returns (text, sequences fixed).

    Each run of suspicious characters is re-read through every code page that can hold it, and
    the reading that yields most Polish letters wins (then most sequences, then the code page
    that yields most Polish letters over the whole document, then the order of `CODECS`): "Ĺź" is
    "ż" through iso-8859-2 but "ş" through cp1250. Rounds repeat for text garbled twice
    ("Ã„â€¦" -> "Ä…" -> "ą").
    """
    total = 0
    first_choice = None  # the code page that explained the outermost layer
    preference = list(CODECS)
    for _ in range(max_rounds):
        # Only lines with a suspicious character can hold a run that converts (a run of plain
        # characters never does: tests/corpus/test_mojibake.py checks every plain sequence),
        # and no run crosses a line break; so the code pages' scans visit those lines only.
        spans = _suspicious_line_spans(text)
        if not spans:
            break
        per_codec = {}
        for codec in CODECS:
            runs = {}
            for m in chain.from_iterable(_run_re(codec).finditer(text, s, e) for s, e in spans):
                start, end = m.span()
                new, fixed = _convert_run(m.group(), codec, text[start - 1 : start], text[end : end + 1])
                if fixed and _INTERMEDIATE_RE.search(new):
                    # An inner layer: keep the reading only if the layers below resolve too
                    # (a genuine "Ć’" would otherwise become "ƒ").
                    inner, inner_fixed = repair_utf8_spans(new, max_rounds - 1) if max_rounds > 1 else (new, 0)
                    new, fixed = (inner, fixed + inner_fixed) if not _INTERMEDIATE_RE.search(inner) else (new, 0)
                if fixed:
                    runs[m.span()] = (new, fixed)
            if runs:
                per_codec[codec] = runs
        if not per_codec:
            break
        # Document-level preference: most Polish letters produced, then most sequences.
        # One reading for the whole text: the code page that converts most sequences, then
        # the one that yields most Polish letters ("Ĺź" is "ż" through iso-8859-2 but "ş"
        # through cp1250). A run it cannot convert falls to the next code page in that order.
        order = sorted(
            per_codec,
            key=lambda c: (
                -sum(v[1] for v in per_codec[c].values()),
                -sum(_polish_count(v[0]) for v in per_codec[c].values()),
                preference.index(c),  # inner layers were garbled like the outer one
            ),
        )
        preference = order + [c for c in preference if c not in order]
        # Runs of different code pages can overlap (their character sets differ): at each
        # start take the reading of the earliest code page, and skip runs that overlap it.
        candidates = sorted(
            (start, rank, end, new, fixed)
            for rank, codec in enumerate(order)
            for (start, end), (new, fixed) in per_codec[codec].items()
        )
        pieces, pos, round_fixed = [], 0, 0
        for start, _, end, new, fixed in candidates:
            if start < pos:
                continue
            pieces.append(text[pos:start])
            pieces.append(new)
            pos = end
            round_fixed += fixed
        pieces.append(text[pos:])
        text = "".join(pieces)
        total += round_fixed
        if first_choice is None:
            first_choice = order[0]
    if first_choice is not None:  # the text had mojibake: look for bytes its decoder dropped
        text, restored = _restore_dropped_bytes(text, first_choice)
        total += restored
    return text, total


def repair_codepage_swap(text: str) -> tuple[str, int]:
    """Re-read a document written in cp1250 / iso-8859-2 but decoded as cp1252 / latin-1.

    Only a document with no Polish letter at all, with telltale letters inside words (letters
    on both sides: "mi³oœæ"), that reads as Polish once re-read (a frequent word such as "się",
    or three telltales of two kinds) qualifies, so French "être" or Spanish "¿Qué?" are left
    alone. Returns (text, letters fixed).
    """
    if _SWAPPED_RE.search(text):  # a C-speed scan (a generator over characters took ~25 ms/MB)
        return text, 0
    best = (0, text)
    for read_as, written_as, telltales in _SWAPS:
        inside = re.findall(f"(?<=[^\\W\\d_])[{re.escape(telltales)}](?=[^\\W\\d_])", text)
        if len(inside) < 2:
            continue
        table = {}
        for ch, b in _high_chars(read_as).items():
            try:
                table[ord(ch)] = bytes([b]).decode(written_as)
            except UnicodeDecodeError:
                continue
        new = text.translate(table)
        common = sum(1 for w in _WORD_RE.findall(new) if w.lower() in _COMMON_WORDS)
        # French "cœur, sœur" has one telltale letter and no Polish word once re-read.
        if not (common >= 1 or (len(inside) >= 3 and len(set(inside)) >= 2)):
            continue
        gained = _polish_count(new)
        if gained > best[0]:
            best = (gained, new)
    return best[1], best[0]


def fix_mojibake(text: str) -> tuple[str, int]:
    """Our span repair, ftfy, then the code-page swap repair; returns (text, repairs made).

    Text made only of plain Polish characters is returned as is without running anything.
    """
    if not needs_ftfy(text):
        return text, 0
    text, fixed = repair_utf8_spans(text)
    fixed_by_ftfy = ftfy_where_needed(text)
    if fixed_by_ftfy != text:
        fixed += 1
        text = fixed_by_ftfy
        # ftfy can reveal a second layer our spans now see whole.
        text, more = repair_utf8_spans(text)
        fixed += more
    text, swapped = repair_codepage_swap(text)
    return text, fixed + swapped
