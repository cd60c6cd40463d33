r"""Textons: a bank of filters, k-means on their responses, and texton histograms.

Explained in chapter 6. A texture is described in three steps (Leung and Malik, 2001;
Varma and Zisserman, 2005):

1. **A filter bank.** Each pixel is described by the responses of a few dozen filters
   chosen by hand: Gaussian derivatives at several orientations and scales (edges and
   bars), Laplacians of Gaussian (blobs) and Gaussians (local brightness). With
   :math:`G_\sigma(x, y) = e^{-(x^2 + y^2) / 2\sigma^2}` and the coordinate
   :math:`u = x\cos\theta + y\sin\theta` along the direction :math:`\theta`
   (x along the columns, y along the rows): first derivative
   :math:`\partial_u G = -\frac{u}{\sigma^2} G`, second derivative
   :math:`\partial_u^2 G = \left(\frac{u^2}{\sigma^4} - \frac{1}{\sigma^2}\right) G`,
   Laplacian :math:`\nabla^2 G = \left(\frac{x^2 + y^2}{\sigma^4} -
   \frac{2}{\sigma^2}\right) G`. Convolution here is deep learning's (a
   cross-correlation), so the first-derivative kernel is stored mirrored,
   :math:`+\frac{u}{\sigma^2} G`: then its response is the derivative of the smoothed
   image along :math:`\theta`, positive where the brightness grows in that direction
   (the even kernels are their own mirror images). Each is sampled on a square of side
   :math:`2\lceil 3\sigma\rceil + 1` pixels; the Gaussian is scaled to sum to 1, the
   others to have zero mean and absolute values summing to 1. The responses come from
   cnnlib's own convolution (``cnnlib.functional.conv2d``), the image padded by
   reflection so the borders are not darkened.
2. **Textons.** The response vectors of many pixels are clustered with k-means; each
   cluster centre is a *texton*, a prototype of local appearance ("a dark bar at 45°",
   "a bright blob").
3. **Texton maps and histograms.** Each pixel gets the label of its nearest texton;
   a texture patch is described by the histogram of the labels in it.
"""
from __future__ import annotations

import math

import numpy as np

from cnnlib._validate import as_float_array, as_int_array, as_rng, check_finite, \
    check_positive_int
from cnnlib.functional.conv import conv2d
from cnnlib.functional.padding import pad

__all__ = ["gaussian_kernel", "gaussian_derivative_kernel", "laplacian_of_gaussian_kernel",
           "filter_bank", "filter_responses", "kmeans_plusplus", "kmeans_assign", "kmeans",
           "texton_map", "texton_histogram"]


# ---------------------------------------------------------------- the filters
def _positive_float(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                         np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} "
                        f"({value!r})")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def _grid(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Column (x) and row (y) offsets of a square of side 2 ceil(3 sigma) + 1."""
    r = math.ceil(3 * sigma)
    y, x = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float64)
    return x, y


def _zero_mean_unit_l1(k: np.ndarray) -> np.ndarray:
    k = k - k.mean()        # sampled derivatives do not sum exactly to 0: force it
    return k / np.abs(k).sum()


def gaussian_kernel(sigma: float) -> np.ndarray:
    r"""The Gaussian :math:`G_\sigma`, sampled on (2r+1, 2r+1) with r = ceil(3 sigma),
    scaled to sum to 1 (a weighted mean: it keeps the brightness).
    Explained in chapter 6."""
    x, y = _grid(_positive_float(sigma, "sigma"))
    g = np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def gaussian_derivative_kernel(sigma: float, theta: float, order: int = 1) -> np.ndarray:
    r"""A kernel whose response (cnnlib's convolution, a cross-correlation) is the first
    (``order=1``) or second (``order=2``) derivative of the Gaussian-smoothed image along
    the direction :math:`\theta` (radians, from the column axis towards the row axis):
    :math:`+\frac{u}{\sigma^2}G` (the mirror image of :math:`\partial_u G`) or
    :math:`\partial_u^2 G = (\frac{u^2}{\sigma^4} - \frac{1}{\sigma^2})G`, with
    :math:`u = x\cos\theta + y\sin\theta`. Shape (2r+1, 2r+1), r = ceil(3 sigma);
    zero mean, absolute values summing to 1. The first derivative responds to an edge
    across :math:`\theta` (positive where the brightness grows along :math:`\theta`),
    the second to a bar along :math:`\theta + 90°` (negative on a bright bar).
    Explained in chapter 6.
    """
    sigma = _positive_float(sigma, "sigma")
    if isinstance(theta, bool) or not isinstance(theta, (int, float, np.integer,
                                                         np.floating)):
        raise TypeError(f"theta must be a number (radians), got {type(theta).__name__}")
    if order not in (1, 2) or isinstance(order, bool):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    x, y = _grid(sigma)
    g = np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2))
    u = x * math.cos(theta) + y * math.sin(theta)
    k = u / sigma ** 2 * g if order == 1 else (u ** 2 / sigma ** 4 - 1 / sigma ** 2) * g
    return _zero_mean_unit_l1(k)


def laplacian_of_gaussian_kernel(sigma: float) -> np.ndarray:
    r""":math:`\nabla^2 G_\sigma = (\frac{x^2+y^2}{\sigma^4} - \frac{2}{\sigma^2}) G_\sigma`,
    shape (2r+1, 2r+1) with r = ceil(3 sigma), zero mean, absolute values summing to 1:
    a blob detector (negative at a bright blob of radius about
    :math:`\sigma\sqrt 2`). Explained in chapter 6."""
    sigma = _positive_float(sigma, "sigma")
    x, y = _grid(sigma)
    r2 = x ** 2 + y ** 2
    return _zero_mean_unit_l1((r2 / sigma ** 4 - 2 / sigma ** 2)
                              * np.exp(-r2 / (2 * sigma ** 2)))


def filter_bank(scales=(1.0, 2.0), orientations: int = 4) -> dict[str, np.ndarray]:
    r"""A texture filter bank: at each scale :math:`\sigma`, first and second Gaussian
    derivatives at ``orientations`` directions :math:`\theta_k = k \cdot 180° / K`, one
    Laplacian of Gaussian and one Gaussian.

    Returns an ordered dict name -> kernel (2r+1, 2r+1), r = ceil(3 sigma); names such
    as ``"edge 45° σ=2"``, ``"bar 90° σ=1"``, ``"LoG σ=1"``, ``"Gaussian σ=2"``;
    ``len(scales) * (2 * orientations + 2)`` filters. Explained in chapter 6.
    """
    if isinstance(scales, (int, float)):
        scales = (scales,)
    scales = [_positive_float(s, "scales[...]") for s in scales]
    if not scales:
        raise ValueError("scales must hold at least one sigma")
    K = check_positive_int(orientations, "orientations")
    bank: dict[str, np.ndarray] = {}
    for s in scales:
        tag = f"σ={s:g}"
        for order, kind in ((1, "edge"), (2, "bar")):
            for k in range(K):
                deg = 180 * k / K
                bank[f"{kind} {deg:g}° {tag}"] = gaussian_derivative_kernel(
                    s, math.radians(deg), order)
        bank[f"LoG {tag}"] = laplacian_of_gaussian_kernel(s)
        bank[f"Gaussian {tag}"] = gaussian_kernel(s)
    return bank


def filter_responses(image, bank) -> np.ndarray:
    """Every filter of ``bank`` applied to a grey image, as deep learning's convolution
    (cnnlib's ``conv2d``), the image padded by reflection to keep its size.

    image : (H, W) grey; bank : dict name -> square kernel of odd side (e.g.
    :func:`filter_bank`) or a list of such kernels. Returns (F, H, W) in the image's
    float dtype, in the bank's order. Kernels of one size go through one convolution
    call. Explained in chapter 6.
    """
    img = as_float_array(image, "image")
    if img.ndim != 2:
        extra = " (a colour image? convert it to grey first)" if img.ndim == 3 else ""
        raise ValueError(f"image must be a grey image of shape (H, W), got shape "
                         f"{img.shape}{extra}")
    check_finite(img, "image")
    kernels = list(bank.values()) if isinstance(bank, dict) else list(bank)
    if not kernels:
        raise ValueError("bank must hold at least one kernel")
    kernels = [as_float_array(k, f"bank[{i}]", ndim=2, finite=True)
               for i, k in enumerate(kernels)]
    for i, k in enumerate(kernels):
        if k.shape[0] != k.shape[1] or k.shape[0] % 2 == 0:
            raise ValueError(f"bank[{i}] must be square with an odd side, got shape "
                             f"{k.shape}")
        if k.shape[0] // 2 >= min(img.shape):
            raise ValueError(f"image of shape {img.shape} is too small for kernel "
                             f"{i} of shape {k.shape}: reflection padding needs a side "
                             f"larger than {k.shape[0] // 2}")
    out = np.empty((len(kernels), *img.shape), dtype=img.dtype)
    for side in sorted({k.shape[0] for k in kernels}):
        idx = [i for i, k in enumerate(kernels) if k.shape[0] == side]
        r = side // 2
        padded = pad(img[None, None], (r, r, r, r), mode="reflect")
        weight = np.stack([kernels[i] for i in idx])[:, None].astype(img.dtype)
        out[idx] = conv2d(padded, weight)[0]
    return out


# ---------------------------------------------------------------------- k-means
def _squared_distances(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(n, k) squared Euclidean distances, as one matrix product:
    |x - c|^2 = |x|^2 - 2 x.c + |c|^2 (clipped at 0 against rounding)."""
    d = (X ** 2).sum(1)[:, None] - 2 * X @ centres.T + (centres ** 2).sum(1)[None, :]
    return np.maximum(d, 0.0)


def kmeans_assign(X, centres) -> tuple[np.ndarray, np.ndarray]:
    r"""The assignment step of k-means: each point to its nearest centre.

    X : (n, d) points; centres : (k, d). Returns ``(labels, distances)``: int64 (n,)
    with :math:`\ell_i = \arg\min_j \lVert x_i - c_j \rVert^2` (the lowest index on a
    tie) and float64 (n,) the squared distance :math:`\lVert x_i - c_{\ell_i}\rVert^2`.
    Explained in chapter 6.
    """
    X = as_float_array(X, "X", ndim=2, finite=True)
    C = as_float_array(centres, "centres", ndim=2, finite=True)
    if C.shape[0] == 0 or C.shape[1] != X.shape[1]:
        raise ValueError(f"centres must have shape (k, {X.shape[1]}) with k >= 1 (one "
                         f"row per centre, as many columns as X), got {C.shape}")
    return _assign(X.astype(np.float64), C.astype(np.float64))


def _assign(X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unchecked core of :func:`kmeans_assign`."""
    d = _squared_distances(X, centres)
    labels = d.argmin(axis=1)
    return labels, d[np.arange(len(X)), labels]


def kmeans_plusplus(X, n_clusters: int, rng=None) -> np.ndarray:
    r"""k-means++ seeding (Arthur and Vassilvitskii, 2007), greedy as in scikit-learn.

    The first centre is a random point; each next one is drawn with probability
    proportional to :math:`D(x_i)^2`, the squared distance of point :math:`x_i` to the
    nearest centre chosen so far, so that far-away points are likely picks. Greedy
    variant: :math:`2 + \lfloor \ln k \rfloor` candidates are drawn at each step and
    the one that lowers :math:`\sum_i D(x_i)^2` most is kept.
    X : (n, d); returns (n_clusters, d) float64 centres (rows of X).
    Explained in chapter 6.
    """
    X = as_float_array(X, "X", ndim=2, finite=True).astype(np.float64)
    k = check_positive_int(n_clusters, "n_clusters")
    if k > len(X):
        raise ValueError(f"n_clusters must be at most the number of points {len(X)}, "
                         f"got {k}")
    rng = as_rng(rng)
    trials = 2 + int(np.log(k))
    centres = np.empty((k, X.shape[1]))
    centres[0] = X[rng.integers(len(X))]
    closest = _squared_distances(X, centres[:1])[:, 0]
    for j in range(1, k):
        total = closest.sum()
        if total > 0:
            candidates = rng.choice(len(X), size=trials, p=closest / total)
        else:                  # every point sits on a chosen centre: any will do
            candidates = rng.integers(len(X), size=1)
        # the potential each candidate would leave, and the best of them
        with_candidate = np.minimum(closest[:, None],
                                    _squared_distances(X, X[candidates]))
        best = int(with_candidate.sum(axis=0).argmin())
        centres[j] = X[candidates[best]]
        closest = with_candidate[:, best]
    return centres


def kmeans(X, n_clusters: int, *, n_init: int = 4, max_iter: int = 100,
           tol: float = 1e-4, rng=None) -> tuple[np.ndarray, np.ndarray, float]:
    r"""k-means clustering (Lloyd's algorithm) with k-means++ seeding and restarts.

    Minimises the **inertia** :math:`\sum_i \lVert x_i - c_{\ell_i} \rVert^2` by
    alternating the assignment step (:func:`kmeans_assign`) and the update step
    (:math:`c_j \leftarrow` the mean of the points assigned to j; a centre left
    without points moves to the point farthest from its centre), until the centres
    move less than ``tol`` times the data's mean variance per feature (in squared
    distance, summed over centres; scikit-learn's rule) or ``max_iter`` iterations.
    The best of ``n_init`` runs from different k-means++ seeds is kept.

    X : (n, d) points; n_clusters : k <= n; rng : Generator, int seed or None.
    Returns ``(centres, labels, inertia)``: float64 (k, d), int64 (n,), float.
    Explained in chapter 6.
    """
    X = as_float_array(X, "X", ndim=2, finite=True).astype(np.float64)
    k = check_positive_int(n_clusters, "n_clusters")
    n_init = check_positive_int(n_init, "n_init")
    max_iter = check_positive_int(max_iter, "max_iter")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    if k > len(X):
        raise ValueError(f"n_clusters must be at most the number of points {len(X)}, "
                         f"got {k}")
    rng = as_rng(rng)
    threshold = tol * float(np.var(X, axis=0).mean())
    best = None
    for _ in range(n_init):
        centres = kmeans_plusplus(X, k, rng)
        for _ in range(max_iter):
            labels, dist = _assign(X, centres)
            counts = np.bincount(labels, minlength=k)
            # the sum of each cluster's points, one feature at a time
            sums = np.stack([np.bincount(labels, weights=X[:, f], minlength=k)
                             for f in range(X.shape[1])], axis=1)
            new = sums / np.maximum(counts, 1)[:, None]
            for j in np.flatnonzero(counts == 0):     # an empty cluster: restart it far out
                far = int(dist.argmax())
                new[j], dist[far] = X[far], 0.0
            shift = float(((new - centres) ** 2).sum())
            centres = new
            if shift <= threshold:
                break
        labels, dist = _assign(X, centres)   # the labels of the final centres
        inertia = float(dist.sum())
        if best is None or inertia < best[2]:
            best = (centres, labels, inertia)
    return best


# ------------------------------------------------------------ maps and histograms
def texton_map(responses, textons) -> np.ndarray:
    """The nearest texton of every pixel.

    responses : (F, H, W) filter responses (:func:`filter_responses`, normalised the
    way the textons were); textons : (K, F) centres from :func:`kmeans`.
    Returns int64 (H, W) labels in 0..K-1. Explained in chapter 6.
    """
    R = as_float_array(responses, "responses", ndim=3, finite=True)
    T = as_float_array(textons, "textons", ndim=2, finite=True)
    if T.shape[1] != R.shape[0]:
        raise ValueError(f"textons must have one column per filter response: responses "
                         f"has {R.shape[0]} maps (shape {R.shape}), textons has shape "
                         f"{T.shape}")
    F, H, W = R.shape
    labels, _ = kmeans_assign(R.reshape(F, -1).T, T)
    return labels.reshape(H, W)


def texton_histogram(labels, n_textons: int) -> np.ndarray:
    r"""The share of each texton in a patch of a texton map:
    :math:`h_j = \frac{1}{n}\,\#\{\text{pixels with label } j\}`.

    labels : int array of any shape (a texton map or a patch of one) with values in
    0..n_textons-1. Returns float64 (n_textons,) summing to 1. Explained in chapter 6.
    """
    K = check_positive_int(n_textons, "n_textons")
    lab = as_int_array(labels, "labels").ravel()
    if lab.size == 0:
        raise ValueError("labels is empty: a histogram needs at least one pixel")
    if lab.min() < 0 or lab.max() >= K:
        raise ValueError(f"labels must lie in 0..{K - 1} (n_textons={K}), got values "
                         f"from {lab.min()} to {lab.max()}")
    return np.bincount(lab, minlength=K) / lab.size
