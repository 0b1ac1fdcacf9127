"""Check the written mirror from disk, independently of how it was planned.

The build fails unless every label matches the files: line counts, manifest sizes, planted
originals, Jaccard values, and above all that the only similar pairs (Jaccard ≥ 0.5) in the
whole mirror are the labelled duplicates.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import json
from pathlib import Path

import mwxml
import zstandard

from .conflicts import find_conflicts
from .noise import garble
from .outputs import DUMP_NAME, INDEX_NAME, MULTISTREAM_NAME, SUMS_NAME, WIKI_DIR
from .text_stats import jaccard, shingles
from .web_pages import remove_lines
from .wiki_dump import plain_text


def read_dataset_lines(path: Path) -> list[bytes]:
    """The raw lines of a `.jsonl.zst` (without newlines)."""
    data = zstandard.ZstdDecompressor().decompress(path.read_bytes())
    return data.split(b"\n")[:-1]


def parse_line(line: bytes) -> dict | None:
    """The document of a valid line, None for a malformed one."""
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return None
    return obj


class MirrorError(ValueError):
    """The files on disk contradict each other."""


def load_documents(out: Path) -> tuple[dict[str, str], list[str]]:
    """(id -> text of every valid document, with wiki articles as plain text; the id of every
    line and page in the mirror)."""
    docs: dict[str, str] = {}
    line_ids: list[str] = []
    index = json.loads((out / "speakleash/speakleash.json").read_text(encoding="utf-8"))
    for item in index:
        name = item["name"]
        manifest = json.loads((out / f"speakleash/{name}.manifest").read_text(encoding="utf-8"))
        path = out / f"speakleash/{name}.jsonl.zst"
        if manifest["file_size"] != path.stat().st_size:
            raise MirrorError(f"{name}: manifest file_size differs from {path}")
        valid = 0
        for n, line in enumerate(read_dataset_lines(path), 1):
            line_ids.append(f"speakleash.{name}/{n:09d}")
            doc = parse_line(line)
            if doc is not None:
                valid += 1
                docs[f"speakleash.{name}/{n:09d}"] = doc["text"]
        if manifest["stats"]["documents"] != valid:
            raise MirrorError(f"{name}: manifest says {manifest['stats']['documents']} "
                              f"documents, the file has {valid} valid lines")
    dump = (out / WIKI_DIR / DUMP_NAME).read_bytes()
    _check_wiki_files(out / WIKI_DIR, bz2.decompress(dump))
    for page in mwxml.Dump.from_file(io.BytesIO(bz2.decompress(dump))):
        line_ids.append(f"wikipedia/{page.id:010d}")
        for revision in page:
            if page.namespace == 0 and not page.redirect:
                docs[f"wikipedia/{page.id:010d}"] = plain_text(revision.text)
    return docs, line_ids


def _check_wiki_files(folder: Path, xml: bytes) -> None:
    """The sha1sums list holds the three files' checksums, and the multistream dump holds the
    plain dump's bytes, every index offset starting a stream that holds its pages."""
    sums = (folder / SUMS_NAME).read_text(encoding="utf-8")
    names = sorted((DUMP_NAME, MULTISTREAM_NAME, INDEX_NAME))
    if sums != "".join(f"{hashlib.sha1((folder / n).read_bytes()).hexdigest()}  {n}\n" for n in names):
        raise MirrorError(f"{SUMS_NAME} does not hold the sha1 of {', '.join(names)}")
    multi = (folder / MULTISTREAM_NAME).read_bytes()
    if bz2.decompress(multi) != xml:
        raise MirrorError(f"{MULTISTREAM_NAME} does not hold the bytes of {DUMP_NAME}")
    for line in bz2.decompress((folder / INDEX_NAME).read_bytes()).decode("utf-8").splitlines():
        offset, page_id, _ = line.split(":", 2)
        stream = bz2.BZ2Decompressor().decompress(multi[int(offset):])
        if not stream.lstrip().startswith(b"<page>") or f"<id>{page_id}</id>".encode() not in stream:
            raise MirrorError(f"{INDEX_NAME}: {line!r} does not point at the stream of its page")


def verify_mirror(out: Path) -> list[str]:
    """Every problem found (an empty list means the mirror is consistent)."""
    problems: list[str] = []
    labels = [json.loads(line) for line in (out / "labels.jsonl").read_text("utf-8").splitlines()]
    by_id = {label["id"]: label for label in labels}
    if len(by_id) != len(labels):
        problems.append("labels.jsonl has repeated ids")
    docs, line_ids = load_documents(out)
    if sorted(line_ids) != sorted(by_id):
        missing = sorted(set(line_ids) - set(by_id))[:5]
        extra = sorted(set(by_id) - set(line_ids))[:5]
        problems.append(f"labels do not match the lines: unlabelled {missing}, no line {extra}")

    def root(doc_id: str) -> str:
        while "dup_of" in by_id[doc_id]:
            doc_id = by_id[doc_id]["dup_of"]
        return doc_id

    for c in find_conflicts(docs, {doc_id: root(doc_id) for doc_id in docs}):
        problems.append(f"unlabelled similar pair {c.first} ~ {c.second} (J={c.jaccard})")
    problems += _check_labels(out, labels, docs)
    return problems


def _check_labels(out: Path, labels: list[dict], docs: dict[str, str]) -> list[str]:
    problems = []
    originals = {}
    for name in ("mojibake_originals.jsonl", "boilerplate_originals.jsonl"):
        for line in (out / name).read_text("utf-8").splitlines():
            row = json.loads(line)
            originals[row["id"]] = row["text"]
    for label in labels:
        doc_id, kind = label["id"], label["kind"]
        text = docs.get(doc_id)
        if kind in ("exact_dup",) and doc_id.startswith("speakleash") and \
                text != docs.get(label["dup_of"]):
            problems.append(f"{doc_id}: exact_dup differs from {label['dup_of']}")
        if kind == "near_dup":
            value = jaccard(shingles(text), shingles(docs[label["dup_of"]]))
            if round(value, 4) != label["jaccard"] or value < 0.85:
                problems.append(f"{doc_id}: near_dup Jaccard {value:.4f} vs label {label}")
        if "similar_to" in label:
            value = jaccard(shingles(text), shingles(docs[label["similar_to"]]))
            if value >= 0.5:
                problems.append(f"{doc_id}: similar_to pair has Jaccard {value:.3f}")
        if kind in ("mojibake", "boilerplate"):
            original = originals.get(doc_id)
            if original is None:
                problems.append(f"{doc_id}: original text missing")
                continue
            if hashlib.sha1(original.encode()).hexdigest() != label["original_sha1"]:
                problems.append(f"{doc_id}: original_sha1 mismatch")
            if kind == "boilerplate" and remove_lines(text, label["boilerplate_lines"]) != original:
                problems.append(f"{doc_id}: removing the planted lines does not restore it")
            if kind == "mojibake" and label["scope"] == "document" and \
                    garble(original, label["encoding"], label["layers"]) != text:
                problems.append(f"{doc_id}: garbling the original does not give the text")
        if kind == "short" and len(text) >= 200:
            problems.append(f"{doc_id}: short document has {len(text)} characters")
        if kind == "long" and len(text) < 200_000:
            problems.append(f"{doc_id}: long document has {len(text)} characters")
        if kind == "empty" and text.strip():
            problems.append(f"{doc_id}: empty document has text")
    return problems
