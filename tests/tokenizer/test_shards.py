"""The token shard format: round trips, the writer's shard budget, and every refusal."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tokenizer.shards import (
    FORMAT_VERSION,
    MAGIC,
    ShardFormatError,
    ShardHeader,
    ShardWriter,
    list_shards,
    open_shard,
    tokenizer_hash,
    write_shard,
)

HASH = "0123456789abcdef0123456789abcdef"


def _write(tmp_path, name="shard-00000", docs=([1, 2, 3], [4, 5], [6])):
    tokens = np.concatenate([np.asarray(d) for d in docs])
    offsets = np.cumsum([0, *[len(d) for d in docs]])
    return tmp_path / name, write_shard(tmp_path / name, tokens, offsets, vocab_size=10, tokenizer_hash=HASH)


def test_write_and_open_round_trip(tmp_path):
    prefix, paths = _write(tmp_path)
    assert [p.name for p in paths] == ["shard-00000.npy", "shard-00000.idx.npy", "shard-00000.json"]
    shard = open_shard(prefix, vocab_size=10, tokenizer_hash=HASH)
    assert shard.header == ShardHeader(vocab_size=10, tokenizer_hash=HASH, n_tokens=6, n_docs=3)
    assert shard.tokens.dtype == np.uint16 and isinstance(shard.tokens, np.memmap)
    assert not shard.tokens.flags.writeable
    assert shard.offsets.dtype == np.uint64 and shard.offsets.tolist() == [0, 3, 5, 6]
    assert [shard.doc(i).tolist() for i in range(len(shard))] == [[1, 2, 3], [4, 5], [6]]
    assert shard.doc(-1).tolist() == [6]
    with pytest.raises(IndexError, match="document 3 out of range"):
        shard.doc(3)
    header = json.loads((tmp_path / "shard-00000.json").read_text())
    assert header == {"dtype": "uint16", "magic": MAGIC, "n_docs": 3, "n_tokens": 6,
                      "tokenizer_hash": HASH, "version": FORMAT_VERSION, "vocab_size": 10}
    # np.save format: plain numpy can read it too.
    assert np.load(tmp_path / "shard-00000.npy").tolist() == [1, 2, 3, 4, 5, 6]


def test_rewrite_is_byte_identical(tmp_path):
    _, paths = _write(tmp_path)
    first = [p.read_bytes() for p in paths]
    _, paths = _write(tmp_path)
    assert [p.read_bytes() for p in paths] == first
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize(
    ("tokens", "offsets", "message"),
    [
        ([1, 2, 10], [0, 3], r"must lie in \[0, 10\).*max 10"),
        ([1, -1], [0, 2], r"min -1"),
        ([1.0, 2.0], [0, 2], "must be integers"),
        ([1, 2, 3], [0, 2], "end at n_tokens=3"),
        ([1, 2, 3], [1, 3], "start at 0"),
        ([1, 2, 3], [0, 2, 1, 3], r"offsets\[2\]=1 < offsets\[1\]=2"),
    ],
)
def test_write_shard_validates(tmp_path, tokens, offsets, message):
    with pytest.raises(ShardFormatError, match=message):
        write_shard(tmp_path / "s", np.asarray(tokens), np.asarray(offsets), vocab_size=10, tokenizer_hash=HASH)
    assert list(tmp_path.iterdir()) == []


def test_vocab_over_uint16_is_refused(tmp_path):
    with pytest.raises(ShardFormatError, match="does not fit the uint16"):
        write_shard(tmp_path / "s", np.asarray([1]), np.asarray([0, 1]), vocab_size=70000, tokenizer_hash=HASH)


def test_writer_budget_never_splits_documents(tmp_path):
    w = ShardWriter(tmp_path, vocab_size=100, tokenizer_hash=HASH, shard_tokens=5, prefix="part-00002")
    w.add([1, 2, 3])  # 3 tokens: below budget
    w.add(np.array([4, 5, 6, 7], dtype=np.int64))  # 7 >= 5: shard 0 closes with both docs
    w.add_many([[8] * 9, [9, 9]])  # one over-budget doc alone, then a partial
    records = w.close()
    assert records == [
        {"path": str(tmp_path / "part-00002-00000"), "n_tokens": 7, "n_docs": 2},
        {"path": str(tmp_path / "part-00002-00001"), "n_tokens": 9, "n_docs": 1},
        {"path": str(tmp_path / "part-00002-00002"), "n_tokens": 2, "n_docs": 1},
    ]
    assert w.close() == records  # idempotent
    prefixes = list_shards(tmp_path)
    assert [p.name for p in prefixes] == ["part-00002-00000", "part-00002-00001", "part-00002-00002"]
    docs = [open_shard(p).doc(i).tolist() for p in prefixes for i in range(open_shard(p).n_docs)]
    assert docs == [[1, 2, 3], [4, 5, 6, 7], [8] * 9, [9, 9]]
    with pytest.raises(RuntimeError, match="is closed"):
        w.add([1])


def test_writer_refuses_empty_and_out_of_range_documents(tmp_path):
    w = ShardWriter(tmp_path, vocab_size=100, tokenizer_hash=HASH, shard_tokens=5)
    with pytest.raises(ShardFormatError, match=r"shard-00000 \(document 0\): empty document; append EOS"):
        w.add([])
    with pytest.raises(ShardFormatError, match=r"\(document 0\).*max 100"):
        w.add([100])
    assert w.close() == []
    assert list_shards(tmp_path) == []


def test_writer_context_manager_drops_partial_shard_on_error(tmp_path):
    with pytest.raises(KeyError), ShardWriter(tmp_path, vocab_size=100, tokenizer_hash=HASH, shard_tokens=50) as w:
        w.add([1, 2])
        raise KeyError("boom")
    assert list(tmp_path.iterdir()) == []
    with ShardWriter(tmp_path, vocab_size=100, tokenizer_hash=HASH, shard_tokens=50) as w:
        w.add([1, 2])
    assert [p.name for p in list_shards(tmp_path)] == ["shard-00000"]


def test_mismatched_tokenizer_message(tmp_path):
    prefix, _ = _write(tmp_path)
    with pytest.raises(ShardFormatError) as e:
        open_shard(prefix, vocab_size=9, tokenizer_hash="fedcba9876543210")
    assert str(e.value) == (
        f"{prefix} was written with vocabulary 10 / tokenizer 0123456789ab…, but the tokenizer has "
        "9 / fedcba987654…; rebuild the shards: `kuznia stage tokens --force`"
    )
    with pytest.raises(ShardFormatError, match="tokenizer 0123456789ab…, but the tokenizer has 10 / other"):
        open_shard(prefix, tokenizer_hash="other")


def test_open_detects_missing_header(tmp_path):
    prefix, paths = _write(tmp_path)
    paths[2].unlink()
    with pytest.raises(ShardFormatError, match="header shard-00000.json is missing"):
        open_shard(prefix)
    assert list_shards(tmp_path) == []


def test_open_detects_truncated_tokens(tmp_path):
    prefix, paths = _write(tmp_path)
    data = paths[0].read_bytes()
    paths[0].write_bytes(data[:-4])
    with pytest.raises(ShardFormatError, match=r"shard-00000.npy is corrupt or truncated.*--force"):
        open_shard(prefix)


def test_open_detects_header_count_mismatch(tmp_path):
    prefix, paths = _write(tmp_path)
    header = json.loads(paths[2].read_text())
    paths[2].write_text(json.dumps({**header, "n_tokens": 7}))
    with pytest.raises(ShardFormatError, match="holds 6 tokens but the header says 7"):
        open_shard(prefix)
    paths[2].write_text(json.dumps({**header, "n_docs": 2}))
    with pytest.raises(ShardFormatError, match="but the header says 2 documents"):
        open_shard(prefix)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"magic": "other"}, "is not a token shard header"),
        ({"version": 99}, "format version 99"),
        ({"dtype": "uint32"}, "token dtype 'uint32'"),
    ],
)
def test_open_checks_header_identity(tmp_path, patch, message):
    prefix, paths = _write(tmp_path)
    header = json.loads(paths[2].read_text())
    paths[2].write_text(json.dumps({**header, **patch}))
    with pytest.raises(ShardFormatError, match=message):
        open_shard(prefix)


def test_open_detects_wrong_array_dtype(tmp_path):
    prefix, paths = _write(tmp_path)
    np.save(paths[1], np.asarray([0, 3, 5, 6], dtype=np.int32))
    with pytest.raises(ShardFormatError, match="holds int32, expected uint64"):
        open_shard(prefix)


def test_list_shards_sorted_and_ignores_others(tmp_path):
    _write(tmp_path, "shard-00001")
    _write(tmp_path, "shard-00000")
    (tmp_path / "_manifest.json").write_text("{}")
    (tmp_path / ".shard-00002.json.tmp-1").write_text("{}")
    assert [p.name for p in list_shards(tmp_path)] == ["shard-00000", "shard-00001"]
    assert list_shards(tmp_path / "missing") == []


def test_tokenizer_hash(tmp_path):
    p = tmp_path / "tokenizer.json"
    p.write_bytes(b'{"model": {}}')
    h = tokenizer_hash(p)
    assert len(h) == 32 and h == tokenizer_hash(p)
    p.write_bytes(b'{"model": {} }')
    assert tokenizer_hash(p) != h
    with pytest.raises(FileNotFoundError, match="kuznia stage tokenizer"):
        tokenizer_hash(tmp_path / "nope.json")
