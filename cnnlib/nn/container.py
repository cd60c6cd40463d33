"""Containers: modules that hold other modules.

Explained in chapter 2. :class:`Sequential` applies its layers one after another and
runs the backward pass through them in reverse; :class:`ModuleList` only holds modules
(the model that owns it decides how to use them), so that their parameters are found
and named ``"blocks.0.weight"`` as in PyTorch.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from cnnlib.nn.module import Module

__all__ = ["Sequential", "ModuleList"]


def _check_modules(layers: Iterable, what: str) -> list[Module]:
    layers = list(layers)
    for i, layer in enumerate(layers):
        if not isinstance(layer, Module):
            raise TypeError(f"{what} {i} must be a cnnlib Module, got "
                            f"{type(layer).__name__}")
    return layers


class _IndexedModules(Module):
    """Children named "0", "1", ... with indexing, ``len`` and iteration."""

    def __init__(self, layers: Iterable[Module], what: str) -> None:
        super().__init__()
        for i, layer in enumerate(_check_modules(layers, what)):
            self._modules[str(i)] = layer

    def __getitem__(self, i):
        items = list(self._modules.values())
        if isinstance(i, slice):
            return type(self)(*items[i]) if isinstance(self, Sequential) \
                else type(self)(items[i])
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"index must be an int or a slice, got {type(i).__name__}")
        if not -len(items) <= i < len(items):
            raise IndexError(f"index {i} is out of range for {len(items)} modules")
        return items[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def append(self, module: Module) -> "_IndexedModules":
        """Add a module at the end (named by its position)."""
        _check_modules([module], "module")
        self._modules[str(len(self._modules))] = module
        return self


class Sequential(_IndexedModules):
    """Layers applied one after another; the backward pass visits them in reverse.

    ``Sequential(Linear(2, 4), Sigmoid(), Linear(4, 1))``. Indexing, slicing, ``len``
    and iteration work as in PyTorch, and parameter names are ``"0.weight"``,
    ``"2.bias"``.
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__(layers, "layer")

    def forward(self, x):
        for layer in self:
            x = layer(x)
        return x

    def backward(self, dout):
        for layer in reversed(list(self)):
            dout = layer.backward(dout)
        return dout


class ModuleList(_IndexedModules):
    """A list of modules whose parameters belong to the model that holds it
    (``torch.nn.ModuleList``); it has no forward of its own."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__(modules, "module")
