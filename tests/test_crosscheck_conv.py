"""Convolution, pooling and padding against torch.nn.functional: forward outputs and
every gradient (input, weight, bias), on cpu and cuda, in float64 and float32.

Three layers of evidence:
* the cross-check rows of cnnlib.crosscheck.conv (random configurations);
* hypothesis-drawn configurations, and a list of named edge cases (stride with
  leftover pixels, padding > 1, batch 1, one channel, 1x1 kernels, non-square);
* max pooling on integer-valued inputs, where windows tie.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlib.functional import conv as C
from cnnlib.functional import pool as P
from cnnlib.crosscheck import assert_case
from cnnlib.crosscheck.conv import CASES


from torch_devices import DEVICES
# float64: both sides do the same arithmetic in different orders: rounding only.
# float32: a conv output sums C*kh*kw <= 150 products and a weight gradient sums over
# up to a few thousand positions; summed in different orders, the normalised error
# stays below about 3e-6 (see cnnlib/crosscheck/conv.py); 3e-5 leaves margin.
TOL = {np.float64: 1e-10, np.float32: 3e-5}
FAST = dict(max_examples=40, deadline=None, derandomize=True)


def err(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12)) if b.size else 0.0


def conv_errors(x, w, b, kwargs, device, dtype, forward=C.conv2d_forward,
                backward=C.conv2d_backward, torch_op=TF.conv2d) -> dict:
    """Run one convolution through cnnlib and PyTorch with the same upstream gradient;
    return the normalised errors of the output and of every gradient."""
    x, w = x.astype(dtype), w.astype(dtype)
    b = None if b is None else b.astype(dtype)
    out, cache = forward(x, w, b, **kwargs)
    dout = np.random.default_rng(0).normal(size=out.shape).astype(dtype)
    dx, dw, db = backward(dout, cache)
    t = [None if a is None else torch.tensor(a, device=device, requires_grad=True)
         for a in (x, w, b)]
    tout = torch_op(*t, **kwargs)
    tout.backward(torch.tensor(dout, device=device))
    assert out.dtype == dx.dtype == dw.dtype == dtype
    errs = {"out": err(out, tout.detach().cpu()), "dx": err(dx, t[0].grad.cpu()),
            "dw": err(dw, t[1].grad.cpu())}
    if b is not None:
        errs["db"] = err(db, t[2].grad.cpu())
    else:
        assert db is None
    return errs


# ------------------------------------------------------------ the cross-check rows
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[c.op for c in CASES])
def test_crosscheck_rows(case, device, dtype):
    assert_case(case, device, dtype, trials=3 if "loop" in case.op else 5, rng=11)


# -------------------------------------------------------- hypothesis: conv configs
@st.composite
def conv_configs(draw, max_hw=9):
    groups = draw(st.sampled_from([1, 1, 1, 2, 3]))
    n = draw(st.integers(1, 3))
    c = groups * draw(st.integers(1, 3))
    f = groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.sampled_from([(1, 1), (1, 1), (2, 1), (1, 2), (2, 2)]))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), max_hw))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), max_hw))
    bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, c, h, w)), rng.normal(size=(f, c // groups, kh, kw)),
            rng.normal(size=f) if bias else None,
            {"stride": (sh, sw), "padding": (ph, pw), "dilation": (dh, dw),
             "groups": groups})


@pytest.mark.parametrize("device", DEVICES)
@settings(**FAST)
@given(cfg=conv_configs())
def test_fast_conv2d_matches_torch_float64(device, cfg):
    errs = conv_errors(*cfg, device, np.float64)
    assert max(errs.values()) < TOL[np.float64], (errs, [a.shape for a in cfg[:2]], cfg[3])


@pytest.mark.parametrize("device", DEVICES)
@settings(**{**FAST, "max_examples": 25})
@given(cfg=conv_configs())
def test_fast_conv2d_matches_torch_float32(device, cfg):
    errs = conv_errors(*cfg, device, np.float32)
    assert max(errs.values()) < TOL[np.float32], (errs, cfg[3])


@settings(**{**FAST, "max_examples": 30})
@given(cfg=conv_configs(max_hw=7))
def test_loop_conv2d_equals_fast(cfg):
    x, w, b, kw = cfg
    fast, fc = C.conv2d_forward(x, w, b, **kw)
    loop, lc = C.conv2d_loop_forward(x, w, b, **kw)
    assert err(loop, fast) < 1e-12
    dout = np.random.default_rng(1).normal(size=fast.shape)
    for a, b_ in zip(C.conv2d_loop_backward(dout, lc), C.conv2d_backward(dout, fc)):
        assert (a is None and b_ is None) or err(a, b_) < 1e-12


@pytest.mark.parametrize("device", DEVICES)
@settings(**{**FAST, "max_examples": 30})
@given(cfg=conv_configs(max_hw=12), unbatched=st.booleans())
def test_conv1d_matches_torch(device, cfg, unbatched):
    x, w, b, kw = cfg
    x, w = x[:, :, 0, :], w[:, :, 0, :]          # keep the width axis
    if x.shape[-1] < kw["dilation"][1] * (w.shape[-1] - 1) + 1 - 2 * kw["padding"][1]:
        return
    if unbatched:
        x = x[0]
    kw1 = {"stride": kw["stride"][1], "padding": kw["padding"][1],
           "dilation": kw["dilation"][1], "groups": kw["groups"]}
    errs = conv_errors(x, w, b, kw1, device, np.float64, C.conv1d_forward,
                       C.conv1d_backward, TF.conv1d)
    assert max(errs.values()) < TOL[np.float64], (errs, kw1)


# -------------------------------------------------------------- named edge cases
EDGE_CASES = {  # name: (x shape, w shape, kwargs)
    "stride 2, leftover pixels": ((2, 3, 9, 8), (4, 3, 3, 3), {"stride": 2}),
    "stride 3 > kernel": ((2, 2, 10, 11), (3, 2, 2, 2), {"stride": 3}),
    "padding 2": ((2, 2, 5, 6), (3, 2, 3, 3), {"padding": 2}),
    "padding 3 around 1x1": ((1, 2, 4, 4), (2, 2, 1, 1), {"padding": 3}),
    "batch 1, one channel": ((1, 1, 7, 7), (1, 1, 3, 3), {}),
    "1x1 kernel, many filters": ((3, 4, 5, 6), (7, 4, 1, 1), {}),
    "non-square image and kernel": ((2, 2, 5, 11), (3, 2, 2, 4), {"stride": (1, 2)}),
    "kernel as large as the image": ((2, 3, 4, 5), (2, 3, 4, 5), {}),
    "same padding, even kernel": ((2, 2, 6, 7), (3, 2, 4, 2), {"padding": "same"}),
    "depthwise (groups = channels)": ((2, 4, 6, 6), (8, 1, 3, 3), {"groups": 4}),
    "dilation 2 with padding": ((1, 3, 9, 8), (2, 3, 3, 2),
                                {"dilation": 2, "padding": 2}),
    "LeNet layer 1": ((4, 1, 28, 28), (6, 1, 5, 5), {}),
    "LeNet layer 2": ((4, 6, 14, 14), (16, 6, 5, 5), {}),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(EDGE_CASES))
@pytest.mark.parametrize("bias", [True, False])
def test_named_edge_cases(name, bias, dtype, device):
    xs, ws, kw = EDGE_CASES[name]
    rng = np.random.default_rng(len(name))
    b = rng.normal(size=ws[0]) if bias else None
    errs = conv_errors(rng.normal(size=xs), rng.normal(size=ws), b, kw, device, dtype)
    assert max(errs.values()) < TOL[dtype], errs


# ------------------------------------------------------------------------ pooling
@st.composite
def pool_configs(draw, ties=False):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    dilation = draw(st.sampled_from([(1, 1), (1, 1), (2, 1), (2, 2)]))
    h = draw(st.integers(dilation[0] * (kh - 1) + 1, 9))
    w = draw(st.integers(dilation[1] * (kw - 1) + 1, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), h, w)
    x = rng.integers(-2, 3, size=shape).astype(float) if ties else rng.normal(size=shape)
    return x, {"kernel_size": (kh, kw), "stride": stride, "padding": padding,
               "dilation": dilation, "ceil_mode": draw(st.booleans())}


def pool_errors(x, kw, device, dtype, op="max"):
    x = x.astype(dtype)
    if op == "max":
        (out, idx), cache = P.max_pool2d_forward(x, **kw, return_indices=True)
    else:
        out, cache = P.avg_pool2d_forward(x, **kw)
    dout = np.random.default_rng(0).normal(size=out.shape).astype(dtype)
    backward = P.max_pool2d_backward if op == "max" else P.avg_pool2d_backward
    dx = backward(dout, cache)
    xt = torch.tensor(x, device=device, requires_grad=True)
    if op == "max":
        tout, tidx = TF.max_pool2d(xt, **kw, return_indices=True)
        np.testing.assert_array_equal(idx, tidx.cpu().numpy())
    else:
        tout = TF.avg_pool2d(xt, **kw)
    tout.backward(torch.tensor(dout, device=device))
    assert out.dtype == dx.dtype == dtype
    return err(out, tout.detach().cpu()), err(dx, xt.grad.cpu())


@pytest.mark.parametrize("device", DEVICES)
@settings(**FAST)
@given(cfg=pool_configs(ties=True))
def test_max_pool_ties_route_like_torch(device, cfg):
    """Integer inputs: most windows hold several equal maxima. The output, the
    argmax indices and the gradient must match PyTorch exactly."""
    fwd, grad = pool_errors(*cfg, device, np.float64)
    assert fwd == 0 and grad < 1e-15


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(**{**FAST, "max_examples": 25})
@given(cfg=pool_configs())
def test_max_pool_matches_torch(device, dtype, cfg):
    fwd, grad = pool_errors(*cfg, device, dtype)
    assert fwd == 0 and grad < TOL[dtype]       # max only picks: exact forward


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(**{**FAST, "max_examples": 25})
@given(cfg=pool_configs(), include_pad=st.booleans(),
       divisor=st.one_of(st.none(), st.integers(1, 5)))
def test_avg_pool_matches_torch(device, dtype, cfg, include_pad, divisor):
    x, kw = cfg
    kw = {**kw, "count_include_pad": include_pad, "divisor_override": divisor}
    del kw["dilation"]                           # avg_pool2d has none
    fwd, grad = pool_errors(x, kw, device, dtype, op="avg")
    # float32: a mean of <= 16 values, rounded in a different order: ~1e-7
    assert max(fwd, grad) < (1e-10 if dtype == np.float64 else 3e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool_lenet_shapes_with_ties(device):
    x = np.random.default_rng(3).integers(0, 3, size=(4, 6, 24, 24)).astype(float)
    fwd, grad = pool_errors(x, {"kernel_size": 2}, device, np.float64)
    assert fwd == 0 and grad == 0
