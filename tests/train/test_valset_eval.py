"""The val set per source and the scoring behind bits per byte: rolling windows that predict every
id once, batches that do not change the sums, budgets cut at character boundaries."""

from __future__ import annotations

import contextlib
import math
from dataclasses import replace

import pytest
import torch

from model.config import PRESETS
from model.llama import Llama
from train.data import DataError
from train.eval import evaluate_valset, llama_nll, score, summarize, windows
from train.valset import load_valset


def test_windows_predict_every_id_once_with_full_context():
    for n, context in ((1, 4), (4, 4), (5, 4), (11, 4), (9, 3)):
        seen = []
        for lo, end, m in windows(n, 1, context):
            assert end - 1 - lo <= context and m <= end - 1 - lo
            seen += list(range(end - m, end))  # positions of the start+ids sequence predicted
            if lo > 0:
                assert end - 1 - lo == context  # a later window sees a whole context before its ids
        assert seen == list(range(1, n + 1))


def test_batches_do_not_change_the_sums_and_match_the_model_loss():
    torch.manual_seed(0)
    model = Llama(PRESETS["tiny"]).eval()
    ctx = model.args.context_tokens
    g = torch.Generator().manual_seed(1)
    docs = [torch.randint(8, 500, (n,), generator=g).tolist() for n in (5, ctx - 1, ctx, 2 * ctx + 7, 1)]
    one = score(docs, start=[2], context=ctx, nll=llama_nll(model), device=torch.device("cpu"), batch_tokens=1)
    many = score(docs, start=[2], context=ctx, nll=llama_nll(model), device=torch.device("cpu"), batch_tokens=10**6)
    assert [t for _, t in one] == [len(d) for d in docs]
    for (a, _), (b, _) in zip(one, many):
        assert a == pytest.approx(b, rel=1e-5)
    x = torch.tensor([[2, *docs[1]]])  # one window: the model's own mean loss times the ids
    with torch.no_grad():
        assert one[1][0] == pytest.approx(float(model(x[:, :-1], x[:, 1:])) * len(docs[1]), rel=1e-5)


def test_summarize_adds_up_before_dividing():
    s = summarize(["a", "b", "a"], [10, 20, 5], [(1.0, 3), (2.0, 4), (0.5, 1)])
    assert s["sources"]["a"]["bpb"] == pytest.approx(1.5 / math.log(2) / 15, abs=1e-6)
    assert s["bpb"] == pytest.approx(3.5 / math.log(2) / 35, abs=1e-6) and s["tokens"] == 8 and s["texts"] == 3
    assert summarize(["a"], [None], [(1.0, 2)])["bpb"] is None  # no bytes, no bits per byte


def test_valset_per_source_budget_and_text(sourced_tokens):
    wd, texts, vocab, h = sourced_tokens
    first = len(texts[0].encode())
    budget = first + 10  # wiki: its first text whole, then 10 bytes of its second
    vs = load_valset(wd / "tokens", bytes_per_source=budget, tokenizer_json=wd / "tokenizer" / "tokenizer.json",
                     vocab_size=vocab, tokenizer_hash=h)
    assert vs.sources == ["forum", "manpages", "wiki"] and vs.no_val == ["manpages"]
    wiki = [t for t in vs.texts if t.source == "wiki"]
    assert wiki[0].text == texts[0] and wiki[1].text == texts[2].encode()[:10].decode("utf-8", "ignore")
    assert sum(t.n_bytes for t in wiki) <= budget and all(t.n_bytes == len(t.text.encode()) for t in vs.texts)
    assert vs.start_id == 2  # EOS precedes a document, as in training
    with pytest.raises(DataError, match=r"val split: .*val holds no token shards.*kuznia stage tokens"):
        load_valset(wd / "nowhere", bytes_per_source=10)


def test_evaluate_valset_reports_every_source(sourced_tokens):
    wd, _, vocab, h = sourced_tokens
    vs = load_valset(wd / "tokens", bytes_per_source=400, tokenizer_json=wd / "tokenizer" / "tokenizer.json",
                     vocab_size=vocab, tokenizer_hash=h)
    torch.manual_seed(0)
    model = Llama(replace(PRESETS["tiny"], vocab_size=vocab))
    r = evaluate_valset(model, vs, device=torch.device("cpu"), batch_tokens=256, autocast=contextlib.nullcontext)
    assert set(r["val_sources"]) == {"wiki", "forum"} and model.training
    assert r["val_bytes"] == sum(t.n_bytes for t in vs.texts)
    assert r["val_bpb"] == pytest.approx(r["val_loss"] * r["val_tokens"] / math.log(2) / r["val_bytes"], rel=1e-5)


def test_prompts_sampled_together_are_what_each_gives_alone():
    from train.generate import continue_ids

    torch.manual_seed(0)
    model = Llama(PRESETS["tiny"]).eval()
    prompts = [[2, 40, 41, 42], [2, 50], [2, 60, 61, 62, 63, 64, 65]]
    kw = dict(max_new_tokens=12, eos_id=None, temperature=0.8, top_k=50, top_p=0.95, seed=3)
    together = continue_ids(model, prompts, **kw)
    assert together == [continue_ids(model, [p], **kw)[0] for p in prompts]
    assert [len(t) - len(p) for t, p in zip(together, prompts)] == [12, 12, 12]
