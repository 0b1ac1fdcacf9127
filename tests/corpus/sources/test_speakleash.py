"""Speakleash: safe names, dataset selection, manifests, and the strict line reader."""

from __future__ import annotations

import json

import pytest
from source_fixtures import doc_line, write_dataset, write_index

from corpus.sources import jsonl, speakleash
from corpus.sources.records import Doc, Malformed


@pytest.mark.parametrize("name", ["../x", "..", "/etc/passwd", "a/b", "a\\b", "", ".hidden",
                                  "-rf", "a b", "zażółć", "x" * 201, None, 7])
def test_unsafe_names_are_refused_naming_the_index(name):
    with pytest.raises(speakleash.UnsafeNameError) as e:
        speakleash.check_dataset_name(name, "the Speakleash index http://h/speakleash.json")
    assert f"refusing dataset name {name!r} from the Speakleash index http://h/speakleash.json" in str(e.value)


@pytest.mark.parametrize("name", ["plwiki", "forum_gazeta_pl", "wolne_lektury_corpus", "a.b-c", "7z"])
def test_safe_names_pass(name):
    assert speakleash.check_dataset_name(name, "x") == name


def test_default_base_url_comes_from_the_speakleash_package():
    from speakleash.config_loader import ConfigLoader

    assert speakleash.DEFAULT_BASE_URL == ConfigLoader.load_config()["url_datasets_text_pl"]
    assert speakleash.index_url("http://m/ds/") == "http://m/ds/speakleash.json"
    assert speakleash.index_url("/srv/mirror") == "/srv/mirror/speakleash.json"


def test_read_index_and_select(tmp_path):
    write_index(tmp_path, ["b", "a", "../x", None, "c"])
    listed = speakleash.read_index(str(tmp_path))
    assert listed == ["b", "a", "../x", None, "c"]
    # `all` keeps the bad entries so that each one is reported (the caller checks every name).
    assert speakleash.select_datasets(listed, "all", ["c"], "idx") == ["../x", "a", "b", None]
    assert speakleash.select_datasets(listed, ["c", "a", "c"], [], "idx") == ["a", "c"]
    with pytest.raises(speakleash.IndexProblem, match=r"names \['zz'\] which idx does not list"):
        speakleash.select_datasets(listed, ["a", "zz"], [], "idx")


def test_index_that_is_not_a_list_is_an_error_naming_it(tmp_path):
    (tmp_path / "speakleash.json").write_text('{"name": "a"}')
    with pytest.raises(speakleash.IndexProblem, match=r"speakleash\.json must be a JSON list"):
        speakleash.read_index(str(tmp_path))
    (tmp_path / "speakleash.json").write_text("[{")
    with pytest.raises(speakleash.IndexProblem, match="is not valid JSON"):
        speakleash.read_index(str(tmp_path))


def test_manifest_needs_a_file_size():
    assert speakleash.parse_manifest(b'{"file_size": 12}', "u")["file_size"] == 12
    for bad in (b'{"file_size": -1}', b'{"file_size": "12"}', b"{}", b"[]", b"nope"):
        with pytest.raises(speakleash.IndexProblem, match="manifest u"):
            speakleash.parse_manifest(bad, "u")


def test_every_malformed_line_is_reported_with_its_number_and_reason(tmp_path):
    lines = [
        doc_line("Pierwszy dokument."),
        b'{"text": "urwany',
        b'{"text": "zly bajt \xff", "meta": {}}',
        b"[1, 2]",
        b'{"meta": {"quality": "LOW"}}',
        b"",
        b'{"text": "bez meta"}',
        b'{"text": "meta lista", "meta": [1]}',
        b'{"text": 5}',
        doc_line("Ostatni dokument."),
    ]
    write_dataset(tmp_path, "ds", lines)
    items = list(speakleash.iter_docs(tmp_path / "ds.jsonl.zst", "ds"))
    bad = [(m.line, m.reason) for m in items if isinstance(m, Malformed)]
    assert bad == [(2, "invalid_json"), (3, "invalid_utf8"), (4, "not_object"), (5, "no_text"),
                   (6, "empty_line"), (8, "bad_meta"), (9, "no_text")]
    docs = [d for d in items if isinstance(d, Doc)]
    assert [(d.id, d.text) for d in docs] == [
        ("speakleash.ds/000000001", "Pierwszy dokument."),
        ("speakleash.ds/000000007", "bez meta"),
        ("speakleash.ds/000000010", "Ostatni dokument."),
    ]
    assert docs[0].meta == {"quality": "HIGH", "length": 18} and docs[1].meta == {}
    assert next(m for m in items if isinstance(m, Malformed) and m.line == 3).detail == \
        "byte 0xff at offset 19"


def test_line_ranges_across_block_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonl, "BLOCK_BYTES", 7)  # lines straddle blocks everywhere
    texts = [f"dokument {i} " + "ą" * (i % 5) for i in range(1, 31)]
    write_dataset(tmp_path, "ds", [doc_line(t) for t in texts])
    path = tmp_path / "ds.jsonl.zst"
    whole = [(n, json.loads(raw)["text"]) for n, raw in jsonl.iter_lines(path)]
    assert whole == list(enumerate(texts, start=1))
    assert [n for n, _ in jsonl.iter_lines(path, 11, 20)] == list(range(11, 21))
    assert [n for n, _ in jsonl.iter_lines(path, 29)] == [29, 30]
    assert list(jsonl.iter_lines(path, 31)) == []
    pieces = [list(jsonl.iter_lines(path, s, e)) for s, e in ((1, 9), (10, 10), (11, None))]
    assert sum(pieces, []) == list(jsonl.iter_lines(path))


def test_several_frames_and_a_last_line_without_newline(tmp_path):
    import zstandard

    c = zstandard.ZstdCompressor()
    # Two frames, the first ending mid-line (as appending writers may leave it).
    (tmp_path / "x.jsonl.zst").write_bytes(c.compress(b'{"text":"a"}\n{"te') + c.compress(b'xt":"b"}'))
    assert list(jsonl.iter_lines(tmp_path / "x.jsonl.zst")) == [(1, b'{"text":"a"}'), (2, b'{"text":"b"}')]


def test_truncated_zstd_file_is_an_error_naming_it(tmp_path):
    write_dataset(tmp_path, "ds", [doc_line("tekst " * 200 + str(i)) for i in range(50)])
    path = tmp_path / "ds.jsonl.zst"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ValueError, match=r"ds\.jsonl\.zst: truncated zstd data"):
        list(jsonl.iter_lines(path))
