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
def test_float32_is_not_promoted_by_targets_weights_or_a_python_dout():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.1, 0.9, (4, 3)).astype(np.float32)
    z = rng.standard_normal((4, 3)).astype(np.float32)
    y_int = (rng.random((4, 3)) < 0.5).astype(np.int64)       # integer labels
    w64 = np.ones(3)                                          # float64 weights
    for fwd, bwd, x, kw in [
        (LS.binary_cross_entropy_forward, LS.binary_cross_entropy_backward, p,
         {"weight": w64}),
        (LS.binary_cross_entropy_with_logits_forward,
         LS.binary_cross_entropy_with_logits_backward, z,
         {"weight": w64, "pos_weight": w64}),
        (LS.mse_loss_forward, LS.mse_loss_backward, z, {}),
    ]:
        loss, cache = fwd(x, y_int, **kw)
        assert np.asarray(loss).dtype == np.float32, fwd.__name__
        assert bwd(1.0, cache).dtype == np.float32, bwd.__name__
        assert bwd(np.float32(1.0), cache).dtype == np.float32
        # An explicit float64 array as dout follows NumPy's promotion rules.
        assert bwd(np.array(1.0), cache).dtype == np.float64
    loss, cache = LS.cross_entropy_forward(z, np.array([0, 2, 1, 1]), w64,
                                           label_smoothing=0.1)
    assert loss.dtype == np.float32
    assert LS.cross_entropy_backward(1.0, cache).dtype == np.float32
    probs = S.softmax(rng.standard_normal((4, 3)))                  # float64 target
    loss, cache = LS.cross_entropy_forward(z, probs)
    assert loss.dtype == LS.cross_entropy_backward(1, cache).dtype == np.float32
