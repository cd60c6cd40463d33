"""The chapter 5 explorers, and the figures behind them.

Explained in chapter 5 (the kernel explorer, padding and stride).

Each explorer is an interactive figure of :mod:`cnnlib.viz.interactive`: live controls
in JupyterLab, and in the web book (which has no Python kernel) the same figure drawn
in advance at the controls' positions. The plotting functions behind them are plain
functions with their own tests:

* :func:`show_filtered` draws a photograph, a 3 x 3 kernel with its numbers, and the
  photograph filtered with it; :func:`kernel_explorer` lets the reader pick a kernel
  of the gallery (:data:`cnnlib.features.kernels.GALLERY`) or type the nine weights, and a
  photo (the web book offers the gallery and the :data:`EXPLORER_EXAMPLES`).
* :func:`plot_padding_stride` draws an n x n image with its zero padding and the
  positions of a k x k window moved by a stride; :func:`padding_stride_explorer`
  moves n, k, padding and stride with sliders.

matplotlib and ipywidgets are imported inside the functions, so importing this module
is as light as importing cnnlib.
"""
from __future__ import annotations

import functools
import textwrap

import numpy as np

from cnnlib._validate import as_float_array, check_positive_int
from cnnlib.functional.im2col import conv_output_size
from cnnlib.features.kernels import GALLERY, apply_kernel

__all__ = ["show_filtered", "display_range", "kernel_explorer", "KernelExplorer",
           "plot_padding_stride", "padding_stride_explorer", "EXPLORER_PHOTOS",
           "EXPLORER_EXAMPLES"]

#: The photographs offered by the kernel explorer (names of cnnlib.data.PHOTOS).
EXPLORER_PHOTOS = ("camera", "astronaut", "coffee", "chelsea", "coins", "brick")

#: Kernels of one's own that chapter 5 suggests typing into the explorer; the web
#: book, where nothing can be typed, offers them beside the gallery.
EXPLORER_EXAMPLES = {
    # the Gaussian blur with its centre weight raised from 4/16 to 1.25: sum 2
    "blur, centre 1.25": np.array([[1, 2, 1], [2, 20, 2], [1, 2, 1]]) / 16,
    # +1 above, -1 below: horizontal edges only, with a sign
    "horizontal edges": np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -1.0, -1.0]]),
    # the identity's 1 moved one place right: the picture moves one pixel left
    "identity, shifted": np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]),
}


# ------------------------------------------------------------------ one filter
def display_range(kernel, filtered: np.ndarray) -> tuple[float, float]:
    """The (vmin, vmax) used to show ``filtered``, the result of ``kernel``.

    A kernel whose weights sum to (about) 0 answers a flat region with 0: its result is
    shown centred on 0 (mid-grey), the limits at the 99.5th percentile of |result| so
    that a few extreme pixels do not wash out the rest. Any other kernel keeps the
    brightness of flat regions, so its result is shown like a photograph, on [0, 1]
    (sharpening overshoots are clipped, as a screen would).
    """
    k = as_float_array(kernel, "kernel", ndim=2)
    out = as_float_array(filtered, "filtered")
    if abs(float(k.sum())) < 1e-9:
        limit = float(np.percentile(np.abs(out), 99.5)) if out.size else 0.0
        limit = max(limit, 1e-12)
        return -limit, limit
    return 0.0, 1.0


def show_filtered(image, kernel, *, name: str | None = None, padding=0):
    """Draw a photograph, a kernel and the photograph filtered with the kernel.

    image : (H, W) grey or (H, W, 3) colour, values in [0, 1]; kernel : (kh, kw);
    name : shown in the titles (e.g. "sharpen"); padding : passed to
    :func:`cnnlib.features.kernels.apply_kernel` (default 0, a valid convolution, so that the
    zero border does not show up as a frame of strong edges). Colour photos are
    filtered channel by channel. Returns the Figure; its third panel holds the result
    as ``fig.axes[2].images[0]`` (grey: the values themselves, shown with
    :func:`display_range`; colour: mapped onto [0, 1]). Explained in chapter 5.
    """
    import matplotlib.pyplot as plt

    from cnnlib.viz.plotting import show_kernel

    img = as_float_array(image, "image", ndim=(2, 3), finite=True)
    k = as_float_array(kernel, "kernel", ndim=2, finite=True)
    out = apply_kernel(img, k, padding=padding)
    vmin, vmax = display_range(k, out)
    label = "kernel" if name is None else name
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.7), layout="constrained",
                             width_ratios=[4, 2.2, 4])
    colour = img.ndim == 3
    axes[0].imshow(np.clip(img, 0, 1), cmap=None if colour else "gray", vmin=0, vmax=1)
    axes[0].set(title=f"image $I$ {img.shape[0]} x {img.shape[1]}", xlabel="column",
                ylabel="row")
    show_kernel(k, ax=axes[1], title=f"{label} $K$ (sum {k.sum():.3g})")
    if colour:                       # imshow has no vmin/vmax for RGB: map by hand
        shown = np.clip((out - vmin) / (vmax - vmin), 0, 1)
        axes[2].imshow(shown)
    else:
        axes[2].imshow(out, cmap="gray", vmin=vmin, vmax=vmax)
    centred = " (0 = mid-grey)" if vmin < 0 else ""
    axes[2].set(title=f"$I * K$ {out.shape[0]} x {out.shape[1]}{centred}",
                xlabel="column $j$", ylabel="row $i$")
    fig.suptitle(f"Filtering with the kernel '{name}'" if name else "Filtering with a kernel")
    return fig


@functools.lru_cache(maxsize=16)
def _photo(name: str, gray: bool, size: int) -> np.ndarray:
    from cnnlib.data import load_photo
    return load_photo(name, gray=gray, size=size)


class KernelExplorer:
    """The widget of :func:`kernel_explorer`: a kernel menu, nine weights, a photo menu,
    a grey switch and the figure of :func:`show_filtered`.

    ``kernel`` (Dropdown: the gallery's names and "custom"), ``weights`` (nine
    FloatText, row by row), ``photo`` (Dropdown), ``gray`` (Checkbox) and ``output``
    (Output) are its controls; ``widget`` is the box shown in a notebook, and
    :meth:`current_kernel` / :meth:`figure` give what is drawn.
    """

    CUSTOM = "custom"

    def __init__(self, photos=EXPLORER_PHOTOS, kernel: str = "edge detection 3",
                 photo: str | None = None, gray: bool = True, size: int = 256):
        import ipywidgets as widgets

        photos = tuple(photos)
        if not photos:
            raise ValueError("photos must name at least one photograph")
        if kernel not in GALLERY:
            raise ValueError(f"kernel must be one of {list(GALLERY)}, got {kernel!r}")
        photo = photos[0] if photo is None else photo
        if photo not in photos:
            raise ValueError(f"photo must be one of {list(photos)}, got {photo!r}")
        self.size = check_positive_int(size, "size")
        self._busy = False                      # set while we write the nine weights
        self.kernel = widgets.Dropdown(options=[*GALLERY, self.CUSTOM], value=kernel,
                                       description="kernel")
        self.weights = [widgets.FloatText(value=float(v), step=0.25,
                                          layout=widgets.Layout(width="80px"))
                        for v in GALLERY[kernel].ravel()]
        self.photo = widgets.Dropdown(options=photos, value=photo, description="photo")
        self.gray = widgets.Checkbox(value=bool(gray), description="grey")
        self.output = widgets.Output()
        grid = widgets.GridBox(self.weights, layout=widgets.Layout(
            grid_template_columns="repeat(3, 84px)"))
        controls = widgets.VBox([self.kernel, widgets.Label("weights K(m, n):"), grid,
                                 self.photo, self.gray])
        self.widget = widgets.HBox([controls, self.output])
        self.kernel.observe(self._on_kernel, names="value")
        for w in self.weights:
            w.observe(self._on_weight, names="value")
        self.photo.observe(self._redraw, names="value")
        self.gray.observe(self._redraw, names="value")
        self._redraw()

    def current_kernel(self) -> np.ndarray:
        """The 3 x 3 kernel that the nine weights spell, row by row."""
        return np.array([w.value for w in self.weights], dtype=np.float64).reshape(3, 3)

    def figure(self):
        """The figure for the current choices (a new matplotlib Figure)."""
        image = _photo(self.photo.value, bool(self.gray.value), self.size)
        name = None if self.kernel.value == self.CUSTOM else self.kernel.value
        return show_filtered(image, self.current_kernel(), name=name)

    def _on_kernel(self, change) -> None:
        # "custom" keeps the weights (the user edits them); _busy: the weights named
        # this kernel themselves, and _on_weight redraws
        if self._busy or change["new"] == self.CUSTOM:
            return
        self._busy = True
        try:
            for w, v in zip(self.weights, GALLERY[change["new"]].ravel()):
                w.value = float(v)
        finally:
            self._busy = False
        self._redraw()

    def _on_weight(self, change) -> None:
        if self._busy:
            return
        # name the kernel when the weights happen to spell one of the gallery's
        k = self.current_kernel()
        match = next((n for n, g in GALLERY.items() if np.allclose(g, k, atol=1e-12)),
                     self.CUSTOM)
        if match != self.kernel.value:
            self._busy = True
            try:
                self.kernel.value = match
            finally:
                self._busy = False
        self._redraw()

    def _redraw(self, change=None) -> None:
        import matplotlib.pyplot as plt
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is None:               # no notebook to draw into
            return
        with self.output:
            self.output.clear_output(wait=True)
            fig = self.figure()
            display(fig)
            plt.close(fig)                      # shown once, in the output area

    def _ipython_display_(self) -> None:
        from IPython.display import display
        display(self.widget)


def kernel_explorer(photos=EXPLORER_PHOTOS, kernel: str = "edge detection 3",
                    photo: str | None = None, gray: bool = True, size: int = 256):
    """An interactive kernel explorer: choose a kernel of the gallery or type the nine
    weights of your own, choose a photograph (resized so its shorter side has ``size``
    pixels, grey or in colour), and see :func:`show_filtered`.

    Returns a :class:`cnnlib.viz.interactive.SliderFigure`; display it as the last
    line of a cell. In a live session it is the :class:`KernelExplorer` (menus, nine
    weights to type); on the website, sliders over the gallery's kernels and
    :data:`EXPLORER_EXAMPLES`, the photos and grey/colour pick among frames drawn in
    advance (one slider at a time). Explained in chapter 5.
    """
    from cnnlib.viz.interactive import SliderFigure

    explorer = KernelExplorer(photos, kernel=kernel, photo=photo, gray=gray, size=size)
    kernels = {**GALLERY, **EXPLORER_EXAMPLES}
    photos = tuple(explorer.photo.options)

    def draw(kernel, photo, colour):
        image = _photo(photo, colour == "grey", explorer.size)
        return show_filtered(image, kernels[kernel], name=kernel)

    return SliderFigure(draw, {"kernel": list(kernels), "photo": list(photos),
                               "colour": ["grey", "colour"]},
                        value={"kernel": kernel, "photo": explorer.photo.value,
                               "colour": "grey" if gray else "colour"},
                        live=explorer.widget)


# ------------------------------------------------------------- padding and stride
def plot_padding_stride(n: int = 5, k: int = 3, padding: int = 1, stride: int = 2, *,
                        ax=None):
    """Draw an n x n image surrounded by ``padding`` rings of zeros, and where a k x k
    window moved ``stride`` pixels at a time lands.

    The first window is outlined in gold; every window's centre carries the index
    (i, j) of the output it computes; pixels that no window covers are hatched red (left
    over at the end when the stride does not divide evenly, or skipped between windows
    when the stride is larger than the kernel). The title gives the output size
    ``floor((n + 2p - k) / s) + 1`` from :func:`cnnlib.functional.im2col.conv_output_size`.
    Raises ValueError when the window does not fit in the padded image.
    Returns the Figure. Explained in chapter 5.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n = check_positive_int(n, "n")
    k = check_positive_int(k, "k")
    padding = check_positive_int(padding, "padding", allow_zero=True)
    stride = check_positive_int(stride, "stride")
    out = conv_output_size(n, k, stride, padding)     # raises if k does not fit
    size = n + 2 * padding
    covered = np.zeros((size, size), dtype=bool)
    for i in range(out):
        for j in range(out):
            covered[i * stride:i * stride + k, j * stride:j * stride + k] = True
    if ax is None:
        side = 1.2 + 0.55 * size
        fig, ax = plt.subplots(figsize=(side + 0.8, side + 0.4), layout="constrained")
    else:
        fig = ax.figure
    for r in range(size):
        for c in range(size):
            inside = padding <= r < padding + n and padding <= c < padding + n
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, edgecolor="0.45",
                                   facecolor="white" if inside else "0.82",
                                   linewidth=0.8))
            if not covered[r, c]:
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False,
                                       edgecolor="C3", hatch="///", linewidth=0))
            if not inside:
                ax.text(c, r, "0", ha="center", va="center", color="0.35", fontsize=9)
    ax.add_patch(Rectangle((-0.5, -0.5), k, k, fill=False, edgecolor="gold",
                           linewidth=3.5))
    ax.add_patch(Rectangle((padding - 0.5, padding - 0.5), n, n, fill=False,
                           edgecolor="k", linewidth=2))
    for i in range(out):
        for j in range(out):
            y, x = i * stride + (k - 1) / 2, j * stride + (k - 1) / 2
            ax.plot(x, y, "o", color="C0", markersize=5)
            ax.annotate(f"{i},{j}", (x, y), xytext=(3, 3), textcoords="offset points",
                        fontsize=7, color="C0")
    ax.set(xlim=(-0.6, size - 0.4), ylim=(size - 0.4, -0.6), aspect="equal",
           xticks=range(size), yticks=range(size),
           xlabel="column of the padded image", ylabel="row of the padded image")
    ax.set_title(f"n = {n}, k = {k}, p = {padding}, s = {stride}: output "
                 f"floor(({n} + {2 * padding} - {k}) / {stride}) + 1 = {out}"
                 f"  ({out} x {out})", fontsize=10)
    return fig


def padding_stride_explorer(n: int = 5, k: int = 3, padding: int = 1, stride: int = 2):
    """Sliders for the image size n (1 to 9), the kernel size k (1 to 5), the padding
    p (0 to 2) and the stride s (1 to 3) over :func:`plot_padding_stride`, starting at
    the given values; a combination whose window does not fit says why instead.

    Returns a :class:`cnnlib.viz.interactive.SliderFigure`; display it as the last line
    of a cell. Explained in chapter 5.
    """
    from cnnlib.viz.interactive import SliderFigure

    def draw(n, k, p, s):
        import matplotlib.pyplot as plt

        # one size for every setting, so that the picture does not jump on the page
        fig, ax = plt.subplots(figsize=(6.2, 6.2), layout="constrained")
        try:
            plot_padding_stride(n, k, p, s, ax=ax)
        except ValueError as exc:
            ax.axis("off")
            ax.set_title(f"n = {n}, k = {k}, p = {p}, s = {s}: no output", fontsize=10)
            ax.text(0.5, 0.5, "\n".join(textwrap.wrap(str(exc), 48)), ha="center",
                    va="center", fontsize=11, color="C3", transform=ax.transAxes)
        return fig

    return SliderFigure(draw, {"n": list(range(1, 10)), "k": list(range(1, 6)),
                               "p": [0, 1, 2], "s": [1, 2, 3]},
                        value={"n": n, "k": k, "p": padding, "s": stride})
