"""Per-document statistics in Speakleash's meta format, the quality rule, and word-5-gram Jaccard.

Speakleash computes its meta with spaCy; we have no Polish tagger here, so the counts that need
one (nouns, verbs, oovs, pos_x) are rough suffix/shape heuristics. The simple counts (length,
words, sentences, punctuations, symbols, stopwords, averages) are exact for our definitions:
- word: a maximal run of letters (`[^\\W\\d_]+`); number: a maximal run of digits;
- sentence: text up to `.`, `!`, `?` or `…` followed by white space or the end (at least 1);
- punctuation / symbol: a character of Unicode category P* / S*.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from itertools import combinations

# Common Polish function words (closed-class words and the most frequent auxiliaries).
POLISH_STOPWORDS = frozenset("""
a aby ach acz aczkolwiek aj albo ale ależ ani aż bardziej bardzo bez bo bowiem by byli bym
bynajmniej być był była było były będzie będą cali cała cały chce ci cię ciebie co cokolwiek coś
czasami czasem czemu czy czyli daleko dla dlaczego dlatego do dobrze dokąd dość dużo dwa dwaj dwie
dwoje dziś dzisiaj gdy gdyby gdyż gdzie gdziekolwiek gdzieś go i ich ile im inna inne inny innych iż
ja ją jak jaka jakaś jakby jaki jakichś jakie jakiś jakiż jakkolwiek jako jakoś je jeden jedna jedno
jednak jednakże jego jej jemu jest jestem jeszcze jeśli jeżeli już każdy kiedy kilka kimś kto
ktokolwiek ktoś która które którego której który których którym którzy ku lecz lub ma mają mam mi
mimo między mną mnie mogą moi moim moja moje może można mój mu musi my na nad nam nami nas nasi
nasz nasza nasze naszego naszych natomiast nawet nią nic nich nie niech niego niej niemu nigdy nim
nimi niż no o obok od około on ona one oni ono oraz oto owszem pan pana pani po pod podczas pomimo
ponad ponieważ powinien powinna powinni powinno poza prawie przecież przed przede przez przy
również sam sama są się skąd sobie sobą swoje swój ta tak taka taki takie także tam te tego tej temu
ten teraz też to tobą tobie toteż trzeba tu tutaj twoi twoim twoja twoje twój ty tych tylko tym u w
wam wami was wasz wasza wasze we według wiele wielu więc więcej wszyscy wszystkich wszystkie
wszystkim wszystko wtedy wy właśnie z za zapewne zawsze ze znowu znów został żaden żadna żadne
żadnych że żeby
""".split())

WORD_RE = re.compile(r"[^\W\d_]+")
NUMBER_RE = re.compile(r"\d+")
SENTENCE_END_RE = re.compile(r"[.!?…]+(?=\s|$)")
POLISH_LETTERS = set("aąbcćdeęfghijklłmnńoóprsśtuwyzźżqvx")
VERB_ENDINGS = ("ać", "eć", "ić", "yć", "uje", "ują", "uję", "ał", "ała", "ało", "ali", "ały", "ił",
                "iła", "iło", "ili", "yła", "ył", "ymy", "imy", "amy", "emy", "acie", "icie",
                "ecie", "esz", "isz", "ysz", "asz", "ają", "eją", "ować", "uje się")
NOUN_ENDINGS = ("ość", "anie", "enie", "cja", "cji", "cje", "acja", "ów", "ami", "ach", "ka", "ki",
                "ek", "ik", "nik", "arz", "ista", "isko", "stwo", "ctwo", "ie", "em", "um", "ia")


def words_of(text: str) -> list[str]:
    """Letter runs of `text` (our definition of a word)."""
    return WORD_RE.findall(text)


def document_meta(text: str, title: str | None = None, url: str | None = None,
                  lang: str | None = None) -> dict:
    """Speakleash-style meta of one document, with `quality` from `quality_of`."""
    words = words_of(text)
    lowered = [w.lower() for w in words]
    n_words = len(words)
    length = len(text)
    categories = Counter(unicodedata.category(c)[0] for c in text)
    punctuations, symbols = categories["P"], categories["S"]
    stopwords = sum(1 for w in lowered if w in POLISH_STOPWORDS)
    content = [w for w in lowered if w not in POLISH_STOPWORDS]
    verbs = sum(1 for w in content if len(w) > 3 and w.endswith(VERB_ENDINGS))
    nouns = sum(1 for w in content if len(w) > 3 and not w.endswith(VERB_ENDINGS)
                and w.endswith(NOUN_ENDINGS))
    # Out-of-vocabulary stand-in: words with letters outside the Polish alphabet, or
    # mixed-case inner capitals (identifiers), or consonant-only tokens longer than 3.
    oovs = sum(1 for w in words
               if not set(w.lower()) <= POLISH_LETTERS
               or _is_camel_case(w)
               or (len(w) > 3 and not set(w.lower()) & set("aąeęioóuy")))
    numbers = len(NUMBER_RE.findall(text))
    sentences = max(1, len(SENTENCE_END_RE.findall(text))) if text.strip() else 0
    lines = [line for line in text.split("\n") if line.strip()]

    def ratio(num: float, den: float) -> float:
        return round(num / den, 4) if den else 0.0

    meta = {
        "length": length,
        "sentences": sentences,
        "words": n_words,
        "verbs": verbs,
        "nouns": nouns,
        "punctuations": punctuations,
        "symbols": symbols,
        "stopwords": stopwords,
        "oovs": oovs,
        "avg_line_length": ratio(sum(len(line) for line in lines), len(lines)),
        "avg_sentence_length": ratio(n_words, sentences),
        "avg_word_length": ratio(sum(len(w) for w in words), n_words),
        "camel_case": sum(1 for w in words if _is_camel_case(w)),
        "capitalized_words": sum(1 for w in words if w[0].isupper()),
        "lexical_density": ratio(len(set(content)), n_words),
        "noun_ratio": ratio(nouns, n_words),
        "pos_num": numbers,
        "pos_x": oovs,
        "pos_ratio": ratio(nouns + verbs, n_words),
        "punctuation_ratio": ratio(punctuations, length),
        "stopwords_ratio": ratio(stopwords, n_words),
        "symbol_ratio": ratio(symbols, length),
        "verb_ratio": ratio(verbs, n_words),
    }
    if lang is not None:
        meta["lang"] = lang
    if title is not None:
        meta["title"] = title
    if url is not None:
        meta["url"] = url
    meta["quality"] = quality_of(meta)
    return meta


def _is_camel_case(word: str) -> bool:
    return any(a.islower() and b.isupper() for a, b in zip(word, word[1:], strict=False))


def quality_of(meta: dict) -> str:
    """The documented quality rule (README.md): LOW, HIGH or MEDIUM from the meta alone.

    LOW: shorter than 300 characters, or fewer than 12 % Polish stop words among the words
    (foreign, tabular or garbled text), or symbols over 5 % of characters, or OOV-like words
    over 20 %. HIGH: at least 2,000 characters, stop words 20-45 %, punctuation at most 7 %,
    symbols at most 1 %, average word length 4-7.5 and OOV-like words at most 5 %.
    MEDIUM otherwise.
    """
    words = meta["words"] or 1
    oov_ratio = meta["oovs"] / words
    if (meta["length"] < 300 or meta["stopwords_ratio"] < 0.12 or meta["symbol_ratio"] > 0.05
            or oov_ratio > 0.20):
        return "LOW"
    if (meta["length"] >= 2000 and 0.20 <= meta["stopwords_ratio"] <= 0.45
            and meta["punctuation_ratio"] <= 0.07 and meta["symbol_ratio"] <= 0.01
            and 4.0 <= meta["avg_word_length"] <= 7.5 and oov_ratio <= 0.05):
        return "HIGH"
    return "MEDIUM"


# ---- near-duplicate measure -------------------------------------------------------------------

SHINGLE_WORDS = 5
TOKEN_RE = re.compile(r"\w+")


def shingles(text: str, whitespace_tokens: bool = False) -> frozenset[tuple[str, ...]]:
    """Lower-cased word 5-gram shingles; words are `\\w+` runs (or whitespace-split tokens).

    A text with fewer than 5 words has one shingle: all of its words.
    """
    lowered = text.lower()
    tokens = lowered.split() if whitespace_tokens else TOKEN_RE.findall(lowered)
    if len(tokens) < SHINGLE_WORDS:
        return frozenset([tuple(tokens)]) if tokens else frozenset()
    return frozenset(tuple(tokens[i:i + SHINGLE_WORDS])
                     for i in range(len(tokens) - SHINGLE_WORDS + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    """|a ∩ b| / |a ∪ b| (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def similar_pairs(shingle_sets: list[frozenset], min_jaccard: float,
                  max_postings: int = 200) -> list[tuple[int, int, float]]:
    """All pairs (i, j, J) with i < j and Jaccard ≥ `min_jaccard`, exactly, via an inverted index.

    Shingles held by more than `max_postings` sets do not propose candidates (boilerplate
    phrases shared by many pages); a pair similar enough to matter also shares rarer shingles.
    Every candidate's Jaccard is computed in full.
    """
    postings: dict[tuple[str, ...], list[int]] = {}
    for i, s in enumerate(shingle_sets):
        for sh in s:
            postings.setdefault(sh, []).append(i)
    shared: set[tuple[int, int]] = set()
    for ids in postings.values():
        if 1 < len(ids) <= max_postings:
            shared.update(combinations(ids, 2))
    out = []
    for i, j in sorted(shared):
        a, b = shingle_sets[i], shingle_sets[j]
        # Cheap upper bound before the exact computation.
        if min(len(a), len(b)) / max(len(a), len(b), 1) < min_jaccard:
            continue  # J ≤ |smaller| / |larger|
        value = jaccard(a, b)
        if value >= min_jaccard:
            out.append((i, j, value))
    return sorted(out)
