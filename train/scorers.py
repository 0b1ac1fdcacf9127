"""The models `kuznia eval` scores: a local Hugging Face causal LM folder, or one of our checkpoints.

A `Scorer` is what `train.eval.score` needs from a model: how it encodes text (special-token
strings in the text stay text), what it conditions a document's first token on, its window,
and its summed loss per row. A Hugging Face folder is loaded with `transformers`
(`AutoModelForCausalLM`, `AutoTokenizer`, local files only: nothing comes from the Hub); its
document start is what its tokenizer puts before a text (APT3's and LLaMA's BOS), else its EOS (a
document boundary, as our models and GPT-2 were trained). Our checkpoints run in our module with
the run's tokenizer, and start after EOS, as in training.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from model.flops import count_parameters
from tokenizer.fertility import encode_ids
from train.checkpoint import is_complete, load_model
from train.eval import NllFn, llama_nll, row_nll


class ScorerError(ValueError):
    """A model folder that cannot be scored; the message names it and says why."""


@dataclass
class Scorer:
    name: str
    kind: str  # "hf" or "checkpoint"
    path: str
    encode: Callable[[list[str]], list[list[int]]]
    start: list[int]
    context: int
    nll: NllFn
    device: torch.device
    autocast: Callable[[], contextlib.AbstractContextManager]
    parameters: int
    vocab_size: int


def model_kind(path: Path) -> str:
    """`hf` (a folder with `config.json`) or `checkpoint` (a step folder or a checkpoints folder)."""
    path = Path(path)
    if (path / "config.json").is_file():
        return "hf"
    if is_complete(path) or any(is_complete(p) for p in path.glob("step-*")):
        return "checkpoint"
    raise ScorerError(f"{path} is neither a Hugging Face model folder (no config.json) nor a checkpoint "
                      "(no step-NNNNNNN folder with its COMPLETE sentinel); give one of those to `--model`")


def _device_and_autocast(device: str, dtype: str) -> tuple[torch.device, Callable, torch.dtype]:
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                       "cpu" if device == "auto" else device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ScorerError("eval.device=cuda but no CUDA GPU is visible; use eval.device=cpu or auto")
    bf16 = dtype == "bfloat16" or (dtype == "auto" and dev.type == "cuda")
    autocast = functools.partial(torch.autocast, device_type=dev.type, dtype=torch.bfloat16) if bf16 \
        else contextlib.nullcontext
    return dev, autocast, torch.bfloat16 if bf16 and dev.type == "cuda" else torch.float32


def hf_start(tok) -> list[int]:
    """What a Hugging Face tokenizer puts before a text (its BOS, when it adds one), else its EOS."""
    with_special = tok("a", add_special_tokens=True)["input_ids"]
    plain = tok("a", add_special_tokens=False)["input_ids"]
    prefix = with_special[: len(with_special) - len(plain)] if with_special[-len(plain):] == plain else []
    if prefix:
        return list(prefix)
    for token_id in (tok.eos_token_id, tok.bos_token_id):
        if token_id is not None:
            return [token_id]
    raise ScorerError(f"the tokenizer of {tok.name_or_path} has neither a BOS nor an EOS token to start a text with")


def load_hf(path: Path, name: str, *, device: str, dtype: str, context: int | None) -> Scorer:
    """A local `transformers` causal LM folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dev, autocast, weights = _device_and_autocast(device, dtype)
    try:
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=weights).to(dev).eval()
    except (OSError, ValueError) as e:
        raise ScorerError(f"{path} does not load as a transformers causal LM: {e}") from e
    tok.model_max_length = 2**62  # texts are cut into windows here: no "sequence too long" warnings
    window = context or getattr(model.config, "max_position_embeddings", None) or getattr(
        model.config, "n_positions", None) or 2048

    def encode(texts: list[str]) -> list[list[int]]:
        return tok(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]

    return Scorer(name, "hf", str(path), encode, hf_start(tok), int(window),
                  lambda x, y: row_nll(model(input_ids=x).logits, y), dev, autocast,
                  sum(p.numel() for p in model.parameters()), int(model.config.vocab_size))


def load_checkpoint(path: Path, name: str, *, tokenizer_dir: Path, device: str, dtype: str,
                    context: int | None) -> Scorer:
    """One of our checkpoints, with the run's tokenizer."""
    from tokenizers import Tokenizer

    from model.hf import special_token_ids

    dev, autocast, _ = _device_and_autocast(device, dtype)
    model, _ = load_model(path, dev)
    tok = Tokenizer.from_file(str(Path(tokenizer_dir) / "tokenizer.json"))
    eos = special_token_ids(tokenizer_dir)["eos"]
    return Scorer(name, "checkpoint", str(path), functools.partial(encode_ids, tok), [eos],
                  min(context or model.args.context_tokens, model.args.context_tokens), llama_nll(model), dev,
                  autocast, count_parameters(model.args), model.args.vocab_size)


def load_scorer(path: Path, name: str, *, tokenizer_dir: Path, device: str = "auto", dtype: str = "auto",
                context: int | None = None) -> Scorer:
    """The scorer of a model folder (see `model_kind`)."""
    if model_kind(path) == "hf":
        return load_hf(Path(path), name, device=device, dtype=dtype, context=context)
    return load_checkpoint(Path(path), name, tokenizer_dir=tokenizer_dir, device=device, dtype=dtype,
                           context=context)
