"""The repeated-line rule on a small crawl: page chrome that no phrase rule knows goes, what
legitimately repeats stays (headings, dialogue, numbered headings, refrains, the middle of a
text), and the phrase rules' removals count into the edge runs."""

from __future__ import annotations

import numpy as np
import pytest

from corpus.clean.config import CleanConfig
from corpus.clean.linekeys import document_counts, line_keys
from corpus.clean.repeated import (
    FrequentLines,
    RepeatedRemoved,
    frequency_level,
    remove_repeated_lines,
)
from corpus.clean.rules import clean_text

CFG = CleanConfig()
MENU = "Aktualności – Poradniki – Sprzęt – Forum"
LOGIN = "Logowanie do panelu czytelnika"
CONSENT = "Nasz serwis zapisuje na Twoim urządzeniu niewielkie pliki tekstowe. Dalsze przeglądanie to zgoda."
SHARE = "Prześlij dalej znajomym"
FOOTER = "Warsztat IT 2011–2024, kopiowanie treści tylko za pisemną zgodą wydawcy"
BODIES = [f"Akapit {w} opisuje konfigurację sieci w domu i w biurze, krok po kroku.\n\nDrugi akapit {w}."
          for w in ("pierwszy", "drugi", "trzeci", "czwarty", "piąty", "szósty", "siódmy")]


def page(i: int) -> str:
    crumb = f"Warsztat IT :: Poradniki :: Tytuł strony {i} - część {i}"
    return "\n".join([MENU, LOGIN, crumb, CONSENT, BODIES[i], SHARE, f"Komentarzy pod wpisem: {i * 7}", FOOTER])


def man(name: str) -> str:
    return (f"NAZWA\n{name} - opis programu {name}\n\nOPIS\nProgram {name} robi coś pożytecznego.\n\n"
            f"ZOBACZ TAKŻE\n{name}rc(5)")


def frequent_of(texts: list[str]) -> FrequentLines:
    rows = document_counts(line_keys(texts), CFG.repeated_lines.edge_lines)
    rows = rows[rows["docs"] >= CFG.repeated_lines.min_docs_in_source]
    return FrequentLines(rows["hash"], frequency_level(rows["docs"]))


MAN_PAGES = ("cat", "ls", "cp", "mv", "rm", "ln", "df", "du", "id", "wc", "tr", "nl", "od", "pr", "tee",
             "yes", "who", "pwd", "env", "cut", "dd", "tac", "seq", "fmt", "expr", "sort", "uniq", "head", "tail")


@pytest.fixture(scope="module")
def frequent() -> FrequentLines:
    return frequent_of([page(i) for i in range(7)] + [man(n) for n in MAN_PAGES])


def test_page_chrome_goes_the_text_stays(frequent):
    removed = RepeatedRemoved()
    out, hits = remove_repeated_lines(page(3), frequent, CFG.repeated_lines, None, removed)
    assert out == BODIES[3]
    assert hits == 7  # menu, login, breadcrumb (bridged: its title is per page), consent; share, counter, footer
    assert {line for _, line in removed.lines} >= {MENU, CONSENT, FOOTER}


def test_man_page_headings_stay(frequent):
    text = man("ls")
    assert remove_repeated_lines(text, frequent, CFG.repeated_lines) == (text, 0)
    # Below a site's chrome too: "NAZWA" (in 29 documents) is a heading of man pages, far more
    # common than the site's lines (in 7).
    crawled = "\n".join([MENU, LOGIN, CONSENT, text])
    assert remove_repeated_lines(crawled, frequent, CFG.repeated_lines) == (text, 3)


def test_a_new_page_of_the_site_is_cleaned_too(frequent):
    text = "\n".join([MENU, LOGIN, "Nowy tekst, którego nikt jeszcze nie widział.", SHARE, FOOTER])
    assert remove_repeated_lines(text, frequent, CFG.repeated_lines)[0] == "Nowy tekst, którego nikt jeszcze nie widział."


@pytest.mark.parametrize("line", ["— Tak, to ja.", "– Nie wiem.", "1. Wstęp", "IV. Zakończenie", "§ 3. Przepisy"])
def test_dialogue_and_numbered_headings_are_protected(line):
    texts = [f"{line}\nWiersz {w} z treścią.\n{line}\nKoniec {w}." for w in ("a", "b", "c", "d", "e")]
    freq = frequent_of(texts)
    out = remove_repeated_lines(f"Zupełnie inna treść.\n{line}\n{line}", freq, CFG.repeated_lines)[0]
    assert line in out.split("\n")


def test_a_refrain_repeated_inside_the_document_stays():
    refrain = "A wiatr szumiał i szumiał nad polem całą noc"
    texts = [f"{refrain}\nZwrotka {w} pierwsza.\n{refrain}\nZwrotka {w} druga.\n{refrain}" for w in "abcde"]
    freq = frequent_of(texts)
    assert remove_repeated_lines(texts[0], freq, CFG.repeated_lines) == (texts[0], 0)


def test_lone_lines_short_at_the_top_long_or_at_the_bottom():
    cfg = CFG.repeated_lines
    heading, banner, counter = "Rozdział pierwszy", CONSENT, "Komentarzy: 3"
    texts = [f"{heading}\nTreść {w}.\n{counter}" for w in "abcde"] + [f"{banner}\nTreść {w}." for w in "abcde"]
    freq = frequent_of(texts)
    assert remove_repeated_lines(f"{heading}\nNowa treść.", freq, cfg)[0] == f"{heading}\nNowa treść."
    assert remove_repeated_lines(f"{banner}\nNowa treść.", freq, cfg)[0] == "Nowa treść."
    assert remove_repeated_lines(f"Nowa treść.\n{counter}", freq, cfg)[0] == "Nowa treść."


def test_the_middle_of_a_document_is_left_alone(frequent):
    text = f"Początek tekstu.\n{MENU}\n{CONSENT}\nKoniec tekstu."
    assert remove_repeated_lines(text, frequent, CFG.repeated_lines) == (text, 0)


def test_phrase_removals_count_into_the_run(frequent):
    # "Zaloguj się" goes by the phrase rules; with it, the short repeated line above the text is
    # part of a run of two, not a lone heading.
    texts = [f"Witamy\nZaloguj się\nTreść {w} strony." for w in "abcdefg"]
    freq = frequent_of(texts)
    result = clean_text("Witamy\nZaloguj się\nZupełnie nowa treść.", CFG, freq)
    assert result.text == "Zupełnie nowa treść."
    assert result.hits == {"boilerplate": 1, "repeated_lines": 1}
    assert clean_text("Witamy\nZaloguj się\nZupełnie nowa treść.", CFG).text == "Witamy\nZupełnie nowa treść."


def test_frequent_lines_table():
    f = FrequentLines(np.array([3, 7, 11], dtype=np.uint64))
    assert f.contains(np.array([0, 3, 4, 11, 12], dtype=np.uint64)).tolist() == [False, True, False, True, False]
    assert FrequentLines(np.zeros(0, np.uint64)).contains(np.array([1], np.uint64)).tolist() == [False]
    with pytest.raises(ValueError, match="sorted"):
        FrequentLines(np.array([7, 3], dtype=np.uint64))
