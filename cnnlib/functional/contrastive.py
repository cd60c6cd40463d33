r"""Contrastive losses: cross-entropy over a matrix of similarities.

Explained in chapter 11 (SimCLR's NT-Xent) and chapter 12 (CLIP's symmetric loss).

A contrastive loss compares every embedding in a batch with every other one. The
pieces, each with its forward and backward:

* :func:`normalize`: put embeddings on the unit sphere, :math:`u / \lVert u \rVert`
  (``torch.nn.functional.normalize`` with p = 2), so a dot product is a cosine;
* :func:`similarity_logits`: the matrix :math:`L = s\, A B^\top` of scaled similarities
  between two sets of embeddings (the shared core: CLIP uses images against captions,
  NT-Xent a batch of views against itself);
* :func:`clip_loss`: CLIP's symmetric loss, the mean of the cross-entropy that picks
  each image's caption in its row of L and the one that picks each caption's image in
  its column;
* :func:`nt_xent`: SimCLR's normalised temperature-scaled cross-entropy, one batch of
  2N views against itself: each view must pick its partner view among the 2N - 1
  others.

The cross-entropies are cnnlib's own (:func:`cnnlib.functional.cross_entropy`) applied
to the rows of L and of its transpose, so a sibling loss is one similarity matrix plus
the targets of its rows.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import (as_dout, as_float_array, as_float_arrays, check_ndim,
                              check_number, check_same_shape, snapshot)
from cnnlib.functional.losses import cross_entropy_backward, cross_entropy_forward

__all__ = ["normalize", "normalize_forward", "normalize_backward",
           "similarity_logits", "similarity_logits_forward", "similarity_logits_backward",
           "clip_loss", "clip_loss_forward", "clip_loss_backward",
           "nt_xent", "nt_xent_forward", "nt_xent_backward"]


# ------------------------------------------------------------------ unit vectors
def normalize_forward(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12):
    r""":math:`y = x / \max(\lVert x \rVert_2, \epsilon)` along ``dim``, as
    ``torch.nn.functional.normalize`` (only p = 2, the Euclidean length).

    input : any shape with at least one axis (embeddings: (N, D), dim=1).
    Returns ``(y, cache)``; y has the input's shape and dtype.
    """
    x = as_float_array(input, "input")
    if check_number(p, "p") != 2.0:
        raise ValueError(f"p must be 2 (the Euclidean length), got {p}")
    if x.ndim == 0 or not -x.ndim <= dim < x.ndim:
        raise ValueError(f"dim={dim} is out of range for input of shape {x.shape}")
    eps = check_number(eps, "eps", low=0.0)
    norm = np.sqrt((x * x).sum(axis=dim, keepdims=True))
    denom = np.maximum(norm, np.asarray(eps, dtype=x.dtype))
    y = x / denom
    # The cache keeps its own copy of y: the caller may change the returned array.
    return y, (y.copy(), denom, norm > eps, dim)


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> np.ndarray:
    """Unit vectors along ``dim`` (see :func:`normalize_forward`)."""
    return normalize_forward(input, p, dim, eps)[0]


def normalize_backward(dout, cache) -> np.ndarray:
    r""":math:`\partial y / \partial x` applied to dout: :math:`(d - y\,\langle y, d
    \rangle) / \lVert x \rVert` where the length exceeds eps (the part of d along y
    is removed: stretching x does not move y), and :math:`d / \epsilon` where the
    length was clamped."""
    y, denom, unclamped, dim = cache
    d = as_dout(dout, y.shape)
    radial = np.where(unclamped, (y * d).sum(axis=dim, keepdims=True), 0)
    return ((d - y * radial) / denom).astype(y.dtype, copy=False)


# ------------------------------------------------------- the similarity matrix
def _embeddings(a, b, a_name: str, b_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Two (N, D) / (M, D) embedding arrays of one float precision (cnnlib's rule: a
    float32 and a float64 array are not mixed; see :func:`as_float_arrays`)."""
    a_arr, b_arr = as_float_arrays(**{a_name: a, b_name: b})
    check_ndim(a_arr, a_name, 2)
    check_ndim(b_arr, b_name, 2)
    if a_arr.shape[1] != b_arr.shape[1]:
        raise ValueError(f"{a_name} and {b_name} must have the same embedding size D, got "
                         f"{a_name}.shape={a_arr.shape} and {b_name}.shape={b_arr.shape}")
    return a_arr, b_arr


def _scale(scale, dtype) -> np.ndarray:
    """A positive finite multiplier (a number or a one-element array) as a 0-D array."""
    if isinstance(scale, np.ndarray) or hasattr(scale, "__array__"):
        arr = np.asarray(scale)
        if arr.size != 1:
            raise ValueError(f"logit_scale must be one number, got an array of shape "
                             f"{arr.shape}")
        scale = arr.reshape(()).item()
    value = check_number(scale, "logit_scale")
    if value <= 0:
        raise ValueError(f"logit_scale must be positive (it is exp of the learned "
                         f"log-scale), got {value}")
    return np.asarray(value, dtype=dtype)


def similarity_logits_forward(a, b, logit_scale=1.0):
    r"""The scaled similarity matrix :math:`L = s\, A B^\top`, :math:`L_{ij} = s\,
    \langle a_i, b_j \rangle` (a cosine when the rows are unit vectors).

    a : (N, D); b : (M, D); logit_scale : s > 0, a number or one-element array.
    Returns ``(L, cache)`` with L of shape (N, M).
    """
    a_arr, b_arr = _embeddings(a, b, "a", "b")
    s = _scale(logit_scale, a_arr.dtype)
    cosine = a_arr @ b_arr.T
    # The backward computes with the values of forward time (cnnlib's cache rule).
    return s * cosine, (snapshot(a_arr, a), snapshot(b_arr, b), s, cosine)


def similarity_logits(a, b, logit_scale=1.0) -> np.ndarray:
    """:math:`s\\, A B^\\top` (see :func:`similarity_logits_forward`)."""
    return similarity_logits_forward(a, b, logit_scale)[0]


def similarity_logits_backward(dout, cache):
    r"""Gradients of :math:`L = s A B^\top`: :math:`dA = s\, dL\, B`,
    :math:`dB = s\, dL^\top A`, :math:`ds = \sum_{ij} dL_{ij} \langle a_i, b_j\rangle`.
    Returns ``(da, db, dlogit_scale)``; the last is a 0-D array."""
    a, b, s, cosine = cache
    d = as_dout(dout, cosine.shape).astype(a.dtype, copy=False)
    return s * (d @ b), s * (d.T @ a), np.asarray((d * cosine).sum(), dtype=a.dtype)


# ------------------------------------------------------------------ CLIP's loss
def clip_loss_forward(image_emb, text_emb, logit_scale):
    r"""CLIP's symmetric contrastive loss over a batch of N image-caption pairs.

    .. math::
        L = s\, I T^\top, \qquad
        \ell = \tfrac12 \Big( \tfrac1N \sum_i -\log \frac{e^{L_{ii}}}{\sum_j e^{L_{ij}}}
        + \tfrac1N \sum_j -\log \frac{e^{L_{jj}}}{\sum_i e^{L_{ij}}} \Big)

    image_emb : I, (N, D), row i the embedding of image i (CLIP feeds unit vectors);
    text_emb : T, (N, D), row i the embedding of the caption of image i;
    logit_scale : s > 0, the multiplier (exp of the learned log-scale, 1 / temperature).

    Row i of L scores image i against every caption of the batch; its own caption is
    the correct class i (the first term). Column j scores caption j against every image
    (the second term). Returns ``(loss, cache)``; the loss is a 0-D array of the
    embeddings' dtype.
    """
    image_emb, text_emb = _embeddings(image_emb, text_emb, "image_emb", "text_emb")
    check_same_shape(image_emb, "image_emb", text_emb, "text_emb")
    if image_emb.shape[0] == 0:
        raise ValueError("image_emb and text_emb must hold at least one pair, got N = 0")
    logits, sim_cache = similarity_logits_forward(image_emb, text_emb, logit_scale)
    targets = np.arange(logits.shape[0])
    loss_images, ce_images = cross_entropy_forward(logits, targets)     # rows
    loss_texts, ce_texts = cross_entropy_forward(logits.T, targets)     # columns
    loss = np.asarray(0.5 * (loss_images + loss_texts), dtype=logits.dtype)
    return loss, (sim_cache, ce_images, ce_texts)


def clip_loss(image_emb, text_emb, logit_scale) -> np.ndarray:
    """CLIP's symmetric loss (see :func:`clip_loss_forward`)."""
    return clip_loss_forward(image_emb, text_emb, logit_scale)[0]


def clip_loss_backward(dout, cache):
    r"""Gradients of the symmetric loss.

    With :math:`P = \mathrm{softmax}` of each row of L and :math:`Q` the softmax of
    each column, the gradient on the logits is
    :math:`\partial\ell/\partial L = \frac{1}{2N}\,[(P - E) + (Q - E)]` (E the identity
    matrix: "probabilities minus targets" from both directions); then it flows through
    :math:`L = s I T^\top` (see :func:`similarity_logits_backward`).

    dout : the upstream gradient, a scalar. Returns ``(d_image_emb, d_text_emb,
    d_logit_scale)``, shaped like the inputs (the last a 0-D array).
    """
    sim_cache, ce_images, ce_texts = cache
    dtype = sim_cache[0].dtype
    d = as_dout(dout, ()).reshape(()).astype(dtype)
    half = np.asarray(0.5, dtype=dtype) * d
    dlogits = cross_entropy_backward(half, ce_images) + cross_entropy_backward(half,
                                                                             ce_texts).T
    return similarity_logits_backward(dlogits, sim_cache)


# ------------------------------------------------------------------ SimCLR's loss
def _temperature(temperature) -> float:
    """A positive finite number (a Python or NumPy number, or a one-element array)."""
    if isinstance(temperature, np.ndarray):
        if temperature.size != 1:
            raise ValueError(f"temperature must be one number, got an array of shape "
                             f"{temperature.shape}")
        temperature = temperature.reshape(()).item()
    value = check_number(temperature, "temperature")
    if value <= 0:
        raise ValueError(f"temperature must be positive, got {value}")
    return value


def _others(n2: int) -> tuple[np.ndarray, np.ndarray]:
    """For a batch of 2N views: the boolean mask of the off-diagonal pairs (every view
    against the 2N - 1 others) and, in each row of that (2N, 2N - 1) matrix, the
    column of the row's partner (view i and view i + N are the two views of image i)."""
    n = n2 // 2
    partner = (np.arange(n2) + n) % n2
    column = np.where(partner < np.arange(n2), partner, partner - 1)
    return ~np.eye(n2, dtype=bool), column


def nt_xent_forward(z_a, z_b, temperature=0.5):
    r"""SimCLR's NT-Xent loss (normalised temperature-scaled cross-entropy) over a batch
    of N images seen twice.

    z_a : (N, D), row i the projection of the first view of image i;
    z_b : (N, D), row i the projection of the second view of the same image;
    temperature : :math:`\tau > 0` (SimCLR uses 0.1 to 0.5).

    The 2N rows :math:`z = [z_a; z_b]` are first put on the unit sphere,
    :math:`u_k = z_k / \lVert z_k \rVert`. View k's partner is :math:`p(k) = k \pm N`;
    every other view of the batch is a negative. With
    :math:`s_{kl} = \langle u_k, u_l \rangle / \tau`,

    .. math::
        \ell_k = -\log \frac{e^{s_{k\,p(k)}}}{\sum_{l \ne k} e^{s_{kl}}}, \qquad
        \mathcal{L} = \frac{1}{2N} \sum_{k=1}^{2N} \ell_k,

    the mean over all 2N anchors, as in the SimCLR paper's algorithm (each pair
    counted in both directions). It is the cross-entropy of the 2N rows of the
    similarity matrix with the diagonal (a view against itself) left out: row k is a
    classification of its partner among 2N - 1 candidates, so the loss of a batch of
    random embeddings is near :math:`\log(2N - 1)`, and 0 for N = 1.

    Returns ``(loss, cache)``; the loss is a 0-D array of the inputs' dtype.
    """
    z_a, z_b = _embeddings(z_a, z_b, "z_a", "z_b")
    check_same_shape(z_a, "z_a", z_b, "z_b")
    n = z_a.shape[0]
    if n == 0:
        raise ValueError("z_a and z_b must hold at least one image (two views), got N = 0")
    tau = _temperature(temperature)
    u_a, cache_a = normalize_forward(z_a)
    u_b, cache_b = normalize_forward(z_b)
    u = np.concatenate([u_a, u_b])                                   # (2N, D)
    logits, sim_cache = similarity_logits_forward(u, u, 1.0 / tau)   # (2N, 2N)
    others, column = _others(2 * n)
    rows = logits[others].reshape(2 * n, 2 * n - 1)                  # diagonal left out
    loss, ce_cache = cross_entropy_forward(rows, column)
    return np.asarray(loss, dtype=z_a.dtype), (cache_a, cache_b, sim_cache, ce_cache,
                                               others, n)


def nt_xent(z_a, z_b, temperature=0.5) -> np.ndarray:
    """SimCLR's NT-Xent loss (see :func:`nt_xent_forward`)."""
    return nt_xent_forward(z_a, z_b, temperature)[0]


def nt_xent_backward(dout, cache):
    r"""Gradients of NT-Xent with respect to z_a and z_b.

    Row k of the similarity matrix is a softmax classification, so the gradient on its
    logits is "probabilities minus target", :math:`(P_{kl} - [l = p(k)]) / (2N)`, with
    :math:`P_{kl} = e^{s_{kl}} / \sum_{m \ne k} e^{s_{km}}` and nothing on the
    diagonal. Through :math:`S = U U^\top / \tau` each unit vector collects
    :math:`\partial \mathcal{L}/\partial u_k = \frac{1}{\tau} \sum_l (G_{kl} + G_{lk})
    u_l` (it appears in row k and in column k), and the normalisation removes the
    part along :math:`u_k` and divides by :math:`\lVert z_k \rVert`. A smaller
    temperature multiplies the gradient by :math:`1/\tau` and sharpens P, so the
    hardest negatives (the most similar other views) get most of it.

    dout : the upstream gradient, a scalar. Returns ``(dz_a, dz_b)``, each (N, D).
    """
    cache_a, cache_b, sim_cache, ce_cache, others, n = cache
    dtype = sim_cache[0].dtype
    d = as_dout(dout, ()).reshape(()).astype(dtype)
    drows = cross_entropy_backward(d, ce_cache)                      # (2N, 2N - 1)
    dlogits = np.zeros((2 * n, 2 * n), dtype=dtype)
    dlogits[others] = drows.reshape(-1)
    du_left, du_right, _ = similarity_logits_backward(dlogits, sim_cache)
    du = du_left + du_right
    return normalize_backward(du[:n], cache_a), normalize_backward(du[n:], cache_b)
