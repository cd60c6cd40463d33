"""``cnnlib.train``: the training loop and what it measures.

* :mod:`~cnnlib.train.batches`: mini-batches in a fresh random order, with a per-batch
  transform (augmentation);
* :mod:`~cnnlib.train.loop`: ``train_step``, ``fit`` (validation, scheduler,
  callbacks, custom steps), ``evaluate``, ``predict``;
* :mod:`~cnnlib.train.history`: ``History``, the one record of a training run;
* :mod:`~cnnlib.train.metrics`: accuracy and friends.

Explained in chapter 2.
"""
from __future__ import annotations

from cnnlib.train.batches import iterate_minibatches, num_batches
from cnnlib.train.history import History
from cnnlib.train.loop import (LOSSES, Callback, Loss, StopTraining, evaluate, fit,
                               predict, resolve_loss, train_step)
from cnnlib.train.metrics import accuracy, binary_accuracy, top_k_accuracy

__all__ = ["History", "fit", "evaluate", "predict", "train_step", "LOSSES", "Loss",
           "resolve_loss", "Callback", "StopTraining", "iterate_minibatches",
           "num_batches", "accuracy", "binary_accuracy", "top_k_accuracy"]
