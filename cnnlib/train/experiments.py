"""Repeating an experiment over seeds and reporting its spread: the honest way to say
that one configuration beats another.

Explained in chapter 9. One training run is one draw of a random quantity (the initial
weights, the order of the batches, the augmentations all come from the seed), so a
single accuracy says little. :func:`over_seeds` runs the same experiment with several
seeds and :class:`SeedSummary` reports

.. math::
    \\bar a = \\frac1n \\sum_{i=1}^n a_i, \\qquad
    s = \\sqrt{\\frac{1}{n-1} \\sum_{i=1}^n (a_i - \\bar a)^2}, \\qquad
    \\text{sem} = s / \\sqrt n :

the mean, the sample standard deviation (the spread of one run: how much a single
result may move with the seed) and the standard error of the mean (how well the mean
itself is known). Two configurations compared on the same seeds (the same data subset
and the same initial weights) are best compared seed by seed, with :func:`paired`.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from cnnlib._validate import as_float_array

__all__ = ["SeedSummary", "summarize", "over_seeds", "paired"]


class SeedSummary(NamedTuple):
    """The results of n runs and their mean, sample standard deviation and standard
    error of the mean."""
    values: np.ndarray
    mean: float
    std: float
    sem: float

    def format(self, scale: float = 100.0, unit: str = " %", digits: int = 1) -> str:
        """``"90.3 ± 1.1 %"`` (mean ± standard deviation, times ``scale``)."""
        return (f"{self.mean * scale:.{digits}f} ± {self.std * scale:.{digits}f}{unit}"
                .rstrip())

    def __str__(self) -> str:
        return f"{self.format(1.0, '', 4)} over {len(self.values)} seeds"


def summarize(values) -> SeedSummary:
    """Mean, sample standard deviation (n - 1 in the denominator) and standard error of
    1-D ``values``; at least two are needed for a spread. Explained in chapter 9."""
    v = as_float_array(values, "values", ndim=1)
    if len(v) < 2:
        raise ValueError(f"a spread needs at least 2 runs, got {len(v)}")
    std = float(np.std(v, ddof=1))
    return SeedSummary(v.copy(), float(np.mean(v)), std, std / math.sqrt(len(v)))


def over_seeds(run: Callable[[int], float | dict], seeds: Sequence[int]
               ) -> SeedSummary | dict[str, SeedSummary]:
    """Call ``run(seed)`` once for each seed, in order, and summarise the results.

    ``run`` returns a number (e.g. a test accuracy) or a dict of numbers (every key in
    every run); the result is one :class:`SeedSummary`, or a dict of them by key.
    Explained in chapter 9."""
    if not callable(run):
        raise TypeError(f"run must be a function of the seed, got {type(run).__name__}")
    seeds = list(seeds)
    if len(seeds) < 2:
        raise ValueError(f"give at least 2 seeds to measure a spread, got {seeds}")
    results = [run(seed) for seed in seeds]
    if all(isinstance(r, dict) for r in results):
        keys = list(results[0])
        if any(list(r) != keys for r in results):
            raise ValueError("every run must return the same keys")
        return {k: summarize([r[k] for r in results]) for k in keys}
    return summarize(results)


def paired(a, b) -> SeedSummary:
    """The seed-by-seed differences b - a of two configurations run on the same seeds:
    a difference whose mean is several of its standard errors away from 0 is not luck.
    Explained in chapter 9."""
    a = a.values if isinstance(a, SeedSummary) else as_float_array(a, "a", ndim=1)
    b = b.values if isinstance(b, SeedSummary) else as_float_array(b, "b", ndim=1)
    if a.shape != b.shape:
        raise ValueError(f"a and b must hold one result per seed each, got {a.shape} and "
                         f"{b.shape}")
    return summarize(b - a)
