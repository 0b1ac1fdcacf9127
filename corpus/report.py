"""The corpus quality report: `corpus/reports/report.json` + one self-contained `report.html`.

Built only from the stages' manifests and the side tables (quality signals, duplicate clusters,
the corpus stage's per-document decisions), never by recomputing a signal or reading the text
(the excerpts come from the corpus manifest). Works on a work dir where only some stages ran:
each section says what it needs and which command produces it. `build_report` is what the corpus
stage calls at its end and what `kuznia report` calls; `summary_markdown` / `summary_rows` give
the same summary as Prefect artifacts (this module does not import Prefect).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.corpus import DECISIONS_DIR, REPORTS_DIR
from corpus.funnel import FUNNEL_STEPS, docs_source_counts
from corpus.parts import PART_GLOB, list_parts
from corpus.report_stats import (
    overlap_matrix,
    rule_charts,
    signal_summaries,
    token_counts,
)
from corpus.select import source_kind, source_weight
from corpus.stage import STAGE_DIRS, atomic_path, read_manifest, write_json_atomic

# Characters per token when the tokenizer has not run: APT3's card gives 285 GB of text for
# > 60 B tokens (4.75 bytes/token); Polish text is ~1.1 UTF-8 bytes per character.
DEFAULT_CHARS_PER_TOKEN = 4.3
STAGES_SHOWN = ("fetch", "docs", "clean", "quality", "dedup", "corpus", "tokenizer", "tokens")


def missing(stage: str) -> str:
    """The sentence a section shows when a stage it needs has not run."""
    return f"{stage}: not run yet — `kuznia stage {stage}`"


def _manifests(work_dir: Path, corpus_manifest: dict | None) -> dict[str, dict | None]:
    out = {s: read_manifest(work_dir / STAGE_DIRS[s]) for s in STAGES_SHOWN}
    if corpus_manifest is not None:
        out["corpus"] = corpus_manifest
    return out


def _source_of(ids: pa.ChunkedArray | pa.Array) -> pa.Array:
    """`speakleash.x/000000001` -> `speakleash.x` (the id convention: source, then `/`)."""
    return pc.list_element(pc.split_pattern(ids, "/", max_splits=1), 0)


def _funnel_section(m: dict) -> dict:
    c = m.get("corpus")
    if c is None:
        docs = m.get("docs")
        if docs is None:
            return {"missing": [missing("docs"), missing("corpus")]}
        sources = {s: {"fetched": {"docs": v.get("documents", 0), "chars": v.get("characters")}}
                   for s, v in docs_source_counts(docs).items()}
        return {"steps": ["fetched"], "total": {"fetched": {
            "docs": sum(v["fetched"]["docs"] for v in sources.values()),
            "chars": sum(v["fetched"]["chars"] or 0 for v in sources.values())}},
            "sources": sources, "missing": [missing("corpus")]}
    return {"steps": list(FUNNEL_STEPS), "total": c["funnel"]["total"], "sources": c["funnel"]["sources"]}


def _reasons_section(m: dict) -> dict:
    c = m.get("corpus")
    if c is None:
        return {"missing": [missing("corpus")]}
    return {"total": c["reasons"]["total"], "sources": c["reasons"]["sources"],
            "stages": c.get("reason_stages", {})}


def _dedup_section(work_dir: Path, m: dict, top_n: int) -> dict:
    d = m.get("dedup")
    path = work_dir / STAGE_DIRS["dedup"] / "clusters.parquet"
    if d is None or not path.exists():
        return {"missing": [missing("dedup")]}
    t = pq.read_table(path, columns=["id", "cluster_id"])
    names = pq.read_schema(path).names
    src = pq.read_table(path, columns=["source"]).column(0) if "source" in names else _source_of(t.column("id"))
    t = t.append_column("_src", src)
    per = t.group_by("_src").aggregate([("id", "count")])
    in_clusters = dict(zip(per.column("_src").to_pylist(), per.column("id_count").to_pylist()))
    names, matrix = overlap_matrix(t)
    out: dict[str, Any] = {"counts": d.get("counts", {}), "docs_in_clusters": dict(sorted(in_clusters.items())),
                           "overlap": {"sources": names, "matrix": matrix}}
    c = m.get("corpus")
    fun = (c or {}).get("funnel", {}).get("sources", {})
    rs = (c or {}).get("reasons", {}).get("sources", {})
    rates = {}
    for s in sorted(set(in_clusters) | set(fun)):
        cleaned = (fun.get(s, {}).get("cleaned") or {}).get("docs")
        dup = (rs.get(s, {}).get("duplicate") or {}).get("docs", 0)
        rates[s] = {"docs_in_clusters": in_clusters.get(s, 0), "cleaned": cleaned,
                    "dropped_as_duplicate": dup if c else None,
                    "duplicate_rate": round(dup / cleaned, 6) if c and cleaned else None}
    out["per_source"] = rates
    if c is not None:
        out["top"] = c["clusters"]["top"]
    else:
        sizes = t.group_by("cluster_id").aggregate([("id", "count")]).sort_by(
            [("id_count", "descending"), ("cluster_id", "ascending")]).slice(0, top_n)
        out["top"] = [{"cluster_id": cid, "size": n, "members": []} for cid, n in
                      zip(sizes.column("cluster_id").to_pylist(), sizes.column("id_count").to_pylist())]
        out["missing"] = [f"excerpts of the largest clusters: {missing('corpus')}"]
    return out


def _corpus_config(m: dict, cfg):
    """The corpus config the corpus stage ran with (from its manifest), else the given one: the
    thresholds drawn and the weights shown are those that made the numbers."""
    from corpus.corpus import CorpusConfig

    ran = ((m.get("corpus") or {}).get("config") or {}).get("corpus")
    return CorpusConfig.model_validate(ran) if ran else cfg.corpus


def _mixture_section(m: dict, ccfg) -> dict:
    c = m.get("corpus")
    if c is None:
        return {"missing": [missing("corpus")], "target": dict(ccfg.target_mixture)}

    by_source = {s: (f["corpus"]["chars"] or 0) for s, f in c["funnel"]["sources"].items()}
    total = sum(by_source.values()) or 1
    target = dict(ccfg.target_mixture)
    groups: dict[str, float] = {}
    for s, ch in by_source.items():
        key = s if s in target else source_kind(s)
        groups[key] = groups.get(key, 0.0) + ch / total
    keys = sorted(set(groups) | set(target))
    return {"target": target, "achieved": {k: round(groups.get(k, 0.0), 6) for k in keys},
            "by_source": {s: {"chars": ch, "share": round(ch / total, 6),
                              "weight": source_weight(s, ccfg.weights)} for s, ch in by_source.items()}}


def _tokens_section(m: dict) -> dict:
    c = m.get("corpus")
    tok = m.get("tokenizer")
    fert = (tok or {}).get("fertility") or {}
    cpt_all = (fert.get("all") or {}).get("chars_per_token")
    out: dict[str, Any] = {"missing": []}
    if c is None:
        out["missing"].append(missing("corpus"))
        return out
    per = {}
    for s, f in c["funnel"]["sources"].items():
        cpt = ((fert.get("sources") or {}).get(s) or {}).get("chars_per_token") or cpt_all \
            or DEFAULT_CHARS_PER_TOKEN
        per[s] = {"chars": f["corpus"]["chars"], "chars_per_token": cpt,
                  "estimated_tokens": round((f["corpus"]["chars"] or 0) / cpt)}
    out["estimated"] = per
    out["estimated_total"] = sum(v["estimated_tokens"] for v in per.values())
    out["basis"] = ("tokenizer fertility (chars per token on held-out documents)" if cpt_all else
                    f"{DEFAULT_CHARS_PER_TOKEN} characters per token (APT3: 285 GB / 60 B tokens); "
                    "tokenizer not run yet — `kuznia stage tokenizer`")
    if tok is None:
        out["missing"].append(missing("tokenizer") + " (fertility-based estimate)")
    real = token_counts(m.get("tokens"))
    if real is None:
        out["missing"].append(missing("tokens") + " (real token counts)")
    else:
        out["real"] = real
    return out


def _stages_section(m: dict) -> list[dict]:
    return [{"stage": s, "ran": m.get(s) is not None, "fingerprint": (m.get(s) or {}).get("fingerprint"),
             "seconds": ((m.get(s) or {}).get("timings") or {}).get("total")} for s in STAGES_SHOWN]


def collect(work_dir: Path, cfg, corpus_manifest: dict | None = None) -> dict:
    """Everything the report shows, as JSON-able numbers (this is `report.json`)."""
    work_dir = Path(work_dir)
    m = _manifests(work_dir, corpus_manifest)
    c = m.get("corpus")
    decisions = sorted((work_dir / STAGE_DIRS["corpus"] / DECISIONS_DIR).glob(f"*/{PART_GLOB}")) \
        if c is not None else []
    quality_parts = list_parts(work_dir / STAGE_DIRS["quality"]) if m.get("quality") else []
    ccfg = _corpus_config(m, cfg)
    stages = (c or {}).get("reason_stages", {})
    top = sorted(((v["docs"], r) for r, v in ((c or {}).get("reasons") or {}).get("total", {}).items()
                  if stages.get(r) == "quality"), reverse=True)
    dists, labels = signal_summaries(quality_parts, decisions, ccfg.thresholds,
                                     rule_charts([r for _, r in top]))
    report = {
        "title": f"Kuźnia corpus report — {cfg.name}",
        "work_dir": str(work_dir),
        "stages": _stages_section(m),
        "funnel": _funnel_section(m),
        "reasons": _reasons_section(m),
        "excerpts": c["excerpts"] if c else {"missing": [missing("corpus")]},
        "distributions": dists if quality_parts else {"missing": [missing("quality")]},
        "labels": labels if quality_parts else {"missing": [missing("quality")]},
        "dedup": _dedup_section(work_dir, m, ccfg.top_clusters),
        "mixture": _mixture_section(m, ccfg),
        "tokens": _tokens_section(m),
    }
    report["missing"] = sorted({s for sec in report.values() if isinstance(sec, dict)
                                for s in sec.get("missing", [])})
    return report


def build_report(work_dir: Path | str, cfg, corpus_manifest: dict | None = None,
                 out_dir: Path | str | None = None) -> Path:
    """Write `report.json` and `report.html` (default: `<work_dir>/corpus/reports/`); the HTML path.

    `corpus_manifest` lets the corpus stage pass its summary before its manifest is written.
    """
    from corpus.report_html import render_html

    work_dir = Path(work_dir)
    out = Path(out_dir) if out_dir else work_dir / STAGE_DIRS["corpus"] / REPORTS_DIR
    report = collect(work_dir, cfg, corpus_manifest)
    write_json_atomic(out / "report.json", report)
    html_path = out / "report.html"
    with atomic_path(html_path) as tmp:
        tmp.write_text(render_html(report), "utf-8")
    return html_path


# --------------------------------------------------------------------------- summary (artifacts)


def summary_rows(report: dict) -> list[dict]:
    """One row per source: the funnel in documents and characters (a Prefect table artifact)."""
    f = report["funnel"]
    rows = []
    for s, steps in sorted(f.get("sources", {}).items()):
        row: dict[str, Any] = {"source": s}
        for step in f.get("steps", []):
            row[f"{step}_docs"] = (steps.get(step) or {}).get("docs")
            row[f"{step}_chars"] = (steps.get(step) or {}).get("chars")
        rows.append(row)
    return rows


def summary_markdown(report: dict) -> str:
    """The report's headline numbers as markdown (a Prefect markdown artifact)."""
    f = report["funnel"]
    lines = [f"# {report['title']}", ""]
    if f.get("steps"):
        lines += ["| step | documents | characters |", "|---|---:|---:|"]
        for step in f["steps"]:
            t = f["total"].get(step) or {}
            ch = t.get("chars")
            lines.append(f"| {step} | {t.get('docs', 0):,} | {'—' if ch is None else f'{ch:,}'} |")
        lines.append("")
    r = report["reasons"]
    if "total" in r:
        lines += ["| reject reason | stage | documents |", "|---|---|---:|"]
        for reason, v in sorted(r["total"].items(), key=lambda kv: -kv[1]["docs"]):
            lines.append(f"| {reason} | {r['stages'].get(reason, '')} | {v['docs']:,} |")
        lines.append("")
    t = report["tokens"]
    if "estimated_total" in t:
        lines.append(f"Estimated tokens: {t['estimated_total']:,} ({t['basis']}).")
    if report["missing"]:
        lines += ["", "Missing sections:", *[f"- {s}" for s in report["missing"]]]
    return "\n".join(lines) + "\n"


def load_report_json(work_dir: Path | str) -> dict:
    """The last written `report.json` (for `kuznia report --json`, artifacts)."""
    return json.loads((Path(work_dir) / STAGE_DIRS["corpus"] / REPORTS_DIR / "report.json").read_text("utf-8"))

