"""Elementwise non-linearities as layers: each a pair of functional ops.

Explained in chapter 1 (sigmoid), chapter 2 (tanh), chapter 5 (ReLU, leaky ReLU) and
chapter 9 (the leaky ReLU's slope).
"""
from __future__ import annotations

import numpy as np

from cnnlib import functional as F
from cnnlib._validate import check_number
from cnnlib.nn.module import Module

__all__ = ["Sigmoid", "ReLU", "LeakyReLU", "Tanh"]


class _Activation(Module):
    """A non-linearity without parameters: ``op_forward(x) -> (out, cache)`` and
    ``op_backward(dout, cache) -> dx`` of :mod:`cnnlib.functional`."""

    _forward = staticmethod(lambda x: (x, None))
    _backward = staticmethod(lambda dout, cache: dout)

    def forward(self, x) -> np.ndarray:
        out, cache = type(self)._forward(x)
        self.save_for_backward(cache)
        return out

    def backward(self, dout) -> np.ndarray:
        return type(self)._backward(dout, self.saved())


class Sigmoid(_Activation):
    r"""Elementwise logistic sigmoid :math:`g(z) = 1/(1+e^{-z})`."""
    _forward = staticmethod(F.sigmoid_forward)
    _backward = staticmethod(F.sigmoid_backward)


class ReLU(_Activation):
    r"""Elementwise :math:`\max(0, z)`."""
    _forward = staticmethod(F.relu_forward)
    _backward = staticmethod(F.relu_backward)


class Tanh(_Activation):
    r"""Elementwise :math:`\tanh z`."""
    _forward = staticmethod(F.tanh_forward)
    _backward = staticmethod(F.tanh_backward)


class LeakyReLU(Module):
    r"""Elementwise :math:`z` for z > 0 and ``negative_slope`` :math:`\cdot z`
    otherwise."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = check_number(negative_slope, "negative_slope")

    def forward(self, x) -> np.ndarray:
        out, cache = F.leaky_relu_forward(x, self.negative_slope)
        self.save_for_backward(cache)
        return out

    def backward(self, dout) -> np.ndarray:
        return F.leaky_relu_backward(dout, self.saved())

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"
