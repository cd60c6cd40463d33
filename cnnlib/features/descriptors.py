r"""Rotation-invariant descriptors of a round patch: the intensity spin image and RIFT.

Explained in chapter 6. Both follow Lazebnik, Schmid and Ponce (2005). They look at
a disk of radius :math:`R` around the centre :math:`(y_0, x_0)` of a square patch and
use only quantities that a rotation about the centre leaves unchanged:

* the **intensity spin image** is a 2-D histogram of (distance from the centre
  :math:`d`, intensity :math:`I`): for :math:`D` distance bins centred at
  :math:`d_a` and :math:`J` intensity bins centred at :math:`i_b`, with soft
  (Gaussian) votes so that resampling a rotated patch moves little weight,

  .. math:: S(a, b) \propto \sum_{\text{pixels } p \text{ in the disk}}
            \exp\Big(-\frac{(d_p - d_a)^2}{2\alpha^2}
                     -\frac{(\hat I_p - i_b)^2}{2\beta^2}\Big),

  where :math:`\hat I` is the intensity normalised to mean 0 and standard deviation 1
  over the disk (so brightness and contrast do not matter either);
* **RIFT** (rotation-invariant feature transform) cuts the disk into :math:`D`
  rings of equal width and, in each, histograms the gradient orientation measured
  **relative to the radial direction** (the direction from the centre to the pixel),
  :math:`\phi_p = \operatorname{atan2}(g_r, g_c) - \operatorname{atan2}(y_p - y_0,
  x_p - x_0) \bmod 360°`, each pixel voting with its gradient magnitude. Rotating
  the patch turns both angles by the same amount, so :math:`\phi` does not change.

A histogram of absolute gradient orientations per cell (HoG, SIFT) changes when the
patch turns; SIFT makes it invariant by first turning the patch to its dominant
orientation, these two by construction.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_float_array, check_finite, check_positive_int

__all__ = ["disk_coordinates", "spin_image", "rift"]


def _patch(patch) -> np.ndarray:
    p = as_float_array(patch, "patch")
    if p.ndim != 2 or p.shape[0] != p.shape[1]:
        extra = " (a colour patch? convert it to grey first)" if p.ndim == 3 else ""
        raise ValueError(f"patch must be a square grey patch of shape (S, S), got shape "
                         f"{p.shape}{extra}")
    if p.shape[0] < 5:
        raise ValueError(f"patch must be at least 5 x 5 pixels, got {p.shape}")
    check_finite(p, "patch")
    return p.astype(np.float64)


def disk_coordinates(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Polar coordinates of the pixels of a (size, size) patch about its centre
    ((size - 1) / 2, (size - 1) / 2).

    Returns ``(distance, angle, inside)``, each (size, size): distance in pixels,
    the angle atan2(row offset, column offset) in radians (from the column axis towards
    the row axis), and the mask of the disk of radius R = (size - 1) / 2.
    Explained in chapter 6.
    """
    size = check_positive_int(size, "size")
    c = (size - 1) / 2
    y, x = np.mgrid[:size, :size] - c
    distance = np.hypot(x, y)
    return distance, np.arctan2(y, x), distance <= c


def spin_image(patch, n_distances: int = 10, n_intensities: int = 10) -> np.ndarray:
    r"""Intensity spin image of the disk inscribed in a square grey patch.

    patch : (S, S) grey, S >= 5. The disk has radius R = (S - 1) / 2; distance bins are
    centred at :math:`d_a = a R / (D - 1)`, intensity bins (of the normalised
    intensity) at :math:`i_b = -2 + 4 b / (J - 1)`; the soft-vote widths
    :math:`\alpha, \beta` are one bin spacing each.
    Returns float64 (n_distances, n_intensities): row a, column b, summing to 1.
    A flat patch (no contrast) raises ``ValueError``. Explained in chapter 6.
    """
    p = _patch(patch)
    D = check_positive_int(n_distances, "n_distances")
    J = check_positive_int(n_intensities, "n_intensities")
    if D < 2 or J < 2:
        raise ValueError(f"n_distances and n_intensities must be at least 2, got "
                         f"{D} and {J}")
    distance, _, inside = disk_coordinates(len(p))
    d, values = distance[inside], p[inside]
    if values.std() == 0:
        raise ValueError("patch is flat inside its disk (one intensity): a spin image "
                         "needs some contrast")
    z = (values - values.mean()) / values.std()
    R = (len(p) - 1) / 2
    d_centres, i_centres = np.linspace(0, R, D), np.linspace(-2, 2, J)
    alpha, beta = d_centres[1] - d_centres[0], i_centres[1] - i_centres[0]
    # (pixels, D) and (pixels, J) weights; the histogram is their product summed
    wd = np.exp(-(d[:, None] - d_centres) ** 2 / (2 * alpha ** 2))
    wi = np.exp(-(z[:, None] - i_centres) ** 2 / (2 * beta ** 2))
    S = wd.T @ wi
    return S / S.sum()


def rift(patch, n_rings: int = 4, n_orientations: int = 8) -> np.ndarray:
    r"""RIFT descriptor of the disk inscribed in a square grey patch.

    patch : (S, S) grey, S >= 5; the disk of radius R = (S - 1) / 2 is cut into
    ``n_rings`` rings of width R / n_rings, and each ring gets a histogram of
    ``n_orientations`` bins over [0°, 360°) of the gradient orientation relative to the
    radial direction (see the module's docstring), each pixel voting with its
    gradient magnitude (central differences, as HoG). The centre pixel, which has no
    radial direction, does not vote.
    Returns float64 (n_rings, n_orientations), scaled to unit Euclidean norm (all
    zeros for a flat patch). Explained in chapter 6.
    """
    from cnnlib.features.oriented_gradients import image_gradients

    p = _patch(patch)
    rings = check_positive_int(n_rings, "n_rings")
    B = check_positive_int(n_orientations, "n_orientations")
    distance, radial, inside = disk_coordinates(len(p))
    g_row, g_col = image_gradients(p)
    magnitude = np.hypot(g_row, g_col)
    relative = (np.arctan2(g_row, g_col) - radial) % (2 * np.pi)
    R = (len(p) - 1) / 2
    ring = np.minimum((distance / R * rings).astype(int), rings - 1)
    orientation = np.minimum((relative / (2 * np.pi) * B).astype(int), B - 1)
    voting = inside & (distance > 0)
    hist = np.zeros((rings, B))
    np.add.at(hist, (ring[voting], orientation[voting]), magnitude[voting])
    norm = np.linalg.norm(hist)
    return hist / norm if norm > 0 else hist
