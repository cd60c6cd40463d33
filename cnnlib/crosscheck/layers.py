"""Cross-check cases for the layer objects of chapters 7-8 and for LeNet-5.

Each trial builds a cnnlib layer (or model) and its ``torch.nn`` twin with random
constructor arguments, gives both the same parameters (the differentiable inputs of
the case, by state_dict name) and the same input, and compares the output, the input
gradient and every parameter gradient. PyTorch's side runs the module with the case's
tensors as its parameters (``torch.func.functional_call``), so autograd delivers their
gradients.

float32 tolerances. A layer adds nothing to its functional op's rounding: the Conv2d
row shares ``conv2d (fast)``'s 3e-5 and the pooling rows 3e-6 (justified in
``conv.py``). LeNet-5 chains two convolutions (sums of 25 and 150 products), three
matrix products (sums of 400, 120, 84) and the pooling; each rounds at about
sqrt(n) * 6e-8 relative, and the errors of a layer's input pass on to its output and
gradients. Over 300 random trials the normalised error stayed below 5e-7 (forward) and
6e-6 (the gradients); 1e-4 is over 15 times that and far below a real bug (a
transposed weight or a wrong pooling index moves the result by 1e-1).
"""
from __future__ import annotations

import numpy as np
import torch
from torch.func import functional_call

import cnnlib.nn as cnn
from cnnlib.crosscheck import Case
from cnnlib.crosscheck.conv import random_pool_config
from cnnlib.models.lenet import LeNet5
from cnnlib.twins import lenet as tlenet

__all__ = ["CASES"]

_TOL32_CONV = 3e-5
_TOL32_POOL = 3e-6
_TOL32_LENET = 1e-4


def _conv_make(rng: np.random.Generator):
    """Random Conv2d arguments, with the weights drawn as the case's inputs."""
    groups = int(rng.choice([1, 1, 2]))
    cin, cout = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
    k = tuple(int(v) for v in rng.integers(1, 5, size=2))
    mode = str(rng.choice(["zeros", "zeros", "reflect", "replicate", "circular"]))
    if rng.random() < 0.2:
        stride, padding = 1, "same"
    else:
        stride = tuple(int(v) for v in rng.integers(1, 3, size=2))
        padding = tuple(int(rng.integers(0, kk)) for kk in k)   # < kernel: reflect ok
    kwargs = dict(in_channels=cin, out_channels=cout, kernel_size=k, stride=stride,
                  padding=padding, groups=groups, bias=bool(rng.random() < 0.7),
                  padding_mode=mode)
    size = tuple(int(kk + rng.integers(1, 6)) for kk in k)
    inputs = {"input": rng.standard_normal((int(rng.integers(1, 4)), cin) + size),
              "weight": rng.standard_normal((cout, cin // groups) + k)}
    if kwargs["bias"]:
        inputs["bias"] = rng.standard_normal(cout)
    return inputs, {}, kwargs


def _run_module(module: cnn.Module, inputs: dict):
    """numpy_fn for a cnnlib module: load the case's parameters, forward, and a
    backward that returns the input gradient and every parameter gradient by name."""
    params = {k: v for k, v in inputs.items() if k != "input"}
    if params:
        module.load_state_dict(params)
    out = module(inputs["input"])

    def grads(dout):
        module.zero_grad()
        g = {"input": module.backward(dout)}
        g.update({name: p.grad.copy() for name, p in module.named_parameters()})
        return g

    return out, grads


def _torch_module(module: torch.nn.Module, t: dict) -> torch.Tensor:
    x = t["input"]
    module = module.to(device=x.device, dtype=x.dtype)
    return functional_call(module, {k: v for k, v in t.items() if k != "input"}, (x,))


def _conv_numpy(i, e, kw):
    return _run_module(cnn.Conv2d(**kw, dtype=i["input"].dtype), i)


def _pool_make(kind: str):
    def make(rng):
        x, kwargs = random_pool_config(rng, dilation=kind == "max",
                                       ties=kind == "max" and bool(rng.random() < 0.5))
        if kind == "avg":
            kwargs["count_include_pad"] = bool(rng.random() < 0.5)
        return {"input": x}, {}, kwargs
    return make


def _lenet_make(rng: np.random.Generator):
    """A batch of random images and LeNet's parameters drawn as torch would."""
    act = str(rng.choice(["relu", "tanh"]))
    pool = str(rng.choice(["max", "avg"]))
    model = LeNet5(activation=act, pooling=pool, rng=rng)
    inputs = {"input": rng.random((int(rng.integers(1, 5)), 1, 28, 28))}
    inputs.update(model.state_dict())
    return inputs, {}, {"activation": act, "pooling": pool}


def _lenet_numpy(i, e, kw):
    model = LeNet5(**kw, dtype=i["input"].dtype)
    model.conv1.needs_input_grad = True      # compare the images' gradient too
    return _run_module(model, i)


CASES = [
    Case("Conv2d layer", _conv_make, _conv_numpy,
         lambda t, e, kw: _torch_module(torch.nn.Conv2d(**kw), t), _TOL32_CONV),
    Case("MaxPool2d layer", _pool_make("max"),
         lambda i, e, kw: _run_module(cnn.MaxPool2d(**kw), i),
         lambda t, e, kw: torch.nn.MaxPool2d(**kw)(t["input"]), _TOL32_POOL),
    Case("AvgPool2d layer", _pool_make("avg"),
         lambda i, e, kw: _run_module(cnn.AvgPool2d(**kw), i),
         lambda t, e, kw: torch.nn.AvgPool2d(**kw)(t["input"]), _TOL32_POOL),
    Case("LeNet-5", _lenet_make,
         _lenet_numpy,
         lambda t, e, kw: _torch_module(tlenet.LeNet5(**kw), t), _TOL32_LENET),
]
