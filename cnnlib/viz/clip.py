"""Figures of chapter 12: CLIP's three steps, a batch's similarity matrix, the effect of
the temperature.

Explained in chapter 12. matplotlib is imported inside each function, so importing
this module stays light.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["clip_overview", "plot_similarity", "temperature_figure"]


def _box(ax, x, y, w, h, text, colour, fontsize=9):
    from matplotlib.patches import FancyBboxPatch
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02", facecolor=colour,
                                edgecolor="0.3", linewidth=1))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, x0, y0, x1, y1):
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                arrowprops=dict(arrowstyle="->", color="0.3", lw=1.2))


def clip_overview(images: np.ndarray, captions: Sequence[str], similarity: np.ndarray,
                  classnames: Sequence[str], new_image: np.ndarray, scores: np.ndarray,
                  template: str = "a photo of a {}"):
    """CLIP in three panels, drawn with real data.

    images : (N, 3, H, W) a few training images; captions : their N captions;
    similarity : (N, N) cosine similarities of their embeddings (row: image);
    classnames : K label words for the classifier; new_image : (3, H, W);
    scores : (K,) the new image's probability for each class (a softmax of the scaled
        similarities), drawn as bars.
    Returns the Figure.
    """
    import matplotlib.pyplot as plt

    n, k = len(captions), len(classnames)
    fig, axes = plt.subplots(1, 3, figsize=(11, 4.4), layout="constrained",
                             width_ratios=[1.35, 1, 1])
    for ax in axes:
        ax.set(xlim=(0, 10), ylim=(0, 10), xticks=[], yticks=[])
        ax.set_frame_on(False)

    # 1. contrastive pre-training
    ax = axes[0]
    ax.set_title("1. Contrastive pre-training", loc="left", fontsize=12)
    cell = 6.0 / n
    x0, y0 = 3.8, 0.6                      # bottom-left corner of the N x N grid
    for i in range(n):
        yi = y0 + (n - 1 - i) * cell
        ax.imshow(images[i].transpose(1, 2, 0), extent=(0.1, 0.1 + cell * 0.9, yi,
                                                        yi + cell * 0.9))
        ax.text(x0 - 0.1, yi + cell / 2, f"$I_{i + 1}$", ha="right", va="center")
        ax.text(x0 + (i + 0.5) * cell, y0 + n * cell + 0.15, f"$T_{i + 1}$", ha="center",
                va="bottom")
        for j in range(n):
            xj = x0 + j * cell
            v = float(similarity[i, j])
            ax.add_patch(plt.Rectangle((xj, yi), cell, cell,
                                       facecolor=plt.cm.viridis((v + 1) / 2),
                                       edgecolor="gold" if i == j else "white",
                                       linewidth=2.5 if i == j else 0.5))
    mid = y0 + n * cell / 2
    _box(ax, 1.55, mid - 0.6, 1.5, 1.2, "image\nencoder", "#cfe2f3")
    _arrow(ax, 0.15 + cell * 0.9, mid, 1.55, mid)
    _arrow(ax, 3.05, mid, x0 - 0.45, mid)
    _box(ax, x0 + 1.0, 8.4, 4.0, 0.9, "text encoder", "#f4cccc")
    _arrow(ax, x0 + 3.0, 8.4, x0 + 3.0, y0 + n * cell + 0.6)
    ax.text(x0 + 3.0, 9.75, "; ".join(f'"{c}"' for c in captions[:2]) + "; ...",
            ha="center", va="top", fontsize=7.5)
    ax.text(x0 + 3.0, 0.1, "$I_i \\cdot T_j$: the gold diagonal holds the true pairs",
            ha="center", va="bottom", fontsize=8.5)

    # 2. a classifier from label text
    ax = axes[1]
    ax.set_title("2. A classifier from label text", loc="left", fontsize=12)
    for c, name in enumerate(classnames):
        y = 8.6 - c * (7.5 / k)
        ax.text(0.1, y, template.format(name), va="center", fontsize=8)
        _arrow(ax, 6.6, y, 7.8, y)
        ax.text(8.0, y, f"$W_{{{c + 1}}}$", va="center")
    _box(ax, 3.0, 9.2, 3.2, 0.7, "text encoder", "#f4cccc")
    ax.text(5, 0.3, "one unit vector $W_k$ per class,\nfrom its name alone", ha="center",
            fontsize=9)

    # 3. zero-shot prediction
    ax = axes[2]
    ax.set_title("3. Zero-shot prediction", loc="left", fontsize=12)
    ax.imshow(new_image.transpose(1, 2, 0), extent=(0.3, 2.8, 6.5, 9.0))
    _box(ax, 3.4, 7.2, 2.6, 1.1, "image\nencoder", "#cfe2f3")
    _arrow(ax, 2.9, 7.75, 3.4, 7.75)
    best = int(np.argmax(scores))
    for c, name in enumerate(classnames):
        y = 5.6 - c * (5.0 / k)
        width = 4.0 * float(np.clip(scores[c], 0.0, 1.0))
        ax.add_patch(plt.Rectangle((4.2, y - 0.2), width, 0.4,
                                   facecolor="C2" if c == best else "0.75"))
        ax.text(4.3 + width, y, f"{float(scores[c]):.2f}", va="center", fontsize=8)
        ax.text(4.1, y, name, ha="right", va="center", fontsize=8.5,
                fontweight="bold" if c == best else "normal")
    ax.text(6.3, 7.75, "softmax of\n$s\\, I \\cdot W_k$", va="center", fontsize=9)
    ax.text(5, 0.1, f"prediction: {template.format(classnames[best])}", ha="center",
            fontsize=9.5, fontweight="bold")
    fig.suptitle("CLIP: match captions to images, then write a classifier in words")
    return fig


def plot_similarity(similarity: np.ndarray, *, ax=None, title: str = "",
                    row_label: str = "image $i$", col_label: str = "caption $j$",
                    vmin: float = -1.0, vmax: float = 1.0, colorbar: bool = True):
    """A batch's similarity matrix as a heat map, the diagonal (true pairs) outlined."""
    import matplotlib.pyplot as plt

    sim = np.asarray(similarity)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    im = ax.imshow(sim, cmap="viridis", vmin=vmin, vmax=vmax)
    n = min(sim.shape)
    ax.scatter(np.arange(n), np.arange(n), marker="s", s=(160 / max(n, 1)) ** 2 * 2,
               facecolors="none", edgecolors="gold", linewidths=1.2)
    ax.set(title=title, xlabel=col_label, ylabel=row_label)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.8, label="cosine similarity")
    return ax


def temperature_figure(cosine: np.ndarray, logit_scale: float, captions: Sequence[str]):
    """What the multiplier s does: each image's softmax over the batch's captions at
    scale s (left), and the symmetric loss as a function of s with the current s
    marked (right). cosine : (N, N), row i image i against caption j."""
    import matplotlib.pyplot as plt

    from cnnlib.functional.contrastive import clip_loss
    from cnnlib.functional.probabilities import softmax

    cos = np.asarray(cosine, dtype=np.float64)
    n = len(cos)
    # clip_loss wants embeddings; rows of an identity-padded factorisation give back
    # the same cosines: cos = I T^T with I = cos, T = identity.
    eye = np.eye(n)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained",
                                      width_ratios=[1.1, 1])
    probs = softmax(logit_scale * cos, dim=1)
    im = left.imshow(probs, cmap="magma", vmin=0, vmax=1)
    left.set(title=f"softmax over captions at s = {logit_scale:g}", xlabel="caption $j$",
             ylabel="image $i$", xticks=range(n), yticks=range(n))
    fig.colorbar(im, ax=left, shrink=0.8, label="probability")
    scales = np.geomspace(1, 100, 60)
    losses = [float(clip_loss(cos, eye, s)) for s in scales]
    right.plot(scales, losses, color="C0")
    here = float(clip_loss(cos, eye, logit_scale))
    right.plot([logit_scale], [here], "o", color="C3")
    right.set(xscale="log", xlabel="logit scale $s = 1/\\tau$", ylabel="symmetric loss",
              title=f"loss {here:.3f} at s = {logit_scale:g}")
    right.axhline(np.log(n), color="0.6", ls="--", lw=1)
    right.text(1.1, np.log(n), "log N (guessing)", va="bottom", fontsize=8, color="0.4")
    fig.suptitle(f"The temperature: {n} images against their {n} captions ("
                 f"'{captions[0]}', ...)")
    return fig
