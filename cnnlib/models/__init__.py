"""``cnnlib.models``: whole models built from cnnlib's ops and layers.

* :mod:`~cnnlib.models.logistic`: one logistic unit with its bias unit (chapter 1);
* :mod:`~cnnlib.models.theta`: the Theta notation (bias folded in as column 0) and its
  conversion to PyTorch's (weight, bias) (chapters 1-3);
* :mod:`~cnnlib.models.mlp`: a multi-layer network written in the Theta notation, with
  forward propagation and backpropagation spelled out (chapter 2);
* :mod:`~cnnlib.models.multiclass`: one-vs-rest and softmax regression (chapter 3);
* :mod:`~cnnlib.models.small_nets`: a one-layer CNN and a fully connected network of the
  same size (chapter 7);
* :mod:`~cnnlib.models.lenet`: LeNet-5 (chapter 8);
* :mod:`~cnnlib.models.zero_shot`: a classifier written in words, from CLIP embeddings
  (chapter 12).
"""
from __future__ import annotations

from cnnlib.models.lenet import LeNet5, lenet5
from cnnlib.models.logistic import LogisticRegression, NotFittedError
from cnnlib.models.multiclass import OneVsRest, SoftmaxRegression
from cnnlib.models.small_nets import fully_connected, small_cnn

__all__ = ["LogisticRegression", "NotFittedError", "OneVsRest", "SoftmaxRegression",
           "small_cnn", "fully_connected", "LeNet5", "lenet5"]
