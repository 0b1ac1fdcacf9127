"""Generation samples at each evaluation: fixed Polish prompts, continued with seeded sampling.

The same prompts and the same seed at every evaluation, so the report shows how one model's
continuations change as it learns. The sampler has its own generator: the run's RNG streams (and
so exact resume) are untouched. `samples.jsonl` holds one line per evaluation and, like
`metrics.jsonl`, is cut back to the resumed step when a run resumes.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from model.hf import special_token_ids
from train.generate import continue_ids, prompt_ids
from train.metrics import truncate_jsonl

SAMPLES = "samples.jsonl"
SAMPLING = {"temperature": 0.8, "top_k": 50, "top_p": 0.95}
SEED = 0


class SampleLog:
    """Writes the continuations of `prompts` at each evaluation to `samples.jsonl`."""

    def __init__(self, root: Path | None, *, resumed_step: int, tokenizer_json: Path | None, prompts: list[str],
                 max_new_tokens: int):
        """`root` None: sample without writing (a process other than rank 0, taking part in the
        forwards of a sharded model)."""
        self.path = Path(root) / SAMPLES if root is not None else None
        if self.path is not None:
            truncate_jsonl(self.path, resumed_step)
        self.prompts, self.max_new_tokens = prompts, max_new_tokens
        self.tok = self.ids = None
        if prompts and tokenizer_json is not None and Path(tokenizer_json).exists():
            from tokenizers import Tokenizer

            self.tok = Tokenizer.from_file(str(tokenizer_json))
            self.ids = special_token_ids(Path(tokenizer_json).parent)

    @torch.no_grad()
    def sample(self, model: torch.nn.Module, step: int) -> list[dict]:
        """`[{"prompt", "text"}]` from the model as it is now (left in train mode); appended to the log."""
        if self.tok is None:
            return []
        model.eval()
        try:
            prompts = [prompt_ids(self.tok, p, self.ids) for p in self.prompts]
            ids = continue_ids(model, prompts, max_new_tokens=self.max_new_tokens, eos_id=self.ids["eos"],
                               seed=SEED, **SAMPLING)
        finally:
            model.train()
        out = [{"prompt": p, "text": self.tok.decode(i, skip_special_tokens=True)} for p, i in zip(self.prompts, ids)]
        if self.path is None:
            return out
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"step": step, "samples": out}, ensure_ascii=False, sort_keys=True) + "\n")
        return out
