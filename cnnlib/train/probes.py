r"""Measuring a frozen representation with few labels: k-nearest neighbours and a
linear probe.

Explained in chapter 11. A network trained without labels (SimCLR) or on another task
(transfer, chapter 10) turns each image into a feature vector h. How good those
features are for *our* classes is measured with the simplest classifiers on top,
trained on the few labelled images we have, the network itself left frozen:

* :func:`knn_predict`: each test image takes the majority label of the k labelled
  images whose features are most similar by cosine, :math:`\cos(h, h') = \langle h,
  h'\rangle / (\lVert h\rVert \lVert h'\rVert)` (votes weighted by
  :math:`e^{\cos / \tau}`, as in the k-NN monitor of the contrastive literature, so
  that a near neighbour counts more than a far one; ties are impossible in practice);
* :func:`linear_probe`: multinomial logistic regression (chapter 3's softmax
  classifier) on standardised features. scikit-learn's ``LogisticRegression`` fits it
  (L-BFGS to convergence, L2 penalty ``C``): the book has derived this classifier and
  its gradient already, and the probe must be fitted to the optimum every time, which a
  mature solver does in a fraction of a second; it is imported only when called.

Both take NumPy features: (n, d) arrays, labels (n,) integers.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_float_array, check_number, check_positive_int

__all__ = ["knn_predict", "knn_accuracy", "linear_probe", "standardize"]


def _features_and_labels(train, labels, test):
    train = as_float_array(train, "train_features", ndim=2)
    test = as_float_array(test, "test_features", ndim=2)
    labels = np.asarray(labels)
    if labels.shape != (len(train),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"train_labels must be integer labels of shape ({len(train)},) "
                         f"for train_features of shape {train.shape}, got "
                         f"{labels.dtype} of shape {labels.shape}")
    if train.shape[1] != test.shape[1]:
        raise ValueError(f"train_features and test_features must have the same number of "
                         f"features, got {train.shape} and {test.shape}")
    if len(train) == 0:
        raise ValueError("train_features must hold at least one labelled example")
    return train, labels, test


def knn_predict(train_features, train_labels, test_features, k: int = 20,
                temperature: float = 0.1, center: bool = True,
                batch_size: int = 1000) -> np.ndarray:
    r"""Labels of the test features by a weighted vote of their k nearest labelled
    neighbours by cosine similarity.

    train_features : (n, d); train_labels : (n,) ints in 0..C-1; test_features : (m, d).
    k : neighbours (at most n are used); temperature : tau of the weights
    :math:`e^{\cos/\tau}` (a large tau is a plain majority vote).
    center : subtract the mean of the labelled features from both sets first. Features
    after a ReLU are all positive, so every pair of them has a large cosine; centred,
    the cosine measures how two images differ from the average one.
    Returns (m,) int64 labels.
    """
    train, labels, test = _features_and_labels(train_features, train_labels,
                                               test_features)
    k = min(check_positive_int(k, "k"), len(train))
    tau = check_number(temperature, "temperature", low=0.0, low_open=True)
    n_classes = int(labels.max()) + 1
    if center:
        mean = train.mean(axis=0)
        train, test = train - mean, test - mean
    unit_train = train / np.maximum(np.linalg.norm(train, axis=1, keepdims=True), 1e-12)
    out = np.empty(len(test), dtype=np.int64)
    for start in range(0, len(test), batch_size):
        block = test[start:start + batch_size]
        unit = block / np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
        cos = unit @ unit_train.T                                   # (b, n)
        nearest = np.argpartition(-cos, k - 1, axis=1)[:, :k]       # (b, k)
        near_cos = np.take_along_axis(cos, nearest, axis=1)
        weights = np.exp((near_cos - 1.0) / tau)                    # in (0, 1]
        votes = np.zeros((len(block), n_classes))
        np.add.at(votes, (np.arange(len(block))[:, None], labels[nearest]), weights)
        out[start:start + len(block)] = votes.argmax(axis=1)
    return out


def knn_accuracy(train_features, train_labels, test_features, test_labels,
                 k: int = 20, temperature: float = 0.1, center: bool = True) -> float:
    """Fraction of test images whose :func:`knn_predict` label is right."""
    pred = knn_predict(train_features, train_labels, test_features, k, temperature,
                       center)
    return float(np.mean(pred == np.asarray(test_labels)))


def standardize(train, test) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays shifted and scaled by the training features' mean and standard
    deviation per feature (a constant feature is left at 0)."""
    train = as_float_array(train, "train", ndim=2)
    test = as_float_array(test, "test", ndim=2)
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    return (train - mean) / std, (test - mean) / std


def linear_probe(train_features, train_labels, test_features, test_labels=None, *,
                 C: float = 0.1, max_iter: int = 1000):
    """Fit softmax regression on the standardised training features and return the
    test accuracy (with ``test_labels``) or the predicted test labels (without).

    C : inverse L2 strength of scikit-learn's ``LogisticRegression`` (small C, strong
    penalty: with 10 labels per class and 128 features the unpenalised fit would
    separate the labelled images perfectly and generalise worse).
    """
    train, labels, test = _features_and_labels(train_features, train_labels,
                                               test_features)
    C = check_number(C, "C", low=0.0, low_open=True)
    from sklearn.linear_model import LogisticRegression

    train, test = standardize(train, test)
    clf = LogisticRegression(C=C, max_iter=check_positive_int(max_iter, "max_iter"))
    clf.fit(train, labels)
    pred = clf.predict(test)
    if test_labels is None:
        return pred
    return float(np.mean(pred == np.asarray(test_labels)))
