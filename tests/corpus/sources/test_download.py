"""The downloader against a real HTTP server on 127.0.0.1: resume, restart, verify, fail clearly."""

from __future__ import annotations

import hashlib

import pytest

from corpus.sources.download import (
    DownloadError,
    NotFoundError,
    Retry,
    download,
    fetch_bytes,
    SizeMismatch,
    part_path,
)

FAST = Retry(retries=3, backoff_s=0.01, timeout_s=5)
DATA = bytes(range(256)) * 400  # 102,400 bytes, every offset distinguishable


@pytest.fixture
def served(mirror):
    (mirror.root / "big.bin").write_bytes(DATA)
    return mirror


def test_cut_connection_resumes_without_refetching(served, tmp_path):
    served.cut_after["big.bin"] = 30_000
    dest = tmp_path / "out" / "big.bin"
    r = download(served.url("big.bin"), dest, expected_size=len(DATA), retry=FAST)
    assert dest.read_bytes() == DATA
    assert served.requests_for("big.bin") == [None, "bytes=30000-"]
    assert served.bytes_served["big.bin"] == len(DATA)  # not one byte twice
    assert (r.attempts, r.fetched_bytes, r.skipped) == (2, len(DATA), False)
    assert not part_path(dest).exists()


def test_part_file_left_by_a_killed_run_is_continued(served, tmp_path):
    dest = tmp_path / "big.bin"
    part_path(dest).write_bytes(DATA[:40_000])
    r = download(served.url("big.bin"), dest, expected_size=len(DATA), retry=FAST)
    assert dest.read_bytes() == DATA
    assert served.requests_for("big.bin") == ["bytes=40000-"]
    assert served.bytes_served["big.bin"] == len(DATA) - 40_000
    assert (r.resumed_from, r.fetched_bytes) == (40_000, len(DATA) - 40_000)


def test_server_ignoring_range_makes_us_start_over(served, tmp_path):
    served.ignore_range.add("big.bin")
    dest = tmp_path / "big.bin"
    part_path(dest).write_bytes(b"\xff" * 1000)  # garbage that must not stay in front
    download(served.url("big.bin"), dest, expected_size=len(DATA), retry=FAST)
    assert dest.read_bytes() == DATA
    assert served.requests_for("big.bin") == ["bytes=1000-"]
    assert served.bytes_served["big.bin"] == len(DATA)


def test_a_whole_download_of_the_wrong_size_is_kept_aside_not_fetched_again(served, tmp_path):
    served.wrong_body["big.bin"] = DATA[:-10]  # a whole response (Content-Length agrees), wrong size
    dest = tmp_path / "big.bin"
    with pytest.raises(SizeMismatch) as e:
        download(served.url("big.bin"), dest, expected_size=len(DATA), retry=FAST)
    msg = str(e.value)
    assert served.url("big.bin") in msg and f"got {len(DATA) - 10} bytes, expected {len(DATA)}" in msg
    assert "fetch.trust_size: false" in msg and "retries" not in msg  # not blamed on the network
    assert served.requests_for("big.bin") == [None]  # one transfer, no retry
    assert not dest.exists() and (tmp_path / "big.bin.size-mismatch").read_bytes() == DATA[:-10]


def test_a_cut_transfer_is_still_retried(served, tmp_path):
    served.cut_after["big.bin"] = 1000
    r = download(served.url("big.bin"), tmp_path / "big.bin", expected_size=len(DATA), retry=FAST)
    assert (tmp_path / "big.bin").read_bytes() == DATA and r.attempts == 2


def test_checksum_is_verified(served, tmp_path):
    sha = hashlib.sha1(DATA).hexdigest()
    served.wrong_body["big.bin"] = b"x" * len(DATA)  # right size, wrong bytes
    r = download(served.url("big.bin"), tmp_path / "big.bin", checksum=("sha1", sha), retry=FAST)
    assert (tmp_path / "big.bin").read_bytes() == DATA and r.attempts == 2
    with pytest.raises(DownloadError, match="sha1 mismatch"):
        download(served.url("big.bin"), tmp_path / "other.bin", checksum=("sha1", "0" * 40), retry=FAST)


def test_404_fails_at_once_naming_the_url(served, tmp_path):
    url = served.url("missing.bin")
    with pytest.raises(NotFoundError, match=r"cannot fetch .*missing\.bin: HTTP 404"):
        download(url, tmp_path / "missing.bin", retry=FAST)
    assert served.requests_for("missing.bin") == [None]  # a 404 is not retried
    assert not part_path(tmp_path / "missing.bin").exists()


def test_unreachable_host_fails_after_retries_naming_the_url(closed_port, tmp_path):
    url = f"http://127.0.0.1:{closed_port}/x.bin"
    with pytest.raises(DownloadError) as e:
        download(url, tmp_path / "x.bin", retry=Retry(retries=2, backoff_s=0.01, timeout_s=2))
    assert url in str(e.value) and "gave up after 3 attempt(s)" in str(e.value)
    assert "Connection refused" in str(e.value) or "ConnectionRefused" in str(e.value)


def test_verified_target_is_not_fetched_again(served, tmp_path):
    dest = tmp_path / "big.bin"
    download(served.url("big.bin"), dest, expected_size=len(DATA), retry=FAST)
    r = download(served.url("big.bin"), dest, expected_size=len(DATA), retry=FAST)
    assert r.skipped and r.fetched_bytes == 0
    assert served.bytes_served["big.bin"] == len(DATA)
    # A target of the wrong size (truncated by hand, or a manifest that changed) is fetched again.
    dest.write_bytes(DATA[:10])
    r = download(served.url("big.bin"), dest, expected_size=len(DATA), retry=FAST)
    assert not r.skipped and dest.read_bytes() == DATA
    assert served.bytes_served["big.bin"] == 2 * len(DATA)


def test_file_urls_and_paths_are_copied_with_the_same_checks(tmp_path):
    src = tmp_path / "src dir" / "data.bin"
    src.parent.mkdir()
    src.write_bytes(DATA)
    a = download(src.as_uri(), tmp_path / "a.bin", expected_size=len(DATA))
    b = download(str(src), tmp_path / "b.bin", expected_size=len(DATA))
    assert (tmp_path / "a.bin").read_bytes() == DATA == (tmp_path / "b.bin").read_bytes()
    assert a.fetched_bytes == b.fetched_bytes == len(DATA)
    part_path(tmp_path / "c.bin").write_bytes(DATA[:500])
    c = download(str(src), tmp_path / "c.bin", expected_size=len(DATA))
    assert (c.resumed_from, c.fetched_bytes) == (500, len(DATA) - 500)
    with pytest.raises(DownloadError, match="size mismatch"):
        download(str(src), tmp_path / "d.bin", expected_size=7)
    with pytest.raises(NotFoundError, match="no such file"):
        download(str(tmp_path / "nope.bin"), tmp_path / "e.bin")


def test_fetch_bytes_reads_small_files_over_http_and_disk(served, tmp_path):
    (served.root / "index.json").write_bytes(b"[1, 2]")
    assert fetch_bytes(served.url("index.json"), FAST) == b"[1, 2]"
    assert fetch_bytes(str(served.root / "index.json")) == b"[1, 2]"
    with pytest.raises(NotFoundError, match="index2.json: HTTP 404"):
        fetch_bytes(served.url("index2.json"), FAST)
