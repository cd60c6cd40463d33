"""The training loop: mini-batches, forward, loss, backward, optimiser step.

Explained in chapter 2. :func:`fit` is the loop every later chapter uses for the NumPy
networks; it shows a progress bar (``tqdm.auto``) and returns a :class:`History` of the
per-epoch loss and accuracy, which :meth:`History.plot` draws.

A loss is named (``"cross_entropy"`` for K-class logits and integer labels,
``"bce_with_logits"`` for one logit per example and 0/1 labels, ``"mse"`` for
regression) or given as a pair of functions ``(forward, backward)`` with the
functional convention ``forward(output, target) -> (loss, cache)`` and
``backward(1.0, cache) -> d loss / d output``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from cnnlib import functional as F
from cnnlib._validate import as_float_array, as_rng, check_positive_int
from cnnlib.nn.layers import Module
from cnnlib.optim import Optimizer

__all__ = ["History", "fit", "evaluate", "predict", "LOSSES"]

# name -> (forward, backward, accuracy(output, target) or None)
LOSSES: dict[str, tuple[Callable, Callable, Callable | None]] = {
    "cross_entropy": (F.cross_entropy_forward, F.cross_entropy_backward,
                      lambda out, y: float(np.mean(out.argmax(axis=1) == y))),
    "bce_with_logits": (F.binary_cross_entropy_with_logits_forward,
                        F.binary_cross_entropy_with_logits_backward,
                        lambda out, y: float(np.mean((out > 0) == (y > 0.5)))),
    "mse": (F.mse_loss_forward, F.mse_loss_backward, None),
}


@dataclass
class History:
    """What :func:`fit` measured, one entry per epoch.

    loss, accuracy : training loss and accuracy, averaged over the epoch's mini-batches
    (accuracy is empty for losses without one, such as "mse");
    val_loss, val_accuracy : on the validation set at the end of each epoch, when one
    was given.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.loss)

    @property
    def epochs(self) -> np.ndarray:
        """Epoch numbers 1, 2, ..., for plotting."""
        return np.arange(1, len(self.loss) + 1)

    @property
    def history(self) -> dict[str, list[float]]:
        """The curves that were measured, by name (Keras's ``history.history``)."""
        return {k: v for k, v in (("loss", self.loss), ("accuracy", self.accuracy),
                                  ("val_loss", self.val_loss),
                                  ("val_accuracy", self.val_accuracy)) if v}

    def plot(self, title: str = "Training curves", **kwargs):
        """Loss (and accuracy, when measured) against the epoch, drawn by
        :func:`cnnlib.viz.plotting.plot_history` (keyword arguments go to it); returns the
        Figure."""
        from cnnlib.viz.plotting import plot_history

        if not self.loss:
            raise ValueError("the history is empty: nothing to plot")
        return plot_history(self, title=title, **kwargs)


def _resolve_loss(loss):
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {list(LOSSES)} or a (forward, "
                             f"backward) pair, got {loss!r}")
        return LOSSES[loss]
    if isinstance(loss, tuple) and len(loss) == 2 and all(callable(f) for f in loss):
        return loss[0], loss[1], None
    raise TypeError(f"loss must be a name from {list(LOSSES)} or a (forward, backward) "
                    f"pair of functions, got {loss!r}")


def _check_data(X, y, loss_name, x_name: str, y_name: str):
    X = as_float_array(X, x_name)
    if X.ndim < 2:
        raise ValueError(f"{x_name} must have shape (N, features...), got {X.shape}")
    if loss_name == "cross_entropy":
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"{y_name} must hold class indices of shape (N,) for "
                             f"loss='cross_entropy', got shape {y.shape}")
    else:
        y = as_float_array(y, y_name)
    if len(y) != len(X):
        raise ValueError(f"{x_name} and {y_name} must have the same number of examples, "
                         f"got {len(X)} and {len(y)}")
    return X, y


def _match_target(out: np.ndarray, y: np.ndarray, loss_name) -> np.ndarray:
    """A (N,) target for an (N, 1) output is reshaped, so one logit per example works
    with labels of shape (N,)."""
    if loss_name != "cross_entropy" and y.ndim == 1 and out.shape == (len(y), 1):
        return y.reshape(-1, 1).astype(out.dtype, copy=False)
    if loss_name != "cross_entropy" and y.dtype != out.dtype:
        return y.astype(out.dtype, copy=False)
    return y


def predict(model: Module, X, batch_size: int | None = None) -> np.ndarray:
    """The model's outputs for every row of X, in evaluation mode (in batches of
    ``batch_size`` to bound memory; None = all at once). The model's training mode is
    restored afterwards."""
    if not isinstance(model, Module):
        raise TypeError(f"model must be a cnnlib Module, got {type(model).__name__}")
    X = as_float_array(X, "X")
    if X.ndim < 2:
        raise ValueError(f"X must have shape (N, features...), got {X.shape}")
    bs = len(X) if batch_size is None else check_positive_int(batch_size, "batch_size")
    was_training = model.training
    model.eval()
    try:
        outs = [model.forward(X[i:i + bs]) for i in range(0, len(X), max(bs, 1))]
    finally:
        model.train(was_training)
    return np.concatenate(outs) if outs else np.zeros((0,))


def evaluate(model: Module, loss, X, y, batch_size: int | None = None
             ) -> tuple[float, float | None]:
    """Loss and accuracy of the model on (X, y) (accuracy None when the loss has
    none, e.g. "mse")."""
    fwd, _, acc = _resolve_loss(loss)
    name = loss if isinstance(loss, str) else None
    X, y = _check_data(X, y, name, "X", "y")
    out = predict(model, X, batch_size)
    t = _match_target(out, y, name)
    value = float(fwd(out, t)[0])
    return value, (acc(out, t) if acc else None)


def fit(model: Module, loss, optimizer: Optimizer, X, y, epochs: int = 10,
        batch_size: int = 32, rng: np.random.Generator | int | None = None,
        progress: bool = True, X_val=None, y_val=None) -> History:
    """Train ``model`` with mini-batch gradient descent and return its History.

    model : a :class:`~cnnlib.nn.layers.Module` (e.g. a Sequential ending in logits).
    loss : "cross_entropy" | "bce_with_logits" | "mse" or a (forward, backward) pair.
    optimizer : e.g. ``SGD(model.parameters(), lr=0.1)``.
    X : (N, ...) inputs; y : (N,) class indices for "cross_entropy", (N,) or the
    output's shape for the others.
    epochs, batch_size : passes over the data and examples per step (the last batch of
    an epoch may be smaller); the order is shuffled every epoch with ``rng``.
    progress : show a ``tqdm.auto`` progress bar over the epochs.
    X_val, y_val : optional validation set, evaluated after every epoch.

    Each step: ``out = model(xb)``; ``L, cache = loss_forward(out, yb)``;
    ``optimizer.zero_grad()``; ``model.backward(loss_backward(1.0, cache))``;
    ``optimizer.step()``.
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a cnnlib Module, got {type(model).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a cnnlib Optimizer (e.g. SGD), got "
                        f"{type(optimizer).__name__}")
    fwd, bwd, acc = _resolve_loss(loss)
    name = loss if isinstance(loss, str) else None
    X, y = _check_data(X, y, name, "X", "y")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")
    if X_val is not None:
        X_val, y_val = _check_data(X_val, y_val, name, "X_val", "y_val")
    gen = as_rng(rng)
    history = History()

    from tqdm.auto import tqdm  # imported here: `import cnnlib` stays light
    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress)
    n = len(X)
    for _ in bar:
        model.train()
        order = gen.permutation(n)
        total_loss, total_acc = 0.0, 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            xb = X[idx]
            out = model.forward(xb)
            yb = _match_target(out, y[idx], name)
            value, cache = fwd(out, yb)
            if not np.isfinite(value):
                raise FloatingPointError(f"the loss became {value} during training: "
                                         f"lower the learning rate")
            optimizer.zero_grad()
            model.backward(bwd(1.0, cache))
            optimizer.step()
            total_loss += float(value) * len(idx)
            if acc is not None:
                total_acc += acc(out, yb) * len(idx)
        history.loss.append(total_loss / n)
        if acc is not None:
            history.accuracy.append(total_acc / n)
        postfix = {"loss": f"{history.loss[-1]:.4f}"}
        if X_val is not None:
            vl, va = evaluate(model, loss, X_val, y_val)
            history.val_loss.append(vl)
            postfix["val_loss"] = f"{vl:.4f}"
            if va is not None:
                history.val_accuracy.append(va)
                postfix["val_acc"] = f"{va:.3f}"
        bar.set_postfix(postfix)
    bar.close()
    return history
