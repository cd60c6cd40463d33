"""k-nearest neighbours and the linear probe (cnnlib.train.probes) on features whose
answer is known: separated clusters, the vote's weighting, centring, and bad input."""
import numpy as np
import pytest

from cnnlib.train.probes import knn_accuracy, knn_predict, linear_probe, standardize


def clusters(n_per, n_classes=4, d=6, spread=0.3, rng=0):
    rng = np.random.default_rng(rng)
    centres = rng.standard_normal((n_classes, d)) * 3
    y = np.repeat(np.arange(n_classes), n_per)
    return centres[y] + spread * rng.standard_normal((len(y), d)), y


def test_separated_clusters_are_classified_perfectly():
    x, y = clusters(10)
    xt, yt = clusters(25, rng=0)
    xt = xt + 0.01
    assert knn_accuracy(x, y, xt, yt, k=5) == 1.0
    assert linear_probe(x, y, xt, yt) == 1.0
    np.testing.assert_array_equal(linear_probe(x, y, xt), yt)


def test_knn_is_cosine_nearest_neighbour_with_k_1():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((30, 5)), rng.integers(0, 3, 30)
    q = rng.standard_normal((12, 5))
    pred = knn_predict(x, y, q, k=1, center=False)
    cos = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (
        x / np.linalg.norm(x, axis=1, keepdims=True)).T
    np.testing.assert_array_equal(pred, y[cos.argmax(axis=1)])
    # the length of a feature vector does not matter, only its direction
    np.testing.assert_array_equal(knn_predict(3 * x, y, 0.5 * q, k=1, center=False), pred)
    assert pred.dtype == np.int64 and pred.shape == (12,)


def test_a_close_neighbour_outvotes_several_far_ones():
    x = np.array([[1.0, 0.0], [0.0, 1.0], [0.1, 1.0], [-0.1, 1.0]])
    y = np.array([0, 1, 1, 1])
    q = np.array([[1.0, 0.05]])
    assert knn_predict(x, y, q, k=4, temperature=0.05, center=False)[0] == 0
    assert knn_predict(x, y, q, k=4, temperature=100.0, center=False)[0] == 1   # majority


def test_centring_helps_all_positive_features():
    """ReLU features share a large common component: centring removes it."""
    x, y = clusters(20, spread=1.0, rng=2)
    xt, yt = clusters(50, spread=1.0, rng=3)
    shift = 50.0
    centred = knn_accuracy(x + shift, y, xt + shift, yt, center=True)
    raw = knn_accuracy(x + shift, y, xt + shift, yt, center=False)
    assert centred >= raw and centred == knn_accuracy(x, y, xt, yt, center=True)


def test_k_larger_than_the_labelled_set_is_clipped():
    x, y = clusters(2)
    assert knn_predict(x, y, x, k=100).shape == (len(x),)


def test_standardize_uses_the_training_statistics_only():
    rng = np.random.default_rng(4)
    a, b = rng.normal(5, 2, (50, 3)), rng.normal(0, 1, (10, 3))
    a[:, 2] = 7.0                                          # a constant feature
    sa, sb = standardize(a, b)
    np.testing.assert_allclose(sa[:, :2].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(sa[:, :2].std(axis=0), 1)
    assert (sa[:, 2] == 0).all()
    np.testing.assert_allclose(sb[:, 0], (b[:, 0] - a[:, 0].mean()) / a[:, 0].std())


def test_bad_input_is_named():
    x, y = clusters(3)
    with pytest.raises(ValueError, match=r"train_labels must be integer labels of shape \(12,\)"):
        knn_predict(x, y[:5], x)
    with pytest.raises(ValueError, match="train_labels must be integer"):
        linear_probe(x, y.astype(float), x)
    with pytest.raises(ValueError, match="same number of features"):
        knn_predict(x, y, x[:, :2])
    with pytest.raises(ValueError, match="train_features must be 2-D"):
        knn_predict(x[0], y, x)
    with pytest.raises(ValueError, match="k must be"):
        knn_predict(x, y, x, k=0)
    with pytest.raises(ValueError, match="temperature"):
        knn_predict(x, y, x, temperature=0)
    with pytest.raises(ValueError, match="C must be"):
        linear_probe(x, y, x, C=-1)
