"""The `export` stage: a checkpoint + the tokenizer -> `export/hf/`, a transformers model folder.

`export/hf/` loads offline with `AutoModelForCausalLM.from_pretrained` and
`AutoTokenizer.from_pretrained`, and runs `pipeline("text-generation")` as in APT3's card.
"""

from __future__ import annotations

from pathlib import Path

import torch

from corpus.stage import Phase, StageContext, StageError, StageSpec
from model.config import ModelArgs
from model.hf import save_hf
from model.llama import Llama
from train.checkpoint import CheckpointError, is_complete, latest_checkpoint, list_checkpoints, load_pt, read_meta


def resolve_checkpoint(path: Path, step: int | None = None) -> Path:
    """A `step-NNNNNNN` folder from itself or from a checkpoints folder (`step`, else the newest)."""
    path = Path(path)
    if is_complete(path):
        return path
    found = dict(list_checkpoints(path))
    if step is not None:
        if step not in found:
            raise CheckpointError(f"no complete checkpoint for step {step} under {path}; "
                                  f"there are steps {sorted(found)}")
        return found[step]
    newest = latest_checkpoint(path)
    if newest is None:
        raise CheckpointError(f"{path} holds no complete checkpoint (step-NNNNNNN with its COMPLETE "
                              "sentinel); run `kuznia stage train` first")
    return newest


def load_model(checkpoint: Path, device: str | torch.device = "cpu") -> tuple[Llama, dict]:
    """Our model (fp32) and the meta record from a checkpoint folder or a checkpoints folder."""
    path = resolve_checkpoint(checkpoint)
    meta = read_meta(path)
    try:
        args = ModelArgs.from_dict(meta["model"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path}/meta.json has no usable model shape ({e})") from e
    state = load_pt(path / "model.pt", device)
    with torch.device(device):
        model = Llama(args)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {path}/model.pt does not fit the shape in its meta.json: {e}") from e
    return model.eval(), meta


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
    return save_hf(model, Path(out_dir), Path(tokenizer_dir), dtype=dtype)


def plan(ctx: StageContext) -> list[dict]:
    return [{"id": "export"}]


def run(ctx: StageContext, task: dict) -> dict:
    cfg = ctx.cfg.export
    src = resolve_checkpoint(ctx.upstream_dir("train"), cfg.step)
    files = export_checkpoint(src, ctx.upstream_dir("tokenizer"), ctx.dir / "hf", dtype=cfg.dtype, step=cfg.step)
    return {"checkpoint": src.name, "files": [p.name for p in files]}


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    rec = records["export"][0]
    return {"counts": {"files": len(rec["files"])}, "checkpoint": rec["checkpoint"]}


SPEC = StageSpec(
    name="export",
    ref="train.export:SPEC",
    upstream=("train", "tokenizer"),
    config_keys=("export",),
    phases=[Phase("export", plan, run)],
    finish=finish,
)
