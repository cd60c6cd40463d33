"""Optimisers: how a step of gradient descent changes the parameters.

Explained in chapter 2 (plain stochastic gradient descent) and chapter 9 (momentum,
Nesterov momentum, weight decay). :class:`SGD` follows ``torch.optim.SGD``'s update rule
exactly, so the same gradients give the same parameters step after step (the tests
hold the two side by side).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from cnnlib.nn.layers import Module, Parameter

__all__ = ["Optimizer", "SGD"]


def _check_number(value, name: str, *, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating,
                                                         np.integer)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} "
                        f"({value!r})")
    if not np.isfinite(value) or value < low:
        raise ValueError(f"{name} must be a finite number >= {low}, got {value}")
    return float(value)


class Optimizer:
    """Base class: holds the list of :class:`~cnnlib.nn.layers.Parameter` handles.

    params : an iterable of Parameters, usually ``model.parameters()``.
    """

    def __init__(self, params: Iterable[Parameter]) -> None:
        if isinstance(params, Module):
            raise TypeError("params must be an iterable of Parameters: pass "
                            "model.parameters(), not the model itself")
        if isinstance(params, (np.ndarray, str, bytes)):
            raise TypeError(f"params must be an iterable of Parameters, got "
                            f"{type(params).__name__}")
        try:
            self.params = list(params)
        except TypeError:
            raise TypeError(f"params must be an iterable of Parameters, got "
                            f"{type(params).__name__}") from None
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"params[{i}] must be a cnnlib Parameter (from "
                                f"model.parameters()), got {type(p).__name__}")

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero before the next backward."""
        for p in self.params:
            p.grad[...] = 0

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional momentum, as ``torch.optim.SGD``.

    For each parameter :math:`\theta` with gradient :math:`g`, at step t:

    .. math::
        g &\leftarrow g + \lambda\,\theta  \qquad(\text{weight decay } \lambda)\\
        b_t &= g \ (t = 1), \qquad b_t = \mu\, b_{t-1} + (1 - \tau)\, g \ (t > 1)\\
        g &\leftarrow g + \mu\, b_t \ (\text{Nesterov}) \quad\text{or}\quad g \leftarrow b_t\\
        \theta &\leftarrow \theta - \eta\, g

    with learning rate :math:`\eta` (``lr``), momentum :math:`\mu`, dampening
    :math:`\tau`; without momentum it is plain :math:`\theta \leftarrow \theta - \eta g`.
    Parameters are updated in place. Nesterov momentum needs momentum > 0 and zero
    dampening (PyTorch's rule).
    """

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params)
        self.lr = _check_number(lr, "lr")
        self.momentum = _check_number(momentum, "momentum")
        self.dampening = _check_number(dampening, "dampening")
        self.weight_decay = _check_number(weight_decay, "weight_decay")
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero "
                             f"dampening, got momentum={self.momentum}, "
                             f"dampening={self.dampening}")
        self.nesterov = bool(nesterov)
        # One momentum buffer per parameter, created at the first step (PyTorch's rule:
        # the first buffer is the gradient itself, not dampened).
        self.momentum_buffers: list[np.ndarray | None] = [None] * len(self.params)

    def step(self) -> None:
        """Update every parameter once from its current gradient."""
        for i, p in enumerate(self.params):
            theta, g = p.data, p.grad
            if self.weight_decay:
                g = g + self.weight_decay * theta
            if self.momentum:
                buf = self.momentum_buffers[i]
                if buf is None:
                    buf = np.array(g, dtype=theta.dtype, copy=True)
                    self.momentum_buffers[i] = buf
                else:
                    buf *= self.momentum
                    buf += (1 - self.dampening) * g
                g = g + self.momentum * buf if self.nesterov else buf
            theta -= (self.lr * g).astype(theta.dtype, copy=False)

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, dampening={self.dampening}, "
                f"weight_decay={self.weight_decay}, nesterov={self.nesterov})")
