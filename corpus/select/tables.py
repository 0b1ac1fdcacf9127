"""The corpus stage's side tables: where they live under `corpus/` and what their rows hold.

`_select/<source>/<part>` (`id, chars, label, reason, label_stale`: the quality decision, null =
passes; `label_stale`: cleaning changed the document, so its label was set aside),
`_select/<source>/duplicates.parquet` (documents that lost their cluster), `_select/
top_clusters.json` (the largest clusters, for the report), and `_decisions/<source>/<part>`
(`id, chars, label, reason, copies`: every document's one bucket, null reason = in the corpus).
The report reads these; the `reports/` folder is the report's and no output of the stage.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from kuznia.counts import Counts

SELECT_DIR = "_select"
DECISIONS_DIR = "_decisions"
REPORTS_DIR = "reports"
DUPLICATES_FILE = "duplicates.parquet"
TOP_CLUSTERS_FILE = "top_clusters.json"

DUPLICATE = "duplicate"  # a document that lost the keep-one-per-cluster rule
DOWNSAMPLED = "downsampled"  # a document a source weight < 1 left out

SELECT_SCHEMA = pa.schema([("id", pa.string()), ("chars", pa.int64()), ("label", pa.string()),
                           ("reason", pa.string()), ("label_stale", pa.bool_())])
DECISION_SCHEMA = pa.schema([("id", pa.string()), ("chars", pa.int64()), ("label", pa.string()),
                             ("reason", pa.string()), ("copies", pa.int32())])


def reason_counts(reasons: pa.Array, chars: pa.Array) -> Counts:
    """`{reason: {docs, chars}}` per non-null reason (one group-by, no per-row Python)."""
    t = pa.table({"reason": reasons, "chars": chars}).filter(pc.is_valid(reasons))
    g = t.group_by("reason").aggregate([("chars", "count"), ("chars", "sum")])
    return Counts({r: {"docs": d, "chars": c} for r, d, c in zip(
        g.column("reason").to_pylist(), g.column("chars_count").to_pylist(), g.column("chars_sum").to_pylist())})
