"""The docs stage: parts per source, ids, counts, every problem with its location, determinism."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from source_fixtures import BETA, build_mirror, stage_config

from corpus.sources import docs as docs_phases
from corpus.sources.stage import DOCS, FETCH
from kuznia.driver import run_stage
from kuznia.mappers import thread_mapper
from kuznia.parts import DOC_SCHEMA, list_parts


def run(spec, cfg, work, **kw):
    mapper = thread_mapper(2) if spec is FETCH else None
    return run_stage(spec, cfg, work, log=lambda _: None, **({"mapper": mapper} if mapper else {}), **kw)


def part_bytes(work):
    d = work / "docs"
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in list_parts(d)}


@pytest.fixture
def fetched(mirror, tmp_path):
    build_mirror(mirror.root)
    local_dir = tmp_path / "moje"
    local_dir.mkdir()
    (local_dir / "a.jsonl").write_text('{"text": "Lokalny."}\n[]\n', "utf-8")
    over = {"fetch": {"local": [{"name": "moje", "path": str(local_dir)}]}, "docs": {"part_bytes": 4096}}
    cfg = stage_config(mirror, over)
    run(FETCH, cfg, tmp_path / "work")
    return mirror, cfg, tmp_path / "work"


def test_docs_counts_and_locates_every_problem_and_never_downloads(fetched):
    srv, cfg, work = fetched
    before = list(srv.requests)
    m = run(DOCS, cfg, work).manifest
    assert srv.requests == before  # parsing reads raw/, never the network
    c = m["counts"]["sources"]
    assert c["speakleash.alpha"] == {"characters": 23, "documents": 2}
    assert c["speakleash.gamma"] == {"characters": 16, "documents": 1, "dropped_empty": 1,
                                     "malformed": 1, "dropped_malformed_invalid_json": 1}
    assert c["wikipedia"] == {"characters": 27, "documents": 1, "dropped_wiki_non_article": 1,
                              "dropped_wiki_redirect": 1}
    assert c["local.moje"] == {"characters": 8, "documents": 1, "malformed": 1, "dropped_malformed_not_object": 1}
    assert c["speakleash.beta"]["documents"] == 60
    assert (m["counts"]["documents"], m["counts"]["malformed"]) == (65, 2)
    assert m["errors"] == [
        {"source": "local.moje", "location": "a.jsonl:2", "line": 2, "reason": "not_object",
         "detail": "a JSON list, not an object"},
        {"source": "speakleash.gamma", "location": "line 2", "line": 2, "reason": "invalid_json",
         "detail": "Unterminated string starting at: line 1 column 10 (char 9)"},
        {"source": "speakleash.gamma", "location": "line 3", "line": 3, "reason": "empty",
         "id": "speakleash.gamma/000000003"},
    ]
    assert m["errors_not_listed"] == {}
    t = pq.read_table(work / "docs/wikipedia/part-00000.parquet")
    assert t.column_names == DOC_SCHEMA.names
    row = t.to_pylist()[0]
    assert (row["id"], row["source"], row["text"]) == ("wikipedia/0000000005", "wikipedia",
                                                       "Polska – państwo w Europie.")
    assert json.loads(row["meta"])["title"] == "Polska"
    gamma = pq.read_table(work / "docs/speakleash.gamma/part-00000.parquet").to_pylist()
    assert [(r["id"], json.loads(r["meta"])["quality"]) for r in gamma] == [("speakleash.gamma/000000001", "HIGH")]


def test_a_big_dataset_is_split_into_tasks_and_parts_by_lines(fetched):
    _, cfg, work = fetched
    tasks = [t for t in docs_phases.plan(_ctx(cfg, work)) if t["source"] == "speakleash.beta"]
    # ~778 characters a document, 4096 bytes a part -> 5 lines a part, 12 parts, 8 tasks at most.
    assert [(t["start_line"], t["end_line"]) for t in tasks] == \
        [(1, 10), (11, 20), (21, 30), (31, 40), (41, 50), (51, None)]
    m = run(DOCS, cfg, work).manifest
    assert m["parts"]["speakleash.beta"] == [f"part-{i:05d}.parquet" for i in range(12)]
    ids = pq.read_table(work / "docs/speakleash.beta/part-00003.parquet", columns=["id"]).column("id")
    assert ids.to_pylist() == [f"speakleash.beta/{n:09d}" for n in range(16, 21)]


def test_outputs_are_byte_identical_whatever_the_task_split_and_on_rerun(fetched):
    _, cfg, work = fetched
    run(DOCS, cfg, work)
    first = part_bytes(work)
    run(DOCS, cfg, work, force=True)
    assert part_bytes(work) == first
    one_task = {**cfg, "docs": cfg["docs"].model_copy(update={"max_tasks_per_source": 1})}
    run(DOCS, one_task, work)
    assert part_bytes(work) == first
    assert len([k for k in first if k.startswith("speakleash.beta/")]) == 12


def test_too_long_documents_are_counted_and_located(fetched):
    _, cfg, work = fetched
    short = {**cfg, "docs": cfg["docs"].model_copy(update={"max_doc_chars": 500})}
    m = run(DOCS, short, work).manifest
    assert m["counts"]["sources"]["speakleash.beta"] == {"dropped_too_long": 60}
    first = next(e for e in m["errors"] if e["reason"] == "too_long")
    assert first == {"source": "speakleash.beta", "location": "line 1", "line": 1, "reason": "too_long",
                     "detail": "778 characters", "id": "speakleash.beta/000000001"}
    assert not (work / "docs/speakleash.beta").exists()


def test_without_manifest_stats_parts_are_cut_by_bytes(mirror, tmp_path):
    from source_fixtures import write_dataset, write_index

    sl = mirror.root / "speakleash"
    write_dataset(sl, "beta", BETA, stats=False)
    write_index(sl, ["beta"])
    cfg = stage_config(mirror, {"fetch": {"wikipedia": {"enabled": False}}, "docs": {"part_bytes": 4096}})
    run(FETCH, cfg, tmp_path / "w")
    m = run(DOCS, cfg, tmp_path / "w").manifest
    # Each document is ~1140 UTF-8 bytes (778 characters, many of them Polish letters): a part
    # closes at its 4th document (>= 4096 bytes), so 60 documents make 15 parts.
    assert len(m["parts"]["speakleash.beta"]) == 15
    assert m["counts"]["sources"]["speakleash.beta"]["documents"] == 60


def _ctx(cfg, work):
    from kuznia.manifest import fingerprint
    from kuznia.stage import StageConfig, StageContext

    scfg = StageConfig.of(cfg, DOCS.config_keys)
    return StageContext("docs", "docs", work, scfg, fingerprint(DOCS, scfg, work))
