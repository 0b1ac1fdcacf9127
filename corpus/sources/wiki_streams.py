"""The `pages-articles-multistream` dump: its index, byte ranges of whole bz2 streams, and the
pages of one range read as a dump of their own.

The layout dumps.wikimedia.org writes (and `write_multistream` below makes): the dump is bz2
streams one after another. The first holds `<mediawiki …>` and `<siteinfo>` (the namespaces),
each next one up to 100 whole `<page>` elements, the last `</mediawiki>`. The index
(`…-pages-articles-multistream-index.txt.bz2`) has one line per page, in dump order,
`byte_offset:page_id:title`, the offset being where the stream holding that page starts.

A bz2 stream decompresses without the ones before it, so a byte range made of whole streams
is read on its own: its decompressed pages between the dump's own header (decompressed from
byte 0) and a closing `</mediawiki>` are a well-formed export that mwxml reads like the whole
dump. `read_index` keeps only one entry per stream (offset, pages), so a 4.5 M-line index is
planned with bounded memory.
"""

from __future__ import annotations

import bz2
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import unescape

import numpy as np

CHUNK_BYTES = 1 << 20
INDEX_BLOCK_BYTES = 16 << 20  # decompressed index bytes parsed at a time
FOOTER = b"</mediawiki>\n"
MAX_HEADER_BYTES = 16 << 20  # a siteinfo is a few kB; a dump without <page> must not fill memory
_OFFSET = re.compile(rb"(?m)^(\d+):")


class StreamIndexError(ValueError):
    """An index that does not describe its dump; the message names the file and the line."""


@dataclass(frozen=True)
class Streams:
    """The dump's page streams: where each starts (bytes) and how many pages it holds."""

    offsets: np.ndarray  # int64, strictly increasing
    pages: np.ndarray  # int64, >= 1 each

    def __len__(self) -> int:
        return len(self.offsets)


def _bad_line(path: Path, block: bytes, first_line: int) -> StreamIndexError:
    for n, line in enumerate(block.split(b"\n"), start=first_line):
        if line and not _OFFSET.match(line):
            return StreamIndexError(f"{path}: line {n} is not `offset:page_id:title`: {line[:80]!r}")
    return StreamIndexError(f"{path}: a line near line {first_line} is not `offset:page_id:title`")


def _block_offsets(path: Path, block: bytes, first_line: int) -> np.ndarray:
    """The offsets of the complete lines in `block` (checked: every line has one)."""
    found = _OFFSET.findall(block)
    if len(found) != block.count(b"\n"):
        raise _bad_line(path, block, first_line)
    return np.array(found).astype(np.int64) if found else np.zeros(0, np.int64)


def read_index(path: Path) -> Streams:
    """The streams of a multistream dump, from its index (one entry per distinct offset)."""
    path = Path(path)
    offsets: list[np.ndarray] = []
    pages: list[np.ndarray] = []
    line, rest = 1, b""
    with bz2.open(path, "rb") as f:
        while True:
            data = f.read(INDEX_BLOCK_BYTES)
            block = rest + data
            if not data and block and not block.endswith(b"\n"):
                block += b"\n"  # the last line may lack its newline
            cut = block.rfind(b"\n") + 1
            block, rest = block[:cut], block[cut:]
            offs = _block_offsets(path, block, line)
            line += len(offs)
            if len(offs):
                starts = np.flatnonzero(np.diff(offs, prepend=-1))
                counts = np.diff(np.append(starts, len(offs)))
                offsets.append(offs[starts])
                pages.append(counts)
            if not data:
                break
    if not offsets:
        raise StreamIndexError(f"{path} lists no pages")
    offs, counts = np.concatenate(offsets), np.concatenate(pages)
    # A stream that straddles two blocks appears twice: merge the runs.
    same = np.flatnonzero(np.diff(offs) == 0) + 1
    if len(same):
        keep = np.ones(len(offs), bool)
        keep[same] = False
        groups = np.cumsum(keep) - 1
        counts = np.bincount(groups, weights=counts).astype(np.int64)
        offs = offs[keep]
    back = np.flatnonzero(np.diff(offs) < 0)
    if len(back):
        raise StreamIndexError(f"{path}: offsets go backwards ({offs[back[0]]} then {offs[back[0] + 1]}); "
                               "the index lists pages in dump order")
    return Streams(offs, counts)


def plan_ranges(streams: Streams, file_bytes: int, range_bytes: int, where: str = "the dump") -> list[dict]:
    """Contiguous runs of whole streams of about `range_bytes` compressed bytes each:
    `{start, end, first_page, pages, header_end}` (bytes `[start, end)`, page ordinals from 1;
    the header's stream ends at `header_end`: where the first page stream starts, or where it
    ends when the header shares it). The first range starts at byte 0 (the header) and the last
    ends at the end of the file (the footer)."""
    if streams.offsets[0] < 0 or streams.offsets[-1] >= file_bytes:
        raise StreamIndexError(f"{where}: the index points at byte {int(streams.offsets[-1])}, "
                               f"but the dump has {file_bytes} bytes; it is not this dump's index")
    ends = np.append(streams.offsets[1:], file_bytes)
    head = int(streams.offsets[0]) or int(ends[0])
    ranges: list[dict] = []
    start, first_page, pages = 0, 1, 0
    for i in range(len(streams)):
        pages += int(streams.pages[i])
        end = int(ends[i])
        if end - start >= range_bytes or i == len(streams) - 1:
            ranges.append({"start": start, "end": end, "first_page": first_page, "pages": pages,
                           "header_end": head})
            start, first_page, pages = end, first_page + pages, 0
    return ranges


# --------------------------------------------------------------------------- reading


def iter_decompressed(path: Path, start: int, end: int) -> Iterator[bytes]:
    """The decompressed bytes of the whole bz2 streams in bytes `[start, end)` of `path`."""
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        dec, pending = bz2.BZ2Decompressor(), False
        while left > 0:
            data = f.read(min(CHUNK_BYTES, left))
            if not data:
                raise EOFError(f"{path} ends at byte {end - left}, before byte {end} (truncated?)")
            left -= len(data)
            while data:
                out = dec.decompress(data)
                if out:
                    yield out
                if dec.eof:  # a stream ended inside this chunk: the next starts right after it
                    data, dec, pending = dec.unused_data, bz2.BZ2Decompressor(), False
                else:
                    data, pending = b"", True
        if pending:
            raise EOFError(f"{path}: bytes {start}-{end} end inside a bz2 stream; the index "
                           "offsets are not stream starts, or the file is cut short")


def read_header(path: Path, header_end: int) -> bytes:
    """The export's opening, `<mediawiki …>` and `<siteinfo>`: what comes before the first
    `<page>` in the streams of bytes `[0, header_end)` (the header's own stream, in dumps that
    give it one)."""
    got = b"".join(iter_decompressed(path, 0, header_end))
    at = got.find(b"<page>")
    if at >= 0:
        got = got[: got.rfind(b"\n", 0, at) + 1]
    if b"<mediawiki" not in got[:4096] or b"<siteinfo>" not in got:
        raise StreamIndexError(f"{path} does not start with a MediaWiki export header (<mediawiki>, <siteinfo>)")
    return got


class _ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of byte chunks (what XML parsers read from)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._buf = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buf = memoryview(chunk)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def open_range(path: Path, start: int, end: int, file_bytes: int, header_end: int) -> io.BufferedReader:
    """Bytes `[start, end)` of a multistream dump as a standalone export: the header (bytes
    `[0, header_end)`) before them unless they start at byte 0, `</mediawiki>` after unless
    they reach the end of the file."""
    def chunks() -> Iterator[bytes]:
        if start > 0:
            yield read_header(path, header_end)
        yield from iter_decompressed(path, start, end)
        if end < file_bytes:
            yield FOOTER
    return io.BufferedReader(_ChunkReader(chunks()), buffer_size=CHUNK_BYTES)


# --------------------------------------------------------------------------- writing


_PAGE_ID = re.compile(rb"<id>(\d+)</id>")
_TITLE = re.compile(rb"<title>(.*?)</title>", re.DOTALL)


def write_multistream(xml: bytes, pages_per_stream: int = 100, level: int = 9) -> tuple[bytes, bytes]:
    """(dump, index) in the multistream layout for an export's XML (for mirrors: the demo data,
    benchmarks). Deterministic: bz2 writes no timestamp."""
    starts = [xml.rfind(b"\n", 0, m.start()) + 1 for m in re.finditer(rb"<page>", xml)]
    if not starts:
        raise ValueError("the export holds no <page>")
    tail = xml.rindex(b"</page>") + len(b"</page>")
    tail = xml.index(b"\n", tail) + 1 if b"\n" in xml[tail:] else tail
    bounds = [*starts, tail]
    out, index = [bz2.compress(xml[: starts[0]], level)], []
    offset = len(out[0])
    for s in range(0, len(starts), pages_per_stream):
        pages = [xml[a:b] for a, b in zip(bounds[s:s + pages_per_stream], bounds[s + 1:s + pages_per_stream + 1])]
        for page in pages:
            title = unescape(_TITLE.search(page).group(1).decode("utf-8"), {"&quot;": '"', "&#039;": "'"})
            index.append(f"{offset}:{int(_PAGE_ID.search(page).group(1))}:{title}\n")
        out.append(bz2.compress(b"".join(pages), level))
        offset += len(out[-1])
    out.append(bz2.compress(xml[tail:], level))
    return b"".join(out), bz2.compress("".join(index).encode("utf-8"), level)
