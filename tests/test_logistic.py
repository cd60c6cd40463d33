"""Logistic regression: gradient, convergence, and agreement with scikit-learn and
PyTorch on the same data."""
import warnings

import numpy as np
import pytest

from cnnlib import check_gradient
from cnnlib.models.logistic import LogisticRegression, NotFittedError, cost_and_gradient

DEVICES = ["cpu", "cuda"]


def _skip_without(device):
    import torch
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("cuda: torch.cuda.is_available() is False on this machine")
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def _blobs(m=200, n=3, shift=1.0, rng=0):
    """Two overlapping Gaussian clouds (not separable when shift is small)."""
    rng = np.random.default_rng(rng)
    y = (rng.random(m) < 0.5).astype(np.int64)
    X = rng.normal(size=(m, n)) + shift * (2 * y[:, None] - 1) * np.linspace(1, 0.2, n)
    return X, y


def _breast_cancer(columns=(1, 4, 7, 9)):
    """Four standardised features of scikit-learn's breast-cancer data: not linearly
    separable (accuracy about 94%), so the unregularised maximum-likelihood estimate
    exists, and well conditioned, so gradient descent reaches it in ~1000 steps."""
    from sklearn.datasets import load_breast_cancer
    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, list(columns)]
    return (X - X.mean(0)) / X.std(0), y


def _sk_unpenalised(**kw):
    """scikit-learn >= 1.8 spells "no penalty" C=np.inf (penalty=None is deprecated
    there and removed in 1.10); Newton's method gives a reference exact to ~1e-14."""
    from sklearn.linear_model import LogisticRegression as SkLR
    return SkLR(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000, **kw)


# ------------------------------------------------------------------ the cost itself
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_gradient_matches_finite_differences(l2):
    X, y = _blobs(m=30, n=4, rng=1)
    theta = np.random.default_rng(2).normal(size=5)
    err = check_gradient(lambda t: cost_and_gradient(t, X, y, l2)[0],
                         lambda t: cost_and_gradient(t, X, y, l2)[1], theta)
    assert err < 1e-7, err


def test_cost_is_the_negative_mean_log_likelihood():
    X, y = _blobs(m=25, n=3, rng=3)
    theta = np.array([0.3, -1.0, 0.5, 2.0])
    p = 1 / (1 + np.exp(-(X @ theta[1:] + theta[0])))
    loglik = y * np.log(p) + (1 - y) * np.log(1 - p)         # the notes' L(y, yhat)
    J, grad = cost_and_gradient(theta, X, y)
    assert J == pytest.approx(-loglik.mean(), rel=1e-12)
    X1 = np.c_[np.ones(len(X)), X]
    np.testing.assert_allclose(grad, X1.T @ (p - y) / len(y), rtol=1e-12, atol=1e-15)
    # the penalty leaves the bias alone
    J2, grad2 = cost_and_gradient(theta, X, y, l2=0.5)
    assert J2 == pytest.approx(J + 0.25 * np.sum(theta[1:] ** 2), rel=1e-12)
    np.testing.assert_allclose(grad2 - grad, 0.5 * np.r_[0, theta[1:]], atol=1e-15)


def test_cost_is_finite_for_huge_logits():
    X = np.array([[1.0], [-1.0], [1.0]])
    y = np.array([0, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")                     # no overflow warnings
        J, grad = cost_and_gradient(np.array([0.0, 1e4]), X, y)
    # two examples are confidently wrong by z = 1e4 each: loss 2e4 / 3
    assert J == pytest.approx(2e4 / 3, rel=1e-12)
    np.testing.assert_allclose(grad, [0.0, 2 / 3], atol=1e-15)


def test_batch_of_one_and_float32():
    J, grad = cost_and_gradient(np.zeros(3, np.float32), np.ones((1, 2), np.float32), [1])
    assert J == pytest.approx(np.log(2), rel=1e-6)
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, [-0.5, -0.5, -0.5])


# ---------------------------------------------------------------- training behaviour
def test_full_batch_gd_decreases_the_loss_and_reaches_the_optimum():
    X, y = _blobs(m=300, n=3, shift=0.6, rng=4)
    model = LogisticRegression(lr=1.0, epochs=400).fit(X, y)
    loss = np.array(model.history_["loss"])
    assert loss.shape == (400,)
    # convex with lr below 1/L = 4 / lambda_max(X1^T X1 / m): monotone decrease
    assert np.all(np.diff(loss) <= 1e-15)
    assert loss[0] < np.log(2)                            # started from theta = 0
    _, grad = cost_and_gradient(model.theta_, X, y)
    assert np.abs(grad).max() < 1e-8
    assert 0.6 < model.score(X, y) < 1.0                  # overlapping classes


def test_separable_data_loss_goes_to_zero_and_weights_grow():
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0, 0, 1, 1])
    short = LogisticRegression(lr=1.0, epochs=50).fit(X, y)
    long = LogisticRegression(lr=1.0, epochs=2000).fit(X, y)
    assert short.score(X, y) == long.score(X, y) == 1.0
    assert long.history_["loss"][-1] < 1e-3 < short.history_["loss"][-1]
    # no finite minimiser: gradient descent keeps scaling the weight up
    assert long.coef_[0, 0] > 2 * short.coef_[0, 0] > 0


def test_minibatch_is_reproducible_and_depends_on_the_seed():
    X, y = _blobs(m=100, n=2, rng=5)
    a = LogisticRegression(lr=0.5, epochs=5, batch_size=16, rng=7).fit(X, y).theta_
    b = LogisticRegression(lr=0.5, epochs=5, batch_size=16, rng=7).fit(X, y).theta_
    c = LogisticRegression(lr=0.5, epochs=5, batch_size=16, rng=8).fit(X, y).theta_
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-6
    gen = np.random.default_rng(7)                     # a Generator is used as given
    d = LogisticRegression(lr=0.5, epochs=5, batch_size=16, rng=gen).fit(X, y).theta_
    np.testing.assert_array_equal(a, d)


def test_one_batch_of_everything_equals_full_batch():
    X, y = _blobs(m=64, n=3, rng=6)
    full = LogisticRegression(lr=0.5, epochs=20).fit(X, y).theta_
    big = LogisticRegression(lr=0.5, epochs=20, batch_size=1000).fit(X, y).theta_
    np.testing.assert_allclose(big, full, rtol=1e-12)     # only summation order differs


def test_sgd_with_batches_of_one_converges_near_the_optimum():
    X, y = _blobs(m=100, n=2, shift=0.8, rng=9)
    sgd = LogisticRegression(lr=0.02, epochs=20, batch_size=1).fit(X, y)
    opt = LogisticRegression(lr=1.0, epochs=300).fit(X, y)
    assert sgd.history_["loss"][-1] < opt.history_["loss"][-1] + 0.01
    assert sgd.history_["loss"][-1] < sgd.history_["loss"][0]


def test_float32_stays_float32():
    X, y = _blobs(m=50, n=2, rng=10)
    model = LogisticRegression(lr=0.5, epochs=20).fit(X.astype(np.float32), y)
    assert model.theta_.dtype == np.float32
    assert model.predict_proba(X.astype(np.float32)).dtype == np.float32
    ref = LogisticRegression(lr=0.5, epochs=20).fit(X, y)
    # 20 steps of float32 arithmetic (eps 1.2e-7) on O(1) numbers
    np.testing.assert_allclose(model.theta_, ref.theta_, rtol=1e-5, atol=1e-6)


def test_predict_proba_predict_score_and_history():
    X, y = _blobs(m=120, n=2, rng=11)
    Xv, yv = _blobs(m=40, n=2, rng=12)
    model = LogisticRegression(lr=0.5, epochs=30, batch_size=32, progress=True)
    model.fit(X, y, validation_data=(Xv, yv))
    assert set(model.history_) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 30 for v in model.history_.values())
    p = model.predict_proba(X)
    assert p.shape == (120,) and np.all((p > 0) & (p < 1))
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-(X @ model.theta_[1:]
                                                     + model.theta_[0]))), rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), (p >= 0.5).astype(int))
    assert model.predict(X).dtype == np.int64
    assert np.all(model.predict(X, threshold=0.0) == 1)
    assert model.score(X, y) == pytest.approx(model.history_["accuracy"][-1])
    assert model.score(Xv, yv) == pytest.approx(model.history_["val_accuracy"][-1])
    np.testing.assert_array_equal(model.coef_, model.theta_[None, 1:])
    np.testing.assert_array_equal(model.intercept_, model.theta_[:1])
    assert "lr=0.5" in repr(model)


def test_theta_init_is_used_and_not_modified():
    X, y = _blobs(m=40, n=2, rng=13)
    start = np.array([1.0, -2.0, 3.0])
    model = LogisticRegression(lr=0.1, epochs=1).fit(X, y, theta_init=start)
    np.testing.assert_array_equal(start, [1.0, -2.0, 3.0])
    _, grad = cost_and_gradient(start, X, y)
    np.testing.assert_allclose(model.theta_, start - 0.1 * grad, rtol=1e-14)


# ------------------------------------------------------------------- scikit-learn
def test_agrees_with_sklearn_unregularised_on_breast_cancer():
    X, y = _breast_cancer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # no deprecation or convergence warnings
        sk = _sk_unpenalised().fit(X, y)
    model = LogisticRegression(lr=4.0, epochs=1500).fit(X, y)
    p_err = np.abs(model.predict_proba(X) - sk.predict_proba(X)[:, 1]).max()
    coef_err = np.abs(model.coef_ - sk.coef_).max()
    int_err = np.abs(model.intercept_ - sk.intercept_).max()
    # measured: ~1e-13 on probabilities, ~2e-12 on coefficients
    assert p_err < 1e-10 and coef_err < 1e-9 and int_err < 1e-9, (p_err, coef_err)
    np.testing.assert_array_equal(model.predict(X), sk.predict(X))


def test_agrees_with_sklearn_l2_penalty_on_all_features():
    """l2 = lambda matches scikit-learn's C = 1 / (m lambda) (its penalty is
    ||w||^2 / 2 on the *summed* loss)."""
    from sklearn.datasets import load_breast_cancer
    X, y = load_breast_cancer(return_X_y=True)        # all 30 features: separable,
    X = (X - X.mean(0)) / X.std(0)                    # so only the penalty makes the
    lam = 0.01                                         # minimum unique
    sk = _sk_unpenalised().set_params(C=1 / (len(y) * lam)).fit(X, y)
    model = LogisticRegression(lr=2.0, epochs=1500, l2=lam).fit(X, y)
    p_err = np.abs(model.predict_proba(X) - sk.predict_proba(X)[:, 1]).max()
    coef_err = np.abs(model.coef_ - sk.coef_).max()
    assert p_err < 1e-9 and coef_err < 1e-9, (p_err, coef_err)


# ------------------------------------------------------------------------ PyTorch
def _torch_gd(X, y, theta0, lr, epochs, batch_size, seed, l2, device, dtype):
    """The same gradient descent written with torch.nn and torch.optim: nn.Linear,
    BCEWithLogitsLoss (mean), SGD with weight decay on the weight only."""
    import torch
    Xt = torch.tensor(X, dtype=dtype, device=device)
    yt = torch.tensor(y, dtype=dtype, device=device)
    layer = torch.nn.Linear(X.shape[1], 1, dtype=dtype, device=device)
    with torch.no_grad():
        layer.bias.copy_(torch.tensor(theta0[:1]))
        layer.weight.copy_(torch.tensor(theta0[None, 1:]))
    opt = torch.optim.SGD([{"params": [layer.weight], "weight_decay": l2},
                           {"params": [layer.bias], "weight_decay": 0.0}], lr=lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(seed)
    m = len(y)
    for _ in range(epochs):
        if batch_size is None:
            batches = [np.arange(m)]
        else:
            order = rng.permutation(m)
            batches = [order[i:i + batch_size] for i in range(0, m, batch_size)]
        for idx in batches:
            idx_t = torch.as_tensor(idx, device=device)
            opt.zero_grad()
            loss_fn(layer(Xt[idx_t])[:, 0], yt[idx_t]).backward()
            opt.step()
    return np.r_[layer.bias.detach().cpu().numpy(),
                 layer.weight.detach().cpu().numpy()[0]].astype(np.float64)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("batch_size, l2", [(None, 0.0), (None, 0.05), (16, 0.0),
                                            (1, 0.01)])
def test_same_steps_as_pytorch_float64(device, batch_size, l2):
    _skip_without(device)
    import torch
    X, y = _blobs(m=80, n=4, rng=14)
    theta0 = np.random.default_rng(15).normal(size=5)
    epochs = 3 if batch_size == 1 else 25
    ours = LogisticRegression(lr=0.3, epochs=epochs, batch_size=batch_size, rng=16,
                              l2=l2).fit(X, y, theta_init=theta0).theta_
    ref = _torch_gd(X, y, theta0, 0.3, epochs, batch_size, 16, l2, device,
                    torch.float64)
    rel = np.abs(ours - ref).max() / np.abs(ref).max()
    assert rel < 1e-10, rel


@pytest.mark.parametrize("device", DEVICES)
def test_same_steps_as_pytorch_float32(device):
    _skip_without(device)
    import torch
    X, y = _blobs(m=80, n=4, rng=17)
    theta0 = np.random.default_rng(18).normal(size=5).astype(np.float32)
    ours = LogisticRegression(lr=0.3, epochs=25, batch_size=16, rng=19).fit(
        X.astype(np.float32), y, theta_init=theta0).theta_
    ref = _torch_gd(X.astype(np.float32), y, theta0, 0.3, 25, 16, 19, 0.0, device,
                    torch.float32)
    # 125 float32 steps (eps 1.2e-7), summation orders differ: a few 1e-6 relative
    rel = np.abs(ours - ref).max() / np.abs(ref).max()
    assert rel < 1e-5, rel


# ---------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(lr=0), ValueError, "lr must be a finite number > 0"),
    (dict(lr=-1.0), ValueError, "lr must be"),
    (dict(lr=float("nan")), ValueError, "lr must be"),
    (dict(lr="0.1"), TypeError, "lr must be a number"),
    (dict(epochs=0), ValueError, "epochs must be >= 1"),
    (dict(epochs=2.5), TypeError, "epochs must be an int"),
    (dict(batch_size=0), ValueError, "batch_size must be >= 1"),
    (dict(batch_size=8.0), TypeError, "batch_size must be an int"),
    (dict(rng="seed"), TypeError, "rng must be"),
    (dict(progress="yes"), TypeError, "progress must be True or False"),
    (dict(l2=-0.1), ValueError, "l2 must be a finite number >= 0"),
    (dict(l2=None), TypeError, "l2 must be a number"),
])
def test_bad_hyperparameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        LogisticRegression(**kwargs)


@pytest.mark.parametrize("X, y, exc, match", [
    (np.zeros(5), np.zeros(5), ValueError, "X must be 2-D"),
    (np.zeros((5, 2, 2)), np.zeros(5), ValueError, "X must be 2-D"),
    (np.zeros((0, 2)), np.zeros(0), ValueError, "at least one example"),
    (np.full((2, 2), np.nan), np.zeros(2), ValueError, "X must be finite"),
    ("abc", np.zeros(2), TypeError, "X must be a numeric array"),
    (np.zeros((5, 2)), np.zeros(4), ValueError, "same number of examples"),
    (np.zeros((5, 2)), np.zeros((5, 1)), ValueError, r"y must be 1-D.*ravel"),
    (np.zeros((5, 2)), np.array([0, 1, 2, 0, 1]), ValueError, "binary labels 0 or 1"),
    (np.zeros((5, 2)), np.array([0, 1, -1, 0, 1]), ValueError, "binary labels"),
    (np.zeros((2, 2)), np.array([0.5, 1.0]), ValueError, "binary labels"),
    (np.zeros((2, 2)), np.array(["a", "b"]), TypeError, "y must be a numeric array"),
])
def test_bad_training_data(X, y, exc, match):
    with pytest.raises(exc, match=match):
        LogisticRegression(epochs=1).fit(X, y)
    with pytest.raises(exc, match=match):
        cost_and_gradient(np.zeros(3), X, y)


def test_labels_may_be_bool_or_float():
    X, y = _blobs(m=30, n=2, rng=20)
    a = LogisticRegression(epochs=3).fit(X, y).theta_
    np.testing.assert_array_equal(LogisticRegression(epochs=3).fit(X, y == 1).theta_, a)
    np.testing.assert_array_equal(LogisticRegression(epochs=3).fit(X, y * 1.0).theta_, a)


def test_bad_fit_options():
    X, y = _blobs(m=10, n=2, rng=21)
    model = LogisticRegression(epochs=1)
    with pytest.raises(ValueError, match=r"theta_init must have shape \(3,\)"):
        model.fit(X, y, theta_init=np.zeros(2))
    with pytest.raises(ValueError, match="theta_init must be finite"):
        model.fit(X, y, theta_init=[np.inf, 0, 0])
    with pytest.raises(TypeError, match="validation_data must be a pair"):
        model.fit(X, y, validation_data=X)
    with pytest.raises(ValueError, match="X_val must have 2 features"):
        model.fit(X, y, validation_data=(np.zeros((3, 5)), np.zeros(3)))
    with pytest.raises(ValueError, match="binary labels"):
        model.fit(X, y, validation_data=(np.zeros((3, 2)), [0, 1, 3]))


def test_bad_cost_arguments():
    X, y = _blobs(m=10, n=2, rng=22)
    with pytest.raises(ValueError, match=r"theta must have shape \(3,\)"):
        cost_and_gradient(np.zeros(4), X, y)
    with pytest.raises(ValueError, match="theta must be 1-D"):
        cost_and_gradient(np.zeros((1, 3)), X, y)
    with pytest.raises(ValueError, match="l2 must be"):
        cost_and_gradient(np.zeros(3), X, y, l2=-1)


def test_predict_before_fit_and_feature_mismatch():
    model = LogisticRegression(epochs=1)
    for call in (lambda: model.predict_proba(np.zeros((2, 2))),
                 lambda: model.predict(np.zeros((2, 2))),
                 lambda: model.decision_function(np.zeros((2, 2))),
                 lambda: model.score(np.zeros((2, 2)), [0, 1]),
                 lambda: model.coef_, lambda: model.intercept_):
        with pytest.raises(NotFittedError, match="fit"):
            call()
    assert issubclass(NotFittedError, ValueError)
    X, y = _blobs(m=10, n=2, rng=23)
    model.fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but the model was fitted "
                                         "with 2"):
        model.predict_proba(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="X must be 2-D"):
        model.predict(np.zeros(2))
    with pytest.raises(ValueError, match=r"threshold must be a finite number in \[0, 1\]"):
        model.predict(X, threshold=1.5)
    with pytest.raises(TypeError, match="threshold must be a number"):
        model.predict(X, threshold="high")
    with pytest.raises(ValueError, match="same number of examples"):
        model.score(X, y[:5])


# --------------------------------------------------- the chapter's exercise checks
def _stable_sigmoid(z):
    z = np.asarray(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _gradient(theta, X, y):
    X1 = np.column_stack([np.ones(len(X), dtype=X.dtype), X])
    return X1.T @ (_stable_sigmoid(X1 @ theta) - y) / len(y)


def test_exercise_checks_pass_correct_answers(capsys):
    from cnnlib.checks import ch01

    def log_loss(z, y):
        z = np.asarray(z)
        y = np.asarray(y, dtype=z.dtype)
        return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))

    def gradient_descent(X, y, lr, epochs):
        theta = np.zeros(X.shape[1] + 1, dtype=X.dtype)
        for _ in range(epochs):
            theta = theta - lr * _gradient(theta, X, y)
        return theta

    assert ch01.check_sigmoid(_stable_sigmoid)
    assert ch01.check_log_loss(log_loss)
    assert ch01.check_log_loss_gradient(_gradient)
    assert ch01.check_gradient_descent(gradient_descent)
    assert ch01.check_learning_rate(1.0)
    out = capsys.readouterr().out
    assert out.count("✅") == 5 and "❌" not in out


def test_exercise_checks_catch_the_classic_mistakes(capsys):
    from cnnlib.checks import ch01

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not ch01.check_sigmoid(lambda z: 1 / (1 + np.exp(-np.asarray(z))))
        out = capsys.readouterr().out
        assert "z = -1e4 and +1e4" in out and "overflow" in out and "Hint" in out

        def naive_loss(z, y):
            h = 1 / (1 + np.exp(-z))
            return -np.mean(y * np.log(h) + (1 - y) * np.log(1 - h))
        assert not ch01.check_log_loss(naive_loss)
        assert "confidently wrong" in capsys.readouterr().out

    assert not ch01.check_log_loss(lambda z, y: np.maximum(z, 0) - z * y)   # no mean
    assert "wrong shape" in capsys.readouterr().out
    assert not ch01.check_log_loss_gradient(lambda t, X, y: -_gradient(t, X, y))
    assert "case 'theta = 0, one feature' failed (0 of 6" in capsys.readouterr().out
    assert not ch01.check_log_loss_gradient(
        lambda t, X, y: _gradient(t, X, y) * len(y))                       # forgot 1/m
    assert not ch01.check_gradient_descent(lambda X, y, lr, epochs: np.zeros(X.shape[1]))
    assert "wrong shape" in capsys.readouterr().out
    for lr, words in [(0.01, "too slowly"), (10.0, "overshoot"), ("big", "must be a number"),
                      (-1.0, "positive"), (None, "not implemented yet")]:
        assert not ch01.check_learning_rate(lr)
        assert words in capsys.readouterr().out


def test_exercise_checks_report_a_crash_without_raising(capsys):
    from cnnlib.checks import ch01

    def broken(z):
        return z.no_such_attribute

    assert not ch01.check_sigmoid(broken)
    out = capsys.readouterr().out
    assert "AttributeError" in out and "❌" in out
