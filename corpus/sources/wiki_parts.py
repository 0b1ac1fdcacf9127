"""The docs stage's Wikipedia parts: parse tasks write pieces, `pack` cuts them into parts
exactly where one task reading the whole dump would.

One task reading a dump closes a part once its text reaches `docs.part_bytes` UTF-8 bytes
(`records.PartWriter`'s rule), so where a part ends depends on every document before it, and
tasks over byte ranges of a multistream dump cannot write the final parts themselves. So
every parse task of a Wikipedia source (one for the plain dump, one per byte range of the
multistream dump) writes its documents, in dump order and after the same rules (empty and
too-long ones counted and left out), as one *piece*:
`_wiki_pieces/<source>/NNNNN-of-MMMMM.parquet`, with each text's byte length. The `pack`
phase is planned from those lengths alone: part `k` gets the slices of pieces the rule gives
it. The parts are then byte-identical for either dump and whatever `docs.wiki_task_bytes`
is, for one more read and write of the text (well under 1 % of parsing it), and only `pack`
tasks ever write parts, so switching dumps never has two phases own one file.

Pieces stay on disk: a re-run reuses every parse task whose range did not change. They are
not outputs of the stage (`DOCS.not_outputs`), so the stage's content, which the stages
downstream are fingerprinted on, is its parts alone, the same for either dump.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from corpus.sources import wiki_streams
from corpus.sources.records import PartWriter, ReadLog
from kuznia.files import atomic_path
from kuznia.parts import DOC_SCHEMA, ZSTD_LEVEL, part_name, read_table, write_docs
from kuznia.stage import StageContext, read_manifest

PIECES_DIR = "_wiki_pieces"
BATCH_BYTES = 8 << 20  # text buffered by a parse task before it goes into its piece
PIECE_SCHEMA = DOC_SCHEMA.append(pa.field("text_bytes", pa.int64(), nullable=False))
_PIECE_NAME = re.compile(r"^(\d{5})-of-(\d{5})\.parquet$")


def piece_name(i: int, n: int) -> str:
    """`NNNNN-of-MMMMM.parquet`: piece `i` of a source's `n` (so a missing one is seen)."""
    return f"{i:05d}-of-{n:05d}.parquet"


def parse_tasks(raw: Path, source: str, rec: dict, task_bytes: int) -> list[dict]:
    """The plain dump: one parse task. The multistream dump: one per run of whole streams of
    about `task_bytes` compressed bytes; an index that does not fit its dump gives one task
    that fails with the reason (so `docs.on_error: skip` can record the source as failed)."""
    path, index = rec["files"][0]["path"], rec.get("index")
    base = {"source": source, "kind": "wikipedia", "path": path, "wiki": rec["wiki"]}
    if not index:
        return [{**base, "id": source, "piece": piece_name(0, 1)}]
    try:
        file_bytes = (raw / path).stat().st_size
        streams = wiki_streams.read_index(raw / index)
        ranges = wiki_streams.plan_ranges(streams, file_bytes, task_bytes, where=str(raw / path))
    except (OSError, EOFError, wiki_streams.StreamIndexError) as e:
        return [{**base, "id": source, "error": f"{raw / index}: {type(e).__name__}: {e}"}]
    n = len(ranges)
    return [{**base, **r, "id": f"{source}#{i:05d}", "file_bytes": file_bytes, "piece": piece_name(i, n)}
            for i, r in enumerate(ranges)]


class PieceWriter(PartWriter):
    """A parse task's documents, kept by a part's rules, written as one piece a batch of rows
    at a time (memory bounded by the batch, for the plain dump's one task too). Use it as a
    context manager: the piece is renamed into place when the block ends without error, and
    is written even when empty (the pack plan checks that every piece is there)."""

    def __init__(self, path: Path, source: str, *, max_doc_chars: int, stats: ReadLog):
        super().__init__(path.parent, source, part_bytes=BATCH_BYTES, max_doc_chars=max_doc_chars, stats=stats)
        self.path = path
        self._files = contextlib.ExitStack()
        self._writer: pq.ParquetWriter | None = None

    def flush(self) -> None:
        """Write the buffered rows (`PartWriter.add` calls it every `BATCH_BYTES` of text)."""
        if self._writer is None:
            tmp = self._files.enter_context(atomic_path(self.path))
            self._writer = self._files.enter_context(pq.ParquetWriter(tmp, PIECE_SCHEMA, compression="zstd", compression_level=ZSTD_LEVEL))
        rows = self._rows
        if rows["id"]:
            sizes = [len(t.encode("utf-8")) for t in rows["text"]]
            self._writer.write_table(pa.table({**rows, "text_bytes": sizes}, schema=PIECE_SCHEMA))
        self._rows = {k: [] for k in rows}
        self._bytes = 0

    def __enter__(self) -> PieceWriter:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.flush()
        self._files.__exit__(*exc)


def _wiki_sources(ctx: StageContext) -> list[str]:
    fetched = (read_manifest(ctx.upstream_dir("fetch")) or {}).get("sources", {})
    return sorted(s for s, r in fetched.items() if r.get("kind") == "wikipedia")


def _complete_pieces(folder: Path) -> list[str] | None:
    """The pieces `00000-of-N … N-1-of-N`, in order, when all of them are there."""
    found = {}
    for p in folder.glob("*.parquet") if folder.is_dir() else []:
        m = _PIECE_NAME.match(p.name)
        if m:
            found.setdefault(int(m.group(2)), set()).add(int(m.group(1)))
    complete = [n for n, have in found.items() if have == set(range(n))]
    return [piece_name(i, complete[0]) for i in range(complete[0])] if len(complete) == 1 else None


def cut_parts(sizes: np.ndarray, part_bytes: int) -> list[tuple[int, int]]:
    """`[start, stop)` rows of each part: `records.PartWriter`'s rule (a part closes once its
    text reaches `part_bytes`), over the kept documents' text bytes in dump order."""
    cum = np.cumsum(sizes, dtype=np.int64)
    out, start, before = [], 0, 0
    while start < len(sizes):
        last = int(np.searchsorted(cum, before + part_bytes, side="left"))  # first row reaching it
        stop = min(last + 1, len(sizes))
        out.append((start, stop))
        start, before = stop, int(cum[stop - 1])
    return out


def _slices(bounds: np.ndarray, pieces: list[str], start: int, stop: int) -> list[list]:
    """`[piece, row_start, row_stop]` for global rows `[start, stop)`; `bounds[i]` is where
    piece `i` starts."""
    out = []
    for i, name in enumerate(pieces):
        a, b = max(start, int(bounds[i])), min(stop, int(bounds[i + 1]))
        if a < b:
            out.append([name, a - int(bounds[i]), b - int(bounds[i])])
    return out


def plan_pack(ctx: StageContext) -> list[dict]:
    """One task per part of each Wikipedia source whose pieces are all there (a source with a
    failed parse task has none: `finish` records it as failed)."""
    tasks = []
    for source in _wiki_sources(ctx):
        folder = ctx.dir / PIECES_DIR / source
        pieces = _complete_pieces(folder)
        if pieces is None:
            continue
        counts = [read_table(folder / p, columns=["text_bytes"]).column("text_bytes").to_numpy() for p in pieces]
        bounds = np.cumsum([0, *(len(c) for c in counts)])
        sizes = np.concatenate(counts) if counts else np.zeros(0, np.int64)
        for k, (start, stop) in enumerate(cut_parts(sizes, ctx.cfg.docs.part_bytes)):
            tasks.append({"id": f"{source}/{part_name(k)}", "source": source, "part": k,
                          "slices": _slices(bounds, pieces, start, stop)})
    return tasks


def pack_inputs(ctx: StageContext, task: dict) -> list[Path]:
    """The pieces a pack task reads."""
    return [ctx.dir / PIECES_DIR / task["source"] / name for name, _, _ in task["slices"]]


def pack(ctx: StageContext, task: dict) -> dict:
    """Write one part from its slices of pieces (as `PartWriter` writes it: the same bytes)."""
    source = task["source"]
    rows: dict[str, list] = {k: [] for k in DOC_SCHEMA.names}
    for name, a, b in task["slices"]:
        table = read_table(ctx.dir / PIECES_DIR / source / name, columns=DOC_SCHEMA.names).slice(a, b - a)
        for k in DOC_SCHEMA.names:
            rows[k].extend(table.column(k).to_pylist())
    name = part_name(task["part"])
    write_docs(ctx.dir / source / name, rows)
    return {"source": source, "parts": [name], "counts": {}, "problems": [], "n_problems": 0}
