"""The phases of bench/model_size.py; each runs in a process of its own, so that the memory of one
model and its optimizer is given back before the next is built, and a resume is a real restart.

`data`: a tokenizer of the preset's vocabulary (the tokenizer stage's own training, on the bundled
Speakleash demo text) and token shards (train, and val with sources). `run`: the real `Trainer`,
fresh or resumed, to a step; records the loss, the evaluation, the time of each part and a hash of
every model and optimizer tensor. `diff`: the largest difference per tensor between two
checkpoints (only when hashes differ). `export`: `export_checkpoint` in bfloat16, then the export
in `transformers` against our model. Each phase writes `results/<phase>.json` under the out folder.
"""

from __future__ import annotations

import gc
import json
import resource
import time
from pathlib import Path

import torch
import xxhash

from corpus.sources.records import Doc
from corpus.sources.speakleash import iter_docs
from kuznia.usage import task_usage
from model.config import ModelSection
from model.flops import count_parameters
from tokenizer.bpe import EOS, save_tokenizer
from tokenizer.config import TokenizerConfig
from tokenizer.fertility import encode_ids
from tokenizer.learn import train_tokenizer
from tokenizer.shards import ShardWriter, tokenizer_hash
from train.config import TrainConfig
from train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
DEMO_TEXT = ROOT / "data" / "demo" / "speakleash"
SEED = 1234
VAL_EVERY = 40  # every 40th demo document goes to the val split
EVAL_BYTES = 256  # val text per source at the step-2 evaluation: a few forward passes
LOGIT_TOL = 1e-3  # |HF - ours| on the same (exported) weights, both in fp32


def folders(out: Path) -> dict[str, Path]:
    """Where each part lives under `out` (the pipeline's names where there is one)."""
    return {"tokenizer": out / "tokenizer", "tokens": out / "tokens", "checkpoints": out / "checkpoints",
            "straight": out / "straight" / "checkpoints", "export": out / "export" / "hf",
            "results": out / "results"}


def peak_rss() -> int:
    """This process's peak resident memory over its whole life, in bytes (Linux: KiB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


# --------------------------------------------------------------------------- data


def build_data(out: Path, vocab_size: int) -> dict:
    """Tokenizer and token shards from the demo text, deterministically."""
    f = folders(out)
    docs = [(p.name.split(".")[0], d.text) for p in sorted(DEMO_TEXT.glob("*.jsonl.zst"))
            for d in iter_docs(p, p.name.split(".")[0]) if isinstance(d, Doc)]
    cfg = TokenizerConfig(vocab_size=vocab_size, seed=SEED)
    t0 = time.perf_counter()
    tok, _ = train_tokenizer(lambda: iter([[text for _, text in docs]]), cfg)
    save_tokenizer(tok, f["tokenizer"], cfg.special_tokens)
    tokenizer_s = time.perf_counter() - t0
    h = tokenizer_hash(f["tokenizer"] / "tokenizer.json")
    ids = encode_ids(tok, [text for _, text in docs])
    counts = {"train": 0, "val": 0}
    with (ShardWriter(f["tokens"] / "train", vocab_size=vocab_size, tokenizer_hash=h, shard_tokens=1_000_000) as train,
          ShardWriter(f["tokens"] / "val", vocab_size=vocab_size, tokenizer_hash=h, shard_tokens=1_000_000) as val):
        for i, ((source, _), doc) in enumerate(zip(docs, ids)):
            if i % VAL_EVERY == 0:
                val.add([*doc, EOS], source=source)  # val shards record sources: per-source eval
                counts["val"] += len(doc) + 1
            else:
                train.add([*doc, EOS])
                counts["train"] += len(doc) + 1
    return {"vocab_size": tok.get_vocab_size(), "tokenizer_hash": h, "docs": len(docs),
            "text_bytes": sum(len(t.encode("utf-8")) for _, t in docs), "tokenizer_s": tokenizer_s,
            "train_tokens": counts["train"], "val_tokens": counts["val"]}


# --------------------------------------------------------------------------- training


class TimedTrainer(Trainer):
    """The real `Trainer`, timing the parts of its construction: on a resume, the checksum check
    of the checkpoint (`prepare_resume`, before `_fits` is asked) and the restore of its state."""

    def __init__(self, *args, **kwargs):
        self.times: dict[str, float] = {}
        self._t0 = time.perf_counter()
        super().__init__(*args, **kwargs)
        self.times["init_s"] = time.perf_counter() - self._t0

    def _fits(self, meta: dict) -> str | None:
        self.times.setdefault("verify_s", time.perf_counter() - self._t0)
        return super()._fits(meta)

    def _restore(self, path: Path) -> None:
        t0 = time.perf_counter()
        super()._restore(path)
        self.times["restore_s"] = time.perf_counter() - t0


def train_config(dtype: str, resume: str) -> TrainConfig:
    """The recipe (AdamW, clip, LR) cut to two steps of one window; nothing but the run observed."""
    return TrainConfig(micro_batch_size=1, grad_accum_steps=1, max_steps=2, warmup_steps=1, device="cpu",
                       dtype=dtype, seed=SEED, eval_every_steps=0, eval_bytes_per_source=EVAL_BYTES,
                       checkpoint_every_steps=1000, keep_checkpoints=1, resume=resume, log_every_steps=1,
                       tensorboard=False, report=False, sample_prompts=[])


def tensor_hash(t: torch.Tensor) -> str:
    t = t.detach().cpu().contiguous()
    return f"{t.dtype}{tuple(t.shape)}:" + xxhash.xxh3_128(t.reshape(-1).view(torch.uint8).numpy()).hexdigest()


def state_hashes(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, str]:
    """A hash of every tensor of the model and of the optimizer, by the keys their state dicts use."""
    out = {f"model/{k}": tensor_hash(v) for k, v in model.state_dict().items()}
    state = optimizer.state_dict()
    for i, st in state["state"].items():
        for k, v in st.items():
            out[f"optimizer/{i}/{k}"] = tensor_hash(v) if isinstance(v, torch.Tensor) else repr(v)
    out["optimizer/param_groups"] = json.dumps(state["param_groups"], sort_keys=True)
    return out


def run_training(out: Path, ckpt_dir: Path, *, preset: str, context: int, dtype: str, resume: str,
                 stop_at_step: int | None) -> dict:
    """Build the trainer (fresh, or resumed from `ckpt_dir`), fit to `stop_at_step` (None: to the
    end), and record what the bench prints; the train state's hashes when it ran to the end."""
    data = json.loads((folders(out)["results"] / "data.json").read_text("utf-8"))
    f = folders(out)
    with task_usage() as init_usage:
        trainer = TimedTrainer(ModelSection(preset=preset, context_tokens=context), train_config(dtype, resume),
                               tokens_dir=f["tokens"], checkpoints_dir=ckpt_dir, vocab_size=data["vocab_size"],
                               seed=SEED, tokenizer_hash=data["tokenizer_hash"],
                               tokenizer_json=f["tokenizer"] / "tokenizer.json")
    saves: list[dict] = []
    save = trainer.checkpoints.save

    def timed_save(step: int, meta: dict) -> Path:
        t0 = time.perf_counter()
        path = save(step, meta)
        saves.append({"step": step, "seconds": time.perf_counter() - t0, "bytes": dir_bytes(path),
                      "files": {p.name: p.stat().st_size for p in sorted(path.iterdir())},
                      "sentinel": json.loads((path / "COMPLETE").read_text("utf-8"))["checksums"]})
        return path

    trainer.checkpoints.save = timed_save  # the manager's own save, timed
    with task_usage() as fit_usage:
        result = trainer.fit(stop_at_step)
    record = {
        "parameters": sum(p.numel() for p in trainer.model.parameters()),
        "parameters_by_shape": count_parameters(trainer.args), "model": trainer.args.to_dict(),
        "resumed_from": str(result.resumed_from) if result.resumed_from else None,
        "step": result.step, "losses": result.losses, "last_eval": result.last_eval,
        "train_s": result.train_seconds, "observe_s": result.observe_seconds, "saves": saves,
        "times": trainer.times, "rss_init": init_usage["rss_peak_bytes"], "rss_fit": fit_usage["rss_peak_bytes"],
        "threads": torch.get_num_threads(),
    }
    if stop_at_step is None:
        record["hashes"] = state_hashes(trainer.model, trainer.optimizer)
    return record


def _flat(obj, prefix: str) -> dict:
    if isinstance(obj, dict):
        return {k2: v2 for k, v in obj.items() for k2, v2 in _flat(v, f"{prefix}/{k}").items()}
    return {prefix: obj}


def state_diff(a: Path, b: Path) -> dict[str, float]:
    """The largest |a - b| of every tensor that differs between two checkpoint folders (mmapped)."""
    out = {}
    for name, prefix in (("model.pt", "model"), ("optimizer.pt", "optimizer")):
        sa = torch.load(a / name, mmap=True, weights_only=True, map_location="cpu")
        sb = torch.load(b / name, mmap=True, weights_only=True, map_location="cpu")
        if prefix == "optimizer":
            sa, sb = sa["state"], sb["state"]
        fa, fb = _flat(sa, prefix), _flat(sb, prefix)
        for k in sorted(set(fa) | set(fb)):
            x, y = fa.get(k), fb.get(k)
            if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor) or x.shape != y.shape:
                out[k] = float("inf")
            elif not torch.equal(x, y):
                out[k] = (x.double() - y.double()).abs().max().item()
    return out


# --------------------------------------------------------------------------- export


def compare_logits(ref: torch.Tensor, other: torch.Tensor) -> dict:
    """Max |ref - other| and argmax agreement; a disagreement is "explained" when ref's two best
    logits are closer than twice the largest difference (a near tie either side may win)."""
    diff = (ref - other).abs().max().item()
    agree = ref.argmax(-1) == other.argmax(-1)
    top2 = ref.topk(2, dim=-1).values
    unexplained = (~agree & (top2[..., 0] - top2[..., 1] > 2 * diff)).sum().item()
    return {"max_abs_diff": diff, "positions": agree.numel(), "argmax_agree": int(agree.sum()),
            "unexplained": int(unexplained), "max_abs_logit": ref.abs().max().item()}


def export_and_compare(out: Path, *, context: int) -> dict:
    """`export_checkpoint` (bf16) of the newest checkpoint; the export loaded by
    `AutoModelForCausalLM` against our `Llama` on the same weights, and against our fp32 checkpoint."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from model.hf import load_hf
    from train.checkpoint import load_model
    from train.export import export_checkpoint

    hf_logging.disable_progress_bar()
    f = folders(out)
    data = json.loads((f["results"] / "data.json").read_text("utf-8"))
    rec: dict = {}
    with task_usage() as usage:
        t0 = time.perf_counter()
        files = export_checkpoint(f["checkpoints"], f["tokenizer"], f["export"], dtype="bfloat16")
        rec["export_s"] = time.perf_counter() - t0
    rec["rss_export"], rec["export_files"] = usage["rss_peak_bytes"], {p.name: p.stat().st_size for p in files}
    ids = torch.randint(0, data["vocab_size"], (2, context), generator=torch.Generator().manual_seed(SEED))
    with task_usage() as usage, torch.no_grad():
        t0 = time.perf_counter()
        hf = AutoModelForCausalLM.from_pretrained(f["export"], local_files_only=True, dtype=torch.float32)
        rec["hf_load_s"] = time.perf_counter() - t0
        rec["hf_class"], rec["hf_param_dtype"] = type(hf).__name__, str(next(hf.parameters()).dtype)
        theirs = hf(input_ids=ids).logits.float()
        del hf
        gc.collect()
    rec["rss_hf"] = usage["rss_peak_bytes"]
    with task_usage() as usage, torch.no_grad():
        ours = load_hf(f["export"]).eval()  # our module on the exported bf16 weights, upcast to fp32
        rec["same_weights"] = compare_logits(theirs, ours(ids))
        del ours
        gc.collect()
        t0 = time.perf_counter()
        full, _ = load_model(f["checkpoints"])  # the fp32 checkpoint the export was made from
        rec["checkpoint_load_s"] = time.perf_counter() - t0
        rec["fp32_checkpoint"] = compare_logits(full(ids), theirs)
        del full
    rec["rss_ours"] = usage["rss_peak_bytes"]
    rec["tolerance"] = LOGIT_TOL
    return rec
