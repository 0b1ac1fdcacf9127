"""The `eval` stage: bits per byte of this run's export and of any other model, on the same text.

The text: the val split per source (`train/valset.py`, `eval.max_bytes` per source, by default
the train stage's own budget, so the export's figures are those training reported) and the
user's text files (`eval.text_files`). One task per model (`eval.export`, `eval.models`): it
encodes the text with the model's own tokenizer, scores it in batches of rolling windows
(`train/eval.py`) with a progress bar, and writes `eval/models/<task>.json`. Bits per byte do not
depend on the tokenizer, so a user compares their model with APT3-1B-Base (or any causal LM on
disk) on one table: `finish` puts every model's figures side by side (the manifest's `results`,
`eval/results.md`), and the training report shows them. Deterministic: the same text, windows
and batches every time. A model task is reused while its folder, the text and the config stay
as they were, so adding a model scores only that one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from kuznia import registry
from kuznia.files import safe_name, write_json_atomic, write_text_atomic
from kuznia.htmlpage import markdown_table
from kuznia.progress import progress_bar
from kuznia.stage import Phase, StageContext, StageError, StageSpec, read_manifest
from train.eval import score, summarize
from train.scorers import ScorerError, load_scorer
from train.valset import EvalText, load_valset

MODELS_DIR = "models"
RESULTS_MD = "results.md"
VAL = "val (all sources)"


def _budget(ctx: StageContext) -> int:
    return ctx.cfg.eval.max_bytes or ctx.cfg.train.eval_bytes_per_source


def file_texts(path: Path, *, max_bytes: int, text_field: str) -> list[EvalText]:
    """A user's text file as texts: `.txt` whole, `.jsonl` a text per line; the first `max_bytes`."""
    path = Path(path)
    if not path.is_file():
        raise StageError(f"eval.text_files: {path} is not a file")
    if path.suffix == ".jsonl":
        texts = []
        for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            try:
                texts.append(json.loads(line)[text_field] if line.strip() else "")
            except (ValueError, KeyError, TypeError) as e:
                raise StageError(f"{path}:{n}: not a JSON object with a {text_field!r} string ({e}); "
                                 "set eval.text_field") from None
    else:
        texts = [path.read_text("utf-8")]
    out, left = [], max_bytes
    for t in texts:
        piece = t.encode("utf-8")[:left].decode("utf-8", errors="ignore")
        if piece:
            out.append(EvalText(f"file: {path.name}", piece, len(piece.encode("utf-8"))))
            left -= out[-1].n_bytes
        if left <= 0:
            break
    return out


def eval_texts(ctx: StageContext) -> list[EvalText]:
    """Every text a model scores: the val texts per source, then the files'."""
    tokens_dir = ctx.upstream_dir("tokens")
    tokens_m = read_manifest(tokens_dir) or {}
    val = load_valset(tokens_dir, bytes_per_source=_budget(ctx),
                      tokenizer_json=ctx.upstream_dir("tokenizer") / "tokenizer.json",
                      vocab_size=tokens_m.get("vocab_size"), tokenizer_hash=tokens_m.get("tokenizer_hash"))
    texts = [EvalText(f"val: {t.source}", t.text, t.n_bytes) for t in val.texts]
    for f in ctx.cfg.eval.text_files:
        texts += file_texts(Path(f), max_bytes=_budget(ctx), text_field=ctx.cfg.eval.text_field)
    return texts


def _model_names(paths: list[str]) -> list[str]:
    """Display names of the models: their folder names, made unique."""
    names: list[str] = []
    for p in paths:
        base = Path(p).resolve().name or "model"
        names.append(base if base not in names else f"{base}-{len(names) + 1}")
    return names


def plan(ctx: StageContext) -> list[dict]:
    """One task per model: this run's export, then `eval.models` in order."""
    cfg = ctx.cfg.eval
    tasks = [{"id": "export", "name": "this run (export)", "path": str(ctx.upstream_dir("export") / "hf")}] \
        if cfg.export else []
    for name, path in zip(_model_names(cfg.models), cfg.models):
        tasks.append({"id": f"model-{safe_name(name)}", "name": name, "path": str(Path(path).resolve())})
    if not tasks:
        raise StageError("eval.export is off and eval.models is empty: nothing to evaluate")
    return tasks


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def inputs(ctx: StageContext, task: dict) -> list[Path]:
    """A model task reads the model's files, the val shards, the tokenizer and the text files."""
    return [*_files(Path(task["path"])), *_files(ctx.upstream_dir("tokens") / "val"),
            ctx.upstream_dir("tokenizer") / "tokenizer.json", *(Path(f) for f in ctx.cfg.eval.text_files)]


def run(ctx: StageContext, task: dict) -> dict:
    """Score every text with one model; `eval/models/<task>.json` holds its figures per text set."""
    cfg, t0 = ctx.cfg.eval, time.perf_counter()
    texts = eval_texts(ctx)
    try:
        scorer = load_scorer(Path(task["path"]), task["name"], tokenizer_dir=ctx.upstream_dir("tokenizer"),
                             device=cfg.device, dtype=cfg.dtype, context=cfg.context_tokens)
    except ScorerError as e:
        raise StageError(f"eval model {task['name']}: {e}") from None
    ids = scorer.encode([t.text for t in texts])
    n_rows = sum(-(-max(1, len(i)) // scorer.context) for i in ids)
    with progress_bar(n_rows, desc=f"eval {task['name']}", unit="window", leave=False) as bar:
        scored = score(ids, start=scorer.start, context=scorer.context, nll=scorer.nll, device=scorer.device,
                       batch_tokens=cfg.batch_tokens, autocast=scorer.autocast, progress=bar.update)
    sets = summarize([t.source for t in texts], [t.n_bytes for t in texts], scored)["sources"]
    val = [i for i, t in enumerate(texts) if t.source.startswith("val: ")]
    sets[VAL] = {k: v for k, v in summarize(["val"] * len(val), [texts[i].n_bytes for i in val],
                                            [scored[i] for i in val]).items() if k != "sources"}
    result = {"name": task["name"], "kind": scorer.kind, "path": task["path"], "parameters": scorer.parameters,
              "vocab_size": scorer.vocab_size, "context": scorer.context, "start": scorer.start,
              "device": str(scorer.device), "sets": sets, "seconds": round(time.perf_counter() - t0, 3)}
    write_json_atomic(ctx.dir / MODELS_DIR / f"{task['id']}.json", result)
    return {"model": task["name"]}


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    """Every model's figures side by side: the manifest's `results` and `eval/results.md`."""
    models = [json.loads((ctx.dir / MODELS_DIR / f"{t['id']}.json").read_text("utf-8")) for t in plan(ctx)]
    names = sorted({s for m in models for s in m["sets"]}, key=lambda s: (s != VAL, not s.startswith("val"), s))
    first = models[0]["sets"]
    sets = [{"name": s, "bytes": (first.get(s) or {}).get("bytes"), "texts": (first.get(s) or {}).get("texts")}
            for s in names]
    results = {"models": [{k: m[k] for k in ("name", "kind", "path", "parameters", "context", "sets")} for m in models],
               "sets": sets}
    write_text_atomic(ctx.dir / RESULTS_MD, results_markdown(results))
    return {"counts": {"models": len(models), "sets": len(sets)}, "results": results}


def results_markdown(results: dict) -> str:
    """Bits per byte, a row per text set and a column per model."""
    models = results["models"]
    rows = [[s["name"], s["bytes"], *[(m["sets"].get(s["name"]) or {}).get("bpb") for m in models]]
            for s in results["sets"]]
    return ("# Bits per byte (lower is better), on the same text\n\n"
            + markdown_table(["text", "bytes", *[m["name"] for m in models]], rows) + "\n")


def external_inputs(cfg) -> dict:
    """What the models and text files outside the work dir are on disk (size and mtime of every
    file): changing one re-runs the stage."""
    def inventory(p: Path) -> list:
        return [[f.relative_to(p).as_posix() if p.is_dir() else f.name, f.stat().st_size, f.stat().st_mtime_ns]
                for f in _files(p)] if p.exists() else ["missing"]

    return {"models": {p: inventory(Path(p)) for p in cfg.eval.models},
            "text_files": {p: inventory(Path(p)) for p in cfg.eval.text_files}}


EVAL = StageSpec(
    info=registry.info("eval"),
    config_keys=("eval", "train"),
    phases=[Phase("score", plan, run, inputs)],
    finish=finish,
    inputs=external_inputs,
)
