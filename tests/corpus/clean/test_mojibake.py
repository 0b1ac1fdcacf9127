"""Mojibake repair: the ftfy gate, our UTF-8 span repair, lost bytes, code-page swaps."""

from __future__ import annotations

import inspect
import re
from itertools import product
from re import _constants as sre_constants
from re import _parser as sre_parser

import ftfy
import pytest
from ftfy.badness import BADNESS_RE
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.clean import ftfy_gate, mojibake
from corpus.clean.ftfy_gate import FTFY_CONFIG, needs_ftfy
from corpus.clean.mojibake import fix_mojibake, repair_codepage_swap, repair_utf8_spans
from corpus.polish import PLAIN_CHARS

POLISH = (
    "Zażółć gęślą jaźń. Przeglądaj ikonę w menu, a następnie wybierz „Zapisz”.\n"
    "Łódź, Świętokrzyskie i Źródła Wisły – ĄĆĘŁŃÓŚŹŻ… Mężczyzna był bardzo zadowolony."
)


def sloppy(text: str, codec: str, layers: int = 1) -> str:
    """UTF-8 bytes read through `codec`, undefined bytes as C1 controls (as Windows does)."""
    for _ in range(layers):
        text = "".join(
            bytes([b]).decode(codec, errors="ignore") or chr(b) for b in text.encode("utf-8")
        )
    return text


@pytest.mark.parametrize("codec", ["cp1250", "cp1252", "iso-8859-2", "latin-1"])
@pytest.mark.parametrize("layers", [1, 2])
def test_whole_text_garbled_is_restored(codec, layers):
    garbled = sloppy(POLISH, codec, layers)
    assert garbled != POLISH
    assert fix_mojibake(garbled)[0] == POLISH


@pytest.mark.parametrize("codec,ftfy_fixes", [("cp1250", False), ("cp1252", False), ("iso-8859-2", True)])
def test_lone_garbled_word_in_clean_text_is_restored(codec, ftfy_fixes):
    # ftfy alone leaves a single cp1250/cp1252-garbled word in otherwise clean text as it is.
    text = "Na tej stronie możesz Przeglądaj ikonę i wrócić do początku."
    garbled = text.replace("Przeglądaj", sloppy("Przeglądaj", codec)).replace("ikonę", sloppy("ikonę", codec))
    assert (ftfy.fix_text(garbled, FTFY_CONFIG) == text) is ftfy_fixes
    fixed, count = fix_mojibake(garbled)
    assert fixed == text
    assert count == 2


def test_reading_with_polish_letters_wins():
    # "Ĺź" is "ż" through iso-8859-2 but "ş" through cp1250: the Polish reading wins.
    garbled = "Jeśli " + "użytkownik".encode().decode("iso-8859-2") + " chce"
    assert repair_utf8_spans(garbled)[0] == "Jeśli użytkownik chce"


@pytest.mark.parametrize("errors", ["replace", "ignore"])
def test_second_byte_lost_by_the_decoder(errors):
    # cp1250 leaves 0x98 and 0x81 undefined: "Ę" (C4 98) and "Ł" (C5 81) lose their second byte.
    text = "ĘTNA i ŁÓDŹ oraz mała łódka"
    garbled = text.encode("utf-8").decode("cp1250", errors=errors)
    assert fix_mojibake(garbled)[0] == text


def test_capital_n_with_acute_guessed_from_context():
    garbled = "KONIEC WYRAŻEŃ".encode().decode("cp1250", errors="replace")
    assert fix_mojibake(garbled)[0] == "KONIEC WYRAŻEŃ"


@pytest.mark.parametrize("written,read", [("cp1250", "cp1252"), ("iso-8859-2", "latin-1")])
def test_code_page_swap_is_reread(written, read):
    expected = POLISH.replace("„", '"').replace("”", '"').replace("–", "-").replace("…", "...")
    garbled = "".join(bytes([b]).decode(read, errors="ignore") or chr(b) for b in expected.encode(written))
    fixed, count = repair_codepage_swap(garbled)
    assert fixed == expected
    assert count > 10


@pytest.mark.parametrize(
    "text",
    [
        POLISH,
        "KOŚCIÓŁ WESÓŁ – ĆMA, ĘTNA, ŃÓŁ” i „ÓŁ…”",  # capitals that look like UTF-8 leads in cp1250
        "Ärger über Öl in Åland; São Paulo; crème brûlée; ¿Qué tal? ¡Hola! señor; être",
        "Příliš žluťoučký kůň úpěl ďábelské ódy. Ťažký",
        "Быстрая коричневая лиса; Ελληνικά; 日本語のテキスト",
        "Cena: 5 € – 10% taniej © 2023 ® ™ ° § · «cytat» ‚wewnątrz’ • punkt",
    ],
)
def test_clean_text_is_left_alone(text):
    assert fix_mojibake(text) == (text, 0)


@pytest.mark.parametrize("text", [
    "¿Dónde está? ¿Cuándo? ¡Ya! El niño y la niña.",
    "Le cœur de ma sœur bat pour une œuvre d'art; l'œil voit l'œuf.",
])
def test_foreign_letters_are_not_a_code_page_swap(text):
    assert repair_codepage_swap(text) == (text, 0)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(PLAIN_CHARS), max_size=60))
def test_ftfy_never_changes_what_the_gate_lets_past(text):
    # The gate's promise: a line it lets past is what ftfy would return, so skipping ftfy for
    # it changes nothing.
    if not needs_ftfy(text):
        assert ftfy.fix_text(text, FTFY_CONFIG) == text


TRICKY = "ĆĘŃÓŁŚŹŻąćęłńóśźż„”“–—…’‚«»°§·€©® "


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=st.sampled_from(TRICKY), max_size=12))
def test_gate_holds_for_polish_letter_and_punctuation_mixes(text):
    # Polish capitals are UTF-8 lead bytes in cp1250 and its punctuation continuation bytes:
    # the sequences most likely to tempt ftfy ("Ć°" is "ư" to it).
    if not needs_ftfy(text):
        assert ftfy.fix_text(text, FTFY_CONFIG) == text


def test_gate_catches_a_plain_pair_ftfy_would_change():
    assert ftfy.fix_text("Ć°", FTFY_CONFIG) != "Ć°"
    assert needs_ftfy("Ć°")
    assert not needs_ftfy("Część mężczyzn zaczęła już iść.")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(TRICKY + "abcdeklmnoprstwyz"), max_size=40))
def test_our_repair_never_changes_genuine_polish(text):
    assert repair_utf8_spans(text) == (text, 0)
    assert repair_codepage_swap(text) == (text, 0)


@pytest.mark.parametrize("codec", ["cp1250", "cp1252", "iso-8859-2", "latin-1"])
def test_no_run_of_plain_characters_converts(codec):
    # `repair_utf8_spans` scans only lines with a character outside the plain set; that is
    # exact because no sequence of plain characters decodes to a character it keeps: every
    # lead of the code page among them, with every continuation among them.
    table = mojibake._high_chars(codec)
    plain = [c for c in table if c in PLAIN_CHARS]
    converted = []
    for lead in plain:
        size = mojibake._utf8_length(table[lead])
        for rest in product(plain, repeat=max(size - 1, 0)) if size else ():
            new, fixed = mojibake._convert_run(lead + "".join(rest), codec)
            if fixed:
                converted.append(new)
    # cp1250's "Ć’" is UTF-8 for "ƒ", an inner layer of double mojibake: kept only when the
    # layers below resolve, which they cannot without another suspicious character.
    for new in converted:
        assert mojibake._INTERMEDIATE_RE.search(new)
        inner, _ = repair_utf8_spans(new)
        assert mojibake._INTERMEDIATE_RE.search(inner)
    assert len(converted) == (3 if codec == "cp1250" else 0)


def test_span_repair_reads_only_suspicious_lines_and_keeps_offsets():
    garbled = sloppy("Przeglądaj ikonę", "cp1250")
    text = "Część pierwsza.\n\n" + garbled + "\nDruga część: ęś ćż.\n" + garbled
    fixed, n = repair_utf8_spans(text)
    assert fixed == "Część pierwsza.\n\nPrzeglądaj ikonę\nDruga część: ęś ćż.\nPrzeglądaj ikonę"
    assert n == 4
    assert mojibake._suspicious_line_spans(text) == [
        (17, 17 + len(garbled)), (len(text) - len(garbled), len(text))]


def test_char_fixers_are_ftfys_own_in_its_order():
    # `_ftfy_lines` skips ftfy for lines these fixers and `fix_encoding` leave alone; an ftfy
    # that runs other fixers (or in another order) must fail here, not change output quietly.
    source = inspect.getsource(ftfy.fix_and_explain)
    listed = re.search(r"for fixer in \[(.*?)\]", source, re.DOTALL).group(1)
    assert tuple(re.findall(r'"(\w+)"', listed)) == ftfy_gate._FTFY_CHAR_FIXERS
    assert "fix_encoding" in source.split("for fixer in")[0]


PIECES = ["Ã³", "Ã ", "Â ", "Ä…", "â€™", "Å‚", "ﬁ", "Ａｂ", "\x85", "\x1b[31m", "Привет", "Р°", "─", "│x",
          "ą", "ł", "é", "×²", "ŒX", "Ã ", " ", "\n", "\r", "\u2028", "abc", "„”", "€"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_batched_ftfy_equals_ftfy_line_by_line(pieces):
    text = "".join(pieces)
    expected = "\n".join(ftfy.fix_text(line, FTFY_CONFIG) for line in text.split("\n"))
    assert ftfy_gate.ftfy_where_needed(text) == expected


def test_badness_pattern_needs_only_multiline_for_joined_lines():
    # `_ftfy_lines` runs ftfy's badness pattern over lines joined by "\n"; that finds every
    # line where it matches alone only if no construct looks beyond the line but "^".
    found = set()

    def walk(items):
        for op, av in items:
            if op in (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT,
                      sre_constants.GROUPREF, sre_constants.GROUPREF_EXISTS):
                found.add((op, av if op is sre_constants.AT else None))
            if op is sre_constants.BRANCH:
                for branch in av[1]:
                    walk(branch)
            elif op is sre_constants.SUBPATTERN:
                walk(av[-1])
            elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
                walk(av[2])

    walk(sre_parser.parse(BADNESS_RE.pattern, BADNESS_RE.flags).data)
    assert found <= {(sre_constants.AT, sre_constants.AT_BEGINNING)}


@pytest.mark.parametrize("text", ["é\nÃ rebours", "żółw é\nÂ tak", "é\n\nÃ  la"])
def test_batched_ftfy_sees_a_line_start_anchor_on_every_line(text):
    # ftfy's "^[ÂÃ] " matches at the start of a segment: every line, not only the first.
    expected = "\n".join(ftfy.fix_text(line, FTFY_CONFIG) for line in text.split("\n"))
    assert expected != text
    assert ftfy_gate.ftfy_where_needed(text) == expected
