r"""Logistic regression: a single node trained by gradient descent.

Explained in chapter 1. The node computes

.. math:: h_\theta(x) = g(\theta^\top x) = \frac{1}{1 + e^{-\theta^\top x}},
   \qquad x = (x_0 = 1, x_1, \dots, x_n),

and is trained by minimising the mean cross-entropy (the *negative* of chapter 1's
log-likelihood :math:`L(y,\hat y) = y\log\hat y + (1-y)\log(1-\hat y)`), plus an
optional L2 penalty on the weights (never on the bias :math:`\theta_0`):

.. math:: J(\theta) = -\frac1m \sum_{i=1}^m L\big(y^{(i)}, h_\theta(x^{(i)})\big)
   + \frac{\lambda}{2} \sum_{k \ge 1} \theta_k^2,
   \qquad \nabla_\theta J = \frac1m X_1^\top (h - y) + \lambda\,(0, \theta_1, \dots).

The building blocks come from :mod:`cnnlib.functional` (``linear``, the numerically
stable ``binary_cross_entropy_with_logits`` and their backward passes), so this module
only wires them together. Parameters follow the Theta convention (``theta_``, bias
first, see :mod:`cnnlib.models.theta`) and are also exposed under scikit-learn's names
(``coef_``, ``intercept_``).
"""
from __future__ import annotations

import numpy as np

from cnnlib import functional as F
from cnnlib._validate import (as_float_array, as_rng, check_bool, check_number,
                              check_positive_int, check_shape)
from cnnlib.models.theta import theta_to_wb, wb_to_theta
from cnnlib.train.batches import iterate_minibatches
from cnnlib.train.history import History

__all__ = ["LogisticRegression", "cost_and_gradient", "NotFittedError",
           "set_training_options"]


class NotFittedError(ValueError, AttributeError):
    """Raised when a model is used before ``fit`` (scikit-learn's class of the same
    name also derives from ValueError and AttributeError)."""


def _check_features(X, name: str = "X") -> np.ndarray:
    X = as_float_array(X, name, ndim=2, finite=True)
    if X.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one example (row), got shape "
                         f"{X.shape}")
    return X


def _check_labels(y, m: int, dtype) -> np.ndarray:
    """Binary labels 0/1 of shape (m,), returned as floats of ``dtype``."""
    y = as_float_array(y, "y")
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D of shape ({m},), got shape {y.shape}"
                         + (" (use y.ravel())" if y.size == m else ""))
    if y.shape[0] != m:
        raise ValueError(f"X and y must have the same number of examples, got "
                         f"X with {m} rows and y of shape {y.shape}")
    bad = ~((y == 0) | (y == 1))
    if np.any(bad):
        raise ValueError(f"y must hold binary labels 0 or 1 (for more classes see "
                         f"chapter 3), got values such as "
                         f"{np.unique(y[bad])[:5].tolist()}")
    return y.astype(dtype, copy=False)


def _check_theta(theta, n_features: int, name: str) -> np.ndarray:
    theta = as_float_array(theta, name, ndim=1, finite=True)
    check_shape(theta, name, (n_features + 1,))
    return theta


def cost_and_gradient(theta, X, y, l2: float = 0.0) -> tuple[float, np.ndarray]:
    r"""Cost :math:`J(\theta)` (mean cross-entropy + L2 penalty) and its gradient.

    theta : (n + 1,), bias :math:`\theta_0` first (the Theta convention).
    X : (m, n) features, one example per row (no bias column: the bias unit is
        handled by the bias of :func:`cnnlib.functional.linear`).
    y : (m,) labels 0 or 1.
    l2 : :math:`\lambda \ge 0`, the weight of :math:`\frac{\lambda}{2}\sum_{k\ge1}
        \theta_k^2`.
    Returns ``(J, grad)``: J a Python float, grad of shape (n + 1,) with
    :math:`\nabla J = \frac1m X_1^\top (g(X_1\theta) - y) + \lambda (0, \theta_{1:})`,
    in X's float dtype.

    Explained in chapter 1.
    """
    X = _check_features(X)
    theta = _check_theta(theta, X.shape[1], "theta").astype(X.dtype, copy=False)
    y = _check_labels(y, X.shape[0], X.dtype)
    l2 = check_number(l2, "l2", low=0)
    return _cost_and_gradient(theta, X, y, l2)


def _cost_and_gradient(theta, X, y, l2):
    """Unchecked core of :func:`cost_and_gradient` (inputs already validated)."""
    w, b = theta_to_wb(theta[None, :])                      # (1, n), (1,)
    z, lin_cache = F.linear_forward(X, w, b)                # (m, 1): z = X w^T + b
    loss, bce_cache = F.binary_cross_entropy_with_logits_forward(z[:, 0], y)
    dz = F.binary_cross_entropy_with_logits_backward(np.asarray(1.0, X.dtype),
                                                     bce_cache)   # (g(z) - y) / m
    _, dw, db = F.linear_backward(dz[:, None], lin_cache)
    grad = wb_to_theta(dw, db)[0]
    if l2:
        loss = loss + 0.5 * l2 * float(np.dot(theta[1:], theta[1:]))
        grad[1:] += l2 * theta[1:]
    return float(loss), grad.astype(X.dtype, copy=False)


def set_training_options(model, lr, epochs, batch_size, rng, progress) -> None:
    """Validate and store on ``model`` the gradient-descent options shared by every
    model of :mod:`cnnlib.models` trained by gradient descent (this one, and
    :class:`~cnnlib.models.multiclass.OneVsRest` and
    :class:`~cnnlib.models.multiclass.SoftmaxRegression`): ``lr > 0``, ``epochs >= 1``,
    ``batch_size`` None or >= 1, ``rng`` a Generator, an int seed or None, and
    ``progress`` a bool. Bad values fail at construction rather than in the middle of
    ``fit``. Explained in chapter 1."""
    model.lr = check_number(lr, "lr", low=0, low_open=True)
    model.epochs = check_positive_int(epochs, "epochs")
    model.batch_size = None if batch_size is None else \
        check_positive_int(batch_size, "batch_size")
    as_rng(rng)              # raises TypeError now rather than at fit time
    model.rng = rng
    model.progress = check_bool(progress, "progress")

class LogisticRegression:
    r"""Binary logistic regression trained by (mini-batch) gradient descent.

    Parameters
    ----------
    lr : learning rate :math:`\alpha > 0` of the update
        :math:`\theta \leftarrow \theta - \alpha \nabla J(\theta)`.
    epochs : number of passes over the training set.
    batch_size : None for full-batch gradient descent (one step per epoch, no
        randomness); an int for mini-batch gradient descent (the examples are shuffled
        with ``rng`` at the start of every epoch; the last batch may be smaller).
    rng : Generator, int seed or None, used for the shuffling. An int gives the same
        result on every ``fit``.
    progress : show a ``tqdm.auto`` progress bar over the epochs.
    l2 : :math:`\lambda \ge 0`, strength of the penalty
        :math:`\frac{\lambda}{2}\sum_{k\ge1}\theta_k^2` (0 = unregularised). It matches
        scikit-learn's ``LogisticRegression(C=1 / (m * l2))`` on m training examples.

    Attributes (after ``fit``)
    --------------------------
    theta_ : (n + 1,) parameters, bias :math:`\theta_0` first (the Theta convention).
    coef_ : (1, n) and intercept_ : (1,), the same numbers under scikit-learn's names.
    history_ : a :class:`~cnnlib.train.History`, one entry per epoch, measured after
        the epoch on the whole training set: ``"loss"`` (mean cross-entropy, without
        the penalty) and ``"accuracy"``; plus ``"val_loss"`` and ``"val_accuracy"``
        when ``fit`` got validation data.
    n_features_in_ : n.

    Explained in chapter 1.
    """

    def __init__(self, lr: float = 0.1, epochs: int = 100, batch_size: int | None = None,
                 rng: np.random.Generator | int | None = 0, progress: bool = False,
                 l2: float = 0.0):
        set_training_options(self, lr, epochs, batch_size, rng, progress)
        self.l2 = check_number(l2, "l2", low=0)

    def __repr__(self) -> str:
        return (f"LogisticRegression(lr={self.lr}, epochs={self.epochs}, "
                f"batch_size={self.batch_size}, rng={self.rng!r}, "
                f"progress={self.progress}, l2={self.l2})")

    # ------------------------------------------------------------------ training
    def fit(self, X, y, *, theta_init=None, validation_data=None) -> "LogisticRegression":
        """Train on X (m, n) and labels y (m,) in {0, 1}; returns ``self``.

        theta_init : optional (n + 1,) starting parameters (bias first); default zeros.
        validation_data : optional ``(X_val, y_val)`` tracked in ``history_``.
        Computation happens in X's float dtype (float32 stays float32).
        """
        from tqdm.auto import trange   # imported here: `import cnnlib` stays light

        X = _check_features(X)
        y = _check_labels(y, X.shape[0], X.dtype)
        m, n = X.shape
        if theta_init is None:
            theta = np.zeros(n + 1, dtype=X.dtype)
        else:
            theta = _check_theta(theta_init, n, "theta_init").astype(X.dtype, copy=True)
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError("validation_data must be a pair (X_val, y_val)")
            Xv = _check_features(validation_data[0], "X_val")
            if Xv.shape[1] != n:
                raise ValueError(f"X_val must have {n} features like X, got shape "
                                 f"{Xv.shape}")
            val = (Xv.astype(X.dtype, copy=False), _check_labels(validation_data[1],
                                                                Xv.shape[0], X.dtype))
        rng = as_rng(self.rng)
        history = History()
        bar = trange(self.epochs, desc="logistic regression", disable=not self.progress,
                     leave=False)
        for _ in bar:
            # Full batch (batch_size None): one step on all m examples, no shuffling.
            for xb, yb in iterate_minibatches(X, y, self.batch_size or m, rng=rng,
                                              shuffle=self.batch_size is not None):
                _, grad = _cost_and_gradient(theta, xb, yb, self.l2)
                theta -= self.lr * grad
            loss, acc = _loss_and_accuracy(theta, X, y)
            history.log(loss=loss, accuracy=acc)
            if val is not None:
                vloss, vacc = _loss_and_accuracy(theta, *val)
                history.log(val_loss=vloss, val_accuracy=vacc)
            if self.progress:
                bar.set_postfix(loss=f"{loss:.4f}")
        bar.close()
        self.theta_ = theta
        self.n_features_in_ = n
        self.history_ = history
        return self

    # ---------------------------------------------------------------- prediction
    def _fitted_X(self, X) -> np.ndarray:
        if not hasattr(self, "theta_"):
            raise NotFittedError("this LogisticRegression is not fitted yet: call "
                                 "fit(X, y) before predicting")
        X = _check_features(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but the model was fitted "
                             f"with {self.n_features_in_}: X.shape={X.shape}")
        return X

    def decision_function(self, X) -> np.ndarray:
        r"""The logit :math:`z = \theta^\top x` for every row of X (m, n); shape (m,)."""
        X = self._fitted_X(X)
        w, b = theta_to_wb(self.theta_[None, :])
        return F.linear(X, w.astype(X.dtype), b.astype(X.dtype))[:, 0]

    def predict_proba(self, X) -> np.ndarray:
        r""":math:`h_\theta(x) = P(y = 1 \mid x)` for every row of X (m, n); shape (m,).

        (scikit-learn's ``predict_proba`` returns both columns, shape (m, 2); here the
        single node's one output.)
        """
        return F.sigmoid(self.decision_function(X))

    def predict(self, X, threshold: float = 0.5) -> np.ndarray:
        """Class labels 0/1 (int64, shape (m,)): 1 where the probability >= threshold."""
        t = check_number(threshold, "threshold", low=0, high=1)
        return (self.predict_proba(X) >= t).astype(np.int64)

    def score(self, X, y) -> float:
        """Accuracy of ``predict(X)`` against labels y (m,) in {0, 1}."""
        X = self._fitted_X(X)
        y = _check_labels(y, X.shape[0], np.float64)
        return float(np.mean(self.predict(X) == y))

    # ---------------------------------------------------- scikit-learn's names
    @property
    def coef_(self) -> np.ndarray:
        """Weights (1, n): theta_[1:] in scikit-learn's shape."""
        if not hasattr(self, "theta_"):
            raise NotFittedError("coef_ exists only after fit(X, y)")
        return theta_to_wb(self.theta_[None, :])[0]

    @property
    def intercept_(self) -> np.ndarray:
        """Bias (1,): theta_[0] in scikit-learn's shape."""
        if not hasattr(self, "theta_"):
            raise NotFittedError("intercept_ exists only after fit(X, y)")
        return theta_to_wb(self.theta_[None, :])[1]


def _loss_and_accuracy(theta, X, y) -> tuple[float, float]:
    """Mean cross-entropy (no penalty) and accuracy at threshold 0.5."""
    z = X @ theta[1:] + theta[0]
    loss = float(F.binary_cross_entropy_with_logits(z, y))
    return loss, float(np.mean((z >= 0) == (y == 1)))
