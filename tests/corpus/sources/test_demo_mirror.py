"""The bundled demo mirror (data/demo), fetched over HTTP from 127.0.0.1 and parsed: every
malformed line planted by scripts/demo_data is counted at its place, and nothing else is."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from source_fixtures import MirrorServer, stage_config

from corpus.sources.stage import DOCS, FETCH
from kuznia.driver import run_stage
from kuznia.mappers import thread_mapper

DEMO = Path(__file__).resolve().parents[3] / "data" / "demo"
MALFORMED_REASONS = {"invalid_json", "invalid_utf8", "not_object", "no_text", "bad_meta", "empty_line"}


def _labels(kind: str) -> list[dict]:
    lines = (DEMO / "labels.jsonl").read_text("utf-8").splitlines()
    return [e for e in map(json.loads, filter(None, lines)) if e.get("kind") == kind]


def _where(entry: dict) -> tuple[str, int]:
    """(dataset, line) of a label: from `dataset` + `line`, or from a Speakleash document id."""
    if "dataset" in entry and "line" in entry:
        return entry["dataset"].removeprefix("speakleash."), int(entry["line"])
    dataset, _, line = entry["id"].removeprefix("speakleash.").partition("/")
    return dataset, int(line)


def test_demo_mirror_over_http_counts_every_planted_malformed_line(tmp_path):
    srv = MirrorServer(DEMO)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        cfg = stage_config(srv, {"docs": {"part_bytes": 1 << 20}})
        work = tmp_path / "work"
        f = run_stage(FETCH, cfg, work, mapper=thread_mapper(4), log=lambda _: None)
        m = run_stage(DOCS, cfg, work, log=lambda _: None).manifest
    finally:
        srv.shutdown()
        srv.server_close()
    index = json.loads((DEMO / "speakleash" / "speakleash.json").read_text("utf-8"))
    assert len(index) >= 5
    assert sorted(f.manifest["sources"]) == sorted([f"speakleash.{e['name']}" for e in index] + ["wikipedia"])
    assert f.manifest["sources"]["wikipedia"]["checksum"].startswith("sha1 ")

    planted = {_where(e) for e in _labels("malformed")}
    assert planted, "labels.jsonl lists no malformed lines"
    found = {(e["source"].removeprefix("speakleash."), e["line"]) for e in m["errors"]
             if e["reason"] in MALFORMED_REASONS}
    assert found == planted
    assert m["counts"]["malformed"] == len(planted)
    assert m["errors_not_listed"] == {}
    for kind, counter in (("non_article", "dropped_wiki_non_article"), ("redirect", "dropped_wiki_redirect")):
        labelled = _labels(kind)
        if labelled:
            assert m["counts"]["sources"]["wikipedia"][counter] == len(labelled)
    assert m["counts"]["documents"] > 0
