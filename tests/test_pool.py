"""cnnlib.functional.pool: values by hand, tie routing, gradients, bad input. (PyTorch comparisons
live in test_crosscheck_conv.py.)"""
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
