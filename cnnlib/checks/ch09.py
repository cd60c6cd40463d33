"""Checks for the exercises of chapter 9, the tricks of real networks
(``solutions/09_real_networks.ipynb``).

Each check calls the student's function on several cases and compares what it returns
with cnnlib (and PyTorch where it has the same thing): a random crop drawn with the
documented order of draws from the same seed; batch norm's forward and backward in
training mode on random, non-square batches (a batch of two, a constant feature);
a cosine schedule with a linear warm-up, step by step against PyTorch's
``SequentialLR(LinearLR, CosineAnnealingLR)``; and the mean and spread of an experiment
repeated over seeds.
"""
from __future__ import annotations

import math

import numpy as np

from cnnlib.checks import Case, check_function, check_rng, exercise

__all__ = ["check_random_crop", "check_batchnorm_forward", "check_batchnorm_backward",
           "check_warmup_cosine_lr", "check_mean_and_std", "reference_warmup_cosine_lr"]


# --------------------------------------------------------------- 9.1 random crop
def _reference_crop(x, size, padding, rng):
    from cnnlib.data.transforms import RandomCrop
    return RandomCrop(size, padding=padding)(x, rng)


@exercise("9.1", "A random crop with padding")
def check_random_crop(random_crop):
    """``random_crop(x, size, padding, rng)``: x (N, C, H, W) padded with ``padding``
    rings of zeros, then a ``size`` x ``size`` window per image whose top row is drawn
    first for all images, ``rng.integers(0, H + 2 padding - size + 1, size=N)``, then
    its left column, the same with W; ``rng`` is a seed (or a Generator) for
    ``np.random.default_rng``."""
    rng = check_rng(901)
    digits = rng.random((6, 1, 28, 28))
    photos = rng.random((3, 3, 10, 14))
    seeds = [int(s) for s in rng.integers(0, 2**31, size=6)]
    draw_hint = ("start with rng = np.random.default_rng(rng); draw all the tops first, "
                 "tops = rng.integers(0, H + 2 * padding - size + 1, size=N), then all "
                 "the lefts the same way with W; image k is the window "
                 "padded[k, :, tops[k]:tops[k] + size, lefts[k]:lefts[k] + size]")
    pad_hint = ("pad only the two image axes: np.pad(x, ((0, 0), (0, 0), (padding, "
                "padding), (padding, padding)))")
    return check_function(random_crop, [
        Case("no padding, a window as large as the image: the images themselves",
             (digits, 28, 0, seeds[0]), expected=digits, rtol=0, atol=0,
             hint="with size = H = W and padding 0 the only window is the whole image"),
        Case("digits (6, 1, 28, 28), size 28, padding 4 (shifts of up to 4 pixels)",
             (digits, 28, 4, seeds[1]), expected=_reference_crop, rtol=0, atol=0,
             hint=pad_hint + "; " + draw_hint),
        Case("non-square RGB images (3, 3, 10, 14), size 8, padding 2",
             (photos, 8, 2, seeds[2]), expected=_reference_crop, rtol=0, atol=0,
             hint="the window is size x size; the tops range over H + 2*padding - size + 1 "
                  "values and the lefts over W + 2*padding - size + 1: use H for the rows "
                  "and W for the columns"),
        Case("a smaller window without padding: size 20 of 28",
             (digits, 20, 0, seeds[3]), expected=_reference_crop, rtol=0, atol=0,
             hint=draw_hint),
        Case("one image (batch of 1)", (digits[:1], 24, 3, seeds[4]),
             expected=_reference_crop, rtol=0, atol=0, hint=draw_hint),
        Case("40 copies of one digit: each copy gets its own window",
             (np.repeat(digits[:1], 40, axis=0), 28, 4, seeds[5]), expected=_reference_crop,
             rtol=0, atol=0,
             hint="draw one top and one left per image (size=N), not one for the batch"),
    ])


# ------------------------------------------------------- 9.2 batch norm forward
def _bn_cases(seed: int):
    rng = check_rng(seed)
    x = rng.normal(2.0, 3.0, size=(16, 5))
    gamma, beta = rng.uniform(0.5, 2.0, 5), rng.normal(size=5)
    constant = rng.normal(size=(8, 3))
    constant[:, 1] = 4.0                      # a feature that never changes
    return [
        ("a batch of 16 with 5 features", (x, gamma, beta)),
        ("gamma = 1, beta = 0: zero mean and unit variance per feature",
         (x[:, :3], np.ones(3), np.zeros(3))),
        ("a batch of only 2 examples", (x[:2], gamma, beta)),
        ("one feature constant over the batch (its variance is 0: eps matters)",
         (constant, np.ones(3), np.full(3, 0.5))),
        ("eps = 0.1", (x, gamma, beta, 0.1)),
    ]


def _reference_bn(x, gamma, beta, eps=1e-5):
    from cnnlib.functional.normalization import batch_norm
    return batch_norm(x, weight=gamma, bias=beta, training=True, eps=eps)


def _torch_bn(x, gamma, beta, eps=1e-5):
    import torch
    return torch.nn.functional.batch_norm(
        torch.as_tensor(np.asarray(x, dtype=np.float64)), None, None,
        torch.as_tensor(np.asarray(gamma, dtype=np.float64)),
        torch.as_tensor(np.asarray(beta, dtype=np.float64)), training=True, eps=eps)


@exercise("9.2", "Batch norm: the forward pass")
def check_batchnorm_forward(batchnorm_forward):
    """``batchnorm_forward(x, gamma, beta, eps=1e-5) -> (out, cache)`` in training mode:
    x (N, D); out = gamma (x - mean) / sqrt(var + eps) + beta with the mean and the
    biased variance of each column over the batch."""
    def output_of_batchnorm_forward(x, gamma, beta, eps=1e-5):
        result = batchnorm_forward(x, gamma, beta, eps)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"batchnorm_forward must return a pair (out, cache), got "
                            f"{type(result).__name__}")
        return result[0]

    hint = ("per feature (column, axis=0): mu = x.mean(axis=0), var = x.var(axis=0) "
            "(divide by N, not N - 1), x_hat = (x - mu) / np.sqrt(var + eps), "
            "out = gamma * x_hat + beta")
    cases = [Case(name + " (against cnnlib)", args, expected=_reference_bn, rtol=1e-10,
                  atol=1e-12, hint=hint) for name, args in _bn_cases(902)]
    cases.append(Case("against torch.nn.functional.batch_norm", _bn_cases(903)[0][1],
                      expected=_torch_bn, rtol=1e-10, atol=1e-12, hint=hint))
    return check_function(output_of_batchnorm_forward, cases)


# ------------------------------------------------------ 9.3 batch norm backward
def _reference_bn_grads(x, gamma, beta, dout, eps=1e-5):
    from cnnlib.functional.normalization import batch_norm_backward, batch_norm_forward
    _, cache = batch_norm_forward(x, weight=gamma, bias=beta, training=True, eps=eps)
    return batch_norm_backward(dout, cache)


def _torch_bn_grads(x, gamma, beta, dout, eps=1e-5):
    import torch
    t = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
         for a in (x, gamma, beta)]
    out = torch.nn.functional.batch_norm(t[0], None, None, t[1], t[2], training=True,
                                         eps=eps)
    out.backward(torch.as_tensor(np.asarray(dout, dtype=np.float64)))
    return tuple(a.grad for a in t)


@exercise("9.3", "Batch norm: the backward pass")
def check_batchnorm_backward(batchnorm_forward, batchnorm_backward):
    """``batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)`` for the cache of the
    student's ``batchnorm_forward`` (training mode)."""
    def gradients_of_batchnorm(x, gamma, beta, dout, eps=1e-5):
        _, cache = batchnorm_forward(x, gamma, beta, eps)
        return tuple(batchnorm_backward(dout, cache))

    rng = check_rng(904)
    cases = []
    hint = ("with g = gamma * dout: dx = (g - g.mean(axis=0) - x_hat * (g * x_hat)"
            ".mean(axis=0)) / np.sqrt(var + eps); dgamma = (dout * x_hat).sum(axis=0); "
            "dbeta = dout.sum(axis=0). The two mean terms come from mu and var depending "
            "on every x of the column")
    for name, args in _bn_cases(905):
        x, gamma, beta = args[:3]
        eps = args[3] if len(args) > 3 else 1e-5
        dout = rng.normal(size=x.shape)
        cases.append(Case(name + " (against cnnlib)", (x, gamma, beta, dout, eps),
                          expected=_reference_bn_grads, rtol=1e-8, atol=1e-10, hint=hint))
    x, gamma, beta = _bn_cases(906)[0][1]
    cases.append(Case("against PyTorch's autograd", (x, gamma, beta, rng.normal(size=x.shape)),
                      expected=_torch_bn_grads, rtol=1e-8, atol=1e-10, hint=hint))
    return check_function(gradients_of_batchnorm, cases)


# -------------------------------------------------- 9.4 warm-up + cosine schedule
def reference_warmup_cosine_lr(step: int, total_steps: int, warmup_steps: int,
                               base_lr: float, min_lr: float = 0.0) -> float:
    """The schedule of Exercise 9.4: base_lr (t + 1) / W for t < W, then a cosine from
    base_lr down to min_lr over the remaining T - W steps."""
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    t, span = step - warmup_steps, total_steps - warmup_steps
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * t / span)) / 2


def _torch_curve(total_steps, warmup_steps, base_lr, min_lr=0.0):
    import warnings

    import torch
    S = torch.optim.lr_scheduler
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    sched = S.SequentialLR(opt, [
        S.LinearLR(opt, start_factor=1 / warmup_steps, end_factor=1.0,
                   total_iters=warmup_steps - 1),
        S.CosineAnnealingLR(opt, T_max=total_steps - warmup_steps, eta_min=min_lr)],
        milestones=[warmup_steps])
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # no optimiser step: only the rates
        for _ in range(total_steps):
            lrs.append(opt.param_groups[0]["lr"])
            sched.step()
    return np.array(lrs)


def _reference_curve(total_steps, warmup_steps, base_lr, min_lr=0.0):
    return np.array([reference_warmup_cosine_lr(t, total_steps, warmup_steps, base_lr,
                                                min_lr) for t in range(total_steps)])


@exercise("9.4", "A cosine schedule with a linear warm-up")
def check_warmup_cosine_lr(warmup_cosine_lr):
    """``warmup_cosine_lr(step, total_steps, warmup_steps, base_lr, min_lr=0.0)``: the
    learning rate at step t = 0, 1, ..., total_steps - 1: base_lr (t + 1) / W during the
    W warm-up steps, then min_lr + (base_lr - min_lr) (1 + cos(pi (t - W) / (T - W))) / 2."""
    def curve_of_warmup_cosine_lr(total_steps, warmup_steps, base_lr, min_lr=0.0):
        return np.array([float(warmup_cosine_lr(t, total_steps, warmup_steps, base_lr,
                                                min_lr)) for t in range(total_steps)],
                        dtype=np.float64)

    warm_hint = ("during the warm-up (t < W) the rate grows in W equal steps to base_lr: "
                 "base_lr * (t + 1) / W, so that step W - 1 reaches base_lr")
    cos_hint = ("after the warm-up, count the steps from W: t' = t - W runs over "
                "0 .. T - W - 1, and the cosine covers T - W steps: min_lr + (base_lr - "
                "min_lr) * (1 + cos(pi * t' / (T - W))) / 2")
    return check_function(curve_of_warmup_cosine_lr, [
        Case("100 steps, 10 of warm-up, base 0.1, against PyTorch's SequentialLR",
             (100, 10, 0.1), expected=_torch_curve, rtol=1e-9, atol=1e-12,
             hint=warm_hint + "; " + cos_hint),
        Case("the first warm-up step is base_lr / W, not 0", (20, 4, 1.0),
             expected=_reference_curve, rtol=1e-12, atol=1e-15, hint=warm_hint),
        Case("min_lr = 0.01: the cosine ends above 0, against PyTorch",
             (60, 5, 0.5, 0.01), expected=_torch_curve, rtol=1e-9, atol=1e-12,
             hint="the cosine moves between base_lr and min_lr: min_lr + (base_lr - "
                  "min_lr) * (1 + cos(...)) / 2"),
        Case("no warm-up (W = 0): a plain cosine from base_lr", (50, 0, 0.2),
             expected=_reference_curve, rtol=1e-12, atol=1e-15,
             hint="with W = 0 every step is on the cosine, and step 0 is base_lr; "
                  "do not divide by W"),
        Case("a long warm-up: 30 of 40 steps", (40, 30, 0.05), expected=_torch_curve,
             rtol=1e-9, atol=1e-12, hint=cos_hint),
    ])


# ------------------------------------------------------ 9.5 mean and spread
def _recording(values):
    """A fake experiment: returns values[seed]; remembers the seeds it was run with."""
    calls: list = []

    def run(seed):
        calls.append(seed)
        return values[seed]

    return run, calls


@exercise("9.5", "An experiment loop with error bars")
def check_mean_and_std(mean_and_std):
    """``mean_and_std(run, seeds) -> (mean, std)``: call ``run(seed)`` once for each
    seed, in order, and return the mean of the results and their sample standard
    deviation (n - 1 in the denominator)."""
    def case(name, values, seeds, hint=""):
        run, calls = _recording(values)
        expected = [values[s] for s in seeds]
        ref = (float(np.mean(expected)), float(np.std(expected, ddof=1)))

        def called_once_per_seed(got):
            if calls != list(seeds):
                return (f"run was called with the seeds {calls}, expected each of "
                        f"{list(seeds)} once, in order")
            return None

        # the recording run is handed over as data: the check inspects the calls after
        return Case(name, (run, seeds), expected=ref, rtol=1e-12, atol=1e-15,
                    check=called_once_per_seed, hint=hint)

    std_hint = ("the sample standard deviation divides by n - 1: np.std(results, ddof=1) "
                "(np.std's default divides by n)")
    rng = check_rng(905)
    accs = {s: float(v) for s, v in zip((0, 1, 2, 3, 7, 11), rng.uniform(0.85, 0.95, 6))}
    return check_function(mean_and_std, [
        case("three seeds 0, 1, 2", accs, [0, 1, 2], std_hint),
        case("seeds that are not 0, 1, 2: [3, 7, 11]", accs, [3, 7, 11],
             "call run(seed) for each seed in seeds, not for 0 .. n - 1"),
        case("two seeds", accs, [2, 7], std_hint),
        case("seeds given as a tuple", accs, (0, 1, 2, 3), std_hint),
        case("every run gives the same result: no spread", {0: 0.5, 1: 0.5, 2: 0.5},
             [0, 1, 2], "identical results have a standard deviation of 0"),
        case("six seeds", accs, [0, 1, 2, 3, 7, 11], std_hint),
    ])
