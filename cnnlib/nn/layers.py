"""Layer objects: the functional ops of :mod:`cnnlib.functional` with their parameters
attached, in PyTorch's shape.

Explained in chapter 2. A network is a stack of layers; each layer

* keeps its parameters in ``layer.params`` (a dict of arrays, PyTorch's names:
  ``"weight"``, ``"bias"``) and their gradients in ``layer.grads`` (same keys, same
  shapes);
* ``forward(x)`` (or simply ``layer(x)``) computes the output and remembers what the
  backward pass needs (the cache of the functional op);
* ``backward(dout)`` takes the gradient of the loss with respect to the output,
  **adds** the gradients of the parameters into ``layer.grads`` (they accumulate, as
  PyTorch's ``.grad`` does, until ``zero_grad()``) and returns the gradient with
  respect to the input, which the layer below needs.

Layers do no arithmetic of their own: every formula lives once, in
:mod:`cnnlib.functional`. A new layer (``Conv2d``, ``MaxPool2d``, ...) is a subclass of
:class:`Module` that fills ``params``/``grads`` in ``__init__`` and calls one
``*_forward``/``*_backward`` pair.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from cnnlib import functional as F
from cnnlib._validate import as_float_array, as_rng, check_positive_int

__all__ = ["Parameter", "Module", "Linear", "Sigmoid", "ReLU", "LeakyReLU", "Tanh",
           "Flatten", "Sequential"]


class Parameter:
    """A handle on one parameter of a module: ``p.data`` is the array, ``p.grad`` its
    gradient (the module's ``params[name]`` and ``grads[name]``).

    The handle looks the arrays up in the module each time, so replacing
    ``layer.params["weight"]`` by a new array (loading weights) keeps an optimiser that
    was built earlier working. Optimisers update ``p.data`` in place.
    """

    __slots__ = ("module", "name")

    def __init__(self, module: "Module", name: str):
        self.module = module
        self.name = name

    @property
    def data(self) -> np.ndarray:
        return self.module.params[self.name]

    @data.setter
    def data(self, value: np.ndarray) -> None:
        self.module.params[self.name] = value

    @property
    def grad(self) -> np.ndarray:
        return self.module.grads[self.name]

    @grad.setter
    def grad(self, value: np.ndarray) -> None:
        self.module.grads[self.name] = value

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __repr__(self) -> str:
        return (f"Parameter({type(self.module).__name__}.{self.name}, "
                f"shape={self.data.shape}, dtype={self.data.dtype})")


class Module:
    """Base class of every layer and of :class:`Sequential`.

    Subclasses set ``self.params[name]`` (arrays) in ``__init__``, call
    ``self._init_grads()`` and implement ``forward`` and ``backward``. ``training`` is
    True after ``train()`` and False after ``eval()`` (layers such as dropout or batch
    norm behave differently in the two modes; the layers here do not).
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True
        self._cache = None

    # -- the two passes ----------------------------------------------------------
    def forward(self, x) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x) -> np.ndarray:
        return self.forward(x)

    def _need_cache(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: "
                               f"run forward(x) on a batch first")
        return self._cache

    # -- parameters ---------------------------------------------------------------
    def _init_grads(self) -> None:
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def children(self) -> list["Module"]:
        """Sub-modules (none for a plain layer; :class:`Sequential` has its layers)."""
        return []

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(name, Parameter)`` pairs with PyTorch's dotted names
        (``"0.weight"`` for the weight of a Sequential's first layer)."""
        for name in self.params:
            yield prefix + name, Parameter(self, name)
        for i, child in enumerate(self.children()):
            yield from child.named_parameters(f"{prefix}{i}.")

    def parameters(self) -> Iterator[Parameter]:
        """Yield every :class:`Parameter`, for an optimiser: ``SGD(model.parameters())``."""
        for _, p in self.named_parameters():
            yield p

    def num_parameters(self) -> int:
        """Total number of scalar parameters."""
        return sum(p.data.size for p in self.parameters())

    def zero_grad(self) -> None:
        """Set every gradient to zero (gradients accumulate across backward calls)."""
        for p in self.parameters():
            p.grad[...] = 0

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters by dotted name, PyTorch's keys."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays into the parameters by name, e.g. from a PyTorch model:
        ``m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})``.

        Every name must be present with the parameter's shape; the parameter keeps its
        dtype.
        """
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict of arrays, got {type(state).__name__}")
        own = dict(self.named_parameters())
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(f"state_dict keys do not match: missing {missing}, "
                             f"unexpected {unexpected}")
        for name, p in own.items():
            value = as_float_array(state[name], f"state[{name!r}]")
            if value.shape != p.data.shape:
                raise ValueError(f"state[{name!r}] must have shape {p.data.shape}, got "
                                 f"{value.shape}")
            p.data[...] = value

    # -- modes --------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Switch to training mode (or evaluation mode with ``mode=False``)."""
        self.training = bool(mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> "Module":
        """Switch to evaluation mode."""
        return self.train(False)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class Linear(Module):
    r"""Fully connected layer :math:`y = x W^\top + b`.

    weight : (out_features, in_features); bias : (out_features,).
    Initialised as PyTorch does (Kaiming-uniform with a = sqrt(5), which comes down to
    :math:`\mathcal U(-1/\sqrt{\text{in}}, 1/\sqrt{\text{in}})` for the weight and the
    bias), drawn from ``rng``. ``dtype`` is float64 by default (PyTorch's default is
    float32). In the lecture notes' notation this is one :math:`\Theta^{(l)}` with the
    bias as its column 0 (see :mod:`cnnlib.models.theta`).

    forward: x of shape (N, in_features) (or (*, in_features)) -> (N, out_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng: np.random.Generator | int | None = None,
                 dtype: type = np.float64) -> None:
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
        gen = as_rng(rng)
        bound = 1.0 / np.sqrt(self.in_features)
        self.params["weight"] = gen.uniform(
            -bound, bound, (self.out_features, self.in_features)).astype(dtype)
        if bias:
            self.params["bias"] = gen.uniform(-bound, bound, self.out_features).astype(dtype)
        self._init_grads()

    def forward(self, x) -> np.ndarray:
        out, self._cache = F.linear_forward(x, self.params["weight"], self.params.get("bias"))
        return out

    def backward(self, dout) -> np.ndarray:
        dx, dw, db = F.linear_backward(dout, self._need_cache())
        self.grads["weight"] += dw
        if db is not None:
            self.grads["bias"] += db
        return dx

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={'bias' in self.params}")


class _Activation(Module):
    """An elementwise non-linearity without parameters: a pair of functional ops."""

    _forward = staticmethod(lambda x: (x, None))
    _backward = staticmethod(lambda dout, cache: dout)

    def forward(self, x) -> np.ndarray:
        out, self._cache = type(self)._forward(x)
        return out

    def backward(self, dout) -> np.ndarray:
        return type(self)._backward(dout, self._need_cache())


class Sigmoid(_Activation):
    r"""Elementwise logistic sigmoid :math:`g(z) = 1/(1+e^{-z})` (chapter 1)."""
    _forward = staticmethod(F.sigmoid_forward)
    _backward = staticmethod(F.sigmoid_backward)


class ReLU(_Activation):
    r"""Elementwise :math:`\max(0, z)` (chapter 5)."""
    _forward = staticmethod(F.relu_forward)
    _backward = staticmethod(F.relu_backward)


class Tanh(_Activation):
    r"""Elementwise :math:`\tanh z` (chapter 2)."""
    _forward = staticmethod(F.tanh_forward)
    _backward = staticmethod(F.tanh_backward)


class LeakyReLU(Module):
    r"""Elementwise :math:`z` for z > 0 and ``negative_slope`` :math:`\cdot z`
    otherwise (chapters 5 and 9)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)) \
                or not np.isfinite(negative_slope):
            raise TypeError(f"negative_slope must be a finite number, got "
                            f"{negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def forward(self, x) -> np.ndarray:
        out, self._cache = F.leaky_relu_forward(x, self.negative_slope)
        return out

    def backward(self, dout) -> np.ndarray:
        return F.leaky_relu_backward(dout, self._need_cache())

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Flatten(Module):
    """Reshape (N, d1, d2, ...) to (N, d1*d2*...) as ``torch.nn.Flatten`` does with its
    defaults start_dim=1, end_dim=-1: images become vectors for a Linear layer."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        for name, v in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {v!r}")
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x) -> np.ndarray:
        x = as_float_array(x, "x")
        nd = max(x.ndim, 1)
        s = self.start_dim % nd if -nd <= self.start_dim < nd else None
        e = self.end_dim % nd if -nd <= self.end_dim < nd else None
        if s is None or e is None or s > e:
            raise ValueError(f"cannot flatten dims {self.start_dim}..{self.end_dim} of an "
                             f"input of shape {x.shape}")
        shape = x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:]
        self._cache = x.shape
        return x.reshape(shape)

    def backward(self, dout) -> np.ndarray:
        shape = self._need_cache()
        dout = as_float_array(dout, "dout")
        if dout.size != int(np.prod(shape)):
            raise ValueError(f"dout has {dout.size} elements but the forward input had "
                             f"shape {shape}")
        return dout.reshape(shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Sequential(Module):
    """Layers applied one after another; the backward pass visits them in reverse.

    ``Sequential(Linear(2, 4), Sigmoid(), Linear(4, 1))``. Indexing, ``len`` and
    iteration work as in PyTorch, and parameter names are ``"0.weight"``, ``"2.bias"``.
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"layer {i} must be a cnnlib Module, got "
                                f"{type(layer).__name__}")
        self.layers = list(layers)

    def children(self) -> list[Module]:
        return list(self.layers)

    def forward(self, x) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout) -> np.ndarray:
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(*self.layers[i])
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)" if self.layers else "Sequential()"
