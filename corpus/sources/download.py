"""Our downloader: resumable by HTTP Range, retried with backoff, verified, renamed into place.

A file is fetched into `<target>.part` beside the target. A later attempt (after a cut
connection, a timeout, a 5xx, or a killed process) asks the server only for the bytes the
`.part` file lacks; a server that ignores Range (200 instead of 206) makes us start over.
When the bytes are all there they are checked against the expected size (from the source's
manifest, else the server's Content-Length / Content-Range) and an optional checksum; a
mismatch throws the bytes away and fetches again. Only then is `.part` renamed to the target,
so a target file that exists is always whole. `file://` URLs and plain paths are copied with
the same verification. Every error names the URL.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from kuznia.files import DiskFull, disk_full, is_disk_full, record_write
from kuznia.progress import progress_bar

CHUNK_BYTES = 1 << 20
USER_AGENT = "kuznia/0.1 (+https://github.com/kuznia)"
# HTTP statuses worth another try: the server is busy or failing, not telling us "no".
RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}


class DownloadError(RuntimeError):
    """A file could not be had; the message names the URL and says why."""


class NotFoundError(DownloadError):
    """The server (or the file system) says the file does not exist (HTTP 404/410, no file)."""


class SizeMismatch(DownloadError):
    """A whole download disagrees with the size its manifest gives: not the network's fault, so
    not fetched again; the file is kept aside for a look."""


class _Retryable(Exception):
    """A failure another attempt may fix: a network error, a 5xx, a short or wrong-sized body."""


@dataclass(frozen=True)
class Retry:
    """How hard to try: attempts after the first, the first backoff (doubling), socket timeout."""

    retries: int = 5
    backoff_s: float = 1.0
    timeout_s: float = 60.0

    @classmethod
    def from_config(cls, fetch_cfg) -> Retry:
        """The policy of a `FetchConfig` section."""
        return cls(fetch_cfg.retries, fetch_cfg.backoff_s, fetch_cfg.timeout_s)

    def delay(self, attempt: int) -> float:
        return self.backoff_s * (2 ** (attempt - 1))


@dataclass
class DownloadResult:
    """What one `download` call did (a small record for the stage's task marker)."""

    url: str
    path: str
    bytes: int
    fetched_bytes: int  # bytes transferred by this call (0 when the target was already whole)
    attempts: int
    resumed_from: int  # bytes of a `.part` file left by an earlier run that were kept
    skipped: bool

    def to_dict(self) -> dict:
        return asdict(self)


def is_http(url: str) -> bool:
    return urllib.parse.urlsplit(url).scheme in ("http", "https")


def local_path(url: str) -> Path:
    """The file a `file://` URL or a plain path points at."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return Path(urllib.request.url2pathname(parts.path))
    return Path(url)


def join_url(base: str, name: str) -> str:
    """`base` + `/` + `name` for URLs and paths alike (one slash, whatever `base` ends with)."""
    return base.rstrip("/") + "/" + name


def part_path(dest: Path) -> Path:
    """Where the bytes of `dest` gather until they are verified."""
    return dest.with_name(dest.name + ".part")


def _open(url: str, retry: Retry, start: int = 0) -> http.client.HTTPResponse:
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if start:
        headers["Range"] = f"bytes={start}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=retry.timeout_s)


def _classify(url: str, e: Exception) -> Exception:
    """Turn a urllib/socket error into `_Retryable` or a final `DownloadError` naming the URL."""
    if isinstance(e, urllib.error.HTTPError):
        if e.code in RETRY_STATUSES:
            return _Retryable(f"HTTP {e.code} {e.reason}")
        cls = NotFoundError if e.code in (404, 410) else DownloadError
        return cls(f"cannot fetch {url}: HTTP {e.code} {e.reason}")
    if isinstance(e, (urllib.error.URLError, OSError, http.client.HTTPException, socket.timeout)):
        reason = getattr(e, "reason", None) or e
        return _Retryable(f"{type(e).__name__}: {reason}")
    return e


def _with_retries(url: str, retry: Retry, attempt_fn):
    """Call `attempt_fn()` until it succeeds, retrying `_Retryable` failures with backoff."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return attempt_fn(), attempt
        except (DownloadError, DiskFull):
            raise
        except Exception as e:  # noqa: BLE001 - classified below; anything unknown re-raises
            err = e if isinstance(e, _Retryable) else _classify(url, e)
            if not isinstance(err, _Retryable):
                raise err from e
            if attempt > retry.retries:
                raise DownloadError(
                    f"cannot fetch {url}: gave up after {attempt} attempt(s); last error: {err}. "
                    "Check the URL and the network, or raise fetch.retries / fetch.timeout_s"
                ) from e
            time.sleep(retry.delay(attempt))


def fetch_bytes(url: str, retry: Retry = Retry()) -> bytes:
    """The whole body of a small file (an index, a manifest, a checksum list), with retries."""
    if not is_http(url):
        path = local_path(url)
        if not path.is_file():
            raise NotFoundError(f"cannot fetch {url}: no such file {path}")
        return path.read_bytes()

    def attempt() -> bytes:
        with _open(url, retry) as resp:
            body = resp.read()
            length = resp.headers.get("Content-Length")
        if length is not None and len(body) != int(length):
            raise _Retryable(f"short body: {len(body)} of {length} bytes")
        return body

    return _with_retries(url, retry, attempt)[0]


def _content_range(value: str | None) -> tuple[int, int | None]:
    """`bytes 100-199/1000` -> (100, 1000); the total may be `*` (unknown)."""
    try:
        _unit, _, rest = (value or "").partition(" ")
        span, _, total = rest.partition("/")
        start = int(span.partition("-")[0]) if span != "*" else -1
        return start, (None if total in ("", "*") else int(total))
    except ValueError:
        raise _Retryable(f"unreadable Content-Range {value!r}") from None


def _bar(label: str, total: int | None, initial: int):
    return progress_bar(total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
                        desc=label, leave=False)


def _fetch_http(url: str, part: Path, expected: int | None, retry: Retry, label: str,
                tally: list[int]) -> int:
    """Bring `part` up to the whole file and return its size; `tally[0]` counts bytes received
    (also when the connection breaks half-way)."""
    have = part.stat().st_size if part.exists() else 0
    if expected is not None and have > expected:
        have = 0  # longer than the file can be: not a prefix of it
        part.write_bytes(b"")
    if expected is not None and have == expected and have > 0:
        return have
    try:
        resp = _open(url, retry, start=have)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:
            # We asked for bytes past the end: the part is whole if the server's total agrees.
            _, total = _content_range(e.headers.get("Content-Range"))
            if total == have:
                return have
            part.write_bytes(b"")
            raise _Retryable(f"range {have}- not satisfiable (server size {total})") from e
        raise
    with resp:
        if resp.status == 206:
            start, total = _content_range(resp.headers.get("Content-Range"))
            if start != have:
                part.write_bytes(b"")
                raise _Retryable(f"asked for bytes from {have}, server sent from {start}")
            mode = "ab"
        else:  # 200: the server ignored Range (or we asked for none): start over
            have, mode = 0, "wb"
            length = resp.headers.get("Content-Length")
            total = int(length) if length is not None else None
        with open(part, mode) as f, _bar(label, total or expected, have) as bar:
            # read1: whatever has arrived, so a stalled or killed transfer has it on disk;
            # flush: bytes in our buffer would be lost with the process.
            while chunk := resp.read1(CHUNK_BYTES):
                f.write(chunk)
                f.flush()
                tally[0] += len(chunk)
                bar.update(len(chunk))
    size = part.stat().st_size
    if total is not None and size < total:
        raise _Retryable(f"connection closed after {size} of {total} bytes")
    return total if total is not None else size


def _copy_local(url: str, part: Path, label: str, tally: list[int]) -> int:
    """Copy a `file://` URL or path into `part`, continuing a partial copy; returns the size."""
    src = local_path(url)
    if not src.is_file():
        raise NotFoundError(f"cannot fetch {url}: no such file {src}")
    total = src.stat().st_size
    have = part.stat().st_size if part.exists() else 0
    if have > total:
        have = 0
        part.write_bytes(b"")
    with open(src, "rb") as s, open(part, "ab") as f, _bar(label, total, have) as bar:
        s.seek(have)
        while chunk := s.read(CHUNK_BYTES):
            f.write(chunk)
            tally[0] += len(chunk)
            bar.update(len(chunk))
    return total


def file_digest(path: Path, algo: str) -> str:
    """Hex digest of a file with a hashlib algorithm (`sha1`, `md5`, `sha256`)."""
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        while block := f.read(CHUNK_BYTES):
            h.update(block)
    return h.hexdigest()


def _verified(path: Path, expected: int | None, checksum: tuple[str, str] | None) -> str | None:
    """None when `path` has the expected size and checksum, else what is wrong."""
    size = path.stat().st_size
    if expected is not None and size != expected:
        return f"size mismatch: got {size} bytes, expected {expected}"
    if checksum is not None:
        algo, want = checksum
        got = file_digest(path, algo)
        if got != want.lower():
            return f"{algo} mismatch: got {got}, expected {want}"
    return None


def download(
    url: str,
    dest: Path | str,
    *,
    expected_size: int | None = None,
    checksum: tuple[str, str] | None = None,
    retry: Retry = Retry(),
    label: str | None = None,
) -> DownloadResult:
    """Fetch `url` to `dest`: resume, retry, verify size (and `(algo, hexdigest)`), rename.

    A `dest` that already exists and verifies is left alone (`skipped`); one that does not is
    fetched again. Raises `DownloadError` (naming the URL) when the file cannot be had.
    """
    dest = Path(dest)
    label = label or dest.name
    if dest.exists():
        if _verified(dest, expected_size, checksum) is None:
            return DownloadResult(url, str(dest), dest.stat().st_size, 0, 0, 0, True)
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    tally = [0]  # bytes received by this call, over all attempts

    def attempt() -> int:
        try:
            if is_http(url):
                total = _fetch_http(url, part, expected_size, retry, label, tally)
            else:
                total = _copy_local(url, part, label, tally)
        except OSError as e:
            if is_disk_full(e):  # not the network: retrying would only fail again
                have = part.stat().st_size if part.exists() else 0
                raise disk_full(part, e, needed=(expected_size - have) if expected_size else None) from e
            raise
        size_problem = _verified(part, expected_size, None) if expected_size is not None else None
        if size_problem:  # the transfer ended whole (a cut one raised above): the manifest disagrees
            aside = dest.with_name(dest.name + ".size-mismatch")
            os.replace(part, aside)
            raise SizeMismatch(f"cannot fetch {url}: {size_problem} after a whole download; the file is "
                               f"kept aside as {aside}. Fix the manifest, leave the dataset out "
                               "(fetch.speakleash.exclude), or accept the file with fetch.trust_size: false")
        problem = _verified(part, total, checksum)
        if problem:
            part.unlink()  # wrong bytes are no prefix to resume from
            if not is_http(url):  # a local file will not change by asking again
                raise DownloadError(f"cannot fetch {url}: {problem}")
            raise _Retryable(problem)
        os.replace(part, dest)
        record_write(dest)
        return dest.stat().st_size

    size, attempts = _with_retries(url, retry, attempt)
    # Bytes of the file this call did not transfer came from a `.part` an earlier run left.
    resumed_from = max(0, size - tally[0])
    return DownloadResult(url, str(dest), size, tally[0], attempts, resumed_from, False)
