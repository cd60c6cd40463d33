"""The checks of chapter 6 (cnnlib.checks.ch06): right answers pass, the typical wrong
ones fail on the case meant to catch them, with its hint, and no traceback."""
import numpy as np
import pytest

from cnnlib.checks import ch06, exercises_for_notebook


# ------------------------------------------------------------- right answers
def orientation_histogram(magnitude, orientation, n_bins=9, rounding=np.floor):
    hist = np.zeros(n_bins)
    width = 180 / n_bins
    for m, theta in zip(np.ravel(magnitude), np.ravel(orientation)):
        b = int(rounding(theta / width))
        hist[min(b, n_bins - 1) if rounding is np.floor else b % n_bins] += m
    return hist


def normalize_block(block, method="L2-Hys", eps=1e-5, again=True):
    v = np.asarray(block, dtype=float)
    if method == "L1":
        return v / (np.abs(v).sum() + eps)
    out = v / np.sqrt((v ** 2).sum() + eps ** 2)
    if method == "L2-Hys":
        out = np.minimum(out, 0.2)
        if again:
            out = out / np.sqrt((out ** 2).sum() + eps ** 2)
    return out


def assign(X, centres):
    d = ((np.asarray(X)[:, None, :] - np.asarray(centres)[None]) ** 2).sum(axis=2)
    return np.argmin(d, axis=1)


def iou(a, b, clip=True):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if clip:
        w, h = max(0.0, w), max(0.0, h)
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def nms(boxes, scores, iou_threshold, strict=True, chain=False):
    order = list(np.argsort(-np.asarray(scores), kind="stable"))
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        over = [j for j in order if (iou(boxes[i], boxes[j]) > iou_threshold if strict
                                     else iou(boxes[i], boxes[j]) >= iou_threshold)]
        order = [j for j in order if j not in over]
        if chain:          # the bug: suppressed boxes keep suppressing
            for j in over:
                order = [k for k in order if iou(boxes[j], boxes[k]) <= iou_threshold]
    return np.array(keep, dtype=int)


def window_boxes(image, window, step):
    H, W = np.shape(image)
    h, w = window
    return np.array([[c, r, c + w, r + h] for r in range(0, H - h + 1, step[0])
                     for c in range(0, W - w + 1, step[1])], dtype=float).reshape(-1, 4)


RIGHT = [(ch06.check_orientation_histogram, orientation_histogram, 8),
         (ch06.check_normalize_block, normalize_block, 8),
         (ch06.check_assign, assign, 6),
         (ch06.check_iou, iou, 8),
         (ch06.check_nms, nms, 7),
         (ch06.check_window_boxes, window_boxes, 5)]


@pytest.mark.parametrize("check, answer, cases", RIGHT, ids=lambda v: getattr(v, "__name__", ""))
def test_right_answers_pass(check, answer, cases, capsys):
    assert check(answer)
    out = capsys.readouterr().out
    assert out.startswith("✅ Exercise 6.") and f"all {cases} cases passed" in out


def test_the_notebook_has_these_six_exercises():
    ids = [info.id for info in exercises_for_notebook("06_hand_crafted_features.ipynb")]
    assert ids == ["6.1", "6.2", "6.3", "6.4", "6.5", "6.6"]


# ------------------------------------------------------------- wrong answers
def failing_case(check, answer, capsys):
    assert not check(answer)
    out = capsys.readouterr().out
    assert out.startswith("❌") and "Traceback" not in out
    return out


def test_histogram_counting_votes_or_rounding_to_the_nearest_bin(capsys):
    out = failing_case(ch06.check_orientation_histogram,
                       lambda m, o, n_bins=9: orientation_histogram(np.ones_like(m), o, n_bins),
                       capsys)
    assert "case 'one pixel at 10 degrees with magnitude 2' failed" in out
    assert "adds its MAGNITUDE" in out
    out = failing_case(ch06.check_orientation_histogram,
                       lambda m, o, n_bins=9: orientation_histogram(m, o, n_bins, np.round),
                       capsys)
    assert "case 'an angle in the upper half of a bin: 15 degrees is in bin 0' failed" in out
    assert "round DOWN" in out


def test_histogram_ignoring_n_bins(capsys):
    out = failing_case(ch06.check_orientation_histogram,
                       lambda m, o, n_bins=9: orientation_histogram(m, o, 9), capsys)
    assert "case 'n_bins=4 (45-degree bins)' failed" in out and "use the n_bins" in out


def test_l2_hys_without_the_second_normalisation_and_without_epsilon(capsys):
    out = failing_case(ch06.check_normalize_block,
                       lambda b, method="L2-Hys": normalize_block(b, method, again=False),
                       capsys)
    assert "case 'L2-Hys of a block with one dominant bin' failed" in out
    assert "L2-normalise AGAIN" in out
    out = failing_case(ch06.check_normalize_block,
                       lambda b, method="L2-Hys": normalize_block(b, method, eps=0.0),
                       capsys)
    assert "+ eps" in out and "Also failing: 'an all-zero block stays zero" in out


def test_assignment_by_distance_to_the_origin_or_with_float_labels(capsys):
    out = failing_case(ch06.check_assign,
                       lambda X, C: np.argmin(np.abs(np.linalg.norm(X, axis=1)[:, None]
                                                     - np.linalg.norm(C, axis=1)[None]), 1),
                       capsys)
    assert "failed" in out
    out = failing_case(ch06.check_assign, lambda X, C: assign(X, C).astype(float), capsys)
    assert "return integer labels" in out


def test_iou_without_clipping_or_with_the_sum_of_areas(capsys):
    out = failing_case(ch06.check_iou, lambda a, b: iou(a, b, clip=False), capsys)
    assert "case 'boxes apart horizontally but overlapping in y' failed" in out
    assert "clip each at 0" in out

    def sum_of_areas(a, b):
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        return w * h / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]))

    out = failing_case(ch06.check_iou, sum_of_areas, capsys)
    assert "case 'a box with itself' failed" in out


def test_nms_chains_and_ties(capsys):
    out = failing_case(ch06.check_nms, lambda b, s, t: nms(b, s, t, chain=True), capsys)
    assert "case 'a suppressed box suppresses nothing (a chain A-B-C)' failed" in out
    assert "only with the boxes you KEPT" in out
    out = failing_case(ch06.check_nms, lambda b, s, t: nms(b, s, t, strict=False), capsys)
    assert "case 'IoU equal to the threshold is kept' failed" in out
    out = failing_case(ch06.check_nms, lambda b, s, t: np.sort(nms(b, s, t)), capsys)
    assert "decreasing order of score" in out


def test_window_boxes_with_rows_and_columns_swapped(capsys):
    out = failing_case(ch06.check_window_boxes,
                       lambda im, w, s: window_boxes(im, w, s)[:, [1, 0, 3, 2]], capsys)
    assert "x is the COLUMN" in out or "(column, row" in out
    out = failing_case(ch06.check_window_boxes,
                       lambda im, w, s: window_boxes(np.zeros((np.shape(im)[0] + 1,
                                                               np.shape(im)[1])), w, s),
                       capsys)
    assert "must fit entirely" in out or "failed" in out


def test_not_implemented_and_a_crash_are_reported_kindly(capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError("Exercise 6.4: replace this line with your code")

    assert not ch06.check_nms(stub)
    assert "uses your answer to Exercise 6.4" in capsys.readouterr().out

    def crash(boxes, scores, iou_threshold):
        return boxes[100]

    out = failing_case(ch06.check_nms, crash, capsys)
    assert "IndexError" in out and "return boxes[100]" in out
