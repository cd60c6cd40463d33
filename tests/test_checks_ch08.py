"""The checks of chapter 8 (cnnlib.checks.ch08): a right Conv2d layer passes and the
typical slips fail with their hint; the accuracy check measures the model it is given;
the ranking of mistakes."""
import math

import numpy as np
import pytest

import cnnlib.functional as F
import cnnlib.nn as nn
from cnnlib.checks import ch08, exercises_for_notebook


class Conv2d(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 rng=None):
        super().__init__()
        gen = np.random.default_rng(rng)
        self.stride, self.padding = stride, padding
        bound = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.register_parameter("weight", gen.uniform(
            -bound, bound, (out_channels, in_channels, kernel_size, kernel_size)))
        self.register_parameter("bias", gen.uniform(-bound, bound, out_channels))

    def forward(self, x):
        out, cache = F.conv2d_forward(x, self.params["weight"], self.params["bias"],
                                      self.stride, self.padding)
        self.save_for_backward(cache)
        return out

    def backward(self, dout):
        dx, dw, db = F.conv2d_backward(dout, self.saved())
        self.accumulate("weight", dw)
        self.accumulate("bias", db)
        return dx


class Overwrites(Conv2d):
    """Sets the gradient instead of adding to it."""
    def backward(self, dout):
        dx, dw, db = F.conv2d_backward(dout, self.saved())
        self.grads["weight"][...] = dw
        self.accumulate("bias", db)
        return dx


class IgnoresStride(Conv2d):
    def forward(self, x):
        out, cache = F.conv2d_forward(x, self.params["weight"], self.params["bias"],
                                      1, self.padding)
        self.save_for_backward(cache)
        return out


class WideInit(Conv2d):
    """Draws the initial weights from U(-1, 1)."""
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 rng=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, rng)
        self.params["weight"] = np.random.default_rng(rng).uniform(
            -1, 1, self.params["weight"].shape)


def test_a_right_layer_passes(capsys):
    assert ch08.check_conv2d_layer(Conv2d)
    assert "all 4 cases passed" in capsys.readouterr().out


@pytest.mark.parametrize("layer, words", [
    (Overwrites, "dweight after two backward passes"),
    (IgnoresStride, "stride=2"),
    (WideInit, "initial weight and bias within +-1/sqrt(fan_in)"),
])
def test_slips_fail_with_a_reason(layer, words, capsys):
    assert not ch08.check_conv2d_layer(layer)
    out = capsys.readouterr().out
    assert out.startswith("❌") and words in out and "Traceback" not in out


def test_the_notebook_has_these_three_exercises():
    ids = [info.id for info in exercises_for_notebook("08_lenet.ipynb")]
    assert ids == ["8.1", "8.2", "8.3"]


class Constant(nn.Module):
    """A 'model' that outputs fixed logits: right on a chosen fraction of digits."""
    def __init__(self, y, right):
        super().__init__()
        self.logits = np.eye(10)[np.where(np.arange(len(y)) < right * len(y), y,
                                          (y + 1) % 10)]
        self.seen = 0

    def forward(self, x):
        out = self.logits[self.seen:self.seen + len(x)]
        self.seen = (self.seen + len(x)) % len(self.logits)
        return out


@pytest.mark.parametrize("right, passes", [(0.97, True), (0.96, True), (0.95, False),
                                           (0.5, False)])
def test_the_accuracy_check_measures_the_model(right, passes, capsys):
    y = np.arange(1000) % 10
    X = np.zeros((1000, 1, 28, 28))
    assert bool(ch08.check_cnn_accuracy(Constant(y, right), X, y)) is passes
    out = capsys.readouterr().out
    assert f"test accuracy {right:.1%}" in out
    if right < 0.94:
        assert "use convolutions and pooling" in out


def test_the_accuracy_check_waits_for_a_model(capsys):
    assert not ch08.check_cnn_accuracy(None, np.zeros((2, 1, 28, 28)), np.zeros(2))
    assert capsys.readouterr().out.startswith("⏳")


def confident_mistakes(p, labels, k):
    p = np.asarray(p, float)
    predicted = p.argmax(1)
    wrong = np.flatnonzero(predicted != np.asarray(labels))
    return wrong[np.argsort(-p[wrong, predicted[wrong]], kind="stable")][:k]


def test_mistakes_right_and_wrong(capsys):
    assert ch08.check_confident_mistakes(confident_mistakes)
    capsys.readouterr()
    # sorted the wrong way round
    assert not ch08.check_confident_mistakes(lambda p, y, k: confident_mistakes(p, y, 50)[::-1][:k])
    assert "most confident first" in capsys.readouterr().out
