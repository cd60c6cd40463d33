r"""A multi-layer network of logistic units in the Theta notation of chapter 2.

Explained in chapter 2. A network with :math:`L` layers of :math:`s_1, \dots, s_L`
units is described by the matrices :math:`\Theta^{(1)}, \dots, \Theta^{(L-1)}`, where
:math:`\Theta^{(l)}` maps layer :math:`l` to layer :math:`l+1` and has shape
:math:`s_{l+1} \times (s_l + 1)`: column 0 multiplies the **bias unit**
:math:`a_0^{(l)} = 1` (see :mod:`cnnlib.models.theta`). Forward propagation is

.. math::
    a^{(1)} = x, \qquad z^{(l+1)} = \Theta^{(l)} \begin{bmatrix} 1 \\ a^{(l)}
    \end{bmatrix}, \qquad a^{(l+1)} = g(z^{(l+1)}), \qquad h_\Theta(x) = a^{(L)},

with the sigmoid :math:`g` in every layer, and training minimises the mean
cross-entropy (the negative of chapter 1's log-likelihood, summed over the
:math:`K = s_L` output units)

.. math::
    J(\Theta) = -\frac1m \sum_{i=1}^m \sum_{k=1}^K \Big[y_k^{(i)} \log h_\Theta(x^{(i)})_k
    + (1 - y_k^{(i)}) \log\big(1 - h_\Theta(x^{(i)})_k\big)\Big]
    + \frac{\lambda}{2m} \sum_l \sum_{i}\sum_{j \ge 1} \big(\Theta^{(l)}_{ij}\big)^2 .

The code works on a batch: X holds one example per **row** (shape (m, s_1)), so the
column-vector formulas above become ``Z = A1 @ Theta.T`` with ``A1`` the activations
with a leading column of ones. The same network as layer objects is
:func:`to_sequential`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from cnnlib import functional as F
from cnnlib._validate import (as_float_array, as_rng, check_finite, check_number,
                              check_positive_int)
from cnnlib.gradcheck import numerical_gradient
from cnnlib.models.theta import add_bias_unit, theta_to_wb
from cnnlib.train.history import History

__all__ = ["init_thetas", "forward_propagation", "hypothesis", "cost_function",
           "backpropagation", "numerical_gradients", "gradient_descent", "to_sequential"]


# ------------------------------------------------------------------------ validation
def _check_thetas(Thetas) -> list[np.ndarray]:
    if isinstance(Thetas, np.ndarray) or not isinstance(Thetas, (list, tuple)):
        raise TypeError(f"Thetas must be a list of 2-D arrays (one per layer), got "
                        f"{type(Thetas).__name__}")
    if len(Thetas) == 0:
        raise ValueError("Thetas must hold at least one matrix")
    out = []
    for l, T in enumerate(Thetas, start=1):
        T = as_float_array(T, f"Thetas[{l - 1}] (Theta^({l}))", ndim=2)
        if T.shape[0] < 1 or T.shape[1] < 2:
            raise ValueError(f"Thetas[{l - 1}] (Theta^({l})) must have shape "
                             f"(s_{l + 1}, s_{l} + 1) with s >= 1, got {T.shape}")
        if out and T.shape[1] != out[-1].shape[0] + 1:
            raise ValueError(f"Thetas[{l - 1}] (Theta^({l})) must have "
                             f"{out[-1].shape[0] + 1} columns (s_{l} + 1 = "
                             f"{out[-1].shape[0]} units of layer {l} plus the bias unit), "
                             f"got shape {T.shape}")
        out.append(T)
    return out


def _check_X(X, Thetas: list[np.ndarray]) -> np.ndarray:
    X = as_float_array(X, "X", ndim=2)
    s1 = Thetas[0].shape[1] - 1
    if X.shape[1] != s1:
        raise ValueError(f"X must have shape (m, {s1}) (s_1 = {s1} inputs, as "
                         f"Theta^(1) of shape {Thetas[0].shape} expects), got {X.shape}")
    return X


def _check_Y(Y, m: int, K: int) -> np.ndarray:
    Y = as_float_array(Y, "Y", ndim=(1, 2))
    if Y.ndim == 1 and K == 1:
        Y = Y[:, None]
    if Y.shape != (m, K):
        raise ValueError(f"Y must have shape ({m}, {K}) (one row of K = {K} targets per "
                         f"example" + (f", or ({m},)" if K == 1 else "") +
                         f"), got {Y.shape}")
    check_finite(Y, "Y")
    if Y.size and (Y.min() < 0 or Y.max() > 1):
        raise ValueError(f"Y must hold targets in [0, 1] (one-hot rows for K classes), "
                         f"got values from {Y.min()} to {Y.max()}")
    return Y


# ---------------------------------------------------------------------- the network
def init_thetas(layer_sizes: Sequence[int], rng: np.random.Generator | int | None = None,
                scale: float | None = None) -> list[np.ndarray]:
    r"""Random :math:`\Theta^{(1)}, \dots, \Theta^{(L-1)}` for units ``layer_sizes``.

    layer_sizes : ``[s_1, ..., s_L]``, e.g. ``[3, 3, 1]`` for chapter 2's network with
        three inputs, three hidden units and one output (at least two layers).
    scale : entries are drawn uniformly from :math:`[-\epsilon, \epsilon]` with
        :math:`\epsilon` = ``scale``; by default
        :math:`\epsilon = \sqrt{6 / (s_l + s_{l+1})}` for layer l (Glorot's rule).
        They must not all be equal (e.g. all zero): then every hidden unit computes the
        same thing and receives the same gradient, and they stay identical for ever.
    Returns a list of L - 1 float64 arrays, ``Thetas[l-1]`` of shape
    (s_{l+1}, s_l + 1).
    """
    if isinstance(layer_sizes, (str, bytes)) or not hasattr(layer_sizes, "__len__"):
        raise TypeError(f"layer_sizes must be a list of ints, got "
                        f"{type(layer_sizes).__name__}")
    sizes = [check_positive_int(s, f"layer_sizes[{i}]") for i, s in enumerate(layer_sizes)]
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least two layers (inputs and outputs), "
                         f"got {list(layer_sizes)}")
    if scale is not None:
        scale = check_number(scale, "scale", low=0, low_open=True)
    gen = as_rng(rng)
    Thetas = []
    for s_in, s_out in zip(sizes[:-1], sizes[1:]):
        eps = float(scale) if scale is not None else np.sqrt(6.0 / (s_in + s_out))
        Thetas.append(gen.uniform(-eps, eps, size=(s_out, s_in + 1)))
    return Thetas


def forward_propagation(Thetas, X) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    r"""Activations of every layer for a batch of examples.

    Thetas : list of L - 1 matrices, ``Thetas[l-1]`` = :math:`\Theta^{(l)}` of shape
        (s_{l+1}, s_l + 1).
    X : (m, s_1), one example per row.
    Returns ``(a_list, z_list)``, two lists of length L indexed so that
    ``a_list[l-1]`` is :math:`a^{(l)}` of shape (m, s_l) **without** the bias unit and
    ``z_list[l-1]`` is :math:`z^{(l)}`; ``a_list[0]`` is X and ``z_list[0]`` is None
    (the input layer has no z). ``a_list[-1]`` is :math:`h_\Theta(x)`, shape (m, s_L).

    Explained in chapter 2.
    """
    Thetas = _check_thetas(Thetas)
    a = _check_X(X, Thetas)
    a_list, z_list = [a], [None]
    for Theta in Thetas:
        W, b = theta_to_wb(Theta)
        # z^(l+1) = Theta^(l) [1; a^(l)] for every row at once: the bias column of
        # Theta multiplies the bias unit, so this is the linear map a W^T + b.
        z = F.linear(a, W, b)
        a = F.sigmoid(z)
        z_list.append(z)
        a_list.append(a)
    return a_list, z_list


def hypothesis(Thetas, X) -> np.ndarray:
    r""":math:`h_\Theta(x)` for every row of X: the output layer :math:`a^{(L)}`,
    shape (m, s_L)."""
    return forward_propagation(Thetas, X)[0][-1]


def _cost(Thetas, z_L, Y, lam) -> float:
    m = len(Y)
    # Cross-entropy from the logits z^(L) (not from log of a^(L)): finite even when the
    # sigmoid rounds to exactly 0 or 1.
    J = float(F.binary_cross_entropy_with_logits(z_L, Y, reduction="sum")) / m
    if lam:
        J += lam / (2 * m) * sum(float(np.sum(T[:, 1:] ** 2)) for T in Thetas)
    return J


def cost_function(Thetas, X, Y, lam: float = 0.0) -> float:
    r"""The regularised mean cross-entropy :math:`J(\Theta)` (see the module
    docstring). X : (m, s_1); Y : (m, s_L) targets in [0, 1] (or (m,) when s_L = 1);
    lam : :math:`\lambda \ge 0`; the bias column is not regularised."""
    Thetas = _check_thetas(Thetas)
    a_list, z_list = forward_propagation(Thetas, X)
    Y = _check_Y(Y, a_list[0].shape[0], Thetas[-1].shape[0])
    return _cost(Thetas, z_list[-1], Y, check_number(lam, "lam", low=0))


def backpropagation(Thetas, X, Y, lam: float = 0.0) -> tuple[float, list[np.ndarray]]:
    r"""Cost :math:`J(\Theta)` and its gradients :math:`\partial J/\partial\Theta^{(l)}`.

    The error of the output layer is :math:`\delta^{(L)} = a^{(L)} - y` (sigmoid and
    cross-entropy together), and each error travels one layer back by

    .. math:: \delta^{(l)} = \big[(\Theta^{(l)})^\top \delta^{(l+1)}\big]_{1:}
              \odot g'(z^{(l)}), \qquad g'(z^{(l)}) = a^{(l)} (1 - a^{(l)}),

    where :math:`[\cdot]_{1:}` drops the row of the bias unit. The gradient is
    :math:`\frac1m \sum_i \delta^{(l+1)} [1; a^{(l)}]^\top` plus
    :math:`\frac{\lambda}{m}\Theta^{(l)}` outside the bias column.

    Thetas : list of :math:`\Theta^{(l)}`; X : (m, s_1); Y : (m, s_L) (or (m,)).
    Returns ``(J, grads)`` with ``grads[l-1]`` shaped like ``Thetas[l-1]``.

    Explained in chapter 2.
    """
    Thetas = _check_thetas(Thetas)
    lam = check_number(lam, "lam", low=0)
    a_list, z_list = forward_propagation(Thetas, X)
    m = a_list[0].shape[0]
    Y = _check_Y(Y, m, Thetas[-1].shape[0])
    J = _cost(Thetas, z_list[-1], Y, lam)

    grads: list[np.ndarray] = [np.empty(0)] * len(Thetas)
    delta = a_list[-1] - Y                                    # delta^(L), shape (m, s_L)
    for l in range(len(Thetas) - 1, -1, -1):                  # Thetas[l] = Theta^(l+1)
        # Sum over the batch of delta^(l+2) [1; a^(l+1)]^T, divided by m.
        grads[l] = delta.T @ add_bias_unit(a_list[l]) / m
        if lam:
            grads[l][:, 1:] += lam / m * Thetas[l][:, 1:]
        if l > 0:
            # Back one layer: Theta^T delta without the bias unit's row, times g'(z),
            # which sigmoid_backward computes from the stored activation a = g(z).
            back = (delta @ Thetas[l])[:, 1:]
            delta = F.sigmoid_backward(back, a_list[l])
    return J, grads


def numerical_gradients(Thetas, X, Y, lam: float = 0.0, h: float = 1e-5
                        ) -> list[np.ndarray]:
    r"""Finite-difference gradients of :math:`J`, one central difference
    :math:`(J(\Theta + h e_{ij}) - J(\Theta - h e_{ij})) / 2h` per entry: slow
    (2 forward passes per parameter), for checking :func:`backpropagation` on small
    networks. Returns a list shaped like Thetas."""
    Thetas = [T.astype(np.float64, copy=True) for T in _check_thetas(Thetas)]
    X = _check_X(X, Thetas).astype(np.float64)
    Y = _check_Y(Y, X.shape[0], Thetas[-1].shape[0]).astype(np.float64)
    lam = check_number(lam, "lam", low=0)
    # numerical_gradient nudges Thetas[l] in place, and the closure sees the nudge.
    return [numerical_gradient(lambda _T: cost_function(Thetas, X, Y, lam), T, h)
            for T in Thetas]


def gradient_descent(Thetas, X, Y, lr: float = 1.0, epochs: int = 1000,
                     lam: float = 0.0) -> tuple[list[np.ndarray], History]:
    r"""Full-batch gradient descent :math:`\Theta^{(l)} \leftarrow \Theta^{(l)} -
    \eta\, \partial J / \partial \Theta^{(l)}` for ``epochs`` steps.

    Returns ``(Thetas, history)``: new matrices (the inputs are not modified) and a
    :class:`~cnnlib.train.History` whose ``"loss"`` is the cost before each step.
    """
    Thetas = [T.copy() for T in _check_thetas(Thetas)]
    lr = check_number(lr, "lr", low=0, low_open=True)
    epochs = check_positive_int(epochs, "epochs")
    history = History()
    for _ in range(epochs):
        J, grads = backpropagation(Thetas, X, Y, lam)
        history.log(loss=J)
        for T, G in zip(Thetas, grads):
            T -= lr * G
    return Thetas, history


def to_sequential(Thetas):
    """The same network as layer objects: ``Sequential(Linear, Sigmoid, Linear,
    Sigmoid, ...)`` with weights and biases copied from the Thetas (via
    :func:`cnnlib.models.theta.theta_to_wb`), so ``to_sequential(Thetas)(X)`` equals
    :func:`hypothesis`."""
    from cnnlib.nn import Linear, Sequential, Sigmoid

    layers = []
    for T in _check_thetas(Thetas):
        W, b = theta_to_wb(T)
        lin = Linear(W.shape[1], W.shape[0], dtype=T.dtype, rng=0)
        lin.load_state_dict({"weight": W, "bias": b})
        layers += [lin, Sigmoid()]
    return Sequential(*layers)
