"""The tokenizer stages: `tokenizer` (learn the BPE on a sample of the corpus, measure fertility;
phases in `learn.py`) and `tokens` (encode the corpus into train/val shards; phases in
`tokens.py`)."""

from __future__ import annotations

from kuznia import registry
from kuznia.stage import Phase, StageSpec
from tokenizer import learn, tokens

TOKENIZER = StageSpec(
    info=registry.info("tokenizer"),
    config_keys=("tokenizer",),
    phases=[Phase("train", learn.plan_train, learn.run_train),
            Phase("fertility", learn.plan_fertility, learn.run_fertility)],
    finish=learn.finish,
)

TOKENS = StageSpec(
    info=registry.info("tokens"),
    config_keys=("tokens",),
    phases=[Phase("encode", tokens.plan_encode, tokens.run_encode, tokens.encode_inputs),
            Phase("write", tokens.plan_write, tokens.run_write)],
    finish=tokens.finish,
    not_outputs=(tokens.WORK,),
)
