"""Training a PyTorch model the way :func:`cnnlib.train.fit` trains a cnnlib one.

Explained in chapter 8. :func:`fit_torch` is the usual PyTorch loop (index a
mini-batch, forward, cross-entropy, ``zero_grad``, ``backward``, ``step``) with the
pieces of ``fit``: a fresh random order each epoch drawn from a NumPy generator (the
same seed gives the same batches as ``fit``), SGD with momentum, a learning-rate
factor per epoch (``torch.optim.lr_scheduler.LambdaLR``), a validation set measured
after every epoch, a progress bar, and a :class:`cnnlib.train.History` with the same
curves (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr``), so the two
libraries' runs plot side by side. It runs on any device (a GPU when given "cuda").
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as TF

from cnnlib._validate import as_int_array, as_rng, check_positive_int
from cnnlib.train.history import History

__all__ = ["fit_torch", "evaluate_torch"]


def _tensors(X, y, device, dtype):
    X = np.asarray(X)
    y = as_int_array(y, "y", ndim=1)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of examples, got {len(X)} "
                         f"and {len(y)}")
    return (torch.as_tensor(X, device=device, dtype=dtype),
            torch.as_tensor(y, device=device, dtype=torch.int64))


@torch.no_grad()
def evaluate_torch(model: torch.nn.Module, X, y, batch_size: int = 1000,
                   device: str | torch.device | None = None) -> dict[str, float]:
    """``{"loss": mean cross-entropy, "accuracy": ...}`` of the model on (X, y), in
    evaluation mode; the model's mode is restored."""
    p = next(model.parameters())
    Xt, yt = _tensors(X, y, device or p.device, p.dtype)
    was_training = model.training
    model.eval()
    total, correct = 0.0, 0
    for i in range(0, len(Xt), batch_size):
        out = model(Xt[i:i + batch_size])
        total += float(TF.cross_entropy(out, yt[i:i + batch_size], reduction="sum"))
        correct += int((out.argmax(1) == yt[i:i + batch_size]).sum())
    model.train(was_training)
    return {"loss": total / len(Xt), "accuracy": correct / len(Xt)}


def fit_torch(model: torch.nn.Module, X, y, *, epochs: int = 10, batch_size: int = 32,
              lr: float = 0.01, momentum: float = 0.0, weight_decay: float = 0.0,
              lr_lambda: Callable[[int], float] | None = None,
              rng: np.random.Generator | int | None = None,
              validation_data: tuple | None = None,
              device: str | torch.device | None = None,
              progress: bool = True) -> History:
    """Train ``model`` (logits for K classes) with SGD on the cross-entropy and return its
    History, as :func:`cnnlib.train.fit` would.

    X : (N, ...) NumPy inputs; y : (N,) class indices. The data are copied to
    ``device`` (default: the model's) once, in the model's dtype.
    lr, momentum, weight_decay : ``torch.optim.SGD``'s. lr_lambda : factor of ``lr`` for epoch e
        (counted from 0), ``LambdaLR``'s convention; None keeps ``lr``.
    rng : the NumPy generator (or seed) whose ``permutation`` orders each epoch; with
        the seed given to ``fit`` both loops visit the same batches.
    """
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    p = next(model.parameters())
    device = device or p.device
    Xt, yt = _tensors(X, y, device, p.dtype)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                          weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda) if lr_lambda else None
    gen = as_rng(rng)
    history = History()
    from tqdm.auto import tqdm
    bar = tqdm(range(1, epochs + 1), desc="training (PyTorch)", unit="epoch",
               disable=not progress)
    for _ in bar:
        model.train()
        rate = opt.param_groups[0]["lr"]
        order = torch.as_tensor(gen.permutation(len(Xt)), device=device)
        loss_sum = torch.zeros((), device=device, dtype=p.dtype)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        for i in range(0, len(Xt), batch_size):
            idx = order[i:i + batch_size]
            out = model(Xt[idx])
            loss = TF.cross_entropy(out, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            # summed on the device: no synchronisation with the GPU per batch
            loss_sum += loss.detach() * len(idx)
            correct += (out.argmax(1) == yt[idx]).sum()
        logs = {"loss": float(loss_sum) / len(Xt), "accuracy": int(correct) / len(Xt)}
        if validation_data is not None:
            scores = evaluate_torch(model, *validation_data, device=device)
            logs.update({f"val_{k}": v for k, v in scores.items()})
        logs["lr"] = rate
        history.log(**logs)
        if sched is not None:
            sched.step()
        bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k != "lr"})
    bar.close()
    return history
