"""Report sections of this issue's additions: the threshold profiles (which source is judged by
which, what each changes, what each rejected, with excerpts), the Speakleash labels set aside as
stale, and the repeated-line boilerplate of the cleaning section (each method's lines, the lines
removed most often). Rendered into the page by `html.py`; built by `build.py`.
"""

from __future__ import annotations

from corpus.report.page import esc, fmt, missing_notes, named, table

WHY = {"source": "named in profile_of.sources", "category": "its Speakleash category",
       "kind": "its kind in profile_of.sources", "default": "default_profile"}


def _value(v) -> str:
    return "off" if v is None else fmt(v)


def _pct(a: int, b: int) -> float | None:
    return round(100 * a / b, 2) if b else None


def sec_profiles(r: dict) -> str:
    sec = r["profiles"]
    out = [missing_notes(sec)]
    profiles = sec.get("profiles")
    if not profiles:
        return "".join(out)
    names = sorted(profiles)
    out.append("<p>Each source is judged by one threshold profile: <code>web</code> is "
               "<code>corpus.thresholds</code> (FineWeb-2's Polish settings), the others change some of its "
               "fields. What each profile costs: its documents, how many it rejected and by which rule.</p>")
    rows = []
    for n in names:
        p = profiles[n]
        cleaned, passing = p["cleaned"]["docs"], p["quality"]["docs"]
        rows.append([n, len(p["sources"]), cleaned, passing, cleaned - passing, _pct(cleaned - passing, cleaned)])
    out.append(table(["profile", "sources", "documents", "passing", "rejected", "rejected %"], rows, "profiles-table"))
    src_rows = [[s, v.get("category") or "—", n, WHY.get(v.get("why"), v.get("why"))]
                for n in names for s, v in profiles[n]["sources"].items()]
    out.append("<h3>Sources and their profiles</h3>")
    out.append(table(["source", "category", "profile", "why"], sorted(src_rows), "profile-sources-table",
                     filter_box=True, text_cols=4))
    others = [n for n in names if profiles[n]["changed"]]
    changed = sorted({k for n in others for k in profiles[n]["changed"]})
    if changed:
        out.append("<h3>Thresholds that differ from <code>web</code></h3>")
        out.append(table(["threshold", "web", *others],
                         [[k, _value(next(profiles[n]["changed"][k]["web"] for n in others if k in profiles[n]["changed"])),
                           *[_value((profiles[n]["changed"].get(k) or {}).get("value", "= web")) for n in others]]
                          for k in changed], "profile-thresholds-table", text_cols=2 + len(others)))
    reasons = sorted({k for n in names for k in profiles[n]["reasons"]},
                     key=lambda k: -sum((profiles[n]["reasons"].get(k) or {}).get("docs", 0) for n in names))
    out.append("<h3>Rejected per rule (documents)</h3>")
    out.append(table(["rule", *names], [[named(k), *[(profiles[n]["reasons"].get(k) or {}).get("docs", 0)
                                                       for n in names]] for k in reasons], "profile-reasons-table"))
    out.append("<h3>Rejected documents per profile and rule</h3>")
    for n in names:
        for reason, items in profiles[n]["excerpts"].items():
            out.append(f"<details><summary>{esc(n)} — {named(reason)} ({len(items)})</summary><table><tbody>")
            out += [f'<tr><td class="t"><code>{esc(e["id"])}</code></td><td class="excerpt">{esc(e["excerpt"])}</td></tr>'
                    for e in items]
            out.append("</tbody></table></details>")
    out.append(_labels_html(sec.get("labels") or {}))
    return "".join(out)


def _labels_html(labels: dict) -> str:
    total = labels.get("total")
    if not total:
        return ""
    out = ["<h3>Speakleash labels set aside</h3><p>A label computed on text that cleaning then changed "
           "(a mojibake repair, or content rules removing more than <code>corpus.stale_label_removed_frac</code>) "
           "is no evidence about the cleaned text: our signals decide alone.</p>"]
    keys = sorted(total)
    rows = [[s, *[(v.get(k) or {}).get("docs", 0) for k in keys]] for s, v in sorted(labels.get("sources", {}).items())]
    rows.append(["total", *[total[k]["docs"] for k in keys]])
    out.append(table(["source", *map(named, keys)], rows, "stale-labels-table", filter_box=True))
    return "".join(out)


def repeated_lines_html(rep: dict | None) -> str:
    """The cleaning section's part on repeated-line boilerplate."""
    if not rep:
        return ""
    removed = rep.get("lines_removed") or {}
    cfg = rep.get("config") or {}
    out = [f"<h3>Boilerplate lines: phrase rules and repeated lines</h3><p>Phrase rules (first pass) removed "
           f"{fmt(removed.get('phrases', 0))} lines; lines recurring at the edges of many documents removed "
           f"{fmt(removed.get('repeated', 0))} more. {fmt(rep.get('keys_counted'))} line keys counted in "
           f"{fmt(rep.get('ranges'))} hash range(s), {fmt(rep.get('frequent_keys'))} of them in at least "
           f"{fmt(cfg.get('min_docs_in_source'))} documents of a source or {fmt(cfg.get('min_docs_total'))} of all."
           + ("" if rep.get("enabled") else " (The repeated-line rule is off: <code>clean.remove_repeated_lines</code>.)")
           + "</p>"]
    top = rep.get("top") or []
    if top:
        out.append(table(["line", "times removed", "documents"],
                         [[t["text"], t["removed"], t.get("docs")] for t in top], "repeated-lines-table"))
    return "".join(out)
