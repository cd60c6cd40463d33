"""Checks for the exercises of chapter 2, neural networks
(``solutions/02_neural_networks.ipynb``).

Each check runs the student's function on the chapter's 3-3-1 network and on random
networks of other shapes (one example, one layer, several outputs), against
:mod:`cnnlib.models.mlp` and PyTorch's autograd.
"""
from __future__ import annotations

import numpy as np

from cnnlib.checks import Case, check_function, check_rng, exercise, verdict

__all__ = ["check_h_theta", "check_forward_propagation", "check_backprop_one_hidden",
           "check_numerical_gradient", "check_xor"]

# The chapter's worked example (section 2.2): h_Theta(x) = 0.5883 for these numbers.
THETA1 = np.array([[-1.0, 2.0, 0.5, -1.0], [0.5, -1.0, 1.0, 2.0], [0.0, 1.0, -2.0, 1.0]])
THETA2 = np.array([[-1.0, 2.0, -1.5, 1.0]])
X_EXAMPLE = np.array([1.0, 2.0, -1.0])


def _net(sizes, m, rng, scale=None):
    """Random Thetas for layer sizes ``sizes``, a batch X (m, s_1) and 0/1 targets."""
    from cnnlib.models.mlp import init_thetas
    Thetas = init_thetas(sizes, rng, scale=scale)
    X = rng.normal(size=(m, sizes[0]))
    Y = (rng.random((m, sizes[-1])) < 0.5).astype(float)
    return Thetas, X, Y


def _is_number(result) -> str | None:
    if np.ndim(result) != 0:
        return (f"return h_Theta(x) as a single number (shape ()), got shape "
                f"{np.shape(result)}: for a 1 x 1 array h use h[0, 0] or float(...)")
    return None


# -------------------------------------------------------- 2.1 the four equations
@exercise("2.1", "Forward propagation of the 3-3-1 network")
def check_h_theta(h_theta):
    """``h_theta(Theta1, Theta2, x)``: h_Theta(x) for one example x of shape (3,),
    Theta1 (3, 4), Theta2 (1, 4), bias in column 0; returns a number."""
    from cnnlib.models.mlp import hypothesis

    def reference(T1, T2, x):
        return float(hypothesis([T1, T2], np.asarray(x)[None, :])[0, 0])

    rng = check_rng(201)
    bias_hint = ("every layer gets a bias unit equal to 1 in front: z_i = Theta[i, 0] * 1 "
                 "+ Theta[i, 1] * x_1 + ... (and the output unit reads a_0^(2) = 1 too)")
    T1, T2 = rng.normal(size=(3, 4)), rng.normal(size=(1, 4))
    return check_function(h_theta, [
        Case("the chapter's example (h = 0.5883)", (THETA1, THETA2, X_EXAMPLE),
             expected=reference, rtol=1e-10, check=_is_number,
             hint="return h as a single number (e.g. float(h[0])); " + bias_hint),
        Case("all weights zero gives g(0) = 1/2", (np.zeros((3, 4)), np.zeros((1, 4)),
                                                   np.array([5.0, -2.0, 7.0])),
             expected=0.5),
        Case("only the biases matter when x = 0", (T1, T2, np.zeros(3)),
             expected=reference, rtol=1e-10, hint=bias_hint),
        Case("random weights and input", (T1, T2, rng.normal(size=3)),
             expected=reference, rtol=1e-10,
             hint="row i of Theta1 holds the weights *into* hidden unit i; the output "
                  "unit applies the sigmoid too"),
        Case("another random network", (rng.normal(size=(3, 4)), rng.normal(size=(1, 4)),
                                        rng.normal(size=3)),
             expected=reference, rtol=1e-10),
    ])


# ----------------------------------------------------- 2.2 vectorised forward
@exercise("2.2", "Vectorised forward propagation")
def check_forward_propagation(forward_propagation):
    """``forward_propagation(Thetas, X)``: list of the activations [a^(1) = X, a^(2),
    ..., a^(L)] of shapes (m, s_l), without bias columns."""
    from cnnlib.models.mlp import forward_propagation as reference_fp

    def reference(Thetas, X):
        return reference_fp(Thetas, X)[0]

    rng = check_rng(202)
    list_hint = ("return a list that starts with X itself and has one (m, s_l) array per "
                 "layer, without the bias column")
    cases = [Case("the chapter's example as a batch of one",
                  ([THETA1, THETA2], X_EXAMPLE[None, :]), expected=reference, rtol=1e-10,
                  hint=list_hint)]
    for name, sizes, m in [("3-3-1 network, 5 examples", [3, 3, 1], 5),
                           ("5-4-3-2 network (two hidden layers)", [5, 4, 3, 2], 7),
                           ("no hidden layer (logistic regression)", [4, 1], 6),
                           ("a deep narrow network", [2, 3, 3, 3, 3, 1], 4),
                           ("many outputs, one example", [6, 5, 10], 1)]:
        Thetas, X, _ = _net(sizes, m, rng, scale=2.0)
        cases.append(Case(name, (Thetas, X), expected=reference, rtol=1e-10,
                          hint="for a batch X of shape (m, s_l): Z = A1 @ Theta.T, where "
                               "A1 is the activations with a column of ones in front "
                               "(the bias unit)"))
    return check_function(forward_propagation, cases)


# ------------------------------------------------------- 2.3 backpropagation
def _reference_backprop(T1, T2, X, Y):
    from cnnlib.models.mlp import backpropagation
    J, (G1, G2) = backpropagation([T1, T2], X, Y)
    return J, G1, G2


def _torch_backprop(T1, T2, X, Y):
    import torch
    t1 = torch.tensor(T1, requires_grad=True)
    t2 = torch.tensor(T2, requires_grad=True)
    x = torch.tensor(X)
    ones = torch.ones(len(X), 1, dtype=torch.float64)
    a2 = torch.sigmoid(torch.cat([ones, x], 1) @ t1.T)
    z3 = torch.cat([ones, a2], 1) @ t2.T
    J = torch.nn.functional.binary_cross_entropy_with_logits(
        z3, torch.tensor(Y), reduction="sum") / len(X)
    J.backward()
    return J.item(), t1.grad.numpy(), t2.grad.numpy()


@exercise("2.3", "Backpropagation for one hidden layer")
def check_backprop_one_hidden(backprop_one_hidden):
    """``backprop_one_hidden(Theta1, Theta2, X, Y)`` -> ``(J, grad1, grad2)``: the mean
    cross-entropy over examples (summed over output units) and its gradients."""
    rng = check_rng(203)
    delta_hint = ("delta3 = a3 - Y; delta2 = (delta3 @ Theta2)[:, 1:] * a2 * (1 - a2); "
                  "grad2 = delta3.T @ [1, a2] / m and grad1 = delta2.T @ [1, X] / m")
    cases = []
    for name, sizes, m in [("3-3-1 network, 5 examples", [3, 3, 1], 5),
                           ("4-5-3 network (three output units)", [4, 5, 3], 8),
                           ("a batch of one example", [3, 2, 2], 1),
                           ("2-6-1 network, 20 examples", [2, 6, 1], 20)]:
        (T1, T2), X, Y = _net(sizes, m, rng)
        cases.append(Case(name, (T1, T2, X, Y), expected=_reference_backprop, rtol=1e-8,
                          atol=1e-12, hint=delta_hint))
    (T1, T2), X, Y = _net([3, 4, 2], 6, rng)
    cases.append(Case("agrees with PyTorch autograd", (T1, T2, X, Y),
                      expected=_torch_backprop, rtol=1e-8, atol=1e-12,
                      hint="average over the m examples (divide by m) but sum over the "
                           "output units"))
    return check_function(backprop_one_hidden, cases)


# ------------------------------------------------------- 2.4 gradient checking
def _reference_numerical(f, theta, h=1e-5):
    from cnnlib.gradcheck import numerical_gradient
    return numerical_gradient(f, np.array(theta, dtype=np.float64, copy=True), h)


def _quadratic(theta):
    return float(np.sum(theta ** 2))


def _wavy(theta):
    return float(np.sum(np.sin(theta) * np.arange(1, theta.size + 1).reshape(theta.shape)))


def _net_cost_of_theta1():
    """J as a function of Theta^(1) alone, for a fixed 3-3-1 network and batch."""
    from cnnlib.models.mlp import cost_function
    rng = check_rng(2041)
    (T1, T2), X, Y = _net([3, 3, 1], 6, rng)

    def cost(theta1):
        return cost_function([theta1, T2], X, Y)
    return cost, T1


@exercise("2.4", "A numerical gradient")
def check_numerical_gradient(numerical_gradient):
    """``numerical_gradient(f, theta, h=1e-5)``: central differences
    (f(theta + h e_i) - f(theta - h e_i)) / 2h for every entry of theta (any shape);
    theta is left unchanged."""
    rng = check_rng(204)
    cost, T1 = _net_cost_of_theta1()
    central_hint = ("use the central difference (f(theta + h e_i) - f(theta - h e_i)) / (2h) "
                    "for each entry; work on a float copy so theta is left unchanged")

    cases = [
        Case("f = sum of squares, gradient 2 theta", (_quadratic, np.array([1.0, -2.0, 3.0])),
             expected=np.array([2.0, -4.0, 6.0]), rtol=1e-7, hint=central_hint),
        Case("f = sum_i i sin(theta_i)", (_wavy, rng.normal(size=5)),
             expected=_reference_numerical, rtol=1e-7, hint=central_hint),
        Case("a 2-D theta keeps its shape", (_wavy, rng.normal(size=(3, 4))),
             expected=_reference_numerical, rtol=1e-7,
             hint="loop over every index of theta (np.ndindex(theta.shape)) and return "
                  "an array of theta's shape"),
        Case("the cost of a 3-3-1 network as a function of Theta^(1)", (cost, T1),
             expected=_reference_numerical, rtol=1e-6, atol=1e-10, hint=central_hint),
        Case("a larger step h = 1e-3", (_wavy, rng.normal(size=4)),
             kwargs={"h": 1e-3}, expected=_reference_numerical, rtol=1e-7,
             hint="use the h you are given"),
    ]
    v = check_function(numerical_gradient, cases)
    if not v.passed:
        return v
    # theta must come back unchanged (a nudge left behind corrupts the caller's weights)
    theta = rng.normal(size=(2, 3))
    before = theta.copy()
    numerical_gradient(_wavy, theta)
    if not np.array_equal(theta, before):
        return verdict(False, "theta was changed by your function: restore every entry "
                              "after nudging it (or nudge a copy)")
    return v


# ------------------------------------------------------------------------ 2.5 XOR
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])


@exercise("2.5", "A network that learns XOR")
def check_xor(Thetas):
    """``Thetas``: a trained network in the chapter's notation (list of Theta matrices,
    2 inputs, 1 output, at least one hidden layer) whose outputs on the four XOR
    inputs are all within 0.1 of the targets 0, 1, 1, 0."""
    from cnnlib.models.mlp import hypothesis

    if Thetas is None:       # the notebook's placeholder: nothing trained yet
        raise NotImplementedError("Exercise 2.5: train a network and store its Thetas")
    if not isinstance(Thetas, (list, tuple)) or not all(
            isinstance(T, np.ndarray) and T.ndim == 2 for T in Thetas):
        return verdict(False, f"Thetas must be a list of 2-D arrays (one per layer), got "
                              f"{type(Thetas).__name__}")
    if len(Thetas) < 2:
        return verdict(False, "the network has no hidden layer: a single logistic unit "
                              "cannot learn XOR (use layer sizes like [2, 2, 1])")
    try:
        h = hypothesis(list(Thetas), XOR_X)
    except (ValueError, TypeError) as exc:
        return verdict(False, f"these Thetas do not form a network with 2 inputs: {exc}")
    if h.shape != (4, 1):
        return verdict(False, f"the network must have one output unit, it has "
                              f"{h.shape[1]}")
    h = h[:, 0]
    worst = float(np.max(np.abs(h - XOR_Y)))
    shown = ", ".join(f"{v:.3f}" for v in h)
    text = (f"outputs on (0,0), (0,1), (1,0), (1,1): {shown}; largest distance from the "
            f"targets 0, 1, 1, 0 is {worst:.3f} (at most 0.1 needed)")
    if worst <= 0.1:
        return verdict(True, text)
    hint = ("train longer or with a larger learning rate; if the cost is stuck near "
            "0.35-0.69, this start fell into a poor local minimum: try another seed or "
            "more hidden units")
    return verdict(False, f"{text}. Hint: {hint}")
