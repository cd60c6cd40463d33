"""Activation functions (non-linearities) and their derivatives.

Explained in chapter 1 (the sigmoid), chapter 2 (why a network needs a non-linearity)
and chapter 5 (ReLU, leaky ReLU, arctan after a convolution).

Every activation ``f`` comes in three forms, the convention used throughout cnnlib:

* ``f(input)`` returns the output, like ``torch.nn.functional``;
* ``f_forward(input) -> (out, cache)`` also returns what the backward pass needs;
* ``f_backward(dout, cache) -> dinput`` applies the chain rule:
  ``dinput = dout * f'(input)``.

All of them work elementwise on arrays of any shape, keep float32 as float32, and are
finite for every finite input (|z| up to 1e4 and beyond) without NumPy warnings. The
cache is the op's own copy of what it holds (the output for sigmoid and tanh, the input
for arctan): changing ``input`` or ``out`` in place afterwards does not change the
gradient.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_dout, as_float_array, check_number, snapshot

__all__ = [
    "sigmoid", "sigmoid_forward", "sigmoid_backward",
    "relu", "relu_forward", "relu_backward",
    "leaky_relu", "leaky_relu_forward", "leaky_relu_backward",
    "tanh", "tanh_forward", "tanh_backward",
    "arctan", "arctan_forward", "arctan_backward",
]


_SHAPE = "the forward input and output"


# ----------------------------------------------------------------------------- sigmoid
def sigmoid(input) -> np.ndarray:
    r"""Logistic sigmoid :math:`g(z) = 1 / (1 + e^{-z})`, elementwise.

    Computed as ``1/(1+e^{-z})`` for z >= 0 and ``e^{z}/(1+e^{z})`` for z < 0, so the
    exponential never overflows: ``sigmoid(-1e4)`` is exactly 0 with no warning.

    input : array of any shape. Returns an array of the same shape, values in [0, 1].
    """
    z = as_float_array(input, "input")
    e = np.exp(-np.abs(z))                       # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def sigmoid_forward(input) -> tuple[np.ndarray, np.ndarray]:
    """Sigmoid that also returns its cache (a copy of the output, since
    g' = g (1 - g))."""
    out = sigmoid(input)
    return out, out.copy()


def sigmoid_backward(dout, cache: np.ndarray) -> np.ndarray:
    r""":math:`\partial L/\partial z = \partial L/\partial a \cdot g(z)(1 - g(z))`."""
    dout = as_dout(dout, cache.shape, cache.dtype, _SHAPE)
    return dout * cache * (1 - cache)


# -------------------------------------------------------------------------------- relu
def relu(input) -> np.ndarray:
    r"""Rectified linear unit :math:`\max(0, z)`, elementwise."""
    z = as_float_array(input, "input")
    return np.maximum(z, 0).astype(z.dtype, copy=False)


def relu_forward(input):
    """ReLU that also returns its cache (the mask of positive inputs, and the dtype)."""
    z = as_float_array(input, "input")
    return relu(z), (z > 0, z.dtype)


def relu_backward(dout, cache) -> np.ndarray:
    """Gradient flows only where the input was positive (PyTorch's choice: 0 at z=0)."""
    mask, dtype = cache
    dout = as_dout(dout, mask.shape, dtype, _SHAPE)
    return np.where(mask, dout, 0).astype(dtype, copy=False)


# -------------------------------------------------------------------------- leaky relu
def leaky_relu(input, negative_slope: float = 0.01) -> np.ndarray:
    r"""Leaky ReLU: :math:`z` for z > 0, :math:`\alpha z` otherwise
    (``negative_slope`` = alpha, PyTorch's default 0.01)."""
    return leaky_relu_forward(input, negative_slope)[0]


def leaky_relu_forward(input, negative_slope: float = 0.01):
    """Leaky ReLU that also returns its cache (mask and slope)."""
    z = as_float_array(input, "input")
    slope = check_number(negative_slope, "negative_slope")
    mask = z > 0
    out = np.where(mask, z, z * slope).astype(z.dtype, copy=False)
    return out, (mask, slope, z.dtype)


def leaky_relu_backward(dout, cache) -> np.ndarray:
    """Gradient is 1 where the input was positive and ``negative_slope`` elsewhere."""
    mask, slope, dtype = cache
    dout = as_dout(dout, mask.shape, dtype, _SHAPE)
    return np.where(mask, dout, dout * slope).astype(dtype, copy=False)


# -------------------------------------------------------------------------------- tanh
def tanh(input) -> np.ndarray:
    r"""Hyperbolic tangent :math:`\tanh z = 2 g(2z) - 1`, elementwise."""
    z = as_float_array(input, "input")
    return np.tanh(z)


def tanh_forward(input) -> tuple[np.ndarray, np.ndarray]:
    """tanh that also returns its cache (a copy of the output, since
    tanh' = 1 - tanh^2)."""
    out = tanh(input)
    return out, out.copy()


def tanh_backward(dout, cache: np.ndarray) -> np.ndarray:
    r""":math:`\partial L/\partial z = \partial L/\partial a \cdot (1 - \tanh^2 z)`."""
    dout = as_dout(dout, cache.shape, cache.dtype, _SHAPE)
    return dout * (1 - cache * cache)


# ------------------------------------------------------------------------------ arctan
def arctan(input) -> np.ndarray:
    r"""Arctangent :math:`\arctan z`, a smooth squashing function with range
    :math:`(-\pi/2, \pi/2)` that chapter 5 lists beside the sigmoid."""
    z = as_float_array(input, "input")
    return np.arctan(z)


def arctan_forward(input) -> tuple[np.ndarray, np.ndarray]:
    """arctan that also returns its cache (its own copy of the input)."""
    z = as_float_array(input, "input")
    return np.arctan(z), snapshot(z, input)


def arctan_backward(dout, cache: np.ndarray) -> np.ndarray:
    r""":math:`\frac{d}{dz}\arctan z = 1 / (1 + z^2)`; for |z| = 1e4 this is 1e-8.

    Written as :math:`u^2 / (1 + u^2)` with :math:`u = 1/|z|` when |z| > 1, so that
    z^2 is never formed for large z: no overflow even for float32 inputs of 1e20.
    """
    dout = as_dout(dout, cache.shape, cache.dtype, _SHAPE)
    a = np.abs(cache)
    big = a > 1
    u = np.where(big, 1 / np.where(big, a, 1), a)    # 1/|z| if |z| > 1 else |z|: <= 1
    u2 = u * u
    return dout * (np.where(big, u2, 1) / (1 + u2))
