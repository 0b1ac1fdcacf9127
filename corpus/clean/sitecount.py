"""The site-line counting phases (`sitelines.py` says what they find): `sites`, one task per docs
part, and `site_merge`, one task per hash range of the site key, bounded as `linecount.py`'s."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from corpus.clean import linecount
from corpus.clean.sitelines import SITE_DTYPE, count_rows, select_pairs, sum_pairs
from kuznia.counts import Counts
from kuznia.files import save_npy
from kuznia.parts import iter_batches
from kuznia.stage import StageContext, StageError

SITE_COUNTS_DIR = f"{linecount.LINES_DIR}/site_counts"
SITE_PAIRS_DIR = f"{linecount.LINES_DIR}/site_pairs"


# --------------------------------------------------------------------------- count


def counts_path(ctx: StageContext, source: str, part: str) -> Path:
    return ctx.dir / SITE_COUNTS_DIR / source / (part.removesuffix(".parquet") + ".npy")


def pairs_path(ctx: StageContext, index: int) -> Path:
    return ctx.dir / SITE_PAIRS_DIR / f"range-{index:05d}.npy"


def _on(ctx: StageContext) -> bool:
    return ctx.cfg.clean.remove_repeated_lines and ctx.cfg.clean.remove_site_lines


def plan_count(ctx: StageContext) -> list[dict]:
    """One task per docs part (none when the rule is off)."""
    return linecount._part_tasks(ctx) if _on(ctx) else []


def count_inputs(ctx: StageContext, task: dict) -> list[Path]:
    return [ctx.upstream_dir("docs") / task["source"] / task["part"], *linecount.frequent_files(ctx)]


def run_count(ctx: StageContext, task: dict) -> dict:
    """Per-part documents of every site key, alone and with each chrome key of a document."""
    src = ctx.upstream_dir("docs") / task["source"] / task["part"]
    if not src.exists():
        raise StageError(f"{src} is missing; re-run `kuznia stage docs`")
    rcfg = ctx.cfg.clean.repeated_lines
    frequent = linecount.load_frequent(ctx)
    chunks, docs, with_chrome = [], 0, 0
    for batch in iter_batches(src, columns=["text"], batch_rows=linecount.BATCH_ROWS):
        texts = [t or "" for t in batch.column("text").to_pylist()]
        docs += len(texts)
        rows, n = count_rows(texts, frequent, rcfg)
        chunks.append(rows)
        with_chrome += n
    rows = np.concatenate(chunks) if chunks else np.zeros(0, SITE_DTYPE)
    rows = sum_pairs(rows["site"], rows["chrome"], rows["docs"].astype(np.int64))
    save_npy(counts_path(ctx, task["source"], task["part"]), rows)
    return {"source": task["source"], "counts": Counts(docs=docs, docs_with_chrome=with_chrome, pairs=len(rows))}


# --------------------------------------------------------------------------- merge


def plan_merge(ctx: StageContext) -> list[dict]:
    """One task per hash range of the site key (as many as the line counts' merge)."""
    if not _on(ctx):
        return []
    n = linecount.range_count(ctx)
    return [{"id": f"range-{i:05d}", "range": i, "ranges": n} for i in range(n)]


def run_merge(ctx: StageContext, task: dict) -> dict:
    """Add up one range over every part; write its site pairs."""
    rcfg = ctx.cfg.clean.repeated_lines
    lo, hi = linecount._bounds(task["range"], task["ranges"])
    parts = []
    for t in linecount._part_tasks(ctx):
        rows = np.load(counts_path(ctx, t["source"], t["part"]), mmap_mode="r")
        a = int(np.searchsorted(rows["site"], np.uint64(lo)))
        b = len(rows) if hi is None else int(np.searchsorted(rows["site"], np.uint64(hi)))
        parts.append(np.array(rows[a:b]))
    rows = np.concatenate(parts) if parts else np.zeros(0, SITE_DTYPE)
    rows = sum_pairs(rows["site"], rows["chrome"], rows["docs"].astype(np.int64))
    hashes = select_pairs(rows, rcfg)
    save_npy(pairs_path(ctx, task["range"]), hashes)
    return {"counts": Counts(site_keys=int((rows["chrome"] == 0).sum()), site_pairs=len(hashes))}


# --------------------------------------------------------------------------- for the clean phase


def pairs_files(ctx: StageContext) -> list[Path]:
    """The site merge's outputs, in range order (empty when the rule is off)."""
    return [pairs_path(ctx, t["range"]) for t in plan_merge(ctx)]


@functools.lru_cache(maxsize=2)
def _load(paths: tuple[str, ...], stamps: tuple[tuple[int, int], ...]) -> np.ndarray:
    arrays = [np.load(p) for p in paths]
    return np.sort(np.concatenate(arrays)) if arrays else np.zeros(0, np.uint64)


def load_pairs(ctx: StageContext) -> np.ndarray | None:
    """Every range's site pairs as one sorted array; cached per process while unchanged."""
    files = pairs_files(ctx)
    return _load(*linecount.cache_key(files)) if files else None
