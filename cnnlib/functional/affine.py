"""The affine map of a fully connected layer, ``y = x W^T + b``.

Explained in chapter 2. PyTorch's layout: ``weight`` has shape (out_features,
in_features), so one row of ``weight`` is one unit's incoming weights. The seed's
Theta convention (bias folded in as column 0) is converted by :mod:`cnnlib.models.theta`.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_dout, as_float_arrays, check_ndim, check_shape, snapshot

__all__ = ["linear", "linear_forward", "linear_backward"]


def _validate(input, weight, bias):
    x, w, b = as_float_arrays(input=input, weight=weight, bias=bias)
    check_ndim(w, "weight", 2)
    if x.ndim < 1:
        raise ValueError(f"input must have at least 1 dimension, got shape {x.shape}")
    if x.shape[-1] != w.shape[1]:
        raise ValueError(f"input's last dimension must equal weight.shape[1] "
                         f"(in_features): input.shape={x.shape}, weight.shape={w.shape}")
    if b is not None:
        check_shape(b, "bias", (w.shape[0],))
    return x, w, b


def linear(input, weight, bias=None) -> np.ndarray:
    r"""Affine map :math:`y = x W^\top + b`.

    input : (*, in_features); weight : (out_features, in_features);
    bias : (out_features,) or None. Returns (*, out_features).
    """
    x, w, b = _validate(input, weight, bias)
    out = x @ w.T
    return out + b if b is not None else out


def linear_forward(input, weight, bias=None):
    """Linear map that also returns its cache ``(input, weight, has_bias)``: its own
    copies of input and weight, which the backward multiplies."""
    x, w, b = _validate(input, weight, bias)
    out = x @ w.T
    if b is not None:
        out = out + b
    return out, (snapshot(x, input), snapshot(w, weight), b is not None)


def linear_backward(dout, cache):
    r"""Gradients of :math:`y = x W^\top + b`.

    dout : (*, out_features). Returns ``(dinput, dweight, dbias)`` with
    :math:`\partial L/\partial x = d\,W`, :math:`\partial L/\partial W = d^\top x`
    (summed over all leading axes), :math:`\partial L/\partial b = \sum d`;
    ``dbias`` is None when the forward had no bias.
    """
    x, w, has_bias = cache
    dout = as_dout(dout, x.shape[:-1] + (w.shape[0],), x.dtype)
    rows = int(np.prod(x.shape[:-1]))          # every leading axis, flattened
    d2 = dout.reshape(rows, w.shape[0])
    dx = dout @ w
    dw = d2.T @ x.reshape(rows, w.shape[1])
    db = d2.sum(axis=0) if has_bias else None
    return dx, dw, db
