"""ftfy where it can act, and nowhere else: the gate that keeps cleaning fast.

ftfy is the slowest step of cleaning (~80 us of fixed cost per call, ~0.35 us a character for its
badness pattern), and plain Polish text gives it nothing to do. `needs_ftfy` says whether a line
holds anything ftfy could change (a character outside `polish.PLAIN_CHARS`, or plain characters
that spell a UTF-8 sequence in a code page ftfy tries); `ftfy_where_needed` runs ftfy on those
lines only, and equals `ftfy.fix_text` on the whole text (tested as a property).
"""

from __future__ import annotations

import re
from functools import lru_cache

import ftfy
from ftfy.badness import BADNESS_RE

from corpus.clean.lines import matching_lines
from corpus.polish import PLAIN_CHARS

# The code pages ftfy tries (ftfy.chardata.CHARMAP_ENCODINGS, the sloppy ones by their base).
_FTFY_CODECS = ("latin-1", "cp1252", "cp1251", "cp1250", "cp1253", "cp1254", "cp1257", "iso-8859-2",
                "mac_roman", "cp437")

FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,  # the html rule owns entities, and counts them
    uncurl_quotes=False,  # keep Polish „quotes”
    normalization=None,  # the nfc rule owns normalisation, and counts it
    fix_line_breaks=False,  # the control_chars rule owns line breaks and control characters
    remove_control_chars=False,
    explain=False,  # ftfy builds an explanation per segment otherwise: slow
)


@lru_cache(maxsize=1)
def _ftfy_gate_re() -> re.Pattern:
    """A character outside the plain set, or plain characters that spell a UTF-8 sequence in a
    code page ftfy tries: "Ć°" is C6 B0 in cp1250, which ftfy reads as "ư". The second kind is
    rare in Polish ("ÓŁ" in capitals); such a line goes through ftfy like one with a character
    outside the plain set.

    One pattern that starts with one class (every character but the plain ones that cannot
    start a sequence), what it found checked behind it: the regex engine skips ahead in C, and
    a text is scanned once (a search per kind, and an alternation of classes, were ~3x slower).
    """
    leads = {2: set(), 3: set(), 4: set()}
    conts = set()
    for ch in PLAIN_CHARS:
        if ord(ch) < 0x80:
            continue
        for codec in _FTFY_CODECS:
            try:
                b = ch.encode(codec)[0]
            except UnicodeEncodeError:
                continue
            if 0x80 <= b <= 0xBF:
                conts.add(ch)
            elif 0xC2 <= b <= 0xF4:
                leads[2 if b <= 0xDF else 3 if b <= 0xEF else 4].add(ch)

    def cls(chars: set[str], negate: bool = False) -> str:
        return "[" + "^" * negate + re.escape("".join(sorted(chars))) + "]"

    c = cls(conts)
    start = cls(set(PLAIN_CHARS) - leads[2] - leads[3] - leads[4], negate=True)
    return re.compile(f"{start}(?:(?<={cls(set(PLAIN_CHARS), negate=True)})|(?<={cls(leads[2])}){c}"
                      f"|(?<={cls(leads[3])}){c}{{2}}|(?<={cls(leads[4])}){c}{{3}})")


def needs_ftfy(line: str) -> bool:
    """False only for a line ftfy provably returns unchanged (tested as a property)."""
    return _ftfy_gate_re().search(line) is not None


def ftfy_where_needed(text: str) -> str:
    """ftfy on the lines `needs_ftfy` picks, the others as they are.

    ftfy fixes a text line by line (each line is its own segment, and with `unescape_html` off
    nothing carries over between lines), so this equals `ftfy.fix_text(text)`.
    """
    # The gate's matches in the whole text find the lines to fix without testing every line
    # (the gate cannot match across a line break; a Cyrillic line has a hit at every character).
    picked = sorted(matching_lines(text, _ftfy_gate_re()))
    if not picked:
        return text
    lines = text.split("\n")
    for i, line in zip(picked, _ftfy_lines([lines[i] for i in picked])):
        lines[i] = line
    return "\n".join(lines)


# The fixers ftfy's `fix_and_explain` runs after `fix_encoding`, in its order (ftfy 6; a test
# reads them off ftfy's source, so an upgrade that changes them fails loudly). Each works
# character by character, or on a pattern that never spans a line break.
_FTFY_CHAR_FIXERS = ("fix_c1_controls", "fix_latin_ligatures", "fix_character_width", "uncurl_quotes",
                     "fix_line_breaks", "fix_surrogates", "remove_terminal_escapes", "remove_control_chars")


def _ftfy_lines(lines: list[str]) -> list[str]:
    """`ftfy.fix_text(line, FTFY_CONFIG)` for each line (no line holds "\n"), with ftfy's
    per-call work only where it can change something.

    ftfy leaves a line alone when `fix_encoding` does (it does unless ftfy's badness pattern
    matches: `is_bad`) and its character fixers do. So: the lines where the badness pattern
    matches go through ftfy one by one; for the others, the character fixers run once over
    them all, and only if that changes anything do they, too, go through ftfy one by one.
    (ftfy called per line costs ~80 us a line, mostly that fixed overhead.)
    """
    joined = "\n".join(lines)
    suspect = matching_lines(joined, _lines_badness_re())
    quiet = [i for i in range(len(lines)) if i not in suspect]
    if quiet:
        rest = "\n".join(lines[i] for i in quiet)
        fixed = rest
        for name in _FTFY_CHAR_FIXERS:
            if getattr(FTFY_CONFIG, name):
                fixed = ftfy.FIXERS[name](fixed)
        if fixed != rest:
            suspect.update(quiet)
    return [ftfy.fix_text(line, FTFY_CONFIG) if i in suspect else line for i, line in enumerate(lines)]


@lru_cache(maxsize=1)
def _lines_badness_re() -> re.Pattern:
    """ftfy's badness pattern for lines joined by "\n": its "^" (the start of the text it is
    given: one line) must match at the start of every line. It has no other anchor and no
    lookaround (a test checks), so that is the only change."""
    return re.compile(BADNESS_RE.pattern, BADNESS_RE.flags | re.MULTILINE)
