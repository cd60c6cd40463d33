"""A small labelled subset of a larger training set: ``per_class`` examples of each
class, the "only a few labels" setting of chapters 10 and 11.

Explained in chapter 10.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_int_array, as_rng, check_positive_int

__all__ = ["labelled_subset"]


def labelled_subset(y, per_class: int, rng=0) -> np.ndarray:
    """Indices of ``per_class`` examples of every class in ``y``, drawn without
    replacement.

    y : int labels of shape (N,); every class present in y must have at least
        ``per_class`` examples.
    per_class : how many labelled examples of each class to keep (>= 1).
    rng : Generator, int seed or None; which examples are drawn.

    Returns int64 indices into y, shape (n_classes * per_class,), in random order (so
    ``X[idx], y[idx]`` is a shuffled, exactly balanced subset). With the same seed, a
    larger ``per_class`` keeps the examples a smaller one chose and adds new ones, so
    the subsets are nested: 5 labels per class are among the 10. Explained in
    chapter 10.
    """
    labels = as_int_array(y, "y", ndim=1)
    k = check_positive_int(per_class, "per_class")
    gen = as_rng(rng)
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) == 0:
        raise ValueError("y is empty: there is no class to draw from")
    short = counts < k
    if short.any():
        raise ValueError(f"per_class={k} but class {classes[short][0]} has only "
                         f"{counts[short][0]} examples in y (shape {labels.shape})")
    # one random permutation per class, drawn in class order: nested subsets
    chosen = [np.flatnonzero(labels == c)[gen.permutation(n)[:k]]
              for c, n in zip(classes, counts)]
    picked = np.concatenate(chosen).astype(np.int64)
    return picked[gen.permutation(len(picked))]
