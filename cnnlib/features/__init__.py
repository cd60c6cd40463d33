"""``cnnlib.features``: filters and features chosen by hand.

* :mod:`~cnnlib.features.kernels`: the gallery of classic 3x3 kernels (edge detection,
  sharpen, blurs) and the banded (Toeplitz) matrices that show a convolution is a
  sparse fully connected layer (chapters 4-5);
* :mod:`~cnnlib.features.oriented_gradients`: histograms of oriented gradients, as scikit-image
  computes them (chapter 6);
* :mod:`~cnnlib.features.textons`: a filter bank of Gaussian derivatives, k-means,
  texton maps and texton histograms (chapter 6);
* :mod:`~cnnlib.features.descriptors`: rotation-invariant descriptors of a round
  patch, the intensity spin image and RIFT (chapter 6);
* :mod:`~cnnlib.features.detection`: sliding windows, the image pyramid, intersection
  over union and non-maximum suppression (chapter 6).
"""
from __future__ import annotations

from cnnlib.features.descriptors import *  # noqa: F401,F403
from cnnlib.features.descriptors import __all__ as _descriptors
from cnnlib.features.detection import *  # noqa: F401,F403
from cnnlib.features.detection import __all__ as _detection
from cnnlib.features.oriented_gradients import *  # noqa: F401,F403
from cnnlib.features.oriented_gradients import __all__ as _hog
from cnnlib.features.kernels import *  # noqa: F401,F403
from cnnlib.features.kernels import __all__ as _kernels
from cnnlib.features.textons import *  # noqa: F401,F403
from cnnlib.features.textons import __all__ as _textons

__all__ = [*_kernels, *_hog, *_textons, *_descriptors, *_detection]
