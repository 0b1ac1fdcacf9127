"""Model shapes: the APT3-1B count, presets, overrides, and what `model-info` prints."""

from __future__ import annotations

import pytest
import torch

from model.config import PRESETS, ModelArgs, ModelSection, resolve_model_args
from model.flops import (
    count_non_embedding_parameters,
    count_parameters,
    describe,
    estimate_training_memory,
    flops_per_token,
    per_device_memory,
)
from model.llama import Llama

APT3_PARAMS = 1_041_754_112


def test_apt3_parameter_count_from_formula():
    assert count_parameters(PRESETS["apt3-1b"]) == APT3_PARAMS


def test_apt3_parameter_count_on_meta_device():
    with torch.device("meta"):
        model = Llama(PRESETS["apt3-1b"])
    assert sum(p.numel() for p in model.parameters()) == APT3_PARAMS
    assert model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr() or \
        model.lm_head.weight is not model.model.embed_tokens.weight  # untied


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_formula_matches_module_for_every_preset(name):
    with torch.device("meta"):
        model = Llama(PRESETS[name])
    assert sum(p.numel() for p in model.parameters()) == count_parameters(PRESETS[name])


def test_flops_per_token_matches_issue_mfu_numbers():
    args = PRESETS["apt3-1b"]
    n = count_non_embedding_parameters(args)
    assert n == APT3_PARAMS - 31980 * 2048
    assert flops_per_token(args) == 6 * n + 12 * 18 * 2048 * 2048
    # The issue's table: HF eager 23.9k tokens/s is 16 % of an H100's 989 TFLOP/s.
    assert round(23.9e3 * flops_per_token(args) / 989e12, 2) == 0.16
    assert round(43.7e3 * flops_per_token(args) / 989e12, 2) == 0.30


def test_describe_apt3():
    text = describe("apt3-1b", micro_batch=1)
    lines = text.splitlines()
    assert lines[0] == ("model apt3-1b: 18 layers, d_model 2048, 32 heads x 64, intermediate 5504, "
                        "vocab 31980, context 2048, RoPE theta 10000, RMSNorm eps 1e-06")
    assert "parameters:              1,041,754,112 (1041.8 M)" in lines
    assert "FLOPs per token (train): 6.764 GFLOP  (6*N_non-emb + 12*L*d*T, T=2048)" in lines
    assert lines[-1].startswith("  total          ")
    mem = estimate_training_memory(PRESETS["apt3-1b"], 1)
    assert mem["weights"] == mem["gradients"] == 4 * APT3_PARAMS and mem["optimizer"] == 8 * APT3_PARAMS
    # The issue measured 16.8-18.4 GiB for micro batch 1; the estimate lands in that region.
    assert 15 < sum(mem.values()) / 2**30 < 25


def test_memory_per_device_with_ddp_and_fsdp():
    args = PRESETS["apt3-1b"]
    single = estimate_training_memory(args, 1)
    assert per_device_memory(args, 8, "ddp") == {**single, "gathered": 0}
    fsdp = per_device_memory(args, 8, "fsdp")
    assert fsdp["weights"] == fsdp["gradients"] == -(-4 * APT3_PARAMS // 8) and fsdp["optimizer"] == APT3_PARAMS
    with torch.device("meta"):
        model = Llama(args)
    block = sum(p.numel() for p in model.model.layers[0].parameters())
    root = APT3_PARAMS - args.n_layers * block  # embeddings, final norm, head: FSDP's root unit
    assert fsdp["gathered"] == 4 * (root + 3 * block)
    assert fsdp["activations"] == single["activations"]
    text = describe("apt3-1b", devices=8).splitlines()
    assert text[-1] == "  total                               19.33 GiB      6.80 GiB"


def test_describe_unknown_preset_lists_presets():
    with pytest.raises(ValueError, match="unknown model preset 'apt3-7b'; choose one of: apt3-1b, demo, tiny"):
        describe("apt3-7b")


def test_resolve_takes_vocab_from_tokenizer_and_applies_overrides():
    args = resolve_model_args(ModelSection(preset="demo", n_layers=2, context_tokens=128), 1234)
    assert (args.vocab_size, args.n_layers, args.context_tokens, args.d_model) == (1234, 2, 128, 192)


def test_resolve_refuses_vocab_that_disagrees_with_tokenizer():
    with pytest.raises(ValueError, match="model.vocab_size is 31980 but the tokenizer has 8000 tokens"):
        resolve_model_args(ModelSection(preset="apt3-1b", vocab_size=31980), 8000)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="d_model 100 must be divisible by n_heads 3"):
        resolve_model_args(ModelSection(preset="tiny", d_model=100, n_heads=3))
    with pytest.raises(ValueError, match="unknown model shape keys"):
        ModelArgs.from_dict({**PRESETS["tiny"].to_dict(), "dropout": 0.1})


def test_section_rejects_unknown_keys():
    with pytest.raises(ValueError, match="extra"):
        ModelSection.model_validate({"preset": "tiny", "layers": 3})
