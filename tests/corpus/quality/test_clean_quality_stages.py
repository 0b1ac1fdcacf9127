"""The clean and quality stages end to end on tiny docs parts: mirroring, counts, reruns, edge cases."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from config_sections import sections

from corpus.clean import stage as clean_stage
from corpus.quality import stage as quality_stage
from corpus.quality.catalogue import SIGNAL_SCHEMA
from corpus.select.thresholds import Thresholds, decide_table
from kuznia.driver import run_stage
from kuznia.files import read_json, write_json_atomic
from kuznia.parts import list_parts, write_docs

POLISH = (
    "Wczoraj w Krakowie padał deszcz, a dzisiaj jest już słonecznie i ciepło. Mieszkańcy miasta "
    "wyszli na spacer do parku, który został odnowiony w zeszłym roku przez firmę z Tarnowa. "
    "Na ławkach siedzieli emeryci i czytali gazety, dzieci karmiły kaczki nad stawem."
)
DOCS = {
    "speakleash.forum": [
        ("speakleash.forum/000000001", "Strona główna » Forum\n" + POLISH + "\nUdostępnij", {"quality": "HIGH"}),
        ("speakleash.forum/000000002", b"Zep\xb3uta \xff linia: ".decode("utf-8", "replace") + POLISH, {"quality": "LOW"}),
        ("speakleash.forum/000000003", "", {"quality": "MEDIUM"}),
        ("speakleash.forum/000000004", "  \n\t\n   ", {}),
        ("speakleash.forum/000000005", "PrzeglÄ…daj " + POLISH, {"quality": "HIGH"}),
    ],
    "wikipedia": [
        ("wikipedia/0000000001", "The quick brown fox jumps over the lazy dog again and again. " * 5, {}),
        ("wikipedia/0000000002", POLISH, {"title": "Kraków"}),
    ],
}


def reasons(work: Path, source: str) -> Counter:
    """Reject reasons of a source's documents under the default thresholds, from its signals."""
    table = pa.concat_tables(pq.read_table(p) for p in list_parts(work / "quality", source))
    return Counter(r for r in decide_table(table, Thresholds()).to_pylist() if r)


def make_work(tmp_path: Path, docs: dict = DOCS, parts: int = 1) -> tuple[Path, dict]:
    work = tmp_path / "work"
    for source, rows in docs.items():
        chunk = max(1, -(-len(rows) // parts))
        for i in range(0, len(rows), chunk):
            part = rows[i : i + chunk]
            write_docs(work / "docs" / source / f"part-{i // chunk:05d}.parquet", {
                "id": [r[0] for r in part], "source": [source] * len(part),
                "text": [r[1] for r in part], "meta": [json.dumps(r[2]) for r in part],
            })
    write_json_atomic(work / "docs" / "_manifest.json", {"stage": "docs", "fingerprint": "docs-fp"})
    cfg = sections()
    return work, cfg


def run_both(work: Path, cfg: dict):
    logs: list[str] = []
    c = run_stage(clean_stage.SPEC, cfg, work, log=logs.append)
    q = run_stage(quality_stage.SPEC, cfg, work, log=logs.append)
    return c, q, logs


def test_stages_mirror_docs_and_count_everything(tmp_path):
    work, cfg = make_work(tmp_path)
    c, q, _ = run_both(work, cfg)
    for source in DOCS:
        docs = pq.read_table(work / "docs" / source / "part-00000.parquet")
        clean = pq.read_table(work / "clean" / source / "part-00000.parquet")
        quality = pq.read_table(work / "quality" / source / "part-00000.parquet")
        assert clean.column("id").to_pylist() == docs.column("id").to_pylist()
        assert clean.column("meta").to_pylist() == docs.column("meta").to_pylist()
        assert quality.column("id").to_pylist() == docs.column("id").to_pylist()
        assert quality.schema.names == SIGNAL_SCHEMA.names
        assert "text" not in quality.schema.names
    texts = pq.read_table(work / "clean" / "speakleash.forum" / "part-00000.parquet").column("text").to_pylist()
    assert texts[0] == POLISH  # breadcrumb and share line gone
    assert texts[1] == "Zeputa linia: " + POLISH  # U+FFFD removed, spaces collapsed
    assert texts[2] == "" and texts[3] == ""  # empty and whitespace-only: kept, empty
    assert texts[4] == "Przeglądaj " + POLISH

    counts = c.manifest["counts"]
    assert counts["docs"] == 7 and counts["docs_empty_after_clean"] == 2
    assert counts["sources"]["speakleash.forum"]["docs"] == 5
    assert counts["rules"]["boilerplate"] == {"docs": 1, "hits": 2, "chars_removed": 33}
    assert counts["rules"]["replacement_chars"]["hits"] == 2
    assert counts["rules"]["mojibake"]["docs"] == 1
    assert c.manifest["rules_in_order"][0] == "mojibake"

    qc = q.manifest["counts"]
    assert qc["docs"] == 7
    forum = qc["sources"]["speakleash.forum"]
    assert forum["speakleash_labels"] == {"HIGH": 2, "LOW": 1, "MEDIUM": 1}
    # no threshold is applied by the quality stage; its signals decide under the corpus stage's
    assert "rejected_at_default_thresholds" not in forum
    assert reasons(work, "speakleash.forum")["empty"] == 2
    assert reasons(work, "speakleash.forum")["speakleash_low"] == 1
    assert reasons(work, "wikipedia") == {"not_polish": 1, "too_few_words": 1}
    assert q.manifest["signals"]["gopher_v1_dup_5gram_frac"]["version"] == 1

    stats = pq.read_table(work / "clean" / "_stats" / "speakleash.forum" / "part-00000.parquet")
    assert stats.column("hits_boilerplate").to_pylist() == [2, 0, 0, 0, 0]
    assert stats.column("chars_out").to_pylist() == [len(t) for t in texts]


def test_rerun_skips_and_outputs_are_byte_identical(tmp_path):
    work, cfg = make_work(tmp_path, parts=2)
    run_both(work, cfg)
    files = sorted(p for p in (work / "clean").rglob("*.parquet")) + sorted((work / "quality").rglob("*.parquet"))
    before = {p: p.read_bytes() for p in files}
    c2, q2, logs = run_both(work, cfg)
    assert c2.skipped and q2.skipped
    assert any("clean] up to date" in line for line in logs)
    run_stage(clean_stage.SPEC, cfg, work, force=True, log=lambda _: None)
    run_stage(quality_stage.SPEC, cfg, work, force=True, log=lambda _: None)
    assert {p: p.read_bytes() for p in files} == before


def test_changed_clean_config_reruns_clean_and_quality(tmp_path):
    work, cfg = make_work(tmp_path)
    run_both(work, cfg)
    cfg2 = sections(clean={"remove_boilerplate": False})
    c, q, _ = run_both(work, cfg2)
    assert not c.skipped and not q.skipped
    assert c.manifest["counts"]["rules"]["boilerplate"]["docs"] == 0


def test_quality_needs_clean(tmp_path):
    work, cfg = make_work(tmp_path)
    from kuznia.stage import StageError
    with pytest.raises(StageError, match="kuznia stage clean"):
        run_stage(quality_stage.SPEC, cfg, work, log=lambda _: None)


def test_fifty_megabyte_document(tmp_path):
    big = ("Ala ma kota, a kot ma Alę i mieszka w Krakowie. " * 1_050_000)[:50_000_000]
    work, cfg = make_work(tmp_path, {"local.big": [("local.big/a.txt:000000001", big, {})]})
    c, q, _ = run_both(work, cfg)
    assert c.manifest["counts"]["chars_in"] == 50_000_000
    row = pq.read_table(work / "quality" / "local.big" / "part-00000.parquet").to_pylist()[0]
    assert row["text_v1_truncated"] is True
    assert row["text_v1_chars"] == len(big.strip())
    assert reasons(work, "local.big") == {"too_long": 1}
    assert read_json(work / "quality" / "_manifest.json")["counts"]["truncated"] == 1


def test_clean_manifest_shows_each_rules_change_before_and_after(tmp_path):
    work, cfg = make_work(tmp_path)
    c, _, _ = run_both(work, cfg)
    ex = c.manifest["examples"]["speakleash.forum"]
    (bp,) = ex["boilerplate"]
    assert bp["id"] == "speakleash.forum/000000001"
    assert "Strona główna » Forum" in bp["before"] and "Strona główna" not in bp["after"]
    (moj,) = ex["mojibake"]
    assert "PrzeglÄ…daj" in moj["before"] and moj["after"].startswith("Przeglądaj")
    per_source = c.manifest["counts"]["sources"]["speakleash.forum"]["rules"]
    assert per_source["boilerplate"]["docs"] == 1 and per_source["mojibake"]["docs"] == 1
    assert set(ex) == {r for r, v in per_source.items() if v["docs"]}  # an example for every rule that acted
