"""cnnlib.functional.conv and cnnlib.functional.im2col: worked examples, shapes, the loop version against the
fast one, finite-difference gradients, bad input. (PyTorch comparisons live in
test_crosscheck_conv.py.)"""
import numpy as np
import pytest

import cnnlib.functional as F
from cnnlib.functional import conv as C
from cnnlib.functional import im2col as I
from cnnlib.gradcheck import numerical_gradient

SEED_IMAGE = np.array([[1, 1, 1, 0, 0],
                       [0, 1, 1, 1, 0],
                       [0, 0, 1, 1, 1],
                       [0, 0, 1, 1, 0],
                       [0, 1, 1, 0, 0]], dtype=float)
SEED_KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=float)
SEED_RESULT = np.array([[4, 3, 4], [2, 4, 3], [2, 3, 4]], dtype=float)

CONV2D = [(C.conv2d_forward, C.conv2d_backward),
          (C.conv2d_loop_forward, C.conv2d_loop_backward)]


def err(a, b) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


# ---------------------------------------------------------------- worked examples
def test_conv1d_lecture_example():
    out = C.conv1d(np.array([[[1, 1, 1, 0, 0]]], float), np.array([[[1, 0, 1]]], float))
    np.testing.assert_array_equal(out, [[[2, 1, 1]]])
    # unbatched (C, L), as PyTorch allows
    np.testing.assert_array_equal(C.conv1d([[1, 1, 1, 0, 0]], [[[1, 0, 1]]]), [[2, 1, 1]])


@pytest.mark.parametrize("fn", [C.conv2d, C.conv2d_loop])
def test_conv2d_lecture_example(fn):
    out = fn(SEED_IMAGE[None, None], SEED_KERNEL[None, None])
    np.testing.assert_array_equal(out[0, 0], SEED_RESULT)
    np.testing.assert_array_equal(fn(SEED_IMAGE[None], SEED_KERNEL[None, None])[0],
                                  SEED_RESULT)                  # unbatched (C, H, W)


def test_conv2d_formula_by_hand():
    """(I*K)(i, j) = sum_m sum_n I(i+m, j+n) K(m, n), written out with plain loops."""
    rng = np.random.default_rng(0)
    img, ker = rng.normal(size=(6, 7)), rng.normal(size=(2, 3))
    expected = np.array([[sum(img[i + m, j + n] * ker[m, n]
                              for m in range(2) for n in range(3))
                          for j in range(5)] for i in range(5)])
    np.testing.assert_allclose(C.conv2d(img[None, None], ker[None, None])[0, 0],
                               expected, rtol=1e-12)


def test_stride_padding_and_channels_by_hand():
    x = np.arange(2 * 3 * 5 * 4, dtype=float).reshape(2, 3, 5, 4)
    w = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2) - 5
    b = np.array([0.5, -1.0])
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = C.conv2d(x, w, b, stride=2, padding=1)
    assert out.shape == (2, 2, 3, 3)
    for n, f, i, j in np.ndindex(out.shape):
        want = np.sum(xp[n, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2] * w[f]) + b[f]
        assert out[n, f, i, j] == pytest.approx(want, rel=1e-12)


# ---------------------------------------------------------------- output sizes
@pytest.mark.parametrize("n,k,s,p,d,want", [
    (5, 3, 1, 0, 1, 3), (5, 3, 1, 1, 1, 5), (5, 3, 2, 0, 1, 2), (28, 5, 1, 0, 1, 24),
    (32, 3, 1, 1, 1, 32), (7, 3, 2, 0, 1, 3), (8, 3, 2, 0, 1, 3), (7, 3, 1, 0, 2, 3),
    (1, 1, 5, 0, 1, 1)])
def test_conv_output_size(n, k, s, p, d, want):
    assert C.conv_output_size(n, k, s, p, d) == want
    x = np.zeros((1, 1, n, n))
    assert C.conv2d(x, np.zeros((1, 1, k, k)), stride=s, padding=p,
                    dilation=d).shape[-1] == want


@pytest.mark.parametrize("bad,exc", [((2, 3), ValueError), ((5, 0), ValueError),
                                     ((5, 3, 0), ValueError), ((5, 3, 1, -1), ValueError),
                                     ((5, 3.0), TypeError), ((5, 3, 1, 0, 0), ValueError)])
def test_conv_output_size_rejects(bad, exc):
    with pytest.raises(exc):
        C.conv_output_size(*bad)


@pytest.mark.parametrize("n,k,s,p,d,want", [
    (5, 2, 2, 0, 1, 3),      # floor gives 2; the third window hangs one pixel over
    (4, 2, 2, 0, 1, 2),      # nothing left over: ceil changes nothing
    (1, 2, 2, 0, 1, 1),      # a window larger than the input still counts
    (5, 3, 2, 1, 1, 3),      # ceil(4/2) + 1 = 3 windows
    (5, 2, 2, 1, 1, 3),      # ceil gives 4, but the 4th would start past the input
    (3, 3, 3, 1, 2, 1)])     # dilated window larger than the padded input
def test_conv_output_size_ceil_mode_is_torchs_rule(n, k, s, p, d, want):
    """PyTorch's pooling_output_shape: round up, then drop a last window that would
    start at or after the end of the input."""
    import torch
    import torch.nn.functional as TF

    assert C.conv_output_size(n, k, s, p, d, ceil_mode=True) == want
    x = torch.zeros(1, 1, 1, n)
    assert TF.max_pool2d(x, (1, k), (1, s), (0, p), (1, d), ceil_mode=True).shape[-1] == want


def test_conv_output_size_padding_pair_and_bad_ceil_mode():
    assert C.conv_output_size(6, 4, padding=(1, 2)) == 6     # 'same' for an even kernel
    assert C.conv_output_size(6, 4, padding=(2, 2)) == 7
    with pytest.raises(TypeError, match="ceil_mode must be True or False"):
        C.conv_output_size(5, 3, ceil_mode="yes")
    with pytest.raises(ValueError, match="padding must be an int or a pair"):
        C.conv_output_size(5, 3, padding=(1, 1, 1))


def test_same_padding_keeps_size_even_kernel():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(4, 3, 4, 2))
    out = C.conv2d(x, w, padding="same")
    assert out.shape == (2, 4, 7, 6)
    # PyTorch's choice: the odd pixel of padding goes after (bottom / right)
    manual = np.pad(x, ((0, 0), (0, 0), (1, 2), (0, 1)))
    np.testing.assert_allclose(out, C.conv2d(manual, w), rtol=1e-12)
    np.testing.assert_array_equal(C.conv2d(x, w, padding="valid"), C.conv2d(x, w))


# ------------------------------------------------------------- loop versus fast
CONFIGS = [  # (x shape, w shape, kwargs)
    ((2, 3, 7, 9), (4, 3, 3, 2), {}),
    ((1, 1, 6, 6), (1, 1, 1, 1), {}),
    ((3, 2, 9, 8), (5, 2, 3, 3), {"stride": 2, "padding": 1}),           # leftovers
    ((2, 2, 8, 7), (3, 2, 2, 3), {"stride": (3, 2), "padding": (2, 0)}),
    ((1, 4, 9, 9), (2, 2, 3, 3), {"groups": 2, "dilation": 2}),
    ((2, 6, 5, 6), (6, 1, 3, 3), {"groups": 6, "padding": "same"}),      # depthwise
    ((1, 2, 4, 11), (2, 2, 4, 1), {"stride": (1, 3), "padding": (3, 0)}),
]


@pytest.mark.parametrize("xs,ws,kw", CONFIGS)
@pytest.mark.parametrize("bias", [True, False])
def test_loop_equals_fast_forward_and_backward(xs, ws, kw, bias):
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=xs), rng.normal(size=ws)
    b = rng.normal(size=ws[0]) if bias else None
    fast, fc = C.conv2d_forward(x, w, b, **kw)
    loop, lc = C.conv2d_loop_forward(x, w, b, **kw)
    np.testing.assert_allclose(fast, loop, rtol=1e-12, atol=1e-12)
    dout = rng.normal(size=fast.shape)
    gf, gl = C.conv2d_backward(dout, fc), C.conv2d_loop_backward(dout, lc)
    for a, b_ in zip(gf[:2], gl[:2]):
        assert err(a, b_) < 1e-12
    assert (gf[2] is None) == (gl[2] is None) == (not bias)
    if bias:
        np.testing.assert_allclose(gf[2], gl[2], rtol=1e-12)


@pytest.mark.parametrize("forward,backward", CONV2D)
def test_gradients_against_finite_differences(forward, backward):
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(2, 2, 5, 4)), rng.normal(size=(3, 2, 2, 3))
    b = rng.normal(size=3)
    kw = {"stride": (2, 1), "padding": 1}
    dout = rng.normal(size=forward(x, w, b, **kw)[0].shape)
    dx, dw, db = backward(dout, forward(x, w, b, **kw)[1])

    def loss(**arrays):
        args = {"x": x, "w": w, "b": b, **arrays}
        return float(np.sum(forward(args["x"], args["w"], args["b"], **kw)[0] * dout))

    assert err(dx, numerical_gradient(lambda v: loss(x=v), x.copy())) < 1e-7
    assert err(dw, numerical_gradient(lambda v: loss(w=v), w.copy())) < 1e-7
    assert err(db, numerical_gradient(lambda v: loss(b=v), b.copy())) < 1e-7


def test_conv1d_gradients_against_finite_differences():
    rng = np.random.default_rng(4)
    x, w, b = rng.normal(size=(2, 3, 9)), rng.normal(size=(2, 3, 3)), rng.normal(size=2)
    kw = {"stride": 2, "padding": 2, "dilation": 2}
    out, cache = C.conv1d_forward(x, w, b, **kw)
    dout = rng.normal(size=out.shape)
    dx, dw, db = C.conv1d_backward(dout, cache)
    f = lambda v: float(np.sum(C.conv1d(v, w, b, **kw) * dout))  # noqa: E731
    g = lambda v: float(np.sum(C.conv1d(x, v, b, **kw) * dout))  # noqa: E731
    assert err(dx, numerical_gradient(f, x.copy())) < 1e-7
    assert err(dw, numerical_gradient(g, w.copy())) < 1e-7
    np.testing.assert_allclose(db, dout.sum(axis=(0, 2)), rtol=1e-12)


# ------------------------------------------------------------- dtypes and layouts
@pytest.mark.parametrize("fn", [C.conv2d, C.conv2d_loop])
def test_float32_stays_float32(fn):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 6, 6)).astype(np.float32)
    w = rng.normal(size=(2, 3, 3, 3)).astype(np.float32)
    assert fn(x, w, np.zeros(2, np.float32)).dtype == np.float32
    assert fn(x, w, [0.0, 1.0]).dtype == np.float32              # a list adopts it
    assert fn(x.round().astype(int), w).dtype == np.float32     # so do integers
    with pytest.raises(TypeError, match="input is float32 but weight is float64"):
        fn(x, w.astype(np.float64))                              # no silent promotion
    out, cache = C.conv2d_forward(x, w, np.zeros(2, np.float32))
    assert all(g.dtype == np.float32 for g in C.conv2d_backward(np.ones_like(out), cache))


def test_fast_conv_output_is_contiguous_and_inputs_untouched():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 3, 8, 8))[:, :, ::2, ::-1]            # a strided view
    w = rng.normal(size=(4, 3, 3, 3))
    x0, w0 = x.copy(), w.copy()
    out = C.conv2d(x, w, padding=1)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)
    np.testing.assert_allclose(out, C.conv2d_loop(x0, w0, padding=1), rtol=1e-12)


def test_non_finite_input_matches_loop_version():
    """inf propagates exactly as in the loop version, also into the gradients: only
    the windows and taps that really meet the inf pixel are affected."""
    rng = np.random.default_rng(7)
    x, w = rng.normal(size=(1, 1, 5, 6)), rng.normal(size=(2, 1, 3, 3))
    x[0, 0, 1, 0] = np.inf             # a pixel only some kernel taps reach
    with np.errstate(invalid="ignore"):
        fast, fc = C.conv2d_forward(x, w, stride=(1, 2))
        loop, lc = C.conv2d_loop_forward(x, w, stride=(1, 2))
        np.testing.assert_allclose(fast, loop, rtol=1e-12)       # inf == inf too
        d = np.ones_like(fast)
        for a, b in zip(C.conv2d_backward(d, fc)[:2], C.conv2d_loop_backward(d, lc)[:2]):
            np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))
            assert np.isfinite(a).sum() > 0


def test_batch_of_zero_images():
    out, cache = C.conv2d_forward(np.zeros((0, 2, 5, 5)), np.ones((3, 2, 3, 3)), np.ones(3))
    assert out.shape == (0, 3, 3, 3)
    dx, dw, db = C.conv2d_backward(np.zeros((0, 3, 3, 3)), cache)
    assert dx.shape == (0, 2, 5, 5) and not dw.any() and not db.any()


def test_functional_reexports():
    for name in ("conv1d", "conv2d", "conv2d_loop", "max_pool2d", "avg_pool2d", "pad",
                 "conv2d_forward", "conv2d_backward", "conv_output_size"):
        assert hasattr(F, name), name


@pytest.mark.parametrize("kernel,stride,padding,dilation", [
    ((3, 2), (1, 2), (1, 0, 2, 1), (2, 1)), ((1, 1), (3, 3), (0, 0, 0, 0), (1, 1)),
    ((2, 3), (1, 1), (2, 2, 2, 2), (1, 2))])
def test_im2col_col2im_are_adjoint(kernel, stride, padding, dilation):
    """<im2col(x), c> == <x, col2im(c)>: col2im is exactly the backward of the copy."""
    rng = np.random.default_rng(8)
    x = rng.normal(size=(2, 3, 7, 6))
    win = I.Windows.make(x.shape, kernel, stride, padding, dilation)
    cols = I.im2col(I.pad_buffer(x, win), win)
    assert cols.shape == (3 * kernel[0] * kernel[1], 2 * win.oh * win.ow)
    c = rng.normal(size=cols.shape)
    assert np.sum(cols * c) == pytest.approx(np.sum(x * I.col2im(c, win)), rel=1e-12)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("fn", [C.conv2d, C.conv2d_loop, C.conv2d_forward])
@pytest.mark.parametrize("args,kwargs,exc,words", [
    ((np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3))), {}, ValueError,
     ["3 channels", "(1, 3, 5, 5)", "(2, 2, 3, 3)"]),
    ((np.zeros((1, 1, 2, 5)), np.zeros((2, 1, 3, 3))), {}, ValueError,
     ["larger than the padded input"]),
    ((np.zeros((5, 5)), np.zeros((1, 1, 3, 3))), {}, ValueError, ["4-D", "(5, 5)"]),
    ((np.zeros((1, 1, 1, 5, 5)), np.zeros((1, 1, 3, 3))), {}, ValueError, ["4-D"]),
    ((np.zeros((1, 1, 5, 5)), np.zeros((3, 3))), {}, ValueError, ["weight", "4-D"]),
    ((np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3))), {"stride": 0}, ValueError,
     ["stride"]),
    ((np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3))), {"stride": 1.5}, TypeError,
     ["stride"]),
    ((np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3))), {"padding": -1}, ValueError,
     ["padding"]),
    ((np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3))), {"padding": (1, 1, 1)},
     ValueError, ["padding"]),
    ((np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3))), {"padding": "full"}, ValueError,
     ["'same'"]),
    ((np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3))), {"padding": "same", "stride": 2},
     ValueError, ["stride 1"]),
    ((np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3))), {"dilation": 0}, ValueError,
     ["dilation"]),
    ((np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 3, 3))), {"groups": 2}, ValueError,
     ["divisible by groups"]),
    ((np.zeros((1, 4, 5, 5)), np.zeros((4, 4, 3, 3))), {"groups": 0}, ValueError,
     ["groups"]),
    ((np.zeros((1, 1, 5, 5)), np.zeros((2, 1, 3, 3)), np.zeros(3)), {}, ValueError,
     ["bias", "(2,)"]),
    ((np.zeros((1, 1, 5, 5)), "kernel"), {}, TypeError, ["weight"]),
    ((np.zeros((1, 1, 5, 5), dtype=complex), np.zeros((1, 1, 3, 3))), {}, TypeError,
     ["input"]),
])
def test_conv2d_rejects_bad_input(fn, args, kwargs, exc, words):
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize("args,kwargs,words", [
    ((np.zeros((1, 2, 5)), np.zeros((1, 3, 3))), {}, ["2 channels", "(1, 3, 3)"]),
    ((np.zeros(5), np.zeros((1, 1, 3))), {}, ["3-D", "(5,)"]),
    ((np.zeros((1, 1, 5)), np.zeros((1, 3))), {}, ["weight", "3-D"]),
    ((np.zeros((1, 1, 2)), np.zeros((1, 1, 3))), {}, ["larger than the padded input"]),
    ((np.zeros((1, 1, 5)), np.zeros((1, 1, 3))), {"stride": (1, 1)}, ["stride"]),
])
def test_conv1d_rejects_bad_input(args, kwargs, words):
    with pytest.raises(ValueError) as info:
        C.conv1d(*args, **kwargs)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("forward,backward", CONV2D + [(C.conv1d_forward,
                                                        C.conv1d_backward)])
def test_backward_rejects_wrong_dout_shape(forward, backward):
    shape = (1, 2, 6, 6) if forward is not C.conv1d_forward else (1, 2, 6)
    wshape = (3, 2, 3, 3) if len(shape) == 4 else (3, 2, 3)
    out, cache = forward(np.zeros(shape), np.zeros(wshape))
    with pytest.raises(ValueError, match="dout"):
        backward(np.zeros(out.shape[:-1] + (out.shape[-1] + 1,)), cache)
