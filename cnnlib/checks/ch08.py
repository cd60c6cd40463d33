"""Checks for the exercises of chapter 8, LeNet (``solutions/08_lenet.ipynb``).

* 8.1 builds the student's ``Conv2d`` layer class with several arguments and holds it
  against ``torch.nn.Conv2d`` given the same weights: parameter names and shapes, the
  initial weights' range, the output, the input gradient, the weight and bias
  gradients, gradients that accumulate over two backward passes;
* 8.2 measures the student's trained network on the test digits;
* 8.3 checks the ranking of the most confident mistakes.

The checks only call what the student wrote (the class with arguments, the layer with
arrays, the model on batches of digits) and compare the data they return.
"""
from __future__ import annotations

import math

import numpy as np

from cnnlib.checks import Case, check_function, check_rng, exercise, verdict

__all__ = ["check_conv2d_layer", "check_cnn_accuracy", "check_confident_mistakes",
           "TARGET_ACCURACY"]

#: What the trained network of exercise 8.2 must reach on the 1,000 test digits.
TARGET_ACCURACY = 0.96

_LAYERS = [  # (in_channels, out_channels, kernel_size, stride, padding, input shape)
    (1, 6, 5, 1, 2, (3, 1, 12, 12)),
    (6, 16, 5, 1, 0, (2, 6, 14, 14)),
    (3, 4, 3, 2, 1, (2, 3, 9, 8)),
    (2, 3, 1, 1, 0, (4, 2, 5, 6)),
]


def _draws(args, x_shape, seed):
    """The weights, bias, input and upstream gradient of one case (seeded)."""
    cin, cout, k, stride, padding = args
    rng = check_rng(seed)
    oh = (x_shape[2] + 2 * padding - k) // stride + 1
    ow = (x_shape[3] + 2 * padding - k) // stride + 1
    return (rng.normal(size=(cout, cin, k, k)), rng.normal(size=cout),
            rng.normal(size=x_shape), rng.normal(size=(x_shape[0], cout, oh, ow)))


def _run_student_layer(Conv2d, args, x_shape, seed):
    """Build the student's layer, look at its initial weights, load known ones, run
    forward and backward (twice: gradients must add up). Returns what came out."""
    cin, cout, k, stride, padding = args
    bound = 1 / math.sqrt(cin * k * k)
    layer = Conv2d(cin, cout, k, stride=stride, padding=padding, rng=seed)
    w0 = np.asarray(layer.params["weight"])
    b0 = np.asarray(layer.params["bias"])
    got = {"state_dict keys": sorted(layer.state_dict()),
           "weight shape": w0.shape, "bias shape": b0.shape,
           "initial weight and bias within +-1/sqrt(fan_in)":
               bool(np.abs(w0).max() <= bound and np.abs(b0).max() <= bound
                    and np.abs(w0).max() > 0.5 * bound)}
    w, b, x, g = _draws(args, x_shape, seed)
    layer.load_state_dict({"weight": w, "bias": b})
    layer.zero_grad()
    got["output"] = np.asarray(layer(x))
    got["dx"] = np.asarray(layer.backward(g))
    got["dweight"] = np.array(layer.grads["weight"])
    got["dbias"] = np.array(layer.grads["bias"])
    layer(x)
    layer.backward(g)
    got["dweight after two backward passes"] = np.array(layer.grads["weight"])
    return got


def _torch_layer(args, x_shape, seed):
    """The same, from torch.nn.Conv2d."""
    import torch
    cin, cout, k, stride, padding = args
    w, b, x, g = _draws(args, x_shape, seed)
    conv = torch.nn.Conv2d(cin, cout, k, stride=stride, padding=padding).double()
    with torch.no_grad():
        conv.weight.copy_(torch.as_tensor(w))
        conv.bias.copy_(torch.as_tensor(b))
    tx = torch.tensor(x, requires_grad=True)
    out = conv(tx)
    out.backward(torch.as_tensor(g))
    return {"state_dict keys": sorted(conv.state_dict()),
            "weight shape": tuple(conv.weight.shape), "bias shape": tuple(conv.bias.shape),
            "initial weight and bias within +-1/sqrt(fan_in)": True,
            "output": out.detach().numpy(), "dx": tx.grad.numpy(),
            "dweight": conv.weight.grad.numpy(), "dbias": conv.bias.grad.numpy(),
            "dweight after two backward passes": 2 * conv.weight.grad.numpy()}


_HINTS = [
    "forward: F.conv2d_forward(x, weight, bias, stride, padding) returns (out, cache); keep "
    "the cache with self.save_for_backward(cache). backward: F.conv2d_backward(dout, "
    "self.saved()) returns (dx, dweight, dbias): add the last two into the gradients with "
    "self.accumulate(name, grad) (they must add up over several backward passes) and "
    "return dx",
    "register_parameter('weight', ...) with shape (out_channels, in_channels, k, k) and "
    "'bias' with shape (out_channels,); draw both from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) "
    "with fan_in = in_channels * k * k",
    "pass stride and padding on to the functional op",
    "a 1 x 1 filter has fan_in = in_channels",
]


@exercise("8.1", "A Conv2d layer")
def check_conv2d_layer(Conv2d):
    """``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, rng=None)``:
    a cnnlib Module with parameters ``weight`` (out, in, k, k) and ``bias`` (out,),
    initialised from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), whose forward and backward
    match torch.nn.Conv2d."""
    def results_of_the_layer(args, x_shape, seed):
        # the student's class is called with these arguments, then given data
        return _run_student_layer(Conv2d, args, x_shape, seed)

    cases = [Case(f"Conv2d({cin}, {cout}, {k}, stride={stride}, padding={padding}) on an "
                  f"input of shape {x_shape}, against torch.nn.Conv2d",
                  ((cin, cout, k, stride, padding), x_shape, 800 + i),
                  expected=_torch_layer, rtol=1e-9, atol=1e-10, hint=_HINTS[i])
             for i, (cin, cout, k, stride, padding, x_shape) in enumerate(_LAYERS)]
    return check_function(results_of_the_layer, cases)


# ---------------------------------------------------------- 8.2 the trained network
@exercise("8.2", "A CNN trained to 96 %")
def check_cnn_accuracy(model, X_test, y_test):
    """``model``: a trained cnnlib model; its accuracy on (X_test, y_test), the 1,000
    test digits as (N, 1, 28, 28), must reach 96 %."""
    if model is None:           # the notebook's placeholder: not built yet
        raise NotImplementedError("Exercise 8.2: build and train the network")
    X = np.asarray(X_test)
    y = np.asarray(y_test)
    # the model is only called (under the grader it runs in the student's kernel), in
    # batches; the forward passes leave caches behind, which are dropped afterwards
    out = np.concatenate([np.asarray(model(X[i:i + 200])) for i in range(0, len(X), 200)])
    model.clear_pending()
    if out.shape != (len(y), 10):
        return verdict(False, f"the model returned outputs of shape {out.shape} for "
                              f"{len(y)} digits: expected ({len(y)}, 10), one score per "
                              f"digit class")
    accuracy = float(np.mean(out.argmax(axis=1) == y))
    if accuracy < TARGET_ACCURACY:
        hint = ("a fully connected network stops near 92 %: use convolutions and pooling"
                if accuracy < 0.94 else
                "train a few epochs more, with momentum and a decreasing learning rate, "
                "on standardised pixels")
        return verdict(False, f"test accuracy {accuracy:.1%}, at least "
                              f"{TARGET_ACCURACY:.0%} needed. Hint: {hint}")
    return verdict(True, f"test accuracy {accuracy:.1%} (at least {TARGET_ACCURACY:.0%} "
                         f"needed)")


# ------------------------------------------------------ 8.3 the worst mistakes
def _reference_mistakes(probabilities, labels, k):
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels)
    predicted = p.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y)
    confidence = p[wrong, predicted[wrong]]
    order = np.argsort(-confidence, kind="stable")
    return wrong[order][:k]


@exercise("8.3", "The most confident mistakes")
def check_confident_mistakes(confident_mistakes):
    """``confident_mistakes(probabilities, labels, k)``: the indices of the (at most) k
    examples that are predicted wrongly (the largest probability is not the label),
    sorted by the probability of the predicted class, largest first."""
    rng = check_rng(803)
    logits = rng.normal(size=(50, 10)) * 3
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    labels = np.where(rng.random(50) < 0.6, p.argmax(1), rng.integers(0, 10, 50))
    few = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.2, 0.8]])
    hint = ("predicted = probabilities.argmax(axis=1); the mistakes are the indices where "
            "predicted != labels; sort them by probabilities[i, predicted[i]], largest "
            "first (np.argsort of the negated values), and keep the first k")
    return check_function(confident_mistakes, [
        Case("4 examples, 2 classes", (few, np.array([0, 0, 1, 1]), 5),
             expected=np.array([1, 2]), rtol=0, atol=0,
             hint="examples 1 and 2 are wrong (predicted 1 with 0.7, and 0 with 0.6): "
                  "return [1, 2], most confident first"),
        Case("k smaller than the number of mistakes", (p, labels, 3),
             expected=_reference_mistakes, rtol=0, atol=0, hint=hint),
        Case("k larger than the number of mistakes: all of them", (p, labels, 50),
             expected=_reference_mistakes, rtol=0, atol=0, hint=hint),
        Case("no mistakes at all: an empty array", (few, few.argmax(1), 3),
             expected=np.array([], dtype=np.int64), rtol=0, atol=0,
             hint="when every prediction is right, return an empty array"),
    ])
