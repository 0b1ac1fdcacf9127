"""The `train` stage (token shards in, `checkpoints/` out) and the `export` stage's spec.

Train is one phase with one task (one GPU; or, with `train.devices`/`train.nodes` above 1, one
torchrun launch: `train/launch.py`). The stage keeps its checkpoints when the config changes
(`keep_outputs=True`): the next run resumes from them, and resume itself refuses a
checkpoint of another model shape or other data with an error saying what differs. A run
stopped by SIGTERM/SIGINT saves, then fails its task with `TrainingInterrupted`, so no manifest
claims the stage is done and the next `kuznia stage train` continues from the saved step.
"""

from __future__ import annotations

import json
from pathlib import Path

from kuznia import registry
from kuznia.files import file_checksum, read_json
from kuznia.identity import content_id
from kuznia.stage import MANIFEST, Phase, StageContext, StageError, StageSpec
from train import export
from train.checkpoint import checkpoint_outputs, latest_checkpoint
from train.launch import train_processes
from train.metrics import METRICS
from train.trainer import train


class TrainingInterrupted(StageError):
    """Training stopped on a signal after saving; running the stage again resumes it."""


def tokens_info(tokens_dir: Path, tokenizer_dir: Path) -> tuple[int, str | None, Path | None, str | None]:
    """Vocabulary size and tokenizer hash of the shards (from `tokens/_manifest.json`, else the
    tokenizer files), the `tokenizer.json` used for bits per byte (None if absent), and the
    data id: a hash of the train shards' checksums (what a checkpoint was trained on; a change
    to the val split alone does not set a run's checkpoints aside)."""
    manifest_path = tokens_dir / MANIFEST
    manifest = read_json(manifest_path) if manifest_path.exists() else {}
    tok_json = tokenizer_dir / "tokenizer.json"
    vocab = manifest.get("vocab_size")
    if vocab is None:
        if not tok_json.exists():
            raise StageError(f"{manifest_path} has no vocab_size and {tok_json} is missing; "
                             "run `kuznia stage tokenizer` and `kuznia stage tokens`")
        from tokenizers import Tokenizer

        vocab = Tokenizer.from_file(str(tok_json)).get_vocab_size(with_added_tokens=True)
    train_outputs = [o for o in manifest.get("outputs", []) if o["path"].startswith("train/")]
    data_id = content_id(train_outputs) if train_outputs else None
    return int(vocab), manifest.get("tokenizer_hash"), tok_json if tok_json.exists() else None, data_id


def train_node(cfg, work_dir: Path) -> None:
    """This machine's processes of a run over `train.nodes` machines (`train.node_rank` > 0), for
    `kuznia train-node`; node 0 runs the train stage. The work dir must be the same shared folder."""
    if cfg.train.node_rank == 0:
        raise StageError("train.node_rank is 0: on node 0 run the train stage (`kuznia stage train`)")
    tokens_dir = Path(work_dir) / registry.folder("tokens")
    vocab, tok_hash, tok_json, data_id = tokens_info(tokens_dir, Path(work_dir) / registry.folder("tokenizer"))
    train_processes(cfg.model, cfg.train, tokens_dir=tokens_dir, checkpoints_dir=Path(work_dir) / registry.folder("train"),
                    vocab_size=vocab, seed=cfg.seed, tokenizer_hash=tok_hash, tokenizer_json=tok_json, data_id=data_id)


def plan(ctx: StageContext) -> list[dict]:
    return [{"id": "train"}]


def run(ctx: StageContext, task: dict) -> dict:
    tokens_dir = ctx.upstream_dir("tokens")
    vocab, tok_hash, tok_json, data_id = tokens_info(tokens_dir, ctx.upstream_dir("tokenizer"))
    cfg = ctx.cfg.train
    if cfg.node_rank > 0:
        raise StageError(f"train.node_rank={cfg.node_rank}: the stage runs on node 0 (it writes the manifest); "
                         "on this node run `kuznia train-node` with the same config")
    run_fn = train if cfg.world_size == 1 else train_processes  # its output lines printed: the flow log
    result = run_fn(ctx.cfg.model, cfg, tokens_dir=tokens_dir, checkpoints_dir=ctx.dir, vocab_size=vocab,
                    seed=ctx.cfg.seed, tokenizer_hash=tok_hash, tokenizer_json=tok_json, data_id=data_id)
    if result.stopped_by is not None:
        raise TrainingInterrupted(
            f"training stopped by {result.stopped_by} at step {result.step}; checkpoint saved at "
            f"{result.checkpoint}; run `kuznia stage train` again to resume"
        )
    return {
        "step": result.step,
        "tokens_seen": result.tokens_seen,
        "final_loss": result.losses[-1][1] if result.losses else None,
        "eval": result.last_eval,
        "checkpoint": result.checkpoint.name if result.checkpoint else None,
        "resumed_from": result.resumed_from.name if result.resumed_from else None,
        "superseded": result.superseded.relative_to(ctx.dir).as_posix() if result.superseded else None,
    }


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    rec = records["train"][0]
    losses, evals = [], []
    metrics = ctx.dir / METRICS
    if metrics.exists():
        for line in metrics.read_text("utf-8").splitlines():
            r = json.loads(line)
            losses.append([r["step"], r["loss"]])
            if r.get("val_loss") is not None:
                evals.append({k: r[k] for k in ("step", "val_loss", "val_ppl", "val_bpb", "val_tokens")})
    final = latest_checkpoint(ctx.dir)
    # The final checkpoint only (older ones get pruned), with the checksums its sentinel took when
    # it was saved: hashing the files now would bless any damage done since.
    outputs = checkpoint_outputs(final) if final else []
    if metrics.exists():
        outputs.append({"path": METRICS, "bytes": metrics.stat().st_size, "checksum": file_checksum(metrics),
                        "log": True})  # timings: a rerun writes other bytes, export does not read it
    return {
        "counts": {"steps": rec["step"], "tokens": rec["tokens_seen"]},
        "final_step": rec["step"],
        "tokens_seen": rec["tokens_seen"],
        "final_loss": rec["final_loss"],
        "eval": rec["eval"],
        "evals": evals,
        "losses": losses,
        "checkpoint": final.name if final else None,
        "superseded": rec.get("superseded"),
        "outputs": outputs,
    }


TRAIN = StageSpec(
    info=registry.info("train"),
    config_keys=("model", "train", "seed"),
    phases=[Phase("train", plan, run)],
    finish=finish,
    # Checkpoints are kept when the config changes: resume checks them against the new one.
    keep_outputs=True,
)

EXPORT = StageSpec(
    info=registry.info("export"),
    config_keys=("export",),
    phases=[Phase("export", export.plan, export.run)],
    finish=export.finish,
)
