r"""A small CLIP in PyTorch, trained from scratch on captioned images.

Explained in chapter 12. Two encoders map an image and a caption into one space of
``embed_dim`` numbers, where both are normalised to unit length:

* :class:`ImageEncoder`: a small CNN (three 3 x 3 convolutions of stride 2 with batch
  normalisation and ReLU, then one fully connected layer, with no ReLU after it). It
  flattens its last feature maps instead of averaging them, so *where* a shape lies
  survives into the embedding.
* :class:`BagOfWordsEncoder`: one learned vector per word, averaged over the caption's
  words (padding left out). The caption's embedding is then a *linear* function of its
  words: "a yellow circle" is built from the vectors of "yellow" and "circle" whether
  or not the two ever met in training, which is what lets the model name pairs it
  never saw. (``hidden=`` puts a two-layer MLP after the mean instead, free to give
  every seen pair its own vector; chapter 12 measures what that costs on unseen
  pairs.) The order of the words is lost: "a red circle and a blue square" and "a blue
  circle and a red square" get the same embedding. For captions of one object, made
  of attribute words, that costs nothing, and it trains in seconds; the chapter shows
  where it fails.
* :class:`TinyCLIP`: both encoders, a linear projection of each into the shared space,
  and a learnable temperature: ``logit_scale`` holds :math:`\log s`, started at
  :math:`\log(1/0.07)` and clamped to at most :math:`\log 100` after every step, as
  CLIP does.

:func:`train_clip` trains it on (image, caption ids) pairs with the symmetric loss.
By default the loss and its gradient are computed by cnnlib's NumPy code
(:class:`NumpyClipLoss` hands them to autograd); ``loss="torch"`` uses
:func:`clip_loss_torch`, the same formula written with torch ops (the reference the
cross-checks compare against).
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from cnnlib._validate import as_rng, check_in, check_positive_int
from cnnlib.functional.contrastive import clip_loss_backward, clip_loss_forward
from cnnlib.train.history import History
from cnnlib.twins.training import adam_with_cosine, pick_device

__all__ = ["ImageEncoder", "BagOfWordsEncoder", "TinyCLIP", "clip_loss_torch",
           "NumpyClipLoss", "train_clip", "encode_images", "encode_texts",
           "MAX_LOGIT_SCALE", "INIT_TEMPERATURE", "pick_device", "AttributeClassifier",
           "train_attribute_classifier", "predict_attributes"]

#: CLIP's ceiling for the multiplier s = exp(logit_scale): similarities of unit vectors
#: lie in [-1, 1], so the logits stay within [-100, 100].
MAX_LOGIT_SCALE = 100.0
#: CLIP's starting temperature (s = 1 / 0.07, about 14.3).
INIT_TEMPERATURE = 0.07


class ImageEncoder(nn.Module):
    """(N, 3, S, S) images -> (N, width) features: three 3 x 3 convolutions of stride 2,
    each followed by batch normalisation and ReLU (S -> S/2 -> S/4 -> S/8), flattened,
    then a fully connected layer. S must be divisible by 8. Batch normalisation
    (chapter 9) is what lets it learn shapes, not only colours, within a minute.

    final_relu : put a ReLU after the fully connected layer too. Off by default: the
        projection that follows is linear, and features that may be negative let an
        image's embedding be a sum of a shape part and a colour part, as a caption's
        is a sum of its words (chapter 12 measures what the ReLU costs on pairs never
        seen in training).
    """

    def __init__(self, image_size: int = 32, channels: Sequence[int] = (16, 32, 32),
                 width: int = 128, final_relu: bool = False):
        super().__init__()
        if image_size % 8:
            raise ValueError(f"image_size must be divisible by 8 (three stride-2 "
                             f"convolutions), got {image_size}")
        layers, c_in = [], 3
        for c_out in channels:
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1),
                       nn.BatchNorm2d(c_out), nn.ReLU()]
            c_in = c_out
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.fc = nn.Linear(c_in * (image_size // 8) ** 2, width)
        self.final_relu = bool(final_relu)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc(self.features(x))
        return torch.relu(h) if self.final_relu else h


class BagOfWordsEncoder(nn.Module):
    r"""(N, L) word ids, 0 = padding -> (N, out_features): the mean of the words'
    vectors, :math:`g(c) = \frac{1}{|c|} \sum_{w \in c} e_w`, or, with ``hidden``
    set, that mean passed through a two-layer MLP of ``hidden`` ReLU units.

    Without the MLP (the default) the encoder is linear in its words, so a caption's
    embedding composes the embeddings of its words, also for combinations of words
    that never met in training. An all-padding row gives a zero vector.
    ``out_features`` is ``dim`` without the MLP and ``hidden`` with it.
    """

    def __init__(self, vocab_size: int, dim: int = 64, hidden: int | None = None):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        if hidden is None:
            self.mlp = nn.Identity()
            self.out_features = dim
        else:
            hidden = check_positive_int(hidden, "hidden")
            self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(),
                                     nn.Linear(hidden, hidden), nn.ReLU())
            self.out_features = hidden

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != 0).unsqueeze(-1).to(self.embedding.weight.dtype)   # (N, L, 1)
        total = (self.embedding(ids) * mask).sum(dim=1)
        mean = total / mask.sum(dim=1).clamp(min=1.0)
        return self.mlp(mean)


class TinyCLIP(nn.Module):
    """Image and text encoders, projections to a shared ``embed_dim``-dimensional space
    and a learnable log-scale. ``forward(images, ids)`` returns (image embeddings,
    text embeddings, s): two (N, embed_dim) arrays of unit rows and the multiplier
    s = exp(logit_scale).

    width : features of the image encoder; word_dim : size of a word vector;
    text_hidden : None (default) for the linear bag of words, or the width of the MLP
        that :class:`BagOfWordsEncoder` puts after the mean (the non-compositional
        variant chapter 12 compares against);
    image_relu : ``final_relu`` of the :class:`ImageEncoder` (default False).
    """

    def __init__(self, vocab_size: int, image_size: int = 32, embed_dim: int = 64,
                 width: int = 128, word_dim: int = 64,
                 channels: Sequence[int] = (16, 32, 32), text_hidden: int | None = None,
                 image_relu: bool = False):
        super().__init__()
        self.image_encoder = ImageEncoder(image_size, channels, width, image_relu)
        self.text_encoder = BagOfWordsEncoder(vocab_size, word_dim, text_hidden)
        self.image_projection = nn.Linear(width, embed_dim, bias=False)
        self.text_projection = nn.Linear(self.text_encoder.out_features, embed_dim,
                                         bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / INIT_TEMPERATURE)))

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """Unit-length image embeddings (N, embed_dim)."""
        z = self.image_projection(self.image_encoder(images))
        return nn.functional.normalize(z, dim=1)

    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:
        """Unit-length caption embeddings (N, embed_dim)."""
        z = self.text_projection(self.text_encoder(ids))
        return nn.functional.normalize(z, dim=1)

    def forward(self, images: torch.Tensor, ids: torch.Tensor):
        return self.encode_image(images), self.encode_text(ids), self.logit_scale.exp()

    @torch.no_grad()
    def clamp_logit_scale_(self) -> None:
        """Keep s = exp(logit_scale) in [1, 100], as CLIP does after every step."""
        self.logit_scale.clamp_(0.0, math.log(MAX_LOGIT_SCALE))


# ------------------------------------------------------------------------ the loss
def clip_loss_torch(image_emb: torch.Tensor, text_emb: torch.Tensor,
                    logit_scale: torch.Tensor) -> torch.Tensor:
    """The symmetric loss with torch ops (autograd gives the gradients): the mean of
    the cross-entropies over the rows and over the columns of s I T^T."""
    logits = logit_scale * image_emb @ text_emb.T
    targets = torch.arange(len(logits), device=logits.device)
    return 0.5 * (nn.functional.cross_entropy(logits, targets)
                  + nn.functional.cross_entropy(logits.T, targets))


class NumpyClipLoss(torch.autograd.Function):
    """cnnlib's :func:`~cnnlib.functional.contrastive.clip_loss_forward` and
    ``clip_loss_backward`` as an autograd function: the embeddings go to NumPy (on the
    CPU), the loss and its three gradients come back as tensors on their device."""

    @staticmethod
    def forward(ctx, image_emb, text_emb, logit_scale):
        loss, cache = clip_loss_forward(image_emb.detach().cpu().numpy(),
                                        text_emb.detach().cpu().numpy(),
                                        logit_scale.detach().cpu().numpy())
        ctx.cache = cache
        return torch.as_tensor(loss, device=image_emb.device)

    @staticmethod
    def backward(ctx, dout):
        di, dt, ds = clip_loss_backward(dout.detach().cpu().numpy(), ctx.cache)
        dev = dout.device
        return (torch.as_tensor(di, device=dev), torch.as_tensor(dt, device=dev),
                torch.as_tensor(ds, device=dev))


# ---------------------------------------------------------------------- training
def train_clip(model: TinyCLIP, images: np.ndarray, ids: np.ndarray, *, epochs: int = 20,
               batch_size: int = 128, lr: float = 3e-3, weight_decay: float = 1e-4,
               loss: str = "numpy", device=None, seed: int = 0, progress: bool = True,
               evaluate: Callable[[TinyCLIP, int], dict] | None = None) -> History:
    """Train ``model`` with the symmetric contrastive loss; returns a :class:`History`.

    images : float32 (N, 3, S, S); ids : int64 (N, L), caption i of image i;
    loss : 'numpy' (cnnlib's loss through :class:`NumpyClipLoss`) or 'torch';
    evaluate : optional ``evaluate(model, epoch) -> {name: value}``, called in eval
        mode after every epoch; its values are logged beside the loss.

    Adam with a cosine learning-rate schedule over all steps, mini-batches reshuffled
    every epoch (seeded by ``seed``; the last incomplete batch is dropped, so every
    batch has ``batch_size`` negatives), the log-scale clamped after every step.
    The History holds, per epoch, ``loss`` (mean over its batches), ``logit_scale``
    (s at the end of the epoch), ``lr`` and whatever ``evaluate`` returned; its
    attribute ``step_loss`` lists the loss of every step.
    """
    from tqdm.auto import tqdm

    check_in(loss, "loss", ("numpy", "torch"))
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    if len(images) != len(ids):
        raise ValueError(f"images and ids must have one row per pair, got {len(images)} "
                         f"images and {len(ids)} captions")
    if len(images) < batch_size:
        raise ValueError(f"batch_size {batch_size} is larger than the {len(images)} pairs")
    device = pick_device(device)
    model.to(device)
    rng = as_rng(seed)
    x_all = torch.as_tensor(np.asarray(images, dtype=np.float32), device=device)
    t_all = torch.as_tensor(np.asarray(ids, dtype=np.int64), device=device)
    steps_per_epoch = len(images) // batch_size
    optimizer, schedule = adam_with_cosine(model, lr, weight_decay, epochs * steps_per_epoch)
    loss_fn = NumpyClipLoss.apply if loss == "numpy" else clip_loss_torch
    history = History()
    history.step_loss = []
    bar = tqdm(total=epochs * steps_per_epoch, desc="training CLIP", disable=not progress)
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.as_tensor(rng.permutation(len(images)), device=device)
        total = 0.0
        for step in range(steps_per_epoch):
            batch = order[step * batch_size:(step + 1) * batch_size]
            value = loss_fn(*model(x_all[batch], t_all[batch]))
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            schedule.step()
            model.clamp_logit_scale_()
            value = float(value.detach())
            history.step_loss.append(value)
            total += value
            bar.update()
            bar.set_postfix(loss=f"{value:.3f}")
        logged = {"loss": total / steps_per_epoch,
                  "logit_scale": float(model.logit_scale.detach().exp()),
                  "lr": optimizer.param_groups[0]["lr"]}
        if evaluate is not None:
            model.eval()
            with torch.no_grad():
                logged.update(evaluate(model, epoch))
        history.log(**logged)
    bar.close()
    model.eval()
    return history


# ---------------------------------------------------------------------- encoding
@torch.no_grad()
def encode_images(model: TinyCLIP, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Unit image embeddings as a float32 NumPy array (N, embed_dim), in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    out = [model.encode_image(torch.as_tensor(np.asarray(images[i:i + batch_size],
                                                         dtype=np.float32), device=device))
           for i in range(0, len(images), batch_size)]
    return torch.cat(out).cpu().numpy()


@torch.no_grad()
def encode_texts(model: TinyCLIP, ids: np.ndarray) -> np.ndarray:
    """Unit caption embeddings as a float32 NumPy array (N, embed_dim) from padded ids
    (``Vocabulary.encode``)."""
    model.eval()
    device = next(model.parameters()).device
    return model.encode_text(torch.as_tensor(np.asarray(ids, dtype=np.int64),
                                             device=device)).cpu().numpy()


# ------------------------------------------------------- the supervised baseline
class AttributeClassifier(nn.Module):
    """The same image encoder with one linear head per attribute: the supervised
    baseline of chapter 12, trained on the labels instead of the captions.
    ``forward(images)`` returns a dict of logits, one (N, K_a) tensor per attribute."""

    def __init__(self, classes: dict[str, int], image_size: int = 32, width: int = 128):
        super().__init__()
        self.image_encoder = ImageEncoder(image_size, width=width)
        self.heads = nn.ModuleDict({name: nn.Linear(width, k) for name, k in classes.items()})

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.image_encoder(images)
        return {name: head(h) for name, head in self.heads.items()}


def train_attribute_classifier(model: AttributeClassifier, images: np.ndarray,
                               labels: dict[str, np.ndarray], *, epochs: int = 5,
                               batch_size: int = 128, lr: float = 3e-3, device=None,
                               seed: int = 0, progress: bool = True) -> History:
    """Train with the sum of one cross-entropy per attribute (Adam, cosine schedule,
    seeded shuffles). Returns a History with the mean loss per epoch."""
    from tqdm.auto import tqdm

    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    if set(labels) != set(model.heads):
        raise ValueError(f"labels must have one array per head {sorted(model.heads)}, got "
                         f"{sorted(labels)}")
    device = pick_device(device)
    model.to(device)
    rng = as_rng(seed)
    x_all = torch.as_tensor(np.asarray(images, dtype=np.float32), device=device)
    y_all = {k: torch.as_tensor(np.asarray(v, dtype=np.int64), device=device)
             for k, v in labels.items()}
    steps = max(len(images) // batch_size, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps)
    history = History()
    for _ in tqdm(range(epochs), desc="training the supervised baseline",
                  disable=not progress):
        model.train()
        order = torch.as_tensor(rng.permutation(len(images)), device=device)
        total = 0.0
        for step in range(steps):
            batch = order[step * batch_size:(step + 1) * batch_size]
            out = model(x_all[batch])
            loss = sum(nn.functional.cross_entropy(out[k], y_all[k][batch]) for k in out)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach())
        history.log(loss=total / steps)
    model.eval()
    return history


@torch.no_grad()
def predict_attributes(model: AttributeClassifier, images: np.ndarray,
                       batch_size: int = 1024) -> dict[str, np.ndarray]:
    """The most likely class of every attribute: {name: int64 (N,)}."""
    model.eval()
    device = next(model.parameters()).device
    parts: dict[str, list] = {k: [] for k in model.heads}
    for i in range(0, len(images), batch_size):
        out = model(torch.as_tensor(np.asarray(images[i:i + batch_size], dtype=np.float32),
                                    device=device))
        for k, v in out.items():
            parts[k].append(v.argmax(dim=1).cpu().numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}
