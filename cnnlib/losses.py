"""Loss functions and their gradients with respect to the prediction.

Explained in chapter 1 (log-loss), chapter 3 (cross-entropy over K classes). Names,
argument order, defaults and ``reduction`` ('mean' | 'sum' | 'none') as in
``torch.nn.functional``. ``*_backward(dout, cache)`` returns the gradient with respect
to ``input`` only (targets are data, not parameters); ``dout`` is a scalar for
'mean'/'sum' and an array of the unreduced shape for 'none'.

A note on signs: the lecture notes write the log-likelihood
:math:`L(y,\hat y) = y\log\hat y + (1-y)\log(1-\hat y)`, which training *maximises*.
Every loss here is the quantity that training *minimises*: its negative, the
cross-entropy.
"""
from __future__ import annotations

import numpy as np

from ._validate import (as_float_array, as_int_array, check_in, check_same_shape)
from .softmax import log_softmax

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_forward", "binary_cross_entropy_backward",
    "binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits_forward",
    "binary_cross_entropy_with_logits_backward",
    "cross_entropy", "cross_entropy_forward", "cross_entropy_backward",
    "mse_loss", "mse_loss_forward", "mse_loss_backward",
]

_REDUCTIONS = ("mean", "sum", "none")
# PyTorch clamps log(p) at -100 in binary_cross_entropy so that p = 0 or 1 gives a
# large finite loss instead of infinity; we do the same so the two agree everywhere.
_LOG_FLOOR = -100.0


def _reduce(per_elem: np.ndarray, reduction: str):
    if reduction == "mean":
        return per_elem.mean()
    if reduction == "sum":
        return per_elem.sum()
    return per_elem


def _unreduce(dout, shape, n: int, reduction: str, dtype) -> np.ndarray:
    """Spread the upstream gradient of a reduced loss back over the elements."""
    d = as_float_array(dout, "dout")
    if reduction == "none":
        if d.shape != tuple(shape):
            raise ValueError(f"dout must have the unreduced shape {tuple(shape)} when "
                             f"reduction='none', got {d.shape}")
        return d
    if d.size != 1:
        raise ValueError(f"dout must be a scalar when reduction={reduction!r}, got "
                         f"shape {d.shape}")
    scale = d.reshape(()) / n if reduction == "mean" else d.reshape(())
    return np.full(shape, scale, dtype=np.result_type(dtype, d.dtype))


def _pair(input, target, reduction, weight=None):
    x = as_float_array(input, "input")
    t = as_float_array(target, "target")
    check_same_shape(x, "input", t, "target")
    check_in(reduction, "reduction", _REDUCTIONS)
    w = None
    if weight is not None:
        w = as_float_array(weight, "weight")
        try:
            np.broadcast_shapes(w.shape, x.shape)
            ok = np.broadcast_shapes(w.shape, x.shape) == x.shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"weight must broadcast to input's shape {x.shape}, got "
                             f"weight.shape={w.shape}")
    return x, t, w


# ------------------------------------------------------------ binary cross-entropy
def binary_cross_entropy_forward(input, target, weight=None, reduction: str = "mean"):
    r"""Log-loss on probabilities, :math:`-[y\log p + (1-y)\log(1-p)]`.

    input : probabilities in [0, 1], any shape; target : same shape, values in [0, 1];
    weight : optional per-element rescaling, broadcastable to input.
    Returns ``(loss, cache)``.
    """
    p, y, w = _pair(input, target, reduction, weight)
    if p.size and (p.min() < 0 or p.max() > 1 or not np.all(np.isfinite(p))):
        raise ValueError(f"input must hold probabilities in [0, 1] (did you mean "
                         f"binary_cross_entropy_with_logits?), got values from "
                         f"{np.nanmin(p)} to {np.nanmax(p)}")
    log_p = np.maximum(np.log(np.maximum(p, np.exp(_LOG_FLOOR))), _LOG_FLOOR)
    log_1mp = np.maximum(np.log(np.maximum(1 - p, np.exp(_LOG_FLOOR))), _LOG_FLOOR)
    per = -(y * log_p + (1 - y) * log_1mp)
    if w is not None:
        per = per * w
    return _reduce(per, reduction), (p, y, w, reduction)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """Log-loss on probabilities (see :func:`binary_cross_entropy_forward`)."""
    return binary_cross_entropy_forward(input, target, weight, reduction)[0]


def binary_cross_entropy_backward(dout, cache) -> np.ndarray:
    r""":math:`\partial\ell/\partial p = (p - y) / (p(1-p))`, with the denominator
    clamped at 1e-12 as PyTorch does."""
    p, y, w, reduction = cache
    d = _unreduce(dout, p.shape, p.size, reduction, p.dtype)
    g = (p - y) / np.maximum(p * (1 - p), 1e-12)
    if w is not None:
        g = g * w
    return (d * g).astype(np.result_type(p.dtype, d.dtype), copy=False)


# ----------------------------------------------- binary cross-entropy on logits
def binary_cross_entropy_with_logits_forward(input, target, weight=None,
                                             reduction: str = "mean"):
    r"""Log-loss of :math:`\sigma(z)` computed straight from the logit z:

    .. math:: \ell = \max(z, 0) - z y + \log(1 + e^{-|z|})

    which equals :math:`-[y\log\sigma(z) + (1-y)\log(1-\sigma(z))]` but never
    overflows, so z = ±1e4 gives a finite loss and no warning.
    """
    z, y, w = _pair(input, target, reduction, weight)
    per = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    if w is not None:
        per = per * w
    return _reduce(per, reduction), (z, y, w, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean"):
    """Log-loss on logits (see :func:`binary_cross_entropy_with_logits_forward`)."""
    return binary_cross_entropy_with_logits_forward(input, target, weight, reduction)[0]


def binary_cross_entropy_with_logits_backward(dout, cache) -> np.ndarray:
    r""":math:`\partial\ell/\partial z = \sigma(z) - y`: the famous "prediction minus
    target" of logistic regression."""
    from .activations import sigmoid
    z, y, w, reduction = cache
    d = _unreduce(dout, z.shape, z.size, reduction, z.dtype)
    g = sigmoid(z) - y
    if w is not None:
        g = g * w
    return (d * g).astype(np.result_type(z.dtype, d.dtype), copy=False)


# ------------------------------------------------------------------ cross-entropy
def cross_entropy_forward(input, target, reduction: str = "mean",
                          label_smoothing: float = 0.0):
    r"""Softmax cross-entropy :math:`-\sum_k y_k \log \mathrm{softmax}(z)_k` per row.

    input : logits of shape (N, C).
    target : class indices of shape (N,) with values in [0, C), or class
    probabilities of shape (N, C) (rows summing to one).
    label_smoothing : epsilon in [0, 1]; the target becomes (1-eps) y + eps / C.
    Returns ``(loss, cache)``; the loss is a scalar unless reduction='none' (shape (N,)).

    PyTorch's ``weight`` and ``ignore_index`` are not supported.
    """
    z = as_float_array(input, "input", ndim=2)
    check_in(reduction, "reduction", _REDUCTIONS)
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)) \
            or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be a number in [0, 1], got "
                         f"{label_smoothing!r}")
    n, c = z.shape
    t = np.asarray(target)
    if t.ndim == 1:
        idx = as_int_array(t, "target")
        if idx.shape[0] != n:
            raise ValueError(f"target must have shape ({n},) to match input of shape "
                             f"{z.shape}, got {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= c):
            raise ValueError(f"target must hold class indices in [0, {c}) for input of "
                             f"shape {z.shape}, got values from {idx.min()} to "
                             f"{idx.max()}")
        y = np.zeros_like(z)
        y[np.arange(n), idx] = 1
    elif t.ndim == 2:
        y = as_float_array(t, "target")
        check_same_shape(z, "input", y, "target")
    else:
        raise ValueError(f"target must be class indices of shape ({n},) or "
                         f"probabilities of shape {z.shape}, got shape {t.shape}")
    if label_smoothing:
        y = (1 - label_smoothing) * y + label_smoothing / c
    logp = log_softmax(z, dim=1)
    per = -(y * logp).sum(axis=1)
    return _reduce(per, reduction), (logp, y, reduction)


def cross_entropy(input, target, reduction: str = "mean", label_smoothing: float = 0.0):
    """Softmax cross-entropy (see :func:`cross_entropy_forward`)."""
    return cross_entropy_forward(input, target, reduction, label_smoothing)[0]


def cross_entropy_backward(dout, cache) -> np.ndarray:
    r""":math:`\partial\ell_n/\partial z_{nk} = (\sum_j y_{nj})\,\mathrm{softmax}(z_n)_k
    - y_{nk}`, which is "softmax minus one-hot" when the target rows sum to one."""
    logp, y, reduction = cache
    n = logp.shape[0]
    d = _unreduce(dout, (n,), n, reduction, logp.dtype)
    g = np.exp(logp) * y.sum(axis=1, keepdims=True) - y
    return (d[:, None] * g).astype(np.result_type(logp.dtype, d.dtype), copy=False)


# -------------------------------------------------------------------- squared error
def mse_loss_forward(input, target, reduction: str = "mean"):
    r"""Squared error :math:`(x - y)^2`, averaged (or summed) over all elements."""
    x, y, _ = _pair(input, target, reduction)
    diff = x - y
    return _reduce(diff * diff, reduction), (diff, reduction)


def mse_loss(input, target, reduction: str = "mean"):
    """Squared error (see :func:`mse_loss_forward`)."""
    return mse_loss_forward(input, target, reduction)[0]


def mse_loss_backward(dout, cache) -> np.ndarray:
    r""":math:`\partial\ell/\partial x = 2 (x - y)`, scaled by 1/N for 'mean'."""
    diff, reduction = cache
    d = _unreduce(dout, diff.shape, diff.size, reduction, diff.dtype)
    return (2 * d * diff).astype(np.result_type(diff.dtype, d.dtype), copy=False)
