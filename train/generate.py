"""Sampling text from a checkpoint or an export (`kuznia generate --prompt "…"`).

Temperature, top-k and top-p (nucleus) sampling with a seeded generator, so the same call
gives the same text. The source is a `step-NNNNNNN` folder, a checkpoints folder (its newest
step), or an export folder (`export/hf/`, which carries its own tokenizer).
"""

from __future__ import annotations

from pathlib import Path

import torch

from model.hf import load_hf, special_token_ids
from model.llama import Llama
from train.checkpoint import load_model


def load_source(source_path: Path, tokenizer_dir: Path | None = None, device: str = "cpu"
                ) -> tuple[Llama, Path]:
    """The model and the tokenizer folder for a checkpoint or an export folder.

    A checkpoint's tokenizer is `tokenizer_dir`, else `<work_dir>/tokenizer` beside its
    `checkpoints/` folder.
    """
    source_path = Path(source_path)
    if (source_path / "config.json").exists():
        return load_hf(source_path, device).eval(), Path(tokenizer_dir or source_path)
    model, _ = load_model(source_path, device)
    if tokenizer_dir is None:
        root = source_path if not source_path.name.startswith("step-") else source_path.parent
        tokenizer_dir = root.parent / "tokenizer"
    if not (Path(tokenizer_dir) / "tokenizer.json").exists():
        raise FileNotFoundError(f"no tokenizer.json in {tokenizer_dir} for checkpoint {source_path}; "
                                "pass the tokenizer folder")
    return model, Path(tokenizer_dir)


def sample_next(logits: torch.Tensor, *, temperature: float, top_k: int | None, top_p: float | None,
                generator: torch.Generator) -> int:
    """One token id from a (vocab,) logits row: greedy at temperature 0, else filtered sampling."""
    if temperature <= 0:
        return int(torch.argmax(logits))
    logits = logits.float() / temperature
    if top_k is not None and 0 < top_k < logits.numel():
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and 0 < top_p < 1:
        sorted_logits, order = torch.sort(logits, descending=True)
        cum = torch.softmax(sorted_logits, dim=-1).cumsum(-1)
        # Drop a token once the mass before it already reaches top_p (the first always stays).
        drop = (cum - torch.softmax(sorted_logits, dim=-1)) >= top_p
        logits = logits.masked_fill(torch.zeros_like(drop).scatter(0, order, drop), float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


@torch.no_grad()
def continue_ids(model: Llama, prompts: list[list[int]], *, max_new_tokens: int, eos_id: int | None,
                 temperature: float, top_k: int | None, top_p: float | None, seed: int) -> list[list[int]]:
    """Each prompt's ids followed by up to `max_new_tokens` sampled ids (stopping at EOS, which is
    not added). The prompts run together: each row is right-padded, and its next token is read at
    its own last position, which causal attention keeps blind to the padding; each row has its own
    generator seeded with `seed`, so a prompt gets the same text alone or with others."""
    out = [list(p) for p in prompts]
    gens = [torch.Generator().manual_seed(seed) for _ in prompts]
    live = [i for i, p in enumerate(out) if p]
    ctx = model.args.context_tokens
    device = next(model.parameters()).device
    for _ in range(max_new_tokens):
        if not live:
            break
        rows = [out[i][-ctx:] for i in live]
        x = torch.zeros((len(rows), max(map(len, rows))), dtype=torch.long)
        for r, row in enumerate(rows):
            x[r, : len(row)] = torch.tensor(row)
        h = model(x.to(device), hidden_only=True)[torch.arange(len(rows)), torch.tensor([len(r) - 1 for r in rows])]
        logits = model.lm_head(h).float().cpu()
        for r, i in enumerate(list(live)):
            nxt = sample_next(logits[r], temperature=temperature, top_k=top_k, top_p=top_p, generator=gens[i])
            if nxt == eos_id:
                live.remove(i)
            else:
                out[i].append(nxt)
    return out


def prompt_ids(tok, prompt: str, ids: dict[str, int | None]) -> list[int]:
    """A prompt's ids, after EOS: training windows start documents right after the previous one's."""
    encoded = tok.encode(prompt).ids
    if ids["eos"] is not None and (not encoded or encoded[0] != ids["bos"]):
        encoded = [ids["eos"], *encoded]
    return encoded


def generate(source_path: Path | str, prompt: str, max_new_tokens: int = 100, temperature: float = 1.0,
             top_k: int | None = 50, top_p: float | None = 1.0, seed: int = 0, *,
             tokenizer_dir: Path | None = None, device: str = "cpu") -> str:
    """The prompt followed by up to `max_new_tokens` sampled tokens, decoded (stops at EOS)."""
    from tokenizers import Tokenizer

    model, tok_dir = load_source(Path(source_path), tokenizer_dir, device)
    tok = Tokenizer.from_file(str(tok_dir / "tokenizer.json"))
    ids = special_token_ids(tok_dir)
    out = continue_ids(model, [prompt_ids(tok, prompt, ids)], max_new_tokens=max_new_tokens, eos_id=ids["eos"],
                       temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
    return tok.decode(out[0], skip_special_tokens=True)
