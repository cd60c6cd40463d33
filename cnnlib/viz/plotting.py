"""Figures the book draws again and again: image grids, training curves, decision
boundaries, confusion matrices, function curves and small matrices with their numbers.

matplotlib is imported inside each function, so ``import cnnlib`` never loads it.
Every function returns the matplotlib ``Figure`` and gives it a title and axis labels.
The figure is also left open in pyplot, so a notebook shows it at the end of the cell:
end the call with ``;`` or assign it (``fig = show_images(...)``), or Jupyter shows
the returned figure a second time.

Functions that draw one panel take ``ax=None``: pass an ``Axes`` to draw into an
existing figure (a grid of panels), and that Axes' figure is returned.

Explained where first used: images in chapter 1, training curves in chapter 1,
decision boundaries in chapters 1-2, confusion matrices in chapter 3, kernels in
chapters 4-5. Network diagrams are in :mod:`cnnlib.viz.diagrams`.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from cnnlib._validate import (as_float_array, as_int_array, check_positive_int,
                        check_same_shape)

__all__ = ["show_images", "plot_history", "plot_decision_boundary",
           "plot_confusion_matrix", "plot_function", "show_kernel"]


#: The widest figure, in inches, that the book's text column shows at a readable size
#: (about 690 pixels wide, at least 60 pixels per figure inch).
MAX_WIDTH = 11.0


def new_axes(ax, figsize):
    """Return (figure, axes): a fresh pyplot figure of size ``figsize`` (constrained
    layout), or the figure ``ax`` belongs to and ``ax`` itself: how the figure functions
    here and in :mod:`cnnlib.viz.diagrams` treat their ``ax=`` argument."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


# ------------------------------------------------------------------------ images
def _as_image_list(images) -> list[np.ndarray]:
    """Accept one image or many, in the layouts the book meets, and return a list of
    (H, W) or (H, W, 3|4) arrays.

    Channels-first (PyTorch's layout, C = 1 or 3) wins where a shape is ambiguous, and
    a 3-D array is one colour image only when it looks like one: (H, W, 3) with H and W
    above 4. So a stack of 3 x 3 kernels (N, 3, 3) or of 4 x 4 feature maps (N, 4, 4) is
    shown as N grey images."""
    if isinstance(images, (list, tuple)):
        ims = []
        for k, im in enumerate(images):
            im = as_float_array(im, f"images[{k}]", ndim=(2, 3))
            ims.append(np.moveaxis(im, 0, -1) if im.ndim == 3 and im.shape[0] in (1, 3)
                       else im)                    # CHW -> HWC
    else:
        arr = as_float_array(images, "images", ndim=(2, 3, 4))
        if arr.ndim == 2:                          # one grey image
            ims = [arr]
        elif arr.ndim == 3:
            one_colour = arr.shape[2] == 3 and min(arr.shape[:2]) > 4
            ims = [arr] if one_colour else list(arr)
        elif arr.shape[1] in (1, 3):               # NCHW -> NHWC
            ims = list(np.moveaxis(arr, 1, -1))
        elif arr.shape[3] in (1, 3, 4):            # NHWC
            ims = list(arr)
        else:
            raise ValueError(f"images of shape {arr.shape}: a 4-D stack must be (N, C, H, "
                             f"W) or (N, H, W, C) with C = 1 or 3; to look at one input "
                             f"channel of a weight tensor, pass e.g. images[:, 0]")
    out = []
    for k, im in enumerate(ims):
        if im.ndim == 3 and im.shape[2] == 1:
            im = im[..., 0]
        if im.ndim == 3 and im.shape[2] not in (3, 4):
            raise ValueError(f"image {k} has shape {im.shape}: a colour image needs 3 "
                             f"(RGB) or 4 (RGBA) channels; to show the channels of a "
                             f"feature map or weight tensor one by one, pass them as a "
                             f"stack (N, H, W)")
        out.append(im)
    return out


def show_images(images, titles: Sequence[str] | None = None, ncols: int | None = None,
                cmap: str = "gray", suptitle: str | None = None, *,
                vmin: float | None = None, vmax: float | None = None,
                axes: bool = False, colorbar: bool = False, size: float = 1.8):
    """Show images in a grid.

    images : one image (H, W) or (H, W, 3); a stack (N, H, W), PyTorch's (N, C, H, W)
        or (N, H, W, C) with C = 1 or 3; or a list of images, which may differ in size.
        Where a shape is ambiguous, channels-first wins, and (N, 3, 3) is N grey 3 x 3
        kernels, not one colour image: pass ``[image]`` to be explicit.
    titles : one title per image (e.g. the label), or None.
    ncols : images per row (default: up to 8).
    cmap, vmin, vmax : colour map and range for grey images. By default each image is
        scaled to its own min..max; pass vmin=0, vmax=1 to compare brightness across
        images (or a diverging cmap with symmetric limits for filters and gradients).
    suptitle : title above the grid (for one image without ``titles`` it becomes the
        image's title).
    axes : False hides the axes (a clean gallery); True shows pixel coordinates with
        the axis labels "column" and "row".
    colorbar : a colour bar beside each grey image (for feature maps and filters).
    size : inches per panel.
    """
    import matplotlib.pyplot as plt

    ims = _as_image_list(images)
    n = len(ims)
    if n == 0:
        raise ValueError("images is empty: nothing to show")
    if titles is not None:
        titles = [str(t) for t in titles]
        if len(titles) != n:
            raise ValueError(f"titles must have one entry per image: got {len(titles)} "
                             f"titles for {n} images")
    ncols = min(n, 8) if ncols is None else min(check_positive_int(ncols, "ncols"), n)
    nrows = math.ceil(n / ncols)
    # No wider than MAX_WIDTH inches: a wider figure is shrunk to the page's text column
    # until its titles cannot be read.
    size = min(size, (MAX_WIDTH - (0.6 if colorbar else 0)) / ncols)
    fig, grid = plt.subplots(nrows, ncols, squeeze=False, layout="constrained",
                             figsize=(size * ncols + (0.6 if colorbar else 0),
                                      size * nrows + (0.4 if suptitle else 0)))
    for k, ax in enumerate(grid.flat):
        if k >= n:
            ax.set_axis_off()
            continue
        im = ims[k]
        if im.ndim == 3:                             # colour: imshow needs [0, 1]
            shown = ax.imshow(np.clip(im, 0, 1), interpolation="nearest")
        else:
            shown = ax.imshow(im, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            if colorbar:
                fig.colorbar(shown, ax=ax, shrink=0.8)
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
        if axes:
            ax.set_xlabel("column")
            ax.set_ylabel("row")
        else:
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
    if suptitle is not None:
        if n == 1 and titles is None:
            grid[0, 0].set_title(suptitle)
        else:
            fig.suptitle(suptitle)
    return fig


# -------------------------------------------------------------- training curves
def _history_dict(history) -> dict[str, np.ndarray]:
    """A History object (``.history`` mapping or ``history["loss"]``), a dict of lists or
    a plain list of losses -> {name: 1-D float array}."""
    source = getattr(history, "history", history)
    if isinstance(source, Mapping):
        items = dict(source)
    elif hasattr(source, "keys") and hasattr(source, "__getitem__"):
        items = {k: source[k] for k in source.keys()}
    elif isinstance(source, (list, tuple, np.ndarray)):
        items = {"loss": source}
    else:
        raise TypeError(f"history must be a History, a dict of lists or a list of "
                        f"losses, got {type(history).__name__}")
    out = {}
    for key, values in items.items():
        values = as_float_array(values, f"history[{key!r}]", ndim=1)
        if len(values):
            out[str(key)] = values
    if not out:
        raise ValueError("history holds no values to plot")
    return out


def plot_history(history, keys: Sequence[str] | None = None, *,
                 title: str = "Training curves", xlabel: str = "epoch",
                 logy: bool = False, ax=None):
    """Plot training curves: loss (and accuracy) per epoch.

    history : a ``History`` (from ``cnnlib.train.fit``), a dict such as
        ``{"loss": [...], "val_loss": [...], "accuracy": [...]}``, or a list of losses.
    keys : which entries to plot (default: all).
    Curves whose name contains "acc" go on a second panel (accuracy, 0..1), the others
    on the loss panel; point k is plotted at x = k + 1 (after epoch k + 1).
    logy : logarithmic loss axis (for losses that fall over several orders).
    ax : draw the loss panel here (accuracy curves then share it).
    """
    curves = _history_dict(history)
    if keys is not None:
        missing = [k for k in keys if k not in curves]
        if missing:
            raise ValueError(f"keys {missing} are not in the history; it has "
                             f"{sorted(curves)}")
        curves = {k: curves[k] for k in keys}
    acc = {k: v for k, v in curves.items() if "acc" in k.lower()}
    loss = {k: v for k, v in curves.items() if k not in acc}
    panels = [(name, group) for name, group in (("loss", loss), ("accuracy", acc)) if group]
    if ax is None and len(panels) == 2:           # losses and accuracies: own scales
        import matplotlib.pyplot as plt
        fig, axs = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
        fig.suptitle(title)
        for a, (name, _) in zip(axs, panels):
            a.set_title(name)
            a.set_ylabel(name)
    else:                                         # everything on one panel
        fig, single = new_axes(ax, (6, 3.6))
        axs = [single] * len(panels)
        single.set_title(title)
        single.set_ylabel(" / ".join(name for name, _ in panels))
    for a, (name, group) in zip(axs, panels):
        for key, values in group.items():
            a.plot(np.arange(1, len(values) + 1), values, label=key,
                   marker="o" if len(values) <= 30 else None, markersize=3)
        if name == "loss" and logy:
            a.set_yscale("log")
        a.set_xlabel(xlabel)
        a.grid(alpha=0.3)
        a.legend()
    return fig


# --------------------------------------------------------------- decision boundary
def plot_decision_boundary(predict_fn: Callable[[np.ndarray], np.ndarray], X, y, *,
                           class_names: Sequence[str] | None = None,
                           resolution: int = 200, margin: float = 0.1,
                           title: str = "Decision boundary",
                           xlabel: str = "$x_1$", ylabel: str = "$x_2$", ax=None):
    """Colour the plane by a classifier's prediction and scatter the labelled points.

    predict_fn : maps an (m, 2) array of points to either class labels (m,) (ints),
        probabilities of class 1 (m,) in [0, 1], or class scores (m, K) (argmax is
        taken). Probabilities are shaded and the 0.5 contour -- the boundary -- drawn.
    X : (n, 2) points; y : (n,) their class labels 0..K-1.
    margin : extra room around the data, as a fraction of its range.
    """
    import matplotlib.pyplot as plt

    X = as_float_array(X, "X", ndim=2, finite=True)
    if X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2) (two features to draw on the plane), "
                         f"got {X.shape}")
    y = as_int_array(y, "y", ndim=1)
    if len(X) == 0:
        raise ValueError("X is empty: there are no points to draw")
    if len(y) != len(X):
        raise ValueError(f"X and y must have the same number of points, got "
                         f"X.shape={X.shape} and y.shape={y.shape}")
    resolution = check_positive_int(resolution, "resolution")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * np.where(hi > lo, hi - lo, 1.0)
    g0, g1 = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution))
    grid = np.column_stack([g0.ravel(), g1.ravel()])
    pred = np.asarray(predict_fn(grid))
    if pred.ndim == 2 and pred.shape[1] == 1:
        pred = pred[:, 0]
    if pred.ndim == 2:
        pred = pred.argmax(axis=1)
    if pred.shape != (len(grid),):
        raise ValueError(f"predict_fn must return one value (or one row of scores) per "
                         f"point: for {len(grid)} points it returned shape {pred.shape}")
    num_classes = int(max(y.max(initial=0), 1)) + 1
    if class_names is not None:
        num_classes = max(num_classes, len(class_names))
    fig, ax = new_axes(ax, (5.5, 4.5))
    colours = plt.get_cmap("tab10" if num_classes <= 10 else "tab20")
    is_proba = np.issubdtype(pred.dtype, np.floating) and not np.all(pred == np.round(pred))
    if is_proba:
        Z = pred.reshape(g0.shape)
        filled = ax.contourf(g0, g1, Z, levels=np.linspace(0, 1, 11), cmap="RdBu_r",
                             alpha=0.6)
        ax.contour(g0, g1, Z, levels=[0.5], colors="k", linewidths=1.5)
        fig.colorbar(filled, ax=ax, label="P(y = 1 | x)")
        point_colours = ["tab:blue", "tab:red"] + [colours(k) for k in range(2, num_classes)]
    else:
        from matplotlib.colors import ListedColormap
        Z = pred.astype(np.int64).reshape(g0.shape)
        point_colours = [colours(k) for k in range(num_classes)]
        ax.contourf(g0, g1, Z, levels=np.arange(num_classes + 1) - 0.5,
                    cmap=ListedColormap(point_colours), alpha=0.3)
        if num_classes > 1:
            ax.contour(g0, g1, Z, levels=np.arange(num_classes - 1) + 0.5, colors="k",
                       linewidths=1)
    for k in np.unique(y):
        label = class_names[k] if class_names is not None else f"class {k}"
        ax.scatter(X[y == k, 0], X[y == k, 1], s=18, color=point_colours[k],
                   edgecolors="k", linewidths=0.5, label=label)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize=8)
    return fig


# ---------------------------------------------------------------- confusion matrix
def plot_confusion_matrix(y_true, y_pred, class_names: Sequence[str] | None = None, *,
                          normalize: bool = False, title: str | None = None,
                          cmap: str = "Blues", ax=None):
    """Draw the confusion matrix C, C[i, j] = number of examples of true class i that
    were predicted as class j, with the counts written in the cells.

    y_true, y_pred : (n,) class labels 0..K-1.
    class_names : K names for the rows and columns (default 0..K-1).
    normalize : show each row as fractions of that true class (rows sum to 1).
    title : default "Confusion matrix (accuracy xx.x%)".
    """
    from cnnlib.models.multiclass import confusion_matrix

    y_true = as_int_array(y_true, "y_true", ndim=1)
    y_pred = as_int_array(y_pred, "y_pred", ndim=1)
    check_same_shape(y_true, "y_true", y_pred, "y_pred")
    if len(y_true) == 0:
        raise ValueError("y_true is empty: nothing to count")
    if min(y_true.min(), y_pred.min()) < 0:
        raise ValueError("class labels must be >= 0")
    K = int(max(y_true.max(), y_pred.max())) + 1
    if class_names is not None:
        if len(class_names) < K:
            raise ValueError(f"class_names has {len(class_names)} names but the labels go "
                             f"up to {K - 1}")
        K = len(class_names)
    C = np.asarray(confusion_matrix(y_true, y_pred, K))
    shown = C / np.maximum(C.sum(axis=1, keepdims=True), 1) if normalize else C
    names = [str(c) for c in (class_names if class_names is not None else range(K))]
    if title is None:
        title = f"Confusion matrix (accuracy {np.mean(y_true == y_pred):.1%})"
    fig, ax = new_axes(ax, (1.2 + 0.5 * K, 1.0 + 0.45 * K))
    image = ax.imshow(shown, cmap=cmap, vmin=0)
    fig.colorbar(image, ax=ax, shrink=0.8,
                 label="fraction of the true class" if normalize else "count")
    threshold = shown.max() / 2
    for i in range(K):
        for j in range(K):
            text = f"{shown[i, j]:.2f}" if normalize else f"{C[i, j]:d}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8 if K > 6 else 10,
                    color="white" if shown[i, j] > threshold else "black")
    ax.set_xticks(range(K), names, rotation=45 if max(map(len, names)) > 3 else 0)
    ax.set_yticks(range(K), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return fig


# ------------------------------------------------------------------- 1-D functions
def plot_function(functions, x=(-6.0, 6.0), *, labels: Sequence[str] | None = None,
                  num: int = 400, title: str = "", xlabel: str = "$z$",
                  ylabel: str = "value", ax=None):
    """Plot one or several functions of one variable, e.g. the sigmoid and its slope.

    functions : a callable, a list of callables, or a dict {label: callable}; each maps
        an array of x values to an array of the same shape.
    x : a pair (low, high), sampled at ``num`` points, or the x values themselves.
    labels : legend entries (default: the dict keys, or the functions' names).
    Thin grey lines mark the axes x = 0 and y = 0.
    """
    if callable(functions):
        functions = [functions]
    if isinstance(functions, Mapping):
        labels = list(functions) if labels is None else list(labels)
        functions = list(functions.values())
    functions = list(functions)
    if not functions or not all(callable(f) for f in functions):
        raise TypeError("functions must be a callable, a list of callables or a dict "
                        "{label: callable}")
    if labels is None:
        labels = [getattr(f, "__name__", f"f{k}") for k, f in enumerate(functions)]
    labels = [str(s) for s in labels]
    if len(labels) != len(functions):
        raise ValueError(f"labels must have one entry per function: got {len(labels)} "
                         f"labels for {len(functions)} functions")
    xs = as_float_array(x, "x", ndim=1, finite=True)
    if len(xs) == 2 and (not isinstance(x, np.ndarray)):
        if not xs[0] < xs[1]:
            raise ValueError(f"x as a range (low, high) needs low < high, got {tuple(x)}")
        xs = np.linspace(xs[0], xs[1], check_positive_int(num, "num"))
    fig, ax = new_axes(ax, (6, 3.8))
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.axvline(0, color="0.6", linewidth=0.8)
    for f, label in zip(functions, labels):
        ys = np.broadcast_to(np.asarray(f(xs), dtype=np.float64), xs.shape)
        ax.plot(xs, ys, label=label, linewidth=2)
    if not title:
        title = ", ".join(labels)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


# ------------------------------------------------------------- matrices with numbers
_DIVERGING = ("RdBu_r", "RdBu", "coolwarm", "bwr", "seismic", "PiYG", "PuOr", "RdGy")


def show_kernel(matrix, *, title: str = "Kernel", fmt: str | None = None,
                cmap: str = "RdBu_r", highlight: tuple[int, int, int, int] | None = None,
                xlabel: str | None = None, ylabel: str | None = None, ax=None):
    """Draw a small matrix (a filter, a patch of an image, a feature map) as coloured
    cells with each value written in its cell.

    matrix : (h, w) array, or a 1-D (w,) array drawn as one row (signals and 1-D
        filters).
    fmt : format of the numbers (default: integers as integers, others with 3
        significant digits, so 1/9 shows as 0.111).
    cmap : a diverging map (the default: negative blue, zero white, positive red) is
        centred on 0; any other map spans min..max ("Greys" or "gray" for an image
        patch).
    highlight : (row, column, height, width) of a window to outline, e.g. where the
        kernel currently lies on the image (for a 1-D matrix: (0, start, 1, width)).
    xlabel, ylabel : default "column $n$" and "row $m$" (a filter's indices in the
        convolution formula of chapter 5: pass "column"/"row" for an image patch),
        or "index $i$" for a 1-D matrix.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    M = as_float_array(matrix, "matrix", ndim=(1, 2), finite=True)
    one_d = M.ndim == 1
    if one_d:
        M = M[None, :]
    if xlabel is None:
        xlabel = "index $i$" if one_d else "column $n$"
    if ylabel is None:
        ylabel = "" if one_d else "row $m$"
    h, w = M.shape
    if fmt is None:
        fmt = "{:.0f}" if np.all(M == np.round(M)) else "{:.3g}"
    elif "{" not in fmt:
        fmt = "{:" + fmt + "}"
    fig, ax = new_axes(ax, (0.9 + 0.55 * w, 0.9 + 0.55 * h))
    if cmap in _DIVERGING:
        # centred on 0, and wider than the data so the cells stay light enough for
        # the numbers to be read
        limit = 1.6 * max(float(np.abs(M).max()), 1e-12)
        vmin, vmax = -limit, limit
    else:
        vmin, vmax = float(M.min()), float(M.max())
    ax.imshow(M, cmap=cmap, vmin=vmin, vmax=vmax)
    colours = plt.get_cmap(cmap)
    span = max(vmax - vmin, 1e-12)
    for i in range(h):
        for j in range(w):
            r, g, b, _ = colours((M[i, j] - vmin) / span)
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
            ax.text(j, i, fmt.format(M[i, j]), ha="center", va="center",
                    fontsize=10 if max(h, w) <= 8 else 7,
                    color="white" if dark else "black")
    if highlight is not None:
        r0, c0, hh, ww = highlight
        ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), ww, hh, fill=False,
                               edgecolor="gold", linewidth=3))
    ax.set_xticks(range(w))
    ax.set_yticks([] if one_d else range(h))
    ax.set_xticks(np.arange(w + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(h + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="0.3", linewidth=0.6)
    ax.tick_params(which="minor", length=0)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig
