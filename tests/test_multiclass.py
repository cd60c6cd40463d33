"""Many classes (chapter 3): one-vs-rest, softmax regression and the confusion matrix.

Cross-checks: the softmax gradient against PyTorch autograd and finite differences,
softmax training against PyTorch's SGD, one-vs-rest against K separately trained
LogisticRegressions, both models against scikit-learn at convergence, and
confusion_matrix against scikit-learn's.
"""
from __future__ import annotations

import numpy as np
import pytest

from cnnlib.gradcheck import check_gradient
from cnnlib.models.logistic import LogisticRegression, NotFittedError
from cnnlib.models.multiclass import (OneVsRest, SoftmaxRegression, confusion_matrix,
                               most_confused_pairs, plot_output_probabilities,
                               softmax_regression_loss)

torch = pytest.importorskip("torch")

from torch_devices import DEVICES  # noqa: E402  (also turns TF32 off)

MODELS = [OneVsRest, SoftmaxRegression]


def blobs(n=300, rng=0, K=3, spread=1.0):
    """K overlapping Gaussian clouds in 2-D, standardised: a small, well-conditioned,
    non-separable problem whose unregularised optimum is finite."""
    rng = np.random.default_rng(rng)
    centers = np.array([[0.0, 0.0], [1.5, 0.5], [0.5, 1.5], [-1.0, 1.0]])[:K]
    y = rng.integers(0, K, n)
    X = centers[y] + spread * rng.normal(size=(n, 2))
    return (X - X.mean(0)) / X.std(0), y


@pytest.fixture(scope="module")
def data():
    return blobs()


# ----------------------------------------------------------- softmax gradient
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("seed", range(4))
def test_softmax_regression_loss_matches_torch_autograd(device, seed):
    rng = np.random.default_rng(seed)
    n, d, K = rng.integers(1, 20), rng.integers(1, 12), rng.integers(2, 8)
    W, b = rng.normal(size=(K, d)) * 2, rng.normal(size=K)
    X, y = rng.normal(size=(n, d)), rng.integers(0, K, n)
    loss, dW, db = softmax_regression_loss(W, b, X, y)

    Wt = torch.tensor(W, device=device, requires_grad=True)
    bt = torch.tensor(b, device=device, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(
        torch.tensor(X, device=device) @ Wt.T + bt, torch.tensor(y, device=device))
    lt.backward()
    assert abs(loss - lt.item()) <= 1e-10 * max(abs(lt.item()), 1e-12)
    for ours, theirs in ((dW, Wt.grad), (db, bt.grad)):
        theirs = theirs.cpu().numpy()
        err = np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-12)
        assert err <= 1e-10, err


def test_softmax_regression_loss_matches_finite_differences():
    rng = np.random.default_rng(1)
    K, d, n = 4, 5, 30
    W, b = rng.normal(size=(K, d)), rng.normal(size=K)
    X, y = rng.normal(size=(n, d)), rng.integers(0, K, n)
    err_w = check_gradient(lambda w: softmax_regression_loss(w, b, X, y)[0],
                           lambda w: softmax_regression_loss(w, b, X, y)[1], W.copy())
    err_b = check_gradient(lambda v: softmax_regression_loss(W, v, X, y)[0],
                           lambda v: softmax_regression_loss(W, v, X, y)[2], b.copy())
    assert err_w < 1e-7 and err_b < 1e-7, (err_w, err_b)


def test_softmax_gradient_is_softmax_minus_one_hot():
    rng = np.random.default_rng(2)
    W, b = rng.normal(size=(3, 4)), rng.normal(size=3)
    X, y = rng.normal(size=(10, 4)), rng.integers(0, 3, 10)
    _, dW, db = softmax_regression_loss(W, b, X, y)
    z = X @ W.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    delta = (p - np.eye(3)[y]) / len(y)
    np.testing.assert_allclose(dW, delta.T @ X, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(db, delta.sum(0), rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------ softmax training
@pytest.mark.parametrize("batch_size", [None, 16])
def test_softmax_training_matches_torch_sgd(data, batch_size):
    X, y = data
    model = SoftmaxRegression(lr=0.7, epochs=4, batch_size=batch_size, rng=3).fit(X, y)
    # Replay the same steps in PyTorch: same zero start, same shuffles.
    W = torch.zeros(3, 2, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([W, b], lr=0.7)
    rng = np.random.default_rng(3)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(4):
        order = np.arange(len(X)) if batch_size is None else rng.permutation(len(X))
        bs = len(X) if batch_size is None else batch_size
        for i in range(0, len(X), bs):
            rows = torch.tensor(order[i:i + bs])
            opt.zero_grad()
            torch.nn.functional.cross_entropy(Xt[rows] @ W.T + b, yt[rows]).backward()
            opt.step()
    np.testing.assert_allclose(model.coef_, W.detach().numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(model.intercept_, b.detach().numpy(), rtol=1e-10,
                               atol=1e-13)


def test_softmax_matches_sklearn_multinomial(data):
    from sklearn.linear_model import LogisticRegression as SkLogReg
    X, y = data
    sk = SkLogReg(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)  # C=inf: no penalty
    ours = SoftmaxRegression(lr=2.0, epochs=400).fit(X, y)
    # Both minimise the same convex loss; the remaining gap is the solvers' tolerance.
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-6)
    # Softmax is unchanged by adding one vector to every row of W: compare centred rows.
    centre = lambda w: w - w.mean(axis=0)
    np.testing.assert_allclose(centre(ours.coef_), centre(sk.coef_), atol=1e-5)
    assert np.array_equal(ours.predict(X), sk.predict(X))


def test_softmax_history_and_probabilities(data):
    X, y = data
    Xv, yv = blobs(100, rng=9)
    model = SoftmaxRegression(lr=0.5, epochs=30).fit(X, y, validation_data=(Xv, yv))
    h = model.history_
    assert set(h) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 30 for v in h.values())
    assert np.all(np.diff(h["loss"]) < 0)            # full batch, small step: descends
    assert h["accuracy"][-1] == pytest.approx(model.score(X, y))
    assert h["val_accuracy"][-1] == pytest.approx(model.score(Xv, yv))
    P = model.predict_proba(X)
    assert P.shape == (len(X), 3)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert model.theta_.shape == (3, 3)
    np.testing.assert_array_equal(model.theta_[:, 0], model.intercept_)


# ---------------------------------------------------------------- one-vs-rest
@pytest.mark.parametrize("batch_size", [None, 7])
def test_one_vs_rest_equals_K_separate_logistic_regressions(batch_size):
    X, y = blobs(120, rng=4, K=4)
    labels = np.array([3, 7, 9, 12])[y]               # any integers may be labels
    ovr = OneVsRest(lr=0.8, epochs=6, batch_size=batch_size, rng=5).fit(X, labels)
    np.testing.assert_array_equal(ovr.classes_, [3, 7, 9, 12])
    children = np.random.default_rng(5).spawn(4)
    for k, c in enumerate(ovr.classes_):
        unit = LogisticRegression(lr=0.8, epochs=6, batch_size=batch_size,
                                  rng=children[k]).fit(X, (labels == c).astype(int))
        np.testing.assert_array_equal(ovr.theta_[k], unit.theta_)
        np.testing.assert_array_equal(ovr.estimators_[k].theta_, unit.theta_)
        assert ovr.estimators_[k].history_["loss"] == unit.history_["loss"]
        np.testing.assert_array_equal(ovr.predict_proba(X)[:, k], unit.predict_proba(X))
    assert set(ovr.predict(X)) <= {3, 7, 9, 12}


def test_one_vs_rest_matches_sklearn(data):
    from sklearn.linear_model import LogisticRegression as SkLogReg
    from sklearn.multiclass import OneVsRestClassifier
    X, y = data
    sk = OneVsRestClassifier(SkLogReg(C=np.inf, tol=1e-12, max_iter=10_000)).fit(X, y)
    ours = OneVsRest(lr=4.0, epochs=400).fit(X, y)
    P = ours.predict_proba(X)
    raw = np.column_stack([e.predict_proba(X)[:, 1] for e in sk.estimators_])
    np.testing.assert_allclose(P, raw, atol=1e-6)
    # scikit-learn rescales the K outputs to sum to one; the units themselves do not.
    np.testing.assert_allclose(P / P.sum(1, keepdims=True), sk.predict_proba(X),
                               atol=1e-6)
    np.testing.assert_allclose(ours.coef_, np.vstack([e.coef_ for e in sk.estimators_]),
                               atol=1e-5)
    assert np.array_equal(ours.predict(X), sk.predict(X))


def test_one_vs_rest_outputs_need_not_sum_to_one(data):
    X, y = data
    Xv, yv = blobs(100, rng=9)
    model = OneVsRest(lr=1.0, epochs=20).fit(X, y, validation_data=(Xv, yv))
    sums = model.predict_proba(X).sum(axis=1)
    assert np.max(np.abs(sums - 1)) > 0.1
    assert set(model.history_) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    # "loss" is the sum of the K units' mean log-losses
    total = sum(u.history_["loss"][-1] for u in model.estimators_)
    assert model.history_["loss"][-1] == pytest.approx(total, rel=1e-12)
    assert model.history_["accuracy"][-1] == pytest.approx(model.score(X, y))
    assert model.history_["val_accuracy"][-1] == pytest.approx(model.score(Xv, yv))
    assert all(u.epochs == 20 and len(u.history_["loss"]) == 20
               for u in model.estimators_)


@pytest.mark.parametrize("Model", MODELS)
def test_float32_stays_float32_and_progress_bar_runs(Model, data, capsys):
    X, y = data
    model = Model(lr=0.5, epochs=3, batch_size=50, progress=True).fit(
        X.astype(np.float32), y)
    assert model.coef_.dtype == np.float32
    assert model.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert model.predict(X).dtype == y.dtype


@pytest.mark.parametrize("Model", MODELS)
def test_same_seed_same_model_and_other_seed_differs(Model, data):
    X, y = data
    a = Model(lr=0.5, epochs=2, batch_size=10, rng=1).fit(X, y)
    b = Model(lr=0.5, epochs=2, batch_size=10, rng=1).fit(X, y)
    c = Model(lr=0.5, epochs=2, batch_size=10, rng=2).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert not np.array_equal(a.coef_, c.coef_)


@pytest.mark.parametrize("Model", MODELS)
def test_learns_a_separable_problem(Model):
    X, y = blobs(200, rng=6, K=4, spread=0.15)
    model = Model(lr=1.0, epochs=50).fit(X, y)
    assert model.score(X, y) == 1.0


# ----------------------------------------------------------- confusion matrix
@pytest.mark.parametrize("seed", range(3))
def test_confusion_matrix_matches_sklearn(seed):
    from sklearn.metrics import confusion_matrix as sk_cm
    rng = np.random.default_rng(seed)
    K = int(rng.integers(2, 11))
    t, p = rng.integers(0, K, 200), rng.integers(0, K, 200)
    cm = confusion_matrix(t, p, K + 2)                      # extra, unseen classes
    np.testing.assert_array_equal(cm, sk_cm(t, p, labels=np.arange(K + 2)))
    assert cm.dtype == np.int64 and cm.sum() == 200
    np.testing.assert_array_equal(confusion_matrix(t, p), sk_cm(t, p))


def test_confusion_matrix_small_example_and_most_confused():
    cm = confusion_matrix([0, 0, 1, 1, 2, 2, 2], [0, 1, 1, 1, 0, 1, 2])
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 2, 0], [1, 1, 1]])
    assert most_confused_pairs(cm) == [(0, 1, 1), (2, 0, 1), (2, 1, 1)]
    assert most_confused_pairs(cm, top=1) == [(0, 1, 1)]
    assert most_confused_pairs(np.eye(3, dtype=int)) == []
    assert most_confused_pairs([[5, 0], [4, 1]]) == [(1, 0, 4)]


def test_plot_output_probabilities_returns_labelled_figure():
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plot_output_probabilities(np.zeros((8, 8)), {"softmax": [0.2, 0.8],
                                                       "one-vs-rest": [0.3, 0.9]},
                                    class_names=["cat", "dog"], true_label=1)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["input (true: dog)", "softmax (sum = 1.00)",
                      "one-vs-rest (sum = 1.20)"]
    assert all(ax.get_ylabel() for ax in fig.axes)
    plt.close(fig)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("Model", MODELS)
@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(lr=0), ValueError, "lr"), (dict(lr=-1.0), ValueError, "lr"),
    (dict(lr=float("nan")), ValueError, "lr"), (dict(lr="0.1"), TypeError, "lr"),
    (dict(epochs=0), ValueError, "epochs"), (dict(epochs=2.5), TypeError, "epochs"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=1.0), TypeError, "batch_size"),
    (dict(rng="seed"), TypeError, "rng"), (dict(progress="yes"), TypeError, "progress"),
])
def test_bad_hyperparameters(Model, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Model(**kwargs)


@pytest.mark.parametrize("Model", MODELS)
@pytest.mark.parametrize("X, y, exc, match", [
    (np.zeros(6), [0, 1] * 3, ValueError, "2-D"),
    (np.zeros((6, 2, 2)), [0, 1] * 3, ValueError, "reshape"),
    (np.zeros((0, 2)), [], ValueError, "at least one"),
    (np.full((4, 2), np.nan), [0, 1, 0, 1], ValueError, "finite"),
    (np.array([["a", "b"]] * 4), [0, 1, 0, 1], TypeError, "numeric"),
    (np.zeros((4, 2)), [0, 1, 0], ValueError, "one label per row"),
    (np.zeros((4, 2)), [[0, 1, 0, 1]], ValueError, "1-D"),
    (np.zeros((4, 2)), [0, 1, 0.5, 1], TypeError, "integer"),
    (np.zeros((4, 2)), [1, 1, 1, 1], ValueError, "at least 2 classes"),
])
def test_bad_training_data(Model, X, y, exc, match):
    with pytest.raises(exc, match=match):
        Model(epochs=1).fit(X, y)


@pytest.mark.parametrize("Model", MODELS)
def test_bad_validation_data_and_use_before_fit(Model, data):
    X, y = data
    with pytest.raises(TypeError, match="validation_data"):
        Model(epochs=1).fit(X, y, validation_data=X)
    with pytest.raises(ValueError, match="X_val must have 2 features"):
        Model(epochs=1).fit(X, y, validation_data=(np.zeros((3, 5)), [0, 1, 2]))
    with pytest.raises(ValueError, match="not seen in fit"):
        Model(epochs=1).fit(X, y, validation_data=(np.zeros((3, 2)), [0, 1, 5]))
    model = Model(epochs=1)
    for call in (model.predict, model.predict_proba, model.decision_function):
        with pytest.raises(NotFittedError, match="fit"):
            call(X)
    with pytest.raises(NotFittedError):
        model.theta_
    model.fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="2-D"):
        model.predict_proba(np.zeros(2))
    with pytest.raises(ValueError, match="one label per row"):
        model.score(X, y[:-1])


@pytest.mark.parametrize("args, exc, match", [
    ((np.zeros(3), np.zeros(3), np.zeros((2, 3)), [0, 1]), ValueError, "weight"),
    ((np.zeros((3, 2)), np.zeros(3), np.zeros((2, 4)), [0, 1]), ValueError,
     "in_features"),
    ((np.zeros((3, 2)), np.zeros(2), np.zeros((2, 2)), [0, 1]), ValueError, "bias"),
    ((np.zeros((3, 2)), None, np.zeros((2, 2)), [0, 1]), TypeError, "bias"),
    ((np.zeros((3, 2)), np.zeros(3), np.zeros((2, 2)), [0, 3]), ValueError,
     r"\[0, 3\)"),
    ((np.zeros((3, 2)), np.zeros(3), np.zeros((2, 2)), [0]), ValueError,
     "one label per row"),
    ((np.zeros((3, 2)), np.zeros(3), np.zeros((2, 2)), [0.5, 1]), TypeError,
     "integer"),
])
def test_softmax_regression_loss_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        softmax_regression_loss(*args)


@pytest.mark.parametrize("args, exc, match", [
    (([0, 1], [0, 1, 1]), ValueError, "same shape"),
    (([[0, 1]], [[0, 1]]), ValueError, "1-D"),
    (([0, -1], [0, 1]), ValueError, r"y_true must hold class indices"),
    (([0, 1], [0, 3], 3), ValueError, r"y_pred must hold class indices in \[0, 3\)"),
    (([0, 1], [0, 1], 0), ValueError, "num_classes"),
    (([0, 1], [0, 1], 2.0), TypeError, "num_classes"),
    (([], []), ValueError, "non-empty"),
    (([0.5, 1], [0, 1]), TypeError, "integer"),
    (("ab", [0, 1]), TypeError, "y_true"),
])
def test_confusion_matrix_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        confusion_matrix(*args)


@pytest.mark.parametrize("cm, top, exc, match", [
    (np.zeros((2, 3), int), 5, ValueError, "square"),
    (np.zeros(3, int), 5, ValueError, "2-D"),
    (-np.ones((2, 2), int), 5, ValueError, "non-negative"),
    (np.zeros((2, 2), int), 0, ValueError, "top"),
    (np.zeros((2, 2), int), "3", TypeError, "top"),
])
def test_most_confused_pairs_bad_input(cm, top, exc, match):
    with pytest.raises(exc, match=match):
        most_confused_pairs(cm, top)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(image=np.zeros(4)), ValueError, "image"),
    (dict(probabilities=[0.5, 0.5]), TypeError, "dict"),
    (dict(probabilities={}), TypeError, "dict"),
    (dict(probabilities={"a": [0.5, 0.5], "b": [1.0]}), ValueError, r"\(2,\)"),
    (dict(class_names=["x"]), ValueError, "class_names"),
    (dict(true_label=2), ValueError, "true_label"),
    (dict(true_label=-1), ValueError, "true_label"),
])
def test_plot_output_probabilities_bad_input(kwargs, exc, match):
    args = dict(image=np.zeros((4, 4)), probabilities={"a": [0.5, 0.5]})
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        plot_output_probabilities(**args)


# ------------------------------------------------- the chapter's exercise checks
def _solutions():
    def one_hot(labels, K):
        Y = np.zeros((len(labels), K))
        Y[np.arange(len(labels)), labels] = 1
        return Y

    def softmax(Z):
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)

    def gradient(Z, y):
        return (softmax(Z) - one_hot(y, Z.shape[1])) / len(y)

    def predict(Theta, X):
        return np.argmax(np.column_stack([np.ones(len(X)), X]) @ Theta.T, axis=1)

    def confusion(t, p, K):
        C = np.zeros((K, K), dtype=int)
        np.add.at(C, (t, p), 1)
        return C

    return one_hot, softmax, gradient, predict, confusion


def _wrong_solutions():
    one_hot, softmax, gradient, predict, confusion = _solutions()
    return (lambda labels, K: np.eye(int(np.max(labels)) + 1)[labels],   # K from data
            lambda Z: np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True),  # overflows
            lambda Z, y: -gradient(Z, y),                                # wrong sign
            lambda Theta, X: np.argmax(X @ Theta[:, 1:].T, axis=1),      # bias dropped
            lambda t, p, K: confusion(p, t, K))                          # transposed


def test_chapter_checks_accept_right_and_reject_wrong_answers(capsys):
    from cnnlib.checks import ch03
    checks = [ch03.check_one_hot, ch03.check_softmax, ch03.check_softmax_gradient,
              ch03.check_predict_from_theta, ch03.check_confusion_matrix]
    for check, right, wrong in zip(checks, _solutions(), _wrong_solutions()):
        assert check(right), capsys.readouterr().out
        assert not check(wrong)
        out = capsys.readouterr().out
        assert "❌" in out and "Hint" in out, out


@pytest.mark.parametrize("args, message", [
    (("fast", 5, 100), "lr must be a number"),
    ((1.0, 0, 100), "epochs must be a positive number"),
    ((1.0, 30, 100), "at most 10 epochs"),
    ((1.0, 5, 2.5), "whole numbers"),
])
def test_settings_check_rejects_bad_settings_without_training(args, message, capsys):
    from cnnlib.checks.ch03 import check_softmax_settings
    assert not check_softmax_settings(*args)
    assert message in capsys.readouterr().out
