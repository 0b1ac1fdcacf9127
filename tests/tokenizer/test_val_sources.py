"""Val shards record each document's source (per-source val figures), checked on read; train shards
are as before; every source gets val documents even when the hash draw gives it none."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from tokenizer_fixtures import copy_stages, make_config

from kuznia.driver import run_stage
from tokenizer.shards import ShardFormatError, ShardWriter, list_shards, open_shard, write_shard
from tokenizer.stage import TOKENS as SPEC


def test_sources_round_trip_and_the_reader_checks_them(tmp_path):
    names = ("forum", "wiki")
    write_shard(tmp_path / "s", np.arange(10, 16), [0, 2, 5, 6], vocab_size=100, tokenizer_hash="h",
                doc_sources=(np.array([1, 0, 1], np.uint16), names))
    shard = open_shard(tmp_path / "s", vocab_size=100, tokenizer_hash="h")
    assert shard.header.sources == names and shard.source_ids.tolist() == [1, 0, 1]
    np.save(tmp_path / "s.src.npy", np.array([1, 0], np.uint16))  # one entry short
    with pytest.raises(ShardFormatError, match=r"document sources must be 3 uint16 indexes into the 2 source names"
                                               r".*kuznia stage tokens --force"):
        open_shard(tmp_path / "s")
    np.save(tmp_path / "s.src.npy", np.array([1, 0, 2], np.uint16))  # past the names
    with pytest.raises(ShardFormatError, match="document sources must be"):
        open_shard(tmp_path / "s")
    (tmp_path / "s.src.npy").unlink()
    with pytest.raises(ShardFormatError, match=r"s.src.npy is missing"):
        open_shard(tmp_path / "s")
    w = ShardWriter(tmp_path / "w", vocab_size=100, tokenizer_hash="h", shard_tokens=1000)
    w.add([10, 2], source="wiki")
    with pytest.raises(ShardFormatError, match="some documents have a source and some do not"):
        w.add([11, 2])
        w.close()


def test_val_shards_name_sources_and_every_source_gets_val_docs(trained, tmp_path):
    wd = copy_stages(trained[0], tmp_path, "corpus", "tokenizer")
    # 0.5 % of 120 wikipedia documents: the hash draw alone may leave a source without any
    m = run_stage(SPEC, make_config(tokens={"val_fraction": 0.005}), wd, log=lambda _: None).manifest
    got = Counter()
    for prefix in list_shards(wd / "tokens" / "val"):
        shard = open_shard(prefix)
        got.update(shard.header.sources[i] for i in shard.source_ids.tolist())
    assert dict(got) == {s: c["val"]["docs"] for s, c in m["sources"].items()}
    assert all(c["val"]["docs"] >= 1 for c in m["sources"].values())
    for prefix in list_shards(wd / "tokens" / "train"):  # train shards: the format without sources
        assert "sources" not in json.loads(prefix.with_name(prefix.name + ".json").read_text())
        assert not prefix.with_name(prefix.name + ".src.npy").exists()
    floor_off = run_stage(SPEC, make_config(tokens={"val_fraction": 0.005, "val_min_docs": 0}), wd,
                          log=lambda _: None).manifest
    drawn = {s: c["val"]["docs"] for s, c in floor_off["sources"].items()}
    assert 0 in drawn.values()  # the case the floor is for
    assert {s: m["sources"][s]["val"]["docs"] for s in drawn} == {s: max(1, n) for s, n in drawn.items()}
