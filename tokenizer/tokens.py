"""The tokens stage's phases: every corpus document encoded, EOS after each, into train and val
shards (the spec is in `tokenizer/stage.py`).

Two phases, so that encoding runs in parallel over parts and documents still end up shuffled
across all shards:

- `encode` (one task per `parts_per_task` corpus parts): `encode_batch` over batches of
  documents, EOS appended, each document given its split (`val` if a seeded hash of its id is
  below `val_fraction`) and an order key (a seeded 64-bit hash of its id). The task's documents
  are sorted by key and written under `_work/<split>/` with a table of (key, start, length).
  Memory: the task's parts. An encode task depends on its corpus parts and the tokenizer only,
  so a rerun re-encodes just the parts that changed (`tokens.keep_work`).
- `write` (one task per split): the key space is cut into buckets of about `bucket_tokens`
  tokens; bucket by bucket, the documents of that key range are gathered from every encode
  task's file, merged by key and cut into shards of `shard_tokens` (`RollingShards`).
  Memory: one bucket plus the shard being filled.

Document order in the shards is therefore "sorted by a seeded hash of the id": a uniform
shuffle that does not depend on how parts were batched into tasks or how many buckets there
were, so reruns are byte-identical. `_work/` is kept for reruns (not an output of the stage)
unless `tokens.keep_work` is off or `disk.remove_intermediate` on: then the write phase releases
each encode file's disk blocks as it reads them (`_Release`), and `_work/` goes at the end.
"""

from __future__ import annotations

import math
import mmap
import multiprocessing
import os
import shutil
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

import numpy as np
import xxhash

from kuznia.files import punch_hole, read_json, save_npy, write_json_atomic
from kuznia.parts import iter_batches, list_parts
from kuznia.stage import StageContext, StageError, task_marker
from tokenizer.bpe import load_tokenizer
from tokenizer.fertility import encode_ids
from tokenizer.learn import read_tokenizer_manifest
from tokenizer.sample import corpus_row_groups, unit_hash
from tokenizer.rolling import RollingShards
from tokenizer.shards import SOURCE_DTYPE, Shard, list_shards, open_shard, tokenizer_hash
from tokenizer.val_split import split_hash, val_cuts

SPLITS = ("train", "val")
WORK = "_work"
DOC_TABLE = np.dtype([("key", "<u8"), ("start", "<u8"), ("length", "<u8")])
DEFAULT_BYTES_PER_TOKEN = 3.0  # only sizes the shuffle buckets when fertility is unknown


def order_key(seed: int, doc_id: str) -> int:
    """A document's place in the shuffled order: a seeded 64-bit hash of its id."""
    return xxhash.xxh64_intdigest(f"{seed}\x1forder\x1f{doc_id}".encode("utf-8"))


def split_of(seed: int, doc_id: str, val_fraction: float) -> str:
    """`val` for a `val_fraction` share of documents by a seeded hash of the id, else `train`."""
    return "val" if unit_hash(seed, "val", doc_id) < val_fraction else "train"


def bucket_bounds(n_buckets: int) -> np.ndarray:
    """The lowest key of buckets 1..n-1: bucket b holds keys in [bounds[b-1], bounds[b])."""
    return np.array([(b << 64) // n_buckets for b in range(1, n_buckets)], dtype=np.uint64)


# --------------------------------------------------------------------------- planning


def _work_file(ctx: StageContext, split: str, task_id: str, kind: str) -> Path:
    return ctx.dir / WORK / split / f"{task_id}.{kind}.npy"


def plan_buckets(ctx: StageContext) -> dict[str, int]:
    """Shuffle buckets per split, from the corpus footers and the tokenizer's bytes per token."""
    cfg = ctx.cfg.tokens
    text_bytes = sum(g.text_bytes for g in corpus_row_groups(ctx.upstream_dir("corpus")))
    fert = read_tokenizer_manifest(ctx.upstream_dir("tokenizer")).get("fertility", {})
    bpt = (fert.get("all") or {}).get("bytes_per_token") or DEFAULT_BYTES_PER_TOKEN
    est = text_bytes / bpt
    share = {"train": 1.0 - cfg.val_fraction, "val": cfg.val_fraction}
    return {s: max(1, math.ceil(est * share[s] / cfg.bucket_tokens)) for s in SPLITS}


def plan_encode(ctx: StageContext) -> list[dict]:
    """One task per `parts_per_task` consecutive parts of one source."""
    corpus_dir = ctx.upstream_dir("corpus")
    parts = list_parts(corpus_dir)
    if not parts:
        raise StageError(f"{corpus_dir} holds no parts; run `kuznia stage corpus` first")
    cfg = ctx.cfg.tokens
    n = cfg.parts_per_task
    tasks = []
    by_source: dict[str, list[str]] = {}
    for p in parts:
        by_source.setdefault(p.parent.name, []).append(p.relative_to(corpus_dir).as_posix())
    # A source the val draw would leave without val documents gets a higher cut (val_split.py).
    cuts = val_cuts(corpus_dir, by_source, seed=cfg.seed, val_fraction=cfg.val_fraction, min_docs=cfg.val_min_docs)
    for source, rels in by_source.items():
        for i in range(0, len(rels), n):
            tasks.append({"id": f"encode-{source}-{i // n:05d}", "source": source,
                          "parts": rels[i : i + n], **({"val_cut": cuts[source]} if source in cuts else {})})
    return tasks


def encode_inputs(ctx: StageContext, task: dict) -> list[Path]:
    """The corpus parts an encode task reads, and the tokenizer."""
    return [*(ctx.upstream_dir("corpus") / rel for rel in task["parts"]),
            ctx.upstream_dir("tokenizer") / "tokenizer.json"]


# --------------------------------------------------------------------------- encode


def _limit_threads(ctx: StageContext) -> None:
    """In a pool worker, give tokenizers' thread pool this worker's share of the cores."""
    if multiprocessing.parent_process() is not None and "RAYON_NUM_THREADS" not in os.environ:
        share = max(1, (os.cpu_count() or 1) // ctx.workers)
        os.environ["RAYON_NUM_THREADS"] = str(share)


_TOKENIZER_CACHE: dict[tuple, object] = {}


def cached_tokenizer(tokenizer_dir: Path):
    """The tokenizer, loaded once per worker process (a 32k vocabulary takes ~0.1 s to parse)."""
    path = Path(tokenizer_dir) / "tokenizer.json"
    st = path.stat() if path.exists() else None
    key = (str(path), st and st.st_mtime_ns, st and st.st_size)
    if key not in _TOKENIZER_CACHE:
        _TOKENIZER_CACHE.clear()
        _TOKENIZER_CACHE[key] = load_tokenizer(tokenizer_dir)
    return _TOKENIZER_CACHE[key]


def encode_documents(tok, eos_id: int, texts: list[str]) -> tuple[np.ndarray, list[int]]:
    """Encode a batch: all documents' tokens with EOS after each, as one uint16 array, and the
    length of each document (EOS included). No Python work per token."""
    token_lists = encode_ids(tok, texts)
    lengths = [len(t) for t in token_lists]
    flat = np.fromiter(chain.from_iterable(token_lists), dtype=np.uint16, count=sum(lengths))
    flat = np.insert(flat, np.cumsum(lengths), np.uint16(eos_id))
    return flat, [n + 1 for n in lengths]


def iter_part_docs(path: Path, batch_docs: int) -> Iterator[tuple[list[str], list[str]]]:
    """(ids, texts) batches of a corpus part."""
    for batch in iter_batches(path, columns=["id", "text"], batch_rows=batch_docs):
        yield batch.column(0).to_pylist(), batch.column(1).to_pylist()


def run_encode(ctx: StageContext, task: dict) -> dict:
    """Encode the task's parts; write each split's documents sorted by order key under `_work/`."""
    _limit_threads(ctx)
    cfg = ctx.cfg.tokens
    corpus_dir = ctx.upstream_dir("corpus")
    tok = cached_tokenizer(ctx.upstream_dir("tokenizer"))
    eos_id = read_tokenizer_manifest(ctx.upstream_dir("tokenizer"))["eos_id"]
    arrays: list[np.ndarray] = []
    keys: list[int] = []
    splits: list[int] = []
    lengths: list[int] = []
    counts = {s: {"docs": 0, "tokens": 0, "bytes": 0} for s in SPLITS}
    dropped_empty = 0
    cut = task.get("val_cut")
    for rel in task["parts"]:
        for doc_ids, texts in iter_part_docs(corpus_dir / rel, cfg.batch_docs):
            keep = [i for i, t in enumerate(texts) if t]
            dropped_empty += len(texts) - len(keep)  # an empty document would be a lone EOS
            if len(keep) < len(texts):
                doc_ids, texts = [doc_ids[i] for i in keep], [texts[i] for i in keep]
            if not texts:
                continue
            flat, lens = encode_documents(tok, eos_id, texts)
            arrays.append(flat)
            lengths.extend(lens)
            for doc_id, text, n in zip(doc_ids, texts, lens):
                s = "val" if cut is not None and split_hash(cfg.seed, doc_id) <= cut else \
                    split_of(cfg.seed, doc_id, cfg.val_fraction)
                splits.append(s == "val")
                keys.append(order_key(cfg.seed, doc_id))
                c = counts[s]
                c["docs"] += 1
                c["tokens"] += n
                c["bytes"] += len(text.encode("utf-8"))
    tokens = np.concatenate(arrays) if arrays else np.zeros(0, np.uint16)
    starts = np.zeros(len(lengths), np.uint64)
    if lengths:
        np.cumsum(np.asarray(lengths[:-1], np.uint64), out=starts[1:])
    key_arr, len_arr = np.asarray(keys, np.uint64), np.asarray(lengths, np.uint64)
    split_arr = np.asarray(splits, bool)
    for split in SPLITS:
        _write_split_work(ctx, task, split, tokens, key_arr, starts, len_arr, split_arr == (split == "val"))
    return {"source": task["source"], "counts": counts, "dropped_empty": dropped_empty}


def _write_split_work(ctx, task, split, tokens, keys, starts, lengths, mask) -> None:
    """One split's documents of an encode task, sorted by key."""
    idx = np.flatnonzero(mask)
    idx = idx[np.argsort(keys[idx], kind="stable")]
    table = np.zeros(idx.size, DOC_TABLE)
    table["key"], table["length"] = keys[idx], lengths[idx]
    if idx.size:
        np.cumsum(lengths[idx][:-1], out=table["start"][1:])
        spans = zip(starts[idx].tolist(), lengths[idx].tolist())
        out = np.concatenate([tokens[a : a + n] for a, n in spans])
    else:
        out = np.zeros(0, np.uint16)
    save_npy(_work_file(ctx, split, task["id"], "tokens"), out)
    save_npy(_work_file(ctx, split, task["id"], "docs"), table)


# --------------------------------------------------------------------------- write


def plan_write(ctx: StageContext) -> list[dict]:
    """One task per split, listing the encode tasks whose files it merges (in plan order)."""
    encode = plan_encode(ctx)
    buckets = plan_buckets(ctx)
    # Val shards record each document's source (per-source val figures); train's stay as they were.
    return [{"id": f"write-{s}", "split": s, "buckets": buckets[s], "inputs": [t["id"] for t in encode],
             **({"sources": [t["source"] for t in encode]} if s == "val" else {})} for s in SPLITS]


def _load_inputs(ctx: StageContext, split: str, inputs: list[str], n_buckets: int) -> list[tuple]:
    """Each encode task's tokens and document table (memory-mapped), and where each shuffle
    bucket's documents begin in it."""
    loaded = []
    bounds = bucket_bounds(n_buckets)
    for task_id in inputs:
        paths = [_work_file(ctx, split, task_id, k) for k in ("tokens", "docs")]
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise StageError(f"{missing[0]} is missing (an encode task's output was removed); "
                             "re-run `kuznia stage tokens --force`")
        tokens, table = np.load(paths[0], mmap_mode="r"), np.load(paths[1], mmap_mode="r")
        ranges = np.concatenate([[0], np.searchsorted(table["key"], bounds), [table.size]]).astype(np.int64)
        loaded.append((tokens, table, ranges))
    return loaded


def _drop_pages(arr: np.ndarray) -> None:
    """Unmap the pages of a memory-mapped array that this process touched (they stay in the page
    cache): otherwise reading every encode file bucket by bucket leaves all of them counted in
    the worker's memory by the end of the split."""
    mm = getattr(arr, "_mmap", None)
    if mm is not None and hasattr(mm, "madvise"):
        mm.madvise(mmap.MADV_DONTNEED)


def keep_work(ctx: StageContext) -> bool:
    """Whether `_work/` stays after the stage (`tokens.keep_work`, off with
    `disk.remove_intermediate`)."""
    return ctx.cfg.tokens.keep_work and not ctx.prune


class _Release:
    """Without `keep_work`: give back the disk blocks of the encode files as the write reads
    them, so the encode files and the shards are never on disk together. Their encode tasks'
    markers lose their outputs first (what the task cost stays): a write killed half-way leaves
    files with holes, which a rerun encodes again instead of reading."""

    def __init__(self, ctx: StageContext, task: dict, inputs: list[tuple]):
        self.on = not keep_work(ctx)
        self.done = [int(tokens.offset) for tokens, _, _ in inputs] if self.on else []
        if self.on:
            for task_id in task["inputs"]:
                marker = task_marker(ctx, "encode", task_id)
                m = read_json(marker)
                if "outputs" in m:
                    m["released"] = sorted(m.pop("outputs"))
                    write_json_atomic(marker, m)

    def upto(self, i: int, tokens: np.memmap, end_token: int) -> None:
        """Input `i` is read up to token `end_token`: release whole MiBs before it."""
        if not self.on:
            return
        end = (int(tokens.offset) + end_token * tokens.itemsize) & ~((1 << 20) - 1)
        if end > self.done[i] and punch_hole(tokens.filename, self.done[i], end - self.done[i]):
            self.done[i] = end


def run_write(ctx: StageContext, task: dict) -> dict:
    """Merge one split's documents bucket by bucket in key order and write its shards."""
    split = task["split"]
    tok_dir = ctx.upstream_dir("tokenizer")
    manifest = read_tokenizer_manifest(tok_dir)
    out_dir = ctx.dir / split
    shutil.rmtree(out_dir, ignore_errors=True)  # a half-written split from an interrupted run
    inputs = _load_inputs(ctx, split, task["inputs"], task["buckets"])
    names = tuple(sorted(set(task["sources"]))) if "sources" in task else None
    input_source = [names.index(s) for s in task["sources"]] if names else [0] * len(inputs)
    writer = RollingShards(out_dir, vocab_size=manifest["vocab_size"],
                           tokenizer_hash=tokenizer_hash(tok_dir / "tokenizer.json"),
                           shard_tokens=ctx.cfg.tokens.shard_tokens, source_names=names)
    release = _Release(ctx, task, inputs)
    for b in range(task["buckets"]):
        keys, starts, lengths, chunks, sources = [], [], [], [], []
        base = 0
        for i, ((tokens, table, ranges), source) in enumerate(zip(inputs, input_source)):
            lo, hi = int(ranges[b]), int(ranges[b + 1])
            if lo == hi:
                continue
            r = np.array(table[lo:hi])
            first, last = int(r["start"][0]), int(r["start"][-1] + r["length"][-1])
            chunks.append(np.array(tokens[first:last]))
            release.upto(i, tokens, last)
            keys.append(r["key"])
            starts.append(r["start"].astype(np.int64) + (base - first))  # offsets into the bucket
            lengths.append(r["length"])
            sources.append(np.full(hi - lo, source, SOURCE_DTYPE))
            base += last - first
        for tokens, _, _ in inputs:  # the bucket is copied out: its pages need not stay in our RSS
            _drop_pages(tokens)
        if not chunks:
            continue
        order = np.argsort(np.concatenate(keys), kind="stable")
        start, length = np.concatenate(starts)[order], np.concatenate(lengths)[order]
        bucket = np.concatenate(chunks)
        chunks.clear()  # every copy goes as soon as the next is made: the write holds one bucket
        ordered = np.concatenate([bucket[s : s + n] for s, n in zip(start.tolist(), length.tolist())])
        del bucket
        writer.add(ordered, length, np.concatenate(sources)[order])
        del ordered
    shards = writer.close()
    for s in shards:
        s["path"] = Path(s["path"]).relative_to(ctx.dir).as_posix()
    return {"split": split, "shards": shards}


# --------------------------------------------------------------------------- finish


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    """Token counts per source and split, the shards, and the ids the trainer needs."""
    if not keep_work(ctx):
        shutil.rmtree(ctx.dir / WORK, ignore_errors=True)
    tok_dir = ctx.upstream_dir("tokenizer")
    tmf = read_tokenizer_manifest(tok_dir)
    sources: dict[str, dict] = {}
    dropped_empty: dict[str, int] = {}
    for r in records["encode"]:
        src = sources.setdefault(r["source"], {s: {"docs": 0, "tokens": 0, "bytes": 0} for s in SPLITS})
        for s in SPLITS:
            for k, v in r["counts"][s].items():
                src[s][k] += v
        dropped_empty[r["source"]] = dropped_empty.get(r["source"], 0) + r["dropped_empty"]
    splits = {}
    for r in records["write"]:
        shards = r["shards"]
        splits[r["split"]] = {"docs": sum(s["n_docs"] for s in shards),
                              "tokens": sum(s["n_tokens"] for s in shards), "shards": shards}
    for s in SPLITS:  # the shards hold exactly what the encode tasks counted
        encoded = sum(src[s]["tokens"] for src in sources.values())
        if encoded != splits[s]["tokens"]:
            raise StageError(f"[tokens] {s}: encode tasks counted {encoded} tokens but the shards "
                             f"hold {splits[s]['tokens']}; re-run `kuznia stage tokens --force`")
    counts = {f"{s}_{k}": splits[s][k] for s in SPLITS for k in ("docs", "tokens")}
    counts.update({f"{s}_shards": len(splits[s]["shards"]) for s in SPLITS})
    counts["dropped_empty"] = sum(dropped_empty.values())
    return {
        "counts": counts,
        "vocab_size": tmf["vocab_size"],
        "tokenizer_hash": tokenizer_hash(tok_dir / "tokenizer.json"),
        **{k: tmf[k] for k in ("eos_id", "bos_id", "pad_id", "unk_id")},
        "splits": splits,
        "sources": {k: sources[k] for k in sorted(sources)},
        "dropped": {"empty": {k: dropped_empty[k] for k in sorted(dropped_empty)}},
    }


def open_split(work_dir: Path, split: str) -> list[Shard]:
    """Open every shard of a split, checked against the tokenizer in `work_dir/tokenizer/`.

    A shard written for another tokenizer is refused with a ShardFormatError that says how
    to rebuild; an empty or missing split raises a StageError.
    """
    work_dir = Path(work_dir)
    tok_dir = work_dir / "tokenizer"
    want_hash = tokenizer_hash(tok_dir / "tokenizer.json")
    vocab = read_tokenizer_manifest(tok_dir)["vocab_size"]
    prefixes = list_shards(work_dir / "tokens" / split)
    if not prefixes:
        raise StageError(f"{work_dir / 'tokens' / split} holds no shards; run `kuznia stage tokens`")
    return [open_shard(p, vocab_size=vocab, tokenizer_hash=want_hash) for p in prefixes]
