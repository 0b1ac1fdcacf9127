"""Are a work dir's files what the manifests say? Sizes always, checksums on request.

Every stage's manifest lists its outputs with sizes and xxh3-128 checksums. `verify_stage`
checks one stage's files (sizes: a `stat` each; checksums: reading every byte, in parallel:
xxh3 runs at several GB/s a core, so the disk is the limit) and names each damaged file with
the command that repairs it: `kuznia stage <stage> --repair` re-runs only the tasks whose
outputs are damaged and writes the same bytes again, so no later stage has to re-run.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from kuznia.files import file_checksum
from kuznia.prune import PRUNED
from kuznia.stage import read_manifest


@dataclass
class Damage:
    path: str  # relative to the work dir
    problem: str


@dataclass
class StageCheck:
    stage: str
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    pruned_files: int = 0
    """Outputs removed on purpose (`disk.remove_intermediate`), not checked."""
    damage: list[Damage] = field(default_factory=list)

    @property
    def repair(self) -> str:
        return f"kuznia stage {self.stage} --repair"


def _check(root: Path, out: dict, checksums: bool) -> str | None:
    """What is wrong with one output file (None: nothing)."""
    p = root / out["path"]
    if not p.is_file():
        return "missing"
    size = p.stat().st_size
    if size != out["bytes"]:
        return f"{size:,} bytes, the manifest says {out['bytes']:,} (cut short or overwritten)"
    if checksums and file_checksum(p) != out["checksum"]:
        return f"checksum differs from the manifest's ({out['checksum']}): its bytes changed"
    return None


def verify_stage(work_dir: Path | str, stage: str, folder: str, *, checksums: bool = False,
                 workers: int | None = None) -> StageCheck | None:
    """One stage's outputs against its manifest (None when the stage has not run)."""
    root = Path(work_dir) / folder
    m = read_manifest(root)
    if m is None:
        return None
    removed = set((m.get(PRUNED) or {}).get("paths", ()))  # disk.remove_intermediate: gone on purpose
    outs = [o for o in m.get("outputs", []) if o["path"] not in removed]
    check = StageCheck(stage, files=len(outs), bytes=sum(o.get("bytes", 0) for o in outs),
                       pruned_files=len(removed))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        problems = list(pool.map(lambda o: _check(root, o, checksums), outs))
    check.seconds = time.perf_counter() - t0
    check.damage = [Damage(f"{folder}/{o['path']}", p) for o, p in zip(outs, problems) if p]
    return check
