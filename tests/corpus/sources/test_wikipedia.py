"""Wikipedia: dump URLs and checksums, wikitext to plain text, pages to documents."""

from __future__ import annotations

import pytest
from source_fixtures import page_xml, write_wiki_dump

from corpus.sources import wikipedia
from corpus.sources.config import WikipediaConfig
from corpus.sources.records import Doc, Skipped

ARTICLE = """{{Infobox miasto
|nazwa = Kraków
|herb = Herb Krakowa.svg
}}
'''Kraków''' (łac. ''Cracovia'') – [[miasto]] w [[Polska|Polsce]], nad [[Wisła|Wisłą]].<ref>{{Cytuj stronę|url=http://x.pl|tytuł=X}}</ref> Ma [[#Historia|długą historię]] i&nbsp;zabytki.<!-- do uzupełnienia -->
[[Plik:Wawel.jpg|mały|Wzgórze [[Wawel]]]]

== Historia ==
Pierwsza wzmianka: [http://example.com dokument] z 965 r.<ref name="a" />
=== Średniowiecze ===
* stolica [[Królestwo Polskie|Królestwa]]
* siedziba ''[[Akademia Krakowska|Akademii]]''
{| class="wikitable"
! Rok !! Ludność
|-
| 1900 || 85 000
|}
Zobacz też: [[:Kategoria:Kraków|kategoria Kraków]].<br />Koniec.
__NOTOC__
[[Kategoria:Miasta w Polsce]]
[[en:Kraków]]
[[de:Krakau]]"""

EXPECTED = """Kraków (łac. Cracovia) – miasto w Polsce, nad Wisłą. Ma długą historię i zabytki.

Historia

Pierwsza wzmianka: dokument z 965 r.

Średniowiecze

stolica Królestwa
siedziba Akademii

Zobacz też: kategoria Kraków.
Koniec."""


def test_wikitext_becomes_plain_text():
    assert wikipedia.wikitext_to_text(ARTICLE) == EXPECTED


@pytest.mark.parametrize("markup, text", [
    ("'''pogrubione''' i ''kursywa'' i '''''oba'''''", "pogrubione i kursywa i oba"),
    ("[[Warszawa]] i [[Warszawa#Historia|historia]]", "Warszawa i historia"),
    ("x<ref>przypis</ref>y<references />", "xy"),
    ("a{{cytuj|b}}c{{#if:1|d}}", "ac"),
    ("[[File:A.png|thumb|opis]][[Grafika:B.jpg]]tekst", "tekst"),
    ("<math>x^2</math>wzór", "wzór"),
    ("a&ndash;b &amp; c", "a–b & c"),
    ("<nowiki>[[nie link]]</nowiki>", "[[nie link]]"),
    ("== Nagłówek ==\ntreść", "Nagłówek\n\ntreść"),
])
def test_markup_cases(markup, text):
    assert wikipedia.wikitext_to_text(markup) == text


def test_dump_urls():
    cfg = WikipediaConfig(base_url="http://127.0.0.1:9/dumps/", dump_date="20240101")
    assert wikipedia.dump_url(cfg) == \
        "http://127.0.0.1:9/dumps/plwiki/20240101/plwiki-20240101-pages-articles.xml.bz2"
    assert wikipedia.sha1sums_url(cfg) == "http://127.0.0.1:9/dumps/plwiki/20240101/plwiki-20240101-sha1sums.txt"
    latest = WikipediaConfig()
    assert wikipedia.dump_url(latest) == \
        "https://dumps.wikimedia.org/plwiki/latest/plwiki-latest-pages-articles.xml.bz2"
    own = WikipediaConfig(url="file:///m/plwiki-20230901-pages-articles.xml.bz2")
    assert wikipedia.dump_file_name(own) == "plwiki-20230901-pages-articles.xml.bz2"
    assert wikipedia.sha1sums_url(own) == "file:///m/plwiki-20230901-sha1sums.txt"


def test_sha1sums_lookup_including_latest():
    sums = wikipedia.parse_sha1sums(f"{'a' * 40}  plwiki-20240101-pages-articles.xml.bz2\n"
                                    f"{'b' * 40}  plwiki-20240101-stub-articles.xml.gz\nnoise\n")
    assert wikipedia.expected_sha1(sums, "plwiki-20240101-pages-articles.xml.bz2") == "a" * 40
    # `latest` lists dated names: the one pages-articles file of that wiki is the one.
    assert wikipedia.expected_sha1(sums, "plwiki-latest-pages-articles.xml.bz2") == "a" * 40
    assert wikipedia.expected_sha1(sums, "dewiki-latest-pages-articles.xml.bz2") is None


def test_dump_pages_become_docs_redirects_and_other_namespaces_are_counted(tmp_path):
    path = write_wiki_dump(tmp_path, [
        page_xml(12, "Kraków", 0, ARTICLE),
        page_xml(13, "Krakow", 0, "#PATRZ [[Kraków]]", redirect="Kraków"),
        page_xml(14, "Wikipedysta:Ktoś", 2, "strona użytkownika"),
        page_xml(15, "Kategoria:Miasta", 14, "kategoria"),
        page_xml(16, "Stary redirect", 0, "#REDIRECT [[Kraków]]"),
        page_xml(20, "Gdańsk", 0, "'''Gdańsk''' – miasto."),
    ])
    items = list(wikipedia.iter_docs(path))
    assert [type(i).__name__ for i in items] == ["Doc", "Skipped", "Skipped", "Skipped", "Skipped", "Doc"]
    assert [i.reason for i in items if isinstance(i, Skipped)] == \
        ["wiki_redirect", "wiki_non_article", "wiki_non_article", "wiki_redirect"]
    docs = [i for i in items if isinstance(i, Doc)]
    assert [(d.id, d.text) for d in docs] == [("wikipedia/0000000012", EXPECTED),
                                             ("wikipedia/0000000020", "Gdańsk – miasto.")]
    assert docs[1].meta == {"wiki": "plwiki", "page_id": 20, "title": "Gdańsk", "revision_id": 200,
                            "timestamp": "2024-01-01T00:00:00Z"}
