"""Checks for the exercises of chapter 3, many classes
(``solutions/03_one_vs_rest.ipynb``).

Each check runs the student's function on several cases (the chapter's vehicle
example, random shapes, edge cases such as logits of size 1e4, float32) against cnnlib
and PyTorch.
"""
from __future__ import annotations

import numpy as np

from cnnlib.checks import Case, check_function, check_rng, exercise, verdict

__all__ = ["check_one_hot", "check_softmax", "check_softmax_gradient",
           "check_predict_from_theta", "check_confusion_matrix", "check_softmax_settings"]


def _is_array(result) -> str | None:
    if not isinstance(result, np.ndarray):
        return f"expected a NumPy array of 0s and 1s, got {type(result).__name__}"
    return None


def _keeps_float32(result) -> str | None:
    dtype = getattr(result, "dtype", None)
    if dtype != np.float32:
        return (f"a float32 input should give a float32 result, got "
                f"{dtype if dtype is not None else type(result).__name__} (np.exp, "
                f"np.max and -, / keep float32; a float64 array mixed in does not)")
    return None


def _rows_sum_to_one(result) -> str | None:
    sums = np.asarray(result, dtype=np.float64).sum(axis=-1)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-6):
        return (f"every row of a softmax must sum to one, but the row sums are "
                f"{np.round(sums, 4)[:6]}: divide by the sum over axis=1 "
                f"(keepdims=True so that the division broadcasts row by row)")
    return None


# ------------------------------------------------------------------- 3.1 one-hot
def _ref_one_hot(labels, num_classes):
    from cnnlib.functional import one_hot
    return one_hot(labels, num_classes)


@exercise("3.1", "Labels as 1-of-K vectors")
def check_one_hot(one_hot):
    """``one_hot(labels, num_classes)``: (n,) class indices -> (n, K) matrix with a
    single 1 per row, in the column of the label."""
    rng = check_rng(301)
    return check_function(one_hot, [
        Case("motorcycle (class 2 of 4) is (0, 0, 1, 0)", (np.array([2]), 4),
             expected=np.array([[0, 0, 1, 0]]), check=_is_array,
             hint="row i has a 1 in column labels[i] and 0 elsewhere"),
        Case("pedestrian, car, motorcycle, truck", (np.array([0, 1, 2, 3]), 4),
             expected=np.eye(4), hint="the four targets together form the identity"),
        Case("random labels, K = 10", (rng.integers(0, 10, 25), 10),
             expected=_ref_one_hot,
             hint="make a zero matrix of shape (n, K), then set "
                  "Y[np.arange(n), labels] = 1"),
        Case("K larger than any label seen", (np.array([0, 1, 1]), 5),
             expected=_ref_one_hot,
             hint="the number of columns is num_classes, not labels.max() + 1"),
        Case("a single example of the last class", (np.array([6]), 7),
             expected=_ref_one_hot),
        Case("a repeated label", (np.array([3, 3, 3]), 4), expected=_ref_one_hot),
    ])


# ------------------------------------------------------------------- 3.2 softmax
def _ref_softmax(Z):
    from cnnlib.functional import softmax
    return softmax(Z, dim=1)


def _torch_softmax(Z):
    import torch
    return torch.softmax(torch.as_tensor(np.asarray(Z, dtype=np.float64)), dim=1)


@exercise("3.2", "A numerically stable softmax")
def check_softmax(softmax):
    """``softmax(Z)``: (n, K) scores -> (n, K) probabilities, row by row, finite and
    warning-free for scores of size 1e4, float32 kept."""
    rng = check_rng(302)
    Z = rng.normal(scale=3, size=(6, 4))
    overflow_hint = ("np.exp(1e4) is inf and inf / inf is nan. Subtract each row's "
                     "maximum first (Z - Z.max(axis=1, keepdims=True)): softmax does not "
                     "change, and every exponent is then <= 0")
    return check_function(softmax, [
        Case("equal scores give equal probabilities", (np.zeros((1, 4)),),
             expected=np.full((1, 4), 0.25)),
        Case("the chapter's scores (2, 1, 0.1, -1)", (np.array([[2.0, 1.0, 0.1, -1.0]]),),
             expected=_ref_softmax, check=_rows_sum_to_one,
             hint="softmax(z)_k = exp(z_k) / sum_j exp(z_j)"),
        Case("several rows, each its own distribution", (Z,), expected=_ref_softmax,
             check=_rows_sum_to_one,
             hint="sum over axis=1 (each row), not over the whole matrix"),
        Case("agrees with torch.softmax", (Z,), expected=_torch_softmax, rtol=1e-12,
             atol=1e-15),
        Case("scores of size 1e4 (no overflow, no warning)",
             (np.array([[1e4, 0.0, -1e4], [-1e4, -1e4 + 1.0, -1e4]]),),
             expected=_ref_softmax, allow_warnings=False, hint=overflow_hint),
        Case("float32 in, float32 out", (Z.astype(np.float32),), expected=_ref_softmax,
             rtol=1e-5, atol=1e-7, check=_keeps_float32),  # float32 keeps ~7 digits
    ])


# -------------------------------------------------------- 3.3 softmax gradient
def _ref_gradient(Z, y):
    from cnnlib.functional import cross_entropy_backward, cross_entropy_forward
    return cross_entropy_backward(1.0, cross_entropy_forward(Z, y)[1])


def _torch_gradient(Z, y):
    import torch
    z = torch.tensor(np.asarray(Z, dtype=np.float64), requires_grad=True)
    torch.nn.functional.cross_entropy(z, torch.as_tensor(np.asarray(y))).backward()
    return z.grad


@exercise("3.3", "The gradient of the softmax cross-entropy")
def check_softmax_gradient(cross_entropy_gradient):
    """``cross_entropy_gradient(Z, y)``: gradient of the mean softmax cross-entropy
    with respect to the scores Z (n, K), labels y (n,): (softmax(Z) - Y) / n."""
    rng = check_rng(303)
    Z, y = rng.normal(scale=2, size=(8, 5)), rng.integers(0, 5, 8)
    return check_function(cross_entropy_gradient, [
        Case("one example, equal scores", (np.zeros((1, 4)), np.array([2])),
             expected=np.array([[0.25, 0.25, -0.75, 0.25]]),
             hint="softmax of equal scores is 1/4 each; subtract the one-hot target "
                  "(0, 0, 1, 0)"),
        Case("8 examples, 5 classes", (Z, y), expected=_ref_gradient,
             hint="(softmax(Z) - Y) / n with Y the one-hot labels: check the sign and "
                  "the division by the number of examples n"),
        Case("agrees with PyTorch autograd", (Z, y), expected=_torch_gradient,
             rtol=1e-10, atol=1e-14),
        Case("every row of the gradient sums to zero", (Z, y),
             expected=_ref_gradient,
             check=lambda g: None if np.allclose(np.sum(g, axis=1), 0, atol=1e-12) else
             "each row should sum to 0 (softmax sums to 1, the one-hot row too)"),
        Case("confident scores of size 1e4 (no warning)",
             (np.array([[1e4, 0.0, 0.0], [0.0, 1e4, 0.0]]), np.array([0, 2])),
             expected=_ref_gradient, allow_warnings=False,
             hint="use a stable softmax (Exercise 3.2)"),
    ])


# -------------------------------------------------- 3.4 prediction from Theta
def _ref_predict(Theta, X):
    from cnnlib.functional import linear
    from cnnlib.models.theta import theta_to_wb
    W, b = theta_to_wb(Theta)
    return np.argmax(linear(X, W, b), axis=1)


@exercise("3.4", "Predicting the class from K output units")
def check_predict_from_theta(predict_from_theta):
    """``predict_from_theta(Theta, X)``: Theta (K, d + 1) with the bias in column 0,
    X (n, d) -> (n,) index of the largest output unit."""
    rng = check_rng(304)
    Theta, X = rng.normal(size=(4, 3)), rng.normal(size=(9, 2))
    return check_function(predict_from_theta, [
        Case("the bias alone decides when x = 0",
             (np.array([[0.0, 1.0], [2.0, -1.0], [1.0, 0.0]]), np.zeros((1, 1))),
             expected=np.array([1]),
             hint="column 0 of Theta is the bias: prepend x_0 = 1 to every example "
                  "(cnnlib.models.theta.add_bias_unit) and compute X1 @ Theta.T"),
        Case("4 classes, 9 examples", (Theta, X), expected=_ref_predict,
             hint="take np.argmax over the K units (axis=1), one class per example"),
        Case("a single example", (Theta, X[:1]), expected=_ref_predict),
        Case("ten classes of 784 pixels", (rng.normal(size=(10, 785)),
                                           rng.random((5, 784))),
             expected=_ref_predict),
    ])


# -------------------------------------------------------- 3.5 confusion matrix
def _ref_confusion(y_true, y_pred, K):
    from cnnlib.models.multiclass import confusion_matrix
    return confusion_matrix(y_true, y_pred, K)


@exercise("3.5", "The confusion matrix")
def check_confusion_matrix(confusion_matrix):
    """``confusion_matrix(y_true, y_pred, K)``: (K, K) counts, entry [i, j] = number
    of examples of true class i predicted as class j."""
    rng = check_rng(305)
    t, p = rng.integers(0, 6, 50), rng.integers(0, 6, 50)
    return check_function(confusion_matrix, [
        Case("a small example", (np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]), 3),
             expected=np.array([[1, 1, 0], [0, 1, 0], [1, 0, 1]]),
             hint="rows are the true classes, columns the predicted ones: "
                  "C[y_true[i], y_pred[i]] += 1 for every example i"),
        Case("all predictions right: a diagonal matrix", (np.arange(4), np.arange(4), 4),
             expected=np.eye(4)),
        Case("random labels, 6 classes", (t, p, 6), expected=_ref_confusion,
             hint="the entries must add up to the number of examples"),
        Case("a class that never occurs keeps its row and column of zeros",
             (np.array([0, 2]), np.array([2, 2]), 4), expected=_ref_confusion,
             hint="the matrix has shape (K, K) whatever labels occur"),
    ])


# ---------------------------------------------------------- 3.6 an experiment
SETTINGS_TARGET = 0.88
SETTINGS_MAX_EPOCHS = 10


def _check_setting(value, name: str, *, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                         np.floating)):
        return f"{name} must be a number, got {type(value).__name__} ({value!r})"
    if not (np.isfinite(value) and value > 0):
        return f"{name} must be a positive number, got {value!r}"
    return None


@exercise("3.6", "Softmax regression reaches 88 % on ten digits")
def check_softmax_settings(lr, epochs, batch_size):
    """``SoftmaxRegression(lr=lr, epochs=epochs, batch_size=batch_size, rng=0)``
    trained on ``load_mnist_5k(rng=0, flatten=True)`` reaches a test accuracy of at
    least ``SETTINGS_TARGET`` with at most ``SETTINGS_MAX_EPOCHS`` epochs."""
    from cnnlib.data import load_mnist_5k
    from cnnlib.models.multiclass import SoftmaxRegression

    for value, name, none_ok in ((lr, "lr", False), (epochs, "epochs", False),
                                 (batch_size, "batch_size", True)):
        problem = _check_setting(value, name, allow_none=none_ok)
        if problem:
            return verdict(False, problem)
    if int(epochs) != epochs or (batch_size is not None
                                 and int(batch_size) != batch_size):
        return verdict(False, "epochs and batch_size must be whole numbers")
    if epochs > SETTINGS_MAX_EPOCHS:
        return verdict(False, f"use at most {SETTINGS_MAX_EPOCHS} epochs, got {epochs}")
    X_train, X_test, y_train, y_test = load_mnist_5k(rng=0, flatten=True)
    model = SoftmaxRegression(lr=float(lr), epochs=int(epochs),
                              batch_size=None if batch_size is None else int(batch_size),
                              rng=0).fit(X_train, y_train)
    acc = model.score(X_test, y_test)
    losses = model.history_["loss"]
    text = (f"lr = {lr:g}, epochs = {epochs}, batch_size = {batch_size}: test accuracy "
            f"{acc:.1%} (at least {SETTINGS_TARGET:.0%} needed)")
    if acc >= SETTINGS_TARGET:
        return verdict(True, text)
    if not np.all(np.isfinite(losses)) or any(b > a for a, b in zip(losses, losses[1:])):
        hint = "the training loss went up on the way: the steps overshoot, lower lr"
    elif batch_size is None or batch_size >= len(X_train):
        hint = ("full-batch descent takes one step per epoch, too few here: use "
                "mini-batches (batch_size = 100, say) for many steps per epoch")
    else:
        hint = "the loss falls but too slowly: a larger lr or smaller batches help"
    return verdict(False, f"{text}. Hint: {hint}")
