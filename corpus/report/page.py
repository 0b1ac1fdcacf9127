"""The report page's building blocks: human names, and the CSS, JS, tables and images of
`kuznia.htmlpage` (shared with the training report) plus the corpus report's own styles.

Every counter and reject reason is shown under a name a reader understands (`label`); the key
stays in `report.json` and in a tooltip. Tables are styled to fit the page (1,400 px and up)
without a horizontal scroll bar: headers wrap, long text wraps, wide matrices are cut to their
most frequent columns by the sections that build them.
"""

from __future__ import annotations

from kuznia.htmlpage import CSS as BASE_CSS
from kuznia.htmlpage import (  # noqa: F401  (the report's sections import them from here)
    JS,
    Html,
    esc,
    fmt,
    img,
    missing_notes,
    table,
    warnings_html,
)

CSS = BASE_CSS + """table.members td:last-child{white-space:pre-wrap;text-align:left;font-family:ui-monospace,monospace;
 font-size:.78rem;max-width:36rem}
"""


# Human names of counters, cleaning rules and reject reasons (the key is the tooltip).
LABELS = {
    # dedup counters
    "docs": "documents", "empty_docs": "documents without a word", "chars": "characters",
    "exact_pairs": "exact-duplicate pairs", "exact_groups": "groups of exact duplicates",
    "candidate_pairs": "candidate pairs (share an LSH band)", "candidate_buckets": "LSH buckets of 2+ documents",
    "shingled_docs": "documents re-read for exact verification", "shingled_hashes": "shingles compared",
    "compared_pairs": "pairs compared on exact Jaccard", "rejected_pairs": "candidate pairs below the threshold",
    "unlinked_docs": "documents left unlinked after the rounds", "verified_pairs": "near-duplicate pairs found",
    "pairs": "linked pairs", "clusters": "duplicate clusters", "docs_in_clusters": "documents in clusters",
    "largest_cluster": "largest cluster (documents)", "exact_dup_docs": "exact copies dropped",
    "near_dup_docs": "near copies dropped",
    # cleaning rules
    "mojibake": "mojibake repaired", "replacement_chars": "U+FFFD removed", "html": "HTML tags and entities",
    "control_chars": "control and invisible characters", "nfc": "Unicode NFC", "boilerplate": "boilerplate lines",
    "symbol_lines": "lines of symbols only", "emails": "e-mail addresses masked", "phones": "phone numbers masked",
    "whitespace": "whitespace normalised",
    "repeated_lines": "repeated-line boilerplate (recurring at the edges of many documents)",
    "site_lines": "site lines inside texts (ads, read-also links found with the site's chrome)",
    # labels judged against the cleaned text
    "labels_stale": "Speakleash label set aside (cleaning changed the text)",
    "speakleash_low_overridden": "kept against a stale LOW label",
    # reject reasons
    "duplicate": "duplicate (another copy kept)", "downsampled": "left out by a source weight below 1",
    "empty": "empty after cleaning", "too_short": "too short (min_chars)",
    "speakleash_low": "Speakleash label LOW", "not_polish": "not Polish (min_pl_prob)",
    "too_few_words": "too few words (min_words)", "too_long": "too many words (max_words)",
    "dup_line_frac": "repeated lines", "dup_para_frac": "repeated paragraphs",
    "dup_line_char_frac": "characters in repeated lines", "dup_para_char_frac": "characters in repeated paragraphs",
    "line_punct": "few lines end in punctuation", "short_lines": "mostly short lines",
    "char_dup": "characters in duplicate lines", "newline_ratio": "too many line breaks per word",
    "mean_word_len": "mean word length out of range", "hash_ratio": "too many '#'",
    "ellipsis_ratio": "too many ellipses", "bullet_lines": "mostly bullet lines",
    "ellipsis_lines": "lines ending in ellipses", "alpha_words": "too few words with letters",
    "few_stopwords": "too few Polish stop words",
    "docs_empty": "empty record", "docs_too_long": "record over max_doc_chars",
    "docs_wiki_redirect": "wiki redirect", "docs_wiki_non_article": "wiki page outside the article namespace",
}


def label(key: str) -> str:
    """A counter's, rule's or reason's human name."""
    if key in LABELS:
        return LABELS[key]
    for prefix, words in (("top_ngram_", "most frequent {}-gram"), ("dup_ngram_", "repeated {}-grams"),
                          ("docs_malformed_", "malformed record: {}")):
        if key.startswith(prefix):
            return words.format(key[len(prefix):].replace("_", " "))
    return key.replace("_", " ")


def named(key: str) -> Html:
    """HTML of a human name with its key as a tooltip (a table cell or header as it is)."""
    return Html(f'<span title="{esc(key)}">{esc(label(key))}</span>')
