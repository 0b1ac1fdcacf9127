"""The shape of the corpus: how many datasets, of which kind, how big, with which documents.

Like the Speakleash index: ~150 datasets (fewer for a small corpus, so that each still holds
~3.3 MB, i.e. 0.5 GB / 150), sizes from a Zipf law over a random ranking (exponent 1.1: the ten
largest hold ~60 % of the bytes), kinds from web crawls (forums, news, portals, blogs: page
chrome in every document) to curated text (books, documentation, law). Document lengths are
log-normal per kind (web pages: medians 1.2-3 KB, so the median document is ~2 KB; books 60 KB
and documentation 6 KB with wide spreads, so the tail passes 1 MB: ~20 such documents at 0.5 GB,
~150 at 4 GB), capped at 4 MB and at a sixth of the dataset, so that a tiny corpus still has
several documents per dataset. Some web datasets are "sprinkled": Polish text with foreign words in every sentence.
Wikipedia takes 1 % of the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MB = 1_000_000
DATASET_BYTES = 500 * MB / 150  # the mean dataset size at 0.5 GB, kept for smaller corpora
MAX_DATASETS, MIN_DATASETS = 150, 4
ZIPF_EXPONENT = 1.1
MAX_DOC_BYTES = 4 * MB
MIN_SENTENCES = 4  # shorter documents would repeat one another by chance (the pool is finite)
WIKI_SHARE = 0.01


@dataclass(frozen=True)
class Kind:
    """A kind of dataset: web chrome or not, document lengths, paragraphs, how it is named."""

    web: bool
    median_bytes: float
    sigma: float  # of log(document bytes)
    paragraph_sentences: float  # mean sentences per paragraph
    paragraph_break: str  # "\n" or "\n\n"
    category: str
    share: float  # of the datasets
    topics: tuple[str, ...]


KINDS: dict[str, Kind] = {
    "forum": Kind(True, 1200, 1.3, 3, "\n", "Forum", 0.28,
                  ("motoryzacja", "rodzice", "zdrowie", "gry", "wedkarstwo", "budowa", "finanse",
                   "ogrody", "kulinaria", "sport", "muzyka", "komputery", "podroze", "zwierzeta")),
    "web": Kind(True, 2000, 1.4, 4, "\n", "Internet", 0.22,
                ("artykuly", "poradniki", "sklepy", "firmy", "turystyka", "technologia", "moda",
                 "nieruchomosci", "edukacja", "praca")),
    "news": Kind(True, 3000, 0.9, 4, "\n", "Wiadomości", 0.20,
                 ("kraj", "swiat", "gospodarka", "region", "kultura", "nauka", "sport", "lokalne")),
    "blog": Kind(True, 2500, 1.1, 5, "\n", "Blogi", 0.08,
                 ("podroze", "kuchnia", "rodzina", "technologia", "ksiazki", "uroda")),
    "books": Kind(False, 60000, 1.4, 6, "\n\n", "Literatura", 0.10,
                  ("proza", "poezja", "dramat", "reportaz", "fantastyka", "klasyka")),
    "docs": Kind(False, 6000, 1.7, 4, "\n", "Dokumentacja", 0.08,
                 ("podreczniki", "instrukcje", "oprogramowanie", "normy", "uczelnie")),
    "law": Kind(False, 12000, 1.2, 5, "\n", "Prawo", 0.04,
                ("ustawy", "orzeczenia", "interpelacje", "uchwaly")),
}


@dataclass(frozen=True)
class DatasetPlan:
    """One dataset to write: its name, kind, text bytes to reach, and flags."""

    index: int  # its place in name order (seeds its random stream)
    name: str
    kind: str
    target_bytes: int
    sprinkled: bool

    @property
    def spec(self) -> Kind:
        """The dataset's kind."""
        return KINDS[self.kind]

    @property
    def max_doc_bytes(self) -> int:
        """The cap on a document's size: 4 MB, or a sixth of the dataset (at least 16 KB)."""
        return int(min(MAX_DOC_BYTES, max(16_000, self.target_bytes / 6)))


def dataset_count(total_bytes: float) -> int:
    """~150 at 0.5 GB and more; fewer below, each still ~3.3 MB; at least 4."""
    return int(np.clip(round(total_bytes / DATASET_BYTES), MIN_DATASETS, MAX_DATASETS))


def _kinds(n: int, rng: np.random.Generator) -> list[str]:
    """`n` kinds in the shares of `KINDS` (largest remainders), web and curated both present."""
    names = list(KINDS)
    shares = np.array([KINDS[k].share for k in names]) * n
    counts = np.floor(shares).astype(int)
    for i in np.argsort(-(shares - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    kinds = [k for k, c in zip(names, counts, strict=True) for _ in range(c)]
    if not any(not KINDS[k].web for k in kinds):  # a tiny corpus: keep one curated dataset
        kinds[-1] = "books"
    return [kinds[i] for i in rng.permutation(len(kinds))]


def _names(kinds: list[str]) -> list[str]:
    used: dict[str, int] = {}
    out = []
    for kind in kinds:
        topics = KINDS[kind].topics
        k = used.get(kind, 0)
        used[kind] = k + 1
        topic = topics[k % len(topics)]
        suffix = f"_{k // len(topics) + 1}" if k >= len(topics) else ""
        out.append(f"{kind}_{topic}{suffix}_corpus")
    return out


def plan_datasets(total_bytes: float, seed: int) -> list[DatasetPlan]:
    """The datasets, sorted by name, with Zipf-distributed sizes summing to the Speakleash share
    (1 - `WIKI_SHARE`) of `total_bytes`."""
    rng = np.random.default_rng([seed, 1])
    n = dataset_count(total_bytes)
    speakleash_bytes = total_bytes * (1 - WIKI_SHARE)
    kinds = _kinds(n, rng)
    names = _names(kinds)
    weights = (np.arange(1, n + 1, dtype=float) ** -ZIPF_EXPONENT)[rng.permutation(n)]
    sizes = np.floor(weights / weights.sum() * speakleash_bytes).astype(np.int64)
    web = [i for i, k in enumerate(kinds) if KINDS[k].web]
    sprinkled = {i for i in web if rng.random() < 0.25}
    if not sprinkled and web:  # a small corpus: still one (a random one: kinds are shuffled)
        sprinkled.add(web[0])
    order = sorted(range(n), key=lambda i: names[i])
    return [DatasetPlan(j, names[i], kinds[i], int(sizes[i]), i in sprinkled) for j, i in enumerate(order)]


def document_bytes(plan: DatasetPlan, rng: np.random.Generator, floor_bytes: float = 0.0,
                   overhead_bytes: float = 0.0) -> np.ndarray:
    """Log-normal content sizes (bytes) until the documents reach the dataset's target; a
    document takes at least `floor_bytes` (its minimum sentences) plus `overhead_bytes` (its chrome)."""
    spec = plan.spec
    mean = spec.median_bytes * np.exp(spec.sigma ** 2 / 2)
    out, total = [], 0.0
    while total < plan.target_bytes:
        n = int(max(16, (plan.target_bytes - total) / min(mean, plan.max_doc_bytes) * 1.2))
        draw = np.minimum(rng.lognormal(np.log(spec.median_bytes), spec.sigma, n), plan.max_doc_bytes)
        out.append(draw)
        total += (np.maximum(draw, floor_bytes) + overhead_bytes).sum()
    sizes = np.concatenate(out)
    taken = np.cumsum(np.maximum(sizes, floor_bytes) + overhead_bytes)
    return sizes[: int(np.searchsorted(taken, plan.target_bytes)) + 1]
