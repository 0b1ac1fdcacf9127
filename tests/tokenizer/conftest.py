"""Shared fixtures: a small fake corpus stage output and a tokenizer trained on it (once)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("KUZNIA_PROGRESS", "0")
# The helper modules beside this file import by name under any `--import-mode`.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from tokenizer_fixtures import make_config, write_corpus  # noqa: E402

from kuznia.driver import run_stage  # noqa: E402


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> tuple[Path, dict]:
    """A work dir with only the corpus stage's output, and the documents written."""
    wd = tmp_path_factory.mktemp("corpus")
    return wd, write_corpus(wd)


@pytest.fixture(scope="session")
def trained(tmp_path_factory, corpus_dir) -> tuple[Path, dict]:
    """A work dir with the corpus and a trained tokenizer stage (read-only for tests)."""
    from tokenizer.stage import TOKENIZER as SPEC

    wd = tmp_path_factory.mktemp("trained")
    shutil.copytree(corpus_dir[0] / "corpus", wd / "corpus")
    run_stage(SPEC, make_config(), wd, log=lambda _: None)
    return wd, corpus_dir[1]
