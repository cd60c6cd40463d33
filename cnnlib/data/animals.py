"""Animal silhouettes: 10,000 grey 28 x 28 pictures of ten animals, the "large related
data set" that chapter 10 pre-trains on before it learns digits from a few labels.

Explained in chapter 10. The images come with the PyPI package ``animal-shape-mnist``
(version 0.39, MIT licence, Sina Mohammadi, 2025), which stores them as two
gzip-compressed pickles of NumPy arrays. The package's own modules import TensorFlow,
so they are never imported: the two files are read with ``importlib.resources``, and
the pickles are opened with an unpickler that accepts NumPy arrays and nothing else.

The set holds 1,000 pictures of each class, but 284 pictures appear twice (always with
the same label). :func:`load_animal_shapes` drops the second copy of each before it
splits, so no test picture is also a training picture: 9,716 distinct images remain.
"""
from __future__ import annotations

import functools
import gzip
import io
import pickle

import numpy as np

from cnnlib._validate import as_rng, check_bool
from cnnlib.data import Split, _check_test_size, _split

__all__ = ["ANIMAL_CLASSES", "ANIMAL_LICENCE", "load_animal_shapes", "animal_shapes_raw"]

ANIMAL_CLASSES: tuple[str, ...] = ("bear", "bird", "cat", "cow", "dog", "elephant",
                                   "giraffe", "horse", "sheep", "zebra")
"""The ten class names, in label order (label 0 is a bear, label 9 a zebra)."""

ANIMAL_LICENCE = ("Animal Shape MNIST, from the PyPI package animal-shape-mnist 0.39 "
                  "(Sina Mohammadi, 2025), MIT licence.")
"""Where the silhouettes come from and under which licence they may be used."""

_PACKAGE = "animal_shape_mnist"
_FOLDER = "data/Animal Shape"
_FILES = ("animal_data_version_3.gz", "animal_label_version_3.gz")


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that rebuilds NumPy arrays and refuses every other global, so a
    data file cannot run code when it is read."""
    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the "
                                         f"animal-shape data file (only arrays expected)")
        if name == "_reconstruct":      # numpy.core was renamed numpy._core in NumPy 2
            try:
                from numpy._core.multiarray import _reconstruct
            except ImportError:         # NumPy 1
                from numpy.core.multiarray import _reconstruct
            return _reconstruct
        return getattr(np, name)


def _read_array(path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        obj = _ArraysOnly(io.BytesIO(f.read())).load()
    return np.asarray(obj)


@functools.lru_cache(maxsize=1)
def animal_shapes_raw() -> tuple[np.ndarray, np.ndarray]:
    """The package's arrays as stored, read once per process and made read-only:
    uint8 images (10000, 28, 28) with values 0-255 (white animal on black) and int64
    labels (10000,), sorted by class, duplicates included."""
    from importlib import resources
    try:
        root = resources.files(_PACKAGE)
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "load_animal_shapes needs the package 'animal-shape-mnist', which is not "
            "installed. Install it with `pip install animal-shape-mnist==0.39` (or `pip "
            "install -r requirements.txt` for everything the book uses).",
            name=_PACKAGE) from None
    arrays = []
    for name in _FILES:
        source = root.joinpath(f"{_FOLDER}/{name}")
        if not source.is_file():
            raise FileNotFoundError(f"the package animal-shape-mnist is installed but its "
                                    f"data file '{_FOLDER}/{name}' is missing; reinstall "
                                    f"it with `pip install --force-reinstall "
                                    f"animal-shape-mnist==0.39`")
        with resources.as_file(source) as path:
            arrays.append(_read_array(path))
    images, labels = arrays
    if images.shape != (10000, 28, 28) or labels.shape != (10000,):
        raise RuntimeError(f"the animal-shape data have an unexpected layout: images "
                           f"{images.shape}, labels {labels.shape}; expected "
                           f"(10000, 28, 28) and (10000,)")
    images = np.ascontiguousarray(images, dtype=np.uint8)
    labels = labels.astype(np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def _first_copies(images: np.ndarray) -> np.ndarray:
    """Sorted indices of the first copy of every distinct image."""
    _, first = np.unique(images.reshape(len(images), -1), axis=0, return_index=True)
    return np.sort(first)


def load_animal_shapes(*, test_size: int = 1000, flatten: bool = False, rng=0) -> Split:
    """The animal silhouettes, duplicates dropped, shuffled and split.

    test_size : number of images (an int) in the test set, 0..9715.
    flatten : False gives images of shape (n, 28, 28), like ``load_mnist_5k``; True gives
        rows of shape (n, 784).
    rng : Generator, int seed or None; the shuffle (the file is sorted by class).

    Returns ``Split(X_train, X_test, y_train, y_test)``: X float64 in [0, 1] (pixel/255),
    y int64 in 0..9 (names in ``ANIMAL_CLASSES``); ``9716 - test_size`` training and
    ``test_size`` test images. The 284 images stored twice are kept once, before the
    split, so the two sets share no picture. Explained in chapter 10.

    Origin: ``ANIMAL_LICENCE`` (PyPI package animal-shape-mnist 0.39, MIT).
    """
    images, labels = animal_shapes_raw()
    keep = _first_copies(images)
    n = len(keep)
    test_size = _check_test_size(test_size, n, "distinct images")
    flatten = check_bool(flatten, "flatten")
    order = keep[as_rng(rng).permutation(n)]
    X = images[order].astype(np.float64)
    X /= 255.0
    if flatten:
        X = X.reshape(n, -1)
    return _split(X, labels[order], test_size)
