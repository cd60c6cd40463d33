"""cnnlib.features.kernels: the lecture notes' filters, Toeplitz matrices, apply_kernel."""
import numpy as np
import pytest

from cnnlib.functional import conv as C
from cnnlib.features import kernels as K

SEED_IMAGE = np.array([[1, 1, 1, 0, 0],
                       [0, 1, 1, 1, 0],
                       [0, 0, 1, 1, 1],
                       [0, 0, 1, 1, 0],
                       [0, 1, 1, 0, 0]], dtype=float)


def test_gallery_holds_the_lecture_kernels():
    np.testing.assert_array_equal(K.EDGE_DETECT_1, [[1, 0, -1], [0, 0, 0], [-1, 0, 1]])
    np.testing.assert_array_equal(K.EDGE_DETECT_2, [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    np.testing.assert_array_equal(K.EDGE_DETECT_3,
                                  [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    np.testing.assert_array_equal(K.SHARPEN, [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_allclose(K.BOX_BLUR, np.ones((3, 3)) / 9)
    np.testing.assert_allclose(K.GAUSSIAN_BLUR * 16, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    assert list(K.GALLERY) == ["identity", "edge detection 1", "edge detection 2",
                               "edge detection 3", "sharpen", "box blur", "Gaussian blur"]
    for name, k in K.GALLERY.items():
        assert k.shape == (3, 3) and k.dtype == np.float64, name
        # edge detectors ignore flat regions; the others keep their brightness
        assert k.sum() == pytest.approx(0 if name.startswith("edge") else 1), name
    with pytest.raises(ValueError):
        K.SHARPEN[0, 0] = 1                       # shared constants are read-only


def test_toeplitz_1d_lecture_example():
    T = K.toeplitz_1d([1, 0, 1], 5)
    np.testing.assert_array_equal(T, [[1, 0, 1, 0, 0], [0, 1, 0, 1, 0], [0, 0, 1, 0, 1]])
    np.testing.assert_array_equal(T @ np.array([1, 1, 1, 0, 0]), [2, 1, 1])


def test_toeplitz_1d_padded_is_the_notes_band():
    t0, t1, t2 = 2.0, 3.0, 5.0
    T = K.toeplitz_1d([t0, t1, t2], 5, padding=1)
    want = [[t1, t2, 0, 0, 0], [t0, t1, t2, 0, 0], [0, t0, t1, t2, 0],
            [0, 0, t0, t1, t2], [0, 0, 0, t0, t1]]
    np.testing.assert_array_equal(T, want)


@pytest.mark.parametrize("m,n,p", [(1, 4, 0), (3, 7, 2), (4, 4, 0), (5, 6, 1)])
def test_toeplitz_1d_equals_conv1d(m, n, p):
    rng = np.random.default_rng(m * 10 + n)
    theta, x = rng.normal(size=m), rng.normal(size=n)
    np.testing.assert_allclose(K.toeplitz_1d(theta, n, p) @ x,
                               C.conv1d(x[None], theta[None, None], padding=p)[0],
                               rtol=1e-12, atol=1e-12)


def test_toeplitz_2d_lecture_example():
    k = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=float)
    T = K.toeplitz_2d(k, (5, 5))
    assert T.shape == (9, 25)
    np.testing.assert_array_equal((T @ SEED_IMAGE.ravel()).reshape(3, 3),
                                  [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


@pytest.mark.parametrize("kshape,ishape,p", [((2, 3), (4, 5), 0), ((3, 3), (5, 4), 1),
                                             ((1, 1), (3, 3), 0), ((3, 2), (3, 2), 2)])
def test_toeplitz_2d_equals_conv2d(kshape, ishape, p):
    rng = np.random.default_rng(sum(kshape + ishape))
    k, img = rng.normal(size=kshape), rng.normal(size=ishape)
    out = C.conv2d(img[None, None], k[None, None], padding=p)[0, 0]
    np.testing.assert_allclose(K.toeplitz_2d(k, ishape, p) @ img.ravel(), out.ravel(),
                               rtol=1e-12, atol=1e-12)


def test_apply_kernel_gray_and_colour():
    rng = np.random.default_rng(0)
    rgb = rng.random((9, 11, 3))
    out = K.apply_kernel(rgb, K.SHARPEN)
    assert out.shape == rgb.shape
    for c in range(3):
        np.testing.assert_allclose(out[..., c], K.apply_kernel(rgb[..., c], K.SHARPEN),
                                   rtol=1e-12)
    np.testing.assert_allclose(K.apply_kernel(rgb[..., 0], K.IDENTITY), rgb[..., 0])
    flat = np.full((6, 6), 0.3)                     # inner pixels of a flat image
    assert np.allclose(K.apply_kernel(flat, K.EDGE_DETECT_3)[1:-1, 1:-1], 0)
    assert np.allclose(K.apply_kernel(flat, K.GAUSSIAN_BLUR)[1:-1, 1:-1], 0.3)
    assert K.apply_kernel(flat, K.BOX_BLUR, padding=0).shape == (4, 4)


@pytest.mark.parametrize("call,exc", [
    (lambda: K.toeplitz_1d([[1, 2]], 4), ValueError),
    (lambda: K.toeplitz_1d([1, 2, 3], 2), ValueError),
    (lambda: K.toeplitz_1d([], 2), ValueError),
    (lambda: K.toeplitz_1d([1, 2], 0), ValueError),
    (lambda: K.toeplitz_1d([1, 2], 3, padding=-1), ValueError),
    (lambda: K.toeplitz_1d([1, 2], 3.0), TypeError),
    (lambda: K.toeplitz_2d(np.ones(3), (4, 4)), ValueError),
    (lambda: K.toeplitz_2d(np.ones((3, 3)), (2, 4)), ValueError),
    (lambda: K.toeplitz_2d(np.ones((3, 3)), 4), ValueError),
    (lambda: K.toeplitz_2d(np.ones((3, 3)), (4, 0)), ValueError),
    (lambda: K.apply_kernel(np.ones((4, 4, 3, 1)), K.SHARPEN), ValueError),
    (lambda: K.apply_kernel(np.ones((4, 4)), np.ones(3)), ValueError),
    (lambda: K.apply_kernel("photo", K.SHARPEN), TypeError),
])
def test_bad_input(call, exc):
    with pytest.raises(exc):
        call()
