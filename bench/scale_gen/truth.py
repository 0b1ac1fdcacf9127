"""The ground truth: one row per planted document, keyed by the id the docs stage will give it.

Ids: `speakleash.<dataset>/<line:09d>` (the 1-based line of the decompressed `.jsonl`, malformed
lines counted, as `corpus.sources.speakleash.doc_id`) and `wikipedia/<page_id:010d>`
(`corpus.sources.wikipedia.doc_id`). Kinds and their columns:

| kind | columns |
|---|---|
| `exact_dup` | `dup_of` (the original's id, always smaller), `cross` (original in another dataset) |
| `near_dup` | `dup_of`, `cross`, `jaccard` (word-5-gram Jaccard of the contents, as the dedup stage shingles), `jaccard_raw` (of the full texts, page chrome included), `target_jaccard` |
| `foreign` | `lang` |
| `mojibake` | `encoding`, `layers`, `scope`, `garbled_words` (JSON: up to 12 [original, garbled] word pairs) |
| `malformed` | `problem`, `docs_reason` (what the docs stage counts it as: `dropped_malformed_<reason>`) |

Every row has `source` (`speakleash.<dataset>` or `wikipedia`) and `chars` (the text's
characters as written; 0 for a malformed line).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TRUTH_FILE = "truth.parquet"
KINDS = ("exact_dup", "near_dup", "foreign", "mojibake", "malformed")

SCHEMA = pa.schema([
    ("id", pa.string()), ("source", pa.string()), ("kind", pa.string()), ("chars", pa.int64()),
    ("dup_of", pa.string()), ("cross", pa.bool_()), ("jaccard", pa.float64()), ("jaccard_raw", pa.float64()),
    ("target_jaccard", pa.float64()), ("lang", pa.string()), ("encoding", pa.string()), ("layers", pa.int32()),
    ("scope", pa.string()), ("garbled_words", pa.string()), ("problem", pa.string()), ("docs_reason", pa.string()),
])


def write_truth(rows: list[dict], path: Path) -> None:
    """The rows, sorted by id, as Parquet (zstd; no timestamps, so the bytes repeat)."""
    rows = sorted(rows, key=lambda r: r["id"])
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    pq.write_table(table, path, compression="zstd", row_group_size=65536)


def read_truth(path: Path) -> pa.Table:
    """The truth table written by `write_truth`."""
    return pq.read_table(path)
