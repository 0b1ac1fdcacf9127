"""Config loading: the shipped configs load; typos and bad values fail with the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["demo.yaml", "apt3-1b.yaml"])
def test_shipped_configs_load(name: str):
    cfg = load_config(ROOT / "configs" / name)
    assert cfg.work_dir.startswith("work/")


def test_work_dir_override(tmp_path: Path):
    cfg = load_config(ROOT / "configs" / "demo.yaml", work_dir=tmp_path)
    assert cfg.work_dir == str(tmp_path)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_typo_names_key_path_and_allowed_keys(tmp_path: Path):
    p = _write(tmp_path, "fetch:\n  speakleash:\n    datsets: [a]\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert "fetch.speakleash.datsets: unknown key" in msg
    assert "allowed here: enabled, base_url, datasets, exclude" in msg
    assert str(p) in msg


def test_bad_values_are_all_reported_at_once(tmp_path: Path):
    p = _write(tmp_path, "runner: {kind: slurm}\nfetch: {concurrency: 0}\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert "2 problem(s)" in msg
    assert "runner.kind: Input should be 'process', 'serial' or 'dask' (got 'slurm')" in msg
    assert "fetch.concurrency: Input should be greater than or equal to 1 (got 0)" in msg


def test_missing_file_and_bad_yaml(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(_write(tmp_path, "a: [\n"))


def test_unknown_model_preset_fails_at_load(tmp_path: Path):
    with pytest.raises(ConfigError, match="model.preset: .*unknown model preset 'huge'; choose one of: apt3-1b"):
        load_config(_write(tmp_path, "model: {preset: huge}\n"))


def test_yaml_booleans_in_text_fields_say_how_to_write_the_word(tmp_path: Path):
    cfg = load_config(ROOT / "configs" / "demo.yaml", overrides={"train.resume": False})
    assert cfg.train.resume == "no"  # resume accepts the boolean for what it means
    with pytest.raises(ConfigError, match=r"fetch.wikipedia.wiki: Input should be a valid string \(got false: "
                                          r"YAML reads yes/no/on/off/true/false as booleans; quote the word"):
        load_config(ROOT / "configs" / "demo.yaml", overrides={"fetch.wikipedia.wiki": False})


def test_a_section_given_twice_is_refused_with_both_lines(tmp_path: Path):
    p = _write(tmp_path, "train:\n  max_steps: 5\nseed: 1\ntrain:\n  max_steps: 7\n")
    with pytest.raises(ConfigError, match=r"c.yaml: key 'train' appears twice, at lines 1 and 4; keep one"):
        load_config(p)
    p = _write(tmp_path, "train:\n  lr: 1.0e-3\n  lr: 2.0e-3\n")
    with pytest.raises(ConfigError, match=r"key 'lr' appears twice, at lines 2 and 3"):
        load_config(p)
