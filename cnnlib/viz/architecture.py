"""Drawings of convolutional networks: stacks of feature maps and vectors, left to right.

Explained in chapter 7 (the small CNN) and chapter 8 (LeNet-5). The drawing is made
from the layer table of :func:`cnnlib.nn.summary.summary`, so it always shows the
shapes the model really produces: each stage is drawn as a stack of squares (``C``
maps of ``H x W``, labelled ``C@HxW``) or as a bar (a vector of ``D`` numbers), and
the arrow between two stages names the layers that lead from one to the other
("conv 5x5 + ReLU", "max pool 2x2", "fc + ReLU"). matplotlib is imported inside the
function; it returns the Figure.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnnlib.viz.plotting import new_axes

__all__ = ["stages", "draw_cnn"]


def _layer_label(layer) -> str:
    """A short name for one layer: "conv 5x5", "max pool 2x2", "fc", "ReLU", ..."""
    kind = type(layer).__name__
    if kind in ("Conv2d", "Conv1d"):
        k = "x".join(map(str, layer.kernel_size))
        return f"conv {k}"
    if kind in ("MaxPool2d", "AvgPool2d"):
        k = "x".join(map(str, layer.kernel_size))
        return f"{'max' if kind == 'MaxPool2d' else 'avg'} pool {k}"
    if kind == "Linear":
        return "fc"
    if kind == "Flatten":
        return "flatten"
    return kind


def stages(rows) -> list[tuple[tuple[int, ...], str]]:
    """Group the rows of :func:`~cnnlib.nn.summary.summary` into the stages a drawing
    shows: ``[(shape, how it was reached), ...]``, the first being the input. A layer
    without parameters that keeps the shape (an activation) joins the stage before it
    ("conv 5x5 + ReLU")."""
    rows = list(rows)
    if not rows or rows[0].layer is not None:
        raise ValueError("rows must come from cnnlib.nn.summary.summary (first row: the "
                         "input)")
    out: list[list] = [[rows[0].output_shape, ""]]
    for row in rows[1:]:
        label = _layer_label(row.layer)
        same = row.output_shape == out[-1][0] and row.parameters == 0
        if same and len(out) > 1:
            out[-1][1] += f" + {label}"
        else:
            out.append([row.output_shape, label])
    return [(tuple(shape), label) for shape, label in out]


def draw_cnn(rows, *, title: str | None = None, max_maps: int = 8,
             figsize: tuple[float, float] | None = None, ax=None):
    """Draw the network whose layer table is ``rows`` (from
    :func:`cnnlib.nn.summary.summary`): feature maps as stacks of squares (at most
    ``max_maps`` drawn per stack; the label gives the count), vectors as bars, an arrow
    between stages labelled with the layers it stands for. Returns the Figure.
    Explained in chapter 8."""
    import matplotlib.pyplot as plt  # noqa: F401  (the backend is needed for patches)
    from matplotlib.patches import FancyArrowPatch, Rectangle

    parts = stages(rows)
    n = len(parts)
    if figsize is None:
        figsize = (min(1.5 * n + 1, 15), 3.4)
    fig, ax = new_axes(ax, figsize)
    gap = 2.0                                   # centre-to-centre distance of stages
    biggest = max(max(s[-2:]) if len(s) == 3 else 0 for s, _ in parts) or 1
    offset = 0.12
    for i, (shape, label) in enumerate(parts):
        x = gap * i
        if len(shape) == 3:                     # C maps of H x W
            c, h, w = shape
            # the largest maps 1.4 units wide (stacks must not touch their
            # neighbours); the smallest still visible
            side_h, side_w = max(1.4 * h / biggest, 0.35), max(1.4 * w / biggest, 0.35)
            shown = min(c, max_maps)
            for k in range(shown):
                dx, dy = (k - (shown - 1) / 2) * offset, -(k - (shown - 1) / 2) * offset
                ax.add_patch(Rectangle((x - side_w / 2 + dx, -side_h / 2 + dy), side_w,
                                       side_h, facecolor="#dbe9f6", edgecolor="#2b5d8a",
                                       linewidth=1.0, zorder=2 + k))
            text = f"{c}@{h}x{w}"
            top = side_h / 2 + (shown - 1) / 2 * offset
        else:                                   # a vector of D numbers
            d = int(np.prod(shape))
            height = min(0.3 + 0.6 * np.log10(max(d, 1)), 3.0)    # 10: 0.9, 400: 1.9
            ax.add_patch(Rectangle((x - 0.12, -height / 2), 0.24, height,
                                   facecolor="#fde3c8", edgecolor="#a0522d", zorder=2))
            text = f"{d}"
            top = height / 2
        ax.text(x, top + 0.12, text, ha="center", va="bottom", fontsize=10)
        if i == 0:
            ax.text(x, -1.35, "input", ha="center", va="top", fontsize=9, color="0.3")
        if i > 0:
            arrow = FancyArrowPatch((gap * (i - 1) + 0.25 * gap, -1.2),
                                    (x - 0.25 * gap, -1.2), arrowstyle="-|>",
                                    mutation_scale=12, color="0.35")
            ax.add_patch(arrow)
            ax.text(x - gap / 2, -1.35, label.replace(" + ", "\n+ "), ha="center",
                    va="top", fontsize=8.5, color="0.2")
    ax.set_xlim(-1.2, gap * (n - 1) + 1.2)
    ax.set_ylim(-2.0, 1.9)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return fig
