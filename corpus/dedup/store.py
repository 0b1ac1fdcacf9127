"""The signature parts written by the `signatures` phase, read one column or a few rows at a time.

`dedup/signatures/<source>/part-NNNNN.parquet` mirrors `clean/<source>/part-NNNNN.parquet` row
for row: `id`, `chars`, `words`, `exact` (16-byte key), `sig` (the MinHash values, fixed-size
binary) and one uint64 column per LSH band, `band_00`, `band_01`, ... Later phases number the
documents 0..n-1 in (source, part, row) order (`doc` indices, int32), so they never hold ids:
a band task reads one uint64 column of every part (8 bytes per document), and the rows needed to
verify a pair or to name a cluster's documents are read from the row groups that hold them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from kuznia.parts import list_parts, parquet_file, read_table

SIGNATURES = "signatures"
MAX_DOCS = 2**31 - 1  # doc indices are int32


def band_column(band: int) -> str:
    return f"band_{band:02d}"


def fixed_binary_to_numpy(arr: pa.Array | pa.ChunkedArray, dtype: type, width: int) -> np.ndarray:
    """A fixed_size_binary column -> (len, width) array of `dtype` (no copy for one chunk)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    raw = np.frombuffer(arr.buffers()[1], dtype=dtype)
    start = arr.offset * width
    return raw[start : start + len(arr) * width].reshape(len(arr), width)


@dataclass
class SignatureParts:
    """The signature parts of a dedup folder, in doc-index order, with their row counts."""

    paths: list[Path]
    sources: list[str]
    offsets: np.ndarray  # int64 (n_parts + 1,): part k holds docs offsets[k]:offsets[k+1]

    @classmethod
    def open(cls, dedup_dir: Path) -> SignatureParts:
        root = Path(dedup_dir) / SIGNATURES
        paths = list_parts(root)
        rows = [parquet_file(p).metadata.num_rows for p in paths]
        offsets = np.zeros(len(paths) + 1, dtype=np.int64)
        np.cumsum(rows, out=offsets[1:])
        if offsets[-1] > MAX_DOCS:
            raise ValueError(f"{root}: {offsets[-1]} documents exceed the int32 doc index of dedup")
        return cls(paths, [p.parent.name for p in paths], offsets)

    @property
    def n_docs(self) -> int:
        return int(self.offsets[-1])

    def source_codes(self) -> tuple[list[str], np.ndarray]:
        """Sorted source names and, per doc, the index of its source in that list (int16)."""
        names = sorted(set(self.sources))
        code = {s: i for i, s in enumerate(names)}
        per_doc = np.repeat(np.array([code[s] for s in self.sources], dtype=np.int16),
                            np.diff(self.offsets))
        return names, per_doc

    def read_column(self, column: str, dtype: type) -> np.ndarray:
        """One scalar column of every part, concatenated (memory: one value per document)."""
        out = np.empty(self.n_docs, dtype=dtype)
        for k, path in enumerate(self.paths):
            col = read_table(path, columns=[column]).column(0)
            out[self.offsets[k] : self.offsets[k + 1]] = col.to_numpy()
        return out

    def read_fixed(self, column: str, dtype: type, width: int) -> np.ndarray:
        """A fixed_size_binary column of every part as an (n_docs, width) array."""
        out = np.empty((self.n_docs, width), dtype=dtype)
        for k, path in enumerate(self.paths):
            col = read_table(path, columns=[column]).column(0)
            out[self.offsets[k] : self.offsets[k + 1]] = fixed_binary_to_numpy(col, dtype, width)
        return out

    def read_rows(self, docs: np.ndarray, column: str) -> pa.Array:
        """Column values of the given docs (sorted, unique doc indices), reading only their row groups."""
        pieces = []
        for k, path in enumerate(self.paths):
            lo, hi = np.searchsorted(docs, [self.offsets[k], self.offsets[k + 1]])
            if lo == hi:
                continue
            local = docs[lo:hi] - self.offsets[k]
            pf = parquet_file(path)
            rg_rows = [pf.metadata.row_group(g).num_rows for g in range(pf.num_row_groups)]
            rg_start = np.concatenate([[0], np.cumsum(rg_rows)])
            rg_of = np.searchsorted(rg_start, local, side="right") - 1
            for g in np.unique(rg_of):
                col = pf.read_row_group(int(g), columns=[column]).column(0)
                pieces.append(col.take(pa.array(local[rg_of == g] - rg_start[g])))
        if not pieces:
            return pa.array([], type=pa.string())
        return pa.chunked_array(pieces).combine_chunks()
