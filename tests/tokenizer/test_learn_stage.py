"""The tokenizer stage: the seeded sample, the memory line, reruns, fertility, and its errors."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tokenizer_fixtures import SOURCES, copy_stages, make_config, write_corpus

from kuznia.driver import run_stage
from kuznia.files import read_json, write_json_atomic
from kuznia.parts import DOC_SCHEMA
from kuznia.stage import TaskError
from tokenizer.bpe import TOKENIZER_FILES, load_tokenizer
from tokenizer.sample import (
    iter_heldout_texts,
    iter_training_texts,
    plan_sample,
    unit_hash,
)
from tokenizer.stage import TOKENIZER as SPEC


def test_manifest_holds_ids_alphabet_sample_memory_and_fertility(trained):
    m = read_json(trained[0] / "tokenizer" / "_manifest.json")
    assert m["stage"] == "tokenizer" and m["vocab_size"] == 1000
    assert (m["unk_id"], m["bos_id"], m["eos_id"], m["pad_id"]) == (0, 1, 2, 3)
    assert m["special_tokens"][:4] == ["<unk>", "<s>", "</s>", "<pad>"]
    assert m["memory"]["expected_mb"] > 0 and m["memory"]["peak_rss_mb"] > 0
    assert m["sample"]["rate"] == 1.0 and m["sample"]["doc_rate"] == pytest.approx(0.9)
    assert set(m["fertility"]["sources"]) == set(SOURCES)
    assert {o["path"] for o in m["outputs"]} >= {*TOKENIZER_FILES, "fertility.json", "training.json"}


def test_training_sample_excludes_the_heldout_documents(trained):
    wd, docs = trained
    m = read_json(wd / "tokenizer" / "_manifest.json")
    sampled = [t for batch in iter_training_texts(wd / "corpus", m["sample"]) for t in batch]
    by_text = {t: i for src in docs.values() for i, t in src}
    assert len(sampled) == m["sample"]["docs"] == sum(
        unit_hash(1234, "doc", i) < 0.9 for src in docs.values() for i, _ in src)
    heldout = {t for s in SOURCES for t in iter_heldout_texts(wd / "corpus", m["sample"], s, 10**9)}
    assert heldout and not heldout & set(sampled)
    assert all(unit_hash(1234, "doc", by_text[t]) >= 0.9 for t in heldout)


def test_fertility_counts_are_the_heldout_documents_counts(trained):
    wd, docs = trained
    m = read_json(wd / "tokenizer" / "_manifest.json")
    tok = load_tokenizer(wd / "tokenizer")
    held = [t for i, t in docs["wikipedia"] if unit_hash(1234, "doc", i) >= 0.9]
    f = m["fertility"]["sources"]["wikipedia"]
    assert f["docs"] == len(held) > 0
    assert f["words"] == sum(len(t.split()) for t in held)
    assert f["chars"] == sum(len(t) for t in held)
    assert f["tokens"] == sum(len(tok.encode(t, add_special_tokens=False).ids) for t in held)
    assert f["tokens_per_word"] == round(f["tokens"] / f["words"], 4)
    assert f["chars_per_token"] == round(f["chars"] / f["tokens"], 4)
    total = m["fertility"]["all"]
    assert total["tokens"] == sum(s["tokens"] for s in m["fertility"]["sources"].values())
    assert read_json(wd / "tokenizer" / "fertility.json") == m["fertility"]


def test_rerun_is_byte_identical_and_memory_is_printed_before_training(trained, tmp_path, capsys):
    wd = copy_stages(trained[0], tmp_path, "corpus")
    run_stage(SPEC, make_config(), wd)
    out = capsys.readouterr().out
    assert out.index("expected trainer memory") < out.index("[tokenizer] trained 1,000 entries")
    for name in [*TOKENIZER_FILES, "fertility.json", "training.json"]:
        assert (wd / "tokenizer" / name).read_bytes() == (trained[0] / "tokenizer" / name).read_bytes(), name


def test_a_sample_too_small_for_the_vocabulary_says_what_to_change(tmp_path):
    write_corpus(tmp_path)
    with pytest.raises(TaskError, match=r"filled only [\d,]+ of tokenizer.vocab_size=20,000.*lower "
                                         r"tokenizer.vocab_size to at most"):
        run_stage(SPEC, make_config(tokenizer={"vocab_size": 20_000}), tmp_path, log=lambda _: None)


def test_missing_corpus_names_the_stage_to_run(tmp_path):
    from kuznia.stage import StageError

    with pytest.raises(StageError, match="run `kuznia stage corpus` first"):
        run_stage(SPEC, make_config(), tmp_path, log=lambda _: None)


def _many_row_groups(tmp_path, groups=40, rows=25):
    ids = [f"local.x/f.txt:{i:09d}" for i in range(groups * rows)]
    table = pa.table({"id": ids, "source": ["local.x"] * len(ids),
                      "text": [f"dokument {i} " * 20 for i in range(len(ids))],
                      "meta": ["{}"] * len(ids)}, schema=DOC_SCHEMA)
    (tmp_path / "corpus" / "local.x").mkdir(parents=True)
    pq.write_table(table, tmp_path / "corpus" / "local.x" / "part-00000.parquet", row_group_size=rows)
    write_json_atomic(tmp_path / "corpus" / "_manifest.json", {"stage": "corpus", "fingerprint": "x"})
    return sum(len(t.encode()) for t in table.column("text").to_pylist())


def test_sample_reads_a_few_row_groups_and_takes_part_of_each(tmp_path):
    total = _many_row_groups(tmp_path)
    plan = plan_sample(tmp_path / "corpus", sample_bytes=total // 20, heldout_fraction=0.02, seed=5)
    assert plan["row_groups"] == 40
    assert plan["group_rate"] == pytest.approx(8 * plan["rate"]) and plan["doc_rate"] == pytest.approx(1 / 8)
    batches = list(iter_training_texts(tmp_path / "corpus", plan))
    got = sum(len(t.encode()) for b in batches for t in b)
    assert 0.4 * total / 20 < got < 1.8 * total / 20
    assert 5 <= len(batches) < 40 and max(len(b) for b in batches) < 25
    assert batches == list(iter_training_texts(tmp_path / "corpus", plan))  # same seed, same sample
    other = plan_sample(tmp_path / "corpus", sample_bytes=total // 20, heldout_fraction=0.02, seed=6)
    assert list(iter_training_texts(tmp_path / "corpus", other)) != batches
