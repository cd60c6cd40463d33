"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay.

Explained in chapter 2 (plain gradient descent) and chapter 9 (momentum). The update is
``torch.optim.SGD``'s to the letter, so the same gradients give the same parameters step
after step (the tests hold the two side by side).
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from cnnlib._validate import check_bool, check_number
from cnnlib.optim.optimizer import Optimizer

__all__ = ["SGD"]


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
    dampening (PyTorch's rule). Each of these may differ between parameter groups.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def check_hyperparameters(self, group: dict) -> dict:
        for key in ("lr", "momentum", "dampening", "weight_decay"):
            group[key] = check_number(group[key], key, low=0.0)
        group["nesterov"] = check_bool(group["nesterov"], "nesterov")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero "
                             f"dampening, got momentum={group['momentum']}, "
                             f"dampening={group['dampening']}")
        return group

    def update(self, p, grad: np.ndarray, group: dict, state: dict) -> None:
        theta = p.data
        g = grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * theta
        mu = group["momentum"]
        if mu:
            buf = state.get("momentum_buffer")
            if buf is None:
                # PyTorch's rule: the first buffer is the gradient itself, not dampened.
                buf = state["momentum_buffer"] = np.array(g, dtype=theta.dtype, copy=True)
            else:
                buf *= mu
                buf += (1 - group["dampening"]) * g
            g = g + mu * buf if group["nesterov"] else buf
        theta -= (group["lr"] * g).astype(theta.dtype, copy=False)
