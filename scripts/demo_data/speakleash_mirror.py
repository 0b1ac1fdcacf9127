"""Write datasets the way Speakleash's server publishes them: `<name>.jsonl.zst` (lm_dataformat:
one `{"text": ..., "meta": {...}}` object per line), `<name>.manifest` (JSON) and the index
`speakleash.json` listing every dataset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

ZSTD_LEVEL = 19
STAT_KEYS = ("documents", "characters", "sentences", "words", "nouns", "verbs", "punctuations",
             "symbols", "stopwords", "oovs")


@dataclass
class DatasetInfo:
    """The descriptive part of a dataset's manifest."""

    name: str
    description: str
    category: str
    license: str
    sources: list[dict] = field(default_factory=list)


def json_line(obj) -> bytes:
    """One compact, key-sorted JSON line (no newline): the same object gives the same bytes."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def document_line(text: str, meta: dict) -> bytes:
    """An lm_dataformat line for one document."""
    return json_line({"meta": meta, "text": text})


def compress(data: bytes) -> bytes:
    """zstd at a fixed level, single-threaded, with the content size in the frame header."""
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=0).compress(data)


def manifest_for(info: DatasetInfo, metas: list[dict], file_size: int) -> dict:
    """The manifest of a dataset whose valid documents have `metas`."""
    stats = {key: 0 for key in STAT_KEYS}
    stats["documents"] = len(metas)
    for meta in metas:
        stats["characters"] += meta["length"]
        for key in STAT_KEYS[2:]:
            stats[key] += meta[key]
    quality = {"HIGH": 0, "MEDIUM": 0, "LOW": 0}
    for meta in metas:
        quality[meta["quality"]] += 1
    stats["quality"] = quality
    return {"name": info.name, "description": info.description, "license": info.license,
            "category": info.category, "sources": info.sources, "file_size": file_size,
            "stats": stats, "category=95%": {}}


def write_dataset(out_dir: Path, info: DatasetInfo, lines: list[bytes],
                  metas: list[dict]) -> dict:
    """Write `<name>.jsonl.zst` from `lines` and its manifest; return the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = compress(b"".join(line + b"\n" for line in lines))
    (out_dir / f"{info.name}.jsonl.zst").write_bytes(payload)
    manifest = manifest_for(info, metas, len(payload))
    write_json(out_dir / f"{info.name}.manifest", manifest)
    return manifest


def write_index(out_dir: Path, manifests: list[dict]) -> None:
    """`speakleash.json`: one entry per dataset (name first; the rest mirrors the manifest)."""
    index = [{"name": m["name"], "description": m["description"], "category": m["category"],
              "license": m["license"], "file_size": m["file_size"],
              "documents": m["stats"]["documents"], "characters": m["stats"]["characters"]}
             for m in sorted(manifests, key=lambda m: m["name"])]
    write_json(out_dir / "speakleash.json", index)


def write_json(path: Path, obj) -> None:
    """Pretty, key-sorted UTF-8 JSON with a trailing newline."""
    path.write_text(json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=2) + "\n",
                    encoding="utf-8")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    """One key-sorted JSON object per line."""
    path.write_bytes(b"".join(json_line(row) + b"\n" for row in rows))
