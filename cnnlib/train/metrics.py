"""Metrics: how often a model's outputs are right.

Explained in chapter 1 (accuracy of one logistic unit) and chapter 3 (many classes).
Each takes the model's raw outputs (logits) and the targets, as the training loop
passes them.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_float_array, as_int_array, check_positive_int

__all__ = ["accuracy", "binary_accuracy", "top_k_accuracy", "METRICS"]


def accuracy(logits, target) -> float:
    """Fraction of rows whose largest logit is the target class.
    logits : (N, K); target : (N,) class indices."""
    z = as_float_array(logits, "logits", ndim=2)
    t = as_int_array(target, "target", ndim=1)
    if len(t) != len(z):
        raise ValueError(f"logits and target must have the same number of rows, got "
                         f"{z.shape} and {t.shape}")
    return float(np.mean(z.argmax(axis=1) == t)) if len(t) else float("nan")


def binary_accuracy(logits, target) -> float:
    """Fraction of examples on the right side of 0: logit > 0 means class 1.
    logits : (N,) or (N, 1); target : the same shape (or (N,)), values 0/1."""
    z = as_float_array(logits, "logits")
    t = as_float_array(target, "target")
    if z.shape != t.shape and z.reshape(len(z), -1).shape[1] == 1:
        z = z.reshape(t.shape)
    if z.shape != t.shape:
        raise ValueError(f"logits and target must have the same shape, got {z.shape} "
                         f"and {t.shape}")
    return float(np.mean((z > 0) == (t > 0.5))) if t.size else float("nan")


def top_k_accuracy(logits, target, k: int = 5) -> float:
    """Fraction of rows whose target is among the ``k`` largest logits."""
    z = as_float_array(logits, "logits", ndim=2)
    t = as_int_array(target, "target", ndim=1)
    k = min(check_positive_int(k, "k"), z.shape[1])
    top = np.argpartition(-z, k - 1, axis=1)[:, :k]
    return float(np.mean((top == t[:, None]).any(axis=1))) if len(t) else float("nan")


#: Metric by name, as ``fit(..., metrics=["accuracy"])`` accepts them.
METRICS = {"accuracy": accuracy, "binary_accuracy": binary_accuracy,
           "top5_accuracy": top_k_accuracy}
