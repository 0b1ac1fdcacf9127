"""The tokenizer stage's phases: learn APT3's BPE on a seeded sample of the corpus, then measure
fertility (the spec is in `tokenizer/stage.py`).

Phases: `train` (one task) streams the sample twice — once to count characters (the alphabet is
the `alphabet_size` most frequent) and to estimate the trainer's memory, which is printed before
training starts; then into `BpeTrainer` through `train_from_iterator`, so memory is bounded by
the trainer's word counts, not the corpus. `fertility` (one task per source) encodes held-out
documents. The manifest holds the vocabulary, the special-token ids, the alphabet, the sample,
the memory estimate and measurement, and `fertility` (see `tokenizer/fertility.py`).
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from tokenizers import Tokenizer, trainers

from kuznia.files import read_json, write_json_atomic
from kuznia.progress import peak_rss_mb, progress_enabled
from kuznia.stage import StageContext
from tokenizer.bpe import (
    TokenizerError,
    assemble,
    load_tokenizer,
    pre_tokenizer,
    save_tokenizer,
    special_ids,
    top_characters,
    untrained_tokenizer,
)
from tokenizer.config import N_BYTE_TOKENS, TokenizerConfig
from tokenizer.fertility import count_texts, format_table, summarize
from tokenizer.sample import iter_heldout_texts, iter_training_texts, plan_sample

HEAPS_PROBE_BYTES = 4_000_000  # text pre-tokenized to fit Heaps' law for the memory estimate
# Trainer memory per distinct pre-token (word counts, symbol lists, pair index) and the process's
# own, fitted to the peaks bench/tokens.py measures (it prints the estimate beside the peak).
TRAINER_BYTES_PER_WORD = 1450
TRAINER_BASE_MB = 85


# --------------------------------------------------------------------------- sample statistics


def scan_sample(batches: Iterable[list[str]]) -> dict:
    """One pass over the sample: character counts, sizes, and a Heaps' law fit of distinct words.

    The first `HEAPS_PROBE_BYTES` are pre-tokenized exactly as the trainer will; the growth of
    distinct pieces between half and all of that probe gives the exponent that extrapolates to
    the whole sample (`distinct_words_estimate`).
    """
    chars: Counter = Counter()
    docs = n_bytes = 0
    split = pre_tokenizer()
    seen: set[str] = set()
    probe_pieces = probe_bytes = 0
    half: tuple[int, int] | None = None
    for batch in batches:
        for text in batch:
            text = unicodedata.normalize("NFC", text)
            chars.update(text)
            size = len(text.encode("utf-8"))
            docs += 1
            n_bytes += size
            if probe_bytes < HEAPS_PROBE_BYTES:
                pieces = [p for p, _ in split.pre_tokenize_str(text)]
                seen.update(pieces)
                probe_pieces += len(pieces)
                probe_bytes += size
                if half is None and probe_bytes >= HEAPS_PROBE_BYTES // 2:
                    half = (probe_pieces, len(seen))
    distinct = len(seen)
    if n_bytes > probe_bytes and half and probe_pieces > half[0] and distinct > half[1]:
        beta = min(1.0, math.log(distinct / half[1]) / math.log(probe_pieces / half[0]))
        total_pieces = probe_pieces * n_bytes / max(probe_bytes, 1)
        distinct = int(distinct * (total_pieces / probe_pieces) ** beta)
    elif n_bytes > probe_bytes:  # too little probe text to fit: assume every piece is new
        distinct = int(distinct * n_bytes / max(probe_bytes, 1))
    return {"docs": docs, "bytes": n_bytes, "chars": chars, "distinct_words_estimate": distinct}


def estimate_memory_mb(distinct_words: int) -> int:
    """Expected peak memory of the BPE trainer for a sample with this many distinct pre-tokens."""
    return int(TRAINER_BASE_MB + distinct_words * TRAINER_BYTES_PER_WORD / 1e6)


# --------------------------------------------------------------------------- training


def train_tokenizer(
    texts: Callable[[], Iterator[list[str]]],
    cfg: TokenizerConfig,
    *,
    log: Callable[[str], None] = print,
) -> tuple[Tokenizer, dict]:
    """Train the tokenizer on the batches `texts()` yields (called twice: scan, then train).

    Returns the assembled tokenizer (vocabulary exactly `cfg.vocab_size`) and a record of the
    sample, alphabet and memory. Raises TokenizerError when the sample cannot fill the vocabulary.
    """
    scan = scan_sample(texts())
    if scan["bytes"] == 0:
        raise TokenizerError("the tokenizer sample is empty; check the corpus stage's output "
                             "and tokenizer.sample_bytes")
    alphabet = top_characters(scan["chars"], cfg.alphabet_size)
    expected_mb = estimate_memory_mb(scan["distinct_words_estimate"])
    log(f"[tokenizer] sample: {scan['docs']:,} docs, {scan['bytes'] / 1e6:,.1f} MB, "
        f"{len(scan['chars']):,} distinct chars (alphabet {len(alphabet)}), "
        f"~{scan['distinct_words_estimate']:,} distinct words; "
        f"expected trainer memory ~{expected_mb:,} MB")

    specials = cfg.special_tokens
    n_bytes = N_BYTE_TOKENS if cfg.byte_fallback else 0
    trainer = trainers.BpeTrainer(
        vocab_size=cfg.vocab_size - n_bytes,  # the byte tokens are inserted after training
        min_frequency=cfg.min_frequency,
        special_tokens=specials,
        initial_alphabet=alphabet,
        limit_alphabet=len(alphabet),
        show_progress=progress_enabled(),
    )
    raw = untrained_tokenizer(specials[0], cfg.byte_fallback)
    raw.train_from_iterator(texts(), trainer=trainer)
    tok = assemble(raw, specials, byte_fallback=cfg.byte_fallback)
    if tok.get_vocab_size() != cfg.vocab_size:
        raise TokenizerError(
            f"the sample ({scan['bytes']:,} bytes) filled only {tok.get_vocab_size():,} of "
            f"tokenizer.vocab_size={cfg.vocab_size:,} entries (pairs seen fewer than "
            f"min_frequency={cfg.min_frequency} times are not merged); lower tokenizer.vocab_size "
            f"to at most {tok.get_vocab_size():,}, or raise tokenizer.sample_bytes if the corpus is larger"
        )
    peak = peak_rss_mb()
    log(f"[tokenizer] trained {tok.get_vocab_size():,} entries; peak memory {peak:,.0f} MB "
        f"(expected ~{expected_mb:,} MB)")
    record = {
        "sample": {"docs": scan["docs"], "bytes": scan["bytes"], "distinct_chars": len(scan["chars"]),
                   "distinct_words_estimate": scan["distinct_words_estimate"]},
        "alphabet": "".join(alphabet),
        "memory": {"expected_mb": expected_mb, "peak_rss_mb": round(peak, 1)},
    }
    return tok, record


# --------------------------------------------------------------------------- stage


def _corpus_dir(ctx: StageContext) -> Path:
    return ctx.upstream_dir("corpus")


def _plan_sample(ctx: StageContext) -> dict:
    c = ctx.cfg.tokenizer
    return plan_sample(_corpus_dir(ctx), sample_bytes=c.sample_bytes,
                       heldout_fraction=c.heldout_fraction, seed=c.seed)


def plan_train(ctx: StageContext) -> list[dict]:
    """One task: train on the sample the corpus's footers and the seed define."""
    return [{"id": "train", "sample": _plan_sample(ctx)}]


def run_train(ctx: StageContext, task: dict) -> dict:
    """Train, save the tokenizer files into the stage folder, return the training record."""
    cfg: TokenizerConfig = ctx.cfg.tokenizer
    corpus_dir, plan = _corpus_dir(ctx), task["sample"]
    tok, record = train_tokenizer(lambda: iter_training_texts(corpus_dir, plan), cfg)
    save_tokenizer(tok, ctx.dir, cfg.special_tokens)
    write_json_atomic(ctx.dir / "training.json", {k: v for k, v in record.items() if k != "memory"})
    return {**record, "vocab_size": tok.get_vocab_size(), **special_ids(tok, cfg.special_tokens)}


def plan_fertility(ctx: StageContext) -> list[dict]:
    """One task per corpus source."""
    plan = _plan_sample(ctx)
    return [{"id": f"fertility-{s}", "source": s, "sample": plan} for s in plan["sources"]]


def run_fertility(ctx: StageContext, task: dict) -> dict:
    """Counts of one source's held-out documents under the trained tokenizer."""
    tok = load_tokenizer(ctx.dir)
    texts = iter_heldout_texts(_corpus_dir(ctx), task["sample"], task["source"],
                               ctx.cfg.tokenizer.fertility_bytes)
    return {"source": task["source"], "counts": count_texts(tok, texts)}


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    """The manifest's counts, ids, alphabet, sample and fertility; `fertility.json` beside it."""
    trained = records["train"][0]
    fertility = summarize({r["source"]: r["counts"] for r in records["fertility"]})
    write_json_atomic(ctx.dir / "fertility.json", fertility)
    print(format_table(fertility), flush=True)
    ids = {k: trained[k] for k in ("unk_id", "bos_id", "eos_id", "pad_id")}
    return {
        "counts": {"vocab_size": trained["vocab_size"], "sample_docs": trained["sample"]["docs"],
                   "sample_bytes": trained["sample"]["bytes"]},
        "vocab_size": trained["vocab_size"],
        **ids,
        "special_tokens": ctx.cfg.tokenizer.special_tokens,
        "alphabet": trained["alphabet"],
        "sample": {**trained["task"]["sample"], **trained["sample"]},
        "memory": trained["memory"],
        "fertility": fertility,
    }


def read_tokenizer_manifest(tokenizer_dir: Path) -> dict:
    """The tokenizer stage's manifest, with an error that says how to produce it."""
    path = Path(tokenizer_dir) / "_manifest.json"
    if not path.exists():
        raise TokenizerError(f"{path} is missing; run `kuznia stage tokenizer` first")
    return read_json(path)
