"""Transfer learning in PyTorch: pre-train a small CNN on a large related data set,
then give it a new output layer and learn a small labelled set.

Explained in chapter 10. The network (:func:`small_cnn`) is a *body* that turns a
(N, 1, 28, 28) batch into a feature vector and a *head*, one linear layer from those
features to the class scores. Pre-training (:func:`pretrain`) fits both on the animal
silhouettes (or on the digits, for the other direction); :func:`fine_tune` then throws
the head away, puts a fresh one in its place and trains on the few labelled examples of
the new task in one of four ways:

* ``"scratch"``: every weight re-initialised, nothing transferred (the baseline);
* ``"probe"``: the body frozen (no gradient, batch norm in evaluation mode), only the
  new head trained: a *linear probe* of the pre-trained features;
* ``"full"``: every weight trained with the same learning rate, starting from the
  pre-trained ones;
* ``"discriminative"``: every weight trained, the body with a learning rate
  ``body_lr_factor`` times the head's, through two optimiser *parameter groups*.

All training is full-batch or mini-batch Adam on NumPy arrays, on the GPU when there is
one (``device=None``) and on the CPU otherwise.
"""
from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from cnnlib._validate import check_bool, check_in, check_number, check_positive_int
from cnnlib.twins.training import pick_device

__all__ = ["SmallCNN", "small_cnn", "pretrain", "fine_tune", "accuracy", "features",
           "freeze", "parameter_groups", "pick_device", "train_classifier", "MODES",
           "SOURCES", "source_data"]

MODES = ("scratch", "probe", "full", "discriminative")
"""The ways :func:`fine_tune` can learn the new task."""

SOURCES = ("animals", "digits")
"""The data sets :func:`pretrain` can pre-train on."""


class SmallCNN(nn.Module):
    """``body``: ``depth`` blocks of conv 3x3 (padding 1) -> [batch norm] -> ReLU ->
    max-pool 2, the k-th with ``width * 2**k`` maps, then flatten; ``head``: a linear
    layer from the body's features to ``num_classes`` scores.

    Input (N, 1, 28, 28); with depth 3 the maps shrink 28 -> 14 -> 7 -> 3 and the body
    gives ``4 * width * 9`` features. Explained in chapter 10."""

    def __init__(self, num_classes: int = 10, *, width: int = 8, depth: int = 3,
                 batch_norm: bool = True, in_channels: int = 1, image_size: int = 28):
        super().__init__()
        num_classes = check_positive_int(num_classes, "num_classes")
        width = check_positive_int(width, "width")
        depth = check_positive_int(depth, "depth")
        batch_norm = check_bool(batch_norm, "batch_norm")
        size = check_positive_int(image_size, "image_size")
        if size < 2 ** depth:
            raise ValueError(f"image_size {size} is too small for {depth} 2 x 2 poolings")
        self.config = dict(width=width, depth=depth, batch_norm=batch_norm,
                           in_channels=in_channels, image_size=image_size)
        blocks: list[tuple[str, nn.Module]] = []
        c = check_positive_int(in_channels, "in_channels")
        for k in range(depth):
            out = width * 2 ** k
            layers = [nn.Conv2d(c, out, 3, padding=1, bias=not batch_norm)]
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers += [nn.ReLU(), nn.MaxPool2d(2)]
            blocks.append((f"block{k + 1}", nn.Sequential(*layers)))
            c, size = out, size // 2
        blocks.append(("flatten", nn.Flatten()))
        self.body = nn.Sequential(OrderedDict(blocks))
        self.num_features = c * size * size
        self.head = nn.Linear(self.num_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def small_cnn(num_classes: int = 10, *, width: int = 8, depth: int = 3,
              batch_norm: bool = True) -> SmallCNN:
    """A :class:`SmallCNN` initialised by PyTorch's defaults from its global generator
    (seed it first); replace its output layer with ``model.head = nn.Linear(...)``.
    Explained in chapter 10."""
    return SmallCNN(num_classes, width=width, depth=depth, batch_norm=batch_norm)


# ------------------------------------------------------------------------ data
def source_data(source: str = "animals"):
    """The ``Split`` of a pre-training or target set, as images (N, 28, 28) in [0, 1]:
    ``"animals"`` (9,716 silhouettes, 1,000 for testing) or ``"digits"`` (5,000 MNIST
    digits, 1,000 for testing); always split with seed 0."""
    check_in(source, "source", SOURCES)
    from cnnlib.data import load_mnist_5k
    from cnnlib.data.animals import load_animal_shapes
    return load_animal_shapes(rng=0) if source == "animals" else load_mnist_5k(rng=0)


def _as_batch(X, device, dtype=torch.float32) -> torch.Tensor:
    X = np.asarray(X)
    if X.ndim == 3:
        X = X[:, None]
    if X.ndim != 4:
        raise ValueError(f"X must be images of shape (N, H, W) or (N, C, H, W), got "
                         f"shape {X.shape}")
    return torch.tensor(X, dtype=dtype, device=device)


def _as_input(X, device) -> torch.Tensor:
    """Images as a (N, C, H, W) batch, feature vectors (N, D) as they are."""
    if torch.is_tensor(X):
        return X.to(device=device, dtype=torch.float32)
    return (torch.tensor(np.asarray(X), dtype=torch.float32, device=device)
            if np.ndim(X) == 2 else _as_batch(X, device))


def _as_labels(y, n, device) -> torch.Tensor:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"y must hold one label per image, shape ({n},), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    return torch.tensor(y, dtype=torch.long, device=device)


# ---------------------------------------------------------------- training parts
def freeze(module: nn.Module) -> nn.Module:
    """Stop ``module``'s parameters from learning (``requires_grad = False``) and put it
    in evaluation mode, so batch norm uses its stored statistics. Returns the module."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


def parameter_groups(model: SmallCNN, lr: float, body_lr_factor: float) -> list[dict]:
    """Two optimiser parameter groups: the body at ``lr * body_lr_factor`` and the
    head at ``lr``; pass them to any ``torch.optim`` optimiser. Explained in
    chapter 10."""
    lr = check_number(lr, "lr", low=0, low_open=True)
    factor = check_number(body_lr_factor, "body_lr_factor", low=0)
    return [{"params": list(model.body.parameters()), "lr": lr * factor},
            {"params": list(model.head.parameters()), "lr": lr}]


def train_classifier(model: nn.Module, X, y, *, optimizer: torch.optim.Optimizer,
                     epochs: int = 30, batch_size: int = 256, seed: int = 0,
                     frozen: nn.Module | None = None, progress: bool = False,
                     step_losses: list | None = None) -> list[float]:
    """Minimise the cross-entropy of ``model`` on (X, y) with ``optimizer`` (mini-batches
    in a new random order every epoch); returns the mean training loss of every epoch.

    X : images (N, 28, 28) or (N, C, H, W), or feature vectors (N, D) for a head alone;
    y : int labels (N,). ``frozen``: a part of the model kept in evaluation mode
    throughout (a frozen body, whose batch norm must not update its statistics).
    ``step_losses``: a list that receives the loss of every mini-batch."""
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    device = next(model.parameters()).device
    Xt = _as_input(X, device)
    yt = _as_labels(y, len(Xt), device)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    from tqdm.auto import tqdm
    for _ in tqdm(range(epochs), desc="training", unit="epoch", disable=not progress,
                  leave=False):
        model.train()
        if frozen is not None:
            frozen.eval()
        order = torch.randperm(len(Xt), generator=gen).to(device)
        total = 0.0
        for i in range(0, len(Xt), batch_size):
            idx = order[i:i + batch_size]
            loss = nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            if step_losses is not None:
                step_losses.append(loss.item())
        losses.append(total / len(Xt))
    model.eval()
    return losses


@torch.no_grad()
def features(model: SmallCNN, X, upto: int | None = None, batch_size: int = 2000
             ) -> np.ndarray:
    """The body's output for X as a NumPy array (N, num_features), in evaluation mode;
    ``upto=k`` stops after the k-th block (0: the pixels themselves) and flattens it.
    Explained in chapter 10."""
    blocks = [m for name, m in model.body.named_children() if name != "flatten"]
    k = len(blocks) if upto is None else int(upto)
    if not 0 <= k <= len(blocks):
        raise ValueError(f"upto must be between 0 and {len(blocks)}, got {upto}")
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(X), batch_size):
        h = _as_batch(X[i:i + batch_size], device)
        for b in blocks[:k]:
            h = b(h)
        out.append(h.flatten(1).cpu().numpy())
    model.train(was)
    return np.concatenate(out)


@torch.no_grad()
def accuracy(model: nn.Module, X, y, batch_size: int = 2000) -> float:
    """The fraction of images in X (N, 28, 28) whose highest score is their label y."""
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for i in range(0, len(X), batch_size):
        xb = _as_batch(X[i:i + batch_size], device)
        yb = _as_labels(y[i:i + batch_size], len(xb), device)
        correct += int((model(xb).argmax(1) == yb).sum())
    model.train(was)
    return correct / len(X)


# ------------------------------------------------------------------ pre-training
_PRETRAINED: dict[tuple, tuple[SmallCNN, list[float]]] = {}


def pretrain(seed: int = 0, *, source: str = "animals", epochs: int = 3,
             batch_size: int = 64, lr: float = 3e-3, width: int = 8, depth: int = 3,
             batch_norm: bool = True, device=None, progress: bool = False,
             return_history: bool = False):
    """A :class:`SmallCNN` trained on the training part of ``source`` ("animals": 8,716
    silhouettes; "digits": 4,000 MNIST digits) with Adam for ``epochs`` epochs.

    Trained once per process for each setting; every call returns a deep copy, so
    fine-tuning one never changes the next. With ``return_history=True`` returns
    ``(model, losses)``, the training loss of every mini-batch. Explained in chapter 10.
    """
    check_in(source, "source", SOURCES)
    dev = pick_device(device)
    key = (seed, source, epochs, batch_size, lr, width, depth, batch_norm, str(dev))
    if key not in _PRETRAINED:
        data = source_data(source)
        torch.manual_seed(seed)
        model = small_cnn(10, width=width, depth=depth, batch_norm=batch_norm).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        losses: list[float] = []
        train_classifier(model, data.X_train, data.y_train, optimizer=opt, epochs=epochs,
                         batch_size=batch_size, seed=seed, progress=progress,
                         step_losses=losses)
        _PRETRAINED[key] = (model, losses)
    model, losses = _PRETRAINED[key]
    model = copy.deepcopy(model)
    return (model, list(losses)) if return_history else model


# -------------------------------------------------------------------- fine-tuning
_SCRATCH_SEED = 1_000_003


def _reset(model: nn.Module) -> None:
    for m in model.modules():
        if m is not model and hasattr(m, "reset_parameters"):
            m.reset_parameters()
        if hasattr(m, "reset_running_stats"):
            m.reset_running_stats()


def fine_tune(model: SmallCNN, X, y, *, mode: str, seed: int = 0, steps: int = 100,
              batch_size: int = 64, lr: float = 3e-3, body_lr_factor: float = 0.1,
              weight_decay: float = 0.0, num_classes: int | None = None,
              progress: bool = False) -> SmallCNN:
    """A copy of ``model`` with a new head, trained on the labelled images (X, y).

    mode : one of ``MODES`` (see the module's docstring): "scratch" re-initialises every
        weight; "probe" freezes the body and trains only the head; "full" trains every
        weight at ``lr``; "discriminative" trains the body at ``lr * body_lr_factor``
        and the head at ``lr`` (two parameter groups).
    X : images (N, 28, 28) in [0, 1]; y : int labels (N,).
    steps : about this many Adam updates on mini-batches of ``batch_size`` (whole
        epochs: ``round(steps / ceil(N / batch_size))``, at least one), so small and
        large labelled sets get the same training budget in updates.
    num_classes : outputs of the new head (default ``max(y) + 1``).
    The model passed in is left unchanged. For the probe the frozen body's features are
    computed once and only the head runs in the loop (the same result, faster).
    Explained in chapter 10.
    """
    if not isinstance(model, SmallCNN):
        raise TypeError(f"model must be a SmallCNN (from small_cnn or pretrain), got "
                        f"{type(model).__name__}")
    check_in(mode, "mode", MODES)
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    X = np.asarray(X)
    y = np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of examples, got X of "
                         f"shape {X.shape} and y of shape {y.shape}")
    n_out = int(np.max(y)) + 1 if num_classes is None else check_positive_int(
        num_classes, "num_classes")
    torch.manual_seed(seed)
    model = copy.deepcopy(model)
    device = next(model.parameters()).device
    if mode == "scratch":
        # a start of its own: seeding with `seed` alone would repeat the initial
        # weights of the network that pretrain(seed) started from
        torch.manual_seed(_SCRATCH_SEED + seed)
        _reset(model)
    model.head = nn.Linear(model.num_features, n_out).to(device)
    per_epoch = -(-len(X) // batch_size)
    epochs = max(1, round(steps / per_epoch))
    if mode == "probe":
        freeze(model.body)
        with torch.no_grad():
            feats = model.body(_as_batch(X, device))
        opt = torch.optim.Adam(model.head.parameters(), lr=lr, weight_decay=weight_decay)
        train_classifier(model.head, feats, y, optimizer=opt, epochs=epochs,
                         batch_size=batch_size, seed=seed, progress=progress)
        return model
    params = (parameter_groups(model, lr, body_lr_factor) if mode == "discriminative"
              else list(model.parameters()))
    opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    train_classifier(model, X, y, optimizer=opt, epochs=epochs, batch_size=batch_size,
                     seed=seed, progress=progress)
    return model
