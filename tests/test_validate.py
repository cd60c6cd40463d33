"""cnnlib._validate: the one set of input checks every public function uses."""
import numpy as np
import pytest

from cnnlib import _validate as V


@pytest.mark.parametrize("value", [True, False, np.True_, np.bool_(False)])
def test_check_bool_accepts_bools(value):
    assert V.check_bool(value, "flag") is bool(value)


@pytest.mark.parametrize("value", ["no", "True", 0, 1, 1.0, None, np.array([True])])
def test_check_bool_refuses_everything_else(value):
    with pytest.raises(TypeError, match=r"flag must be True or False, got"):
        V.check_bool(value, "flag")


def test_is_int_and_check_int():
    assert all(V.is_int(v) for v in (0, -3, np.int64(2), np.uint8(1)))
    assert not any(V.is_int(v) for v in (True, np.True_, 1.0, "1", None, np.array(1)))
    assert V.check_int(np.int32(-4), "k") == -4 and type(V.check_int(np.int32(2), "k")) is int
    with pytest.raises(TypeError, match=r"k must be an int, got bool \(True\)"):
        V.check_int(True, "k")
    with pytest.raises(ValueError, match="k must be >= 1, got 0"):
        V.check_int(0, "k", low=1)
    assert V.check_positive_int(0, "n", allow_zero=True) == 0
    with pytest.raises(ValueError, match="n must be >= 1"):
        V.check_positive_int(0, "n")


def test_check_number():
    assert V.check_number(np.float32(0.5), "lr") == 0.5
    assert V.check_number(3, "lr") == 3.0
    for bad in (True, "0.1", None, [1.0], np.array([0.5])):
        with pytest.raises(TypeError, match="lr must be a number"):
            V.check_number(bad, "lr")
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="lr must be a finite number"):
            V.check_number(bad, "lr")
    assert np.isinf(V.check_number(-np.inf, "value", finite=False))
    assert np.isnan(V.check_number(np.nan, "value", finite=False))
    with pytest.raises(ValueError, match=r"lr must be a finite number > 0, got 0"):
        V.check_number(0, "lr", low=0, low_open=True)
    with pytest.raises(ValueError, match=r"p must be a finite number in \[0, 1\], got 1.5"):
        V.check_number(1.5, "p", low=0, high=1)
    with pytest.raises(ValueError, match=r"f must be a finite number in \(0, 1\), got 1"):
        V.check_number(1, "f", low=0, high=1, low_open=True, high_open=True)
    with pytest.raises(ValueError, match=r"t must be a finite number <= 2"):
        V.check_number(3, "t", high=2)


def test_as_dout_shape_and_dtype():
    d = V.as_dout([[1, 2]], (1, 2), np.float32)
    assert d.dtype == np.float32 and d.shape == (1, 2)
    assert V.as_dout(2.0, (), np.float32).dtype == np.float32
    with pytest.raises(ValueError, match=r"dout must be a scalar \(the shape of the "
                                         r"loss\), got an array of shape \(1,\)"):
        V.as_dout(np.ones(1), (), np.float64, "the loss")
    with pytest.raises(ValueError, match=r"dout must have the shape of the output, "
                                         r"\(2, 3\), got dout.shape=\(3, 2\)"):
        V.as_dout(np.ones((3, 2)), (2, 3), np.float64, "the output")
    with pytest.raises(TypeError, match="dout must be"):
        V.as_dout("1", (), np.float64)


def test_snapshot_copies_only_what_the_caller_could_change():
    x = np.ones(3)
    assert V.snapshot(x, x) is not x and not np.shares_memory(V.snapshot(x, x), x)
    view = x[::2]
    assert not np.shares_memory(V.snapshot(view, view), x)
    fresh = x.astype(np.float32)                     # made by validation: kept as is
    assert V.snapshot(fresh, x) is fresh
    from_list = np.asarray([1.0, 2.0])
    assert V.snapshot(from_list, [1.0, 2.0]) is from_list


def test_read_only_arrays_are_kept_without_a_copy():
    """An array that owns its memory and is read-only cannot change in place: caches
    keep it as it is. A training loop's mini-batches are made so (frozen_rows), which
    spares the linear layer a copy of every batch."""
    X = np.arange(12.0).reshape(4, 3)
    batch = V.frozen_rows(X, np.array([2, 0]))
    assert not batch.flags.writeable and batch.flags.owndata
    np.testing.assert_array_equal(batch, X[[2, 0]])
    assert V.snapshot(batch, batch) is batch
    whole = V.frozen_rows(X, slice(None))          # a view of the caller's array
    assert whole.flags.writeable and np.shares_memory(whole, X)
    assert not np.shares_memory(V.snapshot(whole, whole), X)
    assert X.flags.writeable                       # the caller's array is untouched
    with pytest.raises(ValueError):
        batch[0, 0] = 1.0
