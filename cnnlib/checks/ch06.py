"""Checks for the exercises of chapter 6, hand-crafted features
(``solutions/06_hand_crafted_features.ipynb``).

Each check calls the student's function with data and compares what it returns with
cnnlib's reference (itself tested against scikit-image, scikit-learn and torchvision's
semantics): angles on the edges of the orientation bins, blocks where the clipping of
L2-Hys matters, ties in k-means, boxes that only touch, chains of overlapping boxes in
non-maximum suppression, strides that leave pixels over.
"""
from __future__ import annotations

import numpy as np

from cnnlib.checks import Case, check_function, check_rng, exercise

__all__ = ["check_orientation_histogram", "check_normalize_block", "check_assign",
           "check_iou", "check_nms", "check_window_boxes"]


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


# ------------------------------------------------------ 6.1 orientation histogram
def _reference_histogram(magnitude, orientation, n_bins=9):
    from cnnlib.features.oriented_gradients import orientation_bins

    bins = orientation_bins(_f64(orientation), n_bins).ravel()
    votes = np.bincount(bins, weights=_f64(magnitude).ravel(), minlength=n_bins + 1)
    return votes[:n_bins]


def _camera_cell():
    """Magnitude and orientation of one 8 x 8 cell of the camera photograph, and the
    cell's histogram in cnnlib (a mean over the 64 pixels there, so times 64)."""
    from cnnlib.data import load_photo
    from cnnlib.features.oriented_gradients import cell_histograms, gradient_magnitude_orientation, \
        image_gradients

    photo = load_photo("camera", gray=True, size=128)
    magnitude, orientation = gradient_magnitude_orientation(*image_gradients(photo))
    r, c = 5, 7                                  # the cell in row 5, column 7
    cell = (slice(8 * r, 8 * r + 8), slice(8 * c, 8 * c + 8))
    return magnitude[cell], orientation[cell], 64 * cell_histograms(photo, 9, (8, 8))[r, c]


@exercise("6.1", "The orientation histogram of a cell")
def check_orientation_histogram(orientation_histogram):
    """``orientation_histogram(magnitude, orientation, n_bins=9)``: magnitude and
    orientation (degrees in [0, 180)) of the pixels of one cell, any shape; returns
    (n_bins,) with entry b the sum of the magnitudes of the pixels with
    b * 180 / n_bins <= orientation < (b + 1) * 180 / n_bins."""
    rng = check_rng(601)
    m_r, o_r = rng.random((8, 8)), rng.uniform(0, 180, (8, 8))
    m_cam, o_cam, h_cam = _camera_cell()
    bin_hint = ("the bin of an angle theta is int(theta // (180 / n_bins)): bin 0 holds "
                "[0, 20) degrees with 9 bins, bin 1 holds [20, 40), ...")
    return check_function(orientation_histogram, [
        Case("one pixel at 10 degrees with magnitude 2", (np.array([[2.0]]), np.array([[10.0]])),
             expected=np.array([2.0, 0, 0, 0, 0, 0, 0, 0, 0]), rtol=0, atol=1e-12,
             hint="each pixel adds its MAGNITUDE (not 1) to the bin of its orientation"),
        Case("an angle in the upper half of a bin: 15 degrees is in bin 0",
             (np.array([[1.0]]), np.array([[15.0]])),
             expected=np.array([1.0, 0, 0, 0, 0, 0, 0, 0, 0]), rtol=0, atol=1e-12,
             hint="bin 0 holds every angle from 0 up to (not including) 20 degrees: "
                  "round DOWN (floor or //), not to the nearest bin"),
        Case("angles on the bin edges: 0, 20, 40 and 160 degrees",
             (np.ones(4), np.array([0.0, 20.0, 40.0, 160.0])),
             expected=np.array([1.0, 1, 1, 0, 0, 0, 0, 0, 1]), rtol=0, atol=1e-12,
             hint="an angle on an edge belongs to the bin that STARTS there: 20 degrees "
                  "is in bin 1 (floor, not round)"),
        Case("an angle just below 180 degrees", (np.ones(2), np.array([179.9, 90.0])),
             expected=np.array([0.0, 0, 0, 0, 1, 0, 0, 0, 1]), rtol=0, atol=1e-12,
             hint="179.9 degrees lies in the last bin, 8 (with 9 bins); do not wrap it "
                  "around to bin 0"),
        Case("a random 8 x 8 cell against cnnlib", (m_r, o_r), expected=_reference_histogram,
             rtol=1e-10, atol=1e-12, hint=bin_hint),
        Case("n_bins=4 (45-degree bins)", (m_r, o_r), {"n_bins": 4},
             expected=_reference_histogram, rtol=1e-10, atol=1e-12,
             hint="use the n_bins argument: the bins are 180 / n_bins degrees wide"),
        Case("no gradient anywhere", (np.zeros((8, 8)), o_r), expected=np.zeros(9),
             rtol=0, atol=1e-12, hint="pixels of magnitude 0 add nothing"),
        Case("a cell of the camera photograph: 64 times cnnlib's cell histogram "
             "(cnnlib, like scikit-image, divides by the 64 pixels)", (m_cam, o_cam),
             expected=h_cam, rtol=1e-10, atol=1e-10, hint=bin_hint),
    ])


# ------------------------------------------------------ 6.2 block normalisation
def _reference_normalize(block, method="L2-Hys"):
    from cnnlib.features.oriented_gradients import normalize_block
    return normalize_block(block, method)


def _skimage_one_block(image, method):
    """scikit-image's HoG of an image that holds exactly one 3 x 3 block of 8 x 8
    cells: that block, normalised by scikit-image itself."""
    from skimage.feature import hog
    return hog(image, 9, (8, 8), (3, 3), method, feature_vector=False)[0, 0]


@exercise("6.2", "Block normalisation")
def check_normalize_block(normalize_block):
    """``normalize_block(block, method="L2-Hys")``: block of cell histograms (any shape,
    treated as one vector v); "L1": v / (sum|v| + 1e-5); "L2": v / sqrt(sum v^2 +
    1e-10); "L2-Hys": the L2 result clipped at 0.2, then L2-normalised again (with the
    same epsilon). Returns the block's shape."""
    from cnnlib.data import load_photo
    from cnnlib.features.oriented_gradients import cell_histograms

    rng = check_rng(602)
    block = rng.random((3, 3, 9))
    spiky = block.copy()
    spiky[1, 1, 4] = 25.0                        # one bin dominates: clipping matters
    photo = load_photo("camera", gray=True, size=128)[40:64, 50:74]   # one 3 x 3 block
    cells = cell_histograms(photo, 9, (8, 8))
    l2_hint = "divide by np.sqrt(np.sum(v ** 2) + eps ** 2) with eps = 1e-5"
    return check_function(normalize_block, [
        Case("L2 of a random 3 x 3 x 9 block", (block, "L2"), expected=_reference_normalize,
             rtol=1e-9, atol=1e-12, hint=l2_hint),
        Case("L1", (block, "L1"), expected=_reference_normalize, rtol=1e-9, atol=1e-12,
             hint="L1: divide by np.sum(np.abs(v)) + eps"),
        Case("L2-Hys of an even block (nothing to clip)", (0.5 + 0.1 * block, "L2-Hys"),
             expected=_reference_normalize, rtol=1e-9, atol=1e-12),
        Case("L2-Hys of a block with one dominant bin", (spiky, "L2-Hys"),
             expected=_reference_normalize, rtol=1e-9, atol=1e-12,
             hint="L2-Hys: L2-normalise, clip every value at 0.2 (np.minimum(v, 0.2)), "
                  "then L2-normalise AGAIN so the block has length 1"),
        Case("the default method is L2-Hys", (spiky,), expected=_reference_normalize,
             rtol=1e-9, atol=1e-12, hint="def normalize_block(block, method=\"L2-Hys\")"),
        Case("an all-zero block stays zero (the epsilon avoids 0 / 0)",
             (np.zeros((2, 2, 9)), "L2-Hys"), expected=np.zeros((2, 2, 9)), rtol=0,
             atol=1e-12, allow_warnings=False,
             hint="add eps inside the square root: np.sqrt(np.sum(v ** 2) + eps ** 2)"),
        Case("a 2 x 2 x 6 block keeps its shape", (block[:2, :2, :6], "L2"),
             expected=_reference_normalize, rtol=1e-9, atol=1e-12,
             hint="normalise the whole block as one vector, but return its shape"),
        Case("a block of the camera photograph against scikit-image's hog (which sums "
             "the votes in single precision: agreement to 1e-6)", (cells, "L2-Hys"),
             expected=_skimage_one_block(photo, "L2-Hys"), rtol=0, atol=1e-6),
    ])


# ------------------------------------------------------ 6.3 k-means assignment
def _reference_assign(X, centres):
    """The definition itself, argmin_j |x_i - c_j|^2 from the differences (no expanded
    |x|^2 - 2 x.c + |c|^2, whose rounding could flip a near-tie far from the origin);
    cnnlib's kmeans_assign agrees with it on these cases."""
    squared = ((_f64(X)[:, None, :] - _f64(centres)[None, :, :]) ** 2).sum(axis=2)
    return squared.argmin(axis=1)


def _integer_labels(labels) -> str | None:
    a = np.asarray(labels)
    if a.dtype.kind not in "iu":
        return (f"return integer labels (the index of a centre), got dtype {a.dtype}: "
                f"np.argmin returns integers")
    return None


@exercise("6.3", "The assignment step of k-means")
def check_assign(assign):
    """``assign(X, centres)``: X (n, d) points, centres (k, d); returns (n,) integer
    labels, label i the index of the centre nearest to X[i] (squared Euclidean
    distance; the lowest index on a tie)."""
    rng = check_rng(603)
    X, C = rng.normal(size=(300, 5)), rng.normal(size=(7, 5))
    far = rng.normal(size=(50, 3)) + 1e4
    square = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.5, 0.5]])
    corners = np.array([[0.0, 0.0], [1.0, 1.0]])
    hint = ("the squared distances of every point to every centre form an (n, k) "
            "array, ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2); take "
            "np.argmin over the centres (axis=1)")
    return check_function(assign, [
        Case("four points and two centres", (square[:4], corners),
             expected=np.array([0, 0, 0, 1]), rtol=0, atol=0, check=_integer_labels,
             hint="(0, 1) and (1, 0) are at distance 1 from both centres: a tie goes to "
                  "the lower index, 0 (np.argmin does this)"),
        Case("a point exactly between two centres", (square[4:], corners),
             expected=np.array([0]), rtol=0, atol=0, check=_integer_labels,
             hint="on a tie return the lower index"),
        Case("one centre: every label is 0", (X, C[:1]), expected=np.zeros(300, np.int64),
             rtol=0, atol=0, check=_integer_labels, hint=hint),
        Case("300 points in 5-D, 7 centres", (X, C),
             expected=_reference_assign, rtol=0, atol=0, check=_integer_labels, hint=hint),
        Case("the centres themselves", (C, C), expected=np.arange(7), rtol=0, atol=0,
             check=_integer_labels, hint=hint),
        Case("points far from the origin", (far, far[:4] + 0.1), expected=_reference_assign,
             rtol=0, atol=0, check=_integer_labels,
             hint="measure distances to the centres, not to the origin"),
    ])


# ---------------------------------------------------------------------- 6.4 IoU
def _reference_iou(box_a, box_b):
    from cnnlib.features.detection import box_iou
    return float(box_iou(_f64(box_a)[None], _f64(box_b)[None])[0, 0])


@exercise("6.4", "Intersection over union")
def check_iou(iou):
    """``iou(box_a, box_b)``: two boxes (x1, y1, x2, y2) with x1 <= x2, y1 <= y2;
    returns |A and B| / |A or B| as a float, 0 when the boxes do not overlap or have no
    area."""
    rng = check_rng(604)
    xy = rng.uniform(0, 50, size=(2, 2))
    a, b = np.r_[xy[0], xy[0] + 30], np.r_[xy[1], xy[1] + [20, 35]]
    width_hint = ("the intersection is max(0, min(xa2, xb2) - max(xa1, xb1)) wide and "
                  "as many high, with y; the union is area_a + area_b - intersection")
    return check_function(iou, [
        Case("a box with itself", (np.array([0, 0, 2, 2.0]), np.array([0, 0, 2, 2.0])),
             expected=1.0, rtol=1e-12, atol=0, hint=width_hint),
        Case("half shifted: IoU 1/3", (np.array([0, 0, 2, 2.0]), np.array([1, 0, 3, 2.0])),
             expected=1 / 3, rtol=1e-12, atol=0,
             hint="intersection 2, union 4 + 4 - 2 = 6: do not divide by the sum of the "
                  "areas"),
        Case("boxes that do not overlap", (np.array([0, 0, 2, 2.0]), np.array([5, 5, 6, 9.0])),
             expected=0.0, rtol=0, atol=1e-12,
             hint="a negative width means no intersection: clip it at 0 (max(0, ...))"),
        Case("boxes that only touch along an edge",
             (np.array([0, 0, 2, 2.0]), np.array([2, 0, 4, 2.0])), expected=0.0, rtol=0,
             atol=1e-12, hint=width_hint),
        Case("boxes apart horizontally but overlapping in y",
             (np.array([0, 0, 2, 2.0]), np.array([3, 1, 5, 3.0])), expected=0.0, rtol=0,
             atol=1e-12, hint="both the width AND the height of the intersection must be "
                              "positive; clip each at 0 before multiplying"),
        Case("one box inside the other", (np.array([0, 0, 4, 4.0]), np.array([1, 1, 3, 3.0])),
             expected=0.25, rtol=1e-12, atol=0, hint=width_hint),
        Case("random boxes against cnnlib (torchvision's box_iou)", (a, b),
             expected=_reference_iou, rtol=1e-10, atol=1e-12, hint=width_hint),
        Case("two boxes without area", (np.array([1, 1, 1, 1.0]), np.array([1, 1, 1, 1.0])),
             expected=0.0, rtol=0, atol=0, allow_warnings=False,
             hint="the union is 0 here: return 0.0 instead of dividing 0 by 0"),
    ])


# ---------------------------------------------------------------------- 6.5 NMS
def _reference_nms(boxes, scores, iou_threshold):
    from cnnlib.features.detection import nms
    return nms(boxes, scores, iou_threshold)


@exercise("6.5", "Non-maximum suppression")
def check_nms(nms):
    """``nms(boxes, scores, iou_threshold)``: boxes (n, 4), scores (n,); keep the best
    box, drop every box whose IoU with it is greater than iou_threshold, repeat with
    the best box left; returns the indices of the kept boxes, best score first
    (``torchvision.ops.nms``'s semantics)."""
    rng = check_rng(605)
    xy = rng.uniform(0, 100, size=(30, 2))
    random_boxes = np.c_[xy, xy + rng.uniform(10, 40, size=(30, 2))]
    random_scores = rng.random(30)
    face = np.array([[10, 10, 50, 50], [12, 8, 52, 48], [80, 80, 100, 100],
                     [9, 12, 49, 52]], dtype=float)
    chain = np.array([[0, 0, 10, 10], [6, 0, 16, 10], [12, 0, 22, 10]], dtype=float)
    half = np.array([[0, 0, 2, 1], [0, 0, 1, 1]], dtype=float)
    order_hint = ("return the kept indices in decreasing order of score: sort once with "
                  "np.argsort(-scores), walk down that list")
    return check_function(nms, [
        Case("three boxes on one face and one elsewhere",
             (face, np.array([0.7, 0.9, 0.5, 0.6]), 0.5), expected=np.array([1, 2]),
             rtol=0, atol=0, hint=order_hint),
        Case("a suppressed box suppresses nothing (a chain A-B-C)",
             (chain, np.array([3.0, 2.0, 1.0]), 0.2), expected=np.array([0, 2]), rtol=0,
             atol=0, hint="B is removed by A, so it must not remove C: compare each box "
                          "only with the boxes you KEPT"),
        Case("IoU equal to the threshold is kept", (half, np.array([1.0, 0.5]), 0.5),
             expected=np.array([0, 1]), rtol=0, atol=0,
             hint="suppress when IoU > iou_threshold (strictly greater), as torchvision"),
        Case("threshold 0: any overlap removes the weaker box",
             (chain, np.array([1.0, 3.0, 2.0]), 0.0), expected=np.array([1]), rtol=0,
             atol=0, hint=order_hint),
        Case("30 random boxes against cnnlib, threshold 0.3",
             (random_boxes, random_scores, 0.3), expected=_reference_nms, rtol=0, atol=0,
             hint=order_hint),
        Case("the same boxes, threshold 0.7", (random_boxes, random_scores, 0.7),
             expected=_reference_nms, rtol=0, atol=0, hint=order_hint),
        Case("no boxes at all", (np.zeros((0, 4)), np.zeros(0), 0.5),
             expected=np.zeros(0, np.int64), rtol=0, atol=0,
             hint="with no boxes, return an empty array (or list)"),
    ])


# ------------------------------------------------------------ 6.6 sliding windows
def _reference_boxes(image, window, step):
    from cnnlib.features.detection import sliding_windows
    return sliding_windows(image, window, step)[1]


@exercise("6.6", "Sliding windows")
def check_window_boxes(window_boxes):
    """``window_boxes(image, window, step)``: image (H, W); window (h, w) and step
    (rows, columns) pairs; returns (n, 4) boxes (x1, y1, x2, y2) = (column, row,
    column + w, row + h) of every window that fits entirely, row by row, left to
    right."""
    rng = check_rng(606)
    photo = rng.random((37, 52))
    count_hint = ("there are (H - h) // step_rows + 1 rows of windows and "
                  "(W - w) // step_cols + 1 columns; x is the COLUMN, y the ROW")
    return check_function(window_boxes, [
        Case("a 5 x 5 image, 3 x 3 windows, step 1", (np.zeros((5, 5)), (3, 3), (1, 1)),
             expected=_reference_boxes, rtol=0, atol=0, hint=count_hint),
        Case("step 2", (np.zeros((5, 5)), (3, 3), (2, 2)),
             expected=np.array([[0.0, 0, 3, 3], [2, 0, 5, 3], [0, 2, 3, 5], [2, 2, 5, 5]]),
             rtol=0, atol=0,
             hint="row by row: first every window of the top row, left to right"),
        Case("a wide image and a tall window", (np.zeros((6, 10)), (4, 2), (2, 4)),
             expected=_reference_boxes, rtol=0, atol=0,
             hint="window and step are (rows, columns); the box is (x1, y1, x2, y2) = "
                  "(column, row, column + width, row + height)"),
        Case("a step that leaves pixels over (37 x 52 image, 25 x 25 windows, step 4)",
             (photo, (25, 25), (4, 4)), expected=_reference_boxes, rtol=0, atol=0,
             hint="a window must fit entirely: " + count_hint),
        Case("a window as large as the image", (photo, (37, 52), (3, 3)),
             expected=np.array([[0.0, 0, 52, 37]]), rtol=0, atol=0, hint=count_hint),
    ])
