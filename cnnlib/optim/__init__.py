"""``cnnlib.optim``: optimisers, the NumPy twins of ``torch.optim``.

* :mod:`~cnnlib.optim.optimizer`: the base class (parameter groups, state, freezing);
* :mod:`~cnnlib.optim.sgd`: ``SGD`` with momentum, Nesterov and weight decay;
* :mod:`~cnnlib.optim.adam`: ``Adam`` and ``AdamW``;
* :mod:`~cnnlib.optim.lr_scheduler`: learning-rate schedules (``StepLR``,
  ``CosineAnnealingLR``, ``OneCycleLR``, ...), as ``torch.optim.lr_scheduler``.

Explained in chapter 2 and chapter 9.
"""
from __future__ import annotations

from cnnlib.optim import lr_scheduler
from cnnlib.optim.adam import Adam, AdamW
from cnnlib.optim.optimizer import Optimizer
from cnnlib.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
