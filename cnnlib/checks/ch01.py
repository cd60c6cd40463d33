"""Checks for the exercises of chapter 1, logistic regression
(``solutions/01_logistic_regression.ipynb``).

Each check runs the student's function on several cases, edge cases included
(|z| = 1e4, float32, a batch of one example), against cnnlib and PyTorch.
"""
from __future__ import annotations

import numpy as np

from cnnlib.checks import Case, check_function, check_rng, exercise, verdict

__all__ = ["check_sigmoid", "check_log_loss", "check_log_loss_gradient",
           "check_gradient_descent", "check_learning_rate"]


def _keeps_float32(result) -> str | None:
    dtype = getattr(result, "dtype", None)
    if dtype != np.float32:
        return (f"a float32 input should give a float32 result, got "
                f"{dtype if dtype is not None else type(result).__name__} (NumPy turns "
                f"float32 into float64 when it meets a float64 array or a Python float "
                f"in some operations; np.exp, np.log1p and +, -, * keep float32)")
    return None


def _torch(fn_name: str):
    """A reference that calls torch.<fn_name> (torch is imported only when it runs)."""
    def reference(*arrays):
        import torch
        import torch.nn.functional as tF
        fn = getattr(tF, fn_name, None) or getattr(torch, fn_name)
        return fn(*[torch.as_tensor(np.asarray(a, dtype=np.float64)) for a in arrays])
    return reference


# ---------------------------------------------------------------------- 1.1 sigmoid
@exercise("1.1", "A numerically stable sigmoid")
def check_sigmoid(sigmoid):
    """``sigmoid(z)``: elementwise 1 / (1 + e^{-z}), any shape, finite and warning-free
    for |z| = 1e4, float32 kept."""
    from cnnlib.functional import sigmoid as reference

    rng = check_rng(101)
    overflow_hint = ("np.exp(-z) overflows for z = -1e4 (e^10000 is inf). For z < 0 "
                     "use the equal form e^z / (1 + e^z), whose exponential is < 1; "
                     "np.where(z >= 0, ..., ...) picks the form per element (compute "
                     "e = np.exp(-np.abs(z)) once so neither branch overflows)")
    return check_function(sigmoid, [
        Case("z = 0 gives 1/2", (np.array(0.0),), expected=0.5),
        Case("a random vector", (rng.normal(scale=3, size=7),), expected=reference),
        Case("a 2-D array keeps its shape", (rng.normal(size=(3, 4)),),
             expected=reference),
        Case("agrees with torch.sigmoid", (np.linspace(-30, 30, 13),),
             expected=_torch("sigmoid"), rtol=1e-12, atol=1e-15),
        Case("z = -1e4 and +1e4 (no overflow, no warning)",
             (np.array([-1e4, -800.0, 800.0, 1e4]),), expected=np.array([0, 0, 1, 1.0]),
             allow_warnings=False, hint=overflow_hint),
        Case("tiny probabilities keep their digits", (np.array([-40.0, -700.0]),),
             expected=reference, rtol=1e-10, atol=0,
             hint="1 - 1/(1 + e^{-z}) loses every digit for z << 0: use e^z / (1 + e^z)"),
        Case("float32 in, float32 out", (np.array([-2.0, 0.5, 3.0], np.float32),),
             expected=reference, rtol=1e-6, check=_keeps_float32),
    ])


# --------------------------------------------------------------------- 1.2 log-loss
@exercise("1.2", "The log-loss computed from the logit")
def check_log_loss(log_loss):
    """``log_loss(z, y)``: mean over the examples of -[y log g(z) + (1-y) log(1-g(z))],
    finite for |z| = 1e4."""
    from cnnlib.functional import binary_cross_entropy_with_logits as reference

    def ref(z, y):
        return reference(z, np.asarray(y, dtype=np.asarray(z).dtype))

    rng = check_rng(102)
    z = rng.normal(scale=2, size=10)
    y = (rng.random(10) < 0.5).astype(float)
    stable_hint = ("log(g(z)) = -log(1 + e^{-z}) and log(1 - g(z)) = -log(1 + e^{z}); "
                   "write log(1 + e^{t}) as max(t, 0) + log1p(e^{-|t|}), which never "
                   "overflows (or use np.logaddexp(0, t))")
    return check_function(log_loss, [
        Case("z = 0: the loss is log 2 whatever y", (np.zeros(4), np.array([0, 1, 0, 1.0])),
             expected=np.log(2.0), hint="h = g(0) = 1/2 and -log(1/2) = log 2"),
        Case("random logits and labels", (z, y), expected=ref,
             hint="the mean over the examples of -[y log h + (1-y) log(1-h)], h = g(z): "
                  "note the minus sign"),
        Case("agrees with torch's binary_cross_entropy_with_logits", (z, y),
             expected=_torch("binary_cross_entropy_with_logits"), rtol=1e-12),
        Case("a batch of one example", (np.array([1.5]), np.array([0.0])), expected=ref),
        Case("labels given as ints", (z, y.astype(np.int64)), expected=ref),
        Case("confidently wrong by |z| = 1e4 (finite, no warning)",
             (np.array([1e4, -1e4]), np.array([0.0, 1.0])), expected=1e4,
             allow_warnings=False, hint=stable_hint),
        Case("confidently right by |z| = 1e4", (np.array([1e4, -1e4]), np.array([1.0, 0.0])),
             expected=0.0, allow_warnings=False, hint=stable_hint),
        Case("float32 logits", (z.astype(np.float32), y.astype(np.float32)),
             expected=ref, rtol=1e-5),  # float32 keeps ~7 digits
    ])


# ------------------------------------------------------------------- 1.3 gradient
def _ref_gradient(theta, X, y):
    from cnnlib.models.logistic import cost_and_gradient
    return cost_and_gradient(theta, X, y)[1]


def _torch_gradient(theta, X, y):
    import torch
    t = torch.tensor(np.asarray(theta, np.float64), requires_grad=True)
    Xt = torch.as_tensor(np.asarray(X, np.float64))
    z = Xt @ t[1:] + t[0]
    torch.nn.functional.binary_cross_entropy_with_logits(
        z, torch.as_tensor(np.asarray(y, np.float64))).backward()
    return t.grad


@exercise("1.3", "The gradient of the log-loss")
def check_log_loss_gradient(gradient):
    """``gradient(theta, X, y)``: (n + 1,) gradient of the mean log-loss, bias first."""
    rng = check_rng(103)
    X = rng.normal(size=(20, 3))
    y = (rng.random(20) < 0.5).astype(float)
    theta = rng.normal(size=4)
    return check_function(gradient, [
        Case("theta = 0, one feature", (np.zeros(2), np.array([[1.0], [3.0]]),
                                        np.array([1.0, 0.0])),
             expected=np.array([0.0, 0.5]),
             hint="at theta = 0 every h is 1/2: the gradient is mean(h - y) for theta_0 "
                  "and mean((h - y) * x_1) for theta_1"),
        Case("20 examples, 3 features", (theta, X, y), expected=_ref_gradient,
             hint="grad = X1.T @ (h - y) / m with X1 = X with a leading column of ones; "
                  "check the sign (h - y, not y - h) and the 1/m"),
        Case("agrees with PyTorch autograd", (theta, X, y), expected=_torch_gradient,
             rtol=1e-10),
        Case("a batch of one example", (theta, X[:1], y[:1]), expected=_ref_gradient,
             hint="with m = 1 the gradient is (h - y) * (1, x_1, ..., x_n)"),
        Case("huge logits (|z| ~ 1e4): finite, no warning",
             (np.array([0.0, 1e4, 0.0, 0.0]), X[:5], y[:5]), expected=_ref_gradient,
             allow_warnings=False, hint="compute h with a stable sigmoid (Exercise 1.1)"),
        Case("float32 data", (theta.astype(np.float32), X.astype(np.float32),
                              y.astype(np.float32)),
             expected=_ref_gradient, rtol=1e-5, atol=1e-6),  # float32 keeps ~7 digits
    ])


# ---------------------------------------------------------- 1.4 gradient descent
def _ref_descent(X, y, lr, epochs):
    from cnnlib.models.logistic import LogisticRegression
    return LogisticRegression(lr=lr, epochs=epochs).fit(X, y).theta_


@exercise("1.4", "Gradient descent from theta = 0")
def check_gradient_descent(gradient_descent):
    """``gradient_descent(X, y, lr, epochs)``: full-batch gradient descent from
    theta = 0; returns theta (n + 1,)."""
    rng = check_rng(104)
    X = rng.normal(size=(30, 2))
    y = (X[:, 0] + 0.5 * rng.normal(size=30) > 0).astype(float)
    return check_function(gradient_descent, [
        Case("one step", (X, y, 0.5, 1), expected=_ref_descent,
             hint="start from theta = np.zeros(n + 1) and take theta - lr * gradient"),
        Case("100 steps", (X, y, 0.5, 100), expected=_ref_descent, rtol=1e-8,
             hint="each step uses the gradient at the current theta"),
        Case("a batch of one example", (X[:1], y[:1], 0.1, 5), expected=_ref_descent),
        Case("float32 data", (X.astype(np.float32), y.astype(np.float32), 0.5, 20),
             expected=_ref_descent, rtol=1e-4, atol=1e-5),  # 20 float32 steps
    ])


# ---------------------------------------------------------- 1.5 the learning rate
LR_EPOCHS = 20
LR_TARGET = 0.2


def _threes_and_eights():
    from cnnlib.data import load_mnist_5k
    X_train, _, y_train, _ = load_mnist_5k(rng=0, flatten=True)
    keep = np.isin(y_train, [3, 8])
    return X_train[keep], (y_train[keep] == 8).astype(np.int64)


@exercise("1.5", "A learning rate that works")
def check_learning_rate(lr):
    """``lr``: full-batch gradient descent from theta = 0 on the training 3s and 8s of
    ``load_mnist_5k(rng=0, flatten=True)`` reaches a mean log-loss below
    ``LR_TARGET`` after ``LR_EPOCHS`` epochs."""
    from cnnlib.models.logistic import LogisticRegression

    if lr is None:            # the notebook's placeholder: the experiment is not done yet
        raise NotImplementedError("Exercise 1.5: set best_lr")
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.integer, np.floating)):
        return verdict(False, f"lr must be a number, got {type(lr).__name__} ({lr!r})")
    if not (np.isfinite(lr) and lr > 0):
        return verdict(False, f"lr must be a positive number, got {lr!r}")
    X, y = _threes_and_eights()
    losses = LogisticRegression(lr=float(lr), epochs=LR_EPOCHS).fit(X, y).history_["loss"]
    final = losses[-1]
    text = (f"with lr = {lr:g} the training loss after {LR_EPOCHS} epochs is "
            f"{final:.3f} (below {LR_TARGET} needed)")
    if final < LR_TARGET:
        return verdict(True, text)
    jumped = any(b > a for a, b in zip(losses, losses[1:]))
    hint = ("the loss went up on the way: the steps overshoot, try a smaller lr"
            if jumped else "the loss falls steadily but too slowly: try a larger lr")
    return verdict(False, f"{text}. Hint: {hint}")
