"""Fixtures every test package may use: the bundled demo data, read once per session.

The helper modules beside this file (`demo_corpus`, `config_sections`) import by name: pytest
puts this folder on `sys.path` because this conftest lives here.
"""

from __future__ import annotations

import os

import pytest
from demo_corpus import DemoCorpus, load_demo

os.environ.setdefault("KUZNIA_PROGRESS", "0")


@pytest.fixture(scope="session")
def demo() -> DemoCorpus:
    """The demo mirror's documents (parsed by the docs stage's readers) and its labels."""
    return load_demo()
