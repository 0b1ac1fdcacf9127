"""Cleaning rules one by one: exact output text and hit counts; then the whole pipeline."""

from __future__ import annotations

import pytest

from corpus.clean.boilerplate import is_boilerplate, remove_boilerplate
from corpus.clean.config import CleanConfig
from corpus.clean.pii import mask_emails, mask_phones
from corpus.clean.rules import (
    CLEAN_RULE_NAMES,
    clean_text,
    rule_control_chars,
    rule_html,
    rule_nfc,
    rule_replacement_chars,
    rule_symbol_lines,
    rule_whitespace,
)

CFG = CleanConfig()


def test_html_tags_comments_scripts_and_entities():
    text = '<p>Ala&nbsp;ma <b>kota</b> &amp; psa<!-- x --></p><script>var a = "<p>";</script>&#261;&unknown;'
    out, hits = rule_html(text, CFG)
    assert out == "\nAla\u00a0ma kota & psa\n\ną&unknown;"
    assert hits == 4 + 1 + 1 + 3  # p, /p, b, /b; the comment; the script; three entities


def test_html_leaves_comparisons_alone():
    text = "Jeśli a < b i b > c, to a < c."
    assert rule_html(text, CFG) == (text, 0)


def test_control_chars_zero_width_and_line_breaks():
    text = "Ala\u200b ma\u00ad kota\r\npsa\rkota\u2028\x07koniec\ufeff"
    out, hits = rule_control_chars(text, CFG)
    assert out == "Ala ma kota\npsa\nkota\nkoniec"
    assert hits == 3 + 4  # \r\n, \r, U+2028; zero-width space, soft hyphen, bell, BOM


def test_nfc_composes_polish_letters():
    decomposed = "zo\u0301łty z\u0307o\u0142a\u0328dek"
    out, hits = rule_nfc(decomposed, CFG)
    assert out == "zółty żołądek"
    assert hits == 1
    assert rule_nfc("zółty", CFG) == ("zółty", 0)


def test_replacement_characters_are_removed_and_counted():
    text = b"Zep\xb3uta linia \xff".decode("utf-8", errors="replace")
    assert rule_replacement_chars(text, CFG) == ("Zeputa linia ", 2)


def test_whitespace():
    text = "  Ala\u00a0 ma\tkota  \n\n\n\n  Drugi akapit. \n"
    out, hits = rule_whitespace(text, CFG)
    assert out == "Ala ma kota\n\nDrugi akapit."
    assert hits == 1
    assert rule_whitespace("Już czyste.\n\nTak.", CFG) == ("Już czyste.\n\nTak.", 0)
    # A run that mixes kinds of space is one run, whatever comes first.
    assert rule_whitespace("a \tb\t c \u00a0 d\u3000e", CFG) == ("a b c d e", 1)


def test_symbol_lines():
    text = "Tytuł\n-----\n* * *\n\nTreść 1.\n|\n»»»"
    assert rule_symbol_lines(text, CFG) == ("Tytuł\n\nTreść 1.", 4)


@pytest.mark.parametrize(
    "line",
    [
        "Czytaj także: Jak wybrać rower na zimę",
        "Zobacz też: Rower miejski",
        "Strona główna » Sport » Piłka nożna",
        "Główna » Archiwum » Szukaj",
        "O nas | Oferta | Galeria | Kontakt",
        "Ta strona używa plików cookies. Korzystając ze strony, wyrażasz zgodę na ich używanie.",
        "Administratorem Twoich danych osobowych jest Wydawca. Dane przetwarzamy zgodnie z RODO.",
        "Serwis wykorzystuje pliki cookie w celu zapewnienia poprawnego działania. Zamknij",
        "Udostępnij: Facebook | X | E-mail",
        "Zaloguj się | Zarejestruj się | Nie pamiętasz hasła?",
        "© 2008–2023 Gazeta Lokalna. Wszelkie prawa zastrzeżone.",
        "Redakcja: redakcja@gazeta.invalid | tel. 12 555 77 01",
        "Komentarze (12)",
        "REKLAMA",
        "Artykuł sponsorowany",
        "Akceptuję",
    ],
)
def test_boilerplate_lines(line):
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "Warto czytać także poezję, bo uczy uważności.",
        "Pliki cookies to małe pliki tekstowe, które przeglądarka zapisuje na dysku.",
        "Zgadzam się w stu procentach.",
        "Polecamy lekturę tej książki wszystkim miłośnikom gór.",
        "12/05/2020",
        # Section headings of man pages and Wikipedia, not cross-links (the first wave dropped
        # them: one line of every man page); a related-links block around them at a page's edge
        # is the repeated-line rule's.
        "Zobacz też",
        "ZOBACZ TAKŻE",
        # Code and option syntax, not menus.
        "_ISOC99_SOURCE || _POSIX_C_SOURCE >= 200112L",
        "--pdeathsig keep|clear|<nazwa>",
        "Zaloguj się do banku tylko z zaufanego komputera, a potem sprawdź historię logowań i ustawienia konta, "
        "bo to najprostszy sposób na wykrycie, że ktoś inny znał Twoje hasło i korzystał z konta bez Twojej wiedzy.",
    ],
)
def test_prose_is_not_boilerplate(line):
    assert not is_boilerplate(line)


def test_remove_boilerplate_keeps_line_structure():
    text = "Strona główna » Blog » Wpis\nPierwszy akapit.\nUdostępnij\n\nDrugi akapit."
    assert remove_boilerplate(text) == ("Pierwszy akapit.\n\nDrugi akapit.", 2)


def test_emails_masked():
    text = "Pisz: jan.kowalski+news@poczta.example.pl, albo @ktoś na forum; a@b to nie adres."
    assert mask_emails(text, "email@example.com") == (
        "Pisz: email@example.com, albo @ktoś na forum; a@b to nie adres.", 1)


@pytest.mark.parametrize(
    "text,expected,n",
    [
        ("Zadzwoń: +48 22 123 45 67.", "Zadzwoń: 000 000 000.", 1),
        ("tel. 601 234 567, fax (22) 123-45-67", "tel. 000 000 000, fax 000 000 000", 2),
        ("Infolinia 601-234-567", "Infolinia 000 000 000", 1),
        ("Budżet: 123 456 789 zł w 2023 roku.", "Budżet: 123 456 789 zł w 2023 roku.", 0),
        ("ISBN 978-123-456-789-0", "ISBN 978-123-456-789-0", 0),
    ],
)
def test_phones_masked_only_where_they_are_phones(text, expected, n):
    assert mask_phones(text, "000 000 000") == (expected, n)


def test_pipeline_exact_output_and_counts():
    text = (
        "Strona główna » Forum » Humor\r\n"
        "<p>PrzeglÄ…daj&nbsp;tę stronę\u200b, pisz: jan@przyklad.pl, tel. 601 234 567.</p>\r\n"
        "-----\r\n\r\n\r\n"
        "Koniec   tekstu.\t\r\n"
        "© 2023 Forum. Wszelkie prawa zastrzeżone."
    )
    result = clean_text(text, CFG)
    assert result.text == (
        "Przeglądaj tę stronę, pisz: email@example.com, tel. 000 000 000.\n\nKoniec tekstu."
    )
    assert result.hits == {
        "mojibake": 1, "html": 3, "control_chars": 7, "boilerplate": 2, "symbol_lines": 1,
        "emails": 1, "phones": 1, "whitespace": 1,
    }
    assert result.chars_removed["mojibake"] == 1
    assert set(result.hits) <= set(CLEAN_RULE_NAMES)


def test_switched_off_rules_do_nothing():
    cfg = CleanConfig(mask_emails=False, remove_boilerplate=False)
    text = "Zaloguj się\njan@przyklad.pl"
    assert clean_text(text, cfg).text == text


@pytest.mark.parametrize("text", ["", "   \n\t \n  ", "\u200b\u200b", "-----\n***"])
def test_nothing_left_is_empty_text(text):
    assert clean_text(text, CFG).text == ""


def test_cleaning_is_idempotent_on_clean_text():
    text = "Zażółć gęślą jaźń. To jest „cytat” – i koniec…\n\nDrugi akapit z liczbą 1 000 000."
    assert clean_text(text, CFG).text == text
    assert clean_text(text, CFG).hits == {}
