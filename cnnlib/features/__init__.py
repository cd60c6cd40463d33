"""``cnnlib.features``: filters and features chosen by hand.

* :mod:`~cnnlib.features.kernels`: the gallery of classic 3x3 kernels (edge detection,
  sharpen, blurs) and the banded (Toeplitz) matrices that show a convolution is a
  sparse fully connected layer (chapters 4-5).
"""
from __future__ import annotations

from cnnlib.features.kernels import *  # noqa: F401,F403
from cnnlib.features.kernels import __all__ as _kernels

__all__ = [*_kernels]
