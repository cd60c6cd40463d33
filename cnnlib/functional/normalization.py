r"""Batch normalisation: each channel rescaled to zero mean and unit variance over the
batch, then shifted and scaled by two learned numbers.

Explained in chapter 9. Same name, argument order and defaults as
``torch.nn.functional.batch_norm``. For an input of shape (N, C) or (N, C, *) (a batch
of feature vectors, of sequences, of images), channel c is normalised over every axis
but the channel axis 1, that is over :math:`m = N \cdot \prod(*)` values
:math:`x_1, \dots, x_m`:

.. math::
    \mu = \frac1m \sum_i x_i, \qquad \sigma^2 = \frac1m \sum_i (x_i - \mu)^2, \qquad
    \hat x_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad
    y_i = \gamma\, \hat x_i + \beta .

In training mode the batch's own :math:`\mu, \sigma^2` are used, and the running
statistics (when given) are updated *in place*, as PyTorch does:

.. math::
    \text{running\_mean} \leftarrow (1 - \alpha)\,\text{running\_mean} + \alpha\,\mu,
    \qquad
    \text{running\_var} \leftarrow (1 - \alpha)\,\text{running\_var}
    + \alpha\, \tfrac{m}{m - 1}\,\sigma^2

(:math:`\alpha` = ``momentum``; the running variance is the *unbiased* estimate). In
evaluation mode the running statistics replace the batch's, so one example's output no
longer depends on the others in its batch.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import (as_dout, as_float_array, as_float_arrays, check_bool,
                              check_number, check_shape, snapshot)

__all__ = ["batch_norm", "batch_norm_forward", "batch_norm_backward"]


def _channel_view(c: int, ndim: int) -> tuple[int, ...]:
    """Shape that broadcasts a (C,) vector along axis 1 of an ndim-D input."""
    return (1, c) + (1,) * (ndim - 2)


def _validate(input, running_mean, running_var, weight, bias, training, momentum, eps):
    # One precision for every array (a float32 input with float64 statistics or weights
    # is a TypeError naming both, cnnlib's rule for every op).
    as_float_arrays(input=input, running_mean=running_mean, running_var=running_var,
                    weight=weight, bias=bias)
    x = as_float_array(input, "input")
    if x.ndim < 2:
        raise ValueError(f"input must have shape (N, C) or (N, C, *), got a {x.ndim}-D "
                         f"array of shape {x.shape}")
    c = x.shape[1]
    training = check_bool(training, "training")
    momentum = check_number(momentum, "momentum", low=0.0, high=1.0)
    eps = check_number(eps, "eps", low=0.0)
    arrays = {}
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        if value is None:
            arrays[name] = None
            continue
        if name.startswith("running") and not (
                isinstance(value, np.ndarray) and value.dtype in (np.float32, np.float64)):
            got = (f"an array of dtype {value.dtype}" if isinstance(value, np.ndarray)
                   else type(value).__name__)
            raise TypeError(f"{name} must be a float32 or float64 NumPy array (it is "
                            f"updated in place in training mode), got {got}")
        arr = as_float_array(value, name)
        check_shape(arr, name, (c,))
        arrays[name] = arr
    if (arrays["running_mean"] is None) != (arrays["running_var"] is None):
        raise ValueError("running_mean and running_var must both be given or both be "
                         "None")
    if not training and arrays["running_mean"] is None:
        raise ValueError("evaluation mode (training=False) normalises with the running "
                         "statistics: running_mean and running_var must be given")
    if training and x.size // max(c, 1) <= 1:
        raise ValueError(f"batch norm in training mode needs more than 1 value per "
                         f"channel to estimate a variance, got input of shape {x.shape}")
    return x, arrays, training, momentum, eps


def batch_norm_forward(input, running_mean=None, running_var=None, weight=None,
                       bias=None, training: bool = False, momentum: float = 0.1,
                       eps: float = 1e-5):
    r"""Batch normalisation that also returns its cache.

    input : (N, C) or (N, C, *); running_mean, running_var : (C,) arrays or None
    (updated in place when ``training``); weight :math:`\gamma`, bias :math:`\beta` :
    (C,) or None (then 1 and 0). Returns ``(out, cache)`` with ``out`` of the input's
    shape and dtype. Explained in chapter 9.
    """
    x, a, training, momentum, eps = _validate(input, running_mean, running_var, weight,
                                              bias, training, momentum, eps)
    c, view = x.shape[1], _channel_view(x.shape[1], x.ndim)
    axes = tuple(i for i in range(x.ndim) if i != 1)
    if training:
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)                   # biased: divide by m, as PyTorch does
        if a["running_mean"] is not None:
            m = x.size // c
            rm, rv = running_mean, running_var   # the caller's arrays, updated in place
            rm *= 1 - momentum
            rm += (momentum * mean).astype(rm.dtype, copy=False)
            rv *= 1 - momentum
            rv += (momentum * var * (m / (m - 1))).astype(rv.dtype, copy=False)
    else:
        mean, var = a["running_mean"], a["running_var"]
    inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
    x_hat = (x - mean.reshape(view).astype(x.dtype, copy=False)) * inv_std.reshape(view)
    out = x_hat
    w, b = a["weight"], a["bias"]
    if w is not None:
        out = out * w.reshape(view).astype(x.dtype, copy=False)
    if b is not None:
        out = out + b.reshape(view).astype(x.dtype, copy=False)
    if out is x_hat:
        out = x_hat.copy()          # the cache keeps x_hat; the caller may change out
    # the cache keeps its own copy of the weight: an optimiser step between forward and
    # backward must not change the gradient
    cache = (x_hat, inv_std, None if w is None else snapshot(w.astype(x.dtype, copy=False),
                                                            weight),
             b is not None, training)
    return out, cache


def batch_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
               training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> np.ndarray:
    r"""``torch.nn.functional.batch_norm``: :math:`\gamma\,(x - \mu)/\sqrt{\sigma^2 +
    \epsilon} + \beta` per channel (axis 1), with the batch's statistics when
    ``training`` (updating the running ones in place) and the running statistics
    otherwise. input : (N, C) or (N, C, *). Explained in chapter 9."""
    return batch_norm_forward(input, running_mean, running_var, weight, bias, training,
                              momentum, eps)[0]


def batch_norm_backward(dout, cache):
    r"""Gradients of batch normalisation; returns ``(dinput, dweight, dbias)``.

    dout : the output's shape. With :math:`g_i = \gamma\, \partial L/\partial y_i` over
    the m values of one channel, in training mode (the batch statistics depend on every
    input of the channel)

    .. math::
        \frac{\partial L}{\partial x_i} = \frac{1}{\sqrt{\sigma^2 + \epsilon}}
        \Bigl(g_i - \frac1m \sum_j g_j - \hat x_i\, \frac1m \sum_j g_j\, \hat x_j\Bigr),

    and in evaluation mode (fixed statistics) simply
    :math:`g_i / \sqrt{\text{running\_var} + \epsilon}`. Always
    :math:`\partial L/\partial\gamma = \sum_i \partial L/\partial y_i\, \hat x_i` and
    :math:`\partial L/\partial\beta = \sum_i \partial L/\partial y_i` (summed over every
    axis but 1). ``dweight`` / ``dbias`` are None when the forward had no weight / bias.
    Explained in chapter 9.
    """
    x_hat, inv_std, w, has_bias, training = cache
    d = as_dout(dout, x_hat.shape, x_hat.dtype)
    c, view = x_hat.shape[1], _channel_view(x_hat.shape[1], x_hat.ndim)
    axes = tuple(i for i in range(x_hat.ndim) if i != 1)
    dw = (d * x_hat).sum(axis=axes) if w is not None else None
    db = d.sum(axis=axes) if has_bias else None
    g = d * w.reshape(view) if w is not None else d
    if training:
        g_mean = g.mean(axis=axes, keepdims=True)
        gx_mean = (g * x_hat).mean(axis=axes, keepdims=True)
        dx = (g - g_mean - x_hat * gx_mean) * inv_std.reshape(view)
    else:
        dx = g * inv_std.reshape(view)
    dt = x_hat.dtype
    return (dx.astype(dt, copy=False), None if dw is None else dw.astype(dt, copy=False),
            None if db is None else db.astype(dt, copy=False))
