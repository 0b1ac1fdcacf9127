"""The dataset card the corpus stage writes: Hugging Face metadata that `DatasetCard` parses, the
sources' licenses and their combination, and numbers that are the manifest's; rewritten on rerun."""

from __future__ import annotations

import json
from pathlib import Path

from config_sections import sections
from corpus_workdir import build

from corpus.select.stage import SPEC as CORPUS
from kuznia.driver import run_stage
from kuznia.htmlpage import md_cell
from kuznia.stage import MANIFEST

LICENSES = {"alpha": "GPL-2.0-or-later", "beta": "gpl-3.0-or-later"}


def test_dataset_card_parses_and_matches_the_manifest(tmp_path: Path):
    from huggingface_hub import DatasetCard

    wd = build(tmp_path / "work")
    for name, lic in LICENSES.items():  # what a Speakleash dataset's manifest publishes
        path = wd / "raw" / "speakleash" / f"{name}.manifest"
        path.write_text(json.dumps({**json.loads(path.read_text()), "license": lic, "description": f"zbiór {name}"}))
    run_stage(CORPUS, sections(), wd, log=lambda m: None)
    m = json.loads((wd / "corpus" / MANIFEST).read_text())
    card_path = wd / "corpus" / "README.md"
    card = DatasetCard.load(card_path)
    data = card.data.to_dict()
    assert data["language"] == ["pl"] and data["task_categories"] == ["text-generation"]
    assert data["source_licenses"] == {"speakleash.alpha": "GPL-2.0-or-later", "speakleash.beta": "GPL-3.0-or-later",
                                       "wikipedia": "CC-BY-SA-4.0"}
    assert data["license"] == "gpl-3.0"  # 2.0-or-later and CC BY-SA 4.0 both move to GPLv3
    assert data["configs"][0]["data_files"][0] == {"split": "train", "path": "*/part-*.parquet"}
    assert data["size_categories"] == ["n<1K"]
    total_chars = sum(f["corpus"]["chars"] for f in m["funnel"]["sources"].values())
    for source, f in m["funnel"]["sources"].items():  # the sources table holds the manifest's numbers
        share = f"{100 * f['corpus']['chars'] / total_chars:.1f} %"
        lic = data["source_licenses"][source]
        desc = f"zbiór {source.split('.')[1]}" if source.startswith("speakleash") else ""
        assert f"| {source} | {lic} | {desc} | {md_cell(f['corpus']['docs'])} | {md_cell(f['corpus']['chars'])} " \
               f"| {share} |" in card.text
    for step, figures in m["funnel"]["total"].items():
        assert f"| {step} | {md_cell(figures['docs'])} | {md_cell(figures.get('chars'))} |" in card.text
    dup = m["reasons"]["total"]["duplicate"]["docs"]
    assert f"| duplicate | dedup | {dup} |" in card.text and "zbiór alpha" in card.text
    assert "README.md" not in {o["path"] for o in m["outputs"]}  # not an output: wording never stales the tokenizer
    before = card_path.read_bytes()
    card_path.unlink()
    run_stage(CORPUS, sections(), wd, force=True, log=lambda m: None)
    assert card_path.read_bytes() == before  # regenerated, the same bytes
