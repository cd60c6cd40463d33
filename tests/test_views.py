"""Two random views per image (cnnlib.data.views): seeded, shapes and dtypes kept,
values in [0, 1], the two views differ from each other and from the image, Cutout
erases a square, and bad input is named."""
import numpy as np
import pytest

from cnnlib.data import transforms as T
from cnnlib.data.views import Cutout, TwoViews, digit_views


def digits(n=8, dtype=np.float32):
    rng = np.random.default_rng(0)
    x = np.zeros((n, 1, 28, 28), dtype=dtype)
    x[:, :, 6:22, 10:18] = rng.uniform(0.5, 1.0, (n, 1, 16, 8))     # a bar per image
    return x


def test_same_seed_same_views_other_seed_other_views():
    x = digits()
    views = digit_views()
    a1, b1 = views(x, 3)
    a2, b2 = views(x, np.random.default_rng(3))
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(b1, b2)
    a3, _ = views(x, 4)
    assert not np.array_equal(a1, a3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_dtypes_and_value_range(dtype):
    x = digits(16, dtype)
    a, b = digit_views()(x, 0)
    assert a.shape == b.shape == x.shape
    assert a.dtype == b.dtype == dtype
    for v in (a, b):
        assert np.isfinite(v).all() and v.min() >= 0.0 and v.max() <= 1.0


def test_the_two_views_are_independent_draws():
    x = digits(32)
    a, b = digit_views()(x, 1)
    differ = [not np.allclose(a[i], b[i]) for i in range(len(x))]
    assert all(differ)
    assert all(not np.allclose(a[i], x[i]) for i in range(len(x)))
    # the input is not changed in place
    np.testing.assert_array_equal(x, digits(32))


def test_an_identity_transform_gives_two_copies_of_the_batch():
    x = digits(4)
    a, b = TwoViews(T.Compose([]))(x, 0)
    np.testing.assert_array_equal(a, x)
    np.testing.assert_array_equal(b, x)


def test_cutout_erases_one_square_per_chosen_image():
    x = np.ones((50, 1, 28, 28))
    out = Cutout(size=6, p=1.0)(x, 0)
    erased = (out == 0).sum(axis=(1, 2, 3))
    assert erased.max() == 36 and erased.min() >= 9        # a corner keeps at least 3 x 3
    rows = np.flatnonzero((out[0, 0] == 0).any(axis=1))
    assert np.array_equal(rows, np.arange(rows[0], rows[-1] + 1))   # one contiguous block
    assert (Cutout(size=6, p=0.0)(x, 0) == x).all()
    half = Cutout(size=6, p=0.5)(np.ones((400, 1, 28, 28)), 0)
    assert 150 < ((half == 0).any(axis=(1, 2, 3))).sum() < 250


def test_views_of_a_batch_on_its_own_seed_match_per_image_statistics():
    """The augmentation moves pixels but keeps about the same ink: the mean brightness
    of a view stays within the jitter's range of the original's."""
    x = digits(64, np.float64)
    a, _ = digit_views(cutout_p=0.0)(x, 2)
    ratio = a.sum(axis=(1, 2, 3)) / x.sum(axis=(1, 2, 3))
    assert 0.3 < ratio.min() and ratio.max() < 1.7


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="transform must be a transform"):
        TwoViews(3)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        digit_views()(np.zeros((28, 28)), 0)
    with pytest.raises(ValueError, match="keep the shape"):
        TwoViews(T.RandomCrop(20))(digits(2), 0)
    with pytest.raises(ValueError, match="size"):
        Cutout(size=0)
    with pytest.raises(ValueError, match="p"):
        Cutout(p=1.5)
