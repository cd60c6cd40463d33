"""Shifted test digits (cnnlib.data.shifts) and the PyTorch training loop
(cnnlib.twins.train.fit_torch), which must visit the same batches as cnnlib's fit: in
float64, the same start and the same seed give the same weights after training."""
import math

import numpy as np
import pytest
import torch

from cnnlib.data.shifts import shift_images, shifted_test_set
from cnnlib.models import small_cnn
from cnnlib.optim import SGD
from cnnlib.train import fit
from cnnlib.twins import state_from_torch, state_to_torch
from cnnlib.twins import small_cnn as torch_small
from cnnlib.twins.train import evaluate_torch, fit_torch

from torch_devices import DEVICES


def test_shifts_move_pixels_and_let_black_in():
    x = np.arange(1, 17, dtype=float).reshape(1, 4, 4)
    right = shift_images(x, 1, "right")
    np.testing.assert_array_equal(right[0, :, 1:], x[0, :, :-1])
    assert np.all(right[0, :, 0] == 0)
    np.testing.assert_array_equal(shift_images(x, 2, "left")[0, :, :2], x[0, :, 2:])
    np.testing.assert_array_equal(shift_images(x, 1, "down")[0, 1:], x[0, :-1])
    np.testing.assert_array_equal(shift_images(x, 3, "up")[0, :1], x[0, 3:])
    np.testing.assert_array_equal(shift_images(x, 0), x)
    assert shift_images(x, 0) is not x
    assert np.all(shift_images(x, 4, "right") == 0)        # pushed out entirely


def test_shifted_test_set_uses_four_directions_in_turn():
    x = np.random.default_rng(0).random((8, 1, 6, 6))
    out = shifted_test_set(x, 2)
    for i, d in enumerate(["right", "left", "down", "up"] * 2):
        np.testing.assert_array_equal(out[i], shift_images(x[i], 2, d))


@pytest.mark.parametrize("args, error, words", [
    ((np.zeros(5), 1), ValueError, "at least 2 dimensions"),
    ((np.zeros((3, 3)), -1), ValueError, "pixels"),
    ((np.zeros((3, 3)), 1.5), TypeError, "pixels"),
    ((np.zeros((3, 3)), 1, "sideways"), ValueError, "direction"),
])
def test_shift_bad_arguments(args, error, words):
    with pytest.raises(error, match=words):
        shift_images(*args)


@pytest.mark.parametrize("device", DEVICES)
def test_fit_torch_follows_fit_step_for_step(device):
    rng = np.random.default_rng(0)
    X, y = rng.random((96, 1, 28, 28)), rng.integers(0, 10, 96)
    ours = small_cnn(channels=2, rng=0)                      # float64
    theirs = state_to_torch(ours, torch_small.small_cnn(channels=2, dtype=torch.float64,
                                                        device=device))
    E, LR = 3, 0.05

    def factor(epoch):
        return 0.5 * (1 + math.cos(math.pi * epoch / E))

    opt = SGD(ours.parameters(), lr=LR, momentum=0.9, weight_decay=1e-3)
    h1 = fit(ours, "cross_entropy", opt, X, y, epochs=E, batch_size=16, rng=5,
             validation_data=(X[:32], y[:32]), progress=False,
             callbacks=[lambda e, logs: opt.param_groups[0].update(lr=LR * factor(e))])
    h2 = fit_torch(theirs, X, y, epochs=E, batch_size=16, lr=LR, momentum=0.9,
                   weight_decay=1e-3, lr_lambda=factor, rng=5,
                   validation_data=(X[:32], y[:32]), progress=False)
    assert sorted(h1.keys()) == sorted(h2.keys())
    np.testing.assert_allclose(h2["lr"], h1["lr"], rtol=1e-12)
    np.testing.assert_allclose(h2["loss"], h1["loss"], rtol=1e-9)
    np.testing.assert_allclose(h2["val_accuracy"], h1["val_accuracy"], rtol=0, atol=0)
    for key, value in state_from_torch(theirs).items():
        scale = np.abs(value).max()
        assert np.abs(ours.state_dict()[key] - value).max() <= 1e-9 * scale, key


def test_evaluate_torch_and_bad_input():
    model = torch_small.fully_connected(dtype=torch.float64)
    X, y = np.zeros((5, 1, 28, 28)), np.arange(5)
    scores = evaluate_torch(model, X, y)
    assert set(scores) == {"loss", "accuracy"} and model.training
    with pytest.raises(ValueError, match="same number"):
        fit_torch(model, X, y[:3], progress=False)
    with pytest.raises(ValueError, match="epochs"):
        fit_torch(model, X, y, epochs=0, progress=False)
