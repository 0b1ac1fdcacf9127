"""The synthetic "crawled web" side of the mirror: forum threads and planted web boilerplate.

Threads are made of fortunes (one fortune per post). Boilerplate is planted as whole lines
(menus, breadcrumbs, cookie/RODO notices, "Czytaj także", share buttons, footers, contact
lines with an e-mail address and a phone number, lines of symbols), so that removing exactly
the planted lines gives back the original text byte for byte. Site-wide lines repeat across
every page of a site (as on a real crawl); breadcrumbs and "Czytaj także" lines are per page.
Domains end in `.invalid` (RFC 2606): nothing here points at a real site or person.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    """One fictional website whose chrome we plant."""

    name: str
    domain: str
    section: str
    menu: str
    cookie: str
    login: str
    share: str
    footer: str
    contact: str


SITES = [
    Site(name="Forum Kuźnia", domain="forum.kuznia-demo.invalid", section="Humor",
         menu="Strona główna | Forum | Artykuły | Galeria | Kontakt",
         cookie=("Ta strona używa plików cookies. Korzystając ze strony, wyrażasz zgodę na ich "
                 "używanie zgodnie z ustawieniami przeglądarki. Więcej w Polityce prywatności."),
         login="Zaloguj się | Zarejestruj się | Nie pamiętasz hasła?",
         share="Udostępnij: Facebook | X | E-mail",
         footer="© 2008–2023 Forum Kuźnia. Wszelkie prawa zastrzeżone.",
         contact="Kontakt z administracją: admin@forum.kuznia-demo.invalid, tel. +48 22 555 01 23"),
    Site(name="Portal Kowadło", domain="kowadlo-demo.invalid", section="Rozrywka",
         menu="Start | Wiadomości | Rozrywka | O nas | Kontakt",
         cookie=("Administratorem Twoich danych osobowych jest Portal Kowadło. Dane przetwarzamy "
                 "zgodnie z RODO w celach statystycznych i marketingowych. Akceptuję | Ustawienia"),
         login="Zaloguj się",
         share="Udostępnij | Skomentuj | Drukuj",
         footer="Copyright © Portal Kowadło 2010-2023 · Wszelkie prawa zastrzeżone · Regulamin",
         contact="Redakcja: redakcja@kowadlo-demo.invalid | tel. 12 555 77 01 | fax 12 555 77 02"),
    Site(name="Grupa Młot", domain="mlot-demo.invalid", section="Archiwum listy",
         menu="Główna » Archiwum » Szukaj » Subskrybuj » Pomoc",
         cookie=("Serwis wykorzystuje pliki cookie w celu zapewnienia poprawnego działania. "
                 "Zamknij"),
         login="Zaloguj się przez e-mail",
         share="Podziel się: Wykop | Facebook",
         footer="Grupa Młot © 2023 | Wszelkie prawa zastrzeżone | Polityka prywatności",
         contact="Masz pytania? Napisz: pomoc@mlot-demo.invalid lub zadzwoń: 600 555 123"),
]
SYMBOL_LINES = ["***", "-----", "* * *", "==========", "~~~~~~~~"]
AD_LINES = ["Reklama", "REKLAMA", "Artykuł sponsorowany", "Zobacz również ofertę naszych partnerów"]
SHORT_REPLIES = [
    "Dzięki, u mnie działa.",
    "Też tak mam od wczoraj, ktoś wie co z tym zrobić?",
    "Podbijam temat.",
    "Nie rozumiem, o co chodzi w tym dowcipie.",
    "Dobre, uśmiałem się.",
    "Było już wczoraj, poszukaj na forum.",
    "Proszę o przeniesienie wątku do działu Humor.",
    "Zgadzam się w stu procentach.",
    "Ktoś ma link do całości?",
    "Moderator: temat zamknięty.",
]


def breadcrumb(site: Site, title: str) -> str:
    """A per-page breadcrumb line."""
    return f"Strona główna » {site.section} » {title}"


def plant_boilerplate(text: str, rng: random.Random, site: Site, title: str,
                      other_titles: list[str]) -> tuple[str, list[str]]:
    """Insert 3-11 boilerplate lines into `text`; return (new text, planted lines in order).

    Lines go above the text (menu, login, breadcrumb, cookie notice), after paragraph breaks
    ("Czytaj także", ads, symbol lines) and below it (share, contact, footer). No planted
    line equals a line of `text`, so deleting every line equal to a planted one restores
    `text` exactly (`remove_lines`).
    """
    original_lines = text.split("\n")
    existing = set(original_lines)
    top_pool = [site.menu, site.login, breadcrumb(site, title), site.cookie]
    mid_pool = [f"Czytaj także: {rng.choice(other_titles)}", rng.choice(AD_LINES),
                rng.choice(SYMBOL_LINES)]
    bottom_pool = [site.share, site.contact, site.footer, f"Komentarze ({rng.randint(0, 40)})"]
    top, mid, bottom = (_pick(rng, pool, low, high) for pool, low, high in
                        ((top_pool, 2, 4), (mid_pool, 0, 3), (bottom_pool, 1, 4)))
    top, mid, bottom = ([line for line in block if line not in existing]
                        for block in (top, mid, bottom))
    lines = list(original_lines)
    breaks = [i for i, line in enumerate(lines) if not line.strip()]
    placed_mid = []
    for line in mid:
        if not breaks:
            break
        placed_mid.append((breaks.pop(rng.randrange(len(breaks))), line))
    for i, line in sorted(placed_mid, reverse=True):  # right to left keeps indices valid
        lines.insert(i + 1, line)
    planted = top + [line for _, line in sorted(placed_mid)] + bottom
    return "\n".join(top + lines + bottom), planted


def _pick(rng: random.Random, pool: list[str], low: int, high: int) -> list[str]:
    """`low`..`high` lines of `pool`, kept in pool order (the menu stays above the breadcrumb)."""
    keep = set(rng.sample(range(len(pool)), rng.randint(low, min(high, len(pool)))))
    return [line for i, line in enumerate(pool) if i in keep]


def remove_lines(text: str, planted: list[str]) -> str:
    """Delete every line equal to one of `planted` (the inverse of `plant_boilerplate`)."""
    drop = set(planted)
    return "\n".join(line for line in text.split("\n") if line not in drop)


def forum_thread(posts: list[str]) -> str:
    """A thread page's text: its posts, one per paragraph."""
    return "\n\n".join(posts)
