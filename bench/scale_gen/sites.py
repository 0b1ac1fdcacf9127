"""Web page chrome: the lines a crawled site repeats on its pages (menus, logins, breadcrumbs,
cookie and RODO notices, share buttons, contact lines, footers).

Each web dataset is one fictional site (domains end in `.invalid`, RFC 2606). A page gets a
random subset of the site's lines, in a fixed order, above and below its text, so the same lines
recur across the site's documents, as on a real crawl, and sites differ from one another. The
subsets are precomputed as variants (their JSON bodies, texts and statistics), so a document's
chrome is two table look-ups.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from scale_gen.segments import STATS, SegmentTable

SECTIONS = ("Aktualności", "Porady", "Opinie", "Galeria", "Archiwum", "Ogłoszenia", "Wywiady", "Felietony")
LOGINS = ("Zaloguj się | Zarejestruj się | Nie pamiętasz hasła?", "Zaloguj się", "Logowanie | Rejestracja",
          "Zaloguj się przez e-mail")
COOKIES = (
    ("Ta strona używa plików cookies. Korzystając ze strony, wyrażasz zgodę na ich używanie zgodnie "
     "z ustawieniami przeglądarki. Więcej w Polityce prywatności serwisu {name}."),
    ("Administratorem Twoich danych osobowych jest {name}. Dane przetwarzamy zgodnie z RODO w celach "
     "statystycznych i marketingowych. Akceptuję | Ustawienia"),
    "Serwis {name} wykorzystuje pliki cookie w celu zapewnienia poprawnego działania. Zamknij",
)
SHARES = ("Udostępnij: Facebook | X | E-mail", "Udostępnij | Skomentuj | Drukuj", "Podziel się: Wykop | Facebook")
MENU_SEPARATORS = (" | ", " » ", " · ")
# Top: menu, login, breadcrumb (one of the sections, or none), cookie notice; bottom: share,
# contact, footer. Probability that a page has each line.
TOP_P = {"menu": 0.9, "login": 0.5, "breadcrumb": 0.6, "cookie": 0.6}
BOTTOM_P = {"share": 0.6, "contact": 0.3, "footer": 0.9}


@dataclass
class Chrome:
    """One site's chrome: its lines and the precomputed variants of a page's top and bottom."""

    name: str
    domain: str
    lines: list[str]
    sections: list[str]
    top_bodies: list[bytes]
    top_texts: list[str]
    top_stats: np.ndarray
    bottom_bodies: list[bytes]
    bottom_texts: list[str]
    bottom_stats: np.ndarray

    def variants(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top and bottom variants of pages, from 8 uniforms in [0, 1) per page (`u`: (n, 8))."""
        top_bits = u[:, :3] < np.array([TOP_P["menu"], TOP_P["login"], TOP_P["cookie"]])
        crumb = np.where(u[:, 3] < TOP_P["breadcrumb"], (u[:, 4] * len(self.sections)).astype(np.int64), -1)
        bottom_bits = u[:, 5:8] < np.array(list(BOTTOM_P.values()))
        top = (top_bits @ np.array([4, 2, 1])) * (len(self.sections) + 1) + crumb + 1
        return top, bottom_bits @ np.array([4, 2, 1])


    def mean_bytes(self) -> float:
        """The mean UTF-8 bytes a page's chrome adds (over a fixed sample of pages)."""
        top, bottom = self.variants(np.random.default_rng(0).random((4096, 8)))
        col = STATS.index("bytes")
        return float(self.top_stats[top, col].mean() + self.bottom_stats[bottom, col].mean())


def site_lines(dataset: str, category: str, index: int) -> tuple[str, str, dict[str, str], list[str]]:
    """(site name, domain, its fixed lines, its breadcrumb lines) for a web dataset."""
    topic = dataset.removesuffix("_corpus").split("_", 1)[1].replace("_", " ")
    name = f"{category} {topic.capitalize()}"
    domain = f"{dataset.removesuffix('_corpus').replace('_', '-')}.invalid"
    sections = [SECTIONS[(index + k) % len(SECTIONS)] for k in range(5)]
    sep = MENU_SEPARATORS[index % len(MENU_SEPARATORS)]
    fixed = {
        "menu": sep.join(["Strona główna", *sections, "Kontakt"]),
        "login": LOGINS[index % len(LOGINS)],
        "cookie": COOKIES[index % len(COOKIES)].format(name=name),
        "share": SHARES[index % len(SHARES)],
        "contact": f"Kontakt z redakcją: redakcja@{domain}, tel. +48 22 555 {index % 100:02d} {(7 * index) % 100:02d}",
        "footer": f"© {2005 + index % 15}–2024 {name}. Wszelkie prawa zastrzeżone.",
    }
    crumbs = [f"Strona główna » {category} » {s}" for s in sections]
    return name, domain, fixed, crumbs


def _variants(table: SegmentTable, lines: list[int | None], top: bool) -> tuple[list[bytes], list[str], np.ndarray]:
    """Body, text and statistics of a page top (lines then a line break) or bottom (a break, lines)."""
    chosen = [i for i in lines if i is not None]
    ids = []
    for i in chosen:
        ids += [i, table.newline] if top else [table.newline, i]
    return table.body(ids), table.text(ids), table.row(ids) if ids else np.zeros(table.stats.shape[1], np.int64)


def build_chrome(table: SegmentTable, dataset: str, category: str, index: int) -> Chrome:
    """Add the site of `dataset` to `table` (range `site:<dataset>`) and precompute its variants."""
    name, domain, fixed, crumbs = site_lines(dataset, category, index)
    lines = [*fixed.values(), *crumbs]
    start, _ = table.add(f"site:{dataset}", lines)
    at = {key: start + k for k, key in enumerate(fixed)}
    crumb_at = [start + len(fixed) + k for k in range(len(crumbs))]
    tops = [_variants(table, [at["menu"] if m else None, at["login"] if lg else None,
                              crumb_at[c] if c >= 0 else None, at["cookie"] if ck else None], True)
            for (m, lg, ck), c in product(product((0, 1), repeat=3), range(-1, len(crumbs)))]
    bottoms = [_variants(table, [at["share"] if s else None, at["contact"] if ct else None,
                                 at["footer"] if f else None], False)
               for s, ct, f in product((0, 1), repeat=3)]
    return Chrome(name, domain, lines, crumbs, [t[0] for t in tops], [t[1] for t in tops],
                  np.stack([t[2] for t in tops]), [b[0] for b in bottoms], [b[1] for b in bottoms],
                  np.stack([b[2] for b in bottoms]))
