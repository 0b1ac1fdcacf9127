"""Document parts on disk: Parquet files of (id, source, text, meta) and side tables keyed by id.

Every stage that writes documents writes `<stage>/<source>/part-NNNNN.parquet` through
`write_table`, so that files are zstd-compressed, written to a temp name and renamed, and
byte-identical for identical rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kuznia.files import atomic_path

DOC_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("text", pa.large_string(), nullable=False),
        pa.field("meta", pa.string(), nullable=False),  # JSON object as published by the source
    ]
)

PART_GLOB = "part-*.parquet"


def part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def write_table(path: Path | str, table: pa.Table, *, row_group_rows: int = 8192) -> Path:
    """Write a Parquet table atomically (zstd, fixed row groups; the Arrow schema is stored so
    `large_string` columns read back as such)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            row_group_size=row_group_rows,
            write_statistics=True,
        )
    return path


def write_docs(path: Path | str, rows: dict[str, list]) -> Path:
    """Write a docs part from columns `id, source, text, meta` (lists of equal length)."""
    return write_table(path, pa.table({k: rows[k] for k in DOC_SCHEMA.names}, schema=DOC_SCHEMA))


def read_table(path: Path | str, columns: list[str] | None = None) -> pa.Table:
    return pq.read_table(path, columns=columns)


def list_sources(stage_dir: Path) -> list[str]:
    """Source folders under a stage folder, sorted: folders that hold parts (bookkeeping folders
    start with `_`; a folder without parts, such as the corpus's `reports/`, is no source)."""
    if not stage_dir.exists():
        return []
    return sorted(p.name for p in stage_dir.iterdir()
                  if p.is_dir() and not p.name.startswith(("_", ".")) and any(p.glob(PART_GLOB)))


def list_parts(stage_dir: Path, source: str | None = None) -> list[Path]:
    """All parts under a stage folder (or one source's), in a deterministic order."""
    sources = [source] if source else list_sources(stage_dir)
    return [p for s in sources for p in sorted((stage_dir / s).glob(PART_GLOB))]


def iter_batches(path: Path | str, columns: list[str] | None = None, batch_rows: int = 4096
                 ) -> Iterator[pa.RecordBatch]:
    """Stream a Parquet file in record batches (memory bounded by the batch, not the part)."""
    yield from pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns)
