"""Cross-check cases for batch normalisation and dropout (chapter 9).

batch_norm. Each trial draws an input of shape (N, C), (N, C, L) or (N, C, H, W), with
or without the affine weight and bias, a momentum, an eps, and running statistics.
In training mode the row's output is the normalised input *followed by the updated
running mean and running variance* (both libraries update them in place), so the
forward error covers the running statistics too; the gradient flows only through the
normalised part. In evaluation mode the running statistics normalise the input.

dropout. In evaluation mode both libraries return the input. In training mode the
mask is random; NumPy cannot draw PyTorch's, so the row fixes it: the keep-mask is the
one PyTorch's own ``dropout`` draws on the CPU from the trial's seed, cnnlib gets it as
``mask=``, and the PyTorch side is ``torch.nn.functional.dropout`` itself run with that
seed (on a CPU copy of the input on the cuda row: a CUDA generator draws other masks
from the same seed). The forward error thus checks which units survive and their
scale 1/(1-p), the gradient error the backward.

float32 tolerances. Batch norm sums up to a few hundred values per channel for the
mean, the variance, and the sums of its backward; the libraries round them in different
orders (PyTorch's CPU kernel uses Welford's running variance). Two of these sums,
dweight = sum(dout * x_hat) and the input gradient's correction terms, add values of
either sign and can cancel to a result much smaller than its terms, which is where
float32 rounding shows most. Over 1,000 random trials per row the worst normalised
error was 4e-7 for the outputs and 2.6e-5 for a gradient (training; 1.7e-5 in
evaluation mode); 2e-4 is about ten times that, and far below what a bug gives (a
missing 1/m term or the biased running variance moves the result by 1e-2 or more).
Dropout only multiplies by 0 or 1/(1-p): exact up to one rounding (seen: 1.9e-7),
tolerance 1e-6.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as TF

from cnnlib.crosscheck import Case
from cnnlib.functional.dropout import dropout_backward, dropout_forward
from cnnlib.functional.normalization import batch_norm_backward, batch_norm_forward

__all__ = ["CASES", "torch_dropout_mask"]

_TOL32_BATCH_NORM = 2e-4
_TOL32_DROPOUT = 1e-6


def _bn_make(rng: np.random.Generator, training: bool):
    c = int(rng.integers(1, 5))
    while True:
        n = int(rng.integers(1, 7))
        spatial = [(), (int(rng.integers(1, 6)),),
                   (int(rng.integers(1, 5)), int(rng.integers(1, 5)))][int(rng.integers(0, 3))]
        # Training needs a few values per channel: with m = 2 the normalised values are
        # +-1 whatever the input, the input gradient is exactly 0, and both libraries
        # return rounding noise that cannot be compared.
        if not training or n * int(np.prod(spatial)) >= 4:
            break
    shape = (n, c) + spatial
    # an offset and a scale per channel, so the statistics are not already 0 and 1
    x = rng.normal(size=shape) * rng.uniform(0.5, 3.0, size=(1, c) + (1,) * len(spatial)) \
        + rng.normal(size=(1, c) + (1,) * len(spatial))
    inputs = {"input": x}
    if rng.random() < 0.8:
        inputs["weight"] = rng.normal(size=c)
        inputs["bias"] = rng.normal(size=c)
    extras = {"running_mean": rng.normal(size=c),
              "running_var": rng.uniform(0.3, 2.0, size=c)}
    kwargs = {"training": training, "momentum": float(rng.uniform(0.05, 0.5)),
              "eps": float(rng.choice([1e-5, 1e-3]))}
    return inputs, extras, kwargs


def _bn_numpy(inputs, extras, kw):
    rm, rv = extras["running_mean"], extras["running_var"]
    out, cache = batch_norm_forward(inputs["input"], rm, rv, inputs.get("weight"),
                                      inputs.get("bias"), **kw)
    size = out.size

    def backward(dout):
        dx, dw, db = batch_norm_backward(dout[:size].reshape(out.shape), cache)
        grads = {"input": dx}
        if "weight" in inputs:
            grads.update(weight=dw, bias=db)
        return grads

    if kw["training"]:               # the updated running statistics are outputs too
        return np.concatenate([out.ravel(), rm, rv]), backward
    return out.ravel(), backward


def _bn_torch(t, e, kw):
    rm, rv = e["running_mean"], e["running_var"]
    out = TF.batch_norm(t["input"], rm, rv, t.get("weight"), t.get("bias"), **kw)
    if kw["training"]:
        return torch.cat([out.reshape(-1), rm, rv])
    return out.reshape(-1)


def torch_dropout_mask(shape: tuple[int, ...], p: float, seed: int,
                       dtype: torch.dtype = torch.float64) -> np.ndarray:
    """The keep-mask that ``torch.nn.functional.dropout`` draws on the CPU for an input
    of ``shape`` and ``dtype`` right after ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    return (TF.dropout(torch.ones(shape, dtype=dtype), p, training=True) != 0).numpy()


def _dropout_make(rng: np.random.Generator, training: bool):
    ndim = int(rng.integers(1, 5))
    shape = tuple(int(s) for s in rng.integers(1, 7, size=ndim))
    x = rng.normal(size=shape)
    x[x == 0] = 1.0                  # a zero input would hide whether it was kept
    p = float(rng.choice([0.0, 0.1, 0.5, 0.8, 1.0])) if rng.random() < 0.3 \
        else float(rng.uniform(0.05, 0.95))
    return {"input": x}, {}, {"p": p, "training": training,
                              "seed": int(rng.integers(0, 2**31))}


def _dropout_numpy(inputs, extras, kw):
    x = inputs["input"]
    mask = None
    if kw["training"]:
        tdtype = torch.float32 if x.dtype == np.float32 else torch.float64
        mask = torch_dropout_mask(x.shape, kw["p"], kw["seed"], tdtype)
    out, cache = dropout_forward(x, kw["p"], kw["training"], mask=mask)
    return out, lambda dout: {"input": dropout_backward(dout, cache)}


def _dropout_torch(t, e, kw):
    x = t["input"]
    if not kw["training"]:
        return TF.dropout(x, kw["p"], training=False)
    torch.manual_seed(kw["seed"])
    return TF.dropout(x.cpu(), kw["p"], training=True).to(x.device)


CASES = [
    Case("batch_norm (training)", lambda rng: _bn_make(rng, True), _bn_numpy, _bn_torch,
         _TOL32_BATCH_NORM),
    Case("batch_norm (eval)", lambda rng: _bn_make(rng, False), _bn_numpy, _bn_torch,
         _TOL32_BATCH_NORM),
    Case("dropout (eval)", lambda rng: _dropout_make(rng, False), _dropout_numpy,
         _dropout_torch, _TOL32_DROPOUT),
    Case("dropout (fixed mask)", lambda rng: _dropout_make(rng, True), _dropout_numpy,
         _dropout_torch, _TOL32_DROPOUT),
]
