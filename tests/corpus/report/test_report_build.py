"""The corpus report: built from manifests and side tables, with sections missing when stages
haven't run, numbers equal to the manifest's, and a page that needs no network."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from config_sections import sections
from corpus_workdir import SOURCES, build

from corpus.report.build import build_report, collect
from corpus.report.summary import summary_markdown, summary_rows
from corpus.select.config import CorpusConfig
from corpus.select.stage import SPEC
from kuznia.driver import run_stage
from kuznia.manifest import stage_status
from kuznia.stage import MANIFEST

QUIET = {"log": lambda m: None}
CFG = sections()
CORPUS = CFG["corpus"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A work dir on which the corpus stage ran (and wrote its report), shared by the module."""
    wd = build(tmp_path_factory.mktemp("report") / "work")
    run_stage(SPEC, CFG, wd, **QUIET)
    build_report(wd, CORPUS, "test")
    return wd


@pytest.fixture
def done(built: Path, tmp_path: Path) -> Path:
    """A private copy of the built work dir (tests may delete or rewrite parts of it)."""
    return Path(shutil.copytree(built, tmp_path / "work"))


def test_empty_work_dir_says_what_to_run(tmp_path: Path):
    html_path = build_report(tmp_path, CORPUS, "test")
    assert html_path == tmp_path / "corpus" / "reports" / "report.html"
    r = json.loads((html_path.parent / "report.json").read_text())
    assert r["missing"] == ["clean: not run yet — `kuznia stage clean`",
                            "corpus: not run yet — `kuznia stage corpus`",
                            "dedup: not run yet — `kuznia stage dedup`",
                            "docs: not run yet — `kuznia stage docs`",
                            "quality: not run yet — `kuznia stage quality`"]
    html = html_path.read_text()
    assert "Missing — dedup: not run yet — `kuznia stage dedup`" in html
    assert "<img" not in html  # no numbers, no charts


def test_partial_work_dir_reports_what_exists(done: Path):
    shutil.rmtree(done / "corpus")
    shutil.rmtree(done / "dedup")
    r = collect(done, CORPUS, "test")
    assert r["funnel"]["steps"] == ["fetched"]
    assert r["funnel"]["total"]["fetched"]["docs"] == sum(len(p) for ps in SOURCES.values() for p in ps)
    assert r["missing"] == ["corpus: not run yet — `kuznia stage corpus`",
                            "dedup: not run yet — `kuznia stage dedup`"]
    assert r["labels"]["after"] is None and r["labels"]["before"] == {"HIGH": 4, "LOW": 1, "MEDIUM": 4,
                                                                      "none": 3}
    assert r["distributions"]["pl_prob"]["n"] == 12
    html = build_report(done, CORPUS, "test").read_text()
    assert html.count("<img") >= 2


def test_report_is_no_output_of_the_stage_and_rewriting_it_keeps_the_stage_done(done: Path):
    reports = done / "corpus" / "reports"
    assert sorted(p.name for p in reports.iterdir()) == ["report.html", "report.json"]
    m = json.loads((done / "corpus" / MANIFEST).read_text())
    assert not any(o["path"].startswith("reports/") for o in m["outputs"])
    build_report(done, CORPUS, "test")
    assert stage_status(SPEC, CFG, done).state == "done"
    assert run_stage(SPEC, CFG, done, **QUIET).skipped


def test_report_numbers_equal_the_manifest(done: Path):
    m = json.loads((done / "corpus" / MANIFEST).read_text())
    r = json.loads((done / "corpus" / "reports" / "report.json").read_text())
    assert r["funnel"]["total"] == m["funnel"]["total"]
    assert r["funnel"]["sources"] == m["funnel"]["sources"]
    assert r["reasons"]["total"] == m["reasons"]["total"]
    assert r["reasons"]["sources"] == m["reasons"]["sources"]
    assert r["excerpts"] == m["excerpts"]
    assert r["dedup"]["top"] == m["clusters"]["top"]
    # labels after = documents in the corpus, by label
    assert sum(r["labels"]["after"].values()) == m["counts"]["unique_documents"]
    assert r["dedup"]["docs_in_clusters"] == {"speakleash.alpha": 2, "speakleash.beta": 3, "wikipedia": 2}
    # clusters: {alpha, beta, wikipedia}, {beta, beta}, {alpha, wikipedia}; all equally involved
    assert r["dedup"]["overlap"]["sources"] == ["speakleash.alpha", "speakleash.beta", "wikipedia"]
    assert r["dedup"]["overlap"]["matrix"] == [[0, 1, 2], [1, 1, 1], [2, 1, 0]]
    assert r["dedup"]["per_source"]["speakleash.beta"]["dropped_as_duplicate"] == 1
    share = {s: v["share"] for s, v in r["mixture"]["by_source"].items()}
    assert abs(sum(share.values()) - 1) < 1e-6
    chars = m["funnel"]["total"]["corpus"]["chars"]
    assert r["tokens"]["estimated_total"] == sum(round(f["corpus"]["chars"] / 4.3)
                                                 for f in m["funnel"]["sources"].values())
    assert chars > 0


def test_summary_markdown_and_rows(done: Path):
    r = json.loads((done / "corpus" / "reports" / "report.json").read_text())
    md = summary_markdown(r)
    assert md.startswith("# Kuźnia corpus report — test\n")
    assert "| corpus | 6 |" in md
    assert "| duplicate | dedup | 3 |" in md
    rows = summary_rows(r)
    assert [row["source"] for row in rows] == sorted(SOURCES)
    assert rows[0]["corpus_docs"] == 3 and rows[0]["read_docs"] == 9


def test_html_is_self_contained(done: Path):
    html = (done / "corpus" / "reports" / "report.html").read_text()
    assert not re.search(r'(src|href)="(?!data:|#)', html)
    assert "http://" not in html and "https://" not in html
    imgs = re.findall(r'<img class="chart" alt="[^"]*" src="([^"]+)"', html)
    assert len(imgs) >= 6 and all(s.startswith("data:image/png;base64,") for s in imgs)
    # the sortable funnel table has a row per source and the filter box points at it
    assert 'data-table="funnel-table"' in html and 'id="funnel-table"' in html
    assert "Rozdział 7" in html  # cluster excerpts
    assert "The quick brown fox" in html  # rejected excerpts


def test_report_build_is_deterministic(done: Path, tmp_path: Path):
    a = build_report(done, CORPUS, "test", out_dir=tmp_path / "a")
    b = build_report(done, CORPUS, "test", out_dir=tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()
    assert (a.parent / "report.json").read_bytes() == (b.parent / "report.json").read_bytes()


def test_distributions_draw_the_thresholds_the_corpus_ran_with(done: Path):
    other = CorpusConfig.model_validate({"thresholds": {"min_chars": 999}})
    r = collect(done, other)  # config changed, corpus stage not re-run yet
    d = r["distributions"]
    assert d["length"]["thresholds"] == [{"name": "min_chars", "value": 200.0}]
    assert d["mean_word_len"]["thresholds"] == [{"name": "max_mean_word_len", "value": 11.0},
                                                {"name": "min_mean_word_len", "value": 3.0}]
    assert d["pl_prob"]["column"] == "lang_v1_pl_prob" and d["pl_prob"]["n"] == 12
    assert sum(d["pl_prob"]["counts"]) == 12 and sum(d["pl_prob"]["kept_counts"]) == 6
    assert "missing" not in d
    assert sorted(k for k in d) == ["dup_5gram", "dup_line_frac", "length", "mean_word_len", "pl_prob",
                                    "stopword_count", "stopword_frac", "top_2gram", "top_3gram",
                                    "top_4gram"]


def test_profiles_section_shows_each_profile_and_the_stale_labels(built: Path):
    r = json.loads((built / "corpus" / "reports" / "report.json").read_text())
    m = json.loads((built / "corpus" / MANIFEST).read_text())
    assert r["profiles"]["profiles"] == m["profiles"]
    assert set(r["profiles"]["profiles"]) == {"web", "curated"}
    assert r["profiles"]["labels"]["total"]["speakleash_low_overridden"] == {"docs": 0, "chars": 0}
    html = (built / "corpus" / "reports" / "report.html").read_text()
    assert '<section id="profiles"><h2>Threshold profiles</h2>' in html
    assert 'id="profile-sources-table"' in html and "its Speakleash category" in html
    assert 'title="speakleash_low_overridden"' in html  # the override's human name, its key in a tooltip
