"""The stages of the pipeline, in DAG order: the one place that says what each stage is.

A `StageInfo` holds a stage's static facts: its name, its folder under the work dir, where its
`StageSpec` lives (`"package.stage:NAME"`: every stage is declared in its package's `stage.py`),
its upstream stages, whether its tasks fan out over a worker pool, whether it holds the GPU
slot, and whether its end refreshes the corpus report. The CLI, the Prefect flow, `status`, the
report and the stage driver all read this table; the spec itself (phases, config keys) is loaded
from `ref` (`kuznia.stage.load_spec`) only by those that run or fingerprint the stage, so that
reading the table imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass


class UnknownStage(ValueError):
    """A stage name that is not in the registry; the message lists the stages."""


@dataclass(frozen=True)
class StageInfo:
    name: str
    folder: str
    """Its folder under the work dir (DESIGN.md, "Data on disk")."""
    ref: str
    """Where its `StageSpec` lives: `"package.module:NAME"`."""
    upstream: tuple[str, ...]
    """The stages whose outputs it reads."""
    summary: str
    """One line: what it does (CLI help, `status`, the report)."""
    fans_out: bool = True
    """Its tasks run on a worker pool; False: one task in the caller's own thread (train, export:
    the training loop turns SIGTERM into a clean save, which only the main thread can)."""
    gpu: bool = False
    """It holds the GPU concurrency slot while it runs."""
    refreshes_report: bool = False
    """The corpus report shows its numbers, so it is rebuilt once the stage has run."""


STAGES: tuple[StageInfo, ...] = (
    StageInfo("fetch", "raw", "corpus.sources.stage:FETCH", (),
              "download Speakleash datasets and the Wikipedia dump; list local sources"),
    StageInfo("docs", "docs", "corpus.sources.stage:DOCS", ("fetch",),
              "parse raw files into document parts"),
    StageInfo("clean", "clean", "corpus.clean.stage:SPEC", ("docs",),
              "rule-based cleaning, every rule counted"),
    StageInfo("quality", "quality", "corpus.quality.stage:SPEC", ("clean",),
              "per-document quality signals (no text)"),
    StageInfo("dedup", "dedup", "corpus.dedup.stage:SPEC", ("clean",),
              "exact and MinHash near-duplicate clusters"),
    # corpus reads fetch's dataset manifests: a source's Speakleash category picks its thresholds.
    StageInfo("corpus", "corpus", "corpus.select.stage:SPEC", ("fetch", "docs", "clean", "quality", "dedup"),
              "thresholds per kind of source, one document per cluster, source weights",
              refreshes_report=True),
    StageInfo("tokenizer", "tokenizer", "tokenizer.stage:TOKENIZER", ("corpus",),
              "train the BPE tokenizer on a sample of the corpus", refreshes_report=True),
    StageInfo("tokens", "tokens", "tokenizer.stage:TOKENS", ("corpus", "tokenizer"),
              "encode the corpus into train/val token shards", refreshes_report=True),
    StageInfo("train", "checkpoints", "train.stage:TRAIN", ("tokens",),
              "pretrain the model, checkpoints with exact resume", fans_out=False, gpu=True),
    StageInfo("export", "export", "train.stage:EXPORT", ("train", "tokenizer"),
              "export a checkpoint to a transformers folder", fans_out=False),
    StageInfo("eval", "eval", "train.eval_stage:EVAL", ("tokens", "tokenizer", "export"),
              "bits per byte of the export and other models on the val text and files", fans_out=False, gpu=True),
)
NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)
_BY_NAME = {s.name: s for s in STAGES}


def info(name: str) -> StageInfo:
    """A stage's facts by name; an unknown name lists the stages there are."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownStage(f"unknown stage {name!r}; the stages are: {', '.join(NAMES)}") from None


def folder(name: str) -> str:
    """A stage's folder under the work dir."""
    return info(name).folder


def downstream(name: str) -> list[str]:
    """Every stage that reads `name`'s output, directly or not, in DAG order."""
    found = {name}
    for s in STAGES:
        if any(u in found for u in s.upstream):
            found.add(s.name)
    return [s.name for s in STAGES if s.name in found and s.name != name]


def parse_stages(text: str | None, option: str = "--stages") -> list[str]:
    """`"clean,quality"` or `"clean-corpus"` (a range in DAG order) -> stage names in DAG order.

    `option` names the flag or parameter in error messages (`--stages`, the deployment's `stage`).
    """
    if not text:
        return list(NAMES)
    known = ", ".join(NAMES)
    chosen: set[str] = set()
    for item in (s.strip() for s in text.split(",") if s.strip()):
        if item in _BY_NAME:
            chosen.add(item)
            continue
        a, sep, b = item.partition("-")
        if not sep:
            raise UnknownStage(f"unknown stage {item!r} in {option} {text!r}; the stages are: {known}")
        for n in (a, b):
            if n not in _BY_NAME:
                raise UnknownStage(f"unknown stage {n!r} in {option} {text!r}; the stages are: {known}")
        i, j = NAMES.index(a), NAMES.index(b)
        if i > j:
            raise UnknownStage(f"{option} range {item!r} runs backwards; the order is: {' → '.join(NAMES)}")
        chosen.update(NAMES[i : j + 1])
    return [s for s in NAMES if s in chosen]
