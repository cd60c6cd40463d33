"""The checks of chapter 9 (cnnlib.checks.ch09): right answers pass, the typical wrong
ones fail on the case meant to catch them, with its hint, and no traceback."""
import math

import numpy as np
import pytest

from cnnlib.checks import ch09, exercises_for_notebook


# ------------------------------------------------------------- right answers
def random_crop(x, size, padding, rng, each_image=True):
    rng = np.random.default_rng(rng)
    x = np.asarray(x)
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    k = n if each_image else 1
    tops = np.resize(rng.integers(0, h + 2 * padding - size + 1, size=k), n)
    lefts = np.resize(rng.integers(0, w + 2 * padding - size + 1, size=k), n)
    return np.stack([padded[i, :, tops[i]:tops[i] + size, lefts[i]:lefts[i] + size]
                     for i in range(n)])


def batchnorm_forward(x, gamma, beta, eps=1e-5, ddof=0):
    x = np.asarray(x, dtype=float)
    mu, var = x.mean(axis=0), x.var(axis=0, ddof=ddof)
    inv = 1 / np.sqrt(var + eps)
    x_hat = (x - mu) * inv
    return gamma * x_hat + beta, (x_hat, inv, gamma)


def batchnorm_backward(dout, cache, full=True):
    x_hat, inv, gamma = cache
    g = dout * gamma
    dx = (g - g.mean(0) - x_hat * (g * x_hat).mean(0)) * inv if full else g * inv
    return dx, (dout * x_hat).sum(0), dout.sum(0)


def warmup_cosine_lr(step, total_steps, warmup_steps, base_lr, min_lr=0.0):
    return ch09.reference_warmup_cosine_lr(step, total_steps, warmup_steps, base_lr,
                                           min_lr)


def mean_and_std(run, seeds):
    r = np.array([run(s) for s in seeds])
    return r.mean(), r.std(ddof=1)


def test_right_answers_pass(capsys):
    assert ch09.check_random_crop(random_crop)
    assert ch09.check_batchnorm_forward(batchnorm_forward)
    assert ch09.check_batchnorm_backward(batchnorm_forward, batchnorm_backward)
    assert ch09.check_warmup_cosine_lr(warmup_cosine_lr)
    assert ch09.check_mean_and_std(mean_and_std)
    out = capsys.readouterr().out
    assert out.count("✅") == 5 and "❌" not in out


def test_the_notebook_has_these_five_exercises():
    ids = [info.id for info in exercises_for_notebook("09_real_networks.ipynb")]
    assert ids == ["9.1", "9.2", "9.3", "9.4", "9.5"]


def test_the_reference_schedule_equals_cnnlibs_schedulers():
    """The exercise's formula is what cnnlib's SequentialLR(LinearLR, Cosine) gives."""
    import cnnlib.nn as L
    from cnnlib.optim import SGD
    from cnnlib.optim import lr_scheduler as S

    opt = SGD(L.Linear(2, 2).parameters(), lr=0.3)
    sched = S.SequentialLR(opt, [S.LinearLR(opt, start_factor=1 / 8, total_iters=7),
                                 S.CosineAnnealingLR(opt, T_max=42, eta_min=0.01)],
                           milestones=[8])
    got = []
    for _ in range(50):
        got.append(opt.lr)
        sched.step()
    want = [ch09.reference_warmup_cosine_lr(t, 50, 8, 0.3, 0.01) for t in range(50)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


# ------------------------------------------------------------- wrong answers
def failing(check, *answers, capsys):
    assert not check(*answers)
    out = capsys.readouterr().out
    assert out.startswith("❌") and "Traceback" not in out
    return out


def test_one_window_for_the_whole_batch_is_caught(capsys):
    out = failing(ch09.check_random_crop,
                  lambda x, s, p, rng: random_crop(x, s, p, rng, each_image=False),
                  capsys=capsys)
    assert "digits (6, 1, 28, 28), size 28, padding 4" in out.splitlines()[0]


def test_drawing_lefts_before_tops_is_caught(capsys):
    def swapped(x, size, padding, rng):
        rng = np.random.default_rng(rng)
        n, _, h, w = x.shape
        lefts = rng.integers(0, w + 2 * padding - size + 1, size=n)
        tops = rng.integers(0, h + 2 * padding - size + 1, size=n)
        p = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        return np.stack([p[i, :, tops[i]:tops[i] + size, lefts[i]:lefts[i] + size]
                         for i in range(n)])

    out = failing(ch09.check_random_crop, swapped, capsys=capsys)
    assert "draw all the tops first" in out


def test_unbiased_variance_in_the_forward_pass_is_caught(capsys):
    out = failing(ch09.check_batchnorm_forward,
                  lambda x, g, b, eps=1e-5: batchnorm_forward(x, g, b, eps, ddof=1),
                  capsys=capsys)
    assert "divide by N, not N - 1" in out


def test_a_forward_that_returns_only_out_is_told_so(capsys):
    out = failing(ch09.check_batchnorm_forward,
                  lambda x, g, b, eps=1e-5: batchnorm_forward(x, g, b, eps)[0],
                  capsys=capsys)
    assert "must return a pair (out, cache)" in out


def test_a_backward_that_forgets_the_batch_statistics_is_caught(capsys):
    out = failing(ch09.check_batchnorm_backward, batchnorm_forward,
                  lambda d, c: batchnorm_backward(d, c, full=False), capsys=capsys)
    assert "The two mean terms" in out


def test_a_backward_before_its_forward_is_written(capsys):
    def stub(x, gamma, beta, eps=1e-5):
        raise NotImplementedError("Exercise 9.2: replace this line with your code")

    assert not ch09.check_batchnorm_backward(stub, batchnorm_backward)
    out = capsys.readouterr().out
    assert out.startswith("⏳") and "Exercise 9.2" in out


def test_a_warm_up_that_starts_at_zero_is_caught(capsys):
    def from_zero(step, total, warm, base, min_lr=0.0):
        if step < warm:
            return base * step / warm
        return warmup_cosine_lr(step, total, warm, base, min_lr)

    out = failing(ch09.check_warmup_cosine_lr, from_zero, capsys=capsys)
    assert "(t + 1) / W" in out


def test_a_cosine_over_all_steps_is_caught(capsys):
    def whole(step, total, warm, base, min_lr=0.0):
        if step < warm:
            return base * (step + 1) / warm
        return min_lr + (base - min_lr) * (1 + math.cos(math.pi * step / total)) / 2

    out = failing(ch09.check_warmup_cosine_lr, whole, capsys=capsys)
    assert "count the steps from W" in out


def test_population_std_and_wrong_seeds_are_caught(capsys):
    out = failing(ch09.check_mean_and_std,
                  lambda run, seeds: (np.mean([run(s) for s in seeds]),
                                      np.std([run(s) for s in seeds])), capsys=capsys)
    assert "ddof=1" in out
    out = failing(ch09.check_mean_and_std,
                  lambda run, seeds: mean_and_std(run, range(len(list(seeds)))),
                  capsys=capsys)
    assert "seeds that are not 0, 1, 2" in out.splitlines()[0]
