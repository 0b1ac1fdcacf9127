"""A small Polish Wikipedia dump: articles in real wikitext made from man pages, plus redirects
and pages outside the article namespace, written as a MediaWiki export-0.10 XML file.

Articles use the markup the docs stage must handle: an infobox template, `[[link]]` and
`[[link|label]]`, `<ref>` with a citation template, a `wikitable`, `== headings ==`,
`'''bold'''`/`''italic''`, `[[Plik:…|thumb|…]]` and `[[Kategoria:…]]`.
"""

from __future__ import annotations

import bz2
import hashlib
import random
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import mwparserfromhell

from .source_texts import HEADING_RE, ManPage

DUMP_DATE = "20240101"
NAMESPACES = {-2: "Media", -1: "Specjalna", 0: "", 1: "Dyskusja", 2: "Wikipedysta",
              3: "Dyskusja wikipedysty", 4: "Wikipedia", 5: "Dyskusja Wikipedii", 6: "Plik",
              7: "Dyskusja pliku", 8: "MediaWiki", 9: "Dyskusja MediaWiki", 10: "Szablon",
              11: "Dyskusja szablonu", 12: "Pomoc", 13: "Dyskusja pomocy", 14: "Kategoria",
              15: "Dyskusja kategorii", 100: "Portal", 101: "Dyskusja portalu", 828: "Moduł",
              829: "Dyskusja modułu"}
TITLE_SUFFIX = {"1": "polecenie", "6": "gra", "8": "polecenie administracyjne", "5": "format pliku",
                "4": "plik urządzenia", "7": "Linux"}
KIND = {"1": "polecenie powłoki", "6": "gra komputerowa", "8": "narzędzie administracyjne",
        "5": "format pliku konfiguracyjnego", "4": "plik specjalny", "7": "przegląd zagadnienia"}
GLOSSARY = {"katalog": "katalog (informatyka)", "plik": "plik (informatyka)",
            "jądro": "jądro systemu operacyjnego", "powłoka": "powłoka systemowa",
            "terminal": "terminal komputerowy", "użytkownik": "użytkownik (informatyka)"}
USERNAMES = ["Kowalski.J", "Ala ma kota", "Bot-Porządkowy", "Nowak1984", "Wiedźmin z Rivii",
             "Pingwin.PL", "Krasnal", "Zbyszek"]


@dataclass(eq=False)
class WikiPage:
    """One page of the dump; `label` is its labels.jsonl entry without id and dup_of."""

    title: str
    ns: int
    text: str
    label: dict
    redirect: str | None = None
    page_id: int = 0
    original: WikiPage | None = None  # for exact copies under another title

    @property
    def origin(self) -> str:
        return self.label.get("origin", "")

    @property
    def doc_id(self) -> str:
        return f"wikipedia/{self.page_id:010d}"

    def full_label(self) -> dict:
        """This page's labels.jsonl object."""
        label = {"id": self.doc_id, "title": self.title, **self.label}
        if self.original is not None:
            label["dup_of"] = self.original.doc_id
        return label


def title_for(page: ManPage) -> str:
    """Article title of a man page, e.g. "Ls (polecenie)" (first letter upper-case)."""
    title = f"{page.name} ({TITLE_SUFFIX.get(page.section, 'Unix')})"
    return title[0].upper() + title[1:]


def _link_refs(paragraph: str) -> str:
    """Turn `cp(1)` references into wikilinks and link the first glossary word."""
    def command_link(m: re.Match) -> str:
        name, section = m.group(1), m.group(2)
        target = f"{name} ({TITLE_SUFFIX.get(section, 'Unix')})"
        return f"[[{target}|{name}]]({section})"

    text = re.sub(r"\b([a-z][a-z0-9_.+-]*)\((\d)\)", command_link, paragraph)
    for word, target in GLOSSARY.items():
        text, n = re.subn(rf"(?<![\w\[|]){word}(?![\w\]])", f"[[{target}|{word}]]", text, count=1)
        if n:
            break
    return text


def _is_heading(line: str, rest: list[str]) -> bool:
    # Upper-case lines are headings; so is a short letters-only first line ("opis" in the
    # mtools pages) when text follows it in the same paragraph.
    if HEADING_RE.match(line) and len(line) > 2:
        return True
    return bool(rest) and len(line) <= 40 and len(line.split()) <= 4 and \
        re.fullmatch(r"[^\W\d_]+(?: [^\W\d_]+)*", line) is not None


def man_sections(text: str) -> list[tuple[str, list[str]]]:
    """A rendered page's sections: [(heading, paragraphs)], the NAME section first."""
    sections: list[tuple[str, list[str]]] = []
    for para in text.split("\n\n"):
        lines = para.split("\n")
        if _is_heading(lines[0], lines[1:]):
            sections.append((lines[0], []))
            rest = "\n".join(lines[1:]).strip()
            if rest:
                sections[-1][1].append(rest)
        elif sections:
            sections[-1][1].append(para)
    return sections


def _option_table(paragraphs: list[str]) -> str | None:
    rows = []
    for para in paragraphs:
        head, _, desc = para.partition("\n")
        if head.startswith("-") and desc and len(head) < 60:
            rows.append((head, desc.replace("\n", " ")))
    if len(rows) < 3:
        return None
    body = "".join(f"|-\n| <code>{escape_wiki(h)}</code> || {d}\n" for h, d in rows[:25])
    return '{| class="wikitable"\n! Opcja !! Znaczenie\n' + body + "|}"


def escape_wiki(text: str) -> str:
    """Neutralise characters that would start markup inside a table cell."""
    return text.replace("|", "&#124;").replace("[", "&#91;").replace("{", "&#123;")


def article_wikitext(page: ManPage, rng: random.Random, max_chars: int = 16000) -> str:
    """A wikitext article about one man page."""
    sections = man_sections(page.text)
    name_line = page.name_line()
    description = re.split(r"\s[-–—]\s", name_line, maxsplit=1)[-1].rstrip(".")
    infobox = ("{{Infobox oprogramowanie\n"
               f" | nazwa = {page.name}\n"
               f" | rodzaj = {KIND.get(page.section, 'program')}\n"
               f" | sekcja podręcznika = {page.section}\n"
               " | system operacyjny = [[Linux]], [[Unix]]\n"
               " | licencja = [[GNU General Public License|GPL]]\n"
               "}}")
    ref = ("<ref>{{Cytuj stronę | url = " + page.url + " | tytuł = " + page.title
           + " | opublikowany = Projekt Debian | data dostępu = 2023-12-01 | język = pl}}</ref>")
    parts = [infobox]
    if rng.random() < 0.4:
        parts.append(f"[[Plik:{page.name.capitalize()}-terminal.png|thumb|250px|Wywołanie "
                     f"''{page.name}'' w terminalu]]")
    parts.append(f"'''{page.name}''' – {description}.{ref}")
    see_also: list[str] = []
    size = sum(len(p) for p in parts)
    for heading, paragraphs in sections[1:]:
        if heading.startswith(("ZOBACZ", "SEE")):
            see_also = re.findall(r"\b([a-z][a-z0-9_.+-]*)\((\d)\)", " ".join(paragraphs))
            continue
        if heading in ("SKŁADNIA", "STRESZCZENIE", "SYNOPSIS"):
            block = "\n".join(f" {line}" for p in paragraphs for line in p.split("\n"))
            parts.append(f"== {heading.capitalize()} ==\n{block}")
            continue
        table = _option_table(paragraphs) if heading.startswith("OPCJE") else None
        body = table or "\n\n".join(_link_refs(p) for p in paragraphs)
        if not body.strip():
            continue
        if size + len(body) > max_chars and size > 2000:
            break
        if rng.random() < 0.15:
            body = body.replace(page.name, f"''{page.name}''", 1)
        parts.append(f"== {heading[0].upper() + heading[1:].lower()} ==\n{body}")
        size += len(body)
    if see_also:
        items = sorted({f"* [[{n} ({TITLE_SUFFIX.get(s, 'Unix')})|{n}]]({s})" for n, s in see_also})
        parts.append("== Zobacz też ==\n" + "\n".join(items))
    parts.append("== Przypisy ==\n<references />")
    parts.append("[[Kategoria:Polecenia Unix]]" if page.section in ("1", "8")
                 else "[[Kategoria:Linux]]")
    return "\n\n".join(parts) + "\n"


def non_article_pages(rng: random.Random, article_titles: list[str]) -> list[WikiPage]:
    """User, talk, template, category and project pages (namespaces 1, 2, 4, 10, 14)."""
    pages = []
    for user in rng.sample(USERNAMES, 3):
        mine = "\n".join(f"* [[{t}]]" for t in sorted(rng.sample(article_titles, 4)))
        text = (f"{{{{Babel|pl|en-3|de-1}}}}\nJestem wikipedystą zajmującym się głównie "
                f"artykułami o [[Unix]]ie i [[Linux]]ie.\n\n== Moje artykuły ==\n{mine}\n")
        pages.append(WikiPage(f"Wikipedysta:{user}", 2, text, {}))
    for title in sorted(rng.sample(article_titles, 4)):
        a, b = rng.sample(USERNAMES, 2)
        text = (f"== Źródła ==\nCzy ktoś ma lepsze źródło niż strona podręcznika? "
                f"[[Wikipedysta:{a}|{a}]] ([[Dyskusja wikipedysty:{a}|dyskusja]]) "
                f"12:{rng.randint(10, 59)}, {rng.randint(1, 28)} lis 2023 (CET)\n"
                f":Strona podręcznika jest w porządku jako źródło dla opisu opcji. "
                f"[[Wikipedysta:{b}|{b}]] ([[Dyskusja wikipedysty:{b}|dyskusja]]) "
                f"09:{rng.randint(10, 59)}, {rng.randint(1, 28)} gru 2023 (CET)\n")
        pages.append(WikiPage(f"Dyskusja:{title}", 1, text, {}))
    pages.append(WikiPage("Szablon:Infobox oprogramowanie", 10,
                          '{| class="infobox"\n|+ {{{nazwa|{{PAGENAME}}}}}\n|-\n! Rodzaj\n'
                          '| {{{rodzaj|}}}\n|-\n! Licencja\n| {{{licencja|}}}\n|}'
                          "<noinclude>\n[[Kategoria:Szablony infoboksów]]\n</noinclude>\n", {}))
    pages.append(WikiPage("Kategoria:Polecenia Unix", 14,
                          "Kategoria grupuje artykuły o poleceniach systemów uniksowych.\n\n"
                          "[[Kategoria:Unix]]\n", {}))
    pages.append(WikiPage("Kategoria:Linux", 14,
                          "Artykuły związane z systemem [[Linux]].\n\n[[Kategoria:Systemy "
                          "operacyjne]]\n", {}))
    pages.append(WikiPage("Wikipedia:Zasady nazewnictwa/Polecenia", 4,
                          "Artykuły o poleceniach nazywamy nazwą polecenia z dopiskiem "
                          "''(polecenie)'', np. [[ls (polecenie)]].\n", {}))
    for p in pages:
        p.label = {"kind": "non_article", "ns": p.ns}
    return pages


REDIRECTS = 12
WIKI_DUPLICATES = 2


def build_pages(sources: list[ManPage], foreign: list[ManPage], seed: int) -> list[WikiPage]:
    """Every page of the dump, in dump order, with page ids: articles (clean), two exact copies
    under other titles, foreign-language articles, redirects and non-article pages."""
    rng = random.Random(f"{seed}:wiki")
    articles = [WikiPage(title_for(p), 0, article_wikitext(p, rng),
                         {"kind": "clean", "origin": p.origin}) for p in sources]
    titles = {a.title for a in articles}
    if len(titles) != len(articles):
        raise ValueError("two wiki sources map to the same article title")
    pages = list(articles)
    for original in rng.sample(articles, WIKI_DUPLICATES):
        title = original.title.split(" (")[0] + " (program)"
        pages.append(WikiPage(title, 0, original.text,
                              {"kind": "exact_dup", "origin": original.label["origin"]},
                              original=original))
    for p in foreign:
        title = f"{title_for(p)[:-1]}, {p.lang})"
        pages.append(WikiPage(title, 0, article_wikitext(p, rng),
                              {"kind": "foreign", "lang": p.lang, "origin": p.origin}))
    for target in rng.sample(articles, REDIRECTS):
        base = target.title.split(" (")[0]
        title = base if base not in titles else f"Polecenie {base.lower()}"
        titles.add(title)
        magic = rng.choice(["#PATRZ", "#TAM", "#REDIRECT", "#patrz"])
        pages.append(WikiPage(title, 0, f"{magic} [[{target.title}]]\n",
                              {"kind": "redirect", "target": target.title,
                               "origin": "synthetic:redirect"}, redirect=target.title))
    extra = non_article_pages(rng, sorted(a.title for a in articles))
    for page in extra:
        page.label["origin"] = "synthetic:non-article"
    pages += extra
    rng.shuffle(pages)
    # Originals before their copies, so the copy gets the larger page id.
    for copy in [p for p in pages if p.original is not None]:
        i, j = pages.index(copy), pages.index(copy.original)
        if j > i:
            pages[i], pages[j] = pages[j], pages[i]
    all_titles = [(p.ns, p.title) for p in pages]
    if len(set(all_titles)) != len(all_titles):
        raise ValueError("duplicate page titles in the wiki dump plan")
    page_id = 2000
    for page in pages:
        page_id += rng.randint(1, 3000)
        page.page_id = page_id
    return pages


def plain_text(wikitext: str) -> str:
    """The article's text without markup (mwparserfromhell's strip_code)."""
    return mwparserfromhell.parse(wikitext).strip_code()


def mediawiki_sha1(text: str) -> str:
    """The revision sha1 as MediaWiki writes it: base-36, 31 digits."""
    n = int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16)
    digits = ""
    while n:
        n, r = divmod(n, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
    return digits.rjust(31, "0")


def dump_xml(pages: list[WikiPage], rng: random.Random) -> bytes:
    """The export-0.10 XML of `pages` (which must have page ids), as UTF-8 bytes."""
    out = ['<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           'xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.10/ '
           'http://www.mediawiki.org/xml/export-0.10.xsd" version="0.10" xml:lang="pl">',
           "  <siteinfo>", "    <sitename>Wikipedia</sitename>", "    <dbname>plwiki</dbname>",
           "    <base>https://pl.wikipedia.org/wiki/Wikipedia:Strona_g%C5%82%C3%B3wna</base>",
           "    <generator>MediaWiki 1.42.0-wmf.10</generator>", "    <case>first-letter</case>",
           "    <namespaces>"]
    for key, name in NAMESPACES.items():
        out.append(f'      <namespace key="{key}" case="first-letter">{escape(name)}</namespace>'
                   if name else f'      <namespace key="{key}" case="first-letter" />')
    out += ["    </namespaces>", "  </siteinfo>"]
    rev_id = 60_000_000
    for page in pages:
        rev_id += rng.randint(1, 90_000)
        stamp = (f"20{rng.randint(15, 23)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                 f"T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z")
        if rng.random() < 0.2:
            contributor = f"        <ip>192.0.2.{rng.randint(1, 254)}</ip>"
        else:
            user = rng.choice(USERNAMES)
            contributor = (f"        <username>{escape(user)}</username>\n"
                           f"        <id>{1000 + USERNAMES.index(user) * 7919}</id>")
        out += ["  <page>", f"    <title>{escape(page.title)}</title>", f"    <ns>{page.ns}</ns>",
                f"    <id>{page.page_id}</id>"]
        if page.redirect:
            out.append(f"    <redirect title={quoteattr(page.redirect)} />")
        out += ["    <revision>", f"      <id>{rev_id}</id>",
                f"      <parentid>{rev_id - rng.randint(1, 5000)}</parentid>",
                f"      <timestamp>{stamp}</timestamp>", "      <contributor>", contributor,
                "      </contributor>", "      <model>wikitext</model>",
                "      <format>text/x-wiki</format>",
                f'      <text bytes="{len(page.text.encode("utf-8"))}" xml:space="preserve">'
                f"{escape(page.text)}</text>",
                f"      <sha1>{mediawiki_sha1(page.text)}</sha1>", "    </revision>", "  </page>"]
    out.append("</mediawiki>\n")
    return "\n".join(out).encode("utf-8")


def compress_dump(xml: bytes) -> bytes:
    """bz2 at level 9 (deterministic: bz2 writes no timestamp)."""
    return bz2.compress(xml, 9)
