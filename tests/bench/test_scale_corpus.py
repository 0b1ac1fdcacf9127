"""The scale corpus generator (bench/scale_corpus.py, issue 13): a ~20 MB corpus read by the real
fetch and docs stages, manifests checked against the bytes, the planted noise against its truth,
byte-identical reruns, the shape of a full-size plan, and the scorer on known decisions."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from config_sections import sections

from corpus.dedup.shingles import shingle_batch
from corpus.sources.jsonl import parse_lm_line
from corpus.sources.records import BadLine
from corpus.sources.stage import DOCS, FETCH
from kuznia.driver import run_stage

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from scale_gen.documents import SUMMED  # noqa: E402 - bench/ is not a package
from scale_gen.generate import SUMMARY_FILE, generate  # noqa: E402
from scale_gen.noise import TOKEN_SPLIT  # noqa: E402
from scale_gen.plan import document_bytes, plan_datasets  # noqa: E402
from scale_gen.score import score  # noqa: E402
from scale_gen.slots import KIND_NAMES, RATES  # noqa: E402
from scale_gen.truth import KINDS, TRUTH_FILE  # noqa: E402

GB = 0.02  # 20 MB of text
POLISH_ONLY = set("ąćęłńśźżĄĆĘŁŃŚŹŻ")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    """A generated corpus and a work dir where the real fetch and docs stages have read it."""
    out = tmp_path_factory.mktemp("scale") / "corpus"
    summary = generate(GB, out, seed=0, workers=2)
    work = out.parent / "work"
    cfg = sections(fetch={"speakleash": {"base_url": str(out / "speakleash")},
                          "wikipedia": {"base_url": str(out / "wikipedia"), "dump_date": "20240101"}},
                   docs={"part_bytes": 4_000_000})
    for spec in (FETCH, DOCS):
        run_stage(spec, cfg, work, log=lambda m: None)
    docs = {}
    for part in sorted((work / "docs").glob("*/part-*.parquet")):
        docs.update(zip(*pq.read_table(part, columns=["id", "text"]).to_pydict().values(), strict=True))
    truth = pq.read_table(out / TRUTH_FILE).to_pylist()
    return {"out": out, "work": work, "summary": summary, "docs": docs, "truth": truth,
            "manifest": json.loads((work / "docs" / "_manifest.json").read_text("utf-8"))}


def lines_of(path: Path) -> list[bytes]:
    """The lines of a `.jsonl.zst` file (each newline-terminated)."""
    raw = zstandard.ZstdDecompressor().stream_reader(path.open("rb")).read()
    assert raw.endswith(b"\n")
    return raw[:-1].split(b"\n")


def test_the_docs_stage_reads_every_dataset_and_the_dump(corpus):
    m, summary = corpus["manifest"], corpus["summary"]
    assert m["failed"] == {} and m["counts"]["failed_sources"] == 0
    counts = m["counts"]["sources"]
    for entry in summary["datasets"]:
        manifest = json.loads((corpus["out"] / "speakleash" / f"{entry['name']}.manifest").read_text("utf-8"))
        got = counts[f"speakleash.{entry['name']}"]
        assert (got["documents"], got["characters"]) == (manifest["stats"]["documents"], manifest["stats"]["characters"])
    wiki = counts["wikipedia"]
    assert wiki["documents"] == summary["wikipedia"]["articles"]
    assert wiki["dropped_wiki_redirect"] == summary["wikipedia"]["redirects"]
    assert wiki["dropped_wiki_non_article"] == summary["wikipedia"]["non_articles"]
    # Every malformed line is where the truth says, with the reason it says.
    listed = {(e["source"], e["line"], e["reason"]) for e in m["errors"]}
    planted = {(r["source"], int(r["id"].rsplit("/", 1)[1]), r["docs_reason"]) for r in corpus["truth"]
               if r["kind"] == "malformed"}
    assert planted and listed == planted


def test_manifests_and_the_index_match_the_bytes(corpus):
    folder = corpus["out"] / "speakleash"
    index = {e["name"]: e for e in json.loads((folder / "speakleash.json").read_text("utf-8"))}
    assert len(index) == corpus["summary"]["speakleash"]["datasets"] >= 4
    for name, entry in index.items():
        manifest = json.loads((folder / f"{name}.manifest").read_text("utf-8"))
        assert manifest["file_size"] == entry["file_size"] == (folder / f"{name}.jsonl.zst").stat().st_size
        stats = Counter()
        for raw in lines_of(folder / f"{name}.jsonl.zst"):
            try:
                text, meta = parse_lm_line(raw)
            except BadLine:
                continue
            assert meta["length"] == len(text)
            stats.update({"documents": 1, "characters": len(text), **{k: meta[k] for k in SUMMED},
                          meta["quality"]: 1})
        want = manifest["stats"]
        assert {k: stats[k] for k in ("documents", "characters", *SUMMED)} == {k: want[k] for k in
                                                                               ("documents", "characters", *SUMMED)}
        assert {q: stats[q] for q in ("HIGH", "MEDIUM", "LOW")} == want["quality"]
        assert (entry["documents"], entry["characters"]) == (want["documents"], want["characters"])


def test_noise_is_planted_at_its_rates_under_the_pipeline_ids(corpus):
    truth, docs, summary = corpus["truth"], corpus["docs"], corpus["summary"]
    kinds = Counter(r["kind"] for r in truth)
    lines = summary["speakleash"]["lines"]
    for kind, rate in ((KIND_NAMES[k], rate) for k, rate in RATES.items()):
        assert abs(kinds[kind] - rate * lines) <= 3 + 0.1 * rate * lines, (kind, kinds[kind], rate * lines)
    assert summary["noise"] == {k: kinds[k] for k in KINDS}
    for r in truth:  # the ids are the docs stage's: every planted document is there under its id
        assert (r["id"] in docs) == (r["kind"] != "malformed"), r["id"]
    copies = [r for r in truth if r["kind"] in ("exact_dup", "near_dup")]
    assert 0.2 <= sum(r["cross"] for r in copies) / len(copies) <= 0.7
    assert all(r["dup_of"] < r["id"] for r in copies)  # the original has the smaller id
    assert all(docs[r["id"]] == docs[r["dup_of"]] for r in truth if r["kind"] == "exact_dup")
    assert len({r["dup_of"] for r in copies}) == len(copies)  # every planted pair is a pair


def test_near_copies_have_the_jaccard_the_dedup_stage_will_measure(corpus):
    near = [r for r in corpus["truth"] if r["kind"] == "near_dup"]
    docs = corpus["docs"]
    batch = shingle_batch([docs[i] for r in near for i in (r["dup_of"], r["id"])])
    for k, r in enumerate(near):
        a, b = (np.unique(batch.hashes[batch.offsets[i]:batch.offsets[i + 1]]) for i in (2 * k, 2 * k + 1))
        inter = len(np.intersect1d(a, b))
        assert inter / (len(a) + len(b) - inter) == pytest.approx(r["jaccard_raw"], abs=1e-4)
    both = [(min(r["jaccard"], r["jaccard_raw"]), max(r["jaccard"], r["jaccard_raw"])) for r in near]
    assert sum(lo >= 0.8 for lo, _ in both) >= 20 and sum(hi < 0.7 for _, hi in both) >= 15


def test_foreign_and_garbled_documents_are_what_the_truth_says(corpus):
    docs, out = corpus["docs"], corpus["out"]
    chrome = {line for lines in json.loads((out / "sites.json").read_text("utf-8")).values() for line in lines}
    foreign = [r for r in corpus["truth"] if r["kind"] == "foreign"]
    assert {r["lang"] for r in foreign} <= {"cs", "de", "en", "es", "fr", "it", "nl", "ru"} and len(foreign) >= 10
    for r in foreign:  # no Polish letter outside the page chrome
        content = [line for line in docs[r["id"]].split("\n") if line not in chrome]
        assert not POLISH_ONLY & set("".join(content)), r["id"]
    for r in (r for r in corpus["truth"] if r["kind"] == "mojibake"):
        tokens = set(TOKEN_SPLIT.split(docs[r["id"]]))
        pairs = json.loads(r["garbled_words"])
        assert pairs and all(bad in tokens and bad != good for good, bad in pairs), r["id"]


def test_same_seed_same_bytes_whatever_the_worker_count(tmp_path):
    def tree(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    generate(0.002, tmp_path / "a", seed=3, workers=1)
    generate(0.002, tmp_path / "b", seed=3, workers=2)
    generate(0.002, tmp_path / "c", seed=4, workers=2)
    a, b, c = tree(tmp_path / "a"), tree(tmp_path / "b"), tree(tmp_path / "c")
    assert a == b and len(a) > 10
    assert a[TRUTH_FILE] != c[TRUTH_FILE] and a[SUMMARY_FILE] != c[SUMMARY_FILE]


def test_a_full_size_plan_is_shaped_like_speakleash():
    plans = plan_datasets(0.5e9, seed=0)
    sizes = sorted((p.target_bytes for p in plans), reverse=True)
    assert len(plans) == 150 and sum(sizes[:10]) / sum(sizes) >= 0.5  # a few datasets hold most bytes
    assert any(p.spec.web for p in plans) and any(not p.spec.web for p in plans) and any(p.sprinkled for p in plans)
    docs = np.concatenate([document_bytes(p, np.random.default_rng([0, 2, p.index])) for p in plan_datasets(4e9, 0)])
    assert 1_200 <= np.median(docs) <= 3_000 and (docs > 1e6).sum() >= 20
    small = plan_datasets(20e6, seed=0)
    assert 4 <= len(small) <= 10 and min(p.target_bytes for p in small) >= 500_000


def _write(path: Path, rows: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(rows), path)


def _fake_run(corpus: dict, work: Path, *, merge_low: bool = False, keep_foreign: bool = False) -> None:
    """A work dir whose decisions and clusters are those of a pipeline that gets everything right
    (cleaning changes nothing but the mojibake, which it repairs), or that keeps one foreign
    document and merges one pair below 0.7."""
    truth = corpus["truth"]
    near = [r for r in truth if r["kind"] == "near_dup"]
    clustered = [r for r in truth if r["kind"] == "exact_dup"] + [r for r in near if r["jaccard_raw"] >= 0.8]
    low = [r for r in near if r["jaccard_raw"] < 0.7]
    if merge_low:
        clustered.append(low[0])
    _write(work / "dedup" / "clusters.parquet", {
        "id": [i for r in clustered for i in (r["dup_of"], r["id"])],
        "cluster_id": [r["dup_of"] for r in clustered for _ in range(2)]})
    foreign = [r["id"] for r in truth if r["kind"] == "foreign"]
    reasons = {r["id"]: "duplicate" for r in clustered} | {i: "not_polish" for i in foreign}
    if keep_foreign:
        reasons[foreign[0]] = None
    ids = sorted({r["id"] for r in truth} | {r["dup_of"] for r in truth if r["dup_of"]})
    _write(work / "corpus" / "_decisions" / "all" / "part-00000.parquet",
           {"id": ids, "reason": pa.array([reasons.get(i) for i in ids], pa.string())})
    texts = {i: corpus["docs"][i] for i in ids if i in corpus["docs"]}
    texts.update({r["id"]: " ".join(good for good, _ in json.loads(r["garbled_words"]))
                  for r in truth if r["kind"] == "mojibake"})
    for source in {i.rsplit("/", 1)[0] for i in texts}:
        mine = sorted(i for i in texts if i.rsplit("/", 1)[0] == source)
        _write(work / "clean" / source / "part-00000.parquet", {"id": mine, "text": [texts[i] for i in mine]})
    (work / "docs").mkdir(parents=True, exist_ok=True)
    (work / "docs" / "_manifest.json").write_text(json.dumps({"counts": {"sources": {}}}), "utf-8")


def test_the_scorer_on_known_decisions(corpus, tmp_path):
    _fake_run(corpus, tmp_path / "good")
    good = score(corpus["out"], tmp_path / "good")
    assert good["foreign"]["rejected"] == good["foreign"]["planted"] > 0
    assert good["near_dup"]["recall_ge_0.8"] == 1.0 and good["near_dup"]["lt_0.7_merged"] == 0
    assert good["exact_dup"]["clustered"] == good["exact_dup"]["pairs"] and good["exact_dup"]["removed_share"] == 1.0
    assert good["mojibake"]["repaired"] == good["mojibake"]["planted"] > 0
    assert good["unplanted_clustered_docs"] == 0
    _fake_run(corpus, tmp_path / "bad", merge_low=True, keep_foreign=True)
    bad = score(corpus["out"], tmp_path / "bad")
    assert bad["foreign"]["rejected"] == good["foreign"]["rejected"] - 1
    assert bad["near_dup"]["lt_0.7_merged"] == 1
