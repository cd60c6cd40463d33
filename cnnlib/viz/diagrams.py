"""Network diagrams: units as circles, connections as arrows, bias units in grey.

Explained in chapter 1 (a single logistic unit with its bias unit), chapter 2 (the
3-3-1 network of the lecture notes, forward and backward) and chapter 3 (K output
units). matplotlib is imported inside the function, so ``import cnnlib`` never loads
it; the function returns the ``Figure`` (end the call with ``;`` in a notebook).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cnnlib._validate import check_positive_int, is_int
from cnnlib.viz.plotting import new_axes

__all__ = ["draw_network"]


def _network_labels(layers, bias) -> list[list[str]]:
    """Check ``layers`` and return one list of unit labels per layer."""
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise TypeError(f"layers must be a list of layer sizes or of label lists, got "
                        f"{type(layers).__name__}")
    if len(layers) < 2:
        raise ValueError(f"layers needs at least 2 layers (inputs and outputs), got "
                         f"{len(layers)}")
    labels = []
    for l, layer in enumerate(layers):
        if is_int(layer):
            n = check_positive_int(layer, f"layers[{l}]")
            first = 0 if l in bias else 1                  # unit 0 is the bias unit
            labels.append([f"$x_{{{k}}}$" if l == 0 else f"$a_{{{k}}}^{{({l + 1})}}$"
                           for k in range(first, n + 1)])
        elif isinstance(layer, Sequence) and not isinstance(layer, (str, bytes)):
            if len(layer) == 0:
                raise ValueError(f"layers[{l}] is empty: every layer needs a unit")
            labels.append([str(t) for t in layer])
        else:
            raise TypeError(f"layers[{l}] must be a positive int (number of units) or a "
                            f"list of unit labels, got {type(layer).__name__}")
    return labels


def draw_network(layers, *, bias: Sequence[int] = (),
                 edge_labels: Mapping[tuple[int, int, int], str] | None = None,
                 highlight: Sequence[tuple[int, int, int]] = (),
                 highlight_label: str | None = None,
                 outputs: Sequence[str] | None = None,
                 captions: Sequence[str] | None = None,
                 weight_labels: Sequence[str] | None = None,
                 unit_colors: Mapping[tuple[int, int], str] | None = None,
                 radius: float | Sequence[float] = 0.32, spacing: float = 2.4,
                 backward: bool = False, title: str | None = None,
                 figsize: tuple[float, float] | None = None, ax=None):
    """Draw a fully connected network: one column of circles per layer, an arrow from
    every unit to every unit of the next layer except its bias unit.

    Arguments:
        layers: one entry per layer, left to right: the number of units without the
            bias unit (labelled $x_k$ in layer 1, $a_k^{(l)}$ after; a bias unit k = 0
            is added on top of a layer listed in ``bias``) or the list of all the
            units' labels (LaTeX, bias unit first), top to bottom.
        bias: indices (from 0) of the layers whose first (top) unit is a bias unit:
            drawn grey, and no arrow points into it.
        edge_labels: ``{(layer, i, j): label}`` written on the edge from unit i of
            ``layer`` to unit j of ``layer + 1`` (e.g. the weights $\\theta_i$).
        highlight: edges ``(layer, i, j)`` drawn thick and orange (e.g. one row of
            $\\Theta$); ``highlight_label`` explains them above the diagram.
        outputs: labels written after the last layer's units, top to bottom, each with
            an arrow (e.g. $h_\\Theta(x)$, or one class name per output unit).
        captions: a caption under each layer ("input", "hidden", ...).
        weight_labels: a label above each gap between two layers (e.g. the shape of
            $\\Theta^{(l)}$); one fewer than layers.
        unit_colors: ``{(layer, i): colour}`` fills those units (drawn light).
        radius: circle radius, one for all layers or one per layer (a long label such
            as $g(\\theta^\\top x)$ needs a larger circle).
        spacing: horizontal distance between layers (a unit is 1 apart vertically).
        backward: arrows point right to left in red, as the errors $\\delta$ flow in
            backpropagation; no arrow leaves a bias unit, and the ``outputs`` arrows
            point into the network (from the cost).
        title: the axes title (default: "A 3-3-1 network", the sizes without bias).
        figsize: figure size in inches (default: from the diagram's extent).
        ax: an existing Axes to draw into instead of a new figure.

    Returns the matplotlib Figure. Explained in chapter 1 (the logistic unit), chapter 2
    (networks, backpropagation) and chapter 3 (one output unit per class).
    """
    bias = tuple(bias)
    labels = _network_labels(layers, bias)
    L = len(labels)
    for l in bias:
        if not is_int(l) or not 0 <= l < L:
            raise ValueError(f"bias must hold layer indices in [0, {L - 1}], got {bias}")
    radii = ([float(radius)] * L if np.isscalar(radius)
             else [float(r) for r in radius])
    if len(radii) != L or min(radii) <= 0:
        raise ValueError(f"radius must be one positive number or one per layer ({L}), "
                         f"got {radius}")
    for name, seq, n in (("captions", captions, L), ("weight_labels", weight_labels,
                                                       L - 1)):
        if seq is not None and len(seq) != n:
            raise ValueError(f"{name} needs {n} entries, got {len(seq)}")
    if outputs is not None and len(outputs) > len(labels[-1]):
        raise ValueError(f"outputs has {len(outputs)} labels but the last layer has "
                         f"{len(labels[-1])} units")
    edge_labels = dict(edge_labels or {})
    highlight = set(map(tuple, highlight))
    for key in list(edge_labels) + list(highlight):
        l, i, j = key
        if not (0 <= l < L - 1 and 0 <= i < len(labels[l]) and 0 <= j < len(labels[l + 1])):
            raise ValueError(f"edge {key} does not exist in a network with layer sizes "
                             f"{[len(u) for u in labels]}")

    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle

    pos = {(l, i): (spacing * l, (len(units) - 1) / 2 - i)
           for l, units in enumerate(labels) for i in range(len(units))}
    top = max((len(u) - 1) / 2 for u in labels)
    x_right = spacing * (L - 1) + radii[-1] + (1.8 if outputs else 0.5)
    y_top = top + _radii_max(radii) + (0.55 if weight_labels else 0.2) + \
        (0.45 if highlight_label else 0)
    y_low = -top - _radii_max(radii) - (0.75 if captions else 0.2)
    x_left = -radii[0] - 0.5
    if figsize is None:
        figsize = (min(12.0, 0.85 * (x_right - x_left) + 0.5),
                   0.85 * (y_top - y_low) + 0.6)
    fig, ax = new_axes(ax, figsize)
    colour = "tab:red" if backward else "0.45"

    def arrow(p, q, r_p, r_q, **style):
        # from the rim of one circle to the rim of the other
        (x0, y0), (x1, y1) = p, q
        d = np.hypot(x1 - x0, y1 - y0)
        ux, uy = (x1 - x0) / d, (y1 - y0) / d
        ax.annotate("", xy=(x1 - r_q * ux, y1 - r_q * uy),
                    xytext=(x0 + r_p * ux, y0 + r_p * uy),
                    arrowprops=dict(arrowstyle="-|>", shrinkA=0, shrinkB=0, **style))

    for l in range(L - 1):
        for i in range(len(labels[l])):
            for j in range(len(labels[l + 1])):
                if l + 1 in bias and j == 0:
                    continue                      # nothing feeds a bias unit
                if backward and l in bias and i == 0:
                    continue                      # no error flows back to a constant
                lit = (l, i, j) in highlight
                style = dict(color="C1" if lit else colour, linewidth=1.8 if lit else 0.9,
                             zorder=2 if lit else 1)
                p, q = pos[l, i], pos[l + 1, j]
                if backward:
                    arrow(q, p, radii[l + 1], radii[l], **style)
                else:
                    arrow(p, q, radii[l], radii[l + 1], **style)
                if (l, i, j) in edge_labels:
                    t = 0.42
                    ax.text(p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]) + 0.12,
                            edge_labels[l, i, j], ha="center", va="bottom", fontsize=12,
                            color="C0")
    for (l, i), (x, y) in pos.items():
        is_bias = l in bias and i == 0
        face, alpha = "white", 1.0
        if is_bias:
            face = "0.85"
        elif unit_colors and (l, i) in unit_colors:
            face, alpha = unit_colors[l, i], 0.35
        ax.add_patch(Circle((x, y), radii[l], facecolor=face, alpha=alpha,
                            edgecolor="none", zorder=3))
        ax.add_patch(Circle((x, y), radii[l], facecolor="none", edgecolor="0.15",
                            linewidth=1.4, zorder=4, gid="unit"))
        ax.text(x, y, labels[l][i], ha="center", va="center", fontsize=12, zorder=5)
    for i, label in enumerate(outputs or []):
        x, y = pos[L - 1, i]
        start, end = (x + radii[-1] + 0.05, y), (x + radii[-1] + 0.75, y)
        if backward:
            start, end = end, start
        ax.annotate("", xy=end, xytext=start,
                    arrowprops=dict(arrowstyle="-|>", color=colour if backward else "0.15",
                                    shrinkA=0, shrinkB=0))
        ax.text(x + radii[-1] + 0.85, y, label, ha="left", va="center", fontsize=12)
    for l, caption in enumerate(captions or []):
        ax.text(spacing * l, -top - _radii_max(radii) - 0.15, caption, ha="center",
                va="top", fontsize=10, color="0.3")
    for l, label in enumerate(weight_labels or []):
        ax.text(spacing * (l + 0.5), top + _radii_max(radii) + 0.15, label, ha="center",
                va="bottom", fontsize=11)
    if highlight_label:
        ax.text(spacing * (L - 1) / 2, y_top - 0.1, highlight_label, color="C1",
                ha="center", va="top", fontsize=11)
    ax.set_xlim(x_left, x_right)
    ax.set_ylim(y_low, y_top)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title is None:
        sizes = [len(u) - (l in bias) for l, u in enumerate(labels)]
        title = f"A {'-'.join(map(str, sizes))} network"
    ax.set_title(title)
    return fig


def _radii_max(radii: Sequence[float]) -> float:
    return max(radii)
