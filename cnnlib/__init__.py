"""cnnlib: the NumPy library of *Learning to See*, a runnable textbook on convolutional
networks.

Pure NumPy at import time (no torch, no matplotlib): PyTorch is imported only by the
modules that compare against it (``cnnlib.crosscheck``, ``cnnlib.torch_ref``) and
plotting helpers import matplotlib when called.
"""
from __future__ import annotations

from . import functional
from .gradcheck import check_gradient, numerical_gradient, rel_error

__version__ = "0.1.0"

__all__ = ["functional", "check_gradient", "numerical_gradient", "rel_error",
           "__version__"]
