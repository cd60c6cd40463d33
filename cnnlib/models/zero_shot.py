r"""A classifier written in words: CLIP's zero-shot prediction on embeddings.

Explained in chapter 12. Nothing here is trained. Given a model that maps images and
captions to unit vectors in one space (a CLIP), a classifier for K classes is built from
their names alone:

1. fill each class name into a few prompt templates (:func:`fill_prompts`:
   "a photo of a {}", "a {} in the picture", ...);
2. embed every prompt with the text encoder, normalise, average the T prompts of each
   class and normalise again (:func:`class_embeddings`, CLIP's *prompt ensembling*):
   row k of the result, :math:`w_k`, is the weight vector of class k;
3. score an image embedding u against every class, :math:`z_k = s\,\langle u, w_k
   \rangle`, and predict the largest (:func:`zero_shot_logits`,
   :func:`zero_shot_predict`): a linear classifier whose weights came from text.

:func:`top_k` retrieves, for each query embedding, the k most similar embeddings of a
gallery (captions for an image, or images for a caption).

Pure NumPy: the embeddings come from any model (cnnlib's CLIP twin, or a pre-trained
CLIP on the reader's machine).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from cnnlib._validate import as_float_array, as_int_array, check_positive_int
from cnnlib.functional.contrastive import normalize, similarity_logits

__all__ = ["fill_prompts", "class_embeddings", "zero_shot_logits", "zero_shot_predict",
           "zero_shot_accuracy", "top_k"]


def fill_prompts(templates: Sequence[str], classnames: Sequence[str]) -> list[list[str]]:
    """``[[template.format(name) for template in templates] for name in classnames]``:
    K lists of T prompts. Each template holds one ``{}`` where the class name goes."""
    if isinstance(templates, str) or isinstance(classnames, str):
        raise TypeError("templates and classnames must be lists of strings, not one "
                        "string")
    templates, classnames = list(templates), list(classnames)
    if not templates or not classnames:
        raise ValueError(f"templates and classnames must not be empty, got "
                         f"{len(templates)} templates and {len(classnames)} names")
    for t in templates:
        if not isinstance(t, str) or t.count("{}") != 1:
            raise ValueError(f"each template must be a string with exactly one '{{}}' "
                             f"for the class name, got {t!r}")
    return [[t.format(name) for t in templates] for name in classnames]


def class_embeddings(prompt_emb) -> np.ndarray:
    r"""Prompt ensembling: one unit vector per class from the embeddings of its prompts.

    prompt_emb : (K, T, D), the embeddings of T prompts for each of K classes (or
        (K, D), one prompt per class).
    Returns (K, D): :math:`w_k = \bar e_k / \lVert \bar e_k \rVert` with
    :math:`\bar e_k = \frac1T \sum_t e_{kt} / \lVert e_{kt} \rVert`.
    """
    e = as_float_array(prompt_emb, "prompt_emb", ndim=(2, 3), finite=True)
    if e.ndim == 2:
        e = e[:, None, :]
    if 0 in e.shape:
        raise ValueError(f"prompt_emb must not be empty, got shape {e.shape}")
    unit = normalize(e, dim=2)
    return normalize(unit.mean(axis=1), dim=1)


def zero_shot_logits(image_emb, class_emb, logit_scale: float = 100.0) -> np.ndarray:
    r""":math:`z_{nk} = s \langle u_n, w_k \rangle`: image embeddings (N, D) against
    class embeddings (K, D), both normalised here. Returns (N, K); a softmax over k
    gives the class probabilities (s = 100 is CLIP's trained scale)."""
    u = normalize(as_float_array(image_emb, "image_emb", ndim=2), dim=1)
    w = normalize(as_float_array(class_emb, "class_emb", ndim=2), dim=1)
    if u.shape[1] != w.shape[1]:
        raise ValueError(f"image_emb and class_emb must have the same embedding size D, "
                         f"got image_emb.shape={u.shape} and class_emb.shape={w.shape}")
    return similarity_logits(u, w, logit_scale)


def zero_shot_predict(image_emb, class_emb) -> np.ndarray:
    """The class whose embedding is most similar to each image: int64 (N,)."""
    return zero_shot_logits(image_emb, class_emb).argmax(axis=1)


def zero_shot_accuracy(image_emb, class_emb, labels) -> float:
    """Fraction of images whose most similar class embedding is their label."""
    y = as_int_array(labels, "labels", ndim=1)
    pred = zero_shot_predict(image_emb, class_emb)
    if len(y) != len(pred):
        raise ValueError(f"labels must have one entry per image, got {len(y)} labels for "
                         f"{len(pred)} images")
    return float(np.mean(pred == y)) if len(y) else float("nan")


def top_k(query_emb, gallery_emb, k: int = 5) -> np.ndarray:
    r"""For each query, the indices of the k gallery items with the largest cosine
    similarity, most similar first (ties: the smaller index first).

    query_emb : (Q, D); gallery_emb : (G, D); k <= G. Returns int64 (Q, k).
    """
    q = normalize(as_float_array(query_emb, "query_emb", ndim=2), dim=1)
    g = normalize(as_float_array(gallery_emb, "gallery_emb", ndim=2), dim=1)
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"query_emb and gallery_emb must have the same embedding size D, "
                         f"got query_emb.shape={q.shape} and gallery_emb.shape={g.shape}")
    k = check_positive_int(k, "k")
    if k > g.shape[0]:
        raise ValueError(f"k must be at most the gallery size {g.shape[0]}, got {k}")
    sims = q @ g.T
    return np.argsort(-sims, axis=1, kind="stable")[:, :k].astype(np.int64)
