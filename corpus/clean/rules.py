"""Rule-based cleaning of Polish text: a pipeline of small named rules, each counted.

`clean_text` runs the rules of `CLEAN_RULES` in order. Each rule is a function `(text, cfg) ->
(text, hits)`; the pipeline records, per rule, how many times it fired (`hits`: sequences
repaired, tags removed, lines dropped, addresses masked...) and how many characters it removed
(negative when a mask is longer than what it hides). The clean stage sums these per part and
per source into its manifest.

Order matters: mojibake is repaired on the text as fetched (its gate looks for characters
outside plain Polish); HTML entities are decoded before control characters and normalisation
see them; boilerplate lines go in two passes, the phrase rules first (`boilerplate`), then lines
that recur at the edges of many documents (`repeated_lines`, which needs the clean stage's
counts: `CleanState.frequent`; without them it does nothing), then the lines a site inserts
inside its pages' texts, in documents whose chrome that removed (`site_lines`:
`CleanState.site_pairs`); symbol lines go before masking (a masked address must not keep a
cookie banner alive); whitespace is last, so it collapses the blank lines removals leave.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from corpus.clean.boilerplate import remove_boilerplate_gaps
from corpus.clean.config import CleanConfig
from corpus.clean.mojibake import fix_mojibake
from corpus.clean.pii import mask_emails, mask_phones
from corpus.clean.repeated import FrequentLines, RepeatedRemoved, remove_repeated_lines
from corpus.clean.sitelines import remove_site_lines

# --------------------------------------------------------------------------- rules

_REPLACEMENT = "\ufffd"

_SCRIPT_RE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_BLOCK_TAGS = (
    "br|p|div|li|ul|ol|dl|dt|dd|tr|td|th|table|tbody|thead|tfoot|caption|h[1-6]|hr|blockquote|"
    "section|article|header|footer|nav|aside|main|pre|figure|figcaption|form|fieldset"
)
_INLINE_TAGS = (
    "a|abbr|b|big|center|cite|code|em|font|i|img|input|label|small|span|strong|sub|sup|u|s|"
    "strike|tt|ins|del|mark|q|iframe|button|select|option|textarea|noscript|meta|link|html|"
    "head|body|title|picture|source|svg|path|time|wbr"
)
# A tag is only a tag when its name is an HTML element's: "a < b > c" is not markup.
_BLOCK_TAG_RE = re.compile(rf"</?(?:{_BLOCK_TAGS})\b[^<>]{{0,1000}}>", re.IGNORECASE)
_INLINE_TAG_RE = re.compile(rf"</?(?:{_INLINE_TAGS})\b[^<>]{{0,1000}}>", re.IGNORECASE)
_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")

_LINE_BREAK_RE = re.compile("\r\n?|[\u2028\u2029\x0b\x0c\x85]")
# C0 and C1 controls but tab and newline, DEL, zero-width and bidi marks, soft hyphen, BOM.
_INVISIBLE_RE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff]"
)
_CONTROL_ANY_RE = re.compile("[\r\u2028\u2029\x0b\x0c\x85" + _INVISIBLE_RE.pattern[1:])

_ALNUM_RE = re.compile(r"[^\W_]")

_ODD_SPACE = "\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_ODD_SPACE_RE = re.compile(f"[{_ODD_SPACE}]")
# A run of two or more spaces of any kind, or one unusual space. It starts with a class so that
# the engine skips ahead in C; "a \tb" is one run (a space, then a tab) and becomes "a b".
_SPACE_RUN_RE = re.compile(f"[ {_ODD_SPACE}](?:[ {_ODD_SPACE}]+|(?<=[{_ODD_SPACE}]))")
_PLAIN_SPACE_RUN_RE = re.compile("  +")
_BLANK_RUN_RE = re.compile(r"\n{3,}")


def rule_mojibake(text: str, cfg: CleanConfig) -> tuple[str, int]:
    return fix_mojibake(text)


def rule_replacement_chars(text: str, cfg: CleanConfig) -> tuple[str, int]:
    n = text.count(_REPLACEMENT)
    return (text.replace(_REPLACEMENT, ""), n) if n else (text, 0)


def rule_html(text: str, cfg: CleanConfig) -> tuple[str, int]:
    hits = 0
    if "<" in text:
        text, a = _SCRIPT_RE.subn("\n", text)
        text, b = _COMMENT_RE.subn("", text)
        text, c = _BLOCK_TAG_RE.subn("\n", text)
        text, d = _INLINE_TAG_RE.subn("", text)
        hits += a + b + c + d
    if "&" in text:
        decoded = 0

        def unescape(m: re.Match) -> str:
            nonlocal decoded
            out = html.unescape(m.group())
            decoded += out != m.group()
            return out

        text = _ENTITY_RE.sub(unescape, text)
        hits += decoded
    return text, hits


def rule_control_chars(text: str, cfg: CleanConfig) -> tuple[str, int]:
    if not _CONTROL_ANY_RE.search(text):
        return text, 0
    text, breaks = _LINE_BREAK_RE.subn("\n", text)
    text, invisible = _INVISIBLE_RE.subn("", text)
    return text, breaks + invisible


def rule_nfc(text: str, cfg: CleanConfig) -> tuple[str, int]:
    if unicodedata.is_normalized("NFC", text):
        return text, 0
    return unicodedata.normalize("NFC", text), 1


@dataclass
class CleanState:
    """What the rules of one document share beyond its text: the clean stage's frequent-line
    table, and where the phrase rules removed lines (for the repeated-line rule's edge runs)."""

    frequent: FrequentLines | None = None
    gaps: list[int] | None = None
    repeated: RepeatedRemoved | None = None
    """When set, the lines the repeated-line rule removed are noted here (for the report)."""
    site_pairs: np.ndarray | None = None
    """The clean stage's site pairs (`sitelines.py`); None: the site-line rule does nothing."""
    chrome: set[int] = field(default_factory=set)
    """The keys of the lines the repeated-line rule removed (the document's chrome)."""


def rule_boilerplate(text: str, cfg: CleanConfig, state: CleanState | None = None) -> tuple[str, int]:
    text, hits, gaps = remove_boilerplate_gaps(text)
    if state is not None:
        state.gaps = gaps
    return text, hits


def rule_repeated_lines(text: str, cfg: CleanConfig, state: CleanState | None = None) -> tuple[str, int]:
    if state is None or state.frequent is None:
        return text, 0
    return remove_repeated_lines(text, state.frequent, cfg.repeated_lines, state.gaps, state.repeated,
                                 state.chrome)


def rule_site_lines(text: str, cfg: CleanConfig, state: CleanState | None = None) -> tuple[str, int]:
    if state is None or state.site_pairs is None:
        return text, 0
    return remove_site_lines(text, state.site_pairs, state.chrome, cfg.repeated_lines)


def rule_symbol_lines(text: str, cfg: CleanConfig) -> tuple[str, int]:
    lines = text.split("\n")
    kept = [line for line in lines if _ALNUM_RE.search(line) or not line.strip()]
    removed = len(lines) - len(kept)
    return ("\n".join(kept), removed) if removed else (text, 0)


def rule_emails(text: str, cfg: CleanConfig) -> tuple[str, int]:
    return mask_emails(text, cfg.email_mask)


def rule_phones(text: str, cfg: CleanConfig) -> tuple[str, int]:
    return mask_phones(text, cfg.phone_mask)


def rule_whitespace(text: str, cfg: CleanConfig) -> tuple[str, int]:
    # Each step only when a substring test (C speed) says it has work: most texts need none.
    new = text
    if _ODD_SPACE_RE.search(new):
        new = _SPACE_RUN_RE.sub(" ", new)
    elif "  " in new:  # only plain spaces: a pattern with a literal prefix, ~3x faster
        new = _PLAIN_SPACE_RUN_RE.sub(" ", new)
    # No run of spaces is left, so a space at a line's end or start is a single one: a plain
    # replace (a regex starting with " " stopped at every word).
    if " \n" in new:
        new = new.replace(" \n", "\n")
    if "\n " in new:
        new = new.replace("\n ", "\n")
    if "\n\n\n" in new:
        new = _BLANK_RUN_RE.sub("\n\n", new)
    new = new.strip()
    return (new, 1) if new != text else (text, 0)


@dataclass(frozen=True)
class CleanRule:
    name: str
    switch: str  # the CleanConfig field that turns it on
    apply: Callable[..., tuple[str, int]]  # (text, cfg) -> (text, hits); with `state`: (text, cfg, state)
    state: bool = False  # reads or writes the document's `CleanState`


CLEAN_RULES: tuple[CleanRule, ...] = (
    CleanRule("mojibake", "fix_mojibake", rule_mojibake),
    CleanRule("replacement_chars", "remove_replacement_chars", rule_replacement_chars),
    CleanRule("html", "strip_html", rule_html),
    CleanRule("control_chars", "remove_control_chars", rule_control_chars),
    CleanRule("nfc", "nfc", rule_nfc),
    CleanRule("boilerplate", "remove_boilerplate", rule_boilerplate, state=True),
    CleanRule("repeated_lines", "remove_repeated_lines", rule_repeated_lines, state=True),
    CleanRule("site_lines", "remove_site_lines", rule_site_lines, state=True),
    CleanRule("symbol_lines", "remove_symbol_lines", rule_symbol_lines),
    CleanRule("emails", "mask_emails", rule_emails),
    CleanRule("phones", "mask_phones", rule_phones),
    CleanRule("whitespace", "normalize_whitespace", rule_whitespace),
)
CLEAN_RULE_NAMES: tuple[str, ...] = tuple(r.name for r in CLEAN_RULES)


@dataclass
class CleanResult:
    """The cleaned text and, per rule that fired, its hits and the characters it removed."""

    text: str
    hits: dict[str, int] = field(default_factory=dict)
    chars_removed: dict[str, int] = field(default_factory=dict)


def apply_rule(rule: CleanRule, text: str, cfg: CleanConfig, state: CleanState) -> tuple[str, int]:
    """One rule on one text (the state passed to the rules that use it)."""
    return rule.apply(text, cfg, state) if rule.state else rule.apply(text, cfg)


def clean_text(text: str, cfg: CleanConfig, frequent: FrequentLines | None = None,
               repeated: RepeatedRemoved | None = None, site_pairs: np.ndarray | None = None) -> CleanResult:
    """Run every enabled rule of `CLEAN_RULES` in order; see the module docstring.

    `frequent` is the clean stage's table of lines frequent across documents (without it the
    repeated-line rule does nothing); `repeated`, when given, collects the lines it removed;
    `site_pairs` is the stage's table of site lines (without it the site-line rule does nothing).
    """
    result = CleanResult(text)
    state = CleanState(frequent, None, repeated, site_pairs)
    for rule in CLEAN_RULES:
        if not getattr(cfg, rule.switch):
            continue
        before = len(text)
        text, hits = apply_rule(rule, text, cfg, state)
        if hits:
            result.hits[rule.name] = hits
            result.chars_removed[rule.name] = before - len(text)
    result.text = text
    return result


# Rules that change how a text is written, not what it says: whitespace, and masks that stand in
# for an address or a number.
FORM_RULES = frozenset({"whitespace", "emails", "phones"})


def content_removed(result: CleanResult) -> int:
    """Characters the rules that remove content took out (all but `FORM_RULES`): how much of
    the published document is gone, for judging whether its Speakleash label still applies."""
    return sum(n for rule, n in result.chars_removed.items() if rule not in FORM_RULES)
