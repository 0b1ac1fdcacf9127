"""The report page's building blocks: its CSS and JS, tables, images, and human names.

Every counter and reject reason is shown under a name a reader understands (`label`); the key
stays in `report.json` and in a tooltip. Tables are styled to fit the page (1,400 px and up)
without a horizontal scroll bar: headers wrap, long text wraps, wide matrices are cut to their
most frequent columns by the sections that build them.
"""

from __future__ import annotations

import html
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
table.members td:last-child{white-space:pre-wrap;text-align:left;font-family:ui-monospace,monospace;
 font-size:.78rem;max-width:36rem}
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
    return "".join(f'<div class="missing">Missing — {esc(m)}</div>' for m in sec.get("missing", []))


def img(uri: str, alt: str) -> str:
    return f'<img class="chart" alt="{esc(alt)}" src="{uri}">'




def warnings_html(items: list[str]) -> str:
    return "".join(f'<div class="warning">Warning — {esc(w)}</div>' for w in items)


# Human names of counters, cleaning rules and reject reasons (the key is the tooltip).
LABELS = {
    # dedup counters
    "docs": "documents", "empty_docs": "documents without a word", "chars": "characters",
    "exact_pairs": "exact-duplicate pairs", "exact_groups": "groups of exact duplicates",
    "candidate_pairs": "candidate pairs (share an LSH band)", "candidate_buckets": "LSH buckets of 2+ documents",
    "shingled_docs": "documents re-read for exact verification", "shingled_hashes": "shingles compared",
    "compared_pairs": "pairs compared on exact Jaccard", "rejected_pairs": "candidate pairs below the threshold",
    "unlinked_docs": "documents left unlinked after the rounds", "verified_pairs": "near-duplicate pairs found",
    "pairs": "linked pairs", "clusters": "duplicate clusters", "docs_in_clusters": "documents in clusters",
    "largest_cluster": "largest cluster (documents)", "exact_dup_docs": "exact copies dropped",
    "near_dup_docs": "near copies dropped",
    # cleaning rules
    "mojibake": "mojibake repaired", "replacement_chars": "U+FFFD removed", "html": "HTML tags and entities",
    "control_chars": "control and invisible characters", "nfc": "Unicode NFC", "boilerplate": "boilerplate lines",
    "symbol_lines": "lines of symbols only", "emails": "e-mail addresses masked", "phones": "phone numbers masked",
    "whitespace": "whitespace normalised",
    # reject reasons
    "duplicate": "duplicate (another copy kept)", "downsampled": "left out by a source weight below 1",
    "empty": "empty after cleaning", "too_short": "too short (min_chars)",
    "speakleash_low": "Speakleash label LOW", "not_polish": "not Polish (min_pl_prob)",
    "too_few_words": "too few words (min_words)", "too_long": "too many words (max_words)",
    "dup_line_frac": "repeated lines", "dup_para_frac": "repeated paragraphs",
    "dup_line_char_frac": "characters in repeated lines", "dup_para_char_frac": "characters in repeated paragraphs",
    "line_punct": "few lines end in punctuation", "short_lines": "mostly short lines",
    "char_dup": "characters in duplicate lines", "newline_ratio": "too many line breaks per word",
    "mean_word_len": "mean word length out of range", "hash_ratio": "too many '#'",
    "ellipsis_ratio": "too many ellipses", "bullet_lines": "mostly bullet lines",
    "ellipsis_lines": "lines ending in ellipses", "alpha_words": "too few words with letters",
    "few_stopwords": "too few Polish stop words",
    "docs_empty": "empty record", "docs_too_long": "record over max_doc_chars",
    "docs_wiki_redirect": "wiki redirect", "docs_wiki_non_article": "wiki page outside the article namespace",
}


def label(key: str) -> str:
    """A counter's, rule's or reason's human name."""
    if key in LABELS:
        return LABELS[key]
    for prefix, words in (("top_ngram_", "most frequent {}-gram"), ("dup_ngram_", "repeated {}-grams"),
                          ("docs_malformed_", "malformed record: {}")):
        if key.startswith(prefix):
            return words.format(key[len(prefix):].replace("_", " "))
    return key.replace("_", " ")


def named(key: str) -> Html:
    """HTML of a human name with its key as a tooltip (a table cell or header as it is)."""
    return Html(f'<span title="{esc(key)}">{esc(label(key))}</span>')
