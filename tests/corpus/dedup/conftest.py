"""Fixtures of the dedup tests (helpers live in dedup_fixtures.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("KUZNIA_PROGRESS", "0")
