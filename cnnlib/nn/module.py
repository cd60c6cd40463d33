"""``Module``: the base class of every layer and model, and ``Parameter``, a handle on
one of its weights.

Explained in chapter 2 (layers, ``params``/``grads``, ``state_dict``) and chapter 10
(freezing and buffers).

A module follows ``torch.nn.Module`` closely, so that a cnnlib model and its PyTorch
twin have the same ``state_dict`` keys:

* parameters live in ``module.params`` (a dict of arrays, torch's names ``"weight"``,
  ``"bias"``) with their gradients in ``module.grads`` (same keys and shapes);
  ``module.weight`` is a :class:`Parameter` handle on the pair;
* buffers (arrays that are saved but not trained, such as batch norm's running
  statistics) live in ``module.buffers`` and are registered with
  :meth:`Module.register_buffer`;
* sub-modules are registered by attribute assignment (``self.conv1 = Conv2d(...)``) and
  give dotted names: ``"conv1.weight"``, ``"features.0.bias"``;
* ``forward(x)`` computes the output and, unless gradients are switched off with
  :func:`no_grad`, *pushes* what its backward needs onto a stack of pending caches;
  ``backward(dout)`` *pops* the most recent one, adds the parameter gradients into
  ``grads`` (they accumulate, as torch's ``.grad`` does, until ``zero_grad()``) and
  returns the gradient with respect to the input.

The stack is what lets one module be used several times before its backward, as a
SimCLR encoder is on the two views of a batch::

    za = encoder(xa); zb = encoder(xb)      # two pending caches
    encoder.backward(dzb)                   # pops xb's cache
    encoder.backward(dza)                   # pops xa's cache: gradients add up

Backward calls must come in the reverse order of the forward calls (the order of a
tape); a backward without a pending forward, or too many forwards left waiting for
their backward (inference outside :func:`no_grad`), raise an error that says so.
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import numpy as np

from cnnlib._validate import as_float_array

__all__ = ["Parameter", "Module", "no_grad", "is_grad_enabled", "MAX_PENDING"]

#: How many forward passes of one module may wait for their backward. Two views (SimCLR)
#: or an image and a text batch (CLIP) need two; a long stack means inference is running
#: with gradients on, holding every batch's cache in memory.
MAX_PENDING = 8

_GRAD_ENABLED = True


def is_grad_enabled() -> bool:
    """True unless inside :func:`no_grad`: forward passes keep what backward needs."""
    return _GRAD_ENABLED


@contextlib.contextmanager
def no_grad():
    """Within ``with no_grad():`` forward passes keep no cache (torch's ``no_grad``):
    use it for inference, which then needs no backward and holds no memory."""
    global _GRAD_ENABLED
    previous, _GRAD_ENABLED = _GRAD_ENABLED, False
    try:
        yield
    finally:
        _GRAD_ENABLED = previous


class Parameter:
    """A handle on one parameter of a module: ``p.data`` is the array, ``p.grad`` its
    gradient (the module's ``params[name]`` and ``grads[name]``), ``p.requires_grad``
    whether backward computes it and optimisers update it.

    The handle looks the arrays up in the module each time, so replacing
    ``layer.params["weight"]`` by a new array (loading weights) keeps an optimiser that
    was built earlier working. Optimisers update ``p.data`` in place. Two handles on the
    same module and name are equal (an optimiser uses this to refuse a parameter given
    twice).
    """

    __slots__ = ("module", "name")

    def __init__(self, module: "Module", name: str):
        self.module = module
        self.name = name

    @property
    def data(self) -> np.ndarray:
        return self.module.params[self.name]

    @data.setter
    def data(self, value) -> None:
        self.module._set_array(self.module.params, self.name, value, "parameter")

    @property
    def grad(self) -> np.ndarray:
        return self.module.grads[self.name]

    @grad.setter
    def grad(self, value) -> None:
        self.module._set_array(self.module.grads, self.name, value, "gradient")

    @property
    def requires_grad(self) -> bool:
        return self.name not in self.module._frozen

    def requires_grad_(self, requires_grad: bool = True) -> "Parameter":
        """Freeze (False) or unfreeze (True) this parameter; returns it."""
        self.module._freeze(self.name, not _check_flag(requires_grad, "requires_grad"))
        return self

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def __eq__(self, other) -> bool:
        return (isinstance(other, Parameter) and other.module is self.module
                and other.name == self.name)

    def __hash__(self) -> int:
        return hash((id(self.module), self.name))

    def __repr__(self) -> str:
        frozen = "" if self.requires_grad else ", requires_grad=False"
        return (f"Parameter({type(self.module).__name__}.{self.name}, "
                f"shape={self.data.shape}, dtype={self.data.dtype}{frozen})")


def _check_flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _keeping_cache_on_error(backward):
    """Wrap a subclass's ``backward`` so that a call that fails (a wrongly shaped
    ``dout``, say) puts the cache it popped back: the corrected call then works."""
    if getattr(backward, "_keeps_cache", False):
        return backward

    @functools.wraps(backward)
    def wrapper(self, *args, **kwargs):
        pending = self.__dict__.get("_pending")
        before = list(pending) if pending is not None else None
        try:
            return backward(self, *args, **kwargs)
        except Exception:
            if before is not None and len(pending) < len(before):
                pending[:] = before
            raise

    wrapper._keeps_cache = True
    return wrapper


class Module:
    """Base class of every layer and model (see the module docstring).

    A layer subclass registers its arrays in ``__init__`` with
    :meth:`register_parameter` (or :meth:`register_buffer`) and implements
    ``forward(x)`` (computing with one functional op and saving its cache with
    :meth:`save_for_backward`) and ``backward(dout)`` (popping the cache with
    :meth:`saved`). A model subclass assigns its layers as attributes and writes
    ``forward`` and ``backward`` in terms of them; it keeps no cache of its own unless it
    computes something itself.
    """

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "backward" in cls.__dict__:
            cls.backward = _keeping_cache_on_error(cls.__dict__["backward"])

    def __init__(self) -> None:
        # object.__setattr__: our own __setattr__ consults these dicts.
        object.__setattr__(self, "params", {})
        object.__setattr__(self, "grads", {})
        object.__setattr__(self, "buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_frozen", set())
        object.__setattr__(self, "_pending", [])
        object.__setattr__(self, "training", True)

    # -- attributes: sub-modules, parameters and buffers by name -----------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_modules" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call "
                               f"super().__init__() before assigning attributes")
        if isinstance(value, Module):
            if name in self.params or name in self.buffers:
                raise ValueError(f"cannot assign a module to {name!r}: it is already a "
                                 f"parameter or buffer of {type(self).__name__}")
            self._modules[name] = value
            self.__dict__.pop(name, None)
            return
        if name in self._modules:
            if value is None:
                raise TypeError(f"cannot delete sub-module {name!r} by assigning None")
            raise TypeError(f"{name!r} is a sub-module of {type(self).__name__}; assign "
                            f"a Module to it, got {type(value).__name__}")
        if name in self.params:
            self._set_array(self.params, name, value, "parameter")
        elif name in self.buffers:
            self._set_array(self.buffers, name, value, "buffer")
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when ordinary lookup fails: sub-modules, parameters, buffers.
        d = self.__dict__
        if name in d.get("_modules", {}):
            return d["_modules"][name]
        if name in d.get("params", {}):
            return Parameter(self, name)
        if name in d.get("buffers", {}):
            return d["buffers"][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        if name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def _set_array(self, store: dict, name: str, value, what: str) -> None:
        """Replace one registered array by another of the same shape."""
        old = store[name]
        arr = (np.asarray(value) if store is self.buffers
               else as_float_array(value, f"{type(self).__name__}.{name}"))
        if arr.shape != old.shape:
            raise ValueError(f"{what} {name!r} of {type(self).__name__} has shape "
                             f"{old.shape}, got an array of shape {arr.shape}")
        store[name] = arr

    def register_parameter(self, name: str, value: np.ndarray) -> None:
        """Add a trainable array ``params[name]`` (and its zero gradient)."""
        self._check_new_name(name)
        arr = as_float_array(value, name)
        self.params[name] = arr
        self.grads[name] = np.zeros_like(arr)

    def register_buffer(self, name: str, value: np.ndarray,
                        persistent: bool = True) -> None:
        """Add an array that is saved (in ``state_dict``, unless ``persistent=False``)
        but never trained: batch norm's running mean, for example."""
        self._check_new_name(name)
        self.buffers[name] = np.asarray(value)
        if not persistent:
            self._non_persistent.add(name)

    def _check_new_name(self, name: str) -> None:
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"a parameter or buffer name must be a non-empty string "
                             f"without dots, got {name!r}")
        if name in self.params or name in self.buffers or name in self._modules:
            raise ValueError(f"{type(self).__name__} already has an attribute {name!r}")

    def _init_grads(self) -> None:
        """Zero gradients for every parameter (for layers that fill ``params`` by hand)."""
        self.grads.clear()
        self.grads.update({k: np.zeros_like(v) for k, v in self.params.items()})

    # -- the two passes ----------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, dout):
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def save_for_backward(self, cache: Any) -> None:
        """Push what this forward's backward will need (nothing under :func:`no_grad`)."""
        if not _GRAD_ENABLED:
            return
        if len(self._pending) >= MAX_PENDING:
            raise RuntimeError(
                f"{type(self).__name__}: {len(self._pending)} forward passes are waiting "
                f"for their backward. For inference, wrap the calls in "
                f"`with cnnlib.nn.no_grad():` (or use cnnlib.train.predict), which keeps "
                f"no cache; or call model.clear_pending() to drop the waiting caches.")
        self._pending.append(cache)

    def saved(self) -> Any:
        """Pop the cache of the most recent forward that has not had its backward."""
        if not self._pending:
            raise RuntimeError(
                f"{type(self).__name__}.backward called without a pending forward: run "
                f"forward(x) first (outside no_grad), and call backward once per forward, "
                f"in the reverse order of the forwards")
        return self._pending.pop()

    @property
    def pending(self) -> int:
        """How many forward passes of this module wait for their backward."""
        return len(self._pending)

    def clear_pending(self) -> "Module":
        """Drop every waiting cache, in this module and its sub-modules."""
        for m in self.modules():
            m._pending.clear()
        return self

    def accumulate(self, name: str, grad: np.ndarray | None) -> None:
        """Add ``grad`` into ``grads[name]`` unless the parameter is frozen."""
        if grad is not None and name not in self._frozen:
            self.grads[name] += grad

    def needs_grad(self, name: str) -> bool:
        """Whether backward should compute the gradient of parameter ``name``."""
        return name in self.params and name not in self._frozen

    # -- the tree of modules -----------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        yield from self._modules.items()

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """This module (name ``prefix``) and every descendant with its dotted name; a
        module that appears twice is listed once (torch's rule)."""
        seen: set[int] = set()

        def walk(module: Module, name: str):
            if id(module) in seen:
                return
            seen.add(id(module))
            yield name, module
            for child_name, child in module.named_children():
                yield from walk(child, f"{name}.{child_name}" if name else child_name)

        yield from walk(self, prefix)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted name, Parameter)`` for every parameter, torch's names and
        order: a module's own parameters, then its children's."""
        for mod_name, module in self.named_modules(prefix.rstrip(".")):
            for name in module.params:
                yield (f"{mod_name}.{name}" if mod_name else name), Parameter(module, name)

    def parameters(self) -> Iterator[Parameter]:
        """Every :class:`Parameter`, for an optimiser: ``SGD(model.parameters())``."""
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for mod_name, module in self.named_modules(prefix.rstrip(".")):
            for name, value in module.buffers.items():
                yield (f"{mod_name}.{name}" if mod_name else name), value

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Total number of scalar parameters (only the unfrozen ones if asked)."""
        return sum(p.size for p in self.parameters()
                   if p.requires_grad or not trainable_only)

    def zero_grad(self) -> None:
        """Set every gradient to zero (gradients accumulate across backward calls)."""
        for p in self.parameters():
            p.grad[...] = 0

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Freeze (False) or unfreeze (True) every parameter of this module and its
        sub-modules; frozen parameters get no gradient and no optimiser update."""
        flag = _check_flag(requires_grad, "requires_grad")
        for p in self.parameters():
            p.module._freeze(p.name, not flag)
        return self

    def _freeze(self, name: str, frozen: bool) -> None:
        if frozen:
            self._frozen.add(name)
            self.grads[name][...] = 0
        else:
            self._frozen.discard(name)

    # -- saving and loading ------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and persistent buffer by dotted name: the keys of a
        torch module built with the same attribute names."""
        state: dict[str, np.ndarray] = {}
        for mod_name, module in self.named_modules():
            pre = f"{mod_name}." if mod_name else ""
            for name, value in module.params.items():
                state[pre + name] = value.copy()
            for name, value in module.buffers.items():
                if name not in module._non_persistent:
                    state[pre + name] = np.array(value, copy=True)
        return state

    def _state_slots(self) -> dict[str, tuple["Module", dict, str]]:
        slots = {}
        for mod_name, module in self.named_modules():
            pre = f"{mod_name}." if mod_name else ""
            for name in module.params:
                slots[pre + name] = (module, module.params, name)
            for name in module.buffers:
                if name not in module._non_persistent:
                    slots[pre + name] = (module, module.buffers, name)
        return slots

    def load_state_dict(self, state, strict: bool = True) -> "Module":
        """Copy arrays into the parameters and buffers by name, e.g. from a PyTorch
        model: ``m.load_state_dict(cnnlib.twins.state_from_torch(t))``.

        With ``strict`` (default) the keys must match exactly; every array must have
        the shape of the slot it fills and keeps the slot's dtype.
        """
        if not hasattr(state, "items"):
            raise TypeError(f"state must be a dict of arrays, got {type(state).__name__}")
        slots = self._state_slots()
        missing = sorted(set(slots) - set(state))
        unexpected = sorted(set(state) - set(slots))
        if strict and (missing or unexpected):
            raise ValueError(f"state_dict keys do not match: missing {missing}, "
                             f"unexpected {unexpected}")
        for key, (module, store, name) in slots.items():
            if key not in state:
                continue
            value = np.asarray(state[key])
            if value.shape != store[name].shape:
                raise ValueError(f"state[{key!r}] must have shape {store[name].shape}, "
                                 f"got {value.shape}")
            if store is module.params:
                value = as_float_array(value, f"state[{key!r}]")
            store[name][...] = value
        return self

    # -- modes --------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Switch this module and its sub-modules to training mode (``mode=False``:
        evaluation mode, which batch norm and dropout treat differently)."""
        flag = _check_flag(mode, "mode")
        for m in self.modules():
            object.__setattr__(m, "training", flag)
        return self

    def eval(self) -> "Module":
        """Switch to evaluation mode."""
        return self.train(False)

    # -- printing -----------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ")
                 for name, child in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n" + "\n".join(lines) + "\n)" if lines else ")")
