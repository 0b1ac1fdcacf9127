"""Write the planned mirror to `data/demo/`: Speakleash files, the wiki dump, the labels, the
originals side files, NOTICE and README.md."""

from __future__ import annotations

import bz2
import hashlib
import random
import re
import shutil
from collections import Counter
from pathlib import Path

from corpus.sources.wiki_streams import write_multistream

from .debian_packages import PINNED_PACKAGES, copyright_text
from .entries import DATASETS, Entry
from .speakleash_mirror import document_line, write_dataset, write_index, write_jsonl
from .wiki_dump import DUMP_DATE, WikiPage, compress_dump, dump_xml

WIKI_DIR = Path("wikipedia/plwiki") / DUMP_DATE
DUMP_NAME = f"plwiki-{DUMP_DATE}-pages-articles.xml.bz2"
MULTISTREAM_NAME = f"plwiki-{DUMP_DATE}-pages-articles-multistream.xml.bz2"
INDEX_NAME = f"plwiki-{DUMP_DATE}-pages-articles-multistream-index.txt.bz2"
SUMS_NAME = f"plwiki-{DUMP_DATE}-sha1sums.txt"


def write_speakleash(out: Path, entries: dict[str, list[Entry]]) -> None:
    """Every dataset's `.jsonl.zst` + manifest, and the index."""
    manifests = []
    for name in sorted(entries):
        lines, metas = [], []
        for entry in entries[name]:
            if entry.text is None:
                lines.append(entry.raw)
            else:
                lines.append(document_line(entry.text, entry.meta))
                metas.append(entry.meta)
        manifests.append(write_dataset(out / "speakleash", DATASETS[name], lines, metas))
    write_index(out / "speakleash", manifests)


def write_wikipedia(out: Path, pages: list[WikiPage], seed: int) -> None:
    """The bz2 dump, the same pages as a multistream dump + index, and the sha1sums file (the
    layout of dumps.wikimedia.org)."""
    folder = out / WIKI_DIR
    folder.mkdir(parents=True, exist_ok=True)
    payload = compress_dump(dump_xml(pages, random.Random(f"{seed}:wiki-xml")))
    (folder / DUMP_NAME).write_bytes(payload)
    write_wiki_multistream(out)


def write_wiki_multistream(out: Path) -> None:
    """The multistream pair made from the plain dump's XML (streams of 100 pages, bz2 level 9,
    as dumps.wikimedia.org cuts them), and the sha1sums of all three files. Deterministic, so
    `--wiki-multistream` on the committed dump writes what a whole build writes."""
    folder = out / WIKI_DIR
    dump, index = write_multistream(bz2.decompress((folder / DUMP_NAME).read_bytes()))
    (folder / MULTISTREAM_NAME).write_bytes(dump)
    (folder / INDEX_NAME).write_bytes(index)
    lines = [f"{hashlib.sha1((folder / name).read_bytes()).hexdigest()}  {name}\n"
             for name in sorted((DUMP_NAME, MULTISTREAM_NAME, INDEX_NAME))]
    (folder / SUMS_NAME).write_text("".join(lines), encoding="utf-8")


def all_labels(entries: dict[str, list[Entry]], pages: list[WikiPage]) -> list[dict]:
    """Every label, sorted by id."""
    labels = [e.label() for name in sorted(entries) for e in entries[name]]
    labels += [p.full_label() for p in pages]
    return sorted(labels, key=lambda label: label["id"])


def write_labels(out: Path, entries: dict[str, list[Entry]], pages: list[WikiPage]) -> list[dict]:
    """labels.jsonl and the two originals side files; returns the labels."""
    labels = all_labels(entries, pages)
    write_jsonl(out / "labels.jsonl", labels)
    for kind, name in (("mojibake", "mojibake_originals.jsonl"),
                       ("boilerplate", "boilerplate_originals.jsonl")):
        rows = sorted(({"id": e.id, "text": e.source_text}
                       for d in entries.values() for e in d if e.kind == kind),
                      key=lambda r: r["id"])
        write_jsonl(out / name, rows)
    return labels


def reset_output(out: Path) -> None:
    """Remove what an earlier build wrote (only our own files and folders)."""
    for name in ("speakleash", "wikipedia"):
        if (out / name).exists():
            shutil.rmtree(out / name)
    for name in ("labels.jsonl", "mojibake_originals.jsonl", "boilerplate_originals.jsonl",
                 "NOTICE", "README.md"):
        (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


# ---- NOTICE ---------------------------------------------------------------------------------

def _relevant_stanzas(copyright_file: str, used: set[str]) -> str:
    """Header, `Files: *`, the stanzas naming a used file, and the license texts."""
    stanzas = copyright_file.strip().split("\n\n")
    keep = [stanzas[0]]
    for stanza in stanzas[1:]:
        if stanza.startswith("License:"):
            keep.append(stanza)
        elif stanza.startswith("Files:"):
            files = stanza.split("Copyright:")[0].split()[1:]
            if "*" in files or used & set(files):
                keep.append(stanza)
    return "\n\n".join(keep)


def notice_text(roots: dict[str, Path], origins: set[str]) -> str:
    """NOTICE: where each text came from and the packages' copyright/license text."""
    used_po: dict[str, set[str]] = {}
    for origin in origins:
        for part in origin.split(" + "):
            m = re.match(r"manpages-(\w+):(man\d)/(.+)$", part)
            if m:
                lang, section, stem = m.groups()
                used_po.setdefault(lang, set()).add(f"po/{lang}/{section}/{stem}.po")
    out = [
        "Kuźnia demo data (data/demo/) - notices",
        "",
        "The texts in this folder are derived from Debian 12 (bookworm) packages:",
        "",
    ]
    out += [f"  {pkg} {ver}" for pkg, ver in sorted(PINNED_PACKAGES.items())]
    out += [
        "",
        "scripts/build_demo_data.py renders the man pages to plain text (groff), splits the",
        "fortune files and the Audacity manual into documents, writes Polish Wikipedia-style",
        "articles from man pages, and plants labelled noise (mojibake, copies, near copies,",
        "web boilerplate lines, malformed lines). The derived texts keep the licenses of the",
        "packages they come from (GPL-3+ for the manpages-l10n translations, GPL-2+ for",
        "fortunes-pl and debian-edu-doc). The synthetic parts (web page chrome, short forum",
        "replies, wiki markup, talk/user/template pages) were written for Kuźnia; all names,",
        "e-mail addresses and phone numbers in them are made up and use the reserved",
        "`.invalid` domain.",
        "",
        "The relevant parts of each package's /usr/share/doc/<package>/copyright follow.",
    ]
    for pkg in sorted(PINNED_PACKAGES):
        text = copyright_text(roots[pkg], pkg)
        if pkg.startswith("manpages-"):
            lang = pkg.split("-", 1)[1]
            text = _relevant_stanzas(text, used_po.get(lang, set()))
        out += ["", "=" * 78, f"{pkg} {PINNED_PACKAGES[pkg]}", "=" * 78, "", text.strip()]
    return "\n".join(out) + "\n"


# ---- README ---------------------------------------------------------------------------------

def count_table(labels: list[dict]) -> tuple[list[str], list[str], dict]:
    """(sources, kinds, counts[(source, kind)]) for the summary table."""
    counts: Counter = Counter()
    for label in labels:
        counts[(label["id"].split("/", 1)[0], label["kind"])] += 1
    sources = sorted({s for s, _ in counts})
    kinds = sorted({k for _, k in counts}, key=lambda k: (k != "clean", k))
    return sources, kinds, counts


def markdown_table(labels: list[dict]) -> str:
    """The per-source, per-kind counts as a Markdown table."""
    sources, kinds, counts = count_table(labels)
    head = "| source | " + " | ".join(kinds) + " | total |"
    rule = "|---|" + "---:|" * (len(kinds) + 1)
    rows = []
    for s in sources + ["total"]:
        values = [sum(counts[(x, k)] for x in sources) if s == "total" else counts[(s, k)]
                  for k in kinds]
        rows.append(f"| {s} | " + " | ".join(str(v) for v in values) + f" | {sum(values)} |")
    return "\n".join([head, rule, *rows])


def write_readme(out: Path, labels: list[dict], readme_template: str) -> None:
    """README.md from the template with the counts table filled in."""
    (out / "README.md").write_text(readme_template.replace("{{COUNTS}}", markdown_table(labels)),
                                   encoding="utf-8")
