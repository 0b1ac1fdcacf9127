"""Decide what goes where: base documents per dataset, then every kind of planted noise.

Each choice draws from its own `random.Random(f"{seed}:{purpose}")`, so changing one kind of
noise does not reshuffle the others. Originals of planted duplicates always get the smaller id
(within a dataset they are ordered first; across datasets the copy goes to a dataset whose
name sorts later), so "keep the lowest id of a cluster" keeps the original.
"""

from __future__ import annotations

import random
import re

import ftfy

from .base_pool import BasePool, language_of, name_lines_for_short_docs
from .conflicts import drop_conflicts
from .entries import DATASETS, Entry, sha1_text
from .noise import NEAR_DUP_METHODS, malformed_line, near_duplicate, plant_mojibake
from .source_texts import ManPage
from .text_stats import document_meta, shingles, similar_pairs
from .web_pages import SHORT_REPLIES, SITES, forum_thread, plant_boilerplate
from .wiki_dump import WikiPage, man_sections

WIKI_ARTICLES = 80
MOJIBAKE = {"manpages_pl_1": 14, "manpages_pl_other": 10, "fortunes_pl": 14,
            "forum_crawl_pl": 12, "edu_docs_pl": 1}
MOJIBAKE_ENCODINGS = [("cp1250", 0.4), ("cp1252", 0.25), ("iso-8859-2", 0.2), ("latin-1", 0.15)]
DOUBLE_ENCODED = 6
BOILERPLATE = {"forum_crawl_pl": 32, "fortunes_pl": 4, "manpages_pl_1": 2,
               "manpages_pl_other": 1, "edu_docs_pl": 1}
# (from dataset, to dataset, how many)
EXACT_DUPS = [("manpages_pl_1", "manpages_pl_1", 4), ("manpages_pl_1", "manpages_pl_other", 3),
              ("manpages_pl_other", "manpages_pl_other", 2), ("fortunes_pl", "fortunes_pl", 3),
              ("fortunes_pl", "forum_crawl_pl", 7), ("forum_crawl_pl", "forum_crawl_pl", 5),
              ("edu_docs_pl", "forum_crawl_pl", 1)]
NEAR_DUPS = [("manpages_pl_1", "manpages_pl_1", 4), ("manpages_pl_1", "manpages_pl_other", 2),
             ("manpages_pl_other", "manpages_pl_other", 4), ("fortunes_pl", "fortunes_pl", 4),
             ("fortunes_pl", "forum_crawl_pl", 8), ("forum_crawl_pl", "forum_crawl_pl", 6),
             ("edu_docs_pl", "forum_crawl_pl", 1)]
SHORT_FORTUNES, SHORT_REPLY_DOCS, SHORT_NAME_LINES = 14, 8, 4
SIMILAR_PAIRS = 10
MALFORMED = [("manpages_pl_1", "truncated_json"), ("manpages_pl_other", "not_an_object"),
             ("fortunes_pl", "invalid_utf8"), ("fortunes_pl", "missing_text"),
             ("forum_crawl_pl", "truncated_json"), ("forum_crawl_pl", "invalid_utf8"),
             ("edu_docs_pl", "text_not_string")]
EMPTY = [("manpages_pl_1", ""), ("fortunes_pl", "   \n\t  "), ("forum_crawl_pl", "\n\n")]
EDU_URL = "https://wiki.debian.org/DebianEdu/Documentation/Manuals/Audacity"


class Planner:
    """Builds the entries of every dataset from a `BasePool`."""

    def __init__(self, pool: BasePool, seed: int) -> None:
        self.pool = pool
        self.seed = seed
        self.entries: dict[str, list[Entry]] = {name: [] for name in DATASETS}
        self.wiki_sources: list[ManPage] = []
        self.wiki_foreign: list[ManPage] = []
        self.similar_pairs: list[tuple[Entry, Entry]] = []
        self._thread_no = 1000

    def rng(self, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}:{purpose}")

    # ---- base documents ------------------------------------------------------------------

    def add_base_documents(self) -> None:
        """Man pages, fortune groups, forum threads, manual sections, long documents."""
        rng = self.rng("split")
        eligible = [p for p in self.pool.man_pages
                    if 2000 <= len(p.text) <= 40000 and len(man_sections(p.text)) >= 3]
        self.wiki_sources = sorted(rng.sample(eligible, WIKI_ARTICLES),
                                   key=lambda p: (p.section, p.name))
        wiki = {p.title for p in self.wiki_sources}
        for page in self.pool.man_pages:
            if page.title not in wiki:
                name = "manpages_pl_1" if page.section == "1" else "manpages_pl_other"
                self._add(name, "clean", page.origin, page.text, page.title, page.url)
        self._add_fortune_documents()
        for title, text in self.pool.manual_sections:
            lang = language_of(text)
            kind = "clean" if lang == "pl" else "foreign"
            extra = {} if kind == "clean" else {"lang": lang}
            self._add("edu_docs_pl", kind, "debian-edu-doc-legacy-pl:audacity-manual.html",
                      text, title, EDU_URL, extra=extra)
        self._add_long_documents()

    def _add(self, dataset: str, kind: str, origin: str, text: str | None, title=None, url=None,
             **fields) -> Entry:
        entry = Entry(dataset=dataset, kind=kind, origin=origin, text=text, title=title,
                      url=url, **fields)
        self.entries[dataset].append(entry)
        return entry

    def _group(self, fortunes: list[str], rng: random.Random) -> list[list[str]]:
        groups, current, target = [], [], rng.randint(800, 4000)
        for fortune in fortunes:
            current.append(fortune)
            if sum(len(f) for f in current) >= target:
                groups.append(current)
                current, target = [], rng.randint(800, 4000)
        if current:
            if groups and sum(len(f) for f in current) < 500:
                groups[-1].extend(current)
            else:
                groups.append(current)
        return groups

    def _add_fortune_documents(self) -> None:
        rng = self.rng("fortunes")
        files = sorted(self.pool.fortunes)
        rng.shuffle(files)
        size = {"fortunes_pl": 0, "forum_crawl_pl": 0}
        for name in files:  # balance characters, fortunes_pl slightly larger
            target = min(size, key=lambda d: size[d] * (1.0 if d == "fortunes_pl" else 1.2))
            items = list(self.pool.fortunes[name])
            if target == "fortunes_pl":
                shorts = [f for f in items if 40 <= len(f) < 200]
                for fortune in shorts[:2]:
                    if sum(e.kind == "short" for e in self.entries["fortunes_pl"]) < SHORT_FORTUNES:
                        self._add("fortunes_pl", "short", f"fortunes-pl:{name}", fortune,
                                  f"{name} (krótka)")
                        items.remove(fortune)
            origin = f"fortunes-pl:{name}"
            for k, group in enumerate(self._group(items, rng), 1):
                text = "\n\n".join(group)
                if language_of(text) != "pl":
                    continue  # mostly English quotes: not "clean Polish"
                size[target] += len(text)
                if target == "fortunes_pl":
                    self._add(target, "clean", origin, text, f"{name} #{k}")
                else:
                    self._add(target, "clean", origin, forum_thread(group),
                              *self._thread_title_url(group[0], rng))

    def _thread_title_url(self, first_post: str, rng: random.Random) -> tuple[str, str]:
        words = re.findall(r"[^\W\d_]+", first_post)[:6]
        title = " ".join(words) or "Bez tytułu"
        slug = "-".join(w.lower() for w in words[:4]) or "watek"
        self._thread_no += rng.randint(1, 40)
        site = SITES[self._thread_no % len(SITES)]
        return title, f"https://{site.domain}/watek/{self._thread_no}-{slug}"

    def _add_long_documents(self) -> None:
        pages = self.pool.long_man_pages
        bash, proc, mount = pages["bash(1)"], pages["proc(5)"], pages["mount(8)"]
        for dataset, origin, text, title, url in [
            ("manpages_pl_1", bash.origin, bash.text, bash.title, bash.url),
            ("manpages_pl_other", f"{proc.origin} + {mount.origin}",
             proc.text + "\n\n" + mount.text, "proc(5), mount(8)", proc.url),
            ("fortunes_pl", "fortunes-pl:dowcipy", "\n\n".join(self.pool.long_fortunes),
             "dowcipy (całość)", None),
        ]:
            self._add(dataset, "long", origin, text, title, url, reserved=True,
                      extra={"chars": len(text)})

    # ---- picking -------------------------------------------------------------------------

    def take(self, dataset: str, count: int, rng: random.Random, min_words: int = 0,
             needs_polish_letters: bool = False) -> list[Entry]:
        """`count` unreserved clean entries of `dataset`, reserved for the caller."""
        pool = [e for e in self.entries[dataset]
                if e.kind == "clean" and not e.reserved and e.words >= min_words
                and (not needs_polish_letters or re.search(r"[ąćęłńóśźż]", e.text))]
        if len(pool) < count:
            raise SystemExit(f"{dataset}: need {count} clean documents with ≥{min_words} words, "
                             f"have {len(pool)}; lower the counts in scripts/demo_data/planner.py")
        chosen = rng.sample(pool, count)
        for entry in chosen:
            entry.reserved = True
        return chosen

    # ---- noise ---------------------------------------------------------------------------

    def plant_duplicates(self) -> None:
        """Exact and near copies (plus one 3-copy cluster and one exact+near cluster)."""
        rng = self.rng("duplicates")
        # Near copies first: they need the longer originals (edits must leave Jaccard ≥ 0.85).
        plan = [("near_dup", src, dst, n) for src, dst, n in NEAR_DUPS]
        plan += [("exact_dup", src, dst, n) for src, dst, n in EXACT_DUPS]
        method_no = 0
        for kind, src, dst, n in plan:
            assert src <= dst, "copies go to a dataset whose name sorts later"
            min_words = (60 if kind == "exact_dup" else 200 if src == "edu_docs_pl" else 250)
            for original in self.take(src, n, rng, min_words=min_words):
                if kind == "exact_dup":
                    self._copy(original, dst, rng)
                else:
                    method = ("header_footer" if dst == "forum_crawl_pl" and method_no % 2 == 0
                              else NEAR_DUP_METHODS[method_no % len(NEAR_DUP_METHODS)])
                    method_no += 1
                    self._near_copy(original, dst, method, rng)
        triple = self.take("fortunes_pl", 1, rng, min_words=60)[0]
        self._copy(triple, "fortunes_pl", rng)
        self._copy(triple, "forum_crawl_pl", rng)
        mixed = self.take("manpages_pl_1", 1, rng, min_words=250)[0]
        self._copy(mixed, "manpages_pl_other", rng)
        self._near_copy(mixed, "manpages_pl_1", "word_edits", rng)

    def _copy_place(self, original: Entry, dst: str, rng: random.Random) -> tuple[str, str]:
        if dst == "forum_crawl_pl" and original.dataset != dst:
            return self._thread_title_url(original.text, rng)
        return original.title, original.url

    def _copy(self, original: Entry, dst: str, rng: random.Random) -> None:
        title, url = self._copy_place(original, dst, rng)
        self._add(dst, "exact_dup", original.origin, original.text, title, url,
                  original=original, reserved=True)

    def _near_copy(self, original: Entry, dst: str, method: str, rng: random.Random) -> None:
        text, j, j_ws = near_duplicate(original.text, rng, method)
        title, url = self._copy_place(original, dst, rng)
        self._add(dst, "near_dup", original.origin, text, title, url, original=original,
                  reserved=True, extra={"method": method, "jaccard": j, "jaccard_whitespace": j_ws})

    def plant_mojibake(self) -> None:
        rng = self.rng("mojibake")
        names, weights = zip(*MOJIBAKE_ENCODINGS, strict=True)
        doubles = 0
        for dataset, count in MOJIBAKE.items():
            for entry in self.take(dataset, count, rng, min_words=30, needs_polish_letters=True):
                layers = 1
                if doubles < DOUBLE_ENCODED and rng.random() < 0.25:
                    layers, doubles = 2, doubles + 1
                encoding = (rng.choice(["cp1250", "cp1252"]) if layers == 2
                            else rng.choices(names, weights)[0])
                scope = "document" if layers == 2 or rng.random() < 0.6 else "paragraph"
                garbled, scope = plant_mojibake(entry.text, rng, encoding, scope, layers)
                entry.extra = {"encoding": encoding, "layers": layers, "scope": scope,
                               "original_sha1": sha1_text(entry.text),
                               "ftfy_fix_encoding_restores":
                                   ftfy.fix_encoding(garbled) == entry.text}
                entry.kind, entry.source_text, entry.text = "mojibake", entry.text, garbled

    def plant_boilerplate(self) -> None:
        rng = self.rng("boilerplate")
        for dataset, count in BOILERPLATE.items():
            titles = sorted({e.title for e in self.entries[dataset] if e.title})
            # Pages of one site share their chrome: long enough bodies keep them below J 0.5.
            min_words = 150 if dataset == "forum_crawl_pl" else 60
            for entry in self.take(dataset, count, rng, min_words=min_words):
                site = next((s for s in SITES if entry.url and s.domain in entry.url),
                            rng.choice(SITES))
                text, planted = plant_boilerplate(entry.text, rng, site, entry.title or "",
                                                  [t for t in titles if t != entry.title])
                entry.extra = {"boilerplate_lines": planted, "site": site.domain,
                               "original_sha1": sha1_text(entry.text)}
                entry.kind, entry.source_text, entry.text = "boilerplate", entry.text, text

    def plant_foreign(self) -> None:
        """Foreign man pages: section 1 into manpages_pl_1, others into manpages_pl_other,
        three into the wiki dump, the rest into forum_crawl_pl."""
        rng = self.rng("foreign")
        pages = list(self.pool.foreign_pages)
        rng.shuffle(pages)
        ones = [p for p in pages if p.section == "1"]
        others = [p for p in pages if p.section != "1"]
        placed = [(p, "manpages_pl_1") for p in ones[:14]]
        placed += [(p, "manpages_pl_other") for p in others[:10]]
        rest = ones[14:] + others[10:]
        self.wiki_foreign = rest[:3]
        for page in rest[3:]:
            placed.append((page, "forum_crawl_pl"))
        for page, dataset in placed:
            url = page.url
            if dataset == "forum_crawl_pl":
                _, url = self._thread_title_url(page.text, rng)
            self._add(dataset, "foreign", page.origin, page.text, page.title, url,
                      extra={"lang": page.lang}, reserved=True)

    def plant_short_and_empty(self) -> None:
        rng = self.rng("short")
        lines = name_lines_for_short_docs(self.pool.dropped_man_pages, 2 * SHORT_NAME_LINES)
        for i, (page, line) in enumerate(lines):
            dataset = "manpages_pl_1" if i % 2 == 0 else "manpages_pl_other"
            self._add(dataset, "short", page.origin, line, page.title, page.url, reserved=True)
        for reply in rng.sample(SHORT_REPLIES, SHORT_REPLY_DOCS):
            self._add("forum_crawl_pl", "short", "synthetic:forum-reply", reply,
                      *self._thread_title_url(reply, rng), reserved=True)
        for dataset, text in EMPTY:
            self._add(dataset, "empty", "synthetic:empty", text, reserved=True)

    def plant_malformed(self) -> None:
        rng = self.rng("malformed")
        for dataset, problem in MALFORMED:
            if problem == "text_not_string":
                text, origin = "", "synthetic:malformed"
            else:
                source = self.take(dataset, 1, rng, min_words=30)[0]
                self.entries[dataset].remove(source)
                text, origin = source.text, source.origin
            meta = document_meta(text, lang="pl")
            self._add(dataset, "malformed", origin, None, raw=malformed_line(problem, text, meta),
                      extra={"problem": problem}, reserved=True)

    def mark_similar_pairs(self) -> None:
        """Label up to SIMILAR_PAIRS natural "same template, different content" pairs:
        clean documents with 0.3 ≤ Jaccard < 0.5 (e.g. coreutils pages from one generator)."""
        clean = [e for d in sorted(self.entries) for e in self.entries[d]
                 if e.kind == "clean" and not e.reserved]
        sets = [shingles(e.text) for e in clean]
        ws_sets = [shingles(e.text, whitespace_tokens=True) for e in clean]
        ws_close = {(i, j): v for i, j, v in similar_pairs(ws_sets, 0.3)}
        pairs = [(v, i, j) for i, j, v in similar_pairs(sets, 0.3)
                 if v < 0.5 and ws_close.get((i, j), 0.0) < 0.5]
        used: set[int] = set()
        for v, i, j in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
            if len(self.similar_pairs) == SIMILAR_PAIRS:
                break
            if i in used or j in used:
                continue
            used.update((i, j))
            clean[i].reserved = clean[j].reserved = True
            clean[j].extra["jaccard"] = round(v, 4)
            self.similar_pairs.append((clean[i], clean[j]))

    # ---- order and ids -------------------------------------------------------------------

    def assign_ids(self) -> None:
        """Shuffle each dataset, put originals before their copies, number the lines."""
        for dataset in sorted(self.entries):
            rng = self.rng(f"order:{dataset}")
            lines = self.entries[dataset]
            rng.shuffle(lines)
            changed = True
            while changed:
                changed = False
                pos = {id(e): i for i, e in enumerate(lines)}
                for e in lines:
                    o = e.original
                    if o is not None and o.dataset == dataset and pos[id(o)] > pos[id(e)]:
                        i, j = pos[id(e)], pos[id(o)]
                        lines[i], lines[j] = lines[j], lines[i]
                        changed = True
                        break
            for n, entry in enumerate(lines, 1):
                entry.id = f"speakleash.{dataset}/{n:09d}"
        for a, b in self.similar_pairs:
            first, second = sorted((a, b), key=lambda e: e.id)
            jaccard = b.extra.pop("jaccard")
            second.similar = first
            second.extra["similar_jaccard"] = jaccard

    def compute_meta(self) -> None:
        """Speakleash meta (with langdetect's `lang` and the quality rule) for every document."""
        for dataset in sorted(self.entries):
            for entry in self.entries[dataset]:
                if entry.text is not None:
                    entry.meta = document_meta(entry.text, entry.title, entry.url,
                                               lang=language_of(entry.text))

    def build(self) -> list[WikiPage]:
        """All steps, in the order that keeps every choice independent of later ones;
        returns the wiki pages."""
        self.add_base_documents()
        self.plant_foreign()
        self.plant_short_and_empty()
        self.plant_malformed()
        self.plant_duplicates()
        self.plant_mojibake()
        self.plant_boilerplate()
        pages = drop_conflicts(self)
        self.mark_similar_pairs()
        self.assign_ids()
        self.compute_meta()
        return pages
