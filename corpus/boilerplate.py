"""Boilerplate lines of Polish web pages: consent banners, sharing and login links, menus.

A line is boilerplate when the whole line (stripped) is one of these, never because a sentence
mentions the words: "Czytaj także: Jak wybrać rower" goes, "Warto czytać także poezję." stays.
Patterns are written from how Polish sites phrase them, not from any one data set:
- cookie / RODO (GDPR) consent: "Ta strona używa plików cookies…", "Administratorem Twoich
  danych osobowych jest…", "Akceptuję", "Zgadzam się";
- cross-links: "Czytaj także:", "Zobacz też:", "Czytaj więcej", "Przeczytaj również";
- sharing and accounts: "Udostępnij", "Podziel się", "Zaloguj się", "Zarejestruj się";
- rights: "Wszelkie prawa zastrzeżone", "© 2023 …", "Copyright …";
- contact lines: "Redakcja: redakcja@… | tel. 12 555 77 01", "Kontakt: biuro@…";
- advertising labels: "Reklama", "Artykuł sponsorowany";
- navigation: breadcrumbs ("Strona główna » Sport » Piłka"), menus ("O nas | Kontakt |
  Regulamin"), lone menu words ("Kontakt", "Newsletter", "REKLAMA", "Komentarze (12)").
"""

from __future__ import annotations

import re

# Lines longer than this are prose, whatever words they contain (a consent banner is the one
# long kind, and has its own, longer limit).
MAX_LINE_CHARS = 200
MAX_CONSENT_CHARS = 1000

_I = re.IGNORECASE

# Whole-line patterns (matched against the stripped line, case-insensitively).
_LINE_PATTERNS = [
    # cross-links: "Czytaj także: <title>", "Zobacz też", "Czytaj więcej »"
    r"(?:czytaj|przeczytaj|zobacz|sprawdź)(?:\s+(?:też|także|również|więcej|dalej|cały artykuł|"
    r"wszystkie|inne|podobne))+\b.*",
    r"(?:więcej|pokaż więcej|rozwiń|zwiń|czytaj dalej)\W*",
    r"(?:polecamy|warto przeczytać|powiązane artykuły|podobne artykuły|najnowsze artykuły|"
    r"najnowsze|najczęściej czytane|najpopularniejsze|czytaj również)(?:\s*[:»>].{0,150}|\W*)",
    # sharing, comments, printing
    r"(?:udostępnij|podziel się|share|tweetnij|wyślij znajomemu|skopiuj link)\b.{0,80}",
    r"(?:komentarze|komentarzy|skomentuj|dodaj komentarz|napisz komentarz|"
    r"zobacz komentarze|pokaż komentarze)\W*(?:\(?\d+\)?)?\W*",
    # accounts
    r"(?:zaloguj(?: się)?|zarejestruj(?: się)?|wyloguj(?: się)?|załóż konto|moje konto|"
    r"nie masz (?:jeszcze )?konta|zapomniałeś hasła|zapomniałem hasła|przypomnij hasło)\b.{0,80}",
    # rights (and "… Wszelkie prawa zastrzeżone." anywhere in a short line: `_RIGHTS_RE`)
    r"(?:©|\(c\)|copyright)\s*.{0,150}",
    # consent buttons and links
    r"(?:akceptuję|akceptuje|zgadzam się|nie zgadzam się|rozumiem|ok,? rozumiem|zamknij|"
    r"przejdź do serwisu|ustawienia (?:prywatności|cookies|plików cookie)|"
    r"polityka (?:prywatności|cookies|plików cookies?)|regulamin(?: serwisu)?)\W*",
    # navigation words standing alone
    r"(?:strona główna|start|menu|szukaj|drukuj|wyszukaj|kontakt|o nas|mapa strony|newsletter|"
    r"reklama|partnerzy|przejdź do (?:treści|menu|wyszukiwarki)|do góry|powrót|wróć|"
    r"poprzedni(?: artykuł| wpis)?|następny(?: artykuł| wpis)?|"
    r"obserwuj nas.{0,60}|polub nas.{0,60}|znajdź nas.{0,60}|"
    r"zapisz się(?: do newslettera)?.{0,60}|tagi:.{0,150}|tagi|kategorie:.{0,150})\W*",
    # advertising labels
    r"(?:reklama|artykuł sponsorowany|materiał sponsorowany|tekst sponsorowany|"
    r"materiał partnera|materiał promocyjny|partner (?:serwisu|działu))\W*",
]
_LINE_RE = re.compile("(?:" + "|".join(_LINE_PATTERNS) + r")\Z", _I)

_RIGHTS_RE = re.compile(r"wszelkie prawa zastrzeżone", _I)
_CONSENT_WORDS = ("cookie", "ciasteczk", "danych osobowych", "dane osobowe")
_RODO_RE = re.compile(r"\brodo\b")
_MENU_CHARS = frozenset("»›>→|•·")

# Consent banners: a line about cookies or personal data that states or asks for consent.
# An article explaining what cookies are does neither, and stays.
_CONSENT_TOPIC_RE = re.compile(r"cookie|ciasteczk|\bRODO\b|danych osobowych|dane osobowe", _I)
_CONSENT_ASK_RE = re.compile(
    r"(?:strona|witryna|serwis|portal|sklep)\w*\s+(?:internetow\w+\s+)?(?:używa|wykorzystuje|"
    r"korzysta|stosuje)|korzystając ze? (?:naszej |tej )?(?:strony|witryny|serwisu)|"
    r"wyrażasz zgodę|wyrażam zgodę|akceptujesz|zgod\w+ na (?:używanie|wykorzystywanie|"
    r"przetwarzanie|stosowanie|zapisywanie)|administrator\w* (?:twoich |pani/pana |państwa )?"
    r"danych",
    _I,
)

# Breadcrumbs start at a home link: "Strona główna » Sport » Piłka nożna".
_HOME_RE = re.compile(r"(?:strona główna|start|home|główna)\s*(?:»|›|>|→|/|\|)", _I)
# Menus: short items between separators: "O nas | Oferta | Kontakt".
_MENU_SEP_RE = re.compile(r"\s*(?:»|›|>|→|\||•|·)\s*")
_SENTENCE_END_RE = re.compile(r"[.!?]\Z")
_LETTER_RE = re.compile(r"[^\W\d_]")


def _is_menu(line: str) -> bool:
    """Three or more short items (a few words, with a letter, not a sentence) between separators."""
    if len(_MENU_SEP_RE.findall(line)) < 2:
        return False
    parts = [p for p in _MENU_SEP_RE.split(line) if p]
    return len(parts) >= 3 and all(
        len(p) <= 30 and len(p.split()) <= 4 and _LETTER_RE.search(p) and not _SENTENCE_END_RE.search(p)
        for p in parts
    )


# Contact lines of a site's chrome: an address or number after "Kontakt:", "Redakcja:",
# "Masz pytania?", or with next to nothing else on the line. (The PII rules mask addresses in
# prose; these lines are not prose.)
_CONTACT_START_RE = re.compile(
    r"(?:kontakt|redakcja|biuro|sekretariat|obsługa klienta|infolinia|napisz|zadzwoń|"
    r"masz pytania|pytania\?|e-?mail|tel\.?|telefon|adres)\b", _I
)
_CONTACT_RE = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:(?:\+|00)\s?48[ -]?)?\(?\d{2,3}\)?[ -]\d{3}[ -]\d{2,3}(?:[ -]\d{2})?"
)
MAX_CONTACT_CHARS = 160
MAX_OTHER_WORDS = 3  # words besides the addresses and numbers


# A cheap first test (a character class first lets the regex engine skip ahead in C).
_PHONEISH_RE = re.compile(r"[0-9]{2,3}\)?[ -][0-9]{3}")


def _maybe_contact(text: str) -> bool:
    return "@" in text or _PHONEISH_RE.search(text) is not None


def _is_contact(line: str) -> bool:
    if len(line) > MAX_CONTACT_CHARS or not _maybe_contact(line) or not _CONTACT_RE.search(line):
        return False
    if _CONTACT_START_RE.match(line):
        return True
    return len(_CONTACT_RE.sub(" ", line).split()) <= MAX_OTHER_WORDS


def is_boilerplate(line: str, *, consent_possible: bool = True, rights_possible: bool = True,
                   contact_possible: bool = True) -> bool:
    """True if the (stripped) line is boilerplate of a Polish web page.

    The `*_possible` flags, when False, skip checks the caller knows cannot match (the whole
    text mentions no cookies or personal data / no reserved rights / has no address or number).
    """
    n = len(line)
    if not n:
        return False
    if n <= MAX_LINE_CHARS:
        if _LINE_RE.match(line) or _HOME_RE.match(line):
            return True
        if rights_possible and _RIGHTS_RE.search(line):
            return True
        if not _MENU_CHARS.isdisjoint(line) and _is_menu(line):
            return True
        if contact_possible and _is_contact(line):
            return True
    if consent_possible and n <= MAX_CONSENT_CHARS and _CONSENT_TOPIC_RE.search(line):
        return bool(_CONSENT_ASK_RE.search(line))
    return False


def remove_boilerplate(text: str) -> tuple[str, int]:
    """Drop boilerplate lines; returns (text, lines removed). Blank lines are left for `whitespace`."""
    # Whole-text substring tests first (C speed): most texts mention neither, and then no line
    # needs the slower case-insensitive patterns.
    lowered = text.lower()
    consent = any(word in lowered for word in _CONSENT_WORDS) or (
        "rodo" in lowered and _RODO_RE.search(lowered) is not None  # not "środowisko"
    )
    rights = "prawa zastrzeżone" in lowered
    contact = _maybe_contact(text)
    lines = text.split("\n")
    kept = [
        line for line in lines
        if not is_boilerplate(line.strip(), consent_possible=consent, rights_possible=rights,
                              contact_possible=contact)
    ]
    removed = len(lines) - len(kept)
    return ("\n".join(kept), removed) if removed else (text, 0)
