"""A tiny synthetic work dir for the corpus stage and the report, written by hand with the real
schemas: the fetch manifest (with the datasets' categories), `docs/` and `clean/` parts
(DOC_SCHEMA, and clean's per-document stats) with their manifests, `quality/` parts that mirror
the clean parts row for row, and `dedup/clusters.parquet` with its manifest.

The quality signals are the real ones (`corpus.quality.SignalComputer`), and the documents are
chosen so that the outcome under the default thresholds is plain: `SHORT` texts are far below
any minimum length, `FOREIGN` is English, the rest is seeded Polish prose of a few paragraphs.
`EXPECTED` says which bucket each document must land in under the default config.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa

from corpus.clean.stage import stats_schema
from corpus.quality.config import QualityConfig
from corpus.quality.signals import SignalComputer, signals_table
from kuznia.files import write_json_atomic
from kuznia.parts import write_docs, write_table

WORDS = (
    "dom miasto rzeka las droga szkoła książka człowiek dziecko kobieta rodzina praca wieczór "
    "poranek zima wiosna lato jesień ogród kwiat drzewo okno stół chleb woda herbata pociąg "
    "samochód ulica plac most zamek kościół rynek sklep lekarz nauczyciel uczeń student sąsiad "
    "przyjaciel babcia dziadek pisze czyta mówi widzi słyszy idzie jedzie wraca mieszka pracuje "
    "kupuje gotuje śpiewa opowiada pamięta rozumie zaczyna kończy otwiera zamyka spokojny stary "
    "nowy piękny ciepły zimny cichy głośny długi krótki wysoki niski jasny ciemny ważny trudny "
    "łatwy wczoraj dzisiaj jutro często rzadko zawsze czasem bardzo trochę razem daleko blisko "
    "świat kraj język historia muzyka teatr obraz list słowo pytanie odpowiedź pomysł wiadomość"
).split()
STOP = "w i na z do się od a jest przez po jako oraz o nie był został roku".split()
FOREIGN = (
    "The quick brown fox jumps over the lazy dog while the committee discusses the weather "
    "forecast for the coming weekend and the results of the football match in great detail. "
    "Meanwhile the library opened a new reading room where students can borrow books, watch old "
    "films and listen to music from the previous century without paying anything at all. "
)
SHORT = "Za krótko."


def polish(n: int, tag: str) -> str:
    """A distinct Polish document of a few paragraphs (seeded by `n` and `tag`)."""
    rng = random.Random(f"{n}:{tag}")
    paras = []
    for _ in range(3 + n % 3):
        sentences = []
        for _ in range(rng.randint(3, 5)):
            words = [rng.choice(WORDS) if rng.random() < 0.7 else rng.choice(STOP)
                     for _ in range(rng.randint(7, 14))]
            sentences.append(" ".join(words).capitalize() + rng.choice([".", ".", "!", "?"]))
        paras.append(" ".join(sentences))
    return f"Rozdział {n}: {tag}.\n\n" + "\n\n".join(paras)


# source -> parts -> docs: (text, speakleash label or None)
DUP = polish(7, "wspólny tekst w dwóch źródłach")
SOURCES: dict[str, list[list[tuple[str, str | None]]]] = {
    "speakleash.alpha": [
        [(polish(1, "alfa"), "HIGH"), (SHORT, "LOW"), (DUP, "MEDIUM"), (polish(2, "alfa"), "HIGH")],
        [(FOREIGN, "MEDIUM"), (polish(3, "alfa"), "MEDIUM")],
    ],
    "speakleash.beta": [
        [(DUP, "HIGH"), (polish(4, "beta"), "HIGH"), (polish(4, "beta"), "MEDIUM")],
    ],
    "wikipedia": [
        [(polish(5, "wiki"), None), (DUP, None), (SHORT, None)],
    ],
}
# Docs-stage drops written into the docs manifest (records that never became documents).
DOCS_DROPS = {"speakleash.alpha": {"malformed": 2, "dropped_malformed_invalid_json": 2, "dropped_empty": 1},
              "wikipedia": {"dropped_wiki_redirect": 3}}


def ids_of(source: str) -> list[list[str]]:
    """Document ids per part, numbered across parts (1-based, like the docs stage)."""
    out, n = [], 0
    for part in SOURCES[source]:
        out.append([f"{source}/{n + i + 1:09d}" for i in range(len(part))])
        n += len(part)
    return out


CLUSTERS = [
    # (cluster member ids): DUP in three sources; beta's two copies of polish(4); SHORT twice
    ["speakleash.alpha/000000003", "speakleash.beta/000000001", "wikipedia/000000002"],
    ["speakleash.beta/000000002", "speakleash.beta/000000003"],
    ["speakleash.alpha/000000002", "wikipedia/000000003"],  # SHORT twice: both fail quality
]
# Keeper of the DUP cluster: HIGH label beats MEDIUM (alpha) and none (wikipedia), whatever the
# source priority; of beta's pair: HIGH beats LOW.
EXPECTED = {
    "speakleash.alpha/000000001": None,
    "speakleash.alpha/000000002": "too_short",
    "speakleash.alpha/000000003": "duplicate",
    "speakleash.alpha/000000004": None,
    "speakleash.alpha/000000005": "not_polish",
    "speakleash.alpha/000000006": None,
    "speakleash.beta/000000001": None,
    "speakleash.beta/000000002": None,
    "speakleash.beta/000000003": "duplicate",
    "wikipedia/000000001": None,
    "wikipedia/000000002": "duplicate",
    "wikipedia/000000003": "too_short",
}


def parts_of(source: str):
    """(part name, DOC_SCHEMA columns) of each part of a source."""
    for i, (part, ids) in enumerate(zip(SOURCES[source], ids_of(source))):
        metas = [json.dumps({"quality": lab} if lab else {}) for _, lab in part]
        yield f"part-{i:05d}.parquet", {"id": ids, "source": [source] * len(ids),
                                        "text": [t for t, _ in part], "meta": metas}


# Speakleash categories of the synthetic datasets (in the manifests `build_fetch` writes): alpha
# is crawled web (the `web` threshold profile), beta documentation (`curated`).
CATEGORIES = {"speakleash.alpha": "Internet", "speakleash.beta": "Dokumentacja"}


def build_fetch(work_dir: Path) -> Path:
    """The fetch stage's manifest and the dataset manifests it lists (the corpus stage reads each
    source's category there)."""
    sources: dict[str, dict] = {}
    for source in SOURCES:
        if source.startswith("speakleash."):
            name = source.split(".", 1)[1]
            path = f"speakleash/{name}.manifest"
            write_json_atomic(work_dir / "raw" / path, {"name": name, "file_size": 1,
                                                        "category": CATEGORIES[source]})
            sources[source] = {"kind": "speakleash", "dataset": name, "files": [{"path": path}]}
        else:
            sources[source] = {"kind": "wikipedia", "files": []}
    write_json_atomic(work_dir / "raw" / "_manifest.json", {"stage": "fetch", "fingerprint": "f-fetch",
                                                             "counts": {}, "sources": sources})
    return work_dir


def build_docs(work_dir: Path) -> Path:
    """The fetch manifest and the docs stage's output: parts and a manifest (what the real later
    stages read)."""
    build_fetch(work_dir)
    docs_counts: dict[str, dict] = {}
    for source, parts in SOURCES.items():
        for name, rows in parts_of(source):
            write_docs(work_dir / "docs" / source / name, rows)
        texts = [t for part in parts for t, _ in part]
        docs_counts[source] = {"documents": len(texts), "characters": sum(len(t) for t in texts),
                               **DOCS_DROPS.get(source, {})}
    totals: dict[str, int] = {}
    for c in docs_counts.values():
        for k, v in c.items():
            totals[k] = totals.get(k, 0) + v
    # the docs stage's shape: totals, then `sources`
    write_json_atomic(work_dir / "docs" / "_manifest.json", {"stage": "docs", "fingerprint": "f-docs",
                                                              "counts": {**totals, "sources": docs_counts}})
    return work_dir


def clean_stats(ids: list[str], texts: list[str]) -> pa.Table:
    """The clean stage's per-document side table for texts cleaning left as they were."""
    schema = stats_schema()
    cols = {"id": ids, "chars_in": [len(t) for t in texts], "chars_out": [len(t) for t in texts]}
    return pa.table({f.name: cols.get(f.name, [0] * len(ids)) for f in schema}, schema=schema)


def build(work_dir: Path) -> Path:
    """Write the synthetic upstream stages under `work_dir` (docs, clean, quality, dedup)."""
    build_docs(work_dir)
    computer = SignalComputer(QualityConfig())
    for source in SOURCES:
        for name, rows in parts_of(source):
            write_docs(work_dir / "clean" / source / name, rows)
            write_table(work_dir / "clean" / "_stats" / source / name, clean_stats(rows["id"], rows["text"]))
            write_table(work_dir / "quality" / source / name, signals_table(
                rows["id"], [computer(t, m) for t, m in zip(rows["text"], rows["meta"])]))
    write_json_atomic(work_dir / "clean" / "_manifest.json", {"stage": "clean", "fingerprint": "f-clean",
                                                               "counts": {}})
    write_json_atomic(work_dir / "quality" / "_manifest.json", {"stage": "quality",
                                                                 "fingerprint": "f-quality", "counts": {}})
    rows = {"id": [], "cluster_id": [], "cluster_size": [], "source": [], "chars": [], "exact_dup": []}
    text_of = {i: t for s, parts in SOURCES.items() for ids, part in zip(ids_of(s), parts)
               for i, (t, _) in zip(ids, part)}
    for members in CLUSTERS:
        for m in sorted(members):
            rows["id"].append(m)
            rows["cluster_id"].append(min(members))
            rows["cluster_size"].append(len(members))
            rows["source"].append(m.split("/")[0])
            rows["chars"].append(len(text_of[m]))
            rows["exact_dup"].append(True)
    write_table(work_dir / "dedup" / "clusters.parquet", pa.table({
        **{k: rows[k] for k in ("id", "cluster_id")},
        "cluster_size": pa.array(rows["cluster_size"], pa.int32()), "source": rows["source"],
        "chars": pa.array(rows["chars"], pa.int64()), "exact_dup": rows["exact_dup"]}))
    write_json_atomic(work_dir / "dedup" / "_manifest.json", {"stage": "dedup", "fingerprint": "f-dedup",
                                                               "counts": {"clusters": len(CLUSTERS)}})
    return work_dir
