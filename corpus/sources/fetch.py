"""The `fetch` stage: bring every configured source's files into `raw/`.

One task per thing to fetch: a Speakleash dataset (`<name>.manifest` + `<name>.jsonl.zst` into
`raw/speakleash/`), the Wikipedia dump (into `raw/wikipedia/`: the multistream dump and its
index when the dump's sha1sums list names them, else the plain one), or a local source (not copied:
its file list, sizes and modification times are recorded). A source that cannot be had fails
its own task with a message naming the URL; the other tasks finish and are kept, so a re-run
fetches only what is missing. A Speakleash index that cannot be read, or a name in it that is
not a safe file name, becomes a task that fails with that message (the rest still runs).

The stage keeps `raw/` when its config changes (`keep_outputs=True`): selecting one more
dataset must not download 285 GB again. Files already there are verified and skipped, and
only the sources of the current config are listed in the manifest, which is what `docs` reads.
"""

from __future__ import annotations

from pathlib import Path

from corpus.sources import local, speakleash, wikipedia
from corpus.sources.download import (
    DownloadError,
    NotFoundError,
    Retry,
    download,
    fetch_bytes,
    join_url,
)
from kuznia.files import atomic_path
from kuznia.manifest import output_entry
from kuznia.stage import StageConfig, StageContext


class FetchError(RuntimeError):
    """A source that cannot be fetched as configured; the message says what and where."""


# --------------------------------------------------------------------------- plan


def _plan_speakleash(cfg) -> list[dict]:
    sl = cfg.speakleash
    base = speakleash.base_url(sl)
    where = f"the Speakleash index {speakleash.index_url(base)}"
    try:
        listed = speakleash.read_index(base, Retry.from_config(cfg))
        chosen = speakleash.select_datasets(listed, sl.datasets, sl.exclude, where)
    except (DownloadError, speakleash.IndexProblem) as e:
        return [{"id": "speakleash/index", "source": "speakleash index", "kind": "error", "error": str(e)}]
    tasks = []
    for name in chosen:
        try:
            speakleash.check_dataset_name(name, where)
        except speakleash.UnsafeNameError as e:
            i = listed.index(name)  # never a path: the entry is named by its place in the index
            tasks.append({"id": f"speakleash/refused-{i}", "source": f"speakleash index entry {i}",
                          "kind": "error", "error": str(e)})
            continue
        tasks.append({"id": f"speakleash.{name}", "source": f"speakleash.{name}",
                      "kind": "speakleash", "dataset": name, "base_url": base})
    return tasks


def plan(ctx: StageContext) -> list[dict]:
    """One task per Speakleash dataset, one for the Wikipedia dump, one per local source."""
    cfg = ctx.cfg.fetch
    tasks = _plan_speakleash(cfg) if cfg.speakleash.enabled else []
    if cfg.wikipedia.enabled:
        tasks.append({"id": "wikipedia", "source": "wikipedia", "kind": "wikipedia"})
    for src in cfg.local:
        name = local.source_name(src)
        tasks.append({"id": name, "source": name, "kind": "local", "name": src.name})
    return tasks


# --------------------------------------------------------------------------- run


def _fetch_speakleash(ctx: StageContext, task: dict) -> dict:
    retry = Retry.from_config(ctx.cfg.fetch)
    name, base = task["dataset"], task["base_url"]
    folder = ctx.dir / "speakleash"
    manifest_url = join_url(base, f"{name}.manifest")
    manifest_bytes = fetch_bytes(manifest_url, retry)
    manifest = speakleash.parse_manifest(manifest_bytes, manifest_url)
    data_url = join_url(base, f"{name}.jsonl.zst")
    trust = ctx.cfg.fetch.trust_size
    result = download(data_url, folder / f"{name}.jsonl.zst", expected_size=manifest["file_size"] if trust else None,
                      retry=retry, label=name)
    # The manifest goes in after the data it describes, so a manifest in raw/ means both are there.
    with atomic_path(folder / f"{name}.manifest") as tmp:
        tmp.write_bytes(manifest_bytes)
    return {
        "kind": "speakleash",
        "dataset": name,
        "files": [
            {"path": f"speakleash/{name}.jsonl.zst", "bytes": result.bytes, "url": data_url},
            {"path": f"speakleash/{name}.manifest", "bytes": len(manifest_bytes), "url": manifest_url},
        ],
        "download": result.to_dict(),
        "documents_published": speakleash.manifest_documents(manifest),
        **({} if result.bytes == manifest["file_size"] else
           {"size_disagrees": f"the manifest says {manifest['file_size']} bytes, the file has {result.bytes} "
                              "(accepted: fetch.trust_size is false)"}),
    }


def _wiki_sha1sums(wc, retry: Retry) -> tuple[dict | None, str]:
    """The dump's published sha1 list (None when it is not, or not needed) and its URL, or why
    there is none. `dump: auto` reads it even unchecked: it says whether the multistream pair is there."""
    if not wc.verify_checksum and (wc.dump != "auto" or wc.url):
        return None, "not checked (fetch.wikipedia.verify_checksum is off)"
    sums_url = wikipedia.sha1sums_url(wc)
    try:
        return wikipedia.parse_sha1sums(fetch_bytes(sums_url, retry).decode("utf-8", "replace")), sums_url
    except NotFoundError:
        return None, f"not published ({sums_url} not found)"


def _wiki_checksum(wc, sums: dict | None, sums_from: str, name: str) -> tuple[tuple | None, str]:
    if not wc.verify_checksum:
        return None, "not checked (fetch.wikipedia.verify_checksum is off)"
    if sums is None:
        return None, sums_from
    sha1 = wikipedia.expected_sha1(sums, name)
    return (("sha1", sha1), f"sha1 {sha1} from {sums_from}") if sha1 else (None, f"{sums_from} does not list {name}")


def _fetch_wikipedia(ctx: StageContext, task: dict) -> dict:
    """The dump (plain, or multistream with its index: `fetch.wikipedia.dump`), sha1 checked."""
    cfg = ctx.cfg.fetch
    wc = cfg.wikipedia
    retry = Retry.from_config(cfg)
    sums, sums_from = _wiki_sha1sums(wc, retry)
    layout = wikipedia.choose_layout(wc, sums)
    files, downloads, notes = [], [], []
    for name in wikipedia.dump_files(wc, layout):
        url = wikipedia.file_url(wc, name)
        speakleash.check_dataset_name(name, f"fetch.wikipedia ({url})")  # the same rule for file names
        checksum, note = _wiki_checksum(wc, sums, sums_from, name)
        result = download(url, ctx.dir / "wikipedia" / name, checksum=checksum, retry=retry, label=name)
        files.append({"path": f"wikipedia/{name}", "bytes": result.bytes, "url": url})
        downloads.append(result.to_dict())
        notes.append(note)
    rec = {"kind": "wikipedia", "wiki": wc.wiki, "layout": layout, "files": files, "download": downloads[0],
           "checksum": notes[0]}
    if layout == wikipedia.MULTISTREAM:  # what docs splits the dump by
        rec.update(index=files[1]["path"], index_download=downloads[1], index_checksum=notes[1])
    return rec


def _fetch_local(ctx: StageContext, task: dict) -> dict:
    src = next(s for s in ctx.cfg.fetch.local if s.name == task["name"])
    root = Path(src.path).resolve()
    return {"kind": "local", "root": str(root), "text_field": src.text_field,
            "inventory": local.inventory(root), "files": []}


def skip_failures(cfg) -> bool:
    """`fetch.on_error`, resolved: skip a failed source by default when fetching every dataset."""
    if cfg.on_error is not None:
        return cfg.on_error == "skip"
    return cfg.speakleash.enabled and cfg.speakleash.datasets == "all"


def run(ctx: StageContext, task: dict) -> dict:
    """Fetch one source. One that cannot be had raises (naming the URL or path) or, with
    `fetch.on_error: skip`, comes back as a failed source with its reason."""
    fetcher = {"speakleash": _fetch_speakleash, "wikipedia": _fetch_wikipedia, "local": _fetch_local}
    try:
        if task["kind"] == "error":
            raise FetchError(task["error"])
        return {"source": task["source"], **fetcher[task["kind"]](ctx, task)}
    except (DownloadError, FetchError, speakleash.IndexProblem, speakleash.UnsafeNameError) as e:
        if not skip_failures(ctx.cfg.fetch):
            raise
        return {"source": task["source"], "kind": task["kind"], "failed": str(e), "files": []}


# --------------------------------------------------------------------------- finish


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    """Counts, the sources of this config with their files (what `docs` reads), the outputs."""
    failed = {r["source"]: r["failed"] for r in records["fetch"] if "failed" in r}
    recs = [r for r in records["fetch"] if "failed" not in r]
    sources = {r["source"]: {k: v for k, v in r.items() if k != "source"} for r in recs}
    files = sorted((f for r in recs for f in r["files"]), key=lambda f: f["path"])
    outputs = [output_entry(ctx.dir, f["path"], ctx.known_outputs) for f in files]
    fetched = [d for r in recs for d in (r.get("download"), r.get("index_download")) if d]
    counts = {
        "sources": len(recs),
        "files": len(files),
        "bytes": sum(o["bytes"] for o in outputs),
        "fetched_bytes": sum(d["fetched_bytes"] for d in fetched),
        "resumed_bytes": sum(d["resumed_from"] for d in fetched),
        "already_there": sum(1 for d in fetched if d["skipped"]),
        "local_files": sum(len(r.get("inventory", [])) for r in recs),
        "failed_sources": len(failed),
    }
    return {"counts": counts, "sources": dict(sorted(sources.items())), "failed": dict(sorted(failed.items())),
            "outputs": outputs}


def io_workers(cfg: StageConfig) -> int:
    """Downloads wait on the network, not the CPU: `fetch.concurrency` threads run them."""
    return cfg.fetch.concurrency


def local_inputs(cfg: StageConfig) -> dict:
    """The local sources' file inventories (path, size, mtime): editing a file re-runs fetch."""
    out = {}
    for src in cfg.fetch.local:
        root = Path(src.path)
        out[src.name] = local.inventory(root) if root.exists() else None
    return out
