"""Dedup benchmarks: accuracy against datasketch's MinHashLSH, signature speed, stage 2+3 scale.

    .venv/bin/python bench/dedup.py accuracy [--families 300] [--seed 0 1 2] [--set num_perm=112]
    .venv/bin/python bench/dedup.py speed [--mb 4] [--repeats 3] [--set num_perm=112]
    .venv/bin/python bench/dedup.py scale [--docs 1000000 20000000]

accuracy: the real dedup stage (`run_stage`, the configured `verify`, exact by default) on
    near duplicates of real Polish documents (the demo Speakleash datasets if
    `data/demo` has them, else the sentences of the APT3 model card) made at known Jaccard
    similarities by word edits, insertions, deletions, line shuffles and shared boilerplate;
    precision / recall / F1 over pairs at true Jaccard >= 0.8 for our stage (pairs in one
    cluster) and for datasketch's in-memory MinHashLSH (query pairs) with the same parameters.
speed: MB/s of text -> signature (+ band keys) in CPU seconds of one process (the default
    config's num_perm and bands; each step alone and all three), ours vs datasketch's `MinHash`
    (default hash function) and `MinHash.bulk` with xxh3, on the same documents; and the
    `shingles` phase of exact verification (text -> sorted unique shingle hashes -> Parquet
    table), which runs on the candidate documents only.
scale: the `bands` + `clusters` phases on N synthetic documents' band keys with planted
    clusters, each size in a fresh process: seconds, microseconds per document, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.dedup.shingles import shingles

CARD = ROOT.parent / "shared" / "seed" / "apt3-1b-base-model-card.txt"


# --------------------------------------------------------------------------- data


def polish_documents(limit: int = 400) -> list[str]:
    """Real Polish text: the demo Speakleash documents labelled `clean`, else model-card mixes.

    Only `clean` documents are used: the demo mirror also holds planted exact and near copies,
    mojibake, foreign text and malformed lines, which would make unrelated families similar.
    """
    files = sorted((ROOT / "data" / "demo" / "speakleash").glob("*.jsonl.zst"))
    labels_path = ROOT / "data" / "demo" / "labels.jsonl"
    docs: list[str] = []
    if files and labels_path.exists():
        import zstandard

        with labels_path.open(encoding="utf-8") as fh:
            clean = {lab["id"] for lab in map(json.loads, fh) if lab["kind"] == "clean"}
        for f in files:
            dataset = f.name.removesuffix(".jsonl.zst")
            with f.open("rb") as fh:
                raw = zstandard.ZstdDecompressor().stream_reader(fh).read()
            for n, line in enumerate(raw.split(b"\n"), start=1):  # ids count malformed lines
                if f"speakleash.{dataset}/{n:09d}" not in clean:
                    continue
                text = json.loads(line)["text"]
                if len(text.split()) >= 80:
                    docs.append(text)
        if len(docs) >= 50:
            return docs[:limit]
    card = CARD if CARD.exists() else Path("/work/shared/seed/apt3-1b-base-model-card.txt")
    sentences = [s.strip() for s in re.split(r"(?<=[.?!])\s+|\n", card.read_text("utf-8"))
                 if len(s.split()) >= 4]
    rng = random.Random(0)
    return ["\n".join(rng.sample(sentences, min(len(sentences), 14))) for _ in range(limit)]


def exact_jaccard(x: str, y: str) -> float:
    a, b = set(shingles(x)), set(shingles(y))
    return len(a & b) / len(a | b) if a or b else 1.0


def make_variant(text: str, target: float, rng: random.Random, boilerplate: str) -> str:
    """Edit `text` (words, insertions, deletions, line swaps, boilerplate) down to ~`target`."""
    lines = text.split("\n")
    while True:
        op = rng.random()
        i = rng.randrange(len(lines))
        words = lines[i].split()
        if op < 0.35 and words:
            words[rng.randrange(len(words))] = rng.choice(["oraz", "jednak", "bardzo", "nowy"])
        elif op < 0.6:
            words.insert(rng.randrange(len(words) + 1), rng.choice(["także", "również", "wtedy"]))
        elif op < 0.8 and len(words) > 1:
            del words[rng.randrange(len(words))]
        elif op < 0.95 and len(lines) > 1:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            continue
        else:
            lines.append(boilerplate)
            continue
        lines[i] = " ".join(words)
        cand = "\n".join(lines)
        if exact_jaccard(text, cand) <= target:
            return cand


def families(n: int, seed: int = 0) -> tuple[list[str], list[int]]:
    """Documents and their family index: originals, exact copies and variants at 0.5-1.0."""
    rng = random.Random(seed)
    base = polish_documents()
    boiler = "Wszystkie prawa zastrzeżone. Kopiowanie bez zgody redakcji zabronione."
    docs, fam = [], []
    for f in range(n):
        orig = base[f % len(base)] + ("" if f < len(base) else f"\nWydanie {f}.")
        docs.append(orig)
        fam.append(f)
        for _ in range(rng.randint(0, 3)):
            if rng.random() < 0.2:
                docs.append(orig.upper() + " !")
            else:
                docs.append(make_variant(orig, rng.uniform(0.5, 1.0), rng, boiler))
            fam.append(f)
    return docs, fam


# --------------------------------------------------------------------------- accuracy


def pairs_in_clusters(clusters: dict[str, list[int]]) -> set[tuple[int, int]]:
    out = set()
    for members in clusters.values():
        m = sorted(members)
        out.update((m[i], m[j]) for i in range(len(m)) for j in range(i + 1, len(m)))
    return out


def prf(pred: set, truth: set) -> tuple[float, float, float]:
    tp = len(pred & truth)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(truth) if truth else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def true_pairs(docs: list[str], threshold: float = 0.8) -> set[tuple[int, int]]:
    """Every pair of documents (all families, all pairs) at exact shingle Jaccard >= threshold.

    An inverted index from shingle to documents gives the intersection size of every pair that
    shares a shingle, so no pair at the threshold is missed, whichever method found it or not.
    """
    sets = [set(shingles(d)) for d in docs]
    postings: dict[bytes, list[int]] = {}
    for i, s in enumerate(sets):
        for g in s:
            postings.setdefault(g, []).append(i)
    shared: dict[tuple[int, int], int] = {}
    for members in postings.values():
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                key = (members[x], members[y])
                shared[key] = shared.get(key, 0) + 1
    return {(a, b) for (a, b), c in shared.items()
            if c / (len(sets[a]) + len(sets[b]) - c) >= threshold}


def run_accuracy(n_families: int, dedup: dict, seed: int = 0) -> None:
    from datasketch import MinHash, MinHashLSH

    from corpus.dedup.stage import SPEC
    from flows.config import PipelineConfig
    from kuznia.driver import run_stage
    from kuznia.files import write_json_atomic
    from kuznia.parts import write_docs

    docs, _ = families(n_families, seed)
    ids = [f"speakleash.bench/{i + 1:09d}" for i in range(len(docs))]
    work = Path(tempfile.mkdtemp(prefix="dedup-bench-"))
    try:
        write_docs(work / "clean" / "speakleash.bench" / "part-00000.parquet",
                   {"id": ids, "source": ["speakleash.bench"] * len(docs), "text": docs,
                    "meta": ["{}"] * len(docs)})
        write_json_atomic(work / "clean" / "_manifest.json", {"stage": "clean", "fingerprint": "x"})
        cfg = PipelineConfig.model_validate({"dedup": dedup})
        t0 = time.perf_counter()
        res = run_stage(SPEC, cfg, work, log=lambda m: None)
        ours_s = time.perf_counter() - t0
        import pyarrow.parquet as pq

        rows = pq.read_table(work / "dedup" / "clusters.parquet").to_pylist()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    index = {d: i for i, d in enumerate(ids)}
    clusters: dict[str, list[int]] = {}
    for r in rows:
        clusters.setdefault(r["cluster_id"], []).append(index[r["id"]])
    ours = pairs_in_clusters(clusters)

    bands, rws = cfg.dedup.lsh_params()
    t0 = time.perf_counter()
    lsh = MinHashLSH(num_perm=cfg.dedup.num_perm, params=(bands, rws))
    mhs = []
    for i, d in enumerate(docs):
        m = MinHash(num_perm=cfg.dedup.num_perm)
        m.update_batch(shingles(d))
        mhs.append(m)
        lsh.insert(i, m)
    theirs = {(min(i, j), max(i, j)) for i, m in enumerate(mhs) for j in lsh.query(m) if i != j}
    theirs_s = time.perf_counter() - t0

    truth = true_pairs(docs)
    print(f"accuracy: {len(docs)} docs in {n_families} families (generator seed {seed}), "
          f"{len(truth)} true pairs (Jaccard >= 0.8), {cfg.dedup.num_perm} permutations, LSH {bands} x {rws}, verify={cfg.dedup.verify} "
          f"at {cfg.dedup.min_verified_jaccard()}")
    for name, pred, secs in (("ours (stage, clusters)", ours, ours_s),
                             ("datasketch MinHashLSH", theirs, theirs_s)):
        p, r, f1 = prf(pred, truth)
        print(f"  {name:24s} precision {p:.3f}  recall {r:.3f}  F1 {f1:.3f}  "
              f"({len(pred)} pairs, {secs:.1f}s)")
    f_ours, f_theirs = prf(ours, truth)[2], prf(theirs, truth)[2]
    print(f"  F1 ratio ours / MinHashLSH: {f_ours / f_theirs:.3f}")
    c = res.manifest["counts"]
    phases = ", ".join(f"{k} {v:.2f}s" for k, v in res.manifest["timings"].items())
    print(f"  stage: {c.get('candidate_pairs', 0)} candidate pairs, {c.get('compared_pairs', 0)} "
          f"compared, {c.get('rejected_pairs', 0)} rejected, {c.get('shingled_docs', 0)} docs "
          f"re-shingled; wall {phases}")


# --------------------------------------------------------------------------- speed


def run_speed(mb: float, dedup: dict, repeats: int) -> None:
    import xxhash
    from datasketch import MinHash

    from corpus.dedup.exact import shingle_table
    from corpus.dedup.lsh import band_keys
    from corpus.dedup.minhash import signatures
    from corpus.dedup.shingles import char_table, shingle_batch
    from flows.config import PipelineConfig

    cfg = PipelineConfig.model_validate({"dedup": dedup}).dedup
    bands, rows = cfg.lsh_params()
    base = polish_documents()
    rng = random.Random(1)
    docs, size = [], 0
    while size < mb * 1e6:
        d = base[rng.randrange(len(base))]
        words = d.split(" ")
        rng.shuffle(words)  # a different document with the same vocabulary
        d = " ".join(words)
        docs.append(d)
        size += len(d.encode("utf-8"))
    char_table(True)  # built once per process (~0.5 s), not part of the throughput
    batches = [docs[i : i + 500] for i in range(0, len(docs), 500)]
    shingled = [shingle_batch(b) for b in batches]
    sigs = [signatures(sb.hashes, sb.offsets, num_perm=cfg.num_perm, seed=cfg.seed, scheme=cfg.scheme)
            for sb in shingled]

    def shingling() -> None:
        for b in batches:
            shingle_batch(b)

    def permuting() -> None:
        for sb in shingled:
            signatures(sb.hashes, sb.offsets, num_perm=cfg.num_perm, seed=cfg.seed, scheme=cfg.scheme)

    def banding() -> None:
        for sig in sigs:
            band_keys(sig, bands, rows)

    def ours() -> None:
        for b in batches:
            sb = shingle_batch(b)
            sig = signatures(sb.hashes, sb.offsets, num_perm=cfg.num_perm, seed=cfg.seed,
                             scheme=cfg.scheme)
            band_keys(sig, bands, rows)

    def exact_side_table() -> None:
        for b in batches:
            shingle_table(np.arange(len(b), dtype=np.int32), iter([b]), cfg)

    word = re.compile(r"\w+")

    def grams(d: str) -> list[bytes]:
        w = word.findall(d.lower())
        return [" ".join(w[i : i + 5]).encode() for i in range(max(len(w) - 4, 1))]

    def ds_default() -> None:
        for d in docs:
            m = MinHash(num_perm=cfg.num_perm)
            m.update_batch(grams(d))

    def ds_bulk_xxh3() -> None:
        MinHash.bulk((grams(d) for d in docs), num_perm=cfg.num_perm,
                     hashfunc=xxhash.xxh3_64_intdigest, scheme="affine64")

    # CPU time of this process (the machine's cores are shared), best of `repeats` runs.
    print(f"speed: {size / 1e6:.1f} MB of Polish text, {len(docs)} docs, {cfg.num_perm} permutations "
          f"({cfg.scheme}), bands {bands} x {rows}, word {cfg.ngram}-grams, one process, CPU time, "
          f"best of {repeats}")
    results = {}
    for name, fn, reps in (("  shingling (ours)", shingling, repeats),
                           ("  permutations (ours)", permuting, repeats),
                           ("  band keys (ours)", banding, repeats),
                           ("ours (numpy), all three", ours, repeats),
                           ("exact verify: shingle table", exact_side_table, repeats),
                           ("datasketch MinHash default", ds_default, 1),
                           ("datasketch MinHash.bulk xxh3", ds_bulk_xxh3, 1)):
        best = min(_cpu_seconds(fn) for _ in range(reps))
        results[name] = size / 1e6 / best
        print(f"  {name:30s} {results[name]:6.1f} MB/s")
    ours_mbs = results["ours (numpy), all three"]
    print(f"  ratio ours / datasketch default: {ours_mbs / results['datasketch MinHash default']:.1f}x")


def _cpu_seconds(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


# --------------------------------------------------------------------------- scale


def write_synthetic_parts(root: Path, n_docs: int, bands: int, part_docs: int, seed: int = 0) -> int:
    """Signature parts with random band keys and planted clusters (no `sig`: verify is off)."""
    import pyarrow as pa

    from corpus.dedup.store import SIGNATURES, band_column
    from kuznia.parts import part_name, write_table

    rng = np.random.default_rng(seed)
    # 5% of docs are duplicates of an earlier doc: exact copies or sharing a random set of bands.
    dup = rng.random(n_docs) < 0.05
    dup[0] = False
    planted = int(dup.sum())
    for p, lo in enumerate(range(0, n_docs, part_docs)):
        hi = min(lo + part_docs, n_docs)
        n = hi - lo
        doc = np.arange(lo, hi, dtype=np.int64)
        # A doc's random keys are a function of (doc, band), so a duplicate can recompute its
        # original's keys without holding them: key = fmix(doc * bands + band).
        src = np.where(dup[lo:hi], rng.integers(0, np.maximum(doc, 1)), doc)
        exact_src = np.where(dup[lo:hi] & (rng.random(n) < 0.3), src, doc)
        cols = {"id": pa.array([f"speakleash.scale/{i + 1:09d}" for i in range(lo, hi)]),
                "chars": pa.array(rng.integers(100, 10000, n)),
                "words": pa.array(np.full(n, 50, dtype=np.int32))}
        ex = _mix(exact_src.astype(np.uint64) * np.uint64(7919))
        exact = np.stack([ex, _mix(ex)], axis=1)
        cols["exact"] = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n,
                                                             [None, pa.py_buffer(exact.tobytes())])
        share = rng.random((n, bands)) < 0.5
        for k in range(bands):
            owner = np.where(share[:, k] | (exact_src != doc), src, doc)
            cols[band_column(k)] = pa.array(_mix(owner.astype(np.uint64) * np.uint64(bands) + np.uint64(k)))
        write_table(root / SIGNATURES / "speakleash.scale" / part_name(p), pa.table(cols),
                    row_group_rows=1 << 16)
    return planted


def _mix(h: np.ndarray) -> np.ndarray:
    from corpus.dedup.shingles import fmix64

    return fmix64(h + np.uint64(0x9E3779B97F4A7C15))


def scale_one(n_docs: int, workdir: Path) -> dict:
    from corpus.dedup.stage import band_pairs, build_clusters, exact_pairs, write_pairs
    from corpus.dedup.store import SignatureParts
    from flows.config import PipelineConfig

    cfg = PipelineConfig.model_validate({"dedup": {"verify": "none"}}).dedup
    bands, _ = cfg.lsh_params()
    planted = write_synthetic_parts(workdir, n_docs, bands, part_docs=1_000_000)
    t0 = time.perf_counter()
    parts = SignatureParts.open(workdir)
    a, b, _ = exact_pairs(parts)
    write_pairs(workdir / "pairs" / "exact.parquet", a, b)
    for lo in range(0, bands, cfg.bands_per_task):
        sel = list(range(lo, min(lo + cfg.bands_per_task, bands)))
        a, b, _ = band_pairs(parts, sel, cfg)
        write_pairs(workdir / "pairs" / f"bands-{lo:02d}.parquet", a, b)
    del a, b
    stats = build_clusters(workdir)
    secs = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"docs": n_docs, "planted_dups": planted, "seconds": secs, "us_per_doc": secs / n_docs * 1e6,
            "peak_rss_gib": rss / 2**30, "clusters": stats["counts"]["clusters"],
            "docs_in_clusters": stats["counts"]["docs_in_clusters"]}


def run_scale(sizes: list[int]) -> None:
    print("scale: bands + clusters phases (verify off) on synthetic band keys, 5% planted duplicates")
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "_scale_one", str(n)], check=True,
                             capture_output=True, text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(r)
        print(f"  {r['docs']:>11,} docs: {r['seconds']:7.1f} s, {r['us_per_doc']:6.2f} us/doc, "
              f"peak RSS {r['peak_rss_gib']:.2f} GiB, {r['docs_in_clusters']:,} docs in "
              f"{r['clusters']:,} clusters ({r['planted_dups']:,} planted)")
    if len(rows) > 1:
        print(f"  cost per doc, largest / smallest: {rows[-1]['us_per_doc'] / rows[0]['us_per_doc']:.2f}")


def _overrides(pairs: list[str]) -> dict:
    """KEY=VALUE pairs -> a dict; VALUE is JSON (112, false, null) or else a plain string."""
    out = {}
    for k, v in (x.split("=", 1) for x in pairs):
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("accuracy")
    a.add_argument("--families", type=int, default=300)
    a.add_argument("--seed", type=int, nargs="+", default=[0], help="generator seeds, one run each")
    a.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="dedup config overrides, e.g. verify_threshold=0.75 verify=estimate num_perm=112")
    s = sub.add_parser("speed")
    s.add_argument("--mb", type=float, default=4.0)
    s.add_argument("--repeats", type=int, default=3)
    s.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="dedup config overrides, e.g. num_perm=112")
    c = sub.add_parser("scale")
    c.add_argument("--docs", type=int, nargs="+", default=[1_000_000, 20_000_000])
    one = sub.add_parser("_scale_one")
    one.add_argument("n", type=int)
    args = ap.parse_args()
    if args.cmd == "accuracy":
        for seed in args.seed:
            run_accuracy(args.families, _overrides(args.set), seed)
    elif args.cmd == "speed":
        run_speed(args.mb, _overrides(args.set), args.repeats)
    elif args.cmd == "scale":
        run_scale(args.docs)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="dedup-scale-"))
        try:
            print(json.dumps(scale_one(args.n, tmp)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
