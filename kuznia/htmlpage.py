"""Building blocks of Kuźnia's reports: self-contained HTML pages (the corpus report, the training
report) and markdown tables (the model and dataset cards, Prefect artifacts).

A report is one file: inline CSS, inline JS, charts as `data:` URIs, so it opens from disk, from a
CI artifact or from e-mail, with no network. Tables sort by clicking a header and filter by a text
box; they are styled to fit a 1,400-pixel window without a horizontal scroll bar (headers wrap,
long text wraps). Charts are matplotlib figures turned into PNG data URIs (`png_data_uri`); the
caller draws them, this module only encodes them, so it imports no plotting library itself.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#212529;background:#f8f9fa}
main{max-width:1200px;margin:auto;padding:1rem 2rem 4rem}
h1{font-size:1.6rem}h2{border-bottom:2px solid #dee2e6;padding-bottom:.3rem;margin-top:2.5rem}
nav a{margin-right:1rem}
table{border-collapse:collapse;font-size:.8rem;background:#fff;margin:.5rem 0;max-width:100%}
th,td{border:1px solid #dee2e6;padding:.2rem .4rem;text-align:right;overflow-wrap:break-word}
td{white-space:nowrap}td.t{white-space:normal;max-width:22rem;overflow-wrap:anywhere}
th{background:#e9ecef;position:sticky;top:0;cursor:pointer;user-select:none;white-space:normal;max-width:9rem}
th.sorted-asc::after{content:" ▲"}th.sorted-desc::after{content:" ▼"}
td.t,th.t{text-align:left}
.scroll{max-height:32rem;overflow-y:auto;max-width:100%}
.missing,.warning{background:#fff3bf;border-left:4px solid #f59f00;padding:.4rem .8rem;margin:.4rem 0}
.excerpt{font-family:ui-monospace,monospace;font-size:.78rem;white-space:pre-wrap;text-align:left;
 overflow-wrap:anywhere;max-width:40rem}
img.chart{display:block;max-width:100%;margin:.5rem 0;background:#fff}
.grid{display:flex;flex-wrap:wrap;gap:.5rem}.grid img.chart{margin:0;max-width:48%}
dl.run{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dl.run dt{font-weight:600}
dl.run dd{margin:0;overflow-wrap:anywhere}
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


class Html(str):
    """A table cell that is already HTML (a human name with its tooltip); sorts by its text."""

    @property
    def html(self) -> str:
        return str(self)


def table(headers: list[str], rows: list[list[Any]], tid: str | None = None, *, filter_box: bool = False,
          text_cols: int = 1, cls: str = "") -> str:
    """A sortable table; the first `text_cols` columns are text, the rest numbers."""
    out = []
    if filter_box and tid:
        out.append(f'<div><input class="filter" data-table="{tid}" placeholder="filter by {esc(headers[0])}…">'
                   "</div>")
    out.append(f'<div class="scroll"><table class="sortable {cls}"' + (f' id="{tid}"' if tid else "")
               + "><thead><tr>")
    out += [f'<th class="{"t" if i < text_cols else ""}">{h if isinstance(h, Html) else esc(h)}</th>'
            for i, h in enumerate(headers)]
    out.append("</tr></thead><tbody>")
    for r in rows:
        cells = []
        for i, v in enumerate(r):
            key = "" if v is None else (v if isinstance(v, (int, float)) else str(v))
            if isinstance(v, Html):
                key = v.split(">", 1)[-1].split("<", 1)[0]
            cls = ' class="t"' if i < text_cols else ""
            shown = v.html if isinstance(v, Html) else esc(fmt(v))
            cells.append(f'<td{cls} data-v="{esc(key)}">{shown}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def missing_notes(sec: dict) -> str:
    """A note per entry of a section's `missing` list (what to run to fill the section)."""
    return "".join(f'<div class="missing">Missing — {esc(m)}</div>' for m in sec.get("missing", []))


def warnings_html(items: list[str]) -> str:
    return "".join(f'<div class="warning">Warning — {esc(w)}</div>' for w in items)


def img(uri: str, alt: str) -> str:
    return f'<img class="chart" alt="{esc(alt)}" src="{uri}">'


def png_data_uri(fig: Any, *, dpi: int = 80, tight: bool = False) -> str:
    """A matplotlib figure as a PNG data URI. `tight` fits the canvas to labels of unknown length
    at the cost of an extra layout pass; fixed margins are faster. No software version is written
    into the PNG, so the same numbers give the same bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None},
                **({"bbox_inches": "tight", "pad_inches": 0.1} if tight else {}))
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def page(title: str, nav: list[tuple[str, str]], body: str, *, extra_css: str = "") -> str:
    """A whole report page: head with the CSS and JS inline, a title, a navigation bar, the body."""
    links = "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t in nav)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f"<style>{CSS}{extra_css}</style><script>{JS}</script></head><body><main>"
            f"<h1>{esc(title)}</h1><nav>{links}</nav>{body}</main></body></html>\n")


def md_cell(v: Any) -> str:
    """A markdown table cell: a value as `fmt` writes it, with `|` escaped."""
    return fmt(v).replace("|", "\\|")


def markdown_table(headers: list[str], rows: list[list[Any]], text_cols: int = 1) -> str:
    """A GitHub-flavoured markdown table (model and dataset cards, Prefect artifacts); the first
    `text_cols` columns left-aligned, the others (numbers) right-aligned."""
    align = "|" + "|".join("---" if i < text_cols else "---:" for i in range(len(headers))) + "|"
    return "\n".join(["| " + " | ".join(headers) + " |", align, *("| " + " | ".join(md_cell(v) for v in r) + " |"
                                                               for r in rows)])
