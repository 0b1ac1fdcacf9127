"""Site lines: what a site inserts between a text's paragraphs ("Reklama", "Czytaj także: <title>"),
told from the text's own headings by whose pages carry it, not by a phrase list.

The repeated-line rule (`repeated.py`) removes page chrome at a document's edges only, because
inside a text what recurs across documents is mostly the text's own: a genre's headings ("OPIS",
"Wstęp"), option lists, refrains. Order does not tell a heading from an inserted line (man pages
order their sections in more than one way; an ad may land anywhere); *association* does. A line
of the genre occurs in that genre's texts wherever they were published, with or without a site's
chrome; a line the site inserts occurs (almost) only in pages that carry that site's chrome.

- `sites` (`sitecount.py`, one task per docs part, after `merge`): per document, its *site keys*
  (`sitelines_kernels`: the head of a label line, or a short line of letters) and its *chrome
  keys* (the keys of the lines the repeated-line rule removes at its top, `repeated.py`: a
  site's menu and header; what recurs at the bottom is as often a genre's closing lines).
  Counted: in how many documents each site key occurs (all documents), and with each chrome key
  (documents with chrome): rows (site key, chrome key or 0, documents), sorted, per part.
- `site_merge` (`sitecount.py`, one task per hash range of the site key): the rows summed; a pair (site key,
  chrome key) is a *site pair* when it occurs in at least `site_min_docs` documents and in at
  least `site_min_share` of all the documents with that site key. Written as sorted pair hashes.
- The clean phase (`rule_site_lines`) removes a line whose site key forms a site pair with a
  chrome key the repeated-line rule removed from the same document, when it is inside the text
  (lines of the text that stay above and below it); protected as there: dialogue, numbered
  headings, a key repeated inside the document.

Bounded as the line counts are: per part, distinct site keys and their pairs with at most
`site_chrome_keys` chrome keys a document; merged per hash range. Where a genre is published by
one site only (every text of it carries that site's chrome) its headings are that site's lines
to this rule: such a source's inner headings may go with its ads.
"""

from __future__ import annotations

import numpy as np

from corpus.clean import linekeys_kernels as LK
from corpus.clean.linekeys import char_classes, code_points
from corpus.clean.repeated import _DIALOGUE_RE, _NUMBERED_RE, FrequentLines, remove_repeated_lines
from corpus.clean.sitelines_kernels import site_line_keys

SITE_DTYPE = np.dtype([("site", "<u8"), ("chrome", "<u8"), ("docs", "<u4")])
_M1, _M2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def site_keys(texts: list[str], rcfg) -> tuple[np.ndarray, np.ndarray]:
    """(keys, starts): the site key of every line of `texts` (0: none); text `d`'s lines are
    `starts[d]:starts[d + 1]`, numbered as `linekeys.line_keys` numbers them."""
    cp, offsets = code_points(texts)
    classes = char_classes()
    starts = LK._count_lines(cp, offsets, classes)
    keys = site_line_keys(cp, offsets, classes, starts, rcfg.site_max_tokens, rcfg.site_label_max_tokens,
                          int(round(rcfg.site_min_letter_share * 1000)))
    return keys, starts


def pair_hash(site: np.ndarray, chrome: np.ndarray) -> np.ndarray:
    """One 64-bit hash per (site key, chrome key) pair (murmur3's finalizer of a mix of both)."""
    with np.errstate(over="ignore"):
        h = np.asarray(site, np.uint64) ^ (np.asarray(chrome, np.uint64) * _GOLDEN)
        h ^= h >> np.uint64(33)
        h *= _M1
        h ^= h >> np.uint64(33)
        h *= _M2
        h ^= h >> np.uint64(33)
    return h


def chrome_keys(found: set[int], limit: int) -> np.ndarray:
    """The chrome keys of one document, at most `limit` (the smallest: any fixed choice
    works, as every page of a site carries most of its chrome)."""
    return np.array(sorted(found)[:limit], dtype=np.uint64)



def count_rows(texts: list[str], frequent: FrequentLines | None, rcfg) -> tuple[np.ndarray, int]:
    """(`SITE_DTYPE` rows, documents with chrome) of a batch of texts: per site key, the texts it
    occurs in (chrome 0) and, with each chrome key of such a text, those it shares with it."""
    keys, starts = site_keys(texts, rcfg)
    sites, chromes, with_chrome = [], [], 0
    for d, text in enumerate(texts):
        own = np.unique(keys[starts[d]:starts[d + 1]])
        own = own[own != 0]
        if not len(own):
            continue
        sites.append(own)
        chromes.append(np.zeros(len(own), np.uint64))
        found: set[int] = set()
        if frequent is not None and len(frequent):
            remove_repeated_lines(text, frequent, rcfg, chrome=found)
        if found:
            with_chrome += 1
            c = chrome_keys(found, rcfg.site_chrome_keys)
            sites.append(np.repeat(own, len(c)))
            chromes.append(np.tile(c, len(own)))
    if not sites:
        return np.zeros(0, SITE_DTYPE), 0
    site = np.concatenate(sites)
    return sum_pairs(site, np.concatenate(chromes), np.ones(len(site), np.int64)), with_chrome


def sum_pairs(site: np.ndarray, chrome: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """`SITE_DTYPE` rows: documents summed per (site, chrome), sorted by site, then chrome."""
    if not len(site):
        return np.zeros(0, SITE_DTYPE)
    order = np.lexsort((chrome, site))
    site, chrome, docs = site[order], chrome[order], docs[order]
    new = np.ones(len(site), bool)
    new[1:] = (site[1:] != site[:-1]) | (chrome[1:] != chrome[:-1])
    starts = np.flatnonzero(new)
    out = np.zeros(len(starts), SITE_DTYPE)
    out["site"], out["chrome"] = site[starts], chrome[starts]
    out["docs"] = np.add.reduceat(docs, starts)
    return out


def select_pairs(rows: np.ndarray, rcfg) -> np.ndarray:
    """The site pairs among summed rows (all of a site key's rows present), as sorted pair
    hashes: at least `site_min_docs` documents, and `site_min_share` of the site key's."""
    alone = rows["chrome"] == 0
    keys, key_docs = rows["site"][alone], rows["docs"][alone].astype(np.int64)
    total = np.zeros(len(rows), np.int64)
    if len(keys):
        at = np.minimum(np.searchsorted(keys, rows["site"]), len(keys) - 1)
        known = keys[at] == rows["site"]
        total[known] = key_docs[at[known]]
    docs = rows["docs"].astype(np.int64)
    chosen = ~alone & (docs >= rcfg.site_min_docs) & (docs >= rcfg.site_min_share * total)
    return np.sort(pair_hash(rows["site"][chosen], rows["chrome"][chosen]))


def remove_site_lines(text: str, pairs: np.ndarray, chrome: set[int], rcfg) -> tuple[str, int]:
    """Drop the lines whose site key forms a site pair with one of the document's chrome keys
    (`chrome`: what the repeated-line rule removed at its edges); returns (text, lines removed)."""
    if not text or not chrome or pairs is None or not len(pairs):
        return text, 0
    lines = text.split("\n")
    keys, starts = site_keys([text], rcfg)
    if len(keys) != len(lines):  # other line breaks than "\n": per line
        keys, starts = site_keys(lines, rcfg)
        keys = keys[starts[:-1]]
    if not keys.any():
        return text, 0
    c = chrome_keys(chrome, rcfg.site_chrome_keys)
    idx = np.flatnonzero(keys)
    hashes = pair_hash(np.repeat(keys[idx], len(c)), np.tile(c, len(idx)))
    pos = np.minimum(np.searchsorted(pairs, hashes), len(pairs) - 1)
    hit = (pairs[pos] == hashes).reshape(len(idx), len(c)).any(axis=1)
    if not hit.any():
        return text, 0
    values, counts = np.unique(keys[idx], return_counts=True)
    repeated = set(values[counts > 1].tolist())
    drop = {int(i) for i in idx[hit] if int(keys[i]) not in repeated
            and not _DIALOGUE_RE.match(lines[i]) and not _NUMBERED_RE.match(lines[i])}
    # Inside the text only: between lines of it (with letters) that stay, above and below.
    text_lines = [i for i, line in enumerate(lines) if i not in drop and any(ch.isalpha() for ch in line)]
    drop = {i for i in drop if text_lines and text_lines[0] < i < text_lines[-1]}
    if not drop:
        return text, 0
    return "\n".join(line for i, line in enumerate(lines) if i not in drop), len(drop)
