"""The PyTorch twins of :mod:`cnnlib.models.small_nets`: chapter 7's small CNN and its
fully connected rival, written as ``torch.nn.Sequential`` models with the same layers,
so that their ``state_dict`` keys and shapes are those of the cnnlib models.

Explained in chapter 7.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["small_cnn", "fully_connected"]


def small_cnn(channels: int = 8, kernel_size: int = 5, num_classes: int = 10,
              dtype: torch.dtype = torch.float32,
              device: str | torch.device = "cpu") -> nn.Sequential:
    """conv ``channels``@``kernel_size`` (padding kernel_size // 2) -> ReLU -> 2 x 2 max
    pooling -> flatten -> fully connected to ``num_classes`` logits."""
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd, got {kernel_size}")
    return nn.Sequential(
        nn.Conv2d(1, channels, kernel_size, padding=kernel_size // 2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(channels * 14 * 14, num_classes),
    ).to(dtype=dtype, device=device)


def fully_connected(hidden: int = 20, num_classes: int = 10,
                    dtype: torch.dtype = torch.float32,
                    device: str | torch.device = "cpu") -> nn.Sequential:
    """flatten -> fully connected 784 -> ``hidden`` -> ReLU -> fully connected to
    ``num_classes`` logits."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(28 * 28, hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    ).to(dtype=dtype, device=device)
