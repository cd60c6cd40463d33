"""Arrays with a 0-size axis (an empty batch, no channels, no classes, an empty kernel):
cnnlib gives PyTorch's (empty) result where PyTorch has a meaningful one, and a clear
ValueError that names the argument otherwise, never a NumPy error from deep inside.
(Pooling and padding: test_pool.py, test_padding.py; losses on an empty batch:
test_extreme_values.py.)"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import cnnlib.functional as F
from cnnlib.functional import conv as C

RNG = np.random.default_rng(0)


def _torch_grads(op, *arrays, **kw):
    """PyTorch's output and the gradients of every array argument (dout = 1s)."""
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = op(*ts, **kw)
    out.backward(torch.ones_like(out))
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


# ------------------------------------------------------------------- convolution
CONVS = [(C.conv2d_forward, C.conv2d_backward), (C.conv2d_loop_forward,
                                                C.conv2d_loop_backward)]


@pytest.mark.parametrize("forward, backward", CONVS)
def test_conv_of_an_empty_batch_is_empty_as_in_torch(forward, backward):
    x, w, b = np.zeros((0, 2, 5, 5)), RNG.normal(size=(3, 2, 3, 3)), RNG.normal(size=3)
    out, cache = forward(x, w, b, padding=1)
    want, (dx, dw, db) = _torch_grads(TF.conv2d, x, w, b, padding=1)
    assert out.shape == want.shape == (0, 3, 5, 5)
    grads = backward(np.ones(out.shape), cache)
    for g, ref in zip(grads, (dx, dw, db)):
        np.testing.assert_array_equal(g, ref)             # empty, zeros, zeros


@pytest.mark.parametrize("op", [C.conv2d, C.conv2d_loop, C.conv2d_forward,
                                C.conv1d, C.conv1d_forward])
@pytest.mark.parametrize("what, x, w, words", [
    ("no channels", (1, 0, 5, 5), (3, 0, 3, 3), "input has no channels"),
    ("no filters", (1, 2, 5, 5), (0, 2, 3, 3), "weight holds no filters"),
    ("empty kernel", (1, 2, 5, 5), (3, 2, 0, 3), "the kernel has an empty axis"),
    ("empty image", (1, 2, 0, 5), (3, 2, 1, 1), "input has an empty spatial axis"),
])
def test_conv_refuses_empty_sizes_other_than_the_batch(op, what, x, w, words):
    """PyTorch raises for no filters, an empty kernel or an empty image. For an input
    without channels it returns an empty array of shape (N, 0, OH, OW) whatever the
    number of filters and the bias: not a convolution's output, so cnnlib refuses."""
    if op in (C.conv1d, C.conv1d_forward):
        x, w = x[:3], w[:3]                 # the same sizes in one spatial dimension
    with pytest.raises(ValueError, match=words + ".*batch"):
        op(np.zeros(x), np.zeros(w))


def test_torch_conv_without_input_channels_ignores_the_filters():
    """The PyTorch behaviour the refusal above avoids copying."""
    out = TF.conv2d(torch.zeros(1, 0, 5, 5), torch.zeros(3, 0, 3, 3), torch.ones(3))
    assert out.shape == (1, 0, 3, 3)          # 0 channels, not 3; the bias is lost


# ------------------------------------------------------------------------ linear
@pytest.mark.parametrize("x_shape, w_shape", [((4, 0), (3, 0)),      # in_features 0
                                              ((4, 5), (0, 5)),      # out_features 0
                                              ((0, 5), (3, 5)),      # empty batch
                                              ((2, 0, 5), (3, 5))])  # empty inner axis
def test_linear_with_empty_axes_equals_torch(x_shape, w_shape):
    """An empty sum is 0: with no input features the output is the bias, as in PyTorch;
    every other empty axis gives an empty output. Gradients too."""
    x, w = RNG.normal(size=x_shape), RNG.normal(size=w_shape)
    b = RNG.normal(size=w_shape[0])
    out, cache = F.linear_forward(x, w, b)
    want, grads = _torch_grads(TF.linear, x, w, b)
    np.testing.assert_array_equal(out, want)
    for g, ref in zip(F.linear_backward(np.ones(out.shape), cache), grads):
        assert g.shape == ref.shape
        np.testing.assert_allclose(g, ref, rtol=1e-15)


# ---------------------------------------------------------------------- softmax
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, dim", [((2, 0), 1), ((0, 3), 1), ((2, 0, 3), 1)])
def test_softmax_over_an_empty_axis_is_empty_as_in_torch(name, shape, dim):
    x = np.zeros(shape)
    out, cache = getattr(F, name + "_forward")(x, dim)
    want, (grad,) = _torch_grads(getattr(TF, name), x, dim=dim)
    assert out.shape == want.shape == shape
    assert getattr(F, name + "_backward")(np.ones(shape), cache).shape == grad.shape


# ------------------------------------------------------------------ cross-entropy
@pytest.mark.parametrize("x_shape, target", [
    ((3, 0), np.zeros(3, dtype=int)),          # class indices, no class to index
    ((3, 0), np.full(3, -100)),                # every target ignored
    ((3, 0), np.zeros((3, 0))),                # probabilities over no class
    ((0, 0), np.zeros(0, dtype=int)),
    ((2, 0, 4), np.zeros((2, 4), dtype=int)),
])
def test_cross_entropy_needs_at_least_one_class(x_shape, target):
    """A distribution over no classes does not exist. PyTorch raises for the first
    case and answers NaN or -0 for the others; cnnlib refuses all of them."""
    with pytest.raises(ValueError, match=r"input must have at least one class.*"
                                         + str(x_shape).replace("(", r"\(")
                                         .replace(")", r"\)")):
        F.cross_entropy(np.zeros(x_shape), target)


def test_one_hot_of_nothing():
    assert F.one_hot(np.zeros(0, dtype=int), 3).shape == (0, 3)
    assert TF.one_hot(torch.zeros(0, dtype=torch.long), 3).shape == (0, 3)
