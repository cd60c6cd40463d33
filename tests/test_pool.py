"""cnnlib.functional.pool: values by hand, tie routing, gradients, bad input. (PyTorch comparisons
live in test_crosscheck_conv.py.)"""
import re

import numpy as np
import pytest

from cnnlib.functional import pool as P
from cnnlib.gradcheck import numerical_gradient

X = np.array([[1, 3, 2, 0],
              [4, 2, 1, 5],
              [0, 1, 7, 2],
              [3, 3, 1, 6]], dtype=float)[None, None]


def test_max_pool_2x2_by_hand():
    np.testing.assert_array_equal(P.max_pool2d(X, 2)[0, 0], [[4, 5], [3, 7]])
    out, idx = P.max_pool2d(X, 2, return_indices=True)
    np.testing.assert_array_equal(idx[0, 0], [[4, 7], [12, 10]])   # flat into 4x4
    assert idx.dtype == np.int64


def test_avg_pool_2x2_by_hand():
    np.testing.assert_allclose(P.avg_pool2d(X, 2)[0, 0], [[2.5, 2.0], [1.75, 4.0]])


def test_max_pool_ties_go_to_the_first_maximum_in_row_major_order():
    x = np.array([[5, 5], [5, 5]], dtype=float)[None, None]
    out, cache = P.max_pool2d_forward(x, 2)
    np.testing.assert_array_equal(P.max_pool2d_backward(np.ones((1, 1, 1, 1)), cache),
                                  [[[[1, 0], [0, 0]]]])
    x = np.array([[1, 2, 9], [9, 0, 9]], dtype=float)[None, None]
    out, cache = P.max_pool2d_forward(x, (2, 3))
    np.testing.assert_array_equal(P.max_pool2d_backward(np.full((1, 1, 1, 1), 3.0),
                                                        cache)[0, 0],
                                  [[0, 0, 3], [0, 0, 0]])


def test_leftover_pixels_get_zero_gradient():
    x = np.arange(9.0).reshape(1, 1, 3, 3)             # a 2x2 window fits once
    out, cache = P.max_pool2d_forward(x, 2)
    assert out.item() == 4
    dx = P.max_pool2d_backward(np.full((1, 1, 1, 1), 7.0), cache)
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 0], [0, 7, 0], [0, 0, 0]])
    out, cache = P.avg_pool2d_forward(x, 2)
    np.testing.assert_array_equal(P.avg_pool2d_backward(np.ones((1, 1, 1, 1)), cache)[0, 0],
                                  [[0.25, 0.25, 0], [0.25, 0.25, 0], [0, 0, 0]])


def test_overlapping_windows_accumulate_gradient():
    x = np.array([[0, 0, 0], [0, 9, 0], [0, 0, 0]], dtype=float)[None, None]
    out, cache = P.max_pool2d_forward(x, 2, stride=1)
    np.testing.assert_array_equal(out[0, 0], [[9, 9], [9, 9]])
    dx = P.max_pool2d_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    assert dx[0, 0, 1, 1] == 10 and dx.sum() == 10


def test_nan_wins_and_padding_never_does():
    x = np.array([[1, np.nan], [2, 3]], dtype=float)[None, None]
    assert np.isnan(P.max_pool2d(x, 2)[0, 0, 0, 0])
    x = -np.ones((1, 1, 3, 3))
    out, idx = P.max_pool2d(x, 3, stride=1, padding=1, return_indices=True)
    assert (out == -1).all() and (idx >= 0).all()          # -inf padding never wins
    x = np.full((1, 1, 2, 2), -np.inf)                      # all real values -inf
    out, cache = P.max_pool2d_forward(x, 2, padding=1)
    dx = P.max_pool2d_backward(np.ones_like(out), cache)
    assert dx.sum() == out.size                             # routed to real pixels


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_gradients_against_finite_differences(pool):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 2, 5, 6))
    kw = {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 1), "ceil_mode": True}
    fwd, bwd = ((P.max_pool2d_forward, P.max_pool2d_backward) if pool == "max"
                else (P.avg_pool2d_forward, P.avg_pool2d_backward))
    out, cache = fwd(x, **kw)
    dout = rng.normal(size=out.shape)
    num = numerical_gradient(lambda v: float(np.sum(fwd(v, **kw)[0] * dout)), x.copy())
    np.testing.assert_allclose(bwd(dout, cache), num, atol=1e-7)


def test_output_sizes_stride_default_and_ceil_mode():
    x = np.zeros((2, 3, 7, 5))
    assert P.max_pool2d(x, 2).shape == (2, 3, 3, 2)                 # stride = kernel
    assert P.max_pool2d(x, 2, ceil_mode=True).shape == (2, 3, 4, 3)
    assert P.max_pool2d(x, 3, stride=2, padding=1).shape == (2, 3, 4, 3)
    assert P.max_pool2d(x, 2, stride=1, dilation=2).shape == (2, 3, 5, 3)
    assert P.avg_pool2d(x[0], (3, 1)).shape == (3, 2, 5)             # unbatched


def test_avg_pool_divisors():
    x = np.ones((1, 1, 3, 3))
    # with padding 1 the corner window holds 4 ones and 5 zeros
    assert P.avg_pool2d(x, 3, stride=1, padding=1)[0, 0, 0, 0] == pytest.approx(4 / 9)
    assert P.avg_pool2d(x, 3, 1, 1, count_include_pad=False)[0, 0, 0, 0] == 1.0
    assert P.avg_pool2d(x, 3, 1, 1, divisor_override=2)[0, 0, 0, 0] == 2.0


@pytest.mark.parametrize("fn", [P.max_pool2d, P.avg_pool2d])
def test_float32_stays_float32(fn):
    x = np.random.default_rng(1).normal(size=(1, 2, 4, 4)).astype(np.float32)
    assert fn(x, 2).dtype == np.float32


@pytest.mark.parametrize("fn", [P.max_pool2d, P.avg_pool2d, P.max_pool2d_forward,
                                P.avg_pool2d_forward])
@pytest.mark.parametrize("args,kwargs,exc,words", [
    ((np.zeros((4, 4)), 2), {}, ValueError, ["4-D", "(4, 4)"]),
    ((np.zeros((1, 1, 1, 4, 4)), 2), {}, ValueError, ["4-D"]),
    ((np.zeros((1, 1, 4, 4)), 0), {}, ValueError, ["kernel_size"]),
    ((np.zeros((1, 1, 4, 4)), (2, 2, 2)), {}, ValueError, ["kernel_size"]),
    ((np.zeros((1, 1, 4, 4)), 2.5), {}, TypeError, ["kernel_size"]),
    ((np.zeros((1, 1, 4, 4)), 2), {"stride": 0}, ValueError, ["stride"]),
    ((np.zeros((1, 1, 4, 4)), 3), {"padding": 2}, ValueError, ["half of kernel_size"]),
    ((np.zeros((1, 1, 4, 4)), 2), {"padding": -1}, ValueError, ["padding"]),
    ((np.zeros((1, 1, 2, 4)), 3), {}, ValueError, ["larger than the padded input"]),
    ((np.zeros((1, 1, 4, 4)), 2), {"ceil_mode": "yes"}, TypeError, ["ceil_mode"]),
    (("image", 2), {}, TypeError, ["input"]),
])
def test_pooling_rejects_bad_input(fn, args, kwargs, exc, words):
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_avg_pool_rejects_bad_divisor():
    with pytest.raises(ValueError, match="divisor_override"):
        P.avg_pool2d(np.zeros((1, 1, 4, 4)), 2, divisor_override=0)


@pytest.mark.parametrize("fwd,bwd", [(P.max_pool2d_forward, P.max_pool2d_backward),
                                     (P.avg_pool2d_forward, P.avg_pool2d_backward)])
def test_backward_rejects_wrong_dout_shape(fwd, bwd):
    out, cache = fwd(np.zeros((1, 2, 4, 4)), 2)
    with pytest.raises(ValueError, match="dout"):
        bwd(np.zeros((1, 2, 2, 3)), cache)


# ------------------------------------------------------ ceil_mode: PyTorch's rule
def _torch_pool(op, x, kw):
    """PyTorch's output, indices (max only) and input gradient for dout = 1..n, or
    None when PyTorch raises. No gradient (None) when a max window saw padding only
    (-inf out of a finite input): its index points outside the row it belongs to,
    and PyTorch's backward then writes to the wrong pixel or aborts the process."""
    import torch
    import torch.nn.functional as TF

    t = torch.tensor(x, requires_grad=True)
    try:
        if op == "max":
            out, idx = TF.max_pool2d(t, **kw, return_indices=True)
        else:
            out, idx = TF.avg_pool2d(t, **kw), None
    except RuntimeError:
        return None
    if op == "max" and torch.isneginf(out).any():
        return out.detach().numpy(), idx.numpy(), None, None
    dout = torch.arange(1.0, out.numel() + 1, dtype=t.dtype).reshape(out.shape)
    out.backward(dout)
    return (out.detach().numpy(), None if idx is None else idx.numpy(),
            t.grad.numpy(), dout.numpy())


def _pool_grid():
    for n in range(1, 7):
        for k in range(1, 5):
            for s in range(1, 4):
                for p in range(k // 2 + 1):
                    for d in (1, 2):
                        yield n, k, s, p, d


@pytest.mark.parametrize("op", ["max", "avg"])
def test_ceil_mode_follows_torch_on_every_small_configuration(op):
    """Every square configuration up to 6x6 pixels, kernel 4, stride 3, in ceil mode:
    where PyTorch answers, cnnlib gives the same output size, values, argmax indices
    and gradient (a last window may hang past the edge, even be larger than the
    padded input); where PyTorch raises, cnnlib raises a ValueError; where PyTorch
    returns a window made only of padding (-inf, index outside the image), cnnlib
    refuses with a ValueError that says so."""
    rng = np.random.default_rng(0)
    compared = hanging = refused = 0
    for n, k, s, p, d in _pool_grid():
        if op == "avg" and d > 1:
            continue                                   # avg_pool2d has no dilation
        x = rng.normal(size=(2, 1, n, n))
        variants = ([{"dilation": d}] if op == "max" else
                    [{"count_include_pad": c, "divisor_override": v}
                     for c in (True, False) for v in (None, 3)])
        for extra in variants:
            kw = {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": True, **extra}
            ref = _torch_pool(op, x, kw)
            only_padding = ref is not None and op == "max" and ref[2] is None
            if ref is None or only_padding:
                with pytest.raises(ValueError, match="padding" if only_padding else
                                   "larger than the padded input"):
                    (P.max_pool2d if op == "max" else P.avg_pool2d)(x, **kw)
                refused += 1
                continue
            if op == "max":
                (out, idx), cache = P.max_pool2d_forward(x, **kw, return_indices=True)
                np.testing.assert_array_equal(idx, ref[1])
                dx = P.max_pool2d_backward(ref[3], cache)
            else:
                out, cache = P.avg_pool2d_forward(x, **kw)
                dx = P.avg_pool2d_backward(ref[3], cache)
            assert out.shape == ref[0].shape, (kw, n)
            np.testing.assert_allclose(out, ref[0], rtol=1e-13, atol=1e-15)
            np.testing.assert_allclose(dx, ref[2], rtol=1e-13, atol=1e-15)
            compared += 1
            hanging += (out.shape[-1] - 1) * s + d * (k - 1) + 1 > n + 2 * p
    # the grid really exercises the hanging windows and both kinds of refusal
    assert compared > 100 and hanging > 50 and refused > 10, (compared, hanging, refused)


def test_window_larger_than_the_padded_input_in_ceil_mode():
    """A 1x1 image under a 2x2 window with stride 2: PyTorch gives one window (which
    hangs over the edge) in ceil mode; without ceil mode there is none."""
    x = np.array([[[[5.0]]]])
    out, cache = P.max_pool2d_forward(x, 2, ceil_mode=True)
    assert out.shape == (1, 1, 1, 1) and out.item() == 5.0
    np.testing.assert_array_equal(P.max_pool2d_backward(np.full((1, 1, 1, 1), 3.0),
                                                        cache), [[[[3.0]]]])
    # the mean divides by the part of the window inside the (padded) input: 1 pixel
    assert P.avg_pool2d(x, 2, ceil_mode=True).item() == 5.0
    assert P.avg_pool2d(x, 2, ceil_mode=True, divisor_override=4).item() == 1.25
    with pytest.raises(ValueError, match="larger than the padded input"):
        P.max_pool2d(x, 2)


def test_a_window_made_only_of_padding_is_refused():
    """Dilation 2 and padding 1 on a 1-pixel-wide input: the window reads positions -1,
    1, 3, all padding. PyTorch answers -inf with the index 1 of a 1-pixel image
    (outside it); cnnlib raises and names the window."""
    x = np.ones((1, 1, 4, 1))
    with pytest.raises(ValueError, match=r"window 0 along the width lies entirely in "
                                         r"the padding.*\[-1, 1, 3\]"):
        P.max_pool2d(x, (1, 3), stride=(1, 3), padding=(0, 1), dilation=(1, 2),
                     ceil_mode=True)
    torch_out = _torch_pool("max", x, {"kernel_size": (1, 3), "stride": (1, 3),
                                       "padding": (0, 1), "dilation": (1, 2),
                                       "ceil_mode": True})
    assert np.isneginf(torch_out[0]).all() and (torch_out[1] >= x.shape[-1]).all()


@pytest.mark.parametrize("fn", [P.max_pool2d, P.avg_pool2d])
def test_empty_sizes(fn):
    """Only the batch may be empty (PyTorch's rule): an empty batch gives an empty
    output; an empty channel, row or column axis is refused."""
    assert fn(np.zeros((0, 3, 4, 4)), 2).shape == (0, 3, 2, 2)
    out, cache = (P.max_pool2d_forward if fn is P.max_pool2d
                  else P.avg_pool2d_forward)(np.zeros((0, 3, 4, 4)), 2)
    backward = P.max_pool2d_backward if fn is P.max_pool2d else P.avg_pool2d_backward
    assert backward(np.zeros((0, 3, 2, 2)), cache).shape == (0, 3, 4, 4)
    for shape in [(1, 0, 4, 4), (0, 4, 4), (1, 2, 0, 4), (2, 4, 0)]:
        with pytest.raises(ValueError, match=r"only the batch may be empty.*"
                                             + re.escape(str(shape))):
            fn(np.zeros(shape), 1)


@pytest.mark.parametrize("value", ["no", "False", 0, 1, None, np.array([True])])
def test_count_include_pad_and_ceil_mode_must_be_bools(value):
    """Strings such as "no" would count as True if taken by truth value: refused."""
    x = np.ones((1, 1, 4, 4))
    with pytest.raises(TypeError, match="count_include_pad must be True or False"):
        P.avg_pool2d(x, 3, 1, 1, count_include_pad=value)
    with pytest.raises(TypeError, match="ceil_mode must be True or False"):
        P.max_pool2d(x, 2, ceil_mode=value)
    assert P.avg_pool2d(x, 3, 1, 1, count_include_pad=np.False_)[0, 0, 0, 0] == 1.0
