"""Small PyTorch networks for the experiments on 28 x 28 digits (chapter 9 on).

Explained in chapter 9. Each builder returns a ``torch.nn.Sequential`` initialised by
PyTorch's defaults from its global generator (seed it first, e.g. with
:func:`cnnlib.twins.training.seed_everything`), in float32 unless asked:

* :func:`two_block_cnn`: two convolution + ReLU + max-pooling stages and a linear output,
  the workhorse of the chapter's experiments (a few thousand weights);
* :func:`plain_cnn`: a deep stack of 3 x 3 convolutions with nothing to help it train,
  optionally with batch norm after each convolution (the batch-norm experiment);
* :func:`mlp`: a fully connected network, with a leaky-ReLU slope and optional batch
  norm (the experiments that need many runs).

The activation is ``LeakyReLU(negative_slope)``, which is ``ReLU`` when the slope is 0.
A layer followed by batch norm has no bias (the normalisation subtracts any constant).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnlib._validate import check_bool, check_number, check_positive_int

__all__ = ["two_block_cnn", "plain_cnn", "mlp", "activation"]


def activation(negative_slope: float = 0.0) -> nn.Module:
    """``nn.ReLU()`` for slope 0, else ``nn.LeakyReLU(negative_slope)``."""
    slope = check_number(negative_slope, "negative_slope", low=0.0)
    return nn.ReLU() if slope == 0 else nn.LeakyReLU(slope)


def _finish(model: nn.Sequential, dtype: torch.dtype) -> nn.Sequential:
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    return model.to(dtype)


def two_block_cnn(width: int = 8, negative_slope: float = 0.0, batch_norm: bool = False,
                  in_channels: int = 1, image_size: int = 28, num_classes: int = 10,
                  dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """conv 3x3 (``width`` maps) -> [BN] -> act -> max-pool 2 -> conv 3x3 (2 ``width``)
    -> [BN] -> act -> max-pool 2 -> flatten -> linear (``num_classes`` logits).

    Input (N, in_channels, image_size, image_size), padding 1 keeps each convolution's
    size, so the linear layer sees 2 width x (image_size // 4)^2 features."""
    w = check_positive_int(width, "width")
    size = check_positive_int(image_size, "image_size")
    if size < 4:
        raise ValueError(f"image_size must be at least 4 (two 2 x 2 poolings), got {size}")
    bn = check_bool(batch_norm, "batch_norm")
    c_in = check_positive_int(in_channels, "in_channels")
    layers: list[nn.Module] = []
    for c0, c1 in ((c_in, w), (w, 2 * w)):
        layers.append(nn.Conv2d(c0, c1, 3, padding=1, bias=not bn))
        if bn:
            layers.append(nn.BatchNorm2d(c1))
        layers += [activation(negative_slope), nn.MaxPool2d(2)]
    layers += [nn.Flatten(), nn.Linear(2 * w * (size // 4) ** 2,
                                       check_positive_int(num_classes, "num_classes"))]
    return _finish(nn.Sequential(*layers), dtype)


def plain_cnn(depth: int = 8, width: int = 8, batch_norm: bool = False,
              negative_slope: float = 0.0, in_channels: int = 1, image_size: int = 28,
              num_classes: int = 10, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """``depth`` convolutions 3x3 of ``width`` maps, each followed by [BN ->] act; a 2 x 2
    max-pooling after the first third and the second third of them (so the deep layers
    run on smaller maps), then flatten -> linear. Without batch norm, PyTorch's default
    initialisation shrinks the signal at every layer; with it, each layer's output is
    rescaled. Input (N, in_channels, image_size, image_size)."""
    depth = check_positive_int(depth, "depth")
    w = check_positive_int(width, "width")
    size = check_positive_int(image_size, "image_size")
    bn = check_bool(batch_norm, "batch_norm")
    pools = {depth // 3, 2 * depth // 3} - {0}
    layers: list[nn.Module] = []
    c = check_positive_int(in_channels, "in_channels")
    for i in range(depth):
        if i in pools and size >= 2:
            layers.append(nn.MaxPool2d(2))
            size //= 2
        layers.append(nn.Conv2d(c, w, 3, padding=1, bias=not bn))
        if bn:
            layers.append(nn.BatchNorm2d(w))
        layers.append(activation(negative_slope))
        c = w
    layers += [nn.Flatten(), nn.Linear(w * size * size,
                                       check_positive_int(num_classes, "num_classes"))]
    return _finish(nn.Sequential(*layers), dtype)


def mlp(sizes: Sequence[int] = (784, 128, 10), negative_slope: float = 0.0,
        batch_norm: bool = False, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """flatten -> (linear -> [BN] -> act) for each hidden layer -> linear; ``sizes`` =
    (inputs, hidden..., outputs). Accepts images (flattened) or feature vectors."""
    sizes = [check_positive_int(s, f"sizes[{i}]") for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output size, got {sizes}")
    bn = check_bool(batch_norm, "batch_norm")
    layers: list[nn.Module] = [nn.Flatten()]
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers.append(nn.Linear(a, b, bias=not bn))
        if bn:
            layers.append(nn.BatchNorm1d(b))
        layers.append(activation(negative_slope))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return _finish(nn.Sequential(*layers), dtype)
