"""Initial weights, drawn as ``torch.nn.init`` draws them (from a NumPy generator).

Explained in chapter 2 (why the scale of the first weights matters) and chapter 7
(convolution layers). PyTorch's default for ``Linear`` and ``Conv2d`` is
``kaiming_uniform_(weight, a=sqrt(5))``, which comes down to

.. math:: W \\sim \\mathcal U\\bigl(-1/\\sqrt{\\text{fan\\_in}},\\ 1/\\sqrt{\\text{fan\\_in}}\\bigr),

and the same interval for the bias; fan_in is the number of inputs of one output unit
(``in_features``, or ``in_channels / groups * kh * kw`` for a convolution).
"""
from __future__ import annotations

import math

import numpy as np

from cnnlib._validate import as_rng

__all__ = ["fan_in", "kaiming_uniform", "uniform", "check_dtype"]


def check_dtype(dtype) -> np.dtype:
    """float32 or float64 (PyTorch's default is float32, the book's float64)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def fan_in(shape: tuple[int, ...]) -> int:
    """Inputs per output unit of a weight of ``shape``: (out, in, *kernel) -> in * prod(kernel)."""
    if len(shape) < 2:
        raise ValueError(f"fan_in needs a weight of at least 2 dimensions, got shape {shape}")
    return int(shape[1] * math.prod(shape[2:]))


def uniform(shape: tuple[int, ...], bound: float, rng=None,
            dtype=np.float64) -> np.ndarray:
    """Independent draws from U(-bound, bound), as ``torch.nn.init.uniform_``."""
    return as_rng(rng).uniform(-bound, bound, shape).astype(check_dtype(dtype))


def kaiming_uniform(shape: tuple[int, ...], a: float = math.sqrt(5), rng=None,
                    dtype=np.float64) -> np.ndarray:
    r"""``torch.nn.init.kaiming_uniform_`` (leaky-ReLU gain with slope ``a``, fan-in
    mode): U(-b, b) with :math:`b = \sqrt{2/(1+a^2)}\,\sqrt{3/\text{fan\_in}}`."""
    bound = math.sqrt(2.0 / (1 + a * a)) * math.sqrt(3.0 / fan_in(shape))
    return uniform(shape, bound, rng, dtype)
