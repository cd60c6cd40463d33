r"""Data augmentation: random transforms of a batch of images, drawn afresh every time.

Explained in chapter 9. Each transform is an object called as ``t(x, rng)`` on a batch
``x`` of shape (N, C, H, W) with values in [0, 1]; it draws its parameters for every
image of the batch from ``rng`` (a NumPy Generator, or a seed) and returns a new batch.
That is the protocol of :func:`cnnlib.train.fit` (``fit(..., transform=t)``), which
applies it to every mini-batch, so each epoch sees new versions of the same images.
The names and arguments follow torchvision's, which readers will meet next:

* geometry (:mod:`cnnlib.data.resample` does the resampling): ``RandomHorizontalFlip``,
  ``RandomVerticalFlip``, ``RandomCrop`` (with padding), ``RandomResizedCrop`` (a random
  box zoomed to the output size), ``RandomRotation``, ``RandomAffine`` (rotation,
  translation and zoom at once);
* colour: ``ColorJitter`` (brightness, contrast, saturation), ``Grayscale``,
  ``RandomGrayscale``, and ``GaussianNoise``;
* composition: ``Compose`` (one after the other) and ``RandomApply`` (the whole list,
  to each image with probability p).

Colour transforms act on RGB batches (C = 3) and on grey ones (C = 1), where a grey
image is its own greyscale version: brightness and contrast work as usual, saturation
and greyscale leave it unchanged. The colour formulas, for a factor f:

.. math::
    \text{brightness: } \operatorname{clip}(f x), \quad
    \text{contrast: } \operatorname{clip}(f x + (1 - f)\,\overline{g}), \quad
    \text{saturation: } \operatorname{clip}(f x + (1 - f)\, g),

with :math:`g = 0.2989 R + 0.587 G + 0.114 B` the grey version of the image,
:math:`\overline{g}` its mean over the image and clip to [0, 1] (torchvision's).
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from cnnlib._validate import as_rng, check_number, check_pair, check_positive_int
from cnnlib.data import resample as R

__all__ = ["Compose", "RandomApply", "RandomHorizontalFlip", "RandomVerticalFlip",
           "RandomCrop", "RandomResizedCrop", "RandomRotation", "RandomAffine",
           "ColorJitter", "Grayscale", "RandomGrayscale", "GaussianNoise",
           "rgb_to_grayscale", "adjust_brightness", "adjust_contrast",
           "adjust_saturation"]

#: The weights of R, G and B in an image's grey version (torchvision's, ITU-R 601).
GREY_WEIGHTS = (0.2989, 0.587, 0.114)


def _colour_channels(x: np.ndarray) -> int:
    c = x.shape[1]
    if c not in (1, 3):
        raise ValueError(f"colour transforms need grey (C = 1) or RGB (C = 3) images, got "
                         f"{c} channels (shape {x.shape})")
    return c


def _probability(p, name: str = "p") -> float:
    return check_number(p, name, low=0.0, high=1.0)


def _range(value, name: str, *, centre: float | None = None, low: float = -math.inf):
    """A number v -> (centre - v, centre + v) (or (-v, v)), or a pair (lo, hi)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a number or a pair (min, max), got {value!r}")
        lo, hi = (check_number(v, f"{name}[{i}]") for i, v in enumerate(value))
    else:
        v = check_number(value, name, low=0.0)
        lo, hi = (-v, v) if centre is None else (max(centre - v, low), centre + v)
    if lo > hi or lo < low:
        raise ValueError(f"{name} must give a range (min, max) with {low} <= min <= max, "
                         f"got ({lo}, {hi})")
    return lo, hi


def _per_channel(x: np.ndarray, f: np.ndarray) -> np.ndarray:
    return f.reshape(-1, 1, 1, 1).astype(x.dtype)


# ------------------------------------------------------------ colour, deterministic
def rgb_to_grayscale(x, num_output_channels: int = 1) -> np.ndarray:
    """The grey version :math:`0.2989 R + 0.587 G + 0.114 B` of each image of an
    (N, 3, H, W) batch (grey (N, 1, H, W) batches are returned as they are), with 1 or 3
    (identical) output channels. Explained in chapter 9."""
    x = R.check_images(x)
    if num_output_channels not in (1, 3):
        raise ValueError(f"num_output_channels must be 1 or 3, got {num_output_channels!r}")
    if _colour_channels(x) == 1:
        grey = x
    else:
        w = np.asarray(GREY_WEIGHTS, x.dtype).reshape(1, 3, 1, 1)
        grey = (x * w).sum(axis=1, keepdims=True)
    return np.repeat(grey, num_output_channels, axis=1) if num_output_channels == 3 \
        else grey.copy()


def adjust_brightness(x, factor) -> np.ndarray:
    """clip(f x): darker for f < 1, brighter for f > 1 (one factor, or one per image).
    Explained in chapter 9."""
    x = R.check_images(x)
    f = R.per_image(factor, len(x), "factor")
    return np.clip(x * _per_channel(x, f), 0, 1)


def adjust_contrast(x, factor) -> np.ndarray:
    """clip(f x + (1 - f) mean): pull each image towards (f < 1) or push it away from
    (f > 1) the mean of its grey version. Explained in chapter 9."""
    x = R.check_images(x)
    _colour_channels(x)
    f = _per_channel(x, R.per_image(factor, len(x), "factor"))
    mean = rgb_to_grayscale(x).mean(axis=(1, 2, 3), keepdims=True)
    return np.clip(f * x + (1 - f) * mean, 0, 1)


def adjust_saturation(x, factor) -> np.ndarray:
    """clip(f x + (1 - f) grey): towards grey (f < 1, f = 0 gives the grey image) or
    more colourful (f > 1); grey images are unchanged. Explained in chapter 9."""
    x = R.check_images(x)
    if _colour_channels(x) == 1:
        return x.copy()
    f = _per_channel(x, R.per_image(factor, len(x), "factor"))
    return np.clip(f * x + (1 - f) * rgb_to_grayscale(x), 0, 1)


# ---------------------------------------------------------------------- composition
class Transform:
    """Base class: ``t(x, rng)`` checks the batch and calls :meth:`apply`."""

    def __call__(self, x, rng: np.random.Generator | int | None = None) -> np.ndarray:
        return self.apply(R.check_images(x), as_rng(rng))

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply ``transforms`` one after the other, each with the same generator."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if not callable(t):
                raise TypeError(f"transforms[{i}] must be a transform t(x, rng), got "
                                f"{type(t).__name__}")

    def apply(self, x, rng):
        for t in self.transforms:
            x = t(x, rng)
        return x


class RandomApply(Transform):
    """Apply the list ``transforms`` (in order) to each image with probability ``p``;
    the other images pass unchanged."""

    def __init__(self, transforms: Sequence[Callable] | Callable, p: float = 0.5) -> None:
        self.transforms = Compose(transforms if isinstance(transforms, (list, tuple))
                                  else [transforms])
        self.p = _probability(p)

    def apply(self, x, rng):
        chosen = rng.random(len(x)) < self.p
        out = x.copy()
        if chosen.any():
            out[chosen] = self.transforms(x[chosen], rng)
        return out


class _PerImage(Transform):
    """A deterministic op applied to the images chosen with probability ``p``."""
    op: Callable = staticmethod(lambda x: x)

    def __init__(self, p: float = 0.5) -> None:
        self.p = _probability(p)

    def apply(self, x, rng):
        chosen = rng.random(len(x)) < self.p
        out = x.copy()
        if chosen.any():
            out[chosen] = type(self).op(x[chosen])
        return out


class RandomHorizontalFlip(_PerImage):
    """Mirror each image left to right with probability ``p``."""
    op = staticmethod(R.hflip)


class RandomVerticalFlip(_PerImage):
    """Mirror each image top to bottom with probability ``p``."""
    op = staticmethod(R.vflip)


class RandomGrayscale(_PerImage):
    """Turn each image grey (keeping its channels) with probability ``p`` (0.1)."""
    op = staticmethod(lambda x: rgb_to_grayscale(x, x.shape[1]))

    def __init__(self, p: float = 0.1) -> None:
        super().__init__(p)


class Grayscale(Transform):
    """The grey version of every image, with ``num_output_channels`` (1 or 3)."""

    def __init__(self, num_output_channels: int = 1) -> None:
        if num_output_channels not in (1, 3):
            raise ValueError(f"num_output_channels must be 1 or 3, got "
                             f"{num_output_channels!r}")
        self.num_output_channels = num_output_channels

    def apply(self, x, rng):
        return rgb_to_grayscale(x, self.num_output_channels)


# ------------------------------------------------------------------------ geometry
class RandomCrop(Transform):
    """Pad each image with ``padding`` rings of ``fill``, then cut a random ``size``
    window (int or (h, w)) out of it: the image shifted by up to ``padding`` pixels.

    Draws, in this order: the window's top rows ``rng.integers(0, H + 2p - h + 1,
    size=N)``, then its left columns ``rng.integers(0, W + 2p - w + 1, size=N)``."""

    def __init__(self, size, padding: int = 0, fill: float = 0.0) -> None:
        self.size = check_pair(size, "size")
        self.padding = check_positive_int(padding, "padding", allow_zero=True)
        self.fill = fill

    def apply(self, x, rng):
        h, w = self.size
        hp, wp = x.shape[2] + 2 * self.padding, x.shape[3] + 2 * self.padding
        if h > hp or w > wp:
            raise ValueError(f"a {h} x {w} crop does not fit in the {hp} x {wp} padded "
                             f"images")
        tops = rng.integers(0, hp - h + 1, size=len(x))
        lefts = rng.integers(0, wp - w + 1, size=len(x))
        return R.crop(R.pad(x, self.padding, self.fill), tops, lefts, self.size)


class RandomResizedCrop(Transform):
    """Cut a random box out of each image and resize it to ``size``: a random **zoom**.

    The box covers a fraction of the image's area drawn from ``scale`` and has an
    aspect ratio (width / height) drawn log-uniformly from ``ratio``; as torchvision
    does, up to 10 draws are tried for a box that fits, else the largest centred box
    whose ratio lies in the range is used."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)) -> None:
        self.size = check_pair(size, "size")
        self.scale = _range(scale, "scale", low=0.0)
        self.ratio = _range(ratio, "ratio", low=1e-12)
        if self.scale[1] > 1 or self.scale[1] <= 0:
            raise ValueError(f"scale must lie in (0, 1], got {scale!r}")

    def _box(self, h: int, w: int, rng) -> tuple[int, int, int, int]:
        area = h * w
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(*log_ratio))
            bw = int(round(math.sqrt(target * aspect)))
            bh = int(round(math.sqrt(target / aspect)))
            if 0 < bw <= w and 0 < bh <= h:
                return int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1)), bh, bw
        aspect = w / h
        if aspect < self.ratio[0]:
            bw, bh = w, int(round(w / self.ratio[0]))
        elif aspect > self.ratio[1]:
            bh, bw = h, int(round(h * self.ratio[1]))
        else:
            bw, bh = w, h
        return (h - bh) // 2, (w - bw) // 2, bh, bw

    def apply(self, x, rng):
        boxes = np.array([self._box(x.shape[2], x.shape[3], rng) for _ in range(len(x))])
        return R.resized_crop(x, *boxes.T, self.size)


class RandomAffine(Transform):
    """Rotate each image by an angle drawn from ``degrees`` (a number d gives (-d, d)),
    shift it by up to ``translate = (a, b)`` of its width (horizontally) and height
    (vertically), in whole pixels as torchvision rounds them, and zoom it by a factor
    drawn from ``scale``; uncovered pixels take ``fill``. Draws: the angles, then the
    horizontal and the vertical shifts, then the zooms, each one value per image."""

    def __init__(self, degrees=0.0, translate=None, scale=None, fill=0.0) -> None:
        self.degrees = _range(degrees, "degrees")
        if translate is not None:
            if not (isinstance(translate, (tuple, list)) and len(translate) == 2):
                raise TypeError(f"translate must be a pair of fractions (a, b), got "
                                f"{translate!r}")
            translate = tuple(check_number(v, f"translate[{i}]", low=0.0, high=1.0)
                              for i, v in enumerate(translate))
        self.translate = translate
        self.scale = None if scale is None else _range(scale, "scale", low=1e-12)
        self.fill = fill

    def apply(self, x, rng):
        n, _, h, w = x.shape
        angle = rng.uniform(*self.degrees, size=n)
        dx = dy = np.zeros(n)
        if self.translate is not None:
            dx = np.round(rng.uniform(-1, 1, size=n) * self.translate[0] * w)
            dy = np.round(rng.uniform(-1, 1, size=n) * self.translate[1] * h)
        s = rng.uniform(*self.scale, size=n) if self.scale is not None else 1.0
        return R.affine(x, angle, (dx, dy), s, self.fill)


class RandomRotation(RandomAffine):
    """Rotate each image by an angle drawn uniformly from ``degrees`` (a number d gives
    (-d, d)) about its centre, bilinear, corners filled with ``fill``."""

    def __init__(self, degrees, fill=0.0) -> None:
        super().__init__(degrees, fill=fill)


# --------------------------------------------------------------------------- colour
class ColorJitter(Transform):
    """Change each image's brightness, contrast and saturation by random factors drawn
    uniformly from [max(0, 1 - v), 1 + v] for v = ``brightness``, ``contrast``,
    ``saturation`` (or from a given (min, max)), applied in a random order per image,
    as torchvision does. A 0 leaves that property alone."""

    _OPS = (("brightness", adjust_brightness), ("contrast", adjust_contrast),
            ("saturation", adjust_saturation))

    def __init__(self, brightness=0.0, contrast=0.0, saturation=0.0) -> None:
        self.brightness = _range(brightness, "brightness", centre=1.0, low=0.0)
        self.contrast = _range(contrast, "contrast", centre=1.0, low=0.0)
        self.saturation = _range(saturation, "saturation", centre=1.0, low=0.0)

    def apply(self, x, rng):
        _colour_channels(x)
        n = len(x)
        order = np.array([rng.permutation(3) for _ in range(n)])
        factors = {name: rng.uniform(*getattr(self, name), size=n) for name, _ in self._OPS}
        out = x.copy()
        for perm in itertools.permutations(range(3)):
            rows = np.flatnonzero((order == perm).all(axis=1))
            if len(rows) == 0:
                continue
            part = out[rows]
            for k in perm:
                name, op = self._OPS[k]
                if getattr(self, name) != (1.0, 1.0):
                    part = op(part, factors[name][rows])
            out[rows] = part
        return out


class GaussianNoise(Transform):
    """Add independent Gaussian noise of mean ``mean`` and standard deviation ``sigma``
    to every pixel, then clip to [0, 1] (``clip``)."""

    def __init__(self, mean: float = 0.0, sigma: float = 0.1, clip: bool = True) -> None:
        self.mean = check_number(mean, "mean")
        self.sigma = check_number(sigma, "sigma", low=0.0)
        self.clip = bool(clip)

    def apply(self, x, rng):
        out = x + (self.mean + self.sigma * rng.standard_normal(x.shape)).astype(x.dtype)
        return np.clip(out, 0, 1) if self.clip else out
