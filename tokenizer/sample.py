"""A seeded sample of the corpus for tokenizer training, and the held-out documents beside it.

The unit read from disk is a Parquet row group (thousands of documents), so a 1 GB sample of a
300 GB corpus reads a few GB, not the corpus. Each row group and each document gets a uniform
number in [0, 1) from a seeded hash (of its place, of its id):

- a row group is read if `u_group < group_rate`;
- a document in a read row group is in the training sample if `u_doc < doc_rate`;
- a document with `u_doc >= 1 - heldout_fraction` is held out (never trained on, in any row
  group) and is what fertility is measured on.

`group_rate * doc_rate` is the sampling rate, `sample_bytes / corpus_bytes`; `group_rate` is
`READ_FACTOR` times that, so documents come from many row groups rather than a few whole ones.
Corpus bytes are read from the Parquet footers (the text column's uncompressed size), so
planning never reads text. Everything is a pure function of the corpus files and the seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import xxhash

from kuznia.parts import list_parts, list_sources, parquet_file

READ_FACTOR = 8  # read this many times the sample's bytes, so each row group gives 1/8 of its docs
_TWO_64 = float(1 << 64)


def unit_hash(seed: int, *parts: object) -> float:
    """A uniform number in [0, 1) from the seed and the parts (xxh64 of their joined text)."""
    key = "\x1f".join([str(seed), *map(str, parts)])
    return xxhash.xxh64_intdigest(key.encode("utf-8")) / _TWO_64


@dataclass(frozen=True)
class RowGroup:
    """One row group of one corpus part, with its rows and its text's uncompressed bytes."""

    source: str
    path: str  # relative to the corpus folder
    index: int
    rows: int
    text_bytes: int


def corpus_row_groups(corpus_dir: Path) -> list[RowGroup]:
    """Every row group of every corpus part, in part order, from the Parquet footers only."""
    groups = []
    for part in list_parts(corpus_dir):
        meta = parquet_file(part).metadata
        names = [meta.schema.column(i).name for i in range(meta.num_columns)]
        if "text" not in names:
            raise ValueError(f"{part} has no 'text' column (columns: {names}); "
                             "is it a corpus part? re-run `kuznia stage corpus`")
        col = names.index("text")
        for i in range(meta.num_row_groups):
            rg = meta.row_group(i)
            groups.append(RowGroup(part.parent.name, part.relative_to(corpus_dir).as_posix(), i,
                                   rg.num_rows, rg.column(col).total_uncompressed_size))
    return groups


def plan_sample(corpus_dir: Path, *, sample_bytes: int, heldout_fraction: float, seed: int) -> dict:
    """The sampling rates for a corpus (a small JSON-able dict, stored in the manifest)."""
    groups = corpus_row_groups(corpus_dir)
    total = sum(g.text_bytes for g in groups)
    if not groups or total == 0:
        raise ValueError(f"{corpus_dir} holds no corpus text (no part-*.parquet rows); "
                         "run `kuznia stage corpus` first and check its report")
    rate = min(1.0, sample_bytes / total)
    group_rate = min(1.0, rate * READ_FACTOR)
    doc_rate = min(1.0 - heldout_fraction, rate / group_rate)
    return {
        "seed": seed,
        "corpus_text_bytes_estimate": total,
        "row_groups": len(groups),
        "rate": rate,
        "group_rate": group_rate,
        "doc_rate": doc_rate,
        "heldout_fraction": heldout_fraction,
        "sources": list_sources(corpus_dir),
    }


def _read_group(corpus_dir: Path, g: RowGroup) -> tuple[list[str], list[str]]:
    table = parquet_file(corpus_dir / g.path).read_row_group(g.index, columns=["id", "text"])
    return table.column("id").to_pylist(), table.column("text").to_pylist()


def iter_training_texts(corpus_dir: Path, plan: dict) -> Iterator[list[str]]:
    """The training sample, one list of texts per row group read (memory: one row group)."""
    seed, doc_rate = plan["seed"], plan["doc_rate"]
    for g in corpus_row_groups(corpus_dir):
        if unit_hash(seed, "group", g.path, g.index) >= plan["group_rate"]:
            continue
        ids, texts = _read_group(corpus_dir, g)
        chosen = [t for i, t in zip(ids, texts) if unit_hash(seed, "doc", i) < doc_rate]
        if chosen:
            yield chosen


def iter_heldout_texts(corpus_dir: Path, plan: dict, source: str, max_bytes: int) -> Iterator[str]:
    """Held-out texts of one source, row groups in hash order, until `max_bytes` UTF-8 bytes.

    Row groups are visited by their hash rather than the training filter, so every source has
    held-out documents even when the training sample skipped all its row groups.
    """
    seed, cut = plan["seed"], 1.0 - plan["heldout_fraction"]
    groups = [g for g in corpus_row_groups(corpus_dir) if g.source == source]
    groups.sort(key=lambda g: (unit_hash(seed, "group", g.path, g.index), g.path, g.index))
    taken = 0
    for g in groups:
        ids, texts = _read_group(corpus_dir, g)
        for i, t in zip(ids, texts):
            if unit_hash(seed, "doc", i) >= cut:
                yield t
                taken += len(t.encode("utf-8"))
                if taken >= max_bytes:
                    return
