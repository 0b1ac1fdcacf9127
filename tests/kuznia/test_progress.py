"""Progress bars: off with KUZNIA_PROGRESS=0, on with 1, on a terminal only when unset."""

from __future__ import annotations

from kuznia.progress import progress, progress_enabled


def test_the_switch_and_the_terminal(monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    monkeypatch.setenv("KUZNIA_PROGRESS", "0")
    assert not progress_enabled()
    monkeypatch.setenv("KUZNIA_PROGRESS", "1")
    assert progress_enabled()
    monkeypatch.delenv("KUZNIA_PROGRESS")
    assert progress_enabled()
    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    assert not progress_enabled()
    monkeypatch.setenv("KUZNIA_PROGRESS", "1")
    assert progress_enabled()  # forced on for a pipe (make demo)


def test_progress_yields_every_item_with_bars_on_or_off(monkeypatch):
    for flag in ("0", "1"):
        monkeypatch.setenv("KUZNIA_PROGRESS", flag)
        assert list(progress(iter(range(5)), total=5, desc="x")) == [0, 1, 2, 3, 4]
