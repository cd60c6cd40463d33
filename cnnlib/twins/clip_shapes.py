"""Classifiers written in words for the captioned shapes, and how well they do.

Explained in chapter 12. Given a trained :class:`~cnnlib.twins.clip.TinyCLIP` and the
vocabulary of its training captions:

* :func:`text_classifier`: class embeddings from class names and prompt templates
  (prompt ensembling, :func:`cnnlib.models.zero_shot.class_embeddings`);
* :func:`pair_classifier`: 36 classes, one per shape-colour pair ("a red circle");
* :func:`combination_classifier`: 288 classes, every shape, colour, position and size
  ("a small red circle in the top left"), from which each attribute is read off;
* :func:`zero_shot_report`: accuracy per attribute and jointly, on one test set;
* :func:`train_and_report`: the chapter's whole experiment for one seed (used by
  ``benchmarks/clip_seeds.py`` to measure the spread over seeds).
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch

from cnnlib.data.captions import Vocabulary
from cnnlib.data.shapes import (COLOURS, POSITIONS, SHAPES, SIZES, CaptionedShapes,
                                load_captioned_shapes)
from cnnlib.models.zero_shot import (class_embeddings, fill_prompts, zero_shot_accuracy,
                                     zero_shot_logits)
from cnnlib.twins.clip import TinyCLIP, encode_images, encode_texts, train_clip

__all__ = ["PAIR_NAMES", "PAIR_TEMPLATES", "COMBINATIONS", "COMBINATION_TEMPLATES",
           "ATTRIBUTE_CHANCE", "text_classifier", "pair_classifier",
           "combination_classifier", "zero_shot_report", "train_and_report"]

#: Class k = shape * 6 + colour, as ``CaptionedShapes.pair``.
PAIR_NAMES = tuple(f"{c} {s}" for s in SHAPES for c in COLOURS)
PAIR_TEMPLATES = ("a {}", "a photo of a {}", "there is a {}")
#: (shape, colour, position, size) of each of the 288 classes.
COMBINATIONS = np.array([(h, c, p, z) for h in range(len(SHAPES)) for c in range(len(COLOURS))
                         for p in range(len(POSITIONS)) for z in range(len(SIZES))])
COMBINATION_TEMPLATES = ("a {size} {colour} {shape} in the {position}",
                         "a photo of a {size} {colour} {shape} {position}",
                         "there is a {size} {colour} {shape} {position}")
ATTRIBUTE_CHANCE = {"shape": 1 / 6, "colour": 1 / 6, "position": 1 / 4, "size": 1 / 2,
                    "shape and colour": 1 / 36}


def text_classifier(model: TinyCLIP, vocab: Vocabulary, classnames: Sequence[str],
                    templates: Sequence[str], unknown: str = "error") -> np.ndarray:
    """(K, D) class embeddings: every class name in every template, encoded, then
    ensembled (normalise, average over the templates, normalise)."""
    prompts = fill_prompts(templates, classnames)
    flat = [p for group in prompts for p in group]
    emb = encode_texts(model, vocab.encode(flat, unknown=unknown))
    return class_embeddings(emb.reshape(len(classnames), len(templates), -1))


def pair_classifier(model: TinyCLIP, vocab: Vocabulary,
                    templates: Sequence[str] = PAIR_TEMPLATES,
                    unknown: str = "error") -> np.ndarray:
    """(36, D): one class per shape-colour pair, named "{colour} {shape}"."""
    return text_classifier(model, vocab, PAIR_NAMES, templates, unknown)


def combination_prompts(templates: Sequence[str] = COMBINATION_TEMPLATES) -> list[list[str]]:
    """The prompts of the 288 combinations: one list of len(templates) per class."""
    return [[t.format(shape=SHAPES[h], colour=COLOURS[c], position=POSITIONS[p],
                      size=SIZES[z]) for t in templates] for h, c, p, z in COMBINATIONS]


def combination_classifier(model: TinyCLIP, vocab: Vocabulary,
                           templates: Sequence[str] = COMBINATION_TEMPLATES) -> np.ndarray:
    """(288, D): one class per (shape, colour, position, size), in the order of
    ``COMBINATIONS``."""
    prompts = combination_prompts(templates)
    flat = [p for group in prompts for p in group]
    emb = encode_texts(model, vocab.encode(flat))
    return class_embeddings(emb.reshape(len(prompts), len(templates), -1))


def zero_shot_report(model: TinyCLIP, vocab: Vocabulary, data: CaptionedShapes,
                     image_emb: np.ndarray | None = None) -> dict[str, float]:
    """Zero-shot accuracy on ``data``: 'pair (36 classes)' from the pair classifier, and
    'shape', 'colour', 'position', 'size', 'shape and colour' read off the prediction
    of the 288-class combination classifier."""
    emb = encode_images(model, data.images) if image_emb is None else image_emb
    out = {"pair (36 classes)": zero_shot_accuracy(emb, pair_classifier(model, vocab),
                                                   data.pair)}
    pred = COMBINATIONS[zero_shot_logits(emb, combination_classifier(model, vocab))
                        .argmax(axis=1)]
    for k, name in enumerate(("shape", "colour", "position", "size")):
        out[name] = float(np.mean(pred[:, k] == data.labels(name)))
    out["shape and colour"] = float(np.mean((pred[:, 0] == data.shape)
                                            & (pred[:, 1] == data.colour)))
    return out


def train_and_report(seed: int = 0, n_train: int = 6000, n_test: int = 1000,
                     epochs: int = 20, batch_size: int = 128, lr: float = 3e-3,
                     text_hidden: int | None = None, image_relu: bool = False,
                     device=None, progress: bool = False) -> dict:
    """The chapter's experiment for one seed: draw the data, train a TinyCLIP, report
    zero-shot accuracy on seen and held-out pairs. ``text_hidden`` and ``image_relu`` as
    in :class:`~cnnlib.twins.clip.TinyCLIP` (defaults: the linear bag of words, no ReLU
    after the image encoder's last layer). Returns
    {'seen': report, 'held-out': report, 'seconds': training time, 'history': History}."""
    torch.manual_seed(seed)
    train, test_seen, test_held = load_captioned_shapes(n_train, n_test, rng=seed)
    vocab = Vocabulary.from_captions(train.captions)
    model = TinyCLIP(len(vocab), text_hidden=text_hidden, image_relu=image_relu)
    start = time.perf_counter()
    history = train_clip(model, train.images, vocab.encode(train.captions), epochs=epochs,
                         batch_size=batch_size, lr=lr, device=device, seed=seed,
                         progress=progress)
    seconds = time.perf_counter() - start
    return {"seen": zero_shot_report(model, vocab, test_seen),
            "held-out": zero_shot_report(model, vocab, test_held),
            "seconds": seconds, "history": history}
