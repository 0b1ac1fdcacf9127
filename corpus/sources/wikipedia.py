"""Wikipedia: the `pages-articles` dump's URL and checksum, and its pages as plain text.

The dump is read streaming (bz2 -> mwxml), one page at a time: the plain dump whole, or one
byte range of the `pages-articles-multistream` dump (`wiki_streams.py`), whose pages give the
same items as the plain dump's. Only articles become
documents: pages outside the main namespace are counted as `wiki_non_article` and redirects
as `wiki_redirect`. Wikitext becomes plain text with mwparserfromhell: templates, refs,
tables, files, categories, interlanguage links, comments and magic words go; links become
their labels; headings stay as lines of their own; bold and italic lose their quotes.
"""

from __future__ import annotations

import bz2
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import mwparserfromhell
import mwxml
from mwparserfromhell.nodes import (
    Argument,
    Comment,
    ExternalLink,
    Heading,
    HTMLEntity,
    Tag,
    Template,
    Text,
    Wikilink,
)

from corpus.sources import wiki_streams
from corpus.sources.download import join_url
from corpus.sources.records import Doc, Skipped

# Tags whose content is not prose: references, tables, maths, galleries, code, maps.
DROPPED_TAGS = frozenset({
    "ref", "references", "table", "gallery", "math", "chem", "ce", "imagemap", "timeline",
    "score", "graph", "templatedata", "syntaxhighlight", "source", "mapframe", "maplink",
    "categorytree", "inputbox", "section", "hiero", "indicator", "templatestyles",
})
LINE_BREAK_TAGS = frozenset({"br", "hr"})
# Link namespaces that are not text (Polish and English names; Wikipedia accepts both).
FILE_NAMESPACES = frozenset({"plik", "file", "grafika", "image", "media"})
CATEGORY_NAMESPACES = frozenset({"kategoria", "category"})
INTERWIKI = re.compile(r"^[a-z]{2,3}(-[a-z]+)*$")  # `en:`, `de:`, `zh-min-nan:` ...
MAGIC_WORD = re.compile(r"__[A-ZĄĆĘŁŃÓŚŹŻ_]+__")
BLANK_RUNS = re.compile(r"\n{3,}")
READ_BYTES = 8 << 20


PLAIN, MULTISTREAM = "plain", "multistream"
PLAIN_SUFFIX = "-pages-articles.xml.bz2"
MULTISTREAM_SUFFIX = "-pages-articles-multistream.xml.bz2"


def dump_file_name(cfg) -> str:
    """`plwiki-20240101-pages-articles.xml.bz2` (or the last segment of `url`)."""
    if cfg.url:
        return cfg.url.rstrip("/").rsplit("/", 1)[-1]
    return f"{cfg.wiki}-{cfg.dump_date}{PLAIN_SUFFIX}"


def dump_url(cfg) -> str:
    """The dump's URL: `url`, or `{base_url}/{wiki}/{dump_date}/{dump file}`."""
    if cfg.url:
        return cfg.url
    return join_url(join_url(join_url(cfg.base_url, cfg.wiki), cfg.dump_date), dump_file_name(cfg))


def sha1sums_url(cfg) -> str:
    """The dump's published checksum list (`{wiki}-{dump_date}-sha1sums.txt`, beside the dump)."""
    folder = dump_url(cfg).rsplit("/", 1)[0]
    wiki, date = cfg.wiki, cfg.dump_date
    if cfg.url:  # take wiki and date from the file name: plwiki-20240101-pages-articles...
        parts = dump_file_name(cfg).split("-")
        if len(parts) >= 3:
            wiki, date = parts[0], parts[1]
    return join_url(folder, f"{wiki}-{date}-sha1sums.txt")


def parse_sha1sums(text: str) -> dict[str, str]:
    """`<sha1>  <file name>` lines -> {file name: sha1}."""
    out = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2 and re.fullmatch(r"[0-9a-fA-F]{40}", fields[0]):
            out[fields[1].lstrip("*")] = fields[0].lower()
    return out


def expected_sha1(sums: dict[str, str], file_name: str) -> str | None:
    """The checksum of `file_name`; for `latest` dumps the list names the dated file instead,
    so the one entry of the same wiki and kind (`*-pages-articles.xml.bz2`, …) is taken."""
    if file_name in sums:
        return sums[file_name]
    fields = file_name.split("-", 2)
    if len(fields) == 3:
        matches = [v for k, v in sums.items() if k.split("-", 2)[::2] == fields[::2]]
        if len(matches) == 1:
            return matches[0]
    return None


def choose_layout(cfg, sums: dict[str, str] | None) -> str:
    """`multistream` or `plain`: what `url` names; else `dump`, where `auto` takes the
    multistream pair when the dump's sha1sums list names both files."""
    if cfg.url:
        return MULTISTREAM if dump_file_name(cfg).endswith(MULTISTREAM_SUFFIX) else PLAIN
    if cfg.dump != "auto":
        return cfg.dump
    wanted = dump_files(cfg, MULTISTREAM)
    return MULTISTREAM if sums and all(expected_sha1(sums, n) for n in wanted) else PLAIN


def dump_files(cfg, layout: str) -> list[str]:
    """The files to fetch: the dump, and for `multistream` its index (`…-index.txt.bz2`)."""
    if cfg.url:
        name = dump_file_name(cfg)
    else:
        name = f"{cfg.wiki}-{cfg.dump_date}{MULTISTREAM_SUFFIX if layout == MULTISTREAM else PLAIN_SUFFIX}"
    if layout != MULTISTREAM:
        return [name]
    return [name, name.removesuffix(".xml.bz2") + "-index.txt.bz2"]


def file_url(cfg, name: str) -> str:
    """The URL of a file beside the dump."""
    return join_url(dump_url(cfg).rsplit("/", 1)[0], name)


# --------------------------------------------------------------------------- wikitext


def _link_text(link: Wikilink) -> str:
    title = str(link.title).strip()
    leading_colon = title.startswith(":")
    title = title.lstrip(":").strip()
    prefix, sep, rest = title.partition(":")
    ns = prefix.strip().lower()
    if sep and not leading_colon:
        if ns in FILE_NAMESPACES or ns in CATEGORY_NAMESPACES or INTERWIKI.match(prefix.strip()):
            return ""
    if link.text is not None:
        return _render(link.text)
    if title.startswith("#"):
        return title[1:]
    return title


def _render(code) -> str:
    out = []
    for node in code.nodes:
        if isinstance(node, Text):
            out.append(node.value)
        elif isinstance(node, (Template, Comment, Argument)):
            continue
        elif isinstance(node, HTMLEntity):
            out.append(node.normalize().replace("\xa0", " "))
        elif isinstance(node, Wikilink):
            out.append(_link_text(node))
        elif isinstance(node, ExternalLink):
            if node.title is not None:
                out.append(_render(node.title))
            elif not node.brackets:
                out.append(str(node.url))
        elif isinstance(node, Heading):
            out.append("\n" + _render(node.title).strip() + "\n")
        elif isinstance(node, Tag):
            tag = str(node.tag).strip().lower()
            if tag in DROPPED_TAGS:
                continue
            if tag in LINE_BREAK_TAGS:
                out.append("\n")
            elif tag == "nowiki" and node.contents is not None:
                out.append(str(node.contents))
            elif node.contents is not None:
                out.append(_render(node.contents))
        else:
            out.append(str(node))
    return "".join(out)


def wikitext_to_text(wikitext: str) -> str:
    """Plain text of an article's wikitext (see the module docstring for what is kept)."""
    text = _render(mwparserfromhell.parse(wikitext))
    text = MAGIC_WORD.sub("", text)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


# --------------------------------------------------------------------------- dump


def doc_id(page_id: int) -> str:
    return f"wikipedia/{page_id:010d}"


def iter_docs(path: Path, wiki: str = "plwiki") -> Iterator[Doc | Skipped]:
    """A `Doc` (an article) or `Skipped` (why not) for every page of a `pages-articles` dump."""
    opener = bz2.open if path.name.endswith(".bz2") else open
    # Decompressed a few MB at a time, not in the XML parser's 16 kB reads: interleaving bz2
    # with the parsing costs ~25 % more CPU (the caches; measured by bench/wikipedia.py).
    with opener(path, "rb") as raw, io.BufferedReader(raw, buffer_size=READ_BYTES) as f:
        yield from _page_items(f, wiki, first_page=1)


def iter_range_docs(path: Path, task: dict, wiki: str = "plwiki") -> Iterator[Doc | Skipped]:
    """The same for the pages in bytes `[start, end)` of a multistream dump (`task` holds
    `start, end, file_bytes, header_end, first_page, pages` from `wiki_streams.plan_ranges`);
    a count of pages other than the index's raises."""
    where = f"{path} bytes {task['start']}-{task['end']}"
    n = 0
    with wiki_streams.open_range(path, task["start"], task["end"], task["file_bytes"], task["header_end"]) as f:
        for item in _page_items(f, wiki, first_page=task["first_page"]):
            n += 1
            yield item
    if n != task["pages"]:
        raise wiki_streams.StreamIndexError(f"{where}: the index lists {task['pages']} pages there, "
                                            f"the dump holds {n}; the index is not this dump's")


def _page_items(f: BinaryIO, wiki: str, first_page: int) -> Iterator[Doc | Skipped]:
    """One item per page of an export read from `f`; `first_page` is the ordinal of its first
    page in the whole dump (for the locations in the problem list)."""
    dump = mwxml.Dump.from_file(f)
    for n, page in enumerate(dump, start=first_page):
        revision = None
        for revision in page:  # pages-articles has one (the latest) revision per page
            pass
        if page.namespace != 0:
            yield Skipped("wiki_non_article")
        elif page.redirect or (revision is not None and _is_redirect(revision.text)):
            yield Skipped("wiki_redirect")
        else:
            text = wikitext_to_text(revision.text or "") if revision is not None else ""
            meta = {"wiki": wiki, "page_id": page.id, "title": page.title}
            if revision is not None:
                meta["revision_id"] = revision.id
                meta["timestamp"] = str(revision.timestamp) if revision.timestamp else None
            yield Doc(doc_id(page.id), text, meta, f"page {n} ({page.title})")


REDIRECT = re.compile(r"^\s*#(REDIRECT|PATRZ|PRZEKIERUJ|TAM)\b", re.IGNORECASE)


def _is_redirect(text: str | None) -> bool:
    """A redirect page whose `<redirect>` element is missing (older dumps)."""
    return bool(text and REDIRECT.match(text))
