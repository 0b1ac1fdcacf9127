"""The corpus quality report: `corpus/reports/report.json` + one self-contained `report.html`.

Built only from the stages' manifests and the side tables (quality signals, duplicate clusters,
the corpus stage's per-document decisions), never by recomputing a signal or reading the text
(the excerpts come from the corpus manifest). Works on a work dir where only some stages ran:
each section says what it needs and which command produces it. `build_report` is what the corpus
stage calls at its end and what `kuznia report` calls; `summary_markdown` / `summary_rows` give
the same summary as Prefect artifacts (`summary.py`; this package does not import Prefect).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from corpus.report.html import render_html
from corpus.report.stats import (
    overlap_matrix,
    rule_charts,
    signal_summaries,
    token_counts,
)
from corpus.select.config import CorpusConfig
from corpus.select.funnel import FUNNEL_STEPS
from corpus.select.mixture import MIXTURE_FILE
from corpus.select.rules import source_kind, source_weight
from corpus.select.tables import DECISIONS_DIR, REPORTS_DIR, SELECT_DIR
from kuznia.files import write_json_atomic, write_text_atomic
from kuznia.parts import PART_GLOB, list_parts, read_table
from kuznia.registry import folder
from kuznia.stage import read_manifest

# Characters per token when the tokenizer has not run: APT3's card gives 285 GB of text for
# > 60 B tokens (4.75 bytes/token); Polish text is ~1.1 UTF-8 bytes per character.
DEFAULT_CHARS_PER_TOKEN = 4.3
STAGES_SHOWN = ("fetch", "docs", "clean", "quality", "dedup", "corpus", "tokenizer", "tokens")


def missing(stage: str) -> str:
    """The sentence a section shows when a stage it needs has not run."""
    return f"{stage}: not run yet — `kuznia stage {stage}`"


def _manifests(work_dir: Path) -> dict[str, dict | None]:
    return {s: read_manifest(work_dir / folder(s)) for s in STAGES_SHOWN}


def _funnel_section(m: dict) -> dict:
    c = m.get("corpus")
    if c is None:
        docs = m.get("docs")
        if docs is None:
            return {"missing": [missing("docs"), missing("corpus")]}
        sources = {s: {"fetched": {"docs": v.get("documents", 0), "chars": v.get("characters")}}
                   for s, v in ((docs.get("counts") or {}).get("sources") or {}).items()}
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
    path = work_dir / folder("dedup") / "clusters.parquet"
    if d is None or not path.exists():
        return {"missing": [missing("dedup")]}
    t = read_table(path, columns=["id", "cluster_id", "source"]).rename_columns(["id", "cluster_id", "_src"])
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


def _corpus_config(m: dict, given: CorpusConfig | None) -> CorpusConfig:
    """The corpus config the corpus stage ran with (from its manifest), else the given one (else
    the defaults): the thresholds drawn and the weights shown are those that made the numbers."""
    ran = ((m.get("corpus") or {}).get("config") or {}).get("corpus")
    return CorpusConfig.model_validate(ran) if ran else (given or CorpusConfig())


def _run_section(m: dict, ccfg: CorpusConfig, run_name: str) -> dict:
    """Which run the numbers come from: the config's name, when each stage last finished, and
    the selection settings in force (thresholds that are on, weights, keeper priority)."""
    th = {k: v for k, v in ccfg.thresholds.model_dump(mode="json").items() if v not in (None, [])}
    failed = {f"{s}: {src}": why for s in ("fetch", "docs") for src, why in ((m.get(s) or {}).get("failed") or {}).items()}
    return {"name": run_name,
            "finished": {s: (m.get(s) or {}).get("finished") for s in STAGES_SHOWN if m.get(s)},
            "failed_sources": failed,
            "thresholds": th, "weights": dict(ccfg.weights), "source_priority": list(ccfg.source_priority),
            "target_mixture": dict(ccfg.target_mixture)}


def _cleaning_section(m: dict) -> dict:
    """Per rule: documents changed, hits, characters removed, in total and per source, and the
    examples the clean stage kept (before / after), straight from its manifest."""
    c = m.get("clean")
    if c is None:
        return {"missing": [missing("clean")]}
    counts = c.get("counts") or {}
    order = c.get("rules_in_order") or sorted(counts.get("rules", {}))
    sources = counts.get("sources") or {}
    return {
        "rules": [{"rule": r, **(counts.get("rules", {}).get(r) or {"docs": 0, "hits": 0, "chars_removed": 0})}
                  for r in order],
        "chars_in": counts.get("chars_in"), "chars_out": counts.get("chars_out"), "docs": counts.get("docs"),
        "sources": {s: {"docs": v.get("docs"), "chars_in": v.get("chars_in"), "chars_out": v.get("chars_out"),
                        "rules": {r: (v.get("rules", {}).get(r) or {}).get("docs", 0) for r in order}}
                    for s, v in sorted(sources.items())},
        "examples": c.get("examples") or {},
        "repeated_lines": c.get("repeated_lines"),
    }


def _profiles_section(m: dict) -> dict:
    """What each threshold profile judged and rejected (rules, excerpts), and the Speakleash
    labels set aside as stale, straight from the corpus manifest."""
    c = m.get("corpus")
    if c is None:
        return {"missing": [missing("corpus")]}
    if "profiles" not in c:
        return {"missing": ["profiles: the corpus stage ran before threshold profiles; re-run it"]}
    return {"profiles": c["profiles"], "labels": c.get("labels") or {}}


def _mixture_section(work_dir: Path, m: dict, ccfg) -> dict:
    c = m.get("corpus")
    if c is None:
        return {"missing": [missing("corpus")], "target": dict(ccfg.target_mixture)}
    applied_path = work_dir / folder("corpus") / SELECT_DIR / MIXTURE_FILE
    applied = (json.loads(applied_path.read_text("utf-8"))
               if ccfg.apply_mixture and applied_path.exists() else None)

    by_source = {s: (f["corpus"]["chars"] or 0) for s, f in c["funnel"]["sources"].items()}
    total = sum(by_source.values()) or 1
    target = dict(ccfg.target_mixture)
    groups: dict[str, float] = {}
    for s, ch in by_source.items():
        key = s if s in target else source_kind(s)
        groups[key] = groups.get(key, 0.0) + ch / total
    keys = sorted(set(groups) | set(target))
    achieved = {k: round(groups.get(k, 0.0), 6) for k in keys}
    tol = ccfg.mixture_tolerance
    warnings = [f"{k}: {achieved[k]:.1%} of the corpus characters against a target of {target[k]:.1%} "
                f"(off by more than the tolerance of {tol:.1%})"
                for k in keys if k in target and abs(achieved[k] - target[k]) > tol]
    if applied:
        warnings = applied["notes"] + warnings
    return {"target": target, "achieved": achieved, "tolerance": tol, "warnings": warnings,
            "applied": applied,
            "by_source": {s: {"chars": ch, "share": round(ch / total, 6),
                              "weight": round(source_weight(s, ccfg.weights)
                                              * ((applied or {}).get("sources") or {}).get(s, 1.0), 6)}
                          for s, ch in by_source.items()}}


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
        own = (fert.get("sources") or {}).get(s) or {}
        if own.get("chars_per_token"):
            cpt, basis = own["chars_per_token"], f"its {own['docs']:,} held-out documents"
        elif cpt_all:
            cpt, basis = cpt_all, f"all sources' {fert['all']['docs']:,} held-out documents (none of its own)"
        else:
            cpt, basis = DEFAULT_CHARS_PER_TOKEN, "assumed (no tokenizer yet)"
        per[s] = {"chars": f["corpus"]["chars"], "chars_per_token": cpt, "basis": basis,
                  "estimated_tokens": round((f["corpus"]["chars"] or 0) / cpt)}
    out["estimated"] = per
    out["estimated_total"] = sum(v["estimated_tokens"] for v in per.values())
    out["basis"] = (f"tokenizer fertility: characters per token on {fert['all']['docs']:,} held-out "
                    "documents, per source where it had some" if cpt_all else
                    f"{DEFAULT_CHARS_PER_TOKEN} characters per token assumed (APT3: 285 GB / 60 B tokens); "
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


def collect(work_dir: Path, corpus: CorpusConfig | None = None, run_name: str = "kuznia") -> dict:
    """Everything the report shows, as JSON-able numbers (this is `report.json`)."""
    work_dir = Path(work_dir)
    m = _manifests(work_dir)
    c = m.get("corpus")
    decisions = sorted((work_dir / folder("corpus") / DECISIONS_DIR).glob(f"*/{PART_GLOB}")) \
        if c is not None else []
    quality_parts = list_parts(work_dir / folder("quality")) if m.get("quality") else []
    ccfg = _corpus_config(m, corpus)
    stages = (c or {}).get("reason_stages", {})
    top = sorted(((v["docs"], r) for r, v in ((c or {}).get("reasons") or {}).get("total", {}).items()
                  if stages.get(r) == "quality"), reverse=True)
    dists, labels = signal_summaries(quality_parts, decisions, ccfg.thresholds,
                                     rule_charts([r for _, r in top]))
    report = {
        "title": f"Kuźnia corpus report — {run_name}",
        "work_dir": str(work_dir),
        "run": _run_section(m, ccfg, run_name),
        "stages": _stages_section(m),
        "cleaning": _cleaning_section(m),
        "profiles": _profiles_section(m),
        "funnel": _funnel_section(m),
        "reasons": _reasons_section(m),
        "excerpts": c["excerpts"] if c else {"missing": [missing("corpus")]},
        "distributions": dists if quality_parts else {"missing": [missing("quality")]},
        "labels": labels if quality_parts else {"missing": [missing("quality")]},
        "dedup": _dedup_section(work_dir, m, ccfg.top_clusters),
        "mixture": _mixture_section(work_dir, m, ccfg),
        "tokens": _tokens_section(m),
    }
    report["missing"] = sorted({s for sec in report.values() if isinstance(sec, dict)
                                for s in sec.get("missing", [])})
    return report


def build_report(work_dir: Path | str, corpus: CorpusConfig | None = None, run_name: str = "kuznia",
                 out_dir: Path | str | None = None) -> Path:
    """Write `report.json` and `report.html` (default: `<work_dir>/corpus/reports/`); the HTML path.

    `corpus` is the corpus config to show when the corpus stage has not run (its manifest's
    config wins when it has); `run_name` titles the report.
    """
    work_dir = Path(work_dir)
    out = Path(out_dir) if out_dir else work_dir / folder("corpus") / REPORTS_DIR
    report = collect(work_dir, corpus, run_name)
    write_json_atomic(out / "report.json", report)
    html_path = out / "report.html"
    write_text_atomic(html_path, render_html(report))
    return html_path
