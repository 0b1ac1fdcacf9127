"""Exact-Jaccard verification of LSH candidates (`dedup.verify: exact`).

MinHash estimates Jaccard with a standard error of ~sqrt(J(1-J)/num_perm) (0.025 at J = 0.8 and
256 permutations), so verifying candidates on the estimate keeps some pairs below the threshold and
drops some above it. Here the candidates are checked on their true shingle sets instead, in three
steps that each hold a bounded amount in memory:

  buckets   the `bands` phase writes each band group's candidate buckets (documents sharing a
            band key; a bucket whose member set another band of the group already gave is
            written once) to `dedup/buckets/<task>.parquet`: `bucket` int32, `doc` int32, sorted.
  shingles  per clean part, the documents that are members of some bucket are re-read from
            `clean/`, shingled exactly as for their signatures (`shingles.shingle_batch`), and
            their sorted unique shingle hashes written to `dedup/shingles/<source>/part-NNNNN.parquet`
            (`doc` int32, `count` int32, `hashes` list<uint64>) in doc order.
  verify    consecutive buckets of one bucket file, at most `verify_shingles_per_task` member
            shingles per task (plus one bucket): load only those documents' shingles, run the
            leader rounds of `lsh.verify` with exact Jaccard as the test, write the accepted pairs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from corpus.dedup.lsh import Buckets, Similar
from corpus.dedup.shingles import shingle_batch
from kuznia.parts import iter_batches, list_parts, parquet_file, read_table, write_table
from kuznia.stage import StageError

BUCKETS = "buckets"
SHINGLES = "shingles"
BUCKETS_SCHEMA = pa.schema([pa.field("bucket", pa.int32(), nullable=False),
                            pa.field("doc", pa.int32(), nullable=False)])
SHINGLES_SCHEMA = pa.schema([pa.field("doc", pa.int32(), nullable=False),
                             pa.field("count", pa.int32(), nullable=False),
                             pa.field("hashes", pa.list_(pa.uint64()), nullable=False)])
SHINGLE_ROW_GROUP = 1024  # docs per row group: a verify task reads only the groups it needs


# --------------------------------------------------------------------------- buckets


def distinct_buckets(found: list[Buckets]) -> Buckets:
    """The buckets of several bands as one, each distinct member set once (first band first).

    Copies and close near duplicates share most bands: their bucket would be verified once per
    band otherwise.
    """
    seen: set[bytes] = set()
    members, sizes = [], []
    for bk in found:
        bounds = bk.bounds.tolist()
        for i in range(bk.n_buckets):
            m = bk.members[bounds[i] : bounds[i + 1]]
            key = m.tobytes()
            if key not in seen:
                seen.add(key)
                members.append(m)
                sizes.append(len(m))
    out = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=out[1:])
    return Buckets(np.concatenate(members).astype(np.int32) if members else np.zeros(0, np.int32),
                   out)


def write_buckets(path: Path, bk: Buckets) -> None:
    bucket = np.repeat(np.arange(bk.n_buckets, dtype=np.int32), np.diff(bk.bounds))
    write_table(path, pa.table({"bucket": bucket, "doc": bk.members}, schema=BUCKETS_SCHEMA),
                row_group_rows=1 << 20)


def read_buckets(path: Path, lo: int = 0, hi: int | None = None) -> Buckets:
    """Buckets lo..hi-1 of a bucket file (all by default)."""
    t = read_table(path)
    bucket = t.column("bucket").to_numpy()
    doc = t.column("doc").to_numpy()
    n = int(bucket[-1]) + 1 if len(bucket) else 0
    hi = n if hi is None else hi
    a, b = np.searchsorted(bucket, [lo, hi])
    sizes = np.bincount(bucket[a:b] - lo, minlength=hi - lo) if b > a else np.zeros(hi - lo, np.int64)
    bounds = np.zeros(hi - lo + 1, dtype=np.int64)
    np.cumsum(sizes, out=bounds[1:])
    return Buckets(doc[a:b].astype(np.int32), bounds)


def bucket_files(dedup_dir: Path) -> list[Path]:
    return sorted((Path(dedup_dir) / BUCKETS).glob("*.parquet"))


def candidate_docs(dedup_dir: Path, lo: int, hi: int) -> np.ndarray:
    """Sorted unique doc indices in [lo, hi) that are a member of some bucket."""
    found = []
    for f in bucket_files(dedup_dir):
        doc = read_table(f, columns=["doc"]).column(0).to_numpy()
        found.append(np.unique(doc[(doc >= lo) & (doc < hi)]))
    return np.unique(np.concatenate(found)).astype(np.int32) if found else np.zeros(0, np.int32)


# --------------------------------------------------------------------------- shingle side tables


def candidate_texts(path: Path, rows: np.ndarray, batch_chars: int) -> Iterator[list[str]]:
    """Texts of the given rows (sorted) of a clean part, in order, ~`batch_chars` at a time."""
    want = set(rows.tolist())
    texts: list[str] = []
    size = row = 0
    for rb in iter_batches(path, columns=["text"], batch_rows=1024):
        for t in rb.column(0).to_pylist():
            if row in want:
                texts.append(t)
                size += len(t)
                if size >= batch_chars:
                    yield texts
                    texts, size = [], 0
            row += 1
    if texts:
        yield texts
    if len(rows) and row <= rows[-1]:
        raise StageError(f"{path}: {row} rows, but its dedup signatures need row {int(rows[-1])}; "
                         "clean/ changed under dedup: rerun the dedup stage with --force")


def shingle_table(docs: np.ndarray, texts: Iterator[list[str]], cfg) -> pa.Table:
    """Sorted unique shingle hashes of `docs`; `texts` yields their texts in order, in batches."""
    counts, values = [], []
    for batch in texts:
        sb = shingle_batch(batch, ngram=cfg.ngram, lowercase=cfg.lowercase, nfc=cfg.nfc)
        h = sb.hashes.copy()
        off = sb.offsets.tolist()
        for i in range(sb.n_docs):  # sort each doc's run in place (np.unique per doc is 5x slower)
            h[off[i] : off[i + 1]].sort()
        # Keep a hash unless it repeats the previous one of the same doc.
        keep = np.ones(len(h), dtype=bool)
        keep[1:] = h[1:] != h[:-1]
        keep[sb.offsets[:-1][sb.offsets[:-1] < len(h)]] = True
        kept_before = np.concatenate([[0], np.cumsum(keep)])
        counts.extend(np.diff(kept_before[sb.offsets]).tolist())
        values.append(h[keep])
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    flat = np.concatenate(values) if values else np.zeros(0, np.uint64)
    hashes = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(flat, pa.uint64()))
    return pa.table({"doc": pa.array(docs, pa.int32()), "count": pa.array(counts, pa.int32()),
                     "hashes": hashes}, schema=SHINGLES_SCHEMA)


def write_shingles(path: Path, table: pa.Table) -> None:
    write_table(path, table, row_group_rows=SHINGLE_ROW_GROUP)


@dataclass
class ShingleSets:
    """Sorted unique shingle hashes of a sorted set of docs, as CSR."""

    docs: np.ndarray  # int32, ascending
    offsets: np.ndarray  # int64 (len(docs) + 1,)
    values: np.ndarray  # uint64

    def at_least(self, min_jaccard: float) -> Similar:
        """A `similar` for `lsh.verify`: exact Jaccard of the two shingle sets >= `min_jaccard`."""
        return lambda leads, docs: self.jaccard(leads, docs) >= min_jaccard

    def jaccard(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Exact Jaccard of the shingle sets of docs a[i] and b[i] (both must be loaded)."""
        ia = np.searchsorted(self.docs, a)
        ib = np.searchsorted(self.docs, b)
        if len(a) and not (np.array_equal(self.docs[ia], a) and np.array_equal(self.docs[ib], b)):
            raise KeyError("ShingleSets.jaccard: a doc's shingles were not loaded")
        off, vals = self.offsets, self.values
        out = np.empty(len(a), dtype=np.float64)
        for k, (x, y) in enumerate(zip(ia.tolist(), ib.tolist())):
            sa, sb = vals[off[x] : off[x + 1]], vals[off[y] : off[y + 1]]
            if len(sa) > len(sb):
                sa, sb = sb, sa
            # Both are sorted and unique: look the smaller set up in the larger one.
            pos = np.searchsorted(sb, sa)
            pos[pos == len(sb)] = 0
            inter = int(np.count_nonzero(sb[pos] == sa)) if len(sb) else 0
            union = len(sa) + len(sb) - inter
            out[k] = inter / union if union else 1.0
        return out


class ShingleStore:
    """The shingle side tables of a dedup folder, read for a given set of docs."""

    def __init__(self, dedup_dir: Path):
        self.paths = list_parts(Path(dedup_dir) / SHINGLES)

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(docs, shingle counts) of every stored doc, docs ascending."""
        docs, counts = [], []
        for p in self.paths:
            t = read_table(p, columns=["doc", "count"])
            docs.append(t.column("doc").to_numpy())
            counts.append(t.column("count").to_numpy())
        if not docs:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        d, c = np.concatenate(docs), np.concatenate(counts)
        order = np.argsort(d, kind="stable")  # parts are in (source, part) order, as doc indices
        return d[order], c[order]

    def read(self, docs: np.ndarray) -> ShingleSets:
        """Shingles of `docs` (sorted, unique), reading only the row groups that hold them."""
        got_docs, sizes, flats = [], [], []
        for p in self.paths:
            pf = parquet_file(p)
            stored = read_table(p, columns=["doc"]).column(0).to_numpy()
            rows = np.flatnonzero(np.isin(stored, docs, assume_unique=True))
            if not len(rows):
                continue
            rg_start = np.zeros(pf.num_row_groups + 1, dtype=np.int64)
            np.cumsum([pf.metadata.row_group(g).num_rows for g in range(pf.num_row_groups)],
                      out=rg_start[1:])
            rg_of = np.searchsorted(rg_start, rows, side="right") - 1
            for g in np.unique(rg_of):
                col = pf.read_row_group(int(g), columns=["hashes"]).column(0)
                # To numpy per piece: Arrow's combine_chunks on list arrays was ~100x slower.
                for piece in col.take(pa.array(rows[rg_of == g] - rg_start[g])).chunks:
                    sizes.append(np.diff(piece.offsets.to_numpy()))
                    flats.append(piece.flatten().to_numpy(zero_copy_only=False))
            got_docs.append(stored[rows])
        if not got_docs:
            return ShingleSets(np.zeros(0, np.int32), np.zeros(1, np.int64), np.zeros(0, np.uint64))
        d = np.concatenate(got_docs)
        size = np.concatenate(sizes).astype(np.int64)
        flat = np.concatenate(flats).astype(np.uint64, copy=False)
        offsets = np.zeros(len(d) + 1, dtype=np.int64)
        np.cumsum(size, out=offsets[1:])
        if np.any(np.diff(d) <= 0):
            raise ValueError(f"{Path(self.paths[0]).parents[1]}: shingle tables out of doc order")
        return ShingleSets(d.astype(np.int32), offsets, flat)


# --------------------------------------------------------------------------- verify tasks


def split_buckets(bk: Buckets, docs: np.ndarray, counts: np.ndarray, budget: int
                  ) -> list[tuple[int, int]]:
    """Cut the buckets into runs of at most `budget` member shingles (plus one bucket each).

    `docs`/`counts`: every candidate doc (ascending) and its shingle count. A bucket goes to the
    run its first member shingle falls in, so a run exceeds the budget by at most its last bucket.
    """
    if not bk.n_buckets:
        return []
    cost = counts[np.searchsorted(docs, bk.members)].astype(np.int64)
    per_bucket = np.add.reduceat(cost, bk.bounds[:-1]) if len(cost) else np.zeros(0, np.int64)
    start = np.concatenate([[0], np.cumsum(per_bucket)[:-1]])
    run = start // budget
    cut = np.flatnonzero(np.diff(run)) + 1
    lo = np.concatenate([[0], cut])
    hi = np.append(cut, bk.n_buckets)
    return list(zip(lo.tolist(), hi.tolist()))
