r"""Finding objects with a window classifier: sliding windows, an image pyramid,
intersection over union and non-maximum suppression.

Explained in chapter 6. A classifier trained on small fixed-size images (say faces
of 25 x 25 pixels) becomes a detector by asking it about every window of a photograph:

1. :func:`sliding_windows` cuts every ``window``-sized patch, ``step`` pixels apart;
2. :func:`image_pyramid` shrinks the photograph step by step, so that a face of
   100 pixels becomes a 25-pixel face at some level; a window at level scale
   :math:`s` and position :math:`(x, y)` covers the box
   :math:`(x/s, y/s, (x + w)/s, (y + h)/s)` of the original;
3. :func:`detect` scores every window of every level and keeps those above a
   threshold;
4. one face fires many overlapping windows, so :func:`nms` (non-maximum suppression)
   keeps the best-scoring box and drops every box that overlaps it by more than
   ``iou_threshold``, then repeats with the next best box still standing. Overlap is
   the **intersection over union** of two boxes,
   :math:`\mathrm{IoU}(A, B) = |A \cap B| / |A \cup B|` (:func:`box_iou`).

Boxes are ``(x1, y1, x2, y2)``: x runs along the columns, y along the rows, (x1, y1)
is the top-left corner and (x2, y2) the bottom-right one, and the area is
:math:`(x_2 - x_1)(y_2 - y_1)`, as in ``torchvision.ops``; :func:`box_iou` and
:func:`nms` follow ``torchvision.ops.box_iou`` and ``torchvision.ops.nms``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from numbers import Real

import numpy as np

from cnnlib._validate import as_float_array, check_finite, check_pair, check_shape

__all__ = ["sliding_windows", "image_pyramid", "detect", "box_area", "box_iou", "nms"]


def _image(image, name: str = "image") -> np.ndarray:
    img = as_float_array(image, name)
    if img.ndim != 2:
        extra = (" A colour image? Convert it to grey first, e.g. with "
                 "cnnlib.data.load_photo(name, gray=True).") if img.ndim == 3 else ""
        raise ValueError(f"{name} must be a grey image of shape (H, W), got shape "
                         f"{img.shape}.{extra}")
    check_finite(img, name)
    return img


def _pair(value, name: str) -> tuple[int, int]:
    return check_pair(tuple(value) if isinstance(value, list) else value, name)


# ------------------------------------------------------------------- windows
def sliding_windows(image, window=(25, 25), step=(4, 4)) -> tuple[np.ndarray, np.ndarray]:
    """Every ``window``-sized patch of a grey image, ``step`` pixels apart.

    image : (H, W); window : (h, w) or an int; step : (rows, columns) or an int.
    Returns ``(windows, boxes)``: windows (n, h, w), copied out of the image in
    row-major order of their top-left corners (0, 0), (0, step), ...;
    boxes (n, 4) float64 ``(x1, y1, x2, y2) = (column, row, column + w, row + h)``.
    The windows that fit entirely are kept: floor((H - h) / step) + 1 rows of them
    (as a convolution's output size, chapter 5). Explained in chapter 6.
    """
    img = _image(image)
    h, w = _pair(window, "window")
    sr, sc = _pair(step, "step")
    H, W = img.shape
    if h > H or w > W:
        raise ValueError(f"window {(h, w)} does not fit in the image of shape {(H, W)}")
    views = np.lib.stride_tricks.sliding_window_view(img, (h, w))[::sr, ::sc]
    rows, cols = views.shape[:2]
    y, x = np.mgrid[:rows, :cols]
    x, y = (x * sc).ravel().astype(np.float64), (y * sr).ravel().astype(np.float64)
    boxes = np.stack([x, y, x + w, y + h], axis=1)
    return views.reshape(rows * cols, h, w), boxes


def image_pyramid(image, scale: float = 1.25, min_size=(25, 25), max_scale: float = 1.0,
                  min_scale: float = 0.0) -> Iterator[tuple[float, np.ndarray]]:
    r"""The image at the scales :math:`s = s_0, s_0/q, s_0/q^2, \dots` (``max_scale`` =
    :math:`s_0`, ``scale`` = :math:`q > 1`) until it becomes smaller than ``min_size``
    or :math:`s` falls below ``min_scale``.

    image : (H, W) grey. Yields ``(s, resized)`` with resized of shape
    (round(H s), round(W s)), smoothed before shrinking (``skimage.transform.resize``
    with anti-aliasing) so that thin stripes do not alias. Explained in chapter 6.
    """
    img = _image(image)
    for value, name in ((scale, "scale"), (max_scale, "max_scale")):
        if isinstance(value, bool) or not isinstance(value, Real) \
                or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if isinstance(min_scale, bool) or not isinstance(min_scale, Real) \
            or not 0 <= min_scale <= max_scale:
        raise ValueError(f"min_scale must be a number in [0, max_scale], got "
                         f"{min_scale!r}")
    if scale <= 1:
        raise ValueError(f"scale must be > 1 (each level is that many times smaller), "
                         f"got {scale}")
    mh, mw = _pair(min_size, "min_size")
    from skimage.transform import resize

    s = float(max_scale)
    while True:
        shape = (round(img.shape[0] * s), round(img.shape[1] * s))
        if shape[0] < mh or shape[1] < mw or s < min_scale:
            return
        resized = img if shape == img.shape else \
            resize(img, shape, order=1, anti_aliasing=s < 1)
        yield s, resized
        s /= scale


def detect(image, score: Callable[[np.ndarray], np.ndarray], window=(25, 25),
           step=(2, 2), scale: float = 1.25, max_scale: float = 1.0,
           min_scale: float = 0.0,
           threshold: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Score every window of every level of the image pyramid; keep the good ones.

    The levels are those of :func:`image_pyramid` (``scale``, ``max_scale``,
    ``min_scale``): a window of h x w pixels at level s finds objects of about
    h/s x w/s pixels in the image.

    score : function of a stack of windows (n, h, w) returning (n,) scores (for
    instance a logistic regression's logit of their HoG features).
    Returns ``(boxes, scores)`` of the windows whose score exceeds ``threshold``, boxes
    (k, 4) in the coordinates of the original image (divided by the level's scale),
    before non-maximum suppression. Explained in chapter 6.
    """
    if not callable(score):
        raise TypeError(f"score must be a function of a stack of windows, got "
                        f"{type(score).__name__}")
    win = _pair(window, "window")
    all_boxes, all_scores = [], []
    for s, level in image_pyramid(image, scale, win, max_scale, min_scale):
        windows, boxes = sliding_windows(level, win, step)
        values = np.asarray(score(windows), dtype=np.float64)
        if values.shape != (len(windows),):
            raise ValueError(f"score must return one number per window, shape "
                             f"({len(windows)},), got shape {values.shape}")
        keep = values > threshold
        all_boxes.append(boxes[keep] / s)
        all_scores.append(values[keep])
    if not all_boxes:
        return np.zeros((0, 4)), np.zeros(0)
    return np.concatenate(all_boxes), np.concatenate(all_scores)


# ------------------------------------------------------- overlap and suppression
def _boxes(boxes, name: str) -> np.ndarray:
    b = as_float_array(boxes, name, ndim=2, finite=True)
    check_shape(b, name, (None, 4))
    bad = (b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2, "
                         f"but row {k} is {b[k].tolist()}")
    return b.astype(np.float64)


def box_area(boxes) -> np.ndarray:
    """Areas (x2 - x1)(y2 - y1) of boxes (n, 4); shape (n,). Explained in chapter 6."""
    b = _boxes(boxes, "boxes")
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def box_iou(boxes1, boxes2) -> np.ndarray:
    r"""Intersection over union of every pair of boxes, as ``torchvision.ops.box_iou``.

    boxes1 : (n, 4), boxes2 : (m, 4), each ``(x1, y1, x2, y2)``. Returns float64 (n, m)
    with :math:`\mathrm{IoU} = |A \cap B| / (|A| + |B| - |A \cap B|)`, in [0, 1]; two
    boxes of zero area give 0 (torchvision gives NaN there). Explained in chapter 6.
    """
    a, b = _boxes(boxes1, "boxes1"), _boxes(boxes2, "boxes2")
    return _iou(a, b)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    # the intersection is a box too, or empty (negative width or height -> 0)
    w = (np.minimum(a[:, None, 2], b[None, :, 2])
         - np.maximum(a[:, None, 0], b[None, :, 0]))
    h = (np.minimum(a[:, None, 3], b[None, :, 3])
         - np.maximum(a[:, None, 1], b[None, :, 1]))
    inter = np.clip(w, 0, None) * np.clip(h, 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(boxes, scores, iou_threshold: float) -> np.ndarray:
    """Non-maximum suppression with ``torchvision.ops.nms``'s semantics.

    boxes : (n, 4) ``(x1, y1, x2, y2)``; scores : (n,); iou_threshold in [0, 1].
    Repeatedly keeps the highest-scoring box left and discards every remaining box
    whose IoU with it is **greater than** ``iou_threshold``. Returns the int64 indices
    of the kept boxes in decreasing order of score (boxes with equal scores in their
    input order). Explained in chapter 6.
    """
    b = _boxes(boxes, "boxes")
    s = as_float_array(scores, "scores", ndim=1, finite=True)
    if s.shape != (len(b),):
        raise ValueError(f"scores must have shape ({len(b)},), one per box, got "
                         f"{s.shape}")
    if isinstance(iou_threshold, bool) or not isinstance(iou_threshold, Real) \
            or not 0 <= iou_threshold <= 1:
        raise ValueError(f"iou_threshold must be a number in [0, 1], got "
                         f"{iou_threshold!r}")
    order = np.argsort(-s, kind="stable")
    keep = []
    alive = np.ones(len(b), dtype=bool)
    for pos, i in enumerate(order):
        if not alive[pos]:
            continue
        keep.append(i)
        later = pos + 1 + np.flatnonzero(alive[pos + 1:])    # the boxes still standing
        overlap = _iou(b[i:i + 1], b[order[later]])[0]
        alive[later[overlap > iou_threshold]] = False
    return np.array(keep, dtype=np.int64)
