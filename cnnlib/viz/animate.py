r"""Step-by-step pictures of a convolution: where the window lies, what it multiplies,
and how the output fills up, one position at a time.

The operation is explained in chapter 4 (1-D) and chapter 5 (images); these figures
are the slides' and the book's way of *showing* it. For a 1-D signal

.. math:: (\theta * x)_i = \sum_{j=0}^{m-1} \theta_j\, x_{i+j},

and for an image

.. math:: (I * K)(i, j) = \sum_m \sum_n I(i + m, j + n)\, K(m, n).

Step ``s`` is the ``s``-th output, in reading order. Every picture marks the window
in gold, writes each weight under the input value it multiplies (a little
":math:`\times 1`"), and fills the outputs computed so far. The outputs are not
computed here: they come from :func:`cnnlib.functional.conv1d` and
:func:`cnnlib.functional.conv.conv2d_loop`, so the pictures show exactly what the library does.

* :func:`conv1d_step`, :func:`conv2d_step`: one step, one figure.
* :func:`conv1d_steps_figure`, :func:`conv2d_steps_figure`: every step in one figure.
* :func:`conv_animation_html`: the steps as an animation, a small self-contained
  HTML player (play, pause, previous, next, a slider) that needs nothing from the web.

matplotlib is imported inside the functions, so importing this module is as light as
importing cnnlib.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_float_array, check_positive_int

__all__ = ["conv1d_step", "conv1d_steps_figure", "conv2d_step", "conv2d_steps_figure",
           "conv_animation_html"]

WINDOW = "#f5c518"        # gold: the window and the output being computed
WINDOW_FILL = "#fff4c2"   # light gold: cells under the window
DONE_FILL = "#d9eaf7"     # light blue: outputs already computed
TAP = "#c0392b"           # red: the weight written under an input value


# ------------------------------------------------------------------ arguments
def _fmt(v: float) -> str:
    """Whole numbers without decimals, others with 3 significant digits."""
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.3g}"


def _prepare_1d(x, theta):
    """Validate a signal and a filter; returns (x (n,), theta (m,), out (n - m + 1,))."""
    from cnnlib.functional import conv1d

    x = as_float_array(x, "x", ndim=1, finite=True)
    t = as_float_array(theta, "theta", ndim=1, finite=True)
    if t.shape[0] == 0 or t.shape[0] > x.shape[0]:
        raise ValueError(f"theta must have between 1 and len(x) = {x.shape[0]} taps, "
                         f"got theta of shape {t.shape}")
    out = conv1d(x[None, None], t[None, None])[0, 0]      # (1, 1, L) -> (L,)
    return x, t, out


def _prepare_2d(image, kernel):
    """Validate an image and a kernel; returns (I (H, W), K (kh, kw), out (OH, OW))."""
    from cnnlib.functional.conv import conv2d_loop

    img = as_float_array(image, "image", ndim=2, finite=True)
    k = as_float_array(kernel, "kernel", ndim=2, finite=True)
    if min(k.shape) == 0 or k.shape[0] > img.shape[0] or k.shape[1] > img.shape[1]:
        raise ValueError(f"kernel of shape {k.shape} must be non-empty and fit inside "
                         f"the image of shape {img.shape}")
    out = conv2d_loop(img[None, None], k[None, None])[0, 0]
    return img, k, out


def _check_step(step, count: int) -> int:
    step = check_positive_int(step, "step", allow_zero=True)
    if step >= count:
        raise ValueError(f"step must be in [0, {count}) (one step per output), got "
                         f"{step}")
    return step


def _sum_text(values: np.ndarray, weights: np.ndarray, total: float) -> str:
    """'1·1 + 1·0 + 1·1 = 2' (only the non-zero weights when there are many)."""
    pairs = list(zip(values.ravel(), weights.ravel()))
    if len(pairs) > 5:
        pairs = [(v, w) for v, w in pairs if w != 0]
    if not pairs or len(pairs) > 9:
        return f"= {_fmt(total)}"
    return " + ".join(f"{_fmt(v)}·{_fmt(w)}" for v, w in pairs) + f" = {_fmt(total)}"


# ------------------------------------------------------------------ drawing
def _cells(ax, values, *, x0=0.0, y0=0.0, shown=None, fill=None, taps=None,
           window=None, current=None, fontsize=15):
    """Draw ``values`` (h, w) as a grid of numbered unit cells, top-left cell centred at
    (x0, y0) (y grows downwards). shown: which cells show their number; fill: face
    colour per cell (None = white); taps: (r0, c0, weights) writes weights[a, b] in red
    in cell (r0 + a, c0 + b); window: (r0, c0, h, w) outlined in gold; current: (r, c)
    outlined in gold."""
    from matplotlib.patches import Rectangle

    h, w = values.shape
    artists = []
    for r in range(h):
        for c in range(w):
            face = "white" if fill is None or fill[r][c] is None else fill[r][c]
            artists.append(ax.add_patch(Rectangle(
                (x0 + c - 0.5, y0 + r - 0.5), 1, 1, facecolor=face, edgecolor="0.35",
                linewidth=1)))
            if shown is None or shown[r, c]:
                artists.append(ax.text(x0 + c, y0 + r, _fmt(values[r, c]), ha="center",
                                       va="center", fontsize=fontsize))
    if taps is not None:
        r0, c0, weights = taps
        for a in range(weights.shape[0]):
            for b in range(weights.shape[1]):
                artists.append(ax.text(x0 + c0 + b + 0.44, y0 + r0 + a + 0.42,
                                       f"×{_fmt(weights[a, b])}", ha="right",
                                       va="bottom", fontsize=0.6 * fontsize, color=TAP))
    for box in ([window] if window is not None else []) + \
            ([(*current, 1, 1)] if current is not None else []):
        r0, c0, hh, ww = box
        artists.append(ax.add_patch(Rectangle((x0 + c0 - 0.5, y0 + r0 - 0.5), ww, hh,
                                              fill=False, edgecolor=WINDOW,
                                              linewidth=3.5, zorder=3)))
    # The cells lie inside the axes' limits: leaving them out of the layout
    # computation changes nothing on the page and makes every draw several times
    # faster (constrained layout would measure each number's extent).
    for artist in artists:
        artist.set_in_layout(False)


def _draw_1d(ax, x, t, out, step: int, fontsize: float = 15) -> None:
    """The three rows of one 1-D step: input (window, weights), filter under the
    window, outputs so far."""
    n, m, L = len(x), len(t), len(out)
    fill_x = [[WINDOW_FILL if step <= c < step + m else None for c in range(n)]]
    _cells(ax, x[None], fill=fill_x, taps=(0, step, t[None]), window=(0, step, 1, m),
           fontsize=fontsize)
    _cells(ax, t[None], x0=step, y0=1.5, fill=[[WINDOW_FILL] * m], fontsize=fontsize)
    fill_o = [[WINDOW_FILL if c == step else DONE_FILL if c < step else None
               for c in range(L)]]
    _cells(ax, out[None], y0=3.0, shown=(np.arange(L) <= step)[None], fill=fill_o,
           current=(0, step), fontsize=fontsize)
    for y, label in ((0, "input $x$"), (1.5, r"filter $\theta$"),
                     (3.0, r"output $\theta * x$")):
        ax.text(-0.75, y, label, ha="right", va="center", fontsize=0.8 * fontsize)
    ax.set_xlim(-3.6, n - 0.4)
    ax.set_ylim(3.6, -0.6)
    ax.set_aspect("equal")
    ax.set_xticks(range(n))
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("index $i$")
    window = x[step:step + m]
    ax.set_title(rf"step {step + 1} of {L}: $(\theta * x)_{{{step}}}$ = "
                 + _sum_text(window, t, out[step]), fontsize=0.85 * fontsize)


def _draw_2d(axes, img, k, out, step: int, fontsize: float = 14) -> None:
    """The three panels of one 2-D step: image (window, weights), kernel, output so
    far."""
    kh, kw = k.shape
    OH, OW = out.shape
    i, j = divmod(step, OW)
    H, W = img.shape
    fill_i = [[WINDOW_FILL if i <= r < i + kh and j <= c < j + kw else None
               for c in range(W)] for r in range(H)]
    _cells(axes[0], img, fill=fill_i, taps=(i, j, k), window=(i, j, kh, kw),
           fontsize=fontsize)
    _cells(axes[1], k, fill=[[WINDOW_FILL] * kw for _ in range(kh)], fontsize=fontsize)
    done = (np.arange(OH * OW) <= step).reshape(OH, OW)
    fill_o = [[WINDOW_FILL if (r, c) == (i, j) else DONE_FILL if done[r, c] else None
               for c in range(OW)] for r in range(OH)]
    _cells(axes[2], out, shown=done, fill=fill_o, current=(i, j), fontsize=fontsize)
    titles = ("image $I$", "filter $K$", "convolved feature $I * K$")
    labels = (("column", "row"), ("column $n$", "row $m$"), ("column $j$", "row $i$"))
    for ax, M, title, (xl, yl) in zip(axes, (img, k, out), titles, labels):
        ax.set_xlim(-0.55, M.shape[1] - 0.45)
        ax.set_ylim(M.shape[0] - 0.45, -0.55)
        ax.set_aspect("equal")
        ax.set_xticks(range(M.shape[1]))
        ax.set_yticks(range(M.shape[0]))
        ax.tick_params(length=0, labelsize=0.6 * fontsize)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(title, fontsize=0.8 * fontsize)
        ax.set_xlabel(xl, fontsize=0.6 * fontsize)
        ax.set_ylabel(yl, fontsize=0.6 * fontsize)


def _suptitle_2d(img, k, out, step: int) -> str:
    kh, kw = k.shape
    i, j = divmod(step, out.shape[1])
    window = img[i:i + kh, j:j + kw]
    return (f"step {step + 1} of {out.size}: $(I * K)({i}, {j})$ = "
            + _sum_text(window, k, out[i, j]))


# ------------------------------------------------------------------ public
def conv1d_step(x, theta, step: int = 0, *, ax=None):
    r"""One step of the 1-D convolution :math:`(\theta * x)_i = \sum_j \theta_j x_{i+j}`.

    x : (n,) input signal; theta : (m,) filter, m <= n; step : the output index
    i in [0, n - m]. Draws three rows: the input with the window outlined and each
    weight written under the value it multiplies, the filter slid under the window, and
    the outputs :math:`(\theta * x)_0, \dots, (\theta * x)_i` (the current one outlined);
    the title spells out the sum. ax : an Axes to draw into (default: a new figure).
    Returns the Figure.
    """
    import matplotlib.pyplot as plt

    x, t, out = _prepare_1d(x, theta)
    step = _check_step(step, len(out))
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.0 + 0.75 * (len(x) + 3), 3.2),
                               layout="constrained")
    _draw_1d(ax, x, t, out, step)
    return ax.figure


def conv1d_steps_figure(x, theta):
    """Every step of the 1-D convolution of ``x`` (n,) with ``theta`` (m,), one row
    per output (see :func:`conv1d_step`), in one figure. Returns the Figure."""
    import matplotlib.pyplot as plt

    x, t, out = _prepare_1d(x, theta)
    L = len(out)
    fig, axes = plt.subplots(L, 1, squeeze=False, layout="constrained",
                             figsize=(1.0 + 0.75 * (len(x) + 3), 2.9 * L))
    for step, ax in enumerate(axes[:, 0]):
        _draw_1d(ax, x, t, out, step)
    fig.suptitle(r"1-D convolution $(\theta * x)_i = \sum_j \theta_j\, x_{i+j}$, "
                 "step by step")
    return fig


def conv2d_step(image, kernel, step: int = 0, *, axes=None):
    r"""One step of the 2-D convolution :math:`(I * K)(i, j) = \sum_m \sum_n
    I(i + m, j + n) K(m, n)`.

    image : (H, W); kernel : (kh, kw) fitting inside the image; step : which output,
    in reading order, in [0, OH * OW) (so ``i, j = divmod(step, OW)``). Draws the image
    with the window outlined and each weight written under the pixel it multiplies, the
    kernel, and the outputs computed so far (current one outlined); the title spells
    out the sum. axes : three Axes to draw into (default: a new figure).
    Returns the Figure.
    """
    import matplotlib.pyplot as plt

    img, k, out = _prepare_2d(image, kernel)
    step = _check_step(step, out.size)
    if axes is None:
        widths = [img.shape[1], k.shape[1], out.shape[1]]
        fig, axes = plt.subplots(1, 3, width_ratios=widths, layout="constrained",
                                 figsize=(0.75 * sum(widths) + 2.5,
                                          0.75 * img.shape[0] + 1.6))
    elif len(axes) != 3:
        raise ValueError(f"axes must be three Axes (image, kernel, output), got "
                         f"{len(axes)}")
    _draw_2d(axes, img, k, out, step)
    axes[0].figure.suptitle(_suptitle_2d(img, k, out, step))
    return axes[0].figure


def conv2d_steps_figure(image, kernel, *, size: float = 2.2):
    """Every step of the 2-D convolution of ``image`` (H, W) with ``kernel`` (kh, kw)
    in one figure: a grid of OH x OW small images, laid out like the output, panel
    (i, j) showing where the window lies for output (i, j) and, in its title, the
    value it gives. size : inches per panel. Returns the Figure."""
    import matplotlib.pyplot as plt

    img, k, out = _prepare_2d(image, kernel)
    OH, OW = out.shape
    kh, kw = k.shape
    fig, axes = plt.subplots(OH, OW, squeeze=False, layout="constrained",
                             figsize=(size * OW, size * OH * img.shape[0] / img.shape[1]
                                      + 0.5))
    for i in range(OH):
        for j in range(OW):
            ax = axes[i, j]
            fill = [[WINDOW_FILL if i <= r < i + kh and j <= c < j + kw else None
                     for c in range(img.shape[1])] for r in range(img.shape[0])]
            _cells(ax, img, fill=fill, taps=(i, j, k), window=(i, j, kh, kw),
                   fontsize=9)
            ax.set_xlim(-0.55, img.shape[1] - 0.45)
            ax.set_ylim(img.shape[0] - 0.45, -0.55)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"$(I*K)({i},{j})$ = {_fmt(out[i, j])}", fontsize=10)
            if i == OH - 1:
                ax.set_xlabel("column", fontsize=8)
            if j == 0:
                ax.set_ylabel("row", fontsize=8)
    fig.suptitle("Every position of the window, and the output it gives")
    return fig


def _animation_figure(signal, kernel):
    """A figure and a function drawing step s into it, for a 1-D or 2-D convolution;
    returns (fig, draw, number of steps)."""
    import matplotlib.pyplot as plt

    arr = as_float_array(signal, "signal", ndim=(1, 2))
    if arr.ndim == 1:
        x, t, out = _prepare_1d(arr, kernel)
        fig, ax = plt.subplots(figsize=(1.0 + 0.75 * (len(x) + 3), 3.2),
                               layout="constrained")

        def draw(step):
            ax.clear()
            _draw_1d(ax, x, t, out, step)
    else:
        img, k, out = _prepare_2d(arr, kernel)
        widths = [img.shape[1], k.shape[1], out.shape[1]]
        fig, axes = plt.subplots(1, 3, width_ratios=widths, layout="constrained",
                                 figsize=(0.75 * sum(widths) + 2.5,
                                          0.75 * img.shape[0] + 1.6))

        def draw(step):
            for a in axes:
                a.clear()
            _draw_2d(axes, img, k, out, step)
            fig.suptitle(_suptitle_2d(img, k, out, step))
    return fig, draw, out.size


def conv_animation_html(signal, kernel, *, interval: int = 1200, dpi: int = 80) -> str:
    """The steps of a 1-D or 2-D convolution as an animation, in self-contained HTML.

    signal, kernel : a 1-D signal (n,) and filter (m,) (frames drawn as by
    :func:`conv1d_step`), or an image (H, W) and kernel (kh, kw) (frames of
    :func:`conv2d_step`). One frame per output, each embedded as a PNG (``dpi`` dots
    per inch), in the player of :func:`cnnlib.viz.player.player_html`: play/pause
    (``interval`` milliseconds per step), first, previous, next and a slider. It loads
    nothing from the web, so it works in an offline book or slide deck. Returns the
    HTML string; in a notebook show it with
    ``IPython.display.HTML(conv_animation_html(x, theta))``.
    """
    import matplotlib.pyplot as plt

    from cnnlib.viz.player import figure_png, player_html

    interval = check_positive_int(interval, "interval")
    dpi = check_positive_int(dpi, "dpi")
    fig, draw, count = _animation_figure(signal, kernel)
    frames = {}
    try:
        for step in range(count):
            draw(step)
            frames[(step,)] = figure_png(fig, dpi)
            if step == 0:
                # The layout of the first frame suits them all: freeze it rather than
                # solving it again for every frame.
                fig.set_layout_engine("none")
    finally:
        plt.close(fig)
    kind = "1-D" if np.ndim(signal) == 1 else "2-D"
    return player_html(frames, [("step", [str(k + 1) for k in range(count)])], [0],
                       alt=f"{kind} convolution, step by step ({count} steps)",
                       play=True, interval=interval)
