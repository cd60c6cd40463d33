r"""The Theta convention of chapters 1-3, and the conversion to PyTorch's.

Explained in chapter 1 (a single node) and chapter 2 (layers of nodes).

Chapters 1-3 fold the bias into the weights. Every layer gets an extra input, the
**bias unit** :math:`x_0 = 1` (or :math:`a_0^{(j)} = 1`), and the parameters that map
layer :math:`j` (with :math:`s_j` units) to layer :math:`j+1` (with :math:`s_{j+1}`
units) form one matrix

.. math:: \Theta^{(j)} \in \mathbb{R}^{s_{j+1} \times (s_j + 1)},
   \qquad z^{(j+1)} = \Theta^{(j)} a^{(j)}, \quad a^{(j)}_0 = 1,

whose **column 0 holds the biases**. A single logistic node is the case
:math:`s_{j+1} = 1`: its parameter vector is
:math:`\theta = (\theta_0, \theta_1, \dots, \theta_n)` with :math:`\theta_0` the bias.

PyTorch (and :func:`cnnlib.functional.linear`) keeps the two apart: ``weight`` of shape
(out, in) and ``bias`` of shape (out,), and computes :math:`x W^\top + b`. The functions
here convert between the two, so the book can speak the Theta language of its first chapters while the
library computes in PyTorch's layout:

    Theta == [b[:, None], W]        (Theta[:, 0] = b, Theta[:, 1:] = W)
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_float_array, check_shape

__all__ = ["theta_to_wb", "wb_to_theta", "add_bias_unit"]


def theta_to_wb(Theta) -> tuple[np.ndarray, np.ndarray]:
    r"""Split :math:`\Theta` (bias in column 0) into PyTorch's ``(weight, bias)``.

    Theta : array of shape (s_next, s + 1), chapter 2's :math:`\Theta^{(j)}`; or a 1-D
        parameter vector :math:`\theta` of shape (n + 1,) for a single node.
    Returns ``(W, b)``: W of shape (s_next, s) and b of shape (s_next,); for a 1-D
    theta, w of shape (n,) and b of shape () (a 0-d array holding :math:`\theta_0`).
    Both are copies, so changing them leaves Theta alone.

    Explained in chapter 1.
    """
    T = as_float_array(Theta, "Theta", ndim=(1, 2))
    if T.shape[-1] < 1:
        raise ValueError(f"Theta must have at least one column (the bias column 0), got "
                         f"shape {T.shape}")
    return T[..., 1:].copy(), T[..., 0].copy()


def wb_to_theta(W, b) -> np.ndarray:
    r"""Join PyTorch's ``(weight, bias)`` into :math:`\Theta = [\,b \mid W\,]`.

    W : array of shape (s_next, s), one row per unit of the next layer; or a 1-D weight
        vector w of shape (n,) for a single node.
    b : array of shape (s_next,) (a scalar or shape (1,) is fine for a 1-D w).
    Returns Theta of shape (s_next, s + 1) (or theta of shape (n + 1,)), bias in column
    0, in the common dtype of W and b.

    Explained in chapter 1.
    """
    W = as_float_array(W, "W", ndim=(1, 2))
    b = as_float_array(b, "b")
    if W.ndim == 1:
        if b.size != 1 or b.ndim > 1:
            raise ValueError(f"b must be a scalar (or shape (1,)) for a 1-D weight vector "
                             f"W of shape {W.shape}, got b.shape={b.shape}")
        return np.concatenate([b.reshape(1), W]).astype(np.result_type(W, b), copy=False)
    check_shape(b, "b", (W.shape[0],))
    return np.concatenate([b[:, None], W], axis=1).astype(np.result_type(W, b),
                                                          copy=False)


def add_bias_unit(X) -> np.ndarray:
    r"""Prepend the bias unit :math:`x_0 = 1` to every example.

    X : array of shape (m, n), one example per row; or one example x of shape (n,).
    Returns an array of shape (m, n + 1) whose column 0 is all ones (or shape (n + 1,)
    starting with 1), in X's float dtype (float32 stays float32). Then
    :math:`\theta^\top x` is ``X1 @ theta`` and the bias needs no special case.

    Explained in chapter 1.
    """
    X = as_float_array(X, "X", ndim=(1, 2))
    ones = np.ones(X.shape[:-1] + (1,), dtype=X.dtype)
    return np.concatenate([ones, X], axis=-1)
