"""The base class of every optimiser: parameter groups and per-parameter state.

Explained in chapter 2 (a step of gradient descent) and chapter 10 (a smaller learning
rate for a pre-trained body: parameter groups). It follows ``torch.optim.Optimizer``:

* ``params`` is an iterable of :class:`~cnnlib.nn.Parameter` (usually
  ``model.parameters()``), or of dicts ``{"params": [...], "lr": 1e-3, ...}`` that give
  each group its own hyperparameters (missing keys take the optimiser's defaults);
* ``optimizer.param_groups`` is that list of dicts (a learning-rate scheduler changes
  ``group["lr"]``); ``optimizer.state[p]`` holds a parameter's buffers (momentum, ...);
* ``step()`` updates every parameter that requires a gradient; frozen parameters
  (``requires_grad_(False)``) are left alone.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from cnnlib.nn.module import Module, Parameter

__all__ = ["Optimizer"]


class Optimizer:
    """Base class; a subclass sets its ``defaults`` and implements
    :meth:`update` (one parameter, one step)."""

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        if isinstance(params, Module):
            raise TypeError("params must be an iterable of Parameters: pass "
                            "model.parameters(), not the model itself")
        if isinstance(params, (np.ndarray, str, bytes, Parameter, dict)):
            raise TypeError(f"params must be an iterable of Parameters or of dicts, got "
                            f"{type(params).__name__}")
        try:
            items = list(params)
        except TypeError:
            raise TypeError(f"params must be an iterable of Parameters, got "
                            f"{type(params).__name__}") from None
        if not items:
            raise ValueError("optimizer got an empty parameter list")
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Parameter, dict[str, Any]] = {}
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        """Add a group ``{"params": [...], hyperparameter: value, ...}``."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"a parameter group must be a dict with a 'params' entry, got "
                            f"{group!r}")
        unknown = sorted(set(group) - set(self.defaults) - {"params", "initial_lr"})
        if unknown:
            raise ValueError(f"unknown option(s) {unknown} in a parameter group of "
                             f"{type(self).__name__}; it takes {sorted(self.defaults)}")
        ps = group["params"]
        ps = [ps] if isinstance(ps, Parameter) else list(ps)
        if not ps:
            raise ValueError("a parameter group got an empty parameter list")
        seen = {p for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(ps):
            if not isinstance(p, Parameter):
                raise TypeError(f"params[{i}] must be a cnnlib Parameter (from "
                                f"model.parameters()), got {type(p).__name__}")
            if p in seen:
                raise ValueError(f"params[{i}] ({p!r}) is given twice: each parameter may "
                                 f"appear once, in one group (it would be updated twice)")
            seen.add(p)
        full = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}}
        full = self.check_hyperparameters(full)
        self.param_groups.append({"params": ps, **full})

    def check_hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        """Validate one group's hyperparameters (a subclass checks its own)."""
        return group

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero before the next backward."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad[...] = 0

    def step(self) -> None:
        """Update every parameter that requires a gradient once, from its gradient."""
        for group in self.param_groups:
            for p in group["params"]:
                if not p.requires_grad:
                    continue
                if p.grad.shape != p.data.shape:
                    raise ValueError(f"the gradient of {p!r} has shape {p.grad.shape}, "
                                     f"not the parameter's {p.data.shape}")
                self.update(p, p.grad, group, self.state.setdefault(p, {}))

    def update(self, p: Parameter, grad: np.ndarray, group: dict, state: dict) -> None:
        raise NotImplementedError

    @property
    def lr(self) -> float:
        """The learning rate of the first group (all groups share it unless set apart)."""
        return self.param_groups[0]["lr"]

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            opts = ", ".join(f"{k}={v}" for k, v in g.items() if k != "params")
            lines.append(f"  group {i}: {len(g['params'])} parameters, {opts}")
        return "\n".join(lines) + "\n)"
