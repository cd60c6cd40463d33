r"""Loss functions and their gradients with respect to the prediction.

Explained in chapter 1 (log-loss), chapter 3 (cross-entropy over K classes). Names,
argument order, defaults and ``reduction`` ('mean' | 'sum' | 'none') as in
``torch.nn.functional``. As there, ``input`` and ``target`` (and ``weight``, where the
loss has one) are positional; every other option is passed by keyword, which keeps a
call valid in both libraries (PyTorch's deprecated ``size_average``/``reduce`` sit
between them in its positional order).

``*_backward(dout, cache)`` returns the gradient with respect to ``input`` only (targets
are data, not parameters); ``dout`` is a scalar for 'mean'/'sum' and an array of the
unreduced shape for 'none'. A float32 ``input`` gives a float32 loss and gradient: the
target and weights are cast to the input's dtype, and a Python number as ``dout``
does not promote.

A note on signs: the lecture notes write the log-likelihood
:math:`L(y,\hat y) = y\log\hat y + (1-y)\log(1-\hat y)`, which training *maximises*.
Every loss here is the quantity that training *minimises*: its negative, the
cross-entropy.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import (as_float_array, as_int_array, check_in, check_same_shape,
                        check_shape)
from cnnlib.functional.activations import sigmoid
from cnnlib.functional.probabilities import log_softmax

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
# ... and clamps the denominator p (1 - p) of its gradient at this value.
_GRAD_EPS = 1e-12


# ------------------------------------------------------------------------- helpers
def _reduce(per_elem: np.ndarray, reduction: str, denom=None):
    """'sum', 'none', or 'mean' = sum / denom (denom defaults to the element count)."""
    if reduction == "none":
        return per_elem
    total = per_elem.sum()
    if reduction == "sum":
        return total
    denom = per_elem.size if denom is None else denom
    if denom == 0:                       # empty batch: PyTorch also answers nan
        return np.array(np.nan, dtype=per_elem.dtype)[()]
    return (total / denom).astype(per_elem.dtype)


def _unreduce(dout, shape, denom, reduction: str, dtype) -> np.ndarray:
    """Spread the upstream gradient of a reduced loss back over the elements.

    A Python number as ``dout`` takes the input's dtype (as in NumPy's own promotion
    rules), so ``backward(1.0, cache)`` keeps a float32 computation in float32.
    """
    d = as_float_array(dout, "dout")
    if isinstance(dout, (int, float)) and not isinstance(dout, (bool, np.generic)):
        d = d.astype(dtype)
    out_dtype = np.result_type(dtype, d.dtype)
    if reduction == "none":
        if d.shape != tuple(shape):
            raise ValueError(f"dout must have the unreduced shape {tuple(shape)} when "
                             f"reduction='none', got {d.shape}")
        return d.astype(out_dtype, copy=False)
    if d.size != 1:
        raise ValueError(f"dout must be a scalar when reduction={reduction!r}, got "
                         f"shape {d.shape}")
    scale = d.reshape(()) / denom if reduction == "mean" else d.reshape(())
    return np.full(shape, scale, dtype=out_dtype)


def _broadcast_weight(weight, name: str, shape: tuple, dtype) -> np.ndarray | None:
    """Optional elementwise weights that must broadcast to ``shape``, cast to ``dtype``."""
    if weight is None:
        return None
    w = as_float_array(weight, name)
    try:
        ok = np.broadcast_shapes(w.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must broadcast to input's shape {shape}, got "
                         f"{name}.shape={w.shape}")
    return w.astype(dtype, copy=False)


def _pair(input, target, reduction):
    """Validate an (input, target) pair of equal shapes; the target takes the input's
    float dtype, so integer labels do not promote a float32 loss to float64."""
    x = as_float_array(input, "input")
    t = as_float_array(target, "target")
    check_same_shape(x, "input", t, "target")
    check_in(reduction, "reduction", _REDUCTIONS)
    return x, t.astype(x.dtype, copy=False)


def _softplus(z: np.ndarray) -> np.ndarray:
    r""":math:`\log(1 + e^{z}) = \max(z, 0) + \log(1 + e^{-|z|})`: never overflows."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


# ------------------------------------------------------------ binary cross-entropy
def binary_cross_entropy_forward(input, target, weight=None, *, reduction: str = "mean"):
    r"""Log-loss on probabilities, :math:`\ell = -w\,[y\log p + (1-y)\log(1-p)]`.

    input : probabilities p in [0, 1], any shape; target : y, same shape (0/1 labels
    or soft labels in [0, 1]); weight : optional per-element rescaling w, broadcastable
    to input. Each log is clamped at -100, as in PyTorch, so p = 0 or 1 stays finite.
    Returns ``(loss, cache)``; the loss is a scalar unless reduction='none'.
    """
    p, y = _pair(input, target, reduction)
    if p.size and not (np.all(np.isfinite(p)) and p.min() >= 0 and p.max() <= 1):
        finite = p[np.isfinite(p)]
        seen = (f"values from {finite.min()} to {finite.max()}" if finite.size
                else "no finite values")
        if finite.size < p.size:
            seen += " and NaN or infinite entries"
        raise ValueError(f"input must hold probabilities in [0, 1] (did you mean "
                         f"binary_cross_entropy_with_logits?), got {seen}")
    w = _broadcast_weight(weight, "weight", p.shape, p.dtype)
    with np.errstate(divide="ignore"):  # log(0) = -inf is clamped on the next line
        log_p = np.maximum(np.log(p), _LOG_FLOOR)
        log_1mp = np.maximum(np.log1p(-p), _LOG_FLOOR)
    per = -(y * log_p + (1 - y) * log_1mp)
    if w is not None:
        per = per * w
    return _reduce(per, reduction), (p, y, w, reduction)


def binary_cross_entropy(input, target, weight=None, *, reduction: str = "mean"):
    """Log-loss on probabilities (see :func:`binary_cross_entropy_forward`)."""
    return binary_cross_entropy_forward(input, target, weight, reduction=reduction)[0]


def binary_cross_entropy_backward(dout, cache) -> np.ndarray:
    r""":math:`\partial\ell/\partial p = w\,(p - y) / (p(1-p))`, with the denominator
    clamped at 1e-12 as PyTorch does. Returns an array shaped like ``input``."""
    p, y, w, reduction = cache
    d = _unreduce(dout, p.shape, p.size, reduction, p.dtype)
    g = (p - y) / np.maximum(p * (1 - p), _GRAD_EPS)
    if w is not None:
        g = g * w
    return (d * g).astype(d.dtype, copy=False)


# ----------------------------------------------- binary cross-entropy on logits
def binary_cross_entropy_with_logits_forward(input, target, weight=None, *,
                                             reduction: str = "mean", pos_weight=None):
    r"""Log-loss of :math:`\sigma(z)` computed straight from the logit z:

    .. math:: \ell = w\,[\,q\,y\,\mathrm{softplus}(-z) + (1-y)\,\mathrm{softplus}(z)\,]

    with :math:`\mathrm{softplus}(z) = \log(1+e^z) = -\log(1-\sigma(z))`. For q = 1
    this equals :math:`-[y\log\sigma(z) + (1-y)\log(1-\sigma(z))]` but never
    overflows, so z = ±1e4 gives a finite loss and no warning.

    input : logits z, any shape; target : y, same shape, in [0, 1];
    weight : per-element rescaling w, broadcastable to input;
    pos_weight : q, weight of the positive term (e.g. one per class, shape (C,)),
    broadcastable to input. Returns ``(loss, cache)``.
    """
    z, y = _pair(input, target, reduction)
    w = _broadcast_weight(weight, "weight", z.shape, z.dtype)
    q = _broadcast_weight(pos_weight, "pos_weight", z.shape, z.dtype)
    pos = y if q is None else q * y
    per = pos * _softplus(-z) + (1 - y) * _softplus(z)
    if w is not None:
        per = per * w
    return _reduce(per, reduction), (z, y, w, q, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, *,
                                     reduction: str = "mean", pos_weight=None):
    """Log-loss on logits (see :func:`binary_cross_entropy_with_logits_forward`)."""
    return binary_cross_entropy_with_logits_forward(
        input, target, weight, reduction=reduction, pos_weight=pos_weight)[0]


def binary_cross_entropy_with_logits_backward(dout, cache) -> np.ndarray:
    r""":math:`\partial\ell/\partial z = w\,(\sigma(z) - y)`: the famous "prediction
    minus target" of logistic regression; with ``pos_weight`` q it is
    :math:`w\,[\sigma(z)(q y + 1 - y) - q y]`."""
    z, y, w, q, reduction = cache
    d = _unreduce(dout, z.shape, z.size, reduction, z.dtype)
    s = sigmoid(z)
    g = s - y if q is None else s * (q * y + 1 - y) - q * y
    if w is not None:
        g = g * w
    return (d * g).astype(d.dtype, copy=False)


# ------------------------------------------------------------------ cross-entropy
def _check_smoothing(label_smoothing) -> float:
    if isinstance(label_smoothing, bool) or not isinstance(
            label_smoothing, (int, float, np.integer, np.floating)):
        raise TypeError(f"label_smoothing must be a number in [0, 1], got "
                        f"{type(label_smoothing).__name__} ({label_smoothing!r})")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return float(label_smoothing)


def cross_entropy_forward(input, target, weight=None, *, ignore_index: int = -100,
                          reduction: str = "mean", label_smoothing: float = 0.0):
    r"""Softmax cross-entropy :math:`\ell_n = -\sum_k a_{nk} \log\mathrm{softmax}(z_n)_k`.

    input : logits of shape (N, C), or (N, C, d1, d2, ...) (one distribution per
    position, class axis 1, as in PyTorch), or (C,) for a single example.
    target : either class indices of shape (N,) (resp. (N, d1, ...), or ()) with values
    in [0, C) or equal to ``ignore_index`` (those positions contribute nothing), or
    class probabilities of the same shape as input.
    weight : optional per-class weights w of shape (C,).
    label_smoothing : epsilon in [0, 1]; the target becomes (1-eps) y + eps / C.

    The coefficients are :math:`a_{nk} = w_k \tilde y_{nk}` with the smoothed target
    :math:`\tilde y`. 'mean' divides the sum by N for probability targets and, as in
    PyTorch, by :math:`\sum_n w_{y_n}` over the non-ignored positions for class
    indices (the plain average when there are no weights).
    Returns ``(loss, cache)``; the loss is a scalar unless reduction='none' (shape
    of the batch: (N,), (N, d1, ...) or ()).
    """
    z = as_float_array(input, "input")
    if z.ndim < 1:
        raise ValueError(f"input must have shape (C,), (N, C) or (N, C, d1, ...), got "
                         f"a 0-D array of shape {z.shape}")
    check_in(reduction, "reduction", _REDUCTIONS)
    eps = _check_smoothing(label_smoothing)
    class_axis = 0 if z.ndim == 1 else 1
    c = z.shape[class_axis]
    batch_shape = z.shape[:class_axis] + z.shape[class_axis + 1:]
    # One row per distribution, classes along the last axis.
    logits = np.moveaxis(z, class_axis, -1).reshape(-1, c)
    m = logits.shape[0]
    w = np.ones(c, dtype=z.dtype)
    if weight is not None:
        w = as_float_array(weight, "weight")
        check_shape(w, "weight", (c,))
        w = w.astype(z.dtype, copy=False)

    try:
        t = np.asarray(target)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"target must be convertible to a numeric array ({exc})") from None
    if t.dtype == object or not (np.issubdtype(t.dtype, np.number) or t.dtype == bool):
        raise TypeError(f"target must be a numeric array, got dtype {t.dtype}")
    if t.shape == z.shape and t.shape != batch_shape:          # class probabilities
        y = as_float_array(t, "target").astype(z.dtype, copy=False)
        y = np.moveaxis(y, class_axis, -1).reshape(-1, c)
        coef = ((1 - eps) * y + eps / c) * w if eps else y * w
        denom = m
    elif t.shape == batch_shape:                               # class indices
        if isinstance(ignore_index, bool) or not isinstance(ignore_index,
                                                            (int, np.integer)):
            raise TypeError(f"ignore_index must be an int, got "
                            f"{type(ignore_index).__name__}")
        idx = as_int_array(t, "target").reshape(-1)
        keep = idx != ignore_index
        used = idx[keep]
        if used.size and (used.min() < 0 or used.max() >= c):
            raise ValueError(f"target must hold class indices in [0, {c}) (or "
                             f"ignore_index={ignore_index}) for input of shape "
                             f"{z.shape}, got values from {used.min()} to {used.max()}")
        rows = np.flatnonzero(keep)
        coef = np.zeros((m, c), dtype=z.dtype)
        coef[rows, used] = (1 - eps) * w[used]
        if eps:
            coef[rows] += (eps / c) * w
        denom = w[used].sum()
    else:
        raise ValueError(f"target must be class indices of shape {batch_shape} or "
                         f"class probabilities of shape {z.shape} for input of shape "
                         f"{z.shape}, got target.shape={t.shape}")
    logp = log_softmax(logits, dim=1)
    per = -(coef * logp).sum(axis=1)
    loss = _reduce(per.reshape(batch_shape), reduction, denom)
    return loss, (logp, coef, denom, reduction, batch_shape, class_axis)


def cross_entropy(input, target, weight=None, *, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0):
    """Softmax cross-entropy (see :func:`cross_entropy_forward`)."""
    return cross_entropy_forward(input, target, weight, ignore_index=ignore_index,
                                 reduction=reduction, label_smoothing=label_smoothing)[0]


def cross_entropy_backward(dout, cache) -> np.ndarray:
    r""":math:`\partial\ell_n/\partial z_{nk} = (\sum_j a_{nj})\,\mathrm{softmax}(z_n)_k
    - a_{nk}`: "softmax minus one-hot" for a plain one-hot target. Returns an array
    shaped like ``input``."""
    logp, coef, denom, reduction, batch_shape, class_axis = cache
    d = _unreduce(dout, batch_shape, denom, reduction, logp.dtype)
    g = np.exp(logp) * coef.sum(axis=1, keepdims=True) - coef
    g = (d.reshape(-1, 1) * g).astype(d.dtype, copy=False)
    return np.moveaxis(g.reshape(batch_shape + (logp.shape[1],)), -1, class_axis)


# -------------------------------------------------------------------- squared error
def mse_loss_forward(input, target, *, reduction: str = "mean", weight=None):
    r"""Squared error :math:`w (x - y)^2`, averaged (or summed) over all elements.

    input, target : same shape. weight : optional, same shape; 'mean' then divides by
    :math:`\sum w` (PyTorch's weighted mean). Returns ``(loss, cache)``.
    """
    x, y = _pair(input, target, reduction)
    w = None
    if weight is not None:
        w = as_float_array(weight, "weight")
        check_same_shape(w, "weight", x, "input")
        w = w.astype(x.dtype, copy=False)
    diff = x - y
    per = diff * diff if w is None else w * diff * diff
    denom = diff.size if w is None else w.sum()
    return _reduce(per, reduction, denom), (diff, w, denom, reduction)


def mse_loss(input, target, *, reduction: str = "mean", weight=None):
    """Squared error (see :func:`mse_loss_forward`)."""
    return mse_loss_forward(input, target, reduction=reduction, weight=weight)[0]


def mse_loss_backward(dout, cache) -> np.ndarray:
    r""":math:`\partial\ell/\partial x = 2 w (x - y)`, divided by the mean's
    denominator for 'mean'. Returns an array shaped like ``input``."""
    diff, w, denom, reduction = cache
    d = _unreduce(dout, diff.shape, denom, reduction, diff.dtype)
    g = 2 * diff if w is None else 2 * w * diff
    return (d * g).astype(d.dtype, copy=False)
