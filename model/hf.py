"""Export to and import from `transformers`' `LlamaForCausalLM` files.

Our module names are `LlamaForCausalLM`'s and RoPE uses its half-split layout, so export is a
dtype cast and a safetensors write; `config.json` and `generation_config.json` come from
`transformers`' own config classes so they match the installed version. Tokenizer files are
copied as they are (`tokenizer.json`, `tokenizer_config.json`, `special_tokens_map.json`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from kuznia.files import record_write
from model.config import ModelArgs
from model.llama import Llama

WEIGHTS = "model.safetensors"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def special_token_ids(tokenizer_dir: Path) -> dict[str, int | None]:
    """bos/eos/pad/unk ids of a tokenizer folder, from its `tokenizer_config.json` names.

    Falls back to the names our tokenizer uses (`<s>`, `</s>`, `<pad>`, `<unk>`).
    """
    from tokenizers import (
        Tokenizer,  # the fast tokenizer library; no transformers import needed
    )

    tokenizer_dir = Path(tokenizer_dir)
    tok_path = tokenizer_dir / "tokenizer.json"
    if not tok_path.exists():
        raise FileNotFoundError(f"{tok_path} is missing; run `kuznia stage tokenizer` first")
    tok = Tokenizer.from_file(str(tok_path))
    names = {"bos": "<s>", "eos": "</s>", "pad": "<pad>", "unk": "<unk>"}
    cfg_path = tokenizer_dir / "tokenizer_config.json"
    if cfg_path.exists():
        cfg = json.loads(cfg_path.read_text("utf-8"))
        for k in names:
            v = cfg.get(f"{k}_token")
            if isinstance(v, dict):  # the serialised AddedToken form
                v = v.get("content")
            if isinstance(v, str):
                names[k] = v
    return {k: tok.token_to_id(v) for k, v in names.items()}


def hf_config(args: ModelArgs, *, bos_token_id: int | None, eos_token_id: int | None,
              pad_token_id: int | None, dtype: str = "float32"):
    """A `transformers.LlamaConfig` for this shape."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=args.vocab_size,
        hidden_size=args.d_model,
        intermediate_size=args.intermediate_size,
        num_hidden_layers=args.n_layers,
        num_attention_heads=args.n_heads,
        num_key_value_heads=args.n_heads,
        head_dim=args.head_dim,
        max_position_embeddings=args.context_tokens,
        rms_norm_eps=args.norm_eps,
        rope_theta=args.rope_theta,
        initializer_range=args.init_std,
        hidden_act="silu",
        attention_bias=False,
        mlp_bias=False,
        tie_word_embeddings=False,
        bos_token_id=bos_token_id,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
        torch_dtype=dtype,
        architectures=["LlamaForCausalLM"],
    )


def args_from_hf_config(cfg: dict) -> ModelArgs:
    """Our shape from a `config.json` dict; refuses what our module cannot represent."""
    problems = []
    if cfg.get("model_type") != "llama":
        problems.append(f"model_type is {cfg.get('model_type')!r}, expected 'llama'")
    if cfg.get("num_key_value_heads", cfg.get("num_attention_heads")) != cfg.get("num_attention_heads"):
        problems.append("grouped-query attention (num_key_value_heads != num_attention_heads)")
    if cfg.get("tie_word_embeddings"):
        problems.append("tied embeddings")
    if cfg.get("attention_bias") or cfg.get("mlp_bias"):
        problems.append("biases")
    rope = cfg.get("rope_parameters") or cfg.get("rope_scaling") or {}
    if rope.get("rope_type", "default") != "default":
        problems.append(f"rope_type {rope.get('rope_type')!r}")
    if problems:
        raise ValueError("unsupported LlamaForCausalLM config: " + "; ".join(problems))
    theta = rope.get("rope_theta", cfg.get("rope_theta", 10000.0))
    return ModelArgs(
        vocab_size=cfg["vocab_size"], context_tokens=cfg["max_position_embeddings"],
        n_layers=cfg["num_hidden_layers"], d_model=cfg["hidden_size"], n_heads=cfg["num_attention_heads"],
        intermediate_size=cfg["intermediate_size"], rope_theta=float(theta),
        norm_eps=cfg["rms_norm_eps"], init_std=cfg.get("initializer_range", 0.02),
    )


def save_hf(model: Llama, out_dir: Path, tokenizer_dir: Path, tokenizer_files: Sequence[str], *,
            dtype: str = "float32") -> list[Path]:
    """Write `out_dir` as a `LlamaForCausalLM` folder with the tokenizer's `tokenizer_files`
    (names in `tokenizer_dir`, given by the tokenizer's owner); returns the files written.

    Everything is written into a temp folder that replaces `out_dir` at the end, so a crash
    never leaves half an export behind.
    """
    from transformers import GenerationConfig

    out_dir, tokenizer_dir = Path(out_dir), Path(tokenizer_dir)
    if dtype not in DTYPES:
        raise ValueError(f"export dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    ids = special_token_ids(tokenizer_dir)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        state = {k: v.detach().to("cpu", DTYPES[dtype]).contiguous() for k, v in model.state_dict().items()}
        save_file(state, tmp / WEIGHTS, metadata={"format": "pt"})
        cfg = hf_config(model.args, bos_token_id=ids["bos"], eos_token_id=ids["eos"],
                        pad_token_id=ids["pad"], dtype=dtype)
        cfg.save_pretrained(tmp)
        GenerationConfig(bos_token_id=ids["bos"], eos_token_id=ids["eos"], pad_token_id=ids["pad"]
                         ).save_pretrained(tmp)
        for name in tokenizer_files:
            if not (tokenizer_dir / name).exists():
                raise FileNotFoundError(f"{tokenizer_dir / name} is missing; run `kuznia stage tokenizer`")
            shutil.copy2(tokenizer_dir / name, tmp / name)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
        record_write(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return sorted(p for p in out_dir.iterdir() if p.is_file())


def load_hf(hf_dir: Path, device: str | torch.device = "cpu") -> Llama:
    """Our `Llama` from a `LlamaForCausalLM` folder (config.json + model.safetensors), fp32."""
    hf_dir = Path(hf_dir)
    cfg_path, weights = hf_dir / "config.json", hf_dir / WEIGHTS
    for p in (cfg_path, weights):
        if not p.exists():
            raise FileNotFoundError(f"{p} is missing: {hf_dir} is not an exported model folder "
                                    "(run `kuznia export`)")
    args = args_from_hf_config(json.loads(cfg_path.read_text("utf-8")))
    try:
        state = load_file(weights, device=str(device))
    except Exception as e:  # safetensors raises its own error types for a bad header
        raise ValueError(f"{weights} is corrupt or truncated ({e}); export it again") from e
    # transformers may store the RoPE frequencies; ours are derived from the shape.
    state = {k: v.float() for k, v in state.items() if not k.endswith("rotary_emb.inv_freq")}
    with torch.device(device):
        model = Llama(args)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{weights} does not fit the shape in {cfg_path}: missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]}")
    return model
