"""Local sources: `.txt`, `.jsonl`, `.jsonl.zst` and `.parquet`, in path order, bad lines counted."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from corpus.clean.config import CleanConfig
from corpus.clean.rules import clean_text
from corpus.sources import local
from corpus.sources.records import Doc, Malformed, PartWriter, ReadLog


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "moje"
    (root / "b" / "c").mkdir(parents=True)
    (root / "a.txt").write_text("\ufeffTekst z pliku.\nDruga linia.", "utf-8")
    (root / "b" / "zly.txt").write_bytes(b"zle kodowanie \xea")
    (root / "b" / "c" / "d.jsonl").write_bytes(
        json.dumps({"tresc": "Pierwszy.", "url": "http://a"}, ensure_ascii=False).encode() + b"\n"
        + b"{zepsute\n"
        + json.dumps({"tresc": "Trzeci."}).encode() + b"\n")
    (root / "b" / "e.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(
        b'{"tresc": "Z zstd."}\n{"inne": 1}\n'))
    pq.write_table(pa.table({"tresc": ["Wiersz 1.", None, "Wiersz 3."], "rok": [2001, 2002, 2003]}),
                   root / "f.parquet")
    (root / "ignored.csv").write_text("a,b\n")
    return root


def test_all_four_formats_in_path_order_with_ids_and_problems(tree):
    assert [p.relative_to(tree).as_posix() for p in local.list_files(tree)] == \
        ["a.txt", "b/c/d.jsonl", "b/e.jsonl.zst", "b/zly.txt", "f.parquet"]
    items = list(local.iter_docs(tree, "local.moje", "tresc"))
    docs = [(i.id, i.text, i.meta) for i in items if isinstance(i, Doc)]
    assert docs == [
        ("local.moje/a.txt:000000001", "Tekst z pliku.\nDruga linia.", {"path": "a.txt"}),
        ("local.moje/b/c/d.jsonl:000000001", "Pierwszy.", {"path": "b/c/d.jsonl", "url": "http://a"}),
        ("local.moje/b/c/d.jsonl:000000003", "Trzeci.", {"path": "b/c/d.jsonl"}),
        ("local.moje/b/e.jsonl.zst:000000001", "Z zstd.", {"path": "b/e.jsonl.zst"}),
        ("local.moje/f.parquet:000000001", "Wiersz 1.", {"path": "f.parquet", "rok": 2001}),
        ("local.moje/f.parquet:000000003", "Wiersz 3.", {"path": "f.parquet", "rok": 2003}),
    ]
    bad = [(i.location, i.reason) for i in items if isinstance(i, Malformed)]
    assert bad == [("b/c/d.jsonl:2", "invalid_json"), ("b/e.jsonl.zst:2", "no_text"),
                   ("b/zly.txt", "invalid_utf8"), ("f.parquet:2", "no_text")]


def test_missing_text_column_and_unreadable_parquet_are_counted(tmp_path):
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "a.parquet")
    (tmp_path / "b.parquet").write_bytes(b"not parquet")
    bad = [(i.location, i.reason) for i in local.iter_docs(tmp_path, "local.x")]
    assert bad == [("a.parquet", "no_text_column"), ("b.parquet", "unreadable_file")]


def test_missing_or_empty_directory_is_a_clear_error(tmp_path):
    with pytest.raises(local.LocalSourceError, match="does not exist"):
        local.list_files(tmp_path / "nope")
    with pytest.raises(local.LocalSourceError, match=r"holds no \.txt, \.jsonl, \.jsonl\.zst, \.parquet"):
        local.list_files(tmp_path)


def test_inventory_records_sizes_and_mtimes(tree):
    inv = local.inventory(tree)
    assert [f["path"] for f in inv] == ["a.txt", "b/c/d.jsonl", "b/e.jsonl.zst", "b/zly.txt", "f.parquet"]
    assert inv[0]["bytes"] == len("\ufeffTekst z pliku.\nDruga linia.".encode())
    assert all(isinstance(f["mtime_ns"], int) for f in inv)


def test_lone_surrogate_escapes_become_replacement_characters_that_clean_counts(tmp_path):
    # Scraped text cut inside an emoji: a "\ud83d" escape without its pair is valid JSON but no
    # UTF-8 file can hold it. It must neither crash the part writer nor vanish uncounted.
    root = tmp_path / "moje"
    root.mkdir()
    (root / "a.jsonl").write_bytes(
        b'{"tresc": "Urwane emoji \\ud83d tu, para \\ud83d\\ude00 cala.", "zrodlo": "x\\udc00"}\n')
    docs = [i for i in local.iter_docs(root, "local.moje", "tresc") if isinstance(i, Doc)]
    assert [(d.text, d.meta["zrodlo"]) for d in docs] == [
        ("Urwane emoji \ufffd tu, para \U0001f600 cala.", "x\ufffd")]
    stats = ReadLog("local.moje")
    writer = PartWriter(tmp_path / "out", "local.moje", part_bytes=None, max_doc_chars=1000, stats=stats)
    for d in docs:
        writer.add(d)
    writer.flush()
    text = pq.read_table(tmp_path / "out" / writer.parts[0]).column("text")[0].as_py()
    result = clean_text(text, CleanConfig())
    assert result.text == "Urwane emoji tu, para \U0001f600 cala."
    assert result.hits["replacement_chars"] == 1
