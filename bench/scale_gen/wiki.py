"""A plwiki-style dump: `pages-articles.xml.bz2`, and the same pages as a multistream dump.

Pages in dump order with ascending ids, like the real export: articles (~72 %) in wikitext the
docs stage must strip (an infobox template, a `<ref>` with a citation template, `== headings ==`,
`[[links]]` and `[[target|labels]]`, `'''bold'''`, a `wikitable` now and then, `[[Plik:…]]`,
`[[Kategoria:…]]`, an interwiki link), redirects (~17 %, with `<redirect title=…/>` and a
`#PATRZ`-style magic word), pages outside the article namespace (~9 %: talk, user, project,
template, category) and exact copies of articles under another title (~2 %, after their
originals, so the original has the smaller page id). Sentences come from the Polish pool.

The multistream pair, as Wikimedia publishes it: `pages-articles-multistream.xml.bz2` is
concatenated bz2 streams (the XML head, then 100 pages per stream, then the closing tag), and
`pages-articles-multistream-index.txt.bz2` has one `offset:page_id:title` line per page, the
offset being that of the stream that holds the page. `sha1sums.txt` lists all three files.
"""

from __future__ import annotations

import bz2
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from corpus.sources.wikipedia import doc_id, wikitext_to_text
from scale_gen.segments import SegmentTable
from scripts.demo_data.wiki_dump import mediawiki_sha1

DUMP_DATE = "20240101"
TITLE_WORD = re.compile(r"[^\W_]+")
WIKI = "plwiki"
PAGES_PER_STREAM = 100
HEADINGS = ("Historia", "Opis", "Charakterystyka", "Zastosowanie", "Pochodzenie nazwy", "Działalność",
            "Geografia", "Kultura", "Odbiór", "Uwagi")
INFOBOXES = ("Miejscowość infobox", "Organizacja infobox", "Biogram infobox", "Książka infobox")
CATEGORIES = ("Polska", "Historia Polski", "Kultura w Polsce", "Nauka", "Technika", "Geografia Polski")
NON_ARTICLE_NS = ((1, "Dyskusja"), (2, "Wikipedysta"), (4, "Wikipedia"), (10, "Szablon"), (14, "Kategoria"))
REDIRECT_WORDS = ("#PATRZ", "#TAM", "#REDIRECT", "#patrz")
HEAD = ('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.10/ '
        'http://www.mediawiki.org/xml/export-0.10.xsd" version="0.10" xml:lang="pl">\n'
        "  <siteinfo>\n    <sitename>Wikipedia</sitename>\n    <dbname>plwiki</dbname>\n"
        "    <base>https://pl.wikipedia.org/wiki/Wikipedia:Strona_g%C5%82%C3%B3wna</base>\n"
        "    <generator>MediaWiki 1.42.0-wmf.10</generator>\n    <case>first-letter</case>\n"
        "    <namespaces>\n"
        + "".join(f'      <namespace key="{k}" case="first-letter">{n}</namespace>\n' for k, n in NON_ARTICLE_NS)
        + '      <namespace key="0" case="first-letter" />\n'
        "    </namespaces>\n  </siteinfo>\n")
FOOT = "</mediawiki>\n"


@dataclass
class Page:
    page_id: int
    title: str
    ns: int
    text: str
    redirect: str | None = None


def _linked(sentence: str, rng: np.random.Generator) -> str:
    """`sentence` with one word made a link, plain or with a label."""
    words = sentence.split(" ")
    i = int(rng.integers(len(words)))
    word = words[i]
    if word.isalpha() and len(word) > 3:
        words[i] = f"[[{word}]]" if rng.random() < 0.6 else f"[[{word.capitalize()} (ujednoznacznienie)|{word}]]"
    return " ".join(words)


def article(table: SegmentTable, title: str, size: float, rng: np.random.Generator) -> str:
    """The wikitext of an article of about `size` bytes."""
    start, end = table.ranges["pl"]
    n = max(4, int(size / 90))
    sentences = [table.texts[i] for i in rng.integers(start, end, n)]
    ref = ("<ref>{{Cytuj stronę | url = https://zrodla.invalid/" + str(int(rng.integers(1, 10**6)))
           + " | tytuł = " + title + " | data dostępu = 2023-12-01 | język = pl}}</ref>")
    parts = [f"{{{{{INFOBOXES[int(rng.integers(len(INFOBOXES)))]}\n | nazwa = {title}\n | kraj = [[Polska]]\n}}}}",
             f"'''{title}''' – {sentences[0]}{ref}"]
    if rng.random() < 0.3:
        parts.append(f"[[Plik:{title.replace(' ', '_')}.jpg|thumb|250px|{title}]]")
    for k in range(1, n, 4):
        if k % 12 == 1:
            parts.append(f"== {HEADINGS[int(rng.integers(len(HEADINGS)))]} ==")
        parts.append(" ".join(_linked(s, rng) if rng.random() < 0.4 else s for s in sentences[k:k + 4]))
    if rng.random() < 0.2:
        parts.append('{| class="wikitable"\n! Rok !! Wartość\n|-\n| 2001 || 15\n|-\n| 2011 || 23\n|}')
    parts.append("== Przypisy ==\n<references />")
    parts.append(f"[[Kategoria:{CATEGORIES[int(rng.integers(len(CATEGORIES)))]}]]")
    if rng.random() < 0.3:
        parts.append(f"[[en:{title}]]")
    return "\n\n".join(parts) + "\n"


def _title(table: SegmentTable, rng: np.random.Generator, taken: set[str]) -> str:
    start, end = table.ranges["pl"]
    # Letters and digits only: `[]{}|#<>` cannot be in a title, and the title goes into links and templates.
    base = " ".join(TITLE_WORD.findall(table.texts[int(rng.integers(start, end))])[:3]) or "Artykuł"
    base = base[0].upper() + base[1:]
    title, k = base, 1
    while title in taken:
        k += 1
        title = f"{base} ({k})"
    taken.add(title)
    return title


def plan_pages(table: SegmentTable, target_bytes: int, seed: int) -> tuple[list[Page], list[dict]]:
    """The dump's pages, in order, about `target_bytes` of wikitext; and the truth of its copies."""
    rng = np.random.default_rng([seed, 3])
    pages: list[Page] = []
    articles: list[int] = []  # indices of original articles (not yet copied)
    truth, taken, total, page_id = [], set(), 0, 1000
    while total < target_bytes or len(articles) < 3:
        page_id += int(rng.integers(1, 400))
        u = rng.random()
        if u < 0.17 and articles:
            target = pages[articles[int(rng.integers(len(articles)))]].title
            page = Page(page_id, _title(table, rng, taken), 0,
                        f"{REDIRECT_WORDS[int(rng.integers(4))]} [[{target}]]\n", redirect=target)
        elif u < 0.26:
            ns, prefix = NON_ARTICLE_NS[int(rng.integers(len(NON_ARTICLE_NS)))]
            title = f"{prefix}:{_title(table, rng, taken)}"
            page = Page(page_id, title, ns, article(table, title, 600, rng))
        elif u < 0.28 and articles:
            original = pages[articles.pop(int(rng.integers(len(articles))))]
            page = Page(page_id, _title(table, rng, taken), 0, original.text)
            truth.append({"id": doc_id(page_id), "source": "wikipedia", "kind": "exact_dup",
                          "chars": len(wikitext_to_text(page.text)), "dup_of": doc_id(original.page_id),
                          "cross": False})
        else:
            title = _title(table, rng, taken)
            size = min(rng.lognormal(np.log(2500), 1.0), max(4000, target_bytes / 4), 200_000)
            page = Page(page_id, title, 0, article(table, title, size, rng))
            articles.append(len(pages))
        pages.append(page)
        total += len(page.text.encode("utf-8"))
    return pages, truth


def page_xml(page: Page) -> str:
    """One `<page>` of an export-0.10 dump (one revision, as `pages-articles` has)."""
    redirect = f"    <redirect title={quoteattr(page.redirect)} />\n" if page.redirect else ""
    rev = page.page_id * 7 + 60_000_000
    return (f"  <page>\n    <title>{escape(page.title)}</title>\n    <ns>{page.ns}</ns>\n"
            f"    <id>{page.page_id}</id>\n{redirect}    <revision>\n      <id>{rev}</id>\n"
            f"      <parentid>{rev - 3}</parentid>\n      <timestamp>2023-11-{1 + page.page_id % 28:02d}T12:00:00Z"
            f"</timestamp>\n      <contributor>\n        <username>Bot-Kuźnia</username>\n        <id>4242</id>\n"
            f"      </contributor>\n      <model>wikitext</model>\n      <format>text/x-wiki</format>\n"
            f'      <text bytes="{len(page.text.encode("utf-8"))}" xml:space="preserve">{escape(page.text)}</text>\n'
            f"      <sha1>{mediawiki_sha1(page.text)}</sha1>\n    </revision>\n  </page>\n")


def write_dump(pages: list[Page], folder: Path) -> dict:
    """Write both dumps, the index and the sha1sums under `folder/plwiki/<date>/`; returns sizes."""
    out = folder / WIKI / DUMP_DATE
    out.mkdir(parents=True, exist_ok=True)
    prefix = f"{WIKI}-{DUMP_DATE}-pages-articles"
    xml = [page_xml(p) for p in pages]
    plain = bz2.compress((HEAD + "".join(xml) + FOOT).encode("utf-8"), 9)
    streams, index, offset = [bz2.compress(HEAD.encode("utf-8"), 9)], [], 0
    offset = len(streams[0])
    for start in range(0, len(pages), PAGES_PER_STREAM):
        chunk = pages[start:start + PAGES_PER_STREAM]
        index += [f"{offset}:{p.page_id}:{p.title}\n" for p in chunk]
        streams.append(bz2.compress("".join(xml[start:start + PAGES_PER_STREAM]).encode("utf-8"), 9))
        offset += len(streams[-1])
    streams.append(bz2.compress(FOOT.encode("utf-8"), 9))
    files = {f"{prefix}.xml.bz2": plain, f"{prefix}-multistream.xml.bz2": b"".join(streams),
             f"{prefix}-multistream-index.txt.bz2": bz2.compress("".join(index).encode("utf-8"), 9)}
    for name, data in files.items():
        (out / name).write_bytes(data)
    sums = "".join(f"{hashlib.sha1(data).hexdigest()}  {name}\n" for name, data in sorted(files.items()))
    (out / f"{WIKI}-{DUMP_DATE}-sha1sums.txt").write_text(sums, encoding="utf-8")
    return {name: len(data) for name, data in files.items()}
