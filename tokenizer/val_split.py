"""Val documents for every source: the `tokens.val_min_docs` floor on the hash draw.

A document goes to val when a seeded hash of its id falls below `val_fraction`. A small source
may draw none (the demo's 4-document source at 2 %), and then nothing says how well the model
learns it. For such a source the val cut is raised to its `val_min_docs`-th smallest hash, so
those documents go to val too (always leaving one in train). Only sources that could draw too few
are read: one with `n * val_fraction >= SURE_EXPECTED` expected val documents has a chance of
`exp(-64)` of drawing none, so its ids are never read and its split is the draw's alone.
"""

from __future__ import annotations

from pathlib import Path

from kuznia.parts import parquet_file, read_table
from tokenizer.sample import unit_hash

SURE_EXPECTED = 64  # expected val documents above which a source is left to the draw


def val_cuts(corpus_dir: Path, parts_by_source: dict[str, list[str]], *, seed: int, val_fraction: float,
             min_docs: int) -> dict[str, float]:
    """`{source: cut}` for the sources the draw leaves with fewer than `min_docs` val documents:
    their documents whose hash is at most `cut` go to val (`split_hash <= cut`)."""
    cuts: dict[str, float] = {}
    if min_docs <= 0 or val_fraction <= 0:  # no floor, or no val split wanted at all
        return cuts
    for source, rels in sorted(parts_by_source.items()):
        paths = [Path(corpus_dir) / rel for rel in rels]
        n_docs = sum(parquet_file(p).metadata.num_rows for p in paths)
        want = min(min_docs, n_docs - 1)  # one document stays in train
        if want <= 0 or n_docs * val_fraction >= SURE_EXPECTED:
            continue
        hashes = sorted(split_hash(seed, doc_id) for p in paths
                        for doc_id in read_table(p, columns=["id"]).column("id").to_pylist())
        if sum(h < val_fraction for h in hashes) < want:
            cuts[source] = hashes[want - 1]
    return cuts


def split_hash(seed: int, doc_id: str) -> float:
    """The uniform number in [0, 1) that puts a document in val (below `val_fraction`)."""
    return unit_hash(seed, "val", doc_id)
