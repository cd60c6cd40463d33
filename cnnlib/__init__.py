"""cnnlib: the NumPy library of *Learning to See*, a runnable textbook on convolutional
networks.

Packages by role, each chapter's code in an obvious home:

* ``cnnlib.functional``: the ops, NumPy twins of ``torch.nn.functional`` (forward and
  backward of activations, losses, softmax, linear, convolution, pooling, padding);
* ``cnnlib.nn``: ``Module`` and the layer objects built on those ops;
* ``cnnlib.optim``: optimisers; ``cnnlib.train``: the training loop and its history;
* ``cnnlib.models``: whole models (logistic regression, one-vs-rest, the
  Theta-notation network, ...);
* ``cnnlib.features``: hand-chosen filters and features;
* ``cnnlib.data``: data sets that installed packages ship, and downloads;
* ``cnnlib.viz``: figures, diagrams, animations, widgets;
* ``cnnlib.checks``, ``cnnlib.grade``: the exercises' checks and the grader;
* ``cnnlib.twins``: the PyTorch side (converters, twin models; imports torch);
* ``cnnlib.crosscheck``: cnnlib against PyTorch, op by op;
* ``cnnlib.gradcheck``: finite-difference gradient checks.

Pure NumPy at import time (no torch, no matplotlib): PyTorch is imported only by the
modules that compare against it, and plotting helpers import matplotlib when called.
"""
from __future__ import annotations

from cnnlib import functional
from cnnlib.gradcheck import check_gradient, numerical_gradient, rel_error

__version__ = "0.1.0"

__all__ = ["functional", "check_gradient", "numerical_gradient", "rel_error",
           "__version__"]
