"""The open training loop: mini-batches with a per-batch transform, schedulers,
callbacks, custom steps, metrics, and clear errors for empty or broken data."""
import numpy as np
import pytest

import cnnlib.nn as nn
from cnnlib.optim import SGD
from cnnlib.train import (Callback, History, StopTraining, accuracy, binary_accuracy,
                          evaluate, fit, iterate_minibatches, num_batches, predict,
                          top_k_accuracy, train_step)


def blobs(n=90, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    return centres[y] + 0.6 * rng.normal(size=(n, 2)), y


def small_net(seed=0):
    return nn.Sequential(nn.Linear(2, 8, rng=seed), nn.ReLU(), nn.Linear(8, 3, rng=seed + 1))


def test_minibatches_visit_every_example_once_per_pass():
    X = np.arange(23.0)[:, None]
    y = np.arange(23)
    seen = []
    for xb, yb in iterate_minibatches(X, y, 5, rng=0):
        np.testing.assert_array_equal(xb[:, 0], yb)
        seen.extend(yb)
    assert sorted(seen) == list(range(23)) and seen != list(range(23))
    sizes = [len(xb) for xb in iterate_minibatches(X, None, 5, shuffle=False)]
    assert sizes == [5, 5, 5, 5, 3] and num_batches(23, 5) == 5
    assert [len(b) for b in iterate_minibatches(X, None, 5, drop_last=True)] == [5] * 4
    assert num_batches(23, 5, drop_last=True) == 4
    with pytest.raises(ValueError, match="no examples"):
        next(iterate_minibatches(X[:0], None, 5))
    with pytest.raises(ValueError, match="same number"):
        next(iterate_minibatches(X, y[:3], 5))


def test_transform_is_drawn_afresh_for_every_batch_and_never_touches_the_data():
    X, y = blobs()
    X_before = X.copy()
    calls = []

    def jitter(xb, rng):
        calls.append(len(xb))
        return xb + rng.normal(scale=0.01, size=xb.shape)

    net = small_net()
    hist = fit(net, "cross_entropy", SGD(net.parameters(), lr=0.1), X, y, epochs=3,
               batch_size=32, rng=0, progress=False, transform=jitter,
               validation_data=(X, y))
    assert calls == [32, 32, 26] * 3           # training batches only, not validation
    np.testing.assert_array_equal(X, X_before)
    assert len(hist) == 3
    with pytest.raises(ValueError, match="returned 1 examples"):
        fit(net, "cross_entropy", SGD(net.parameters(), lr=0.1), X, y, epochs=1,
            progress=False, transform=lambda xb, rng: xb[:1])


class Halve:
    """A minimal scheduler: halves every group's lr at each step."""

    def __init__(self, optimizer):
        self.optimizer, self.calls = optimizer, 0

    def step(self):
        self.calls += 1
        for g in self.optimizer.param_groups:
            g["lr"] /= 2


def test_scheduler_steps_per_epoch_or_per_batch_and_lr_is_logged():
    X, y = blobs(40)
    net = small_net()
    opt = SGD(net.parameters(), lr=0.8)
    sched = Halve(opt)
    hist = fit(net, "cross_entropy", opt, X, y, epochs=4, batch_size=10, rng=0,
               progress=False, scheduler=sched)
    assert sched.calls == 4 and hist.lr == [0.8, 0.4, 0.2, 0.1] and opt.lr == 0.05
    opt = SGD(net.parameters(), lr=1.0)
    sched = Halve(opt)
    fit(net, "cross_entropy", opt, X, y, epochs=2, batch_size=10, rng=0, progress=False,
        scheduler=sched, scheduler_interval="batch")
    assert sched.calls == 8 and opt.lr == 2.0 ** -8
    with pytest.raises(TypeError, match="step"):
        fit(net, "cross_entropy", opt, X, y, epochs=1, progress=False, scheduler=3)
    with pytest.raises(ValueError, match="scheduler_interval"):
        fit(net, "cross_entropy", opt, X, y, epochs=1, progress=False,
            scheduler=sched, scheduler_interval="step")


def test_callbacks_see_every_epoch_and_can_stop_training():
    X, y = blobs(40)
    net = small_net()
    seen = []

    class Recorder(Callback):
        def on_epoch_end(self, epoch, logs):
            seen.append((epoch, round(logs["loss"], 12)))

    def stop_at_three(epoch, logs):
        return epoch == 3

    hist = fit(net, "cross_entropy", SGD(net.parameters(), lr=0.1), X, y, epochs=10,
               progress=False, rng=0, callbacks=[Recorder(), stop_at_three])
    assert len(hist) == 3 and [e for e, _ in seen] == [1, 2, 3]
    assert [v for _, v in seen] == [round(v, 12) for v in hist.loss]

    class Early(Callback):
        def on_batch_end(self, step, logs):
            if step == 5:
                raise StopTraining

    assert len(fit(net, "cross_entropy", SGD(net.parameters(), lr=0.1), X, y,
                   epochs=10, batch_size=10, progress=False, callbacks=[Early()])) == 2
    with pytest.raises(TypeError, match=r"callbacks\[0\]"):
        fit(net, "cross_entropy", SGD(net.parameters(), lr=0.1), X, y, epochs=1,
            progress=False, callbacks=[3])


def test_custom_step_on_unlabelled_data():
    """A step of one's own: here, two noisy views through one network pulled together
    (a toy of chapter 11's two-view step)."""
    X, _ = blobs(60)
    net = small_net()
    opt = SGD(net.parameters(), lr=0.05)
    rng = np.random.default_rng(0)

    def two_views(xb):
        va = xb + rng.normal(scale=0.1, size=xb.shape)
        vb = xb + rng.normal(scale=0.1, size=xb.shape)
        za, zb = net(va), net(vb)
        diff = za - zb
        opt.zero_grad()
        net.backward(-diff / len(xb))        # d/dzb of 0.5 |za - zb|^2 / n
        net.backward(diff / len(xb))         # d/dza
        opt.step()
        return {"loss": 0.5 * float((diff ** 2).sum()) / len(xb)}

    hist = fit(net, None, opt, X, epochs=5, batch_size=20, rng=0, progress=False,
               step=two_views)
    assert set(hist.history) == {"loss", "lr"} and len(hist) == 5
    assert hist.loss[-1] < hist.loss[0]
    assert all(m.pending == 0 for m in net.modules())
    with pytest.raises(ValueError, match="y is needed"):
        fit(net, "cross_entropy", opt, X, epochs=1, progress=False)
    with pytest.raises(TypeError, match="dict of values"):
        fit(net, None, opt, X, epochs=1, progress=False, step=lambda b: 0.5)


def test_empty_and_non_finite_data_are_blamed_on_the_data():
    X, y = blobs(30)
    net = small_net()
    opt = SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="no examples"):
        fit(net, "cross_entropy", opt, X[:0], y[:0], epochs=1, progress=False)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite.*clean the data"):
        fit(net, "cross_entropy", opt, bad, y, epochs=1, progress=False)
    with pytest.raises(ValueError, match="X_val holds no examples"):
        fit(net, "cross_entropy", opt, X, y, epochs=1, progress=False,
            validation_data=(X[:0], y[:0]))
    with pytest.raises(ValueError, match="no examples"):
        evaluate(net, "cross_entropy", X[:0], y[:0])


def test_train_step_and_metrics():
    X, y = blobs(30)
    net = small_net()
    opt = SGD(net.parameters(), lr=0.1)
    before = net.state_dict()
    value, out = train_step(net, "cross_entropy", opt, X, y)
    assert out.shape == (30, 3) and np.isfinite(value)
    assert any(not np.array_equal(before[k], v) for k, v in net.state_dict().items())
    z = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 2.0]])
    assert accuracy(z, [0, 2, 2]) == pytest.approx(2 / 3)
    assert top_k_accuracy(z, [2, 2, 0], k=2) == pytest.approx(2 / 3)
    assert binary_accuracy(np.array([[1.0], [-2.0]]), np.array([1.0, 1.0])) == 0.5
    with pytest.raises(ValueError, match="same number of rows"):
        accuracy(z, [0, 1])
    hist = fit(net, "cross_entropy", opt, X, y, epochs=2, progress=False,
               metrics=["accuracy", "top5_accuracy"], validation_data=(X, y))
    assert set(hist.history) == {"loss", "accuracy", "top5_accuracy", "val_loss",
                                 "val_accuracy", "val_top5_accuracy", "lr"}
    assert hist.top5_accuracy == [1.0, 1.0]
    with pytest.raises(ValueError, match="metrics"):
        fit(net, "cross_entropy", opt, X, y, epochs=1, progress=False, metrics=["f1"])


def test_predict_and_evaluate_leave_no_pending_cache():
    X, y = blobs(30)
    net = small_net()
    predict(net, X, batch_size=7)
    evaluate(net, "cross_entropy", X, y)
    assert all(m.pending == 0 for m in net.modules())


def test_history_one_format():
    h = History()
    h.log(loss=2.0, accuracy=0.5)
    h.log(loss=1.0, accuracy=0.75)
    assert len(h) == 2 and h["loss"] == [2.0, 1.0] and h.accuracy == [0.5, 0.75]
    assert h.val_loss == [] and "loss" in h and "val_loss" not in h
    with pytest.raises(KeyError, match="was not measured"):
        h["val_loss"]
    assert "2 epochs" in repr(h)
    np.testing.assert_array_equal(h.epochs, [1, 2])
