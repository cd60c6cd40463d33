"""Cross-check cases for the contrastive ops: ``normalize``, ``similarity_logits``,
``clip_loss`` and ``nt_xent``, against ``torch.nn.functional.normalize``, a PyTorch
implementation of CLIP's symmetric loss (``cnnlib.twins.clip.clip_loss_torch``) and one
of SimCLR's NT-Xent written from the paper's formula
(``cnnlib.twins.simclr.nt_xent_torch``), with the gradients of every input (both
embeddings and the logit scale) from autograd.

NT-Xent has two rows, one per range of temperatures, because the temperature changes
what the gradient looks like: at tau in [0.2, 1] the softmax over the 2N - 1 other
views is spread out, while at tau in [0.02, 0.1] (logits up to 50) it is peaked and
the gradient, 1/tau times larger, comes almost entirely from the hardest negatives.
The projections are drawn unnormalised (lengths 0.1 to 10: the loss normalises them
itself); in the warm row half of the time with each second view near its first, as
after training (the cold row's views are unrelated: see ``_nt_xent_cold``).

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
forgotten direction of the loss moves the result by 1e-1 or more. NT-Xent is a
cross-entropy over rows of logits of the same size as CLIP's (1/tau <= 50), followed by
the normalisation's backward; without a logit-scale gradient to cancel, its worst
errors stay near 1e-5, and its tolerance is the core losses' 1e-4.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as TF

from cnnlib.crosscheck import Case
from cnnlib.functional import contrastive as C
from cnnlib.twins.clip import clip_loss_torch
from cnnlib.twins.simclr import nt_xent_torch

__all__ = ["CASES"]

_TOL32_NORMALIZE = 1e-5     # seen 1.9e-7 (forward), 1.2e-6 (gradient)
_TOL32_SIMILARITY = 5e-4    # seen 3.6e-7 (forward), 5.5e-5 (gradient of s)
_TOL32_CLIP_LOSS = 3e-3     # seen 1.1e-5 (forward), 3.5e-4 (gradient of s)
_TOL32_NT_XENT = 1e-4       # seen 7.6e-6 (forward, warm), 9.7e-6 (gradient, cold)


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


# ----------------------------------------------------------------------- nt_xent
def _nt_xent_make(low: float, high: float, matched: float, min_n: int):
    def make(rng):
        n, d = int(rng.integers(min_n, 13)), int(rng.integers(2, 17))
        z_a = _unit_rows(rng, n, d)
        z_b = _unit_rows(rng, n, d)
        if rng.random() < matched:          # each second view near its first
            z_b = z_a + 0.3 * z_b
        lengths = np.exp(rng.uniform(np.log(0.1), np.log(10.0), size=(2, n, 1)))
        tau = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        return {"z_a": z_a * lengths[0], "z_b": z_b * lengths[1]}, {}, {"temperature": tau}

    return make


def _nt_xent_numpy(inputs, extras, kw):
    loss, cache = C.nt_xent_forward(inputs["z_a"], inputs["z_b"], kw["temperature"])
    return loss, lambda dout: dict(zip(("z_a", "z_b"), C.nt_xent_backward(dout, cache)))


def _nt_xent_case(label: str, low: float, high: float, matched: float,
                  min_n: int) -> Case:
    return Case(label, _nt_xent_make(low, high, matched, min_n), _nt_xent_numpy,
                lambda t, e, kw: nt_xent_torch(t["z_a"], t["z_b"], kw["temperature"]),
                _TOL32_NT_XENT)


_nt_xent = _nt_xent_case("nt_xent", 0.2, 1.0, matched=0.5, min_n=1)
# Cold: unrelated views, at least 4 images. A batch whose every view is far nearer its
# partner than any other view (always so for matched views, often for 2 random images)
# has at tau = 0.02 a loss and gradient near e^-40: rounding noise on both sides that
# no relative tolerance can compare (as for CLIP at s = 100).
_nt_xent_cold = _nt_xent_case("nt_xent (tau <= 0.1)", 0.02, 0.1, matched=0.0, min_n=4)

CASES: list[Case] = [_normalize, _similarity, _clip, _nt_xent, _nt_xent_cold]
