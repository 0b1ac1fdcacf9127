"""Planted noise that changes text: mojibake, near copies at a measured Jaccard, malformed lines.

- Mojibake: UTF-8 bytes decoded as cp1250 / cp1252 (the "sloppy" variants ftfy assumes: an
  unassigned byte reads as the same-numbered C1 control), iso-8859-2 or latin-1, once or twice
  over, for the whole document or one paragraph (the demo mirror's definition). Spaces and line
  breaks stay what they are, so the original and garbled words pair up one for one; a sample of
  the pairs goes into the truth, and a repair is scored on them.
- Near copies: sentences of the original replaced by others, as many as a target Jaccard asks
  for, then the real word-5-gram Jaccard measured with the dedup stage's own shingles (`corpus.dedup.shingles.shingle_batch`: NFC, lower case, words are
  letter/digit runs), so the truth holds what the pipeline will see.
- Malformed lines: the five problems of the demo mirror, each with the reason the docs stage
  gives it (`corpus/sources/jsonl.py`).
"""

from __future__ import annotations

import json
import re

import ftfy.bad_codecs  # noqa: F401 - registers the sloppy-windows-125x codecs
import numpy as np

from corpus.dedup.shingles import shingle_batch
from scale_gen.segments import ROOT  # noqa: F401 - puts the repository on the path for scripts/
from scripts.demo_data.noise import malformed_line as demo_malformed_line

CODECS = {"cp1250": "sloppy-windows-1250", "cp1252": "sloppy-windows-1252", "iso-8859-2": "iso8859_2",
          "latin-1": "latin_1"}
ENCODING_P = {"cp1250": 0.4, "cp1252": 0.3, "iso-8859-2": 0.15, "latin-1": 0.15}
WORD_PAIRS = 12  # (original, garbled) word pairs kept per garbled document
TOKEN_SPLIT = re.compile(r"[ \n]+")
POLISH_LETTER = re.compile("[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]")
# Words kept as (original, garbled) pairs: letters and punctuation only, nothing that cleaning's
# masking (e-mail addresses, phone numbers) or URL handling may change.
PLAIN_WORD = re.compile(r"[^\W\d_]+[.,:;!?…)\"”]*")


def garble(text: str, encoding: str, layers: int = 1) -> str:
    """`text` encoded as UTF-8 and decoded as `encoding`, `layers` times over."""
    codec = CODECS[encoding]
    for _ in range(layers):
        text = text.encode("utf-8").decode(codec)
    return text


def plant_mojibake(text: str, rng: np.random.Generator) -> tuple[str, dict]:
    """Garble `text` (whole, or one paragraph with non-ASCII letters); returns it and its label."""
    encoding = str(rng.choice(list(ENCODING_P), p=list(ENCODING_P.values())))
    layers = 2 if rng.random() < 0.1 else 1
    paragraphs = text.split("\n")
    candidates = [i for i, p in enumerate(paragraphs) if len(p) >= 80 and not p.isascii()]
    if rng.random() < 0.6 or len(paragraphs) < 2 or not candidates:
        garbled, scope = garble(text, encoding, layers), "document"
    else:
        i = candidates[int(rng.integers(len(candidates)))]
        paragraphs[i] = garble(paragraphs[i], encoding, layers)
        garbled, scope = "\n".join(paragraphs), "paragraph"
    pairs = sorted({(a, b) for a, b in zip(TOKEN_SPLIT.split(text), TOKEN_SPLIT.split(garbled), strict=True)
                    if a != b and PLAIN_WORD.fullmatch(a)})
    picked = [pairs[i] for i in sorted(rng.choice(len(pairs), min(WORD_PAIRS, len(pairs)), replace=False))]
    return garbled, {"encoding": encoding, "layers": layers, "scope": scope,
                     "garbled_words": json.dumps(picked, ensure_ascii=False)}


# --------------------------------------------------------------------------- near copies


def _unique(h: np.ndarray) -> np.ndarray:
    h = np.sort(h)
    return h[np.concatenate(([True], h[1:] != h[:-1]))] if len(h) else h


def jaccards(pairs: list[tuple[str, str]]) -> list[float]:
    """Word-5-gram Jaccard of each pair, as the dedup stage shingles text."""
    batch = shingle_batch([t for pair in pairs for t in pair])
    sets = [_unique(batch.hashes[batch.offsets[i]:batch.offsets[i + 1]]) for i in range(batch.n_docs)]
    out = []
    for a, b in zip(sets[0::2], sets[1::2], strict=True):
        both = np.sort(np.concatenate([a, b]))
        inter = int(np.count_nonzero(both[1:] == both[:-1]))
        union = len(a) + len(b) - inter
        out.append(inter / union if union else 1.0)
    return out


def target_jaccard(rng: np.random.Generator) -> float:
    """Targets spread so both rules can be scored: most ≥ 0.84 (must cluster), many ≤ 0.68 (must
    not merge), a few in between."""
    u = rng.random()
    if u < 0.6:
        return float(rng.uniform(0.84, 0.98))
    if u < 0.7:
        return float(rng.uniform(0.7, 0.84))
    return float(rng.uniform(0.45, 0.68))


def edit_sentences(content: list[int], target: float, words: np.ndarray, pool: tuple[int, int],
                   openers: np.ndarray, space: int, rng: np.random.Generator) -> list[int]:
    """A near copy of `content` (sentence, separator, sentence ... segment ids): sentences, in a
    random order, replaced by random ones from `pool` while the predicted word-5-gram Jaccard
    stays above `target` (at least one); a sentence that opens a line is replaced by one of
    `openers` (`SegmentTable.line_starts`). `words[i]` is segment i's word count.

    Prediction: a replaced sentence of w words takes its w shingles and the 4 that span its
    edges out of the intersection, and its replacement of w' words adds w' + 4 to the union.
    """
    sentences = len(content) // 2 + 1
    total = float(words[content[0::2]].sum())
    inter, union = total, total
    copy, replaced = list(content), 0
    for pos in rng.permutation(sentences).tolist()[: max(1, sentences - 1)]:
        opens = pos == 0 or copy[2 * pos - 1] != space
        new = int(openers[rng.integers(len(openers))]) if opens else int(rng.integers(*pool))
        lost, added = min(inter, int(words[copy[2 * pos]]) + 4), int(words[new]) + 4
        if replaced and (inter - lost) / (union + added) < target:
            break
        copy[2 * pos] = new
        inter, union, replaced = inter - lost, union + added, replaced + 1
    return copy


# --------------------------------------------------------------------------- malformed lines

# problem -> the reason the docs stage counts it under (`dropped_malformed_<reason>`)
MALFORMED = {"truncated_json": "invalid_json", "invalid_utf8": "invalid_utf8", "not_an_object": "not_object",
             "missing_text": "no_text", "text_not_string": "no_text"}


def malformed_line(problem: str, text: str, meta: dict) -> bytes:
    """One broken `.jsonl` line (no newline) showing `problem`: the demo mirror's own broken
    lines, with Polish letters added to a pure-ASCII text first for `invalid_utf8` (written in
    ISO-8859-2, pure ASCII would still be valid UTF-8)."""
    if problem not in MALFORMED:
        raise ValueError(f"unknown malformed-line problem {problem!r}; use one of {sorted(MALFORMED)}")
    if problem == "invalid_utf8" and not POLISH_LETTER.search(text):
        text += " Zażółć gęślą jaźń."
    return demo_malformed_line(problem, text, meta)
