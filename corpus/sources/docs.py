"""The `docs` stage: turn the fetched raw files into `docs/<source>/part-NNNNN.parquet`.

It reads only what the fetch manifest lists (never the network, never a stale file left in
`raw/` by an older config). A Speakleash dataset is split by lines: its manifest's document
and character counts give the lines per part (about `docs.part_bytes` of text each), and
consecutive parts are grouped into at most `docs.max_tasks_per_source` tasks, so one huge
dataset is parsed by several workers at once. Part `i` of a dataset always holds lines
`i*L+1 .. (i+1)*L`, whatever the grouping, so outputs do not depend on the worker count.
Each local source is one task, cut into parts by bytes. A Wikipedia dump is parsed by one task
(the plain dump: bz2, not seekable) or one per byte range of whole bz2 streams (the multistream
dump), and its parts are cut by bytes in a second phase, `pack`, the same for either dump
(`wiki_parts.py`).
Every malformed line, empty and too-long document is counted per source and listed with its
location (the first `MAX_LISTED_PROBLEMS` per source) in the manifest.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from corpus.sources import local, speakleash, wiki_parts, wikipedia
from corpus.sources.records import (
    Doc,
    Malformed,
    PartWriter,
    ReadLog,
    Skipped,
    merge_problems,
)
from kuznia.counts import Counts
from kuznia.files import DiskFull
from kuznia.stage import StageContext, StageError, read_manifest


def _fetch_sources(ctx: StageContext) -> dict[str, dict]:
    fetch_dir = ctx.upstream_dir("fetch")
    m = read_manifest(fetch_dir)
    if m is None:  # run_stage checked this already; kept for direct callers
        raise StageError(f"{fetch_dir} has no manifest; run `kuznia stage fetch` first")
    return m["sources"]


def _speakleash_tasks(ctx: StageContext, source: str, rec: dict) -> list[dict]:
    raw = ctx.upstream_dir("fetch")
    data = next(f["path"] for f in rec["files"] if f["path"].endswith(".jsonl.zst"))
    mpath = next(f["path"] for f in rec["files"] if f["path"].endswith(".manifest"))
    manifest = json.loads((raw / mpath).read_text("utf-8"))
    docs = speakleash.manifest_documents(manifest)
    chars = speakleash.manifest_characters(manifest)
    base = {"source": source, "kind": "speakleash", "dataset": rec["dataset"], "path": data}
    if not docs or not chars:  # no stats to size parts by lines: one task, parts cut by bytes
        return [{**base, "id": f"{source}#00000", "start_line": 1, "end_line": None,
                 "lines_per_part": None}]
    lines_per_part = max(1, ctx.cfg.docs.part_bytes // max(1, chars // docs))
    n_parts = math.ceil(docs / lines_per_part)
    n_tasks = min(n_parts, ctx.cfg.docs.max_tasks_per_source)
    parts_per_task = math.ceil(n_parts / n_tasks)
    tasks = []
    for b in range(math.ceil(n_parts / parts_per_task)):
        first_line = b * parts_per_task * lines_per_part + 1
        last = b == math.ceil(n_parts / parts_per_task) - 1
        # The last task reads to the end, whatever the manifest said the line count was.
        end_line = None if last else (b + 1) * parts_per_task * lines_per_part
        tasks.append({**base, "id": f"{source}#{b:05d}", "start_line": first_line,
                      "end_line": end_line, "lines_per_part": lines_per_part})
    return tasks


def plan(ctx: StageContext) -> list[dict]:
    """Tasks per source (and per block of lines for Speakleash datasets), sorted by source."""
    tasks = []
    for source, rec in sorted(_fetch_sources(ctx).items()):
        kind = rec["kind"]
        if kind == "speakleash":
            tasks.extend(_speakleash_tasks(ctx, source, rec))
        elif kind == "wikipedia":
            tasks.extend(wiki_parts.parse_tasks(ctx.upstream_dir("fetch"), source, rec, ctx.cfg.docs.wiki_task_bytes))
        elif kind == "local":
            tasks.append({"id": source, "source": source, "kind": kind, "root": rec["root"],
                          "text_field": rec["text_field"]})
    return tasks


# --------------------------------------------------------------------------- run


def _write(items, writer: PartWriter, stats: ReadLog, lines_per_part: int | None) -> None:
    """Feed `Doc | Malformed | Skipped` items to the writer and the counters.

    With `lines_per_part`, line `n` goes to part `(n-1) // lines_per_part`, so a part's name
    says which lines it holds, whichever task wrote it.
    """
    for item in items:
        if isinstance(item, Doc):
            if lines_per_part is not None:
                part = (item.line - 1) // lines_per_part
                if part != writer.next_part:
                    writer.flush()
                    writer.next_part = part
            writer.add(item)
        elif isinstance(item, Malformed):
            stats.malformed(item)
        elif isinstance(item, Skipped):
            stats.skipped(item)
    writer.flush()


def inputs(ctx: StageContext, task: dict) -> list[Path] | None:
    """The raw files a parse task reads (a local source's files are listed by path)."""
    raw = ctx.upstream_dir("fetch")
    if task["kind"] == "speakleash":
        return [raw / task["path"], (raw / task["path"]).with_name(f"{task['dataset']}.manifest")]
    if task["kind"] == "wikipedia":
        return [raw / task["path"]]
    root = Path(task["root"])
    return [root / f["path"] for f in local.inventory(root)] if root.exists() else None


def run(ctx: StageContext, task: dict) -> dict:
    """Parse one task's share of a source into parts; returns its counters and problems. A
    source whose file cannot be read to its end (a truncated or corrupt file) raises or, with
    `docs.on_error: skip`, comes back failed with the reason; its parts are then dropped."""
    try:
        return _parse(ctx, task)
    except DiskFull:
        raise
    except Exception as e:  # noqa: BLE001 - whatever a reader meets in a broken file
        if ctx.cfg.docs.on_error != "skip":
            raise
        return {"source": task["source"], "failed": f"{task['id']}: {type(e).__name__}: {e}", "parts": [],
                "counts": {}, "problems": [], "n_problems": 0}


def _parse(ctx: StageContext, task: dict) -> dict:
    source, kind = task["source"], task["kind"]
    out = ctx.dir / source
    stats = ReadLog(source)
    dcfg = ctx.cfg.docs
    raw = ctx.upstream_dir("fetch")
    if kind == "speakleash":
        lpp = task["lines_per_part"]
        first_part = (task["start_line"] - 1) // lpp if lpp else 0
        writer = PartWriter(out, source, part_bytes=None if lpp else dcfg.part_bytes,
                            first_part=first_part, max_doc_chars=dcfg.max_doc_chars, stats=stats)
        items = speakleash.iter_docs(raw / task["path"], task["dataset"], task["start_line"],
                                     task["end_line"])
        _write(items, writer, stats, lpp)
    elif kind == "wikipedia":  # the plain dump whole or a multistream byte range: a piece for `pack`
        if "error" in task:  # a multistream index that does not fit its dump
            raise StageError(task["error"])
        items = (wikipedia.iter_range_docs(raw / task["path"], task, task["wiki"]) if "start" in task
                 else wikipedia.iter_docs(raw / task["path"], task["wiki"]))
        with wiki_parts.PieceWriter(ctx.dir / wiki_parts.PIECES_DIR / source / task["piece"], source,
                                    max_doc_chars=dcfg.max_doc_chars, stats=stats) as writer:
            _write(items, writer, stats, None)
    elif kind == "local":
        root = Path(task["root"])
        writer = PartWriter(out, source, part_bytes=dcfg.part_bytes,
                            max_doc_chars=dcfg.max_doc_chars, stats=stats)
        _write(local.iter_docs(root, source, task["text_field"]), writer, stats, None)
        stats_files = local.inventory(root)
        return {"source": source, "parts": writer.parts, "files": stats_files, **stats.to_record()}
    else:
        raise StageError(f"docs: unknown source kind {kind!r} in task {task['id']}")
    return {"source": source, "parts": writer.parts, **stats.to_record()}


# --------------------------------------------------------------------------- finish


def _mostly_malformed(ctx: StageContext, recs: list[dict], failed: dict[str, str]) -> dict[str, str]:
    """Sources whose records are mostly malformed: garbage, not data (or StageError with `fail`)."""
    share, out = ctx.cfg.docs.max_malformed_share, {}
    for source, c in Counts.by([r for r in recs if r["source"] not in failed], "source").items():
        bad = c.get("malformed", 0)
        read = c.get("documents", 0) + sum(v for k, v in c.items() if k.startswith("dropped_"))
        if bad >= 10 and bad > share * read:
            why = (f"{bad:,} of its {read:,} records are malformed (more than docs.max_malformed_share = "
                   f"{share:g}): the file is most likely corrupt")
            if ctx.cfg.docs.on_error != "skip":
                raise StageError(f"docs: {source}: {why}")
            out[source] = why
    return out


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    """Total and per-source counts, every listed problem, and the parts per source."""
    failed = {}
    for r in records["parse"]:
        if "failed" in r:
            failed.setdefault(r["source"], r["failed"])
    failed.update(_mostly_malformed(ctx, records["parse"], failed))
    for source in failed:  # a source read in part would be a silent loss: none of it goes on
        shutil.rmtree(ctx.dir / source, ignore_errors=True)
    recs = [r for r in records["parse"] + records.get("pack", []) if r["source"] not in failed]
    by_source = Counts.by(recs, "source")
    errors: list[dict] = []
    not_listed: dict[str, int] = {}
    for source in by_source:
        listed, more = merge_problems([r for r in recs if r["source"] == source])
        errors.extend(listed)
        if more:
            not_listed[source] = more
    parts = {s: [p for r in recs if r["source"] == s for p in r["parts"]] for s in by_source}
    # Totals flat (what `kuznia status` shows), each source's counts under "sources".
    counts = {**Counts.total(by_source.values()).sorted(), "sources": {s: c.sorted() for s, c in by_source.items()}}
    counts["failed_sources"] = len(failed)
    return {"counts": counts, "errors": errors, "errors_not_listed": not_listed, "parts": parts,
            "failed": dict(sorted(failed.items()))}
