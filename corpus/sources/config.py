"""Config sections of the fetch and docs stages."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from kuznia.config import Section

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SpeakleashConfig(Section):
    enabled: bool = True
    """Fetch Speakleash datasets."""
    base_url: str | None = None
    """Where the index, manifests and `.jsonl.zst` files live: an http(s) URL, `file://` URL or a
    path. None means the `speakleash` package's own server."""
    datasets: list[str] | Literal["all"] = "all"
    """Dataset names to fetch, or `all` (every dataset in the index)."""
    exclude: list[str] = Field(default_factory=list)
    """Dataset names to leave out (applied after `datasets`)."""

    @field_validator("datasets")
    @classmethod
    def _names_are_safe(cls, v):
        # The same rule the index's names must pass (corpus/sources/speakleash.py); `exclude`
        # takes any name the index lists, safe or not (it never becomes a path).
        if isinstance(v, list):
            bad = [n for n in v if not _SAFE_NAME.match(n)]
            if bad:
                raise ValueError(f"dataset names {bad} must match {_SAFE_NAME.pattern}")
        return v


class WikipediaConfig(Section):
    enabled: bool = True
    """Fetch the Wikipedia `pages-articles` dump."""
    wiki: str = Field("plwiki", pattern=r"^[a-z][a-z0-9_]*$")
    """The wiki's database name."""
    dump_date: str = Field("latest", pattern=r"^(latest|[0-9]{8})$")
    """Dump date (`YYYYMMDD`) or `latest`."""
    base_url: str = "https://dumps.wikimedia.org"
    """Dump server (or a `file://` URL / path to a local mirror with the same layout)."""
    url: str | None = None
    """Full URL of the dump file; overrides `base_url`/`wiki`/`dump_date`."""
    verify_checksum: bool = True
    """Check the file against the dump's published sha1 list when it is there."""
    dump: Literal["auto", "multistream", "plain"] = "auto"
    """Which dump: `multistream` (`pages-articles-multistream.xml.bz2` + its index, parsed by
    many tasks at once), `plain` (`pages-articles.xml.bz2`, one task), or `auto`: the
    multistream pair when the dump's sha1sums list names both files, else the plain dump. The
    documents and parts are the same either way. A `url` naming a `…-multistream.xml.bz2` file
    takes its index from beside it."""


class LocalSourceConfig(Section):
    name: str
    """Source name (letters, digits, `-`, `_`); documents get source `local.<name>`."""
    path: str
    """A directory of `.txt`, `.jsonl`, `.jsonl.zst` or `.parquet` files (searched recursively)."""
    text_field: str = "text"
    """The field that holds the text in `.jsonl` / `.parquet` files."""

    @field_validator("name")
    @classmethod
    def _name_is_safe(cls, v: str) -> str:
        if not v or not all(c.isalnum() or c in "-_" for c in v):
            raise ValueError(f"local source name {v!r} must be letters, digits, '-' or '_'")
        return v


OnError = Literal["skip", "fail"]


class FetchConfig(Section):
    # Fields that cannot change outputs (Section.NOT_FINGERPRINTED).
    NOT_FINGERPRINTED = frozenset({"concurrency", "retries", "backoff_s", "timeout_s"})

    speakleash: SpeakleashConfig = Field(default_factory=SpeakleashConfig)
    wikipedia: WikipediaConfig = Field(default_factory=WikipediaConfig)
    local: list[LocalSourceConfig] = Field(default_factory=list)
    on_error: OnError | None = None
    """A source that cannot be had (an unsafe or nameless index entry, a 404, a file cut short
    after the retries, a size that disagrees with its manifest): `skip` records it as failed,
    with the reason, in the manifest, the report and `status`, and the other sources go on; `fail`
    stops the stage. None: `skip` when `speakleash.datasets` is `all`, else `fail`."""
    trust_size: bool = True
    """Check each Speakleash file against its manifest's `file_size`. A file that disagrees after
    one full download is kept aside (`<name>.size-mismatch`), not fetched again; false accepts it."""
    concurrency: int = Field(4, ge=1, le=64)
    """Downloads running at once."""
    retries: int = Field(5, ge=0, le=100)
    """Attempts after the first for a failed download (exponential backoff)."""
    backoff_s: float = Field(1.0, ge=0)
    """First backoff delay; doubles on each retry."""
    timeout_s: float = Field(60.0, gt=0)
    """Socket timeout for one HTTP request."""


class DocsConfig(Section):
    NOT_FINGERPRINTED = frozenset({"max_tasks_per_source", "wiki_task_bytes"})  # cannot change outputs

    part_bytes: int = Field(256 * 1024 * 1024, ge=1024)
    """Target text bytes per docs part (a few hundred MB in the real config). Speakleash parts
    are sized by lines from the manifest's average document size, so they come out close."""
    max_tasks_per_source: int = Field(8, ge=1, le=1024)
    """Most parse tasks one Speakleash dataset is split into (each task decompresses the file
    up to its first line, so more tasks cost more decompression)."""
    wiki_task_bytes: int = Field(16 * 1024 * 1024, ge=1)
    """Compressed bytes of a multistream Wikipedia dump per parse task (whole bz2 streams of up
    to 100 pages; plwiki's ~2.5 GB make ~150 tasks). Parts come out the same whatever it is."""
    max_doc_chars: int = Field(10_000_000, ge=1)
    """Documents longer than this are counted (`too_long`) and left out."""
    on_error: OnError = "skip"
    """A source whose files cannot be parsed (a truncated or corrupt `.zst`, a broken dump):
    `skip` records it as failed, with the reason, and leaves its documents out; `fail` stops."""
    max_malformed_share: float = Field(0.5, gt=0, le=1)
    """A source more than this share of whose records are malformed (and at least 10) counts as
    unparseable, under `on_error`: a corrupt `.zst` without a checksum decodes to garbage lines."""
