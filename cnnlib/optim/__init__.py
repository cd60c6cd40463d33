"""``cnnlib.optim``: optimisers, the NumPy twins of ``torch.optim``.

* :mod:`~cnnlib.optim.optimizer`: the base class (parameter groups, state, freezing);
* :mod:`~cnnlib.optim.sgd`: ``SGD`` with momentum, Nesterov and weight decay.

Explained in chapter 2 and chapter 9.
"""
from __future__ import annotations

from cnnlib.optim.optimizer import Optimizer
from cnnlib.optim.sgd import SGD

__all__ = ["Optimizer", "SGD"]
