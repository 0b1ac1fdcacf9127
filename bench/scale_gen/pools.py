"""The text the scale corpus is made of: the demo mirror's real sentences, read as the pipeline reads them.

The demo mirror (`data/demo/`) is parsed with the docs stage's own readers; its labels say which
documents are clean Polish and which are in another language. Clean documents (and the originals
of the demo's garbled and boilerplate pages) are cut into paragraphs and sentences; a sentence is
kept as Polish when it has a Polish letter or at least two Polish-only function words (the demo's
man pages keep some untranslated English paragraphs, which must not count as Polish). Foreign
documents give each language's sentences. Sentences whose tokens are mostly not words (IRC logs
with timestamps, option lists, tables: under 65 % words among the quality stage's tokens) are
left out: documents of such lines fail FineWeb-2's `alpha_words` rule (0.726) wholesale (the
demo config turns that rule off for this very text), while Speakleash's datasets are mostly
prose. Every pool is de-duplicated and sorted, so the table does not depend on the order of files.

Sprinkled sentences: each Polish sentence once more with one or two foreign words (words of the
foreign documents that hold a letter outside plain Polish text, e.g. "für", "años", "příklad")
put in after random words. Datasets made of them are Polish text with foreign words in every
line: the text that sends cleaning through ftfy's checks on most lines (issue 13).
"""

from __future__ import annotations

import json
import random
import re
from functools import lru_cache
from pathlib import Path

from corpus.dedup.shingles import char_table
from corpus.polish import PLAIN_CHARS
from corpus.quality.textstats import TOKEN_RE
from corpus.sources import speakleash, wikipedia
from corpus.sources.records import Doc
from scale_gen.segments import ROOT, SegmentTable

DEMO = ROOT / "data" / "demo"
SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])\s+")
PARAGRAPH_SPLIT = re.compile(r"\n\s*\n")
POLISH_LETTER = re.compile(r"[ąćęłńśźżĄĆĘŁŃŚŹŻ]")
POLISH_ONLY_WORDS = frozenset(
    ["się", "nie", "jest", "że", "na", "w", "jak", "oraz", "dla", "przez", "który", "która", "które", "czy", "tylko", "jeśli", "lub", "aby", "gdy", "jako", "są", "być", "jego", "jej", "ich", "tego", "tym", "już", "może", "można", "więc", "także", "też", "jeszcze", "bardzo"])
# English function words: a man page sentence left half untranslated is not Polish text.
ENGLISH_WORDS = frozenset(["the", "of", "and", "is", "in", "that", "for", "with", "this", "be", "are", "it", "an", "as"])
WORD = re.compile(r"[^\W\d_]+")
MIN_WORDS, MAX_CHARS = 3, 1200
MIN_ALPHA_WORDS = 0.65  # words (alphanumeric, not all digits) / tokens, as the quality stage counts them
PLAIN = frozenset(PLAIN_CHARS)


def demo_documents(demo: Path = DEMO) -> list[tuple[str, str, dict]]:
    """(id, text, label) of every well-formed demo document, plus the demo's clean originals of
    its garbled and boilerplate pages (label kind `clean`), sorted by id."""
    labels = {}
    for line in (demo / "labels.jsonl").read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            labels[row["id"]] = row
    out = []
    for path in sorted((demo / "speakleash").glob("*.jsonl.zst")):
        name = path.name.removesuffix(".jsonl.zst")
        out += [(d.id, d.text, labels[d.id]) for d in speakleash.iter_docs(path, name) if isinstance(d, Doc)]
    for path in sorted(demo.rglob("*-pages-articles.xml.bz2")):
        out += [(d.id, d.text, labels[d.id]) for d in wikipedia.iter_docs(path) if isinstance(d, Doc)]
    for side in ("mojibake_originals.jsonl", "boilerplate_originals.jsonl"):
        for line in (demo / side).read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.append((f"{row['id']}#original", row["text"], {"kind": "clean"}))
    return sorted(out, key=lambda r: r[0])


def sentences(text: str) -> list[str]:
    """The sentences of `text` (paragraphs unwrapped to one line, cut after sentence ends) with
    `MIN_WORDS` words or more, mostly words (`mostly_words`), at most `MAX_CHARS` long."""
    out = []
    for para in PARAGRAPH_SPLIT.split(text):
        flat = " ".join(para.split())
        out += [s for s in SENTENCE_SPLIT.split(flat)
                if s and len(s) <= MAX_CHARS and len(WORD.findall(s)) >= MIN_WORDS and mostly_words(s)]
    return out


def mostly_words(sentence: str) -> bool:
    """At least `MIN_ALPHA_WORDS` of its tokens (`corpus.quality.textstats.TOKEN_RE`) are words."""
    tokens = TOKEN_RE.findall(sentence)
    return sum(1 for t in tokens if t.isalnum() and not t.isdigit()) >= MIN_ALPHA_WORDS * max(1, len(tokens))


def looks_polish(sentence: str) -> bool:
    """A Polish letter or two Polish-only function words, and not two English ones."""
    words = [w.lower() for w in WORD.findall(sentence)]
    if sum(w in ENGLISH_WORDS for w in words) >= 2:
        return False
    return bool(POLISH_LETTER.search(sentence)) or sum(w in POLISH_ONLY_WORDS for w in words) >= 2


def polish_sentences(docs: list[tuple[str, str, dict]]) -> list[str]:
    """The distinct Polish-looking sentences (3+ words) of the clean documents, sorted."""
    found = set()
    for _, text, label in docs:
        if label.get("kind") in ("clean", "long"):
            found.update(s for s in sentences(text) if looks_polish(s))
    return sorted(found)


def foreign_sentences(docs: list[tuple[str, str, dict]]) -> dict[str, list[str]]:
    """The distinct sentences (3+ words) of the foreign documents, per language, sorted."""
    by_lang: dict[str, set[str]] = {}
    for _, text, label in docs:
        if label.get("kind") == "foreign":
            by_lang.setdefault(label["lang"], set()).update(sentences(text))
    return {lang: sorted(s) for lang, s in sorted(by_lang.items())}


def sprinkle_words(foreign: dict[str, list[str]]) -> list[str]:
    """Foreign words with a letter outside plain Polish text (what makes ftfy's gate fire)."""
    words = {w for pool in foreign.values() for s in pool for w in WORD.findall(s)
             if len(w) >= 3 and not set(w) <= PLAIN}
    return sorted(words)


def sprinkle(sentence: str, words: list[str], rng: random.Random) -> str:
    """`sentence` with one or two of `words` put in after random words of it."""
    tokens = sentence.split(" ")
    for _ in range(1 + (rng.random() < 0.3)):
        tokens.insert(rng.randrange(1, len(tokens) + 1), rng.choice(words))
    return " ".join(tokens)


@lru_cache(maxsize=1)
def segment_table() -> tuple[SegmentTable, tuple[str, ...]]:
    """The segment table of the demo's text (ranges `pl`, `pl_sprinkled`, `foreign:<lang>`) and
    the foreign languages it has, the same for every seed (built once per process). Sites'
    chrome is added later, per run."""
    docs = demo_documents()
    polish = polish_sentences(docs)
    foreign = foreign_sentences(docs)
    rng = random.Random("sprinkle")
    vocabulary = sprinkle_words(foreign)
    table = SegmentTable()
    table.add("pl", polish)
    table.add("pl_sprinkled", [sprinkle(s, vocabulary, rng) for s in polish])
    for lang, pool in foreign.items():
        table.add(f"foreign:{lang}", pool)
    for i in range(len(table.texts)):  # every sentence may open a document
        table.title(i)
    for pool in table.ranges.values():
        table.line_starts(pool)
    char_table(True)  # dedup's shingle table (~1 s), built once here, not in every worker
    return table, tuple(foreign)
