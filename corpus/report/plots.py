"""The report's charts: matplotlib (Agg) figures turned into inline PNG data URIs.

Every function takes plain numbers from `report.json` (never documents) and returns a
`data:image/png;base64,...` string, so the HTML needs no files and no network.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display, no GUI toolkit: reports are built on servers and in CI
import matplotlib.pyplot as plt
import numpy as np

from kuznia.htmlpage import png_data_uri

DPI = 80
COLORS = {"kept": "#2b8a3e", "rejected": "#c92a2a", "bar": "#1c7ed6", "line": "#e8590c"}


def _png(fig, tight: bool = False) -> str:
    """The figure as a PNG data URI (`kuznia.htmlpage.png_data_uri`), then closed."""
    uri = png_data_uri(fig, dpi=DPI, tight=tight)
    plt.close(fig)
    return uri


def funnel_chart(steps: list[str], docs: list[int], chars: list[int | None]) -> str:
    """Two bar charts side by side: documents and characters at each funnel step."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    for ax, values, title in ((axes[0], docs, "documents"), (axes[1], chars, "characters")):
        vals = [v or 0 for v in values]
        bars = ax.bar(range(len(steps)), vals, color=COLORS["bar"])
        for b, v in zip(bars, values):
            if v is None:
                b.set_hatch("//")
                b.set_alpha(0.3)
        ax.set_xticks(range(len(steps)), steps, rotation=30, ha="right")
        ax.set_title(title)
        ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 4))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.25, top=0.88, wspace=0.25)
    return _png(fig)


def bar_chart(labels: list[str], values: list[float], title: str, xlabel: str = "") -> str:
    """A horizontal bar chart (reject reasons, duplicate rates), largest at the top."""
    n = max(1, len(labels))
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.28 * n))
    ax.barh(range(len(labels)), values, color=COLORS["rejected"])
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    return _png(fig, tight=True)


def histogram_chart(edges: list[float], counts: list[int], kept: list[int] | None, title: str,
                    thresholds: list[tuple[str, float]], log_x: bool, xlabel: str = "") -> str:
    """A histogram (all cleaned documents, and those in the corpus) with threshold lines."""
    fig, ax = plt.subplots(figsize=(6, 2.8))
    e = np.asarray(edges, dtype=float)
    # stairs: one artist per series, not one rectangle per bin (much faster to lay out and draw)
    ax.stairs(counts, e, fill=True, color=COLORS["bar"], alpha=0.6, label="cleaned")
    if kept is not None:
        ax.stairs(kept, e, fill=True, color=COLORS["kept"], alpha=0.7, label="in corpus")
    for name, value in thresholds:
        ax.axvline(value, color=COLORS["line"], linestyle="--", linewidth=1.5)
        ax.annotate(f"{name} = {value:g}", (value, 1), xycoords=("data", "axes fraction"),
                    xytext=(3, -12), textcoords="offset points", color=COLORS["line"], fontsize=8)
    if log_x:
        ax.set_xscale("log")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("documents")
    ax.legend(fontsize=8, loc="upper right")
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.18, top=0.9)
    return _png(fig)


def grouped_bars(categories: list[str], series: dict[str, list[float]], title: str, ylabel: str) -> str:
    """Bars of several series per category (labels before/after, target/achieved mixture)."""
    fig, ax = plt.subplots(figsize=(6, 2.8))
    n = max(1, len(series))
    width = 0.8 / n
    x = np.arange(len(categories))
    palette = [COLORS["bar"], COLORS["kept"], COLORS["line"], COLORS["rejected"]]
    for i, (name, vals) in enumerate(series.items()):
        ax.bar(x + i * width - 0.4 + width / 2, vals, width=width, label=name,
               color=palette[i % len(palette)])
    ax.set_xticks(x, categories, rotation=20, ha="right")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return _png(fig, tight=True)


def heatmap_chart(names: list[str], matrix: list[list[int]], title: str) -> str:
    """The cross-source overlap matrix (clusters spanning both sources), log-scaled colours."""
    n = max(1, len(names))
    size = min(10.0, 2.5 + 0.3 * n)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    m = np.log10(1 + np.asarray(matrix, dtype=float)) if names else np.zeros((1, 1))
    im = ax.imshow(m, cmap="viridis")
    short = [s if len(s) <= 28 else s[:27] + "…" for s in names]
    ax.set_xticks(range(len(names)), short, rotation=90, fontsize=7)
    ax.set_yticks(range(len(names)), short, fontsize=7)
    if n <= 15:
        for i in range(len(names)):
            for j in range(len(names)):
                if matrix[i][j]:
                    ax.text(j, i, str(matrix[i][j]), ha="center", va="center", fontsize=7, color="white")
    fig.colorbar(im, ax=ax, label="log10(1 + clusters)", shrink=0.8)
    ax.set_title(title)
    return _png(fig, tight=True)
