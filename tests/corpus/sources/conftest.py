"""Fixtures for the source tests (the server and builders live in source_fixtures.py)."""

from __future__ import annotations

import socket
import threading

import pytest
from source_fixtures import MirrorServer


@pytest.fixture
def mirror(tmp_path):
    """A `MirrorServer` over `tmp_path / "mirror"` (empty; tests fill it)."""
    root = tmp_path / "mirror"
    root.mkdir()
    srv = MirrorServer(root)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
