"""``cnnlib.twins``: the PyTorch side of cnnlib (imports torch; the NumPy core never
imports this package).

A cnnlib model and its PyTorch twin are written with the same attribute names, so their
``state_dict`` keys and shapes agree and weights move between them in one line:

* :func:`state_from_torch` (torch model -> NumPy ``state_dict``), for
  ``numpy_model.load_state_dict(state_from_torch(torch_model))``;
* :func:`state_to_torch` (NumPy model or state -> torch model), for
  ``state_to_torch(numpy_model, torch_model)``.

The twin models of the later chapters live here too, each in its own module:
:mod:`~cnnlib.twins.small_nets` (chapter 7), :mod:`~cnnlib.twins.lenet` (chapter 8),
:mod:`~cnnlib.twins.digit_nets` (chapter 9's experiments), :mod:`~cnnlib.twins.transfer`
and :mod:`~cnnlib.twins.pretrained_resnet` (chapter 10), :mod:`~cnnlib.twins.simclr`
(chapter 11), :mod:`~cnnlib.twins.clip`, :mod:`~cnnlib.twins.clip_shapes` and
:mod:`~cnnlib.twins.pretrained_clip` (chapter 12); :mod:`~cnnlib.twins.training` trains
a torch model the way :func:`cnnlib.train.fit` trains a cnnlib one, and
:mod:`~cnnlib.twins.ddp` on several processes. Explained in chapter 2 (the same network
in both libraries) and chapter 8 (LeNet and its twin).
"""
from __future__ import annotations

from cnnlib.twins.convert import state_from_torch, state_to_torch

__all__ = ["state_from_torch", "state_to_torch"]
