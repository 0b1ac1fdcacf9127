"""The quality stage: `clean/<source>/part-N.parquet` -> `quality/<source>/part-N.parquet`.

One task per clean part. A quality part mirrors its clean part row for row: `id` and one
column per signal of the catalogue (`corpus/quality/catalogue.py`), no text. The manifest lists
the signal columns with their versions, and per source: documents, characters, languages and
Speakleash labels. No threshold is applied here: that is the corpus stage's (`corpus/select/`).
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from corpus.quality.catalogue import SIGNAL_SCHEMA, SIGNALS
from corpus.quality.config import QualityConfig
from corpus.quality.signals import SignalComputer, signals_table_from_columns
from kuznia import registry
from kuznia.counts import Counts
from kuznia.parts import iter_batches, list_parts, list_sources, write_table
from kuznia.stage import Phase, StageContext, StageError, StageSpec

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


def summarise(table: pa.Table) -> Counts:
    """Counts of one quality part: documents, characters, languages, Speakleash labels."""
    langs = Counter(table.column("lang_v1_top").to_pylist())
    labels = Counter(v for v in table.column("speakleash_label").to_pylist() if v is not None)
    return Counts(
        docs=table.num_rows,
        chars=pc.sum(table.column("text_v1_chars")).as_py() or 0,
        truncated=pc.sum(pc.cast(table.column("text_v1_truncated"), pa.int64())).as_py() or 0,
        pl_prob_sum=float(pc.sum(table.column("lang_v1_pl_prob")).as_py() or 0.0),
        languages={("none" if k is None else k): v for k, v in langs.items()},
        speakleash_labels=dict(labels),
    )


def inputs(ctx: StageContext, task: dict) -> list[Path]:
    """The clean part a quality task reads."""
    return [ctx.upstream_dir("clean") / task["source"] / task["part"]]


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
    return {"source": task["source"], "counts": summarise(table)}


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    """Per-source counts (mean P(pl), the top languages) and the signal columns with versions."""
    by_source = Counts.by(records["quality"], "source")
    for summary in by_source.values():
        pl_sum = summary.pop("pl_prob_sum")
        summary["pl_prob_mean"] = round(pl_sum / summary["docs"], 4) if summary["docs"] else 0.0
        summary["languages"] = dict(Counter(summary["languages"]).most_common(TOP_LANGUAGES))
    total = Counts.total({k: v for k, v in s.items() if k in ("docs", "chars", "truncated")}
                         for s in by_source.values())
    return {
        "counts": {**total, "sources": by_source},
        "signals": {s.name: {"version": s.version, "type": str(s.type), "description": s.description}
                    for s in SIGNALS},
        "columns": [f.name for f in SIGNAL_SCHEMA],
    }


SPEC = StageSpec(
    info=registry.info("quality"),
    config_keys=("quality",),
    phases=[Phase("quality", plan, run, inputs)],
    finish=finish,
)
