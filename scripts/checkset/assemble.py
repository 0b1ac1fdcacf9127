"""Assemble the check set: datasets from the texts, labelled noise, Speakleash files on disk.

Five datasets (Speakleash layout, each with a `category` in its manifest, as the real index has):
four of curated text (category "Dokumentacja": the `curated` threshold profile) and one web
portal (category "Internet": the `web` profile) whose articles are other pages of the same texts.
Noise, every document at most one kind:
- `boilerplate`: page chrome of a site (`chrome.py`) in ~55 % of the portal's pages and ~20 % of
  the other datasets' documents (a documentation site crawled with its menus);
- `mojibake`: ~10 % of each dataset's documents garbled as UTF-8 read in another code page
  (scripts/demo_data/noise.py), whole document or one paragraph.
Every document's meta (Speakleash's fields, its `quality` label) is computed on the text as
published, garbling and chrome included, by the demo's rule (scripts/demo_data/text_stats.py).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import zstandard
from demo_data.noise import plant_mojibake
from demo_data.speakleash_mirror import (
    DatasetInfo,
    document_line,
    write_dataset,
    write_index,
)
from demo_data.text_stats import document_meta

from . import chrome
from .packages import PINNED_PACKAGES

DEBIAN = {"name": "Debian 12 (bookworm) packages", "url": "https://packages.debian.org/"}
BOILERPLATE_SHARE = {"portal_it_pl": 0.55}
DEFAULT_BOILERPLATE_SHARE = 0.2
MOJIBAKE_SHARE = 0.1
MOJIBAKE_ENCODINGS = [("cp1250", 4), ("iso-8859-2", 3), ("cp1252", 2), ("latin-1", 1)]
SITE_OF_DATASET = {"dokumentacja_programisty_pl": 2, "podrecznik_latex_pl": 1, "kurs_vim_pl": 0,
                   "komunikaty_programow_pl": 3}


def info(name: str, description: str, category: str, packages: list[str], license_: str) -> DatasetInfo:
    return DatasetInfo(name, description, category, license_,
                       [{**DEBIAN, "package": p, "license": license_} for p in packages])


DATASETS = {d.name: d for d in [
    info("dokumentacja_programisty_pl", "Strony podręcznika programisty, sekcje 2 i 3 (manpages-pl-dev).",
         "Dokumentacja", ["manpages-pl-dev"], "GPL-3.0-or-later"),
    info("podrecznik_latex_pl", "Nie za krótkie wprowadzenie do systemu LaTeX 2ε i polskie README pakietów "
         "(texlive-lang-polish), po rozdziale.", "Dokumentacja", ["texlive-lang-polish"], "GPL-2.0-or-later"),
    info("kurs_vim_pl", "Polski kurs Vima (vimtutor), po lekcji.", "Dokumentacja", ["vim-runtime"], "Vim"),
    info("komunikaty_programow_pl", "Komunikaty i pomoc programów (katalogi .mo: util-linux, GnuPG, "
         "Midnight Commander, Vim).", "Dokumentacja",
         ["util-linux-locales", "gnupg-l10n", "mc-data", "vim-runtime"], "GPL-2.0-or-later"),
    info("portal_it_pl", "Syntetyczny portal informatyczny: artykuły z dokumentacji z elementami stron WWW "
         "(menu, zgody, stopki).", "Internet", ["manpages-pl-dev", "texlive-lang-polish"], "GPL-3.0-or-later"),
]}


@dataclass
class Doc:
    dataset: str
    origin: str
    text: str
    title: str
    kind: str = "clean"
    extra: dict = field(default_factory=dict)
    original: str | None = None  # the text before noise was planted
    id: str = ""


def title_of(text: str) -> str:
    """The first line with a lower-case letter (a man page's "NAZWA" heading is no title)."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    return next((line for line in lines if any(c.islower() for c in line)), lines[0] if lines else "")[:70]


def plan(pools: dict[str, list[tuple[str, str]]], seed: int) -> dict[str, list[Doc]]:
    """Documents per dataset with their noise planted; ids assigned in dataset order."""
    docs = {name: [Doc(name, origin, text, title_of(text)) for origin, text in pools[name]]
            for name in sorted(pools)}
    for name, items in docs.items():
        rng = random.Random(f"{seed}:{name}")
        order = list(range(len(items)))
        rng.shuffle(order)
        n_bp = round(len(items) * BOILERPLATE_SHARE.get(name, DEFAULT_BOILERPLATE_SHARE))
        n_mb = round(len(items) * MOJIBAKE_SHARE)
        titles = sorted({d.title for d in items})
        for k, i in enumerate(order[:n_bp]):
            site = chrome.SITES[k % len(chrome.SITES) if name == "portal_it_pl" else SITE_OF_DATASET[name]]
            _plant_chrome(items[i], rng, site, titles)
        for i in order[n_bp:n_bp + n_mb]:
            _plant_mojibake(items[i], rng)
        for line, doc in enumerate(items, 1):
            doc.id = f"speakleash.{name}/{line:09d}"
    return docs


def _plant_chrome(doc: Doc, rng: random.Random, site: dict, titles: list[str]) -> None:
    text, planted = chrome.plant(doc.text, rng, site, doc.title, [t for t in titles if t != doc.title])
    assert chrome.remove_planted(text, planted) == doc.text, doc.origin
    doc.kind, doc.original, doc.text = "boilerplate", doc.text, text
    doc.extra = {"boilerplate": planted, "site": site["domain"], "original_sha1": sha1(doc.original)}


def _plant_mojibake(doc: Doc, rng: random.Random) -> None:
    names, weights = zip(*MOJIBAKE_ENCODINGS)
    encoding = rng.choices(names, weights)[0]
    layers = 2 if encoding in ("cp1250", "cp1252") and rng.random() < 0.15 else 1
    scope = "document" if layers == 2 or rng.random() < 0.7 else "paragraph"
    garbled, scope = plant_mojibake(doc.text, rng, encoding, scope, layers)
    if garbled == doc.text:
        return  # nothing to garble (ASCII only)
    doc.kind, doc.original, doc.text = "mojibake", doc.text, garbled
    doc.extra = {"encoding": encoding, "layers": layers, "scope": scope, "original_sha1": sha1(doc.original)}


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def write(out: Path, docs: dict[str, list[Doc]]) -> list[dict]:
    """Speakleash files, labels.jsonl and the originals (zstd JSON lines); returns the labels."""
    manifests, labels, originals = [], [], []
    for name, items in sorted(docs.items()):
        lines, metas = [], []
        for doc in items:
            url = f"https://{doc.extra['site']}/{doc.id.rsplit('/', 1)[1]}" if doc.extra.get("site") else None
            meta = document_meta(doc.text, title=doc.title, url=url, lang="pl")
            lines.append(document_line(doc.text, meta))
            metas.append(meta)
            labels.append({"id": doc.id, "kind": doc.kind, "origin": doc.origin, "dataset": name,
                           "category": DATASETS[name].category, "label": meta["quality"], **doc.extra})
            if doc.original is not None:
                originals.append({"id": doc.id, "kind": doc.kind, "text": doc.original})
        manifests.append(write_dataset(out / "speakleash", DATASETS[name], lines, metas))
    write_index(out / "speakleash", manifests)
    _write_jsonl_zst(out / "labels.jsonl.zst", sorted(labels, key=lambda r: r["id"]))
    _write_jsonl_zst(out / "originals.jsonl.zst", sorted(originals, key=lambda r: r["id"]))
    return labels


def _write_jsonl_zst(path: Path, rows: list[dict]) -> None:
    data = b"".join(json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n"
                    for r in rows)
    path.write_bytes(zstandard.ZstdCompressor(level=19, threads=0).compress(data))


def notice(copyrights: dict[str, str]) -> str:
    out = ["Kuźnia check set (data/checkset/) - notices", "",
           "The texts in this folder are derived from these Debian 12 (bookworm) packages:", ""]
    out += [f"  {pkg} {ver}" for pkg, ver in sorted(PINNED_PACKAGES.items())]
    out += ["", "scripts/build_checkset.py renders the man pages to plain text (groff), reduces the LaTeX",
            "sources of lshort-polish to paragraphs, splits the vimtutor into lessons and the message",
            "catalogues into runs of messages, and plants labelled noise (web page chrome, mojibake). The",
            "derived texts keep the licenses of the packages they come from. The web page chrome was",
            "written for Kuźnia; the sites are fictional and use the reserved `.invalid` domain.", "",
            "Each package's /usr/share/doc/<package>/copyright follows."]
    for pkg in sorted(copyrights):
        out += ["", "=" * 78, f"{pkg} {PINNED_PACKAGES[pkg]}", "=" * 78, "", copyrights[pkg].strip()]
    return "\n".join(out) + "\n"
