"""What a stage, a task and a file are, for deciding what must run again.

- A file's identity is its checksum, plus a *salt* when it descends from a forced task:
  `--force` gives the tasks it re-runs a fresh salt, and a task that reads salted files passes
  their salt on to what it writes, so a forced re-do travels down that file's lineage. A step
  that reads every part at once (a clustering, a tokenizer) writes unsalted files: past it, only
  real changes (checksums) travel on.
- A stage's fingerprint hashes its own config (the fields that change outputs), the package
  version, its inputs outside the work dir, and each upstream stage's *content id* (a hash of
  that stage's outputs: paths, checksums, and the salts the manifest lists apart). Any upstream change, forced or not, makes every
  later stage stale; an upstream re-run that wrote the same bytes does not.
- A task's fingerprint hashes the stage's own config, its phase and task record, and the
  identities of the files it reads (a phase declares them); a task whose fingerprint matches its
  marker is reused, so re-doing one source re-does that source's share downstream. A task that
  declares no inputs depends on everything: it runs whenever the stage's fingerprint changes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kuznia.files import canonical_json, file_checksum
from kuznia.stage import read_manifest


def digest(obj: Any) -> str:
    """A short stable hash of a JSON-able object."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:32]


def new_salt() -> str:
    """The salt of a forced task's outputs."""
    return uuid.uuid4().hex[:16]


def combine_salts(salts: Iterable[str]) -> str:
    """One salt for files made from inputs with these salts ("" when none is salted)."""
    present = sorted({s for s in salts if s})
    return "" if not present else present[0] if len(present) == 1 else digest(present)[:16]


def content_id(outputs: Iterable[Mapping], salts: Mapping[str, str] | None = None) -> str:
    """A stage's content: its outputs' paths and checksums (the manifest's `outputs`) and the
    salts of those that descend from a forced task (its `salts`). An output marked `log` (a
    record of how the stage ran, with its timings) is checked like the others but is no content:
    a later stage does not read it, so writing it again makes nothing downstream stale."""
    salts = salts or {}
    return digest(sorted([o["path"], o.get("checksum"), salts.get(o["path"], "")] for o in outputs
                         if not o.get("log")))


def manifest_content(manifest: Mapping) -> str:
    """The content id a manifest records (computed from its outputs for an older manifest)."""
    return manifest.get("content") or content_id(manifest.get("outputs", []), manifest.get("salts"))


class InputIndex:
    """The identity (checksum, salt) of any file a task may read.

    An upstream stage's file comes from that stage's manifest (no re-hashing); a file the same
    stage wrote in an earlier phase from that phase's task markers; a file outside the work dir
    is identified by its size and modification time (a user's local source).
    """

    def __init__(self, work_dir: Path, stage_dir: Path):
        self.work_dir, self.stage_dir = Path(work_dir).resolve(), Path(stage_dir).resolve()
        self._upstream: dict[str, dict[str, tuple[str, str]]] = {}
        self.own: dict[str, tuple[str, str]] = {}  # stage-relative path -> (checksum, salt)

    def add_own(self, outputs: Mapping[str, Mapping], salt: str) -> None:
        """Files a task of this stage wrote (its marker's `outputs`)."""
        for rel, o in outputs.items():
            self.own[rel] = (o["checksum"], salt)

    def _stage_files(self, folder: str) -> dict[str, tuple[str, str]]:
        if folder not in self._upstream:
            m = read_manifest(self.work_dir / folder) or {}
            salts = m.get("salts") or {}
            self._upstream[folder] = {o["path"]: (o.get("checksum"), salts.get(o["path"], ""))
                                      for o in m.get("outputs", [])}
        return self._upstream[folder]

    def identity(self, path: Path) -> list[str]:
        """`[where, checksum-or-stat, salt]` of one input file."""
        path = Path(path).resolve()
        if path.is_relative_to(self.stage_dir):
            rel = path.relative_to(self.stage_dir).as_posix()
            checksum, salt = self.own.get(rel) or (_checksum_or_missing(path), "")
            return [f"./{rel}", checksum, salt]
        if path.is_relative_to(self.work_dir):
            rel = path.relative_to(self.work_dir)
            folder, inner = rel.parts[0], Path(*rel.parts[1:]).as_posix()
            checksum, salt = self._stage_files(folder).get(inner) or (_checksum_or_missing(path), "")
            return [rel.as_posix(), checksum, salt]
        st = path.stat() if path.exists() else None
        return [str(path), f"size={st.st_size},mtime={st.st_mtime_ns}" if st else "missing", ""]


def _checksum_or_missing(path: Path) -> str:
    return file_checksum(path) if path.is_file() else "missing"
