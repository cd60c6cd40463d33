"""LeNet-5 in PyTorch: the twin of :class:`cnnlib.models.lenet.LeNet5`.

Explained in chapter 8. The same layers under the same attribute names, so both
models have the same ``state_dict`` keys and shapes, and weights move between them in
one line each way::

    from cnnlib.twins import state_from_torch, state_to_torch
    torch_model = state_to_torch(numpy_model, LeNet5())          # NumPy -> torch
    numpy_model.load_state_dict(state_from_torch(torch_model))   # torch -> NumPy

Given the same weights and the same images the two give the same logits and the same
gradients (to float64 rounding), which the tests and chapter 8 check on every device.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["LeNet5", "lenet5"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
_POOLINGS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


class LeNet5(nn.Module):
    """LeNet-5 for 28 x 28 grey images: conv 6@5x5 (padding 2), pool, conv 16@5x5,
    pool, fully connected 400 -> 120 -> 84 -> ``num_classes``; ReLU and max pooling by
    default (``activation="tanh"``, ``pooling="avg"`` as in cnnlib's twin). 61,706
    parameters with 10 classes. x (N, 1, 28, 28) -> logits (N, num_classes)."""

    def __init__(self, num_classes: int = 10, activation: str = "relu",
                 pooling: str = "max") -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(_ACTIVATIONS)}, got "
                             f"{activation!r}")
        if pooling not in _POOLINGS:
            raise ValueError(f"pooling must be one of {list(_POOLINGS)}, got {pooling!r}")
        act, pool = _ACTIVATIONS[activation], _POOLINGS[pooling]
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.act1 = act()
        self.pool1 = pool(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.act2 = act()
        self.pool2 = pool(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.act3 = act()
        self.fc2 = nn.Linear(120, 84)
        self.act4 = act()
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.children():     # conv1, act1, pool1, conv2, ..., fc3
            x = layer(x)
        return x


def lenet5(num_classes: int = 10, activation: str = "relu", pooling: str = "max",
           dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> LeNet5:
    """A freshly initialised :class:`LeNet5` (PyTorch's default initialisation, from
    torch's random generator) of the given dtype on the given device."""
    return LeNet5(num_classes, activation, pooling).to(dtype=dtype, device=device)
