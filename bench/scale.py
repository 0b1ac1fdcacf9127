"""Benchmark: the data path at scale, through the real flow, and a forecast for 285 GB.

    .venv/bin/python bench/scale.py --gb 0.5 4 [--workers N] [--root /tmp/kuznia-scale] [--kill-test]

For each size: generates the scale corpus (bench/scale_corpus.py, seeded), serves it over HTTP
on 127.0.0.1, runs `kuznia run --stages fetch-tokens` (process runner, all cores, the APT3
recipe's data config with `--part-mb` parts and `disk.remove_intermediate` as asked) while
bench/scale_monitor.py samples the process tree and the work dir, then prints per stage:

- wall s, CPU s (the whole process tree, API server included), MB/s per core (text bytes over
  CPU seconds), peak RSS of the main process and of the largest worker (a task's own peak, from
  its marker, or the sampled one), bytes the stage holds at the end, peak work-dir bytes during
  the stage, tasks, and orchestration overhead: the share of wall time not covered by tasks,
  `1 - sum over phases(task seconds / min(workers, tasks)) / wall`;
- the whole path: text MB / (wall × cores), against the target 1.8 MB/s per core;
- the flat-cost check between the sizes (MB/s per core within 15 %), and the memory limits;
- a forecast for 285 GB of text on 16 and 64 cores: a phase of one task scales with the data
  on one core, a phase of many with the data over the cores; the tokenizer trains on a fixed
  sample (constant); fetch is the network's (left out); disk scales with the data.

Then, with `--rerun` (default on), a second `kuznia run` with nothing changed (seconds), and
with `--kill-test` a SIGKILL in the middle of a quality re-run (a config change that re-runs
every quality task) followed by a rerun that must redo only the unfinished tasks.
The planted noise is scored with bench/scale_score.py when it is there.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import yaml  # noqa: E402
from scale_monitor import Monitor  # noqa: E402
from scale_report import forecast, print_tables, shard_bytes, stage_rows, text_bytes  # noqa: E402
from scale_serve import serve  # noqa: E402

STAGES = "fetch-tokens"
KUZNIA = [sys.executable, "-m", "flows.cli"]


def generate(out: Path, gb: float, seed: int) -> None:
    if (out / "speakleash" / "speakleash.json").exists():
        print(f"reusing the corpus in {out}")
        return
    subprocess.run([sys.executable, str(ROOT / "bench" / "scale_corpus.py"), "--gb", str(gb),
                    "--out", str(out), "--seed", str(seed)], check=True)


def write_config(path: Path, url: str, args: argparse.Namespace) -> Path:
    data = yaml.safe_load((ROOT / "configs" / "apt3-1b.yaml").read_text("utf-8"))
    data["fetch"]["speakleash"]["base_url"] = f"{url}/speakleash"
    data["fetch"]["wikipedia"].update(base_url=f"{url}/wikipedia", dump_date=args.dump_date)
    data["runner"] = {"kind": "process", "workers": args.workers}
    data["docs"]["part_bytes"] = args.part_mb << 20
    data["disk"] = {"remove_intermediate": args.remove_intermediate}
    data.setdefault("tokenizer", {})["vocab_size"] = args.vocab
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def env(tmp: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    e.update(PREFECT_HOME=str(tmp / "prefect-home"), KUZNIA_PROGRESS="0", PYTHONUNBUFFERED="1")
    return e


def run_kuznia(args: list[str], tmp: Path, log: Path, monitor: bool = False):
    """`kuznia ...` in a subprocess; returns (wall s, Monitor or None)."""
    t0 = time.time()
    with open(log, "a") as out:
        proc = subprocess.Popen([*KUZNIA, *args], cwd=ROOT, env=env(tmp), stdout=out, stderr=subprocess.STDOUT)
        mon = Monitor(proc.pid, Path(args[args.index("--work-dir") + 1])).start() if monitor else None
        rc = proc.wait()
    if mon:
        mon.stop()
    if rc != 0:
        raise SystemExit(f"kuznia {' '.join(args)} exited {rc}; see {log}")
    return time.time() - t0, mon


def one_size(gb: float, args: argparse.Namespace) -> dict:
    base = args.root / f"{gb:g}gb"
    mirror, wd = args.mirror or base / "mirror", base / "work"
    base.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(wd, ignore_errors=True)  # a measured run starts from nothing (Prefect's
    # database in prefect-home/ stays: a user's first run on a machine creates it, ~8 s, once)
    if args.mirror is None:
        generate(mirror, gb, args.seed)
    with serve(mirror) as url:
        cfg = write_config(base / "config.yaml", url, args)
        where = ["--config", str(cfg), "--work-dir", str(wd)]
        log = base / "kuznia.log"
        print(f"\n== {gb:g} GB: kuznia run --stages {STAGES} ({args.workers} workers); log: {log}")
        wall, mon = run_kuznia(["run", "--stages", STAGES, *where], base, log, monitor=True)
        n_text = text_bytes(wd)
        rows = stage_rows(wd, mon, args.workers, n_text)
        out = {"gb": gb, "wall_s": wall, "text_bytes": n_text, "rows": rows, "workers": args.workers,
               "shard_bytes": shard_bytes(wd)}
        if args.rerun:
            out["rerun_s"], _ = run_kuznia(["run", "--stages", STAGES, *where], base, log)
            print(f"rerun with nothing changed: {out['rerun_s']:.1f} s")
        if args.kill_test:
            out["kill_test"] = kill_test(where, base, log, wd)
    score = ROOT / "bench" / "scale_score.py"
    if score.exists() and args.mirror is None:
        subprocess.run([sys.executable, str(score), "--truth", str(mirror), "--work-dir", str(wd)], check=False)
    (base / "result.json").write_text(json.dumps(out, indent=1))
    return out


def kill_test(where: list[str], base: Path, log: Path, wd: Path) -> dict:
    """SIGKILL mid-way through a quality re-run, then a rerun: finished tasks are not redone."""
    from e2e_kill import kill_mid_stage  # bench/e2e_kill.py

    now = json.loads((wd / "quality" / "_manifest.json").read_text())["config"]["quality"]["lang_sample_chars"]
    change = ["--set", f"quality.lang_sample_chars={now - 1}"]  # re-runs every quality task
    n_tasks = len(list((wd / "quality" / "_tasks").glob("*/*.json")))
    markers, killed_at = kill_mid_stage([*KUZNIA, "stage", "quality", *where, *change], wd / "quality",
                                        env(base), log, min_done=max(2, n_tasks // 2))
    t0 = time.time()
    with open(log, "a") as out:
        subprocess.run([*KUZNIA, "stage", "quality", *where, *change], cwd=ROOT, env=env(base),
                       stdout=out, stderr=subprocess.STDOUT, check=True)
    after = {p: p.stat().st_mtime_ns for p in (wd / "quality" / "_tasks").glob("*/*.json")}
    redone = [p for p, t in markers.items() if after.get(p) != t]
    res = {"finished_before_kill": len(markers), "redone_finished": len(redone), "tasks": len(after),
           "rerun_s": round(time.time() - t0, 1), "killed_at_s": killed_at}
    print(f"kill test: killed after {len(markers)} of {len(after)} quality tasks; the rerun redid "
          f"{len(redone)} finished ones and took {res['rerun_s']} s")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gb", type=float, nargs="+", default=[0.5, 4.0])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--root", type=Path, default=Path("/tmp/kuznia-scale"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--part-mb", type=int, default=64, help="docs.part_bytes in MiB (the recipe: 256)")
    ap.add_argument("--dump-date", default="20240101")
    ap.add_argument("--vocab", type=int, default=31980, help="tokenizer.vocab_size (APT3: 31,980)")
    ap.add_argument("--remove-intermediate", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--rerun", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--kill-test", action="store_true")
    ap.add_argument("--mirror", type=Path, help="an existing mirror (speakleash/, wikipedia/) instead of "
                    "a generated one (e.g. data/demo, with --gb naming the run)")
    ap.add_argument("--tables-only", action="store_true", help="print the tables and the forecast "
                    "from the sizes' result.json under --root (runs nothing)")
    args = ap.parse_args()
    if args.tables_only:
        results = [json.loads((args.root / f"{gb:g}gb" / "result.json").read_text()) for gb in args.gb]
    else:
        results = [one_size(gb, args) for gb in args.gb]
    print_tables(results)
    forecast(results[-1], cores=(16, 64))


if __name__ == "__main__":
    main()
