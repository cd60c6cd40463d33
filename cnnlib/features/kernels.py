r"""Classic hand-made filters, and convolution written as a matrix.

Explained in chapter 4 (the banded "Toeplitz" matrix of a 1-D convolution) and
chapter 5 (the filter gallery on photographs, the doubly blocked matrix of a 2-D
convolution).

The gallery holds the classic 3x3 kernels of chapter 5, as float64 arrays:

================================  =================================================
``EDGE_DETECT_1``                 [[1, 0, -1], [0, 0, 0], [-1, 0, 1]]: responds to
                                  diagonal structure (corners, checkerboards)
``EDGE_DETECT_2``                 [[0, 1, 0], [1, -4, 1], [0, 1, 0]]: the discrete
                                  Laplacian, 4 neighbours
``EDGE_DETECT_3``                 [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]: the
                                  Laplacian with 8 neighbours (sign flipped)
``SHARPEN``                       [[0, -1, 0], [-1, 5, -1], [0, -1, 0]] = identity
                                  minus the Laplacian
``BOX_BLUR``                      ones(3, 3) / 9: the mean of the neighbourhood
``GAUSSIAN_BLUR``                 [[1, 2, 1], [2, 4, 2], [1, 2, 1]] / 16
================================  =================================================

Every edge detector sums to 0 (flat regions give 0), the blurs and sharpen sum to 1
(flat regions keep their brightness).
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_float_array, check_positive_int
from cnnlib.functional.conv import conv2d
from cnnlib.functional.im2col import conv_output_size

__all__ = ["IDENTITY", "EDGE_DETECT_1", "EDGE_DETECT_2", "EDGE_DETECT_3", "SHARPEN",
           "BOX_BLUR", "GAUSSIAN_BLUR", "GALLERY", "apply_kernel", "toeplitz_1d",
           "toeplitz_2d"]


def _constant(rows) -> np.ndarray:
    k = np.array(rows, dtype=np.float64)
    k.flags.writeable = False        # shared module constants: guard against k *= 2
    return k


IDENTITY = _constant([[0, 0, 0], [0, 1, 0], [0, 0, 0]])
EDGE_DETECT_1 = _constant([[1, 0, -1], [0, 0, 0], [-1, 0, 1]])
EDGE_DETECT_2 = _constant([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
EDGE_DETECT_3 = _constant([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
SHARPEN = _constant([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
BOX_BLUR = _constant(np.ones((3, 3)) / 9)
GAUSSIAN_BLUR = _constant(np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16)

#: name -> kernel, in the order of chapter 5's table (identity first).
GALLERY: dict[str, np.ndarray] = {
    "identity": IDENTITY,
    "edge detection 1": EDGE_DETECT_1,
    "edge detection 2": EDGE_DETECT_2,
    "edge detection 3": EDGE_DETECT_3,
    "sharpen": SHARPEN,
    "box blur": BOX_BLUR,
    "Gaussian blur": GAUSSIAN_BLUR,
}


def apply_kernel(image, kernel, padding="same") -> np.ndarray:
    """Filter a photograph with one 2-D kernel (deep learning's convolution).

    image : (H, W) grayscale or (H, W, 3) colour (each channel filtered on its own);
    kernel : (kh, kw); padding : as :func:`cnnlib.functional.conv.conv2d` (default ``'same'``:
    the result has the image's size, borders padded with zeros). Returns an array of
    the image's layout, not clipped (edge maps have negative values).
    Explained in chapter 5.
    """
    img = as_float_array(image, "image", ndim=(2, 3))
    k = as_float_array(kernel, "kernel", ndim=2)
    if img.ndim == 2:
        return conv2d(img[None, None], k[None, None], padding=padding)[0, 0]
    channels = img.shape[2]
    # groups=channels: every colour channel is convolved with its own copy of k
    weight = np.broadcast_to(k, (channels, 1) + k.shape)
    out = conv2d(np.moveaxis(img, 2, 0)[None], weight, padding=padding,
                 groups=channels)[0]
    return np.ascontiguousarray(np.moveaxis(out, 0, 2))


def toeplitz_1d(theta, n: int, padding: int = 0) -> np.ndarray:
    r"""The banded matrix ``T`` with ``T @ x == conv1d(x, theta, padding=padding)``.

    Row ``i`` holds the filter shifted to position ``i - padding``:
    :math:`T_{i, i + j - p} = \theta_j`, so :math:`(T x)_i = \sum_j \theta_j x_{i+j-p}`.
    It shows a convolutional layer as a fully connected one with most weights zero
    and the rest shared. theta : (m,); n : input length. Returns
    (n + 2 padding - m + 1, n). With ``padding=1`` and m = 3 this is the lecture
    5x5 band of chapter 4 with theta_1 on the diagonal. Explained in chapter 4.
    """
    t = as_float_array(theta, "theta", ndim=1)
    n = check_positive_int(n, "n")
    padding = check_positive_int(padding, "padding", allow_zero=True)
    m = t.shape[0]
    if m == 0:
        raise ValueError("theta must have at least one tap, got an empty array")
    try:
        rows = conv_output_size(n, m, padding=padding)       # n + 2 padding - m + 1
    except ValueError as exc:
        raise ValueError(f"theta has too many taps for the input: the {exc}") from None
    T = np.zeros((rows, n), dtype=t.dtype)
    for j in range(m):                               # one diagonal per tap
        i = np.arange(rows)
        col = i + j - padding
        keep = (col >= 0) & (col < n)                # taps on the padding vanish
        T[i[keep], col[keep]] = t[j]
    return T


def toeplitz_2d(kernel, image_shape, padding: int = 0) -> np.ndarray:
    r"""The doubly blocked Toeplitz matrix of a 2-D convolution.

    ``T @ image.ravel() == conv2d(image, kernel, padding=padding).ravel()`` for an
    image of shape ``image_shape = (H, W)``: :math:`T_{(i, j), (i+m-p, j+n-p)} = K(m, n)`.
    Seen as a grid of W-wide blocks, block (i, r) is the 1-D Toeplitz matrix of
    kernel row ``r - i + p``: a band of bands. kernel : (kh, kw). Returns
    (OH * OW, H * W). Meant for small images (it has H W OH OW entries).
    Explained in chapter 5.
    """
    K = as_float_array(kernel, "kernel", ndim=2)
    if not (isinstance(image_shape, (tuple, list)) and len(image_shape) == 2):
        raise ValueError(f"image_shape must be a pair (H, W), got {image_shape!r}")
    H = check_positive_int(image_shape[0], "image_shape[0]")
    W = check_positive_int(image_shape[1], "image_shape[1]")
    padding = check_positive_int(padding, "padding", allow_zero=True)
    kh, kw = K.shape
    if kh == 0 or kw == 0:
        raise ValueError(f"kernel must be at least 1 x 1, got shape {K.shape}")
    try:
        OH = conv_output_size(H, kh, padding=padding)        # H + 2 padding - kh + 1
        OW = conv_output_size(W, kw, padding=padding)
    except ValueError as exc:
        raise ValueError(f"kernel of shape {K.shape} does not fit the image of shape "
                         f"{(H, W)}: the {exc}") from None
    T = np.zeros((OH * OW, H * W), dtype=K.dtype)
    for r in range(kh):
        # the block of kernel row r is a 1-D Toeplitz matrix, placed on block
        # diagonal r - padding of the big matrix
        block = toeplitz_1d(K[r], W, padding)                  # (OW, W)
        for i in range(OH):
            src = i + r - padding                              # image row it reads
            if 0 <= src < H:
                T[i * OW:(i + 1) * OW, src * W:(src + 1) * W] += block
    return T
