"""cnnlib.data.animals: the animal silhouettes read from the installed package's files,
duplicates dropped before the split; cnnlib.data.subsets: a few labels per class."""
import gzip
import pickle

import numpy as np
import pytest

from cnnlib import data
from cnnlib.data import animals
from cnnlib.data.subsets import labelled_subset


def test_animal_shapes_shapes_dtypes_and_ranges():
    s = animals.load_animal_shapes()
    assert isinstance(s, data.Split)
    assert s.X_train.shape == (8716, 28, 28) and s.X_test.shape == (1000, 28, 28)
    assert s.X_train.dtype == np.float64 and s.y_train.dtype == np.int64
    X = np.concatenate([s.X_train, s.X_test])
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.allclose(X * 255, np.round(X * 255), atol=1e-9)
    # white animals on a black background, like MNIST's white ink on black
    assert X[:, 0, :].mean() < 0.05 and X[:, 14, 14].mean() > 0.6
    flat = animals.load_animal_shapes(flatten=True, test_size=500)
    assert flat.X_train.shape == (9216, 784) and flat.X_test.shape == (500, 784)


def test_duplicates_are_dropped_before_the_split():
    images, labels = animals.animal_shapes_raw()
    assert images.shape == (10000, 28, 28) and np.array_equal(np.bincount(labels),
                                                              np.full(10, 1000))
    s = animals.load_animal_shapes()
    X = np.concatenate([s.X_train, s.X_test]).reshape(-1, 784)
    assert len(X) == 9716 == len(np.unique(X, axis=0))      # 284 pairs, one copy each
    train = {row.tobytes() for row in s.X_train.reshape(-1, 784)}
    assert not any(row.tobytes() in train for row in s.X_test.reshape(-1, 784))


def test_classes_are_named_in_label_order_and_shuffled_into_both_sets():
    assert animals.ANIMAL_CLASSES[0] == "bear" and animals.ANIMAL_CLASSES[-1] == "zebra"
    assert len(animals.ANIMAL_CLASSES) == 10 and "MIT" in animals.ANIMAL_LICENCE
    s = animals.load_animal_shapes()
    assert set(np.unique(s.y_test)) == set(range(10))
    assert 60 < np.bincount(s.y_test).min() and np.bincount(s.y_test).max() < 140
    again = animals.load_animal_shapes()
    other = animals.load_animal_shapes(rng=1)
    assert np.array_equal(s.X_test, again.X_test)
    assert not np.array_equal(s.y_test, other.y_test)


def test_exported_from_cnnlib_data():
    assert data.load_animal_shapes is animals.load_animal_shapes
    assert data.ANIMAL_CLASSES == animals.ANIMAL_CLASSES


@pytest.mark.parametrize("test_size, error", [(0.2, TypeError), (9716, ValueError),
                                              (-1, ValueError)])
def test_bad_test_size_is_named(test_size, error):
    with pytest.raises(error, match="test_size"):
        animals.load_animal_shapes(test_size=test_size)


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(animals, "_PACKAGE", "no_such_animal_package")
    animals.animal_shapes_raw.cache_clear()
    try:
        with pytest.raises(ModuleNotFoundError, match="pip install animal-shape-mnist"):
            animals.load_animal_shapes()
    finally:
        monkeypatch.undo()
        animals.animal_shapes_raw.cache_clear()


class _Boom:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_the_data_files_are_read_without_running_code(tmp_path):
    good, bad = tmp_path / "good.gz", tmp_path / "bad.gz"
    with gzip.open(good, "wb") as f:
        pickle.dump(np.arange(6, dtype=np.uint8).reshape(2, 3), f)
    with gzip.open(bad, "wb") as f:
        pickle.dump(_Boom(), f)
    assert np.array_equal(animals._read_array(good), np.arange(6).reshape(2, 3))
    with pytest.raises(pickle.UnpicklingError, match="builtins.print"):
        animals._read_array(bad)


# ------------------------------------------------------------------ labelled subset
def test_labelled_subset_is_balanced_random_and_nested():
    y = np.repeat(np.arange(4), [10, 20, 7, 9])
    idx = labelled_subset(y, 5, rng=3)
    assert idx.dtype == np.int64 and idx.shape == (20,) and len(set(idx)) == 20
    assert np.array_equal(np.bincount(y[idx]), np.full(4, 5))
    assert not np.array_equal(np.sort(idx), idx)                 # shuffled
    assert np.array_equal(idx, labelled_subset(y, 5, rng=3))     # seeded
    assert not np.array_equal(np.sort(idx), np.sort(labelled_subset(y, 5, rng=4)))
    assert set(labelled_subset(y, 2, rng=3)) <= set(idx)         # nested subsets


@pytest.mark.parametrize("y, k, error, match", [
    (np.repeat(np.arange(3), 4), 5, ValueError, "class 0 has only 4"),
    (np.repeat(np.arange(3), 4), 0, ValueError, "per_class"),
    (np.repeat(np.arange(3), 4), 2.5, TypeError, "per_class"),
    (np.zeros((3, 2), int), 1, ValueError, "y"),
    (np.array([0.5, 1.0]), 1, TypeError, "y"),
])
def test_labelled_subset_bad_input(y, k, error, match):
    with pytest.raises(error, match=match):
        labelled_subset(y, k)
