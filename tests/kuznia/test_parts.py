"""A part that cannot be read says which file, that it is damaged, and which command repairs it;
a stage reading it stops with that message (not an Arrow traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from config_sections import sections
from corpus_workdir import build_docs

from corpus.clean.stage import SPEC as CLEAN
from corpus.quality.stage import SPEC as QUALITY
from kuznia.driver import run_stage
from kuznia.parts import DamagedFile, iter_batches, parquet_file, read_table, write_docs
from kuznia.stage import MANIFEST, TaskError


def _clean_part(wd: Path) -> Path:
    """A clean-stage part in a work dir whose clean stage has a manifest."""
    (wd / "clean").mkdir(parents=True)
    (wd / "clean" / MANIFEST).write_text(json.dumps({"stage": "clean", "outputs": []}))
    rows = {"id": [f"d{i}" for i in range(200)], "source": ["s"] * 200,
            "text": [f"Zdanie numer {i} o czymś zupełnie innym niż poprzednie." * 5 for i in range(200)],
            "meta": ["{}"] * 200}
    return write_docs(wd / "clean" / "s" / "part-00000.parquet", rows)


@pytest.mark.parametrize("damage", ["truncate", "flip-footer", "delete"])
@pytest.mark.parametrize("read", [read_table, lambda p: list(iter_batches(p)), lambda p: parquet_file(p).metadata])
def test_damaged_part_names_file_and_repair(tmp_path: Path, damage: str, read):
    part = _clean_part(tmp_path)
    data = part.read_bytes()
    if damage == "truncate":
        part.write_bytes(data[: len(data) // 2])
    elif damage == "flip-footer":
        part.write_bytes(data[:-12] + bytes(b ^ 0xFF for b in data[-12:-8]) + data[-8:])
    else:
        part.unlink()
    with pytest.raises(DamagedFile) as e:
        read(part)
    msg = str(e.value)
    assert str(part) in msg and "damaged, cut short or gone" in msg
    assert "`kuznia stage clean --repair`" in msg and "`kuznia verify`" in msg


def test_a_part_outside_any_stage_says_rebuild(tmp_path: Path):
    p = tmp_path / "loose.parquet"
    p.write_bytes(b"PAR1 not really")
    with pytest.raises(DamagedFile, match="rebuild the stage that wrote it"):
        read_table(p)


def test_quality_stage_on_a_cut_short_clean_part(tmp_path: Path):
    """The stage itself: its task fails with the part's path and the repair command."""
    wd = build_docs(tmp_path / "work")
    cfg = sections()
    run_stage(CLEAN, cfg, wd, log=lambda m: None)
    part = sorted((wd / "clean").glob("*/part-*.parquet"))[0]
    part.write_bytes(part.read_bytes()[:-100])
    with pytest.raises(TaskError) as e:
        run_stage(QUALITY, cfg, wd, log=lambda m: None)
    msg = str(e.value)
    assert f"DamagedFile: {part} cannot be read" in msg and "`kuznia stage clean --repair`" in msg
    assert not (wd / "quality" / MANIFEST).exists()  # no manifest claims a finished stage


def test_read_table_passes_columns_through(tmp_path: Path):
    part = _clean_part(tmp_path)
    assert read_table(part, columns=["id"]).schema == pa.schema([pa.field("id", pa.string(), nullable=False)])
