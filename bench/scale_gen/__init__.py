"""The scale corpus generator behind `bench/scale_corpus.py` (issue 13).

A Speakleash-layout mirror plus a plwiki dump of any size, made from the real Polish sentences of
the bundled demo data, with planted noise recorded in a ground-truth table. Modules:
segments.py (the sentence table: text, JSON bytes, per-sentence statistics), pools.py (reading the
demo mirror into it), plan.py (datasets, kinds, sizes, document lengths), sites.py (web page
chrome), noise.py (mojibake, near copies, malformed lines), documents.py (batches of documents as
lines), speakleash_out.py (datasets, manifests, index), wiki.py (the dump, plain and multistream),
generate.py (the whole run), score.py (scoring a pipeline run against the truth).

Developer tooling like the rest of bench/: nothing in the packages imports it.
"""
