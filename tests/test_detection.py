"""cnnlib.features.detection: sliding windows, the image pyramid, box IoU and
non-maximum suppression with torchvision.ops' semantics.

torchvision itself cannot be installed beside the CPU build of PyTorch used here, so the
agreement tests hold cnnlib against a literal transcription of torchvision's
algorithm (its C++ CPU kernel ``nms_kernel_impl`` and ``box_iou``): sort by score,
walk down the list, suppress every later box whose IoU with a kept box is greater than
the threshold.
"""
import numpy as np
import pytest

from cnnlib.features import detection as Det


def _torchvision_box_iou(a, b):
    """torchvision.ops.box_iou, pair by pair as its formula reads."""
    out = np.zeros((len(a), len(b)))
    for i, (ax1, ay1, ax2, ay2) in enumerate(a):
        for j, (bx1, by1, bx2, by2) in enumerate(b):
            w = max(0.0, min(ax2, bx2) - max(ax1, bx1))
            h = max(0.0, min(ay2, by2) - max(ay1, by1))
            inter = w * h
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


def _torchvision_nms(boxes, scores, threshold):
    """torchvision.ops.nms's CPU kernel, transcribed: suppressed[j] once a kept box i
    overlaps it by IoU > threshold."""
    order = np.argsort(-scores, kind="stable")
    suppressed = np.zeros(len(boxes), bool)
    keep = []
    for a, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        for j in order[a + 1:]:
            if not suppressed[j] and _torchvision_box_iou(boxes[i:i + 1], boxes[j:j + 1])[0, 0] > threshold:
                suppressed[j] = True
    return np.array(keep, dtype=np.int64)


def _random_boxes(rng, n, size=100):
    xy = rng.uniform(0, size, size=(n, 2))
    wh = rng.uniform(5, 40, size=(n, 2))
    return np.c_[xy, xy + wh]


# ------------------------------------------------------------------- windows
def test_sliding_windows_in_row_major_order():
    image = np.arange(7 * 10, dtype=float).reshape(7, 10)
    windows, boxes = Det.sliding_windows(image, (3, 4), (2, 3))
    # floor((7 - 3) / 2) + 1 = 3 rows and floor((10 - 4) / 3) + 1 = 3 columns of windows
    assert windows.shape == (9, 3, 4) and boxes.shape == (9, 4)
    for w, (x1, y1, x2, y2) in zip(windows, boxes):
        np.testing.assert_array_equal(w, image[int(y1):int(y2), int(x1):int(x2)])
    np.testing.assert_array_equal(boxes[:4], [[0, 0, 4, 3], [3, 0, 7, 3], [6, 0, 10, 3],
                                              [0, 2, 4, 5]])
    windows[0] = -1                                  # a copy: the image is untouched
    assert image.min() == 0
    one, box = Det.sliding_windows(image, (7, 10), 5)
    assert one.shape == (1, 7, 10) and box.tolist() == [[0, 0, 10, 7]]


def test_image_pyramid_scales_and_stops():
    image = np.random.default_rng(0).random((100, 60))
    levels = list(Det.image_pyramid(image, scale=2.0, min_size=(20, 20)))
    assert [s for s, _ in levels] == [1.0, 0.5]          # 0.25 would give 25 x 15
    assert levels[0][1] is not None and levels[1][1].shape == (50, 30)
    np.testing.assert_array_equal(levels[0][1], image)
    levels = list(Det.image_pyramid(image, scale=1.25, min_size=10, max_scale=0.5))
    assert levels[0][1].shape == (50, 30) and levels[1][1].shape == (40, 24)
    levels = list(Det.image_pyramid(image, scale=2.0, min_size=1, min_scale=0.2))
    assert [s for s, _ in levels] == [1.0, 0.5, 0.25]


def test_detect_finds_a_bright_square_at_its_scale():
    image = np.zeros((120, 160))
    image[40:80, 90:130] = 1.0                      # a 40 x 40 bright square at (110, 60)

    def square_in_the_middle(windows):              # bright 6 x 6 centre, dark frame
        centre = windows[:, 2:-2, 2:-2].mean(axis=(1, 2))
        frame = (windows.sum(axis=(1, 2)) - windows[:, 2:-2, 2:-2].sum(axis=(1, 2))) / 64
        return centre - frame

    boxes, scores = Det.detect(image, square_in_the_middle, window=(10, 10), step=1,
                               scale=1.25, threshold=-1)
    best = boxes[np.argmax(scores)]
    # the best window holds the square in its 6 x 6 centre: a box 10/6 times larger
    half = 40 * 10 / 6 / 2
    ideal = np.array([[110 - half, 60 - half, 110 + half, 60 + half]])
    assert Det.box_iou(best[None], ideal)[0, 0] > 0.6, best
    with pytest.raises(ValueError, match="one number per window"):
        Det.detect(image, lambda w: np.zeros(3), window=10)


# ------------------------------------------------------------ IoU and NMS
def test_box_iou_known_values():
    a = np.array([[0.0, 0, 2, 2]])
    cases = {(0, 0, 2, 2): 1.0, (1, 0, 3, 2): 1 / 3, (2, 0, 4, 2): 0.0,
             (5, 5, 6, 6): 0.0, (0, 0, 1, 1): 0.25, (0.5, 0.5, 1.5, 1.5): 0.25}
    for box, iou in cases.items():
        assert Det.box_iou(a, np.array([box]))[0, 0] == pytest.approx(iou)
    assert Det.box_iou([[1, 1, 1, 1]], [[1, 1, 1, 1]])[0, 0] == 0    # no area at all
    np.testing.assert_array_equal(Det.box_area([[0, 0, 2, 3], [1, 1, 1, 5]]), [6, 0])


def test_box_iou_agrees_with_torchvisions_formula():
    rng = np.random.default_rng(1)
    a, b = _random_boxes(rng, 13), _random_boxes(rng, 7)
    iou = Det.box_iou(a, b)
    np.testing.assert_allclose(iou, _torchvision_box_iou(a, b), rtol=1e-12, atol=0)
    np.testing.assert_allclose(iou, Det.box_iou(b, a).T, rtol=0, atol=0)
    assert iou.shape == (13, 7) and np.all((0 <= iou) & (iou <= 1))


@pytest.mark.parametrize("threshold", [0.0, 0.1, 0.3, 0.5, 0.7, 1.0])
def test_nms_agrees_with_torchvision(threshold):
    rng = np.random.default_rng(int(threshold * 10))
    for trial in range(5):
        boxes = _random_boxes(rng, 40)
        scores = rng.random(40)
        if trial == 4:
            scores = np.round(scores, 1)              # ties: input order among equals
        np.testing.assert_array_equal(Det.nms(boxes, scores, threshold),
                                      _torchvision_nms(boxes, scores, threshold))


def test_nms_semantics():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30],
                      [0, 0, 10, 10], [2, 0, 12, 10]], dtype=float)
    scores = np.array([0.5, 0.9, 0.3, 0.2, 0.8])
    keep = Det.nms(boxes, scores, 0.5)
    # box 1 (0.9) removes 0 (IoU 0.68), 3 (0.68) and 4 (0.68); box 2 stands alone
    np.testing.assert_array_equal(keep, [1, 2])
    assert keep.dtype == np.int64
    # IoU exactly at the threshold is kept ("greater than" suppresses)
    half = np.array([[0, 0, 2, 1], [0, 0, 1, 1]], dtype=float)
    np.testing.assert_array_equal(Det.nms(half, np.array([1.0, 0.5]), 0.5), [0, 1])
    np.testing.assert_array_equal(Det.nms(half, np.array([1.0, 0.5]), 0.49), [0])
    # a suppressed box suppresses nothing: A > B > C, A-B and B-C overlap, A-C not
    chain = np.array([[0, 0, 10, 10], [6, 0, 16, 10], [12, 0, 22, 10]], dtype=float)
    np.testing.assert_array_equal(Det.nms(chain, np.array([3.0, 2, 1]), 0.2), [0, 2])
    assert Det.nms(np.zeros((0, 4)), np.zeros(0), 0.5).shape == (0,)


@pytest.mark.parametrize("call, error, says", [
    (lambda: Det.nms(np.zeros((2, 4)), np.zeros(2), 1.5), ValueError,
     "iou_threshold must be a number in [0, 1]"),
    (lambda: Det.nms(np.zeros((2, 4)), np.zeros(2), -0.1), ValueError, "in [0, 1]"),
    (lambda: Det.nms(np.zeros((2, 4)), np.zeros(2), "0.5"), ValueError, "in [0, 1]"),
    (lambda: Det.nms(np.zeros((2, 4)), np.zeros(3), 0.5), ValueError,
     "scores must have shape (2,)"),
    (lambda: Det.nms(np.zeros((2, 5)), np.zeros(2), 0.5), ValueError,
     "boxes must have shape (*, 4)"),
    (lambda: Det.nms(np.array([[5.0, 0, 1, 1]]), np.zeros(1), 0.5), ValueError,
     "x1 <= x2 and y1 <= y2"),
    (lambda: Det.nms(np.array([[0, 0, np.nan, 1]]), np.zeros(1), 0.5), ValueError,
     "must be finite"),
    (lambda: Det.box_iou(np.zeros(4), np.zeros((1, 4))), ValueError, "boxes1 must be 2-D"),
    (lambda: Det.sliding_windows(np.zeros((8, 8, 3)), 3, 1), ValueError, "colour image?"),
    (lambda: Det.sliding_windows(np.zeros((8, 8)), (9, 3), 1), ValueError, "does not fit"),
    (lambda: Det.sliding_windows(np.zeros((8, 8)), 3, 0), ValueError, "step must be >= 1"),
    (lambda: Det.sliding_windows(np.zeros((8, 8)), (3, 3, 3), 1), ValueError,
     "window must be an int or a pair"),
    (lambda: list(Det.image_pyramid(np.zeros((8, 8)), scale=1.0)), ValueError,
     "scale must be > 1"),
    (lambda: list(Det.image_pyramid(np.zeros((8, 8)), max_scale=0)), ValueError,
     "max_scale must be a finite number > 0"),
    (lambda: list(Det.image_pyramid(np.zeros((8, 8)), min_scale=2.0)), ValueError,
     "min_scale must be a number in [0, max_scale]"),
    (lambda: Det.detect(np.zeros((30, 30)), "score"), TypeError, "score must be a function"),
])
def test_bad_input(call, error, says):
    with pytest.raises(error) as info:
        call()
    assert says in str(info.value)
