r"""Many classes: K logistic units (one-vs-rest) or one softmax layer.

Explained in chapter 3. A network with K output units returns
:math:`h_\Theta(x) \in \mathbb{R}^K`; training asks it to output the 1-of-K (one-hot)
vector of the true class, e.g. :math:`(0, 0, 1, 0)^\top` for "motorcycle" among
pedestrian / car / motorcycle / truck. The prediction is the class whose output unit
is largest.

* :class:`OneVsRest` trains K independent binary logistic units, unit k answering
  "class k or not?". Its K outputs are K separate probabilities and need not sum to one.
* :class:`SoftmaxRegression` trains one linear layer followed by a softmax, so the K
  outputs form one probability distribution (they sum to one), trained on the softmax
  cross-entropy.
* :func:`confusion_matrix` counts which true class was predicted as which.

Both models share the interface of :class:`cnnlib.models.logistic.LogisticRegression`:
``fit(X, y, validation_data=None)``, ``predict_proba(X)``, ``predict(X)``,
``score(X, y)``, ``classes_``, ``history_``, ``coef_`` (K, d), ``intercept_`` (K,) and
``theta_`` (K, d + 1, bias first). Labels may be any integers (say 3, 7 and 9):
``classes_`` lists them and ``predict`` returns them.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import (as_float_array, as_int_array, as_rng, check_finite,
                              check_positive_int)
from cnnlib.functional.affine import linear, linear_backward, linear_forward
from cnnlib.models.logistic import LogisticRegression, NotFittedError, set_training_options
from cnnlib.functional.losses import (binary_cross_entropy_with_logits, cross_entropy,
                     cross_entropy_backward, cross_entropy_forward)
from cnnlib.functional.probabilities import one_hot, softmax
from cnnlib.models.theta import wb_to_theta
from cnnlib.train.batches import iterate_minibatches
from cnnlib.train.history import History

__all__ = ["OneVsRest", "SoftmaxRegression", "softmax_regression_loss",
           "confusion_matrix", "most_confused_pairs", "plot_output_probabilities"]


# --------------------------------------------------------------------- helpers
def _check_X(X, name: str = "X") -> np.ndarray:
    x = as_float_array(X, name)
    if x.ndim != 2:
        hint = (f" (flatten images first: {name}.reshape(len({name}), -1))"
                if x.ndim > 2 else "")
        raise ValueError(f"{name} must be 2-D of shape (n_samples, n_features), got a "
                         f"{x.ndim}-D array of shape {x.shape}{hint}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sample, got shape {x.shape}")
    check_finite(x, name)
    return x


def _accuracy(proba: np.ndarray, idx: np.ndarray) -> float:
    return float(np.mean(np.argmax(proba, axis=1) == idx))


class _MulticlassModel:
    """What both multi-class models share: hyperparameters, label bookkeeping and the
    prediction rule "the class whose output unit is largest"."""

    def __init__(self, lr: float = 0.1, epochs: int = 100, batch_size: int | None = None,
                 rng: np.random.Generator | int | None = 0, progress: bool = False):
        set_training_options(self, lr, epochs, batch_size, rng, progress)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(lr={self.lr}, epochs={self.epochs}, "
                f"batch_size={self.batch_size}, rng={self.rng!r}, "
                f"progress={self.progress})")

    # -- labels and data ------------------------------------------------------
    def _labels_to_index(self, x: np.ndarray, y, name: str = "y") -> np.ndarray:
        """y as indices 0..K-1 into ``classes_`` (one label per row of x)."""
        labels = as_int_array(y, name, ndim=1)
        if labels.shape[0] != x.shape[0]:
            raise ValueError(f"{name} must have one label per row of X: X.shape="
                             f"{x.shape}, {name}.shape={labels.shape}")
        idx = np.searchsorted(self.classes_, labels)
        unknown = (idx >= len(self.classes_)) | \
            (self.classes_[np.minimum(idx, len(self.classes_) - 1)] != labels)
        if np.any(unknown):
            raise ValueError(f"{name} holds labels not seen in fit: "
                             f"{np.unique(labels[unknown])[:5].tolist()} (known classes: "
                             f"{self.classes_.tolist()})")
        return idx

    def _prepare_fit(self, X, y, validation_data):
        """Validate the training (and validation) data; set ``classes_``."""
        x = _check_X(X)
        labels = as_int_array(y, "y", ndim=1)
        if labels.shape[0] != x.shape[0]:
            raise ValueError(f"y must have one label per row of X: X.shape={x.shape}, "
                             f"y.shape={labels.shape}")
        classes = np.unique(labels)
        if classes.size < 2:
            raise ValueError(f"y must contain at least 2 classes, got only "
                             f"{classes.tolist()}")
        self.classes_ = classes
        idx = self._labels_to_index(x, labels)
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or \
                    len(validation_data) != 2:
                raise TypeError("validation_data must be a pair (X_val, y_val)")
            xv = _check_X(validation_data[0], "X_val")
            if xv.shape[1] != x.shape[1]:
                raise ValueError(f"X_val must have {x.shape[1]} features like X, got "
                                 f"shape {xv.shape}")
            val = (xv.astype(x.dtype, copy=False),
                   self._labels_to_index(xv, validation_data[1], "y_val"))
        return x, idx, val, History()

    def _check_fitted(self, X) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call "
                                 f"fit(X, y) before predicting")
        x = _check_X(X)
        d = self.coef_.shape[1]
        if x.shape[1] != d:
            raise ValueError(f"X has {x.shape[1]} features, but the model was fitted "
                             f"with {d}: X.shape={x.shape}")
        return x

    @property
    def theta_(self) -> np.ndarray:
        """Parameters in the Theta convention: (K, d + 1), bias in column 0."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("theta_ exists only after fit(X, y)")
        return wb_to_theta(self.coef_, self.intercept_)

    def decision_function(self, X) -> np.ndarray:
        r"""Scores :math:`z = X W^\top + b` of the K output units, shape (n, K)."""
        x = self._check_fitted(X)
        return linear(x, self.coef_.astype(x.dtype), self.intercept_.astype(x.dtype))

    def predict(self, X) -> np.ndarray:
        r"""Predicted labels :math:`\arg\max_k h_\Theta(x)_k`, shape (n,), taken from
        ``classes_``."""
        x = self._check_fitted(X)
        return self.classes_[np.argmax(self.predict_proba(x), axis=1)]

    def score(self, X, y) -> float:
        """Accuracy: the fraction of rows of X (n, d) whose predicted label equals y."""
        x = self._check_fitted(X)
        labels = as_int_array(y, "y", ndim=1)
        if labels.shape[0] != x.shape[0]:
            raise ValueError(f"y must have one label per row of X: X.shape={x.shape}, "
                             f"y.shape={labels.shape}")
        return float(np.mean(self.predict(x) == labels))


# ---------------------------------------------------------------- one-vs-rest
class OneVsRest(_MulticlassModel):
    r"""K independent logistic units, unit k trained on "class k versus the rest".

    Unit k is a :class:`cnnlib.models.logistic.LogisticRegression` fitted on ``(X, Y[:, k])``
    where Y is the one-hot (1-of-K) matrix of the labels, so

    .. math:: h_\Theta(x)_k = g(\theta_k^\top x), \qquad k = 1, \dots, K,

    with the sigmoid g and the bias unit :math:`x_0 = 1`. The K outputs are K separate
    answers to K yes/no questions and need not sum to one.

    Parameters
    ----------
    lr, epochs, batch_size, progress : as for LogisticRegression (each unit gets them).
    rng : Generator, int seed or None; unit k shuffles its mini-batches with the k-th
        child of ``as_rng(rng).spawn(K)``.

    Attributes (after ``fit``)
    --------------------------
    classes_ : (K,) the sorted distinct labels seen in fit.
    estimators_ : list of the K fitted LogisticRegression units.
    coef_ : (K, d), intercept_ : (K,), theta_ : (K, d + 1) (bias in column 0).
    history_ : a :class:`~cnnlib.train.History`, one entry per epoch, on the whole
        training set after the epoch: ``"loss"`` = the total cost :math:`\sum_k J_k` (the K units' mean
        log-losses added up) and ``"accuracy"`` of the K-class prediction; plus
        ``"val_loss"`` and ``"val_accuracy"`` with ``validation_data``. Each unit's own
        ``history_`` holds its loss and yes/no accuracy.

    Explained in chapter 3.
    """

    def fit(self, X, y, *, validation_data=None) -> "OneVsRest":
        """Train one logistic unit per class on X (n, d) and labels y (n,)."""
        x, idx, val, history = self._prepare_fit(X, y, validation_data)
        K, d = len(self.classes_), x.shape[1]
        Y = one_hot(idx, K)                             # (n, K) 1-of-K targets
        Yv = None if val is None else one_hot(val[1], K)
        children = as_rng(self.rng).spawn(K)
        # The K units are trained side by side, one epoch at a time, so that the K-class
        # accuracy can be recorded after every epoch. Each unit restarts fit() from its
        # own parameters with its own Generator, whose stream simply continues: the
        # result is exactly that of K separate fits with epochs=self.epochs.
        units = [LogisticRegression(lr=self.lr, epochs=1, batch_size=self.batch_size,
                                    rng=children[k], progress=False) for k in range(K)]
        thetas = np.zeros((K, d + 1), dtype=x.dtype)
        unit_hist = [History() for _ in range(K)]
        epochs = range(self.epochs)
        if self.progress:
            from tqdm.auto import tqdm   # imported here: `import cnnlib` stays light
            epochs = tqdm(epochs, desc="one-vs-rest", leave=False)
        for _ in epochs:
            for k, unit in enumerate(units):
                unit.fit(x, Y[:, k], theta_init=thetas[k])
                thetas[k] = unit.theta_
                unit_hist[k].log(**{key: v[-1]
                                    for key, v in unit.history_.history.items()})
            self.coef_, self.intercept_ = thetas[:, 1:].copy(), thetas[:, 0].copy()
            self._record(history, x, idx, Y, "")
            if val is not None:
                self._record(history, val[0], val[1], Yv, "val_")
            if self.progress:
                epochs.set_postfix(loss=f"{history['loss'][-1]:.4f}")
        for unit, h in zip(units, unit_hist):
            unit.epochs, unit.history_ = self.epochs, h   # each reads as one full fit
        self.estimators_ = units
        self.history_ = history
        return self

    def _record(self, history, x, idx, Y, prefix):
        z = linear(x, self.coef_, self.intercept_)
        # mean log-loss of each unit (column), summed over the K units
        per_unit = binary_cross_entropy_with_logits(z, Y.astype(z.dtype),
                                                    reduction="none").mean(axis=0)
        history.log(**{prefix + "loss": float(per_unit.sum()),
                       prefix + "accuracy": _accuracy(z, idx)})

    def predict_proba(self, X) -> np.ndarray:
        r"""The K units' outputs :math:`g(\theta_k^\top x)`, shape (n, K). Each entry
        is in [0, 1]; a row does **not** sum to one in general."""
        x = self._check_fitted(X)
        return np.column_stack([u.predict_proba(x) for u in self.estimators_])


# ------------------------------------------------------------------- softmax
def softmax_regression_loss(weight, bias, X, y):
    r"""Mean softmax cross-entropy of a linear layer and its gradients.

    .. math:: z = X W^\top + b, \quad
              J = -\frac{1}{n}\sum_i \log \mathrm{softmax}(z_i)_{y_i}, \quad
              \frac{\partial J}{\partial z} = \frac{1}{n}(\mathrm{softmax}(z) - Y)

    (Y the one-hot targets), pushed back through the linear map by
    :func:`cnnlib.functional.linear_backward`.

    weight : (K, d); bias : (K,); X : (n, d); y : (n,) class indices in [0, K).
    Returns ``(loss, dweight, dbias)``: a float and arrays shaped like weight and bias.
    Explained in chapter 3.
    """
    w = as_float_array(weight, "weight", ndim=2)
    x = as_float_array(X, "X", ndim=2)
    labels = as_int_array(y, "y", ndim=1)
    if labels.shape[0] != x.shape[0]:
        raise ValueError(f"y must have one label per row of X: X.shape={x.shape}, "
                         f"y.shape={labels.shape}")
    if bias is None:
        raise TypeError("bias must be an array of shape (K,), got None")
    z, lin_cache = linear_forward(x, w, bias)           # (n, K) scores
    loss, ce_cache = cross_entropy_forward(z, labels)
    dz = cross_entropy_backward(1.0, ce_cache)           # (softmax(z) - Y) / n
    _, dweight, dbias = linear_backward(dz, lin_cache)
    return float(loss), dweight, dbias


class SoftmaxRegression(_MulticlassModel):
    r"""One linear layer with a softmax output (multinomial logistic regression).

    .. math:: h_\Theta(x) = \mathrm{softmax}(W x + b), \qquad
              \mathrm{softmax}(z)_k = \frac{e^{z_k}}{\sum_{j=1}^K e^{z_j}},

    trained by (mini-)batch gradient descent on the mean cross-entropy
    (:func:`softmax_regression_loss`). The weights start at zero (the loss is convex,
    so no random start is needed).

    Parameters
    ----------
    lr : learning rate of the update :math:`W \leftarrow W - \alpha \nabla_W J`.
    epochs : number of passes over the training set.
    batch_size : None for full-batch gradient descent (one step per epoch, no
        randomness); an int for mini-batches (examples shuffled with ``rng`` every
        epoch; the last batch may be smaller).
    rng : Generator, int seed or None, used for the shuffling.
    progress : show a ``tqdm.auto`` progress bar over the epochs.

    Attributes (after ``fit``)
    --------------------------
    classes_ : (K,) the sorted distinct labels seen in fit.
    coef_ : (K, d), intercept_ : (K,), theta_ : (K, d + 1) (bias in column 0).
    history_ : a :class:`~cnnlib.train.History`, one entry per epoch, measured after
        the epoch on the whole training set: ``"loss"`` (mean cross-entropy) and ``"accuracy"``, plus
        ``"val_loss"`` and ``"val_accuracy"`` when ``fit`` got
        ``validation_data=(X_val, y_val)``.

    Explained in chapter 3.
    """

    def fit(self, X, y, *, validation_data=None) -> "SoftmaxRegression":
        """Train by gradient descent on X (n, d) and labels y (n,)."""
        x, idx, val, history = self._prepare_fit(X, y, validation_data)
        n, d = x.shape
        K = len(self.classes_)
        rng = as_rng(self.rng)
        w = np.zeros((K, d), dtype=x.dtype)
        b = np.zeros(K, dtype=x.dtype)
        epochs = range(self.epochs)
        if self.progress:
            from tqdm.auto import tqdm   # imported here: `import cnnlib` stays light
            epochs = tqdm(epochs, desc="softmax regression", leave=False)
        for _ in epochs:
            # Full batch (batch_size None): one step on all n examples, no shuffling.
            for xb, yb in iterate_minibatches(x, idx, self.batch_size or n, rng=rng,
                                              shuffle=self.batch_size is not None):
                _, dw, db = softmax_regression_loss(w, b, xb, yb)
                w -= self.lr * dw
                b -= self.lr * db
            for (xs, ys), prefix in zip([(x, idx)] + ([val] if val else []),
                                        ["", "val_"]):
                z = linear(xs, w, b)
                history.log(**{prefix + "loss": float(cross_entropy(z, ys)),
                               prefix + "accuracy": _accuracy(z, ys)})
            if self.progress:
                epochs.set_postfix(loss=f"{history['loss'][-1]:.4f}")
        self.coef_, self.intercept_ = w, b
        self.history_ = history
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Softmax of the K scores, shape (n, K); every row sums to one."""
        return softmax(self.decision_function(X), dim=1)


# ------------------------------------------------------------ confusion matrix
def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    r"""Count how often each true class was predicted as each class.

    y_true, y_pred : (n,) integer class indices in [0, K).
    num_classes : K; None means ``max(y_true.max(), y_pred.max()) + 1``.
    Returns C of shape (K, K), int64, with :math:`C_{ij}` = number of samples of true
    class i predicted as class j (rows = true class, as in scikit-learn). The diagonal
    holds the correct predictions. Explained in chapter 3.
    """
    t = as_int_array(y_true, "y_true", ndim=1)
    p = as_int_array(y_pred, "y_pred", ndim=1)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got "
                         f"y_true.shape={t.shape} and y_pred.shape={p.shape}")
    if num_classes is None:
        if t.size == 0:
            raise ValueError("num_classes=None needs non-empty labels to infer K from")
        num_classes = int(max(t.max(), p.max())) + 1
    k = check_positive_int(num_classes, "num_classes")
    for arr, name in ((t, "y_true"), (p, "y_pred")):
        if arr.size and (arr.min() < 0 or arr.max() >= k):
            raise ValueError(f"{name} must hold class indices in [0, {k}), got values "
                             f"from {arr.min()} to {arr.max()}")
    # Each (true, predicted) pair becomes one number t*K + p; counting those counts
    # the pairs.
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def most_confused_pairs(cm, top: int = 5) -> list[tuple[int, int, int]]:
    """The largest off-diagonal entries of a confusion matrix.

    cm : (K, K) counts, rows = true class. Returns up to ``top`` triples
    ``(true_class, predicted_class, count)`` with count > 0, largest count first (ties
    by true then predicted class). Explained in chapter 3.
    """
    c = as_int_array(cm, "cm", ndim=2)
    if c.shape[0] != c.shape[1]:
        raise ValueError(f"cm must be square (K, K), got shape {c.shape}")
    if c.size and c.min() < 0:
        raise ValueError(f"cm must hold non-negative counts, got minimum {c.min()}")
    top = check_positive_int(top, "top")
    pairs = [(int(i), int(j), int(c[i, j])) for i in range(c.shape[0])
             for j in range(c.shape[1]) if i != j and c[i, j] > 0]
    pairs.sort(key=lambda t: (-t[2], t[0], t[1]))
    return pairs[:top]


# -------------------------------------------------------------------- figure
def plot_output_probabilities(image, probabilities: dict, class_names=None,
                              true_label: int | None = None):
    """One input image beside a bar chart of the K outputs of each model.

    image : (H, W) grey image in [0, 1]; probabilities : {model name: (K,) outputs};
    class_names : K names (default "0".."K-1"); true_label : index of the true class
    (its bar is outlined). Returns the matplotlib Figure. Explained in chapter 3.
    """
    img = as_float_array(image, "image", ndim=2)
    if not isinstance(probabilities, dict) or not probabilities:
        raise TypeError(f"probabilities must be a non-empty dict {{name: (K,) array}}, "
                        f"got {type(probabilities).__name__}")
    probs = {str(name): as_float_array(p, f"probabilities[{name!r}]", ndim=1,
                                       finite=True)
             for name, p in probabilities.items()}
    k = next(iter(probs.values())).shape[0]
    for name, p in probs.items():
        if p.shape != (k,):
            raise ValueError(f"probabilities[{name!r}] must have shape ({k},) like the "
                             f"first model's, got {p.shape}")
    names = [str(i) for i in range(k)] if class_names is None else \
        [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"class_names must have {k} entries, got {len(names)}")
    if true_label is not None:
        true_label = check_positive_int(true_label, "true_label", allow_zero=True)
        if true_label >= k:
            raise ValueError(f"true_label must be in [0, {k}), got {true_label}")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 1 + len(probs), figsize=(3 + 3.6 * len(probs), 3),
                             gridspec_kw={"width_ratios": [1] + [1.6] * len(probs)})
    axes[0].imshow(img, cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("input" if true_label is None else f"input (true: "
                      f"{names[true_label]})")
    axes[0].set_xlabel("pixel column")
    axes[0].set_ylabel("pixel row")
    axes[0].set_xticks([])
    axes[0].set_yticks([])
    for ax, (name, p) in zip(axes[1:], probs.items()):
        colors = ["C1" if i == int(np.argmax(p)) else "C0" for i in range(k)]
        bars = ax.bar(range(k), p, color=colors)
        if true_label is not None:
            bars[true_label].set_edgecolor("black")
            bars[true_label].set_linewidth(2)
        ax.set_xticks(range(k))
        ax.set_xticklabels(names, rotation=45 if max(map(len, names)) > 2 else 0)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{name} (sum = {p.sum():.2f})")
        ax.set_xlabel("class")
        ax.set_ylabel("output $h_\\Theta(x)_k$")
    fig.tight_layout()
    return fig
