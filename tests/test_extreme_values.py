"""Numerics at the edges: logits up to |z| = 1e4, probabilities of exactly 0 and 1, in
float64 and float32. Every result and gradient must be finite and NumPy must not warn
(no overflow, no division by zero, no invalid operation), and the values must be the
right ones, not merely finite. float32 inputs must give float32 results."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from cnnlib.functional import activations as A
from cnnlib.functional import losses as LS
from cnnlib.functional import probabilities as S

DTYPES = [np.float64, np.float32]
Z = np.array([-1e4, -1e3, -40.0, -1.0, 0.0, 1.0, 40.0, 1e3, 1e4])


@pytest.fixture(autouse=True)
def strict_numpy():
    """Any NumPy floating-point warning or Python warning fails the test. Underflow is
    let through: exp(-1e4) underflowing to 0 is the correct answer (it is also NumPy's
    default), while overflow, 0/0 and log(0) are bugs here."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            yield


def _finite(*arrays):
    for a in arrays:
        assert np.all(np.isfinite(np.asarray(a))), a


def _torch(fn, *arrays, dout=None):
    """Value and input gradient (for upstream gradient ``dout``, default ones) from
    PyTorch in float64: the reference."""
    t = torch.tensor(np.asarray(arrays[0], dtype=np.float64), requires_grad=True)
    rest = [torch.tensor(np.asarray(a)) for a in arrays[1:]]
    out = fn(t, *rest)
    out.backward(torch.ones_like(out) if dout is None
                 else torch.tensor(np.asarray(dout, dtype=np.float64)))
    return out.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_saturates_cleanly(dtype):
    z = Z.astype(dtype)
    out, cache = A.sigmoid_forward(z)
    grad = A.sigmoid_backward(np.ones_like(z), cache)
    _finite(out, grad)
    assert out.dtype == grad.dtype == dtype
    assert out[0] == 0.0 and out[-1] == 1.0 and out[4] == 0.5
    assert np.all(np.diff(out) >= 0)                 # monotone even when saturated
    assert grad[0] == 0.0 and grad[-1] == 0.0 and grad[4] == 0.25
    np.testing.assert_allclose(out, torch.sigmoid(torch.tensor(Z)).numpy(),
                               rtol=1e-6 if dtype == np.float32 else 1e-15, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, ref", [("tanh", torch.tanh), ("arctan", torch.atan)])
def test_tanh_and_arctan_at_large_inputs(name, ref, dtype):
    z = Z.astype(dtype)
    out, cache = getattr(A, name + "_forward")(z)
    grad = getattr(A, name + "_backward")(np.ones_like(z), cache)
    _finite(out, grad)
    assert out.dtype == grad.dtype == dtype
    want, want_grad = _torch(ref, Z)
    # float32: a few ulps of values of size <= pi/2 and of gradients of size <= 1.
    tol = 1e-6 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(out, want, rtol=tol, atol=0)
    np.testing.assert_allclose(grad, want_grad, rtol=tol, atol=1e-30)
    if name == "arctan":
        assert grad[-1] == pytest.approx(1e-8, rel=1e-6)   # 1 / (1 + 1e8)


def test_arctan_gradient_does_not_overflow_even_beyond_float32_squares():
    z = np.array([-1e30, 3e19, 1e20], dtype=np.float32)   # z**2 overflows float32
    _, cache = A.arctan_forward(z)
    grad = A.arctan_backward(np.ones_like(z), cache)
    assert grad.dtype == np.float32 and np.all(grad >= 0) and np.all(grad < 1e-38)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_and_leaky_relu_pass_large_values_through(dtype):
    z = Z.astype(dtype)
    np.testing.assert_array_equal(A.relu(z), np.maximum(z, 0))
    out, cache = A.leaky_relu_forward(z, 0.01)
    _finite(out, A.leaky_relu_backward(np.ones_like(z), cache))
    assert out.dtype == dtype and out[0] == dtype(-100.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_and_log_softmax_with_huge_logits(fn, dtype):
    z = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, -1e4], [-1e4, -1e4, -1e4],
                  [5.0, 3.0, 1.0]], dtype=dtype)
    out, cache = getattr(S, fn + "_forward")(z, 1)
    dout = np.ones_like(z)
    dout[:, 0] = 2.0
    grad = getattr(S, fn + "_backward")(dout, cache)
    _finite(out, grad)
    assert out.dtype == grad.dtype == dtype
    want, want_grad = _torch(lambda t: getattr(TF, fn)(t, dim=1), z, dout=dout)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(out, want, rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, want_grad, rtol=tol, atol=tol)
    if fn == "softmax":
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=tol)
    else:
        assert out[0, 2] == dtype(-2e4) and out[2, 0] == pytest.approx(-np.log(3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_at_plus_minus_1e4(dtype, reduction):
    z = np.array([1e4, -1e4, 1e4, -1e4, 0.0], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0], dtype=dtype)
    loss, cache = LS.binary_cross_entropy_with_logits_forward(z, y, reduction=reduction)
    dout = np.ones(5, dtype) if reduction == "none" else 1.0
    grad = LS.binary_cross_entropy_with_logits_backward(dout, cache)
    _finite(loss, grad)
    assert np.asarray(loss).dtype == grad.dtype == dtype
    per = np.array([0.0, 0.0, 1e4, 1e4, np.log(2)])      # confident and wrong: |z|
    want = {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]
    np.testing.assert_allclose(loss, want, rtol=1e-6)
    g = np.array([0.0, 0.0, 1.0, -1.0, -0.5])              # sigmoid(z) - y
    np.testing.assert_allclose(grad, g / 5 if reduction == "mean" else g, atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_and_pos_weight_at_extremes(dtype):
    z = np.array([[1e4, -1e4], [-1e4, 1e4]], dtype=dtype)
    y = np.array([[1.0, 1.0], [0.0, 0.0]], dtype=dtype)
    q = np.array([3.0, 3.0], dtype=dtype)
    loss, cache = LS.binary_cross_entropy_with_logits_forward(z, y, reduction="none",
                                                              pos_weight=q)
    grad = LS.binary_cross_entropy_with_logits_backward(np.ones_like(z), cache)
    _finite(loss, grad)
    np.testing.assert_allclose(loss, [[0.0, 3e4], [0.0, 1e4]], rtol=1e-6)
    np.testing.assert_allclose(grad, [[0.0, -3.0], [0.0, 1.0]], atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_on_probabilities_exactly_0_and_1(dtype):
    # PyTorch clamps log at -100 (loss 100 for a certain mistake) and the gradient's
    # denominator p (1 - p) at 1e-12; cnnlib must agree, not return inf or nan.
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0], dtype=dtype)
    loss, cache = LS.binary_cross_entropy_forward(p, y, reduction="none")
    grad = LS.binary_cross_entropy_backward(np.ones_like(p), cache)
    _finite(loss, grad)
    assert loss.dtype == grad.dtype == dtype
    want, want_grad = _torch(lambda t, yy: TF.binary_cross_entropy(t, yy, reduction="none"),
                             p, y.astype(np.float64))
    np.testing.assert_allclose(loss, want, rtol=1e-6)
    np.testing.assert_allclose(loss[:4], [100.0, 100.0, 0.0, 0.0])
    np.testing.assert_allclose(grad, want_grad, rtol=1e-6)
    assert grad[0] == pytest.approx(-1e12, rel=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_with_huge_logits(dtype, smoothing):
    z = np.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype)
    t = np.array([0, 1, 2])
    loss, cache = LS.cross_entropy_forward(z, t, reduction="none",
                                           label_smoothing=smoothing)
    grad = LS.cross_entropy_backward(np.ones(3, dtype), cache)
    _finite(loss, grad)
    assert loss.dtype == grad.dtype == dtype
    want, want_grad = _torch(lambda x, tt: TF.cross_entropy(x, tt, reduction="none",
                                                            label_smoothing=smoothing),
                             z, t)
    np.testing.assert_allclose(loss, want, rtol=1e-6)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-6, atol=1e-7)
    if smoothing == 0.0:
        np.testing.assert_allclose(loss, [0.0, 2e4, np.log(3)], rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mse_with_large_values(dtype):
    x = np.array([1e4, -1e4, 0.0], dtype=dtype)
    loss, cache = LS.mse_loss_forward(x, np.zeros(3, dtype))
    grad = LS.mse_loss_backward(1.0, cache)
    assert loss == pytest.approx(2e8 / 3) and loss.dtype == grad.dtype == dtype
    np.testing.assert_allclose(grad, [2e4 / 3, -2e4 / 3, 0.0], rtol=1e-6)


# ------------------------------------------------------------- float32 stays float32
def test_float32_is_not_promoted_by_labels_lists_or_any_dout():
    """Integer labels and lists adopt the input's float32; every dout (a Python number,
    a float32 or even a float64 array) is cast to the loss's dtype, as PyTorch's
    autograd casts a gradient to its tensor's dtype. (Float arrays of the other
    precision as target or weight are refused: see test_dtypes.py.)"""
    rng = np.random.default_rng(0)
    p = rng.uniform(0.1, 0.9, (4, 3)).astype(np.float32)
    z = rng.standard_normal((4, 3)).astype(np.float32)
    y_int = (rng.random((4, 3)) < 0.5).astype(np.int64)       # integer labels
    w_list = [1.0, 2.0, 0.5]                                  # a list of weights
    for fwd, bwd, x, kw in [
        (LS.binary_cross_entropy_forward, LS.binary_cross_entropy_backward, p,
         {"weight": w_list}),
        (LS.binary_cross_entropy_with_logits_forward,
         LS.binary_cross_entropy_with_logits_backward, z,
         {"weight": w_list, "pos_weight": w_list}),
        (LS.mse_loss_forward, LS.mse_loss_backward, z, {}),
    ]:
        loss, cache = fwd(x, y_int, **kw)
        assert np.asarray(loss).dtype == np.float32, fwd.__name__
        for dout in (1.0, np.float32(1.0), np.array(1.0)):
            assert bwd(dout, cache).dtype == np.float32, (bwd.__name__, dout)
    loss, cache = LS.cross_entropy_forward(z, np.array([0, 2, 1, 1]), w_list,
                                           label_smoothing=0.1)
    assert loss.dtype == np.float32
    assert LS.cross_entropy_backward(1.0, cache).dtype == np.float32
    probs = S.softmax(rng.standard_normal((4, 3))).astype(np.float32)
    loss, cache = LS.cross_entropy_forward(z, probs)
    assert loss.dtype == LS.cross_entropy_backward(1, cache).dtype == np.float32


# --------------------------------------------------------------- a mean over nothing
def _torch_loss(fn, x, *rest, dout=1.0, **kw):
    """PyTorch's loss and input gradient (float64), NaN-tolerant."""
    t = torch.tensor(np.asarray(x, np.float64), requires_grad=True)
    rest = [torch.tensor(np.asarray(a, np.float64 if np.asarray(a).dtype.kind == "f"
                                    else None)) for a in rest]
    out = fn(t, *rest, **kw)
    out.backward(torch.tensor(np.asarray(dout, np.float64)))
    return out.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_mean_when_every_target_is_ignored(dtype, smoothing, weighted):
    """sum over no kept target / 0: the loss is NaN, as in PyTorch, and the gradient is
    exactly zero (PyTorch's answer), not NaN, and nothing warns (the fixture makes any
    RuntimeWarning an error)."""
    z = np.random.default_rng(3).standard_normal((4, 3)).astype(dtype)
    t = np.full(4, -100)
    w = np.array([1.0, 2.0, 0.5], dtype) if weighted else None
    kw = {"label_smoothing": smoothing}
    loss, cache = LS.cross_entropy_forward(z, t, w, **kw)
    grad = LS.cross_entropy_backward(1.0, cache)
    assert np.isnan(loss) and loss.dtype == dtype
    assert grad.dtype == dtype and grad.shape == z.shape and not grad.any()
    want, want_grad = _torch_loss(TF.cross_entropy, z, t, *([] if w is None else [w]),
                                  **kw)
    assert np.isnan(want)
    np.testing.assert_array_equal(grad, want_grad)
    # ignore_index=1 on a (N, C, d) input: every position ignored, same answer
    loss, cache = LS.cross_entropy_forward(z.reshape(2, 3, 2), np.ones((2, 2), int),
                                           ignore_index=1)
    assert np.isnan(loss) and not LS.cross_entropy_backward(2.0, cache).any()


def test_cross_entropy_mean_when_the_kept_targets_weigh_nothing():
    """Kept targets whose class weights are 0: the mean is 0/0, and PyTorch's gradient
    is NaN at those rows and 0 at the ignored ones. cnnlib answers the same, without
    dividing by zero (so without warnings)."""
    z = np.random.default_rng(4).standard_normal((4, 3))
    t = np.array([0, -100, 0, -100])
    w = np.array([0.0, 1.0, 1.0])
    loss, cache = LS.cross_entropy_forward(z, t, w)
    grad = LS.cross_entropy_backward(1.0, cache)
    want, want_grad = _torch_loss(TF.cross_entropy, z, t, w)
    assert np.isnan(loss) and np.isnan(want)
    np.testing.assert_array_equal(np.isnan(grad), np.isnan(want_grad))
    assert np.isnan(grad[[0, 2]]).all() and not grad[[1, 3]].any()


LOSSES = {  # name -> (forward, backward, torch op, input maker, target maker)
    "binary_cross_entropy": (LS.binary_cross_entropy_forward,
                             LS.binary_cross_entropy_backward, TF.binary_cross_entropy,
                             lambda s: np.full(s, 0.5), lambda s: np.ones(s)),
    "binary_cross_entropy_with_logits": (
        LS.binary_cross_entropy_with_logits_forward,
        LS.binary_cross_entropy_with_logits_backward,
        TF.binary_cross_entropy_with_logits, np.zeros, np.ones),
    "mse_loss": (LS.mse_loss_forward, LS.mse_loss_backward, TF.mse_loss, np.zeros,
                 np.ones),
    "cross_entropy (indices)": (LS.cross_entropy_forward, LS.cross_entropy_backward,
                                TF.cross_entropy, np.zeros,
                                lambda s: np.zeros(s[:1], dtype=np.int64)),
    "cross_entropy (probabilities)": (LS.cross_entropy_forward, LS.cross_entropy_backward,
                                      TF.cross_entropy, np.zeros,
                                      lambda s: np.full(s, 1 / s[1])),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_on_an_empty_batch(name, reduction, dtype):
    """An empty batch: 'mean' is NaN, 'sum' is 0, 'none' is empty, as in PyTorch; the
    gradient is an empty array of the input's shape and dtype, with no warning."""
    forward, backward, torch_op, make_x, make_t = LOSSES[name]
    shape = (0, 3)
    x, t = make_x(shape).astype(dtype), make_t(shape)
    if t.dtype != np.int64:
        t = t.astype(dtype)
    loss, cache = forward(x, t, reduction=reduction)
    dout = np.ones(np.shape(loss), dtype) if reduction == "none" else 1.0
    grad = backward(dout, cache)
    assert grad.shape == shape and grad.dtype == dtype
    want, _ = _torch_loss(torch_op, x, t, reduction=reduction,
                          dout=np.ones(np.shape(loss)) if reduction == "none" else 1.0)
    assert np.shape(loss) == want.shape and np.asarray(loss).dtype == dtype
    np.testing.assert_array_equal(loss, want)          # NaN == NaN here
