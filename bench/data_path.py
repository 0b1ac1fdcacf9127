"""Benchmark: clean + quality signals per core, against datatrove's three FineWeb-2 filters; and
the clean stage's line counting against a plain-Python line dedup count.

    .venv/bin/python bench/data_path.py [--mb 31] [--source data/demo/speakleash] [--limit-docs N]
                                        [--repeats 3] [--doc-chars N]

On the same documents, in one process, one after another:

1. ours: `corpus.clean.clean_text` (with the repeated-line rule's table of frequent lines and the
   site-line rule's site pairs, counted beforehand on the distinct documents as the stage's count
   and merge phases do) then
   `corpus.quality.SignalComputer` (every signal: language, Gopher and FineWeb statistics), on
   the raw text;
2. datatrove's GopherRepetitionFilter + FineWebQualityFilter + GopherQualityFilter with
   FineWeb-2's Polish settings (configs/pol_Latn.yml) and its Polish word tokenizer (spaCy
   `pl`), as FineWeb-2 ran them; then the same with a plain `str.split` word tokenizer;
3. the clean stage's count phases: `lines` (`linekeys.document_counts(line_keys(...))`) and
   `sites` (`sitelines.count_rows`: the site-line rule's keys and their pairs with each
   document's chrome), each (`linekeys.document_counts(line_keys(...))`: every edge line's
   key, counted once per document), against the same count written as CCNet writes its line
   dedup in Python (normalise each line with a regular expression, hash it, a set per document,
   a Counter): target >= 20 MB/s per core.

The documents are the Speakleash `.jsonl.zst` files under `--source` (the bundled demo by
default), repeated until `--mb` megabytes of UTF-8 text. Speeds are MB/s of UTF-8 text per
second of this process's CPU time (so that other processes on a shared machine do not distort
them), with wall time beside, each the best of `--repeats` runs; every row gets the same
number of runs. Ratios are of CPU times.

Targets (issue 3): ours >= 3 MB/s per core, >= 5x datatrove's three filters; the count phase
>= 20 MB/s per core. Its memory: 12 bytes per counted key on disk, 9 per frequent key in a clean
task; a merge task holds one hash range's rows (printed per MB of text).
datatrove (and spaCy, for its tokenizer) is an optional dependency of this benchmark only:
`.venv/bin/pip install datatrove spacy`; without it, ours runs alone.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

os.environ.setdefault("KUZNIA_PROGRESS", "0")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.clean.config import CleanConfig
from corpus.clean.linekeys import document_counts, line_keys
from corpus.clean.repeated import FrequentLines, frequency_level
from corpus.clean.rules import clean_text
from corpus.clean.sitelines import count_rows as site_rows
from corpus.clean.sitelines import select_pairs, sum_pairs
from corpus.polish import FINEWEB2_STOPWORDS
from corpus.quality.config import QualityConfig
from corpus.quality.signals import SignalComputer
from corpus.select.thresholds import Thresholds
from corpus.sources.jsonl import iter_lines, parse_lm_line
from corpus.sources.records import BadLine, meta_json


def cut_docs(base: list[tuple[str, str]], chars: int) -> list[tuple[str, str]]:
    """Each document cut at line breaks into pieces of at least `chars` characters (the last
    piece may be shorter): the same text as more, shorter documents."""
    out = []
    for text, meta in base:
        piece: list[str] = []
        size = 0
        for line in text.split("\n"):
            piece.append(line)
            size += len(line) + 1
            if size >= chars:
                out.append(("\n".join(piece), meta))
                piece, size = [], 0
        if "".join(piece).strip():
            out.append(("\n".join(piece), meta))
    return out


def load_docs(source: Path, mb: float, limit: int | None, doc_chars: int | None = None
              ) -> list[tuple[str, str]]:
    """(text, meta JSON) of every well-formed line (cut into ~`doc_chars`-character documents
    if given), repeated up to `mb` MB of text."""
    base = []
    for path in sorted(source.glob("*.jsonl.zst")):
        for _, raw in iter_lines(path):  # as the docs stage reads them
            try:
                text, meta = parse_lm_line(raw)
            except BadLine:
                continue
            if text.strip():
                base.append((text, meta_json(meta)))
    if not base:
        sys.exit(f"no documents in {source}/*.jsonl.zst")
    if limit:
        base = base[:limit]
    if doc_chars:
        base = cut_docs(base, doc_chars)
    docs, size, target = [], 0, mb * 1e6
    while size < target:
        for doc in base:
            docs.append(doc)
            size += len(doc[0].encode("utf-8"))
            if size >= target:
                break
    return docs


def timed(fn, docs, repeats: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of `fn` over every document: the best of `repeats` runs
    (the least disturbed by other work on a shared machine, as timeit does)."""
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        fn(docs)
        best = min(best, (time.process_time() - cpu, time.perf_counter() - wall))
    return best


FREQUENT: list[FrequentLines] = []  # the table `ours` cleans with (set in main)
SITE_PAIRS: list[np.ndarray] = []  # the site pairs `ours` cleans with (set in main)


def count_sites(docs: list[tuple[str, str]], batch: int = 1024) -> list:
    """The `sites` phase: per batch, each document's site keys, alone and with its chrome keys."""
    rcfg, frequent = CleanConfig().repeated_lines, FREQUENT[0] if FREQUENT else None
    return [site_rows([t for t, _ in docs[i:i + batch]], frequent, rcfg)[0] for i in range(0, len(docs), batch)]


def site_pairs(docs: list[tuple[str, str]]) -> np.ndarray:
    """The site pairs of the distinct documents (the `site_merge` phase's selection)."""
    distinct = list({t: (t, m) for t, m in docs}.values())
    rows = np.concatenate(count_sites(distinct))
    return select_pairs(sum_pairs(rows["site"], rows["chrome"], rows["docs"].astype(np.int64)),
                        CleanConfig().repeated_lines)


def count_lines(docs: list[tuple[str, str]], batch: int = 1024) -> list:
    """The count phase: per batch, each edge line's key counted once per document."""
    edge = CleanConfig().repeated_lines.edge_lines
    return [document_counts(line_keys([t for t, _ in docs[i:i + batch]]), edge) for i in range(0, len(docs), batch)]


_NORM = re.compile(r"[^\w\n]+|[\d_]+")


def count_lines_python(docs: list[tuple[str, str]]) -> Counter:
    """The same count as plain Python writes it (CCNet's line dedup: normalise, hash, count)."""
    counts: Counter = Counter()
    for text, _ in docs:
        counts.update({hashlib.sha1(_NORM.sub("", line.lower()).encode()).digest()[:8]
                       for line in text.split("\n") if line.strip()})
    return counts


def frequent_table(docs: list[tuple[str, str]]) -> FrequentLines:
    """The frequent lines of the distinct documents, with the stage's default thresholds."""
    distinct = list({t: (t, m) for t, m in docs}.values())
    rows = np.concatenate(count_lines(distinct))
    keys, inverse = np.unique(rows["hash"], return_inverse=True)
    docs_per_key = np.zeros(len(keys), np.int64)
    np.add.at(docs_per_key, inverse, rows["docs"])
    keep = docs_per_key >= CleanConfig().repeated_lines.min_docs_in_source
    return FrequentLines(keys[keep], frequency_level(docs_per_key[keep]))


def ours(docs: list[tuple[str, str]], batch: int = 1024) -> None:
    """Clean (with the frequent-line table), then signals in batches of `batch` documents, as the
    stages do."""
    cfg = CleanConfig()
    computer = SignalComputer(QualityConfig())
    frequent = FREQUENT[0] if FREQUENT else None
    pairs = SITE_PAIRS[0] if SITE_PAIRS else None
    for i in range(0, len(docs), batch):
        chunk = docs[i : i + batch]
        computer.batch([clean_text(t, cfg, frequent, site_pairs=pairs).text for t, _ in chunk], [m for _, m in chunk])


def datatrove_filters(tokenizer):
    """The three filters with FineWeb-2's Polish settings (fineweb-2-pipeline.py)."""
    from datatrove.pipeline.filters import (
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    t = Thresholds()
    return [
        GopherRepetitionFilter(
            language=tokenizer, dup_para_frac=0, dup_line_char_frac=0, dup_para_char_frac=0,
            dup_line_frac=t.max_dup_line_frac,
            top_n_grams=[(2, t.max_top_2gram_frac), (3, t.max_top_3gram_frac), (4, t.max_top_4gram_frac)],
            dup_n_grams=[(n, getattr(t, f"max_dup_{n}gram_frac")) for n in range(5, 11)],
        ),
        FineWebQualityFilter(
            language=tokenizer, short_line_thr=999, char_duplicates_ratio=0.1,
            line_punct_thr=t.min_line_punct_frac, new_line_ratio=t.max_newline_ratio,
        ),
        GopherQualityFilter(
            language=tokenizer, max_avg_word_length=t.max_mean_word_len,
            min_avg_word_length=t.min_mean_word_len, stop_words=list(FINEWEB2_STOPWORDS),
            max_non_alpha_words_ratio=t.min_alpha_words_frac, min_stop_words=2,
        ),
    ]


def run_datatrove(filters, docs) -> None:
    from datatrove.data import Document

    for i, (text, _) in enumerate(docs):
        doc = Document(text=text, id=str(i))
        for f in filters:  # as in a pipeline: a rejected document goes no further
            if f.filter(doc) is not True:
                break


def split_tokenizer():
    from datatrove.utils.word_tokenizers import WordTokenizer

    class SplitTokenizer(WordTokenizer):
        """A plain whitespace split (the issue's "plain split word tokenizer")."""

        def word_tokenize(self, text: str) -> list[str]:
            return text.split()

        def sent_tokenize(self, text: str) -> list[str]:
            return text.split("\n")

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            raise NotImplementedError

    return SplitTokenizer()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=31.0, help="MB of text (default 31)")
    parser.add_argument("--source", type=Path, default=ROOT / "data" / "demo" / "speakleash")
    parser.add_argument("--limit-docs", type=int, default=None, help="distinct documents to use")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the best counts (default 3)")
    parser.add_argument("--doc-chars", type=int, default=None,
                        help="cut documents at line breaks into ~N-character ones (per-document costs)")
    args = parser.parse_args(argv)

    docs = load_docs(args.source, args.mb, args.limit_docs, args.doc_chars)
    mb = sum(len(t.encode("utf-8")) for t, _ in docs) / 1e6
    print(f"{len(docs)} documents, {mb:.1f} MB of UTF-8 text from {args.source}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; best of {args.repeats} runs")
    count_lines(docs[:50])  # warm up: the line-key kernel
    FREQUENT.append(frequent_table(docs))
    SITE_PAIRS.append(site_pairs(docs))
    ours(docs[:50])  # warm up: language profiles, regex compilation
    rows = []
    cpu, wall = timed(ours, docs, args.repeats)
    rows.append(("ours: clean + all signals", cpu, wall))
    cfg = CleanConfig()
    cpu_c, wall_c = timed(lambda d: [clean_text(t, cfg, FREQUENT[0], site_pairs=SITE_PAIRS[0]) for t, _ in d],
                          docs, args.repeats)
    rows.append(("  of which clean", cpu_c, wall_c))
    cpu_s, wall_s = timed(lambda d: [clean_text(t, cfg, FREQUENT[0]) for t, _ in d], docs, args.repeats)
    rows.append(("  clean without site lines", cpu_s, wall_s))
    cpu_n, wall_n = timed(lambda d: [clean_text(t, cfg) for t, _ in d], docs, args.repeats)
    rows.append(("  clean without repeated lines", cpu_n, wall_n))
    count_rows = sum(len(r) for r in count_lines(docs))
    print(f"site pairs: {len(SITE_PAIRS[0]):,}; frequent lines: {len(FREQUENT[0]):,} keys; count phase: {count_rows / mb:,.0f} rows per MB of text "
          f"(12 bytes each on disk; a merge task over 1 GiB of text holds ~{count_rows / mb * 1024 * 30 / 1e6:,.0f} MB)")
    try:
        import datatrove  # noqa: F401
    except ImportError:
        print("datatrove is not installed (`.venv/bin/pip install datatrove spacy`): ours only")
    else:
        for label, tok in (("datatrove, spaCy pl tokenizer", "pl"), ("datatrove, split tokenizer", None)):
            try:
                filters = datatrove_filters(tok if tok else split_tokenizer())
                run_datatrove(filters, docs[:20])  # warm up: spaCy's language data
            except Exception as e:  # noqa: BLE001 - a missing spaCy skips that baseline only
                print(f"{label}: skipped ({type(e).__name__}: {e})")
                continue
            cpu_d, wall_d = timed(lambda d, f=filters: run_datatrove(f, d), docs, args.repeats)
            rows.append((label, cpu_d, wall_d))
    print(f"{'':34s} {'MB/s/core':>10s} {'cpu s':>8s} {'wall s':>8s} {'ours x':>7s}")
    for label, cpu_s, wall_s in rows:
        ratio = cpu_s / rows[0][1]
        print(f"{label:34s} {mb / cpu_s:10.2f} {cpu_s:8.1f} {wall_s:8.1f} {ratio:7.2f}")
    counting = [("count phase (line keys, numba)", *timed(count_lines, docs, args.repeats)),
                ("sites phase (site keys x chrome)", *timed(count_sites, docs, args.repeats)),
                ("  same count, plain Python (CCNet)", *timed(count_lines_python, docs, args.repeats))]
    for label, cpu_s, wall_s in counting:
        ratio = cpu_s / counting[0][1]
        print(f"{label:34s} {mb / cpu_s:10.2f} {cpu_s:8.1f} {wall_s:8.1f} {ratio:7.2f}")


if __name__ == "__main__":
    main()
