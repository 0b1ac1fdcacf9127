"""Every line of every dataset planned before any is written: its size, its planted kind, and for
each copy the original it copies. Planning first lets the datasets be written in parallel.

Per dataset (its own random stream): log-normal sizes (plan.py), then kinds at the planted rates
with stochastic rounding, so that small datasets add up right: exact copies 3 %, near copies 5 %
(both in the dataset's last nine tenths, after their originals), foreign documents 1 %, mojibake
0.5 %, malformed lines 0.1 %. Some clean lines are *donors*: short enough (≤ 64 KB, 8+
sentences) and drawn from a random stream of their own (`[seed, 4, dataset, line]`), so that
any process can make the same document again; copies copy donors only.

Then, in name order, each copy gets its original: half of them (`cross`) a donor of an earlier
dataset (one that sorts before it, so the original's id is the smaller), the rest a donor of the
same dataset on an earlier line; the other pool when one is empty; a copy with no donor left
stays a clean line. Each donor is copied at most once, so every planted pair is a pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scale_gen.plan import DatasetPlan, document_bytes

CLEAN, EXACT, NEAR, FOREIGN, MOJIBAKE, MALFORMED = range(6)
RATES = {EXACT: 0.03, NEAR: 0.05, FOREIGN: 0.01, MOJIBAKE: 0.005, MALFORMED: 0.001}  # of the lines
KIND_NAMES = {EXACT: "exact_dup", NEAR: "near_dup", FOREIGN: "foreign", MOJIBAKE: "mojibake", MALFORMED: "malformed"}
DONOR_MAX_BYTES, DONOR_MIN_BYTES, DONOR_P = 48_000, 600, 0.5


@dataclass
class Slots:
    """The lines of one dataset (0-based here; line numbers in ids are 1-based)."""

    sizes: np.ndarray  # float: text bytes to aim for
    kinds: np.ndarray  # int8: CLEAN, EXACT, ...
    donor: np.ndarray  # bool: a clean line made from its own random stream
    cross: np.ndarray  # bool: a copy that wants an original from an earlier dataset
    source: dict[int, tuple[int, int, bool]] = field(default_factory=dict)  # copy -> (dataset, line, cross)


def slot_kinds(n: int, rng: np.random.Generator) -> np.ndarray:
    """The planted kind of each of `n` lines (module docstring)."""
    kinds = np.full(n, CLEAN, dtype=np.int8)
    counts = {k: int(np.floor(rate * n + rng.random())) for k, rate in RATES.items()}
    late = rng.permutation(np.arange(n // 10, n))
    copies = late[: counts[EXACT] + counts[NEAR]]
    kinds[copies[: counts[EXACT]]] = EXACT
    kinds[copies[counts[EXACT]:]] = NEAR
    rest = rng.permutation(np.flatnonzero(kinds == CLEAN))
    at = 0
    for k in (FOREIGN, MOJIBAKE, MALFORMED):
        kinds[rest[at:at + counts[k]]] = k
        at += counts[k]
    return kinds


def plan_slots(plan: DatasetPlan, seed: int, floor_bytes: float, overhead_bytes: float) -> Slots:
    """Sizes, kinds and donors of one dataset's lines (`document_bytes` for the two byte counts)."""
    rng = np.random.default_rng([seed, 2, plan.index])
    sizes = document_bytes(plan, rng, floor_bytes, overhead_bytes)
    n = len(sizes)
    kinds = slot_kinds(n, rng)
    donor = ((kinds == CLEAN) & (sizes <= DONOR_MAX_BYTES) & (sizes >= DONOR_MIN_BYTES)
             & (rng.random(n) < DONOR_P))
    return Slots(sizes, kinds, donor, rng.random(n) < 0.5)


def _pick(pool: list, rng: np.random.Generator):
    """Take a random element out of `pool` (swap with the last, pop)."""
    i = int(rng.integers(len(pool)))
    pool[i], pool[-1] = pool[-1], pool[i]
    return pool.pop()


def assign_copies(all_slots: list[Slots], seed: int) -> None:
    """Give every copy its original, in dataset order (module docstring); fills `Slots.source`."""
    rng = np.random.default_rng([seed, 5])
    earlier: list[tuple[int, int]] = []
    for d, slots in enumerate(all_slots):
        own = np.flatnonzero(slots.donor).tolist()
        open_own: list[tuple[int, int]] = []
        at = 0
        for i in np.flatnonzero((slots.kinds == EXACT) | (slots.kinds == NEAR)).tolist():
            while at < len(own) and own[at] < i:
                open_own.append((d, own[at]))
                at += 1
            want_cross = bool(slots.cross[i])
            first, second = (earlier, open_own) if want_cross else (open_own, earlier)
            pool = first if first else second
            if not pool:
                slots.kinds[i] = CLEAN  # nothing to copy yet: the line stays clean
                continue
            source = _pick(pool, rng)
            slots.source[i] = (*source, source[0] != d)
        earlier.extend(open_own)
        earlier.extend((d, i) for i in own[at:])
