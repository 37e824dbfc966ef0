"""Figures of a run and of an evaluation, written as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


def _pyplot():  # noqa: ANN202 - matplotlib's module type
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _label(ax, bar, text: str, fontsize: int) -> None:  # noqa: ANN001 - matplotlib's Axes and Rectangle
    """`text` just above the top of `bar`."""
    ax.annotate(
        text,
        (bar.get_x() + bar.get_width() / 2, bar.get_height()),
        ha="center",
        va="bottom",
        fontsize=fontsize,
        xytext=(0, 1),
        textcoords="offset points",
    )


def plot_loss(train: Sequence[tuple[int, float]], val: Sequence[tuple[int, float]], out: Path, title: str) -> Path:
    """Training and validation loss against the optimizer step."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    if train:
        ax.plot([s for s, _ in train], [v for _, v in train], label="train loss", color="#1f77b4", linewidth=1.2)
    if val:
        ax.plot([s for s, _ in val], [v for _, v in val], label="validation loss", color="#d62728", marker="o", linewidth=1.5)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if train or val:
        ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def plot_eval(results: Mapping[str, Mapping[str, Mapping[str, float]]], out: Path, title: str = "adapter vs base") -> Path:
    """Grouped bars: for every agent and metric, the adapter's and (where scored) the base model's score."""
    plt = _pyplot()
    labels, adapter, base = [], [], []
    for agent, sides in results.items():
        for metric in sides.get("adapter", sides.get("base", {})):
            labels.append(f"{agent}\n{metric}")
            adapter.append(sides.get("adapter", {}).get(metric, 0.0))
            base.append(sides.get("base", {}).get(metric, 0.0))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(labels) + 1.5), 4.2), dpi=100)
    positions = list(range(len(labels)))
    width = 0.38
    with_base = any("base" in sides for sides in results.values())
    shift = width / 2 if with_base else 0.0
    drawn = [ax.bar([p - shift for p in positions], adapter, width, label="adapter", color="#2ca02c")]
    if with_base:
        drawn.append(ax.bar([p + shift for p in positions], base, width, label="base", color="#7f7f7f"))
    for bars in drawn:
        for bar in bars:
            _label(ax, bar, f"{bar.get_height():.2f}", fontsize=7)
    ax.set_xticks(positions)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("fraction of test rows")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def plot_field(table: Mapping[str, Mapping[str, float | int]], out: Path, target: float = 0.9) -> Path:
    """Bars of the field set's accuracy per kind and overall, with the target as a line."""
    plt = _pyplot()
    kinds = list(table)
    values = [float(table[k]["accuracy"]) for k in kinds]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(kinds) + 1.5), 4.0), dpi=100)
    bars = ax.bar(kinds, values, color=["#1f77b4" if k != "all" else "#2ca02c" for k in kinds])
    for bar, kind in zip(bars, kinds, strict=True):
        _label(ax, bar, f"{table[kind]['passed']}/{table[kind]['asked']}", fontsize=8)
    ax.axhline(target, color="#d62728", linestyle="--", linewidth=1, label=f"target {target:.0%}")
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("items passed")
    ax.set_title("field set, end to end")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
