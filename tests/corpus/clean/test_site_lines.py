"""The site-line rule on a small crawl: lines a site inserts inside its pages' texts (an ad
label, "read also: <title>") go, found by their association with the site's chrome; the genre's
headings, published with and without the site, and dialogue stay; each removal is counted."""

from __future__ import annotations

import numpy as np
import pytest

from corpus.clean.config import CleanConfig
from corpus.clean.linekeys import document_counts, line_keys
from corpus.clean.repeated import FrequentLines, frequency_level
from corpus.clean.rules import clean_text
from corpus.clean.sitelines import count_rows, remove_site_lines, select_pairs, site_keys, sum_pairs

CFG = CleanConfig()
RCFG = CFG.repeated_lines
MENU = "Aktualności – Poradniki – Sprzęt – Forum"
LOGIN = "Logowanie do panelu czytelnika"
SHARE = "Prześlij dalej znajomym"
FOOTER = "Warsztat IT 2011–2024, kopiowanie treści tylko za pisemną zgodą wydawcy"
AD = "Materiał partnera serwisu"
DIALOGUE = "— Ania: dobrze, zaczynajmy"
NAMES = ("cat", "ls", "cp", "mv", "rm", "ln", "df", "du", "id", "wc", "tr", "nl", "od", "pr", "tee", "yes")


def man(name: str, inserted: tuple[str, ...] = ()) -> str:
    """A man page; `inserted` lines go at its breaks, one each, from the last break up."""
    paragraphs = [f"NAZWA\n{name} - narzędzie {name}", f"OPIS\nProgram {name} czyta pliki i pisze wynik.",
                  f"Opcje programu {name} zmieniają jego działanie.", f"UWAGI\nProgram {name} bywa powolny.",
                  f"ZOBACZ TAKŻE\n{name}rc(5)"]
    for k, line in enumerate(inserted):
        at = len(paragraphs) - 1 - k
        paragraphs[at] = f"{line}\n{paragraphs[at]}"
    return "\n\n".join(paragraphs)


def page(i: int) -> str:
    """A page of the site: its chrome around a man page, with the site's insertions inside."""
    name = NAMES[i]
    inserted = [(AD, f"Dalsze lektury: narzędzie {NAMES[i + 1]}"), (f"Dalsze lektury: narzędzie {NAMES[i + 2]}", AD),
                (AD,), (f"Dalsze lektury: narzędzie {NAMES[i + 3]}",)][i % 4]
    if i % 2:
        inserted = (*inserted, DIALOGUE)
    return "\n".join([MENU, LOGIN, man(name, inserted), SHARE, FOOTER])


SITE = [page(i) for i in range(8)]
# The same genre published without the site (four times as many: NAZWA then is the pages' first
# heading to the repeated-line rule, `repeated._is_heading`).
ELSEWHERE = [man(f"{n}{k}") for k in range(2) for n in NAMES]


@pytest.fixture(scope="module")
def tables() -> tuple[FrequentLines, np.ndarray]:
    texts = SITE + ELSEWHERE
    rows = document_counts(line_keys(texts), RCFG.edge_lines)
    rows = rows[rows["docs"] >= RCFG.min_docs_in_source]
    frequent = FrequentLines(rows["hash"], frequency_level(rows["docs"]))
    halves = [count_rows(texts[:10], frequent, RCFG)[0], count_rows(texts[10:], frequent, RCFG)[0]]
    summed = np.concatenate(halves)  # two parts, added up as the merge does
    return frequent, select_pairs(sum_pairs(summed["site"], summed["chrome"], summed["docs"].astype(np.int64)), RCFG)


def test_inserted_lines_go_headings_and_dialogue_stay(tables):
    frequent, pairs = tables
    for i, text in enumerate(SITE):
        result = clean_text(text, CFG, frequent, None, pairs)
        lines = result.text.split("\n")
        assert AD not in lines and not any(line.startswith("Dalsze lektury:") for line in lines)
        assert {"NAZWA", "OPIS", "UWAGI", "ZOBACZ TAKŻE"} <= set(lines)
        assert MENU not in lines and FOOTER not in lines
        assert (DIALOGUE in lines) == bool(i % 2)
        planted = sum(line == AD or line.startswith("Dalsze lektury:") for line in text.split("\n"))
        assert result.hits["site_lines"] == planted


def test_pages_without_chrome_are_left_alone(tables):
    frequent, pairs = tables
    text = man("sort", (AD, "Dalsze lektury: narzędzie uniq"))  # no chrome: no site to tell it by
    assert "site_lines" not in clean_text(text, CFG, frequent, None, pairs).hits


def test_only_lines_inside_the_text_go(tables):
    _, pairs = tables
    chrome: set[int] = set()
    from corpus.clean.repeated import remove_repeated_lines

    remove_repeated_lines(SITE[0], tables[0], RCFG, chrome=chrome)
    assert remove_site_lines(f"{AD}\nJedyny akapit tekstu.", pairs, chrome, RCFG) == (f"{AD}\nJedyny akapit tekstu.", 0)
    assert remove_site_lines(f"Akapit.\n{AD}\nAkapit drugi.", pairs, chrome, RCFG) == ("Akapit.\nAkapit drugi.", 1)


@pytest.mark.parametrize("line, keyed", [
    ("Reklama", True), ("Materiał partnera serwisu", True), ("Czytaj także: Jak skonfigurować sieć w domu", True),
    ("#include <stdio.h>", False), ("int main(int argc, char *argv[]);", False), ("2024-05-01 12:00", False),
    ("To jest zwykłe, długie zdanie tekstu, które ma znacznie więcej niż dwanaście słów w jednej linii.", False),
])
def test_site_keys(line, keyed):
    keys, starts = site_keys([line, "Reklama\nCzytaj także: inny tytuł"], RCFG)
    assert bool(keys[0]) == keyed
    assert list(starts) == [0, 1, 3]
    assert keys[1] != keys[2] and keys[2] == site_keys(["czytaj także: Jeszcze inny"], RCFG)[0][0]
