"""Benchmark: `kuznia verify` (checksums of every output file, in parallel) against the usual way
of checking a data set, `sha256sum -c` (one file after another).

    .venv/bin/python bench/verify.py [--gb 4] [--part-mb 256] [--work-dir /tmp/kuznia-bench-verify]

Writes `--gb` GB of incompressible files as one stage's outputs (with a real `_manifest.json`
listing sizes and xxh3-128 checksums, and the sha256 list `sha256sum -c` reads), then, in one run:

1. ours: `kuznia.verify.verify_stage(checksums=True)` (what `kuznia verify` runs per stage);
2. baseline: `sha256sum -c` over the same files (the GNU tool; hashlib when it is missing);
3. ours single-threaded, to show what the parallelism adds.

Each pass starts from cold files: the page cache is dropped for them with
`posix_fadvise(DONTNEED)` first, so the disk is read, as on a work dir larger than memory
(`--warm` keeps the cache: CPU only). Prints GB, seconds, MB/s and the ratio.
Target (issue 19): >= 500 MB/s on 2 cores over a 4 GB corpus.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kuznia.files import file_checksum, write_json_atomic  # noqa: E402
from kuznia.stage import MANIFEST  # noqa: E402
from kuznia.verify import verify_stage  # noqa: E402

STAGE = "corpus"


def build(root: Path, gb: float, part_mb: int) -> list[Path]:
    """Incompressible parts of `part_mb` MB up to `gb` GB, their manifest and sha256 list."""
    stage = root / STAGE
    if (stage / MANIFEST).exists():
        return sorted(stage.glob("src/part-*.bin"))
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "src").mkdir(parents=True)
    n = max(1, round(gb * 1000 / part_mb))
    block = os.urandom(1 << 20)
    paths, outputs, sums = [], [], []
    for i in range(n):
        p = stage / "src" / f"part-{i:05d}.bin"
        with open(p, "wb") as f:
            for j in range(part_mb):
                f.write(block[j:] + block[:j])  # a rotation: no two MB alike
        paths.append(p)
        outputs.append({"path": p.relative_to(stage).as_posix(), "bytes": p.stat().st_size,
                        "checksum": file_checksum(p)})
        h = hashlib.sha256(p.read_bytes()).hexdigest()
        sums.append(f"{h}  {p.relative_to(stage).as_posix()}\n")
        print(f"\rwrote {i + 1}/{n} parts", end="", flush=True)
    print()
    (stage / "SHA256SUMS").write_text("".join(sums))
    write_json_atomic(stage / MANIFEST, {"stage": STAGE, "outputs": outputs})
    return paths


def drop_cache(paths: list[Path]) -> None:
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def sha256_check(stage: Path, paths: list[Path]) -> None:
    if shutil.which("sha256sum"):
        subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=stage, check=True)
        return
    for p in paths:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            while block := f.read(1 << 22):
                h.update(block)


def timed(label: str, fn, paths: list[Path], total: int, warm: bool) -> float:
    if not warm:
        drop_cache(paths)
    t0 = time.perf_counter()
    fn()
    s = time.perf_counter() - t0
    print(f"{label:<44} {total / 1e9:6.2f} GB {s:8.2f} s {total / 1e6 / s:9.0f} MB/s")
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gb", type=float, default=4.0)
    ap.add_argument("--part-mb", type=int, default=256)
    ap.add_argument("--work-dir", type=Path, default=Path("/tmp/kuznia-bench-verify"))
    ap.add_argument("--warm", action="store_true", help="keep the page cache (measure CPU only)")
    args = ap.parse_args()
    paths = build(args.work_dir, args.gb, args.part_mb)
    total = sum(p.stat().st_size for p in paths)
    stage = args.work_dir / STAGE

    def ours(workers=None):
        check = verify_stage(args.work_dir, STAGE, STAGE, checksums=True, workers=workers)
        assert check is not None and not check.damage, check

    print(f"{len(paths)} files, {os.cpu_count()} cores, {'warm' if args.warm else 'cold'} page cache")
    t_ours = timed(f"ours: verify_stage, {os.cpu_count()} threads (xxh3-128)", ours, paths, total, args.warm)
    t_base = timed("baseline: sha256sum -c", lambda: sha256_check(stage, paths), paths, total, args.warm)
    t_one = timed("ours, 1 thread", lambda: ours(1), paths, total, args.warm)
    print(f"ratio ours / sha256sum -c: {t_base / t_ours:.1f}x faster; parallel / 1 thread: {t_one / t_ours:.2f}x")


if __name__ == "__main__":
    main()
