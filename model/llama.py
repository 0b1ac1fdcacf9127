"""A LLaMA-style causal decoder in one readable file.

RMSNorm, rotary position embeddings in the half-split layout that `transformers` uses (so its
`LlamaForCausalLM` loads our weights without any permutation), SwiGLU, no biases, untied input
and output embeddings, PyTorch's fused `scaled_dot_product_attention`. Module names follow
`LlamaForCausalLM` one for one (`model.layers.0.self_attn.q_proj`, …), so a state dict is an
HF state dict. Nothing here knows about devices, precision, compilation or training.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from model.config import ModelArgs


class RMSNorm(nn.Module):
    """x / rms(x) * weight, computed in fp32 and cast back (as `LlamaRMSNorm` does)."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rope_cos_sin(args: ModelArgs, n_positions: int, device: torch.device | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of every position's rotation angles, (T, head_dim), fp32, halves repeated."""
    hd = args.head_dim
    inv_freq = 1.0 / (args.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.int64, device=device).float() / hd))
    t = torch.arange(n_positions, dtype=torch.int64, device=device).float()
    freqs = torch.outer(t, inv_freq)  # (T, hd/2)
    emb = torch.cat((freqs, freqs), dim=-1)  # (T, hd): the half-split layout
    return emb.cos(), emb.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate (B, nh, T, hd) queries or keys by their positions' angles."""
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return x * cos + rotate_half(x) * sin


class Attention(nn.Module):
    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        d, self.n_heads, self.head_dim = args.d_model, args.n_heads, args.head_dim
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q = self.q_proj(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, nh, T, hd)
        k = self.k_proj(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, nh, T, hd)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(args.d_model, args.intermediate_size, bias=False)
        self.up_proj = nn.Linear(args.d_model, args.intermediate_size, bias=False)
        self.down_proj = nn.Linear(args.intermediate_size, args.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    """Pre-norm residual block: x + attn(norm(x)), then + mlp(norm(x))."""

    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(args.d_model, args.norm_eps)
        self.self_attn = Attention(args)
        self.post_attention_layernorm = RMSNorm(args.d_model, args.norm_eps)
        self.mlp = MLP(args)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class Decoder(nn.Module):
    """Embeddings, blocks, final norm: `LlamaModel`'s part of `LlamaForCausalLM`."""

    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(args.vocab_size, args.d_model)
        self.layers = nn.ModuleList(Block(args) for _ in range(args.n_layers))
        self.norm = RMSNorm(args.d_model, args.norm_eps)


class Llama(nn.Module):
    """The causal language model; `forward(ids)` gives logits, `forward(ids, targets)` the loss."""

    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        self.args = args
        self.model = Decoder(args)
        self.lm_head = nn.Linear(args.d_model, args.vocab_size, bias=False)
        cos, sin = rope_cos_sin(args, args.context_tokens)
        # Not saved: derived from the shape; recomputed on load and on `to_empty`.
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """N(0, init_std) for every matrix; residual outputs scaled by 1/sqrt(2·layers) (GPT-2)."""
        std = self.args.init_std
        for name, p in self.named_parameters():
            if p.ndim < 2:
                p.fill_(1.0)  # RMSNorm weights
            elif name.endswith(("o_proj.weight", "down_proj.weight")):
                nn.init.normal_(p, 0.0, std / math.sqrt(2 * self.args.n_layers))
            else:
                nn.init.normal_(p, 0.0, std)
        if self.rope_cos.device.type != "meta":
            cos, sin = rope_cos_sin(self.args, self.args.context_tokens, self.rope_cos.device)
            self.rope_cos.copy_(cos)
            self.rope_sin.copy_(sin)

    def hidden_states(self, input_ids: torch.Tensor) -> torch.Tensor:
        """The final normed hidden states, (B, T, d_model), before the output head."""
        T = input_ids.shape[1]
        if T > self.args.context_tokens:
            raise ValueError(f"sequence of {T} tokens is longer than the context of {self.args.context_tokens}")
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]
        x = self.model.embed_tokens(input_ids)
        for block in self.model.layers:
            x = block(x, cos, sin)
        return self.model.norm(x)

    def forward(self, input_ids: torch.Tensor, targets: torch.Tensor | None = None, *,
                hidden_only: bool = False) -> torch.Tensor:
        """Logits; the mean loss against `targets`; or (`hidden_only`) the final hidden states.
        Callers that apply the head themselves go through here, not `hidden_states`, so that
        FSDP's hooks on the model see the forward."""
        h = self.hidden_states(input_ids)
        if hidden_only:
            return h
        logits = self.lm_head(h)  # (B, T, V)
        if targets is None:
            return logits
        return F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1))
