"""Data augmentation (cnnlib.data.resample, cnnlib.data.transforms): the resampling
agrees with scipy.ndimage, scikit-image and torch.nn.functional.interpolate given the
same angle, shift and box; the colour transforms with their formulas; every random
transform is deterministic given the rng, draws per image, keeps shapes and dtypes,
composes, and names bad input; fit applies a transform per batch."""
import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.transform as skt
import torch

import cnnlib.nn as L
from cnnlib.data import resample as R
from cnnlib.data import transforms as T
from cnnlib.optim import SGD
from cnnlib.train import fit

RNG = np.random.default_rng(0)
IMAGES = RNG.random((3, 2, 11, 14))          # non-square, two channels
PHOTOS = RNG.random((4, 3, 9, 12))           # RGB


def per_channel(f, batch):
    return np.stack([np.stack([f(ch) for ch in img]) for img in batch])


# ------------------------------------------------------------ against references
@pytest.mark.parametrize("angle", [0.0, 3.0, 30.0, -47.5, 90.0, 180.0, 333.0])
@pytest.mark.parametrize("fill", [0.0, 0.25])
def test_rotation_agrees_with_skimage_and_scipy(angle, fill):
    ours = R.rotate(IMAGES, angle, fill=fill)
    sk = per_channel(lambda ch: skt.rotate(ch, angle, order=1, mode="constant", cval=fill,
                                           preserve_range=True), IMAGES)
    sc = per_channel(lambda ch: ndi.rotate(ch, angle, reshape=False, order=1,
                                           mode="grid-constant", cval=fill), IMAGES)
    np.testing.assert_allclose(ours, sk, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours, sc, rtol=0, atol=1e-12)


def test_each_image_gets_its_own_angle_and_rotation_is_counter_clockwise():
    angles = np.array([10.0, -20.0, 95.0])
    together = R.rotate(IMAGES, angles)
    for k in range(3):
        np.testing.assert_allclose(together[k], R.rotate(IMAGES[k:k + 1], angles[k])[0],
                                   rtol=0, atol=0)
    dot = np.zeros((1, 1, 9, 9))
    dot[0, 0, 4, 8] = 1.0                   # right of the centre
    turned = R.rotate(dot, 90.0)[0, 0]      # a quarter turn counter-clockwise: above it
    assert np.unravel_index(turned.argmax(), turned.shape) == (0, 4)


@pytest.mark.parametrize("dx, dy", [(2, 0), (0, -3), (1.5, 2.25), (-4.75, 0.5)])
def test_translation_agrees_with_scipy_shift(dx, dy):
    ours = R.translate(IMAGES, dx, dy, fill=0.5)
    sc = per_channel(lambda ch: ndi.shift(ch, (dy, dx), order=1, mode="grid-constant",
                                          cval=0.5), IMAGES)
    np.testing.assert_allclose(ours, sc, rtol=0, atol=1e-12)


def test_zoom_about_the_centre_agrees_with_skimage_warp():
    scale, angle = 1.3, 20.0
    h, w = IMAGES.shape[2:]
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    # skimage's (x, y) = (column, row) convention; y points down, so a counter-
    # clockwise turn on screen is a negative angle in its matrix
    forward = (skt.AffineTransform(translation=-centre)
               + skt.AffineTransform(scale=scale, rotation=np.deg2rad(-angle))
               + skt.AffineTransform(translation=centre + [2.0, -1.0]))
    sk = per_channel(lambda ch: skt.warp(ch, forward.inverse, order=1, mode="constant",
                                         cval=0.0, preserve_range=True), IMAGES)
    ours = R.affine(IMAGES, angle, translate=(2.0, -1.0), scale=scale)
    np.testing.assert_allclose(ours, sk, rtol=0, atol=1e-12)


@pytest.mark.parametrize("size", [(7, 9), (20, 31), (11, 14), (5, 30), 16])
def test_resize_agrees_with_skimage_and_torch(size):
    ours = R.resize(IMAGES, size)
    shape = (size, size) if isinstance(size, int) else size
    sk = per_channel(lambda ch: skt.resize(ch, shape, order=1, mode="edge",
                                           anti_aliasing=False), IMAGES)
    th = torch.nn.functional.interpolate(torch.tensor(IMAGES), size=shape,
                                         mode="bilinear", align_corners=False).numpy()
    np.testing.assert_allclose(ours, sk, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours, th, rtol=0, atol=1e-12)


def test_resized_crop_is_the_crop_then_resized():
    boxes = [(0, 0, 11, 14), (2, 3, 6, 8), (5, 1, 4, 4)]
    for top, left, h, w in boxes:
        ours = R.resized_crop(IMAGES, top, left, h, w, (28, 28))
        box = IMAGES[:, :, top:top + h, left:left + w]
        sk = per_channel(lambda ch: skt.resize(ch, (28, 28), order=1, mode="edge",
                                               anti_aliasing=False), box)
        np.testing.assert_allclose(ours, sk, rtol=0, atol=1e-12)
    # one box per image, all at once
    t, l_, h, w = np.array(boxes).T
    together = R.resized_crop(IMAGES, t, l_, h, w, 10)
    for k, (top, left, hh, ww) in enumerate(boxes):
        np.testing.assert_allclose(together[k], R.resized_crop(
            IMAGES[k:k + 1], top, left, hh, ww, 10)[0], atol=0)


def test_flips_crops_and_padding_by_hand():
    x = np.arange(2 * 1 * 3 * 4, dtype=float).reshape(2, 1, 3, 4)
    np.testing.assert_array_equal(R.hflip(x), x[..., ::-1])
    np.testing.assert_array_equal(R.vflip(x), x[:, :, ::-1])
    np.testing.assert_array_equal(R.pad(x, 1, fill=-1)[0, 0, 0], [-1] * 6)
    np.testing.assert_array_equal(R.crop(x, [0, 1], [2, 0], 2)[1, 0], x[1, 0, 1:3, 0:2])


# ------------------------------------------------------------------------ colour
def test_colour_formulas():
    f = np.array([0.5, 1.0, 1.7, 0.0])
    grey = (0.2989 * PHOTOS[:, 0] + 0.587 * PHOTOS[:, 1] + 0.114 * PHOTOS[:, 2])[:, None]
    np.testing.assert_allclose(T.rgb_to_grayscale(PHOTOS), grey, rtol=1e-15)
    np.testing.assert_allclose(T.rgb_to_grayscale(PHOTOS, 3), np.repeat(grey, 3, 1))
    fb = f.reshape(-1, 1, 1, 1)
    np.testing.assert_allclose(T.adjust_brightness(PHOTOS, f), np.clip(fb * PHOTOS, 0, 1))
    mean = grey.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(T.adjust_contrast(PHOTOS, f),
                               np.clip(fb * PHOTOS + (1 - fb) * mean, 0, 1))
    np.testing.assert_allclose(T.adjust_saturation(PHOTOS, f),
                               np.clip(fb * PHOTOS + (1 - fb) * grey, 0, 1))
    # a grey image: saturation and greyscale leave it alone; contrast uses its own mean
    g = PHOTOS[:, :1]
    np.testing.assert_array_equal(T.adjust_saturation(g, f), g)
    np.testing.assert_array_equal(T.rgb_to_grayscale(g), g)
    np.testing.assert_allclose(T.adjust_contrast(g, 0.5),
                               0.5 * g + 0.5 * g.mean(axis=(1, 2, 3), keepdims=True))


def test_color_jitter_is_its_formulas_in_a_random_order_per_image():
    jitter = T.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4)
    out = jitter(PHOTOS, 5)
    rng = np.random.default_rng(5)                 # redo the draws by hand
    order = [rng.permutation(3) for _ in range(len(PHOTOS))]
    factors = [rng.uniform(0.6, 1.4, size=len(PHOTOS)) for _ in range(3)]
    ops = [T.adjust_brightness, T.adjust_contrast, T.adjust_saturation]
    for k in range(len(PHOTOS)):
        img = PHOTOS[k:k + 1]
        for j in order[k]:
            img = ops[j](img, factors[j][k])
        np.testing.assert_allclose(out[k], img[0], rtol=1e-14)
    assert len({tuple(o) for o in order}) > 1


# ------------------------------------------------------- the random transforms
ALL = {
    "hflip": T.RandomHorizontalFlip(),
    "vflip": T.RandomVerticalFlip(0.7),
    "crop": T.RandomCrop(9, padding=2),
    "crop, no padding": T.RandomCrop((6, 10)),
    "resized crop": T.RandomResizedCrop(12, scale=(0.5, 1.0)),
    "rotation": T.RandomRotation(25, fill=0.1),
    "affine": T.RandomAffine(10, translate=(0.2, 0.1), scale=(0.8, 1.2)),
    "jitter": T.ColorJitter(0.3, 0.3, 0.3),
    "grey": T.RandomGrayscale(0.5),
    "noise": T.GaussianNoise(sigma=0.2),
    "apply": T.RandomApply([T.RandomRotation(90), T.GaussianNoise()], p=0.5),
    "compose": T.Compose([T.RandomCrop(9, padding=1), T.RandomHorizontalFlip()]),
}


@pytest.mark.parametrize("name", list(ALL))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_random_transforms_are_seeded_per_image_and_keep_dtype(name, dtype):
    t = ALL[name]
    x = np.random.default_rng(1).random((40, 3, 9, 12)).astype(dtype)
    before = x.copy()
    a, b, c = t(x, 7), t(x, np.random.default_rng(7)), t(x, 8)
    np.testing.assert_array_equal(a, b)               # the same draws for the same seed
    assert not np.array_equal(a, c)                    # other draws for another
    assert a.dtype == dtype and len(a) == len(x) and a.shape[1] == 3
    np.testing.assert_array_equal(x, before)           # the input is never changed
    # the images of one batch get their own draws: 40 copies of one image do not all
    # come out the same (a flip has only two versions)
    copies = t(np.repeat(x[:1], 40, axis=0), 7)
    assert len({copies[k].tobytes() for k in range(40)}) >= 2


def test_random_apply_and_flip_probabilities():
    x = np.random.default_rng(0).random((4000, 1, 2, 3))
    flipped = np.all(T.RandomHorizontalFlip(0.3)(x, 0) == x[..., ::-1], axis=(1, 2, 3))
    assert abs(flipped.mean() - 0.3) < 0.03
    noisy = np.any(T.RandomApply([T.GaussianNoise(sigma=0.1)], p=0.2)(x, 1) != x,
                   axis=(1, 2, 3))
    assert abs(noisy.mean() - 0.2) < 0.03


def test_random_crop_draws_tops_then_lefts():
    x = np.random.default_rng(0).random((5, 1, 6, 7))
    out = T.RandomCrop((4, 3), padding=1)(x, 11)
    rng = np.random.default_rng(11)
    tops, lefts = rng.integers(0, 5, size=5), rng.integers(0, 7, size=5)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for k in range(5):
        np.testing.assert_array_equal(out[k, 0], padded[k, 0, tops[k]:tops[k] + 4,
                                                        lefts[k]:lefts[k] + 3])


def test_resized_crop_boxes_follow_scale_and_ratio():
    t = T.RandomResizedCrop(8, scale=(0.3, 0.6), ratio=(0.5, 2.0))
    rng = np.random.default_rng(3)
    boxes = [t._box(40, 50, rng) for _ in range(300)]
    areas = np.array([h * w / 2000 for _, _, h, w in boxes])
    assert areas.min() > 0.27 and areas.max() < 0.64
    assert all(0 <= top and top + h <= 40 and 0 <= left and left + w <= 50
               for top, left, h, w in boxes)


@pytest.mark.parametrize("call, error, words", [
    (lambda: T.RandomRotation(10)(np.ones((3, 28, 28)), 0), ValueError, r"\(N, C, H, W\)"),
    (lambda: T.ColorJitter(0.2)(np.ones((2, 2, 4, 4)), 0), ValueError, "C = 3"),
    (lambda: T.RandomCrop(9)(np.ones((2, 1, 4, 4)), 0), ValueError, "does not fit"),
    (lambda: T.RandomHorizontalFlip(1.5), ValueError, "p must be"),
    (lambda: T.ColorJitter(brightness=-0.1), ValueError, "brightness"),
    (lambda: T.RandomResizedCrop(8, scale=(0.5, 2.0)), ValueError, "scale"),
    (lambda: T.RandomAffine(translate=0.1), TypeError, "translate"),
    (lambda: T.Compose([T.RandomHorizontalFlip(), "flip"]), TypeError, "transforms"),
    (lambda: R.rotate(np.ones((2, 1, 4, 4)), [1.0, 2.0, 3.0]), ValueError,
     "one value per image"),
    (lambda: R.rotate(np.ones((2, 3, 4, 4)), 5, fill=(0, 1)), ValueError, "fill"),
    (lambda: R.resized_crop(np.ones((1, 1, 4, 4)), 2, 2, 3, 3, 8), ValueError, "inside"),
    (lambda: T.RandomRotation(10)(np.array([["a"]]), 0), TypeError, "numeric"),
])
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_fit_applies_the_transform_to_every_batch_afresh():
    seen = []

    class Spy(T.Transform):
        def apply(self, x, rng):
            seen.append(x.copy())
            return T.RandomHorizontalFlip(1.0)(x, rng)

    X = np.random.default_rng(0).random((12, 1, 2, 3))
    y = np.arange(12) % 2
    model = L.Sequential(L.Flatten(), L.Linear(6, 2, rng=0))
    fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), X, y, epochs=2,
        batch_size=5, transform=Spy(), rng=0, progress=False)
    assert [len(b) for b in seen] == [5, 5, 2, 5, 5, 2]     # per batch, never the data set
    assert np.array_equal(X, np.random.default_rng(0).random((12, 1, 2, 3)))
