"""The LR schedule and the data windows: values, order, resumable position, refusals."""

from __future__ import annotations

import pytest
import torch
from train_fixtures import HASH, VOCAB, write_split

from tokenizer.shards import ShardFormatError
from train.data import DataError, TokenStream, WindowLoader
from train.schedule import lr_at


def test_schedule_apt3_recipe_points():
    kw = dict(lr=2e-4, min_lr=2e-5, warmup_steps=1000, max_steps=28900)
    assert lr_at(0, **kw) == pytest.approx(2e-7)
    assert lr_at(499, **kw) == pytest.approx(1e-4)
    assert lr_at(999, **kw) == pytest.approx(2e-4)
    assert lr_at(1000, **kw) == pytest.approx(2e-4)
    mid = 1000 + (28899 - 1000) / 2
    assert lr_at(int(mid), **kw) == pytest.approx(1.1e-4, rel=1e-4)
    assert lr_at(28899, **kw) == pytest.approx(2e-5)
    assert lr_at(40000, **kw) == pytest.approx(2e-5)
    values = [lr_at(s, **kw) for s in range(1000, 28900, 100)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_schedule_without_warmup():
    assert lr_at(0, lr=1.0, min_lr=0.0, warmup_steps=0, max_steps=3) == 1.0
    assert lr_at(1, lr=1.0, min_lr=0.0, warmup_steps=0, max_steps=3) == pytest.approx(0.5)
    assert lr_at(2, lr=1.0, min_lr=0.0, warmup_steps=0, max_steps=3) == pytest.approx(0.0, abs=1e-12)


def _stream_dir(tmp_path, docs, shard_tokens):
    write_split(tmp_path / "train", docs, shard_tokens=shard_tokens)
    return tmp_path / "train"


def test_stream_reads_across_shards_with_eos_between_documents(tmp_path):
    d = _stream_dir(tmp_path, [[10, 11, 12], [13, 14], [15, 16, 17, 18]], shard_tokens=3)
    stream = TokenStream(d)
    assert [s.n_tokens for s in stream.shards] == [4, 3, 5]
    assert stream.read(0, 12).tolist() == [10, 11, 12, 2, 13, 14, 2, 15, 16, 17, 18, 2]
    assert stream.read(3, 5).tolist() == [2, 13, 14, 2, 15]
    with pytest.raises(IndexError):
        stream.read(10, 3)


def test_windows_cover_stream_and_shift_targets(tmp_path):
    docs = [[10 + i] * 4 for i in range(10)]  # 50 tokens with EOS
    loader = WindowLoader(_stream_dir(tmp_path, docs, 7), context_tokens=8, micro_batch_size=3, seed=1,
                          shuffle=False)
    assert loader.n_windows == (50 - 1) // 8
    x, y = loader.next_batch()
    assert x.shape == y.shape == (3, 8) and x.dtype == torch.int64
    assert torch.equal(x[:, 1:], y[:, :-1])
    flat = loader.stream.read(0, 25)
    assert x[1].tolist() == flat[8:16].tolist() and y[2].tolist() == flat[17:25].tolist()


def test_seeded_order_is_a_permutation_and_resumes_exactly(tmp_path):
    d = _stream_dir(tmp_path, [list(range(8, 40))] * 20, 200)
    a = WindowLoader(d, context_tokens=16, micro_batch_size=2, seed=5)
    first = [a.next_batch()[0] for _ in range(a.n_windows)]  # two epochs' worth
    b = WindowLoader(d, context_tokens=16, micro_batch_size=2, seed=5)
    for _ in range(7):
        b.next_batch()
    state = b.state_dict()
    c = WindowLoader(d, context_tokens=16, micro_batch_size=2, seed=5)
    c.load_state_dict(state)
    rest = [c.next_batch()[0] for _ in range(a.n_windows - 7)]
    assert all(torch.equal(p, q) for p, q in zip(first[7:], rest))
    assert a.epoch == 1 and c.epoch == 1
    other = WindowLoader(d, context_tokens=16, micro_batch_size=2, seed=6)
    assert not torch.equal(torch.cat(first[:3]), torch.cat([other.next_batch()[0] for _ in range(3)]))


def test_position_from_other_data_is_refused(tmp_path):
    d = _stream_dir(tmp_path, [list(range(8, 40))] * 20, 200)
    loader = WindowLoader(d, context_tokens=16, micro_batch_size=2, seed=5)
    state = {**loader.state_dict(), "n_tokens": 123}
    with pytest.raises(DataError, match=r"checkpoint x was saved at a data position over n_tokens=123, but now "
                                        r"n_tokens=660 .*train.resume=no"):
        loader.load_state_dict(state, where="checkpoint x")


def test_too_short_split_is_a_clear_error(tmp_path):
    d = _stream_dir(tmp_path, [[10, 11]], 100)
    with pytest.raises(DataError, match=r"holds 3 tokens, fewer than one window of context \+ 1 = 9"):
        WindowLoader(d, context_tokens=8, micro_batch_size=1, seed=0)


def test_shards_with_another_vocabulary_are_refused(tmp_path):
    d = _stream_dir(tmp_path, [[10, 11]] * 5, 100)
    with pytest.raises(ShardFormatError, match=rf"shard-00000 was written with vocabulary {VOCAB} / tokenizer "
                                               r"ffffffffffff…, but the tokenizer has 400 / ffffffffffff…"):
        WindowLoader(d, context_tokens=4, micro_batch_size=1, seed=0, vocab_size=400, tokenizer_hash=HASH)
