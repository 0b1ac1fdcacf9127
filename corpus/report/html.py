"""`report.json` -> one self-contained HTML page: inline CSS, inline JS, charts as data: URIs.

No network, no external files: the page opens from disk, from a CI artifact, from e-mail. Tables
of sources sort by clicking a column header and filter by a text box (hundreds of rows stay
quick in a browser because the rows are plain HTML and the sort is one in-place reorder).
"""

from __future__ import annotations

import html
from typing import Any

from corpus.report import plots

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#212529;background:#f8f9fa}
main{max-width:1200px;margin:auto;padding:1rem 2rem 4rem}
h1{font-size:1.6rem}h2{border-bottom:2px solid #dee2e6;padding-bottom:.3rem;margin-top:2.5rem}
nav a{margin-right:1rem}
table{border-collapse:collapse;font-size:.85rem;background:#fff;margin:.5rem 0}
th,td{border:1px solid #dee2e6;padding:.2rem .5rem;text-align:right;white-space:nowrap}
th{background:#e9ecef;position:sticky;top:0;cursor:pointer;user-select:none}
th.sorted-asc::after{content:" ▲"}th.sorted-desc::after{content:" ▼"}
td.t,th.t{text-align:left}
.scroll{max-height:32rem;overflow:auto;display:inline-block;max-width:100%}
.missing{background:#fff3bf;border-left:4px solid #f59f00;padding:.4rem .8rem;margin:.4rem 0}
.excerpt{font-family:ui-monospace,monospace;font-size:.8rem;white-space:pre-wrap;text-align:left;
 max-width:60rem;min-width:20rem}
img.chart{display:block;max-width:100%;margin:.5rem 0;background:#fff}
.grid{display:flex;flex-wrap:wrap;gap:.5rem}.grid img.chart{margin:0}
table.members td:last-child{white-space:pre-wrap;text-align:left;font-family:ui-monospace,monospace;
 font-size:.8rem;min-width:20rem;max-width:50rem}
input.filter{margin:.3rem 0;padding:.2rem .4rem}
"""

JS = """
function sortTable(th){
  var table=th.closest('table'), idx=Array.prototype.indexOf.call(th.parentNode.children, th);
  var body=table.tBodies[0], rows=Array.prototype.slice.call(body.rows);
  var asc=!th.classList.contains('sorted-asc');
  Array.prototype.forEach.call(th.parentNode.children, function(h){h.classList.remove('sorted-asc','sorted-desc');});
  th.classList.add(asc?'sorted-asc':'sorted-desc');
  rows.sort(function(a,b){
    var x=a.cells[idx].getAttribute('data-v'), y=b.cells[idx].getAttribute('data-v');
    var nx=parseFloat(x), ny=parseFloat(y), r;
    if(!isNaN(nx)&&!isNaN(ny)){r=nx-ny;}else{r=String(x).localeCompare(String(y));}
    return asc?r:-r;
  });
  var frag=document.createDocumentFragment();
  rows.forEach(function(r){frag.appendChild(r);});
  body.appendChild(frag);
}
function filterTable(input){
  var q=input.value.toLowerCase(), table=document.getElementById(input.getAttribute('data-table'));
  Array.prototype.forEach.call(table.tBodies[0].rows, function(r){
    r.style.display=r.cells[0].textContent.toLowerCase().indexOf(q)>=0?'':'none';
  });
}
document.addEventListener('click', function(e){
  if(e.target.tagName==='TH' && e.target.closest('table.sortable')){sortTable(e.target);}
});
document.addEventListener('input', function(e){
  if(e.target.classList.contains('filter')){filterTable(e.target);}
});
"""

SECTIONS = [("stages", "Stages"), ("funnel", "Funnel"), ("reasons", "Reject reasons"),
            ("distributions", "Distributions"), ("labels", "Speakleash labels"), ("dedup", "Duplicates"),
            ("excerpts", "Rejected documents"), ("mixture", "Mixture"), ("tokens", "Tokens")]


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def table(headers: list[str], rows: list[list[Any]], tid: str | None = None, *, filter_box: bool = False,
          text_cols: int = 1, cls: str = "") -> str:
    """A sortable table; the first `text_cols` columns are text, the rest numbers."""
    out = []
    if filter_box and tid:
        out.append(f'<div><input class="filter" data-table="{tid}" placeholder="filter by {esc(headers[0])}…">'
                   "</div>")
    out.append(f'<div class="scroll"><table class="sortable {cls}"' + (f' id="{tid}"' if tid else "")
               + "><thead><tr>")
    out += [f'<th class="{"t" if i < text_cols else ""}">{esc(h)}</th>' for i, h in enumerate(headers)]
    out.append("</tr></thead><tbody>")
    for r in rows:
        cells = []
        for i, v in enumerate(r):
            key = "" if v is None else (v if isinstance(v, (int, float)) else str(v))
            cls = ' class="t"' if i < text_cols else ""
            cells.append(f'<td{cls} data-v="{esc(key)}">{esc(fmt(v))}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def missing_notes(sec: dict) -> str:
    return "".join(f'<div class="missing">Missing — {esc(m)}</div>' for m in sec.get("missing", []))


def img(uri: str, alt: str) -> str:
    return f'<img class="chart" alt="{esc(alt)}" src="{uri}">'


# --------------------------------------------------------------------------- sections


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
    headers = ["source"] + [f"{s} docs" for s in steps] + [f"{s} chars" for s in steps if s != "read"]
    if "corpus" in steps:
        headers.append("kept %")
    rows = []
    for src, v in sorted(f["sources"].items()):
        row = [src] + [v[s]["docs"] for s in steps] + [v[s].get("chars") for s in steps if s != "read"]
        if "corpus" in steps:
            read = v["read"]["docs"]
            row.append(round(100 * v["corpus"].get("unique_docs", 0) / read, 2) if read else None)
        rows.append(row)
    out.append(f"<p>{len(rows)} sources. <i>read</i>: records the docs stage saw; <i>corpus</i> "
               "counts repeats of weighted sources.</p>")
    out.append(table(headers, rows, "funnel-table", filter_box=True))
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
                     [[k, rs["stages"].get(k, ""), v["docs"], v["chars"]] for k, v in items], text_cols=2))
    names = [k for k, _ in items]
    rows = [[s] + [(v.get(n) or {}).get("docs", 0) for n in names] for s, v in sorted(rs["sources"].items())]
    out.append("<h3>Per source (documents)</h3>")
    out.append(table(["source", *names], rows, "reasons-table", filter_box=True))
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
    out.append(table(["count", "value"], [[k, v] for k, v in d.get("counts", {}).items()
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
        out.append(f"<h3>{esc(reason)}</h3><table><tbody>")
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
    out.append(img(plots.grouped_bars(keys, {"target": [mx["target"].get(k, 0) for k in keys],
                                             "achieved": [mx["achieved"][k] for k in keys]},
                                      "corpus mixture (share of characters)", "share"), "mixture"))
    out.append(table(["group", "target", "achieved"],
                     [[k, mx["target"].get(k), mx["achieved"][k]] for k in keys]))
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
        out.append(table(["source", "chars", "chars/token", "estimated tokens", "real tokens"],
                         [[s, v["chars"], v["chars_per_token"], v["estimated_tokens"],
                           (real.get(s) or {}).get("tokens")] for s, v in sorted(t["estimated"].items())],
                         "tokens-table", filter_box=True))
    if t.get("real") is not None:
        out.append("<h3>Token counts (tokens stage)</h3>")
        out.append(table(["count", "value"], [[k, v] for k, v in t["real"]["totals"].items()]))
    return "".join(out)


RENDER = {"stages": sec_stages, "funnel": sec_funnel, "reasons": sec_reasons,
          "distributions": sec_distributions, "labels": sec_labels, "dedup": sec_dedup,
          "excerpts": sec_excerpts, "mixture": sec_mixture, "tokens": sec_tokens}


def render_html(report: dict) -> str:
    """The whole page."""
    body = [f"<h1>{esc(report['title'])}</h1><p>work dir <code>{esc(report['work_dir'])}</code></p>",
            "<nav>" + "".join(f'<a href="#{k}">{esc(t)}</a>' for k, t in SECTIONS) + "</nav>"]
    if report["missing"]:
        body.append("<h2>Missing sections</h2><ul>" +
                    "".join(f"<li>{esc(m)}</li>" for m in report["missing"]) + "</ul>")
    for key, title in SECTIONS:
        body.append(f'<section id="{key}"><h2>{esc(title)}</h2>{RENDER[key](report)}</section>')
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(report['title'])}</title><style>{CSS}</style></head><body><main>"
            + "".join(body) + f"</main><script>{JS}</script></body></html>\n")
