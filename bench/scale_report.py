"""The scale benchmark's numbers: per-stage rows from the manifests, the task markers and the
monitor's samples; the tables; the 285 GB forecast (see bench/scale.py for the model)."""

from __future__ import annotations

import calendar
import json
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from kuznia import registry
from kuznia.parts import list_parts
from kuznia.stage import MANIFEST, TASKS
from scale_monitor import Monitor, folder_bytes

FULL_BYTES = 285e9  # APT3's 285 GB of text
ORDER = ["fetch", "docs", "clean", "quality", "dedup", "corpus", "tokenizer", "tokens"]
FIXED = {"tokenizer"}  # trains on a fixed-size sample: its cost does not grow with the corpus
TARGET_E2E = 1.8  # MB/s per core, fetch through tokens


def text_bytes(wd: Path) -> int:
    """UTF-8 bytes of the documents the docs stage read: its character count times the bytes
    per character of the corpus parts (the docs parts may have been removed)."""
    chars = json.loads((wd / "docs" / MANIFEST).read_text())["counts"]["characters"]
    n_chars = n_bytes = 0
    for p in list_parts(wd / "corpus")[:8]:
        col = pq.read_table(p, columns=["text"]).column("text")
        n_chars += pc.sum(pc.utf8_length(col)).as_py() or 0
        n_bytes += pc.sum(pc.binary_length(col)).as_py() or 0
    return round(chars * (n_bytes / n_chars if n_chars else 1.0))


def shard_bytes(wd: Path) -> int:
    """Bytes of the token shards alone (`tokens/train`, `tokens/val`; not the encode work files)."""
    outs = json.loads((wd / "tokens" / MANIFEST).read_text())["outputs"]
    return sum(o["bytes"] for o in outs if o["path"].split("/")[0] in ("train", "val"))


def _phases(stage_dir: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for d in sorted((stage_dir / TASKS).glob("*")):
        ms = [json.loads(p.read_text()) for p in d.glob("*.json")]
        out[d.name] = {"tasks": len(ms), "task_s": sum(m.get("seconds", 0) for m in ms),
                       "rss": max((m.get("usage", {}).get("rss_peak_bytes", 0) for m in ms), default=0)}
    return out


def stage_rows(wd: Path, mon: Monitor, workers: int, n_text: int) -> list[dict]:
    rows = []
    end_disk = folder_bytes(wd)
    for name in ORDER:
        folder = registry.folder(name)
        mpath = wd / folder / MANIFEST
        if not mpath.exists():
            continue
        m = json.loads(mpath.read_text())
        wall = m["timings"]["total"]
        t1 = calendar.timegm(time.strptime(m["finished"], "%Y-%m-%dT%H:%M:%SZ")) + 1
        t0 = t1 - wall - 2
        win = mon.window(t0, t1)
        before = [s for s in mon.samples if s.t < t0][-1:] or win[:1]
        cpu = (win[-1].tree_cpu_s - before[0].tree_cpu_s) if win else 0.0
        phases = _phases(wd / folder)
        ideal = sum(p["task_s"] / max(1, min(workers, p["tasks"])) for p in phases.values())
        disks = [sum(s.disk.values()) for s in win if s.disk]
        rows.append({
            "stage": name, "wall_s": wall, "cpu_s": cpu,
            "mb_s_core": n_text / 1e6 / cpu if cpu > 0 else 0.0,
            "main_rss": max((s.main_rss for s in win), default=0),
            "worker_rss": max([s.worker_rss for s in win] + [p["rss"] for p in phases.values()]),
            "bytes_end": end_disk.get(folder, 0), "disk_peak": max(disks, default=0),
            "tasks": sum(p["tasks"] for p in phases.values()),
            "overhead": max(0.0, 1 - ideal / wall) if wall > 0 else 0.0, "ideal_s": ideal, "phases": phases,
        })
    return rows


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f}"


def print_tables(results: list[dict]) -> None:
    for r in results:
        print(f"\n{r['gb']:g} GB corpus: {r['text_bytes'] / 1e9:.2f} GB of text, {r['workers']} workers, "
              f"wall {r['wall_s']:.0f} s")
        print(f"{'stage':<10} {'wall s':>8} {'CPU s':>8} {'MB/s/core':>9} {'main GiB':>8} {'worker GiB':>10} "
              f"{'end GB':>7} {'peak disk GB':>12} {'tasks':>6} {'overhead':>8}")
        for x in r["rows"]:
            print(f"{x['stage']:<10} {x['wall_s']:8.1f} {x['cpu_s']:8.1f} {x['mb_s_core']:9.2f} "
                  f"{_gib(x['main_rss']):>8} {_gib(x['worker_rss']):>10} {x['bytes_end'] / 1e9:7.2f} "
                  f"{x['disk_peak'] / 1e9:12.2f} {x['tasks']:6d} {x['overhead']:8.1%}")
        mb = r["text_bytes"] / 1e6
        walls = {x["stage"]: x["wall_s"] for x in r["rows"]}
        total, no_fetch = sum(walls.values()), sum(v for k, v in walls.items() if k != "fetch")
        run = r["wall_s"]  # `kuznia run` from start to exit: API server start, stages, between them
        print(f"whole path: {mb / (run * r['workers']):.2f} MB/s per core fetch→tokens, the run's own "
              f"wall ({mb / (total * r['workers']):.2f} over the stages' walls, "
              f"{mb / (no_fetch * r['workers']):.2f} without fetch); target {TARGET_E2E}")
        over = sum(x["overhead"] * x["wall_s"] for x in r["rows"]) / max(total, 1e-9)
        ideal = sum(x.get("ideal_s", (1 - x["overhead"]) * x["wall_s"]) for x in r["rows"])
        print(f"orchestration overhead: {max(0.0, 1 - ideal / run):.1%} of the run's wall time (target ≤ 5 %): "
              f"{over:.1%} inside the stages, {run - total:.1f} s outside them (start-up, between stages)")
        worst = max(x["worker_rss"] for x in r["rows"])
        main = max(x["main_rss"] for x in r["rows"])
        print(f"peak RSS: worker {_gib(worst)} GiB (limit 2), main {_gib(main)} GiB (limit 1)")
        if "rerun_s" in r:
            print(f"rerun with nothing changed: {r['rerun_s']:.1f} s")
    if len(results) >= 2:
        a, b = results[0], results[-1]
        print(f"\nflat cost, MB/s per core at {b['gb']:g} GB against {a['gb']:g} GB (target within 15 %):")
        small = {x["stage"]: x["mb_s_core"] for x in a["rows"]}
        for x in b["rows"]:
            if small.get(x["stage"]):
                ratio = x["mb_s_core"] / small[x["stage"]]
                flag = "ok" if ratio >= 0.85 or x["stage"] in FIXED else "NOT FLAT"
                print(f"  {x['stage']:<10} {small[x['stage']]:7.2f} → {x['mb_s_core']:7.2f}  ({ratio:5.2f}×) {flag}")


def _stage_forecast(x: dict, k: float, cores: int, workers: int) -> float:
    if x["stage"] in FIXED:
        return x["wall_s"]
    covered = 0.0
    t = 0.0
    for p in x["phases"].values():
        covered += p["task_s"] / max(1, min(workers, p["tasks"]))
        t += p["task_s"] * k if p["tasks"] <= 1 else p["task_s"] * k / cores
    rest = max(0.0, x["wall_s"] - covered)
    return t + rest * k * workers / cores


def forecast(r: dict, cores: tuple[int, ...]) -> None:
    k = FULL_BYTES / r["text_bytes"]
    print(f"\nforecast for 285 GB of text (×{k:,.0f} the {r['gb']:g} GB run; fetch left out: the network's):")
    peak = max(x["disk_peak"] for x in r["rows"])
    for c in cores:
        per = {x["stage"]: _stage_forecast(x, k, c, r["workers"]) for x in r["rows"] if x["stage"] != "fetch"}
        total = sum(per.values())
        bound = max(per, key=per.get)
        parts = ", ".join(f"{s} {v / 3600:.2f} h" for s, v in per.items())
        print(f"  {c} cores: {total / 3600:.1f} h ({parts}); bounded by {bound}")
    raw = next((x["bytes_end"] for x in r["rows"] if x["stage"] == "fetch"), 0)
    tokens = r.get("shard_bytes") or next((x["bytes_end"] for x in r["rows"] if x["stage"] == "tokens"), 0)
    print(f"  disk: peak {peak * k / 1e12:.2f} TB; raw {raw * k / 1e12:.2f} TB, token shards {tokens * k / 1e12:.2f} TB; "
          f"peak / (2.5 × raw + shards) = {peak / max(1, 2.5 * raw + tokens):.2f} (target ≤ 1)")
