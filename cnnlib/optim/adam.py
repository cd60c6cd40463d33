r"""Adam and AdamW: a step for each parameter scaled by a running estimate of its
gradient's size.

Explained in chapter 9. The updates are ``torch.optim.Adam`` and ``torch.optim.AdamW``
to the letter (same arguments, defaults, state names and order of operations), so the
same gradients give the same parameters step after step; the tests hold them side by
side for 100 steps. For each parameter :math:`\theta` with gradient :math:`g` at step
:math:`t = 1, 2, \dots`:

.. math::
    m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g
        &&\text{(running mean of the gradient: momentum)}\\
    v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g^2
        &&\text{(running mean of its square)}\\
    \theta &\leftarrow \theta - \frac{\eta}{1 - \beta_1^t}\,
        \frac{m_t}{\sqrt{v_t}/\sqrt{1 - \beta_2^t} + \epsilon}
        &&\text{(the divisions by } 1 - \beta^t \text{ undo the start at } 0)

with :math:`m_0 = v_0 = 0`. With ``amsgrad`` the denominator uses the largest
:math:`v` seen so far. Weight decay :math:`\lambda`: Adam adds :math:`\lambda\theta` to
the gradient (so it is rescaled like the gradient); AdamW instead shrinks the
parameter directly, :math:`\theta \leftarrow (1 - \eta\lambda)\,\theta`, before the
step ("decoupled" weight decay).
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from cnnlib._validate import check_bool, check_number
from cnnlib.optim.optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2015), as ``torch.optim.Adam``: see the module docstring
    for the update. ``lr`` :math:`\eta`, ``betas`` :math:`(\beta_1, \beta_2)`, ``eps``
    :math:`\epsilon`, ``weight_decay`` :math:`\lambda` (L2, added to the gradient),
    ``amsgrad``, ``maximize`` (ascend instead of descend); each may differ between
    parameter groups. The state of a parameter holds ``step``, ``exp_avg`` (m),
    ``exp_avg_sq`` (v) and, with amsgrad, ``max_exp_avg_sq``. Explained in chapter 9.
    """

    decoupled_weight_decay = False

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def check_hyperparameters(self, group: dict) -> dict:
        for key in ("lr", "eps", "weight_decay"):
            group[key] = check_number(group[key], key, low=0.0)
        betas = group["betas"]
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        b1 = check_number(betas[0], "betas[0]", low=0.0)
        b2 = check_number(betas[1], "betas[1]", low=0.0)
        if b1 >= 1 or b2 >= 1:
            raise ValueError(f"betas must lie in [0, 1), got {tuple(betas)}")
        group["betas"] = (b1, b2)
        group["amsgrad"] = check_bool(group["amsgrad"], "amsgrad")
        group["maximize"] = check_bool(group["maximize"], "maximize")
        return group

    def update(self, p, grad: np.ndarray, group: dict, state: dict) -> None:
        theta = p.data
        dt = theta.dtype
        g = -grad if group["maximize"] else grad
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(theta)
            state["exp_avg_sq"] = np.zeros_like(theta)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(theta)
        state["step"] += 1
        t = state["step"]
        if wd:
            if self.decoupled_weight_decay:
                theta *= dt.type(1 - lr * wd)
            else:
                g = g + dt.type(wd) * theta
        m, v = state["exp_avg"], state["exp_avg_sq"]
        # m.lerp_(g, 1 - beta1) in torch: m + (1 - beta1) (g - m)
        m += dt.type(1 - beta1) * (g - m)
        v *= dt.type(beta2)
        v += dt.type(1 - beta2) * g * g
        step_size = lr / (1 - beta1 ** t)
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** t)
        if group["amsgrad"]:
            vmax = state.get("max_exp_avg_sq")
            if vmax is None:        # amsgrad switched on after the first step
                vmax = state["max_exp_avg_sq"] = np.zeros_like(theta)
            np.maximum(vmax, v, out=vmax)
            v = vmax
        denom = np.sqrt(v) / dt.type(bias_correction2_sqrt) + dt.type(eps)
        theta -= dt.type(step_size) * (m / denom)


class AdamW(Adam):
    r"""AdamW (Loshchilov and Hutter, 2019), as ``torch.optim.AdamW``: Adam with
    decoupled weight decay, :math:`\theta \leftarrow (1 - \eta\lambda)\theta` before
    each Adam step; ``weight_decay`` defaults to 0.01 as in PyTorch. Explained in
    chapter 9."""

    decoupled_weight_decay = True

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad,
                         maximize=maximize)
