"""The training loop: mini-batches, forward, loss, backward, optimiser step.

Explained in chapter 2; chapter 9 adds per-batch augmentation and learning-rate
schedules, chapter 11 a custom step (two views of each image through one encoder).

The pieces, each usable on its own:

* :func:`train_step`: one forward, loss, backward and optimiser step on one batch;
* :func:`fit`: epochs of :func:`~cnnlib.train.batches.iterate_minibatches` and
  :func:`train_step` (or a ``step`` of your own), a learning-rate ``scheduler``,
  ``callbacks``, a validation set, a progress bar, and a :class:`~cnnlib.train.History`;
* :func:`evaluate` and :func:`predict`: the model in evaluation mode without caches.

A loss is named (``"cross_entropy"`` for K-class logits and integer labels,
``"bce_with_logits"`` for one logit per example and 0/1 labels, ``"mse"`` for
regression) or given as a pair of functions ``(forward, backward)`` with the
functional convention ``forward(output, target) -> (loss, cache)`` and
``backward(1.0, cache) -> d loss / d output``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from cnnlib import functional as F
from cnnlib._validate import as_float_array, as_rng, check_in, check_positive_int
from cnnlib.nn.module import Module, no_grad
from cnnlib.optim.optimizer import Optimizer
from cnnlib.train.batches import Transform, iterate_minibatches
from cnnlib.train.history import History
from cnnlib.train.metrics import METRICS

__all__ = ["Loss", "LOSSES", "resolve_loss", "train_step", "fit", "evaluate", "predict",
           "Callback", "StopTraining"]


class Loss(NamedTuple):
    """A loss as the loop uses it: its name (None for a custom pair), the functional
    forward and backward, and the metric reported with it by default."""
    name: str | None
    forward: Callable
    backward: Callable
    metric: str | None


LOSSES: dict[str, Loss] = {
    "cross_entropy": Loss("cross_entropy", F.cross_entropy_forward,
                          F.cross_entropy_backward, "accuracy"),
    "bce_with_logits": Loss("bce_with_logits", F.binary_cross_entropy_with_logits_forward,
                            F.binary_cross_entropy_with_logits_backward, "binary_accuracy"),
    "mse": Loss("mse", F.mse_loss_forward, F.mse_loss_backward, None),
}


def resolve_loss(loss) -> Loss:
    """A name of :data:`LOSSES`, a ``(forward, backward)`` pair, or a :class:`Loss`."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        check_in(loss, "loss", list(LOSSES))
        return LOSSES[loss]
    if isinstance(loss, tuple) and len(loss) == 2 and all(callable(f) for f in loss):
        return Loss(None, loss[0], loss[1], None)
    raise TypeError(f"loss must be a name from {list(LOSSES)} or a (forward, backward) "
                    f"pair of functions, got {loss!r}")


class StopTraining(Exception):
    """Raised by a callback to end :func:`fit` after the current epoch's bookkeeping."""


class Callback:
    """Hooks into :func:`fit`; override the ones you need. ``logs`` holds the epoch's
    measured values (``"loss"``, ``"val_accuracy"``, ``"lr"``, ...). Raise
    :class:`StopTraining` (or return True from ``on_epoch_end``) to stop early."""

    def on_epoch_begin(self, epoch: int) -> None:
        pass

    def on_batch_end(self, step: int, logs: dict[str, float]) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        pass


def check_schedule(epochs, batch_size, scheduler, scheduler_interval: str) -> tuple[int, int]:
    """Validate a training run's length and schedule (shared by :func:`fit` and the torch
    side's ``train_torch``); returns ``(epochs, batch_size)`` as ints."""
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    check_in(scheduler_interval, "scheduler_interval", ["epoch", "batch"])
    if scheduler is not None and not callable(getattr(scheduler, "step", None)):
        raise TypeError(f"scheduler must have a step() method, got "
                        f"{type(scheduler).__name__}")
    return epochs, batch_size


def check_callbacks(callbacks: Iterable) -> list:
    """The callbacks as a list, each a :class:`Callback` or a function f(epoch, logs)."""
    hooks = list(callbacks)
    for i, cb in enumerate(hooks):
        if not (isinstance(cb, Callback) or callable(cb)):
            raise TypeError(f"callbacks[{i}] must be a Callback or a function "
                            f"f(epoch, logs), got {type(cb).__name__}")
    return hooks


def epoch_begins(hooks: list, epoch: int) -> None:
    """Tell every Callback that an epoch starts."""
    for cb in hooks:
        if isinstance(cb, Callback):
            cb.on_epoch_begin(epoch)


def batch_ended(hooks: list, step: int, values: dict[str, float]) -> bool:
    """Tell every Callback that a batch ended; True if one asked to stop."""
    try:
        for cb in hooks:
            if isinstance(cb, Callback):
                cb.on_batch_end(step, values)
    except StopTraining:
        return True
    return False


def end_epoch(history: History, sums: dict[str, float], seen: int,
              validate: Callable[[], dict] | None, lr: float, scheduler: Any,
              scheduler_interval: str, bar: Any, hooks: list, epoch: int) -> bool:
    """The bookkeeping after an epoch's batches, shared by the training loops: log the
    averages of the batch values (``sums`` weighted by batch size, over ``seen``
    examples), the validation scores ``validate()`` as ``val_*`` and the ``lr``; step
    an epoch-wise scheduler; show the values on the progress bar; call the callbacks.
    Returns True if a callback asked to stop."""
    logs = {k: v / seen for k, v in sums.items()}
    if validate is not None:
        logs.update({f"val_{k}": v for k, v in validate().items()})
    logs["lr"] = lr
    history.log(**logs)
    if scheduler is not None and scheduler_interval == "epoch":
        scheduler.step()
    bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k != "lr"})
    return epoch_ended(hooks, epoch, logs)


def epoch_ended(hooks: list, epoch: int, logs: dict[str, float]) -> bool:
    """Tell every callback that an epoch ended; True if one asked to stop (by returning
    True or raising StopTraining)."""
    stop = False
    try:
        for cb in hooks:
            result = (cb.on_epoch_end(epoch, logs) if isinstance(cb, Callback)
                      else cb(epoch, logs))
            stop = stop or bool(result)
    except StopTraining:
        stop = True
    return stop


# ---------------------------------------------------------------------- checks
def _check_model(model) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"model must be a cnnlib Module, got {type(model).__name__}")


def _check_inputs(X, name: str) -> np.ndarray:
    X = as_float_array(X, name)
    if X.ndim < 2:
        raise ValueError(f"{name} must have shape (N, features...), got {X.shape}")
    if len(X) == 0:
        raise ValueError(f"{name} holds no examples (shape {X.shape}): nothing to train "
                         f"or evaluate on")
    # Bad data are not a learning-rate problem: say so before training starts.
    bad = X.size - np.count_nonzero(np.isfinite(X))
    if bad:
        raise ValueError(f"{name} holds {bad} NaN or infinite values: clean the data "
                         f"(the model cannot learn from them)")
    return X


def _check_targets(y, loss: Loss, n: int, x_name: str, y_name: str) -> np.ndarray:
    if loss.name == "cross_entropy":
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"{y_name} must hold class indices of shape (N,) for "
                             f"loss='cross_entropy', got shape {y.shape}")
    else:
        y = as_float_array(y, y_name)
    if len(y) != n:
        raise ValueError(f"{x_name} and {y_name} must have the same number of examples, "
                         f"got {n} and {len(y)}")
    return y


def _match_target(out: np.ndarray, y: np.ndarray, loss: Loss) -> np.ndarray:
    """A (N,) target for an (N, 1) output is reshaped, so one logit per example works
    with labels of shape (N,); float targets take the output's dtype."""
    if loss.name == "cross_entropy":
        return y
    if y.ndim == 1 and out.shape == (len(y), 1):
        y = y.reshape(-1, 1)
    return y.astype(out.dtype, copy=False)


def _metric_functions(metrics, loss: Loss) -> dict[str, Callable]:
    if isinstance(metrics, dict):
        return dict(metrics)
    if metrics is None:
        # The loss's own metric is logged as "accuracy" (for BCE, binary accuracy).
        return {"accuracy": METRICS[loss.metric]} if loss.metric else {}
    if isinstance(metrics, str):
        metrics = [metrics]
    out = {}
    for m in metrics:
        if callable(m):
            out[getattr(m, "__name__", "metric")] = m
        else:
            check_in(m, "metrics", list(METRICS))
            out[m] = METRICS[m]
    return out


# --------------------------------------------------------------------- one step
def train_step(model: Module, loss, optimizer: Optimizer, xb: np.ndarray,
               yb: np.ndarray) -> tuple[float, np.ndarray]:
    """One step of gradient descent on one batch; returns ``(loss value, output)``.

    ``out = model(xb)``; ``L, cache = loss.forward(out, yb)``; ``optimizer.zero_grad()``;
    ``model.backward(loss.backward(1.0, cache))``; ``optimizer.step()``.
    """
    loss = resolve_loss(loss)
    out = model(xb)
    yb = _match_target(out, yb, loss)
    value, cache = loss.forward(out, yb)
    if not np.isfinite(value):
        model.clear_pending()
        raise FloatingPointError(
            f"the loss became {value} during training although the inputs are finite: "
            f"the weights are diverging; lower the learning rate (now {optimizer.lr})")
    optimizer.zero_grad()
    model.backward(loss.backward(1.0, cache))
    optimizer.step()
    return float(value), out


# ------------------------------------------------------------------------ fit
def fit(model: Module, loss, optimizer: Optimizer, X, y=None, *, epochs: int = 10,
        batch_size: int = 32, rng: np.random.Generator | int | None = None,
        progress: bool = True, validation_data: tuple | None = None,
        metrics: Sequence | None = None, transform: Transform | None = None,
        scheduler: Any = None, scheduler_interval: str = "epoch",
        callbacks: Iterable = (), step: Callable | None = None,
        drop_last: bool = False) -> History:
    """Train ``model`` with mini-batch gradient descent and return its History.

    model : a :class:`~cnnlib.nn.Module` (e.g. a Sequential ending in logits).
    loss : "cross_entropy" | "bce_with_logits" | "mse" or a (forward, backward) pair;
        None when ``step`` computes its own loss.
    optimizer : e.g. ``SGD(model.parameters(), lr=0.1)``.
    X : (N, ...) inputs; y : (N,) class indices for "cross_entropy", (N,) or the
        output's shape for the others; None for unlabelled data (with ``step``).
    epochs, batch_size : passes over the data and examples per step (the last batch of
        an epoch may be smaller unless ``drop_last``); the order is shuffled every
        epoch with ``rng``, which also drives ``transform``.
    validation_data : optional ``(X_val, y_val)``, evaluated after every epoch.
    metrics : names of :data:`cnnlib.train.metrics.METRICS`, functions
        ``metric(output, target) -> float``, or a dict name -> function (default: the
        loss's own, e.g. accuracy).
    transform : ``transform(x_batch, rng) -> x_batch``, applied to every training
        batch afresh (augmentation), never to validation data.
    scheduler : a learning-rate scheduler (anything with ``step()``), stepped after
        every epoch, or after every batch with ``scheduler_interval="batch"``.
    callbacks : :class:`Callback` objects, or functions ``f(epoch, logs)`` called after
        every epoch (return True to stop).
    step : a custom training step ``step(batch) -> dict of values`` replacing
        :func:`train_step` (``batch`` is ``(x, y)``, or ``x`` when y is None): it does
        its own forwards, backwards and ``optimizer.step()``. Its values are averaged
        over the epoch into the history.

    The history logs, per epoch: the training loss and metrics averaged over the
    epoch's batches (weighted by batch size), ``val_*`` on the validation set, and
    ``lr``, the first parameter group's learning rate during the epoch.
    """
    _check_model(model)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a cnnlib Optimizer (e.g. SGD), got "
                        f"{type(optimizer).__name__}")
    if step is None:
        loss = resolve_loss(loss)
        if y is None:
            raise ValueError("y is needed to train with a loss; pass step= to train "
                             "on unlabelled data")
    elif not callable(step):
        raise TypeError(f"step must be a function of one batch, got {type(step).__name__}")
    else:
        loss = resolve_loss(loss) if loss is not None else None
    X = _check_inputs(X, "X")
    if y is not None:
        y = _check_targets(y, loss or Loss(None, None, None, None), len(X), "X", "y")
    epochs, batch_size = check_schedule(epochs, batch_size, scheduler, scheduler_interval)
    if drop_last and len(X) < batch_size:
        raise ValueError(f"with drop_last=True, {len(X)} examples make no batch of "
                         f"{batch_size}")
    val = None
    if validation_data is not None:
        if loss is None:
            raise ValueError("validation_data needs a loss to evaluate")
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise TypeError("validation_data must be a pair (X_val, y_val)")
        Xv = _check_inputs(validation_data[0], "X_val")
        val = (Xv, _check_targets(validation_data[1], loss, len(Xv), "X_val", "y_val"))
    metric_fns = _metric_functions(metrics, loss) if loss is not None else {}
    hooks = check_callbacks(callbacks)
    gen = as_rng(rng)
    history = History()
    if step is None:
        def step(batch):
            xb, yb = batch
            value, out = train_step(model, loss, optimizer, xb, yb)
            t = _match_target(out, yb, loss)
            return {"loss": value, **{k: f(out, t) for k, f in metric_fns.items()}}

    from tqdm.auto import tqdm  # imported here: `import cnnlib` stays light
    bar = tqdm(range(1, epochs + 1), desc="training", unit="epoch", disable=not progress)
    global_step = 0
    for epoch in bar:
        epoch_begins(hooks, epoch)
        lr = optimizer.lr
        model.train()
        sums: dict[str, float] = {}
        seen = 0
        stop = False
        for batch in iterate_minibatches(X, y, batch_size, rng=gen, transform=transform,
                                         drop_last=drop_last):
            n = len(batch[0] if y is not None else batch)
            values = step(batch)
            if not isinstance(values, dict):
                raise TypeError(f"step must return a dict of values such as "
                                f"{{'loss': 0.3}}, got {type(values).__name__}")
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + float(v) * n
            seen += n
            global_step += 1
            if scheduler is not None and scheduler_interval == "batch":
                scheduler.step()
            if batch_ended(hooks, global_step, values):
                stop = True         # the epoch so far is still logged below
                break
        validate = None if val is None else \
            (lambda: evaluate(model, loss, *val, metrics=metric_fns))
        if end_epoch(history, sums, seen, validate, lr, scheduler, scheduler_interval,
                     bar, hooks, epoch) or stop:
            break
    bar.close()
    return history


# ------------------------------------------------------------- evaluation
def predict(model: Module, X, batch_size: int | None = None) -> np.ndarray:
    """The model's outputs for every row of X, in evaluation mode and without caches
    (in batches of ``batch_size`` to bound memory; None = all at once). The model's
    training mode is restored afterwards."""
    _check_model(model)
    X = as_float_array(X, "X")
    if X.ndim < 2:
        raise ValueError(f"X must have shape (N, features...), got {X.shape}")
    bs = len(X) if batch_size is None else check_positive_int(batch_size, "batch_size")
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outs = [model(X[i:i + bs]) for i in range(0, len(X), max(bs, 1))]
    finally:
        model.train(was_training)
    return np.concatenate(outs) if outs else np.zeros((0,))


def evaluate(model: Module, loss, X, y, batch_size: int | None = None,
             metrics: Sequence | None = None) -> dict[str, float]:
    """``{"loss": ..., metric: ...}`` of the model on (X, y), in evaluation mode;
    metrics default to the loss's own (accuracy for cross-entropy)."""
    loss = resolve_loss(loss)
    X = _check_inputs(X, "X")
    y = _check_targets(y, loss, len(X), "X", "y")
    fns = _metric_functions(metrics, loss)
    out = predict(model, X, batch_size)
    t = _match_target(out, y, loss)
    return {"loss": float(loss.forward(out, t)[0]),
            **{k: float(f(out, t)) for k, f in fns.items()}}
