"""One Speakleash dataset: its lines as planned (slots.py), `<name>.jsonl.zst` and its manifest.

A clean line is a function of (seed, dataset, line) alone (`Run.docs`: keyed draws, no shared
random stream), so a copy written by another process sees exactly its original: an exact copy
repeats its text (chrome included) byte for byte under its own meta (its own URL), a near copy
edits its sentences. Copies get their meta a batch at a time, near copies their Jaccard too. Foreign, garbled and malformed lines are made from the writer's own stream
(noise.py); nothing copies them. The file is written through a zstd stream (level 3, one
compression thread beside the generating one; zstd's output does not depend on its thread
count), and the manifest's `file_size` and `stats` are those of what was written.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import numpy as np
import zstandard

from corpus.sources.speakleash import doc_id
from scale_gen import noise
from scale_gen.documents import (
    SUMMED,
    Content,
    Metas,
    doc_keys,
    draw_content,
    keyed_content,
    uniforms,
)
from scale_gen.plan import DatasetPlan
from scale_gen.segments import COL, SegmentTable, json_body
from scale_gen.sites import Chrome
from scale_gen.slots import CLEAN, EXACT, FOREIGN, MOJIBAKE, NEAR, Slots

BATCH_DOCS = 512
FOREIGN_MAX_BYTES, MALFORMED_MAX_BYTES, MOJIBAKE_MAX_BYTES = 8_000, 4_000, 64_000
ZSTD_LEVEL = 3


@dataclass
class Docs:
    """Documents of one dataset made from their keys: content, chrome variants, statistics, meta."""

    d: int
    lines: np.ndarray  # 0-based
    content: Content
    top: np.ndarray
    bottom: np.ndarray
    stats: np.ndarray
    metas: Metas | None  # None for originals: a copy has its own meta


@dataclass
class Copy:
    """A copy being written: its line is made once the batch's copies have their meta."""

    at: int  # its place in the batch's lines
    i: int  # its line (0-based)
    first: int  # its first sentence (the title)
    body: bytes  # the text's JSON body with the chrome, and the closing '"}'
    stats: np.ndarray
    texts: tuple | None = None  # near copies: (original, copy) contents and full texts, for the Jaccard
    row: dict | None = None  # its truth row


@dataclass
class Run:
    """What every dataset of a run reads: the table (with the sites), the plans, every line's slot."""

    table: SegmentTable
    langs: tuple[str, ...]
    seed: int
    folder: Path
    plans: list[DatasetPlan]
    chromes: dict[int, Chrome]
    slots: list[Slots]

    def pool(self, d: int) -> tuple[int, int]:
        """The sentences dataset `d` is made of: Polish, or Polish with foreign words."""
        return self.table.ranges["pl_sprinkled" if self.plans[d].sprinkled else "pl"]

    def paragraph_break(self, d: int) -> int:
        """The separator between dataset `d`'s paragraphs."""
        return self.table.blank_line if self.plans[d].spec.paragraph_break == "\n\n" else self.table.newline

    def content(self, d: int, sizes, rng: np.random.Generator, pool: tuple[int, int] | None = None) -> Content:
        """Content drawn from a writer's random stream (noise documents, never copied)."""
        return draw_content(self.table, pool or self.pool(d), np.asarray(sizes),
                            self.plans[d].spec.paragraph_sentences, self.paragraph_break(d), rng)

    def docs(self, d: int, lines: np.ndarray, with_meta: bool = True) -> Docs:
        """Lines `lines` of dataset `d` as clean documents: a function of (seed, d, line) alone, so
        a copy written by another process copies exactly what its original's line holds."""
        lines = np.asarray(lines, dtype=np.int64)
        keys = doc_keys(self.seed, d, lines)
        content = keyed_content(self.table, self.pool(d), keys, self.slots[d].sizes[lines],
                                self.plans[d].spec.paragraph_sentences, self.paragraph_break(d))
        top = bottom = np.zeros(len(lines), np.int64)
        stats = content.stats
        chrome = self.chromes.get(d)
        if chrome is not None:
            top, bottom = chrome.variants(uniforms(keys, 1, 8))
            stats = stats + chrome.top_stats[top] + chrome.bottom_stats[bottom]
        return Docs(d, lines, content, top, bottom, stats, Metas(stats) if with_meta else None)

    def lines(self, docs: Docs, js: list[int]) -> dict[int, bytes]:
        """The `.jsonl` lines of `docs`' documents `js` (the hot loop: locals only)."""
        chrome = self.chromes.get(docs.d)
        tops = chrome.top_bodies if chrome is not None else [b""]
        bottoms = chrome.bottom_bodies if chrome is not None else [b""]
        url = None if chrome is None else f"https://{chrome.domain}/artykul/%d"
        bodies, ids, offsets = self.table.bodies, docs.content.ids, docs.content.offsets
        top, bottom, lines, head = docs.top.tolist(), docs.bottom.tolist(), docs.lines.tolist(), docs.metas.head
        title = self.table.title
        out = {}
        for j in js:
            seg = ids[offsets[j]:offsets[j + 1]]
            out[j] = (head(j, title(seg[0]), url and url % (lines[j] + 1))
                      + tops[top[j]] + b"".join(itemgetter(*seg)(bodies)) + bottoms[bottom[j]] + b'"}')
        return out

    def wrap(self, d: int, top: int, bottom: int) -> tuple[bytes, bytes, str, str, np.ndarray]:
        """Bodies, texts and summed statistics of a page's chrome (nothing for curated text)."""
        c = self.chromes.get(d)
        if c is None:
            return b"", b"", "", "", np.zeros(self.table.stats.shape[1], np.int64)
        return (c.top_bodies[top], c.bottom_bodies[bottom], c.top_texts[top], c.bottom_texts[bottom],
                c.top_stats[top] + c.bottom_stats[bottom])

    def head(self, d: int, metas: Metas, i: int, line: int, first: int, length: int | None = None) -> bytes:
        """A line's head (its meta) for dataset `d`: title from its `first` sentence, a URL on web sites."""
        c = self.chromes.get(d)
        url = None if c is None else f"https://{c.domain}/artykul/{line}"
        return metas.head(i, self.table.title(first), url, length)


class DatasetWriter:
    """Writes dataset `d`; `write()` returns its manifest and its truth rows."""

    def __init__(self, run: Run, d: int):
        self.run, self.d, self.plan, self.slots = run, d, run.plans[d], run.slots[d]
        self.table = run.table
        self.rng = np.random.default_rng([run.seed, 6, d])
        self.source = f"speakleash.{self.plan.name}"
        self.words = self.table.stats[:, COL["words"]]
        self.totals: Counter = Counter()
        self.quality: Counter = Counter()
        self.text_bytes = 0
        self.truth: list[dict] = []

    def _add(self, counts: tuple, text_bytes: int) -> None:
        """Count one more document in the manifest's stats: (length, SUMMED..., quality)."""
        self.totals["documents"] += 1
        self.totals["characters"] += counts[0]
        for key, value in zip(SUMMED, counts[1:-1], strict=True):
            self.totals[key] += value
        self.quality[counts[-1]] += 1
        self.text_bytes += text_bytes

    def _add_all(self, metas: Metas, stats: np.ndarray, mask: np.ndarray) -> None:
        """Count the batch's documents in `mask` at once."""
        arrays = metas.arrays
        self.totals["documents"] += int(mask.sum())
        self.totals["characters"] += int(arrays["length"][mask].sum())
        for key in SUMMED:
            self.totals[key] += int(arrays[key][mask].sum())
        self.quality.update(arrays["quality"][mask].tolist())
        self.text_bytes += int(stats[mask, COL["bytes"]].sum())

    def _truth(self, i: int, kind: str, chars: int, **cols) -> dict:
        row = {"id": doc_id(self.plan.name, i + 1), "source": self.source, "kind": kind, "chars": chars, **cols}
        self.truth.append(row)
        return row

    # ------------------------------------------------------------------ one line per kind

    def _originals(self, rows: list[int]) -> dict[int, tuple[Docs, int]]:
        """The originals of the copies on lines `rows`: line -> (their dataset's docs, index in them)."""
        wanted: dict[int, list[tuple[int, int]]] = {}
        for i in rows:
            d, j, _ = self.slots.source[i]
            wanted.setdefault(d, []).append((i, j))
        out = {}
        for d, pairs in sorted(wanted.items()):
            docs = self.run.docs(d, np.array([j for _, j in pairs]), with_meta=False)
            out.update({i: (docs, k) for k, (i, _) in enumerate(pairs)})
        return out

    def _copy(self, at: int, i: int, kind: int, original: tuple[Docs, int], top: int, bottom: int) -> Copy:
        """An exact copy (the original's text and chrome) or a near copy (its sentences edited, this
        site's chrome unless it is the original's site); its line is made in `_copies_done`."""
        docs, k = original
        d, cross = docs.d, self.slots.source[i][2]
        dup_of = doc_id(self.run.plans[d].name, int(docs.lines[k]) + 1)
        content = docs.content.of(k)
        o_top_b, o_bottom_b, o_top, o_bottom, _ = self.run.wrap(d, int(docs.top[k]), int(docs.bottom[k]))
        if kind == EXACT:
            stats = docs.stats[k]
            row = self._truth(i, "exact_dup", int(stats[COL["chars"]]), dup_of=dup_of, cross=cross)
            return Copy(at, i, content[0], o_top_b + self.table.body(content) + o_bottom_b + b'"}', stats, row=row)
        target = noise.target_jaccard(self.rng)
        pool = self.run.pool(self.d)
        ids = noise.edit_sentences(content, target, self.words, pool, self.table.line_starts(pool), self.table.space,
                                   self.rng)
        if not cross and self.d in self.run.chromes:  # the same site: the page keeps its chrome
            top, bottom = int(docs.top[k]), int(docs.bottom[k])
        top_b, bottom_b, top_t, bottom_t, chrome_stats = self.run.wrap(self.d, top, bottom)
        stats = self.table.row(ids) + chrome_stats
        row = self._truth(i, "near_dup", int(stats[COL["chars"]]), dup_of=dup_of, cross=cross,
                          target_jaccard=round(target, 4))
        before, after = self.table.text(content), self.table.text(ids)
        texts = ((before, after), (o_top + before + o_bottom, top_t + after + bottom_t))
        return Copy(at, i, ids[0], top_b + self.table.body(ids) + bottom_b + b'"}', stats, texts, row)

    def _copies_done(self, copies: list[Copy], out: list) -> None:
        """The batch's copies: their meta at once, their lines in place, the near copies' Jaccard."""
        if not copies:
            return
        metas = Metas(np.stack([c.stats for c in copies]))
        for n, c in enumerate(copies):
            out[c.at] = self.run.head(self.d, metas, n, c.i + 1, c.first) + c.body
            self._add(metas.counts(n), int(c.stats[COL["bytes"]]))
        near = [c for c in copies if c.texts is not None]
        if near:
            values = noise.jaccards([pair for c in near for pair in c.texts])
            for c, j, j_raw in zip(near, values[0::2], values[1::2], strict=True):
                c.row.update(jaccard=round(j, 4), jaccard_raw=round(j_raw, 4))

    def _foreign(self, i: int, top: int, bottom: int) -> bytes:
        lang = self.run.langs[int(self.rng.integers(len(self.run.langs)))]
        size = min(self.slots.sizes[i], FOREIGN_MAX_BYTES)
        content = self.run.content(self.d, [size], self.rng, self.table.ranges[f"foreign:{lang}"])
        ids = content.of(0)
        top_b, bottom_b, _, _, chrome_stats = self.run.wrap(self.d, top, bottom)
        stats = content.stats[0] + chrome_stats
        metas = Metas(stats)
        self._add(metas.counts(0), int(stats[COL["bytes"]]))
        self._truth(i, "foreign", int(stats[COL["chars"]]), lang=lang)
        return self.run.head(self.d, metas, 0, i + 1, ids[0]) + top_b + self.table.body(ids) + bottom_b + b'"}'

    def _mojibake(self, i: int, top: int, bottom: int) -> bytes:
        content = self.run.content(self.d, [min(self.slots.sizes[i], MOJIBAKE_MAX_BYTES)], self.rng)
        ids = content.of(0)
        text = self.table.text(ids)
        garbled, label = noise.plant_mojibake(text, self.rng)
        top_b, bottom_b, top_t, bottom_t, chrome_stats = self.run.wrap(self.d, top, bottom)
        stats = content.stats[0] + chrome_stats
        metas = Metas(stats)  # computed before the damage, but for the length
        length = int(stats[COL["chars"]]) + len(garbled) - len(text)
        self._add(metas.counts(0, length), len((top_t + garbled + bottom_t).encode("utf-8")))
        self._truth(i, "mojibake", length, **label)
        return self.run.head(self.d, metas, 0, i + 1, ids[0], length) + top_b + json_body(garbled) + bottom_b + b'"}'

    def _malformed(self, i: int) -> bytes:
        content = self.run.content(self.d, [min(self.slots.sizes[i], MALFORMED_MAX_BYTES)], self.rng)
        ids = content.of(0)
        meta = json.loads(self.run.head(self.d, Metas(content.stats[0]), 0, i + 1, ids[0]) + b'"}')["meta"]
        problem = str(self.rng.choice(sorted(noise.MALFORMED)))
        self._truth(i, "malformed", 0, problem=problem, docs_reason=noise.MALFORMED[problem])
        return noise.malformed_line(problem, self.table.text(ids), meta)

    # ------------------------------------------------------------------ the file

    def _batch(self, start: int, end: int) -> bytes:
        docs = self.run.docs(self.d, np.arange(start, end))
        kinds = self.slots.kinds[start:end]
        clean = kinds == CLEAN
        originals = self._originals([start + j for j in np.flatnonzero((kinds == EXACT) | (kinds == NEAR)).tolist()])
        out: list = [None] * (end - start)
        for j, line in self.run.lines(docs, np.flatnonzero(clean).tolist()).items():
            out[j] = line
        copies = []
        for j, (kind, t, b) in enumerate(zip(kinds.tolist(), docs.top.tolist(), docs.bottom.tolist(), strict=True)):
            i = start + j
            if kind in (EXACT, NEAR):
                copies.append(self._copy(j, i, kind, originals[i], t, b))
            elif kind == FOREIGN:
                out[j] = self._foreign(i, t, b)
            elif kind == MOJIBAKE:
                out[j] = self._mojibake(i, t, b)
            elif kind != CLEAN:
                out[j] = self._malformed(i)
        self._copies_done(copies, out)
        self._add_all(docs.metas, docs.stats, clean)
        return b"\n".join(out) + b"\n"

    def write(self) -> tuple[dict, list[dict]]:
        """Write `<name>.jsonl.zst` and `<name>.manifest`; returns the manifest and the truth rows."""
        path = self.run.folder / f"{self.plan.name}.jsonl.zst"
        cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=1)
        with open(path, "wb") as f, cctx.stream_writer(f, closefd=False) as out:
            for start in range(0, len(self.slots.sizes), BATCH_DOCS):
                out.write(self._batch(start, min(start + BATCH_DOCS, len(self.slots.sizes))))
        return self._manifest(path.stat().st_size), self.truth

    def _manifest(self, file_size: int) -> dict:
        stats = {"documents": self.totals["documents"], "characters": self.totals["characters"],
                 **{k: self.totals[k] for k in SUMMED},
                 "quality": {q: self.quality[q] for q in ("HIGH", "MEDIUM", "LOW")}}
        plan = self.plan
        manifest = {
            # The sentences come from GPL-2.0+ and GPL-3.0+ Debian packages (data/demo/NOTICE).
            "name": plan.name, "category": plan.spec.category, "license": "GPL-3.0-or-later",
            "description": f"Syntetyczny zbiór ({plan.kind}{', z obcymi słowami' if plan.sprinkled else ''}) "
                           f"ze zdań danych demo Kuźni; ziarno {self.run.seed}.",
            "sources": [{"name": "Kuźnia bench/scale_corpus.py from data/demo (see its NOTICE)",
                         "license": "GPL-3.0-or-later"}],
            "file_size": file_size, "stats": stats, "category=95%": {},
        }
        write_json(self.run.folder / f"{plan.name}.manifest", manifest)
        return {**manifest, "text_bytes": self.text_bytes}


def write_json(path: Path, obj) -> None:
    """Pretty, key-sorted UTF-8 JSON with a trailing newline (the same object, the same bytes)."""
    path.write_text(json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=2) + "\n", encoding="utf-8")


def write_index(folder: Path, manifests: list[dict]) -> None:
    """`speakleash.json`: one entry per dataset, sorted by name."""
    index = [{"name": m["name"], "description": m["description"], "category": m["category"],
              "license": m["license"], "file_size": m["file_size"], "documents": m["stats"]["documents"],
              "characters": m["stats"]["characters"]} for m in sorted(manifests, key=lambda m: m["name"])]
    write_json(folder / "speakleash.json", index)
