r"""Loss functions and their gradients with respect to the prediction.

Explained in chapter 1 (log-loss), chapter 3 (cross-entropy over K classes). Names,
argument order, defaults and ``reduction`` ('mean' | 'sum' | 'none') as in
``torch.nn.functional``. As there, ``input`` and ``target`` (and ``weight``, where the
loss has one) are positional; every other option is passed by keyword, which keeps a
call valid in both libraries (PyTorch's deprecated ``size_average``/``reduce`` sit
between them in its positional order).

``*_backward(dout, cache)`` returns the gradient with respect to ``input`` only (targets
are data, not parameters); ``dout`` is a scalar for 'mean'/'sum' and an array of the
unreduced shape for 'none', cast to the loss's dtype. A float32 ``input`` gives a
float32 loss and gradient; integer or boolean targets (labels) and Python numbers
adopt the input's dtype, while a target or weight that is a float array of the other
precision is refused (see :func:`cnnlib._validate.as_float_arrays`).

A mean over nothing (an empty batch, or every target equal to ``ignore_index``) is
NaN, as in PyTorch, and its gradient is zero (empty for an empty batch), without
warnings.

A note on signs: the log-likelihood
:math:`L(y,\hat y) = y\log\hat y + (1-y)\log(1-\hat y)` is what training *maximises*.
Every loss here is the quantity that training *minimises*: its negative, the
cross-entropy.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import (as_dout, as_float_array, as_float_arrays, as_int_array,
                              check_in, check_int, check_number, check_same_shape,
                              check_shape, snapshot)
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
    if denom == 0:       # a mean over nothing (empty batch, all ignored): NaN, as PyTorch
        return np.array(np.nan, dtype=per_elem.dtype)[()]
    return (total / denom).astype(per_elem.dtype)


def _unreduce(dout, shape, denom, reduction: str, dtype) -> np.ndarray:
    """Spread the upstream gradient of a reduced loss back over the elements.

    ``dout`` is cast to the loss's ``dtype`` (so ``backward(1.0, cache)`` keeps a
    float32 computation in float32). A mean over nothing (``denom == 0``) spreads zero:
    there is no element it could have come from.
    """
    if reduction == "none":
        return as_dout(dout, shape, dtype, "the unreduced loss")
    d = as_dout(dout, (), dtype, "the loss")
    if reduction == "mean":
        d = d / denom if denom else np.zeros((), dtype)
    return np.full(shape, d, dtype=dtype)


def _broadcast_weight(w: np.ndarray | None, name: str, shape: tuple) -> None:
    """Optional elementwise weights must broadcast to the input's ``shape``."""
    if w is None:
        return
    try:
        ok = np.broadcast_shapes(w.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must broadcast to input's shape {shape}, got "
                         f"{name}.shape={w.shape}")


def _pair(reduction, **arrays) -> tuple[np.ndarray | None, ...]:
    """Validate input, target (equal shapes, as in PyTorch) and optional weights:
    all of one float dtype (:func:`cnnlib._validate.as_float_arrays`)."""
    check_in(reduction, "reduction", _REDUCTIONS)
    x, t, *rest = as_float_arrays(**arrays)
    check_same_shape(x, "input", t, "target")
    return (x, t, *rest)


def _check_unit_interval(a: np.ndarray, name: str, hint: str = "") -> None:
    """Raise unless every value of ``a`` lies in [0, 1] (NaN and infinity do not)."""
    if a.size and not (np.all(np.isfinite(a)) and a.min() >= 0 and a.max() <= 1):
        finite = a[np.isfinite(a)]
        seen = (f"values from {finite.min()} to {finite.max()}" if finite.size
                else "no finite values")
        if finite.size < a.size:
            seen += " and NaN or infinite entries"
        raise ValueError(f"{name} must hold probabilities in [0, 1]{hint}, got {seen}")


def _softplus(z: np.ndarray) -> np.ndarray:
    r""":math:`\log(1 + e^{z}) = \max(z, 0) + \log(1 + e^{-|z|})`: never overflows."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


# ------------------------------------------------------------ binary cross-entropy
def binary_cross_entropy_forward(input, target, weight=None, *, reduction: str = "mean"):
    r"""Log-loss on probabilities, :math:`\ell = -w\,[y\log p + (1-y)\log(1-p)]`.

    input : probabilities p in [0, 1], any shape; target : y, same shape (0/1 labels
    or soft labels in [0, 1]; both ranges are checked, as PyTorch checks the target's);
    weight : optional per-element rescaling w, broadcastable to input. Each log is
    clamped at -100, as in PyTorch, so p = 0 or 1 stays finite.
    Returns ``(loss, cache)``; the loss is a scalar unless reduction='none'.
    """
    p, y, w = _pair(reduction, input=input, target=target, weight=weight)
    _check_unit_interval(p, "input", " (did you mean binary_cross_entropy_with_logits?)")
    _check_unit_interval(y, "target")
    _broadcast_weight(w, "weight", p.shape)
    with np.errstate(divide="ignore"):  # log(0) = -inf is clamped on the next line
        log_p = np.maximum(np.log(p), _LOG_FLOOR)
        log_1mp = np.maximum(np.log1p(-p), _LOG_FLOOR)
    per = -(y * log_p + (1 - y) * log_1mp)
    if w is not None:
        per = per * w
    cache = (snapshot(p, input), snapshot(y, target),
             None if w is None else snapshot(w, weight), reduction)
    return _reduce(per, reduction), cache


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
    return d * g


# ----------------------------------------------- binary cross-entropy on logits
def binary_cross_entropy_with_logits_forward(input, target, weight=None, *,
                                             reduction: str = "mean", pos_weight=None):
    r"""Log-loss of :math:`\sigma(z)` computed straight from the logit z:

    .. math:: \ell = w\,[\,q\,y\,\mathrm{softplus}(-z) + (1-y)\,\mathrm{softplus}(z)\,]

    with :math:`\mathrm{softplus}(z) = \log(1+e^z) = -\log(1-\sigma(z))`. For q = 1
    this equals :math:`-[y\log\sigma(z) + (1-y)\log(1-\sigma(z))]` but never
    overflows, so z = ±1e4 gives a finite loss and no warning.

    input : logits z, any shape; target : y, same shape, in [0, 1] (checked; PyTorch
    accepts any target here, which makes the loss unbounded below);
    weight : per-element rescaling w, broadcastable to input;
    pos_weight : q, weight of the positive term (e.g. one per class, shape (C,)),
    broadcastable to input. Returns ``(loss, cache)``.
    """
    z, y, w, q = _pair(reduction, input=input, target=target, weight=weight,
                       pos_weight=pos_weight)
    _check_unit_interval(y, "target")
    _broadcast_weight(w, "weight", z.shape)
    _broadcast_weight(q, "pos_weight", z.shape)
    pos = y if q is None else q * y
    per = pos * _softplus(-z) + (1 - y) * _softplus(z)
    if w is not None:
        per = per * w
    cache = (snapshot(z, input), snapshot(y, target),
             None if w is None else snapshot(w, weight),
             None if q is None else snapshot(q, pos_weight), reduction)
    return _reduce(per, reduction), cache


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
    return d * g


# ------------------------------------------------------------------ cross-entropy
def cross_entropy_forward(input, target, weight=None, *, ignore_index: int = -100,
                          reduction: str = "mean", label_smoothing: float = 0.0):
    r"""Softmax cross-entropy :math:`\ell_n = -\sum_k a_{nk} \log\mathrm{softmax}(z_n)_k`.

    input : logits of shape (N, C), or (N, C, d1, d2, ...) (one distribution per
    position, class axis 1, as in PyTorch), or (C,) for a single example; C >= 1.
    target : either class indices of shape (N,) (resp. (N, d1, ...), or ()) with values
    in [0, C) or equal to ``ignore_index`` (those positions contribute nothing), or
    class probabilities of the same shape as input (then ``ignore_index`` must stay
    negative, as PyTorch requires: there is no index to ignore).
    weight : optional per-class weights w of shape (C,).
    label_smoothing : epsilon in [0, 1]; the target becomes (1-eps) y + eps / C.

    The coefficients are :math:`a_{nk} = w_k \tilde y_{nk}` with the smoothed target
    :math:`\tilde y`. 'mean' divides the sum by N for probability targets and, as in
    PyTorch, by :math:`\sum_n w_{y_n}` over the non-ignored positions for class
    indices (the plain average when there are no weights). When that sum is zero
    (every target ignored, or an empty batch) the mean is NaN and its gradient zero;
    when the kept targets' weights sum to zero, the gradient at those positions is
    NaN too (0/0, as in PyTorch).
    Returns ``(loss, cache)``; the loss is a scalar unless reduction='none' (shape
    of the batch: (N,), (N, d1, ...) or ()).
    """
    z = as_float_array(input, "input")
    if z.ndim < 1:
        raise ValueError(f"input must have shape (C,), (N, C) or (N, C, d1, ...), got "
                         f"a 0-D array of shape {z.shape}")
    check_in(reduction, "reduction", _REDUCTIONS)
    eps = check_number(label_smoothing, "label_smoothing", low=0, high=1)
    ignore_index = check_int(ignore_index, "ignore_index")
    class_axis = 0 if z.ndim == 1 else 1
    c = z.shape[class_axis]
    if c == 0:
        raise ValueError(f"input must have at least one class along axis {class_axis}, "
                         f"got shape {z.shape}")
    batch_shape = z.shape[:class_axis] + z.shape[class_axis + 1:]
    try:
        t = np.asarray(target)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"target must be convertible to a numeric array ({exc})") from None
    if t.dtype == object or not (np.issubdtype(t.dtype, np.number) or t.dtype == bool):
        raise TypeError(f"target must be a numeric array, got dtype {t.dtype}")
    probabilities = t.shape == z.shape and t.shape != batch_shape
    if not (probabilities or t.shape == batch_shape):
        raise ValueError(f"target must be class indices of shape {batch_shape} or "
                         f"class probabilities of shape {z.shape} for input of shape "
                         f"{z.shape}, got target.shape={t.shape}")
    if probabilities:     # a float target is a precision partner; class indices not
        z, y, w = as_float_arrays(input=input, target=target, weight=weight)
    else:
        z, w = as_float_arrays(input=input, weight=weight)
    if w is None:
        w = np.ones(c, dtype=z.dtype)
    check_shape(w, "weight", (c,))
    # One row per distribution, classes along the last axis.
    logits = np.moveaxis(z, class_axis, -1).reshape(-1, c)
    m = logits.shape[0]
    if probabilities:
        if ignore_index >= 0:
            raise ValueError(f"ignore_index={ignore_index} needs class-index targets; "
                             f"with class probabilities as target there is no index to "
                             f"ignore (leave ignore_index at its default, as PyTorch "
                             f"requires)")
        y = np.moveaxis(y, class_axis, -1).reshape(-1, c)
        coef = ((1 - eps) * y + eps / c) * w if eps else y * w
        denom = m
        kept = np.ones(m, dtype=bool)
    else:
        idx = as_int_array(t, "target").reshape(-1)
        kept = idx != ignore_index
        used = idx[kept]
        if used.size and (used.min() < 0 or used.max() >= c):
            raise ValueError(f"target must hold class indices in [0, {c}) (or "
                             f"ignore_index={ignore_index}) for input of shape "
                             f"{z.shape}, got values from {used.min()} to {used.max()}")
        rows = np.flatnonzero(kept)
        coef = np.zeros((m, c), dtype=z.dtype)
        coef[rows, used] = (1 - eps) * w[used]
        if eps:
            coef[rows] += (eps / c) * w
        denom = w[used].sum()
    logp = log_softmax(logits, dim=1)
    per = -(coef * logp).sum(axis=1)
    loss = _reduce(per.reshape(batch_shape), reduction, denom)
    return loss, (logp, coef, denom, kept, reduction, batch_shape, class_axis)


def cross_entropy(input, target, weight=None, *, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0):
    """Softmax cross-entropy (see :func:`cross_entropy_forward`)."""
    return cross_entropy_forward(input, target, weight, ignore_index=ignore_index,
                                 reduction=reduction, label_smoothing=label_smoothing)[0]


def cross_entropy_backward(dout, cache) -> np.ndarray:
    r""":math:`\partial\ell_n/\partial z_{nk} = (\sum_j a_{nj})\,\mathrm{softmax}(z_n)_k
    - a_{nk}`: "softmax minus one-hot" for a plain one-hot target. Returns an array
    shaped like ``input``."""
    logp, coef, denom, kept, reduction, batch_shape, class_axis = cache
    d = _unreduce(dout, batch_shape, denom, reduction, logp.dtype)
    g = np.exp(logp) * coef.sum(axis=1, keepdims=True) - coef
    g = d.reshape(-1, 1) * g
    if reduction == "mean" and denom == 0:
        g[kept] = np.nan      # the kept targets weigh nothing in total: 0/0
    return np.moveaxis(g.reshape(batch_shape + (logp.shape[1],)), -1, class_axis)


# -------------------------------------------------------------------- squared error
def mse_loss_forward(input, target, *, reduction: str = "mean", weight=None):
    r"""Squared error :math:`w (x - y)^2`, averaged (or summed) over all elements.

    input, target : same shape. weight : optional, same shape; 'mean' then divides by
    :math:`\sum w` (PyTorch's weighted mean). Returns ``(loss, cache)``.
    """
    x, y, w = _pair(reduction, input=input, target=target, weight=weight)
    if w is not None:
        check_same_shape(w, "weight", x, "input")
    diff = x - y
    per = diff * diff if w is None else w * diff * diff
    denom = diff.size if w is None else w.sum()
    cache = (diff, None if w is None else snapshot(w, weight), denom, reduction)
    return _reduce(per, reduction, denom), cache


def mse_loss(input, target, *, reduction: str = "mean", weight=None):
    """Squared error (see :func:`mse_loss_forward`)."""
    return mse_loss_forward(input, target, reduction=reduction, weight=weight)[0]


def mse_loss_backward(dout, cache) -> np.ndarray:
    r""":math:`\partial\ell/\partial x = 2 w (x - y)`, divided by the mean's
    denominator for 'mean'. Returns an array shaped like ``input``."""
    diff, w, denom, reduction = cache
    d = _unreduce(dout, diff.shape, denom, reduction, diff.dtype)
    g = 2 * diff if w is None else 2 * w * diff
    return d * g
