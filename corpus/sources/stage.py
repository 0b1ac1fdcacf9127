"""The source stages: `fetch` (remote and local sources into `raw/`) and `docs` (raw files into
document parts). Their phases live in `fetch.py` and `docs.py`; the readers of each kind of
source in `speakleash.py`, `wikipedia.py` and `local.py`."""

from __future__ import annotations

from corpus.sources import docs, fetch, wiki_parts
from kuznia import registry
from kuznia.stage import Phase, StageSpec

FETCH = StageSpec(
    info=registry.info("fetch"),
    config_keys=("fetch",),
    phases=[Phase("fetch", fetch.plan, fetch.run)],
    finish=fetch.finish,
    # Selecting one more dataset must not download 285 GB again: `raw/` is kept when the config
    # changes; files already there are verified and skipped.
    keep_outputs=True,
    io_workers=fetch.io_workers,
    inputs=fetch.local_inputs,
)

DOCS = StageSpec(
    info=registry.info("docs"),
    config_keys=("docs",),
    phases=[Phase("parse", docs.plan, docs.run, docs.inputs),
            # A multistream Wikipedia dump's parts, cut from its range tasks' pieces.
            Phase("pack", wiki_parts.plan_pack, wiki_parts.pack, wiki_parts.pack_inputs)],
    finish=docs.finish,
    not_outputs=(wiki_parts.PIECES_DIR,),
)
