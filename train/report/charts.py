"""The training report's charts: matplotlib figures (Agg, no pyplot state) as PNG data URIs.

Every chart takes plain numbers from `report.json`. Curves over steps carry a second axis on top
in tokens (steps x tokens per step), so a run is read in both units. Figures are made with
`matplotlib.figure.Figure` (not pyplot): nothing global is touched, nothing needs closing.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

from kuznia.htmlpage import png_data_uri

DPI = 80
BLUE, ORANGE, GREEN, GREY = "#1c7ed6", "#e8590c", "#2b8a3e", "#868e96"
MAX_LINES = 10  # per-source curves drawn; beyond it, the best and worst at the last evaluation
MAX_BARS = 40  # sources in the bar chart; the table lists them all


def _axes(fig: Figure, tokens_per_step: int | None, rect=(0.1, 0.16, 0.86, 0.68)):
    """Axes over steps (with tokens on a second axis on top when `tokens_per_step` is known)."""
    ax = fig.add_axes(rect)
    ax.set_xlabel("step", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    if tokens_per_step:
        top = ax.secondary_xaxis("top", functions=(lambda s: s * tokens_per_step, lambda t: t / tokens_per_step))
        top.xaxis.set_major_formatter(EngFormatter(sep=""))
        top.tick_params(labelsize=8)
        top.set_xlabel("tokens", fontsize=8)
    return ax


def loss_chart(steps: Sequence[int], loss: Sequence[float], eval_steps: Sequence[int],
               val_loss: Sequence[float], tokens_per_step: int | None) -> str:
    """Training loss at the logged steps and val loss at the evaluations."""
    fig = Figure(figsize=(7, 3.2))
    ax = _axes(fig, tokens_per_step)
    ax.plot(steps, loss, color=BLUE, linewidth=1.2, label="train loss")
    ax.plot(eval_steps, val_loss, "o-", color=ORANGE, linewidth=1.5, markersize=4, label="val loss")
    ax.set_ylabel("loss (nats/token)", fontsize=8)
    ax.legend(fontsize=8)
    return png_data_uri(fig, dpi=DPI)


def bpb_chart(eval_steps: Sequence[int], overall: Sequence[float | None],
              by_source: dict[str, Sequence[float | None]], tokens_per_step: int | None) -> str:
    """Val bits per byte over all val text (thick) and per source, at each evaluation."""
    fig = Figure(figsize=(7, 3.6))
    ax = _axes(fig, tokens_per_step, rect=(0.09, 0.14, 0.56, 0.7))
    names = _some(by_source)
    for name in names:
        ax.plot(eval_steps, by_source[name], "o-", linewidth=1, markersize=3, label=_short(name))
    ax.plot(eval_steps, overall, "o-", color="black", linewidth=2.5, markersize=4, label="all val text")
    ax.set_ylabel("bits per byte", fontsize=8)
    shown = "" if len(names) == len(by_source) else f" ({len(names)} of {len(by_source)} sources)"
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), title=f"source{shown}",
              title_fontsize=7)
    return png_data_uri(fig, dpi=DPI)


def source_bars(names: Sequence[str], bpb: Sequence[float], step: int) -> str:
    """Bits per byte of each source at one evaluation, worst at the top (of many sources, the
    `MAX_BARS // 2` worst and best)."""
    order = sorted(range(len(names)), key=lambda i: -bpb[i])
    if len(order) > MAX_BARS:
        order = order[: MAX_BARS // 2] + order[-(MAX_BARS // 2):]
    height = 0.9 + 0.26 * len(order)  # inches: fixed margins for the title and the axis
    fig = Figure(figsize=(7, height))
    ax = fig.add_axes((0.38, 0.4 / height, 0.58, (height - 0.9) / height))
    ax.barh(range(len(order)), [bpb[i] for i in order], color=BLUE)
    ax.set_yticks(range(len(order)), [_short(names[i]) for i in order], fontsize=8)
    ax.invert_yaxis()
    ax.tick_params(axis="x", labelsize=8)
    cut = "" if len(order) == len(names) else f", {len(order)} of {len(names)}"
    ax.set_title(f"val bits per byte per source at step {step:,} (worst first{cut})", fontsize=9)
    return png_data_uri(fig, dpi=DPI)


def dynamics_chart(steps: Sequence[int], lr: Sequence[float], grad_norm: Sequence[float | None],
                   tokens_per_s: Sequence[float], mfu: Sequence[float | None]) -> str:
    """Three panels over steps: learning rate, gradient norm (before clipping), throughput (+ MFU)."""
    fig = Figure(figsize=(13, 2.8))
    panels = [(lr, "learning rate", GREEN), (grad_norm, "gradient norm (before clipping)", ORANGE),
              (tokens_per_s, "tokens / s" + (" and MFU" if any(m is not None for m in mfu) else ""), BLUE)]
    for i, (values, title, color) in enumerate(panels):
        ax = _axes(fig, None, rect=(0.05 + i * 0.33, 0.18, 0.26, 0.68))
        pts = [(s, v) for s, v in zip(steps, values) if v is not None]
        ax.plot([s for s, _ in pts], [v for _, v in pts], color=color, linewidth=1.2)
        ax.set_title(title, fontsize=9)
        if i == 0:
            ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
        if i == 2:
            ax.yaxis.set_major_formatter(EngFormatter(sep=""))
            if any(m is not None for m in mfu):
                twin = ax.twinx()
                twin.plot([s for s, m in zip(steps, mfu) if m is not None], [100 * m for m in mfu if m is not None],
                          color=GREY, linewidth=1, linestyle="--")
                twin.set_ylabel("MFU (%)", fontsize=8, color=GREY)
                twin.tick_params(labelsize=8)
    return png_data_uri(fig, dpi=DPI)


def _some(by_source: dict[str, Sequence[float | None]]) -> list[str]:
    """Every source, or the best and worst half of `MAX_LINES` at the last evaluation."""
    names = sorted(by_source)
    if len(names) <= MAX_LINES:
        return names
    last = {n: by_source[n][-1] for n in names if by_source[n] and by_source[n][-1] is not None}
    ranked = sorted(last, key=lambda n: last[n])
    return sorted(set(ranked[: MAX_LINES // 2] + ranked[-(MAX_LINES // 2):]))


def _short(name: str, n: int = 34) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"
