"""Arrays with channels drawn as blocks: a multi-channel convolution in pictures.

Explained in chapter 5 (colour images and stacks of filters).

A C-channel image is drawn as C grids one behind the other (an oblique view: each
channel a little higher and further right than the one before). A filter for it is a
block of C x k x k weights, as deep as the input, that slides only across it:

* :func:`draw_conv_block`: the input block, the filter block on one window, and the
  single number it gives in the output map;
* :func:`draw_filter_bank`: d such filters side by side, the weight array of shape
  (d, r, m, m), and the d output maps they stack into.

matplotlib is imported inside the functions, so importing this module is as light as
importing cnnlib.
"""
from __future__ import annotations

from cnnlib._validate import check_positive_int

__all__ = ["draw_conv_block", "draw_filter_bank"]

CHANNEL_COLOURS = ("#f4b6b6", "#b9e0b0", "#b7cdf2", "#e6d3a3", "#d5bde8", "#b5e3e0")
WINDOW = "#f5c518"
DEPTH = (0.45, 0.38)          # offset of each channel behind the previous one (x, y)


def _grid(ax, x0, y0, rows, cols, face, *, edge="0.35", lw=0.8, zorder=1, alpha=1.0):
    """A rows x cols grid of unit cells whose top-left corner is (x0, y0); y points
    down the page (the axes are inverted)."""
    from matplotlib.patches import Rectangle

    for r in range(rows):
        for c in range(cols):
            ax.add_patch(Rectangle((x0 + c, y0 + r), 1, 1, facecolor=face, edgecolor=edge,
                                   linewidth=lw, zorder=zorder, alpha=alpha))


def _box_edges(ax, x0, y0, w, h, depth, *, colour=WINDOW, lw=2.5, zorder=50):
    """The outline of a block w wide, h high and ``depth`` channels deep whose front
    face has its top-left corner at (x0, y0)."""
    dx, dy = depth * DEPTH[0], -depth * DEPTH[1]
    front = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h), (x0, y0)]
    back = [(x + dx, y + dy) for x, y in front]
    for path in (front, back):
        ax.plot(*zip(*path), color=colour, linewidth=lw, zorder=zorder)
    for (x, y), (bx, by) in zip(front[:4], back[:4]):
        ax.plot([x, bx], [y, by], color=colour, linewidth=lw, zorder=zorder)


def _stack(ax, x0, y0, channels, rows, cols, *, window=None, zorder=1):
    """``channels`` grids one behind the other, the front one at (x0, y0); the back
    ones are drawn first. window = (row, col, k): its cells are shaded on every
    channel (the filter's taps)."""
    for c in reversed(range(channels)):
        cx, cy = x0 + c * DEPTH[0], y0 - c * DEPTH[1]
        z = zorder + 2 * (channels - c)
        _grid(ax, cx, cy, rows, cols, CHANNEL_COLOURS[c % len(CHANNEL_COLOURS)], zorder=z)
        if window is not None:
            r, col, k = window
            _grid(ax, cx + col, cy + r, k, k, WINDOW, zorder=z + 1, alpha=0.55)


def draw_conv_block(channels: int = 3, size: int = 6, kernel: int = 3,
                    position: tuple[int, int] = (1, 2), *, ax=None):
    """One step of a multi-channel convolution, in an oblique view.

    channels : C, the input's channels (and the filter's depth); size : the input is
    size x size; kernel : the filter is C x kernel x kernel; position : (row, column)
    of the window's top-left pixel. The output map has (size - kernel + 1)^2 pixels;
    the one this window gives is marked. Returns the Figure. Explained in chapter 5.
    """
    import matplotlib.pyplot as plt

    channels = check_positive_int(channels, "channels")
    size = check_positive_int(size, "size")
    kernel = check_positive_int(kernel, "kernel")
    if kernel > size:
        raise ValueError(f"kernel must be at most size={size}, got kernel={kernel}")
    out = size - kernel + 1
    if len(position) != 2 or not all(0 <= p < out for p in position):
        raise ValueError(f"position must be a (row, column) pair in [0, {out}), got "
                         f"{position!r}")
    r, c = (int(p) for p in position)
    if ax is None:
        fig, ax = plt.subplots(figsize=(8.6, 4.2), layout="constrained")
    else:
        fig = ax.figure
    _stack(ax, 0, 0, channels, size, size, window=(r, c, kernel))
    _box_edges(ax, c, r, kernel, kernel, channels - 1)
    ox = size + channels * DEPTH[0] + 3.0            # the output map, to the right
    oy = (size - out) / 2
    _grid(ax, ox, oy, out, out, "white")
    _grid(ax, ox + c, oy + r, 1, 1, WINDOW, zorder=5)
    ax.annotate("", xy=(ox + c + 0.5, oy + r + 0.5),
                xytext=(c + kernel + (channels - 1) * DEPTH[0],
                        r + kernel / 2 - (channels - 1) * DEPTH[1]),
                arrowprops=dict(arrowstyle="-|>", color="0.2", linewidth=1.5,
                                connectionstyle="arc3,rad=-0.2"), zorder=60)
    top = -(channels - 1) * DEPTH[1]
    ax.text(size / 2 + (channels - 1) * DEPTH[0] / 2, top - 0.6,
            f"input: {channels} channels of {size} x {size}", ha="center", va="bottom",
            fontsize=10)
    ax.text(ox + out / 2, oy - 0.4, f"output: one map of {out} x {out}", ha="center",
            va="bottom", fontsize=10)
    ax.text(size / 2, size + 0.5,
            f"filter: {channels} x {kernel} x {kernel} weights (gold),\n"
            f"as deep as the input; it slides across, not through",
            ha="center", va="top", fontsize=9)
    ax.text(ox + out / 2, oy + out + 0.5,
            f"the gold pixel = the sum of\n{channels} x {kernel} x {kernel} = "
            f"{channels * kernel * kernel} products", ha="center", va="top", fontsize=9)
    ax.set(xlim=(-0.5, ox + out + 0.8), ylim=(size + 2.2, top - 1.6), aspect="equal")
    ax.axis("off")
    ax.set_title(f"A {channels} x {kernel} x {kernel} filter on a {channels}-channel "
                 f"input gives one number per position")
    return fig


def draw_filter_bank(d: int = 4, r: int = 3, m: int = 3):
    """d filters of shape (r, m, m) side by side, the (d, r, m, m) array they form, and
    the d output maps they give (stacked into an output with d channels).
    Returns the Figure. Explained in chapter 5."""
    import matplotlib.pyplot as plt

    d = check_positive_int(d, "d")
    r = check_positive_int(r, "r")
    m = check_positive_int(m, "m")
    if d > 8 or r > len(CHANNEL_COLOURS) or m > 7:
        raise ValueError(f"draw_filter_bank draws at most d=8 filters, r="
                         f"{len(CHANNEL_COLOURS)} channels and m=7, got d={d}, r={r}, m={m}")
    fig, ax = plt.subplots(figsize=(min(9.5, 1.6 + 1.9 * d), 4.6), layout="constrained")
    step = m + r * DEPTH[0] + 1.2
    map_size, gap = 3, 3.2
    for f in range(d):
        x0 = f * step
        _stack(ax, x0, 0, r, m, m)
        _box_edges(ax, x0, 0, m, m, r - 1, colour="0.25", lw=1.2)
        ax.text(x0 + m / 2 + (r - 1) * DEPTH[0] / 2, -(r - 1) * DEPTH[1] - 0.5,
                f"filter {f + 1}\n({r}, {m}, {m})", ha="center", va="bottom", fontsize=9)
        # its output map, below: one channel of the output
        mx = x0 + (m - map_size) / 2 + (r - 1) * DEPTH[0] / 2
        my = m + gap
        _grid(ax, mx, my, map_size, map_size, "0.88")
        ax.annotate("", xy=(mx + map_size / 2, my - 0.1), xytext=(x0 + m / 2, m + 0.2),
                    arrowprops=dict(arrowstyle="-|>", color="0.3", linewidth=1.2))
        ax.text(mx + map_size / 2, my + map_size + 0.3, f"map {f + 1}", ha="center",
                va="top", fontsize=9)
    width = (d - 1) * step + m + r * DEPTH[0]
    ax.text(width / 2, m + gap / 2, "convolve the input with each filter",
            ha="center", va="center", fontsize=9, color="0.3",
            bbox=dict(facecolor="white", edgecolor="none", pad=1))
    ax.text(width / 2, m + gap + map_size + 1.3,
            f"weights: one array of shape (d, r, m, m) = ({d}, {r}, {m}, {m}), "
            f"{d * r * m * m} numbers;  output: d = {d} maps, stacked as {d} channels",
            ha="center", va="top", fontsize=9)
    ax.set(xlim=(-0.6, width + 0.6), ylim=(m + gap + map_size + 2.4, -(r - 1) * DEPTH[1] - 2),
           aspect="equal")
    ax.axis("off")
    ax.set_title(f"A bank of d = {d} filters, each r = {r} channels deep")
    return fig
