"""The notes' Theta convention (bias in column 0) and its conversion to (W, b)."""
import numpy as np
import pytest

from cnnlib.models.theta import add_bias_unit, theta_to_wb, wb_to_theta


def test_theta_to_wb_splits_off_column_zero_as_bias():
    # The 3-4-1 network of chapter 2: Theta^(1) has shape 3 x (3 + 1).
    Theta = np.arange(12.0).reshape(3, 4)
    W, b = theta_to_wb(Theta)
    assert W.shape == (3, 3) and b.shape == (3,)
    np.testing.assert_array_equal(b, [0.0, 4.0, 8.0])
    np.testing.assert_array_equal(W, Theta[:, 1:])


def test_round_trip_both_ways():
    rng = np.random.default_rng(0)
    for s_next, s in [(1, 1), (1, 3), (3, 3), (4, 7)]:
        Theta = rng.normal(size=(s_next, s + 1))
        np.testing.assert_array_equal(wb_to_theta(*theta_to_wb(Theta)), Theta)
        W, b = rng.normal(size=(s_next, s)), rng.normal(size=s_next)
        W2, b2 = theta_to_wb(wb_to_theta(W, b))
        np.testing.assert_array_equal(W2, W)
        np.testing.assert_array_equal(b2, b)


def test_single_node_vector_form():
    theta = np.array([-1.0, 2.0, 3.0, 4.0])          # theta_0 .. theta_3
    w, b = theta_to_wb(theta)
    np.testing.assert_array_equal(w, [2.0, 3.0, 4.0])
    assert b.shape == () and b == -1.0
    np.testing.assert_array_equal(wb_to_theta(w, b), theta)
    np.testing.assert_array_equal(wb_to_theta(w, [-1.0]), theta)


def test_theta_z_equals_linear_with_bias_unit():
    """Theta @ [1, x] equals W x + b: the whole point of the bias unit."""
    rng = np.random.default_rng(1)
    Theta = rng.normal(size=(3, 5))
    X = rng.normal(size=(6, 4))
    W, b = theta_to_wb(Theta)
    np.testing.assert_allclose(add_bias_unit(X) @ Theta.T, X @ W.T + b, rtol=1e-12)


def test_copies_not_views():
    Theta = np.zeros((2, 3))
    W, b = theta_to_wb(Theta)
    W[:] = 1
    b[:] = 1
    assert not Theta.any()


def test_add_bias_unit_shapes_and_dtype():
    X = np.arange(6, dtype=np.float32).reshape(2, 3)
    X1 = add_bias_unit(X)
    assert X1.shape == (2, 4) and X1.dtype == np.float32
    np.testing.assert_array_equal(X1[:, 0], 1)
    np.testing.assert_array_equal(X1[:, 1:], X)
    np.testing.assert_array_equal(add_bias_unit([5, 6, 7]), [1, 5, 6, 7])
    assert add_bias_unit(np.array([[1, 2]])).dtype == np.float64   # ints become float
    assert add_bias_unit(np.zeros((0, 3))).shape == (0, 4)


def test_dtype_kept():
    Theta = np.ones((2, 3), dtype=np.float32)
    W, b = theta_to_wb(Theta)
    assert W.dtype == b.dtype == np.float32
    assert wb_to_theta(W, b).dtype == np.float32


@pytest.mark.parametrize("bad, exc, match", [
    (np.zeros((2, 3, 4)), ValueError, "Theta must be 1-D or 2-D"),
    (np.zeros(()), ValueError, "Theta must be 1-D or 2-D"),
    (np.zeros((3, 0)), ValueError, "at least one column"),
    ("theta", TypeError, "Theta must be a numeric array"),
    (np.array(["a", "b"]), TypeError, "numeric"),
])
def test_theta_to_wb_bad_input(bad, exc, match):
    with pytest.raises(exc, match=match):
        theta_to_wb(bad)


@pytest.mark.parametrize("W, b, exc, match", [
    (np.zeros((3, 2)), np.zeros(2), ValueError, r"b must have shape \(3,\)"),
    (np.zeros((3, 2)), np.zeros((3, 1)), ValueError, r"b must have shape \(3,\)"),
    (np.zeros(3), np.zeros(2), ValueError, "b must be a scalar"),
    (np.zeros((1, 2, 3)), np.zeros(1), ValueError, "W must be 1-D or 2-D"),
    (None, np.zeros(1), TypeError, "W must be a numeric array"),
    (np.zeros((3, 2)), "b", TypeError, "b must be a numeric array"),
])
def test_wb_to_theta_bad_input(W, b, exc, match):
    with pytest.raises(exc, match=match):
        wb_to_theta(W, b)


@pytest.mark.parametrize("bad, exc, match", [
    (np.zeros((2, 3, 4)), ValueError, "X must be 1-D or 2-D"),
    (3.0, ValueError, "X must be 1-D or 2-D"),
    ([[1, 2], [3]], TypeError, "X must be"),
    (np.array([1 + 2j]), TypeError, "real"),
])
def test_add_bias_unit_bad_input(bad, exc, match):
    with pytest.raises(exc, match=match):
        add_bias_unit(bad)
