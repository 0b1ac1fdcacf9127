"""Threshold profiles per kind of source, and Speakleash labels judged against the cleaned text:
the config's checks, which source gets which profile, what the corpus stage and its manifest do
with them."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from corpus_workdir import EXPECTED, build

from corpus.select.config import CorpusConfig
from corpus.select.profiles import CURATED, ProfileMap, profile_of, profile_thresholds
from corpus.select.stage import SPEC
from corpus.select.thresholds import Thresholds
from kuznia.driver import run_stage
from kuznia.parts import write_table
from kuznia.stage import MANIFEST

QUIET = {"log": lambda m: None}
ALPHA_1 = "speakleash.alpha/000000001"  # HIGH, a plain Polish document that passes every rule


def run(wd: Path, **corpus) -> tuple[dict, dict]:
    run_stage(SPEC, {"corpus": CorpusConfig.model_validate(corpus)}, wd, force=True, **QUIET)
    got = {}
    for p in sorted((wd / "corpus" / "_decisions").glob("*/part-*.parquet")):
        got.update((r["id"], r["reason"]) for r in pq.read_table(p).to_pylist())
    return json.loads((wd / "corpus" / MANIFEST).read_text()), got


@pytest.fixture
def wd(tmp_path: Path) -> Path:
    return build(tmp_path / "work")


@pytest.mark.parametrize("corpus,message", [
    ({"profiles": {"curated": {"min_wordz": 3}}}, "corpus.profiles.curated: min_wordz not a threshold"),
    ({"profiles": {"web": {"min_words": 3}}}, "corpus.profiles.web: `web` is corpus.thresholds itself"),
    ({"profiles": {"x": {"min_words": -1}}}, "corpus.profiles.x"),
    ({"default_profile": "books"}, "corpus.default_profile: no profile 'books' (profiles: curated, web)"),
    ({"profile_of": {"categories": {"Prawo": "lawful"}}}, "corpus.profile_of.categories.Prawo: no profile 'lawful'"),
])
def test_config_errors_name_the_key(corpus, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CorpusConfig.model_validate(corpus)


def test_which_profile_a_source_gets():
    m = ProfileMap(categories={"Dokumentacja": "curated"}, sources={"speakleash.forum": "web", "local": "curated"})
    assert profile_of("speakleash.forum", "Dokumentacja", m, "web").why == "source"
    assert profile_of("speakleash.docs", "DOKUMENTACJA", m, "web").profile == "curated"
    assert profile_of("local.books", None, m, "web") == profile_of("local.books", None, m, "web")
    assert profile_of("local.books", None, m, "web").why == "kind"
    assert (profile_of("speakleash.news", "Internet", m, "web").profile, profile_of("x.y", None, m, "web").why) \
        == ("web", "default")


def test_profiles_change_only_their_fields():
    base = Thresholds(min_alpha_words_frac=None)
    th = profile_thresholds(base, {"curated": CURATED})
    assert th["web"] is base and th["curated"].min_words == 20 and th["curated"].min_line_punct_frac is None
    assert th["curated"].min_pl_prob == base.min_pl_prob and th["curated"].min_alpha_words_frac == 0.5


def test_each_source_is_judged_by_its_profile_and_the_manifest_says_what_it_cost(wd: Path):
    m, got = run(wd)
    assert got == EXPECTED  # the defaults: every document here passes either profile
    profiles = m["profiles"]
    assert profiles["web"]["sources"] == {"speakleash.alpha": {"category": "Internet", "why": "default"}}
    assert profiles["curated"]["sources"] == {"speakleash.beta": {"category": "Dokumentacja", "why": "category"},
                                              "wikipedia": {"category": None, "why": "source"}}
    assert profiles["curated"]["changed"]["min_words"] == {"value": 20, "web": 50}
    # a strict profile for the crawled source only
    m, got = run(wd, profiles={"strict": {"min_words": 10_000}}, profile_of={"categories": {"Internet": "strict"}})
    rejected = {i for i, r in got.items() if r == "too_few_words"}
    assert rejected == {i for i, r in EXPECTED.items() if i.startswith("speakleash.alpha") and r in (None, "duplicate")}
    strict = m["profiles"]["strict"]
    assert strict["reasons"]["too_few_words"]["docs"] == len(rejected)
    assert {e["id"] for e in strict["excerpts"]["too_few_words"]} <= rejected
    assert "too_few_words" not in m["profiles"]["curated"]["reasons"]


def _set(path: Path, column: str, doc_id: str, value) -> None:
    t = pq.read_table(path)
    values = [value if i == doc_id else v for i, v in zip(t.column("id").to_pylist(), t.column(column).to_pylist())]
    write_table(path, t.set_column(t.column_names.index(column), column, pa.array(values, t.schema.field(column).type)))


def test_a_label_stale_after_cleaning_is_set_aside(wd: Path):
    part = "speakleash.alpha/part-00000.parquet"
    _set(wd / "quality" / part, "speakleash_label", ALPHA_1, "LOW")
    m, got = run(wd)
    assert got[ALPHA_1] == "speakleash_low"  # cleaning did not change it: the label stands
    assert m["labels"]["total"]["speakleash_low_overridden"]["docs"] == 0
    _set(wd / "clean" / "_stats" / part, "hits_mojibake", ALPHA_1, 3)  # cleaning repaired its mojibake
    m, got = run(wd)
    assert got[ALPHA_1] is None
    assert m["labels"]["sources"]["speakleash.alpha"]["speakleash_low_overridden"]["docs"] == 1
    assert m["labels"]["total"]["labels_stale"]["docs"] == 1
    assert pq.read_table(wd / "corpus" / "_select" / part).column("label_stale").to_pylist()[0] is True
    m, got = run(wd, stale_label_on_mojibake=False)
    assert got[ALPHA_1] == "speakleash_low"
    # the other trigger: content rules removed more than `stale_label_removed_frac` of it
    _set(wd / "clean" / "_stats" / part, "hits_mojibake", ALPHA_1, 0)
    chars = pq.read_table(wd / "clean" / "_stats" / part).column("chars_in").to_pylist()[0]
    _set(wd / "clean" / "_stats" / part, "chars_removed_content", ALPHA_1, chars // 2)
    assert run(wd)[1][ALPHA_1] is None
    assert run(wd, stale_label_removed_frac=0.6)[1][ALPHA_1] == "speakleash_low"
