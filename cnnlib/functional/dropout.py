r"""Dropout: during training, each unit is switched off at random with probability p,
and the survivors are scaled up by :math:`1/(1-p)`.

Explained in chapter 9. Same name, argument order and defaults as
``torch.nn.functional.dropout``; NumPy has no global generator that PyTorch's seed
controls, so the random draws come from ``rng`` (a Generator or a seed), and a fixed
``mask`` may be given instead (to repeat a draw, or to match one made elsewhere).

.. math::
    y = \frac{m \odot x}{1 - p}, \qquad m_i \sim \text{Bernoulli}(1 - p)
    \ \text{independently},

so that :math:`\mathbb E[y] = x`: the expected input of the next layer is the same in
training and in evaluation, where dropout is the identity.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_dout, as_float_array, as_rng, check_bool, check_number

__all__ = ["dropout", "dropout_forward", "dropout_backward"]


def _keep_mask(x: np.ndarray, p: float, rng, mask) -> np.ndarray:
    if mask is None:
        return as_rng(rng).random(x.shape) >= p          # True with probability 1 - p
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        if not np.issubdtype(m.dtype, np.number) or not np.all((m == 0) | (m == 1)):
            raise TypeError(f"mask must hold booleans (or 0/1), got dtype {m.dtype}")
        m = m.astype(bool)
    if m.shape != x.shape:
        raise ValueError(f"mask must have the input's shape {x.shape}, got {m.shape}")
    return m


def dropout_forward(input, p: float = 0.5, training: bool = True, inplace: bool = False,
                    *, rng: np.random.Generator | int | None = None,
                    mask=None) -> tuple[np.ndarray, np.ndarray | tuple]:
    r"""Dropout that also returns its cache: the scaled mask :math:`m/(1-p)`, or in
    evaluation mode (``training=False``, the identity) only the input's shape.

    input : any shape; p : the probability of dropping a unit, in [0, 1] (p = 1 drops
    everything and gives zeros); rng : the generator of the mask; mask : a boolean array
    of the input's shape (True = kept), used instead of drawing one; inplace : write the
    result into ``input`` (which must then be a float array). Explained in chapter 9.
    """
    x = as_float_array(input, "input")
    p = check_number(p, "p", low=0.0, high=1.0)
    training = check_bool(training, "training")
    inplace = check_bool(inplace, "inplace")
    if inplace and x is not input:
        raise TypeError("inplace=True needs a float32 or float64 NumPy array to write "
                        "into")
    if not training:
        return x, (x.shape, x.dtype)
    keep = _keep_mask(x, p, rng, mask)
    # p = 1 keeps nothing: the scale is irrelevant (PyTorch returns zeros)
    scale = np.zeros(x.shape, x.dtype) if p == 1 else \
        keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    if inplace:
        x *= scale
        return x, scale
    return x * scale, scale


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False, *,
            rng: np.random.Generator | int | None = None, mask=None) -> np.ndarray:
    r"""``torch.nn.functional.dropout``: :math:`m \odot x / (1 - p)` with a fresh random
    keep-mask :math:`m` in training, the input itself otherwise. Explained in
    chapter 9."""
    return dropout_forward(input, p, training, inplace, rng=rng, mask=mask)[0]


def dropout_backward(dout, cache) -> np.ndarray:
    r""":math:`\partial L/\partial x = m \odot \partial L/\partial y / (1 - p)` (the
    identity in evaluation mode). Explained in chapter 9."""
    if isinstance(cache, tuple):                     # evaluation mode: the identity
        return as_dout(dout, *cache)
    d = as_dout(dout, cache.shape, cache.dtype)
    return (d * cache).astype(cache.dtype, copy=False)
