"""`disk.remove_intermediate`: docs/ and clean/ parts go once the corpus is written, their
manifests stay (nothing is stale, nothing is "damaged"); a corpus re-run makes them again first,
byte for byte, so quality and dedup stay up to date. Dedup's own scratch files go once dedup
has finished, and nothing has to make them again."""

from __future__ import annotations

from pathlib import Path

from config_sections import sections
from corpus_workdir import polish

from corpus.clean.stage import SPEC as CLEAN
from corpus.dedup.stage import SPEC as DEDUP
from corpus.quality.stage import SPEC as QUALITY
from corpus.select.stage import SPEC as CORPUS
from corpus.sources.stage import DOCS, FETCH
from kuznia.driver import run_stage
from kuznia.parts import list_parts
from kuznia.prune import DiskConfig, pruned
from kuznia.verify import verify_stage

STAGES = (FETCH, DOCS, CLEAN, QUALITY, DEDUP, CORPUS)


def _parts(wd: Path, stage: str) -> dict[str, bytes]:
    return {p.relative_to(wd).as_posix(): p.read_bytes() for p in list_parts(wd / stage)}


def test_parts_consumed_as_read_and_made_again_when_needed(tmp_path: Path):
    texts = tmp_path / "texts"
    texts.mkdir()
    for i in range(12):
        (texts / f"{i:02d}.txt").write_text(polish(i, "tekst"), "utf-8")
    (texts / "copy.txt").write_text(polish(3, "tekst"), "utf-8")
    fetch = {"speakleash": {"enabled": False}, "wikipedia": {"enabled": False},
             "local": [{"name": "t", "path": str(texts)}]}
    keep, wd = sections(fetch=fetch), tmp_path / "keep"
    for spec in STAGES:
        run_stage(spec, keep, wd, log=lambda m: None)
    full = {s: _parts(wd, s) for s in ("docs", "clean", "corpus")}
    assert all(full.values())

    cfg, wd = {**keep, "disk": DiskConfig(remove_intermediate=True)}, tmp_path / "work"
    logs: list[str] = []
    for spec in STAGES:
        run_stage(spec, cfg, wd, log=logs.append)
        if spec is CLEAN:  # clean consumed the docs parts; its own are all there
            assert not _parts(wd, "docs") and _parts(wd, "clean") == full["clean"]
    assert not _parts(wd, "clean") and _parts(wd, "corpus") == full["corpus"]
    assert any("[clean] its document parts" in m for m in logs)
    gone = pruned(wd, "clean")
    assert gone["files"] == len(full["clean"]) and gone["bytes"] == sum(len(b) for b in full["clean"].values())
    check = verify_stage(wd, "clean", "clean", checksums=True)
    assert check.damage == [] and check.pruned_files == len(full["clean"])
    assert run_stage(QUALITY, cfg, wd, log=lambda m: None).skipped  # still up to date
    # dedup's own scratch (signatures, buckets, shingles, pairs) went when dedup had finished
    scratch = pruned(wd, "dedup")
    assert scratch["scratch"] is True and scratch["files"] > 0
    assert not (wd / "dedup" / "signatures").exists() and (wd / "dedup" / "clusters.parquet").is_file()
    assert verify_stage(wd, "dedup", "dedup", checksums=True).damage == []

    # a threshold change re-runs corpus: clean (and docs, which clean reads) come back first,
    # byte for byte, and are consumed again; quality and dedup stay up to date
    logs.clear()
    changed = {**sections(fetch=fetch, corpus={"thresholds": {"min_chars": 300}}), "disk": cfg["disk"]}
    run_stage(CORPUS, changed, wd, log=logs.append)
    assert any("reads clean, whose parts were removed" in m for m in logs)
    assert any("reads docs, whose parts were removed" in m for m in logs)
    assert not _parts(wd, "docs") and not _parts(wd, "clean") and pruned(wd, "clean")
    assert not any("reads dedup" in m for m in logs)  # its scratch is not needed again
    for spec in (QUALITY, DEDUP):
        assert run_stage(spec, changed, wd, log=lambda m: None).skipped, spec.name
    run_stage(CLEAN, keep, wd, repair=True, log=lambda m: None)  # by hand, without the option
    assert _parts(wd, "clean") == full["clean"] and pruned(wd, "clean") is None
