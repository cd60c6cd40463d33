"""Cross-check cases for the core ops: activations, softmax, linear, losses.

Each case draws a new shape and new values on every trial. Inputs stay where the
derivative is defined: ReLU inputs keep a distance of 0.05 from its kink at 0, and
probabilities given to binary_cross_entropy stay in [0.05, 0.95] (its gradient
(p - y) / (p (1 - p)) grows without bound at 0 and 1).

Each loss row checks reduction='mean', 'sum' and 'none' at once: the three results are
concatenated into one output vector (and the random upstream gradient has one entry
per output), so the forward error covers all three and the gradient error covers
the sum of the three backward passes.

float32 tolerances. float32 rounds to 2**-24 = 6e-8 relative, and each side rounds
in its own order, so the two answers differ by a few ulps of the largest terms
involved. The error is normalised by the largest reference value, so it stays near
1e-7 unless the result is much smaller than the terms it was computed from: a
gradient such as 1 - tanh(z)**2 for large |z|, or softmax(z) - onehot(y) when the
network is nearly certain and nearly right, is a difference of nearly equal numbers,
and on small arrays (one or two elements) nothing larger sets the scale. Each
tolerance below is about ten times the worst error seen over 1,500 random trials
per row (the worst is quoted beside it), so that another seed does not flake; all
stay far below what a real bug gives (a wrong constant, sign or missing term moves
the result by 1e-2 or more). The strict check is the float64 row, at 1e-10.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as TF

from cnnlib.functional import activations as A
from cnnlib.functional import affine as L
from cnnlib.functional import losses as LS
from cnnlib.functional import probabilities as S
from cnnlib.crosscheck import Case

__all__ = ["CASES"]

REDUCTIONS = ("mean", "sum", "none")
# float32 tolerances (see the module docstring); "seen" = worst of 1,500 trials.
_TOL32_ELEMENTWISE = 1e-5   # sigmoid, relu, leaky_relu, arctan: seen 1.0e-6
_TOL32_TANH = 1e-4          # 1 - tanh**2 cancels for large |z|: seen 7.9e-6
_TOL32_SOFTMAX = 1e-3       # s (d - <d, s>) cancels for peaked s: seen 8.4e-5
_TOL32_LINEAR = 1e-4        # dW sums up to 64 products: seen 5.9e-6
_TOL32_LOSS = 1e-4          # BCE, BCE with logits, MSE: seen 8.8e-6
_TOL32_CROSS_ENTROPY = 1e-3  # softmax - target cancels when nearly right: seen 1.6e-4


# ----------------------------------------------------------------------- helpers
def _shape(rng: np.random.Generator, min_ndim: int = 1, max_ndim: int = 3,
           max_size: int = 6) -> tuple[int, ...]:
    ndim = int(rng.integers(min_ndim, max_ndim + 1))
    return tuple(int(s) for s in rng.integers(1, max_size + 1, size=ndim))


def _away_from_zero(x: np.ndarray, gap: float = 0.05) -> np.ndarray:
    """Push every value at least ``gap`` away from 0 (ReLU has a kink there)."""
    return np.where(x >= 0, x + gap, x - gap)


def _broadcastable(rng: np.random.Generator, shape: tuple) -> tuple:
    """A random shape that broadcasts to ``shape``: some leading axes dropped, some
    axes set to 1."""
    keep = shape[int(rng.integers(0, len(shape) + 1)):]
    return tuple(s if rng.random() < 0.5 else 1 for s in keep)


def _elementwise(op: str, forward, backward, torch_op, values, tol32: float,
                 kwargs=lambda rng: {}) -> Case:
    """A case for an op applied elementwise to one input of random shape."""
    def make(rng):
        return {"input": values(rng, _shape(rng, 1, 4))}, {}, kwargs(rng)

    def numpy_fn(inputs, extras, kw):
        out, cache = forward(inputs["input"], **kw)
        return out, lambda dout: {"input": backward(dout, cache)}

    return Case(op, make, numpy_fn,
                lambda t, e, kw: torch_op(t["input"], **kw), tol32)


def _all_reductions(forward, backward, torch_loss):
    """numpy_fn and torch_fn that evaluate a loss under every reduction and
    concatenate the results into one vector."""
    def numpy_fn(inputs, extras, kw):
        outs, caches = [], []
        for reduction in REDUCTIONS:
            out, cache = forward(inputs, extras, kw, reduction)
            outs.append(np.asarray(out))
            caches.append(cache)
        cuts = np.cumsum([o.size for o in outs])[:-1]

        def backward_all(dout):
            parts = np.split(dout, cuts)
            grads = [backward(p.reshape(o.shape), c)
                     for p, o, c in zip(parts, outs, caches)]
            return {"input": grads[0] + grads[1] + grads[2]}

        return np.concatenate([o.reshape(-1) for o in outs]), backward_all

    def torch_fn(t, e, kw):
        return torch.cat([torch_loss(t, e, kw, reduction).reshape(-1)
                          for reduction in REDUCTIONS])

    return numpy_fn, torch_fn


# ------------------------------------------------------------------- activations
_ACTIVATIONS = [
    _elementwise("sigmoid", A.sigmoid_forward, A.sigmoid_backward, torch.sigmoid,
                 lambda rng, s: 3 * rng.standard_normal(s), _TOL32_ELEMENTWISE),
    _elementwise("relu", A.relu_forward, A.relu_backward, torch.relu,
                 lambda rng, s: _away_from_zero(2 * rng.standard_normal(s)),
                 _TOL32_ELEMENTWISE),
    _elementwise("leaky_relu", A.leaky_relu_forward, A.leaky_relu_backward,
                 TF.leaky_relu,
                 lambda rng, s: _away_from_zero(2 * rng.standard_normal(s)),
                 _TOL32_ELEMENTWISE,
                 kwargs=lambda rng: {"negative_slope": float(rng.uniform(0.001, 0.5))}),
    _elementwise("tanh", A.tanh_forward, A.tanh_backward, torch.tanh,
                 lambda rng, s: 1.5 * rng.standard_normal(s), _TOL32_TANH),
    _elementwise("arctan", A.arctan_forward, A.arctan_backward, torch.atan,
                 lambda rng, s: 5 * rng.standard_normal(s), _TOL32_ELEMENTWISE),
]


# ----------------------------------------------------------------------- softmax
def _softmax_case(op: str, forward, backward, torch_op) -> Case:
    def make(rng):
        shape = _shape(rng, 1, 4)
        dim = int(rng.integers(-len(shape), len(shape)))
        return {"input": 2 * rng.standard_normal(shape)}, {}, {"dim": dim}

    def numpy_fn(inputs, extras, kw):
        out, cache = forward(inputs["input"], kw["dim"])
        return out, lambda dout: {"input": backward(dout, cache)}

    return Case(op, make, numpy_fn,
                lambda t, e, kw: torch_op(t["input"], dim=kw["dim"]), _TOL32_SOFTMAX)


_SOFTMAX = [
    _softmax_case("softmax", S.softmax_forward, S.softmax_backward, TF.softmax),
    _softmax_case("log_softmax", S.log_softmax_forward, S.log_softmax_backward,
                  TF.log_softmax),
]


# ------------------------------------------------------------------------ linear
def _linear_case(op: str, with_bias: bool) -> Case:
    def make(rng):
        n_in, n_out = (int(v) for v in rng.integers(1, 9, size=2))
        lead = _shape(rng, 0, 3, max_size=4)          # () gives a 1-D input
        inputs = {"input": rng.standard_normal(lead + (n_in,)),
                  "weight": rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)}
        if with_bias:
            inputs["bias"] = rng.standard_normal(n_out)
        return inputs, {}, {}

    def numpy_fn(inputs, extras, kw):
        out, cache = L.linear_forward(inputs["input"], inputs["weight"],
                                      inputs.get("bias"))

        def backward(dout):
            dx, dw, db = L.linear_backward(dout, cache)
            grads = {"input": dx, "weight": dw}
            if with_bias:
                grads["bias"] = db
            return grads

        return out, backward

    return Case(op, make, numpy_fn,
                lambda t, e, kw: TF.linear(t["input"], t["weight"], t.get("bias")),
                _TOL32_LINEAR)


_LINEAR = [_linear_case("linear", True), _linear_case("linear (no bias)", False)]


# ------------------------------------------------------------------------ losses
def _bce_make(rng):
    shape = _shape(rng, 1, 3)
    p = rng.uniform(0.05, 0.95, size=shape)
    extras = {"target": (rng.uniform(size=shape) if rng.random() < 0.5   # soft labels
                         else (rng.random(shape) < 0.5).astype(np.float64))}
    if rng.random() < 0.5:
        extras["weight"] = rng.uniform(0.5, 2.0, size=_broadcastable(rng, shape))
    return {"input": p}, extras, {}


_bce = Case(
    "binary_cross_entropy", _bce_make,
    *_all_reductions(
        lambda i, e, kw, red: LS.binary_cross_entropy_forward(
            i["input"], e["target"], e.get("weight"), reduction=red),
        LS.binary_cross_entropy_backward,
        lambda t, e, kw, red: TF.binary_cross_entropy(
            t["input"], e["target"], e.get("weight"), reduction=red)),
    tol32=_TOL32_LOSS)


def _bce_logits_make(rng):
    shape = _shape(rng, 1, 3)
    extras = {"target": rng.uniform(size=shape)}
    if rng.random() < 0.5:
        extras["weight"] = rng.uniform(0.5, 2.0, size=_broadcastable(rng, shape))
    if rng.random() < 0.5:
        extras["pos_weight"] = rng.uniform(0.5, 3.0, size=_broadcastable(rng, shape))
    return {"input": 3 * rng.standard_normal(shape)}, extras, {}


_bce_logits = Case(
    "binary_cross_entropy_with_logits", _bce_logits_make,
    *_all_reductions(
        lambda i, e, kw, red: LS.binary_cross_entropy_with_logits_forward(
            i["input"], e["target"], e.get("weight"), reduction=red,
            pos_weight=e.get("pos_weight")),
        LS.binary_cross_entropy_with_logits_backward,
        lambda t, e, kw, red: TF.binary_cross_entropy_with_logits(
            t["input"], e["target"], e.get("weight"), reduction=red,
            pos_weight=e.get("pos_weight"))),
    tol32=_TOL32_LOSS)


def _logits_shape(rng) -> tuple[tuple, int]:
    """Logits of shape (N, C) half the time, else (C,) or (N, C, d1[, d2]);
    returns the shape and the class axis."""
    n, c = int(rng.integers(1, 7)), int(rng.integers(2, 8))
    kind = rng.random()
    if kind < 0.5:
        return (n, c), 1
    if kind < 0.65:
        return (c,), 0
    return (n, c) + _shape(rng, 1, 2, max_size=4), 1


def _ce_options(rng, c: int) -> tuple[dict, dict]:
    extras, kwargs = {}, {}
    if rng.random() < 0.5:
        extras["weight"] = rng.uniform(0.5, 2.0, size=c)
    if rng.random() < 0.5:
        kwargs["label_smoothing"] = float(rng.uniform(0.0, 0.3))
    return extras, kwargs


def _ce_index_make(rng):
    shape, axis = _logits_shape(rng)
    c = shape[axis]
    batch = shape[:axis] + shape[axis + 1:]
    target = rng.integers(0, c, size=batch)
    extras, kwargs = _ce_options(rng, c)
    if target.size > 1 and rng.random() < 0.5:
        # Ignore some positions (never all: an all-ignored mean is 0/0 = nan).
        kwargs["ignore_index"] = int(rng.choice([-100, c + 1]))
        flat = target.reshape(-1)
        drop = rng.random(flat.size) < 0.3
        drop[int(rng.integers(flat.size))] = False
        flat[drop] = kwargs["ignore_index"]
    extras["target"] = target
    return {"input": 2 * rng.standard_normal(shape)}, extras, kwargs


def _ce_prob_make(rng):
    shape, axis = _logits_shape(rng)
    extras, kwargs = _ce_options(rng, shape[axis])
    extras["target"] = S.softmax(2 * rng.standard_normal(shape), dim=axis)
    return {"input": 2 * rng.standard_normal(shape)}, extras, kwargs


def _ce_numpy(i, e, kw, red):
    return LS.cross_entropy_forward(i["input"], e["target"], e.get("weight"),
                                    reduction=red, **kw)


def _ce_torch(t, e, kw, red):
    return TF.cross_entropy(t["input"], e["target"], e.get("weight"), reduction=red, **kw)


_ce_index = Case("cross_entropy (class indices)", _ce_index_make,
                 *_all_reductions(_ce_numpy, LS.cross_entropy_backward, _ce_torch),
                 tol32=_TOL32_CROSS_ENTROPY)
_ce_prob = Case("cross_entropy (probabilities)", _ce_prob_make,
                *_all_reductions(_ce_numpy, LS.cross_entropy_backward, _ce_torch),
                tol32=_TOL32_CROSS_ENTROPY)


def _mse_make(rng):
    shape = _shape(rng, 1, 3)
    extras = {"target": rng.standard_normal(shape)}
    if rng.random() < 0.5:
        extras["weight"] = rng.uniform(0.5, 2.0, size=shape)
    return {"input": rng.standard_normal(shape)}, extras, {}


_mse = Case(
    "mse_loss", _mse_make,
    *_all_reductions(
        lambda i, e, kw, red: LS.mse_loss_forward(i["input"], e["target"], reduction=red,
                                                  weight=e.get("weight")),
        LS.mse_loss_backward,
        lambda t, e, kw, red: TF.mse_loss(t["input"], e["target"], reduction=red,
                                          weight=e.get("weight"))),
    tol32=_TOL32_LOSS)

_LOSSES = [_bce, _bce_logits, _ce_index, _ce_prob, _mse]

CASES: list[Case] = [*_ACTIVATIONS, *_SOFTMAX, *_LINEAR, *_LOSSES]
