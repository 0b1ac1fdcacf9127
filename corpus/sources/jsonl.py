"""Streaming JSON-lines reading (plain or zstd) and the strict per-line parser.

Lines are read as bytes, in blocks, so that memory is bounded by one line and so that a line
that is not UTF-8 is seen as such (and counted as `invalid_utf8`) instead of being silently
repaired by a text decoder. Line numbers are 1-based, as in an editor.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import zstandard

from corpus.sources.records import BadLine

BLOCK_BYTES = 1 << 20


def iter_blocks(path: Path) -> Iterator[bytes]:
    """The decompressed bytes of a `.zst` file (or the bytes of a plain file), in blocks.

    A file may hold several zstd frames (writers append them). `stream_reader` would end
    quietly at a truncated frame, so frames are followed here and a file that ends inside
    one is an error, not a shorter dataset.
    """
    with open(path, "rb") as f:
        if not path.name.endswith(".zst"):
            while block := f.read(BLOCK_BYTES):
                yield block
            return
        dctx = zstandard.ZstdDecompressor()
        dobj, in_frame = dctx.decompressobj(), False
        while chunk := f.read(BLOCK_BYTES):
            while chunk:
                try:
                    out = dobj.decompress(chunk)
                except zstandard.ZstdError as e:
                    raise ValueError(f"{path}: corrupt zstd data: {e}") from e
                in_frame = True
                if out:
                    yield out
                if dobj.eof:  # a frame ended; what follows it starts the next one
                    chunk, dobj, in_frame = dobj.unused_data, dctx.decompressobj(), False
                else:
                    chunk = b""
        if in_frame:
            raise ValueError(f"{path}: truncated zstd data (the file ends inside a frame); "
                             "fetch it again (`kuznia stage fetch --force`)")


def iter_lines(path: Path, start_line: int = 1, end_line: int | None = None
               ) -> Iterator[tuple[int, bytes]]:
    """Yield `(line_number, raw_line_without_newline)` for lines `start_line..end_line`.

    Lines before `start_line` are skipped by counting newlines in decompressed blocks, without
    splitting them into lines (a task that reads the second half of a file pays only the
    decompression of the first half). A final line without a newline is still a line.
    """
    line = 1
    carry = b""
    blocks = iter_blocks(path)
    for block in blocks:
        if line < start_line:
            nl = block.count(b"\n")
            if line + nl <= start_line:  # every line that ends in this block comes before
                line += nl
                carry = block[block.rfind(b"\n") + 1:] if nl else carry + block
                continue
        pieces = (carry + block).split(b"\n")
        carry = pieces.pop()
        for raw in pieces:
            if line >= start_line:
                if end_line is not None and line > end_line:
                    blocks.close()
                    return
                yield line, raw
            line += 1
    if carry and line >= start_line and (end_line is None or line <= end_line):
        yield line, carry


def decode_json_object(raw: bytes) -> dict:
    """Strict UTF-8 then JSON; the value must be an object. Raises `BadLine` with a reason."""
    if not raw.strip():
        raise BadLine("empty_line", "blank line")
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadLine("invalid_utf8", f"byte 0x{raw[e.start]:02x} at offset {e.start}") from None
    try:
        obj = json.loads(s)
    except json.JSONDecodeError as e:
        raise BadLine("invalid_json", str(e)) from None
    if not isinstance(obj, dict):
        raise BadLine("not_object", f"a JSON {type(obj).__name__}, not an object")
    if _SURROGATE_ESCAPE_RE.search(s):
        obj = _without_lone_surrogates(obj)
    return obj


# A "\ud83d" escape without its pair (a truncated emoji in scraped text) is valid JSON but
# decodes to a lone surrogate, which no UTF-8 file can hold: writing the part would fail.
# It becomes U+FFFD, the replacement character, which the clean stage removes and counts
# (`replacement_chars`), as it does for undecodable bytes.
_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(value):
    """`value` (decoded JSON) with every lone surrogate in its strings replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE_RE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


def parse_lm_line(raw: bytes) -> tuple[str, dict]:
    """An lm_dataformat line, `{"text": str, "meta": {...}}` -> (text, meta)."""
    obj = decode_json_object(raw)
    text = obj.get("text")
    if not isinstance(text, str):
        raise BadLine("no_text", "no string field 'text'")
    meta = obj.get("meta", {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise BadLine("bad_meta", f"'meta' is a JSON {type(meta).__name__}, not an object")
    return text, meta


def parse_field_line(raw: bytes, text_field: str) -> tuple[str, dict]:
    """A JSON line with the text under `text_field`; every other field becomes meta."""
    obj = decode_json_object(raw)
    text = obj.get(text_field)
    if not isinstance(text, str):
        raise BadLine("no_text", f"no string field {text_field!r}")
    return text, {k: v for k, v in obj.items() if k != text_field}
