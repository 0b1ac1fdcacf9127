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
from itertools import compress, count

try:  # the regex parser (a private module, named sre_parse before Python 3.11)
    from re import _constants as _sre_constants
    from re import _parser as _sre_parser
except ImportError:  # pragma: no cover
    import sre_constants as _sre_constants  # noqa: E401
    import sre_parse as _sre_parser

from corpus.clean.lines import matching_lines

# Lines longer than this are prose, whatever words they contain (a consent banner is the one
# long kind, and has its own, longer limit).
MAX_LINE_CHARS = 200
MAX_CONSENT_CHARS = 1000

_I = re.IGNORECASE

# Whole-line patterns (matched against the stripped line, case-insensitively).
_LINE_PATTERNS = [
    # cross-links: "Czytaj także: <title>", "Zobacz też: <title>", "Czytaj więcej »". A bare
    # "Zobacz też" / "ZOBACZ TAKŻE" is a section heading (every man page's SEE ALSO, Wikipedia's
    # "Zobacz też"): it stays; a block of related links around it at a page's edge is left to the
    # repeated-line rule.
    r"(?:czytaj|przeczytaj|zobacz|sprawdź)(?:\s+(?:też|także|również|więcej|dalej|cały artykuł|"
    r"wszystkie|inne|podobne))+(?:\s*[:»>].*|\s+\w.*|\W*)(?<!też)(?<!także)(?<!również)",
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
# "rodo" is inside "narodowy", "przyrodo...": the word alone, written to start with a literal
# so that the engine skips ahead in C (a leading word boundary made it try every position).
_RODO_RE = re.compile(r"r(?<!\w.)odo(?!\w)")
_MENU_CHARS = frozenset("»›>→|•·")

# Consent banners: a line about cookies or personal data that states or asks for consent.
# An article explaining what cookies are does neither, and stays.
# Every branch starts with a letter, so the engine can skip ahead to a "c", "d" or "r" in C;
# "r(?<!\w.)odo(?!\w)" is "\bRODO\b" written so (the letter before "r" is not a word character).
_CONSENT_TOPIC_RE = re.compile(
    r"c(?:ookie|iasteczk)|d(?:anych osobowych|ane osobowe)|r(?<!\w.)odo(?!\w)", _I)
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
# "»", "›", "→", "•", "·" separate menu items as they are; "|" and ">" only with a space on each
# side ("a || b", "x >= 1", "keep|clear" are code and option syntax, not menus).
_MENU_SEP_RE = re.compile(r"\s*[»›→•·]\s*|\s+[|>]\s+")
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


# A cheap first test (a character class first lets the regex engine skip ahead in C): what
# every phone number `_CONTACT_RE` finds holds, "22 123 45" of "(22) 123 45 67" (ASCII digits).
_PHONEISH_TAIL = r"\)?[ -][0-9]{3}[ -][0-9]{2}"
_PHONEISH_RE = re.compile(r"[0-9][0-9]" + _PHONEISH_TAIL)  # not "[0-9]{2}": no skip-ahead for a repeat


def _maybe_contact(text: str) -> bool:
    return "@" in text or _PHONEISH_RE.search(text) is not None


def _is_contact(line: str) -> bool:
    return _maybe_contact(line) and _is_contact_hinted(line)


def _is_contact_hinted(line: str) -> bool:
    """`_is_contact` for a line already known to hold an "@" or a phone-like number."""
    if len(line) > MAX_CONTACT_CHARS or not _CONTACT_RE.search(line):
        return False
    if _CONTACT_START_RE.match(line):
        return True
    return len(_CONTACT_RE.sub(" ", line).split()) <= MAX_OTHER_WORDS


# --------------------------------------------------------------------------- prefilter
# `_LINE_RE` is an alternation of ~100 case-insensitive branches, and the regex engine tries
# them one by one (about 1.3 us a line, most of this rule's time). A line it matches starts
# with one of the literal prefixes of its branches, so a trie of those prefixes, matched with
# the same flags, is a first test that never rejects a line `_LINE_RE` or `_HOME_RE` accepts.
# The prefixes are read off the patterns themselves, so the two never drift apart.


def _literal_prefixes(items) -> list[str]:
    """Literal strings one of which starts every match of a parsed regex sequence."""
    outs = [""]
    for op, av in items:
        if op is _sre_constants.LITERAL:
            outs = [o + chr(av) for o in outs]
            continue
        if op is _sre_constants.SUBPATTERN:
            subs = _literal_prefixes(av[-1])
        elif op is _sre_constants.BRANCH:
            subs = [s for alt in av[1] for s in _literal_prefixes(alt)]
        else:  # a repeat, a class, an assertion...: the literal part ends here
            return outs
        return [o + s for o in outs for s in subs]  # stop after a group (shorter is safe)
    return outs


def _trie_regex(words: list[str]) -> str:
    """A regex matching exactly the strings that start with one of `words` (a trie, so the
    engine tests a character or two per branch level instead of every word)."""
    if "" in words:
        return ""
    groups: dict[str, list[str]] = {}
    for w in sorted(words):
        groups.setdefault(w[0], []).append(w[1:])
    branches = [re.escape(c) + _trie_regex(rest) for c, rest in groups.items()]
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def _line_prefix_re() -> re.Pattern:
    prefixes: set[str] = set()
    for pattern in (*_LINE_PATTERNS, _HOME_RE.pattern):
        prefixes.update(_literal_prefixes(list(_sre_parser.parse(pattern, _I))))
    return re.compile(_trie_regex(sorted(prefixes)), _I)


_LINE_PREFIX_RE = _line_prefix_re()


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
        if _LINE_PREFIX_RE.match(line) and (_LINE_RE.match(line) or _HOME_RE.match(line)):
            return True
        if rights_possible and _RIGHTS_RE.search(line):
            return True
        if not _MENU_CHARS.isdisjoint(line) and _is_menu(line):
            return True
        if contact_possible and _is_contact(line):
            return True
    return consent_possible and _is_consent(line)


def _is_consent(line: str) -> bool:
    return len(line) <= MAX_CONSENT_CHARS and bool(_CONSENT_TOPIC_RE.search(line)) and bool(
        _CONSENT_ASK_RE.search(line))


# `is_boilerplate` is an "or" of these checks; each runs only on the lines its first test
# marked. (name, whole-text first test: a regex that cannot match across a line break, and
# the check of one stripped line.)
def _is_listed(line: str) -> bool:
    return len(line) <= MAX_LINE_CHARS and bool(_LINE_RE.match(line) or _HOME_RE.match(line))


def _is_rights(line: str) -> bool:
    return len(line) <= MAX_LINE_CHARS and bool(_RIGHTS_RE.search(line))


def _is_menu_line(line: str) -> bool:
    return len(line) <= MAX_LINE_CHARS and _is_menu(line)


def _is_contact_line(line: str) -> bool:
    return len(line) <= MAX_LINE_CHARS and _is_contact_hinted(line)  # marked by `_CONTACT_HINT_RE`


_MENU_CLASS = "[" + re.escape("".join(sorted(_MENU_CHARS))) + "]"
# A line with two separators (`_is_menu` needs two): one in ten lines with a separator in man
# pages and shell snippets ("2>&1", "a | b"), so nine in ten never reach `_is_menu`.
_MENU_PAIR_RE = re.compile(f"{_MENU_CLASS}[^\n{_MENU_CLASS[1:-1]}]*{_MENU_CLASS}")
# `_maybe_contact` as one scan: "@" or `_PHONEISH_RE`, written to start with one class so that
# the engine skips ahead in C (the alternation "@|[0-9]..." was twice as slow).
_CONTACT_HINT_RE = re.compile(r"[@0-9](?:(?<=@)|(?<=[0-9])[0-9]" + _PHONEISH_TAIL + ")")
# A line `_LINE_RE` or `_HOME_RE` matches once stripped: leading whitespace, then a prefix.
_LINE_START_RE = re.compile(r"\s*" + _LINE_PREFIX_RE.pattern, _I)


def boilerplate_lines(text: str) -> tuple[list[str], set[int]]:
    """The text's lines and the indices of its boilerplate lines.

    `is_boilerplate` decides every line it is asked about; only lines that pass one of its
    first tests are asked. Those tests run over the whole text at C speed (a menu character,
    an "@" or a phone-like number, the rights or consent words) or as one prefix match per
    line, so most lines never reach Python code.
    """
    # Whole-text substring tests first (C speed): most texts mention neither, and then no line
    # needs the slower case-insensitive patterns.
    lowered = text.lower()
    consent = any(map(lowered.__contains__, _CONSENT_WORDS)) or (
        "rodo" in lowered and _RODO_RE.search(lowered) is not None  # not "środowisko"
    )
    rights = "prawa zastrzeżone" in lowered
    contact = _maybe_contact(text)
    lines = text.split("\n")
    # (map and compress keep the per-line loop in C: most documents are short, and this rule's
    # fixed cost per document counts as much as its cost per character.)
    checks: list[tuple[set[int], object]] = [
        (set(compress(count(), map(_LINE_START_RE.match, lines))), _is_listed)]
    for wanted, first_test, check in (
        (True, _MENU_PAIR_RE, _is_menu_line),
        (contact, _CONTACT_HINT_RE, _is_contact_line),
        (rights, _RIGHTS_RE, _is_rights),
        (consent, _CONSENT_TOPIC_RE, _is_consent),
    ):
        if wanted:
            checks.append((matching_lines(text, first_test), check))
    drop: set[int] = set()
    for marked, check in checks:
        if marked:
            drop.update(i for i in marked - drop if check(lines[i].strip()))
    return lines, drop


def remove_boilerplate(text: str) -> tuple[str, int]:
    """Drop boilerplate lines; returns (text, lines removed). Blank lines are left for `whitespace`."""
    lines, drop = boilerplate_lines(text)
    if not drop:
        return text, 0
    return "\n".join(line for i, line in enumerate(lines) if i not in drop), len(drop)


def remove_boilerplate_gaps(text: str) -> tuple[str, int, list[int] | None]:
    """`remove_boilerplate`, and where the removed lines were: `gaps[i]` lines were removed
    just before kept line `i` (`gaps[-1]`: after the last); None when none was. The
    repeated-line rule runs after this one and counts them into its edge runs."""
    lines, drop = boilerplate_lines(text)
    if not drop:
        return text, 0, None
    gaps = [0]
    kept = []
    for i, line in enumerate(lines):
        if i in drop:
            gaps[-1] += 1
        else:
            kept.append(line)
            gaps.append(0)
    return "\n".join(kept), len(drop), gaps
