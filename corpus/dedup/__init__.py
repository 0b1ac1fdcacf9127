"""Exact and MinHash near-duplicate detection (the `dedup` stage: corpus.dedup.stage:SPEC).

shingles.py (text -> words -> shingle hashes), minhash.py (datasketch-equal signatures),
lsh.py (band keys, buckets, verification), store.py (signature parts on disk),
clusters.py (connected components -> clusters.parquet), stage.py (the stage's phases).
"""
