"""cnnlib.features.oriented_gradients (hog): HoG step by step, and agreement with skimage.feature.hog."""
import subprocess
import sys

import numpy as np
import pytest
from skimage import data as skdata
from skimage.feature import hog as skimage_hog

from cnnlib.data import load_photo
import cnnlib.features.oriented_gradients as H

PHOTOS = ["camera", "astronaut", "coffee", "coins", "brick"]
SETTINGS = [  # (orientations, pixels_per_cell, cells_per_block)
    (9, (8, 8), (3, 3)),            # scikit-image's defaults
    (9, (5, 5), (2, 2)),            # the face detector of chapter 6
    (6, (7, 4), (2, 3)),            # non-square cells and blocks
    (12, (16, 16), (1, 1)),         # large cells, one-cell blocks
]
# scikit-image adds each cell's votes in single precision (a C float), cnnlib in double
# precision; with at most 256 votes per cell the descriptors differ by less than 1e-6
# (test_the_difference_is_skimages_single_precision_sum shows it is the only one).
ATOL = 1e-6


@pytest.fixture(scope="module")
def photos():
    return {name: load_photo(name, gray=True) for name in PHOTOS}


@pytest.mark.parametrize("block_norm", H.BLOCK_NORMS)
@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: f"{s[0]}-{s[1]}-{s[2]}")
def test_agrees_with_skimage_on_photographs(photos, block_norm, setting):
    orientations, cell, block = setting
    for name, image in photos.items():
        ours = H.hog(image, orientations, cell, block, block_norm)
        theirs = skimage_hog(image, orientations, cell, block, block_norm)
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, name
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=ATOL, err_msg=name)


@pytest.mark.parametrize("block_norm", H.BLOCK_NORMS)
def test_agrees_with_skimage_on_random_awkward_sizes(block_norm):
    rng = np.random.default_rng(6)
    for trial in range(12):
        cell = tuple(int(v) for v in rng.integers(3, 10, size=2))
        block = tuple(int(v) for v in rng.integers(1, 4, size=2))
        orientations = int(rng.integers(2, 13))
        # sizes that are not multiples of the cell: the last rows/columns are dropped
        shape = tuple(int(b * c + rng.integers(1, 3 * c)) for b, c in zip(block, cell))
        image = rng.random(shape) * rng.choice([1.0, 255.0])
        ours = H.hog(image, orientations, cell, block, block_norm, feature_vector=False)
        theirs = skimage_hog(image, orientations, cell, block, block_norm,
                             feature_vector=False)
        assert ours.shape == theirs.shape == H.hog_shape(shape, orientations, cell, block)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=ATOL,
                                   err_msg=f"{shape} {cell} {block} {orientations}")


@pytest.mark.parametrize("image, dtype", [
    (skdata.camera(), np.float64),                                  # uint8: not rescaled
    (skdata.camera().astype(np.float32) / 255, np.float32),         # float32 stays
    (skdata.checkerboard() > 127, np.float64),                      # bool
])
def test_dtypes_follow_skimage(image, dtype):
    ours = H.hog(image)
    theirs = skimage_hog(image)
    assert ours.dtype == theirs.dtype == dtype
    scale = np.abs(theirs).max()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=ATOL * max(scale, 1))


def _skimage_cells_in_single_precision(image, n, cell):
    """Cell histograms summed the way scikit-image's Cython loop sums them: a C float
    accumulator, pixel after pixel in row-major order, then divided by the cell's
    area in single precision."""
    g_row, g_col = H.image_gradients(image)
    magnitude, theta = H.gradient_magnitude_orientation(g_row, g_col)
    bins = H.orientation_bins(theta, n)
    ch, cw = cell
    rows, cols = image.shape[0] // ch, image.shape[1] // cw
    total = np.zeros((rows, cols, n), dtype=np.float32)
    for dr in range(ch):
        for dc in range(cw):
            m = magnitude[dr:rows * ch:ch, dc:cols * cw:cw]
            b = bins[dr:rows * ch:ch, dc:cols * cw:cw]
            vote = np.where(b[..., None] == np.arange(n), m[..., None], 0.0)
            total = (total.astype(np.float64) + vote).astype(np.float32)
    return (total / np.float32(ch * cw)).astype(np.float64)


def test_the_difference_is_skimages_single_precision_sum(photos):
    """Summed in single precision like scikit-image, the cells and hence the whole
    descriptor agree to rounding in double precision: the 1e-7 differences come from
    the accumulator and nothing else."""
    from cnnlib.features.oriented_gradients import _normalize_blocks

    image = photos["brick"]
    for block_norm in H.BLOCK_NORMS:
        cells = _skimage_cells_in_single_precision(image, 9, (8, 8))
        np.testing.assert_allclose(cells, H.cell_histograms(image, 9, (8, 8)), rtol=1e-6,
                                   atol=1e-9)
        windows = np.lib.stride_tricks.sliding_window_view(cells, (3, 3), axis=(0, 1))
        ours = _normalize_blocks(np.moveaxis(windows, -3, -1), block_norm, 1e-5).ravel()
        np.testing.assert_allclose(ours, skimage_hog(image, block_norm=block_norm),
                                   rtol=0, atol=1e-12)


def test_hog_features_stacks_hog_of_each_image():
    rng = np.random.default_rng(1)
    images = rng.random((7, 25, 31))
    stacked = H.hog_features(images, 9, (5, 5), (2, 2), "L1")
    assert stacked.shape == (7, int(np.prod(H.hog_shape((25, 31), 9, (5, 5), (2, 2)))))
    for k in range(7):
        np.testing.assert_allclose(stacked[k], H.hog(images[k], 9, (5, 5), (2, 2), "L1"),
                                   rtol=0, atol=1e-14)
    assert H.hog_features(images.astype(np.float32), 9, (5, 5), (2, 2)).dtype == np.float32


# ------------------------------------------------------------------ the steps
def test_gradients_are_the_central_difference_convolution():
    from cnnlib.features.kernels import apply_kernel

    image = np.random.default_rng(2).random((9, 12))
    g_row, g_col = H.image_gradients(image)
    np.testing.assert_allclose(g_col[:, 1:-1],
                               apply_kernel(image, np.array([[-1.0, 0, 1]]), padding=0),
                               rtol=0, atol=1e-14)
    np.testing.assert_allclose(g_row[1:-1, :],
                               apply_kernel(image, np.array([[-1.0], [0], [1]]), padding=0),
                               rtol=0, atol=1e-14)
    assert np.all(g_row[[0, -1]] == 0) and np.all(g_col[:, [0, -1]] == 0)


@pytest.mark.parametrize("g_row, g_col, degrees, bin9", [
    (0.0, 1.0, 0.0, 0),       # brightness grows to the right: a vertical edge
    (1.0, 0.0, 90.0, 4),      # grows downwards: a horizontal edge
    (1.0, 1.0, 45.0, 2),
    (0.0, -1.0, 0.0, 0),      # dark and light swapped: the same, unsigned orientation
    (-1.0, 1.0, 135.0, 6),
])
def test_orientation_convention(g_row, g_col, degrees, bin9):
    magnitude, theta = H.gradient_magnitude_orientation(np.array([g_row]), np.array([g_col]))
    assert theta[0] == pytest.approx(degrees) and magnitude[0] == pytest.approx(np.hypot(g_row, g_col))
    assert H.orientation_bins(theta, 9)[0] == bin9


def test_orientation_bins_edges_and_180():
    edges = np.array([0.0, 19.999, 20.0, 40.0, 179.999, 180.0])
    np.testing.assert_array_equal(H.orientation_bins(edges, 9), [0, 0, 1, 2, 8, 9])


def test_cell_histograms_of_a_vertical_edge():
    image = np.zeros((16, 24))
    image[:, 12:] = 1.0                          # a step between columns 11 and 12
    cells = H.cell_histograms(image, 9, (8, 8))
    assert cells.shape == (2, 3, 9)
    # columns 11 and 12 have g_col = 1; both lie in the middle column of cells, whose
    # 8 x 8 = 64 pixels hold 2 x 8 votes of 1 in bin 0
    expected = np.zeros((2, 3, 9))
    expected[:, 1, 0] = 16 / 64
    np.testing.assert_allclose(cells, expected, rtol=0, atol=1e-15)
    transposed = H.cell_histograms(image.T, 9, (8, 8))
    np.testing.assert_allclose(transposed[1, :, 4], 16 / 64)   # 90 degrees: bin 4


def test_normalisations_formulas_and_contrast_invariance():
    v = np.random.default_rng(3).random((3, 3, 9))
    v[0, 0, 0] = 30.0                            # one dominant bin: L2-Hys clips it
    eps = 1e-5
    np.testing.assert_allclose(H.normalize_block(v, "L1"), v / (v.sum() + eps))
    np.testing.assert_allclose(H.normalize_block(v, "L1-sqrt"), np.sqrt(v / (v.sum() + eps)))
    l2 = v / np.sqrt((v ** 2).sum() + eps ** 2)
    np.testing.assert_allclose(H.normalize_block(v, "L2"), l2)
    clipped = np.minimum(l2, 0.2)
    np.testing.assert_allclose(H.normalize_block(v, "L2-Hys"),
                               clipped / np.sqrt((clipped ** 2).sum() + eps ** 2))
    assert H.normalize_block(v, "L2-Hys").max() < H.normalize_block(v, "L2").max()
    np.testing.assert_array_equal(H.normalize_block(np.zeros((2, 2, 9)), "L2"), 0)
    image = load_photo("camera", gray=True, size=64)
    # three times the contrast: the same descriptor, up to the epsilon
    np.testing.assert_allclose(H.hog(3 * image), H.hog(image), rtol=0, atol=1e-4)
    assert not np.allclose(H.cell_histograms(3 * image), H.cell_histograms(image))


def test_blocks_to_cells():
    cells = np.random.default_rng(4).random((4, 5, 6))
    one_cell_blocks = cells[:, :, None, None, :]          # blocks of 1 x 1 cells
    np.testing.assert_array_equal(H.blocks_to_cells(one_cell_blocks), cells)
    counts = H.blocks_to_cells(np.ones((3, 4, 2, 2, 1)))[..., 0]
    np.testing.assert_array_equal(counts, [[1, 2, 2, 2, 1], [2, 4, 4, 4, 2],
                                           [2, 4, 4, 4, 2], [1, 2, 2, 2, 1]])


def test_hog_shape():
    assert H.hog_shape((128, 64), 9, (8, 8), (2, 2)) == (15, 7, 2, 2, 9)
    assert H.hog_shape((25, 25), 9, (5, 5), (2, 2)) == (4, 4, 2, 2, 9)
    assert H.hog_shape((31, 31), 9, (8, 8), (3, 3)) == (1, 1, 3, 3, 9)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("call, error, says", [
    (lambda: H.hog(np.zeros((64, 64, 3))), ValueError, "A colour image?"),
    (lambda: H.hog(np.zeros(64)), ValueError, "grey image of shape (H, W)"),
    (lambda: H.hog(np.zeros((23, 40))), ValueError, "at least 24 rows and 24 columns"),
    (lambda: H.hog(np.zeros((30, 23)), 9, (8, 8), (3, 3)), ValueError,
     "got an image of 30 x 23"),
    (lambda: H.hog(np.full((32, 32), np.nan)), ValueError, "must be finite"),
    (lambda: H.hog(np.zeros((32, 32)), block_norm="L3"), ValueError, "block_norm must be one of"),
    (lambda: H.hog(np.zeros((32, 32)), block_norm=2), TypeError, "block_norm must be a str"),
    (lambda: H.hog(np.zeros((32, 32)), orientations=0), ValueError, "orientations must be >= 1"),
    (lambda: H.hog(np.zeros((32, 32)), orientations=9.0), TypeError, "orientations must be an int"),
    (lambda: H.hog(np.zeros((32, 32)), pixels_per_cell=(8, 0)), ValueError,
     "pixels_per_cell[1] must be >= 1"),
    (lambda: H.hog(np.zeros((32, 32)), pixels_per_cell=(8, 8, 8)), ValueError,
     "pixels_per_cell must be an int or a pair"),
    (lambda: H.hog("camera"), TypeError, "image must be a numeric array"),
    (lambda: H.hog_features(np.zeros((32, 32))), ValueError, "(N, H, W)"),
    (lambda: H.cell_histograms(np.zeros((4, 4)), 9, (8, 8)), ValueError, "smaller than one block"),
    (lambda: H.normalize_block(-np.ones((2, 2, 9))), ValueError, "values >= 0"),
    (lambda: H.normalize_block(np.ones((2, 2, 9)), "max"), ValueError, "method must be one of"),
    (lambda: H.blocks_to_cells(np.ones((3, 3, 9))), ValueError, "blocks must be 5-D"),
    (lambda: H.gradient_magnitude_orientation(np.ones(3), np.ones(4)), ValueError,
     "same shape"),
])
def test_bad_input(call, error, says):
    with pytest.raises(error) as info:
        call()
    assert says in str(info.value)


def test_importing_the_features_stays_light():
    heavy = ("torch", "matplotlib", "sklearn", "skimage", "tqdm")
    code = ("import sys, cnnlib.features, cnnlib.viz.features; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"cnnlib.features imported heavy modules: {out}"
