"""The checks of chapter 7 (cnnlib.checks.ch07): right answers pass, the typical wrong
ones fail on the case meant to catch them, with its hint, and no traceback."""
import numpy as np
import pytest

from cnnlib.checks import ch07, exercises_for_notebook


# ------------------------------------------------------------- right answers
def conv_weight_grad(x, g, kernel_shape):
    x, g = np.asarray(x, float), np.asarray(g, float)
    OH, OW = g.shape
    return np.array([[np.sum(g * x[m:m + OH, n:n + OW]) for n in range(kernel_shape[1])]
                     for m in range(kernel_shape[0])])


def conv_input_grad(K, g, image_shape, flip=True):
    K, g = np.asarray(K, float), np.asarray(g, float)
    kh, kw = K.shape
    gp = np.pad(g, ((kh - 1, kh - 1), (kw - 1, kw - 1)))
    Kf = K[::-1, ::-1] if flip else K
    return np.array([[np.sum(gp[p:p + kh, q:q + kw] * Kf) for q in range(image_shape[1])]
                     for p in range(image_shape[0])])


def conv_input_grad_loops(K, g, image_shape):
    """The formula as written: sum over m, n of g(p - m, q - n) K(m, n)."""
    dx = np.zeros(image_shape)
    for p in range(image_shape[0]):
        for q in range(image_shape[1]):
            for m in range(K.shape[0]):
                for n in range(K.shape[1]):
                    if 0 <= p - m < g.shape[0] and 0 <= q - n < g.shape[1]:
                        dx[p, q] += g[p - m, q - n] * K[m, n]
    return dx


def tied_gradient(dT, tap_index, kernel_shape):
    return np.array([np.asarray(dT)[tap_index == k].sum()
                     for k in range(1, kernel_shape[0] * kernel_shape[1] + 1)]
                    ).reshape(kernel_shape)


def max_pool_backward(x, g, k, tie="first"):
    x, g = np.asarray(x, float), np.asarray(g, float)
    dx = np.zeros_like(x)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            window = x[i * k:(i + 1) * k, j * k:(j + 1) * k]
            if tie == "all":
                dx[i * k:(i + 1) * k, j * k:(j + 1) * k] += g[i, j] * (window == window.max())
                continue
            m, n = np.unravel_index(np.argmax(window), window.shape)
            dx[i * k + m, j * k + n] += g[i, j]
    return dx


RIGHT = [(ch07.check_conv_weight_grad, conv_weight_grad, 6),
         (ch07.check_conv_input_grad, conv_input_grad, 5),
         (ch07.check_conv_input_grad, conv_input_grad_loops, 5),
         (ch07.check_tied_gradient, tied_gradient, 5),
         (ch07.check_max_pool_backward, max_pool_backward, 7)]


@pytest.mark.parametrize("check, answer, cases", RIGHT,
                         ids=lambda v: getattr(v, "__name__", ""))
def test_right_answers_pass(check, answer, cases, capsys):
    assert check(answer)
    out = capsys.readouterr().out
    assert out.startswith("✅ Exercise 7.") and f"all {cases} cases passed" in out


def test_the_notebook_has_these_four_exercises():
    ids = [info.id for info in exercises_for_notebook("07_learning_the_features.ipynb")]
    assert ids == ["7.1", "7.2", "7.3", "7.4"]


def test_the_hand_worked_example_is_right():
    dx, dK = ch07._cnnlib_grads(ch07.SMALL_X, ch07.SMALL_K, ch07.SMALL_G)
    np.testing.assert_array_equal(dK, ch07.SMALL_DK)
    np.testing.assert_array_equal(dx, ch07.SMALL_DX)
    np.testing.assert_array_equal(conv_input_grad_loops(ch07.SMALL_K, ch07.SMALL_G, (3, 3)),
                                  ch07.SMALL_DX)


# ------------------------------------------------------------- wrong answers
def failing(check, answer, capsys):
    assert not check(answer)
    out = capsys.readouterr().out
    assert out.startswith("❌") and "Traceback" not in out
    return out


def test_a_weight_gradient_with_a_flipped_filter_fails_on_the_worked_example(capsys):
    out = failing(ch07.check_conv_weight_grad,
                  lambda x, g, s: conv_weight_grad(x, g, s)[::-1, ::-1], capsys)
    assert "case 'the 3 x 3 example worked out by hand' failed" in out
    assert "the correlation of x with g" in out


def test_a_weight_gradient_with_rows_and_columns_swapped_fails_on_non_square(capsys):
    out = failing(ch07.check_conv_weight_grad,
                  lambda x, g, s: conv_weight_grad(x, g, s[::-1]), capsys)
    assert "case 'random image" in out and "rows and columns differ here" in out


def test_an_input_gradient_without_the_flip_is_caught(capsys):
    out = failing(ch07.check_conv_input_grad,
                  lambda K, g, s: conv_input_grad(K, g, s, flip=False), capsys)
    assert "the flipped filter K[::-1, ::-1]" in out


def test_an_input_gradient_of_the_output_shape_is_caught(capsys):
    out = failing(ch07.check_conv_input_grad,
                  lambda K, g, s: np.zeros(np.shape(g)), capsys)
    assert "expected shape (3, 3), got shape (2, 2)" in out


def test_tied_gradient_that_counts_removed_entries_fails(capsys):
    out = failing(ch07.check_tied_gradient,
                  lambda dT, tap, s: tied_gradient(dT, tap, s) + np.asarray(dT)[
                      np.asarray(tap) == 0].sum(), capsys)
    assert "a random dT (not an outer product)" in out and "leave them out" in out


def test_max_pool_backward_that_sends_to_every_tie_fails_on_ties(capsys):
    out = failing(ch07.check_max_pool_backward,
                  lambda x, g, k: max_pool_backward(x, g, k, tie="all"), capsys)
    assert "ties: the first maximum" in out and "ONE element" in out


def test_max_pool_backward_comparing_with_zero_fails_on_negative_maps(capsys):
    out = failing(ch07.check_max_pool_backward,
                  lambda x, g, k: max_pool_backward(x, g, k) * (np.asarray(x) > 0), capsys)
    assert "an all-negative map" in out and "do not compare with 0" in out


def test_not_implemented_is_reported_as_such(capsys):
    def todo(*args):
        raise NotImplementedError("Exercise 7.1: replace this line with your code")
    assert not ch07.check_conv_weight_grad(todo)
    assert capsys.readouterr().out.startswith("⏳")
