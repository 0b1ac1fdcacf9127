"""The distinct base texts the mirror is built from, before any noise.

Man pages repeat a lot (ls/dir/vdir, the sha*sum family, the mtools pages, the ISO 8859 tables),
and fortune files share jokes, so the pool is de-duplicated first: a text is kept only when its
word-5-gram Jaccard to every text kept before it (in sorted order) is below 0.5, under both
tokenisations. Planted duplicates are then the only similar pairs in the mirror.
"""

from __future__ import annotations

import functools
import random
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from langdetect import DetectorFactory, LangDetectException, detect_langs

from .source_texts import (
    ManPage,
    man_page_files,
    read_fortunes,
    read_manual_sections,
    render_man_page,
)
from .text_stats import POLISH_STOPWORDS, TOKEN_RE, shingles, similar_pairs

MAX_SIMILARITY = 0.5
# English function words that are rare in the other languages we use (no "in", "is", "a").
ENGLISH_STOPWORDS = frozenset(
    "the and or of to are be for with that this by from not can if when which will was were "
    "has have use used".split())
# Fortune files left out: ones aimed at groups of people or politics, and book quotations.
# Fortune files left out: crude jokes or jokes aimed at groups of people or politics, book
# quotations, and mostly-English IRC/mail logs (argante, newyear).
SKIPPED_FORTUNE_FILES = {"dowcipy-szowinistyczne", "dowcipy-feministyczne", "dowcipy-lepper",
                         "dowcipy-niskopoziomowe", "radio_maryja", "koscielne", "rywingate",
                         "sapkowski", "pratchett", "argante", "newyear"}
LONG_FORTUNE_FILE = "dowcipy"  # kept whole: one of the `long` documents
# Many manpages-l10n pages are partly untranslated; pages with more English than this are left
# out (the rest are "clean" as the package has them, English paragraphs included).
MAX_ENGLISH_SHARE = 0.3
# Whole pages kept for the `long` documents, whatever their English share.
LONG_MAN_PAGES = {("bash", "1"), ("proc", "5"), ("mount", "8")}
FOREIGN_COUNTS = {"cs": 14, "de": 9, "fr": 8, "es": 7, "nl": 7, "it": 5, "ru": 6}


@dataclass
class BasePool:
    """Everything the planner draws from."""

    man_pages: list[ManPage]                       # Polish, distinct
    long_man_pages: dict[str, ManPage]             # "bash(1)" -> page, for `long` documents
    dropped_man_pages: list[ManPage]               # Polish pages too close to a kept one
    fortunes: dict[str, list[str]]                 # file -> distinct fortunes
    long_fortunes: list[str]                       # the whole LONG_FORTUNE_FILE
    manual_sections: list[tuple[str, str]]         # Audacity manual (Polish + one English)
    foreign_pages: list[ManPage]                   # other languages


@functools.cache
def language_of(text: str) -> str | None:
    """langdetect's best guess (seeded, on the first 2,000 characters), or None."""
    DetectorFactory.seed = 0
    try:
        guesses = detect_langs(text[:2000])
    except LangDetectException:
        return None
    return guesses[0].lang if guesses else None


def english_share(text: str) -> float:
    """Share of characters in paragraphs with more English than Polish stop words."""
    total = english = 0
    for para in text.split("\n\n"):
        tokens = [t.lower() for t in TOKEN_RE.findall(para)]
        total += len(para)
        en = sum(t in ENGLISH_STOPWORDS for t in tokens)
        pl = sum(t in POLISH_STOPWORDS for t in tokens)
        if en >= 2 and en > pl:
            english += len(para)
    return english / total if total else 0.0


def render_all(files: list[Path], lang: str) -> list[ManPage]:
    """Render pages in parallel (groff is a subprocess), keeping input order."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        pages = list(pool.map(lambda p: render_man_page(p, lang), files))
    return [p for p in pages if p is not None]


def keep_distinct(texts: list[str]) -> list[int]:
    """Indices of texts kept by the greedy pass: exact and ≥0.5-Jaccard repeats are dropped."""
    sets = [shingles(t) for t in texts]
    ws_sets = [shingles(t, whitespace_tokens=True) for t in texts]
    close: dict[int, set[int]] = {}
    for pairs in (similar_pairs(sets, MAX_SIMILARITY), similar_pairs(ws_sets, MAX_SIMILARITY)):
        for i, j, _ in pairs:
            close.setdefault(j, set()).add(i)
    kept: list[int] = []
    seen_exact: set[str] = set()
    kept_set: set[int] = set()
    for j, text in enumerate(texts):
        key = " ".join(text.split())
        if key in seen_exact or close.get(j, set()) & kept_set:
            continue
        seen_exact.add(key)
        kept.append(j)
        kept_set.add(j)
    return kept


def polish_man_pages(root: Path) -> tuple[list[ManPage], list[ManPage], dict[str, ManPage]]:
    """(distinct mostly-Polish pages, dropped near-repeats, LONG_MAN_PAGES), sorted by
    section then name."""
    rendered = render_all(man_page_files(root, "pl"), "pl")
    long_pages = {p.title: p for p in rendered if (p.name, p.section) in LONG_MAN_PAGES}
    pages = [p for p in rendered if p.title not in long_pages and len(p.text) >= 600
             and english_share(p.text) <= MAX_ENGLISH_SHARE and language_of(p.text) == "pl"]
    pages.sort(key=lambda p: (p.section, p.name))
    kept = set(keep_distinct([p.text for p in pages]))
    return ([p for i, p in enumerate(pages) if i in kept],
            [p for i, p in enumerate(pages) if i not in kept], long_pages)


def distinct_fortunes(root: Path) -> tuple[dict[str, list[str]], list[str]]:
    """(file -> fortunes not seen in an earlier file, the long file's fortunes)."""
    files = read_fortunes(root, SKIPPED_FORTUNE_FILES)
    long_file = files.pop(LONG_FORTUNE_FILE)
    seen = {" ".join(TOKEN_RE.findall(f.lower())) for f in long_file}
    out: dict[str, list[str]] = {}
    for name in sorted(files):
        items = []
        for fortune in files[name]:
            key = " ".join(TOKEN_RE.findall(fortune.lower()))
            if key and key not in seen:
                seen.add(key)
                items.append(fortune)
        if items:
            out[name] = items
    return out, long_file


def foreign_man_pages(roots: dict[str, Path], rng: random.Random) -> list[ManPage]:
    """FOREIGN_COUNTS pages per language, 1.5-20k characters, confirmed by langdetect."""
    chosen: list[ManPage] = []
    for lang, count in sorted(FOREIGN_COUNTS.items()):
        files = man_page_files(roots[f"manpages-{lang}"], lang)
        files = [f for f in files if 1200 <= f.stat().st_size <= 9000]
        rng.shuffle(files)
        picked: list[ManPage] = []
        for path in files:
            if len(picked) == count:
                break
            page = render_man_page(path, lang)
            if page is None or not 1500 <= len(page.text) <= 20000:
                continue
            if language_of(page.text) != lang or english_share(page.text) > 0.1:
                continue
            if any(p.name == page.name for p in picked):
                continue
            picked.append(page)
        if len(picked) < count:
            raise SystemExit(f"only {len(picked)} usable manpages-{lang} pages, need {count}; "
                             "lower FOREIGN_COUNTS in scripts/demo_data/base_pool.py")
        chosen.extend(picked)
    return chosen


def load_pool(roots: dict[str, Path], rng: random.Random) -> BasePool:
    """Read, render and de-duplicate every source."""
    man_pages, dropped, long_pages = polish_man_pages(roots["manpages-pl"])
    fortunes, long_fortunes = distinct_fortunes(roots["fortunes-pl"])
    manual = read_manual_sections(
        roots["debian-edu-doc-legacy-pl"]
        / "usr/share/doc/debian-edu-doc-legacy-pl/audacity-manual.html")
    foreign = foreign_man_pages(roots, rng)
    return BasePool(man_pages, long_pages, dropped, fortunes, long_fortunes, manual, foreign)


def name_lines_for_short_docs(pages: list[ManPage], count: int) -> list[tuple[ManPage, str]]:
    """Distinct NAME lines ("vdir - wypisuje zawartość katalogu") of pages used nowhere else."""
    out, seen = [], set()
    for page in pages:
        line = page.name_line()
        if 15 <= len(line) < 200 and line not in seen and re.search(r"[ąćęłńóśźż]", line):
            seen.add(line)
            out.append((page, line))
        if len(out) == count:
            break
    return out
