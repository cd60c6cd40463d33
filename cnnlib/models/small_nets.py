"""The first network that learns its filters, and a fully connected one of the same size.

Explained in chapter 7. Both take 28 x 28 grey digits, (N, 1, 28, 28), and return 10
logits:

* :func:`small_cnn`: one convolutional layer (``channels`` filters of
  ``kernel_size`` x ``kernel_size``, padding that keeps 28 x 28), ReLU, 2 x 2 max
  pooling, and one fully connected layer from the ``channels`` pooled 14 x 14 maps to
  the classes. With 8 filters of 5 x 5: 208 + 15,690 = 15,898 parameters.
* :func:`fully_connected`: the pixels flattened into 784 numbers, one hidden layer of
  ``hidden`` ReLU units, and the output layer. With 20 hidden units: 15,910
  parameters, the CNN's budget spent on connections instead of shared filters.

Both are :class:`cnnlib.nn.Sequential` models, so their ``state_dict`` keys
(``"0.weight"``, ...) are those of the ``torch.nn.Sequential`` twins in
:mod:`cnnlib.twins.small_nets`.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_rng, check_positive_int
from cnnlib.nn.activation import ReLU
from cnnlib.nn.container import Sequential
from cnnlib.nn.conv import Conv2d
from cnnlib.nn.flatten import Flatten
from cnnlib.nn.linear import Linear
from cnnlib.nn.pooling import MaxPool2d

__all__ = ["small_cnn", "fully_connected"]


def small_cnn(channels: int = 8, kernel_size: int = 5, num_classes: int = 10,
              rng: np.random.Generator | int | None = None,
              dtype: type = np.float64) -> Sequential:
    """conv ``channels``@``kernel_size`` (padding kernel_size // 2) -> ReLU -> 2 x 2 max
    pooling -> flatten -> fully connected to ``num_classes`` logits.

    ``kernel_size`` must be odd (the padding then keeps the maps 28 x 28). Input
    (N, 1, 28, 28); output (N, num_classes). The convolution skips the gradient of the
    images (its backward, and the model's, returns None; set
    ``model[0].needs_input_grad = True`` to get it). Explained in chapter 7.
    """
    channels = check_positive_int(channels, "channels")
    kernel_size = check_positive_int(kernel_size, "kernel_size")
    num_classes = check_positive_int(num_classes, "num_classes")
    if kernel_size % 2 == 0 or kernel_size > 27:
        raise ValueError(f"kernel_size must be odd and at most 27 (so that padding "
                         f"kernel_size // 2 keeps 28 x 28 maps), got {kernel_size}")
    gen = as_rng(rng)
    model = Sequential(
        Conv2d(1, channels, kernel_size, padding=kernel_size // 2, rng=gen, dtype=dtype),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(channels * 14 * 14, num_classes, rng=gen, dtype=dtype),
    )
    model[0].needs_input_grad = False     # the images need no gradient
    return model


def fully_connected(hidden: int = 20, num_classes: int = 10,
                    rng: np.random.Generator | int | None = None,
                    dtype: type = np.float64) -> Sequential:
    """flatten -> fully connected 784 -> ``hidden`` -> ReLU -> fully connected to
    ``num_classes`` logits. Input (N, 1, 28, 28); output (N, num_classes). Explained in
    chapter 7."""
    hidden = check_positive_int(hidden, "hidden")
    num_classes = check_positive_int(num_classes, "num_classes")
    gen = as_rng(rng)
    return Sequential(
        Flatten(),
        Linear(28 * 28, hidden, rng=gen, dtype=dtype),
        ReLU(),
        Linear(hidden, num_classes, rng=gen, dtype=dtype),
    )
