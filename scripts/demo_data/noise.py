"""Planted noise that changes a text: mojibake, near-duplicate edits, malformed JSON lines.

Every function takes an explicit `random.Random`, so the mirror is the same on every run.
"""

from __future__ import annotations

import json
import random
import re

from .text_stats import jaccard, shingles

# ---- mojibake ---------------------------------------------------------------------------------

# Label name -> Python codec. cp1250/cp1252 are decoded "sloppily": their five unassigned bytes
# (e.g. 0x81, the second byte of UTF-8 "Ł") become the same-numbered C1 control character, as
# Windows' own conversion does and as ftfy's "sloppy-windows-125x" codecs assume. Without that,
# most Polish capitals could not be garbled at all.
MOJIBAKE_CODECS = {"cp1250": "cp1250", "cp1252": "cp1252", "iso-8859-2": "iso8859_2",
                   "latin-1": "latin_1"}


def _sloppy_table(codec: str) -> list[str]:
    table = []
    for b in range(256):
        try:
            table.append(bytes([b]).decode(codec))
        except UnicodeDecodeError:
            table.append(chr(b))
    return table


_TABLES = {name: _sloppy_table(codec) for name, codec in MOJIBAKE_CODECS.items()}


def garble(text: str, encoding: str, layers: int = 1) -> str:
    """Encode `text` as UTF-8 and decode the bytes as `encoding`, `layers` times over."""
    table = _TABLES[encoding]
    for _ in range(layers):
        text = "".join(table[b] for b in text.encode("utf-8"))
    return text


def plant_mojibake(text: str, rng: random.Random, encoding: str, scope: str,
                   layers: int) -> tuple[str, str]:
    """Garble the whole text (`scope="document"`) or one paragraph that has non-ASCII letters.

    Returns (garbled text, scope used): a text without such a paragraph is garbled whole.
    """
    paragraphs = text.split("\n\n")
    candidates = [i for i, p in enumerate(paragraphs)
                  if len(p) >= 80 and any(ord(c) > 127 for c in p)]
    if scope == "document" or len(paragraphs) < 2 or not candidates:
        return garble(text, encoding, layers), "document"
    i = rng.choice(candidates)
    paragraphs[i] = garble(paragraphs[i], encoding, layers)
    return "\n\n".join(paragraphs), "paragraph"


# ---- near duplicates --------------------------------------------------------------------------

NEAR_DUP_MIN_JACCARD = 0.85
TOKEN_WORDS = re.compile(r"\w+")
INSERTED_WORDS = ["bardzo", "naprawdę", "chyba", "zwykle", "również", "jednak", "oczywiście",
                  "zawsze", "często", "dokładnie"]
INSERTED_SENTENCES = [
    "Warto o tym pamiętać przy następnej okazji.",
    "Tekst został nieco poprawiony przez redakcję.",
    "Dziękujemy wszystkim za cenne uwagi i poprawki.",
    "Więcej informacji można znaleźć w dokumentacji.",
    "Ta wersja różni się od poprzedniej kilkoma drobnymi zmianami.",
    "Zachęcamy do dzielenia się własnymi doświadczeniami w komentarzach.",
]
REPOST_HEADERS = ["Przedruk za zgodą autora.", "Znalezione w sieci, wklejam w całości:",
                  "Dostałem to mailem od znajomego, może ktoś jeszcze nie zna."]
REPOST_FOOTERS = ["Źródło: archiwum listy dyskusyjnej.", "Pozdrawiam wszystkich czytelników.",
                  "Jeśli znacie podobne, wrzucajcie w komentarzach."]
NEAR_DUP_METHODS = ("word_edits", "sentence_added", "line_removed", "whitespace_punctuation",
                    "header_footer")


def _edit_words(text: str, rng: random.Random, edits: int) -> str:
    spans = [m.span() for m in re.finditer(r"[^\W\d_]{3,}", text)]
    if not spans:
        return text
    vocabulary = [text[start:end] for start, end in spans]
    chosen = sorted(rng.sample(range(len(spans)), min(edits, len(spans))), reverse=True)
    for k in chosen:  # right to left, so earlier spans stay valid
        start, end = spans[k]
        word = text[start:end]
        op = rng.choice(["replace", "delete", "insert", "typo"])
        if op == "replace":
            other = rng.choice(vocabulary)
            new = other if other.lower() != word.lower() else rng.choice(INSERTED_WORDS)
        elif op == "delete":
            end = end + 1 if text[end:end + 1] == " " else end
            new = ""
        elif op == "insert":
            new = f"{rng.choice(INSERTED_WORDS)} {word}"
        else:
            i = rng.randrange(len(word) - 1)
            new = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        text = text[:start] + new + text[end:]
    return text


def _add_sentence(text: str, rng: random.Random) -> str:
    breaks = [m.start() for m in re.finditer(r"\n\n", text)]
    pos = rng.choice(breaks) if breaks else len(text)
    return text[:pos] + "\n\n" + rng.choice(INSERTED_SENTENCES) + text[pos:]


def _remove_line(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    total = len(TOKEN_WORDS.findall(text))
    candidates = [i for i, line in enumerate(lines[1:], 1)
                  if 5 <= len(TOKEN_WORDS.findall(line)) <= max(5, total // 12)]
    if not candidates:
        return _edit_words(text, rng, 1)
    del lines[rng.choice(candidates)]
    return "\n".join(lines)


def _reformat(text: str, rng: random.Random) -> str:
    """Change white space freely and punctuation a little (two dashes, two commas)."""
    edits = [(m.start(), m.end(), " – ") for m in re.finditer(r" - ", text)]
    edits = rng.sample(edits, min(2, len(edits)))
    commas = [(m.start(), m.end(), "") for m in re.finditer(r",(?= )", text)]
    edits += rng.sample(commas, min(2, len(commas)))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    text = re.sub(r"\n\n+", lambda m: "\n" if rng.random() < 0.5 else "\n\n\n", text)
    return re.sub(r"\. (?=[A-ZŁŚŻŹĆ])", lambda m: ".  " if rng.random() < 0.3 else ". ", text)


def _header_footer(text: str, rng: random.Random) -> str:
    return f"{rng.choice(REPOST_HEADERS)}\n\n{text}\n\n{rng.choice(REPOST_FOOTERS)}"


def near_duplicate(text: str, rng: random.Random, method: str) -> tuple[str, float, float]:
    """A near copy of `text` made with `method`; returns (copy, jaccard, jaccard_whitespace).

    Edits are scaled down until the word-5-gram Jaccard to `text` is at least 0.85 under both
    tokenisations (`\\w+` runs and whitespace-split tokens), and the copy differs from `text`.
    """
    words = len(TOKEN_WORDS.findall(text))
    edits = max(1, min(4, words // 200))
    base_w, base_ws = shingles(text), shingles(text, whitespace_tokens=True)
    for attempt in range(12):
        if method == "word_edits":
            copy = _edit_words(text, rng, max(1, edits - attempt // 3))
        elif method == "sentence_added":
            copy = _add_sentence(text, rng)
        elif method == "line_removed":
            copy = _remove_line(text, rng)
        elif method == "whitespace_punctuation":
            copy = _reformat(text, rng)
        elif method == "header_footer":
            copy = _header_footer(text, rng)
        else:
            raise ValueError(f"unknown near-duplicate method {method!r}; use one of "
                             f"{NEAR_DUP_METHODS}")
        j = jaccard(base_w, shingles(copy))
        j_ws = jaccard(base_ws, shingles(copy, whitespace_tokens=True))
        if copy != text and min(j, j_ws) >= NEAR_DUP_MIN_JACCARD:
            return copy, round(j, 4), round(j_ws, 4)
    raise ValueError(f"could not make a {method} near duplicate with Jaccard ≥ 0.85 of a "
                     f"{words}-word text; pick a longer original")


# ---- malformed JSON lines ---------------------------------------------------------------------

def _dumps(obj) -> str:
    # The same compact, key-sorted form as the valid lines (speakleash_mirror.json_line).
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


MALFORMED_PROBLEMS = ("truncated_json", "invalid_utf8", "not_an_object", "missing_text",
                      "text_not_string")


def malformed_line(problem: str, text: str, meta: dict) -> bytes:
    """One broken `.jsonl` line (no newline) showing `problem`."""
    if problem == "truncated_json":
        full = _dumps({"meta": meta, "text": text})
        return full[: int(len(full) * 0.6)].encode("utf-8")
    if problem == "invalid_utf8":
        # The text part written in ISO-8859-2 (as an old Polish site would): bytes like 0xB1
        # ("ą") are not valid UTF-8.
        head = _dumps({"meta": meta})[:-1]
        return (head.encode("utf-8") + b',"text":'
                + _dumps(text).encode("iso8859_2", errors="replace") + b"}")
    if problem == "not_an_object":
        return _dumps([text, meta]).encode("utf-8")
    if problem == "missing_text":
        return _dumps({"content": text, "meta": meta}).encode("utf-8")
    if problem == "text_not_string":
        return _dumps({"meta": meta, "text": None}).encode("utf-8")
    raise ValueError(f"unknown malformed-line problem {problem!r}; use one of {MALFORMED_PROBLEMS}")
