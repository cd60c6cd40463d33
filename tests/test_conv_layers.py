"""The layers of chapter 7 against torch.nn: Conv2d, Conv1d, MaxPool2d, AvgPool2d.

For each configuration both layers get the same weights and the same input; compared
are the output, the input gradient and every parameter gradient (one random upstream
gradient), on cpu and on cuda when present, in float64 (1e-10) and float32. Then the
default initialisation (the same distribution as torch's reset_parameters), the
printed form, freezing, and bad arguments.
"""
import math

import numpy as np
import pytest
import torch
from scipy import stats

import cnnlib.nn as nn
from cnnlib.twins import state_to_torch

from torch_devices import DEVICES

# float64: the two sides do the same arithmetic in a different order: rounding only.
# float32: a conv output sums up to C*kh*kw = 96 products and a weight gradient sums
# over N*OH*OW <= 600 positions; in different orders that costs about sqrt(n) * 6e-8
# relative, typically below 3e-6 (cnnlib/crosscheck/conv.py measured 500 trials);
# 3e-5 leaves a margin and is far below a real bug (a wrong tap moves it by 1e-2).
TOL = {np.float64: 1e-10, np.float32: 3e-5}


def err(a, b) -> float:
    a = np.asarray(a, np.float64)
    b = b.detach().cpu().numpy().astype(np.float64) if torch.is_tensor(b) else \
        np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12)) if b.size else 0.0


def compare(ours, theirs, x, device, dtype, seed=0) -> dict:
    """Forward and backward through both layers (same weights, same input, same upstream
    gradient); the normalised errors of the output and every gradient."""
    tdtype = getattr(torch, np.dtype(dtype).name)
    theirs = state_to_torch(ours, theirs.to(device=device, dtype=tdtype))
    x = x.astype(dtype)
    out = ours(x)
    dout = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
    dx = ours.backward(dout)
    tx = torch.tensor(x, device=device, requires_grad=True)
    tout = theirs(tx)
    tout.backward(torch.tensor(dout, device=device))
    assert out.dtype == dx.dtype == dtype
    errors = {"out": err(out, tout), "dx": err(dx, tx.grad)}
    for name, p in theirs.named_parameters():
        assert ours.grads[name].dtype == dtype
        errors["d" + name] = err(ours.grads[name], p.grad)
    return errors


CONV2D = [  # (in, out, kernel, kwargs, input shape)
    (1, 6, 5, dict(padding=2), (4, 1, 28, 28)),                     # LeNet's conv1
    (6, 16, 5, {}, (3, 6, 14, 14)),                                  # LeNet's conv2
    (3, 4, (3, 2), dict(stride=(2, 1), padding=(1, 0)), (2, 3, 9, 8)),
    (4, 6, 3, dict(padding="same", dilation=2, bias=False), (2, 4, 7, 10)),
    (4, 6, 3, dict(groups=2, stride=2), (1, 4, 9, 9)),
    (2, 3, 1, dict(padding="valid"), (2, 2, 5, 4)),
    (2, 3, 3, dict(padding=1, padding_mode="reflect"), (2, 2, 6, 5)),
    (2, 3, 3, dict(padding=(2, 1), padding_mode="replicate"), (2, 2, 6, 5)),
    (2, 3, 4, dict(padding="same", padding_mode="circular"), (2, 2, 6, 7)),
    (3, 2, 3, dict(stride=2, padding=1), (3, 8, 8)),                  # unbatched
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cin, cout, k, kwargs, shape", CONV2D,
                         ids=[f"conv2d-{i}" for i in range(len(CONV2D))])
def test_conv2d_matches_torch(cin, cout, k, kwargs, shape, dtype, device):
    ours = nn.Conv2d(cin, cout, k, rng=1, dtype=dtype, **kwargs)
    theirs = torch.nn.Conv2d(cin, cout, k, **kwargs)
    x = np.random.default_rng(2).standard_normal(shape)
    errors = compare(ours, theirs, x, device, dtype)
    assert max(errors.values()) <= TOL[dtype], errors
    assert set(errors) == {"out", "dx", "dweight"} | ({"dbias"} if
                                                       kwargs.get("bias", True) else set())


CONV1D = [(1, 2, 3, {}, (2, 1, 9)), (4, 2, 2, dict(stride=2, padding=1, groups=2), (3, 4, 8)),
          (2, 3, 5, dict(padding="same", padding_mode="reflect", bias=False), (2, 2, 11)),
          (2, 2, 3, dict(dilation=2), (2, 7))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cin, cout, k, kwargs, shape", CONV1D,
                         ids=[f"conv1d-{i}" for i in range(len(CONV1D))])
def test_conv1d_matches_torch(cin, cout, k, kwargs, shape, dtype, device):
    ours = nn.Conv1d(cin, cout, k, rng=3, dtype=dtype, **kwargs)
    theirs = torch.nn.Conv1d(cin, cout, k, **kwargs)
    x = np.random.default_rng(4).standard_normal(shape)
    errors = compare(ours, theirs, x, device, dtype)
    assert max(errors.values()) <= TOL[dtype], errors


POOLS = [  # (class name, kwargs, input shape, integer inputs (ties))
    ("MaxPool2d", dict(kernel_size=2), (4, 6, 28, 28), False),
    ("MaxPool2d", dict(kernel_size=2), (3, 2, 8, 8), True),
    ("MaxPool2d", dict(kernel_size=3, stride=2, padding=1), (2, 3, 9, 10), True),
    ("MaxPool2d", dict(kernel_size=(2, 3), stride=1, dilation=(2, 1)), (2, 2, 7, 7), False),
    ("MaxPool2d", dict(kernel_size=2, ceil_mode=True), (2, 2, 7, 9), False),
    ("MaxPool2d", dict(kernel_size=2), (3, 5, 5), False),
    ("AvgPool2d", dict(kernel_size=2), (4, 6, 28, 28), False),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
     (2, 3, 9, 10), False),
    ("AvgPool2d", dict(kernel_size=2, ceil_mode=True, divisor_override=3), (2, 2, 7, 9),
     False),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, kwargs, shape, ties", POOLS,
                         ids=[f"{p[0]}-{i}" for i, p in enumerate(POOLS)])
def test_pooling_matches_torch(name, kwargs, shape, ties, dtype, device):
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    rng = np.random.default_rng(5)
    x = rng.integers(-2, 3, size=shape).astype(float) if ties else rng.standard_normal(shape)
    errors = compare(ours, theirs, x, device, dtype)
    # pooling picks or averages: at most 9 values meet in one sum, float32 stays within
    # a few units of rounding (3e-6, as in cnnlib/crosscheck/conv.py)
    assert max(errors.values()) <= (1e-10 if dtype == np.float64 else 3e-6), errors


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool_returns_torch_indices(device):
    x = np.random.default_rng(6).integers(-2, 3, size=(2, 3, 9, 8)).astype(float)
    ours = nn.MaxPool2d(3, stride=2, padding=1, return_indices=True)
    out, idx = ours(x)
    tout, tidx = torch.nn.MaxPool2d(3, stride=2, padding=1, return_indices=True)(
        torch.tensor(x, device=device))
    np.testing.assert_array_equal(out, tout.cpu().numpy())
    np.testing.assert_array_equal(idx, tidx.cpu().numpy())
    dx = ours.backward(np.ones_like(out))           # backward takes d out only
    assert dx.shape == x.shape and dx.sum() == out.size


# ----------------------------------------------------------- initialisation
INIT = [(1, 6, 5, {}), (6, 16, 5, {}), (16, 8, 3, dict(groups=4)), (3, 64, (1, 7), {})]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cin, cout, k, kwargs", INIT)
def test_default_initialisation_is_torchs(cin, cout, k, kwargs, device):
    """reset_parameters: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
    fan_in = cin / groups * kh * kw. Many layers' draws pooled: the range, the variance
    (bound^2 / 3) and the whole distribution (Kolmogorov-Smirnov) against torch's."""
    torch.manual_seed(0)
    layers = 40
    ours = [nn.Conv2d(cin, cout, k, rng=s, **kwargs) for s in range(layers)]
    theirs = [torch.nn.Conv2d(cin, cout, k, device=device, **kwargs) for _ in range(layers)]
    kh, kw = (k, k) if isinstance(k, int) else k
    bound = 1 / math.sqrt(cin // kwargs.get("groups", 1) * kh * kw)
    for key in ("weight", "bias"):
        a = np.concatenate([m.params[key].ravel() for m in ours])
        b = np.concatenate([getattr(m, key).detach().cpu().numpy().ravel() for m in theirs])
        assert ours[0].params[key].shape == tuple(getattr(theirs[0], key).shape)
        for sample in (a, b):
            assert np.abs(sample).max() <= bound
            assert np.abs(sample).max() > 0.9 * bound        # the whole interval is used
            # the variance of U(-b, b) is b^2/3; with >= 240 draws its estimate is
            # within 20 % with overwhelming probability
            assert abs(sample.var() / (bound ** 2 / 3) - 1) < 0.2
        assert stats.ks_2samp(a, b).pvalue > 1e-4, key


def test_initialisation_is_seeded_and_dtype_kept():
    a = nn.Conv2d(3, 4, 3, rng=7)
    b = nn.Conv2d(3, 4, 3, rng=7)
    c = nn.Conv2d(3, 4, 3, rng=8, dtype=np.float32)
    np.testing.assert_array_equal(a.params["weight"], b.params["weight"])
    assert not np.array_equal(a.params["weight"], c.params["weight"].astype(float))
    assert c.params["weight"].dtype == c.params["bias"].dtype == np.float32
    assert c(np.zeros((1, 3, 5, 5), np.float32)).dtype == np.float32


# ------------------------------------------------------ names, repr, freezing
def test_state_dict_keys_shapes_and_repr_are_torchs():
    for args, kwargs in [((1, 6, 5), dict(padding=2)), ((6, 16, (5, 3)), dict(stride=2)),
                         ((4, 4, 3), dict(groups=2, bias=False, padding="same",
                                          padding_mode="reflect", dilation=2))]:
        ours, theirs = nn.Conv2d(*args, **kwargs), torch.nn.Conv2d(*args, **kwargs)
        assert {k: v.shape for k, v in ours.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        assert repr(ours) == repr(theirs)
    assert repr(nn.Conv1d(2, 3, 4, stride=2)) == repr(torch.nn.Conv1d(2, 3, 4, stride=2))
    assert repr(nn.MaxPool2d(2)) == repr(torch.nn.MaxPool2d(2))
    assert repr(nn.AvgPool2d(3, stride=2, padding=1)) == \
        repr(torch.nn.AvgPool2d(3, stride=2, padding=1))
    assert nn.MaxPool2d(2).state_dict() == {} and nn.AvgPool2d(3).params == {}


def test_frozen_conv_gets_no_weight_gradient_but_passes_its_input_gradient():
    conv = nn.Conv2d(2, 3, 3, rng=0)
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 6))
    conv.weight.requires_grad_(False)
    out = conv(x)
    dx = conv.backward(np.ones_like(out))
    assert np.all(conv.grads["weight"] == 0) and np.any(conv.grads["bias"] != 0)
    ref = nn.Conv2d(2, 3, 3, rng=0)
    ref(x)
    np.testing.assert_allclose(dx, ref.backward(np.ones_like(out)), rtol=1e-12)


def test_one_conv_used_twice_accumulates_both_gradients():
    conv = nn.Conv2d(1, 2, 3, rng=0)
    theirs = state_to_torch(conv, torch.nn.Conv2d(1, 2, 3).double())
    rng = np.random.default_rng(1)
    xa, xb = rng.standard_normal((2, 1, 5, 5)), rng.standard_normal((3, 1, 6, 6))
    ya, yb = conv(xa), conv(xb)
    ga, gb = rng.standard_normal(ya.shape), rng.standard_normal(yb.shape)
    conv.backward(gb)
    conv.backward(ga)
    loss = (theirs(torch.tensor(xa)) * torch.tensor(ga)).sum() + \
        (theirs(torch.tensor(xb)) * torch.tensor(gb)).sum()
    loss.backward()
    assert err(conv.grads["weight"], theirs.weight.grad) < 1e-12
    assert err(conv.grads["bias"], theirs.bias.grad) < 1e-12


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("make, error, words", [
    (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, "in_channels must be divisible"),
    (lambda: nn.Conv2d(4, 3, 3, groups=2), ValueError, "out_channels must be divisible"),
    (lambda: nn.Conv2d(1, 4, 3, stride=2, padding="same"), ValueError, "strided"),
    (lambda: nn.Conv2d(1, 4, 3, padding="full"), ValueError, "padding"),
    (lambda: nn.Conv2d(1, 4, 3, padding_mode="mirror"), ValueError, "padding_mode"),
    (lambda: nn.Conv2d(1, 4, (3, 3, 3)), ValueError, "kernel_size"),
    (lambda: nn.Conv2d(1, 0, 3), ValueError, "out_channels"),
    (lambda: nn.Conv2d(1.5, 4, 3), TypeError, "in_channels"),
    (lambda: nn.Conv2d(1, 4, 3, bias="yes"), TypeError, "bias"),
    (lambda: nn.Conv2d(1, 4, 3, dtype=np.int64), TypeError, "dtype"),
    (lambda: nn.MaxPool2d(0), ValueError, "kernel_size"),
    (lambda: nn.MaxPool2d(2, return_indices=1), TypeError, "return_indices"),
    (lambda: nn.AvgPool2d(2, divisor_override=0), ValueError, "divisor_override"),
    (lambda: nn.AvgPool2d(2, ceil_mode="no"), TypeError, "ceil_mode"),
])
def test_bad_arguments_are_named(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_bad_inputs_name_the_shapes():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"input has 1 channels but weight expects"):
        conv(np.zeros((2, 1, 8, 8)))
    with pytest.raises(ValueError, match=r"4-D \(N, C, H, W\)"):
        conv(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv(np.zeros((1, 3, 2, 2)))
    with pytest.raises(TypeError, match="numeric"):
        conv(np.array([["a"]]))
    out = conv(np.zeros((2, 3, 8, 8)))
    with pytest.raises(ValueError, match="dout must have the shape"):
        conv.backward(np.zeros((2, 4, 6, 5)))
    conv.backward(np.zeros(out.shape))               # the cache survived the bad call
    with pytest.raises(ValueError, match="larger than the padded input"):
        nn.MaxPool2d(3)(np.zeros((1, 1, 2, 2)))
