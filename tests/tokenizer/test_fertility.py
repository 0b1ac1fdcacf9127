"""Fertility counts and ratios, and the shard cutting rule shared with `ShardWriter`."""

from __future__ import annotations

import numpy as np
import pytest

from tokenizer.fertility import count_texts, format_table, summarize, with_ratios
from tokenizer.shards import ShardWriter
from tokenizer.rolling import RollingShards


class FakeEncoding:
    def __init__(self, ids):
        self.ids = ids


class CharTokenizer:
    """One token per character: makes expected counts obvious."""

    encode_special_tokens = False

    def encode_batch(self, texts, add_special_tokens=False):
        return [FakeEncoding(list(range(len(t)))) for t in texts]


def test_count_texts_counts_words_chars_bytes_tokens():
    counts = count_texts(CharTokenizer(), ["Zażółć gęślą", "  jaźń\n", ""], batch_docs=2)
    assert counts == {"docs": 3, "words": 3, "chars": 12 + 7, "bytes": 19 + 9, "tokens": 19}


def test_ratios_and_summary():
    per_source = {"b": {"docs": 1, "words": 10, "chars": 60, "bytes": 66, "tokens": 16},
                  "a": {"docs": 0, "words": 0, "chars": 0, "bytes": 0, "tokens": 0}}
    s = summarize(per_source)
    assert list(s["sources"]) == ["a", "b"]
    assert s["sources"]["b"]["tokens_per_word"] == 1.6 and s["sources"]["b"]["chars_per_token"] == 3.75
    assert s["sources"]["a"]["tokens_per_word"] is None
    assert s["all"] == with_ratios({"docs": 1, "words": 10, "chars": 60, "bytes": 66, "tokens": 16})
    table = format_table(s).splitlines()
    assert table[0].split() == ["source", "docs", "words", "tok/word", "chars/tok"]
    assert table[1].split() == ["a", "0", "0", "-", "-"]
    assert table[3].split() == ["all", "1", "10", "1.600", "3.750"]


@pytest.mark.parametrize("budget", [1, 7, 10, 25, 1000])
def test_rolling_shards_match_shard_writer_byte_for_byte(tmp_path, budget):
    rng = np.random.default_rng(0)
    docs = [rng.integers(0, 50, rng.integers(1, 9)).astype(np.uint16) for _ in range(40)]
    with ShardWriter(tmp_path / "a", vocab_size=50, tokenizer_hash="h", shard_tokens=budget) as w:
        w.add_many(docs)
    ours = RollingShards(tmp_path / "b", vocab_size=50, tokenizer_hash="h", shard_tokens=budget)
    for i in range(0, 40, 6):  # arrive in uneven groups, as buckets do
        group = docs[i : i + 6]
        ours.add(np.concatenate(group), np.array([d.size for d in group], np.uint64))
    records = ours.close()
    a, b = sorted((tmp_path / "a").iterdir()), sorted((tmp_path / "b").iterdir())
    assert [p.name for p in a] == [p.name for p in b] and len(records) == len(a) // 3
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b))
