"""The corpus stage on a hand-built work dir: funnel, buckets, keepers, weights, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from config_sections import sections
from corpus_workdir import CLUSTERS, DOCS_DROPS, EXPECTED, SOURCES, build, ids_of

from corpus.select.config import CorpusConfig
from corpus.select.stage import SPEC
from kuznia.driver import run_stage
from kuznia.parts import DOC_SCHEMA, list_parts
from kuznia.stage import MANIFEST

QUIET = {"log": lambda m: None}


def cfg_with(**corpus) -> dict:
    return {"corpus": CorpusConfig.model_validate(corpus)}


def manifest(wd: Path) -> dict:
    return json.loads((wd / "corpus" / MANIFEST).read_text())


def decisions(wd: Path) -> dict[str, tuple]:
    out = {}
    for p in sorted((wd / "corpus" / "_decisions").glob("*/part-*.parquet")):
        for r in pq.read_table(p).to_pylist():
            out[r["id"]] = (r["reason"], r["copies"])
    return out


@pytest.fixture
def wd(tmp_path: Path) -> Path:
    return build(tmp_path / "work")


def test_every_document_lands_in_its_expected_bucket(wd: Path):
    run_stage(SPEC, cfg_with(), wd, **QUIET)
    got = decisions(wd)
    assert {i: r for i, (r, _) in got.items()} == EXPECTED
    assert all(c == (1 if r is None else 0) for r, c in got.values())


def test_funnel_adds_up_per_source_and_overall(wd: Path):
    run_stage(SPEC, cfg_with(), wd, **QUIET)
    m = manifest(wd)
    for source, parts in SOURCES.items():
        f = m["funnel"]["sources"][source]
        n_docs = sum(len(p) for p in parts)
        drops = {k: v for k, v in DOCS_DROPS.get(source, {}).items() if k != "malformed"}
        assert f["fetched"]["docs"] == f["cleaned"]["docs"] == n_docs
        assert f["read"]["docs"] == n_docs + sum(drops.values())
        reasons = m["reasons"]["sources"][source]
        assert f["read"]["docs"] == f["corpus"]["unique_docs"] + sum(r["docs"] for r in reasons.values())
        expected_kept = sum(1 for i, r in EXPECTED.items() if i.startswith(source + "/") and r is None)
        assert f["corpus"]["docs"] == f["dedup"]["docs"] == expected_kept
        assert f["cleaned"]["chars"] == f["fetched"]["chars"]
        kept_chars = sum(len(t) for ids, part in zip(ids_of(source), parts)
                         for i, (t, _) in zip(ids, part) if EXPECTED[i] is None)
        assert f["corpus"]["chars"] == kept_chars
    assert m["reasons"]["total"]["duplicate"]["docs"] == 3
    assert m["reasons"]["total"]["too_short"]["docs"] == 2
    assert m["reasons"]["sources"]["speakleash.alpha"]["docs_malformed_invalid_json"]["docs"] == 2
    assert m["reasons"]["sources"]["speakleash.alpha"]["docs_empty"] == {"docs": 1, "chars": None}
    assert m["reasons"]["sources"]["wikipedia"]["docs_wiki_redirect"]["docs"] == 3
    assert m["reason_stages"] == {"docs_empty": "docs", "docs_malformed_invalid_json": "docs",
                                  "docs_wiki_redirect": "docs", "duplicate": "dedup",
                                  "not_polish": "quality", "too_short": "quality"}
    total = m["funnel"]["total"]
    assert total["read"]["docs"] == total["corpus"]["unique_docs"] + m["counts"]["rejected"]
    assert m["counts"]["documents"] == sum(1 for r in EXPECTED.values() if r is None) == 6
    assert m["clusters"]["clusters"] == len(CLUSTERS)


def test_corpus_parts_hold_the_kept_documents_in_clean_order(wd: Path):
    run_stage(SPEC, cfg_with(), wd, **QUIET)
    for source in SOURCES:
        got = [r for p in list_parts(wd / "corpus", source) for r in pq.read_table(p).to_pylist()]
        want = [i for part in ids_of(source) for i in part if EXPECTED[i] is None]
        assert [r["id"] for r in got] == want
        assert all(r["source"] == source for r in got)
        assert pq.read_schema(list_parts(wd / "corpus", source)[0]).equals(DOC_SCHEMA)
    # the bookkeeping folders are not sources (the tokenizer lists sources under corpus/)
    assert sorted(p.name for p in (wd / "corpus").iterdir() if p.is_dir() and not p.name.startswith("_")) == \
        sorted(SOURCES)


def test_excerpts_and_largest_clusters_in_manifest(wd: Path):
    run_stage(SPEC, cfg_with(excerpt_chars=40), wd, **QUIET)
    m = manifest(wd)
    assert sorted(m["excerpts"]) == ["duplicate", "not_polish", "too_short"]
    assert m["excerpts"]["not_polish"] == [{"id": "speakleash.alpha/000000005", "source": "speakleash.alpha",
                                            "excerpt": "The quick brown fox jumps over the lazy…"}]
    top = m["clusters"]["top"]
    assert [c["size"] for c in top] == [3, 2, 2]
    assert top[0]["keeper"] == "speakleash.beta/000000001"
    assert {mm["id"]: mm["reason"] for mm in top[0]["members"]} == {
        "speakleash.alpha/000000003": "duplicate", "speakleash.beta/000000001": None,
        "wikipedia/000000002": "duplicate"}
    assert all(mm["excerpt"].startswith("Rozdział 7") for mm in top[0]["members"])


def test_reruns_are_byte_identical_and_skip_when_up_to_date(wd: Path):
    a = run_stage(SPEC, cfg_with(parts_per_task=1), wd, **QUIET).manifest
    assert run_stage(SPEC, cfg_with(parts_per_task=1), wd, **QUIET).skipped
    b = run_stage(SPEC, cfg_with(parts_per_task=1), wd, force=True, **QUIET).manifest
    assert a["outputs"] == b["outputs"]
    c = run_stage(SPEC, cfg_with(parts_per_task=3), wd, **QUIET).manifest  # other batching
    assert a["outputs"] == c["outputs"] and a["funnel"] == c["funnel"]
    assert not any(o["path"].startswith("reports/") for o in a["outputs"])


def test_weights_downsample_and_repeat_deterministically(wd: Path):
    cfg = cfg_with(weights={"wikipedia": 3.0, "speakleash.beta": 0.0, "speakleash.alpha": 1.5}, seed=3)
    run_stage(SPEC, cfg, wd, **QUIET)
    got = decisions(wd)
    m = manifest(wd)
    assert got["wikipedia/000000001"] == (None, 3)
    assert got["speakleash.beta/000000001"] == ("downsampled", 0)
    assert got["speakleash.beta/000000002"] == ("downsampled", 0)
    alpha = [got[i][1] for i in ("speakleash.alpha/000000001", "speakleash.alpha/000000004",
                                 "speakleash.alpha/000000006")]
    assert set(alpha) <= {1, 2}
    assert m["funnel"]["sources"]["wikipedia"]["corpus"]["docs"] == 3
    assert m["funnel"]["sources"]["speakleash.alpha"]["corpus"]["docs"] == sum(alpha)
    rows = [r["id"] for p in list_parts(wd / "corpus", "wikipedia") for r in pq.read_table(p).to_pylist()]
    assert rows == ["wikipedia/000000001"] * 3  # copies keep their id, side by side
    assert list_parts(wd / "corpus", "speakleash.beta") == []
    # the keeper rule ran before the weights: the DUP cluster's keeper is dropped by weight 0,
    # and its other members stay duplicates (a weight never resurrects a duplicate)
    assert got["speakleash.alpha/000000003"][0] == got["wikipedia/000000002"][0] == "duplicate"
    first = m["outputs"]
    run_stage(SPEC, cfg, wd, force=True, **QUIET)
    assert manifest(wd)["outputs"] == first


def test_missing_upstream_names_the_command(tmp_path: Path):
    from kuznia.stage import StageError

    # fetch is the first stage the corpus stage reads (its dataset manifests give categories)
    with pytest.raises(StageError, match="kuznia stage fetch"):
        run_stage(SPEC, cfg_with(), tmp_path, **QUIET)


def test_quality_part_that_does_not_mirror_clean_is_an_error(wd: Path):
    from kuznia.parts import write_table
    from kuznia.stage import TaskError

    p = wd / "quality" / "wikipedia" / "part-00000.parquet"
    t = pq.read_table(p)
    write_table(p, t.slice(0, 2))
    with pytest.raises(TaskError, match=r"does not mirror clean/wikipedia/part-00000.parquet.*"
                                        r"kuznia stage quality --force"):
        run_stage(SPEC, cfg_with(), wd, **QUIET)


def test_threshold_change_reruns_only_the_corpus_stage(wd: Path):
    from corpus.dedup.stage import SPEC as DEDUP
    from corpus.quality.stage import SPEC as QUALITY
    from kuznia.manifest import fingerprint

    a = sections()
    b = sections(corpus={"thresholds": {"min_chars": 1000}})
    assert fingerprint(QUALITY, a, wd) == fingerprint(QUALITY, b, wd)
    assert fingerprint(DEDUP, a, wd) == fingerprint(DEDUP, b, wd)
    assert fingerprint(SPEC, a, wd) != fingerprint(SPEC, b, wd)
    upstream = {p: p.read_bytes() for p in sorted(wd.glob("*/_manifest.json")) if p.parent.name != "corpus"}
    run_stage(SPEC, a, wd, **QUIET)
    res = run_stage(SPEC, b, wd, **QUIET)
    assert not res.skipped
    assert {p: p.read_bytes() for p in upstream} == upstream
    got = decisions(wd)
    short = {i for i, (r, _) in got.items() if r == "too_short"}
    # every document under 1000 characters now fails `too_short` (the rule before `not_polish`)
    assert short == {i for s in SOURCES for ids, part in zip(ids_of(s), SOURCES[s])
                     for i, (t, _) in zip(ids, part) if len(t) < 1000}
    assert "speakleash.alpha/000000005" in short and len(short) > 3


def test_source_without_documents_still_has_its_drops_counted(wd: Path):
    from kuznia.files import read_json, write_json_atomic

    m = read_json(wd / "docs" / MANIFEST)
    m["counts"]["sources"]["local.broken"] = {"documents": 0, "characters": 0, "malformed": 4,
                                   "dropped_malformed_invalid_utf8": 4}
    write_json_atomic(wd / "docs" / MANIFEST, m)
    run_stage(SPEC, cfg_with(), wd, **QUIET)
    out = manifest(wd)
    assert out["funnel"]["sources"]["local.broken"]["read"] == {"docs": 4, "chars": None}
    assert out["funnel"]["sources"]["local.broken"]["corpus"]["docs"] == 0
    assert out["reasons"]["sources"]["local.broken"] == {"docs_malformed_invalid_utf8": {"docs": 4, "chars": None}}


def _group_chars(wd: Path) -> dict[str, int]:
    m = manifest(wd)
    return {g: sum(f["corpus"]["chars"] for s, f in m["funnel"]["sources"].items() if s.startswith(g))
            for g in ("speakleash", "wikipedia")}


def test_apply_mixture_brings_each_group_to_its_target_share(wd: Path, tmp_path: Path):
    target = {"speakleash": 0.5, "wikipedia": 0.5}
    natural = build(tmp_path / "natural")
    run_stage(SPEC, cfg_with(target_mixture=target), natural, **QUIET)
    run_stage(SPEC, cfg_with(target_mixture=target, apply_mixture=True, max_mixture_weight=20), wd, **QUIET)
    mixture = json.loads((wd / "corpus" / "_select" / "mixture.json").read_text())
    groups = mixture["groups"]
    for g, t in target.items():  # the factor that makes the expected share exactly the target
        assert groups[g]["factor"] == pytest.approx(t / groups[g]["share"], rel=1e-4)
    assert sum(v["share"] * v["factor"] for v in groups.values()) == pytest.approx(1.0, rel=1e-4)
    before, after = _group_chars(natural), _group_chars(wd)
    share = {k: v["wikipedia"] / sum(v.values()) for k, v in (("before", before), ("after", after))}
    # weights act on whole documents (a seeded draw each): the share moves toward the target
    assert abs(share["after"] - 0.5) < abs(share["before"] - 0.5) - 0.1, share
    r = json.loads(json.dumps(build_report_json(wd)))
    assert r["mixture"]["applied"]["groups"]["wikipedia"]["factor"] == groups["wikipedia"]["factor"]


def build_report_json(wd: Path) -> dict:
    from corpus.report.build import collect

    return collect(wd)


def test_apply_mixture_names_sources_outside_the_target(wd: Path):
    from kuznia.stage import TaskError

    with pytest.raises(TaskError, match=r"sources of \['wikipedia'\] are in no group of corpus.target_mixture"):
        run_stage(SPEC, cfg_with(target_mixture={"speakleash": 1.0}, apply_mixture=True), wd, **QUIET)
