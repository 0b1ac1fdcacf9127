"""The bundled demo's Speakleash documents, read with the docs stage's own line parser.

Tests that check our code against a reference (langdetect, the Python text statistics) run it
over real Polish text as well as generated strings; this is where they get it. The demo holds a
few malformed lines on purpose: the parser rejects them, as the docs stage does.
"""

from __future__ import annotations

from pathlib import Path

from corpus.sources.jsonl import iter_lines, parse_lm_line
from corpus.sources.records import BadLine

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "speakleash"


def demo_texts(per_file: int | None = None) -> list[str]:
    """The texts of the well-formed lines of each demo dataset (the first `per_file` of each,
    if given), file by file in name order."""
    out: list[str] = []
    for path in sorted(DEMO.glob("*.jsonl.zst")):
        texts = []
        for _, raw in iter_lines(path):
            try:
                texts.append(parse_lm_line(raw)[0])
            except BadLine:
                continue
        out += texts[:per_file]
    return out
