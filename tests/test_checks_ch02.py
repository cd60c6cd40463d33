"""The checks of chapter 2 (cnnlib.checks.ch02): right answers pass, the typical wrong
ones fail on the case meant to catch them, with a useful message, and no traceback."""
import numpy as np
import pytest

from cnnlib.models import mlp
from cnnlib.checks import ch02, exercises_for_notebook


def g(z):
    return 1 / (1 + np.exp(-z))


def with_ones(A):
    return np.hstack([np.ones((len(A), 1)), A])


# ------------------------------------------------------------- right answers
def h_theta(T1, T2, x):
    a2 = g(T1 @ np.r_[1.0, x])
    return float(g(T2 @ np.r_[1.0, a2])[0])


def forward_propagation(Thetas, X):
    acts = [X]
    for T in Thetas:
        acts.append(g(with_ones(acts[-1]) @ T.T))
    return acts


def backprop_one_hidden(T1, T2, X, Y, *, g_prime=True):
    m = len(X)
    A1 = with_ones(X)
    a2 = g(A1 @ T1.T)
    A2 = with_ones(a2)
    a3 = g(A2 @ T2.T)
    J = -np.sum(Y * np.log(a3) + (1 - Y) * np.log(1 - a3)) / m
    d3 = a3 - Y
    d2 = (d3 @ T2)[:, 1:] * (a2 * (1 - a2) if g_prime else 1)
    return J, d2.T @ A1 / m, d3.T @ A2 / m


def numerical_gradient(f, theta, h=1e-5, *, central=True, restore=True):
    work = np.array(theta, dtype=float) if restore else theta
    grad = np.zeros(np.shape(theta))
    for i in np.ndindex(grad.shape):
        old = work[i]
        work[i] = old + h
        fp = f(work)
        work[i] = old - h if central else old
        fm = f(work)
        if restore:
            work[i] = old
        grad[i] = (fp - fm) / (2 * h if central else h)
    return grad


RIGHT = [(ch02.check_h_theta, h_theta, 5),
         (ch02.check_forward_propagation, forward_propagation, 6),
         (ch02.check_backprop_one_hidden, backprop_one_hidden, 5),
         (ch02.check_numerical_gradient, numerical_gradient, 5)]


@pytest.mark.parametrize("check, answer, cases", RIGHT,
                         ids=lambda v: getattr(v, "__name__", ""))
def test_right_answers_pass(check, answer, cases, capsys):
    assert check(answer)
    out = capsys.readouterr().out
    assert out.startswith("✅ Exercise 2.") and f"all {cases} cases passed" in out


def test_a_trained_xor_network_passes(capsys):
    Thetas, _ = mlp.gradient_descent(mlp.init_thetas([2, 4, 1], rng=0), ch02.XOR_X,
                                     ch02.XOR_Y, lr=2.0, epochs=1000)
    assert ch02.check_xor(Thetas)
    assert "✅ Exercise 2.5" in capsys.readouterr().out


# ------------------------------------------------------------- wrong answers
def h_without_bias(T1, T2, x):
    return float(g(T2[:, 1:] @ g(T1[:, 1:] @ x))[0])


def h_as_array(T1, T2, x):
    return g(T2 @ np.r_[1.0, g(T1 @ np.r_[1.0, x])])


def forward_without_input(Thetas, X):
    return forward_propagation(Thetas, X)[1:]


WRONG = [
    (ch02.check_h_theta, h_without_bias, "bias unit"),
    (ch02.check_h_theta, h_as_array, "wrong shape"),
    (ch02.check_forward_propagation, forward_without_input, "expected 3 values, got 2"),
    (ch02.check_backprop_one_hidden,
     lambda T1, T2, X, Y: backprop_one_hidden(T1, T2, X, Y, g_prime=False),
     "a2 * (1 - a2)"),
    (ch02.check_backprop_one_hidden,
     lambda T1, T2, X, Y: backprop_one_hidden(T1, T2, X, Y)[1:], "expected 3 values"),
    (ch02.check_numerical_gradient,
     lambda f, t, h=1e-5: numerical_gradient(f, t, h, central=False), "central"),
    (ch02.check_numerical_gradient,
     lambda f, t, h=1e-5: numerical_gradient(f, t, h, restore=False), "changed"),
    (ch02.check_numerical_gradient,                       # ignores the h it is given
     lambda f, t, h=1e-5: numerical_gradient(f, t), "use the h you are given"),
]


@pytest.mark.parametrize("check, answer, message", WRONG)
def test_wrong_answers_fail_with_a_useful_message(check, answer, message, capsys):
    assert not check(answer)
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 2.") and message in out
    assert "Traceback" not in out


def test_stubs_and_broken_code_are_reported_not_raised(capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError("Exercise 2.1: replace this line with your code")

    assert not ch02.check_h_theta(stub)
    assert "not implemented yet" in capsys.readouterr().out
    assert not ch02.check_forward_propagation(lambda Thetas, X: X @ Thetas)
    out = capsys.readouterr().out
    assert "raised" in out and "Traceback" not in out
    assert not ch02.check_xor(None)
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("Thetas, message", [
    (mlp.init_thetas([2, 1], rng=0), "no hidden layer"),
    (mlp.init_thetas([2, 2, 1], rng=0), "at most 0.1 needed"),
    (mlp.init_thetas([3, 2, 1], rng=0), "2 inputs"),
    (mlp.init_thetas([2, 2, 2], rng=0), "one output unit"),
    ("Thetas", "list of 2-D arrays"),
])
def test_xor_check_explains_what_is_wrong(Thetas, message, capsys):
    assert not ch02.check_xor(Thetas)
    assert message in capsys.readouterr().out


def test_the_notebook_has_every_exercise():
    ids = [info.id for info in exercises_for_notebook("solutions/02_neural_networks.ipynb")]
    assert ids == ["2.1", "2.2", "2.3", "2.4", "2.5"]
