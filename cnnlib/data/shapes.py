r"""Captioned shapes: small colour images of one shape each, with a caption in words.

The data set that CLIP is trained on in chapter 12. Each image holds one shape with
four attributes: its **shape** (circle, square, triangle, diamond, cross, star), its
**colour** (red, orange, yellow, green, blue, purple), its **position** (one of the four
quadrants) and its **size** (small or large), drawn at a random place inside its
quadrant on a dark, noisy background. Its caption says the same thing in words,
written from one of several templates with synonyms, and sometimes leaving the size
or the position out::

    "a small red circle in the top left"
    "red circle, upper left corner"
    "a big purple star at the bottom right"

Some shape-colour pairs are **held out**: no training image and no training caption
ever pairs them (``HELD_OUT_PAIRS``, one pair per shape and one per colour, so every
word still appears in training). Zero-shot prediction on them asks a model to compose
words it has only seen apart.

Fast and seeded: 10,000 images take well under a second, and the same ``rng`` gives
the same images and captions. Images are float32 in [0, 1], layout (N, 3, H, W).

Explained in chapter 12.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from cnnlib._validate import as_int_array, as_rng, check_positive_int

__all__ = ["SHAPES", "COLOURS", "COLOUR_RGB", "POSITIONS", "SIZES", "ATTRIBUTES",
           "HELD_OUT_PAIRS", "CaptionedShapes", "render_shapes", "write_caption",
           "make_captioned_shapes", "load_captioned_shapes"]

SHAPES = ("circle", "square", "triangle", "diamond", "cross", "star")
COLOURS = ("red", "orange", "yellow", "green", "blue", "purple")
COLOUR_RGB = np.array([[0.90, 0.10, 0.10],     # red
                       [1.00, 0.55, 0.00],     # orange
                       [0.95, 0.90, 0.10],     # yellow
                       [0.10, 0.75, 0.20],     # green
                       [0.15, 0.35, 1.00],     # blue
                       [0.65, 0.20, 0.85]],    # purple
                      dtype=np.float32)
POSITIONS = ("top left", "top right", "bottom left", "bottom right")
SIZES = ("small", "large")
ATTRIBUTES = {"shape": SHAPES, "colour": COLOURS, "position": POSITIONS, "size": SIZES}

#: Shape-colour pairs that never occur in training: a shifted diagonal of the 6 x 6
#: table, so that each shape and each colour is held out exactly once and every word
#: is still seen with five partners.
HELD_OUT_PAIRS = (("circle", "yellow"), ("square", "blue"), ("triangle", "purple"),
                  ("diamond", "red"), ("cross", "green"), ("star", "orange"))

# Words for each attribute value: a caption picks one at random, so the text encoder
# has to learn that "big" and "large" mean the same thing from the images alone.
_SIZE_WORDS = {"small": ("small", "little", "tiny"), "large": ("large", "big")}
_POSITION_WORDS = {
    "top left": ("in the top left", "at the top left", "in the upper left corner",
                 "top left"),
    "top right": ("in the top right", "at the top right", "in the upper right corner",
                  "top right"),
    "bottom left": ("in the bottom left", "at the bottom left",
                    "in the lower left corner", "bottom left"),
    "bottom right": ("in the bottom right", "at the bottom right",
                     "in the lower right corner", "bottom right"),
}
# {a}: article, {s}: size word, {c}: colour, {h}: shape, {p}: position phrase.
_TEMPLATES = (
    "a {s} {c} {h} {p}",
    "{c} {h}, {s}, {p}",
    "there is a {s} {c} {h} {p}",
    "a photo of a {s} {c} {h} {p}",
    "{p}: a {c} {h}",                # no size
    "a {c} {h}",                     # neither size nor position
    "a {s} {h} that is {c}",         # no position, colour after the shape
    "the {h} {p} is {c} and {s}",
)

_SUPERSAMPLE = 2      # each pixel is the mean of 2 x 2 samples: smoother edges
_SIZE_RADIUS = {"small": (0.17, 0.21), "large": (0.26, 0.31)}   # of the image width


@dataclass(frozen=True)
class CaptionedShapes:
    """Images with captions and the attributes they were drawn from.

    images : float32 (N, 3, H, W) in [0, 1];
    captions : N strings;
    shape, colour, position, size : int64 (N,), indices into ``SHAPES``, ``COLOURS``,
        ``POSITIONS``, ``SIZES``.
    """

    images: np.ndarray
    captions: tuple[str, ...]
    shape: np.ndarray
    colour: np.ndarray
    position: np.ndarray
    size: np.ndarray

    def __len__(self) -> int:
        return len(self.captions)

    @property
    def pair(self) -> np.ndarray:
        """The joint shape-colour class, ``shape * 6 + colour``: 36 classes."""
        return self.shape * len(COLOURS) + self.colour

    def labels(self, attribute: str) -> np.ndarray:
        """The int64 labels of one attribute ('shape', 'colour', 'position', 'size' or
        'pair')."""
        if attribute == "pair":
            return self.pair
        if attribute not in ATTRIBUTES:
            raise ValueError(f"attribute must be one of {[*ATTRIBUTES, 'pair']}, got "
                             f"{attribute!r}")
        return getattr(self, attribute)

    def subset(self, index) -> "CaptionedShapes":
        """The examples at ``index`` (an integer array or a boolean mask)."""
        idx = np.asarray(index)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(f"a boolean index must have shape ({len(self)},), got "
                                 f"{idx.shape}")
            idx = np.flatnonzero(idx)
        idx = as_int_array(idx, "index", ndim=1)
        return CaptionedShapes(self.images[idx], tuple(self.captions[i] for i in idx),
                               self.shape[idx], self.colour[idx], self.position[idx],
                               self.size[idx])


# ------------------------------------------------------------------------- drawing
_RULES = {
    "circle": lambda u, v: u * u + v * v <= 1.0,
    "square": lambda u, v: np.maximum(np.abs(u), np.abs(v)) <= 0.78,
    "triangle": lambda u, v: (v <= 0.7) & (np.abs(u) <= 0.95 * (v + 1.0) / 1.7),
    "diamond": lambda u, v: np.abs(u) + np.abs(v) <= 1.0,
    "cross": lambda u, v: ((np.abs(u) <= 0.3) & (np.abs(v) <= 0.95))
    | ((np.abs(v) <= 0.3) & (np.abs(u) <= 0.95)),
    "star": lambda u, v: _star(u, v),
}
"""Inside-the-shape tests on coordinates (u, v) relative to the shape's centre, in
units of its radius (v grows downwards). Every shape fits in the unit disc."""


def _star(u: np.ndarray, v: np.ndarray, inner: float = 0.42) -> np.ndarray:
    """A five-pointed star (one point up): fold the angle into the sector between an
    outer point (radius 1) and the next inner corner (radius ``inner``, 36 degrees on)
    and keep the samples on the centre's side of the edge joining them."""
    rho = np.hypot(u, v)
    angle = np.mod(np.arctan2(u, -v), 2 * np.pi / 5)          # 0 at a point, period 72
    angle = np.minimum(angle, 2 * np.pi / 5 - angle)          # fold: 0..36 degrees
    x, y = rho * np.cos(angle), rho * np.sin(angle)
    ix, iy = inner * np.cos(np.pi / 5), inner * np.sin(np.pi / 5)
    # The edge from (1, 0) to (ix, iy); the centre (0, 0) lies on the negative side.
    return (x - 1.0) * iy - y * (ix - 1.0) <= 0.0


def render_shapes(shape, colour, position, size, *, image_size: int = 32,
                  rng: np.random.Generator | int | None = 0) -> np.ndarray:
    """Draw one shape per image from attribute indices.

    shape, colour, position, size : int arrays (N,), indices into ``SHAPES``,
        ``COLOURS``, ``POSITIONS``, ``SIZES``;
    image_size : side S of the square images (at least 16);
    rng : the randomness (exact centre inside the quadrant, radius, colour and
        background jitter, pixel noise).

    Returns float32 images (N, 3, S, S) in [0, 1]. Vectorised over all N images at once.
    """
    shape, colour = _indices(shape, "shape", SHAPES), _indices(colour, "colour", COLOURS)
    position = _indices(position, "position", POSITIONS)
    size = _indices(size, "size", SIZES)
    n = len(shape)
    if not len(colour) == len(position) == len(size) == n:
        raise ValueError(f"shape, colour, position and size must have the same length, "
                         f"got {n}, {len(colour)}, {len(position)}, {len(size)}")
    image_size = check_positive_int(image_size, "image_size")
    if image_size < 16:
        raise ValueError(f"image_size must be at least 16 pixels, got {image_size}")
    rng = as_rng(rng)
    s = image_size
    lo = np.array([_SIZE_RADIUS[SIZES[k]][0] for k in range(len(SIZES))])[size]
    hi = np.array([_SIZE_RADIUS[SIZES[k]][1] for k in range(len(SIZES))])[size]
    radius = rng.uniform(lo, hi) * s
    # Centre inside its quadrant: at least s/16 from the midlines (so the quadrant is
    # never in doubt) and one pixel plus the radius from the image border.
    gap = s / 16
    span = np.maximum(s / 2 - gap - radius - 1, 0.0)

    def along(far: np.ndarray) -> np.ndarray:
        near_side = radius + 1 + rng.uniform(0.0, 1.0, n) * span   # top or left half
        return np.where(far, s - near_side, near_side)

    cx = along(np.isin(position, [1, 3]))       # right
    cy = along(np.isin(position, [2, 3]))       # bottom
    # Sample points at the centres of the supersampled grid; each shape's rule runs
    # only on its own images.
    grid = ((np.arange(s * _SUPERSAMPLE) + 0.5) / _SUPERSAMPLE).astype(np.float32)
    cover = np.empty((n, s, s), dtype=np.float32)     # fraction of each pixel inside
    for k, name in enumerate(SHAPES):
        rows = np.flatnonzero(shape == k)
        if rows.size:
            r = radius[rows, None, None].astype(np.float32)
            u = (grid[None, None, :] - cx[rows, None, None].astype(np.float32)) / r
            v = (grid[None, :, None] - cy[rows, None, None].astype(np.float32)) / r
            inside = _RULES[name](*np.broadcast_arrays(u, v))
            cover[rows] = inside.reshape(rows.size, s, _SUPERSAMPLE, s, _SUPERSAMPLE
                                         ).mean(axis=(2, 4), dtype=np.float32)

    rgb = np.clip(COLOUR_RGB[colour] + rng.normal(0, 0.04, (n, 3)), 0, 1)
    background = rng.uniform(0.0, 0.25, (n, 1, 1, 1)).astype(np.float32)
    images = background + cover[:, None] * (rgb[:, :, None, None].astype(np.float32)
                                            - background)
    images += 0.03 * rng.standard_normal(images.shape, dtype=np.float32)
    return np.clip(images, 0, 1, out=images)


def _indices(values, name: str, options: Sequence[str]) -> np.ndarray:
    arr = as_int_array(values, name, ndim=1)
    if arr.size and (arr.min() < 0 or arr.max() >= len(options)):
        raise ValueError(f"{name} must hold indices in [0, {len(options)}) into "
                         f"{list(options)}, got values from {arr.min()} to {arr.max()}")
    return arr


# ------------------------------------------------------------------------ captions
def write_caption(shape: int, colour: int, position: int, size: int,
                  rng: np.random.Generator | int | None = 0,
                  template: int | None = None) -> str:
    """A caption for one image, from a random template (or template number
    ``template``) with random synonyms for the size and the position. Some templates
    leave the size or the position out, as real captions do."""
    rng = as_rng(rng)
    t = _TEMPLATES[int(rng.integers(len(_TEMPLATES))) if template is None else template]
    words = {"c": COLOURS[colour], "h": SHAPES[shape]}
    size_words = _SIZE_WORDS[SIZES[size]]
    position_words = _POSITION_WORDS[POSITIONS[position]]
    words["s"] = size_words[int(rng.integers(len(size_words)))]
    words["p"] = position_words[int(rng.integers(len(position_words)))]
    text = t.format(**words)
    return text[0].upper() + text[1:] if rng.random() < 0.2 else text


def _pair_allowed(held_out: Sequence[tuple[str, str]]) -> np.ndarray:
    """(6, 6) boolean table: allowed[shape, colour] is False for held-out pairs."""
    allowed = np.ones((len(SHAPES), len(COLOURS)), dtype=bool)
    for pair in held_out:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise ValueError(f"held_out must hold (shape, colour) pairs, got {pair!r}")
        shape_name, colour_name = pair
        if shape_name not in SHAPES or colour_name not in COLOURS:
            raise ValueError(f"held-out pair {pair!r}: the shape must be one of "
                             f"{list(SHAPES)} and the colour one of {list(COLOURS)}")
        allowed[SHAPES.index(shape_name), COLOURS.index(colour_name)] = False
    return allowed


def make_captioned_shapes(n: int, *, pairs: str = "seen",
                          held_out: Sequence[tuple[str, str]] = HELD_OUT_PAIRS,
                          image_size: int = 32,
                          rng: np.random.Generator | int | None = 0) -> CaptionedShapes:
    """``n`` captioned images with uniformly random attributes.

    pairs : which shape-colour pairs to draw from: 'seen' (every pair except the
        held-out ones: the training distribution), 'held_out' (only those), or 'all'.
    held_out : the (shape, colour) pairs kept out of 'seen'.
    rng : Generator or seed; the same seed gives the same images and captions.
    """
    n = check_positive_int(n, "n")
    if pairs not in ("seen", "held_out", "all"):
        raise ValueError(f"pairs must be 'seen', 'held_out' or 'all', got {pairs!r}")
    rng = as_rng(rng)
    allowed = _pair_allowed(held_out)
    table = {"seen": allowed, "held_out": ~allowed,
             "all": np.ones_like(allowed)}[pairs]
    choices = np.argwhere(table)
    if len(choices) == 0:
        raise ValueError(f"no shape-colour pair is left to draw for pairs={pairs!r}")
    pick = choices[rng.integers(len(choices), size=n)]
    shape, colour = pick[:, 0].astype(np.int64), pick[:, 1].astype(np.int64)
    position = rng.integers(len(POSITIONS), size=n)
    size = rng.integers(len(SIZES), size=n)
    images = render_shapes(shape, colour, position, size, image_size=image_size, rng=rng)
    captions = tuple(write_caption(*attrs, rng=rng)
                     for attrs in zip(shape, colour, position, size))
    return CaptionedShapes(images, captions, shape, colour, position, size)


def load_captioned_shapes(n_train: int = 6000, n_test: int = 1000, *,
                          held_out: Sequence[tuple[str, str]] = HELD_OUT_PAIRS,
                          image_size: int = 32, rng: np.random.Generator | int | None = 0
                          ) -> tuple[CaptionedShapes, CaptionedShapes, CaptionedShapes]:
    """The chapter's three sets, drawn independently from one seed:

    * train : ``n_train`` images of the seen pairs, with captions;
    * test_seen : ``n_test`` new images of the seen pairs;
    * test_held_out : ``n_test`` images of the held-out pairs only (never in training).
    """
    rng = as_rng(rng)
    common = dict(held_out=held_out, image_size=image_size)
    train = make_captioned_shapes(n_train, pairs="seen", rng=rng, **common)
    test_seen = make_captioned_shapes(n_test, pairs="seen", rng=rng, **common)
    test_held_out = make_captioned_shapes(n_test, pairs="held_out", rng=rng, **common)
    return train, test_seen, test_held_out
