"""The pipeline config: one section per stage, composed here, validated on load.

Each section's model lives next to the stage it configures; this module only composes them,
loads YAML, applies overrides, and turns pydantic's errors into messages that name the file,
the key path and what is allowed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from corpus.clean.config import CleanConfig
from corpus.dedup.config import DedupConfig
from corpus.quality.config import QualityConfig
from corpus.select.config import CorpusConfig
from corpus.sources.config import DocsConfig, FetchConfig
from kuznia.config import Section
from kuznia.prune import DiskConfig
from model.config import ModelSection
from tokenizer.config import TokenizerConfig, TokensConfig
from train.config import EvalConfig, ExportConfig, TrainConfig

DEFAULT_CONFIG = "configs/demo.yaml"


class RunnerConfig(Section):
    kind: Literal["process", "serial", "dask"] = "process"
    """`process`: a local process pool (Prefect's ProcessPoolTaskRunner in flows, a plain pool in
    `kuznia stage`); `serial`: one task at a time in this process; `dask`: a Dask cluster."""
    workers: int | None = Field(None, ge=1, le=1024)
    """Worker processes; None means one per CPU core."""
    address: str | None = None
    """`runner: dask` only: the scheduler address of an existing cluster (None: a local one)."""
    recycle_mb: int = Field(768, ge=0)
    """The run's stages share one process pool; a stage starts on fresh workers when an idle
    worker holds more than this many MB (0: never)."""
    batch: bool = True
    """In a flow, a phase's tasks go to the workers in groups, large ones first (a Prefect task
    costs ~0.1 s of dispatch; `flows.runners.batches`); each keeps its own marker. Off: one
    Prefect task each."""

    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1


class PipelineConfig(Section):
    name: str = "kuznia"
    """A name for this run (reports, Prefect run names)."""
    work_dir: str = "work/demo"
    """Where every stage writes (DESIGN.md, "Data on disk"); relative to the current directory."""
    seed: int = 1234
    """The run's seed, used where a section leaves its own `seed` unset (e.g. `train.seed`)."""
    runner: RunnerConfig = Field(default_factory=RunnerConfig)
    disk: DiskConfig = Field(default_factory=DiskConfig)
    fetch: FetchConfig = Field(default_factory=FetchConfig)
    docs: DocsConfig = Field(default_factory=DocsConfig)
    clean: CleanConfig = Field(default_factory=CleanConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    corpus: CorpusConfig = Field(default_factory=CorpusConfig)
    tokenizer: TokenizerConfig = Field(default_factory=TokenizerConfig)
    tokens: TokensConfig = Field(default_factory=TokensConfig)
    model: ModelSection = Field(default_factory=ModelSection)
    train: TrainConfig = Field(default_factory=TrainConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)


class ConfigError(ValueError):
    """A config file that does not load: every problem, with its key path and what is allowed."""


class DuplicateKey(yaml.YAMLError):
    """A mapping that names a key twice (YAML would silently keep the last one)."""

    def __init__(self, key: object, first_line: int, second_line: int):
        super().__init__(f"key {key!r} appears twice, at lines {first_line} and {second_line}; keep one")


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise DuplicateKey(key, seen[key] + 1, key_node.start_mark.line + 1)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse_yaml(text: str) -> object:
    """YAML as the configs are read: safe, and a key given twice is an error."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def _model_at(loc: tuple, root: type[BaseModel]) -> type[BaseModel] | None:
    """The pydantic model that owns the key at `loc` (to list its allowed keys)."""
    model: Any = root
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        ann = field.annotation
        candidates = [ann, *getattr(ann, "__args__", ())]
        for c in candidates:
            for cc in [c, *getattr(c, "__args__", ())]:
                if isinstance(cc, type) and issubclass(cc, BaseModel):
                    model = cc
                    break
            else:
                continue
            break
        else:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def format_errors(e: ValidationError, source: str) -> str:
    lines = [f"invalid config {source}: {e.error_count()} problem(s)"]
    for err in e.errors():
        loc = tuple(err["loc"])
        path = ".".join(str(p) for p in loc) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            owner = _model_at(loc, PipelineConfig)
            allowed = ", ".join(owner.model_fields) if owner else "?"
            msg = f"unknown key; allowed here: {allowed}"
        elif err["type"] == "string_type" and isinstance(err.get("input"), bool):
            word = "true" if err["input"] else "false"
            msg = (f"{msg} (got {word}: YAML reads yes/no/on/off/true/false as booleans; quote the "
                   f"word to mean the text, e.g. --set '{path}=\"no\"' or {path}: \"no\" in YAML)")
        elif "input" in err and err["type"] not in ("missing",):
            msg = f"{msg} (got {err['input']!r})"
        lines.append(f"  {path}: {msg}")
    return "\n".join(lines)


def set_dotted(data: dict, dotted: str, value: Any) -> None:
    """Set `a.b.c=value` in a nested dict (the CLI's `--set` overrides)."""
    keys = dotted.split(".")
    d = data
    for k in keys[:-1]:
        d = d.setdefault(k, {})
        if not isinstance(d, dict):
            raise ConfigError(f"override {dotted}: '{k}' is not a section")
    d[keys[-1]] = value


def load_config(
    path: str | Path = DEFAULT_CONFIG,
    *,
    work_dir: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> PipelineConfig:
    """Load and validate a YAML config; `work_dir` and dotted `overrides` win over the file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} not found (try configs/demo.yaml or configs/apt3-1b.yaml)")
    try:
        data = parse_yaml(path.read_text("utf-8")) or {}
    except DuplicateKey as e:
        raise ConfigError(f"config {path}: {e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config {path} is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"config {path}: the top level must be a mapping of sections")
    for k, v in (overrides or {}).items():
        set_dotted(data, k, v)
    if work_dir is not None:
        data["work_dir"] = str(work_dir)
    try:
        cfg = PipelineConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_errors(e, str(path))) from None
    return cfg
