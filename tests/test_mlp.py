"""The lecture notes' network (cnnlib.models.mlp): forward propagation written out by hand,
backpropagation against finite differences and against PyTorch's autograd, and the
same network built from layer objects."""
import numpy as np
import pytest
import torch

import cnnlib.nn as L
from cnnlib.models import mlp
from cnnlib.gradcheck import rel_error
from cnnlib.models.theta import theta_to_wb


def g(z):
    return 1 / (1 + np.exp(-z))


def random_problem(seed, sizes=None, m=6):
    rng = np.random.default_rng(seed)
    if sizes is None:
        sizes = [int(s) for s in rng.integers(1, 5, size=rng.integers(2, 5))]
    Thetas = mlp.init_thetas(sizes, rng)
    X = rng.normal(size=(m, sizes[0]))
    Y = (rng.random((m, sizes[-1])) > 0.5).astype(float)
    return Thetas, X, Y


def test_init_thetas_shapes_range_and_seed():
    Thetas = mlp.init_thetas([3, 3, 1], rng=0)
    assert [T.shape for T in Thetas] == [(3, 4), (1, 4)]   # the notes' R^{3x4}, R^{1x4}
    eps = np.sqrt(6 / (3 + 3))
    assert np.abs(Thetas[0]).max() <= eps and np.ptp(Thetas[0]) > 0
    again = mlp.init_thetas([3, 3, 1], rng=0)
    assert all(np.array_equal(a, b) for a, b in zip(Thetas, again))
    small = mlp.init_thetas([5, 4, 3, 2], rng=1, scale=0.01)
    assert [T.shape for T in small] == [(4, 6), (3, 5), (2, 4)]
    assert max(np.abs(T).max() for T in small) <= 0.01


def test_forward_propagation_equals_the_four_equations_of_the_notes():
    rng = np.random.default_rng(0)
    T1, T2 = mlp.init_thetas([3, 3, 1], rng)
    x = rng.normal(size=3)
    x0, x1, x2, x3 = 1.0, *x
    a2 = [g(T1[i, 0] * x0 + T1[i, 1] * x1 + T1[i, 2] * x2 + T1[i, 3] * x3)
          for i in range(3)]
    h = g(T2[0, 0] * 1.0 + T2[0, 1] * a2[0] + T2[0, 2] * a2[1] + T2[0, 3] * a2[2])
    a_list, z_list = mlp.forward_propagation([T1, T2], x[None, :])
    assert len(a_list) == len(z_list) == 3 and z_list[0] is None
    np.testing.assert_array_equal(a_list[0], x[None, :])
    np.testing.assert_allclose(a_list[1][0], a2, rtol=1e-14)
    np.testing.assert_allclose(a_list[2][0, 0], h, rtol=1e-14)
    np.testing.assert_allclose(g(z_list[2]), a_list[2], rtol=1e-14)
    assert mlp.hypothesis([T1, T2], x[None, :]).shape == (1, 1)


def test_forward_propagation_is_row_by_row():
    Thetas, X, _ = random_problem(1, [4, 5, 3, 2], m=7)
    H = mlp.hypothesis(Thetas, X)
    for i in range(len(X)):
        np.testing.assert_allclose(H[i], mlp.hypothesis(Thetas, X[i:i + 1])[0], rtol=1e-14)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("lam", [0.0, 0.7])
def test_backpropagation_passes_the_gradient_check(seed, lam):
    Thetas, X, Y = random_problem(seed)
    J, grads = mlp.backpropagation(Thetas, X, Y, lam)
    num = mlp.numerical_gradients(Thetas, X, Y, lam)
    assert J == pytest.approx(mlp.cost_function(Thetas, X, Y, lam), rel=1e-14)
    a = np.concatenate([G.ravel() for G in grads])
    b = np.concatenate([G.ravel() for G in num])
    # Central differences with h = 1e-5 are accurate to about h^2 ~ 1e-10 relative to
    # the gradient's size; entry by entry (CS231n's measure, floored at 1e-8) tiny
    # entries look worse, so the entrywise bound is looser.
    assert np.linalg.norm(a - b) / np.linalg.norm(a + b) < 1e-8
    assert rel_error(a, b) < 1e-6


@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_backpropagation_matches_torch_autograd(lam):
    Thetas, X, Y = random_problem(3, [4, 6, 5, 3], m=9)
    J, grads = mlp.backpropagation(Thetas, X, Y, lam)
    Tt = [torch.tensor(T, requires_grad=True) for T in Thetas]
    a = torch.tensor(X)
    for T in Tt:
        z = torch.cat([torch.ones(len(a), 1, dtype=a.dtype), a], 1) @ T.T
        a = torch.sigmoid(z)
    m = len(X)
    Jt = torch.nn.functional.binary_cross_entropy_with_logits(
        z, torch.tensor(Y), reduction="sum") / m
    Jt = Jt + lam / (2 * m) * sum((T[:, 1:] ** 2).sum() for T in Tt)
    Jt.backward()
    assert J == pytest.approx(Jt.item(), rel=1e-12)
    for G, T in zip(grads, Tt):
        assert np.max(np.abs(G - T.grad.numpy())) <= 1e-10 * np.abs(T.grad.numpy()).max()


def test_single_layer_is_logistic_regression():
    Thetas, X, Y = random_problem(5, [3, 1])
    J, (G,) = mlp.backpropagation(Thetas, X, Y[:, 0])          # Y of shape (m,) is fine
    p = g(np.c_[np.ones(len(X)), X] @ Thetas[0][0])
    np.testing.assert_allclose(G[0], np.c_[np.ones(len(X)), X].T @ (p - Y[:, 0]) / len(X),
                               rtol=1e-12)


def test_cost_is_finite_for_saturated_units():
    Thetas = [np.array([[0.0, 1e4]])]
    X = np.array([[1.0], [-1.0]])
    J = mlp.cost_function(Thetas, X, np.array([0.0, 1.0]))   # both confidently wrong
    assert J == pytest.approx(1e4, rel=1e-12)


def test_layers_network_equals_theta_network():
    Thetas, X, Y = random_problem(7, [4, 5, 3], m=8)
    net = mlp.to_sequential(Thetas)
    np.testing.assert_array_equal(net(X), mlp.hypothesis(Thetas, X))
    # The same weights put in by hand through theta_to_wb give the same outputs.
    hand = L.Sequential(L.Linear(4, 5), L.Sigmoid(), L.Linear(5, 3), L.Sigmoid())
    for lin, T in zip([hand[0], hand[2]], Thetas):
        W, b = theta_to_wb(T)
        lin.params["weight"][...] = W
        lin.params["bias"][...] = b
    np.testing.assert_array_equal(hand(X), mlp.hypothesis(Thetas, X))
    # And backward through the layers with the same cost gives backpropagation's grads
    # (delta^(L) = a^(L) - y is dJ/dz^(L), so start the layer backward below the last
    # sigmoid).
    _, grads = mlp.backpropagation(Thetas, X, Y)
    out = net[:-1](X)
    net[:-1].backward((net[-1](out) - Y) / len(X))
    for lin, G in zip([net[0], net[2]], grads):
        W, b = theta_to_wb(G)
        np.testing.assert_allclose(lin.grads["weight"], W, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(lin.grads["bias"], b, rtol=1e-12, atol=1e-15)


def test_gradient_descent_learns_xor_with_two_hidden_units():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([0, 1, 1, 0], float)
    Thetas0 = mlp.init_thetas([2, 2, 1], rng=0)
    Thetas, history = mlp.gradient_descent(Thetas0, X, y, lr=2.0, epochs=1500)
    costs = history["loss"]
    assert len(history) == len(costs) == 1500 and costs[-1] < 0.05 < costs[0]
    assert np.array_equal(mlp.hypothesis(Thetas, X)[:, 0] > 0.5, y > 0.5)
    assert not np.array_equal(Thetas0[0], Thetas[0])        # inputs were not modified
    assert np.array_equal(Thetas0[0], mlp.init_thetas([2, 2, 1], rng=0)[0])


# ------------------------------------------------------------------------ bad inputs
def test_init_thetas_rejects_bad_arguments():
    with pytest.raises(ValueError, match="two layers"):
        mlp.init_thetas([3])
    with pytest.raises(ValueError, match=r"layer_sizes\[1\]"):
        mlp.init_thetas([3, 0, 1])
    with pytest.raises(TypeError, match=r"layer_sizes\[0\]"):
        mlp.init_thetas([3.0, 2])
    with pytest.raises(TypeError, match="layer_sizes"):
        mlp.init_thetas(5)
    with pytest.raises(ValueError, match="scale"):
        mlp.init_thetas([2, 1], scale=0)
    with pytest.raises(TypeError, match="scale"):
        mlp.init_thetas([2, 1], scale="big")
    with pytest.raises(TypeError, match="rng"):
        mlp.init_thetas([2, 1], rng=1.5)


@pytest.mark.parametrize("fn", [mlp.forward_propagation, mlp.hypothesis])
def test_forward_rejects_bad_thetas_and_X(fn):
    Thetas = mlp.init_thetas([3, 3, 1], rng=0)
    with pytest.raises(TypeError, match="list"):
        fn(Thetas[0], np.ones((2, 3)))
    with pytest.raises(ValueError, match="at least one"):
        fn([], np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Theta\^\(2\).*4 columns.*\(1, 3\)"):
        fn([Thetas[0], np.ones((1, 3))], np.ones((2, 3)))
    with pytest.raises(ValueError, match="2-D"):
        fn([np.ones(4)], np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"X must have shape \(m, 3\).*\(2, 4\)"):
        fn(Thetas, np.ones((2, 4)))
    with pytest.raises(ValueError, match="X must be 2-D"):
        fn(Thetas, np.ones(3))
    with pytest.raises(TypeError, match="X"):
        fn(Thetas, "x")


@pytest.mark.parametrize("fn", [mlp.backpropagation, mlp.cost_function,
                                mlp.numerical_gradients, mlp.gradient_descent])
def test_training_functions_reject_bad_targets_and_lambda(fn):
    Thetas = mlp.init_thetas([3, 3, 2], rng=0)
    X = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"Y must have shape \(4, 2\).*\(4,\)"):
        fn(Thetas, X, np.ones(4))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fn(Thetas, X, np.full((4, 2), 2.0))
    with pytest.raises(ValueError, match="finite"):
        fn(Thetas, X, np.full((4, 2), np.nan))
    with pytest.raises(ValueError, match="lam"):
        fn(Thetas, X, np.ones((4, 2)), lam=-1.0)
    with pytest.raises(TypeError, match="lam"):
        fn(Thetas, X, np.ones((4, 2)), lam="0")


def test_gradient_descent_rejects_bad_step():
    Thetas = mlp.init_thetas([2, 1], rng=0)
    with pytest.raises(ValueError, match="lr"):
        mlp.gradient_descent(Thetas, np.ones((3, 2)), np.ones(3), lr=0)
    with pytest.raises(ValueError, match="epochs"):
        mlp.gradient_descent(Thetas, np.ones((3, 2)), np.ones(3), epochs=0)
    with pytest.raises(TypeError, match="list"):
        mlp.to_sequential(np.ones((1, 3)))
