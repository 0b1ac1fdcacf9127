"""What the clean manifest says about repeated-line boilerplate: how many keys were counted and
found frequent, how many lines each boilerplate method removed, and the repeated lines removed
most often, with their text (for the report).

Times removed and the text come from the clean tasks (each notes the lines it removed most often,
`RemovedLines.top`, so the totals are exact for lines that are among a task's most removed); the
document count of a line from the merge phase, when it was among its range's most frequent keys.
"""

from __future__ import annotations

from collections import Counter

from corpus.clean.config import CleanConfig
from corpus.clean.repeated import RepeatedRemoved
from kuznia.counts import Counts

TOP_PER_TASK = 40
TOP_LINES = 30
MAX_LINE_CHARS = 160


class RemovedLines:
    """One clean task's removed repeated lines: times removed and a text per key."""

    def __init__(self) -> None:
        self.times: Counter[int] = Counter()
        self.text: dict[int, str] = {}

    def add(self, removed: RepeatedRemoved) -> None:
        for key, line in removed.lines:
            self.times[key] += 1
            self.text.setdefault(key, line[:MAX_LINE_CHARS])

    def top(self) -> dict[str, list]:
        """`{hash hex: [times removed, text]}` of the task's most removed keys."""
        items = sorted(self.times.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_PER_TASK]
        return {f"{k:016x}": [n, self.text[k]] for k, n in items}


def repeated_summary(records: dict[str, list[dict]], cfg: CleanConfig) -> dict:
    """The manifest's `repeated_lines` section."""
    merges = records.get("merge", [])
    counts = Counts.total(r["counts"] for r in merges)
    removed: Counter[str] = Counter()
    text: dict[str, str] = {}
    for rec in records.get("clean", []):
        for key, (n, line) in (rec.get("repeated_lines") or {}).items():
            removed[key] += n
            text.setdefault(key, line)
    docs = {t["hash"]: t for r in merges for t in r.get("top", [])}
    rules = Counts.total(r["counts"].get("rules", {}) for r in records.get("clean", []))
    return {
        "enabled": cfg.remove_repeated_lines,
        "ranges": len(merges),
        "keys_counted": counts.get("keys", 0),
        "frequent_keys": counts.get("frequent_keys", 0),
        "lines_removed": {"phrases": (rules.get("boilerplate") or {}).get("hits", 0),
                          "repeated": (rules.get("repeated_lines") or {}).get("hits", 0)},
        "top": [{"hash": key, "removed": n, "text": text[key],
                 "docs": (docs.get(key) or {}).get("docs"), "sources": (docs.get(key) or {}).get("sources")}
                for key, n in sorted(removed.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_LINES]],
        "config": cfg.repeated_lines.model_dump(mode="json"),
    }
