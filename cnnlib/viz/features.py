"""Figures of chapter 6: HoG glyphs, detection boxes and polar grids of descriptors.

matplotlib is imported inside each function, so importing this module stays light.
Functions that draw into one panel take ``ax=None`` (a new figure) and return the
matplotlib ``Figure``.

Explained in chapter 6.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnnlib._validate import as_float_array, check_pair, check_positive_int

__all__ = ["hog_glyph_segments", "draw_hog", "hog_figure", "draw_boxes",
           "draw_polar_grid"]


def _new_axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def hog_glyph_segments(cells, pixels_per_cell=(8, 8)) -> tuple[np.ndarray, np.ndarray]:
    r"""The line segments of a HoG glyph picture.

    cells : (rows, cols, B) one value per cell and orientation bin (cell histograms, or
    :func:`cnnlib.features.oriented_gradients.blocks_to_cells` of a descriptor or of weights).
    For bin b, whose gradients point at :math:`\theta_b = (b + \frac12)\,180°/B` from
    the column axis towards the row axis, the segment runs through the cell's centre
    along the **edge**, perpendicular to the gradient, with half-length 0.45 of the
    cell's smaller side.

    Returns ``(segments, values)``: (rows * cols * B, 2, 2) endpoints as (x, y) =
    (column, row) in pixel coordinates of the image (pixel centres at integers, as in
    ``imshow``), and the matching (rows * cols * B,) values. Explained in chapter 6.
    """
    c = as_float_array(cells, "cells", ndim=3, finite=True)
    ch, cw = check_pair(tuple(pixels_per_cell) if isinstance(pixels_per_cell, list)
                        else pixels_per_cell, "pixels_per_cell")
    rows, cols, B = c.shape
    theta = np.deg2rad((np.arange(B) + 0.5) * 180.0 / B)
    edge = theta + np.pi / 2                      # the edge runs across the gradient
    half = 0.45 * min(ch, cw)
    dx, dy = half * np.cos(edge), half * np.sin(edge)
    r, k, b = np.meshgrid(np.arange(rows), np.arange(cols), np.arange(B), indexing="ij")
    x0 = k * cw + (cw - 1) / 2                    # the cell's centre, in pixel coordinates
    y0 = r * ch + (ch - 1) / 2
    start = np.stack([x0 - dx[b], y0 - dy[b]], axis=-1)
    end = np.stack([x0 + dx[b], y0 + dy[b]], axis=-1)
    segments = np.stack([start, end], axis=-2).reshape(-1, 2, 2)
    return segments, c.reshape(-1)


def draw_hog(cells, pixels_per_cell=(8, 8), *, image=None, signed: bool = False,
             ax=None, title: str = "HoG glyphs", linewidth: float = 1.5):
    """Draw one glyph per cell: a star of segments along the edges, each as bright as
    its bin's value.

    cells : (rows, cols, B) as in :func:`hog_glyph_segments`; image : an optional grey
    image drawn underneath (faded), else a black background; signed : False draws
    values >= 0 in white (yellow over an image), scaled by the largest; True draws
    positive values in red and negative ones in blue (on white), scaled by the largest
    magnitude (for the weights of a linear classifier). Returns the Figure.
    Explained in chapter 6.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.colors import to_rgba

    segments, values = hog_glyph_segments(cells, pixels_per_cell)
    ch, cw = check_pair(tuple(pixels_per_cell) if isinstance(pixels_per_cell, list)
                        else pixels_per_cell, "pixels_per_cell")
    rows, cols, _ = np.shape(cells)
    if not signed and np.any(values < 0):
        raise ValueError("cells has negative values: pass signed=True to draw weights")
    fig, ax = _new_axes(ax, (5, 5 * rows * ch / max(cols * cw, 1)))
    H, W = rows * ch, cols * cw
    if image is not None:
        img = as_float_array(image, "image", ndim=2)
        ax.imshow(img, cmap="gray", alpha=0.45)
    else:           # white glyphs on black; red and blue ones on white
        ax.imshow(np.full((H, W), 1.0 if signed else 0.0), cmap="gray", vmin=0, vmax=1)
    scale = float(np.abs(values).max()) or 1.0
    strength = np.clip(np.abs(values) / scale, 0, 1)
    groups = [(values > 0, "tab:red"), (values < 0, "tab:blue")] if signed else \
        [(values > 0, "yellow" if image is not None else "white")]
    for mask, colour in groups:
        if np.any(mask):
            colours = np.tile(to_rgba(colour), (int(mask.sum()), 1))
            colours[:, 3] = strength[mask]          # brighter: a larger value
            ax.add_collection(LineCollection(segments[mask], colors=colours,
                                             linewidths=linewidth, capstyle="round"))
    ax.set(xlim=(-0.5, W - 0.5), ylim=(H - 0.5, -0.5), title=title, xlabel="column",
           ylabel="row")
    return fig


def hog_figure(image, pixels_per_cell: int = 8, orientations: int = 9):
    """The figure of chapter 6's HoG widget: the image with its cell grid, and the
    glyphs of its cell histograms (``cnnlib.features.oriented_gradients.cell_histograms``) for square
    cells of ``pixels_per_cell`` pixels and ``orientations`` bins. The title gives the
    length of the HoG descriptor with 3 x 3 blocks. Returns the Figure.
    Explained in chapter 6.
    """
    import matplotlib.pyplot as plt

    from cnnlib.features.oriented_gradients import cell_histograms, hog_shape

    cell = check_positive_int(pixels_per_cell, "pixels_per_cell")
    n = check_positive_int(orientations, "orientations")
    img = as_float_array(image, "image", ndim=2)
    hist = cell_histograms(img, n, (cell, cell))
    try:
        length = int(np.prod(hog_shape(img.shape, n, (cell, cell), (3, 3))))
        size = f"descriptor with 3 x 3 blocks: {length:,} numbers"
    except ValueError:
        size = "too few cells for a 3 x 3 block"
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.2), layout="constrained")
    axes[0].imshow(img, cmap="gray")
    H, W = hist.shape[0] * cell, hist.shape[1] * cell
    for r in range(0, H + 1, cell):
        axes[0].axhline(r - 0.5, color="tab:orange", linewidth=0.5)
    for c in range(0, W + 1, cell):
        axes[0].axvline(c - 0.5, color="tab:orange", linewidth=0.5)
    axes[0].set(title=f"{hist.shape[0]} x {hist.shape[1]} cells of {cell} x {cell} pixels",
                xlabel="column", ylabel="row")
    draw_hog(hist, (cell, cell), ax=axes[1], linewidth=1.2 if cell >= 6 else 0.8,
             title=f"{n} orientation bins per cell")
    fig.suptitle(f"HoG cell histograms as glyphs ({size})")
    return fig


def draw_boxes(boxes, *, image=None, scores=None, ax=None, color: str = "tab:red",
               label: str | None = None, title: str = "", linewidth: float = 2.0):
    """Draw boxes ``(x1, y1, x2, y2)`` (n, 4), over an image if given, with their
    scores written at the top-left corners. ``label`` names the boxes in a legend.
    All boxes form one matplotlib collection, so thousands draw quickly.
    Returns the Figure. Explained in chapter 6.
    """
    from matplotlib.collections import PolyCollection

    b = as_float_array(boxes, "boxes", ndim=2, finite=True)
    if b.shape[1:] != (4,) and b.size:
        raise ValueError(f"boxes must have shape (n, 4), got {b.shape}")
    b = b.reshape(-1, 4)
    fresh = ax is None
    fig, ax = _new_axes(ax, (6, 6))
    if image is not None:
        img = as_float_array(image, "image", ndim=(2, 3))
        ax.imshow(np.clip(img, 0, 1), cmap="gray" if img.ndim == 2 else None, vmin=0,
                  vmax=1)
        limits = ax.get_xlim(), ax.get_ylim()    # boxes may reach past the border
    # pixel (r, c) covers [c - 0.5, c + 0.5] in imshow's coordinates
    x1, y1, x2, y2 = (b - 0.5).T
    corners = np.stack([np.c_[x1, y1], np.c_[x2, y1], np.c_[x2, y2], np.c_[x1, y2]], axis=1)
    ax.add_collection(PolyCollection(corners, facecolors="none", edgecolors=color,
                                     linewidths=linewidth, label=label))
    if scores is not None:
        values = np.asarray(scores, dtype=float).ravel()
        if values.shape != (len(b),):
            raise ValueError(f"scores must have one value per box, shape ({len(b)},), got "
                             f"{values.shape}")
        for (bx1, by1, _, _), value in zip(b, values):
            ax.text(bx1, by1 - 3, f"{value:.2f}", color="white", fontsize=8, va="bottom",
                    bbox=dict(facecolor=color, edgecolor="none", pad=1, alpha=0.8))
    if label is not None and len(b):
        ax.legend(loc="lower right", fontsize=8)
    if image is not None:
        ax.set(xlim=limits[0], ylim=limits[1])
    elif fresh and len(b):                          # nothing else sets the limits
        ax.set(xlim=(b[:, 0].min() - 1, b[:, 2].max() + 1),
               ylim=(b[:, 3].max() + 1, b[:, 1].min() - 1))
    ax.set(title=title, xlabel="column $x$", ylabel="row $y$")
    return fig


def draw_polar_grid(radii: Sequence[float], sectors: int = 0, *, centre=(0.0, 0.0),
                    split_centre: bool = False, ax=None, color: str = "tab:orange",
                    numbers: bool = False, title: str = ""):
    """Rings of the given radii around ``centre`` (x, y), each ring (and the central
    disk if ``split_centre``) cut into ``sectors`` equal angular sectors: RIFT's rings
    (``sectors=0``) or GLOH's log-polar grid (radii 6, 11, 15, 8 sectors, an undivided
    centre: 17 location bins). ``numbers`` writes each bin's index in it. Returns the
    Figure. Explained in chapter 6.
    """
    from matplotlib.patches import Circle

    r = sorted(float(v) for v in radii)
    if not r or r[0] <= 0:
        raise ValueError(f"radii must be positive numbers, got {list(radii)}")
    sectors = check_positive_int(sectors, "sectors", allow_zero=True)
    fig, ax = _new_axes(ax, (4.5, 4.5))
    x0, y0 = centre
    for radius in r:
        ax.add_patch(Circle((x0, y0), radius, fill=False, edgecolor=color, linewidth=1.5))
    bin_index = 0
    inner = [0.0] + r[:-1]
    for k, (r0, r1) in enumerate(zip(inner, r)):
        split = sectors > 0 and (k > 0 or split_centre)
        if split:
            for s in range(sectors):
                a = 2 * np.pi * s / sectors
                ax.plot([x0 + r0 * np.cos(a), x0 + r1 * np.cos(a)],
                        [y0 + r0 * np.sin(a), y0 + r1 * np.sin(a)], color=color,
                        linewidth=1.5)
        if numbers:
            if split:
                for s in range(sectors):
                    a = 2 * np.pi * (s + 0.5) / sectors
                    rm = (r0 + r1) / 2
                    ax.text(x0 + rm * np.cos(a), y0 + rm * np.sin(a), str(bin_index),
                            ha="center", va="center", fontsize=8)
                    bin_index += 1
            else:
                ax.text(x0 + (r0 + r1) / 2 if r0 else x0, y0, str(bin_index), ha="center",
                        va="center", fontsize=8)
                bin_index += 1
    ax.set(aspect="equal", title=title)
    if ax.get_xlabel() == "":
        ax.set(xlabel="column offset $x$", ylabel="row offset $y$")
    lim = r[-1] * 1.08
    ax.set(xlim=(x0 - lim, x0 + lim), ylim=(y0 + lim, y0 - lim))
    return fig
