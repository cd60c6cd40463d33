r"""Moving the pixels of a batch of images: flips, crops, and bilinear resampling
under a rotation, a shift, a zoom or a resize.

Explained in chapter 9 (data augmentation). Every function takes a batch of images of
shape (N, C, H, W) and per-image parameters (arrays of length N, or one number for the
whole batch), and returns a new array; the random transforms of
:mod:`cnnlib.data.transforms` draw the parameters and call these.

**Bilinear sampling.** To move an image, we ask for every *output* pixel
:math:`(r, c)` where it comes from in the input, :math:`(r', c') = T(r, c)` (usually
not a whole pixel), and interpolate between the four input pixels around it:

.. math::
    \text{out}(r, c) = (1 - a)(1 - b)\, I(i, j) + (1 - a)\, b\, I(i, j + 1)
    + a (1 - b)\, I(i + 1, j) + a\, b\, I(i + 1, j + 1),

with :math:`i = \lfloor r' \rfloor`, :math:`a = r' - i`, :math:`j = \lfloor c'
\rfloor`, :math:`b = c' - j`. Input pixels outside the image count as ``fill``, so an
image rotated by a few degrees fades into the fill colour at its corners. Pixel
:math:`(r, c)` is the centre of its square; the image's centre is
:math:`((H-1)/2, (W-1)/2)`. These are the conventions of
``skimage.transform.rotate(order=1, mode="constant")`` and of
``scipy.ndimage.rotate(order=1, mode="grid-constant", reshape=False)``, which the tests
check; :func:`resize` and :func:`resized_crop` follow ``skimage.transform.resize(order=1,
mode="edge", anti_aliasing=False)`` and ``torch.nn.functional.interpolate(
mode="bilinear", align_corners=False)``.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_float_array, check_pair, check_positive_int

__all__ = ["check_images", "bilinear_sample", "affine", "rotate", "translate", "resize",
           "resized_crop", "crop", "pad", "hflip", "vflip"]


def check_images(x, name: str = "x") -> np.ndarray:
    """A float batch of images of shape (N, C, H, W), or a ValueError that says so."""
    x = as_float_array(x, name)
    if x.ndim != 4:
        raise ValueError(f"{name} must be a batch of images of shape (N, C, H, W), got a "
                         f"{x.ndim}-D array of shape {x.shape} (for one image use "
                         f"image[None], for one grey image image[None, None])")
    return x


def per_image(value, n: int, name: str) -> np.ndarray:
    """One float per image: a number (the same for all) or an array of length n."""
    v = as_float_array(value, name)
    if v.ndim == 0:
        return np.full(n, float(v))
    if v.shape != (n,):
        raise ValueError(f"{name} must be a number or hold one value per image, shape "
                         f"({n},), got shape {v.shape}")
    return v.astype(np.float64)


def _fill_values(fill, c: int, dtype) -> np.ndarray:
    """``fill`` as one value per channel, shaped (1, C, 1, 1)."""
    f = as_float_array(fill, "fill").astype(dtype)
    if f.ndim == 0:
        f = np.full(c, f, dtype)
    if f.shape != (c,):
        raise ValueError(f"fill must be a number or one value per channel ({c}), got "
                         f"shape {f.shape}")
    return f.reshape(1, c, 1, 1)


def bilinear_sample(x, rows, cols, fill=0.0) -> np.ndarray:
    """Sample every image of ``x`` at the (fractional) input positions ``rows``,
    ``cols`` by bilinear interpolation (module docstring).

    x : (N, C, H, W); rows, cols : (N, OH, OW) input coordinates of each output pixel;
    fill : the value of every pixel outside the image (a number or one per channel).
    Returns (N, C, OH, OW) in x's dtype. Explained in chapter 9.
    """
    x = check_images(x)
    rows, cols = np.asarray(rows, np.float64), np.asarray(cols, np.float64)
    n, c, h, w = x.shape
    if rows.shape != cols.shape or rows.ndim != 3 or rows.shape[0] != n:
        raise ValueError(f"rows and cols must both have shape (N, OH, OW) with N = {n}, "
                         f"got {rows.shape} and {cols.shape}")
    # One ring of fill around each image: a neighbour outside the image then reads the
    # fill value, once indices are clipped into the padded image.
    padded = pad(x, 1, fill)
    r0, c0 = np.floor(rows), np.floor(cols)
    a = (rows - r0).astype(x.dtype)[:, None]
    b = (cols - c0).astype(x.dtype)[:, None]
    top, left = r0.astype(np.int64) + 1, c0.astype(np.int64) + 1   # +1: the ring
    i, i1 = np.clip(top, 0, h + 1), np.clip(top + 1, 0, h + 1)
    j, j1 = np.clip(left, 0, w + 1), np.clip(left + 1, 0, w + 1)
    batch = np.arange(n)[:, None, None]

    def at(ii, jj):            # (N, C, OH, OW): pixel (ii, jj) of every channel
        return padded[batch, :, ii, jj].transpose(0, 3, 1, 2)

    return ((1 - a) * ((1 - b) * at(i, j) + b * at(i, j1))
            + a * ((1 - b) * at(i1, j) + b * at(i1, j1))).astype(x.dtype, copy=False)


def affine(x, angle=0.0, translate=(0.0, 0.0), scale=1.0, fill=0.0) -> np.ndarray:
    r"""Rotate each image by ``angle`` degrees counter-clockwise about its centre, zoom
    it by ``scale`` and shift it by ``translate = (dx, dy)`` pixels (right, down: the
    horizontal shift first, as in torchvision).

    x : (N, C, H, W); angle, scale : a number or one per image; translate : a pair of
    numbers, or of arrays of length N. The output pixel :math:`p` (relative to the
    centre) comes from the input position :math:`R_{-\theta}(p - t)/s`, sampled by
    :func:`bilinear_sample`. Explained in chapter 9.
    """
    x = check_images(x)
    n, _, h, w = x.shape
    theta = np.deg2rad(per_image(angle, n, "angle"))[:, None, None]
    s = per_image(scale, n, "scale")[:, None, None]
    if np.any(s <= 0):
        raise ValueError("scale must be positive")
    if not (isinstance(translate, (tuple, list)) and len(translate) == 2):
        raise TypeError(f"translate must be a pair (dx, dy), got {translate!r}")
    tx = per_image(translate[0], n, "translate[0]")[:, None, None]
    ty = per_image(translate[1], n, "translate[1]")[:, None, None]
    cy, cx = (h - 1) / 2, (w - 1) / 2
    dr, dc = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
    dr, dc = dr[None] - ty, dc[None] - tx
    cos, sin = np.cos(theta), np.sin(theta)
    # rows point down: a counter-clockwise turn on screen is this rotation of (r, c)
    rows = cy + (cos * dr + sin * dc) / s
    cols = cx + (-sin * dr + cos * dc) / s
    return bilinear_sample(x, rows, cols, fill)


def rotate(x, angle, fill=0.0) -> np.ndarray:
    """Rotate each image by ``angle`` degrees counter-clockwise about its centre
    (bilinear; corners filled with ``fill``). Explained in chapter 9."""
    return affine(x, angle=angle, fill=fill)


def translate(x, dx, dy, fill=0.0) -> np.ndarray:
    """Shift each image ``dx`` pixels to the right and ``dy`` down (fractions are
    interpolated); uncovered pixels take ``fill``. Explained in chapter 9."""
    return affine(x, translate=(dx, dy), fill=fill)


def _resize_coords(start, length, out_size: int) -> np.ndarray:
    """Input coordinates of ``out_size`` output pixels spread over the span
    [start, start + length) of every image, half-pixel centred and clamped to it:
    (N, out_size)."""
    k = np.arange(out_size)
    pos = start[:, None] + (k + 0.5) * (length[:, None] / out_size) - 0.5
    return np.clip(pos, start[:, None], start[:, None] + length[:, None] - 1)


def resized_crop(x, top, left, height, width, size) -> np.ndarray:
    """Cut the box of ``height`` x ``width`` pixels at (``top``, ``left``) out of each
    image and resize it to ``size`` (an int or (OH, OW)) by bilinear interpolation:
    a **zoom** when the box is smaller than the image. Box parameters: whole numbers, a
    number for all images or one per image; the box must lie inside the image.
    Explained in chapter 9."""
    x = check_images(x)
    n, _, h, w = x.shape
    oh, ow = check_pair(size, "size")
    box = [per_image(v, n, name) for v, name in ((top, "top"), (left, "left"),
                                                  (height, "height"), (width, "width"))]
    t, l_, bh, bw = box
    if any(np.any(v != np.round(v)) for v in box):
        raise ValueError("top, left, height and width must be whole numbers of pixels")
    if np.any(bh < 1) or np.any(bw < 1) or np.any(t < 0) or np.any(l_ < 0) \
            or np.any(t + bh > h) or np.any(l_ + bw > w):
        raise ValueError(f"every box must lie inside the {h} x {w} image with a height "
                         f"and width of at least 1")
    rows = _resize_coords(t, bh, oh)[:, :, None] + np.zeros((1, 1, ow))
    cols = _resize_coords(l_, bw, ow)[:, None, :] + np.zeros((1, oh, 1))
    return bilinear_sample(x, rows, cols)


def resize(x, size) -> np.ndarray:
    """Resize every image to ``size`` (an int or (OH, OW)) by bilinear interpolation,
    without anti-aliasing. Explained in chapter 9."""
    x = check_images(x)
    return resized_crop(x, 0, 0, x.shape[2], x.shape[3], size)


def pad(x, padding: int, fill=0.0) -> np.ndarray:
    """Surround each image with ``padding`` rings of ``fill``. Explained in chapter 9."""
    x = check_images(x)
    p = check_positive_int(padding, "padding", allow_zero=True)
    n, c, h, w = x.shape
    out = np.broadcast_to(_fill_values(fill, c, x.dtype), (n, c, h + 2 * p, w + 2 * p)).copy()
    out[:, :, p:p + h, p:p + w] = x
    return out


def crop(x, top, left, size) -> np.ndarray:
    """The ``size`` (int or (OH, OW)) window of each image whose top-left pixel is at
    (``top[k]``, ``left[k]``) (integers: one per image, or one for all).
    Explained in chapter 9."""
    x = check_images(x)
    n, _, h, w = x.shape
    oh, ow = check_pair(size, "size")
    t = np.broadcast_to(np.asarray(top), (n,)).astype(np.int64)
    l_ = np.broadcast_to(np.asarray(left), (n,)).astype(np.int64)
    if oh > h or ow > w or np.any(t < 0) or np.any(l_ < 0) or np.any(t + oh > h) \
            or np.any(l_ + ow > w):
        raise ValueError(f"a {oh} x {ow} window at the given positions does not fit in "
                         f"the {h} x {w} images")
    rows = t[:, None, None] + np.arange(oh)[None, :, None]
    cols = l_[:, None, None] + np.arange(ow)[None, None, :]
    return x[np.arange(n)[:, None, None], :, rows, cols].transpose(0, 3, 1, 2).copy()


def hflip(x) -> np.ndarray:
    """Mirror each image left to right. Explained in chapter 9."""
    return check_images(x)[:, :, :, ::-1].copy()


def vflip(x) -> np.ndarray:
    """Mirror each image top to bottom. Explained in chapter 9."""
    return check_images(x)[:, :, ::-1, :].copy()
