"""The planner's unit: one line of a Speakleash dataset (a document or a malformed line), with
everything its `labels.jsonl` entry needs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .speakleash_mirror import DatasetInfo

DEBIAN_SOURCE = {"name": "Debian 12 (bookworm) packages", "url": "https://packages.debian.org/"}
DATASETS: dict[str, DatasetInfo] = {info.name: info for info in [
    DatasetInfo("edu_docs_pl", "Podręcznik Audacity projektu Debian Edu / Skolelinux, po "
                "rozdziale (debian-edu-doc-legacy-pl).", "Dokumentacja", "GPL-2.0-or-later",
                [{**DEBIAN_SOURCE, "package": "debian-edu-doc-legacy-pl",
                  "license": "GPL-2.0-or-later"}]),
    DatasetInfo("fortunes_pl", "Polskie fortunki (fortunes-pl), po kilka w dokumencie.",
                "Humor", "GPL-2.0-or-later",
                [{**DEBIAN_SOURCE, "package": "fortunes-pl", "license": "GPL-2.0-or-later"}]),
    DatasetInfo("forum_crawl_pl", "Syntetyczny „crawl” forum internetowego: wątki z fortunek, "
                "z elementami stron WWW (menu, stopki, komunikaty o cookies).", "Internet",
                "GPL-2.0-or-later",
                [{**DEBIAN_SOURCE, "package": "fortunes-pl", "license": "GPL-2.0-or-later"}]),
    DatasetInfo("manpages_pl_1", "Polskie strony podręcznika systemowego, sekcja 1 "
                "(manpages-pl).", "Technologia", "GPL-3.0-or-later",
                [{**DEBIAN_SOURCE, "package": "manpages-pl", "license": "GPL-3.0-or-later"}]),
    DatasetInfo("manpages_pl_other", "Polskie strony podręcznika systemowego, sekcje 2-8 "
                "(manpages-pl).", "Technologia", "GPL-3.0-or-later",
                [{**DEBIAN_SOURCE, "package": "manpages-pl", "license": "GPL-3.0-or-later"}]),
]}


def sha1_text(text: str) -> str:
    """sha1 hex of the UTF-8 bytes of `text`."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass(eq=False)
class Entry:
    """One line of a dataset. `text` is None only for malformed lines (which carry `raw`)."""

    dataset: str
    kind: str
    origin: str
    text: str | None = None
    title: str | None = None
    url: str | None = None
    extra: dict = field(default_factory=dict)  # label fields besides id, kind, origin
    raw: bytes | None = None
    original: Entry | None = None  # the document this one duplicates
    similar: Entry | None = None   # a distinct document from the same template
    source_text: str | None = None  # text before mojibake / boilerplate was planted
    reserved: bool = False  # already picked as an original or for some noise
    id: str = ""
    meta: dict | None = None

    @property
    def words(self) -> int:
        return len((self.text or "").split())

    def label(self) -> dict:
        """This line's labels.jsonl object."""
        label = {"id": self.id, "kind": self.kind, "origin": self.origin, **self.extra}
        if self.original is not None:
            label["dup_of"] = self.original.id
        if self.similar is not None:
            label["similar_to"] = self.similar.id
        if self.kind == "malformed":
            label["dataset"] = self.dataset
            label["line"] = int(self.id.rsplit("/", 1)[1])
        return label
