r"""Two random views of every image: the input of contrastive learning.

Explained in chapter 11. SimCLR learns without labels by asking a network to recognise
that two differently distorted copies of one image belong together. :class:`TwoViews`
wraps any transform of :mod:`cnnlib.data.transforms` and applies it twice, with
independent random draws, to the same batch:

.. math::
    x \;\mapsto\; (t_a(x),\, t_b(x)), \qquad t_a, t_b \sim \mathcal{T}.

What the network learns to ignore is exactly what :math:`\mathcal{T}` changes: the
distortions must keep what the classes are about (a digit's identity) and change
everything else (its position, size, slant, stroke contrast, a missing piece). A
distortion that can change the class teaches the wrong invariance: a horizontal flip
turns some digits into other symbols (a mirrored 2 or 5 is no longer a 2 or a 5, a 3
becomes an epsilon), so it is not in :func:`digit_views`.

:class:`Cutout` (blank out a random square, DeVries and Taylor, 2017) is the one
transform here that :mod:`cnnlib.data.transforms` does not have; it follows the same
protocol ``t(x, rng)``.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cnnlib._validate import as_rng, check_number, check_positive_int
from cnnlib.data import resample as R
from cnnlib.data import transforms as T

__all__ = ["TwoViews", "Cutout", "digit_views"]


class Cutout(T.Transform):
    """Set a random ``size`` x ``size`` square of each chosen image (probability ``p``)
    to ``fill``. The square's centre is uniform over the image, so it may hang over an
    edge (then less is erased). Draws: which images, then the rows, then the columns
    of the centres."""

    def __init__(self, size: int = 10, p: float = 0.5, fill: float = 0.0) -> None:
        self.size = check_positive_int(size, "size")
        self.p = check_number(p, "p", low=0.0, high=1.0)
        self.fill = check_number(fill, "fill")

    def apply(self, x, rng):
        n, _, h, w = x.shape
        chosen = rng.random(n) < self.p
        rows = rng.integers(0, h, size=n)
        cols = rng.integers(0, w, size=n)
        top = (rows - self.size // 2)[:, None, None]
        left = (cols - self.size // 2)[:, None, None]
        r = np.arange(h)[None, :, None]
        c = np.arange(w)[None, None, :]
        inside = (r >= top) & (r < top + self.size) & (c >= left) & (c < left + self.size)
        mask = inside & chosen[:, None, None]
        return np.where(mask[:, None], np.asarray(self.fill, dtype=x.dtype), x)


class TwoViews:
    """``views(x, rng) -> (x_a, x_b)``: ``transform`` applied twice to the batch x of
    shape (N, C, H, W) with values in [0, 1], first for the views a, then, with the
    generator's next draws, for the views b. Row i of x_a and row i of x_b are two
    views of image i (a positive pair); every other row is a negative.

    transform : any ``t(x, rng)`` of :mod:`cnnlib.data.transforms` (a ``Compose`` of
        several). Its output must keep the shape of x.
    """

    def __init__(self, transform: Callable) -> None:
        if not callable(transform):
            raise TypeError(f"transform must be a transform t(x, rng), got "
                            f"{type(transform).__name__}")
        self.transform = transform

    def __call__(self, x, rng: np.random.Generator | int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        x = R.check_images(x)
        gen = as_rng(rng)
        a = self.transform(x, gen)
        b = self.transform(x, gen)
        if a.shape != x.shape or b.shape != x.shape:
            raise ValueError(f"transform must keep the shape of the batch {x.shape}, got "
                             f"{a.shape}")
        return a, b

    def __repr__(self) -> str:
        return f"TwoViews({self.transform!r})"


def digit_views(degrees: float = 15.0, translate: float = 0.12,
                scale: tuple[float, float] = (0.75, 1.15), brightness: float = 0.4,
                contrast: float = 0.4, cutout: int = 10, cutout_p: float = 0.5
                ) -> TwoViews:
    """The two-view augmentation chapter 11 trains on, for 28 x 28 digits: a random
    affine map (rotation within +-``degrees``, a shift of up to ``translate`` of the
    width, a zoom from ``scale``: a zoom above 1 is a crop resized to full size),
    brightness and contrast jitter, and a ``cutout`` square with probability
    ``cutout_p``. No horizontal flip (it can change a digit's class)."""
    return TwoViews(T.Compose([
        T.RandomAffine(degrees, translate=(translate, translate), scale=scale),
        T.ColorJitter(brightness=brightness, contrast=contrast),
        Cutout(cutout, p=cutout_p),
    ]))
