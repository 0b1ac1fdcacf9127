"""The LLaMA module: causality, RoPE layout, and the chunked loss being the same loss."""

from __future__ import annotations

import torch

from model.config import PRESETS
from model.llama import Llama, apply_rope, rope_cos_sin
from train.recompute import apply_activation_checkpointing, causal_lm_loss


def _model(seed=0):
    torch.manual_seed(seed)
    return Llama(PRESETS["tiny"])


def test_logits_are_causal():
    model = _model()
    x = torch.randint(0, 512, (2, 16))
    y = x.clone()
    y[:, 10:] = (y[:, 10:] + 1) % 512
    with torch.no_grad():
        a, b = model(x), model(y)
    assert a.shape == (2, 16, 512)
    assert torch.equal(a[:, :10], b[:, :10])
    assert not torch.allclose(a[:, 10:], b[:, 10:])


def test_rope_is_a_rotation_in_half_split_layout():
    args = PRESETS["tiny"]
    cos, sin = rope_cos_sin(args, 8)
    assert torch.equal(cos[0], torch.ones(args.head_dim)) and torch.equal(sin[0], torch.zeros(args.head_dim))
    # Halves repeated: dimension i and i + hd/2 rotate together (transformers' rotate_half).
    assert torch.equal(cos[:, : args.head_dim // 2], cos[:, args.head_dim // 2 :])
    q = torch.randn(1, 1, 8, args.head_dim)
    r = apply_rope(q, cos, sin)
    assert torch.allclose(r.norm(dim=-1), q.norm(dim=-1), atol=1e-5)


def test_too_long_sequence_is_refused():
    model = _model()
    try:
        model(torch.zeros(1, 65, dtype=torch.long))
    except ValueError as e:
        assert str(e) == "sequence of 65 tokens is longer than the context of 64"
    else:
        raise AssertionError("no error")


def test_chunked_loss_and_checkpointing_match_plain_loss_and_grads():
    x = torch.randint(0, 512, (2, 64))
    y = torch.randint(0, 512, (2, 64))
    plain = _model()
    loss = causal_lm_loss(plain, x, y)
    loss.backward()
    other = _model()
    apply_activation_checkpointing(other, "block")
    loss2 = causal_lm_loss(other, x, y, chunk_tokens=48)
    loss2.backward()
    assert torch.allclose(loss, loss2, atol=1e-6)
    for (n, p), (_, q) in zip(plain.named_parameters(), other.named_parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-6), n
    # The wrapper leaves parameter names alone (checkpoints and exports stay the same).
    assert list(plain.state_dict()) == list(other.state_dict())
