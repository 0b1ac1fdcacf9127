"""The multistream Wikipedia dump: its index, byte ranges read on their own, and a docs stage
whose parts are byte-identical to one task parsing the plain dump of the same pages.

The multistream files here are made by this test's own code from the plain dump's XML (split
at `<page>` lines), not by `wiki_streams.write_multistream`, so a shared mistake of the
library's reader and writer cannot hide.
"""

from __future__ import annotations

import bz2
import hashlib
import itertools
from pathlib import Path

import pytest
from config_sections import sections
from source_fixtures import page_xml, write_wiki_dump

from corpus.sources import docs as docs_phases
from corpus.sources import wiki_parts, wiki_streams, wikipedia
from corpus.sources.config import WikipediaConfig
from corpus.sources.records import PartWriter, ReadLog
from corpus.sources.stage import DOCS, FETCH
from kuznia.driver import run_stage
from kuznia.parts import list_parts
from kuznia.stage import TASKS, StageError

DATE = "20240101"
PLAIN = f"plwiki-{DATE}-pages-articles.xml.bz2"
MULTI = f"plwiki-{DATE}-pages-articles-multistream.xml.bz2"
INDEX = f"plwiki-{DATE}-pages-articles-multistream-index.txt.bz2"


def wiki_pages(n_articles: int = 40) -> list[str]:
    """Articles of varied length, redirects, other namespaces and an empty article."""
    pages = []
    for i in range(n_articles):
        body = " ".join(f"Zdanie {j} artykułu {i} o [[Kraków|Krakowie]] i ''Wiśle''." for j in range(3 + i % 9))
        pages.append(page_xml(100 + 3 * i, f"Artykuł {i}", 0, f"{{{{Infobox|x={i}}}}}\n'''A{i}''' – {body}"))
        if i % 7 == 0:
            pages.append(page_xml(101 + 3 * i, f"Przekierowanie {i}", 0, f"#PATRZ [[Artykuł {i}]]",
                                  redirect=f"Artykuł {i}"))
        if i % 11 == 0:
            pages.append(page_xml(102 + 3 * i, f"Kategoria:K{i}", 14, "kategoria"))
    pages.insert(5, page_xml(99, "Pusty", 0, "{{Szablon tylko}}"))  # empty once rendered
    return pages


def split_streams(xml: bytes, per_stream: int, header_alone: bool = True) -> tuple[bytes, bytes]:
    """The multistream dump and index of a plain export, made independently of the library."""
    lines = xml.split(b"\n")
    page_at = [i for i, line in enumerate(lines) if line == b"  <page>"]
    end = max(i for i, line in enumerate(lines) if line == b"  </page>") + 1
    pages = [b"\n".join(lines[a:b]) + b"\n" for a, b in zip(page_at, [*page_at[1:], end])]
    head = b"\n".join(lines[: page_at[0]]) + b"\n"
    groups = [pages[i:i + per_stream] for i in range(0, len(pages), per_stream)]
    streams = [bz2.compress(head)] if header_alone else []
    index, offset = [], len(streams[0]) if header_alone else 0
    for g, group in enumerate(groups):
        data = (b"" if header_alone or g else head) + b"".join(group)
        for page in group:
            page_id = page.split(b"<id>")[1].split(b"</id>")[0]
            title = page.split(b"<title>")[1].split(b"</title>")[0]
            index.append(b"%d:%s:%s\n" % (offset, page_id, title))
        streams.append(bz2.compress(data))
        offset += len(streams[-1])
    streams.append(bz2.compress(b"\n".join(lines[end:])))
    return b"".join(streams), bz2.compress(b"".join(index))


def write_mirror(root: Path, pages: list[str], per_stream: int = 3, header_alone: bool = True) -> Path:
    """A dump folder with the plain dump, the multistream pair, and a sha1sums list of all three."""
    plain = write_wiki_dump(root, pages)
    dump, index = split_streams(bz2.decompress(plain.read_bytes()), per_stream, header_alone)
    (plain.parent / MULTI).write_bytes(dump)
    (plain.parent / INDEX).write_bytes(index)
    sums = "".join(f"{hashlib.sha1((plain.parent / n).read_bytes()).hexdigest()}  {n}\n"
                   for n in sorted([PLAIN, MULTI, INDEX]))
    (plain.parent / f"plwiki-{DATE}-sha1sums.txt").write_text(sums, "utf-8")
    return plain.parent


def item_key(item):
    return (type(item).__name__, getattr(item, "id", None), getattr(item, "text", None),
            getattr(item, "meta", None), getattr(item, "location", None), getattr(item, "reason", None))


def range_items(folder: Path, range_bytes: int) -> tuple[list, int]:
    dump = folder / MULTI
    streams = wiki_streams.read_index(folder / INDEX)
    ranges = wiki_streams.plan_ranges(streams, dump.stat().st_size, range_bytes)
    task = {"file_bytes": dump.stat().st_size}
    items = [item_key(i) for r in ranges for i in wikipedia.iter_range_docs(dump, {**task, **r})]
    return items, len(ranges)


@pytest.mark.parametrize("header_alone", [True, False])
def test_every_split_reads_the_same_items_as_the_plain_dump(tmp_path, header_alone):
    folder = write_mirror(tmp_path, wiki_pages(), header_alone=header_alone)
    plain = [item_key(i) for i in wikipedia.iter_docs(folder / PLAIN)]
    assert sum(1 for i in plain if i[0] == "Doc") == 41 and len(plain) == 51
    for range_bytes, n_ranges in ((1, 17), (1500, None), (10**9, 1)):
        items, n = range_items(folder, range_bytes)
        assert items == plain  # ids, text, meta and "page N (title)" locations
        assert n_ranges is None or n == n_ranges


def test_index_streams_and_ranges(tmp_path, monkeypatch):
    folder = write_mirror(tmp_path, wiki_pages(), per_stream=5)
    monkeypatch.setattr(wiki_streams, "INDEX_BLOCK_BYTES", 7)  # streams straddle read blocks
    streams = wiki_streams.read_index(folder / INDEX)
    assert streams.pages.tolist() == [5] * 10 + [1]
    size = (folder / MULTI).stat().st_size
    ranges = wiki_streams.plan_ranges(streams, size, 2000)
    assert ranges[0]["start"] == 0 and ranges[-1]["end"] == size
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(ranges))
    assert [r["first_page"] for r in ranges] == [1 + sum(r["pages"] for r in ranges[:i]) for i in range(len(ranges))]
    assert sum(r["pages"] for r in ranges) == 51 and 1 < len(ranges) < 11


def test_an_index_that_is_not_the_dumps_is_refused_with_where(tmp_path):
    folder = write_mirror(tmp_path, wiki_pages())
    (tmp_path / "bad.bz2").write_bytes(bz2.compress(b"10:1:A\nx:2:B\n"))
    with pytest.raises(wiki_streams.StreamIndexError, match=r"bad.bz2: line 2 is not `offset:page_id:title`"):
        wiki_streams.read_index(tmp_path / "bad.bz2")
    streams = wiki_streams.read_index(folder / INDEX)
    with pytest.raises(wiki_streams.StreamIndexError, match="not this dump's index"):
        wiki_streams.plan_ranges(streams, 100, 1)
    dump = folder / MULTI
    r = wiki_streams.plan_ranges(streams, dump.stat().st_size, 1)[2]
    wrong = {**r, "pages": r["pages"] + 1, "file_bytes": dump.stat().st_size}
    with pytest.raises(wiki_streams.StreamIndexError, match="the index lists 4 pages there, the dump holds 3"):
        list(wikipedia.iter_range_docs(dump, wrong))
    cut = {**r, "end": r["end"] - 5, "file_bytes": dump.stat().st_size}
    with pytest.raises(EOFError, match="end inside a bz2 stream"):
        list(wikipedia.iter_range_docs(dump, cut))


def test_dump_names_layouts_and_checksums():
    dated = WikipediaConfig(base_url="http://127.0.0.1:9/d", dump_date=DATE)
    sums = {PLAIN: "a" * 40, MULTI: "b" * 40, INDEX: "c" * 40}
    assert wikipedia.choose_layout(dated, sums) == "multistream"
    assert wikipedia.choose_layout(dated, {PLAIN: "a" * 40, MULTI: "b" * 40}) == "plain"  # no index
    assert wikipedia.choose_layout(dated, None) == "plain"
    assert wikipedia.choose_layout(dated.model_copy(update={"dump": "plain"}), sums) == "plain"
    assert wikipedia.dump_files(dated, "multistream") == [MULTI, INDEX]
    assert wikipedia.file_url(dated, INDEX) == f"http://127.0.0.1:9/d/plwiki/{DATE}/{INDEX}"
    latest = WikipediaConfig()  # `latest` lists dated names: matched by wiki and kind
    names = wikipedia.dump_files(latest, "multistream")
    assert [wikipedia.expected_sha1(sums, n) for n in names] == ["b" * 40, "c" * 40]
    own = WikipediaConfig(url=f"file:///m/{MULTI}")
    assert wikipedia.choose_layout(own, None) == "multistream" and wikipedia.dump_files(own, "multistream")[1] == INDEX


# --------------------------------------------------------------------------- the stages


def run_docs(folder: Path, work: Path, *, dump: str, task_bytes: int = 1, part_bytes: int = 1024, **docs):
    cfg = sections(fetch={"speakleash": {"enabled": False},
                          "wikipedia": {"base_url": str(folder.parents[1]), "dump_date": DATE, "dump": dump}},
                   docs={"part_bytes": part_bytes, "wiki_task_bytes": task_bytes, **docs})
    logs: list[str] = []
    run_stage(FETCH, cfg, work, log=logs.append)
    return run_stage(DOCS, cfg, work, log=logs.append), cfg, logs


def parts_of(work: Path) -> dict[str, bytes]:
    d = work / "docs"
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in list_parts(d)}


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("wiki")
    folder = write_mirror(root / "mirror", wiki_pages())
    res, _, _ = run_docs(folder, root / "plain", dump="plain")
    return folder, root, res.manifest


def test_docs_from_the_multistream_dump_equal_the_single_task_parse(plain_run):
    folder, root, plain = plain_run
    assert len(plain["parts"]["wikipedia"]) >= 8
    assert plain["errors"][0]["location"] == "page 6 (Pusty)"
    for task_bytes in (1, 700, 10**9):
        work = root / f"multi-{task_bytes}"
        res, _, _ = run_docs(folder, work, dump="auto", task_bytes=task_bytes)
        m = res.manifest
        fetched = (work / "raw/_manifest.json").read_text()
        assert '"layout": "multistream"' in fetched
        assert parts_of(work) == parts_of(root / "plain")
        for key in ("parts", "counts", "errors", "errors_not_listed", "content", "outputs"):
            assert m[key] == plain[key], key  # the same content: nothing downstream re-runs
        n_ranges = len(list((work / "docs" / TASKS / "parse").glob("*.json")))
        assert n_ranges == {1: 17, 10**9: 1}.get(task_bytes, n_ranges) and (task_bytes != 700 or n_ranges > 2)


def test_parts_are_what_one_part_writer_over_the_plain_dump_writes(plain_run, tmp_path):
    """The single-task parse as it was before pieces: `PartWriter` fed the dump's items."""
    folder, root, plain = plain_run
    stats = ReadLog("wikipedia")
    writer = PartWriter(tmp_path / "wikipedia", "wikipedia", part_bytes=1024, max_doc_chars=10_000_000, stats=stats)
    docs_phases._write(wikipedia.iter_docs(folder / PLAIN), writer, stats, None)
    direct = {f"wikipedia/{p.name}": p.read_bytes() for p in sorted((tmp_path / "wikipedia").glob("*.parquet"))}
    assert direct == parts_of(root / "plain")
    assert plain["counts"]["sources"]["wikipedia"] == dict(stats.counts)


def test_switching_dumps_in_one_work_dir_keeps_the_same_parts(plain_run, tmp_path):
    folder, root, plain = plain_run
    work = tmp_path / "w"
    for dump in ("plain", "multistream", "plain", "multistream"):
        m = run_docs(folder, work, dump=dump)[0].manifest
        assert parts_of(work) == parts_of(root / "plain") and m["content"] == plain["content"], dump


def test_an_interrupted_run_redoes_only_the_missing_range(plain_run, tmp_path):
    folder, _, _ = plain_run
    work = tmp_path / "w"
    _, cfg, _ = run_docs(folder, work, dump="multistream")
    first = parts_of(work)
    markers = sorted((work / "docs" / TASKS / "parse").glob("*.json"))
    markers[3].unlink()  # as if killed while parsing range 3
    (work / "docs" / "_manifest.json").unlink()
    logs: list[str] = []
    run_stage(DOCS, cfg, work, log=logs.append)
    assert "parse: reusing 16 finished task(s) of 17" in "\n".join(logs)
    assert parts_of(work) == first


def test_a_broken_multistream_dump_fails_the_source(plain_run, tmp_path):
    folder, _, _ = plain_run
    work = tmp_path / "w"
    _, cfg, _ = run_docs(folder, work, dump="multistream")
    dump = work / "raw" / "wikipedia" / MULTI
    data = bytearray(dump.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = b"\0" * 64
    dump.write_bytes(bytes(data))
    m = run_stage(DOCS, cfg, work, force=True, log=lambda _: None).manifest
    assert list(m["failed"]) == ["wikipedia"] and m["counts"]["failed_sources"] == 1
    assert not (work / "docs" / "wikipedia").exists() and "wikipedia" not in m["parts"]
    strict = {**cfg, "docs": cfg["docs"].model_copy(update={"on_error": "fail"})}
    with pytest.raises(StageError, match="wikipedia#000"):
        run_stage(DOCS, strict, work, force=True, log=lambda _: None)
    (work / "raw" / "wikipedia" / INDEX).write_bytes(bz2.compress(b"0:1:A\nnot an index line\n"))
    m = run_stage(DOCS, cfg, work, force=True, log=lambda _: None).manifest
    assert "line 2 is not `offset:page_id:title`" in m["failed"]["wikipedia"]


def test_pack_cuts_parts_as_the_part_writer_does():
    import numpy as np

    sizes = np.array([600, 600, 100, 2000, 1, 1, 1023, 5])
    assert wiki_parts.cut_parts(sizes, 1024) == [(0, 2), (2, 4), (4, 7), (7, 8)]
    assert wiki_parts.cut_parts(np.zeros(0, np.int64), 1024) == []


def test_fetch_takes_the_multistream_pair_over_http_and_checks_both(mirror, tmp_path):
    folder = write_mirror(mirror.root / "wikipedia", wiki_pages())
    cfg = sections(fetch={"speakleash": {"enabled": False}, "retries": 1, "backoff_s": 0.01,
                          "wikipedia": {"base_url": mirror.url("wikipedia"), "dump_date": DATE}})
    m = run_stage(FETCH, cfg, tmp_path / "w", log=lambda _: None).manifest
    rec = m["sources"]["wikipedia"]
    assert (rec["layout"], rec["index"]) == ("multistream", f"wikipedia/{INDEX}")
    assert rec["checksum"].startswith("sha1 ") and rec["index_checksum"].startswith("sha1 ")
    assert [f["path"] for f in rec["files"]] == [f"wikipedia/{MULTI}", f"wikipedia/{INDEX}"]
    assert m["counts"]["fetched_bytes"] == sum((folder / n).stat().st_size for n in (MULTI, INDEX))
    assert not (tmp_path / "w/raw/wikipedia" / PLAIN).exists()
    sums = folder / f"plwiki-{DATE}-sha1sums.txt"
    sums.write_text(sums.read_text().replace(hashlib.sha1((folder / INDEX).read_bytes()).hexdigest(), "0" * 40))
    with pytest.raises(StageError, match=f"{INDEX}.*sha1"):
        run_stage(FETCH, cfg, tmp_path / "w2", log=lambda _: None)


def test_the_demo_mirror_multistream_pair_holds_the_plain_dumps_pages():
    folder = Path(__file__).resolve().parents[3] / "data/demo/wikipedia/plwiki" / DATE
    sums = wikipedia.parse_sha1sums((folder / f"plwiki-{DATE}-sha1sums.txt").read_text("utf-8"))
    assert {n: hashlib.sha1((folder / n).read_bytes()).hexdigest() for n in (PLAIN, MULTI, INDEX)} == sums
    assert bz2.decompress((folder / MULTI).read_bytes()) == bz2.decompress((folder / PLAIN).read_bytes())
    plain = [item_key(i) for i in wikipedia.iter_docs(folder / PLAIN)]
    items, n = range_items(folder, 1)
    assert items == plain and n == 2 and len(plain) == 107  # streams of 100 pages, as Wikimedia cuts them
