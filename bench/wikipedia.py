"""Benchmark: the docs stage on a Wikipedia dump, one task (plain dump) against byte ranges of
the multistream dump, and where an article's time goes.

    .venv/bin/python bench/wikipedia.py [--articles 20000] [--workers 1 2] [--work-dir /tmp/kuznia-bench-wiki]

The dump is synthetic, made once under `--work-dir` (seeded): articles recombined from the
wikitext of the demo dump's articles (real Polish text with infoboxes, refs, tables, links,
headings), log-normal in length around the demo's, with redirects and pages outside the main
namespace in plwiki's proportions; written as `pages-articles.xml.bz2` and, from the same
XML, as `pages-articles-multistream.xml.bz2` + index (streams of 100 pages). In one run:

1. the cost of one article, on one core: bz2, XML (mwxml pages and revisions), mwparserfromhell's
   parse, our rendering of the parse tree to text, and the rest of the stage (Parquet, pieces,
   pack) as the single-task stage's CPU time less those;
2. the docs stage (real `run_stage`, process pool) on the plain dump (one task: the baseline)
   and on the multistream dump (`docs.wiki_task_bytes` ranges), with each `--workers` count:
   wall and CPU seconds (this process and its workers), articles/s and MB/s per core by CPU
   time (MB of the dump's XML, and of the text written), and articles/s by wall time; the
   ratios against the baseline; and whether the parts are byte-identical to the baseline's.
"""

from __future__ import annotations

import os

os.environ.setdefault("KUZNIA_PROGRESS", "0")

import argparse  # noqa: E402
import bz2  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402
from xml.sax.saxutils import escape  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mwparserfromhell  # noqa: E402
import mwxml  # noqa: E402

from corpus.sources import wikipedia  # noqa: E402
from corpus.sources.config import DocsConfig, FetchConfig  # noqa: E402
from corpus.sources.stage import DOCS, FETCH  # noqa: E402
from corpus.sources.wiki_streams import write_multistream  # noqa: E402
from kuznia.driver import run_stage  # noqa: E402
from kuznia.mappers import process_mapper  # noqa: E402
from kuznia.parts import list_parts  # noqa: E402

DEMO_DUMP = ROOT / "data/demo/wikipedia/plwiki/20240101/plwiki-20240101-pages-articles.xml.bz2"
DATE = "20240101"
NAMES = {kind: f"plwiki-{DATE}-pages-articles{suffix}" for kind, suffix in
         (("plain", ".xml.bz2"), ("multi", "-multistream.xml.bz2"), ("index", "-multistream-index.txt.bz2"))}


# --------------------------------------------------------------------------- the dump


def _demo_pages() -> tuple[bytes, list[str]]:
    """The demo export's header and its articles' wikitext."""
    xml = bz2.decompress(DEMO_DUMP.read_bytes())
    head = xml[: xml.index(b"  <page>")]
    texts = []
    for page in mwxml.Dump.from_file(io.BytesIO(xml)):
        for rev in page:
            if page.namespace == 0 and not page.redirect and not wikipedia._is_redirect(rev.text):
                texts.append(rev.text)
    return head, texts


def _article(rng: random.Random, blocks: list[str], infoboxes: list[str], i: int) -> str:
    """An infobox, a lead and sections of blocks of the demo's articles, ~log-normal length."""
    target = min(60_000, int(rng.lognormvariate(8.2, 0.7)))  # median ~3.6 kB of wikitext
    out = [rng.choice(infoboxes), f"'''Artykuł {i}''' – " + rng.choice(blocks)]
    size = sum(map(len, out))
    while size < target:
        out.append(f"== Sekcja {len(out)} ==" if rng.random() < 0.3 else rng.choice(blocks))
        size += len(out[-1])
    return "\n\n".join(out) + f"\n\n[[Kategoria:Kategoria {i % 97}]]"


def _page(page_id: int, title: str, ns: int, text: str, redirect: str | None = None) -> str:
    red = f'    <redirect title="{escape(redirect)}" />\n' if redirect else ""
    sha = hashlib.sha1(text.encode()).hexdigest()[:31]
    return (f"  <page>\n    <title>{escape(title)}</title>\n    <ns>{ns}</ns>\n    <id>{page_id}</id>\n{red}"
            f"    <revision>\n      <id>{page_id * 7}</id>\n      <timestamp>2023-11-30T12:00:00Z</timestamp>\n"
            f"      <contributor>\n        <username>Bot</username>\n        <id>1</id>\n      </contributor>\n"
            f"      <model>wikitext</model>\n      <format>text/x-wiki</format>\n"
            f'      <text bytes="{len(text.encode())}" xml:space="preserve">{escape(text)}</text>\n'
            f"      <sha1>{sha}</sha1>\n    </revision>\n  </page>\n")


def build_dump(folder: Path, articles: int, seed: int) -> dict:
    """Write the plain and multistream dumps (once per size and seed); their sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    if all((folder / n).exists() for n in NAMES.values()):
        return {"xml_bytes": len(bz2.decompress((folder / NAMES["plain"]).read_bytes()))}
    rng = random.Random(seed)
    head, texts = _demo_pages()
    infoboxes = [t[: t.index("\n}}") + 3] for t in texts if t.startswith("{{")]
    blocks = [b for t in texts for b in t.split("\n\n")[1:] if len(b) > 40 and not b.startswith("[[Kategoria")]
    pages, page_id = [], 100
    for i in range(articles):  # plwiki: ~1.6 M articles, ~1.1 M redirects, ~0.5 M other pages
        page_id += rng.randint(1, 9)
        pages.append(_page(page_id, f"Artykuł {i}", 0, _article(rng, blocks, infoboxes, i)))
        if rng.random() < 0.68:
            page_id += 1
            pages.append(_page(page_id, f"Przekierowanie {i}", 0, f"#PATRZ [[Artykuł {i}]]", f"Artykuł {i}"))
        if rng.random() < 0.3:
            page_id += 1
            pages.append(_page(page_id, f"Dyskusja:Artykuł {i}", 1, rng.choice(blocks)))
    xml = head + "".join(pages).encode("utf-8") + b"</mediawiki>\n"
    (folder / NAMES["plain"]).write_bytes(bz2.compress(xml, 9))
    multi, index = write_multistream(xml)
    (folder / NAMES["multi"]).write_bytes(multi)
    (folder / NAMES["index"]).write_bytes(index)
    sums = "".join(f"{hashlib.sha1((folder / n).read_bytes()).hexdigest()}  {n}\n" for n in sorted(NAMES.values()))
    (folder / f"plwiki-{DATE}-sha1sums.txt").write_text(sums, "utf-8")
    return {"xml_bytes": len(xml)}


# --------------------------------------------------------------------------- measuring


def cpu_s() -> float:
    """CPU seconds of this process and of its finished children (the pool's workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class _Timed:
    """CPU seconds spent inside one function, wherever it is called from."""

    def __init__(self, fn):
        self.fn, self.s = fn, 0.0

    def __call__(self, *args, **kw):
        t = time.process_time()
        try:
            return self.fn(*args, **kw)
        finally:
            self.s += time.process_time() - t


class _TimedFile(io.RawIOBase):
    """A raw file whose reads (here: bz2 decompression) add to `timer`."""

    def __init__(self, f, timer: _Timed):
        super().__init__()
        self.f, self.timer = f, timer

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        t = time.process_time()
        try:
            return self.f.readinto(b)
        finally:
            self.timer.s += time.process_time() - t

    def close(self) -> None:
        self.f.close()
        super().close()


def breakdown(mirror: Path, work: Path) -> dict:
    """CPU seconds of each step inside one single-task docs run on the plain dump (in this
    process; each step timed where it runs, so their interleaving is what the stage sees)."""
    parse, convert = _Timed(mwparserfromhell.parse), _Timed(wikipedia.wikitext_to_text)
    reads, pages = _Timed(None), _Timed(None)
    real_iter = wikipedia.iter_docs

    def timed_iter(*args):
        it = real_iter(*args)
        while True:
            t = time.process_time()
            item = next(it, None)
            pages.s += time.process_time() - t
            if item is None:
                return
            yield item

    patches = [(mwparserfromhell, "parse", parse), (wikipedia, "wikitext_to_text", convert),
               (wikipedia, "bz2", SimpleNamespace(open=lambda path, mode: _TimedFile(bz2.open(path, mode), reads))),
               (wikipedia, "iter_docs", timed_iter)]
    old = [(m, k, getattr(m, k)) for m, k, _ in patches]
    for m, k, v in patches:
        setattr(m, k, v)
    try:
        r = _run_docs(mirror, work, "plain", 1, 1)
    finally:
        for m, k, v in old:
            setattr(m, k, v)
    bz2_s = reads.s
    return {"cpu": r["cpu"], "articles": r["docs"], "bz2": bz2_s, "xml": pages.s - bz2_s - convert.s,
            "parse": parse.s, "render": convert.s - parse.s, "rest": r["cpu"] - pages.s}


def run_docs(mirror: Path, work: Path, dump: str, workers: int, task_bytes: int, repeats: int) -> dict:
    """The docs stage's best of `repeats` runs by CPU time (fetch done first, untimed)."""
    runs = [_run_docs(mirror, work, dump, workers, task_bytes) for _ in range(repeats)]
    return min(runs, key=lambda r: r["cpu"])


def _run_docs(mirror: Path, work: Path, dump: str, workers: int, task_bytes: int) -> dict:
    cfg = {"fetch": FetchConfig.model_validate({"speakleash": {"enabled": False}, "wikipedia": {
               "base_url": str(mirror), "dump_date": DATE, "dump": dump}}),
           "docs": DocsConfig(wiki_task_bytes=task_bytes, part_bytes=16 << 20)}
    shutil.rmtree(work, ignore_errors=True)
    run_stage(FETCH, cfg, work, log=lambda _: None)
    c0, w0 = cpu_s(), time.perf_counter()
    m = run_stage(DOCS, cfg, work, mapper=process_mapper(workers), workers=workers, log=lambda _: None).manifest
    if m["failed"]:
        raise SystemExit(f"the docs stage failed: {m['failed']}")
    cpu, wall = cpu_s() - c0, time.perf_counter() - w0
    parts = {p.name: p.read_bytes() for p in list_parts(work / "docs", "wikipedia")}
    tasks = len(list((work / "docs/_tasks/parse").glob("*.json")))
    return {"cpu": cpu, "wall": wall, "docs": m["counts"]["documents"], "text_mb": m["counts"]["characters"] / 1e6,
            "parts": parts, "tasks": tasks}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=20_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--task-mb", type=float, default=2.0, help="docs.wiki_task_bytes, in MB (of bz2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=2, help="runs of each configuration (the best is shown)")
    ap.add_argument("--work-dir", type=Path, default=Path("/tmp/kuznia-bench-wiki"))
    args = ap.parse_args(argv)
    mirror = args.work_dir / f"mirror-{args.articles}-{args.seed}"
    t = time.perf_counter()
    info = build_dump(mirror / "plwiki" / DATE, args.articles, args.seed)
    xml_mb = info["xml_bytes"] / 1e6
    folder = mirror / "plwiki" / DATE
    print(f"dump: {args.articles:,} articles, {xml_mb:.1f} MB of XML; plain {(folder / NAMES['plain']).stat().st_size / 1e6:.1f} MB"
          f", multistream {(folder / NAMES['multi']).stat().st_size / 1e6:.1f} MB bz2 (ready in {time.perf_counter() - t:.0f}s)")
    print(f"CPU cores here: {os.cpu_count()}; per-core figures are by CPU time\n")

    b = breakdown(mirror, args.work_dir / "work-breakdown")
    base = run_docs(mirror, args.work_dir / "work-plain", "plain", 1, 1, args.repeats)
    n = b["articles"]
    print("one article, one core (plain dump, single task, each step timed inside the stage):")
    for k, label in (("bz2", "bz2 decompression"), ("xml", "XML (mwxml pages + revisions)"),
                     ("parse", "mwparserfromhell parse"), ("render", "our rendering to text"),
                     ("rest", "Parquet pieces + pack, the driver")):
        print(f"  {label:34s} {b[k] / n * 1e6:8.0f} µs  {b[k] / b['cpu'] * 100:5.1f} %")
    print(f"  {'total (the stage, CPU)':34s} {b['cpu'] / n * 1e6:8.0f} µs")
    print(f"\n{'dump':12s} {'workers':>7s} {'tasks':>5s} {'wall s':>7s} {'CPU s':>6s} {'art/s/core':>10s} "
          f"{'XML MB/s/core':>13s} {'text MB/s/core':>14s} {'art/s wall':>10s} {'same parts':>10s}")
    results = [("plain", 1, base)]
    for w in args.workers:
        results.append(("multistream", w, run_docs(mirror, args.work_dir / f"work-multi-{w}", "multistream", w,
                                                   int(args.task_mb * 1e6), args.repeats)))
    for dump, w, r in results:
        print(f"{dump:12s} {w:7d} {r['tasks']:5d} {r['wall']:7.1f} {r['cpu']:6.1f} {r['docs'] / r['cpu']:10.0f} "
              f"{xml_mb / r['cpu']:13.2f} {r['text_mb'] / r['cpu']:14.2f} {r['docs'] / r['wall']:10.0f} "
              f"{'yes' if r['parts'] == base['parts'] else 'NO':>10s}")
    print("\nratios against the single task (plain dump):")
    for dump, w, r in results[1:]:
        print(f"  multistream, {w} worker(s): wall speed-up {base['wall'] / r['wall']:.2f}x, "
              f"CPU per article {r['cpu'] / base['cpu']:.3f}x")
    if b["parse"] + b["render"] > 0.5 * base["cpu"]:
        print("mwparserfromhell (parse + our walk of its tree) dominates the cost of an article.")
    return 0 if all(r["parts"] == base["parts"] for _, _, r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
