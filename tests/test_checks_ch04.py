"""The checks of chapter 4 (cnnlib.checks.ch04): right answers pass, the typical wrong
ones fail on the case meant to catch them, with its hint, and no traceback."""
import numpy as np
import pytest

from cnnlib.checks import exercises_for_notebook
from cnnlib.checks import ch04


# ------------------------------------------------------------- right answers
def conv1d_loop(x, theta):
    n, m = len(x), len(theta)
    out = np.zeros(n - m + 1)
    for i in range(n - m + 1):
        for j in range(m):
            out[i] += theta[j] * x[i + j]
    return out


def true_convolution(x, theta):
    return conv1d_loop(x, np.asarray(theta)[::-1])


def banded_matrix(theta, n):
    m = len(theta)
    T = np.zeros((n - m + 1, n))
    for i in range(n - m + 1):
        T[i, i:i + m] = theta
    return T


def fully_connected_weights(sizes):
    sizes = list(sizes)
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def layer_weights(shape, maps, field):
    pixels = shape[0] * shape[1]
    return pixels * maps * pixels, maps * pixels * field**2, maps * field**2


def conv1d_general(x, theta, padding=0, stride=1):
    xp = np.pad(np.asarray(x, dtype=float), padding)
    m = len(theta)
    return np.array([np.dot(theta, xp[s:s + m]) for s in range(0, len(xp) - m + 1, stride)])


RIGHT = [(ch04.check_conv1d_loop, conv1d_loop, 7),
         (ch04.check_true_convolution, true_convolution, 6),
         (ch04.check_banded_matrix, banded_matrix, 6),
         (ch04.check_fully_connected_weights, fully_connected_weights, 7),
         (ch04.check_layer_weights, layer_weights, 5),
         (ch04.check_conv1d_padding_stride, conv1d_general, 7)]


@pytest.mark.parametrize("check, answer, cases", RIGHT, ids=lambda v: getattr(v, "__name__", ""))
def test_right_answers_pass(check, answer, cases, capsys):
    assert check(answer)
    out = capsys.readouterr().out
    assert out.startswith("✅ Exercise 4.") and f"all {cases} cases passed" in out


def test_the_notebook_has_these_six_exercises():
    ids = [info.id for info in exercises_for_notebook("04_fully_connected_to_convolution.ipynb")]
    assert ids == ["4.1", "4.2", "4.3", "4.4", "4.5", "4.6"]


# ------------------------------------------------------------- wrong answers
def failing_case(check, answer, capsys):
    assert not check(answer)
    out = capsys.readouterr().out
    assert out.startswith("❌") and "Traceback" not in out
    return out


def test_a_flipped_filter_is_caught_by_the_asymmetric_case(capsys):
    out = failing_case(ch04.check_conv1d_loop, lambda x, t: np.convolve(x, t, "valid"), capsys)
    assert "case 'an asymmetric filter [1, 2, 3]' failed (2 of 7 cases passed)" in out
    assert "expected: [ 8. 14.  8.  3.  3.]" in out and "do not reverse the filter" in out


def test_an_output_one_too_short_shows_the_shapes_and_the_length(capsys):
    def short(x, t):
        return np.array([np.dot(t, x[i:i + len(t)]) for i in range(len(x) - len(t))])

    out = failing_case(ch04.check_conv1d_loop, short, capsys)
    assert "case 'the worked example [1,1,1,0,0] * [1,0,1]' failed" in out
    assert "expected shape (3,), got shape (2,)" in out and "n - m + 1 outputs" in out


def test_cross_correlation_is_not_the_true_convolution(capsys):
    out = failing_case(ch04.check_true_convolution,
                       lambda x, t: np.correlate(x, t, "valid"), capsys)
    assert "case 'an asymmetric filter [1, 2, 3]' failed (2 of 6 cases passed)" in out
    assert "theta[::-1]" in out


def test_a_transposed_banded_matrix(capsys):
    out = failing_case(ch04.check_banded_matrix, lambda t, n: banded_matrix(t, n).T, capsys)
    assert "expected shape (3, 5), got shape (5, 3) (it is the transpose of the expected result" in out
    assert "one row per output" in out


def test_a_reversed_filter_in_the_matrix(capsys):
    out = failing_case(ch04.check_banded_matrix,
                       lambda t, n: banded_matrix(np.asarray(t)[::-1], n), capsys)
    assert "case 'an asymmetric filter [1, 2, 3], n = 4' failed" in out
    assert "T @ x gives the convolution" in out       # listed among the failing cases


def test_counting_the_biases_too(capsys):
    out = failing_case(ch04.check_fully_connected_weights,
                       lambda s: sum(a * b + b for a, b in zip(s[:-1], s[1:])), capsys)
    assert "expected: 25" in out and "got:      30" in out and "biases are not counted" in out


def test_a_convolutional_count_without_the_maps(capsys):
    def forgot_maps(shape, maps, field):
        fc, local, _ = layer_weights(shape, maps, field)
        return fc, local, field * field

    out = failing_case(ch04.check_layer_weights, forgot_maps, capsys)
    assert "item [2]" in out and "expected: 1000" in out and "got:      100" in out


def test_padding_on_one_side_only(capsys):
    def one_side(x, t, padding=0, stride=1):
        return conv1d_general(np.concatenate([np.zeros(padding), x]), t, 0, stride)

    out = failing_case(ch04.check_conv1d_padding_stride, one_side, capsys)
    assert "with padding=1" in out and "BOTH ends" in out


def test_a_stride_that_is_ignored(capsys):
    out = failing_case(ch04.check_conv1d_padding_stride,
                       lambda x, t, padding=0, stride=1: conv1d_general(x, t, padding, 1),
                       capsys)
    assert "case 'the worked example with stride=2' failed" in out and "i * stride" in out


def test_not_implemented_and_a_crash_are_reported_kindly(capsys):
    def stub(x, t):
        raise NotImplementedError("Exercise 4.1: replace this line with your code")

    assert not ch04.check_conv1d_loop(stub)
    assert "⏳ Exercise 4.1" in capsys.readouterr().out

    def crash(x, t):
        return x[len(x) + 3]

    out = failing_case(ch04.check_conv1d_loop, crash, capsys)
    assert "it raised IndexError" in out


def test_a_badly_shaped_matrix_does_not_break_the_matrix_check(capsys):
    # the case that multiplies T with a signal must report the shape, not crash
    out = failing_case(ch04.check_banded_matrix, lambda t, n: np.zeros((2, 2)), capsys)
    assert "checker itself failed" not in out
