"""What source readers yield, and how the docs stage counts and writes it.

Every reader (Speakleash, Wikipedia, local files) yields a stream of three kinds of item:
`Doc` (a document to keep), `Malformed` (a line or file that is not a document, with where
and why) and `Skipped` (a well-formed record that is not a document by rule, e.g. a wiki
redirect). `ReadLog` turns that stream into counters (`documents`, `characters`, and every
record left out as `dropped_<reason>`, malformed ones as `dropped_malformed_<reason>`) and a
capped list of problems with their locations; `PartWriter` turns the documents into `part-NNNNN.parquet` files of about
`part_bytes` text bytes each.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from kuznia.counts import dropped
from kuznia.parts import part_name, write_docs

MAX_LISTED_PROBLEMS = 1000  # per source (and per task); all of them are still counted


@dataclass(frozen=True)
class Doc:
    """A document: id per the corpus convention, text, the source's meta (a JSON object), and
    where it was read (for the problem list if it is dropped as empty or too long)."""

    id: str
    text: str
    meta: dict
    location: str = ""
    line: int | None = None


@dataclass(frozen=True)
class Malformed:
    """A line / row / file that is not a document. `reason` is a short name (`invalid_json`)."""

    location: str  # "line 17", or "path/to/file.jsonl:17" for local files
    line: int | None
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Skipped:
    """A well-formed record left out by rule (`wiki_redirect`, `wiki_non_article`)."""

    reason: str


class BadLine(ValueError):
    """Raised by line parsers: `reason` names the problem, the message gives the detail."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


def meta_json(meta: dict) -> str:
    """The `meta` column: the object as JSON, keys sorted so reruns are byte-identical."""
    return json.dumps(meta, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


@dataclass
class ReadLog:
    """Counters of one source (or one task of it) and the first problems with their locations."""

    source: str
    counts: Counter = field(default_factory=Counter)
    problems: list[dict] = field(default_factory=list)
    n_problems: int = 0  # all of them, listed or not

    def problem(self, reason: str, location: str, line: int | None, detail: str = "",
                doc_id: str | None = None) -> None:
        """Note a problem with its location (listed while under the cap, always counted)."""
        self.n_problems += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            entry = {"source": self.source, "location": location, "line": line, "reason": reason}
            if detail:
                entry["detail"] = detail[:300]
            if doc_id:
                entry["id"] = doc_id
            self.problems.append(entry)

    def malformed(self, m: Malformed) -> None:
        self.counts["malformed"] += 1
        self.counts[dropped(f"malformed_{m.reason}")] += 1
        self.problem(m.reason, m.location, m.line, m.detail)

    def skipped(self, s: Skipped) -> None:
        self.counts[dropped(s.reason)] += 1

    def to_record(self) -> dict:
        return {"counts": dict(sorted(self.counts.items())), "problems": self.problems,
                "n_problems": self.n_problems}


def merge_problems(records: list[dict]) -> tuple[list[dict], int]:
    """The listed problems of one source's task records (in task order, capped at
    `MAX_LISTED_PROBLEMS`) and how many more there were."""
    problems = [p for r in records for p in r["problems"]]
    listed = problems[:MAX_LISTED_PROBLEMS]
    return listed, sum(r["n_problems"] for r in records) - len(listed)


class PartWriter:
    """Buffers documents and writes `part-NNNNN.parquet` files under `folder`.

    With `part_bytes`, a part is closed once its text reaches that many UTF-8 bytes; with
    None everything goes into the one part `first_part` (the caller sized it already).
    """

    def __init__(self, folder: Path, source: str, *, part_bytes: int | None, first_part: int = 0,
                 max_doc_chars: int, stats: ReadLog):
        self.folder, self.source, self.part_bytes = folder, source, part_bytes
        self.max_doc_chars, self.stats = max_doc_chars, stats
        self.next_part = first_part
        self.parts: list[str] = []
        self._rows: dict[str, list] = {"id": [], "source": [], "text": [], "meta": []}
        self._bytes = 0

    def add(self, doc: Doc) -> None:
        """Keep a document, or count it as `dropped_empty` / `dropped_too_long` with its location."""
        if not doc.text.strip():
            self.stats.counts[dropped("empty")] += 1
            self.stats.problem("empty", doc.location, doc.line, doc_id=doc.id)
            return
        if len(doc.text) > self.max_doc_chars:
            self.stats.counts[dropped("too_long")] += 1
            self.stats.problem("too_long", doc.location, doc.line, f"{len(doc.text)} characters",
                               doc.id)
            return
        self._rows["id"].append(doc.id)
        self._rows["source"].append(self.source)
        self._rows["text"].append(doc.text)
        self._rows["meta"].append(meta_json(doc.meta))
        self.stats.counts["documents"] += 1
        self.stats.counts["characters"] += len(doc.text)
        self._bytes += len(doc.text.encode("utf-8"))
        if self.part_bytes is not None and self._bytes >= self.part_bytes:
            self.flush()

    def flush(self) -> None:
        """Write the buffered documents as the next part (nothing when the buffer is empty)."""
        if not self._rows["id"]:
            return
        name = part_name(self.next_part)
        write_docs(self.folder / name, self._rows)
        self.parts.append(name)
        self.next_part += 1
        self._rows = {k: [] for k in self._rows}
        self._bytes = 0
