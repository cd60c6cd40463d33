"""``cnnlib.nn``: :class:`Module` and the layer objects, the NumPy twins of ``torch.nn``.

A layer keeps its parameters (and buffers such as running statistics) under torch's
names, computes its forward pass with one op of :mod:`cnnlib.functional` and its
backward pass with that op's twin; a model assigns its layers as attributes, so its
``state_dict`` keys are those of a torch module written the same way.

* :mod:`~cnnlib.nn.module`: ``Module``, ``Parameter``, ``no_grad``;
* :mod:`~cnnlib.nn.container`: ``Sequential``, ``ModuleList``;
* :mod:`~cnnlib.nn.linear`, :mod:`~cnnlib.nn.activation`, :mod:`~cnnlib.nn.flatten`:
  the layers of chapters 1-5;
* :mod:`~cnnlib.nn.init`: PyTorch's default initialisation;
* :mod:`~cnnlib.nn.serialization`: saving and loading weights as ``.npz``.

Explained in chapter 2.
"""
from __future__ import annotations

from cnnlib.nn import init
from cnnlib.nn.activation import LeakyReLU, ReLU, Sigmoid, Tanh
from cnnlib.nn.container import ModuleList, Sequential
from cnnlib.nn.flatten import Flatten
from cnnlib.nn.linear import Identity, Linear
from cnnlib.nn.module import MAX_PENDING, Module, Parameter, is_grad_enabled, no_grad
from cnnlib.nn.serialization import load, save

__all__ = ["Module", "Parameter", "no_grad", "is_grad_enabled", "MAX_PENDING",
           "Sequential", "ModuleList", "Linear", "Identity", "Sigmoid", "ReLU",
           "LeakyReLU", "Tanh", "Flatten", "init", "save", "load"]
