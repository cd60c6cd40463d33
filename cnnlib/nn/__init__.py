"""``cnnlib.nn``: layer objects and :class:`Module`, the NumPy twins of ``torch.nn``.

A layer keeps its parameters (and buffers such as running statistics) under torch's
names, computes its forward pass with one op of :mod:`cnnlib.functional`, and its
backward pass with that op's twin. Explained in chapter 2 (Module, Linear, Sequential)
and chapter 7 (convolution and pooling layers).
"""
from __future__ import annotations

from cnnlib.nn.layers import *  # noqa: F401,F403
from cnnlib.nn.layers import __all__ as _layers

__all__ = [*_layers]
