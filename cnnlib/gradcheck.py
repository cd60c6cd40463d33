"""Finite-difference gradient checking.

Explained in chapter 2. Backpropagation is easy to get subtly wrong; comparing it with
the slope measured by nudging each input is the standard test. We report the relative
error the CS231n way,

.. math:: \\mathrm{rel}(a, b) = \\max_i \\frac{|a_i - b_i|}{\\max(10^{-8}, |a_i| + |b_i|)},

where about 1e-7 or less (float64, central differences) means the gradient is right and
1e-2 or more means it is wrong.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from cnnlib._validate import as_float_array, check_number, check_same_shape

__all__ = ["rel_error", "numerical_gradient", "numerical_gradient_array",
           "check_gradient"]


def rel_error(a, b) -> float:
    """Largest elementwise relative error between two arrays of the same shape."""
    a = as_float_array(a, "a")
    b = as_float_array(b, "b")
    check_same_shape(a, "a", b, "b")
    if a.size == 0:
        return 0.0
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return float(np.max(np.abs(a64 - b64) / np.maximum(1e-8, np.abs(a64) + np.abs(b64))))


def _scalar(value, what: str) -> float:
    arr = np.asarray(value)
    if arr.size != 1 or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{what} must return a scalar, got an array of shape "
                         f"{arr.shape} and dtype {arr.dtype}")
    return float(arr.reshape(()))


def numerical_gradient(f: Callable[[np.ndarray], float], x, h: float = 1e-6) -> np.ndarray:
    r"""Central-difference gradient of a scalar function,
    :math:`\partial f/\partial x_i \approx (f(x + h e_i) - f(x - h e_i)) / 2h`.

    f : called with an array shaped like x, returns a scalar.
    x : float64 array of any shape (a list or an integer array is first copied to a
    new float64 array). A float64 ndarray is nudged in place during the call and
    restored afterwards, so ``f`` may ignore its argument and read ``x`` through a
    closure (handy for a network's weight matrices).
    Returns a float64 array shaped like x. Costs 2 * x.size calls of f; the error of
    the estimate is O(h^2) plus rounding of order eps * |f| / h.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    h = check_number(h, "h", low=0, low_open=True)
    x = as_float_array(x, "x")
    if x.dtype != np.float64:
        # A step of 1e-6 is lost in float32's 7 significant digits: the "gradient"
        # would be mostly rounding noise.
        raise TypeError(f"x must be float64 for finite differences, got dtype "
                        f"{x.dtype}; pass x.astype(np.float64)")
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = _scalar(f(x), "f")
        x[i] = old - h
        fm = _scalar(f(x), "f")
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x, dout,
                             h: float = 1e-6) -> np.ndarray:
    r"""Numerical vector-Jacobian product :math:`\sum_j d_j \partial f_j/\partial x_i`
    for an array-valued f, which is what a layer's backward pass returns.

    f : x -> array; dout : array shaped like f(x). Returns an array shaped like x.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    dout = as_float_array(dout, "dout")
    x = as_float_array(x, "x")
    out = np.asarray(f(x))
    check_same_shape(dout, "dout", out, "f(x)")
    return numerical_gradient(lambda v: float(np.sum(np.asarray(f(v)) * dout)), x, h)


def check_gradient(f: Callable[[np.ndarray], float], grad_f: Callable[[np.ndarray],
                   np.ndarray], x, h: float = 1e-6) -> float:
    """Relative error (see :func:`rel_error`) between an analytic gradient
    ``grad_f(x)`` and the numerical gradient of ``f`` at ``x`` (taken in float64)."""
    if not callable(grad_f):
        raise TypeError(f"grad_f must be callable, got {type(grad_f).__name__}")
    x = as_float_array(x, "x").astype(np.float64)
    analytic = as_float_array(grad_f(x.copy()), "grad_f(x)")
    check_same_shape(analytic, "grad_f(x)", x, "x")
    return rel_error(analytic, numerical_gradient(f, x.copy(), h))
