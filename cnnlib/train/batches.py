"""Mini-batches: the order in which a training loop visits the data.

Explained in chapter 2 (mini-batch gradient descent) and chapter 9 (a random
augmentation drawn afresh for every batch).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from cnnlib._validate import as_rng, check_bool, check_positive_int

__all__ = ["Transform", "iterate_minibatches", "num_batches"]

#: A per-batch transform: ``transform(x_batch, rng) -> x_batch`` (same leading size);
#: every random draw comes from ``rng``, so a seeded run is repeatable.
Transform = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """How many mini-batches of ``batch_size`` cover ``n`` examples."""
    return n // batch_size if drop_last else -(-n // batch_size)


def iterate_minibatches(X: np.ndarray, y: np.ndarray | None = None, batch_size: int = 32,
                        *, shuffle: bool = True, rng=None,
                        transform: Transform | None = None,
                        drop_last: bool = False) -> Iterator:
    """Yield ``(x_batch, y_batch)`` (or ``x_batch`` alone when ``y`` is None) over one
    pass of the data.

    X : (N, ...) ; y : (N, ...) or None. shuffle : a fresh random order from ``rng``
    (otherwise the stored order). The last batch may be smaller unless ``drop_last``.
    transform : applied to each x batch with the same ``rng`` (augmentation), never to
    the whole data set, so the stored arrays are not copied or changed.

    Only the examples of one batch are gathered at a time: a pass costs one copy of the
    data in batch-sized pieces, not a shuffled copy of the whole set.
    """
    if len(X) == 0:
        raise ValueError("X holds no examples: there is nothing to iterate over")
    if y is not None and len(y) != len(X):
        raise ValueError(f"X and y must have the same number of examples, got {len(X)} "
                         f"and {len(y)}")
    bs = check_positive_int(batch_size, "batch_size")
    gen = as_rng(rng)
    n = len(X)
    order = gen.permutation(n) if check_bool(shuffle, "shuffle") else np.arange(n)
    stop = n - n % bs if drop_last else n
    for start in range(0, stop, bs):
        idx = order[start:start + bs]
        xb = X[idx]
        if transform is not None:
            out = transform(xb, gen)
            if len(out) != len(xb):
                raise ValueError(f"the transform returned {len(out)} examples for a batch "
                                 f"of {len(xb)}")
            xb = out
        yield xb if y is None else (xb, y[idx])
