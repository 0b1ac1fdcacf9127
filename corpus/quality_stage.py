"""The quality stage: `clean/<source>/part-N.parquet` -> `quality/<source>/part-N.parquet`.

One task per clean part. A quality part mirrors its clean part row for row: `id` and one
column per signal (`corpus.quality.SIGNALS`), no text. The manifest lists the signal columns
with their versions, and per source: documents, characters, languages, Speakleash labels, and
how many documents each rule would reject under the default `Thresholds` (a preview only: the
corpus stage applies the configured thresholds).
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

from corpus.parts import iter_batches, list_parts, list_sources, write_table
from corpus.quality import (
    REASONS,
    SIGNAL_SCHEMA,
    SIGNALS,
    QualityConfig,
    SignalComputer,
    Thresholds,
    decide_table,
    signals_table_from_columns,
)
from corpus.stage import Phase, StageContext, StageError, StageSpec

BATCH_ROWS = 1024
TOP_LANGUAGES = 10  # languages listed per source in the manifest


@lru_cache(maxsize=2)
def _computer(cfg_json: str) -> SignalComputer:
    """One signal computer per process and config (the language profiles load once)."""
    return SignalComputer(QualityConfig.model_validate_json(cfg_json))


def plan(ctx: StageContext) -> list[dict]:
    """One task per clean part, in source then part order."""
    clean_dir = ctx.upstream_dir("clean")
    return [
        {"id": f"{source}/{part.name}", "source": source, "part": part.name}
        for source in list_sources(clean_dir)
        for part in list_parts(clean_dir, source)
    ]


def summarise(table: pa.Table) -> dict:
    """Counts of one quality part: documents, characters, languages, labels, preview reasons."""
    langs = Counter(v for v in table.column("lang_v1_top").to_pylist())
    labels = Counter(v for v in table.column("speakleash_label").to_pylist() if v is not None)
    reasons = Counter(decide_table(table, Thresholds()).to_pylist())
    pl_sum = pc.sum(table.column("lang_v1_pl_prob")).as_py() or 0.0
    return {
        "docs": table.num_rows,
        "chars": pc.sum(table.column("text_v1_chars")).as_py() or 0,
        "truncated": pc.sum(pc.cast(table.column("text_v1_truncated"), pa.int64())).as_py() or 0,
        "pl_prob_sum": float(pl_sum),
        "languages": {("none" if k is None else k): v for k, v in langs.items()},
        "speakleash_labels": dict(labels),
        "kept_at_default_thresholds": reasons.pop(None, 0),
        "rejected_at_default_thresholds": dict(reasons),
    }


def run(ctx: StageContext, task: dict) -> dict:
    """Compute the signals of one clean part and write its quality part."""
    computer = _computer(ctx.cfg.quality.model_dump_json())
    src = ctx.upstream_dir("clean") / task["source"] / task["part"]
    if not src.exists():
        raise StageError(f"{src} is missing; re-run `kuznia stage clean`")
    tables = []
    for batch in iter_batches(src, columns=["id", "text", "meta"], batch_rows=BATCH_ROWS):
        cols = batch.to_pydict()
        signals = computer.columns([t or "" for t in cols["text"]], [m or "{}" for m in cols["meta"]])
        tables.append(signals_table_from_columns(cols["id"], signals))
    table = pa.concat_tables(tables).combine_chunks() if tables else SIGNAL_SCHEMA.empty_table()
    write_table(ctx.dir / task["source"] / task["part"], table)
    return summarise(table)


def _merge(into: dict, rec: dict) -> None:
    for key in ("docs", "chars", "truncated", "pl_prob_sum", "kept_at_default_thresholds"):
        into[key] = into.get(key, 0) + rec[key]
    for key in ("languages", "speakleash_labels", "rejected_at_default_thresholds"):
        merged = Counter(into.get(key, {}))
        merged.update(rec[key])
        into[key] = dict(merged)


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    """Per-source summaries and the signal columns with their versions."""
    by_source: dict[str, dict] = {}
    for rec in records["quality"]:
        _merge(by_source.setdefault(rec["task"]["source"], {}), rec)
    for summary in by_source.values():
        summary["pl_prob_mean"] = round(summary.pop("pl_prob_sum") / summary["docs"], 4) if summary["docs"] else 0.0
        top = Counter(summary["languages"]).most_common(TOP_LANGUAGES)
        summary["languages"] = dict(top)
        summary["rejected_at_default_thresholds"] = dict(
            sorted(summary["rejected_at_default_thresholds"].items(), key=lambda kv: REASONS.index(kv[0]))
        )
    total_docs = sum(s["docs"] for s in by_source.values())
    return {
        "counts": {
            "docs": total_docs,
            "chars": sum(s["chars"] for s in by_source.values()),
            "truncated": sum(s["truncated"] for s in by_source.values()),
            "sources": dict(sorted(by_source.items())),
        },
        "signals": {s.name: {"version": s.version, "type": str(s.type), "description": s.description}
                    for s in SIGNALS},
        "columns": [f.name for f in SIGNAL_SCHEMA],
        "preview_thresholds": "corpus.quality.Thresholds() defaults",
    }


SPEC = StageSpec(
    name="quality",
    ref="corpus.quality_stage:SPEC",
    upstream=("clean",),
    config_keys=("quality",),
    phases=[Phase("quality", plan, run)],
    finish=finish,
)
