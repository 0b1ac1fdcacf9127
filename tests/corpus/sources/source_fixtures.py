"""Helpers for the source tests: a Range-capable HTTP server on 127.0.0.1 with fault hooks, and
builders of tiny Speakleash mirrors and Wikipedia dumps (fixtures in conftest.py)."""

from __future__ import annotations

import bz2
import hashlib
import json
import re
import socket
import threading
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import zstandard


class MirrorServer(ThreadingHTTPServer):
    """Serves `root` over HTTP with Range support, and can misbehave on request.

    Hooks (each keyed by the path relative to `root`):
      cut_after[path] = n      -> the next response sends n body bytes, then closes the connection
      stall_after[path] = n    -> every response sends n body bytes (of the file), then hangs
                                  until `release` is set
      wrong_body[path] = bytes -> the next response serves these bytes instead of the file
      not_found                -> paths answered with 404
      ignore_range             -> paths served whole (200) even when a Range is asked for
    Records: `bytes_served[path]` (body bytes only) and `requests` [(path, Range header)].
    """

    daemon_threads = True

    def __init__(self, root: Path):
        self.root = Path(root)
        self.cut_after: dict[str, int] = {}
        self.stall_after: dict[str, int] = {}
        self.wrong_body: dict[str, bytes] = {}
        self.not_found: set[str] = set()
        self.ignore_range: set[str] = set()
        self.bytes_served: Counter = Counter()
        self.requests: list[tuple[str, str | None]] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{path}"

    def requests_for(self, path: str) -> list[str | None]:
        return [r for p, r in self.requests if p == path]


class _Handler(BaseHTTPRequestHandler):
    server: MirrorServer

    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, body: bytes, path: str) -> None:
        # Counted before writing: the client may be done before this thread runs again.
        with self.server.lock:
            self.server.bytes_served[path] += len(body)
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - the http.server API
        srv = self.server
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        rng = self.headers.get("Range")
        with srv.lock:
            srv.requests.append((path, rng))
            wrong = srv.wrong_body.pop(path, None)
            cut = srv.cut_after.pop(path, None)
        file = srv.root / path
        if path in srv.not_found or not file.is_file():
            self.send_error(404, "Not Found")
            return
        data = wrong if wrong is not None else file.read_bytes()
        start, status = 0, 200
        if rng and path not in srv.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        stall = srv.stall_after.get(path)
        if stall is not None and start < stall:
            self._send(body[: stall - start], path)
            self.wfile.flush()
            srv.release.wait(30)
            self.close_connection = True
            return
        if cut is not None and cut < len(body):
            self._send(body[:cut], path)
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self._send(body, path)


# --------------------------------------------------------------------------- builders


def doc_line(text: str, **meta) -> bytes:
    meta = {"quality": "HIGH", "length": len(text), **meta}
    return json.dumps({"text": text, "meta": meta}, ensure_ascii=False).encode("utf-8")


def write_dataset(folder: Path, name: str, lines: list[bytes], *, stats: bool = True) -> dict:
    """Write `<name>.jsonl.zst` (the raw lines, newline-terminated) and `<name>.manifest`."""
    folder.mkdir(parents=True, exist_ok=True)
    raw = b"".join(line + b"\n" for line in lines)
    data = zstandard.ZstdCompressor(level=3).compress(raw)
    (folder / f"{name}.jsonl.zst").write_bytes(data)
    manifest = {"project": "test", "name": name, "file_size": len(data)}
    if stats:
        chars = sum(len(json.loads(x)["text"]) for x in lines if _is_doc(x))
        manifest["stats"] = {"documents": len(lines), "characters": chars,
                             "quality": {"HIGH": len(lines), "MEDIUM": 0, "LOW": 0}}
    (folder / f"{name}.manifest").write_text(json.dumps(manifest), "utf-8")
    return manifest


def _is_doc(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line.decode("utf-8")).get("text"), str)
    except (ValueError, AttributeError):
        return False


def write_index(folder: Path, names: list) -> None:
    entries = [{"name": n, "category": "test"} if n is not None else {"category": "x"} for n in names]
    (folder / "speakleash.json").write_text(json.dumps(entries), "utf-8")


def page_xml(page_id: int, title: str, ns: int, text: str, redirect: str | None = None) -> str:
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # noqa: E731
    red = f'    <redirect title="{esc(redirect)}" />\n' if redirect else ""
    return (f"  <page>\n    <title>{esc(title)}</title>\n    <ns>{ns}</ns>\n    <id>{page_id}</id>\n"
            f"{red}    <revision>\n      <id>{page_id * 10}</id>\n"
            f"      <timestamp>2024-01-01T00:00:00Z</timestamp>\n"
            f'      <text xml:space="preserve">{esc(text)}</text>\n    </revision>\n  </page>\n')


def write_wiki_dump(folder: Path, pages: list[str], *, wiki="plwiki", date="20240101",
                    sha1sums: bool = True) -> Path:
    """A `pages-articles.xml.bz2` dump of the given `page_xml` pages (+ its sha1sums file)."""
    head = ('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10" '
            'xml:lang="pl">\n  <siteinfo>\n    <sitename>Wikipedia</sitename>\n'
            f'    <dbname>{wiki}</dbname>\n    <namespaces>\n'
            '      <namespace key="0" case="first-letter" />\n'
            '      <namespace key="2" case="first-letter">Wikipedysta</namespace>\n'
            '      <namespace key="14" case="first-letter">Kategoria</namespace>\n'
            '    </namespaces>\n  </siteinfo>\n')
    xml = head + "".join(pages) + "</mediawiki>\n"
    d = folder / wiki / date
    d.mkdir(parents=True, exist_ok=True)
    name = f"{wiki}-{date}-pages-articles.xml.bz2"
    data = bz2.compress(xml.encode("utf-8"))
    (d / name).write_bytes(data)
    if sha1sums:
        sha = hashlib.sha1(data).hexdigest()
        (d / f"{wiki}-{date}-sha1sums.txt").write_text(
            f"{'0' * 40}  {wiki}-{date}-stub-articles.xml.gz\n{sha}  {name}\n", "utf-8")
    return d / name


# --------------------------------------------------------------------------- a whole mirror

# Three small datasets; `beta` is bigger so that cuts and stalls land mid-file.
ALPHA = [doc_line("Ala ma kota."), doc_line("Kot ma Alę.")]
BETA = [doc_line(f"Dokument numer {i}. " + "Zażółć gęślą jaźń. " * 40) for i in range(60)]
GAMMA = [doc_line("Jedyny dokument."), b'{"text": "zepsuty', doc_line("")]


def build_mirror(root: Path, names: list | None = None) -> None:
    """`root/speakleash/` (index + alpha, beta, gamma) and `root/wikipedia/` (a 3-page dump)."""
    sl = root / "speakleash"
    write_dataset(sl, "alpha", ALPHA)
    write_dataset(sl, "beta", BETA)
    write_dataset(sl, "gamma", GAMMA)
    write_index(sl, names if names is not None else ["gamma", "alpha", "beta"])
    write_wiki_dump(root / "wikipedia", [
        page_xml(5, "Polska", 0, "'''Polska''' – [[państwo]] w [[Europa|Europie]].{{Przypisy}}"),
        page_xml(6, "Polszcza", 0, "#PATRZ [[Polska]]", redirect="Polska"),
        page_xml(7, "Dyskusja:Polska", 1, "rozmowa"),
    ])


def deep_merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def stage_config(srv: MirrorServer, overrides: dict | None = None):
    """Config sections fetching everything from `srv`, with fast retries."""
    from config_sections import sections

    base = {
        "fetch": {
            "speakleash": {"base_url": srv.url("speakleash")},
            "wikipedia": {"base_url": srv.url("wikipedia"), "dump_date": "20240101"},
            "retries": 2, "backoff_s": 0.01, "timeout_s": 5, "concurrency": 3,
        },
    }
    return sections(**deep_merge(base, overrides or {}))
