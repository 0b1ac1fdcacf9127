"""The stages of the pipeline, in DAG order, and where each one's spec lives."""

from __future__ import annotations

from corpus.stage import StageError, StageSpec, load_spec

# DAG order (DESIGN.md, "Stages"). Each stage reads only the outputs of earlier stages.
SPEC_REFS: dict[str, str] = {
    "fetch": "corpus.sources.fetch:SPEC",
    "docs": "corpus.sources.docs:SPEC",
    "clean": "corpus.clean_stage:SPEC",
    "quality": "corpus.quality_stage:SPEC",
    "dedup": "corpus.dedup.stage:SPEC",
    "corpus": "corpus.corpus:SPEC",
    "tokenizer": "tokenizer.train:SPEC",
    "tokens": "tokenizer.tokens:SPEC",
    "train": "train.stage:SPEC",
    "export": "train.export:SPEC",
}
STAGES: list[str] = list(SPEC_REFS)
# Stages whose tasks fan out over parts; train and export run as one task each.
DATA_STAGES = ("fetch", "docs", "clean", "quality", "dedup", "corpus", "tokenizer", "tokens")


def spec(name: str) -> StageSpec:
    """The spec of a stage by name, with an error that lists the known stages."""
    if name not in SPEC_REFS:
        raise StageError(f"unknown stage '{name}'; the stages are: {', '.join(STAGES)}")
    return load_spec(SPEC_REFS[name])


def parse_stages(text: str | None) -> list[str]:
    """`"clean,quality"` or `"clean-corpus"` (a range in DAG order) -> stage names in DAG order."""
    if not text:
        return list(STAGES)
    chosen: set[str] = set()
    for item in (s.strip() for s in text.split(",") if s.strip()):
        if "-" in item and item not in SPEC_REFS:
            a, _, b = item.partition("-")
            for n in (a, b):
                if n not in SPEC_REFS:
                    raise StageError(f"unknown stage '{n}' in --stages {text!r}; the stages are: {', '.join(STAGES)}")
            i, j = STAGES.index(a), STAGES.index(b)
            if i > j:
                raise StageError(f"--stages range {item!r} runs backwards; the order is: {' → '.join(STAGES)}")
            chosen.update(STAGES[i : j + 1])
        elif item in SPEC_REFS:
            chosen.add(item)
        else:
            raise StageError(f"unknown stage '{item}' in --stages {text!r}; the stages are: {', '.join(STAGES)}")
    return [s for s in STAGES if s in chosen]
