"""Benchmark: encode + shard-write speed per core of the tokens stage, against plain encode_batch.

    .venv/bin/python bench/tokens.py [--mb 31] [--vocab 31980] [--work-dir /tmp/kuznia-bench-tokens]

One core throughout (`RAYON_NUM_THREADS=1`, serial tasks). On the same documents, in one run:

1. the tokenizer stage trains a `--vocab` BPE on the corpus (time, and peak memory of a fresh
   process against the estimate the stage prints);
2. baselines: `Tokenizer.encode_batch` (and `encode_batch_fast`) over the documents already in
   memory, appending the ids to a Python list;
3. ours: `FastEncoder.encode` (tokenizer/fast_encode.py) over the same documents in memory, and
   the whole tokens stage (read Parquet parts, encode, split, sort, write shards), each run
   starting with an empty piece cache; the ids of `FastEncoder` are checked to be identical to
   `encode_batch_fast`'s, document by document, and the stage's token count to theirs;
4. datatrove's `DocumentTokenizer` writing its shards (shuffled, like ours), when importable.

Prints MB/s (UTF-8 bytes of text per second) per core — by CPU time, so that other processes
on a shared machine do not distort it — and by wall time, and the ratios (of CPU times).
The text is seeded Polish-like text (tests/tokenizer/polish_text.py), written once as corpus
parts under `--work-dir`.
Targets (issue 13): the tokens stage >= 5 MB/s per core and >= 2x datatrove, ids identical.
The one-time setup of a worker (character table, BPE tables, numba kernels loaded from their
cache) is printed apart; the tokenizer's own load is not timed for either side.
"""

from __future__ import annotations

import os

os.environ["RAYON_NUM_THREADS"] = "1"  # before tokenizers starts its thread pool: one core
os.environ.setdefault("KUZNIA_PROGRESS", "0")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import multiprocessing  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kuznia.parts import list_parts, part_name, read_table, write_docs  # noqa: E402
from kuznia.driver import run_stage  # noqa: E402
from kuznia.files import read_json, write_json_atomic
from flows.config import PipelineConfig  # noqa: E402

PART_DOCS = 2000


def _polish_text():
    spec = importlib.util.spec_from_file_location("polish_text", ROOT / "tests/tokenizer/polish_text.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.PolishText


def make_corpus(work_dir: Path, mb: float) -> None:
    """Seeded Polish-like corpus parts (reused when the same size is already there)."""
    stamp = work_dir / "corpus" / "_bench.json"
    if stamp.exists() and read_json(stamp).get("mb") == mb:
        return
    shutil.rmtree(work_dir, ignore_errors=True)
    t0 = time.perf_counter()
    docs = _polish_text()(2024).corpus_bytes(int(mb * 1e6))
    for p in range(0, len(docs), PART_DOCS):
        chunk = docs[p : p + PART_DOCS]
        write_docs(work_dir / "corpus" / "local.bench" / part_name(p // PART_DOCS), {
            "id": [f"local.bench/gen.txt:{p + i + 1:09d}" for i in range(len(chunk))],
            "source": ["local.bench"] * len(chunk), "text": chunk, "meta": ["{}"] * len(chunk)})
    write_json_atomic(work_dir / "corpus" / "_manifest.json", {"stage": "corpus", "fingerprint": "bench"})
    write_json_atomic(stamp, {"mb": mb})
    print(f"generated {len(docs):,} documents ({mb} MB) in {time.perf_counter() - t0:.1f}s")


def config(args) -> PipelineConfig:
    return PipelineConfig.model_validate({
        "runner": {"kind": "serial"},
        "tokenizer": {"vocab_size": args.vocab, "sample_bytes": 10**12},
        "tokens": {"val_fraction": 0.001, "shard_tokens": 1_000_000_000},
    })


def _train_in_child(work_dir: str, vocab: int, queue) -> None:
    from tokenizer.stage import TOKENIZER as SPEC

    args = argparse.Namespace(vocab=vocab)
    t0 = time.perf_counter()
    m = run_stage(SPEC, config(args), Path(work_dir), force=True).manifest
    queue.put((time.perf_counter() - t0, m["memory"]["expected_mb"],
               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, m["fertility"]["all"]))


def bench_training(work_dir: Path, vocab: int) -> None:
    ctx = multiprocessing.get_context("spawn")  # a fresh process: its peak RSS is the trainer's
    queue = ctx.Queue()
    proc = ctx.Process(target=_train_in_child, args=(str(work_dir), vocab, queue))
    proc.start()
    proc.join()  # the child puts one small tuple: no risk of a full pipe
    if proc.exitcode != 0 or queue.empty():
        raise SystemExit(f"tokenizer training failed in its process (exit code {proc.exitcode}); "
                         "its traceback is above")
    seconds, expected, peak, fert = queue.get()
    print(f"tokenizer training: {seconds:.1f}s, peak RSS {peak:,.0f} MB (estimate printed before "
          f"training: {expected:,} MB); held-out tokens/word {fert['tokens_per_word']}, "
          f"chars/token {fert['chars_per_token']}")


def load_texts(work_dir: Path) -> list[str]:
    return [t for p in list_parts(work_dir / "corpus") for t in read_table(p, ["text"]).column(0).to_pylist()]


class Clock:
    """Wall time and this process's CPU time (all threads; one core busy at most, so CPU time is
    the per-core cost, and it does not count time lost to other processes on a shared machine)."""

    def __enter__(self) -> Clock:
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.w0, time.process_time() - self.c0


def bench_encode_batch(tok, texts: list[str], batch: int, fast: bool) -> tuple[Clock, list[list[int]]]:
    encode = tok.encode_batch_fast if fast else tok.encode_batch
    with Clock() as c:
        out: list[list[int]] = []
        for i in range(0, len(texts), batch):
            out.extend(e.ids for e in encode(texts[i : i + batch], add_special_tokens=False))
    return c, out


def bench_fast_encode(tok, texts: list[str], batch: int) -> tuple[Clock, list]:
    from tokenizer.fast_encode import fast_encoder

    encoder = fast_encoder(tok)
    encoder.reset()  # every run starts with an empty piece cache
    with Clock() as c:
        out = [encoder.encode(texts[i : i + batch]) for i in range(0, len(texts), batch)]
    return c, out


def same_ids(ours: list, theirs: list[list[int]]) -> bool:
    """Our (ids, counts) batches against tokenizers' id lists, document by document."""
    docs = [ids for flat, counts in ours for ids in np.split(flat, np.cumsum(counts)[:-1])]
    return len(docs) == len(theirs) and all(np.array_equal(a, b) for a, b in zip(docs, theirs))


def stage_setup(work_dir: Path) -> Clock:
    """Build the stage's encoder before timing (once per worker in a real run), and time it."""
    from tokenizer.fast_encode import char_table, fast_encoder
    from tokenizer.tokens import cached_tokenizer

    tok = cached_tokenizer(work_dir / "tokenizer")  # the object the stage's tasks will use
    tok.encode_special_tokens = True  # as the stage sets it
    with Clock() as c:
        char_table.cache_clear()
        fast_encoder(tok).encode(["Zażółć gęślą jaźń 12."])  # tables, and kernels from numba's cache
    return c


def bench_stage(work_dir: Path, args) -> Clock:
    from tokenizer.fast_encode import fast_encoder
    from tokenizer.stage import TOKENS as SPEC
    from tokenizer.tokens import cached_tokenizer

    fast_encoder(cached_tokenizer(work_dir / "tokenizer")).reset()  # an empty piece cache
    with Clock() as c:
        run_stage(SPEC, config(args), work_dir, force=True, log=lambda _: None)
    return c


def bench_datatrove(work_dir: Path, texts: list[str], batch: int) -> Clock | None:
    try:
        from datatrove.data import Document
        from datatrove.pipeline.tokens import DocumentTokenizer
        from loguru import logger
    except ImportError:
        return None
    logger.remove()  # datatrove logs every file it writes
    out = work_dir / "datatrove"
    shutil.rmtree(out, ignore_errors=True)
    step = DocumentTokenizer(
        output_folder=str(out), tokenizer_name_or_path=str(work_dir / "tokenizer" / "tokenizer.json"),
        eos_token="</s>", batch_size=batch, shuffle_documents=True, seed=1, save_filename="bench")
    docs = (Document(text=t, id=str(i)) for i, t in enumerate(texts))
    with Clock() as c:
        step.run(docs, rank=0, world_size=1)
    return c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=31.0, help="MB of text to generate (default 31)")
    ap.add_argument("--vocab", type=int, default=31_980, help="vocabulary size (default 31,980)")
    ap.add_argument("--batch", type=int, default=1024, help="documents per encode_batch call")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each, best time kept (default 3)")
    ap.add_argument("--work-dir", type=Path, default=Path("/tmp/kuznia-bench-tokens"))
    args = ap.parse_args()

    make_corpus(args.work_dir, args.mb)
    bench_training(args.work_dir, args.vocab)

    from tokenizer.bpe import load_tokenizer

    tok = load_tokenizer(args.work_dir / "tokenizer")
    tok.encode_special_tokens = True  # as the tokens stage encodes: "</s>" in a text is text
    texts = load_texts(args.work_dir)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    tok.encode_batch(texts[:64])  # warm up
    setup = stage_setup(args.work_dir)
    # The machine may be shared: interleave the runs and keep each one's best (CPU) time.
    names = ("encode_batch -> list", "encode_batch_fast -> list", "FastEncoder -> arrays",
             "tokens stage (shards)", "datatrove DocumentTokenizer")
    runs: dict[str, list[Clock]] = {n: [] for n in names}
    identical = True
    for _ in range(args.repeat):
        runs[names[0]].append(bench_encode_batch(tok, texts, args.batch, fast=False)[0])
        clock, theirs = bench_encode_batch(tok, texts, args.batch, fast=True)
        runs[names[1]].append(clock)
        clock, ours = bench_fast_encode(tok, texts, args.batch)
        runs[names[2]].append(clock)
        identical = identical and same_ids(ours, theirs)
        runs[names[3]].append(bench_stage(args.work_dir, args))
        dt = bench_datatrove(args.work_dir, texts, args.batch)
        if dt is not None:
            runs[names[4]].append(dt)
    counts = read_json(args.work_dir / "tokens" / "_manifest.json")["counts"]
    n_tokens = counts["train_tokens"] + counts["val_tokens"]
    stage_ok = n_tokens == sum(map(len, theirs)) + len(texts)  # + one EOS per document

    print(f"\n{mb:.1f} MB of text, {len(texts):,} documents, {n_tokens:,} tokens, vocab {args.vocab:,}, "
          f"1 core, best of {args.repeat}")
    print(f"  {'':28s} {'MB/s per core (CPU time)':>26s} {'MB/s wall':>10s} {'M tokens/s':>11s}")
    best = {}
    for name, clocks in runs.items():
        if not clocks:
            continue
        cpu, wall = min(c.cpu for c in clocks), min(c.wall for c in clocks)
        best[name] = cpu
        print(f"  {name:28s} {mb / cpu:26.2f} {mb / wall:10.2f} {n_tokens / cpu / 1e6:11.2f}")
    print(f"ids: FastEncoder {'IDENTICAL' if identical else 'DIFFERENT'} to encode_batch_fast on all "
          f"{len(texts):,} documents; stage tokens {'=' if stage_ok else '!='} theirs + one EOS per document")
    print(f"one-time setup per worker (tables, kernels from cache): {setup.cpu:.2f} s CPU")
    ours = best["tokens stage (shards)"]
    print(f"tokens stage: {mb / ours:.2f} MB/s per core   (target >= 5)")
    print(f"ratio stage / encode_batch      = {best[names[0]] / ours:.3f}")
    print(f"ratio stage / encode_batch_fast = {best[names[1]] / ours:.3f}")
    print(f"ratio FastEncoder / encode_batch_fast = {best[names[1]] / best[names[2]]:.3f}")
    if names[4] in best:
        print(f"ratio stage / datatrove         = {best[names[4]] / ours:.3f}   (target >= 2)")
    else:
        print("datatrove not installed: `pip install datatrove` to add it to the comparison")
    if not (identical and stage_ok):
        raise SystemExit("ids differ from tokenizers': see above")


if __name__ == "__main__":
    main()
