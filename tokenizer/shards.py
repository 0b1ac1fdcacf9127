"""Token shards: the format the tokens stage writes and the trainer reads.

A shard is three (or four) files beside each other, sharing one prefix (`tokens/train/shard-00000`):

- `<prefix>.npy`      the tokens of whole documents, one after another, `uint16`, `np.save` format
                      (so `np.load(..., mmap_mode="r")` maps it without reading it);
- `<prefix>.idx.npy`  document offsets, `uint64`, `n_docs + 1` entries, `[0] = 0`, `[-1] = n_tokens`:
                      document `i` is `tokens[offsets[i]:offsets[i + 1]]` (its EOS included);
- `<prefix>.json`     the header: magic, format version, dtype, vocabulary size, the hash of the
                      `tokenizer.json` that produced the tokens, and the counts;
- `<prefix>.src.npy`  only in shards that record their documents' sources (val): `uint16`, one
                      index per document into the header's `sources` names (a key only they have).

Each file is written to a temp name and renamed; the header is written last, so a shard whose
header exists is complete. The reader checks the header against the arrays and against the
tokenizer the caller uses, so tokens from another vocabulary can never reach an embedding table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import xxhash

from kuznia.files import atomic_path, save_npy

MAGIC = "kuznia-tokens"
FORMAT_VERSION = 1
TOKEN_DTYPE = np.dtype("<u2")
OFFSET_DTYPE = np.dtype("<u8")
SOURCE_DTYPE = np.dtype("<u2")
MAX_VOCAB = 1 << 16  # every id must fit in uint16
REBUILD = "rebuild the shards: `kuznia stage tokens --force`"


class ShardFormatError(ValueError):
    """A shard that is missing, corrupt, or written for another tokenizer; says how to rebuild."""


@dataclass(frozen=True)
class ShardHeader:
    """What `<prefix>.json` holds."""

    vocab_size: int
    tokenizer_hash: str
    n_tokens: int
    n_docs: int
    magic: str = MAGIC
    version: int = FORMAT_VERSION
    dtype: str = "uint16"
    sources: tuple[str, ...] | None = None  # names `<prefix>.src.npy` indexes; None: not recorded

    def to_json(self) -> dict:
        """The header's JSON object; no `sources` key when none are recorded (as before sources)."""
        return {k: (list(v) if k == "sources" else v) for k, v in asdict(self).items()
                if k != "sources" or v is not None}


def _paths(prefix: Path) -> tuple[Path, Path, Path]:
    """The token, offset and header files of a shard prefix."""
    prefix = Path(prefix)
    return (prefix.with_name(prefix.name + ".npy"), prefix.with_name(prefix.name + ".idx.npy"),
            prefix.with_name(prefix.name + ".json"))


def _sources_path(prefix: Path) -> Path:
    """The per-document source file of a shard prefix."""
    return Path(prefix).with_name(Path(prefix).name + ".src.npy")


def _check_sources(source_ids: np.ndarray, names: tuple[str, ...], n_docs: int, where: str) -> None:
    if len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        raise ShardFormatError(f"{where}: source names must be distinct non-empty strings, got {list(names)}")
    if source_ids.dtype != SOURCE_DTYPE or source_ids.shape != (n_docs,) or (
            n_docs and int(source_ids.max()) >= len(names)):
        raise ShardFormatError(f"{where}: document sources must be {n_docs} uint16 indexes into the "
                               f"{len(names)} source names, got {source_ids.dtype} {source_ids.shape}")


def _check_vocab_size(vocab_size: int, where: str) -> None:
    if not 0 < vocab_size <= MAX_VOCAB:
        raise ShardFormatError(
            f"{where}: vocab_size {vocab_size} does not fit the uint16 shard format "
            f"(allowed 1..{MAX_VOCAB}); use a smaller vocabulary"
        )


def _as_tokens(tokens: np.ndarray | list[int], vocab_size: int, where: str) -> np.ndarray:
    """Validate token ids (integers in [0, vocab_size)) and return them as uint16."""
    arr = np.asarray(tokens)
    if arr.ndim != 1:
        raise ShardFormatError(f"{where}: tokens must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, TOKEN_DTYPE)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ShardFormatError(f"{where}: tokens must be integers, got dtype {arr.dtype}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= vocab_size:
        raise ShardFormatError(
            f"{where}: token ids must lie in [0, {vocab_size}) for vocabulary {vocab_size}, "
            f"got min {lo} max {hi}; the tokens do not come from this tokenizer"
        )
    return arr.astype(TOKEN_DTYPE, copy=False)


def _check_offsets(offsets: np.ndarray, n_tokens: int, where: str) -> None:
    if offsets.ndim != 1 or offsets.size < 1:
        raise ShardFormatError(f"{where}: offsets must be 1-D with n_docs + 1 entries, got shape {offsets.shape}")
    if int(offsets[0]) != 0 or int(offsets[-1]) != n_tokens:
        raise ShardFormatError(
            f"{where}: offsets must start at 0 and end at n_tokens={n_tokens}, "
            f"got {int(offsets[0])} .. {int(offsets[-1])}"
        )
    if offsets.size > 1 and not bool(np.all(offsets[1:] >= offsets[:-1])):
        bad = int(np.argmax(offsets[1:] < offsets[:-1]))
        raise ShardFormatError(
            f"{where}: offsets must not decrease, but offsets[{bad + 1}]={int(offsets[bad + 1])} "
            f"< offsets[{bad}]={int(offsets[bad])}"
        )


def write_shard(
    prefix: Path, tokens: np.ndarray, doc_offsets: np.ndarray, *, vocab_size: int, tokenizer_hash: str,
    doc_sources: tuple[np.ndarray, tuple[str, ...]] | None = None,
) -> list[Path]:
    """Write one shard (`.npy`, `.idx.npy`, `.src.npy` when `doc_sources` is given, then the
    `.json` header), each file atomically.

    `tokens` are integer ids in `[0, vocab_size)`; `doc_offsets` has `n_docs + 1` non-decreasing
    entries from 0 to `len(tokens)`; `doc_sources` is (each document's index into the names,
    the source names). Returns the paths written.
    """
    prefix = Path(prefix)
    where = str(prefix)
    _check_vocab_size(vocab_size, where)
    toks = _as_tokens(tokens, vocab_size, where)
    offs_in = np.asarray(doc_offsets)
    if offs_in.size and not np.issubdtype(offs_in.dtype, np.integer):
        raise ShardFormatError(f"{where}: offsets must be integers, got dtype {offs_in.dtype}")
    if offs_in.size and int(offs_in.min()) < 0:
        raise ShardFormatError(f"{where}: offsets must not be negative")
    offs = offs_in.astype(OFFSET_DTYPE, copy=False)
    _check_offsets(offs, int(toks.size), where)
    names = None
    if doc_sources is not None:
        ids, names = np.asarray(doc_sources[0]).astype(SOURCE_DTYPE, copy=False), tuple(doc_sources[1])
        _check_sources(ids, names, int(offs.size - 1), where)
    header = ShardHeader(vocab_size=int(vocab_size), tokenizer_hash=str(tokenizer_hash),
                         n_tokens=int(toks.size), n_docs=int(offs.size - 1), sources=names)
    tok_path, idx_path, json_path = _paths(prefix)
    save_npy(tok_path, toks)
    save_npy(idx_path, offs)
    written = [tok_path, idx_path]
    if names is not None:
        save_npy(_sources_path(prefix), ids)
        written.append(_sources_path(prefix))
    # The header goes last: its presence marks the shard complete.
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(header.to_json(), indent=2, sort_keys=True) + "\n", "utf-8")
    return [*written, json_path]


class ShardWriter:
    """Stream documents into shards of about `shard_tokens` tokens each.

    A document is never split across shards; a shard is closed as soon as it holds at least
    `shard_tokens` tokens (so a shard may exceed the budget by less than one document).
    Shards are named `<prefix>-00000`, `<prefix>-00001`, … under `out_dir`.
    """

    def __init__(self, out_dir: Path, *, vocab_size: int, tokenizer_hash: str, shard_tokens: int,
                 prefix: str = "shard") -> None:
        if shard_tokens < 1:
            raise ValueError(f"shard_tokens must be at least 1, got {shard_tokens}")
        _check_vocab_size(vocab_size, str(out_dir))
        self.out_dir = Path(out_dir)
        self.vocab_size = int(vocab_size)
        self.tokenizer_hash = str(tokenizer_hash)
        self.shard_tokens = int(shard_tokens)
        self.prefix = prefix
        self._docs: list[np.ndarray] = []
        self._sources: list[str | None] = []
        self._n_tokens = 0
        self._records: list[dict] = []
        self._closed = False

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # On an error, write nothing more: the partial shard is dropped, the caller re-runs.
        if exc_type is None:
            self.close()

    def add(self, ids: np.ndarray | list[int], source: str | None = None) -> None:
        """Add one document's tokens (the caller has already appended EOS), and its source when
        the shards record sources (then every document of a shard needs one)."""
        if self._closed:
            raise RuntimeError(f"ShardWriter for {self.out_dir} is closed")
        where = f"{self.out_dir / self._next_name()} (document {self.n_docs_written + len(self._docs)})"
        arr = _as_tokens(ids, self.vocab_size, where)
        if arr.size == 0:
            raise ShardFormatError(f"{where}: empty document; append EOS to every document before adding it")
        self._docs.append(arr)
        self._sources.append(source)
        self._n_tokens += int(arr.size)
        if self._n_tokens >= self.shard_tokens:
            self._flush()

    def add_many(self, ids_list: Iterable[np.ndarray | list[int]]) -> None:
        """Add several documents, in order."""
        for ids in ids_list:
            self.add(ids)

    @property
    def n_docs_written(self) -> int:
        return sum(r["n_docs"] for r in self._records)

    def _next_name(self) -> str:
        return f"{self.prefix}-{len(self._records):05d}"

    def _flush(self) -> None:
        if not self._docs:
            return
        lengths = np.fromiter((d.size for d in self._docs), dtype=OFFSET_DTYPE, count=len(self._docs))
        offsets = np.zeros(len(self._docs) + 1, OFFSET_DTYPE)
        np.cumsum(lengths, out=offsets[1:])
        tokens = np.concatenate(self._docs)
        shard = self.out_dir / self._next_name()
        doc_sources = None
        if any(src is not None for src in self._sources):
            if None in self._sources:
                raise ShardFormatError(f"{shard}: some documents have a source and some do not")
            names = tuple(sorted(set(self._sources)))
            doc_sources = (np.array([names.index(src) for src in self._sources], SOURCE_DTYPE), names)
        write_shard(shard, tokens, offsets, vocab_size=self.vocab_size, tokenizer_hash=self.tokenizer_hash,
                    doc_sources=doc_sources)
        self._records.append({"path": str(shard), "n_tokens": int(tokens.size), "n_docs": len(self._docs)})
        self._docs, self._sources = [], []
        self._n_tokens = 0

    def close(self) -> list[dict]:
        """Write the last partial shard; return `{"path", "n_tokens", "n_docs"}` per shard written."""
        if not self._closed:
            self._flush()
            self._closed = True
        return [dict(r) for r in self._records]


@dataclass
class Shard:
    """An opened shard: its header, the tokens (read-only memmap) and the document offsets."""

    prefix: Path
    header: ShardHeader
    tokens: np.ndarray
    offsets: np.ndarray
    source_ids: np.ndarray | None = None
    """Each document's index into `header.sources` (None: the shard records no sources)."""

    @property
    def n_docs(self) -> int:
        return self.header.n_docs

    @property
    def n_tokens(self) -> int:
        return self.header.n_tokens

    def __len__(self) -> int:
        return self.header.n_docs

    def doc(self, i: int) -> np.ndarray:
        """The tokens of document `i` (a read-only view, EOS included)."""
        if not -self.n_docs <= i < self.n_docs:
            raise IndexError(f"{self.prefix}: document {i} out of range (shard has {self.n_docs})")
        i %= self.n_docs
        return self.tokens[int(self.offsets[i]) : int(self.offsets[i + 1])]


def read_header(prefix: Path) -> ShardHeader:
    """Read and check `<prefix>.json` (magic, version, dtype, field types)."""
    prefix = Path(prefix)
    _, _, json_path = _paths(prefix)
    if not json_path.exists():
        raise ShardFormatError(
            f"{prefix}: header {json_path.name} is missing (the shard was never finished, or "
            f"is not a shard); {REBUILD}"
        )
    try:
        raw = json.loads(json_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ShardFormatError(f"{prefix}: header {json_path.name} is unreadable ({e}); {REBUILD}") from e
    if not isinstance(raw, dict) or raw.get("magic") != MAGIC:
        got = raw.get("magic") if isinstance(raw, dict) else type(raw).__name__
        raise ShardFormatError(f"{prefix}: {json_path.name} is not a token shard header "
                               f"(magic {got!r}, expected {MAGIC!r}); {REBUILD}")
    if raw.get("version") != FORMAT_VERSION:
        raise ShardFormatError(f"{prefix}: shard format version {raw.get('version')!r}, this Kuźnia "
                               f"reads version {FORMAT_VERSION}; {REBUILD}")
    if raw.get("dtype") != "uint16":
        raise ShardFormatError(f"{prefix}: token dtype {raw.get('dtype')!r}, expected 'uint16'; {REBUILD}")
    try:
        sources = raw.get("sources")
        if sources is not None and not (isinstance(sources, list) and all(isinstance(x, str) for x in sources)):
            raise TypeError(f"'sources' must be a list of names, got {sources!r}")
        header = ShardHeader(
            vocab_size=int(raw["vocab_size"]), tokenizer_hash=str(raw["tokenizer_hash"]),
            n_tokens=int(raw["n_tokens"]), n_docs=int(raw["n_docs"]),
            sources=tuple(sources) if sources is not None else None,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ShardFormatError(f"{prefix}: header {json_path.name} lacks or mangles {e}; {REBUILD}") from e
    if header.n_tokens < 0 or header.n_docs < 0:
        raise ShardFormatError(f"{prefix}: header has negative counts; {REBUILD}")
    return header


def _short(h: str) -> str:
    return h[:12] + "…" if len(h) > 12 else h


def _load_array(path: Path, prefix: Path, *, mmap: bool) -> np.ndarray:
    if not path.exists():
        raise ShardFormatError(f"{prefix}: {path.name} is missing; {REBUILD}")
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise ShardFormatError(f"{prefix}: {path.name} is corrupt or truncated ({e}); {REBUILD}") from e


def open_shard(prefix: Path, *, vocab_size: int | None = None, tokenizer_hash: str | None = None) -> Shard:
    """Open a shard for reading and check it: header, array dtypes and sizes, offsets, and
    (when given) that it was written with this `vocab_size` and tokenizer hash."""
    prefix = Path(prefix)
    header = read_header(prefix)
    if (vocab_size is not None and header.vocab_size != vocab_size) or (
        tokenizer_hash is not None and header.tokenizer_hash != tokenizer_hash
    ):
        want_v = vocab_size if vocab_size is not None else header.vocab_size
        want_h = tokenizer_hash if tokenizer_hash is not None else header.tokenizer_hash
        raise ShardFormatError(
            f"{prefix} was written with vocabulary {header.vocab_size} / tokenizer "
            f"{_short(header.tokenizer_hash)}, but the tokenizer has {want_v} / {_short(want_h)}; {REBUILD}"
        )
    tok_path, idx_path, _ = _paths(prefix)
    tokens = _load_array(tok_path, prefix, mmap=True)
    if tokens.dtype != TOKEN_DTYPE or tokens.ndim != 1:
        raise ShardFormatError(f"{prefix}: {tok_path.name} holds {tokens.dtype} {tokens.shape}, "
                               f"expected 1-D uint16; {REBUILD}")
    if tokens.shape[0] != header.n_tokens:
        raise ShardFormatError(f"{prefix}: {tok_path.name} holds {tokens.shape[0]} tokens but the header "
                               f"says {header.n_tokens}; {REBUILD}")
    offsets = _load_array(idx_path, prefix, mmap=False)
    if offsets.dtype != OFFSET_DTYPE:
        raise ShardFormatError(f"{prefix}: {idx_path.name} holds {offsets.dtype}, expected uint64; {REBUILD}")
    if offsets.ndim != 1 or offsets.shape[0] != header.n_docs + 1:
        raise ShardFormatError(f"{prefix}: {idx_path.name} holds {offsets.shape} offsets but the header "
                               f"says {header.n_docs} documents (expected {header.n_docs + 1}); {REBUILD}")
    try:
        _check_offsets(offsets, header.n_tokens, str(prefix))
    except ShardFormatError as e:
        raise ShardFormatError(f"{e}; {REBUILD}") from None
    source_ids = None
    if header.sources is not None:
        source_ids = _load_array(_sources_path(prefix), prefix, mmap=False)
        try:
            _check_sources(source_ids, header.sources, header.n_docs, str(prefix))
        except ShardFormatError as e:
            raise ShardFormatError(f"{e}; {REBUILD}") from None
    return Shard(prefix=prefix, header=header, tokens=tokens, offsets=offsets, source_ids=source_ids)


def list_shards(split_dir: Path) -> list[Path]:
    """The shard prefixes in a split folder (`tokens/train`), sorted; [] if it doesn't exist.

    A shard is listed by its header (`<prefix>.json`); hidden and temp files are ignored.
    """
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        return []
    return sorted(
        p.with_name(p.name[: -len(".json")])
        for p in split_dir.glob("*.json")
        if not p.name.startswith((".", "_")) and p.is_file()
    )


def tokenizer_hash(tokenizer_json_path: Path) -> str:
    """The xxh3-128 hex digest of a `tokenizer.json` file's bytes (what shards are stamped with)."""
    path = Path(tokenizer_json_path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FileNotFoundError(f"cannot read tokenizer file {path} ({e}); run `kuznia stage tokenizer`") from e
    return xxhash.xxh3_128(data).hexdigest()
