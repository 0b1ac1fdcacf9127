"""Config of the clean stage: every rule has a switch (all on by default)."""

from __future__ import annotations

from pydantic import Field

from kuznia.config import Section


class RepeatedLinesConfig(Section):
    """Repeated-line boilerplate (corpus/clean/repeated.py): what counts as repeated, where it
    is removed, and how the counting is split."""

    NOT_FINGERPRINTED = frozenset({"range_chars"})  # how the counts are split, not what they are

    min_docs_in_source: int = Field(4, ge=2)
    """A line (its key: letters, lower-cased) is repeated when it occurs in at least this many
    documents of one source..."""
    min_docs_total: int = Field(6, ge=2)
    """...or in at least this many documents of all sources together."""
    edge_lines: int = Field(32, ge=1, le=10_000)
    """Lines with letters counted and looked at from each end of a document: page chrome sits
    around the content; what repeats in its middle (headings, options, refrains) is its own."""
    min_run_lines: int = Field(2, ge=1)
    """An edge run of repeated lines (lines the phrase rules removed included) this long goes
    whole, but for protected lines."""
    min_single_tokens: int = Field(6, ge=1)
    """A shorter run goes only where a line has at least this many whitespace tokens (a lone
    consent banner or footer); a lone short line at the top is most often the first heading."""
    min_single_tokens_bottom: int = Field(2, ge=1)
    """The same at the bottom, where a lone short line is no heading (nothing follows it) but
    chrome ("Komentarze (12)", "Do góry") or a closing line."""
    bridge_max_tokens: int = Field(12, ge=0)
    """A line that is not repeated but has items between separators (" / ", " :: "...) and at most
    this many tokens, between repeated lines of a run of `min_run_lines` or more, belongs to the
    run (a per-page breadcrumb inside the chrome); 0 turns bridging off."""
    heading_max_tokens: int = Field(4, ge=0)
    """The innermost line of a top run, directly above the document's own text, is kept as its
    heading when it has at most this many tokens ("NAZWA", "Rozdział pierwszy")..."""
    heading_level_gap: int = Field(2, ge=0)
    """...and occurs in at least 2**gap times as many documents as the run's other lines: a
    heading is common to a genre, a site's chrome to one site."""
    site_max_tokens: int = Field(12, ge=1)
    """Site lines (corpus/clean/sitelines.py): a line of at most this many tokens, mostly
    letters, may be one a site inserts between paragraphs ("Reklama")..."""
    site_label_max_tokens: int = Field(6, ge=1)
    """...as may a label line, keyed by its head before ": " when the head has at most this many
    tokens ("Czytaj także: <title>")..."""
    site_min_letter_share: float = Field(0.9, ge=0.0, le=1.0)
    """...where a short line needs this share of its non-space characters to be letters (code
    lines, numbers and tables are the text's own)."""
    site_min_docs: int = Field(3, ge=2)
    """Such a line is a site's when it occurs in at least this many documents with one chrome
    key (a line the repeated-line rule removed at their top: a site's menu, header)..."""
    site_min_share: float = Field(0.67, gt=0.0, le=1.0)
    """...and at least this share of all the documents it occurs in carry that chrome key: a
    genre's headings occur in its texts wherever they were published, a site's insertions only
    in its pages."""
    site_chrome_keys: int = Field(8, ge=1, le=64)
    """Chrome keys per document paired with its site keys (bounds the counts)."""
    range_chars: int = Field(1 << 30, ge=1 << 16)
    """Characters of documents per hash range of the merge: a merge task holds the counts of one
    range, so this bounds its memory (about 1 GB for the default)."""


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
    remove_repeated_lines: bool = True
    """Drop lines that recur at the edges of many documents (corpus/clean/repeated.py): page
    chrome in phrasings no list has. Needs the stage's counts; `clean_text` alone skips it."""
    remove_site_lines: bool = True
    """Drop lines that a site inserts inside its pages' texts (corpus/clean/sitelines.py): a
    short line or a label line found (almost) only in pages with one chrome line, in a document
    whose chrome the repeated-line rule removed. Needs `remove_repeated_lines`."""
    repeated_lines: RepeatedLinesConfig = Field(default_factory=RepeatedLinesConfig)
    """When a line counts as repeated, and where it is removed."""
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
