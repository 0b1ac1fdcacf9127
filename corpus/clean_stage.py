"""The clean stage: `docs/<source>/part-N.parquet` -> `clean/<source>/part-N.parquet`.

One task per docs part. A clean part mirrors its docs part row for row (same ids, same order,
same meta); only the text changes. A document whose text is empty after cleaning is kept, with
empty text, so that every document reaches the quality stage and is rejected there with the
reason `empty`: the funnel from docs to corpus accounts for every document in one place.

Per-document cleaning stats (characters in and out, hits per rule) go to a side table
`clean/_stats/<source>/part-N.parquet` (under `_stats`, so `list_sources` / `list_parts` never
take it for a source or a part). Per-part totals go in the task record; `finish` adds them up
per rule and per source into the manifest's `counts`.
"""

from __future__ import annotations

import pyarrow as pa

from corpus.clean import RULE_NAMES, clean_text
from corpus.parts import DOC_SCHEMA, iter_batches, list_parts, list_sources, write_table
from corpus.stage import Phase, StageContext, StageError, StageSpec

STATS_DIR = "_stats"
BATCH_ROWS = 1024  # documents read at a time: memory is bounded by the part's output


def stats_schema() -> pa.Schema:
    """id, characters in and out, and one hit count per rule."""
    return pa.schema(
        [pa.field("id", pa.string(), nullable=False), pa.field("chars_in", pa.int64()),
         pa.field("chars_out", pa.int64())]
        + [pa.field(f"hits_{name}", pa.int32()) for name in RULE_NAMES]
    )


def plan(ctx: StageContext) -> list[dict]:
    """One task per docs part, in source then part order."""
    docs_dir = ctx.upstream_dir("docs")
    tasks = []
    for source in list_sources(docs_dir):
        for part in list_parts(docs_dir, source):
            tasks.append({"id": f"{source}/{part.name}", "source": source, "part": part.name})
    return tasks


def _empty_rule_totals() -> dict[str, dict[str, int]]:
    return {name: {"docs": 0, "hits": 0, "chars_removed": 0} for name in RULE_NAMES}


def run(ctx: StageContext, task: dict) -> dict:
    """Clean one docs part; write the clean part and its stats side table."""
    cfg = ctx.cfg.clean
    source, part = task["source"], task["part"]
    src = ctx.upstream_dir("docs") / source / part
    if not src.exists():
        raise StageError(f"{src} is missing; re-run `kuznia stage docs`")
    out = {name: [] for name in DOC_SCHEMA.names}
    stats: dict[str, list] = {name: [] for name in stats_schema().names}
    rules = _empty_rule_totals()
    chars_in = chars_out = empty_after = 0
    for batch in iter_batches(src, columns=DOC_SCHEMA.names, batch_rows=BATCH_ROWS):
        cols = batch.to_pydict()
        for doc_id, doc_source, text, meta in zip(cols["id"], cols["source"], cols["text"], cols["meta"]):
            result = clean_text(text or "", cfg)
            out["id"].append(doc_id)
            out["source"].append(doc_source)
            out["text"].append(result.text)
            out["meta"].append(meta)
            stats["id"].append(doc_id)
            stats["chars_in"].append(len(text or ""))
            stats["chars_out"].append(len(result.text))
            for name in RULE_NAMES:
                hits = result.hits.get(name, 0)
                stats[f"hits_{name}"].append(hits)
                if hits:
                    totals = rules[name]
                    totals["docs"] += 1
                    totals["hits"] += hits
                    totals["chars_removed"] += result.chars_removed[name]
            chars_in += len(text or "")
            chars_out += len(result.text)
            empty_after += not result.text
    write_table(ctx.dir / source / part, pa.table(out, schema=DOC_SCHEMA))
    write_table(ctx.dir / STATS_DIR / source / part, pa.table(stats, schema=stats_schema()))
    return {
        "docs": len(out["id"]),
        "chars_in": chars_in,
        "chars_out": chars_out,
        "docs_empty_after_clean": empty_after,
        "rules": rules,
    }


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    """Totals per rule and per source, from the task records (never by re-reading parts)."""
    by_source: dict[str, dict[str, int]] = {}
    rules = _empty_rule_totals()
    for rec in records["clean"]:
        src = by_source.setdefault(
            rec["task"]["source"],
            {"parts": 0, "docs": 0, "chars_in": 0, "chars_out": 0, "docs_empty_after_clean": 0},
        )
        src["parts"] += 1
        for key in ("docs", "chars_in", "chars_out", "docs_empty_after_clean"):
            src[key] += rec[key]
        for name, totals in rec["rules"].items():
            for key, value in totals.items():
                rules[name][key] += value
    totals = {key: sum(s[key] for s in by_source.values())
              for key in ("parts", "docs", "chars_in", "chars_out", "docs_empty_after_clean")}
    return {
        "counts": {**totals, "rules": rules, "sources": dict(sorted(by_source.items()))},
        "rules_in_order": list(RULE_NAMES),
        "stats_tables": f"{STATS_DIR}/<source>/<part>",
    }


SPEC = StageSpec(
    name="clean",
    ref="corpus.clean_stage:SPEC",
    upstream=("docs",),
    config_keys=("clean",),
    phases=[Phase("clean", plan, run)],
    finish=finish,
)

