"""The `dedup` stage: signatures per clean part, candidate pairs per band group, then clusters.

Phases (see corpus/stage.py for the contract):
  signatures  one task per clean part: shingle hashes -> MinHash signature -> band keys, exact
              key, `chars` and `words`, written to `dedup/signatures/<source>/part-NNNNN.parquet`.
  bands       one task for the exact keys and one per group of `bands_per_task` bands: sort each
              band's keys and bucket them. `verify: estimate | none`: verify on the signatures
              (or not) and write the pairs to `dedup/pairs/<task>.parquet`; `verify: exact`:
              write the candidate buckets to `dedup/buckets/<task>.parquet`.
  shingles    (`verify: exact`) one task per clean part: the shingle sets of its candidate docs,
              re-read from clean/, to `dedup/shingles/<source>/part-NNNNN.parquet` (exact.py).
  verify      (`verify: exact`) tasks of consecutive buckets: exact-Jaccard leader rounds ->
              `dedup/pairs/verify-<bucket file>-NNNNN.parquet`.
  clusters    one task: connected components over all pairs -> `dedup/clusters.parquet`.
Documents are numbered in (source, part, row) order; only the clusters table holds ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from corpus.dedup.clusters import cluster_table, clustered, components, source_stats
from corpus.dedup.exact import (
    BUCKETS,
    SHINGLES,
    ShingleStore,
    bucket_files,
    candidate_docs,
    candidate_texts,
    distinct_buckets,
    read_buckets,
    shingle_table,
    split_buckets,
    write_buckets,
    write_shingles,
)
from corpus.dedup.lsh import Buckets, SignatureLookup, band_keys, buckets, verify
from corpus.dedup.minhash import signatures, value_dtype
from corpus.dedup.shingles import shingle_batch
from corpus.dedup.store import (
    SIGNATURES,
    SignatureParts,
    band_column,
    fixed_binary_to_numpy,
)
from kuznia import registry
from kuznia.counts import Counts
from kuznia.parts import iter_batches, list_parts, read_table, write_table
from kuznia.progress import progress
from kuznia.stage import Phase, StageContext, StageSpec

PAIRS = "pairs"
CLUSTERS = "clusters.parquet"
PAIRS_SCHEMA = pa.schema([pa.field("a", pa.int32(), nullable=False),
                          pa.field("b", pa.int32(), nullable=False)])


# --------------------------------------------------------------------------- signatures


def signature_schema(num_perm: int, scheme: str, bands: int) -> pa.Schema:
    width = num_perm * np.dtype(value_dtype(scheme)).itemsize
    fields = [
        pa.field("id", pa.string(), nullable=False),
        pa.field("chars", pa.int64(), nullable=False),
        pa.field("words", pa.int32(), nullable=False),
        pa.field("exact", pa.binary(16), nullable=False),
        pa.field("sig", pa.binary(width), nullable=False),
    ]
    fields += [pa.field(band_column(k), pa.uint64(), nullable=False) for k in range(bands)]
    return pa.schema(fields)


def text_batches(path: Path, batch_chars: int) -> Iterator[tuple[list[str], list[str]]]:
    """(ids, texts) of a docs part in order, about `batch_chars` characters at a time."""
    ids: list[str] = []
    texts: list[str] = []
    size = 0
    for rb in iter_batches(path, columns=["id", "text"], batch_rows=1024):
        for i, t in zip(rb.column(0).to_pylist(), rb.column(1).to_pylist()):
            ids.append(i)
            texts.append(t)
            size += len(t)
            if size >= batch_chars:
                yield ids, texts
                ids, texts, size = [], [], 0
    if ids:
        yield ids, texts


def signature_table(ids: list[str], texts: list[str], cfg) -> pa.Table:
    """Signatures, band keys, exact keys and sizes of a batch of documents (`cfg`: DedupConfig)."""
    bands, rows = cfg.lsh_params()
    sb = shingle_batch(texts, ngram=cfg.ngram, lowercase=cfg.lowercase, nfc=cfg.nfc)
    sig = signatures(sb.hashes, sb.offsets, num_perm=cfg.num_perm, seed=cfg.seed, scheme=cfg.scheme)
    keys = band_keys(sig, bands, rows)
    schema = signature_schema(cfg.num_perm, cfg.scheme, bands)
    cols = {
        "id": pa.array(ids, pa.string()),
        "chars": pa.array(sb.chars, pa.int64()),
        "words": pa.array(sb.words.astype(np.int32), pa.int32()),
        "exact": pa.array(sb.exact, pa.binary(16)),
        "sig": pa.FixedSizeBinaryArray.from_buffers(
            schema.field("sig").type, len(ids), [None, pa.py_buffer(np.ascontiguousarray(sig))]),
    }
    for k in range(bands):
        cols[band_column(k)] = pa.array(keys[:, k], pa.uint64())
    return pa.table(cols, schema=schema)


def plan_signatures(ctx: StageContext) -> list[dict]:
    clean = ctx.upstream_dir("clean")
    return [
        {"id": f"{p.parent.name}/{p.name}", "source": p.parent.name,
         "part": p.relative_to(clean).as_posix()}
        for p in list_parts(clean)
    ]


def signature_inputs(ctx: StageContext, task: dict) -> list[Path]:
    """The clean part a signatures task reads."""
    return [ctx.upstream_dir("clean") / task["part"]]


def run_signatures(ctx: StageContext, task: dict) -> dict:
    cfg = ctx.cfg.dedup
    src = ctx.upstream_dir("clean") / task["part"]
    tables = [signature_table(ids, texts, cfg)
              for ids, texts in progress(text_batches(src, cfg.batch_chars), desc=task["id"])]
    bands, _ = cfg.lsh_params()
    table = (pa.concat_tables(tables) if tables
             else signature_schema(cfg.num_perm, cfg.scheme, bands).empty_table())
    write_table(ctx.dir / SIGNATURES / task["part"], table)
    words = table.column("words").to_numpy()
    return {"source": task["source"], "counts": Counts(
        docs=table.num_rows, empty_docs=int((words == 0).sum()),
        chars=int(table.column("chars").to_numpy().sum()))}


# --------------------------------------------------------------------------- bands


def plan_bands(ctx: StageContext) -> list[dict]:
    bands, _ = ctx.cfg.dedup.lsh_params()
    step = ctx.cfg.dedup.bands_per_task
    tasks = [{"id": "exact", "kind": "exact"}]
    for lo in range(0, bands, step):
        hi = min(lo + step, bands)
        tasks.append({"id": f"bands-{lo:02d}-{hi - 1:02d}", "kind": "bands",
                      "bands": list(range(lo, hi))})
    return tasks


def band_buckets(parts: SignatureParts, band_list: list[int]) -> tuple[list[Buckets], dict]:
    """The candidate buckets of some bands (non-empty docs sharing a band key), with counts."""
    docs = np.flatnonzero(parts.read_column("words", np.int32) > 0).astype(np.int32)
    found = []
    for k in band_list:
        keys = parts.read_column(band_column(k), np.uint64)[docs]
        found.append(buckets(keys, docs=docs))
        del keys
    return found, {"candidate_pairs": int(sum(len(bk.members) - bk.n_buckets for bk in found))}


def band_pairs(parts: SignatureParts, band_list: list[int], cfg) -> tuple[np.ndarray, np.ndarray, dict]:
    """Candidate pairs of some bands, verified on the signatures if `cfg.verify` is `estimate`
    (every bucket's star edges if `none`), deduplicated, with counts."""
    if cfg.verify == "exact":
        raise ValueError("band_pairs: `dedup.verify: exact` verifies buckets in the verify phase")
    found, counts = band_buckets(parts, band_list)
    if cfg.verify == "estimate" and found:
        needed = np.unique(np.concatenate([bk.members for bk in found]))
        width = cfg.num_perm
        sig = fixed_binary_to_numpy(parts.read_rows(needed, "sig"), value_dtype(cfg.scheme), width)
        similar = SignatureLookup(needed, sig).at_least(cfg.min_verified_jaccard())
        a_parts, b_parts = [], []
        compared = rejected = unlinked = 0
        for bk in found:
            v = verify(bk, similar, cfg.verify_max_rounds)
            a_parts.append(v.a)
            b_parts.append(v.b)
            compared += v.compared
            rejected += v.rejected
            unlinked += v.unlinked
        counts.update(compared_pairs=compared, rejected_pairs=rejected, unlinked_docs=unlinked)
    else:
        edges = [bk.star_edges() for bk in found]
        a_parts, b_parts = [e[0] for e in edges], [e[1] for e in edges]
    a, b = unique_pairs(a_parts, b_parts)
    counts["verified_pairs" if cfg.verify == "estimate" else "pairs"] = len(a)
    return a, b, counts


def unique_pairs(a_parts: list[np.ndarray], b_parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate (a, b) edge lists, orient them a < b, drop repeats, sort."""
    if not a_parts:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    a = np.concatenate(a_parts).astype(np.int64)
    b = np.concatenate(b_parts).astype(np.int64)
    key = np.unique(np.minimum(a, b) << 32 | np.maximum(a, b))
    return (key >> 32).astype(np.int32), (key & 0xFFFFFFFF).astype(np.int32)


def exact_pairs(parts: SignatureParts) -> tuple[np.ndarray, np.ndarray, dict]:
    """Star edges of the docs with equal exact keys (non-empty docs only)."""
    docs = np.flatnonzero(parts.read_column("words", np.int32) > 0).astype(np.int32)
    ex = parts.read_fixed("exact", np.uint64, 2)[docs]
    bk = buckets(ex[:, 0].copy(), ex[:, 1].copy(), docs=docs)
    a, b = bk.star_edges()
    return a, b, {"exact_pairs": len(a), "exact_groups": bk.n_buckets}


def write_pairs(path: Path, a: np.ndarray, b: np.ndarray) -> None:
    write_table(path, pa.table({"a": a, "b": b}, schema=PAIRS_SCHEMA), row_group_rows=1 << 20)


def run_bands(ctx: StageContext, task: dict) -> dict:
    parts = SignatureParts.open(ctx.dir)
    if task["kind"] == "exact":
        a, b, counts = exact_pairs(parts)
    elif ctx.cfg.dedup.verify == "exact":
        found, counts = band_buckets(parts, task["bands"])
        bk = distinct_buckets(found)
        write_buckets(ctx.dir / BUCKETS / f"{task['id']}.parquet", bk)
        counts["candidate_buckets"] = bk.n_buckets
        return {"counts": counts}
    else:
        a, b, counts = band_pairs(parts, task["bands"], ctx.cfg.dedup)
    write_pairs(ctx.dir / PAIRS / f"{task['id']}.parquet", a, b)
    return {"counts": counts}


# --------------------------------------------------------------------------- exact verification


def plan_shingles(ctx: StageContext) -> list[dict]:
    return plan_signatures(ctx) if ctx.cfg.dedup.verify == "exact" else []


def run_shingles(ctx: StageContext, task: dict) -> dict:
    cfg = ctx.cfg.dedup
    parts = SignatureParts.open(ctx.dir)
    k = [p.relative_to(ctx.dir / SIGNATURES).as_posix() for p in parts.paths].index(task["part"])
    lo, hi = int(parts.offsets[k]), int(parts.offsets[k + 1])
    docs = candidate_docs(ctx.dir, lo, hi)
    src = ctx.upstream_dir("clean") / task["part"]
    texts = candidate_texts(src, (docs - lo).astype(np.int64), cfg.batch_chars)
    table = shingle_table(docs, progress(texts, desc=task["id"]), cfg)
    write_shingles(ctx.dir / SHINGLES / task["part"], table)
    return {"source": task["source"], "counts": Counts(
        shingled_docs=table.num_rows,
        shingled_hashes=int(table.column("count").to_numpy().sum()) if table.num_rows else 0)}


def plan_verify(ctx: StageContext) -> list[dict]:
    cfg = ctx.cfg.dedup
    if cfg.verify != "exact":
        return []
    docs, counts = ShingleStore(ctx.dir).counts()
    tasks = []
    for f in bucket_files(ctx.dir):
        for n, (lo, hi) in enumerate(split_buckets(read_buckets(f), docs, counts,
                                                   cfg.verify_shingles_per_task)):
            tasks.append({"id": f"verify-{f.stem}-{n:05d}", "file": f.name, "buckets": [lo, hi]})
    return tasks


def run_verify(ctx: StageContext, task: dict) -> dict:
    cfg = ctx.cfg.dedup
    bk = read_buckets(ctx.dir / BUCKETS / task["file"], *task["buckets"])
    sets = ShingleStore(ctx.dir).read(np.unique(bk.members))
    v = verify(bk, sets.at_least(cfg.min_verified_jaccard()), cfg.verify_max_rounds)
    a, b = unique_pairs([v.a], [v.b])
    write_pairs(ctx.dir / PAIRS / f"{task['id']}.parquet", a, b)
    return {"counts": Counts(compared_pairs=v.compared, rejected_pairs=v.rejected,
                             unlinked_docs=v.unlinked, verified_pairs=len(a))}


# --------------------------------------------------------------------------- clusters


def read_pairs(path: Path) -> tuple[np.ndarray, np.ndarray]:
    t = read_table(path)
    return t.column("a").to_numpy(), t.column("b").to_numpy()


def build_clusters(dedup_dir: Path) -> dict:
    """Connected components of all pairs under `dedup_dir` -> clusters.parquet; returns the stats."""
    parts = SignatureParts.open(dedup_dir)
    files = sorted((dedup_dir / PAIRS).glob("*.parquet"))
    ea, eb = read_pairs(dedup_dir / PAIRS / "exact.parquet")
    loaded = [read_pairs(f) for f in files]
    a = np.concatenate([x for x, _ in loaded]) if loaded else np.zeros(0, np.int32)
    b = np.concatenate([y for _, y in loaded]) if loaded else np.zeros(0, np.int32)
    del loaded
    labels = components(parts.n_docs, a, b)
    del a, b
    cd = clustered(labels)
    del labels
    exact_twin = np.zeros(parts.n_docs, dtype=bool)
    exact_twin[ea] = True
    exact_twin[eb] = True
    names, code = parts.source_codes()
    ids = parts.read_rows(cd.docs, "id")
    chars = parts.read_rows(cd.docs, "chars").to_numpy() if len(cd.docs) else np.zeros(0, np.int64)
    table = cluster_table(cd, ids, names, code[cd.docs], chars, exact_twin[cd.docs])
    write_table(dedup_dir / CLUSTERS, table, row_group_rows=1 << 16)
    stats = source_stats(cd, names, code[cd.docs])
    n_clusters = len(np.unique(cd.labels))
    return {
        "counts": {
            "clusters": n_clusters,
            "docs_in_clusters": len(cd.docs),
            "largest_cluster": int(cd.sizes.max()) if len(cd.sizes) else 0,
            # Docs that keeping one per cluster removes, split into exact and near duplicates
            # (exact groups are disjoint and each gave size - 1 star edges).
            "exact_dup_docs": len(ea),
            "near_dup_docs": len(cd.docs) - n_clusters - len(ea),
        },
        "docs_in_clusters": stats.docs_in_clusters,
        "clusters_touching": stats.clusters_touching,
        "overlap": stats.overlap,
    }


def plan_clusters(ctx: StageContext) -> list[dict]:
    return [{"id": "clusters"}]


def run_clusters(ctx: StageContext, task: dict) -> dict:
    return build_clusters(ctx.dir)


# --------------------------------------------------------------------------- finish


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    cfg = ctx.cfg.dedup
    bands, rows = cfg.lsh_params()
    counts = Counts.total(r["counts"] for phase in ("signatures", "bands", "shingles", "verify")
                          for r in records.get(phase, []))
    cl = records["clusters"][0]
    counts = counts + cl["counts"]
    per_source = {s: {"docs": c["docs"], "empty_docs": c["empty_docs"]}
                  for s, c in Counts.by(records["signatures"], "source").items()}
    for s, v in per_source.items():
        v["docs_in_clusters"] = cl["docs_in_clusters"].get(s, 0)
        v["clusters"] = cl["clusters_touching"].get(s, 0)
    return {
        "counts": counts,
        "lsh": {"num_perm": cfg.num_perm, "bands": bands, "rows": rows, "scheme": cfg.scheme,
                "threshold": cfg.threshold, "verify": cfg.verify,
                "verify_threshold": cfg.min_verified_jaccard() if cfg.verify != "none" else None},
        "per_source": per_source,
        "overlap": cl["overlap"],
    }


SPEC = StageSpec(
    info=registry.info("dedup"),
    config_keys=("dedup",),
    phases=[
        Phase("signatures", plan_signatures, run_signatures, signature_inputs),
        Phase("bands", plan_bands, run_bands),
        Phase("shingles", plan_shingles, run_shingles),
        Phase("verify", plan_verify, run_verify),
        Phase("clusters", plan_clusters, run_clusters),
    ],
    finish=finish,
    scratch=(SIGNATURES, BUCKETS, SHINGLES, PAIRS),  # the corpus stage reads only clusters.parquet
)
