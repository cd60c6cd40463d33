"""Flatten: images become vectors for a Linear layer.

Explained in chapter 7.
"""
from __future__ import annotations

import math

import numpy as np

from cnnlib._validate import as_dout, as_float_array, check_int
from cnnlib.nn.module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """Reshape (N, d1, d2, ...) to (N, d1*d2*...), as ``torch.nn.Flatten`` does with its
    defaults ``start_dim=1, end_dim=-1``; dims ``start_dim..end_dim`` are merged."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = check_int(start_dim, "start_dim")
        self.end_dim = check_int(end_dim, "end_dim")

    def forward(self, x) -> np.ndarray:
        x = as_float_array(x, "x")
        nd = max(x.ndim, 1)
        s = self.start_dim % nd if -nd <= self.start_dim < nd else None
        e = self.end_dim % nd if -nd <= self.end_dim < nd else None
        if s is None or e is None or s > e:
            raise ValueError(f"cannot flatten dims {self.start_dim}..{self.end_dim} of an "
                             f"input of shape {x.shape}")
        shape = x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:]
        self.save_for_backward((x.shape, shape))
        return x.reshape(shape)

    def backward(self, dout) -> np.ndarray:
        in_shape, out_shape = self.saved()
        # The gradient must have the output's exact shape: one of the same size but
        # another shape would be reshaped silently into nonsense.
        return as_dout(dout, out_shape).reshape(in_shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
