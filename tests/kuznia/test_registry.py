"""The stage registry: one table of stages, their folders, order, and where each spec lives."""

from __future__ import annotations

import pytest

from kuznia import registry
from kuznia.registry import UnknownStage
from kuznia.stage import load_spec


def test_every_stage_loads_its_spec_and_the_spec_carries_its_registry_entry():
    for info in registry.STAGES:
        spec = load_spec(info.name)
        assert spec.info is info
        assert spec.ref == info.ref and spec.upstream == info.upstream


def test_upstream_stages_come_earlier_in_dag_order():
    seen: set[str] = set()
    for info in registry.STAGES:
        assert set(info.upstream) <= seen, info.name
        seen.add(info.name)


def test_folders_are_distinct_and_the_gpu_stages_do_not_fan_out():
    folders = [s.folder for s in registry.STAGES]
    assert len(set(folders)) == len(folders)
    assert [s.name for s in registry.STAGES if s.gpu] == ["train", "eval"]  # eval runs models on the GPU
    assert not any(s.fans_out for s in registry.STAGES if s.gpu) and registry.info("clean").fans_out


def test_parse_stages_lists_and_ranges():
    assert registry.parse_stages(None) == list(registry.NAMES)
    assert registry.parse_stages("quality,clean") == ["clean", "quality"]
    assert registry.parse_stages("clean-corpus") == ["clean", "quality", "dedup", "corpus"]
    with pytest.raises(UnknownStage, match="unknown stage 'cleen' in --stages 'cleen'; the stages are: fetch"):
        registry.parse_stages("cleen")
    with pytest.raises(UnknownStage, match="in stage 'corpsu'"):
        registry.parse_stages("corpsu", option="stage")
    with pytest.raises(UnknownStage, match="runs backwards"):
        registry.parse_stages("corpus-clean")


def test_downstream_follows_every_path():
    assert registry.downstream("tokenizer") == ["tokens", "train", "export", "eval"]
    assert registry.downstream("quality") == ["corpus", "tokenizer", "tokens", "train", "export", "eval"]
    assert registry.downstream("export") == ["eval"] and registry.downstream("eval") == []
