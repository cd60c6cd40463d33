"""Figures of repeated experiments: results with their spread over seeds.

Explained in chapter 9. Two pictures, both showing every run, not only the mean:

* :func:`plot_seed_bars`: one bar per configuration at the mean, an error bar of one
  standard deviation, and a dot per seed;
* :func:`plot_band`: one curve per configuration (e.g. the loss after each step), the
  mean over seeds with a band of one standard deviation around it.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["plot_seed_bars", "plot_band", "smooth"]


def _values(v) -> np.ndarray:
    return np.asarray(getattr(v, "values", v), dtype=np.float64)


def plot_seed_bars(results: Mapping, ax=None, *, scale: float = 100.0,
                   ylabel: str = "test accuracy (%)", title: str = "",
                   colors=None, ylim=None):
    """Bars at the mean of each configuration's runs (``results``: name -> values or
    :class:`cnnlib.train.experiments.SeedSummary`), with +-1 standard deviation and one
    dot per run, all times ``scale``; returns the Axes."""
    import matplotlib.pyplot as plt

    if not results:
        raise ValueError("results is empty: nothing to plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.3 + 1.3 * len(results), 3.4), layout="constrained")
    names = list(results)
    for i, name in enumerate(names):
        v = _values(results[name]) * scale
        color = colors[i] if colors is not None else f"C{i}"
        std = v.std(ddof=1) if len(v) > 1 else 0.0
        ax.bar(i, v.mean(), color=color, alpha=0.35, width=0.6)
        ax.errorbar(i, v.mean(), yerr=std, color=color, capsize=6, linewidth=2)
        jitter = np.linspace(-0.12, 0.12, len(v)) if len(v) > 1 else np.zeros(1)
        ax.plot(i + jitter, v, "o", color=color, markersize=4)
        ax.annotate(f"{v.mean():.1f} ± {std:.1f}", (i, v.mean() + std), ha="center",
                    va="bottom", xytext=(0, 3), textcoords="offset points", fontsize=9)
    ax.set_xticks(range(len(names)), names)
    ax.set(ylabel=ylabel, title=title)
    if ylim is not None:
        ax.set_ylim(*ylim)
    return ax


def smooth(y, window: int) -> np.ndarray:
    """Running mean over ``window`` steps along the last axis (valid part only)."""
    y = np.asarray(y, dtype=np.float64)
    if window <= 1:
        return y
    kernel = np.ones(window) / window
    return np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="valid"), -1, y)


def plot_band(curves: Mapping, ax=None, *, x=None, window: int = 1, xlabel: str = "step",
              ylabel: str = "training loss", title: str = "", log: bool = False,
              colors=None):
    """For each configuration (``curves``: name -> array (seeds, steps)), the mean over
    seeds (after a running mean over ``window`` steps) and a band of +-1 standard
    deviation; returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    for i, (name, c) in enumerate(curves.items()):
        c = smooth(np.atleast_2d(np.asarray(c, dtype=np.float64)), window)
        steps = (np.arange(c.shape[1]) + window if x is None
                 else np.asarray(x)[window - 1:window - 1 + c.shape[1]])
        mean = c.mean(axis=0)
        std = c.std(axis=0, ddof=1) if len(c) > 1 else np.zeros_like(mean)
        color = colors[i] if colors is not None else f"C{i}"
        ax.plot(steps, mean, color=color, label=f"{name} ({len(c)} seeds)")
        ax.fill_between(steps, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=9)
    return ax
