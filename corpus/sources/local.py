"""Local sources: a directory of `.txt`, `.jsonl`, `.jsonl.zst` or `.parquet` files.

Files are found recursively and read in the order of their relative paths, so ids and parts
do not depend on the file system's listing order. A `.txt` file is one document; every line
of a JSON-lines file and every row of a Parquet file is one document, with the text under
`text_field` and the other fields as its meta. Ids: `local.<name>/<relative/path>:<n:09d>`
with `n` the 1-based line (JSON lines), row (Parquet) or 1 (a `.txt` file).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.sources.jsonl import iter_lines, parse_field_line
from corpus.sources.records import BadLine, Doc, Malformed

SUFFIXES = (".txt", ".jsonl", ".jsonl.zst", ".parquet")


class LocalSourceError(ValueError):
    """A local source that cannot be read at all (missing directory, no usable files)."""


def source_name(cfg) -> str:
    """`local.<name>` for a `LocalSourceConfig`."""
    return f"local.{cfg.name}"


def list_files(root: Path | str) -> list[Path]:
    """The source's files (by suffix), sorted by relative path; an error if there are none."""
    root = Path(root)
    if not root.is_dir():
        raise LocalSourceError(f"local source directory {root} does not exist (fetch.local[].path)")
    files = sorted(
        (p for p in root.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES)),
        key=lambda p: p.relative_to(root).as_posix(),
    )
    if not files:
        raise LocalSourceError(
            f"local source directory {root} holds no {', '.join(SUFFIXES)} files; "
            "point fetch.local[].path at a folder of those"
        )
    return files


def inventory(root: Path | str) -> list[dict]:
    """Relative path, size and modification time of every file (recorded by the fetch stage)."""
    root = Path(root)
    out = []
    for p in list_files(root):
        st = p.stat()
        out.append({"path": p.relative_to(root).as_posix(), "bytes": st.st_size,
                    "mtime_ns": st.st_mtime_ns})
    return out


def doc_id(source: str, rel: str, n: int) -> str:
    return f"{source}/{rel}:{n:09d}"


def _txt(path: Path, rel: str, source: str) -> Iterator[Doc | Malformed]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        yield Malformed(rel, None, "invalid_utf8", f"byte 0x{raw[e.start]:02x} at offset {e.start}")
        return
    yield Doc(doc_id(source, rel, 1), text.removeprefix("\ufeff"), {"path": rel}, rel)


def _jsonl(path: Path, rel: str, source: str, text_field: str) -> Iterator[Doc | Malformed]:
    for line, raw in iter_lines(path):
        try:
            text, meta = parse_field_line(raw, text_field)
        except BadLine as e:
            yield Malformed(f"{rel}:{line}", line, e.reason, e.detail)
            continue
        yield Doc(doc_id(source, rel, line), text, {"path": rel, **meta}, f"{rel}:{line}", line)


def _parquet(path: Path, rel: str, source: str, text_field: str) -> Iterator[Doc | Malformed]:
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        yield Malformed(rel, None, "unreadable_file", str(e))
        return
    if text_field not in pf.schema_arrow.names:
        yield Malformed(rel, None, "no_text_column",
                        f"no column {text_field!r} (columns: {pf.schema_arrow.names})")
        return
    row = 0
    for batch in pf.iter_batches(batch_size=1024):
        for record in batch.to_pylist():
            row += 1
            text = record.pop(text_field)
            if not isinstance(text, str):
                yield Malformed(f"{rel}:{row}", row, "no_text", f"{text_field!r} is {text!r:.40}")
                continue
            # Round-trip through JSON so dates and decimals become plain values.
            meta = json.loads(json.dumps(record, default=str))
            yield Doc(doc_id(source, rel, row), text, {"path": rel, **meta}, f"{rel}:{row}", row)


def iter_docs(root: Path | str, source: str, text_field: str = "text") -> Iterator[Doc | Malformed]:
    """A `Doc` or `Malformed` for every document of every file under `root`, in order."""
    root = Path(root)
    for path in list_files(root):
        rel = path.relative_to(root).as_posix()
        if path.name.endswith(".txt"):
            yield from _txt(path, rel, source)
        elif path.name.endswith(".parquet"):
            yield from _parquet(path, rel, source, text_field)
        else:
            yield from _jsonl(path, rel, source, text_field)
