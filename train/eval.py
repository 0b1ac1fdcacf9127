"""Scoring text: summed next-token loss over rolling windows, batched, and bits per byte.

Each text is scored as a document: `start` (what precedes a document: EOS for our models, the
BOS a model's tokenizer puts first for others) followed by its ids, every id predicted. A text
longer than the context is cut into windows as lm-evaluation-harness's rolling log-likelihood
does: the first window predicts its first `context` ids; each later one predicts the next
`context` (fewer at the end) with the tokens just before them as context, so every id is
predicted exactly once. Windows are sorted by length and packed into batches of at most
`batch_tokens` (right padding, ignored targets), so the same texts always give the same batches.

Bits per byte (tokenizer-independent): the summed loss in bits over a text's ids divided by the
text's UTF-8 bytes; per source and over everything (sums first, then the ratio). The loss per
token is also kept (comparable only between models with the same tokenizer).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

IGNORE = -100
NllFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (inputs, targets) -> summed NLL per row


def windows(n_ids: int, n_start: int, context: int) -> list[tuple[int, int, int]]:
    """(lo, end, scored) per window over `start + ids`: inputs `seq[lo:end-1]`, targets
    `seq[lo+1:end]`, of which the last `scored` are predicted ids of the text."""
    out, done = [], 0
    while done < n_ids:
        m = min(context, n_ids - done)
        end = n_start + done + m
        out.append((max(0, end - 1 - context), end, m))
        done += m
    return out


def _batches(rows: list[tuple[int, list[int], int]], batch_tokens: int) -> list[list[tuple[int, list[int], int]]]:
    """Rows (text index, window tokens, scored) longest first, packed up to `batch_tokens` padded."""
    rows = sorted(rows, key=lambda r: -len(r[1]))  # stable: equal lengths keep text order
    out: list[list] = []
    for r in rows:
        if out and (len(out[-1]) + 1) * (len(out[-1][0][1]) - 1) <= batch_tokens:  # rows x widest inputs
            out[-1].append(r)
        else:
            out.append([r])
    return out


@torch.no_grad()
def score(texts_ids: Sequence[Sequence[int]], *, start: Sequence[int], context: int, nll: NllFn,
          device: torch.device, batch_tokens: int,
          autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
          progress: Callable[[int], None] | None = None) -> list[tuple[float, int]]:
    """(summed NLL in nats, ids predicted) per text; `progress(n)` after each batch of `n` rows."""
    rows = []
    for t, ids in enumerate(texts_ids):
        seq = [*start, *(int(i) for i in ids)]
        rows += [(t, seq[lo:end], m) for lo, end, m in windows(len(ids), len(start), context)]
    sums = [0.0] * len(texts_ids)
    counts = [0] * len(texts_ids)
    for batch in _batches(rows, batch_tokens):
        width = len(batch[0][1]) - 1
        x = torch.zeros((len(batch), width), dtype=torch.long)
        y = torch.full((len(batch), width), IGNORE, dtype=torch.long)
        for b, (_, seq, m) in enumerate(batch):
            n = len(seq) - 1
            x[b, :n] = torch.tensor(seq[:-1])
            y[b, n - m : n] = torch.tensor(seq[n - m + 1 :])
        with autocast():
            per_row = nll(x.to(device), y.to(device))
        for (t, _, m), v in zip(batch, per_row.double().cpu().tolist()):
            sums[t] += v
            counts[t] += m
        if progress is not None:
            progress(len(batch))
    return list(zip(sums, counts))


def row_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Summed cross entropy per row of (B, T, V) logits against (B, T) targets (IGNORE skipped)."""
    flat = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1),
                           ignore_index=IGNORE, reduction="none")
    return flat.view(targets.shape).sum(1)


def llama_nll(model: torch.nn.Module) -> NllFn:
    """`NllFn` of our `Llama` (the head applied to the final hidden states)."""
    return lambda x, y: row_nll(model.lm_head(model(x, hidden_only=True)), y)


def summarize(sources: Sequence[str], n_bytes: Sequence[int | None], scored: Sequence[tuple[float, int]]
              ) -> dict:
    """`{"loss", "ppl", "bpb", "tokens", "bytes", "texts", "sources": {name: {...}}}`: loss per
    token and bits per byte over all texts and per source (sums first; bpb None without bytes)."""
    per: dict[str, dict] = {}
    total = {"nats": 0.0, "tokens": 0, "bytes": 0, "texts": 0}
    for src, b, (nats, tokens) in zip(sources, n_bytes, scored):
        for g in (per.setdefault(src, {"nats": 0.0, "tokens": 0, "bytes": 0, "texts": 0}), total):
            g["nats"] += nats
            g["tokens"] += tokens
            g["texts"] += 1
            g["bytes"] = None if b is None or g["bytes"] is None else g["bytes"] + b
    return {**_figures(**total), "sources": {s: _figures(**per[s]) for s in sorted(per)}}


def _figures(nats: float, tokens: int, bytes: int | None, texts: int) -> dict:  # noqa: A002
    loss = nats / tokens if tokens else None
    return {"loss": round(loss, 6) if loss is not None else None,
            "ppl": round(math.exp(min(loss, 700.0)), 4) if loss is not None else None,
            "bpb": round(nats / math.log(2) / bytes, 6) if bytes else None,
            "tokens": int(tokens), "bytes": bytes, "texts": int(texts)}


def evaluate_valset(model: torch.nn.Module, valset, *, device: torch.device, batch_tokens: int,
                    autocast: Callable[[], contextlib.AbstractContextManager]) -> dict:
    """Our model on the val set (`train/valset.py`): the metrics record's `val_*` fields and
    `val_sources` (per source: bpb, loss, tokens, bytes, texts). Leaves the model in train mode."""
    model.eval()
    try:
        scored = score(valset.ids, start=[valset.start_id], context=model.args.context_tokens,
                       nll=llama_nll(model), device=device, batch_tokens=batch_tokens, autocast=autocast)
    finally:
        model.train()
    s = summarize([t.source for t in valset.texts], [t.n_bytes for t in valset.texts], scored)
    return {"val_loss": s["loss"], "val_ppl": s["ppl"], "val_bpb": s["bpb"], "val_tokens": s["tokens"],
            "val_bytes": s["bytes"], "val_sources": s["sources"]}
