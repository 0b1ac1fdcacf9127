"""The clean stage: `docs/<source>/part-N.parquet` -> `clean/<source>/part-N.parquet`.

Five phases. `count` and `merge` (`linecount.py`) find the lines that recur at the edges of
many documents (one count task per docs part, one merge task per hash range, bounded memory at
any corpus size); `sites` and `site_merge` (`sitecount.py`), the same way, the lines a site
inserts inside its pages' texts (`sitelines.py`); `clean` runs the rules of `rules.py` on each
docs part, the repeated-line rule with the merged table of frequent lines (`repeated.py`), the
site-line rule with the site pairs.

One clean task per docs part. A clean part mirrors its docs part row for row (same ids, same
order, same meta); only the text changes. A document whose text is empty after cleaning is kept,
with empty text, so that every document reaches the quality stage and is rejected there with the
reason `empty`: the funnel from docs to corpus accounts for every document in one place.

Per-document cleaning stats (characters in and out, hits per rule) go to a side table
`clean/_stats/<source>/part-N.parquet` (under `_stats`, so `list_sources` / `list_parts` never
take it for a source or a part). Per-part totals go in the task record as `Counts`; `finish`
folds them into the manifest's totals and per-source counts (each with its per-rule counts), the
lines each boilerplate method removed, and the most frequent repeated lines.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from corpus.clean import linecount, sitecount
from corpus.clean.examples import ExamplePicker, id_hash, merge_examples
from corpus.clean.repeated import RepeatedRemoved
from corpus.clean.repeated_report import RemovedLines, repeated_summary
from corpus.clean.rules import CLEAN_RULE_NAMES, clean_text, content_removed
from kuznia import registry
from kuznia.counts import Counts
from kuznia.parts import DOC_SCHEMA, iter_batches, list_parts, list_sources, write_table
from kuznia.stage import Phase, StageContext, StageError, StageSpec

STATS_DIR = "_stats"
BATCH_ROWS = 1024  # documents read at a time: memory is bounded by the part's output


def stats_schema() -> pa.Schema:
    """id, characters in and out, characters the content rules removed, one hit count per rule."""
    return pa.schema(
        [pa.field("id", pa.string(), nullable=False), pa.field("chars_in", pa.int64()),
         pa.field("chars_out", pa.int64()), pa.field("chars_removed_content", pa.int64())]
        + [pa.field(f"hits_{name}", pa.int32()) for name in CLEAN_RULE_NAMES]
    )


def plan(ctx: StageContext) -> list[dict]:
    """One task per docs part, in source then part order."""
    docs_dir = ctx.upstream_dir("docs")
    tasks = []
    for source in list_sources(docs_dir):
        for part in list_parts(docs_dir, source):
            tasks.append({"id": f"{source}/{part.name}", "source": source, "part": part.name})
    return tasks


def inputs(ctx: StageContext, task: dict) -> list[Path]:
    """The docs part a clean task reads, and the frequent lines of every hash range."""
    return [ctx.upstream_dir("docs") / task["source"] / task["part"], *linecount.frequent_files(ctx),
            *sitecount.pairs_files(ctx)]


def run(ctx: StageContext, task: dict) -> dict:
    """Clean one docs part; write the clean part and its stats side table."""
    cfg = ctx.cfg.clean
    source, part = task["source"], task["part"]
    src = ctx.upstream_dir("docs") / source / part
    if not src.exists():
        raise StageError(f"{src} is missing; re-run `kuznia stage docs`")
    out = {name: [] for name in DOC_SCHEMA.names}
    stats: dict[str, list] = {name: [] for name in stats_schema().names}
    rules = {name: [0, 0, 0] for name in CLEAN_RULE_NAMES}  # docs, hits, chars removed
    chars_in = chars_out = empty_after = 0
    picker = ExamplePicker(cfg.examples_per_rule)
    frequent = linecount.load_frequent(ctx)
    site_pairs = sitecount.load_pairs(ctx)
    removed = RemovedLines()
    for batch in iter_batches(src, columns=DOC_SCHEMA.names, batch_rows=BATCH_ROWS):
        cols = batch.to_pydict()
        for doc_id, doc_source, text, meta in zip(cols["id"], cols["source"], cols["text"], cols["meta"]):
            noted = RepeatedRemoved()
            result = clean_text(text or "", cfg, frequent, noted, site_pairs)
            removed.add(noted)
            out["id"].append(doc_id)
            out["source"].append(doc_source)
            out["text"].append(result.text)
            out["meta"].append(meta)
            stats["id"].append(doc_id)
            stats["chars_in"].append(len(text or ""))
            stats["chars_out"].append(len(result.text))
            stats["chars_removed_content"].append(content_removed(result))
            h = id_hash(doc_id) if result.hits and picker.k else 0
            for name in CLEAN_RULE_NAMES:
                hits = result.hits.get(name, 0)
                stats[f"hits_{name}"].append(hits)
                if hits:
                    totals = rules[name]
                    totals[0] += 1
                    totals[1] += hits
                    totals[2] += result.chars_removed[name]
                    if picker.k:
                        picker.offer(name, doc_id, text or "", h)
            chars_in += len(text or "")
            chars_out += len(result.text)
            empty_after += not result.text
    write_table(ctx.dir / source / part, pa.table(out, schema=DOC_SCHEMA))
    write_table(ctx.dir / STATS_DIR / source / part, pa.table(stats, schema=stats_schema()))
    counts = Counts(parts=1, docs=len(out["id"]), chars_in=chars_in, chars_out=chars_out,
                    docs_empty_after_clean=empty_after,
                    rules={n: {"docs": d, "hits": h, "chars_removed": c} for n, (d, h, c) in rules.items()})
    return {"source": source, "counts": counts, "examples": picker.examples(cfg, frequent),
            "repeated_lines": removed.top()}


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    """Totals and per-source counts, per rule, folded from the task records (never by
    re-reading parts)."""
    recs = records["clean"]
    return {
        "counts": {**Counts.total(r["counts"] for r in recs), "sources": Counts.by(recs, "source")},
        "repeated_lines": repeated_summary(records, ctx.cfg.clean),
        "rules_in_order": list(CLEAN_RULE_NAMES),
        "examples": {s: merge_examples([r["examples"] for r in recs if r["source"] == s],
                                       ctx.cfg.clean.examples_per_rule)
                     for s in sorted({r["source"] for r in recs})},
        "stats_tables": f"{STATS_DIR}/<source>/<part>",
    }


SPEC = StageSpec(
    info=registry.info("clean"),
    config_keys=("clean",),
    phases=[Phase("count", linecount.plan_count, linecount.run_count, linecount.count_inputs),
            # merge declares no inputs: it reads every part, so (as dedup's clusters) it writes
            # unsalted files: a forced re-do of one source's counts, the same bytes, does not make
            # the other sources' clean tasks run again
            Phase("merge", linecount.plan_merge, linecount.run_merge),
            Phase("sites", sitecount.plan_count, sitecount.run_count, sitecount.count_inputs),
            Phase("site_merge", sitecount.plan_merge, sitecount.run_merge),  # as merge: no inputs
            Phase("clean", plan, run, inputs)],
    finish=finish,
)
