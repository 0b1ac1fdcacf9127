"""Applying `corpus.target_mixture`: per-group weights so the corpus matches the target shares.

With `corpus.apply_mixture`, the clusters phase (which sees every source's survivors of quality
and dedup) computes, per group of the target (a source name, else its kind: `speakleash`,
`wikipedia`, `local`), the factor that brings the group's share of the corpus characters to its
target: `target / share`, so the corpus keeps its size; a group below target is repeated (at
most `max_mixture_weight` times), one above it sampled down. A target group with no documents is
left out and the other targets renormalised, with a note. The factors multiply the configured
`weights`, and the write phase applies them per source (`_select/mixture.json`).
"""

from __future__ import annotations

from corpus.select.config import CorpusConfig
from corpus.select.rules import source_kind, source_weight
from kuznia.stage import StageError

MIXTURE_FILE = "mixture.json"


def group_of(source: str, target: dict[str, float]) -> str:
    """The target group of a source: its own name when the target lists it, else its kind."""
    return source if source in target else source_kind(source)


def mixture_factors(survivors: dict[str, int], ccfg: CorpusConfig) -> dict:
    """`{"groups": {g: chars, share, target, factor}, "sources": {s: factor}, "notes": [...]}`
    from each source's characters that survive quality and dedup (before weights)."""
    target = dict(ccfg.target_mixture)
    expected = {s: ch * source_weight(s, ccfg.weights) for s, ch in survivors.items()}
    groups: dict[str, float] = {}
    for s, ch in expected.items():
        groups[group_of(s, target)] = groups.get(group_of(s, target), 0.0) + ch
    stray = sorted(g for g, ch in groups.items() if ch and g not in target)
    if stray:
        raise StageError(f"corpus.apply_mixture: sources of {stray} are in no group of "
                         f"corpus.target_mixture ({sorted(target)}); add them to the target (0 drops them)")
    notes = [f"target group {g!r} has no documents: its {target[g]:.1%} goes to the others"
             for g in sorted(target) if not groups.get(g)]
    present = {g: t for g, t in target.items() if groups.get(g)}
    norm = sum(present.values()) or 1.0
    total = sum(groups.values()) or 1.0
    out_groups = {}
    for g, t in sorted(present.items()):
        share = groups[g] / total
        want = t / norm
        factor = want / share
        if factor > ccfg.max_mixture_weight:
            notes.append(f"{g!r} would need each document {factor:.1f} times to reach {want:.1%}; "
                         f"capped at corpus.max_mixture_weight = {ccfg.max_mixture_weight:g}")
            factor = ccfg.max_mixture_weight
        out_groups[g] = {"chars": round(groups[g]), "share": round(share, 6), "target": round(want, 6),
                         "factor": round(factor, 6)}
    sources = {s: out_groups.get(group_of(s, target), {}).get("factor", 0.0) for s in sorted(survivors)}
    return {"groups": out_groups, "sources": sources, "notes": notes}
