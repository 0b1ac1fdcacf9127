"""Masking of e-mail addresses and Polish phone numbers.

Phone numbers are masked only where the text says they are numbers: after "+48" or "0048",
after "tel.", "telefon", "kom.", "fax", "infolinia" and the like, or in shapes that are not how
Polish writes other numbers ("123-456-789", "(22) 123 45 67"). A bare "123 456 789" is left
alone: with Polish thousands separators it is as likely to be 123 million złoty.
"""

from __future__ import annotations

import re

# The domain part of an address, matched from just after its "@".
_DOMAIN_RE = re.compile(r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,24}(?![\w@])")
_LOCAL_CHARS = frozenset("._+-")
MAX_LOCAL_CHARS = 64

# Nine digits as Polish numbers are grouped: 123 456 789, 123-456-789, 12 345 67 89, 123456789.
_NINE = r"\d{3}[ -]?\d{3}[ -]?\d{3}|\d{2}[ -]?\d{3}[ -]?\d{2}[ -]?\d{2}"
# A landline with its area code in brackets: (22) 123 45 67, (0-22) 123-45-67.
_BRACKETED = r"\(\s*(?:0-?)?\d{2}\s*\)\s*\d{3}[ -]?\d{2}[ -]?\d{2}"
_PREFIX = r"(?:\+|00)\s?48[ -]?(?:\(\s?0?\s?\)\s?)?"
# Every candidate number; group 1 is set when its shape alone says "phone".
# (`mask_phones` checks what precedes a number itself.)
_NUMBER_RE = re.compile(
    rf"(?:({_PREFIX}(?:{_NINE})|{_BRACKETED}|\d{{3}}-\d{{3}}-\d{{3}})|{_NINE})(?![\w-])"
)
# What must come right before a plain nine-digit number for it to be a phone number.
_CONTEXT_RE = re.compile(
    r"\b(?:tel|tel\.\s*kom|kom|fax|faks|telefon|telefonu|telefonem|telefoniczny|numer|"
    r"infolinia|infolinii|komórka|komórkowy|zadzwoń|dzwoń|sms|whatsapp)\.?\s*(?:[:\-–]\s*)?"
    r"(?:nr\.?\s*)?\Z",
    re.IGNORECASE,
)
CONTEXT_CHARS = 40  # how far back the phone word may stand


def mask_emails(text: str, mask: str) -> tuple[str, int]:
    """Replace e-mail addresses with `mask`; returns (text, addresses masked).

    Matching starts at each "@" (rare) rather than at every word (a regex with the local part
    first backtracks through every word of the text).
    """
    at = text.find("@")
    if at < 0:
        return text, 0
    pieces, pos, count = [], 0, 0
    while at >= 0:
        start = at
        while start > pos and at - start < MAX_LOCAL_CHARS and (
            text[start - 1].isalnum() or text[start - 1] in _LOCAL_CHARS or text[start - 1] == "_"
        ):
            start -= 1
        domain = _DOMAIN_RE.match(text, at + 1)
        # The local part must not run on past its limit or start inside a longer one.
        ok = start < at and domain is not None and not (
            start > 0 and (text[start - 1].isalnum() or text[start - 1] in _LOCAL_CHARS)
        )
        if ok:
            pieces.append(text[pos:start])
            pieces.append(mask)
            pos = domain.end()
            count += 1
        at = text.find("@", max(at + 1, pos))
    pieces.append(text[pos:])
    return ("".join(pieces), count) if count else (text, 0)


# Stretches of digits, spaces, brackets, "+" and "-" long enough to hold a phone number: a
# cheap first pass (one character class), so the exact patterns only run where one could be.
_CANDIDATE_RE = re.compile(r"[+(0-9][-0-9 ()+]{6,}")


def mask_phones(text: str, mask: str) -> tuple[str, int]:
    """Replace Polish phone numbers with `mask`; returns (text, numbers masked)."""
    pieces, pos, count = [], 0, 0
    for cand in _CANDIDATE_RE.finditer(text):
        # endpos one past the stretch, so the number's look-ahead sees the next character.
        for m in _NUMBER_RE.finditer(text, cand.start(), min(len(text), cand.end() + 1)):
            before = text[m.start() - 1] if m.start() else ""
            if before and (before.isalnum() or before in "_+-"):
                continue  # the tail of a longer number or word
            if m.group(1) or _CONTEXT_RE.search(text, max(0, m.start() - CONTEXT_CHARS), m.start()):
                pieces.append(text[pos : m.start()])
                pieces.append(mask)
                pos = m.end()
                count += 1
    if not count:
        return text, 0
    pieces.append(text[pos:])
    return "".join(pieces), count
