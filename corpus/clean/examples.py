"""Examples of what each cleaning rule changed: a few documents per rule, before and after.

Which documents: per rule, the `k` with the smallest seeded hash of their id among those the
rule changed, so the choice does not depend on part boundaries or workers and merges across
tasks (`merge_examples`). What is shown: the stretch where the rule's input and output differ,
with some context, cut to a width, from the text as that rule saw it (`rule_io` re-runs the
rules before it on just these documents).
"""

from __future__ import annotations

import heapq
from os.path import commonprefix

import xxhash

from corpus.clean.config import CleanConfig
from corpus.clean.repeated import FrequentLines
from corpus.clean.rules import CLEAN_RULES, CleanState, apply_rule

CONTEXT_CHARS = 60
MAX_SIDE_CHARS = 300


def id_hash(doc_id: str) -> int:
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8"), seed=0x4B5A)


def rule_io(text: str, cfg: CleanConfig, rule_name: str, frequent: FrequentLines | None = None
            ) -> tuple[str, str]:
    """The text as rule `rule_name` received it, and as it left it."""
    state = CleanState(frequent)
    for rule in CLEAN_RULES:
        if not getattr(cfg, rule.switch):
            continue
        out, _ = apply_rule(rule, text, cfg, state)
        if rule.name == rule_name:
            return text, out
        text = out
    raise KeyError(f"no enabled cleaning rule {rule_name!r}")


def _cut(s: str) -> str:
    return s if len(s) <= MAX_SIDE_CHARS else s[: MAX_SIDE_CHARS - 1] + "…"


def change_excerpt(before: str, after: str) -> tuple[str, str]:
    """The differing stretch of two texts with `CONTEXT_CHARS` around it ("…" marks cuts)."""
    start = len(commonprefix([before, after]))
    tail = len(commonprefix([before[start:][::-1], after[start:][::-1]]))
    lo = max(0, start - CONTEXT_CHARS)

    def side(s: str) -> str:
        hi = min(len(s), len(s) - tail + CONTEXT_CHARS)
        return ("…" if lo else "") + _cut(s[lo:hi]) + ("…" if hi < len(s) else "")

    return side(before), side(after)


class ExamplePicker:
    """Keeps, per rule, the `k` changed documents with the smallest id hashes (one part's)."""

    def __init__(self, k: int):
        self.k = k
        self.heaps: dict[str, list[tuple[int, str, str]]] = {}

    def offer(self, rule: str, doc_id: str, text: str, h: int) -> None:
        """A document `rule` changed; `text` is the document as cleaning received it."""
        heap = self.heaps.setdefault(rule, [])
        item = (-h, doc_id, text)  # a max-heap of the k smallest hashes
        if len(heap) < self.k:
            heapq.heappush(heap, item)
        elif -heap[0][0] > h:
            heapq.heapreplace(heap, item)

    def examples(self, cfg: CleanConfig, frequent: FrequentLines | None = None) -> dict[str, list[dict]]:
        """`{rule: [{id, hash, before, after}]}`, smallest hash first."""
        out = {}
        for rule, heap in sorted(self.heaps.items()):
            items = []
            for neg_h, doc_id, text in sorted(heap, key=lambda x: (-x[0], x[1])):
                before, after = change_excerpt(*rule_io(text, cfg, rule, frequent))
                items.append({"id": doc_id, "hash": -neg_h, "before": before, "after": after})
            out[rule] = items
        return out


def merge_examples(parts: list[dict[str, list[dict]]], k: int) -> dict[str, list[dict]]:
    """The `k` smallest-hash examples per rule across tasks (ties: smallest id)."""
    merged: dict[str, list[dict]] = {}
    for ex in parts:
        for rule, items in ex.items():
            merged.setdefault(rule, []).extend(items)
    return {rule: sorted(items, key=lambda e: (e["hash"], e["id"]))[:k] for rule, items in sorted(merged.items())}
