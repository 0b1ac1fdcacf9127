"""The `fetch` stage: bring every configured source's files into `raw/`.

One task per thing to fetch: a Speakleash dataset (`<name>.manifest` + `<name>.jsonl.zst` into
`raw/speakleash/`), the Wikipedia dump (into `raw/wikipedia/`), or a local source (not copied:
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
        return [{"id": "speakleash/index", "source": "speakleash", "kind": "error", "error": str(e)}]
    tasks = []
    for i, name in enumerate(chosen):
        try:
            speakleash.check_dataset_name(name, where)
        except speakleash.UnsafeNameError as e:
            tasks.append({"id": f"speakleash/refused-{i}", "source": "speakleash", "kind": "error",
                          "error": str(e)})
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
    result = download(data_url, folder / f"{name}.jsonl.zst", expected_size=manifest["file_size"],
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
    }


def _fetch_wikipedia(ctx: StageContext, task: dict) -> dict:
    cfg = ctx.cfg.fetch
    wc = cfg.wikipedia
    retry = Retry.from_config(cfg)
    url, name = wikipedia.dump_url(wc), wikipedia.dump_file_name(wc)
    speakleash.check_dataset_name(name, f"fetch.wikipedia ({url})")  # the same rule for file names
    checksum, checksum_note = None, "not checked (fetch.wikipedia.verify_checksum is off)"
    if wc.verify_checksum:
        sums_url = wikipedia.sha1sums_url(wc)
        try:
            sums = wikipedia.parse_sha1sums(fetch_bytes(sums_url, retry).decode("utf-8", "replace"))
        except NotFoundError:
            checksum_note = f"not published ({sums_url} not found)"
        else:
            sha1 = wikipedia.expected_sha1(sums, name)
            if sha1:
                checksum, checksum_note = ("sha1", sha1), f"sha1 {sha1} from {sums_url}"
            else:
                checksum_note = f"{sums_url} does not list {name}"
    result = download(url, ctx.dir / "wikipedia" / name, checksum=checksum, retry=retry, label=name)
    return {
        "kind": "wikipedia",
        "wiki": wc.wiki,
        "files": [{"path": f"wikipedia/{name}", "bytes": result.bytes, "url": url}],
        "download": result.to_dict(),
        "checksum": checksum_note,
    }


def _fetch_local(ctx: StageContext, task: dict) -> dict:
    src = next(s for s in ctx.cfg.fetch.local if s.name == task["name"])
    root = Path(src.path).resolve()
    return {"kind": "local", "root": str(root), "text_field": src.text_field,
            "inventory": local.inventory(root), "files": []}


def run(ctx: StageContext, task: dict) -> dict:
    """Fetch one source; raises (naming the URL or path) when it cannot be had."""
    kind = task["kind"]
    if kind == "error":
        raise FetchError(task["error"])
    fetcher = {"speakleash": _fetch_speakleash, "wikipedia": _fetch_wikipedia, "local": _fetch_local}
    return {"source": task["source"], **fetcher[kind](ctx, task)}


# --------------------------------------------------------------------------- finish


def finish(ctx: StageContext, records: dict[str, list[dict]]) -> dict:
    """Counts, the sources of this config with their files (what `docs` reads), the outputs."""
    recs = records["fetch"]
    sources = {r["source"]: {k: v for k, v in r.items() if k != "source"} for r in recs}
    files = sorted((f for r in recs for f in r["files"]), key=lambda f: f["path"])
    outputs = [output_entry(ctx.dir, f["path"], ctx.known_outputs) for f in files]
    fetched = [r["download"] for r in recs if "download" in r]
    counts = {
        "sources": len(recs),
        "files": len(files),
        "bytes": sum(o["bytes"] for o in outputs),
        "fetched_bytes": sum(d["fetched_bytes"] for d in fetched),
        "resumed_bytes": sum(d["resumed_from"] for d in fetched),
        "already_there": sum(1 for d in fetched if d["skipped"]),
        "local_files": sum(len(r.get("inventory", [])) for r in recs),
    }
    return {"counts": counts, "sources": dict(sorted(sources.items())), "outputs": outputs}


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
