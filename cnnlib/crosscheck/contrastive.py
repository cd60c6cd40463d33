"""Cross-check cases for the contrastive ops: ``normalize``, ``similarity_logits`` and
``clip_loss``, against ``torch.nn.functional.normalize`` and a PyTorch implementation
of CLIP's symmetric loss (``cnnlib.twins.clip.clip_loss_torch``), with the gradients of
every input (both embeddings and the logit scale) from autograd.

Each trial draws a new batch size N (1 to 12: one pair is the degenerate batch whose
loss is 0), embedding size D (1 to 16) and logit scale s in [1, 100] (CLIP's range).
The embeddings are unit vectors, as CLIP feeds them.

float32 tolerances. The loss is a mean of log-sum-exps of logits up to s = 100 in size,
so its value is a small difference of large terms: float32 keeps about 7 digits of
each logit (errors near 100 * 6e-8 = 6e-6), and the normalised error is measured
against the loss itself (a few units). The gradient with respect to s is a sum of
N M terms of both signs (dL_ij times the cosine of pair ij): when they nearly cancel,
the float32 rounding of the terms is large against the small result, which is why its
tolerance is the loosest. Each tolerance is about ten times the worst error seen over
2,000 random trials (quoted beside it); a wrong sign, a missing factor 1/2 or a
forgotten direction of the loss moves the result by 1e-1 or more.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as TF

from cnnlib.crosscheck import Case
from cnnlib.functional import contrastive as C
from cnnlib.twins.clip import clip_loss_torch

__all__ = ["CASES"]

_TOL32_NORMALIZE = 1e-5     # seen 1.9e-7 (forward), 1.2e-6 (gradient)
_TOL32_SIMILARITY = 5e-4    # seen 3.6e-7 (forward), 5.5e-5 (gradient of s)
_TOL32_CLIP_LOSS = 3e-3     # seen 1.1e-5 (forward), 3.5e-4 (gradient of s)


def _unit_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# --------------------------------------------------------------------- normalize
def _normalize_make(rng):
    # The normalised axis has at least 2 entries: along an axis of one entry y = +-1
    # and the gradient is 0, where both sides return rounding noise.
    n, d = int(rng.integers(1, 9)), int(rng.integers(2, 12))
    dim = int(rng.choice([0, 1, -1]))
    if dim == 0:
        n = max(n, 2)
    x = rng.standard_normal((n, d)) * rng.uniform(0.1, 10.0)
    return {"input": x}, {}, {"dim": dim}


def _normalize_numpy(inputs, extras, kw):
    out, cache = C.normalize_forward(inputs["input"], dim=kw["dim"])
    return out, lambda dout: {"input": C.normalize_backward(dout, cache)}


_normalize = Case("normalize", _normalize_make, _normalize_numpy,
                  lambda t, e, kw: TF.normalize(t["input"], dim=kw["dim"]),
                  _TOL32_NORMALIZE)


# ---------------------------------------------------------- similarity_logits
def _similarity_make(rng):
    n, m, d = (int(v) for v in rng.integers(1, 10, size=3))
    return ({"a": _unit_rows(rng, n, d), "b": _unit_rows(rng, m, d),
             "logit_scale": np.array(rng.uniform(1.0, 100.0))}, {}, {})


def _numpy_fn(forward, backward, names):
    """numpy_fn for an op of three differentiable inputs, given by name in order."""
    def numpy_fn(inputs, extras, kw):
        out, cache = forward(*(inputs[n] for n in names))
        return out, lambda dout: dict(zip(names, backward(dout, cache)))

    return numpy_fn


_similarity = Case("similarity_logits", _similarity_make,
                   _numpy_fn(C.similarity_logits_forward, C.similarity_logits_backward,
                             ("a", "b", "logit_scale")),
                   lambda t, e, kw: t["logit_scale"] * t["a"] @ t["b"].T,
                   _TOL32_SIMILARITY)


# --------------------------------------------------------------------- clip_loss
def _clip_make(rng):
    n, d = int(rng.integers(1, 13)), int(rng.integers(2, 17))
    image, text = _unit_rows(rng, n, d), _unit_rows(rng, n, d)
    scale = rng.uniform(1.0, 100.0)
    if rng.random() < 0.5:
        # Matched pairs: each caption near its image, as after some training. The scale
        # stays moderate: at s = 100 such a batch has a loss near 1e-30, a sum of
        # rounding errors on both sides that no relative tolerance can compare.
        text = image + text
        text /= np.linalg.norm(text, axis=1, keepdims=True)
        scale = rng.uniform(1.0, 10.0)
    return ({"image_emb": image, "text_emb": text, "logit_scale": np.array(scale)},
            {}, {})


_clip = Case("clip_loss", _clip_make,
             _numpy_fn(C.clip_loss_forward, C.clip_loss_backward,
                       ("image_emb", "text_emb", "logit_scale")),
             lambda t, e, kw: clip_loss_torch(t["image_emb"], t["text_emb"],
                                              t["logit_scale"]),
             _TOL32_CLIP_LOSS)

CASES: list[Case] = [_normalize, _similarity, _clip]
