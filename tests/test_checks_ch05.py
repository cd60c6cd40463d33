"""The checks of chapter 5 (cnnlib.checks.ch05): right answers pass, the typical wrong
ones fail on the case meant to catch them, with its hint, and no traceback."""
import numpy as np
import pytest

from cnnlib.checks import ch05, exercises_for_notebook


# ------------------------------------------------------------- right answers
def conv2d_general(image, kernel, padding=0, stride=1):
    image = np.pad(np.asarray(image, dtype=float), padding)
    kernel = np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    rows = range(0, image.shape[0] - kh + 1, stride)
    cols = range(0, image.shape[1] - kw + 1, stride)
    return np.array([[np.sum(image[r:r + kh, c:c + kw] * kernel) for c in cols] for r in rows])


def conv2d_valid(image, kernel):
    return conv2d_general(image, kernel)


def output_size(n, k, stride=1, padding=0):
    return (n + 2 * padding - k) // stride + 1


def max_pool(x, kernel_size, stride=None, start=-np.inf):
    x = np.asarray(x, dtype=float)
    s, k = stride or kernel_size, kernel_size
    out = np.full(((x.shape[0] - k) // s + 1, (x.shape[1] - k) // s + 1), start)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            for value in x[i * s:i * s + k, j * s:j * s + k].ravel():
                out[i, j] = max(out[i, j], value)
    return out


def conv_multichannel(x, weight):
    return np.stack([sum(conv2d_valid(x[k], w[k]) for k in range(len(x))) for w in weight])


SOBEL = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])

RIGHT = [(ch05.check_conv2d_valid, conv2d_valid, 7),
         (ch05.check_conv2d_padding_stride, conv2d_general, 8),
         (ch05.check_output_size, output_size, 11),
         (ch05.check_max_pool, max_pool, 8),
         (ch05.check_conv_multichannel, conv_multichannel, 6)]


@pytest.mark.parametrize("check, answer, cases", RIGHT, ids=lambda v: getattr(v, "__name__", ""))
def test_right_answers_pass(check, answer, cases, capsys):
    assert check(answer)
    out = capsys.readouterr().out
    assert out.startswith("✅ Exercise 5.") and f"all {cases} cases passed" in out


@pytest.mark.parametrize("kernel", [SOBEL, -3 * SOBEL[:, ::-1], np.array([[-1.0, 1.0]]),
                                    np.array([[1.0, 0, -1]] * 5)])
def test_vertical_edge_detectors_pass(kernel, capsys):
    assert ch05.check_vertical_edge_kernel(kernel)
    assert "horizontal edge 0" in capsys.readouterr().out


def test_the_notebook_has_these_six_exercises():
    ids = [info.id for info in exercises_for_notebook("05_convolution_of_images.ipynb")]
    assert ids == ["5.1", "5.2", "5.3", "5.4", "5.5", "5.6"]


def test_the_worked_example_is_the_notes():
    np.testing.assert_array_equal(conv2d_valid(ch05.WORKED_IMAGE, ch05.WORKED_KERNEL),
                                  [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


# ------------------------------------------------------------- wrong answers
def failing_case(check, answer, capsys):
    assert not check(answer)
    out = capsys.readouterr().out
    assert out.startswith("❌") and "Traceback" not in out
    return out


def test_a_flipped_kernel_is_caught_by_the_asymmetric_case(capsys):
    out = failing_case(ch05.check_conv2d_valid,
                       lambda i, k: conv2d_valid(i, np.asarray(k)[::-1, ::-1]), capsys)
    assert "case 'an asymmetric 2 x 2 kernel (not flipped)' failed" in out
    assert "do not flip the kernel" in out


def test_an_output_one_too_small_shows_the_shapes(capsys):
    out = failing_case(ch05.check_conv2d_valid,
                       lambda i, k: conv2d_valid(i, k)[:-1, :-1], capsys)
    assert "case 'the chapter's worked example' failed (0 of 7 cases passed)" in out
    assert "expected shape (3, 3), got shape (2, 2)" in out and "H - kh + 1 rows" in out


def test_mixing_up_height_and_width_is_caught_by_non_square_shapes(capsys):
    def square_only(image, kernel):
        image, kernel = np.asarray(image, float), np.asarray(kernel, float)
        k = kernel.shape[0]
        n = image.shape[0] - k + 1
        return np.array([[np.sum(image[i:i + k, j:j + k] * kernel) for j in range(n)]
                         for i in range(n)])

    out = failing_case(ch05.check_conv2d_valid, square_only, capsys)
    assert "random non-square image" in out.splitlines()[0]
    assert "use H with kh and W with kw" in out


def test_padding_on_two_sides_only_and_an_ignored_stride(capsys):
    def one_sided(image, kernel, padding=0, stride=1):
        padded = np.pad(np.asarray(image, float), ((padding, 0), (padding, 0)))
        return conv2d_general(padded, kernel, 0, stride)

    out = failing_case(ch05.check_conv2d_padding_stride, one_sided, capsys)
    assert "case 'the worked example with padding=1' failed" in out
    assert "on ALL four sides" in out
    out = failing_case(ch05.check_conv2d_padding_stride,
                       lambda i, k, padding=0, stride=1: conv2d_general(i, k, padding), capsys)
    assert "case 'the worked example with stride=2' failed" in out
    assert "expected shape (2, 2), got shape (3, 3)" in out


def test_output_size_as_float_or_rounded_up(capsys):
    out = failing_case(ch05.check_output_size,
                       lambda n, k, stride=1, padding=0: np.floor((n + 2 * padding - k) / stride) + 1,
                       capsys)
    assert "return an int" in out and "use // for the floor division" in out
    out = failing_case(ch05.check_output_size,
                       lambda n, k, stride=1, padding=0: -(-(n + 2 * padding - k) // stride) + 1,
                       capsys)
    assert "a stride that leaves a pixel over" in out.splitlines()[0]
    assert "rounded DOWN" in out


def test_a_running_maximum_started_at_zero_fails_on_negative_maps(capsys):
    out = failing_case(ch05.check_max_pool,
                       lambda x, k, stride=None: max_pool(x, k, stride, start=0.0), capsys)
    assert "case 'an all-negative map' failed" in out and "do not start the maximum at 0" in out


def test_a_pool_whose_stride_defaults_to_one(capsys):
    out = failing_case(ch05.check_max_pool,
                       lambda x, k, stride=None: max_pool(x, k, stride or 1), capsys)
    assert "case 'a 4 x 4 map, 2 x 2 windows' failed" in out
    assert "expected shape (2, 2), got shape (3, 3)" in out


def test_forgetting_the_sum_over_channels_and_the_filter_axis(capsys):
    out = failing_case(ch05.check_conv_multichannel,
                       lambda x, w: np.stack([conv2d_valid(x[0], f[0]) for f in w]), capsys)
    assert "case ''red minus green' on a 3-channel image' failed" in out
    assert "SUM over the channels" in out
    out = failing_case(ch05.check_conv_multichannel, lambda x, w: conv_multichannel(x, w)[0],
                       capsys)
    assert "got shape (3, 3) (same number of values" in out


@pytest.mark.parametrize("kernel, says", [
    (np.ones((3, 3)), "make the weights sum to 0 (they sum to 9)"),
    (SOBEL.T, "transpose it (K.T)"),
    (np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]), "also responds to the horizontal edge"),
    (np.array([[1.0, -1, 1, -1, 1, -1, 0.1, -0.1]]), "at most 7 x 7"),
    (np.array([[1.0, 0.0, -1.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 1.0]]), "does not see vertical"),
    (np.zeros((3, 3)), "not all zero"),
    ("sobel", "a 2-D array of numbers"),
])
def test_kernels_that_are_not_vertical_edge_detectors(kernel, says, capsys):
    out = failing_case(ch05.check_vertical_edge_kernel, kernel, capsys)
    assert says in out


def test_not_implemented_and_a_crash_are_reported_kindly(capsys):
    assert not ch05.check_vertical_edge_kernel(None)
    assert "⏳ Exercise 5.6" in capsys.readouterr().out

    def stub(*args, **kwargs):
        raise NotImplementedError("Exercise 5.1: replace this line with your code")

    assert not ch05.check_conv_multichannel(stub)
    assert "uses your answer to Exercise 5.1" in capsys.readouterr().out

    def crash(image, kernel):
        return image[10, 10]

    out = failing_case(ch05.check_conv2d_valid, crash, capsys)
    assert "IndexError" in out and "return image[10, 10]" in out
