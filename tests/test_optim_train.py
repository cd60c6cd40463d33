"""SGD against torch.optim.SGD step by step, and the training loop cnnlib.train.fit."""
import matplotlib
import numpy as np
import pytest
import torch

from cnnlib import functional as F
import cnnlib.nn as L
from cnnlib.optim import SGD
from cnnlib.train import History, evaluate, fit, predict

matplotlib.use("Agg")

from torch_devices import DEVICES


def twin_models(dtype, device):
    """The same small network in cnnlib and in torch, with the same weights."""
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.Tanh(),
                                 torch.nn.Linear(6, 3)).to(device=device, dtype=tdtype)
    ours = L.Sequential(L.Linear(5, 6, dtype=dtype), L.Tanh(), L.Linear(6, 3, dtype=dtype))
    ours.load_state_dict({k: v.detach().cpu().numpy() for k, v in
                          theirs.state_dict().items()})
    return ours, theirs


def max_param_error(ours, theirs) -> float:
    tp = {k: v.detach().cpu().numpy() for k, v in theirs.state_dict().items()}
    return max(float(np.max(np.abs(p.data - tp[k])) / np.max(np.abs(tp[k])))
               for k, p in ours.named_parameters())


CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.05, momentum=0.9, weight_decay=0.05, nesterov=True),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v
                                                                    in c.items()))
def test_sgd_matches_torch_over_several_steps(config, dtype, device):
    ours, theirs = twin_models(dtype, device)
    opt = SGD(ours.parameters(), **config)
    topt = torch.optim.SGD(theirs.parameters(), **config)
    rng = np.random.default_rng(1)
    for _ in range(6):
        x = rng.normal(size=(8, 5)).astype(dtype)
        y = rng.integers(0, 3, 8)
        # cnnlib: forward, loss, backward, step
        loss, cache = F.cross_entropy_forward(ours(x), y)
        opt.zero_grad()
        ours.backward(F.cross_entropy_backward(1.0, cache))
        opt.step()
        # torch: the same
        tl = torch.nn.functional.cross_entropy(
            theirs(torch.tensor(x, device=device)), torch.tensor(y, device=device))
        topt.zero_grad()
        tl.backward()
        topt.step()
        assert loss == pytest.approx(tl.item(), rel=1e-10 if dtype == np.float64 else 1e-5)
    # float64: same arithmetic, so only rounding differs. float32: 6 steps of updates
    # of size ~lr * grad, each carrying ~1e-7 relative rounding: 1e-5 is ample.
    tol = 1e-10 if dtype == np.float64 else 1e-5
    assert max_param_error(ours, theirs) <= tol
    assert all(p.data.dtype == dtype for p in ours.parameters())


def test_sgd_update_by_hand():
    lin = L.Linear(2, 1, rng=0)
    w0 = lin.params["weight"].copy()
    opt = SGD(lin.parameters(), lr=0.5, momentum=0.9)
    for step in range(2):
        lin.grads["weight"][...] = 1.0
        opt.step()
    # buffer: 1, then 0.9 * 1 + 1 = 1.9; total move 0.5 * (1 + 1.9)
    np.testing.assert_allclose(lin.params["weight"], w0 - 0.5 * 2.9, rtol=1e-14)
    opt.zero_grad()
    assert not lin.grads["weight"].any()


def test_sgd_rejects_bad_arguments():
    net = L.Sequential(L.Linear(2, 2))
    with pytest.raises(TypeError, match="model.parameters()"):
        SGD(net, lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        SGD(L.ReLU().parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"params\[0\]"):
        SGD([np.ones(3)], lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        SGD(3, lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        SGD(net.parameters(), lr=-0.1)
    with pytest.raises(TypeError, match="lr"):
        SGD(net.parameters(), lr="0.1")
    with pytest.raises(ValueError, match="momentum"):
        SGD(net.parameters(), lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="weight_decay"):
        SGD(net.parameters(), lr=0.1, weight_decay=float("nan"))
    with pytest.raises(ValueError, match="Nesterov"):
        SGD(net.parameters(), lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD(net.parameters(), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(TypeError, match="nesterov"):
        SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov="yes")


# ------------------------------------------------------------------------ training
def blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    return centres[y] + 0.6 * rng.normal(size=(n, 2)), y


def test_fit_reduces_the_loss_and_records_history():
    X, y = blobs()
    net = L.Sequential(L.Linear(2, 8, rng=0), L.ReLU(), L.Linear(8, 3, rng=1))
    hist = fit(net, "cross_entropy", SGD(net.parameters(), lr=0.1, momentum=0.9), X, y,
               epochs=15, batch_size=16, rng=0, progress=False,
               validation_data=(X[:50], y[:50]))
    assert isinstance(hist, History) and len(hist) == 15
    assert len(hist.accuracy) == len(hist.val_loss) == len(hist.val_accuracy) == 15
    assert hist.loss[-1] < 0.3 * hist.loss[0]
    assert hist.accuracy[-1] > 0.95 and hist.val_accuracy[-1] > 0.95
    scores = evaluate(net, "cross_entropy", X[:50], y[:50])
    assert scores["loss"] == pytest.approx(hist.val_loss[-1])
    assert scores["accuracy"] == hist.val_accuracy[-1]
    fig = hist.plot()
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert fig.get_suptitle() == "Training curves"
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert hist.lr == [0.1] * 15
    assert fig.axes[0].get_xlabel() == "epoch"
    np.testing.assert_array_equal(hist.epochs, np.arange(1, 16))


def test_fit_is_deterministic_given_rng():
    X, y = blobs()
    runs = []
    for _ in range(2):
        net = L.Sequential(L.Linear(2, 4, rng=0), L.Tanh(), L.Linear(4, 3, rng=1))
        runs.append(fit(net, "cross_entropy", SGD(net.parameters(), lr=0.1), X, y,
                        epochs=3, batch_size=10, rng=5, progress=False).loss)
    assert runs[0] == runs[1]


def test_one_full_batch_epoch_equals_torch():
    ours, theirs = twin_models(np.float64, "cpu")
    X, y = np.random.default_rng(2).normal(size=(20, 5)), np.arange(20) % 3
    fit(ours, "cross_entropy", SGD(ours.parameters(), lr=0.3, momentum=0.5), X, y,
        epochs=3, batch_size=20, rng=0, progress=False)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.3, momentum=0.5)
    for _ in range(3):
        topt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.tensor(X)), torch.tensor(y)).backward()
        topt.step()
    assert max_param_error(ours, theirs) <= 1e-10


def test_fit_with_bce_mse_and_a_custom_loss():
    X, y3 = blobs()
    y = (y3 == 0).astype(float)                                  # shape (N,)
    net = L.Sequential(L.Linear(2, 1, rng=0))
    hist = fit(net, "bce_with_logits", SGD(net.parameters(), lr=0.5), X, y, epochs=10,
               batch_size=20, rng=0, progress=False)
    assert hist.accuracy[-1] > 0.95 and hist.loss[-1] < hist.loss[0]
    # Regression: y = 2 x0 - x1 + 0.5, learned by one linear unit.
    t = (X @ np.array([2.0, -1.0]) + 0.5)[:, None]
    reg = L.Sequential(L.Linear(2, 1, rng=0))
    hist = fit(reg, "mse", SGD(reg.parameters(), lr=0.05), X, t, epochs=30,
               batch_size=20, rng=0, progress=False)
    assert hist.accuracy == [] and hist.loss[-1] < 1e-4
    np.testing.assert_allclose(reg[0].params["weight"], [[2.0, -1.0]], atol=1e-2)
    assert len(hist.plot().axes) == 1
    custom = L.Sequential(L.Linear(2, 1, rng=0))
    hist = fit(custom, (F.mse_loss_forward, F.mse_loss_backward),
               SGD(custom.parameters(), lr=0.05), X, t, epochs=30, batch_size=20, rng=0,
               progress=False)
    np.testing.assert_allclose(custom[0].params["weight"], reg[0].params["weight"],
                               rtol=1e-12)
    assert set(evaluate(custom, "mse", X, t)) == {"loss"}


def test_predict_in_batches_equals_all_at_once_and_restores_mode():
    net = L.Sequential(L.Linear(3, 4, rng=0), L.Sigmoid())
    X = np.random.default_rng(0).normal(size=(23, 3))
    net.train()
    np.testing.assert_allclose(predict(net, X, batch_size=5), net(X), rtol=1e-15)
    assert net.training
    net.eval()
    predict(net, X)
    assert not net.training


def test_fit_shows_a_progress_bar(capsys):
    X, y = blobs(40)
    net = L.Sequential(L.Linear(2, 3, rng=0))
    fit(net, "cross_entropy", SGD(net.parameters(), lr=0.1), X, y, epochs=2,
        batch_size=8, rng=0, progress=True)
    err = capsys.readouterr().err
    assert "training" in err and "2/2" in err and "loss=" in err


def test_fit_stops_when_the_loss_diverges():
    X, y = blobs(40)
    t = (X[:, :1] * 1e3)
    net = L.Sequential(L.Linear(2, 1, rng=0))
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="learning rate"):
        fit(net, "mse", SGD(net.parameters(), lr=1e6), X, t, epochs=50, batch_size=40,
            rng=0, progress=False)


def test_fit_evaluate_predict_reject_bad_inputs():
    X, y = blobs(30)
    net = L.Sequential(L.Linear(2, 3, rng=0))
    opt = SGD(net.parameters(), lr=0.1)
    kw = dict(epochs=1, batch_size=8, progress=False)
    with pytest.raises(TypeError, match="model"):
        fit(torch.nn.Linear(2, 3), "cross_entropy", opt, X, y, **kw)
    with pytest.raises(TypeError, match="optimizer"):
        fit(net, "cross_entropy", torch.optim.SGD(torch.nn.Linear(2, 3).parameters(),
                                                  lr=0.1), X, y, **kw)
    with pytest.raises(ValueError, match="loss must be one of"):
        fit(net, "hinge", opt, X, y, **kw)
    with pytest.raises(TypeError, match="loss"):
        fit(net, 3, opt, X, y, **kw)
    with pytest.raises(ValueError, match="same number of examples"):
        fit(net, "cross_entropy", opt, X, y[:-1], **kw)
    with pytest.raises(ValueError, match=r"class indices of shape \(N,\)"):
        fit(net, "cross_entropy", opt, X, y[:, None], **kw)
    with pytest.raises(ValueError, match="X must have shape"):
        fit(net, "cross_entropy", opt, X[:, 0], y, **kw)
    with pytest.raises(ValueError, match="epochs"):
        fit(net, "cross_entropy", opt, X, y, epochs=0, batch_size=8, progress=False)
    with pytest.raises(TypeError, match="batch_size"):
        fit(net, "cross_entropy", opt, X, y, epochs=1, batch_size=8.0, progress=False)
    with pytest.raises(TypeError, match="validation_data must be a pair"):
        fit(net, "cross_entropy", opt, X, y, validation_data=X, **kw)
    with pytest.raises(ValueError, match="X_val and y_val"):
        fit(net, "cross_entropy", opt, X, y, validation_data=(X, y[:3]), **kw)
    with pytest.raises(ValueError, match="class indices"):
        fit(net, "cross_entropy", opt, X, y + 5, **kw)
    with pytest.raises(TypeError, match="model"):
        predict("net", X)
    with pytest.raises(ValueError, match="batch_size"):
        predict(net, X, batch_size=0)
    with pytest.raises(ValueError, match="same number"):
        evaluate(net, "cross_entropy", X, y[:3])
    with pytest.raises(ValueError, match="empty"):
        History().plot()
