"""Speakleash: the dataset index and manifests, dataset selection, safe names, the line reader.

The `speakleash` package knows where the datasets live and what the index file is called, and
we take both from it. Its classes fall short for a pipeline, so the fetching is ours:
- `Speakleash()` reads the index from the URL hard-coded in the package's `config.json`
  (no other base URL, so no mirror and no `file://`), and downloads every manifest as soon as
  it is constructed;
- `StructureDownloader` swallows every error (`except: pass`) and returns None, so "the server
  is down" and "the index is empty" look the same; it caches under hourly timestamped names
  (`<md5>-MM_DD_YY_HH.json`), which makes reruns depend on the clock;
- `SpeakleashDataset.check_file` downloads with `requests` in one go: no resume, no retry, a
  size check only after the fact, and the file is written in place under its final name;
- nothing checks the names in the index before they become file names.
Our reader streams the `.jsonl.zst` file itself (not `lm_dataformat.Reader`, which stops at
the first malformed line) so that every bad line is counted with its number and the rest read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from speakleash.config_loader import ConfigLoader
from speakleash.core import Speakleash

from corpus.sources.download import Retry, fetch_bytes, join_url
from corpus.sources.jsonl import iter_lines, parse_lm_line
from corpus.sources.records import BadLine, Doc, Malformed

DEFAULT_BASE_URL: str = ConfigLoader.load_config()["url_datasets_text_pl"]
INDEX_FILE: str = Speakleash.get_structure_file("pl")  # "speakleash.json"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_NAME_CHARS = 200


class UnsafeNameError(ValueError):
    """A dataset name that must not become a file name (`../x`, `a/b`, empty, odd characters)."""


class IndexProblem(ValueError):
    """The index or a manifest cannot be used as it is; the message names its URL."""


def check_dataset_name(name: object, where: str) -> str:
    """Return `name` if it is a safe file name stem, else raise `UnsafeNameError` naming `where`."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or len(name) > MAX_NAME_CHARS:
        raise UnsafeNameError(
            f"refusing dataset name {name!r} from {where}: a dataset name must match "
            f"{NAME_PATTERN.pattern} (at most {MAX_NAME_CHARS} characters), so that it cannot "
            "point outside raw/speakleash/; fix the index, or leave the entry out with "
            "fetch.speakleash.exclude"
        )
    return name


def base_url(cfg) -> str:
    """The configured base URL (`fetch.speakleash.base_url`), else the package's own server."""
    return cfg.base_url or DEFAULT_BASE_URL


def index_url(base: str) -> str:
    return join_url(base, INDEX_FILE)


def read_index(base: str, retry: Retry = Retry()) -> list[object]:
    """The dataset names listed in the index, in index order, exactly as published (unchecked)."""
    url = index_url(base)
    data = fetch_bytes(url, retry)
    try:
        entries = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise IndexProblem(f"Speakleash index {url} is not valid JSON: {e}") from None
    if not isinstance(entries, list):
        raise IndexProblem(f"Speakleash index {url} must be a JSON list of datasets, "
                           f"got a {type(entries).__name__}")
    return [e.get("name") if isinstance(e, dict) else None for e in entries]


def select_datasets(listed: list[object], datasets: list[str] | str, exclude: list[str],
                    where: str) -> list[object]:
    """The index names to fetch: all of them or the named ones, minus `exclude`, sorted.

    Names are returned unchecked (the caller checks each one, so that one bad entry fails
    alone); a requested name the index does not list is an error naming the index.
    """
    present = {n for n in listed if isinstance(n, str)}
    if datasets == "all":
        chosen = list(dict.fromkeys(listed))  # keep bad entries: they must be reported
    else:
        unknown = [d for d in datasets if d not in present]
        if unknown:
            raise IndexProblem(
                f"fetch.speakleash.datasets names {unknown} which {where} does not list "
                f"({len(present)} datasets there); fix the names or use `all`"
            )
        chosen = list(dict.fromkeys(datasets))
    dropped = set(exclude)
    kept = [n for n in chosen if not (isinstance(n, str) and n in dropped)]
    return sorted(kept, key=lambda n: (not isinstance(n, str), str(n)))


def parse_manifest(data: bytes, url: str) -> dict:
    """A dataset manifest (JSON object with an integer `file_size`); errors name the URL."""
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise IndexProblem(f"manifest {url} is not valid JSON: {e}") from None
    if not isinstance(manifest, dict):
        raise IndexProblem(f"manifest {url} must be a JSON object")
    size = manifest.get("file_size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise IndexProblem(f"manifest {url} has no valid 'file_size' (got {size!r}); "
                           "cannot verify the download")
    return manifest


def manifest_documents(manifest: dict) -> int | None:
    """The published document count (`stats.documents`), when the manifest has one."""
    n = (manifest.get("stats") or {}).get("documents")
    return n if isinstance(n, int) and n >= 0 else None


def manifest_characters(manifest: dict) -> int | None:
    n = (manifest.get("stats") or {}).get("characters")
    return n if isinstance(n, int) and n >= 0 else None


def doc_id(dataset: str, line: int) -> str:
    return f"speakleash.{dataset}/{line:09d}"


def iter_docs(path: Path, dataset: str, start_line: int = 1, end_line: int | None = None
              ) -> Iterator[Doc | Malformed]:
    """A `Doc` or `Malformed` for each of lines `start_line..end_line` of a `.jsonl.zst` file."""
    for line, raw in iter_lines(path, start_line, end_line):
        try:
            text, meta = parse_lm_line(raw)
        except BadLine as e:
            yield Malformed(f"line {line}", line, e.reason, e.detail)
            continue
        yield Doc(doc_id(dataset, line), text, meta, f"line {line}", line)
