"""Figures of chapter 10: accuracy against the number of labels, and a layer's filters.

Explained in chapter 10.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["plot_label_curves", "show_filters"]


def plot_label_curves(results: Mapping, ax=None, *, scale: float = 100.0,
                      ylabel: str = "test accuracy (%)", title: str = "", colors=None):
    """One line per method through the mean accuracy at each labelled-set size, with
    +-1 standard deviation as error bars; ``results``: method -> {labels per class ->
    values over seeds or a ``SeedSummary``}. The x axis is logarithmic. Returns the
    Axes."""
    import matplotlib.pyplot as plt

    if not results:
        raise ValueError("results is empty: nothing to plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    sizes: set = set()
    for i, (name, by_size) in enumerate(results.items()):
        ks = sorted(by_size)
        sizes.update(ks)
        vals = [np.asarray(getattr(by_size[k], "values", by_size[k]), float) * scale
                for k in ks]
        mean = [v.mean() for v in vals]
        std = [v.std(ddof=1) if len(v) > 1 else 0.0 for v in vals]
        color = colors[i] if colors is not None else f"C{i}"
        n = min(len(v) for v in vals)
        ax.errorbar(ks, mean, yerr=std, marker="o", capsize=4, color=color,
                    label=f"{name} ({n} seeds)")
    ax.set_xscale("log")
    ticks = sorted(sizes)
    ax.set_xticks(ticks, [str(k) for k in ticks])
    ax.minorticks_off()
    ax.set(xlabel="labelled examples per class", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    return ax


def show_filters(weights, axes, *, title: str = "", symmetric: bool = True):
    """Draw the first-layer filters ``weights`` (out_channels, 1, kh, kw) one per Axes
    in ``axes`` (a row), each on its own grey scale (symmetric about 0 when
    ``symmetric``: mid-grey is 0)."""
    w = np.asarray(weights, float)
    if w.ndim != 4 or w.shape[1] != 1:
        raise ValueError(f"weights must have shape (out_channels, 1, kh, kw), got {w.shape}")
    axes = list(np.ravel(axes))
    for ax, f in zip(axes, w[:, 0]):
        m = np.abs(f).max() or 1.0
        ax.imshow(f, cmap="gray", vmin=-m if symmetric else f.min(),
                  vmax=m if symmetric else f.max())
        ax.set(xticks=[], yticks=[])
    if title and axes:
        axes[0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize=9)
    return axes
