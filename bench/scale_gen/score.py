"""Score a pipeline run on a generated corpus against its truth (issue 13's accuracy targets).

Reads, under the work dir: the corpus stage's decisions (`corpus/_decisions/<source>/part-*`:
`id, reason`, a null reason = in the corpus), dedup's clusters (`dedup/clusters.parquet`: `id,
cluster_id`), the clean text of the planted copies and garbled documents (`clean/<source>/part-*`,
only the row groups that can hold them) and the docs stage's manifest (malformed lines per reason).

- foreign: share of planted foreign documents with a reject reason (target: all), by reason;
- near copies, judged at the Jaccard the dedup stage saw (word 5-grams of the two clean texts,
  with dedup's own shingles; cleaning takes the page chrome off, and may take more): of the pairs
  at ≥ 0.8, the share in one cluster (recall, target ≥ 0.95); of those below 0.7, how many were
  merged (target: none); pairs in between are reported, not judged. The same at the planted
  Jaccard, for the record, and how many pairs cleaning moved across 0.8. Without clean parts
  (`disk.remove_intermediate`), the planted Jaccard of the contents stands in;
- exact copies: the share of pairs in one cluster, and of pairs not both in the corpus;
- mojibake: a document is repaired when its clean text has every original word of its sampled
  (original, garbled) pairs and none of the garbled ones (tokens split at spaces and line breaks);
- malformed lines: planted against counted per docs-stage reason;
- clustered documents that no planted pair explains (chance merges), for the record.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from kuznia.registry import folder
from kuznia.stage import read_manifest
from scale_gen.noise import TOKEN_SPLIT, jaccards
from scale_gen.truth import TRUTH_FILE, read_truth

RECALL_TARGET = 0.95
MISSING = "<not in the decisions>"  # dropped before the corpus stage (or never read)


def _read_ids(paths: list[Path], ids: set[str], columns: list[str]) -> dict[str, dict]:
    """Rows (as dicts) of the Parquet files whose id is in `ids`."""
    out = {}
    if not ids:
        return out
    wanted = sorted(ids)
    for path in paths:
        table = pq.read_table(path, columns=columns, filters=[("id", "in", wanted)])
        for row in table.to_pylist():
            out[row["id"]] = row
    return out


def _decisions(work: Path, ids: set[str]) -> dict[str, str | None]:
    paths = sorted((work / folder("corpus") / "_decisions").glob("*/part-*.parquet"))
    return {i: r["reason"] for i, r in _read_ids(paths, ids, ["id", "reason"]).items()}


def _clusters(work: Path) -> dict[str, str]:
    path = work / folder("dedup") / "clusters.parquet"
    table = pq.read_table(path, columns=["id", "cluster_id"])
    return dict(zip(table.column("id").to_pylist(), table.column("cluster_id").to_pylist(), strict=True))


def _clean_texts(work: Path, ids: set[str]) -> dict[str, str]:
    """The clean stage's text of the documents `ids` that it kept (only the parts' row groups
    that can hold them are read)."""
    by_source: dict[str, set[str]] = {}
    for i in ids:
        by_source.setdefault(i.rsplit("/", 1)[0], set()).add(i)
    out = {}
    for source, wanted in sorted(by_source.items()):
        paths = sorted((work / folder("clean") / source).glob("part-*.parquet"))
        out.update({i: r["text"] for i, r in _read_ids(paths, wanted, ["id", "text"]).items()})
    return out


def _pairs(rows: list[dict], clusters: dict[str, str], decisions: dict[str, str | None],
           texts: dict[str, str] | None) -> list[dict]:
    """Each planted pair that the clean stage kept both sides of (not emptied), with whether dedup
    clustered it, whether the corpus kept both, and its Jaccard as the dedup stage measures the
    clean texts (`texts`; None when the clean parts were removed, `disk.remove_intermediate`:
    then the planted Jaccard of the contents stands in, as cleaning takes the chrome off)."""
    if texts is None:
        return [{**r, "clustered": r["dup_of"] in clusters and clusters.get(r["dup_of"]) == clusters.get(r["id"]),
                 "both_kept": decisions.get(r["dup_of"], MISSING) is None and decisions.get(r["id"], MISSING) is None,
                 "jaccard_clean": r["jaccard"] if r["jaccard"] is not None else 1.0} for r in rows]
    kept = [r for r in rows if texts.get(r["dup_of"], "").strip() and texts.get(r["id"], "").strip()]
    values = []
    for start in range(0, len(kept), 2000):
        values += jaccards([(texts[r["dup_of"]], texts[r["id"]]) for r in kept[start:start + 2000]])
    out = []
    for r, j in zip(kept, values, strict=True):
        a, b = r["dup_of"], r["id"]
        same = a in clusters and clusters.get(a) == clusters.get(b)
        both_kept = decisions.get(a, MISSING) is None and decisions.get(b, MISSING) is None
        out.append({**r, "clustered": same, "both_kept": both_kept, "jaccard_clean": round(j, 4)})
    return out


def _near(rows: list[dict], pairs: list[dict]) -> dict:
    """Near copies judged at the Jaccard the dedup stage saw (the clean texts'), and, for the
    record, at the planted one (the contents' and the full texts' both past the line)."""
    high = [p for p in pairs if p["jaccard_clean"] >= 0.8]
    low = [p for p in pairs if p["jaccard_clean"] < 0.7]
    planted_high = [p for p in pairs if min(p["jaccard"], p["jaccard_raw"]) >= 0.8]
    planted_low = [p for p in pairs if max(p["jaccard"], p["jaccard_raw"]) < 0.7]
    # Cleaning takes the page chrome off (the planted `jaccard` is the contents'), and sometimes more.
    moved = [p for p in pairs if (p["jaccard_clean"] >= 0.8) != (p["jaccard"] >= 0.8)]

    def example(p: dict) -> tuple:
        return p["dup_of"], p["id"], p["jaccard_clean"], p["jaccard"]

    return {
        "pairs": len(rows), "dropped_by_cleaning": len(rows) - len(pairs),
        "ge_0.8": len(high), "ge_0.8_clustered": sum(p["clustered"] for p in high),
        "recall_ge_0.8": _share(sum(p["clustered"] for p in high), len(high)),
        "lt_0.7": len(low), "lt_0.7_merged": sum(p["clustered"] for p in low),
        "lt_0.7_merged_examples": [example(p) for p in low if p["clustered"]][:5],
        "missed_examples": [example(p) for p in high if not p["clustered"]][:5],
        "between": len(pairs) - len(high) - len(low),
        "between_clustered": sum(p["clustered"] for p in pairs if p not in high and p not in low),
        "planted_ge_0.8": len(planted_high),
        "planted_recall_ge_0.8": _share(sum(p["clustered"] for p in planted_high), len(planted_high)),
        "planted_lt_0.7": len(planted_low), "planted_lt_0.7_merged": sum(p["clustered"] for p in planted_low),
        "moved_across_0.8_by_cleaning": len(moved),
    }


def _repaired(row: dict, text: str | None) -> bool:
    if text is None:
        return False
    tokens = set(TOKEN_SPLIT.split(text))  # not str.split: C1 controls such as U+0085 are white space to it
    pairs = json.loads(row["garbled_words"])
    return all(orig in tokens for orig, _ in pairs) and not any(bad in tokens for _, bad in pairs)


def _share(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def score(truth: Path, work: Path) -> dict:
    """The scores of the pipeline run in `work` against the generator's truth (see the module docstring)."""
    truth, work = Path(truth), Path(work)
    truth_file = truth / TRUTH_FILE if truth.is_dir() else truth
    needed = [truth_file, work / folder("dedup") / "clusters.parquet", work / folder("corpus") / "_decisions"]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        raise FileNotFoundError(f"cannot score: {', '.join(missing)} missing; generate the corpus with "
                                "bench/scale_corpus.py and run the pipeline on it through the corpus stage first")
    rows = read_truth(truth_file).to_pylist()
    by_kind: dict[str, list[dict]] = {}
    for r in rows:
        by_kind.setdefault(r["kind"], []).append(r)
    copies = by_kind.get("near_dup", []) + by_kind.get("exact_dup", [])
    wanted = {r["id"] for r in rows} | {r["dup_of"] for r in copies}
    decisions, clusters = _decisions(work, wanted), _clusters(work)
    foreign = by_kind.get("foreign", [])
    reasons = Counter(decisions.get(r["id"], MISSING) for r in foreign)
    # A garbled document whose changed words all hold digits or symbols has no pairs to judge by.
    garbled = [r for r in by_kind.get("mojibake", []) if json.loads(r["garbled_words"])]
    has_clean = any((work / folder("clean")).glob("*/part-*.parquet"))
    texts = _clean_texts(work, {r["id"] for r in garbled} | {i for r in copies for i in (r["id"], r["dup_of"])}) \
        if has_clean else None
    near_rows, exact_rows = by_kind.get("near_dup", []), by_kind.get("exact_dup", [])
    exact = _pairs(exact_rows, clusters, decisions, texts)
    repaired = [r for r in garbled if texts is not None and _repaired(r, texts.get(r["id"]))]
    planted = {r["id"] for r in copies} | {r["dup_of"] for r in copies}
    return {
        "foreign": {"planted": len(foreign), "rejected": sum(n for k, n in reasons.items() if k not in (None, MISSING)),
                    "by_reason": {str(k): n for k, n in sorted(reasons.items(), key=lambda kv: str(kv[0]))}},
        "near_dup": _near(near_rows, _pairs(near_rows, clusters, decisions, texts)),
        "exact_dup": {"pairs": len(exact_rows), "dropped_by_cleaning": len(exact_rows) - len(exact),
                      "clustered": sum(p["clustered"] for p in exact), "both_kept": sum(p["both_kept"] for p in exact),
                      "removed_share": _share(sum(not p["both_kept"] for p in exact), len(exact))},
        "clean_texts": has_clean,
        "mojibake": {"planted": len(garbled), "found_in_clean": sum(r["id"] in (texts or {}) for r in garbled),
                     "repaired": len(repaired),
                     "repaired_share": _share(len(repaired), len(garbled)),
                     "by_encoding": _by_encoding(garbled, repaired)},
        "malformed": _malformed(work, by_kind.get("malformed", [])),
        "unplanted_clustered_docs": sum(1 for i in clusters if i not in planted),
    }


def _by_encoding(garbled: list[dict], repaired: list[dict]) -> dict[str, str]:
    total = Counter(f"{r['encoding']}x{r['layers']}" for r in garbled)
    good = Counter(f"{r['encoding']}x{r['layers']}" for r in repaired)
    return {k: f"{good[k]}/{n}" for k, n in sorted(total.items())}


def _malformed(work: Path, rows: list[dict]) -> dict:
    planted = Counter(r["docs_reason"] for r in rows)
    manifest = read_manifest(work / folder("docs")) or {}
    counts = (manifest.get("counts") or {}).get("sources", {})
    counted = Counter()
    for source_counts in counts.values():
        for key, n in source_counts.items():
            if key.startswith("dropped_malformed_"):
                counted[key.removeprefix("dropped_malformed_")] += n
    return {"planted": dict(sorted(planted.items())), "counted_by_docs": dict(sorted(counted.items()))}


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def format_score(s: dict) -> str:
    """The scores as lines, each target with `ok` or `MISSED`."""
    f, n, e, m, bad = s["foreign"], s["near_dup"], s["exact_dup"], s["mojibake"], s["malformed"]
    recall = n["recall_ge_0.8"]
    missed = f"  missed e.g. {n['missed_examples']}" if n["missed_examples"] else ""
    merged = f"  e.g. {n['lt_0.7_merged_examples']}" if n["lt_0.7_merged_examples"] else ""
    return "\n".join([
        (f"foreign documents rejected: {f['rejected']}/{f['planted']} [target: all] "
         f"{_mark(f['rejected'] == f['planted'])}  by reason {f['by_reason']}"),
        (f"near copies (J of the clean texts, as dedup sees them; {n['dropped_by_cleaning']} of {n['pairs']} "
         f"pairs had a side emptied by cleaning):" if s["clean_texts"] else
         "near copies (the clean parts were removed: judged at the planted J of their contents):"),
        (f"  J>=0.8 clustered: {n['ge_0.8_clustered']}/{n['ge_0.8']} (recall {recall}) "
         f"[target >= {RECALL_TARGET}] {_mark(recall is None or recall >= RECALL_TARGET)}{missed}"),
        (f"  J<0.7 merged: {n['lt_0.7_merged']}/{n['lt_0.7']} [target: none] "
         f"{_mark(n['lt_0.7_merged'] == 0)}{merged}"),
        f"  0.7<=J<0.8 clustered (not judged): {n['between_clustered']}/{n['between']}",
        (f"  at the planted J: recall >= 0.8 {n['planted_recall_ge_0.8']} of {n['planted_ge_0.8']}, merged < 0.7 "
         f"{n['planted_lt_0.7_merged']}/{n['planted_lt_0.7']}; cleaning moved {n['moved_across_0.8_by_cleaning']} "
         "pairs across 0.8 (from the planted J of their contents)"),
        (f"exact copies clustered: {e['clustered']}/{e['pairs'] - e['dropped_by_cleaning']} "
         f"({e['dropped_by_cleaning']} emptied by cleaning); pairs with one removed: {e['removed_share']} "
         f"({e['both_kept']} pairs both kept)"),
        (f"mojibake repaired: {m['repaired']}/{m['planted']} ({m['repaired_share']}) "
         f"by encoding x layers {m['by_encoding']}" if s["clean_texts"] else
         "mojibake repaired: not scored (the clean parts were removed; keep them to score it)"),
        (f"malformed lines planted {bad['planted']}, counted by docs {bad['counted_by_docs']} "
         f"{_mark(bad['planted'] == bad['counted_by_docs'])}"),
        f"clustered documents no planted pair explains: {s['unplanted_clustered_docs']}",
    ])
