"""A model's layers one by one: what each does, the shape it outputs, its parameters.

Explained in chapter 8 (LeNet-5's table). Works for models whose forward pass applies
their sub-modules one after another in the order they were assigned, such as a
:class:`~cnnlib.nn.Sequential` or :class:`cnnlib.models.lenet.LeNet5`; the function
checks that the chain of sub-modules gives the model's own output.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cnnlib._validate import check_positive_int
from cnnlib.nn.module import Module, no_grad

__all__ = ["LayerInfo", "layer_outputs", "summary", "describe", "format_summary"]


class LayerInfo(NamedTuple):
    """One row of :func:`summary`: the layer's name (its attribute), the layer (its
    printed form says what it does), its output shape without the batch axis, and its
    number of parameters."""
    name: str
    layer: Module
    output_shape: tuple[int, ...]
    parameters: int


def layer_outputs(model: Module, x) -> dict[str, np.ndarray]:
    """The output of every sub-module of a chain model for the batch ``x``, by name
    (``{"conv1": ..., "act1": ..., ...}``): the feature maps of chapters 7 and 8. Runs
    in evaluation mode without keeping caches; the model's mode is restored."""
    if not isinstance(model, Module):
        raise TypeError(f"model must be a cnnlib Module, got {type(model).__name__}")
    outputs = {}
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for name, layer in model.named_children():
                x = layer(x)
                outputs[name] = x
    finally:
        model.train(was_training)
    return outputs


def summary(model: Module, input_shape: tuple[int, ...],
            dtype: type = np.float64) -> list[LayerInfo]:
    """Run one example of shape ``input_shape`` (without the batch axis, e.g.
    ``(1, 28, 28)``) through the sub-modules of ``model`` in order and list them.

    The first row is the input itself (name ``"input"``, layer None). Raises
    ``ValueError`` when running the sub-modules one after another does not reproduce
    ``model``'s output (its forward does something else than a chain).
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a cnnlib Module, got {type(model).__name__}")
    shape = tuple(check_positive_int(s, f"input_shape[{k}]")
                  for k, s in enumerate(input_shape))
    x = np.random.default_rng(0).random((2, *shape)).astype(dtype)
    outputs = layer_outputs(model, x)
    rows = [LayerInfo("input", None, shape, 0)]
    rows += [LayerInfo(name, layer, tuple(np.shape(outputs[name])[1:]),
                       layer.num_parameters()) for name, layer in model.named_children()]
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            whole = model(x)
    finally:
        model.train(was_training)
    out = outputs[rows[-1].name] if len(rows) > 1 else x
    if np.shape(whole) != np.shape(out) or not np.allclose(whole, out, rtol=1e-6,
                                                           atol=1e-9):
        raise ValueError(f"{type(model).__name__} does not apply its sub-modules one after "
                         f"another: summary needs a chain such as a Sequential")
    return rows


def _pair(t) -> str:
    return "x".join(map(str, t)) if isinstance(t, tuple) else str(t)


def _one(t) -> str:
    """A stride or padding: one number when it is the same along every axis."""
    return str(t[0]) if isinstance(t, tuple) and len(set(t)) == 1 else _pair(t)


def describe(layer: Module) -> str:
    """A short description of a layer for a table: ``Conv2d(1, 6, 5x5, padding 2)``,
    ``Linear(400, 120)``, ``MaxPool2d(2x2)``; other layers as they print."""
    kind = type(layer).__name__
    if kind in ("Conv1d", "Conv2d"):
        extra = [f"{name} {_one(value)}" for name, value, default in
                 (("stride", layer.stride, (1,) * len(layer.stride)),
                  ("padding", layer.padding, (0,) * len(layer.stride)),
                  ("dilation", layer.dilation, (1,) * len(layer.stride)),
                  ("groups", layer.groups, 1)) if value != default]
        return (f"{kind}({layer.in_channels}, {layer.out_channels}, "
                f"{_pair(layer.kernel_size)}" + "".join(f", {e}" for e in extra) + ")")
    if kind in ("MaxPool2d", "AvgPool2d"):
        stride = "" if layer.stride == layer.kernel_size else f", stride {_one(layer.stride)}"
        return f"{kind}({_pair(layer.kernel_size)}{stride})"
    if kind == "Linear":
        return f"Linear({layer.in_features}, {layer.out_features})"
    if kind == "Flatten":
        return "Flatten()"
    return repr(layer).split("\n")[0]


def format_summary(rows: list[LayerInfo]) -> str:
    """The rows of :func:`summary` as a text table with the total parameter count."""
    whats = ["" if r.layer is None else describe(r.layer) for r in rows]
    w = max(len("what it does"), *map(len, whats))
    lines = [f"{'layer':<8} {'what it does':<{w}} {'output':>12} {'parameters':>10}"]
    rule = "-" * len(lines[0])
    lines.append(rule)
    for row, what in zip(rows, whats):
        lines.append(f"{row.name:<8} {what:<{w}} {str(row.output_shape):>12} "
                     f"{row.parameters:>10,}")
    lines += [rule, f"{'total':<8} {'':<{w}} {'':>12} "
                    f"{sum(r.parameters for r in rows):>10,}"]
    return "\n".join(lines)
