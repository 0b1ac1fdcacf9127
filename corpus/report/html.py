"""`report.json` -> one self-contained HTML page: inline CSS, inline JS, charts as data: URIs.

No network, no external files: the page opens from disk, from a CI artifact, from e-mail. Tables
of sources sort by clicking a column header and filter by a text box (hundreds of rows stay
quick in a browser because the rows are plain HTML and the sort is one in-place reorder). The
building blocks (CSS, tables, human names) are in `page.py`.
"""

from __future__ import annotations

from corpus.report import plots
from corpus.report.page import (
    CSS,
    JS,
    esc,
    fmt,
    img,
    missing_notes,
    named,
    table,
    warnings_html,
)
from corpus.report.profiles_html import repeated_lines_html, sec_profiles

SECTIONS = [("run", "Run"), ("stages", "Stages"), ("funnel", "Funnel"), ("cleaning", "Cleaning"),
            ("reasons", "Reject reasons"), ("profiles", "Threshold profiles"), ("distributions", "Distributions"),
            ("labels", "Speakleash labels"),
            ("dedup", "Duplicates"), ("excerpts", "Rejected documents"), ("mixture", "Mixture"),
            ("tokens", "Tokens")]
MATRIX_COLUMNS = 8  # reasons shown as columns of the per-source table; the rest as "other"


def sec_stages(r: dict) -> str:
    rows = [[s["stage"], "ran" if s["ran"] else "not run", s["fingerprint"] or "—", s["seconds"]]
            for s in r["stages"]]
    return table(["stage", "state", "fingerprint", "seconds"], rows, text_cols=3)


def sec_funnel(r: dict) -> str:
    f = r["funnel"]
    out = [missing_notes(f)]
    steps = f.get("steps") or []
    if not steps:
        return "".join(out)
    tot = f["total"]
    out.append(img(plots.funnel_chart(steps, [tot[s]["docs"] for s in steps],
                                      [tot[s].get("chars") for s in steps]), "funnel"))
    headers = ["source"] + list(steps)
    if "corpus" in steps:
        headers.append("kept %")
    rows = []
    for src, v in sorted(f["sources"].items()):
        row = [src] + [v[s]["docs"] for s in steps]
        if "corpus" in steps:
            read = v["read"]["docs"]
            row.append(round(100 * v["corpus"].get("unique_docs", 0) / read, 2) if read else None)
        rows.append(row)
    out.append(f"<p>{len(rows)} sources. <i>read</i>: records the docs stage saw; <i>corpus</i> "
               "counts repeats of weighted sources.</p><h3>Documents</h3>")
    out.append(table(headers, rows, "funnel-table", filter_box=True))
    chars = [s for s in steps if s != "read"]
    out.append("<h3>Characters</h3>")
    out.append(table(["source", *chars], [[src] + [v[s].get("chars") for s in chars]
                                          for src, v in sorted(f["sources"].items())], "funnel-chars-table"))
    return "".join(out)


def sec_reasons(r: dict) -> str:
    rs = r["reasons"]
    out = [missing_notes(rs)]
    if "total" not in rs:
        return "".join(out)
    items = sorted(rs["total"].items(), key=lambda kv: (-kv[1]["docs"], kv[0]))
    if items:
        out.append(img(plots.bar_chart([k for k, _ in items], [v["docs"] for _, v in items],
                                       "rejected documents by reason", "documents"), "reasons"))
    out.append(table(["reason", "stage", "documents", "characters"],
                     [[named(k), rs["stages"].get(k, ""), v["docs"], v["chars"]] for k, v in items], text_cols=2))
    names = [k for k, _ in items][:MATRIX_COLUMNS]
    rest = [k for k, _ in items][MATRIX_COLUMNS:]
    rows = [[s] + [(v.get(n) or {}).get("docs", 0) for n in names]
            + ([sum((v.get(n) or {}).get("docs", 0) for n in rest)] if rest else [])
            for s, v in sorted(rs["sources"].items())]
    out.append(f"<h3>Per source (documents)</h3><p>The {len(names)} most frequent reasons"
               + (f"; the other {len(rest)} together under <i>other</i>" if rest else "") + ".</p>")
    out.append(table(["source", *map(named, names), *(["other"] if rest else [])], rows, "reasons-table",
                     filter_box=True))
    return "".join(out)


def sec_distributions(r: dict) -> str:
    d = r["distributions"]
    out = [missing_notes(d)]
    charts: list[str] = []
    for key, e in d.items():
        if key == "missing":
            continue
        charts.append(img(plots.histogram_chart(e["edges"], e["counts"], e.get("kept_counts"), e["title"],
                                                [(t["name"], t["value"]) for t in e["thresholds"]],
                                                e["log_x"], xlabel=e["column"]), e["title"]))
    out.append('<div class="grid">' + "".join(charts) + "</div>")
    return "".join(out)


def sec_labels(r: dict) -> str:
    lab = r["labels"]
    out = [missing_notes(lab)]
    if "before" not in lab:
        return "".join(out)
    cats = sorted(set(lab["before"]) | set(lab.get("after") or {}),
                  key=lambda c: ["HIGH", "MEDIUM", "LOW", "none"].index(c) if c in
                  ("HIGH", "MEDIUM", "LOW", "none") else 9)
    series = {"cleaned": [lab["before"].get(c, 0) for c in cats]}
    if lab.get("after") is not None:
        series["in corpus"] = [lab["after"].get(c, 0) for c in cats]
    else:
        out.append('<div class="missing">Missing — after: corpus: not run yet — `kuznia stage corpus`</div>')
    if cats:
        out.append(img(plots.grouped_bars(cats, series, "Speakleash labels before / after", "documents"),
                       "labels"))
    out.append(table(["label", *series], [[c, *[series[s][i] for s in series]] for i, c in enumerate(cats)]))
    return "".join(out)


def sec_dedup(r: dict) -> str:
    d = r["dedup"]
    out = [missing_notes(d)]
    if "per_source" not in d:
        return "".join(out)
    out.append(table(["count", "value"], [[named(k), v] for k, v in d.get("counts", {}).items()
                                          if isinstance(v, (int, float))]))
    rows = [[s, v["cleaned"], v["docs_in_clusters"], v["dropped_as_duplicate"],
             None if v["duplicate_rate"] is None else round(100 * v["duplicate_rate"], 3)]
            for s, v in sorted(d["per_source"].items())]
    out.append("<h3>Duplicate rate per source</h3>")
    out.append(table(["source", "cleaned docs", "docs in clusters", "dropped as duplicate", "duplicate %"],
                     rows, "dedup-table", filter_box=True))
    names, matrix = d["overlap"]["sources"], d["overlap"]["matrix"]
    if names:
        k = min(40, len(names))
        out.append(f"<h3>Cross-source overlap</h3><p>Clusters with documents from both sources "
                   f"(diagonal: 2+ from one source); {k} of {len(names)} sources shown, most involved "
                   "first (all of them in report.json).</p>")
        out.append(img(plots.heatmap_chart(names[:k], [row[:k] for row in matrix[:k]],
                                           "cross-source duplicate clusters"), "overlap"))
    out.append("<h3>Largest clusters</h3>")
    for c in d.get("top", []):
        out.append(f"<details><summary>cluster <code>{esc(c['cluster_id'])}</code> — {c['size']} documents"
                   + (f", kept <code>{esc(c.get('keeper'))}</code>" if c.get("keeper") else "") + "</summary>")
        out.append(table(["id", "source", "chars", "label", "reason", "excerpt"],
                         [[m["id"], m["source"], m["chars"], m.get("label"), m.get("reason") or "kept",
                           m.get("excerpt", "")] for m in c.get("members", [])], text_cols=2,
                         cls="members"))
        out.append("</details>")
    return "".join(out)


def sec_excerpts(r: dict) -> str:
    ex = r["excerpts"]
    out = [missing_notes(ex)]
    for reason, items in ex.items():
        if reason == "missing":
            continue
        out.append(f"<h3>{named(reason)}</h3><table><tbody>")
        for e in items:
            out.append(f'<tr><td class="t"><code>{esc(e["id"])}</code></td>'
                       f'<td class="excerpt">{esc(e["excerpt"])}</td></tr>')
        out.append("</tbody></table>")
    return "".join(out)


def sec_mixture(r: dict) -> str:
    mx = r["mixture"]
    out = [missing_notes(mx)]
    if "achieved" not in mx:
        if mx.get("target"):
            out.append(table(["group", "target share"], [[k, v] for k, v in mx["target"].items()]))
        return "".join(out)
    keys = list(mx["achieved"])
    out.append(warnings_html(mx.get("warnings", [])))
    out.append(img(plots.grouped_bars(keys, {"target": [mx["target"].get(k, 0) for k in keys],
                                             "achieved": [mx["achieved"][k] for k in keys]},
                                      "corpus mixture (share of characters)", "share"), "mixture"))
    applied = (mx.get("applied") or {}).get("groups") or {}
    if applied:
        out.append("<p>Applied (<code>corpus.apply_mixture</code>): each group weighted by the factor that "
                   "brings its share to the target.</p>")
    out.append(table(["group", "target", "achieved", *(["share before weighting", "factor"] if applied else [])],
                     [[k, mx["target"].get(k), mx["achieved"][k],
                       *([(applied.get(k) or {}).get("share"), (applied.get(k) or {}).get("factor")]
                         if applied else [])] for k in keys]))
    out.append(table(["source", "weight", "chars", "share"],
                     [[s, v["weight"], v["chars"], v["share"]] for s, v in sorted(mx["by_source"].items())],
                     "mixture-table", filter_box=True))
    return "".join(out)


def sec_tokens(r: dict) -> str:
    t = r["tokens"]
    out = [missing_notes(t)]
    real = (t.get("real") or {}).get("sources", {})
    if "estimated" in t:
        out.append(f"<p>Estimated tokens in the corpus: <b>{fmt(t['estimated_total'])}</b> — {esc(t['basis'])}.</p>")
        out.append(table(["source", "chars", "chars/token", "from", "estimated tokens", "real tokens"],
                         [[s, v["chars"], v["chars_per_token"], v.get("basis", ""), v["estimated_tokens"],
                           (real.get(s) or {}).get("tokens")] for s, v in sorted(t["estimated"].items())],
                         "tokens-table", filter_box=True, text_cols=1))
    if t.get("real") is not None:
        out.append("<h3>Token counts (tokens stage)</h3>")
        out.append(table(["count", "value"], [[k, v] for k, v in t["real"]["totals"].items()]))
    return "".join(out)


def sec_run(r: dict) -> str:
    run = r.get("run") or {}
    fin = run.get("finished") or {}
    th = run.get("thresholds") or {}
    items = [("config", run.get("name")), ("work dir", r["work_dir"]),
             ("stages finished", ", ".join(f"{s} {t}" for s, t in fin.items() if t) or "—"),
             ("thresholds in force", ", ".join(f"{k} = {v}" for k, v in sorted(th.items())) or "none"),
             ("source weights", ", ".join(f"{k} × {v}" for k, v in sorted((run.get("weights") or {}).items()))
              or "all 1"),
             ("keeper priority", " > ".join(run.get("source_priority") or []) or "—")]
    out = '<dl class="run">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items) + "</dl>"
    failed = run.get("failed_sources") or {}
    if failed:
        out += warnings_html([f"{len(failed)} source(s) failed and are not in the corpus"])
        out += table(["stage: source", "why"], [[k, v] for k, v in sorted(failed.items())], "failed-table", text_cols=2)
    return out


def sec_cleaning(r: dict) -> str:
    c = r["cleaning"]
    out = [missing_notes(c)]
    if "rules" not in c:
        return "".join(out)
    removed = (c["chars_in"] or 0) - (c["chars_out"] or 0)
    out.append(f"<p>{fmt(c['docs'])} documents, {fmt(c['chars_in'])} characters in, {fmt(c['chars_out'])} "
               f"out ({fmt(removed)} removed). Rules run in this order; a document counts once per rule "
               "that changed it.</p>")
    rules = [x for x in c["rules"]]
    out.append(table(["rule", "documents changed", "hits", "characters removed"],
                     [[named(x["rule"]), x["docs"], x["hits"], x["chars_removed"]] for x in rules], "clean-table"))
    names = [x["rule"] for x in rules if x["docs"]]
    out.append("<h3>Per source (documents changed)</h3>")
    out.append(table(["source", "documents", *map(named, names)],
                     [[s, v["docs"], *[v["rules"].get(n, 0) for n in names]] for s, v in c["sources"].items()],
                     "clean-sources-table", filter_box=True))
    out.append(repeated_lines_html(c.get("repeated_lines")))
    out.append("<h3>Examples, before and after</h3>")
    for source, per_rule in c.get("examples", {}).items():
        for rule, items in per_rule.items():
            out.append(f"<details><summary>{named(rule)} — {esc(source)} ({len(items)})</summary><table><tbody>")
            for e in items:
                out.append(f'<tr><td class="t"><code>{esc(e["id"])}</code></td>'
                           f'<td class="excerpt">{esc(e["before"])}</td><td class="excerpt">{esc(e["after"])}</td></tr>')
            out.append("</tbody></table></details>")
    return "".join(out)


RENDER = {"run": sec_run, "cleaning": sec_cleaning, "stages": sec_stages, "funnel": sec_funnel, "reasons": sec_reasons,
          "profiles": sec_profiles,
          "distributions": sec_distributions, "labels": sec_labels, "dedup": sec_dedup,
          "excerpts": sec_excerpts, "mixture": sec_mixture, "tokens": sec_tokens}


def render_html(report: dict) -> str:
    """The whole page."""
    body = [f"<h1>{esc(report['title'])}</h1>",
            "<nav>" + "".join(f'<a href="#{k}">{esc(t)}</a>' for k, t in SECTIONS) + "</nav>"]
    if report["missing"]:
        body.append("<h2>Missing sections</h2><ul>" +
                    "".join(f"<li>{esc(m)}</li>" for m in report["missing"]) + "</ul>")
    for key, title in SECTIONS:
        body.append(f'<section id="{key}"><h2>{esc(title)}</h2>{RENDER[key](report)}</section>')
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(report['title'])}</title><style>{CSS}</style></head><body><main>"
            + "".join(body) + f"</main><script>{JS}</script></body></html>\n")
