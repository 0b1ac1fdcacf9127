"""Find pairs of documents that are similar (Jaccard ≥ 0.5) without being planted duplicates.

Base texts are de-duplicated before any noise, but noise and markup can still push a pair over
the line: two coreutils pages garbled with the same code page keep their shared English
boilerplate while their Polish words split into more tokens; wiki articles cut from two mtools
pages keep mostly the shared texinfo notice; an Italian and a Polish ascii(7) share the table.
`drop_conflicts` drops one side of each such pair before ids are given; the build's final
check (verify.py) runs the same test on the files.
"""

from __future__ import annotations

from dataclasses import dataclass

from .entries import Entry
from .text_stats import shingles, similar_pairs
from .wiki_dump import WikiPage, build_pages, plain_text

MAX_UNLABELLED_JACCARD = 0.5


@dataclass(frozen=True)
class Conflict:
    """Two documents of different duplicate clusters with Jaccard ≥ 0.5."""

    first: str
    second: str
    jaccard: float


def find_conflicts(texts: dict[str, str], cluster_of: dict[str, str]) -> list[Conflict]:
    """Pairs of `texts` keys, from different clusters, that are too similar or identical.

    `cluster_of` maps a key to the key of its original (keys absent are their own cluster).
    Both tokenisations count (`\\w+` runs and whitespace-split tokens).
    """
    keys = sorted(texts)
    found: dict[tuple[int, int], float] = {}
    for ws in (False, True):
        sets = [shingles(texts[k], whitespace_tokens=ws) for k in keys]
        for i, j, value in similar_pairs(sets, MAX_UNLABELLED_JACCARD):
            found[(i, j)] = max(found.get((i, j), 0.0), value)
    by_text: dict[str, int] = {}
    for i, key in enumerate(keys):
        text = texts[key]
        if text.strip():
            if text in by_text:
                found[(by_text[text], i)] = 1.0
            by_text.setdefault(text, i)
    out = []
    for (i, j), value in sorted(found.items()):
        a, b = keys[i], keys[j]
        if cluster_of.get(a, a) != cluster_of.get(b, b):
            out.append(Conflict(a, b, round(value, 4)))
    return out


def drop_conflicts(planner) -> list[WikiPage]:
    """Drop one side of every unlabelled similar pair among a `Planner`'s documents and wiki
    articles; return the wiki pages built from what is left."""
    for _ in range(8):
        pages = build_pages(planner.wiki_sources, planner.wiki_foreign, planner.seed)
        owner: dict[str, Entry | WikiPage] = {}
        for n, entry in enumerate(e for d in sorted(planner.entries) for e in planner.entries[d]
                                  if e.text is not None):
            owner[f"s{n:05d}"] = entry
        for n, page in enumerate(pages):
            if page.ns == 0 and page.redirect is None:
                owner[f"w{n:05d}"] = page
        key_of = {id(obj): key for key, obj in owner.items()}
        texts = {key: obj.text if isinstance(obj, Entry) else plain_text(obj.text)
                 for key, obj in owner.items()}
        cluster = {key: key_of[id(obj.original)] for key, obj in owner.items()
                   if obj.original is not None}
        conflicts = find_conflicts(texts, cluster)
        if not conflicts:
            return pages
        originals = {id(obj.original) for obj in owner.values() if obj.original is not None}
        dropped: set[int] = set()
        for conflict in conflicts:
            a, b = owner[conflict.first], owner[conflict.second]
            if id(a) in dropped or id(b) in dropped:
                continue
            victim = min((a, b), key=lambda obj: _keep_value(obj, originals))
            if _keep_value(victim, originals) >= 9:
                raise SystemExit(f"two planted originals are too similar "
                                 f"(J={conflict.jaccard}): {a.origin} and {b.origin}")
            dropped.add(id(victim))
            _drop(planner, victim)
    raise SystemExit("could not remove every unlabelled similar pair in 8 rounds")


def _keep_value(obj: Entry | WikiPage, originals: set[int]) -> int:
    """Which side of a conflict to keep: the higher value stays (9: never drop)."""
    if id(obj) in originals:
        return 9
    if isinstance(obj, WikiPage):
        return {"clean": 0, "foreign": 2}.get(obj.label["kind"], 9)
    if obj.kind == "clean" and not obj.reserved:
        return 1
    return 3


def _drop(planner, obj: Entry | WikiPage) -> None:
    if isinstance(obj, Entry):
        planner.entries[obj.dataset].remove(obj)
        return
    origin = obj.origin
    planner.wiki_sources = [p for p in planner.wiki_sources if p.origin != origin]
    planner.wiki_foreign = [p for p in planner.wiki_foreign if p.origin != origin]
