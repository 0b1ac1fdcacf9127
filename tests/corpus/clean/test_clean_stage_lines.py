"""The clean stage's count -> merge -> clean phases on a small crawl in two sources: repeated
chrome goes from every page, counted per rule and per method in the manifest; the split into
hash ranges does not change a byte of the clean parts; a re-run reuses every task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from config_sections import sections

from corpus.clean.linecount import FREQUENT_DIR
from corpus.clean.stage import SPEC as CLEAN
from kuznia.driver import run_stage
from kuznia.files import write_json_atomic
from kuznia.parts import list_parts, write_docs

QUIET = {"log": lambda m: None}
MENU = "Aktualności – Poradniki – Sprzęt – Forum"
FOOTER = "Redakcja Warsztatu, teksty chronione, przedruk wyłącznie po uzgodnieniu"
SHARE = "Prześlij dalej znajomym"


TOPICS = ["rowerach", "górach", "kotach", "zupach", "mostach", "sieciach", "ogrodach", "zegarach", "pociągach"]


def pages(source: str, n: int) -> list[str]:
    start = 0 if source.endswith("a") else 5
    return [f"{MENU}\nTekst ze źródła {source}: akapit o {TOPICS[start + i]}.\n{SHARE}\n{FOOTER}" for i in range(n)]


def write_work_dir(wd: Path, claimed: int | None = None) -> dict[str, list[str]]:
    """Docs parts of two sources (`chars`: the characters the docs manifest claims, which size the
    hash ranges)."""
    texts = {"speakleash.a": pages("a", 5), "speakleash.b": pages("b", 4)}
    chars = 0
    for source, items in texts.items():
        for p, chunk in enumerate((items[:3], items[3:])):
            ids = [f"{source}/{p * 3 + i + 1:09d}" for i in range(len(chunk))]
            write_docs(wd / "docs" / source / f"part-{p:05d}.parquet",
                       {"id": ids, "source": [source] * len(ids), "text": chunk, "meta": ["{}"] * len(ids)})
            chars += sum(map(len, chunk))
    write_json_atomic(wd / "docs" / "_manifest.json", {"stage": "docs", "counts": {"characters": claimed or chars}})
    return texts


def clean_parts(wd: Path) -> dict[str, bytes]:
    return {p.relative_to(wd).as_posix(): p.read_bytes() for p in list_parts(wd / "clean")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    one, many = tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("many")
    for wd, range_chars in ((one, 1 << 30), (many, 1 << 16)):
        write_work_dir(wd, claimed=200_000)  # 200,000 / 65,536: four ranges
        cfg = sections(clean={"repeated_lines": {"range_chars": range_chars}})
        run_stage(CLEAN, cfg, wd, **QUIET)
    return one, many


def test_chrome_goes_and_each_method_is_counted(runs):
    one, _ = runs
    m = json.loads((one / "clean" / "_manifest.json").read_text())
    rules = m["counts"]["rules"]
    assert rules["repeated_lines"] == {"docs": 9, "hits": 27, "chars_removed": rules["repeated_lines"]["chars_removed"]}
    assert m["counts"]["sources"]["speakleash.b"]["rules"]["repeated_lines"]["hits"] == 12
    rep = m["repeated_lines"]
    assert rep["lines_removed"] == {"phrases": 0, "repeated": 27} and rep["frequent_keys"] >= 3
    assert {t["text"] for t in rep["top"]} == {MENU, FOOTER, SHARE}
    assert all(t["removed"] == 9 and t["docs"] == 9 for t in rep["top"])
    for part in list_parts(one / "clean"):
        import pyarrow.parquet as pq

        for text in pq.read_table(part, columns=["text"]).column("text").to_pylist():
            assert text.startswith("Tekst ze źródła") and "\n" not in text


def test_hash_ranges_change_no_byte_of_the_parts(runs):
    one, many = runs
    assert len(list((many / "clean" / FREQUENT_DIR).glob("*.npy"))) == 4
    assert len(list((one / "clean" / FREQUENT_DIR).glob("*.npy"))) == 1
    assert clean_parts(one) == clean_parts(many)


def test_rerun_reuses_every_task(runs):
    one, _ = runs
    before = clean_parts(one)
    (one / "clean" / "_manifest.json").unlink()  # as if the run had stopped before its end
    logs: list[str] = []
    run_stage(CLEAN, sections(clean={"repeated_lines": {"range_chars": 1 << 30}}), one, log=logs.append)
    assert clean_parts(one) == before
    for phase, n in (("count", 4), ("merge", 1), ("clean", 4)):
        assert f"[clean] {phase}: reusing {n} finished task(s) of {n}" in logs, logs


def test_off_switch_skips_the_counting(tmp_path):
    write_work_dir(tmp_path)
    run_stage(CLEAN, sections(clean={"remove_repeated_lines": False}), tmp_path, **QUIET)
    assert not (tmp_path / "clean" / "_lines").exists()
    m = json.loads((tmp_path / "clean" / "_manifest.json").read_text())
    assert m["counts"]["rules"]["repeated_lines"]["hits"] == 0 and m["repeated_lines"]["enabled"] is False


def test_a_forced_source_redoes_only_its_own_tasks(runs):
    one, _ = runs
    markers = {p.relative_to(one).as_posix(): p.read_bytes() for p in (one / "clean" / "_tasks").rglob("*.json")}
    before = clean_parts(one)
    cfg = sections(clean={"repeated_lines": {"range_chars": 1 << 30}})
    run_stage(CLEAN, cfg, one, force=True, source="speakleash.a", **QUIET)
    assert (one / "clean" / "_manifest.json").exists()  # every task of the stage is done
    assert clean_parts(one) == before
    after = {p.relative_to(one).as_posix(): p.read_bytes() for p in (one / "clean" / "_tasks").rglob("*.json")}
    redone = sorted(k for k in markers if after[k] != markers[k])
    assert redone and all("speakleash.a" in k for k in redone), redone
