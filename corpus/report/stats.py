"""Numbers the report reads from the side tables: signal histograms, labels, cross-source overlap.

Only the needed columns are read, one part at a time, and reduced to fixed-size histograms and
counters, so a report over millions of documents stays small and quick.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.select.thresholds import QUALITY_RULES
from kuznia.parts import parquet_file, read_table

N_BINS = 50


# One entry per chart: (key, title, signal-column pattern, threshold-field pattern, x-axis), the
# axis `log` (lengths), `unit` (fractions and probabilities: always 0..1) or `auto`.
# Patterns are matched against the quality table's column names and the `Thresholds` fields, so
# a versioned signal (`gopher_v1_...` -> `gopher_v2_...`) needs no change here.
DISTRIBUTIONS = [
    ("length", "Document length (characters)", r"(^|_)chars$", r"^(min|max)_chars$", "log"),
    ("pl_prob", "P(pl) (language identification)", r"pl_prob$", r"^min_pl_prob$", "unit"),
    ("stopword_frac", "Polish stop-word ratio (stop-word tokens / words)", r"stopwords_v\d+_frac$",
     r"^(min|max)_stopwords?_frac$", "unit"),
    ("stopword_count", "Distinct Polish stop words", r"stopwords_v\d+_count$", r"^min_stopwords$", "auto"),
    ("dup_line_frac", "Duplicate-line fraction", r"_dup_line_frac$", r"^max_dup_line_frac$", "unit"),
    ("top_2gram", "Top 2-gram character fraction", r"_top_2gram_frac$", r"^max_top_2gram_frac$", "unit"),
    ("top_3gram", "Top 3-gram character fraction", r"_top_3gram_frac$", r"^max_top_3gram_frac$", "unit"),
    ("top_4gram", "Top 4-gram character fraction", r"_top_4gram_frac$", r"^max_top_4gram_frac$", "unit"),
    ("dup_5gram", "Duplicate 5-gram character fraction", r"_dup_5gram_frac$", r"^max_dup_5gram_frac$",
     "unit"),
    ("mean_word_len", "Mean word length", r"_mean_word_len$", r"^(min|max)_mean_word_len$", "auto"),
]


def _first_match(names: list[str], pattern: str) -> str | None:
    hits = sorted(n for n in names if re.search(pattern, n))
    return hits[-1] if hits else None  # the newest version sorts last (`_v1` < `_v2`)


def threshold_lines(thresholds, pattern: str) -> list[tuple[str, float]]:
    """The numeric thresholds whose field name matches `pattern`: (name, value) pairs."""
    data = thresholds.model_dump() if hasattr(thresholds, "model_dump") else dict(thresholds)
    return [(k, float(v)) for k, v in sorted(data.items())
            if re.search(pattern, k) and isinstance(v, (int, float)) and not isinstance(v, bool)]


def _column_range(parts: list[Path], column: str) -> tuple[float, float] | None:
    """(min, max) of a column from the Parquet row-group statistics (no data read), or None."""
    lo, hi = np.inf, -np.inf
    for p in parts:
        meta = parquet_file(p).metadata
        idx = meta.schema.to_arrow_schema().get_field_index(column)
        if idx < 0:
            return None
        for g in range(meta.num_row_groups):
            st = meta.row_group(g).column(idx).statistics
            if st is None or not st.has_min_max:
                if meta.row_group(g).num_rows and (st is None or st.null_count != meta.row_group(g).num_rows):
                    return None
                continue
            lo, hi = min(lo, float(st.min)), max(hi, float(st.max))
    return (lo, hi) if lo <= hi else (0.0, 1.0)


def _edges(rng: tuple[float, float], axis: str, lines: list[tuple[str, float]]) -> np.ndarray:
    if axis == "unit":
        return np.linspace(0.0, 1.0, N_BINS + 1)
    lo, hi = rng
    for _, v in lines:  # keep every threshold inside the axis
        lo, hi = min(lo, v), max(hi, v)
    if axis == "log":
        lo = max(lo, 1.0)
        return np.geomspace(lo, max(hi, lo * 10), N_BINS + 1)
    if hi <= lo:
        hi = lo + 1.0
    return np.linspace(lo, hi, N_BINS + 1)


def _quantiles(edges: np.ndarray, counts: np.ndarray) -> dict[str, float | None]:
    """5 %, 50 %, 95 % quantiles read off the histogram (linear within a bin): no sort needed."""
    total = counts.sum()
    out: dict[str, float | None] = {}
    cum = np.concatenate([[0], np.cumsum(counts)])
    for q in ("0.05", "0.5", "0.95"):
        if not total:
            out[q] = None
            continue
        target = float(q) * total
        b = int(np.clip(np.searchsorted(cum, target, side="left") - 1, 0, len(counts) - 1))
        frac = (target - cum[b]) / counts[b] if counts[b] else 0.0
        out[q] = round(float(edges[b] + frac * (edges[b + 1] - edges[b])), 6)
    return out


def rule_charts(top_reasons: list[str], n: int = 4) -> list[tuple]:
    """Charts for the signals behind the `n` most frequent quality reasons not charted already
    (`QUALITY_RULES` says which column and threshold field each reason tests)."""
    charted = {pat for _, _, pat, _, _ in DISTRIBUTIONS}
    out: list[tuple] = []
    for reason in top_reasons:
        rules = [r for r in QUALITY_RULES if r.reason == reason and r.threshold and r.op in "<>"]
        if not rules or len(out) >= n:
            continue
        col = rules[0].column
        if any(re.search(p, col) for p in charted):
            continue
        fields = "|".join(sorted({r.threshold for r in rules}))
        axis = "unit" if col.endswith(("_frac", "_prob")) else "auto"
        out.append((f"rule_{reason}", f"Rule `{reason}`: {col}", f"^{col}$", f"^({fields})$", axis))
        charted.add(f"^{col}$")
    return out


def signal_summaries(quality_parts: list[Path], decision_parts: list[Path], thresholds,
                     extra: list[tuple] = ()) -> tuple[dict, dict]:
    """(distributions, labels) in one streaming pass over the parts, memory bounded by one part.

    Distributions: histograms of the signals (all cleaned documents, and those in the corpus)
    with the thresholds to draw; the axis range comes from the Parquet statistics, so one pass
    suffices. Labels: Speakleash labels of the cleaned documents (before) and of the documents
    in the corpus (after; None until the corpus stage ran). Quality parts and decision parts
    mirror the same clean parts row for row; the document length comes from the decisions when
    the corpus stage ran, else from the quality `chars` column.
    """
    if not quality_parts:
        return {}, {}
    names = parquet_file(quality_parts[0]).schema_arrow.names
    charts = [*DISTRIBUTIONS, *extra]
    columns = {key: _first_match(names, pat) for key, _, pat, _, _ in charts}
    dec_by_rel = {(p.parent.name, p.name): p for p in decision_parts}
    use_dec = bool(decision_parts)
    plan: dict[str, dict] = {}
    missing = []
    for key, title, pat, tpat, axis in charts:
        col = columns[key]
        from_dec = key == "length" and use_dec
        if not col and not from_dec:
            missing.append(f"{title}: no signal column matching /{pat}/ in quality/")
            continue
        lines = threshold_lines(thresholds, tpat)
        rng = (0.0, 1.0) if axis == "unit" else _column_range(
            decision_parts if from_dec else quality_parts, "chars" if from_dec else col)
        plan[key] = {"title": title, "column": "chars" if from_dec else col, "from_dec": from_dec,
                     "lines": lines, "axis": axis, "edges": _edges(rng or (0.0, 1.0), axis, lines),
                     "counts": np.zeros(N_BINS, np.int64), "kept": np.zeros(N_BINS, np.int64), "n": 0}
    before: Counter = Counter()
    after: Counter = Counter()
    want = sorted({p["column"] for p in plan.values() if not p["from_dec"]})
    has_label = "speakleash_label" in names
    for qp in quality_parts:
        t = read_table(qp, columns=want + (["speakleash_label"] if has_label and not use_dec else []))
        dp = dec_by_rel.get((qp.parent.name, qp.name))
        d = read_table(dp, columns=["chars", "label", "copies"]) if dp else None
        kept = d.column("copies").to_numpy() > 0 if d is not None else None
        if d is not None:
            before.update(_values(d.column("label")))
            after.update(_values(d.column("label").filter(pa.array(kept))))
        elif has_label and not use_dec:
            before.update(_values(t.column("speakleash_label")))
        for p in plan.values():
            src = d if p["from_dec"] else t
            if src is None:
                continue
            v = pc.cast(src.column(p["column"]), pa.float64()).to_numpy(zero_copy_only=False)
            ok = np.isfinite(v)
            e = p["edges"]
            p["counts"] += np.histogram(np.clip(v[ok], e[0], e[-1]), bins=e)[0]
            p["n"] += int(ok.sum())
            if kept is not None:
                p["kept"] += np.histogram(np.clip(v[ok & kept], e[0], e[-1]), bins=e)[0]
    out: dict = {}
    for key, p in plan.items():
        entry = {"title": p["title"], "column": p["column"], "n": p["n"],
                 "edges": [round(float(x), 6) for x in p["edges"]], "counts": p["counts"].tolist(),
                 "thresholds": [{"name": n, "value": val} for n, val in p["lines"]],
                 "log_x": p["axis"] == "log", "quantiles": _quantiles(p["edges"], p["counts"])}
        if use_dec:
            entry["kept_counts"] = p["kept"].tolist()
        out[key] = entry
    if missing:
        out["missing"] = missing
    labels = {"before": dict(sorted(before.items())), "after": dict(sorted(after.items())) if use_dec else None}
    return out, labels


def _values(col) -> Counter:
    vc = pc.value_counts(pc.fill_null(pc.cast(col, pa.string()), "none"))
    return Counter({v["values"]: v["counts"] for v in vc.to_pylist()})


def overlap_matrix(t: pa.Table) -> tuple[list[str], list[list[int]]]:
    """Sources x sources: clusters with documents from both (diagonal: two or more from one).

    `t` has `cluster_id` and `_src` per clustered document. Sources are ordered by how many
    clusters they take part in (most first), then by name.
    """
    if t.num_rows == 0:
        return [], []
    cells = t.group_by(["cluster_id", "_src"]).aggregate([("id", "count")])
    src = cells.column("_src").combine_chunks().dictionary_encode()
    names = src.dictionary.to_pylist()
    codes = src.indices.to_numpy().astype(np.int64)
    n = len(names)
    cid = cells.column("cluster_id").combine_chunks().dictionary_encode().indices.to_numpy()
    per_cell = cells.column("id_count").to_numpy()
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (codes[per_cell >= 2], codes[per_cell >= 2]), 1)
    # Pairs of distinct sources within a cluster, without a loop over clusters: with the cells
    # sorted by cluster, cell i pairs with cell i + d whenever both belong to the same cluster.
    order = np.argsort(cid, kind="stable")
    cid, codes = cid[order], codes[order]
    d = 1
    while d < len(cid):
        same = cid[d:] == cid[:-d]
        if not same.any():
            break
        a, b = codes[:-d][same], codes[d:][same]
        np.add.at(m, (a, b), 1)
        np.add.at(m, (b, a), 1)
        d += 1
    involvement = m.sum(axis=1)
    idx = sorted(range(n), key=lambda i: (-involvement[i], names[i]))
    return [names[i] for i in idx], m[np.ix_(idx, idx)].tolist()


def token_counts(tokens_manifest: dict | None) -> dict | None:
    """Real token counts from the tokens stage's manifest: its scalar totals and, per source,
    tokens per split and overall (`sources.<name>.<split>.tokens`); None when it hasn't run."""
    if tokens_manifest is None:
        return None
    totals = {k: v for k, v in (tokens_manifest.get("counts") or {}).items() if isinstance(v, (int, float))}
    sources = {}
    for s, splits in sorted((tokens_manifest.get("sources") or {}).items()):
        row = {f"{split}_tokens": int(v.get("tokens", 0)) for split, v in sorted(splits.items())
               if isinstance(v, dict)}
        row["tokens"] = sum(row.values())
        sources[s] = row
    return {"totals": totals, "sources": sources}
