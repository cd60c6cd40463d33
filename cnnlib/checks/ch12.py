"""Checks for the exercises of chapter 12, CLIP (``solutions/12_clip.ipynb``).

Each check calls the student's function on several cases (random batches, a batch of
one pair, non-square similarity matrices, unnormalised and large embeddings, prompts of
very different lengths) and compares the result with cnnlib and with PyTorch. The cases
are built so that the usual mistakes fail one named case with a hint: a transposed
matrix, a loss over the rows only, a forgotten factor 1/2, an overflowing softmax,
averaging prompts before normalising them, dot products instead of cosines, the least
similar items first.
"""
from __future__ import annotations

import numpy as np

from cnnlib.checks import Case, check_function, exercise

__all__ = ["check_similarity_matrix", "check_clip_loss", "check_prompt_ensemble",
           "check_zero_shot_accuracy", "check_top_k"]


def _unit(rng, n, d):
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _is_scalar(value) -> str | None:
    arr = np.asarray(value)
    if arr.size != 1:
        return f"return one number (the mean loss), got an array of shape {arr.shape}"
    return None


# ---------------------------------------------------------- 12.1 the similarity matrix
def _cnnlib_similarity(image_emb, text_emb, logit_scale):
    from cnnlib.functional.contrastive import similarity_logits
    return similarity_logits(image_emb, text_emb, logit_scale)


def _torch_similarity(image_emb, text_emb, logit_scale):
    import torch
    i, t = torch.as_tensor(image_emb), torch.as_tensor(text_emb)
    return logit_scale * i @ t.T


@exercise("12.1", "The similarity matrix")
def check_similarity_matrix(similarity_matrix):
    """``similarity_matrix(image_emb, text_emb, logit_scale)``: L = s I T^T, (N, D) and
    (M, D) -> (N, M), row i image i against every caption."""
    rng = np.random.default_rng(1201)
    i8, t8 = _unit(rng, 8, 5), _unit(rng, 8, 5)
    i3, t5 = _unit(rng, 3, 4), _unit(rng, 5, 4)
    hint = "L[i, j] = s * (image_emb[i] @ text_emb[j]): in NumPy s * image_emb @ text_emb.T"
    return check_function(similarity_matrix, [
        Case("two orthogonal pairs, s = 1", (np.eye(2), np.array([[0.0, 1.0], [1.0, 0.0]]),
                                             1.0),
             expected=np.array([[0.0, 1.0], [1.0, 0.0]]), rtol=0, atol=1e-12, hint=hint),
        Case("3 images against 5 captions: rows are images", (i3, t5, 1.0),
             expected=_cnnlib_similarity, rtol=1e-10,
             hint="the result has one row per image and one column per caption: "
                  "(3, 5) here; did you compute text_emb @ image_emb.T?"),
        Case("a batch of 8 pairs with s = 14.3, against cnnlib", (i8, t8, 14.3),
             expected=_cnnlib_similarity, rtol=1e-10, hint=hint),
        Case("s = 100 (CLIP's ceiling), against PyTorch", (i8, t8, 100.0),
             expected=_torch_similarity, rtol=1e-10,
             hint="multiply every similarity by logit_scale"),
        Case("a batch of one pair", (i8[:1], i8[:1], 5.0), expected=np.array([[5.0]]),
             rtol=1e-10, hint="one unit vector against itself has cosine 1, times s"),
    ])


# ---------------------------------------------------------- 12.2 the symmetric loss
def _cnnlib_loss(image_emb, text_emb, logit_scale):
    from cnnlib.functional.contrastive import clip_loss
    return float(clip_loss(image_emb, text_emb, logit_scale))


def _torch_loss(image_emb, text_emb, logit_scale):
    import torch
    from cnnlib.twins.clip import clip_loss_torch
    return float(clip_loss_torch(torch.as_tensor(image_emb), torch.as_tensor(text_emb),
                                 torch.tensor(float(logit_scale), dtype=torch.float64)))


@exercise("12.2", "The symmetric contrastive loss")
def check_clip_loss(clip_loss):
    """``clip_loss(image_emb, text_emb, logit_scale)``: the mean over the N rows of
    L = s I T^T of -log softmax(row)[i] and over the N columns of -log
    softmax(column)[j], averaged: one number."""
    rng = np.random.default_rng(1202)
    i6, t6 = _unit(rng, 6, 4), _unit(rng, 6, 4)
    # Rows and columns differ here: image 0 is close to every caption.
    lopsided_i, lopsided_t = _unit(rng, 4, 3), _unit(rng, 4, 3)
    lopsided_i[0] = lopsided_t.mean(axis=0) / np.linalg.norm(lopsided_t.mean(axis=0))
    both_ways = ("average the two directions: the cross-entropy of each ROW (image -> "
                 "its caption) and of each COLUMN (caption -> its image), each a mean "
                 "over N, then (rows + columns) / 2")
    return check_function(clip_loss, [
        Case("s -> 0: every caption equally likely, loss log N", (i6, t6, 1e-9),
             expected=np.log(6), rtol=1e-6, check=_is_scalar,
             hint="with all logits equal each softmax is 1/N, and -log(1/N) = log N; "
                  "take the mean over the batch, not the sum"),
        Case("a random batch of 6 pairs with s = 10, against cnnlib", (i6, t6, 10.0),
             expected=_cnnlib_loss, rtol=1e-8, check=_is_scalar, hint=both_ways),
        Case("rows and columns that differ (image 0 resembles every caption)",
             (lopsided_i, lopsided_t, 8.0), expected=_cnnlib_loss, rtol=1e-8,
             check=_is_scalar, hint=both_ways),
        Case("perfect pairs, orthonormal embeddings, s = 20", (np.eye(5), np.eye(5), 20.0),
             expected=_cnnlib_loss, rtol=1e-8, check=_is_scalar, hint=both_ways),
        Case("one pair: nothing to confuse it with, loss 0", (i6[:1], t6[:1], 50.0),
             expected=0.0, rtol=0, atol=1e-12, check=_is_scalar),
        Case("unnormalised embeddings of length 10 with s = 100 (logits up to 10,000)",
             (10 * i6, 10 * t6, 100.0), expected=_cnnlib_loss, rtol=1e-8,
             check=_is_scalar, allow_warnings=False,
             hint="np.exp(10000) overflows: subtract each row's (column's) maximum "
                  "before exponentiating, the log-sum-exp trick of chapter 3"),
        Case("a batch of 6 pairs with s = 30, against PyTorch", (i6, t6, 30.0),
             expected=_torch_loss, rtol=1e-8, check=_is_scalar, hint=both_ways),
    ])


# ---------------------------------------------------------- 12.3 prompt ensembling
def _cnnlib_ensemble(prompt_emb):
    from cnnlib.models.zero_shot import class_embeddings
    return class_embeddings(prompt_emb)


@exercise("12.3", "Prompt ensembling")
def check_prompt_ensemble(ensemble_prompts):
    """``ensemble_prompts(prompt_emb)``: (K, T, D) embeddings of T prompts per class ->
    (K, D) unit vectors: normalise each prompt embedding, average over the T prompts,
    normalise the average."""
    rng = np.random.default_rng(1203)
    e = rng.normal(size=(4, 3, 6))
    lengths = e * np.array([1.0, 30.0, 0.2])[None, :, None]     # prompts of unequal length
    hint = ("normalise each of the T prompt embeddings (axis=2) first, then average over "
            "axis 1, then normalise each class vector again")
    return check_function(ensemble_prompts, [
        Case("one prompt per class: the unit vectors themselves",
             (np.array([[[3.0, 4.0]], [[0.0, -2.0]]]),),
             expected=np.array([[0.6, 0.8], [0.0, -1.0]]), rtol=1e-10, hint=hint),
        Case("unit prompt embeddings: their mean must be normalised again",
             (e / np.linalg.norm(e, axis=2, keepdims=True),), expected=_cnnlib_ensemble,
             rtol=1e-10,
             hint="normalise the average too: the mean of unit vectors is shorter than 1"),
        Case("prompts of very different lengths (1, 30, 0.2)", (lengths,),
             expected=_cnnlib_ensemble, rtol=1e-10,
             hint="a long prompt embedding must not outweigh a short one: normalise each "
                  "prompt BEFORE averaging"),
        Case("4 classes, 3 prompts, D = 6, against cnnlib", (e,), expected=_cnnlib_ensemble,
             rtol=1e-10, hint=hint),
    ])


# ---------------------------------------------------------- 12.4 zero-shot accuracy
def _cnnlib_accuracy(image_emb, class_emb, labels):
    from cnnlib.models.zero_shot import zero_shot_accuracy
    return zero_shot_accuracy(image_emb, class_emb, labels)


@exercise("12.4", "Zero-shot accuracy")
def check_zero_shot_accuracy(zero_shot_accuracy):
    """``zero_shot_accuracy(image_emb, class_emb, labels)``: the fraction of images whose
    most similar class (largest cosine) is their label."""
    rng = np.random.default_rng(1204)
    classes = _unit(rng, 5, 8)
    labels = rng.integers(0, 5, size=60)
    images = classes[labels] + 0.6 * rng.normal(size=(60, 8))
    # Class vectors of very different lengths: dot products and cosines disagree.
    long_classes = classes * np.array([1.0, 6.0, 0.3, 1.0, 2.0])[:, None]
    hint = "predict classes = argmax over k of cos(image, class k); accuracy = mean(pred == labels)"
    return check_function(zero_shot_accuracy, [
        Case("every image is its class vector: accuracy 1", (classes, classes, np.arange(5)),
             expected=1.0, rtol=0, atol=1e-12, hint=hint),
        Case("60 noisy images of 5 classes, against cnnlib", (images, classes, labels),
             expected=_cnnlib_accuracy, rtol=0, atol=1e-12, hint=hint),
        Case("class vectors of unequal length: compare cosines, not dot products",
             (images, long_classes, labels), expected=_cnnlib_accuracy, rtol=0, atol=1e-12,
             hint="normalise the class embeddings (and the images) before comparing: a "
                  "long class vector wins every dot product"),
        Case("labels shifted by one class", (images, classes, (labels + 1) % 5),
             expected=_cnnlib_accuracy, rtol=0, atol=1e-12, hint=hint),
    ])


# ---------------------------------------------------------- 12.5 top-k retrieval
def _cnnlib_top_k(query_emb, gallery_emb, k):
    from cnnlib.models.zero_shot import top_k
    return top_k(query_emb, gallery_emb, k)


@exercise("12.5", "Top-k retrieval")
def check_top_k(top_k):
    """``top_k(query_emb, gallery_emb, k)``: for each query, the indices of the k gallery
    items with the largest cosine similarity, most similar first: int array (Q, k)."""
    rng = np.random.default_rng(1205)
    queries, gallery = rng.normal(size=(4, 6)), rng.normal(size=(20, 6))
    scaled = gallery * rng.uniform(0.1, 10, size=(20, 1))
    hint = ("np.argsort(-similarities, axis=1)[:, :k]: the minus sign puts the most similar "
            "first")
    return check_function(top_k, [
        Case("a tiny gallery", (np.array([[1.0, 0.0]]),
                                np.array([[0.0, 1.0], [1.0, 0.1], [-1.0, 0.0], [0.7, 0.7]]), 2),
             expected=np.array([[1, 3]]), rtol=0, atol=0, hint=hint),
        Case("4 queries, 20 items, k = 5, against cnnlib", (queries, gallery, 5),
             expected=_cnnlib_top_k, rtol=0, atol=0, hint=hint),
        Case("gallery items of unequal length: rank by cosine", (queries, scaled, 3),
             expected=_cnnlib_top_k, rtol=0, atol=0,
             hint="normalise the rows first: ranking by dot product favours long vectors"),
        Case("k = 1: the best match only", (queries, gallery, 1), expected=_cnnlib_top_k,
             rtol=0, atol=0, hint="keep the 2-D shape (Q, 1)"),
        Case("k = the whole gallery: a full ranking", (queries[:2], gallery, 20),
             expected=_cnnlib_top_k, rtol=0, atol=0, hint=hint),
    ])
