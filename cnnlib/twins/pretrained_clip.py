"""Zero-shot prediction with a real pre-trained CLIP, for readers who have one.

Explained in chapter 12. The chapter trains a small CLIP from scratch because nothing
here may download weights. A reader who has the ``open_clip`` package (``pip install
open_clip_torch``) *and* a model's weights already on disk can run the same recipe on
a folder of their own photos::

    from cnnlib.twins.pretrained_clip import load_pretrained_clip, zero_shot_folder
    clip = load_pretrained_clip("ViT-B-32", "laion2b_s34b_b79k")   # or a checkpoint file
    for row in zero_shot_folder(clip, "my_photos", ["cat", "dog", "bicycle"]):
        print(row["file"], row["label"], f"{row['probability']:.0%}")

Nothing is downloaded: the Hugging Face hub is switched to offline mode before
``open_clip`` is imported, so missing weights give a clear ``FileNotFoundError``
instead of a download. A missing package gives a ``ModuleNotFoundError`` that says how
to install it.

The classifier is cnnlib's (:mod:`cnnlib.models.zero_shot`): the pre-trained model
only supplies the embeddings.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from cnnlib.models.zero_shot import class_embeddings, fill_prompts, zero_shot_logits

__all__ = ["PretrainedCLIP", "load_pretrained_clip", "load_image_folder",
           "zero_shot_folder", "IMAGE_SUFFIXES", "DEFAULT_TEMPLATES"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
#: A few of CLIP's ImageNet prompt templates, averaged by prompt ensembling.
DEFAULT_TEMPLATES = ("a photo of a {}.", "a blurry photo of a {}.", "a close-up photo of "
                     "a {}.", "a photo of the large {}.", "a photo of the small {}.",
                     "a drawing of a {}.")


@dataclass
class PretrainedCLIP:
    """A CLIP with open_clip's interface: ``model.encode_image(tensor)``,
    ``model.encode_text(tokens)``, ``model.logit_scale``; ``preprocess`` turns a PIL
    image into a (3, H, W) tensor; ``tokenizer`` turns a list of strings into tokens."""

    model: Any
    preprocess: Callable
    tokenizer: Callable
    device: str = "cpu"

    def encode_images(self, images: Sequence[Any], batch_size: int = 32) -> np.ndarray:
        """PIL images -> unit embeddings, float32 (N, D)."""
        import torch

        out = []
        with torch.no_grad():
            for i in range(0, len(images), batch_size):
                batch = torch.stack([self.preprocess(im) for im in images[i:i + batch_size]])
                out.append(self.model.encode_image(batch.to(self.device)).float().cpu())
        emb = torch.cat(out).numpy()
        return emb / np.linalg.norm(emb, axis=1, keepdims=True)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Strings -> unit embeddings, float32 (N, D)."""
        import torch

        with torch.no_grad():
            emb = self.model.encode_text(self.tokenizer(list(texts)).to(self.device))
        emb = emb.float().cpu().numpy()
        return emb / np.linalg.norm(emb, axis=1, keepdims=True)

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.detach().exp())


def _import_open_clip():
    # Offline before anything imports huggingface_hub: never download, fail instead.
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        return importlib.import_module("open_clip")
    except ModuleNotFoundError as exc:
        if exc.name not in (None, "open_clip"):
            raise
        raise ModuleNotFoundError(
            "a pre-trained CLIP needs the package 'open_clip', which is not installed. "
            "On a machine with a network connection: `pip install open_clip_torch`, then "
            "load a model once there (its weights are cached) and bring the cache or "
            "the checkpoint file here. The chapter's own CLIP needs neither.",
            name="open_clip") from None


def load_pretrained_clip(model_name: str = "ViT-B-32",
                         pretrained: str | os.PathLike | None = "laion2b_s34b_b79k",
                         device: str | None = None) -> PretrainedCLIP:
    """Load an open_clip model whose weights are already on this machine.

    model_name : an open_clip architecture ("ViT-B-32", "RN50", ...);
    pretrained : a pre-trained tag found in the local cache, a checkpoint file, or None
        for random weights (only useful to test code);
    device : "cpu", "cuda", ...; default: the GPU when PyTorch sees one.
    """
    open_clip = _import_open_clip()
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if pretrained is not None and (str(pretrained).endswith((".pt", ".pth", ".bin",
                                                             ".safetensors"))
                                   and not Path(pretrained).is_file()):
        raise FileNotFoundError(f"the checkpoint file {pretrained} does not exist")
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(
            model_name, pretrained=None if pretrained is None else str(pretrained),
            device=device)
    except Exception as exc:  # offline hub, unknown tag, missing cache: say what to do
        raise FileNotFoundError(
            f"could not load the weights {pretrained!r} of {model_name!r} without "
            f"downloading ({type(exc).__name__}: {exc}). Load the model once on a "
            f"machine with a network connection so its weights are cached, or pass the "
            f"path of a checkpoint file as `pretrained`.") from exc
    model.eval()
    return PretrainedCLIP(model, preprocess, open_clip.get_tokenizer(model_name), device)


def load_image_folder(folder: str | os.PathLike) -> tuple[list[Path], list[Any]]:
    """The images of a folder (not its sub-folders), sorted by name, as RGB PIL images."""
    from PIL import Image

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {folder}")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    images = []
    for p in paths:
        with Image.open(p) as im:
            images.append(im.convert("RGB"))
    return paths, images


def zero_shot_folder(clip: PretrainedCLIP, folder: str | os.PathLike,
                     classnames: Sequence[str],
                     templates: Sequence[str] = DEFAULT_TEMPLATES) -> list[dict]:
    """Label every image of ``folder`` with one of ``classnames`` by zero-shot
    prediction: the classifier is built from the prompts (prompt ensembling over
    ``templates``). Returns one dict per image: file, label, probability, and the
    probability of every class."""
    from cnnlib.functional.probabilities import softmax

    paths, images = load_image_folder(folder)
    prompts = fill_prompts(templates, classnames)
    flat = [p for group in prompts for p in group]
    text = clip.encode_texts(flat).reshape(len(classnames), len(templates), -1)
    weights = class_embeddings(text)
    probs = softmax(zero_shot_logits(clip.encode_images(images), weights,
                                     clip.logit_scale), dim=1)
    return [{"file": p.name, "label": classnames[int(row.argmax())],
             "probability": float(row.max()),
             "probabilities": dict(zip(classnames, map(float, row)))}
            for p, row in zip(paths, probs)]
