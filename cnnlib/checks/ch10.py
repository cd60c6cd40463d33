"""Checks for the exercises of chapter 10, transfer learning
(``solutions/10_transfer_learning.ipynb``).

The student's functions receive data only (label arrays, images, a pre-trained
``state_dict`` of :func:`cnnlib.twins.transfer.small_cnn`) and return data (indices, a
trained ``state_dict``), so the checks judge what the training *did*: which weights and
batch-norm statistics changed, by how much, and whether the new head learned. The cases
catch the usual mistakes: a subset that is not balanced, not random or drawn with
replacement; a probe whose body still learns or whose batch norm still updates its
running statistics (``model.eval()`` forgotten); the old head kept; the body's smaller
learning rate given to the head, or no second parameter group at all.
"""
from __future__ import annotations

import numpy as np

from cnnlib.checks import Case, check_function, check_rng, exercise

__all__ = ["check_labelled_subset", "check_train_probe", "check_discriminative_fine_tune",
           "reference_fine_tune"]


# ----------------------------------------------------------- 10.1 a labelled subset
def _subset_checker(y, k, n_classes):
    def check(idx):
        idx = np.asarray(idx)
        if idx.ndim != 1:
            return f"return a 1-D array of indices, got shape {idx.shape}"
        if not np.issubdtype(idx.dtype, np.integer):
            return f"return integer indices into y, got dtype {idx.dtype}"
        if len(idx) != k * n_classes:
            return (f"expected {k} indices for each of the {n_classes} classes, "
                    f"{k * n_classes} in all; got {len(idx)}")
        if idx.min() < 0 or idx.max() >= len(y):
            return f"indices must lie in 0..{len(y) - 1}, got {idx.min()}..{idx.max()}"
        if len(set(idx.tolist())) != len(idx):
            return ("some examples were drawn twice: draw WITHOUT replacement "
                    "(rng.choice(..., replace=False) or a permutation)")
        counts = np.bincount(np.asarray(y)[idx], minlength=n_classes)
        if not np.all(counts == k):
            return f"every class needs exactly {k} examples; the counts are {counts.tolist()}"
        return None
    return check


@exercise("10.1", "A few labels per class")
def check_labelled_subset(labelled_subset):
    """``labelled_subset(y, per_class, rng)``: int indices into y, ``per_class`` of each
    class, no index twice, chosen at random with ``np.random.default_rng(rng)``."""
    rng = check_rng(1001)
    y = rng.permutation(np.repeat(np.arange(5), [30, 12, 25, 40, 9]))
    sorted_y = np.sort(y)
    seeds = [int(s) for s in rng.integers(0, 2**31, size=3)]

    def not_the_first_ones(idx):
        msg = _subset_checker(sorted_y, 3, 5)(idx)
        if msg:
            return msg
        firsts = {int(i) for c in range(5) for i in np.flatnonzero(sorted_y == c)[:3]}
        if set(np.asarray(idx).tolist()) == firsts:
            return ("you kept the first 3 examples of each class: choose them at random, "
                    "with rng = np.random.default_rng(rng) and rng.choice(..., "
                    "replace=False) or rng.permutation")
        return None

    return check_function(labelled_subset, [
        Case("5 classes of 9 to 40 examples, 4 labels per class", (y, 4, seeds[0]),
             check=_subset_checker(y, 4, 5),
             hint="for each class c: np.flatnonzero(y == c), then choose per_class of "
                  "them without replacement"),
        Case("as many labels as the smallest class holds (9)", (y, 9, seeds[1]),
             check=_subset_checker(y, 9, 5),
             hint="the smallest class has exactly 9 examples: all of them are chosen"),
        Case("labels sorted by class", (sorted_y, 2, seeds[2]),
             check=_subset_checker(sorted_y, 2, 5)),
        Case("a random choice, not the first examples of each class",
             (sorted_y, 3, seeds[1]), check=not_the_first_ones),
    ])


# -------------------------------------------------------------- shared set-up
def _pretrained_state(seed: int):
    """The state_dict of a small_cnn(10) with non-trivial batch-norm statistics."""
    import torch
    from cnnlib.twins.transfer import small_cnn
    torch.manual_seed(seed)
    net = small_cnn(10)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
    return {k: v.clone() for k, v in net.state_dict().items()}


def _task(rng, n: int, classes: int):
    """n easy images (N, 28, 28): class c has a bright square at its own place."""
    y = rng.permutation(np.arange(n) % classes)
    X = rng.uniform(0.0, 0.15, size=(n, 28, 28))
    for i, c in enumerate(y):
        r, col = 3 + 7 * (c // 3), 3 + 8 * (c % 3)
        X[i, r:r + 6, col:col + 6] = 1.0
    return X, y.astype(np.int64)


def _train_accuracy(state, X, y) -> float:
    import torch
    from cnnlib.twins.transfer import accuracy, small_cnn
    net = small_cnn(10)
    net.head = torch.nn.Linear(net.num_features, int(state["head.weight"].shape[0]))
    net.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    return accuracy(net, X, y)


def _as_numpy(state) -> dict:
    if not isinstance(state, dict):
        raise TypeError
    return {k: np.asarray(getattr(v, "numpy", lambda: v)()) for k, v in state.items()}


def _state_problem(state, before, classes) -> str | None:
    try:
        got = _as_numpy(state)
    except Exception:
        return (f"return the trained model's state_dict() (a dict of tensors), got "
                f"{type(state).__name__}")
    missing = sorted(set(before) - set(got))
    if missing:
        return f"the state_dict lacks {missing[:3]}: return model.state_dict()"
    shape = got["head.weight"].shape
    if shape != (classes, before["head.weight"].shape[1]):
        return (f"the head must be a NEW nn.Linear(model.num_features, num_classes) with "
                f"weight shape {(classes, before['head.weight'].shape[1])}; got {shape}: "
                f"was the old 10-class head kept?")
    return None


def _body_keys(before, *, statistics: bool):
    keys = [k for k in before if k.startswith("body.")]
    stats = ("running_mean", "running_var", "num_batches_tracked")
    return [k for k in keys if k.endswith(stats) == statistics]


def _max_change(a, b, keys) -> float:
    return max(float(np.max(np.abs(np.asarray(a[k], float) - np.asarray(b[k], float))))
               for k in keys)


# ------------------------------------------------------ 10.2 freeze a body, train a head
@exercise("10.2", "Freeze the body, train a new head")
def check_train_probe(train_probe):
    """``train_probe(state, X, y, num_classes, steps)``: a small_cnn(10) with the weights
    ``state``, a new head of ``num_classes`` outputs, the body frozen (no gradients,
    batch norm in evaluation mode), ``steps`` full-batch Adam steps on the head; returns
    the trained model's state_dict."""
    import torch
    rng = check_rng(1002)
    seed = int(rng.integers(0, 2**31))
    before = {k: v.numpy() for k, v in _pretrained_state(seed).items()}
    X3, y3 = _task(rng, 30, 3)
    X5, y5 = _task(rng, 40, 5)

    def frozen_and_learned(X, y, classes):
        def check(state):
            msg = _state_problem(state, before, classes)
            if msg:
                return msg
            got = _as_numpy(state)
            moved = _max_change(got, before, _body_keys(before, statistics=False))
            if moved > 0:
                return (f"the body's weights changed (by up to {moved:.3g}): freeze them "
                        f"with p.requires_grad_(False) for p in model.body.parameters(), "
                        f"and give the optimiser only model.head.parameters()")
            drift = _max_change(got, before, _body_keys(before, statistics=True))
            if drift > 0:
                return (f"the body's batch-norm running statistics changed (by up to "
                        f"{drift:.3g}): a frozen body must also be in evaluation mode, "
                        f"model.body.eval() (after any model.train())")
            acc = _train_accuracy(got, X, y)
            if acc < 0.9:
                return (f"the new head reached only {acc:.0%} on its own training images "
                        f"(at least 90% expected on this easy task): train it with "
                        f"torch.optim.Adam(model.head.parameters(), lr=1e-2) on "
                        f"cross-entropy for the given number of steps")
            return None
        return check

    state = {k: torch.tensor(v) for k, v in before.items()}
    return check_function(train_probe, [
        Case("3 new classes, 30 images, 60 steps", (state, X3, y3, 3, 60),
             check=frozen_and_learned(X3, y3, 3)),
        Case("5 new classes, 40 images, 80 steps", (state, X5, y5, 5, 80),
             check=frozen_and_learned(X5, y5, 5)),
    ])


# ------------------------------------------ 10.3 a smaller learning rate for the body
def reference_fine_tune(state, X, y, num_classes, lr, body_lr_factor, steps):
    """The model solution of Exercise 10.3, used to measure how far a body moves."""
    import torch
    from torch import nn
    from cnnlib.twins.transfer import small_cnn
    torch.manual_seed(0)
    model = small_cnn(10)
    model.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    model.head = nn.Linear(model.num_features, num_classes)
    opt = torch.optim.Adam([
        {"params": model.body.parameters(), "lr": lr * body_lr_factor},
        {"params": model.head.parameters(), "lr": lr}])
    xb = torch.tensor(np.asarray(X)[:, None], dtype=torch.float32)
    yb = torch.as_tensor(np.asarray(y))
    model.train()
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@exercise("10.3", "A smaller learning rate for the body")
def check_discriminative_fine_tune(fine_tune_discriminative):
    """``fine_tune_discriminative(state, X, y, num_classes, lr, body_lr_factor, steps)``:
    a small_cnn(10) with the weights ``state`` and a new head, every weight trained with
    ``steps`` full-batch Adam steps, the body at ``lr * body_lr_factor`` and the head
    at ``lr`` (two parameter groups); returns the trained model's state_dict."""
    import torch
    rng = check_rng(1003)
    seed = int(rng.integers(0, 2**31))
    before = {k: v.numpy() for k, v in _pretrained_state(seed).items()}
    state = {k: torch.tensor(v) for k, v in before.items()}
    X, y = _task(rng, 30, 3)
    weights = _body_keys(before, statistics=False)

    def body_moves_like_reference(factor, lr=3e-3, steps=30):
        ref = _as_numpy(reference_fine_tune(before, X, y, 3, lr, factor, steps))
        ref_move = _max_change(ref, before, weights)

        def check(result):
            msg = _state_problem(result, before, 3)
            if msg:
                return msg
            got = _as_numpy(result)
            move = _max_change(got, before, weights)
            head_move = float(np.abs(got["head.weight"]).max())
            if factor == 0 and move > 0:
                return (f"with body_lr_factor = 0 the body's weights must not change, but "
                        f"they moved by up to {move:.3g}: give the body its own parameter "
                        f"group with lr = lr * body_lr_factor (are the two groups' rates "
                        f"swapped, or is there only one group?)")
            if factor > 0 and not ref_move / 3 <= move <= 3 * ref_move:
                more = "more" if move > ref_move else "less"
                return (f"the body's weights moved by up to {move:.3g}; with a body "
                        f"learning rate of {lr:g} x {factor:g} Adam moves them by about "
                        f"{ref_move:.3g} in {steps} steps. They moved {more}: are the two "
                        f"groups' rates swapped, or is there only one group? Use "
                        f"[{{'params': model.body.parameters(), 'lr': lr * body_lr_factor}}, "
                        f"{{'params': model.head.parameters(), 'lr': lr}}]")
            if head_move == 0:
                return "the new head did not learn: it must be in the second group at lr"
            acc = _train_accuracy(got, X, y)
            if factor >= 0.1 and acc < 0.9:
                return (f"the fine-tuned network reached only {acc:.0%} on its own "
                        f"training images (at least 90% expected on this easy task)")
            return None
        return check

    return check_function(fine_tune_discriminative, [
        Case("body_lr_factor = 0: only the head learns", (state, X, y, 3, 3e-3, 0.0, 20),
             check=body_moves_like_reference(0.0, steps=20)),
        Case("body_lr_factor = 0.1: the body moves about 10 times more slowly",
             (state, X, y, 3, 3e-3, 0.1, 30), check=body_moves_like_reference(0.1)),
        Case("body_lr_factor = 1: full fine-tuning", (state, X, y, 3, 3e-3, 1.0, 30),
             check=body_moves_like_reference(1.0)),
    ])
