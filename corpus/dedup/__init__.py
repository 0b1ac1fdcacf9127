"""Exact and MinHash near-duplicate detection (the `dedup` stage: corpus.dedup.stage:SPEC).

shingles.py (text -> words -> shingle hashes), minhash.py (datasketch-equal signatures),
lsh.py (band keys, buckets, verification), store.py (signature parts on disk),
exact.py (exact-Jaccard verification: shingle side tables, bucket tasks),
clusters.py (connected components -> clusters.parquet), stage.py (the stage's phases).
"""
