"""Multi-class outputs: one-hot labels, softmax and log-softmax.

Explained in chapter 3 (one-vs-rest versus a softmax output). Same names, argument
order and defaults as ``torch.nn.functional`` (``dim`` defaults to the last axis here;
PyTorch's implicit ``dim=None`` is deprecated there).
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_dout, as_float_array, as_int_array, check_int

__all__ = ["one_hot", "softmax", "softmax_forward", "softmax_backward",
           "log_softmax", "log_softmax_forward", "log_softmax_backward"]


def one_hot(tensor, num_classes: int = -1) -> np.ndarray:
    """1-of-K encoding: ``out[..., k] = 1`` where ``tensor == k``.

    tensor : integer array of any shape, values in ``[0, num_classes)``.
    num_classes : K; ``-1`` means ``tensor.max() + 1`` (as in PyTorch).
    Returns an int64 array of shape ``tensor.shape + (K,)``.
    """
    labels = as_int_array(tensor, "tensor")
    num_classes = check_int(num_classes, "num_classes")
    if num_classes == -1:
        if labels.size == 0:
            raise ValueError("num_classes=-1 needs a non-empty tensor to infer K from")
        num_classes = int(labels.max()) + 1
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive or -1, got {num_classes}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"tensor must hold class indices in [0, {num_classes}), got "
                         f"values from {labels.min()} to {labels.max()}")
    return (labels[..., None] == np.arange(num_classes)).astype(np.int64)


def _check_dim(z: np.ndarray, dim: int) -> int:
    dim = check_int(dim, "dim")
    if z.ndim == 0 or not -z.ndim <= dim < z.ndim:
        raise ValueError(f"dim={dim} is out of range for input of shape {z.shape}")
    return int(dim)


def log_softmax(input, dim: int = -1) -> np.ndarray:
    r"""Log-softmax :math:`z_k - \log\sum_j e^{z_j}` along ``dim``.

    Subtracting the maximum first (the log-sum-exp trick) keeps every exponent <= 0,
    so logits of size 1e4 give finite results with no overflow.
    """
    z = as_float_array(input, "input")
    dim = _check_dim(z, dim)
    if z.shape[dim] == 0:                 # no classes: an empty result, as in PyTorch
        return z.copy()
    shifted = z - z.max(axis=dim, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


def softmax(input, dim: int = -1) -> np.ndarray:
    r"""Softmax :math:`e^{z_k} / \sum_j e^{z_j}` along ``dim``; rows sum to one."""
    return np.exp(log_softmax(input, dim))


def softmax_forward(input, dim: int = -1):
    """Softmax that also returns its cache (its own copy of the output, and dim)."""
    out = softmax(input, dim)
    return out, (out.copy(), dim)


def softmax_backward(dout, cache) -> np.ndarray:
    r"""Jacobian-vector product :math:`s \odot (d - \langle d, s\rangle)` along ``dim``."""
    s, dim = cache
    dout = as_dout(dout, s.shape, s.dtype)
    return s * (dout - (dout * s).sum(axis=dim, keepdims=True))


def log_softmax_forward(input, dim: int = -1):
    """Log-softmax that also returns its cache (the softmax, exp of the output, which
    is what the backward needs; and dim)."""
    out = log_softmax(input, dim)
    return out, (np.exp(out), dim)


def log_softmax_backward(dout, cache) -> np.ndarray:
    r""":math:`d - \mathrm{softmax}(z) \sum_k d_k` along ``dim``."""
    s, dim = cache
    dout = as_dout(dout, s.shape, s.dtype)
    return dout - s * dout.sum(axis=dim, keepdims=True)
