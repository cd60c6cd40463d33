"""cnnlib.twins.training.train_torch trains a torch model exactly as cnnlib.train.fit
trains its NumPy twin (same batches, same per-batch augmentation, same schedule: the
same History to 1e-10 in float64), and the small experiment models build and train."""
import numpy as np
import pytest
import torch

import cnnlib.nn as L
from cnnlib.data import transforms as T
from cnnlib.optim import SGD, Adam
from cnnlib.optim.lr_scheduler import CosineAnnealingLR, OneCycleLR
from cnnlib.train import Callback, StopTraining, fit
from cnnlib.twins import state_from_torch
from cnnlib.twins.digit_nets import mlp, plain_cnn, two_block_cnn
from cnnlib.twins.training import (evaluate_torch, predict_torch, seed_everything,
                                   train_torch)
from torch_devices import DEVICES


def data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 1, 6, 6))
    y = (X[:, 0, :3].sum(axis=(1, 2)) > X[:, 0, 3:].sum(axis=(1, 2))).astype(np.int64)
    return X, y


def numpy_net():
    return L.Sequential(L.Flatten(), L.Linear(36, 12, bias=False), L.BatchNorm1d(12),
                        L.ReLU(), L.Linear(12, 2))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("optimizer, schedule", [("sgd", "one_cycle"), ("adam", "cosine")])
def test_train_torch_follows_fit_step_for_step(optimizer, schedule, device):
    X, y = data()
    Xv, yv = data(30, seed=1)
    transform = T.Compose([T.RandomAffine(10, translate=(0.1, 0.1)),
                           T.RandomHorizontalFlip()])
    torch.manual_seed(0)
    theirs = mlp((36, 12, 2), batch_norm=True, dtype=torch.float64).to(device)
    ours = numpy_net()
    ours.load_state_dict(state_from_torch(theirs))     # the same keys: 1.weight, 2.running_var
    if optimizer == "sgd":
        opt = SGD(ours.parameters(), lr=0.1, momentum=0.9)
        topt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
        sched = OneCycleLR(opt, max_lr=0.3, epochs=4, steps_per_epoch=5)
        tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.3, epochs=4,
                                                     steps_per_epoch=5)
        interval = "batch"
    else:
        opt = Adam(ours.parameters(), lr=0.01)
        topt = torch.optim.Adam(theirs.parameters(), lr=0.01)
        sched, tsched = CosineAnnealingLR(opt, T_max=4), \
            torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=4)
        interval = "epoch"
    common = dict(epochs=4, batch_size=12, rng=3, transform=transform,
                  scheduler_interval=interval, validation_data=(Xv, yv), progress=False)
    h = fit(ours, "cross_entropy", opt, X, y, scheduler=sched, **common)
    th = train_torch(theirs, X, y, optimizer=topt, scheduler=tsched, device=device,
                     **common)
    assert set(h.keys()) == set(th.keys()) == {"loss", "accuracy", "val_loss",
                                               "val_accuracy", "lr"}
    for key in h.keys():
        np.testing.assert_allclose(th[key], h[key], rtol=1e-10, atol=1e-12, err_msg=key)
    for key, value in state_from_torch(theirs).items():
        np.testing.assert_allclose(ours.state_dict()[key], value, rtol=1e-9, atol=1e-12,
                                   err_msg=key)


def test_predict_and_evaluate_in_eval_mode():
    X, y = data()
    seed_everything(0)
    model = mlp((36, 8, 2), batch_norm=True)
    model.train()
    out = predict_torch(model, X, batch_size=7)
    assert out.shape == (60, 2) and out.dtype == np.float32 and model.training
    with torch.no_grad():
        model.eval()
        ref = model(torch.tensor(X, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    scores = evaluate_torch(model, "cross_entropy", X, y)
    assert scores["accuracy"] == pytest.approx(np.mean(ref.argmax(1) == y))


def test_seed_everything_repeats_a_run():
    X, y = data()
    runs = []
    for _ in range(2):
        rng = seed_everything(5)
        model = two_block_cnn(width=2, image_size=6, batch_norm=True)
        h = train_torch(model, X, y, optimizer=torch.optim.Adam(model.parameters(), 0.01),
                        epochs=2, batch_size=16, rng=rng, progress=False)
        runs.append(h["loss"])
    assert runs[0] == runs[1]


def test_callbacks_can_stop_and_bad_arguments_are_named():
    X, y = data()
    model = mlp((36, 4, 2))
    opt = torch.optim.SGD(model.parameters(), 0.1)
    h = train_torch(model, X, y, optimizer=opt, epochs=10, progress=False,
                    callbacks=[lambda epoch, logs: epoch == 3])
    assert len(h) == 3

    class PerBatch(Callback):
        def __init__(self):
            self.losses = []

        def on_batch_end(self, step, logs):
            self.losses.append(logs["loss"])
            if step == 7:
                raise StopTraining

    spy = PerBatch()
    h = train_torch(model, X, y, optimizer=opt, epochs=10, batch_size=20, progress=False,
                    callbacks=[spy])
    assert len(spy.losses) == 7 and len(h) == 3       # 3 batches an epoch: stopped in 3
    assert h["loss"][0] == pytest.approx(np.mean(spy.losses[:3]))
    with pytest.raises(TypeError, match="torch.optim optimizer"):
        train_torch(model, X, y, optimizer="sgd")
    with pytest.raises(ValueError, match="same number of examples"):
        train_torch(model, X, y[:5], optimizer=opt)
    with pytest.raises(ValueError, match="loss must be one of"):
        train_torch(model, X, y, optimizer=opt, loss="hinge")
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        big = torch.optim.SGD(model.parameters(), lr=1e30)
        train_torch(model, X * 1e10, y, optimizer=big, epochs=3, progress=False)


def test_the_experiment_models_have_the_advertised_layers():
    assert [type(m).__name__ for m in two_block_cnn(batch_norm=True, negative_slope=0.1)] == [
        "Conv2d", "BatchNorm2d", "LeakyReLU", "MaxPool2d", "Conv2d", "BatchNorm2d",
        "LeakyReLU", "MaxPool2d", "Flatten", "Linear"]
    deep = plain_cnn(depth=8, width=4)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in deep) == 8
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in deep) == 2
    assert deep(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert plain_cnn(depth=8, image_size=14, batch_norm=True)(
        torch.zeros(3, 1, 14, 14)).shape == (3, 10)
    assert mlp((784, 32, 32, 10), batch_norm=True)(torch.zeros(4, 1, 28, 28)).shape == (4, 10)
    with pytest.raises(ValueError, match="negative_slope"):
        two_block_cnn(negative_slope=-0.1)
