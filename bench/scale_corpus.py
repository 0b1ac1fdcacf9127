"""The scale corpus: a Speakleash mirror + plwiki dump of any size with planted noise, and its scorer.

    .venv/bin/python bench/scale_corpus.py --gb 0.5 --out /tmp/scale/0.5 [--seed 0]
    .venv/bin/python bench/scale_corpus.py score --truth /tmp/scale/0.5 --work-dir WORK [--json F]

generate (the default): `gb` × 10⁹ bytes of UTF-8 text made from the real Polish sentences of
`data/demo/` (read with the docs stage's readers), shaped like Speakleash (~150 datasets with
Zipf sizes, web crawls with page chrome and curated text, log-normal document lengths, quality
labels) plus 1 % as a plwiki dump (plain and multistream), with exact copies (3 %), near copies
at measured Jaccard (5 %, half across datasets), foreign documents (1 %), mojibake (0.5 %) and
malformed lines (0.1 %) planted and listed in `<out>/truth.parquet` under the ids the docs
stage gives. Same seed and size, same bytes. Prints what it wrote and its speed: MB/s of text
per wall second (target ≥ 50 on 2 cores), the CPU seconds beside (zstd compresses in threads),
with and without the one-off reading of the demo text.
Point a config at it with `fetch.speakleash.base_url: <out>/speakleash`,
`fetch.wikipedia.base_url: <out>/wikipedia`, `fetch.wikipedia.dump_date: "20240101"`.

score: after a pipeline run over the corpus (at least through `corpus`), reads the truth, the
corpus stage's decisions, dedup's clusters and the clean text of the garbled documents, and
prints: foreign documents rejected (target: all), near copies at J ≥ 0.8 clustered (recall,
target ≥ 0.95), planted pairs below J 0.7 merged (target: none), exact copies clustered and
removed, mojibake repaired, malformed lines counted by the docs stage.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("KUZNIA_PROGRESS", "0")
ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from scale_gen.generate import generate
from scale_gen.pools import segment_table
from scale_gen.score import format_score, score


def _cpu_s() -> float:
    """CPU seconds of this process (its threads too) and of its finished worker processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_generate(gb: float, out: Path, seed: int, workers: int | None = None) -> dict:
    """Generate, timing the demo reading apart from the rest; prints the summary and speeds."""
    wall0, cpu0 = time.perf_counter(), _cpu_s()
    segment_table()  # read the demo mirror once (cached for `generate`)
    wall1, cpu1 = time.perf_counter(), _cpu_s()
    summary = generate(gb, out, seed, workers)
    wall2, cpu2 = time.perf_counter(), _cpu_s()
    mb = summary["text_bytes"] / 1e6
    sl, wk, noise = summary["speakleash"], summary["wikipedia"], summary["noise"]
    print(f"wrote {out}: {mb:,.1f} MB of text ({summary['text_bytes']:,} bytes), seed {seed}")
    print(f"  speakleash: {sl['datasets']} datasets {sl['datasets_by_kind']}, {sl['documents']:,} documents "
          f"({sl['lines']:,} lines), {sl['text_bytes'] / 1e6:,.1f} MB text -> {sl['file_bytes'] / 1e6:,.1f} MB .zst; "
          f"10 largest hold {sl['largest_10_share']:.0%}; sprinkled {sl['sprinkled_text_bytes'] / 1e6:,.1f} MB; "
          f"quality {sl['quality']}")
    print(f"  wikipedia: {wk['pages']:,} pages ({wk['articles']:,} articles, {wk['redirects']:,} redirects, "
          f"{wk['non_articles']:,} non-articles), {wk['wikitext_bytes'] / 1e6:,.1f} MB wikitext; files "
          + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in wk["files"].items()))
    print(f"  planted: {noise}; near copies across datasets {summary['near_dup']['cross']}, "
          f"J>=0.8 {summary['near_dup']['jaccard_ge_0.8']}, J<0.7 {summary['near_dup']['jaccard_lt_0.7']}; "
          f"exact copies across datasets {summary['exact_dup_cross']}")
    gen_wall, gen_cpu = wall2 - wall1, cpu2 - cpu1
    print(f"speed: {mb / gen_wall:,.1f} MB/s wall [target >= 50] ({gen_wall:.1f} s wall, {gen_cpu:.1f} s CPU: "
          f"{mb / max(gen_cpu, 1e-9):,.1f} MB per CPU second, {gen_cpu / gen_wall:.2f} of {os.cpu_count()} cores "
          f"busy on average); with reading the demo text once ({wall1 - wall0:.1f} s wall, {cpu1 - cpu0:.1f} s CPU): "
          f"{mb / (wall2 - wall0):,.1f} MB/s wall")
    return summary


def main(argv: list[str] | None = None) -> None:
    """`generate` (the default) or `score`; see the module docstring."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["score"]:
        p = argparse.ArgumentParser(prog="scale_corpus.py score", description="score a pipeline run")
        p.add_argument("--truth", type=Path, required=True, help="the generator's --out (or its truth.parquet)")
        p.add_argument("--work-dir", type=Path, required=True, help="the pipeline's work dir")
        p.add_argument("--json", type=Path, help="also write the scores here")
        a = p.parse_args(argv[1:])
        try:
            result = score(a.truth, a.work_dir)
        except FileNotFoundError as e:
            sys.exit(str(e))
        print(format_score(result))
        if a.json:
            a.json.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return
    p = argparse.ArgumentParser(prog="scale_corpus.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--gb", type=float, required=True, help="10^9 bytes of text to write (e.g. 0.5)")
    p.add_argument("--out", type=Path, required=True, help="output folder (its speakleash/ and wikipedia/ are replaced)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None, help="processes (default: one per CPU; same bytes either way)")
    a = p.parse_args(argv)
    run_generate(a.gb, a.out, a.seed, a.workers)


if __name__ == "__main__":
    main()
