"""The `export` stage's phase: a checkpoint + the tokenizer -> `export/hf/`, a transformers model
folder (the spec is in `train/stage.py`).

`export/hf/` loads offline with `AutoModelForCausalLM.from_pretrained` and
`AutoTokenizer.from_pretrained`, and runs `pipeline("text-generation")` as in APT3's card; its
`README.md` is the model card (`train/model_card.py`), rewritten with every export.
"""

from __future__ import annotations

from pathlib import Path

from kuznia.stage import StageContext, StageError
from model.hf import save_hf
from tokenizer.bpe import TOKENIZER_FILES
from train.checkpoint import load_model, resolve_checkpoint
from train.model_card import write_model_card


def export_checkpoint(checkpoint_dir: Path, tokenizer_dir: Path, out_dir: Path, *, dtype: str = "bfloat16",
                      step: int | None = None) -> list[Path]:
    """Write `out_dir` (safetensors + config.json + generation_config.json + tokenizer files)."""
    from tokenizers import Tokenizer

    path = resolve_checkpoint(Path(checkpoint_dir), step)
    model, _ = load_model(path)
    tok_json = Path(tokenizer_dir) / "tokenizer.json"
    if not tok_json.exists():
        raise StageError(f"{tok_json} is missing; run `kuznia stage tokenizer`")
    vocab = Tokenizer.from_file(str(tok_json)).get_vocab_size(with_added_tokens=True)
    if vocab != model.args.vocab_size:
        raise StageError(f"checkpoint {path} has a vocabulary of {model.args.vocab_size} but {tok_json} has "
                         f"{vocab}; export with the tokenizer the model was trained with")
    return save_hf(model, Path(out_dir), Path(tokenizer_dir), TOKENIZER_FILES, dtype=dtype)


def plan(ctx: StageContext) -> list[dict]:
    return [{"id": "export"}]


def run(ctx: StageContext, task: dict) -> dict:
    cfg = ctx.cfg.export
    src = resolve_checkpoint(ctx.upstream_dir("train"), cfg.step)
    files = export_checkpoint(src, ctx.upstream_dir("tokenizer"), ctx.dir / "hf", dtype=cfg.dtype, step=cfg.step)
    card = write_model_card(ctx.work_dir, ctx.dir / "hf", src, name=cfg.model_name, license_id=cfg.license)
    return {"checkpoint": src.name, "files": sorted(p.name for p in [*files, card])}


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    rec = records["export"][0]
    return {"counts": {"files": len(rec["files"])}, "checkpoint": rec["checkpoint"]}
