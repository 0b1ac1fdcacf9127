"""The corpus stage: quality thresholds, one document per duplicate cluster, source weights.

Three phases, so that the only global decision (the keeper of each duplicate cluster) is small:
- `select` (one task per batch of clean parts, here): the thresholds of the source's profile
  (`profiles.py`) over the part's signals (vectorised, `thresholds.decide_table`), with the
  Speakleash label set aside where cleaning made it stale (`labels.py`), written as
  `_select/<source>/<part>`;
- `clusters` (one task, `clusters.py`): the keeper of every cluster of `dedup/clusters.parquet`
  and the losers that passed quality, plus the largest clusters for the report;
- `write` (one task per batch of parts, `write.py`): every document's bucket in `_decisions/`
  and the kept ones in `corpus/<source>/<part>`.
The manifest's `funnel` (`funnel.py`) follows each source from the docs stage to the corpus, in
documents and characters, and `reasons` counts every document that fell out, by the stage and
rule that dropped it. The report (`corpus/report/`) is written to `reports/` by whoever runs
the stage (the flow, `kuznia stage`, `kuznia report`); the manifest's outputs leave it out.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from corpus.select import clusters, write
from corpus.select.dataset_card import CARD as DATASET_CARD
from corpus.select.dataset_card import write_dataset_card
from corpus.select.funnel import build_funnel
from corpus.select.labels import (
    override_counts,
    stale_labels,
    stats_path,
    without_stale_labels,
)
from corpus.select.profile_summary import label_summary, profile_summary
from corpus.select.profiles import (
    category_files,
    profile_thresholds,
    profiles_of_sources,
)
from corpus.select.tables import REPORTS_DIR, SELECT_DIR, SELECT_SCHEMA, reason_counts
from corpus.select.thresholds import decide_table
from kuznia import registry
from kuznia.counts import Counts
from kuznia.parts import list_parts, list_sources, read_table, write_table
from kuznia.stage import Phase, StageContext, StageError, StageSpec

CHARS_SIGNAL = "text_v1_chars"  # the quality stage's character count of the cleaned text
LABEL_SIGNAL = "speakleash_label"


def _part_tasks(ctx: StageContext, prefix: str) -> list[dict]:
    """Batches of `parts_per_task` clean parts per source, in source and part order."""
    clean = ctx.upstream_dir("clean")
    n = ctx.cfg.corpus.parts_per_task
    tasks = []
    for source in list_sources(clean):
        names = [p.name for p in list_parts(clean, source)]
        for i in range(0, len(names), n):
            tasks.append({"id": f"{prefix}-{source}-{i // n:05d}", "source": source,
                          "parts": names[i:i + n]})
    return tasks


def _read_signals(ctx: StageContext, source: str, name: str, ids: pa.Array) -> pa.Table:
    """The quality part that mirrors a clean part, checked row for row."""
    path = ctx.upstream_dir("quality") / source / name
    if not path.exists():
        raise StageError(f"{path} is missing for clean part {source}/{name}; "
                         "run `kuznia stage quality --force`")
    signals = read_table(path)
    if not signals.column("id").combine_chunks().equals(ids):
        raise StageError(f"{path} does not mirror clean/{source}/{name} row for row (ids differ); "
                         "run `kuznia stage quality --force`")
    return signals


def plan_select(ctx: StageContext) -> list[dict]:
    """One task per batch of clean parts."""
    tasks = _part_tasks(ctx, "select")
    if not tasks:
        raise StageError(f"{ctx.upstream_dir('clean')} has no parts; run `kuznia stage clean`")
    return tasks


def select_inputs(ctx: StageContext, task: dict) -> list[Path]:
    """The clean and quality parts a select task reads, clean's per-document stats, and the
    dataset manifest that gives the source's category."""
    source = task["source"]
    return [*(ctx.upstream_dir(stage) / source / name for name in task["parts"]
              for stage in ("clean", "quality")),
            *(stats_path(ctx, source, name) for name in task["parts"]), *category_files(ctx, source)]


def run_select(ctx: StageContext, task: dict) -> dict:
    """The thresholds of the source's profile over each part's signals -> `_select/<source>/<part>`
    and counts (per reason, and the labels set aside as stale)."""
    source = task["source"]
    ccfg = ctx.cfg.corpus
    clean = ctx.upstream_dir("clean")
    profile = profiles_of_sources(ctx, [source])[source]
    thresholds = profile_thresholds(ccfg.thresholds, ccfg.profiles)[profile.profile]
    counts = Counts()
    for name in task["parts"]:
        ids = read_table(clean / source / name, columns=["id"]).column("id").combine_chunks()
        signals = _read_signals(ctx, source, name, ids)
        chars = signals.column(CHARS_SIGNAL).combine_chunks().cast(pa.int64())
        stale = stale_labels(ctx, source, name, ids)
        reasons = decide_table(without_stale_labels(signals, stale), thresholds).cast(pa.string())
        labels = pc.cast(signals.column(LABEL_SIGNAL), pa.string()).combine_chunks()
        write_table(ctx.dir / SELECT_DIR / source / name,
                    pa.table({"id": ids, "chars": chars, "label": labels, "reason": reasons,
                              "label_stale": pa.array(stale)}, schema=SELECT_SCHEMA))
        passing = pc.is_null(reasons)
        before = decide_table(signals, thresholds).cast(pa.string()) if stale.any() else reasons
        counts += {"cleaned": {"docs": len(ids), "chars": pc.sum(chars).as_py() or 0},
                   "quality": {"docs": pc.sum(pc.cast(passing, pa.int64())).as_py() or 0,
                               "chars": pc.sum(chars.filter(passing)).as_py() or 0},
                   "reasons": reason_counts(reasons, chars),
                   "labels": override_counts(stale, labels, before, reasons, chars)}
    return {"source": source, "profile": profile.profile, "category": profile.category,
            "profile_why": profile.why, "counts": counts}


def plan_write(ctx: StageContext) -> list[dict]:
    """One task per batch of clean parts (the same batches as `select`)."""
    return _part_tasks(ctx, "write")


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    """The funnel per source, reasons, excerpts, the largest clusters, what each threshold
    profile rejected, and the Speakleash labels set aside as stale."""
    summary = {**build_funnel(ctx, records), "profiles": profile_summary(ctx, records),
               "labels": label_summary(records)}
    write_dataset_card(ctx, summary)  # corpus/README.md, from the same numbers
    return summary


SPEC = StageSpec(
    info=registry.info("corpus"),
    config_keys=("corpus",),
    phases=[Phase("select", plan_select, run_select, select_inputs),
            Phase("clusters", clusters.plan, clusters.run),
            Phase("write", plan_write, write.run, write.inputs)],
    finish=finish,
    not_outputs=(REPORTS_DIR, DATASET_CARD),
    reads_parts_of=("clean",),  # docs: its manifest's counts only
)
