"""Exact-Jaccard verification (`dedup.verify: exact`): the shingle side tables, the pairs it
rejects and accepts, and clusters equal to brute-force exact-Jaccard connected components."""

from __future__ import annotations

import random

import numpy as np
import pyarrow.parquet as pq
import pytest
from dedup_fixtures import dedup_config, make_clean

from corpus.dedup.exact import ShingleSets, ShingleStore, shingle_table, split_buckets
from corpus.dedup.lsh import Buckets
from corpus.dedup.shingles import shingle_hash, shingles
from corpus.dedup.stage import SPEC, signature_table
from kuznia.driver import run_stage
from kuznia.manifest import collect_outputs

VOCAB = ["dom", "kot", "pies", "las", "rzeka", "góra", "miasto", "droga", "szkoła", "okno",
         "drzewo", "słońce", "woda", "chleb", "łąka", "żółw", "źrebię", "ćma", "ściana", "mąka"]


def random_doc(rng: random.Random, n: int) -> str:
    """n words of a 1000-word Polish-looking vocabulary: unrelated docs share almost no 5-gram."""
    return " ".join(rng.choice(VOCAB) + str(rng.randrange(50)) for _ in range(n))


def edit(rng: random.Random, text: str, k: int) -> str:
    """Replace k words (each breaks up to 5 shingles): 100 words, k = 1 -> J ~0.9, 3 -> ~0.73."""
    words = text.split()
    for p in rng.sample(range(len(words)), k):
        words[p] = f"zmiana{rng.randrange(1000)}"
    return " ".join(words)


def true_jaccard(x: str, y: str) -> float:
    a, b = set(shingles(x)), set(shingles(y))
    return len(a & b) / len(a | b)


def clusters_of(work) -> list[list[str]]:
    rows = pq.read_table(work / "dedup" / "clusters.parquet").to_pylist()
    groups: dict[str, list[str]] = {}
    for r in rows:
        groups.setdefault(r["cluster_id"], []).append(r["id"])
    return sorted(sorted(g) for g in groups.values())


def test_shingle_sets_give_the_exact_jaccard_of_the_shingle_sets():
    x, y = "ala ma kota a kot ma alę i psa", "ala ma kota a kot ma alę oraz psa"
    hx = np.unique([shingle_hash(s) for s in shingles(x)]).astype(np.uint64)
    hy = np.unique([shingle_hash(s) for s in shingles(y)]).astype(np.uint64)
    sets = ShingleSets(np.array([3, 8], np.int32), np.array([0, len(hx), len(hx) + len(hy)]),
                       np.concatenate([hx, hy]))
    got = sets.jaccard(np.array([3, 3, 8]), np.array([8, 3, 3]))
    assert got.tolist() == [true_jaccard(x, y), 1.0, true_jaccard(x, y)]
    assert true_jaccard(x, y) == 3 / 7  # 5 shingles each, 3 shared
    with pytest.raises(KeyError, match="not loaded"):
        sets.jaccard(np.array([3]), np.array([5]))


def test_shingle_table_holds_each_docs_sorted_unique_shingle_hashes():
    texts = ["ala ma kota ala ma kota ala ma kota", "", "jeden dwa", "ala ma kota ala ma kota ala ma"]
    cfg = dedup_config()["dedup"]
    t = shingle_table(np.array([4, 5, 6, 9], np.int32), iter([texts[:2], texts[2:]]), cfg)
    want = [sorted({shingle_hash(s) for s in shingles(x)}) for x in texts]
    assert [len(w) for w in want] == [3, 0, 1, 3]  # repeats of a shingle count once
    assert t.column("hashes").to_pylist() == want
    assert t.column("count").to_pylist() == [3, 0, 1, 3]
    assert t.column("doc").to_pylist() == [4, 5, 6, 9]


def test_split_buckets_keeps_whole_buckets_within_the_budget():
    bk = Buckets(np.array([1, 2, 1, 3, 4, 5, 6], np.int32), np.array([0, 2, 4, 7]))
    docs = np.array([1, 2, 3, 4, 5, 6], np.int32)
    counts = np.array([10, 10, 5, 1, 1, 1], np.int32)
    # bucket costs 20, 15, 3: starts at 0, 20, 35 -> runs of budget 20: [0], [1, 2]
    assert split_buckets(bk, docs, counts, 20) == [(0, 1), (1, 3)]
    assert split_buckets(bk, docs, counts, 1000) == [(0, 3)]
    assert split_buckets(bk, docs, counts, 1) == [(0, 1), (1, 2), (2, 3)]


def test_exact_verification_rejects_a_pair_the_estimate_accepts(tmp_path):
    # 16 permutations, 4 bands x 4 rows: a pair at true Jaccard 0.73 that shares a band and
    # whose estimate is 14/16 = 0.875 (generator seed 6, found by search).
    rng = random.Random(6)
    orig = random_doc(rng, 100)
    var = edit(rng, orig, 3)
    small = {"num_perm": 16, "bands": 4, "rows": 4}
    cfg = dedup_config(**small)["dedup"]
    t = signature_table(["a", "b"], [orig, var], cfg)
    sig = np.frombuffer(b"".join(t.column("sig").to_pylist()), np.uint32).reshape(2, 16)
    assert (sig[0] == sig[1]).mean() == 0.875
    assert round(true_jaccard(orig, var), 4) == 0.7297
    other = random_doc(rng, 100)
    near = edit(rng, other, 1)
    assert true_jaccard(other, near) >= 0.8
    make_clean(tmp_path, {"speakleash.x": [[("speakleash.x/000000001", orig),
                                             ("speakleash.x/000000002", var),
                                             ("speakleash.x/000000003", other)]],
                          "wikipedia": [[("wikipedia/0000000001", near)]]})

    est = run_stage(SPEC, dedup_config(verify="estimate", **small), tmp_path, log=lambda m: None)
    assert clusters_of(tmp_path) == [["speakleash.x/000000001", "speakleash.x/000000002"],
                                     ["speakleash.x/000000003", "wikipedia/0000000001"]]
    assert est.manifest["counts"]["rejected_pairs"] == 0

    ex = run_stage(SPEC, dedup_config(verify="exact", **small), tmp_path, log=lambda m: None)
    assert clusters_of(tmp_path) == [["speakleash.x/000000003", "wikipedia/0000000001"]]
    c = ex.manifest["counts"]
    assert (c["rejected_pairs"], c["verified_pairs"], c["shingled_docs"]) == (1, 1, 4)
    # The side table holds each candidate's sorted unique shingle hashes, in doc order.
    t = pq.read_table(tmp_path / "dedup" / "shingles" / "speakleash.x" / "part-00000.parquet")
    assert t.column("doc").to_pylist() == [0, 1, 2]
    first = np.array(t.column("hashes")[0].as_py(), np.uint64)
    assert first.tolist() == sorted({shingle_hash(s) for s in shingles(orig)})
    assert t.column("count").to_pylist()[0] == len(first)


def brute_force_clusters(docs: dict[str, str], threshold: float = 0.8) -> list[list[str]]:
    """Connected components of every pair at exact shingle Jaccard >= threshold (union-find)."""
    ids = sorted(docs)
    sets = {i: set(shingles(docs[i])) for i in ids}
    parent = {i: i for i in ids}

    def root(i: str) -> str:
        while parent[i] != i:
            i = parent[i]
        return i

    for x in range(len(ids)):
        for y in range(x + 1, len(ids)):
            a, b = sets[ids[x]], sets[ids[y]]
            if a and b and len(a & b) / len(a | b) >= threshold:
                parent[root(ids[y])] = root(ids[x])
    groups: dict[str, list[str]] = {}
    for i in ids:
        groups.setdefault(root(i), []).append(i)
    return sorted(sorted(g) for g in groups.values() if len(g) >= 2)


def test_clusters_equal_brute_force_exact_jaccard_components(tmp_path):
    # 8 families over two sources and three parts: an original, copies, variants at 1-2 edits
    # (J ~0.84-0.92, duplicates) and at 3-5 edits (J ~0.65-0.77: candidates some bands propose
    # but not duplicates), plus unrelated docs.
    rng = random.Random(11)
    docs: dict[str, str] = {}
    for f in range(8):
        orig = random_doc(rng, 100)
        family = [orig, orig.upper()] + [edit(rng, orig, k) for k in (1, 2, 3, 3, 4, 5)]
        for n, text in enumerate(family):
            source = "speakleash.a" if (f + n) % 2 else "wikipedia"
            docs[f"{source}/{f:03d}-{n:03d}"] = text
    for n in range(6):
        docs[f"wikipedia/999-{n:03d}"] = random_doc(rng, 60)
    by_source: dict[str, list[tuple[str, str]]] = {}
    for i in sorted(docs):
        by_source.setdefault(i.split("/")[0], []).append((i, docs[i]))
    a = by_source["speakleash.a"]
    make_clean(tmp_path, {"speakleash.a": [a[: len(a) // 2], a[len(a) // 2 :]],
                          "wikipedia": [by_source["wikipedia"]]})
    res = run_stage(SPEC, dedup_config(verify_shingles_per_task=2000), tmp_path,
                    log=lambda m: None)
    expected = brute_force_clusters(docs)
    assert clusters_of(tmp_path) == expected
    assert len(expected) == 8
    c = res.manifest["counts"]
    assert c["rejected_pairs"] > 0  # false candidates reached verification and were dropped
    assert len(ShingleStore(tmp_path / "dedup").paths) == 3
    # A small budget splits verification into several tasks; a rerun gives the same bytes, and
    # one big task (the default budget) the same clusters.
    assert sum(1 for _ in (tmp_path / "dedup" / "pairs").glob("verify-*.parquet")) > 2
    before = collect_outputs(tmp_path / "dedup")
    run_stage(SPEC, dedup_config(verify_shingles_per_task=2000), tmp_path, force=True,
              log=lambda m: None)
    assert collect_outputs(tmp_path / "dedup") == before
    run_stage(SPEC, dedup_config(), tmp_path, log=lambda m: None)
    assert clusters_of(tmp_path) == expected
