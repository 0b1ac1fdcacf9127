"""A model from elsewhere for the eval tests: a tiny random `LlamaForCausalLM` saved as a Hub folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch


def tiny_llama(path: Path, tokenizer_dir: Path, seed: int = 0) -> Path:
    """A random one-layer `LlamaForCausalLM` with the tokenizer files of `tokenizer_dir`, at `path`."""
    from tokenizers import Tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM

    path.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (Path(tokenizer_dir) / name).exists():
            shutil.copy2(Path(tokenizer_dir) / name, path / name)
    vocab = Tokenizer.from_file(str(path / "tokenizer.json")).get_vocab_size(with_added_tokens=True)
    torch.manual_seed(seed)
    LlamaForCausalLM(LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                 num_attention_heads=2, max_position_embeddings=64, bos_token_id=1,
                                 eos_token_id=2)).save_pretrained(path)
    return path
