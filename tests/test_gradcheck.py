"""The finite-difference gradient checker, and with it every backward pass of the core
ops (activations, softmax, linear, losses) in float64."""
import numpy as np
import pytest

from cnnlib.functional import activations as A
from cnnlib.functional import affine as L
from cnnlib.functional import losses as LS
from cnnlib.functional import probabilities as S
from cnnlib.gradcheck import (check_gradient, numerical_gradient,
                              numerical_gradient_array, rel_error)

TOL = 1e-7     # central differences in float64: the book's "gradient is right" mark
H = 1e-5


# ----------------------------------------------------------------- rel_error
def test_rel_error_is_the_largest_elementwise_relative_error():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error([1.0], [1.1]) == pytest.approx(0.1 / 2.1)
    assert rel_error([1.0, 100.0], [1.1, 100.0]) == pytest.approx(0.1 / 2.1)  # max
    assert rel_error([3.0], [-3.0]) == 1.0                    # opposite signs: worst
    assert rel_error([2.0, 5.0], [1.0, 7.0]) == rel_error([1.0, 7.0], [2.0, 5.0])


def test_rel_error_floor_keeps_tiny_values_from_dividing_by_zero():
    assert rel_error([0.0], [0.0]) == 0.0
    assert rel_error([0.0], [1e-10]) == pytest.approx(1e-10 / 1e-8)   # floor 1e-8
    assert rel_error(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0


def test_rel_error_works_in_float64_for_float32_input():
    a = np.float32(1.0) + np.float32(2 ** -23)
    assert rel_error(np.array([a]), np.array([1.0], np.float32)) == pytest.approx(
        2 ** -23 / (2 + 2 ** -23))


# ------------------------------------------------------ numerical_gradient itself
@pytest.mark.parametrize("f, df", [
    (lambda x: np.sum(x ** 3), lambda x: 3 * x ** 2),
    (lambda x: np.sum(np.sin(x)), np.cos),
    (lambda x: np.log(np.sum(np.exp(x))), lambda x: np.exp(x) / np.sum(np.exp(x))),
    (lambda x: np.prod(x), lambda x: np.prod(x) / x),
], ids=["cube", "sin", "logsumexp", "product"])
def test_numerical_gradient_matches_known_derivatives(f, df):
    x = np.random.default_rng(1).uniform(0.5, 1.5, (3, 4))
    assert rel_error(numerical_gradient(f, x.copy()), df(x)) < TOL


def test_numerical_gradient_of_a_quadratic_form():
    rng = np.random.default_rng(2)
    M, x = rng.standard_normal((5, 5)), rng.standard_normal(5)
    num = numerical_gradient(lambda v: v @ M @ v, x.copy())
    assert rel_error(num, (M + M.T) @ x) < TOL


def test_numerical_gradient_nudges_in_place_and_restores():
    # The closure ignores its argument and reads W: the pattern used for the weight
    # matrices of a network, which only works if the nudge happens in place.
    W = np.random.default_rng(3).standard_normal((2, 3))
    before = W.copy()
    grad = numerical_gradient(lambda _: np.sum(W ** 2), W)
    assert rel_error(grad, 2 * before) < TOL
    assert np.array_equal(W, before)                         # restored bit for bit


def test_numerical_gradient_of_a_list_returns_float64():
    grad = numerical_gradient(lambda v: float(v @ v), [1, 2, 3])
    assert grad.dtype == np.float64 and rel_error(grad, [2.0, 4.0, 6.0]) < TOL


def test_numerical_gradient_array_is_a_vector_jacobian_product():
    rng = np.random.default_rng(4)
    M, x, d = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(4)
    assert rel_error(numerical_gradient_array(lambda v: M @ v, x, d), M.T @ d) < TOL


def test_check_gradient_tells_right_from_wrong():
    x = np.random.default_rng(5).standard_normal(6)
    f = lambda v: np.sum(np.tanh(v))                          # noqa: E731
    assert check_gradient(f, lambda v: 1 - np.tanh(v) ** 2, x) < TOL
    assert check_gradient(f, lambda v: 1 - np.tanh(v), x) > 1e-2          # wrong
    assert check_gradient(f, lambda v: (1 - np.tanh(v) ** 2) * 1.001, x) > 1e-4


# ------------------------------------------------- every backward pass, float64
def _check_vjp(forward, backward, x, dout_shape=None, seed=0):
    """Compare backward(dout, cache) with the numerical vector-Jacobian product."""
    rng = np.random.default_rng(seed)
    out, cache = forward(x.copy())
    dout = rng.standard_normal(np.shape(out) if dout_shape is None else dout_shape)
    analytic = backward(dout, cache)
    numeric = numerical_gradient_array(lambda v: forward(v)[0], x.copy(), dout, h=H)
    return rel_error(analytic, numeric)


# Fixed data (drawn once, at import, so that no test depends on the order of others).
RNG = np.random.default_rng(42)
Z = RNG.uniform(-3, 3, (4, 5))
Z3 = RNG.standard_normal((3, 4, 2))
P = RNG.uniform(0.1, 0.9, (4, 3))
Y = RNG.uniform(0, 1, (4, 3))
W_COL = RNG.uniform(0.5, 2, (3,))
W_ROW = RNG.uniform(0.5, 2, (4, 1))
W_FULL = RNG.uniform(0.5, 2, (4, 3))
PROBS = S.softmax(RNG.standard_normal((4, 5)))
Z_SPATIAL = RNG.standard_normal((2, 5, 3))
Z_AWAY = np.where(Z >= 0, Z + 0.1, Z - 0.1)     # no ReLU kink within reach of h


@pytest.mark.parametrize("name, z", [("sigmoid", Z), ("relu", Z_AWAY), ("tanh", Z),
                                     ("arctan", 3 * Z)])
def test_activation_backward(name, z):
    fwd, bwd = getattr(A, name + "_forward"), getattr(A, name + "_backward")
    assert _check_vjp(fwd, bwd, z) < TOL


@pytest.mark.parametrize("slope", [0.01, 0.2])
def test_leaky_relu_backward(slope):
    assert _check_vjp(lambda v: A.leaky_relu_forward(v, slope), A.leaky_relu_backward,
                      Z_AWAY) < TOL


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_backward(name, dim):
    fwd, bwd = getattr(S, name + "_forward"), getattr(S, name + "_backward")
    assert _check_vjp(lambda v: fwd(v, dim), bwd, Z3) < TOL


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("lead", [(), (5,), (2, 3)])
def test_linear_backward_for_every_argument(lead, with_bias):
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal(lead + (4,)), rng.standard_normal((3, 4)), \
        rng.standard_normal(3)
    bias = b if with_bias else None
    out, cache = L.linear_forward(x, w, bias)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = L.linear_backward(dout, cache)
    assert rel_error(dx, numerical_gradient_array(lambda v: L.linear(v, w, bias),
                                                  x.copy(), dout, h=H)) < TOL
    assert rel_error(dw, numerical_gradient_array(lambda v: L.linear(x, v, bias),
                                                  w.copy(), dout, h=H)) < TOL
    if with_bias:
        assert rel_error(db, numerical_gradient_array(lambda v: L.linear(x, w, v),
                                                      b.copy(), dout, h=H)) < TOL
    else:
        assert db is None


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_backward(reduction, weighted):
    w = W_COL if weighted else None
    fwd = lambda v: LS.binary_cross_entropy_forward(v, Y, w, reduction=reduction)  # noqa
    assert _check_vjp(fwd, LS.binary_cross_entropy_backward, P) < TOL


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pos_weight", [None, np.array([0.5, 2.0, 3.0])])
def test_binary_cross_entropy_with_logits_backward(reduction, pos_weight):
    w = W_ROW
    fwd = lambda v: LS.binary_cross_entropy_with_logits_forward(  # noqa: E731
        v, Y, w, reduction=reduction, pos_weight=pos_weight)
    assert _check_vjp(fwd, LS.binary_cross_entropy_with_logits_backward, Z[:, :3]) < TOL


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [
    {}, {"label_smoothing": 0.2}, {"weight": np.array([0.5, 1.0, 2.0, 1.5, 0.7])},
    {"weight": np.array([0.5, 1.0, 2.0, 1.5, 0.7]), "label_smoothing": 0.1,
     "ignore_index": 4},
], ids=["plain", "smoothing", "weight", "weight+smoothing+ignore"])
@pytest.mark.parametrize("targets", ["indices", "probabilities", "spatial"])
def test_cross_entropy_backward(reduction, options, targets):
    options = dict(options)
    weight = options.pop("weight", None)
    if targets == "indices":
        z, t = Z, np.array([1, 4, 0, 3])
    elif targets == "probabilities":
        options.pop("ignore_index", None)
        z, t = Z, PROBS
    else:                                       # (N, C, d) logits, (N, d) targets
        z, t = Z_SPATIAL, np.array([[0, 4, 2], [1, 1, 3]])
    fwd = lambda v: LS.cross_entropy_forward(  # noqa: E731
        v, t, weight, reduction=reduction, **options)
    assert _check_vjp(fwd, LS.cross_entropy_backward, z) < TOL


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_mse_loss_backward(reduction, weighted):
    w = W_FULL if weighted else None
    fwd = lambda v: LS.mse_loss_forward(v, Y, reduction=reduction, weight=w)  # noqa
    assert _check_vjp(fwd, LS.mse_loss_backward, Z[:, :3]) < TOL


def test_every_core_backward_is_gradient_checked_here():
    tested = {"sigmoid", "relu", "tanh", "arctan", "leaky_relu", "softmax",
              "log_softmax", "linear", "binary_cross_entropy",
              "binary_cross_entropy_with_logits", "cross_entropy", "mse_loss"}
    backwards = {name[:-len("_backward")] for module in (A, S, L, LS)
                 for name in module.__all__ if name.endswith("_backward")}
    assert backwards == tested
