"""Helpers for the train tests: token shards, a tiny BPE tokenizer, tiny configs (fixtures in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from model.config import ModelSection
from tokenizer.shards import ShardWriter
from train.config import TrainConfig

# One thread: tiny matmuls on a shared 2-core machine run ~20x faster without OpenMP contention.
torch.set_num_threads(1)

VOCAB = 512
HASH = "f" * 32
SPECIALS = ["<unk>", "<s>", "</s>", "<pad>"] + [f"<reserved_{i}>" for i in range(4)]
EOS = 2

TEXTS = [
    "Najważniejszym celem człowieka na ziemi jest życie w pokoju, harmonii i miłości.",
    "Zażółć gęślą jaźń. Pchnąć w tę łódź jeża lub ośm skrzyń fig.",
    "Polska jest krajem w Europie Środkowej, a jej stolicą jest Warszawa.",
    "Wisła jest najdłuższą rzeką w Polsce i płynie przez Kraków oraz Warszawę.",
    "Dla każdego z nas bardzo ważne jest, aby otaczać się kochanymi osobami.",
] * 4


def write_split(split_dir: Path, docs: list[list[int]], *, vocab_size: int = VOCAB, tok_hash: str = HASH,
                shard_tokens: int = 4000, sources: list[str] | None = None) -> list[dict]:
    """Write documents (EOS appended here) as shards of a split, with their sources if given."""
    w = ShardWriter(split_dir, vocab_size=vocab_size, tokenizer_hash=tok_hash, shard_tokens=shard_tokens)
    for i, d in enumerate(docs):
        w.add([*d, EOS], source=sources[i] if sources else None)
    return w.close()


def pattern_docs(n_docs: int, seed: int, vocab_size: int = VOCAB) -> list[list[int]]:
    """Documents of a learnable pattern: arithmetic runs with a per-document start and stride."""
    rng = np.random.default_rng(seed)
    docs = []
    for _ in range(n_docs):
        start, stride, n = int(rng.integers(0, 100)), int(rng.integers(1, 4)), int(rng.integers(20, 80))
        docs.append([8 + (start + stride * j) % (vocab_size - 8) for j in range(n)])
    return docs


def tiny_model() -> ModelSection:
    return ModelSection(preset="tiny")


def tiny_train(**overrides) -> TrainConfig:
    base = dict(micro_batch_size=2, grad_accum_steps=2, max_steps=6, warmup_steps=2, lr=3e-3, min_lr=3e-4,
                device="cpu", dtype="float32", eval_every_steps=3, eval_bytes_per_source=256, checkpoint_every_steps=2,
                keep_checkpoints=2, log_every_steps=1, seed=7,
                report=False)  # the report is tested where it is the subject (test_train_observe.py)
    base.update(overrides)
    return TrainConfig(**base)


def build_tokenizer(out_dir: Path, vocab_size: int = 400) -> Path:
    """A tiny byte-fallback BPE in the layout our tokenizer uses: `<unk> <s> </s> <pad>` at 0-3,
    four reserved tokens at 4-7, the 256 byte tokens, then the merges; plus the HF files that
    let `PreTrainedTokenizerFast` / `AutoTokenizer` load it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    pre = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    scratch = Tokenizer(models.BPE(unk_token="<unk>"))
    scratch.pre_tokenizer = pre
    scratch.train_from_iterator(TEXTS, trainers.BpeTrainer(vocab_size=vocab_size - 256, special_tokens=SPECIALS,
                                                           show_progress=False))
    trained = json.loads(scratch.to_str())["model"]
    vocab = {t: i for i, t in enumerate(SPECIALS)}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for t, _ in sorted(trained["vocab"].items(), key=lambda kv: kv[1]):
        if t not in vocab:
            vocab[t] = len(vocab)
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in trained["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True))
    tok.pre_tokenizer = pre
    # LLaMA's decoder chain: spaces back, bytes joined into characters, the first space dropped.
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens(SPECIALS)
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    names = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
    (out_dir / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 64,
         "clean_up_tokenization_spaces": False, **names}, indent=2))
    (out_dir / "special_tokens_map.json").write_text(json.dumps(names, indent=2))
    return out_dir
