r"""SimCLR in PyTorch: a shared encoder, a projection head and the NT-Xent loss.

Explained in chapter 11. Chen, Kornblith, Norouzi and Hinton (2020), "A Simple
Framework for Contrastive Learning of Visual Representations":

* :class:`DigitEncoder` :math:`f`: a small CNN for 28 x 28 grey images, three 3 x 3
  convolutions with batch normalisation and ReLU (max pooling after the first two),
  averaged over the positions: an image becomes ``width`` numbers, the *representation*
  h = f(x) that is kept after training;
* :class:`ProjectionHead` :math:`g`: an MLP from h to the space where the loss compares
  views, z = g(h). SimCLR throws g away after training and evaluates h: the loss makes
  z invariant to the augmentations, and g absorbs some of that invariance, so h keeps
  more of the information a downstream task may need;
* :class:`SimCLR`: both, ``forward(x) -> z``;
* :func:`nt_xent_torch`: the NT-Xent loss written with torch ops straight from the
  paper's formula (the reference cnnlib's NumPy
  :func:`~cnnlib.functional.contrastive.nt_xent` is cross-checked against), and
  :class:`NumpyNTXent`, cnnlib's NumPy loss as an autograd function;
* :func:`train_simclr`: the training loop on unlabelled images (two views per image
  from a :class:`~cnnlib.data.views.TwoViews`, Adam, cosine schedule, tqdm progress);
* :func:`encode`: the frozen encoder's features of a NumPy batch, for the probes of
  :mod:`cnnlib.train.probes`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from cnnlib._validate import as_rng, check_in, check_number, check_positive_int
from cnnlib.functional.contrastive import nt_xent_backward, nt_xent_forward
from cnnlib.train.history import History
from cnnlib.twins.training import adam_with_cosine, pick_device

__all__ = ["DigitEncoder", "ProjectionHead", "SimCLR", "nt_xent_torch", "NumpyNTXent",
           "train_simclr", "encode", "pick_device"]


# ------------------------------------------------------------------------ the model
class DigitEncoder(nn.Module):
    """(N, 1, 28, 28) -> (N, width) features h: conv3x3(c1)-BN-ReLU-maxpool2,
    conv3x3(c2)-BN-ReLU-maxpool2, conv3x3(width)-BN-ReLU, mean over the 7 x 7
    positions. Works for any image size (the average pools whatever is left)."""

    def __init__(self, channels: Sequence[int] = (16, 32), width: int = 64,
                 in_channels: int = 1):
        super().__init__()
        c1, c2 = (check_positive_int(c, "channels") for c in channels)
        self.width = check_positive_int(width, "width")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c2, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class ProjectionHead(nn.Module):
    """h (N, in_dim) -> z (N, out_dim): Linear-BN-ReLU-Linear (SimCLR's g)."""

    def __init__(self, in_dim: int = 128, hidden: int = 128, out_dim: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden),
                                 nn.ReLU(), nn.Linear(hidden, out_dim))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class SimCLR(nn.Module):
    """The encoder f and the projection head g: ``forward(x)`` gives z = g(f(x));
    ``model.encoder`` alone gives the representation h kept after training."""

    def __init__(self, encoder: nn.Module | None = None, proj_dim: int = 64,
                 hidden: int = 128):
        super().__init__()
        self.encoder = encoder if encoder is not None else DigitEncoder()
        width = getattr(self.encoder, "width", None)
        if width is None:
            raise ValueError("encoder must have an attribute width (its output size)")
        self.head = ProjectionHead(width, hidden, proj_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


# ------------------------------------------------------------------------- the loss
def nt_xent_torch(z_a: torch.Tensor, z_b: torch.Tensor,
                  temperature: float = 0.5) -> torch.Tensor:
    r"""NT-Xent as the SimCLR paper writes it (eq. 1 and Algorithm 1).

    z_a, z_b : (N, D), the projections of the two views of N images. With
    :math:`u = [z_a; z_b]` normalised row by row, :math:`\mathrm{sim}(u, v) = u^\top v
    / (\lVert u\rVert \lVert v\rVert)` and view k's partner :math:`p(k) = k \pm N`:

    .. math::
        \ell(k, p(k)) = -\log \frac{\exp(\mathrm{sim}(z_k, z_{p(k)}) / \tau)}
        {\sum_{l \ne k} \exp(\mathrm{sim}(z_k, z_l) / \tau)},
        \qquad \mathcal{L} = \frac{1}{2N} \sum_{k=1}^{2N} \ell(k, p(k)).

    Returns a 0-D tensor; autograd gives the gradients.
    """
    z = nn.functional.normalize(torch.cat([z_a, z_b]), dim=1)
    n2 = z.shape[0]
    sim = z @ z.T / temperature
    itself = torch.eye(n2, dtype=torch.bool, device=z.device)
    denominator = torch.logsumexp(sim.masked_fill(itself, float("-inf")), dim=1)
    partner = (torch.arange(n2, device=z.device) + n2 // 2) % n2
    numerator = sim[torch.arange(n2, device=z.device), partner]
    return (denominator - numerator).mean()


class NumpyNTXent(torch.autograd.Function):
    """cnnlib's :func:`~cnnlib.functional.contrastive.nt_xent_forward` and
    ``nt_xent_backward`` as an autograd function: the projections go to NumPy (on the
    CPU), the loss and both gradients come back as tensors on their device.
    ``NumpyNTXent.apply(z_a, z_b, temperature)``."""

    @staticmethod
    def forward(ctx, z_a, z_b, temperature):
        loss, cache = nt_xent_forward(z_a.detach().cpu().numpy(),
                                      z_b.detach().cpu().numpy(), temperature)
        ctx.cache = cache
        return torch.as_tensor(loss, device=z_a.device)

    @staticmethod
    def backward(ctx, dout):
        da, db = nt_xent_backward(dout.detach().cpu().numpy(), ctx.cache)
        return (torch.as_tensor(da, device=dout.device),
                torch.as_tensor(db, device=dout.device), None)


# ------------------------------------------------------------------------ training
def train_simclr(model: SimCLR, images: np.ndarray, views: Callable, *, epochs: int = 10,
                 batch_size: int = 256, temperature: float = 0.2, lr: float = 2e-3,
                 weight_decay: float = 1e-4, loss: str = "numpy", device=None,
                 seed: int = 0, progress: bool = True,
                 evaluate: Callable[[SimCLR, int], dict] | None = None) -> History:
    """Train ``model`` on unlabelled ``images`` with NT-Xent; returns a :class:`History`.

    images : (N, 1, H, W) floats in [0, 1] (no labels: SimCLR never sees them);
    views : ``views(x, rng) -> (x_a, x_b)``, e.g. :func:`cnnlib.data.views.digit_views`,
        applied to every mini-batch afresh, in NumPy;
    temperature : tau of NT-Xent; loss : 'numpy' (cnnlib's loss through
        :class:`NumpyNTXent`) or 'torch' (:func:`nt_xent_torch`);
    evaluate : optional ``evaluate(model, epoch) -> {name: value}``, called in eval
        mode after every epoch; its values are logged beside the loss.

    Adam with a cosine learning-rate schedule over all steps; the images are reshuffled
    every epoch and the last incomplete batch dropped (every batch has
    2 * batch_size - 2 negatives per view), all seeded by ``seed`` (torch's generator
    too, for the initial weights when the caller seeds it). The History holds per epoch
    ``loss`` (mean over its batches), ``pair_accuracy`` (how often a view's most
    similar other view is its partner: the loss's own "accuracy") and ``lr``; its
    attribute ``step_loss`` lists the loss of every step, ``seconds`` the training time.
    """
    import time

    from tqdm.auto import tqdm

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(views):
        raise TypeError(f"views must be a function views(x, rng) -> (x_a, x_b), got "
                        f"{type(views).__name__}")
    check_in(loss, "loss", ("numpy", "torch"))
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    temperature = check_number(temperature, "temperature", low=0.0, low_open=True)
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {images.shape}")
    if len(images) < batch_size:
        raise ValueError(f"batch_size {batch_size} is larger than the {len(images)} images")
    device = pick_device(device)
    model.to(device)
    rng = as_rng(seed)
    steps_per_epoch = len(images) // batch_size
    optimizer, schedule = adam_with_cosine(model, lr, weight_decay, epochs * steps_per_epoch)
    loss_fn = NumpyNTXent.apply if loss == "numpy" else nt_xent_torch
    history = History()
    history.step_loss = []
    start = time.perf_counter()
    bar = tqdm(total=epochs * steps_per_epoch, desc="training SimCLR", disable=not progress)
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(len(images))
        total = hits = 0.0
        lr_now = optimizer.param_groups[0]["lr"]
        for step in range(steps_per_epoch):
            batch = images[order[step * batch_size:(step + 1) * batch_size]]
            x_a, x_b = views(batch, rng)
            x = torch.as_tensor(np.concatenate([x_a, x_b]), dtype=torch.float32,
                                device=device)
            z = model(x)
            z_a, z_b = z[:batch_size], z[batch_size:]
            value = loss_fn(z_a, z_b, temperature)
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            schedule.step()
            value = float(value.detach())
            history.step_loss.append(value)
            total += value
            hits += _pair_accuracy(z.detach())
            bar.update()
            bar.set_postfix(loss=f"{value:.3f}")
        logged = {"loss": total / steps_per_epoch, "pair_accuracy": hits / steps_per_epoch,
                  "lr": lr_now}
        if evaluate is not None:
            model.eval()
            with torch.no_grad():
                logged.update(evaluate(model, epoch))
        history.log(**logged)
    bar.close()
    history.seconds = time.perf_counter() - start
    model.eval()
    return history


def _pair_accuracy(z: torch.Tensor) -> float:
    """Fraction of the 2N views whose most similar other view is their partner."""
    u = nn.functional.normalize(z, dim=1)
    sim = u @ u.T
    sim.fill_diagonal_(float("-inf"))
    n2 = len(u)
    partner = (torch.arange(n2, device=z.device) + n2 // 2) % n2
    return float((sim.argmax(dim=1) == partner).float().mean())


# ------------------------------------------------------------------------ features
@torch.no_grad()
def encode(encoder: nn.Module, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The encoder's features of every image, as a float32 NumPy array (N, width), in
    evaluation mode (batch normalisation uses its running statistics); the module's
    mode is restored afterwards."""
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"encoder must be a torch.nn.Module, got {type(encoder).__name__}")
    batch_size = check_positive_int(batch_size, "batch_size")
    images = np.asarray(images, dtype=np.float32)
    params = list(encoder.parameters())
    device = params[0].device if params else torch.device("cpu")
    was_training = encoder.training
    encoder.eval()
    try:
        out = [encoder(torch.as_tensor(images[i:i + batch_size], device=device)).cpu()
               for i in range(0, len(images), batch_size)]
    finally:
        encoder.train(was_training)
    return torch.cat(out).numpy()
