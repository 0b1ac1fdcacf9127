"""Config of the clean stage: every rule has a switch (all on by default)."""

from __future__ import annotations

from pydantic import Field

from kuznia.config import Section


class CleanConfig(Section):
    """Cleaning rules and their switches (every rule is on by default)."""

    NOT_FINGERPRINTED = frozenset({"examples_per_rule"})  # the report's examples, not the text

    fix_mojibake: bool = True
    """Repair mojibake: ftfy plus our Polish code-page repair (corpus/mojibake.py)."""
    remove_replacement_chars: bool = True
    """Drop U+FFFD left where the source's bytes could not be decoded (counted)."""
    strip_html: bool = True
    """Remove HTML tags, comments, scripts and styles; decode entities (&amp;, &#261;)."""
    remove_control_chars: bool = True
    """Remove control, zero-width and bidi characters and the soft hyphen; unify line breaks."""
    nfc: bool = True
    """Unicode NFC: a decomposed "o" + U+0301 becomes "ó"."""
    remove_boilerplate: bool = True
    """Drop boilerplate lines of Polish sites (corpus/boilerplate.py)."""
    remove_symbol_lines: bool = True
    """Drop lines with no letter or digit ("-----", "* * *", "|")."""
    mask_emails: bool = True
    """Replace e-mail addresses with `email_mask`."""
    email_mask: str = "email@example.com"
    """What an e-mail address becomes (an address-shaped mask keeps sentences natural)."""
    mask_phones: bool = True
    """Replace Polish phone numbers with `phone_mask` (corpus/pii.py says which)."""
    phone_mask: str = "000 000 000"
    """What a phone number becomes."""
    examples_per_rule: int = Field(3, ge=0, le=50)
    """Documents per rule whose change (before / after) the manifest and the report show."""
    normalize_whitespace: bool = True
    """Unusual spaces to " ", runs of spaces to one, no spaces at line ends, at most one blank
    line in a row, none at the start or end."""
