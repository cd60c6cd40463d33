"""The fully connected layer, and the identity.

Explained in chapter 2.
"""
from __future__ import annotations

import math

import numpy as np

from cnnlib import functional as F
from cnnlib._validate import as_rng, check_bool, check_positive_int
from cnnlib.nn.init import check_dtype, kaiming_uniform, uniform
from cnnlib.nn.module import Module

__all__ = ["Linear", "Identity"]


class Linear(Module):
    r"""Fully connected layer :math:`y = x W^\top + b`.

    weight : (out_features, in_features); bias : (out_features,).
    Initialised as PyTorch does (:func:`cnnlib.nn.init.kaiming_uniform`, which is
    :math:`\mathcal U(-1/\sqrt{\text{in}}, 1/\sqrt{\text{in}})` for the weight and the
    bias), drawn from ``rng``. ``dtype`` is float64 by default (PyTorch's default is
    float32). In the Theta notation of chapters 1-3 this is one :math:`\Theta^{(l)}`
    with the bias as its column 0 (see :mod:`cnnlib.models.theta`).

    forward: x of shape (N, in_features) (or (*, in_features)) -> (N, out_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng: np.random.Generator | int | None = None,
                 dtype: type = np.float64) -> None:
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        check_bool(bias, "bias")
        dtype = check_dtype(dtype)
        gen = as_rng(rng)
        self.register_parameter("weight", kaiming_uniform(
            (self.out_features, self.in_features), rng=gen, dtype=dtype))
        if bias:
            self.register_parameter("bias", uniform(
                (self.out_features,), 1 / math.sqrt(self.in_features), gen, dtype))

    def forward(self, x) -> np.ndarray:
        out, cache = F.linear_forward(x, self.params["weight"], self.params.get("bias"))
        self.save_for_backward(cache)
        return out

    def backward(self, dout) -> np.ndarray:
        dx, dw, db = F.linear_backward(dout, self.saved())
        self.accumulate("weight", dw)
        self.accumulate("bias", db)
        return dx

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={'bias' in self.params}")


class Identity(Module):
    """Returns its input unchanged (``torch.nn.Identity``): the placeholder that replaces
    a layer, e.g. a network's head when only its features are wanted."""

    def forward(self, x):
        return x

    def backward(self, dout):
        return dout
