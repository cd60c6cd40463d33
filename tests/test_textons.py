"""cnnlib.features.textons: the filter bank, k-means (against scikit-learn), texton maps
and histograms."""
import math

import numpy as np
import pytest
from scipy import ndimage

from cnnlib.features import textons as T


# ----------------------------------------------------------------- the filters
def test_gaussian_is_a_symmetric_weighted_mean():
    for sigma in (0.5, 1, 2.5):
        g = T.gaussian_kernel(sigma)
        r = math.ceil(3 * sigma)
        assert g.shape == (2 * r + 1, 2 * r + 1)
        assert g.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(g, g.T, atol=1e-15)
        np.testing.assert_allclose(g, g[::-1], atol=1e-15)
        assert g[r, r] == g.max()


@pytest.mark.parametrize("order", [1, 2])
def test_derivative_kernels_are_normalised_and_steer(order):
    for sigma in (1, 2):
        k0 = T.gaussian_derivative_kernel(sigma, 0.0, order)
        assert k0.sum() == pytest.approx(0.0, abs=1e-15)
        assert np.abs(k0).sum() == pytest.approx(1.0)
        k90 = T.gaussian_derivative_kernel(sigma, math.pi / 2, order)
        np.testing.assert_allclose(k90, k0.T, atol=1e-15)           # rows <-> columns
        k180 = T.gaussian_derivative_kernel(sigma, math.pi, order)
        np.testing.assert_allclose(k180, -k0 if order == 1 else k0, atol=1e-15)


def test_derivative_responses_have_the_documented_signs():
    rows, cols = np.indices((32, 32), dtype=float)
    ramp_right = 0.1 * cols                      # brightness grows along theta = 0
    edge = T.filter_responses(ramp_right, {"0": T.gaussian_derivative_kernel(2, 0.0),
                                           "90": T.gaussian_derivative_kernel(2, math.pi / 2)})
    inner = (slice(8, -8), slice(8, -8))
    assert np.all(edge[0][inner] > 0) and np.allclose(edge[1][inner], 0, atol=1e-12)
    bar = (np.abs(cols - 16) <= 1).astype(float)  # a bright vertical bar, along 90 deg
    across = T.filter_responses(bar, [T.gaussian_derivative_kernel(1, 0.0, 2)])[0]
    along = T.filter_responses(bar, [T.gaussian_derivative_kernel(1, math.pi / 2, 2)])[0]
    # (not exactly 0 along the bar: the sampled kernel's columns do not sum exactly to 0)
    assert across[16, 16] < 0 and abs(along[16, 16]) < 0.01 * abs(across[16, 16])
    blob = T.filter_responses(np.exp(-((rows - 16) ** 2 + (cols - 16) ** 2) / 8),
                              [T.laplacian_of_gaussian_kernel(2)])[0]
    assert blob[16, 16] == blob.min() < 0


def test_filter_bank_contents():
    bank = T.filter_bank((1, 2), 4)
    assert len(bank) == 2 * (2 * 4 + 2) == 20
    assert list(bank)[:5] == ["edge 0° σ=1", "edge 45° σ=1", "edge 90° σ=1",
                              "edge 135° σ=1", "bar 0° σ=1"]
    assert bank["LoG σ=2"].shape == (13, 13) and bank["Gaussian σ=1"].shape == (7, 7)
    np.testing.assert_array_equal(bank["bar 45° σ=2"],
                                  T.gaussian_derivative_kernel(2, math.pi / 4, 2))


def test_filter_responses_agree_with_scipy():
    """cnnlib's convolution with reflection padding is scipy's correlate with mode
    'mirror' (reflect without repeating the edge pixel)."""
    image = np.random.default_rng(0).random((23, 30))
    bank = T.filter_bank((1, 1.5), 3)
    out = T.filter_responses(image, bank)
    assert out.shape == (len(bank), 23, 30)
    for k, kernel in zip(out, bank.values()):
        np.testing.assert_allclose(k, ndimage.correlate(image, kernel, mode="mirror"),
                                   rtol=0, atol=1e-12)
    assert T.filter_responses(image.astype(np.float32), bank).dtype == np.float32


# ----------------------------------------------------------------------- k-means
def _data(kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        return rng.normal(size=(1500, 6))
    centres = rng.normal(scale=5, size=(10, 4))
    return centres[rng.integers(10, size=1500)] + rng.normal(scale=1.5, size=(1500, 4))


@pytest.mark.parametrize("kind", ["gaussian", "blobs"])
@pytest.mark.parametrize("k", [3, 10, 25])
def test_kmeans_inertia_within_one_percent_of_scikit_learn(kind, k):
    from sklearn.cluster import KMeans

    for seed in range(2):
        X = _data(kind, seed)
        centres, labels, inertia = T.kmeans(X, k, n_init=4, rng=seed)
        reference = KMeans(k, n_init=4, random_state=seed).fit(X).inertia_
        assert inertia <= 1.01 * reference, (kind, k, seed, inertia / reference)
        # the result is self-consistent: labels are the nearest centres, the inertia
        # their squared distances, every centre the mean of its points
        np.testing.assert_array_equal(labels, T.kmeans_assign(X, centres)[0])
        assert inertia == pytest.approx(((X - centres[labels]) ** 2).sum())
        assert centres.shape == (k, X.shape[1]) and labels.dtype == np.int64


def test_kmeans_centres_are_the_means_and_seed_makes_it_repeatable():
    X = _data("blobs", 3)
    c1, l1, i1 = T.kmeans(X, 5, rng=7, tol=0.0, max_iter=300)
    for j in range(5):
        np.testing.assert_allclose(c1[j], X[l1 == j].mean(axis=0), atol=1e-10)
    c2, l2, i2 = T.kmeans(X, 5, rng=7, tol=0.0, max_iter=300)
    np.testing.assert_array_equal(c1, c2)
    assert i1 == i2


def test_kmeans_edge_cases():
    X = np.array([[0.0, 0], [1, 0], [5, 5], [6, 5]])
    centres, labels, inertia = T.kmeans(X, 4, rng=0)
    assert inertia == 0 and sorted(map(tuple, centres)) == sorted(map(tuple, X))
    same = np.ones((10, 3))
    centres, labels, inertia = T.kmeans(same, 3, rng=0)      # fewer distinct points than k
    assert inertia == 0 and np.all(np.isfinite(centres))
    centres, labels, inertia = T.kmeans(X, 1, rng=0)
    np.testing.assert_allclose(centres[0], X.mean(axis=0))


def test_kmeans_assign_against_brute_force_and_ties():
    rng = np.random.default_rng(5)
    X, C = rng.normal(size=(200, 7)), rng.normal(size=(9, 7))
    labels, d = T.kmeans_assign(X, C)
    brute = ((X[:, None, :] - C[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(labels, brute.argmin(1))
    np.testing.assert_allclose(d, brute.min(1), rtol=1e-10, atol=1e-12)
    labels, _ = T.kmeans_assign(np.array([[0.5, 0.0]]), np.array([[0.0, 0.0], [1.0, 0.0]]))
    assert labels[0] == 0                          # a tie goes to the lower index


def test_kmeans_plusplus_spreads_the_seeds():
    X = np.r_[np.zeros((50, 2)), np.full((50, 2), 10.0), np.full((1, 2), -10.0)]
    seeds = T.kmeans_plusplus(X, 3, rng=0)
    assert {tuple(s) for s in seeds} == {(0.0, 0.0), (10.0, 10.0), (-10.0, -10.0)}


# ------------------------------------------------------------ maps and histograms
def test_texton_map_and_histogram():
    rng = np.random.default_rng(1)
    responses = rng.normal(size=(4, 6, 5))
    textons = rng.normal(size=(3, 4))
    m = T.texton_map(responses, textons)
    assert m.shape == (6, 5) and m.dtype == np.int64
    expected = T.kmeans_assign(responses.reshape(4, -1).T, textons)[0].reshape(6, 5)
    np.testing.assert_array_equal(m, expected)
    h = T.texton_histogram(m, 3)
    assert h.shape == (3,) and h.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(h, [np.mean(m == j) for j in range(3)])
    np.testing.assert_array_equal(T.texton_histogram([2, 2, 0, 2], 4), [0.25, 0, 0.75, 0])


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("call, error, says", [
    (lambda: T.gaussian_kernel(0), ValueError, "sigma must be a finite number > 0"),
    (lambda: T.gaussian_kernel("2"), TypeError, "sigma must be a number"),
    (lambda: T.gaussian_derivative_kernel(1, 0.0, order=3), ValueError, "order must be 1 or 2"),
    (lambda: T.filter_bank((), 4), ValueError, "at least one sigma"),
    (lambda: T.filter_bank((1,), 0), ValueError, "orientations must be >= 1"),
    (lambda: T.filter_responses(np.zeros((8, 8, 3)), [np.ones((3, 3))]), ValueError,
     "a colour image?"),
    (lambda: T.filter_responses(np.zeros((8, 8)), [np.ones((4, 4))]), ValueError,
     "square with an odd side"),
    (lambda: T.filter_responses(np.zeros((5, 5)), [np.ones((13, 13))]), ValueError,
     "too small for kernel"),
    (lambda: T.filter_responses(np.full((8, 8), np.inf), [np.ones((3, 3))]), ValueError,
     "must be finite"),
    (lambda: T.kmeans(np.zeros((3, 2)), 4), ValueError, "at most the number of points 3"),
    (lambda: T.kmeans(np.zeros(5), 2), ValueError, "X must be 2-D"),
    (lambda: T.kmeans(np.zeros((5, 2)), 2, rng="x"), TypeError, "rng must be"),
    (lambda: T.kmeans(np.zeros((5, 2)), 2, tol=-1), ValueError, "tol must be"),
    (lambda: T.kmeans(np.array([[np.nan, 0.0]] * 3), 2), ValueError, "must be finite"),
    (lambda: T.kmeans_assign(np.zeros((5, 2)), np.zeros((3, 3))), ValueError,
     "centres must have shape (k, 2)"),
    (lambda: T.texton_map(np.zeros((4, 5, 5)), np.zeros((3, 5))), ValueError,
     "one column per filter response"),
    (lambda: T.texton_histogram([0, 5], 3), ValueError, "labels must lie in 0..2"),
    (lambda: T.texton_histogram([], 3), ValueError, "labels is empty"),
    (lambda: T.texton_histogram([0.5], 3), TypeError, "integer class indices"),
])
def test_bad_input(call, error, says):
    with pytest.raises(error) as info:
        call()
    assert says in str(info.value)
