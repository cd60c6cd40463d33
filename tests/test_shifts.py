"""Shifted test digits (cnnlib.data.shifts): pixels move, black pixels enter, a quarter
of a test set in each direction."""
import numpy as np
import pytest

from cnnlib.data.shifts import shift_images, shifted_test_set


def test_shifts_move_pixels_and_let_black_in():
    x = np.arange(1, 17, dtype=float).reshape(1, 4, 4)
    right = shift_images(x, 1, "right")
    np.testing.assert_array_equal(right[0, :, 1:], x[0, :, :-1])
    assert np.all(right[0, :, 0] == 0)
    np.testing.assert_array_equal(shift_images(x, 2, "left")[0, :, :2], x[0, :, 2:])
    np.testing.assert_array_equal(shift_images(x, 1, "down")[0, 1:], x[0, :-1])
    np.testing.assert_array_equal(shift_images(x, 3, "up")[0, :1], x[0, 3:])
    np.testing.assert_array_equal(shift_images(x, 0), x)
    assert shift_images(x, 0) is not x
    assert np.all(shift_images(x, 4, "right") == 0)        # pushed out entirely


def test_shifted_test_set_uses_four_directions_in_turn():
    x = np.random.default_rng(0).random((8, 1, 6, 6))
    out = shifted_test_set(x, 2)
    for i, d in enumerate(["right", "left", "down", "up"] * 2):
        np.testing.assert_array_equal(out[i], shift_images(x[i], 2, d))


@pytest.mark.parametrize("args, error, words", [
    ((np.zeros(5), 1), ValueError, "at least 2 dimensions"),
    ((np.zeros((3, 3)), -1), ValueError, "pixels"),
    ((np.zeros((3, 3)), 1.5), TypeError, "pixels"),
    ((np.zeros((3, 3)), 1, "sideways"), ValueError, "direction"),
])
def test_shift_bad_arguments(args, error, words):
    with pytest.raises(error, match=words):
        shift_images(*args)
