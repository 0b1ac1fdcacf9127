"""The clean stage's counting phases: in how many documents each line occurs, bounded at any size.

- `count` (one task per docs part): the keys of the first and last `edge_lines` lines of every
  document (`linekeys.py`), each counted once per document, written as
  `_lines/counts/<source>/<part>.npy`: rows (hash, documents) sorted by hash, 12 bytes a key.
- `merge` (one task per hash range, like dedup's bands): the rows of every part within the
  range, summed per source and over all sources; the keys that reach
  `repeated_lines.min_docs_in_source` in one source or `min_docs_total` in all go to
  `_lines/frequent/range-NNNNN.npy` (sorted by hash, with how common each is to a factor of two). Memory per task: the range's rows, so the
  number of ranges grows with the corpus (`range_chars` characters of documents per range).
- The clean phase loads every range's frequent keys (`load_frequent`, 9 bytes a key) and
  declares them as inputs: a re-run whose frequent keys did not change reuses its parts. The
  merge phase, which reads every part, declares none: it runs again when anything upstream
  changed, and writes unsalted files, so `--force --source X` re-does X's share only.

Counts are taken on the documents as the docs stage wrote them (line breaks read as cleaning
will make them); a garbled or HTML document's lines count under their raw form, an undercount
of at most its own lines.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from corpus.clean.linekeys import COUNT_DTYPE, document_counts, line_keys
from corpus.clean.repeated import FREQUENT_DTYPE, FrequentLines, frequency_level
from kuznia.counts import Counts
from kuznia.files import save_npy
from kuznia.parts import iter_batches, list_parts, list_sources
from kuznia.stage import StageContext, StageError, read_manifest

LINES_DIR = "_lines"
COUNTS_DIR = f"{LINES_DIR}/counts"
FREQUENT_DIR = f"{LINES_DIR}/frequent"
BATCH_ROWS = 1024
TOP_LINES = 30  # most frequent keys per range kept in the merge record (the report's table)


def range_count(ctx: StageContext) -> int:
    """Hash ranges of the merge: a power of two, about `range_chars` characters of documents
    each (from the docs manifest, so the same inputs always give the same split)."""
    m = read_manifest(ctx.upstream_dir("docs")) or {}
    chars = int((m.get("counts") or {}).get("characters") or 0)
    per = ctx.cfg.clean.repeated_lines.range_chars
    n = 1
    while n * per < chars:
        n *= 2
    return n


def _part_tasks(ctx: StageContext) -> list[dict]:
    docs_dir = ctx.upstream_dir("docs")
    return [{"id": f"{source}/{part.name}", "source": source, "part": part.name}
            for source in list_sources(docs_dir) for part in list_parts(docs_dir, source)]


def counts_path(ctx: StageContext, source: str, part: str) -> Path:
    return ctx.dir / COUNTS_DIR / source / (part.removesuffix(".parquet") + ".npy")


def frequent_path(ctx: StageContext, index: int) -> Path:
    return ctx.dir / FREQUENT_DIR / f"range-{index:05d}.npy"


# --------------------------------------------------------------------------- count


def plan_count(ctx: StageContext) -> list[dict]:
    """One task per docs part (none when the rule is off)."""
    return _part_tasks(ctx) if ctx.cfg.clean.remove_repeated_lines else []


def count_inputs(ctx: StageContext, task: dict) -> list[Path]:
    return [ctx.upstream_dir("docs") / task["source"] / task["part"]]


def run_count(ctx: StageContext, task: dict) -> dict:
    """Per-part document counts of every edge line's keys."""
    src = ctx.upstream_dir("docs") / task["source"] / task["part"]
    if not src.exists():
        raise StageError(f"{src} is missing; re-run `kuznia stage docs`")
    edge = ctx.cfg.clean.repeated_lines.edge_lines
    chunks, docs, chars = [], 0, 0
    for batch in iter_batches(src, columns=["text"], batch_rows=BATCH_ROWS):
        texts = [t or "" for t in batch.column("text").to_pylist()]
        docs += len(texts)
        chars += sum(map(len, texts))
        chunks.append(document_counts(line_keys(texts), edge))
    rows = _sum_rows(chunks) if chunks else np.zeros(0, COUNT_DTYPE)
    save_npy(counts_path(ctx, task["source"], task["part"]), rows)
    return {"source": task["source"], "counts": Counts(docs=docs, chars=chars, keys=len(rows))}


def _sum_rows(chunks: list[np.ndarray]) -> np.ndarray:
    """Rows of several batches added up per hash (sorted)."""
    rows = np.concatenate(chunks)
    if len(chunks) == 1:
        return rows
    unique, inverse = np.unique(rows["hash"], return_inverse=True)
    out = np.zeros(len(unique), COUNT_DTYPE)
    out["hash"] = unique
    np.add.at(out["docs"], inverse, rows["docs"])
    return out


# --------------------------------------------------------------------------- merge


def plan_merge(ctx: StageContext) -> list[dict]:
    """One task per hash range."""
    if not ctx.cfg.clean.remove_repeated_lines:
        return []
    n = range_count(ctx)
    return [{"id": f"range-{i:05d}", "range": i, "ranges": n} for i in range(n)]


def _bounds(index: int, ranges: int) -> tuple[int, int | None]:
    width = (1 << 64) // ranges
    return index * width, (None if index == ranges - 1 else (index + 1) * width)


def run_merge(ctx: StageContext, task: dict) -> dict:
    """Add up one hash range over every part; write its frequent keys."""
    rcfg = ctx.cfg.clean.repeated_lines
    lo, hi = _bounds(task["range"], task["ranges"])
    tasks = _part_tasks(ctx)
    sources = sorted({t["source"] for t in tasks})
    hashes, docs, src = [], [], []
    for t in tasks:
        rows = np.load(counts_path(ctx, t["source"], t["part"]), mmap_mode="r")
        a = int(np.searchsorted(rows["hash"], np.uint64(lo)))
        b = len(rows) if hi is None else int(np.searchsorted(rows["hash"], np.uint64(hi)))
        hashes.append(np.array(rows["hash"][a:b]))
        docs.append(np.array(rows["docs"][a:b], dtype=np.int64))
        src.append(np.full(b - a, sources.index(t["source"]), dtype=np.int32))
    h = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
    d = np.concatenate(docs) if docs else np.zeros(0, np.int64)
    s = np.concatenate(src) if src else np.zeros(0, np.int32)
    keys, total, most, n_sources = _per_key(h, d, s)
    frequent = (most >= rcfg.min_docs_in_source) | (total >= rcfg.min_docs_total)
    rows = np.zeros(int(frequent.sum()), FREQUENT_DTYPE)
    rows["hash"], rows["level"] = keys[frequent], frequency_level(total[frequent])
    save_npy(frequent_path(ctx, task["range"]), rows)
    top = np.lexsort((keys[frequent], -total[frequent]))[:TOP_LINES]
    return {"counts": Counts(keys=len(keys), frequent_keys=int(frequent.sum())),
            "top": [{"hash": f"{int(keys[frequent][i]):016x}", "docs": int(total[frequent][i]),
                     "max_docs_in_source": int(most[frequent][i]), "sources": int(n_sources[frequent][i])}
                    for i in top]}


def _per_key(h: np.ndarray, d: np.ndarray, s: np.ndarray):
    """(keys, documents over all sources, the most in one source, sources) per distinct key."""
    if not len(h):
        z = np.zeros(0, np.int64)
        return np.zeros(0, np.uint64), z, z, z
    order = np.lexsort((s, h))
    h, d, s = h[order], d[order], s[order]
    new_pair = np.ones(len(h), bool)
    new_pair[1:] = (h[1:] != h[:-1]) | (s[1:] != s[:-1])
    starts = np.flatnonzero(new_pair)
    pair_docs = np.add.reduceat(d, starts)
    pair_hash = h[starts]
    new_key = np.ones(len(starts), bool)
    new_key[1:] = pair_hash[1:] != pair_hash[:-1]
    key_starts = np.flatnonzero(new_key)
    return (pair_hash[key_starts], np.add.reduceat(pair_docs, key_starts),
            np.maximum.reduceat(pair_docs, key_starts), np.diff(np.append(key_starts, len(starts))))


# --------------------------------------------------------------------------- for the clean phase


def frequent_files(ctx: StageContext) -> list[Path]:
    """The merge phase's outputs, in range order (empty when the rule is off)."""
    return [frequent_path(ctx, t["range"]) for t in plan_merge(ctx)]


@functools.lru_cache(maxsize=2)
def _load(paths: tuple[str, ...], stamps: tuple[tuple[int, int], ...]) -> FrequentLines:
    arrays = [np.load(p) for p in paths]
    return FrequentLines.from_rows(np.concatenate(arrays) if arrays else np.zeros(0, FREQUENT_DTYPE))


def cache_key(files: list[Path]) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    """(paths, sizes and mtimes) of a merge's per-range tables, for a loader cached per process
    while they are unchanged; a missing one is an error saying how to rebuild them."""
    missing = [f for f in files if not f.exists()]
    if missing:
        raise StageError(f"{missing[0]} is missing; re-run `kuznia stage clean --force`")
    return tuple(map(str, files)), tuple((f.stat().st_size, f.stat().st_mtime_ns) for f in files)


def load_frequent(ctx: StageContext) -> FrequentLines | None:
    """Every range's frequent keys as one table (ranges are disjoint and in order, so the
    concatenation is sorted); cached per process while the files are unchanged."""
    files = frequent_files(ctx)
    return _load(*cache_key(files)) if files else None
