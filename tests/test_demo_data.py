"""The committed demo mirror (`data/demo/`) is consistent with itself and with its labels.

Checks are written from the file formats and the README's guarantees, not by importing the
builder (`scripts/build_demo_data.py`), so a builder bug cannot hide behind itself.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import re
from collections import Counter
from pathlib import Path

import mwxml
import pytest
import zstandard

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"
SPEAKLEASH = DEMO / "speakleash"
WIKI_DIR = DEMO / "wikipedia" / "plwiki" / "20240101"
DUMP = WIKI_DIR / "plwiki-20240101-pages-articles.xml.bz2"
SUMS = WIKI_DIR / "plwiki-20240101-sha1sums.txt"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _parse(line: bytes) -> dict | None:
    """A valid lm_dataformat line's object, else None (the README's definition of malformed)."""
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return None
    return obj


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    if len(words) < 5:
        return {tuple(words)} if words else set()
    return {tuple(words[i:i + 5]) for i in range(len(words) - 4)}


def _jaccard(a: str, b: str) -> float:
    x, y = _shingles(a), _shingles(b)
    return len(x & y) / len(x | y) if x | y else 1.0


def _sloppy_decode(data: bytes, codec: str) -> str:
    """Decode with unassigned bytes mapped to the same-numbered code point (README)."""
    out = []
    for b in data:
        try:
            out.append(bytes([b]).decode(codec))
        except UnicodeDecodeError:
            out.append(chr(b))
    return "".join(out)


@pytest.fixture(scope="module")
def index() -> list[dict]:
    return json.loads((SPEAKLEASH / "speakleash.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def lines(index) -> dict[str, list[bytes]]:
    """dataset name -> raw lines of its decompressed .jsonl.zst."""
    out = {}
    for item in index:
        raw = zstandard.ZstdDecompressor().decompress(
            (SPEAKLEASH / f"{item['name']}.jsonl.zst").read_bytes())
        assert raw.endswith(b"\n")
        out[item["name"]] = raw[:-1].split(b"\n")
    return out


@pytest.fixture(scope="module")
def docs(lines) -> dict[str, dict]:
    """id -> parsed object of every valid Speakleash line."""
    out = {}
    for name, rows in lines.items():
        for n, line in enumerate(rows, 1):
            obj = _parse(line)
            if obj is not None:
                out[f"speakleash.{name}/{n:09d}"] = obj
    return out


@pytest.fixture(scope="module")
def labels() -> dict[str, dict]:
    rows = _jsonl(DEMO / "labels.jsonl")
    by_id = {row["id"]: row for row in rows}
    assert len(by_id) == len(rows), "an id is labelled twice"
    return by_id


@pytest.fixture(scope="module")
def wiki_pages() -> list[tuple[int, int, str, str | None, str]]:
    """(page id, namespace, title, redirect target, text) of every page in the dump."""
    dump = mwxml.Dump.from_file(io.BytesIO(bz2.decompress(DUMP.read_bytes())))
    pages = []
    for page in dump:
        revisions = list(page)
        assert len(revisions) == 1
        pages.append((page.id, page.namespace, page.title, page.redirect, revisions[0].text))
    return pages


def test_index_lists_every_dataset_file(index):
    names = [item["name"] for item in index]
    assert names == sorted(names) and len(names) >= 5
    assert {p.name.removesuffix(".jsonl.zst") for p in SPEAKLEASH.glob("*.jsonl.zst")} == set(names)
    assert {p.stem for p in SPEAKLEASH.glob("*.manifest")} == set(names)


def test_manifests_match_their_files(index, lines, docs):
    for item in index:
        name = item["name"]
        manifest = json.loads((SPEAKLEASH / f"{name}.manifest").read_text(encoding="utf-8"))
        assert manifest["name"] == name
        assert manifest["file_size"] == (SPEAKLEASH / f"{name}.jsonl.zst").stat().st_size
        valid = [docs[f"speakleash.{name}/{n:09d}"] for n in range(1, len(lines[name]) + 1)
                 if f"speakleash.{name}/{n:09d}" in docs]
        stats = manifest["stats"]
        assert stats["documents"] == len(valid) == item["documents"]
        assert stats["characters"] == sum(len(d["text"]) for d in valid)
        assert stats["words"] == sum(d["meta"]["words"] for d in valid)
        quality = {"HIGH": 0, "MEDIUM": 0, "LOW": 0}
        quality.update(Counter(d["meta"]["quality"] for d in valid))
        assert stats["quality"] == quality
        for key in ("description", "license", "category", "sources", "category=95%"):
            assert key in manifest
        for d in valid:
            assert d["meta"]["length"] == len(d["text"])
            assert d["meta"]["quality"] in ("HIGH", "MEDIUM", "LOW")


def test_labels_cover_every_line_and_page_exactly_once(lines, labels, wiki_pages):
    expected = [f"speakleash.{name}/{n:09d}" for name, rows in lines.items()
                for n in range(1, len(rows) + 1)]
    expected += [f"wikipedia/{page_id:010d}" for page_id, *_ in wiki_pages]
    assert len(expected) == len(set(expected))
    assert set(expected) == set(labels)


def test_malformed_labels_are_exactly_the_invalid_lines(lines, labels):
    problems = set()
    for name, rows in lines.items():
        for n, line in enumerate(rows, 1):
            label = labels[f"speakleash.{name}/{n:09d}"]
            assert (label["kind"] == "malformed") == (_parse(line) is None), label
            if label["kind"] == "malformed":
                assert (label["dataset"], label["line"]) == (name, n)
                problems.add(label["problem"])
    assert problems == {"truncated_json", "invalid_utf8", "not_an_object", "missing_text",
                        "text_not_string"}


def test_wiki_dump_parses_and_matches_its_checksum(wiki_pages, labels):
    digest = hashlib.sha1(DUMP.read_bytes()).hexdigest()
    # The list also names the multistream pair (tests/corpus/sources/test_wikipedia_multistream.py).
    assert f"{digest}  {DUMP.name}" in SUMS.read_text(encoding="utf-8").splitlines()
    kinds = Counter()
    for page_id, ns, title, redirect, text in wiki_pages:
        label = labels[f"wikipedia/{page_id:010d}"]
        assert label["title"] == title
        kinds[label["kind"]] += 1
        if label["kind"] == "redirect":
            assert redirect == label["target"] and re.match(r"#\w+ \[\[", text)
        elif label["kind"] == "non_article":
            assert ns == label["ns"] != 0 and redirect is None
        else:
            assert ns == 0 and redirect is None
    assert kinds["clean"] >= 50 and kinds["redirect"] >= 5 and kinds["non_article"] >= 5
    articles = "\n".join(text for _, ns, _, redirect, text in wiki_pages
                         if ns == 0 and redirect is None)
    for markup in ("{{Infobox", "<ref>", '{| class="wikitable"', "== ", "'''", "[[Kategoria:",
                   "[[Plik:", "|"):
        assert markup in articles, markup
    assert re.search(r"\[\[[^\]|]+\|[^\]]+\]\]", articles)  # [[target|label]]


def test_mojibake_labels_have_their_originals(docs, labels):
    originals = {row["id"]: row["text"] for row in _jsonl(DEMO / "mojibake_originals.jsonl")}
    mojibake = {i: label for i, label in labels.items() if label["kind"] == "mojibake"}
    assert set(originals) == set(mojibake)
    codecs = {"cp1250": "cp1250", "cp1252": "cp1252", "iso-8859-2": "iso8859_2",
              "latin-1": "latin_1"}
    seen = Counter()
    for doc_id, label in mojibake.items():
        original, text = originals[doc_id], docs[doc_id]["text"]
        assert hashlib.sha1(original.encode("utf-8")).hexdigest() == label["original_sha1"]
        assert text != original
        seen[(label["encoding"], label["scope"], label["layers"])] += 1
        if label["scope"] == "document":
            garbled = original
            for _ in range(label["layers"]):
                garbled = _sloppy_decode(garbled.encode("utf-8"), codecs[label["encoding"]])
            assert garbled == text, doc_id
        else:  # exactly one paragraph differs
            a, b = original.split("\n\n"), text.split("\n\n")
            assert len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1
    assert {e for e, _, _ in seen} == set(codecs)
    assert {s for _, s, _ in seen} == {"document", "paragraph"}
    assert any(layers == 2 for _, _, layers in seen)


def test_boilerplate_lines_come_out_exactly(docs, labels):
    originals = {row["id"]: row["text"] for row in _jsonl(DEMO / "boilerplate_originals.jsonl")}
    planted = {i: label for i, label in labels.items() if label["kind"] == "boilerplate"}
    assert set(originals) == set(planted)
    for doc_id, label in planted.items():
        drop = set(label["boilerplate_lines"])
        lines = docs[doc_id]["text"].split("\n")
        assert drop <= set(lines)
        restored = "\n".join(line for line in lines if line not in drop)
        assert restored == originals[doc_id]
        assert hashlib.sha1(restored.encode("utf-8")).hexdigest() == label["original_sha1"]


def test_duplicate_labels_hold(docs, labels):
    for doc_id, label in labels.items():
        if label["kind"] not in ("exact_dup", "near_dup") or doc_id.startswith("wikipedia"):
            continue
        original = label["dup_of"]
        assert original < doc_id, "the original sorts first"
        assert labels[original]["kind"] == "clean"
        if label["kind"] == "exact_dup":
            assert docs[doc_id]["text"] == docs[original]["text"]
        else:
            value = _jaccard(docs[doc_id]["text"], docs[original]["text"])
            assert value >= 0.85 and round(value, 4) == label["jaccard"]
            assert docs[doc_id]["text"] != docs[original]["text"]
    cross = {(label["id"].split("/")[0], label["dup_of"].split("/")[0])
             for label in labels.values() if "dup_of" in label}
    assert any(a != b for a, b in cross) and any(a == b for a, b in cross)


def test_wiki_copies_have_identical_wikitext(wiki_pages, labels):
    text_of = {f"wikipedia/{page_id:010d}": text for page_id, *_, text in wiki_pages}
    copies = [label for label in labels.values()
              if label["id"].startswith("wikipedia") and label["kind"] == "exact_dup"]
    for label in copies:
        assert label["dup_of"] < label["id"]
        assert text_of[label["id"]] == text_of[label["dup_of"]]


def test_similar_pairs_stay_below_half(docs, labels):
    pairs = [(i, label["similar_to"]) for i, label in labels.items() if "similar_to" in label]
    assert len(pairs) >= 5
    for a, b in pairs:
        assert labels[a]["kind"] == labels[b]["kind"] == "clean"
        assert 0.2 <= _jaccard(docs[a]["text"], docs[b]["text"]) < 0.5


def test_kinds_have_their_properties(docs, labels):
    for doc_id, label in labels.items():
        if doc_id.startswith("wikipedia") or label["kind"] == "malformed":
            continue
        text = docs[doc_id]["text"]
        if label["kind"] == "short":
            assert 0 < len(text.strip()) and len(text) < 200
        elif label["kind"] == "long":
            assert len(text) >= 200_000 and label["chars"] == len(text)
        elif label["kind"] == "empty":
            assert not text.strip()
        elif label["kind"] == "foreign":
            assert label["lang"] != "pl"


def test_kind_counts_are_in_the_planned_ranges(labels):
    counts = Counter(label["kind"] for label in labels.values())
    ranges = {"mojibake": (40, 80), "foreign": (40, 60), "exact_dup": (25, 35),
              "near_dup": (25, 35), "boilerplate": (35, 45), "short": (25, 35), "long": (3, 5),
              "malformed": (6, 10), "empty": (2, 5)}
    for kind, (low, high) in ranges.items():
        assert low <= counts[kind] <= high, (kind, counts[kind])
    assert 500 <= counts["clean"] and sum(counts.values()) <= 3000
    langs = {label["lang"] for label in labels.values() if label["kind"] == "foreign"}
    assert "cs" in langs and len(langs) >= 5


def test_total_size_is_under_10_mb():
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert total < 10 * 1024 * 1024
    assert (DEMO / "NOTICE").stat().st_size > 1000 and (DEMO / "README.md").is_file()
