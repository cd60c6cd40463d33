"""Training a PyTorch model the way :func:`cnnlib.train.fit` trains a cnnlib one.

Explained in chapter 9, where the experiments train in PyTorch once the chapter has
shown that the NumPy pieces and their PyTorch twins agree; chapters 10-12 use it too.

:func:`train_torch` takes NumPy arrays and visits them exactly as ``fit`` does: the
mini-batches come from :func:`cnnlib.train.iterate_minibatches` with the same ``rng``,
so the same seed gives the same batches in the same order, and a NumPy ``transform``
(:mod:`cnnlib.data.transforms`) is applied to each batch before it becomes a tensor.
It returns the same :class:`~cnnlib.train.History` (loss, metrics, validation scores
and the learning rate per epoch). Randomness inside the model (dropout, the initial
weights) comes from PyTorch's own generator: :func:`seed_everything` seeds it together
with NumPy's and Python's.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch

from cnnlib._validate import as_rng, check_in, check_positive_int
from cnnlib.train.batches import Transform, iterate_minibatches
from cnnlib.train.history import History
from cnnlib.train.loop import (Callback, Loss, batch_ended, check_callbacks, check_schedule,
                               end_epoch, epoch_begins)
from cnnlib.train.loop import _metric_functions as _loop_metric_functions

__all__ = ["seed_everything", "train_torch", "evaluate_torch", "predict_torch",
           "TORCH_LOSSES", "pick_device", "adam_with_cosine"]

#: Losses by name, as cnnlib.train.fit names them: (function, default metric).
TORCH_LOSSES: dict[str, tuple[Callable, str | None]] = {
    "cross_entropy": (torch.nn.functional.cross_entropy, "accuracy"),
    "bce_with_logits": (torch.nn.functional.binary_cross_entropy_with_logits,
                        "binary_accuracy"),
    "mse": (torch.nn.functional.mse_loss, None),
}


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else the GPU when PyTorch sees one, else the CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def adam_with_cosine(model: torch.nn.Module, lr: float, weight_decay: float,
                     total_steps: int):
    """Adam over all of ``model``'s parameters and a cosine schedule that takes the
    learning rate from ``lr`` to 0 in ``total_steps`` steps (SimCLR's and CLIP's
    recipe, chapters 11 and 12). Returns ``(optimizer, scheduler)``."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    return optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total_steps)


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global generator and PyTorch's (CPU and CUDA);
    returns a fresh ``np.random.default_rng(seed)`` for the batches."""
    seed = check_positive_int(seed, "seed", allow_zero=True)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def _resolve_loss(loss) -> tuple[Callable, str | None, str | None]:
    if isinstance(loss, str):
        check_in(loss, "loss", list(TORCH_LOSSES))
        fn, metric = TORCH_LOSSES[loss]
        return fn, metric, loss
    if callable(loss):
        return loss, None, None
    raise TypeError(f"loss must be a name from {list(TORCH_LOSSES)} or a function "
                    f"loss(output, target) -> tensor, got {loss!r}")


def _model_dtype_device(model: torch.nn.Module, device) -> tuple[torch.dtype, torch.device]:
    params = list(model.parameters())
    dtype = params[0].dtype if params else torch.get_default_dtype()
    return dtype, torch.device(device)


def _tensors(xb, yb, name, dtype, device):
    # torch.tensor copies: the batches are read-only, and torch.as_tensor warns about
    # sharing memory it cannot write
    x = torch.tensor(xb, device=device).to(dtype)
    if yb is None:
        return x, None
    y = torch.tensor(np.asarray(yb), device=device)
    y = y.long() if name == "cross_entropy" else y.to(dtype)
    return x, y


def _target_like(out: torch.Tensor, y: torch.Tensor, name) -> torch.Tensor:
    """A (N,) target for an (N, 1) output is reshaped, as fit does."""
    if name != "cross_entropy" and y.ndim == 1 and out.shape == (len(y), 1):
        return y.reshape(-1, 1)
    return y


def _metric_functions(metrics, default: str | None) -> dict[str, Callable]:
    """The metrics by name, as fit resolves them (the loss's own metric by default)."""
    return _loop_metric_functions(metrics, Loss(None, None, None, default))


def predict_torch(model: torch.nn.Module, X, batch_size: int = 1000,
                  device: str | torch.device = "cpu") -> np.ndarray:
    """The model's outputs for every row of X as a NumPy array, in evaluation mode and
    without gradients; the model's mode is restored afterwards."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    dtype, device = _model_dtype_device(model, device)
    bs = check_positive_int(batch_size, "batch_size")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            outs = [model(torch.as_tensor(np.ascontiguousarray(X[i:i + bs]),
                                          device=device).to(dtype)).cpu().numpy()
                    for i in range(0, len(X), bs)]
    finally:
        model.train(was_training)
    return np.concatenate(outs)


def evaluate_torch(model: torch.nn.Module, loss, X, y, batch_size: int = 1000,
                   device: str | torch.device = "cpu",
                   metrics: Sequence | dict | None = None) -> dict[str, float]:
    """``{"loss": ..., metric: ...}`` on (X, y) in evaluation mode (metrics default to
    the loss's own: accuracy for cross-entropy)."""
    fn, default, name = _resolve_loss(loss)
    out = predict_torch(model, X, batch_size, device)
    t = torch.as_tensor(np.asarray(y))
    t = t.long() if name == "cross_entropy" else t.to(torch.float64)
    o = torch.as_tensor(out, dtype=torch.float64)
    t = _target_like(o, t, name)
    scores = {"loss": float(fn(o, t))}
    for k, f in _metric_functions(metrics, default).items():
        scores[k] = float(f(out, t.numpy()))
    return scores


def train_torch(model: torch.nn.Module, X, y=None, *, optimizer: torch.optim.Optimizer,
                loss="cross_entropy", epochs: int = 10, batch_size: int = 32,
                rng: np.random.Generator | int | None = None,
                transform: Transform | None = None, scheduler: Any = None,
                scheduler_interval: str = "epoch",
                validation_data: tuple | None = None,
                metrics: Sequence | dict | None = None,
                callbacks: Iterable[Callback | Callable] = (),
                device: str | torch.device = "cpu", progress: bool = True,
                drop_last: bool = False) -> History:
    """Train a PyTorch ``model`` on NumPy arrays with mini-batches; return its History.

    model : a ``torch.nn.Module`` already on ``device`` (its parameters' dtype is the
        dtype of the batches). X : (N, ...) inputs; y : (N,) class indices for
        "cross_entropy", targets for "bce_with_logits" / "mse".
    optimizer : a ``torch.optim`` optimizer over the model's parameters.
    loss : "cross_entropy" | "bce_with_logits" | "mse" or ``f(output, target) -> tensor``.
    epochs, batch_size, drop_last, rng : as :func:`cnnlib.train.fit`: the order is
        shuffled every epoch with ``rng``, which also drives ``transform``.
    transform : ``transform(x_batch, rng) -> x_batch`` on the NumPy batch (before it
        becomes a tensor), for every training batch afresh, never on validation data.
    scheduler : a ``torch.optim.lr_scheduler`` scheduler, stepped after every epoch or,
        with ``scheduler_interval="batch"``, after every batch (OneCycleLR).
    validation_data : ``(X_val, y_val)`` evaluated after every epoch.
    metrics : names of :data:`cnnlib.train.metrics.METRICS`, functions
        ``metric(output, target) -> float`` on NumPy arrays, or a dict.
    callbacks : as in fit: :class:`cnnlib.train.Callback` objects (``on_epoch_begin``,
        ``on_batch_end(step, logs)`` with the batch's loss and metrics,
        ``on_epoch_end``; raise :class:`cnnlib.train.StopTraining` or return True to
        stop) or functions ``f(epoch, logs)`` called after every epoch.
    progress : a tqdm progress bar over the epochs.

    The history logs per epoch the training loss and metrics averaged over its batches
    (weighted by batch size), ``val_*``, and ``lr`` (the first group's rate during the
    epoch).
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim optimizer, got "
                        f"{type(optimizer).__name__}")
    fn, default, name = _resolve_loss(loss)
    if y is None:
        raise ValueError("y is needed to train with a loss")
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of examples, got {len(X)} "
                         f"and {len(y)}")
    epochs, batch_size = check_schedule(epochs, batch_size, scheduler, scheduler_interval)
    metric_fns = _metric_functions(metrics, default)
    hooks = check_callbacks(callbacks)
    dtype, device = _model_dtype_device(model, device)
    gen = as_rng(rng)
    history = History()
    from tqdm.auto import tqdm

    bar = tqdm(range(1, epochs + 1), desc="training", unit="epoch", disable=not progress)
    global_step = 0
    for epoch in bar:
        epoch_begins(hooks, epoch)
        lr = optimizer.param_groups[0]["lr"]
        model.train()
        sums: dict[str, float] = {}
        seen = 0
        stop = False
        for xb, yb in iterate_minibatches(X, y, batch_size, rng=gen, transform=transform,
                                          drop_last=drop_last):
            xt, yt = _tensors(xb, yb, name, dtype, device)
            out = model(xt)
            yt = _target_like(out, yt, name)
            value = fn(out, yt)
            if not torch.isfinite(value):
                raise FloatingPointError(f"the loss became {value.item()} in epoch {epoch}: "
                                         f"the weights are diverging; lower the learning "
                                         f"rate (now {optimizer.param_groups[0]['lr']})")
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            if scheduler is not None and scheduler_interval == "batch":
                scheduler.step()
            n = len(xb)
            values = {"loss": value.item()}
            if metric_fns:
                o, t = out.detach().cpu().numpy(), yt.cpu().numpy()
                values.update({k: f(o, t) for k, f in metric_fns.items()})
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + float(v) * n
            seen += n
            global_step += 1
            if batch_ended(hooks, global_step, values):
                stop = True         # the epoch so far is still logged below
                break
        validate = None if validation_data is None else (lambda: evaluate_torch(
            model, loss, *validation_data, device=device, metrics=metric_fns))
        if end_epoch(history, sums, seen, validate, lr, scheduler, scheduler_interval,
                     bar, hooks, epoch) or stop:
            break
    bar.close()
    return history
