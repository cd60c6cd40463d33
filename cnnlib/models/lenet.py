r"""LeNet-5 in NumPy: two convolutional layers and three fully connected ones.

Explained in chapter 8. On a 28 x 28 digit (N, 1, 28, 28):

=========  ==========================================  ==============  ===========
layer      what it does                                output          parameters
=========  ==========================================  ==============  ===========
conv1      6 filters 5 x 5, padding 2                  (N, 6, 28, 28)  6*25 + 6
act, pool  ReLU, 2 x 2 max pooling                     (N, 6, 14, 14)  0
conv2      16 filters 5 x 5 x 6                        (N, 16, 10, 10) 16*150 + 16
act, pool  ReLU, 2 x 2 max pooling                     (N, 16, 5, 5)   0
flatten    16*5*5 = 400 numbers per digit              (N, 400)        0
fc1        fully connected 400 -> 120, ReLU            (N, 120)        400*120 + 120
fc2        fully connected 120 -> 84, ReLU             (N, 84)         120*84 + 84
fc3        fully connected 84 -> 10 (logits)           (N, 10)         84*10 + 10
=========  ==========================================  ==============  ===========

61,706 parameters in all. The layers carry PyTorch's attribute names, so the
``state_dict`` keys (``conv1.weight``, ..., ``fc3.bias``) are those of the PyTorch twin
:class:`cnnlib.twins.lenet.LeNet5`.

Two choices differ from LeCun, Bottou, Bengio and Haffner (1998), which used a
scaled tanh (:math:`1.7159 \tanh(2a/3)`), "sub-sampling" layers (the mean of each
2 x 2 window times a trained coefficient plus a trained bias, then the squashing
function), a 32 x 32 input, a partial connection table between the 6 and the 16 maps
(60,000 parameters in all) and an output layer of Euclidean radial basis functions.
Here, as in most modern versions: ReLU (gradients do not vanish in saturated units, so
plain SGD trains it in a few epochs), max pooling (it keeps the strongest response of
each window: "the filter found its feature somewhere here"), every map of conv2 sees
all 6 maps of conv1, and the output layer gives logits for a softmax cross-entropy.
``activation="tanh"`` and ``pooling="avg"`` give the older choices of non-linearity
and pooling (without the trained pooling coefficients).
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_rng, check_in, check_positive_int
from cnnlib.nn.activation import ReLU, Tanh
from cnnlib.nn.conv import Conv2d
from cnnlib.nn.flatten import Flatten
from cnnlib.nn.init import check_dtype
from cnnlib.nn.linear import Linear
from cnnlib.nn.module import Module
from cnnlib.nn.pooling import AvgPool2d, MaxPool2d

__all__ = ["LeNet5", "lenet5", "LENET5_PARAMETERS"]

#: The number of parameters of :func:`lenet5` with 10 classes.
LENET5_PARAMETERS = 61_706

ACTIVATIONS = {"relu": ReLU, "tanh": Tanh}
POOLINGS = {"max": MaxPool2d, "avg": AvgPool2d}


class LeNet5(Module):
    """LeNet-5 for 28 x 28 grey images (see the module docstring for the table).

    forward: x (N, 1, 28, 28) -> logits (N, num_classes). backward: d loss / d logits
    (N, num_classes) -> the parameter gradients, added into each layer's ``grads``; it
    returns d loss / d x (N, 1, 28, 28) only when ``model.conv1.needs_input_grad`` is
    True (by default the images' gradient is skipped, as PyTorch skips it for inputs
    that do not require grad, and backward returns None). Explained in chapter 8.
    """

    def __init__(self, num_classes: int = 10, activation: str = "relu",
                 pooling: str = "max", rng: np.random.Generator | int | None = None,
                 dtype: type = np.float64) -> None:
        super().__init__()
        check_in(activation, "activation", list(ACTIVATIONS))
        check_in(pooling, "pooling", list(POOLINGS))
        self.num_classes = check_positive_int(num_classes, "num_classes")
        dtype = check_dtype(dtype)
        gen = as_rng(rng)
        act, pool = ACTIVATIONS[activation], POOLINGS[pooling]
        # The order of assignment is the order of the layers (and of state_dict).
        self.conv1 = Conv2d(1, 6, 5, padding=2, rng=gen, dtype=dtype)
        self.act1 = act()
        self.pool1 = pool(2)
        self.conv2 = Conv2d(6, 16, 5, rng=gen, dtype=dtype)
        self.act2 = act()
        self.pool2 = pool(2)
        self.flatten = Flatten()
        self.fc1 = Linear(16 * 5 * 5, 120, rng=gen, dtype=dtype)
        self.act3 = act()
        self.fc2 = Linear(120, 84, rng=gen, dtype=dtype)
        self.act4 = act()
        self.fc3 = Linear(84, self.num_classes, rng=gen, dtype=dtype)
        self.activation, self.pooling = activation, pooling
        # Nobody needs the gradient of the images: conv1 skips it (a third of its
        # backward pass). Set model.conv1.needs_input_grad = True to get it.
        self.conv1.needs_input_grad = False

    def forward(self, x) -> np.ndarray:
        if np.ndim(x) != 4 or np.shape(x)[1:] != (1, 28, 28):
            raise ValueError(f"LeNet5 takes images of shape (N, 1, 28, 28), got an array "
                             f"of shape {np.shape(x)} (add the channel axis with "
                             f"X[:, None])")
        for layer in self.children():    # conv1, act1, pool1, conv2, ..., fc3
            x = layer(x)
        return x

    def backward(self, dout) -> np.ndarray:
        # The same layers in reverse: each turns d loss / d (its output) into
        # d loss / d (its input) and keeps its parameter gradients.
        for layer in reversed(list(self.children())):
            dout = layer.backward(dout)
        return dout

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}"


def lenet5(num_classes: int = 10, activation: str = "relu", pooling: str = "max",
           rng: np.random.Generator | int | None = None,
           dtype: type = np.float64) -> LeNet5:
    """A freshly initialised :class:`LeNet5` (PyTorch's default initialisation, drawn
    from ``rng``): ReLU and max pooling by default; ``activation="tanh"``,
    ``pooling="avg"`` for the choices of 1998. ``dtype=np.float32`` trains about twice
    as fast as float64. Explained in chapter 8."""
    return LeNet5(num_classes, activation, pooling, rng, dtype)
