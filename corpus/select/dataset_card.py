"""The dataset card: `corpus/README.md`, as the Hugging Face ecosystem expects one.

Written by the corpus stage's finish from what the stages recorded: YAML metadata
(`huggingface_hub.DatasetCardData`: language, license, size, the Parquet parts as the `train`
split, and `source_licenses`, which the model card reads) and a body with the sources (license,
documents, characters, share), the filtering funnel, why documents fell out, the duplicate rates,
and the known caveats. The corpus folder is then a dataset a user can push to the Hub as it is.
The license of each source comes from what the source publishes (a Speakleash dataset's manifest,
the Wikimedia dumps' terms); their combination follows `kuznia/licenses.py`. No dates: the same
corpus gives the same card. The card is not an output of the stage (`SPEC.not_outputs`): its
wording can change without making the tokenizer stale.
"""

from __future__ import annotations

import json
from pathlib import Path

from corpus.select.funnel import FUNNEL_STEPS
from corpus.select.tables import DUPLICATE
from kuznia.files import write_text_atomic
from kuznia.htmlpage import markdown_table
from kuznia.licenses import by_license, combine, spdx
from kuznia.stage import StageContext, read_manifest

CARD = "README.md"
WIKIMEDIA_LICENSE = "CC-BY-SA-4.0"  # Wikimedia's text license (dual-licensed under the GFDL)
SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]


def source_info(ctx: StageContext) -> dict[str, dict]:
    """Per source: its kind, its license (SPDX, as published) and a description when it has one."""
    raw = ctx.upstream_dir("fetch")
    out = {}
    for name, rec in sorted(((read_manifest(raw) or {}).get("sources") or {}).items()):
        info = {"kind": rec.get("kind"), "license": "unknown", "stated": None, "description": None}
        if rec.get("kind") == "speakleash":
            path = next((raw / f["path"] for f in rec.get("files", []) if f["path"].endswith(".manifest")), None)
            published = json.loads(path.read_text("utf-8")) if path and path.exists() else {}
            info.update(stated=published.get("license"), description=published.get("description"))
            info["license"] = spdx(published.get("license"))
        elif rec.get("kind") == "wikipedia":
            info.update(license=WIKIMEDIA_LICENSE, stated="Wikimedia terms of use: CC BY-SA 4.0 and GFDL")
        out[name] = info
    return out


def _size_category(n_docs: int) -> str:
    return next((name for limit, name in SIZE_CATEGORIES if n_docs < limit), "n>1B")


def _sources_section(summary: dict, info: dict[str, dict]) -> str:
    fun = summary["funnel"]["sources"]
    total_chars = sum(f["corpus"]["chars"] or 0 for f in fun.values()) or 1
    rows = []
    for s, f in sorted(fun.items()):
        i = info.get(s, {})
        lic = i.get("license", "unknown")
        if lic == "unknown" and i.get("stated"):
            lic = f"unknown (stated: {i['stated']})"
        rows.append([s, lic, i.get("description") or "", f["corpus"]["docs"], f["corpus"]["chars"],
                     f"{100 * (f['corpus']['chars'] or 0) / total_chars:.1f} %"])
    return "## Sources\n\n" + markdown_table(["source", "license", "description (as published)", "documents",
                                             "characters", "share"], rows, text_cols=3)


def _funnel_section(summary: dict) -> str:
    total = summary["funnel"]["total"]
    steps = [s for s in FUNNEL_STEPS if s in total]
    rows = [[s, total[s]["docs"], total[s].get("chars")] for s in steps]
    per = [[src, *[f.get(step, {}).get("docs") for step in steps]] for src, f in sorted(summary["funnel"]["sources"].items())]
    reasons = sorted(summary["reasons"]["total"].items(), key=lambda kv: (-kv[1]["docs"], kv[0]))
    rrows = [[r, summary["reason_stages"].get(r, ""), v["docs"], v.get("chars")] for r, v in reasons]
    return ("## Filtering funnel\n\nEvery document of every source, from the records read to the corpus: "
            "`read` (records in the raw files), `fetched` (parsed documents), `cleaned`, `quality` (passing the "
            "thresholds), `dedup` (not a losing duplicate), `corpus` (after source weights).\n\n"
            + markdown_table(["step", "documents", "characters"], rows) + "\n\nDocuments per source at each step:\n\n"
            + markdown_table(["source", *steps], per) + "\n\nWhy documents fell out (the stage that dropped them):\n\n"
            + markdown_table(["reason", "stage", "documents", "characters"], rrows, text_cols=2))


def _dedup_section(summary: dict, dedup: dict) -> str:
    c = dedup.get("counts") or {}
    fun, reasons = summary["funnel"]["sources"], summary["reasons"]["sources"]
    rows = []
    for s in sorted(fun):
        cleaned = (fun[s].get("cleaned") or {}).get("docs") or 0
        dup = ((reasons.get(s) or {}).get(DUPLICATE) or {}).get("docs", 0)
        rows.append([s, cleaned, dup, f"{100 * dup / cleaned:.2f} %" if cleaned else "—"])
    return ("## Deduplication\n\nExact duplicates (xxh3-128 of the text) and near duplicates (MinHash LSH over "
            "word 5-grams, diacritics kept, verified on exact Jaccard), one document kept per cluster: "
            f"{c.get('exact_dup_docs', 0):,} exact and {c.get('near_dup_docs', 0):,} near copies found, "
            f"{c.get('clusters', 0):,} clusters.\n\n" + markdown_table(["source", "cleaned documents", "dropped as duplicates",
                                                                  "duplicate rate"], rows))


def _caveats(ctx: StageContext, info: dict[str, dict], summary: dict) -> str:
    th = ctx.cfg.corpus.thresholds
    defaults = type(th)().model_dump(mode="json")  # rules on by default that this config turns off
    off = sorted(k for k, v in th.model_dump(mode="json").items() if v is None and defaults.get(k) is not None)
    unknown = sorted(s for s in summary["funnel"]["sources"] if info.get(s, {}).get("license", "unknown") == "unknown")
    items = ["Personal data: only e-mail addresses and phone numbers are masked; names and other personal "
             "details in the sources remain.",
             "Quality is judged by rules and statistics (language identification, Gopher/FineWeb heuristics, "
             "Speakleash's model-assigned labels), not by people: some noise passes, some good text is dropped.",
             "Deduplication is within this corpus only; overlap with evaluation sets elsewhere is not checked."]
    if off:
        items.append(f"Quality rules turned off in this run's config: {', '.join(off)}.")
    if unknown:
        items.append(f"Sources whose license is not known: {', '.join(unknown)}; check them before publishing.")
    return "## Known caveats\n\n" + "\n".join(f"- {i}" for i in items)


def write_dataset_card(ctx: StageContext, summary: dict) -> Path:
    """Write `corpus/README.md` from the corpus stage's summary (its manifest's funnel and reasons)."""
    from huggingface_hub import DatasetCardData

    info = source_info(ctx)
    sources = sorted(summary["funnel"]["sources"])
    licenses = {s: info.get(s, {}).get("license", "unknown") for s in sources}
    combined = combine(licenses)
    docs = summary["counts"]["documents"]
    data = DatasetCardData(
        language=["pl"], license=combined.hub, pretty_name="Kuźnia Polish pretraining corpus",
        size_categories=[_size_category(docs)], task_categories=["text-generation"], task_ids=["language-modeling"],
        source_datasets=sources, configs=[{"config_name": "default",
                                          "data_files": [{"split": "train", "path": "*/part-*.parquet"}]}],
        source_licenses=licenses, **({"license_name": "mixed-source-licenses"} if combined.hub == "other" else {}))
    c = summary["counts"]
    lines = "\n".join(f"- {lic}: {', '.join(srcs)}" for lic, srcs in by_license(licenses).items())
    body = "\n\n".join([
        f"# Kuźnia Polish pretraining corpus\n\n{c['documents']:,} documents ({c['characters']:,} characters) of "
        f"Polish text from {len(sources)} sources, cleaned, filtered and deduplicated by Kuźnia. Each Parquet "
        "part (`<source>/part-NNNNN.parquet`) holds `id`, `source`, `text` and `meta` (the source's own record, "
        "as JSON).",
        _sources_section(summary, info), _funnel_section(summary), _dedup_section(summary, read_manifest(
            ctx.upstream_dir("dedup")) or {}), _caveats(ctx, info, summary),
        f"## License\n\n`{combined.hub}`: {combined.why}. Each source keeps its own license:\n\n{lines}\n\n"
        "The combined license is derived mechanically from the sources' licenses; it is not legal advice."])
    path = ctx.dir / CARD
    write_text_atomic(path, f"---\n{data.to_yaml()}\n---\n\n{body}\n")
    return path
