r"""Histograms of oriented gradients (HoG), the way scikit-image computes them.

Explained in chapter 6. A HoG descriptor describes an image by *which way its edges
run, region by region*, in four steps:

1. **Gradients.** Central differences along the rows and the columns,
   :math:`g_r(i, j) = I(i+1, j) - I(i-1, j)` and
   :math:`g_c(i, j) = I(i, j+1) - I(i, j-1)` (0 on the image's border), the
   convolution of the image with :math:`[-1, 0, 1]` and its transpose. Each pixel gets a
   magnitude :math:`m = \sqrt{g_r^2 + g_c^2}` and an unsigned orientation
   :math:`\theta = \operatorname{atan2}(g_r, g_c) \bmod 180°`, measured from the
   column axis towards the row axis (clockwise on screen, where rows go down).
2. **Cell histograms.** The image is cut into cells of ``pixels_per_cell`` pixels (the
   rows and columns beyond the last whole cell are dropped). In each cell, every pixel
   votes with its magnitude for the one orientation bin
   :math:`b = \lfloor \theta / (180° / B) \rfloor` of ``B = orientations`` bins that
   holds its orientation; the histogram is divided by the number of pixels in a cell.
3. **Block normalisation.** Overlapping blocks of ``cells_per_block`` cells, one block
   at every cell position, are each normalised as one vector :math:`v` (with
   :math:`\epsilon = 10^{-5}`): ``L1`` :math:`v / (\lVert v\rVert_1 + \epsilon)`;
   ``L1-sqrt`` :math:`\sqrt{v / (\lVert v\rVert_1 + \epsilon)}`; ``L2``
   :math:`v / \sqrt{\lVert v\rVert_2^2 + \epsilon^2}`; ``L2-Hys`` the L2 result
   clipped at 0.2 and L2-normalised again.
4. **The descriptor** is every normalised block, array of shape
   (n_blocks_row, n_blocks_col, cells_per_block[0], cells_per_block[1], orientations),
   flattened by default.

This reproduces ``skimage.feature.hog`` on grey images (same arguments, same layout,
same numbers to about 1e-7; scikit-image sums each cell's votes in single precision,
this module in double precision). Like scikit-image, and unlike Dalal and Triggs'
paper, a pixel votes for one bin of one cell: there is no interpolation between
neighbouring bins or cells and no Gaussian weighting inside a block.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_float_array, check_finite, check_in, check_pair, \
    check_positive_int

__all__ = ["BLOCK_NORMS", "image_gradients", "gradient_magnitude_orientation",
           "orientation_bins", "cell_histograms", "normalize_block", "hog", "hog_shape",
           "hog_features", "blocks_to_cells"]

#: The block normalisations scikit-image offers, its default (L2-Hys) last.
BLOCK_NORMS: tuple[str, ...] = ("L1", "L1-sqrt", "L2", "L2-Hys")

_EPS = 1e-5          # scikit-image's epsilon in every normalisation


# ------------------------------------------------------------------ validation
def _grey_images(image, name: str, ndim: int) -> np.ndarray:
    """A finite float array of grey images, (H, W) for ``ndim=2`` or (N, H, W) for 3."""
    img = as_float_array(image, name)
    if img.ndim != ndim:
        want = "(H, W)" if ndim == 2 else "(N, H, W)"
        colour = (img.ndim == ndim + 1 and img.shape[-1] in (3, 4))
        extra = (" A colour image? HoG here works on grey images: convert it first, e.g. "
                 "with cnnlib.data.load_photo(name, gray=True) or "
                 "skimage.color.rgb2gray(image).") if colour else ""
        raise ValueError(f"{name} must be a grey image of shape {want}, got an array of "
                         f"shape {img.shape}.{extra}")
    check_finite(img, name)
    return img


def _hog_options(orientations, pixels_per_cell, cells_per_block, block_norm):
    n = check_positive_int(orientations, "orientations")
    cell = check_pair(tuple(pixels_per_cell) if isinstance(pixels_per_cell, list)
                      else pixels_per_cell, "pixels_per_cell")
    block = check_pair(tuple(cells_per_block) if isinstance(cells_per_block, list)
                       else cells_per_block, "cells_per_block")
    if not isinstance(block_norm, str):
        raise TypeError(f"block_norm must be a str, one of {list(BLOCK_NORMS)}, got "
                        f"{type(block_norm).__name__}")
    check_in(block_norm, "block_norm", BLOCK_NORMS)
    return n, cell, block


def hog_shape(image_shape, orientations: int = 9, pixels_per_cell=(8, 8),
              cells_per_block=(3, 3)) -> tuple[int, int, int, int, int]:
    """The shape of the (unflattened) HoG of an image of ``image_shape`` (H, W):
    (n_blocks_row, n_blocks_col, cells_per_block[0], cells_per_block[1], orientations),
    with n_cells = H // pixels_per_cell[0] (and the same for W) and
    n_blocks = n_cells - cells_per_block + 1. Raises ``ValueError`` if the image is
    smaller than one block. Explained in chapter 6.
    """
    n, (ch, cw), (bh, bw) = _hog_options(orientations, pixels_per_cell, cells_per_block,
                                         "L2-Hys")
    if len(image_shape) != 2:
        raise ValueError(f"image_shape must be (H, W), got {tuple(image_shape)}")
    H, W = (int(s) for s in image_shape)
    rows, cols = H // ch - bh + 1, W // cw - bw + 1
    if rows <= 0 or cols <= 0:
        raise ValueError(f"the image is smaller than one block: a block of "
                         f"{bh} x {bw} cells of {ch} x {cw} pixels needs at least "
                         f"{bh * ch} rows and {bw * cw} columns, got an image of "
                         f"{H} x {W}")
    return rows, cols, bh, bw, n


# ------------------------------------------------------------------- step 1
def image_gradients(image) -> tuple[np.ndarray, np.ndarray]:
    r"""Central differences of an image along its rows and its columns.

    image : (..., H, W) grey image(s).
    Returns ``(g_row, g_col)``, each of the image's shape and float dtype:
    :math:`g_r(i, j) = I(i+1, j) - I(i-1, j)` and
    :math:`g_c(i, j) = I(i, j+1) - I(i, j-1)`, 0 in the first and last row (for
    :math:`g_r`) and column (for :math:`g_c`). This is the convolution with the
    kernel :math:`[-1, 0, 1]` (columns) and its transpose (rows), without the factor
    1/2 of a derivative. Explained in chapter 6.
    """
    img = as_float_array(image, "image")
    if img.ndim < 2:
        raise ValueError(f"image must have at least 2 dimensions (..., H, W), got shape "
                         f"{img.shape}")
    g_row = np.zeros_like(img)
    g_col = np.zeros_like(img)
    g_row[..., 1:-1, :] = img[..., 2:, :] - img[..., :-2, :]
    g_col[..., :, 1:-1] = img[..., :, 2:] - img[..., :, :-2]
    return g_row, g_col


def gradient_magnitude_orientation(g_row, g_col) -> tuple[np.ndarray, np.ndarray]:
    r"""Magnitude :math:`\sqrt{g_r^2 + g_c^2}` and unsigned orientation
    :math:`\operatorname{atan2}(g_r, g_c)` in degrees, modulo 180, in [0, 180].

    g_row, g_col : arrays of one shape. Returns two float64 arrays of that shape.
    The orientation is measured from the column axis (pointing right) towards the row
    axis (pointing down); an edge and the same edge with dark and light swapped get
    the same orientation. (180 itself can occur where rounding sends a tiny negative
    angle there; such a pixel falls in no bin, as in scikit-image.)
    Explained in chapter 6.
    """
    gr = np.asarray(g_row, dtype=np.float64)
    gc = np.asarray(g_col, dtype=np.float64)
    if gr.shape != gc.shape:
        raise ValueError(f"g_row and g_col must have the same shape, got {gr.shape} and "
                         f"{gc.shape}")
    # the same expressions as scikit-image, so that bin edges are met identically
    return np.hypot(gc, gr), np.rad2deg(np.arctan2(gr, gc)) % 180


def orientation_bins(orientation, orientations: int = 9) -> np.ndarray:
    r"""The bin of each orientation (degrees in [0, 180)) among ``orientations`` equal
    bins: bin b holds :math:`b \cdot 180/B \le \theta < (b + 1) \cdot 180/B`.

    Returns an int64 array of the input's shape; ``orientations`` (one past the last
    bin) marks an angle in no bin (180, or beyond the last edge after rounding).
    Explained in chapter 6.
    """
    n = check_positive_int(orientations, "orientations")
    theta = np.asarray(orientation, dtype=np.float64)
    edges = (180.0 / n) * np.arange(n + 1)       # scikit-image's edges, bit for bit
    return np.searchsorted(edges, theta, side="right") - 1


# ------------------------------------------------------------------- step 2
def _cell_histograms(img: np.ndarray, n: int, cell: tuple[int, int]) -> np.ndarray:
    """Unchecked core of :func:`cell_histograms` on (..., H, W) images; float64
    (..., n_cells_row, n_cells_col, n)."""
    ch, cw = cell
    g_row, g_col = image_gradients(img)              # in the image's float dtype
    rows, cols = img.shape[-2] // ch, img.shape[-1] // cw
    crop = (..., slice(0, rows * ch), slice(0, cols * cw))      # whole cells only
    magnitude, theta = gradient_magnitude_orientation(g_row[crop], g_col[crop])
    bins = orientation_bins(theta, n)                # n: in no bin
    # Every pixel adds its magnitude to one slot (image, cell, bin): slots are
    # numbered image by image, cell by cell, with n + 1 bins per cell (the last one
    # collects the pixels in no bin), and np.bincount adds up each slot's votes.
    cell_of_pixel = ((np.arange(rows * ch) // ch)[:, None] * cols
                     + (np.arange(cols * cw) // cw)[None, :])
    images = int(np.prod(img.shape[:-2], dtype=np.int64))
    per_image = rows * cols * (n + 1)
    slot = (np.arange(images).reshape(img.shape[:-2] + (1, 1)) * per_image
            + cell_of_pixel * (n + 1) + bins)
    hist = np.bincount(slot.ravel(), weights=magnitude.ravel(),
                       minlength=images * per_image)
    hist = hist.reshape(*img.shape[:-2], rows, cols, n + 1)[..., :n]
    return hist / (ch * cw)


def cell_histograms(image, orientations: int = 9, pixels_per_cell=(8, 8)) -> np.ndarray:
    r"""The orientation histogram of every cell of a grey image.

    image : (H, W) grey image; orientations : number of bins B over [0, 180);
    pixels_per_cell : (rows, columns) of a cell.
    Returns float64 (H // rows, W // columns, B): entry (r, c, b) is the mean over the
    cell's pixels of :math:`m \cdot [\text{bin}(\theta) = b]`, each pixel voting with
    its gradient magnitude m for the bin of its orientation. Explained in chapter 6.
    """
    img = _grey_images(image, "image", 2)
    n, cell, _ = _hog_options(orientations, pixels_per_cell, (1, 1), "L2-Hys")
    hog_shape(img.shape, n, cell, (1, 1))       # at least one whole cell
    return _cell_histograms(img, n, cell)


# ------------------------------------------------------------------- step 3
def _normalize_blocks(blocks: np.ndarray, method: str, eps: float) -> np.ndarray:
    """Normalise each block of (..., bh, bw, n) over its last three axes."""
    axes = (-3, -2, -1)
    if method in ("L1", "L1-sqrt"):
        out = blocks / (np.abs(blocks).sum(axis=axes, keepdims=True) + eps)
        return np.sqrt(out) if method == "L1-sqrt" else out
    out = blocks / np.sqrt((blocks ** 2).sum(axis=axes, keepdims=True) + eps ** 2)
    if method == "L2-Hys":
        out = np.minimum(out, 0.2)           # no single bin may dominate the block
        out = out / np.sqrt((out ** 2).sum(axis=axes, keepdims=True) + eps ** 2)
    return out


def normalize_block(block, method: str = "L2-Hys", eps: float = _EPS) -> np.ndarray:
    r"""Normalise one block of cell histograms as a single vector v.

    block : (bh, bw, B) histograms (any shape works: the whole array is one vector);
    method : ``"L1"`` :math:`v / (\lVert v \rVert_1 + \epsilon)`, ``"L1-sqrt"`` its
    square root, ``"L2"`` :math:`v / \sqrt{\lVert v \rVert_2^2 + \epsilon^2}`,
    ``"L2-Hys"`` the L2 result clipped at 0.2 and L2-normalised again.
    Returns float64 of the block's shape. The normalisation makes the descriptor
    blind to the block's contrast: multiplying the image by 3 changes it very little.
    Explained in chapter 6.
    """
    v = as_float_array(block, "block", finite=True).astype(np.float64)
    if not isinstance(method, str):
        raise TypeError(f"method must be a str, one of {list(BLOCK_NORMS)}, got "
                        f"{type(method).__name__}")
    check_in(method, "method", BLOCK_NORMS)
    if v.ndim == 0:
        raise ValueError("block must be an array of histograms, got a scalar")
    if np.any(v < 0):
        raise ValueError("block must hold histograms (values >= 0), got negative values")
    flat = v.reshape(1, 1, -1)
    return _normalize_blocks(flat, method, float(eps)).reshape(v.shape)


# ------------------------------------------------------------------- steps 1-4
def _hog(img: np.ndarray, n: int, cell, block, block_norm: str) -> np.ndarray:
    """HoG of (..., H, W) validated images: (..., nbr, nbc, bh, bw, n) in img's dtype."""
    hist = _cell_histograms(img, n, cell)
    bh, bw = block
    # all block positions at once: (..., nbr, nbc, n, bh, bw), then n moved last
    windows = np.lib.stride_tricks.sliding_window_view(hist, (bh, bw), axis=(-3, -2))
    blocks = np.moveaxis(windows, -3, -1)
    return _normalize_blocks(blocks, block_norm, _EPS).astype(img.dtype, copy=False)


def hog(image, orientations: int = 9, pixels_per_cell=(8, 8), cells_per_block=(3, 3),
        block_norm: str = "L2-Hys", feature_vector: bool = True) -> np.ndarray:
    r"""Histogram of oriented gradients of a grey image (``skimage.feature.hog``'s
    numbers, arguments and layout).

    image : (H, W) grey image, any real dtype (float32 stays float32, integers become
        float64 without rescaling, as in scikit-image).
    orientations : number B of orientation bins over [0°, 180°).
    pixels_per_cell : (rows, columns) of a cell; cells_per_block : (rows, columns) of
        cells in a block.
    block_norm : one of ``BLOCK_NORMS`` (see the module's docstring for the formulas).
    feature_vector : flatten the result.

    Returns the normalised blocks, of shape
    (n_blocks_row, n_blocks_col, cells_per_block[0], cells_per_block[1], B) with
    n_blocks = (H // pixels_per_cell) - cells_per_block + 1 along each axis
    (:func:`hog_shape`), or that array flattened, in the image's float dtype.
    Raises ``ValueError`` for a colour image, non-finite pixels or an image smaller
    than one block. Explained in chapter 6.
    """
    img = _grey_images(image, "image", 2)
    n, cell, block = _hog_options(orientations, pixels_per_cell, cells_per_block,
                                  block_norm)
    hog_shape(img.shape, n, cell, block)
    out = _hog(img, n, cell, block, block_norm)
    return out.ravel() if feature_vector else out


def hog_features(images, orientations: int = 9, pixels_per_cell=(8, 8),
                 cells_per_block=(3, 3), block_norm: str = "L2-Hys") -> np.ndarray:
    """The HoG of each image of a stack, as the rows of a design matrix.

    images : (N, H, W) grey images of one size. Returns (N, F) in the images' float
    dtype, row k equal to ``hog(images[k], ...)`` (F = the product of
    :func:`hog_shape`), computed for all images at once. Explained in chapter 6.
    """
    imgs = _grey_images(images, "images", 3)
    n, cell, block = _hog_options(orientations, pixels_per_cell, cells_per_block,
                                  block_norm)
    hog_shape(imgs.shape[1:], n, cell, block)
    return _hog(imgs, n, cell, block, block_norm).reshape(len(imgs), -1)


def blocks_to_cells(blocks) -> np.ndarray:
    """Add up, for every cell, its entries in all the blocks that contain it.

    blocks : (n_blocks_row, n_blocks_col, bh, bw, B), an unflattened HoG or anything of
    its shape, such as a linear classifier's weights reshaped with :func:`hog_shape`.
    Returns (n_blocks_row + bh - 1, n_blocks_col + bw - 1, B): one orientation
    histogram (or weight vector) per cell, ready to be drawn as glyphs. Cell (i, j)
    sits at position (i - r, j - c) of block (r, c). Explained in chapter 6.
    """
    b = as_float_array(blocks, "blocks", ndim=5)
    nbr, nbc, bh, bw, n = b.shape
    cells = np.zeros((nbr + bh - 1, nbc + bw - 1, n), dtype=np.float64)
    for i in range(bh):
        for j in range(bw):
            cells[i:i + nbr, j:j + nbc] += b[:, :, i, j]
    return cells
