"""Web page chrome for the check set, in phrasings the phrase rules of corpus/clean/boilerplate.py
do not contain (the builder checks every planted line against them and stops if one is caught).

Four fictional sites, each with its own menu, consent notice, login line, sharing line, footer
and contact line, repeated on every page of the site, as a crawl has them; breadcrumbs, "read
more" links, comment counters and dates are per page. Lines go above the text (navigation,
login, breadcrumb, consent), between its paragraphs (read more, ads) and below it (sharing,
contact, copyright, counters). Deleting every planted line gives the original back exactly.
Domains end in `.invalid` (RFC 2606): nothing here points at a real site or person.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

# The sites (sites.json): name, domain, section, separator (between breadcrumb items), menu
# (navigation lines), consent, login, share, footer, contact, read_more (followed by another
# page's title), ads.
SITES: list[dict] = json.loads((Path(__file__).parent / "sites.json").read_text("utf-8"))

# The kind of each planted line, for scoring per kind (as the issue reported it).
TOP, MID, BOTTOM = "top", "mid", "bottom"


def breadcrumb(site: dict, title: str) -> str:
    return site["separator"].join([site["name"], site["section"], title])


def plant(text: str, rng: random.Random, site: dict, title: str, other_titles: list[str]
          ) -> tuple[str, list[dict]]:
    """Insert chrome into `text`: returns the new text and the planted lines in order, each
    `{line, kind, place}`. No planted line equals a line of `text`."""
    existing = set(text.split("\n"))
    comments = f"Liczba komentarzy pod wpisem: {rng.randint(0, 60)}"
    top_pool = [*((m, "navigation") for m in site["menu"]), (site["login"], "login"),
                (breadcrumb(site, title), "breadcrumb"), (site["consent"], "consent")]
    mid_pool = [(f"{site['read_more']}: {rng.choice(other_titles)}", "read_also"), (rng.choice(site["ads"]), "ad")]
    bottom_pool = [(site["share"], "share"), (site["contact"], "contact"), (site["footer"], "copyright"),
                   (comments, "counter")]
    top = _pick(rng, top_pool, 2, len(top_pool))
    mid = _pick(rng, mid_pool, 0, 2)
    bottom = _pick(rng, bottom_pool, 1, len(bottom_pool))
    top, mid, bottom = ([x for x in block if x[0] not in existing] for block in (top, mid, bottom))
    lines = text.split("\n")
    breaks = [i for i, line in enumerate(lines) if not line.strip()]
    placed = []
    for item in mid:
        if breaks:
            placed.append((breaks.pop(rng.randrange(len(breaks))), item))
    for i, (line, _) in sorted(placed, key=lambda p: p[0], reverse=True):
        lines.insert(i + 1, line)
    planted = ([{"line": line, "kind": kind, "place": TOP} for line, kind in top]
               + [{"line": line, "kind": kind, "place": MID} for _, (line, kind) in sorted(placed, key=lambda p: p[0])]
               + [{"line": line, "kind": kind, "place": BOTTOM} for line, kind in bottom])
    return "\n".join([x[0] for x in top] + lines + [x[0] for x in bottom]), planted


def _pick(rng: random.Random, pool: list, low: int, high: int) -> list:
    keep = set(rng.sample(range(len(pool)), rng.randint(low, min(high, len(pool)))))
    return [x for i, x in enumerate(pool) if i in keep]


def remove_planted(text: str, planted: list[dict]) -> str:
    """Delete every line equal to a planted one (the inverse of `plant`)."""
    drop = {p["line"] for p in planted}
    return "\n".join(line for line in text.split("\n") if line not in drop)
