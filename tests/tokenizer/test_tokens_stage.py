"""The tokens stage: every document once, EOS after each, split and shuffle by id hash,
counts that add up, byte-identical reruns, and shards refused under another tokenizer."""

from __future__ import annotations

import json
import shutil
import unicodedata

import numpy as np
import pyarrow.parquet as pq
import pytest
from tokenizer_fixtures import copy_stages, make_config

from kuznia.driver import run_stage
from kuznia.files import file_checksum, punch_hole, read_json, write_json_atomic
from tokenizer.bpe import load_tokenizer
from tokenizer.sample import unit_hash
from tokenizer.shards import ShardFormatError, list_shards, open_shard
from tokenizer.stage import TOKENIZER as TOKENIZER_SPEC
from tokenizer.stage import TOKENS as SPEC
from tokenizer.tokens import encode_documents, open_split, order_key

QUIET = {"log": lambda _: None}


@pytest.fixture(scope="module")
def tokens(trained, tmp_path_factory):
    wd = copy_stages(trained[0], tmp_path_factory.mktemp("tokens"), "corpus", "tokenizer")
    result = run_stage(SPEC, make_config(), wd, **QUIET)
    return wd, trained[1], result.manifest


def _shard_bytes(wd) -> dict[str, bytes]:
    return {p.relative_to(wd / "tokens").as_posix(): p.read_bytes()
            for p in sorted((wd / "tokens").glob("*/shard-*")) if p.is_file()}


def _docs(wd, split) -> list[np.ndarray]:
    return [s.doc(i) for s in open_split(wd, split) for i in range(len(s))]


def test_counts_add_up_to_the_manifest(tokens):
    wd, docs, m = tokens
    all_docs = [(i, t) for src in docs.values() for i, t in src]
    for split in ("train", "val"):
        shards = open_split(wd, split)
        assert m["splits"][split]["tokens"] == sum(s.n_tokens for s in shards)
        assert m["splits"][split]["tokens"] == m["counts"][f"{split}_tokens"]
        assert m["splits"][split]["docs"] == sum(s.n_docs for s in shards) == m["counts"][f"{split}_docs"]
        assert sum(src[split]["tokens"] for src in m["sources"].values()) == m["splits"][split]["tokens"]
        assert len(shards) == m["counts"][f"{split}_shards"] == len(m["splits"][split]["shards"])
    assert m["counts"]["train_docs"] + m["counts"]["val_docs"] == len(all_docs) - 1
    assert m["counts"]["dropped_empty"] == 1 and m["dropped"]["empty"]["speakleash.news"] == 1
    assert m["sources"]["wikipedia"]["train"]["docs"] + m["sources"]["wikipedia"]["val"]["docs"] == 120
    assert (m["vocab_size"], m["eos_id"], m["bos_id"], m["pad_id"]) == (1000, 2, 1, 3)
    assert m["counts"]["train_shards"] > 3 and m["counts"]["val_shards"] >= 1


def test_every_document_once_with_eos_in_seeded_hash_order(tokens):
    wd, docs, _ = tokens
    tok = load_tokenizer(wd / "tokenizer")
    by_id = {i: t for src in docs.values() for i, t in src if t}
    for split in ("train", "val"):
        want_ids = sorted((i for i in by_id if (unit_hash(1234, "val", i) < 0.1) == (split == "val")),
                          key=lambda i: order_key(1234, i))
        got = _docs(wd, split)
        assert len(got) == len(want_ids)
        for doc_id, d in zip(want_ids, got):
            assert int(d[-1]) == 2 and 2 not in d[:-1].tolist()
            assert tok.decode(d[:-1].tolist()) == unicodedata.normalize("NFC", by_id[doc_id])


def test_shards_close_at_the_first_document_past_the_budget(tokens):
    wd, _, _ = tokens
    shards = open_split(wd, "train")
    for s in shards[:-1]:
        longest = max(int(n) for n in np.diff(s.offsets))
        assert 20_000 <= s.n_tokens < 20_000 + longest
    assert shards[-1].n_tokens <= 20_000 + max(int(n) for n in np.diff(shards[-1].offsets))


def test_outputs_are_the_shards_and_work_files_stay_for_reruns(tokens):
    wd, _, m = tokens
    assert any((wd / "tokens" / "_work").rglob("*.npy"))  # kept for reruns, not an output
    paths = {o["path"] for o in m["outputs"]}
    assert paths == set(_shard_bytes(wd))
    assert {p.split("/")[0] for p in paths} == {"train", "val"}


def test_without_keep_work_the_work_files_are_removed(tokens, tmp_path):
    wd, _, _ = tokens
    other = copy_stages(wd, tmp_path, "corpus", "tokenizer")
    run_stage(SPEC, make_config(tokens={"keep_work": False}), other, **QUIET)
    assert not (other / "tokens" / "_work").exists()
    assert _shard_bytes(other) == _shard_bytes(wd)


def test_a_write_killed_after_releasing_encode_files_is_encoded_again(tokens, tmp_path):
    """Without keep_work the write phase frees the encode files as it reads them and takes the
    outputs off their encode markers first; a write killed then leaves files with holes, which a rerun must not
    read: it encodes again and writes the same shards."""
    wd, _, _ = tokens
    other = copy_stages(wd, tmp_path, "corpus", "tokenizer", "tokens")
    tasks = other / "tokens" / "_tasks"
    work = sorted((other / "tokens" / "_work").rglob("*tokens*"))
    assert work and sorted((tasks / "encode").glob("*.json"))
    for p in work:  # what a killed write leaves: released blocks, no encode markers, no shards
        assert punch_hole(p, 0, p.stat().st_size)
        assert not p.read_bytes().strip(b"\0")
    for m in (tasks / "encode").glob("*.json"):
        write_json_atomic(m, {k: v for k, v in read_json(m).items() if k != "outputs"})
    for m in (tasks / "write").glob("*.json"):
        m.unlink()
    for split in ("train", "val"):
        shutil.rmtree(other / "tokens" / split)
    (other / "tokens" / "_manifest.json").unlink()
    run_stage(SPEC, make_config(tokens={"keep_work": False}), other, **QUIET)
    assert _shard_bytes(other) == _shard_bytes(wd)
    markers = [read_json(m) for m in (tasks / "encode").glob("*.json")]
    assert markers and all("outputs" not in m and m["released"] for m in markers)  # never reused


def test_a_changed_corpus_part_re_encodes_only_that_part(tokens, tmp_path):
    wd, _, _ = tokens
    other = copy_stages(wd, tmp_path, "corpus", "tokenizer", "tokens")
    parts = sorted((other / "corpus").glob("*/part-*.parquet"))
    assert len(parts) >= 2
    table = pq.read_table(parts[0])
    pq.write_table(table.slice(0, table.num_rows - 1), parts[0])  # one document fewer
    m = read_json(other / "corpus" / "_manifest.json")  # the corpus stage's view of its outputs
    m["outputs"] = [{"path": p.relative_to(other / "corpus").as_posix(), "bytes": p.stat().st_size,
                     "checksum": file_checksum(p)} for p in parts]
    m.pop("content", None)
    write_json_atomic(other / "corpus" / "_manifest.json", m)
    logs = []
    res = run_stage(SPEC, make_config(), other, log=logs.append)
    assert not res.skipped
    assert f"[tokens] encode: reusing {len(parts) - 1} finished task(s) of {len(parts)}" in logs
    c = res.manifest["counts"]
    assert c["train_docs"] + c["val_docs"] + c["dropped_empty"] == sum(pq.read_metadata(p).num_rows for p in parts)


def test_rerun_with_other_batching_is_byte_identical(tokens, tmp_path):
    wd, _, _ = tokens
    other = copy_stages(wd, tmp_path, "corpus", "tokenizer")
    cfg = make_config(tokens={"parts_per_task": 2, "bucket_tokens": 7_000, "batch_docs": 7})
    run_stage(SPEC, cfg, other, **QUIET)
    assert _shard_bytes(other) == _shard_bytes(wd)


def test_rerun_in_worker_processes_is_byte_identical(tokens, tmp_path):
    from kuznia.mappers import process_mapper

    wd, _, _ = tokens
    other = copy_stages(wd, tmp_path, "corpus", "tokenizer")
    run_stage(SPEC, make_config(), other, mapper=process_mapper(2), **QUIET)
    assert _shard_bytes(other) == _shard_bytes(wd)


def test_another_seed_shuffles_differently(tokens, tmp_path):
    wd, _, m = tokens
    other = copy_stages(wd, tmp_path, "corpus", "tokenizer")
    m2 = run_stage(SPEC, make_config(tokens={"seed": 99}), other, **QUIET).manifest
    assert m2["counts"]["train_tokens"] + m2["counts"]["val_tokens"] == \
        m["counts"]["train_tokens"] + m["counts"]["val_tokens"]
    assert _shard_bytes(other) != _shard_bytes(wd)


def test_reader_refuses_shards_of_another_tokenizer(tokens, tmp_path):
    wd, _, _ = tokens
    other = copy_stages(wd, tmp_path, "corpus", "tokens")
    run_stage(TOKENIZER_SPEC, make_config(tokenizer={"vocab_size": 900}), other, **QUIET)
    with pytest.raises(ShardFormatError, match=r"vocabulary 1000 .* tokenizer has 900 .*"
                                               r"rebuild the shards: `kuznia stage tokens --force`"):
        open_split(other, "train")


def test_reader_refuses_shards_after_the_tokenizer_file_changed(tokens, tmp_path):
    wd, _, _ = tokens
    other = copy_stages(wd, tmp_path, "tokenizer", "tokens")
    path = other / "tokenizer" / "tokenizer.json"
    path.write_text(json.dumps(json.loads(path.read_text("utf-8"))), "utf-8")  # same model, other bytes
    with pytest.raises(ShardFormatError, match="kuznia stage tokens --force"):
        open_split(other, "val")
    prefix = list_shards(other / "tokens" / "val")[0]
    assert open_shard(prefix, vocab_size=1000).n_docs > 0  # the shard itself is intact


def test_encode_documents_appends_eos_after_each(trained):
    tok = load_tokenizer(trained[0] / "tokenizer")
    texts = ["Ala ma kota.", "x", " 😀 "]
    flat, lengths = encode_documents(tok, 2, texts)
    want = [i for t in texts for i in [*tok.encode(t, add_special_tokens=False).ids, 2]]
    assert flat.dtype == np.uint16 and flat.tolist() == want
    assert lengths == [len(tok.encode(t, add_special_tokens=False).ids) + 1 for t in texts]


def test_tokens_needs_the_tokenizer_stage(trained, tmp_path):
    from kuznia.stage import StageError

    wd = copy_stages(trained[0], tmp_path, "corpus")
    with pytest.raises(StageError, match="run `kuznia stage tokenizer` first"):
        run_stage(SPEC, make_config(), wd, **QUIET)


def test_manifest_ids_match_the_tokenizer_manifest(tokens):
    wd, _, m = tokens
    tm = read_json(wd / "tokenizer" / "_manifest.json")
    assert {k: m[k] for k in ("eos_id", "bos_id", "pad_id", "unk_id", "vocab_size")} == \
        {k: tm[k] for k in ("eos_id", "bos_id", "pad_id", "unk_id", "vocab_size")}
