"""Checks for the exercises of chapter 4, from fully connected to convolutional layers
(``solutions/04_fully_connected_to_convolution.ipynb``).

Each check runs the student's function on several cases: the chapter's worked
example ([1, 1, 1, 0, 0] with the filter [1, 0, 1] gives [2, 1, 1]), random lengths,
a filter of length 1, a filter as long as the input, and the parameter counts of the
chapter (25, 13 and 3 for five units; 16 billion and 40 million for a 200 x 200 image),
against cnnlib and PyTorch.
"""
from __future__ import annotations

import numpy as np

from cnnlib.checks import Case, check_function, check_rng, exercise

__all__ = ["check_conv1d_loop", "check_true_convolution", "check_banded_matrix",
           "check_fully_connected_weights", "check_layer_weights",
           "check_conv1d_padding_stride"]

WORKED_X = np.array([1.0, 1.0, 1.0, 0.0, 0.0])
WORKED_THETA = np.array([1.0, 0.0, 1.0])


# ------------------------------------------------------------------ references
def _cnnlib_conv1d(x, theta, padding=0, stride=1):
    """cnnlib's conv1d on one signal and one filter, (L_out,)."""
    from cnnlib.functional import conv1d
    x = np.asarray(x, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    return conv1d(x[None], theta[None, None], padding=padding, stride=stride)[0]


def _torch_conv1d(x, theta, padding=0, stride=1):
    """torch.nn.functional.conv1d on one signal and one filter, (L_out,)."""
    import torch
    import torch.nn.functional as tF
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64))[None, None]
    wt = torch.as_tensor(np.asarray(theta, dtype=np.float64))[None, None]
    return tF.conv1d(xt, wt, padding=padding, stride=stride)[0, 0]


def _numpy_convolve(x, theta):
    """The textbook convolution (filter reversed), valid part."""
    return np.convolve(np.asarray(x, dtype=np.float64),
                       np.asarray(theta, dtype=np.float64), mode="valid")


def _flipped_cnnlib(x, theta):
    return _cnnlib_conv1d(x, np.asarray(theta, dtype=np.float64)[::-1])


def _cnnlib_toeplitz(theta, n):
    from cnnlib.features.kernels import toeplitz_1d
    return toeplitz_1d(np.asarray(theta, dtype=np.float64), n)


def _signals(seed: int):
    """Random (x, theta) pairs: one random length, one filter of length 1, one filter as
    long as the input."""
    rng = check_rng(seed)
    n = int(rng.integers(8, 20))
    m = int(rng.integers(2, 6))
    return (rng.normal(size=n), rng.normal(size=m)), \
        (rng.normal(size=7), rng.normal(size=1)), \
        (rng.normal(size=6), rng.normal(size=6))


# ------------------------------------------------------------- 4.1 the loop
@exercise("4.1", "1-D convolution with a loop")
def check_conv1d_loop(conv1d_loop):
    """``conv1d_loop(x, theta)``: (theta * x)_i = sum_j theta_j x_{i+j} for
    i = 0 .. n - m; x (n,), theta (m,) -> (n - m + 1,)."""
    (x_r, t_r), (x_1, t_1), (x_n, t_n) = _signals(401)
    length_hint = ("there are n - m + 1 outputs: `for i in range(len(x) - len(theta) + 1)`, "
                   "and output i sums theta[j] * x[i + j] for j in range(len(theta))")
    return check_function(conv1d_loop, [
        Case("the worked example [1,1,1,0,0] * [1,0,1]", (WORKED_X, WORKED_THETA),
             expected=np.array([2.0, 1.0, 1.0]), rtol=0, atol=1e-12, hint=length_hint),
        Case("an asymmetric filter [1, 2, 3]",
             (np.array([0.0, 1.0, 2.0, 3.0, 0.0, 0.0, 1.0]), np.array([1.0, 2.0, 3.0])),
             expected=np.array([8.0, 14.0, 8.0, 3.0, 3.0]), rtol=0, atol=1e-12,
             hint="do not reverse the filter: theta[j] multiplies x[i + j] (deep "
                  "learning's 'convolution' is a cross-correlation)"),
        Case(f"random signal (n = {len(x_r)}, m = {len(t_r)}) against cnnlib",
             (x_r, t_r), expected=_cnnlib_conv1d, rtol=1e-10, hint=length_hint),
        Case("a filter of length 1", (x_1, t_1), expected=_cnnlib_conv1d, rtol=1e-10,
             hint="with m = 1 the output is theta[0] * x, as long as x"),
        Case("a filter as long as the input", (x_n, t_n), expected=_cnnlib_conv1d,
             rtol=1e-10,
             hint="with m = n the window fits once: the output has one entry, the dot "
                  "product of theta and x"),
        Case("random signal against torch.nn.functional.conv1d", (x_r, t_r),
             expected=_torch_conv1d, rtol=1e-10),
        Case("integer inputs", (np.array([3, 1, 4, 1, 5, 9]), np.array([2, -1])),
             expected=np.array([5.0, -2.0, 7.0, -3.0, 1.0]), rtol=0, atol=1e-12,
             hint="start from np.zeros(n - m + 1) (floats) and add the products"),
    ])


# ---------------------------------------------------- 4.2 the true convolution
@exercise("4.2", "True convolution flips the filter")
def check_true_convolution(true_convolution):
    """``true_convolution(x, theta)``: sum_j theta_j x_{i + m - 1 - j}, the valid part
    of the textbook convolution (np.convolve(x, theta, 'valid'))."""
    (x_r, t_r), (x_1, t_1), (x_n, t_n) = _signals(402)
    flip_hint = ("the true convolution is the cross-correlation with the filter "
                 "reversed: theta[::-1]")
    return check_function(true_convolution, [
        Case("the worked example (a symmetric filter: no difference)",
             (WORKED_X, WORKED_THETA), expected=np.array([2.0, 1.0, 1.0]), rtol=0,
             atol=1e-12),
        Case("an asymmetric filter [1, 2, 3]",
             (np.array([0.0, 1.0, 2.0, 3.0, 0.0, 0.0, 1.0]), np.array([1.0, 2.0, 3.0])),
             expected=np.array([4.0, 10.0, 12.0, 9.0, 1.0]), rtol=0, atol=1e-12,
             hint=flip_hint + "; for this filter the cross-correlation gives "
                              "[8, 14, 8, 3, 3] instead"),
        Case(f"random signal (n = {len(x_r)}, m = {len(t_r)}) against np.convolve",
             (x_r, t_r), expected=_numpy_convolve, rtol=1e-10, hint=flip_hint),
        Case("equals cnnlib's conv1d with the filter reversed", (x_r, t_r),
             expected=_flipped_cnnlib, rtol=1e-10, hint=flip_hint),
        Case("a filter of length 1", (x_1, t_1), expected=_numpy_convolve, rtol=1e-10),
        Case("a filter as long as the input", (x_n, t_n), expected=_numpy_convolve,
             rtol=1e-10, hint="one output: the dot product of theta[::-1] and x"),
    ])


# ------------------------------------------------------- 4.3 the banded matrix
def _acts_like_convolution(T) -> str | None:
    """T must reproduce the convolution on a random signal."""
    T = np.asarray(T, dtype=np.float64)
    theta = np.array([0.5, -1.0, 2.0])
    if T.shape != (7, 9):
        return (f"for theta of length 3 and n = 9, T must have shape (7, 9) (n - m + 1 "
                f"rows, n columns), got {T.shape}")
    x = check_rng(7).normal(size=9)
    if not np.allclose(T @ x, _cnnlib_conv1d(x, theta), rtol=1e-10, atol=1e-12):
        return "T @ x differs from the convolution theta * x"
    return None


@exercise("4.3", "The banded (Toeplitz) matrix of a convolution")
def check_banded_matrix(banded_matrix):
    """``banded_matrix(theta, n)``: the (n - m + 1, n) matrix T with T[i, i + j] =
    theta[j], so that T @ x == theta * x."""
    rng = check_rng(403)
    theta_r = rng.normal(size=4)
    shape_hint = ("T has one row per output (n - m + 1 rows) and one column per input "
                  "(n columns); row i holds the filter in columns i .. i + m - 1")
    return check_function(banded_matrix, [
        Case("the worked example: theta = [1, 0, 1], n = 5", (WORKED_THETA, 5),
             expected=np.array([[1.0, 0, 1, 0, 0], [0, 1, 0, 1, 0], [0, 0, 1, 0, 1]]),
             rtol=0, atol=0, hint=shape_hint),
        Case("an asymmetric filter [1, 2, 3], n = 4", (np.array([1.0, 2.0, 3.0]), 4),
             expected=np.array([[1.0, 2, 3, 0], [0, 1, 2, 3]]), rtol=0, atol=0,
             hint="row i is the filter itself, not reversed, starting at column i"),
        Case("a random filter of length 4, n = 11, against cnnlib", (theta_r, 11),
             expected=_cnnlib_toeplitz, rtol=0, atol=0, hint=shape_hint),
        Case("T @ x gives the convolution", (np.array([0.5, -1.0, 2.0]), 9),
             check=_acts_like_convolution),
        Case("a filter of length 1: theta_0 times the identity", (np.array([2.5]), 6),
             expected=2.5 * np.eye(6), rtol=0, atol=0),
        Case("a filter as long as the input: one row", (theta_r, 4),
             expected=theta_r[None, :], rtol=0, atol=0,
             hint="with m = n the window fits once: T is the filter as a 1 x n row"),
    ])


# ------------------------------------------------------ 4.4 fully connected count
def _cnnlib_fc_weights(layer_sizes):
    """Build the network with cnnlib's Linear layers (no bias) and count its weights."""
    from cnnlib.nn import Linear, Sequential
    sizes = list(layer_sizes)
    net = Sequential(*[Linear(a, b, bias=False, rng=0) for a, b in zip(sizes, sizes[1:])])
    return net.num_parameters()


def _torch_fc_weights(layer_sizes):
    """The same count from PyTorch's nn.Linear layers (no bias)."""
    import torch
    sizes = list(layer_sizes)
    return sum(torch.nn.Linear(a, b, bias=False).weight.numel()
               for a, b in zip(sizes, sizes[1:]))


@exercise("4.4", "Weights of a fully connected network")
def check_fully_connected_weights(fully_connected_weights):
    """``fully_connected_weights(layer_sizes)``: n_1 n_2 + n_2 n_3 + ... for the list
    of layer sizes [n_1, n_2, ...] (no biases)."""
    pairs_hint = ("one weight per edge between consecutive layers: add n_k * n_(k+1) over "
                  "k (zip(sizes[:-1], sizes[1:]) walks through the pairs)")
    return check_function(fully_connected_weights, [
        Case("one layer of five units feeding five", ([5, 5],), expected=25, rtol=0,
             atol=0, hint="5 units feeding 5 units: 5 * 5 = 25 edges (biases are not counted)"),
        Case("chapter 2's 3-4-1 network", ([3, 4, 1],), expected=16, rtol=0, atol=0,
             hint=pairs_hint + "; here 3*4 + 4*1 (biases are not counted)"),
        Case("784-300-100-10 against cnnlib's Linear layers", ([784, 300, 100, 10],),
             expected=_cnnlib_fc_weights, rtol=0, atol=0, hint=pairs_hint),
        Case("5 layers against PyTorch's nn.Linear", ([8, 16, 32, 16, 2],),
             expected=_torch_fc_weights, rtol=0, atol=0, hint=pairs_hint),
        Case("the chapter's image: 40,000 pixels to 400,000 hidden units",
             ([40_000, 400_000],), expected=16_000_000_000, rtol=0, atol=0,
             hint="40,000 * 400,000 = 16 billion: use Python ints, which never overflow"),
        Case("a tuple works too", ((10, 20, 5),), expected=300, rtol=0, atol=0),
        Case("a single layer has no edges", ([7],), expected=0, rtol=0, atol=0,
             hint="with one layer there are no pairs of consecutive layers: 0"),
    ])


# ------------------------------------------------ 4.5 FC vs local vs convolutional
def _layer_weights(image_shape, maps, field):
    """Reference: (fully connected, locally connected, convolutional) weights."""
    h, w = image_shape
    pixels, hidden = h * w, maps * h * w
    return (pixels * hidden, hidden * field * field, maps * field * field)


def _torch_layer_weights(image_shape, maps, field):
    """The fully connected and convolutional counts from PyTorch's own layers (small
    sizes only); the locally connected count has no PyTorch layer."""
    import torch
    h, w = image_shape
    fc = torch.nn.Linear(h * w, maps * h * w, bias=False).weight.numel()
    conv = torch.nn.Conv2d(1, maps, field, bias=False).weight.numel()
    return (fc, maps * h * w * field * field, conv)


@exercise("4.5", "Fully connected, locally connected, convolutional")
def check_layer_weights(layer_weights):
    """``layer_weights(image_shape, maps, field)`` -> (fully_connected,
    locally_connected, convolutional): the weights (no biases) of a layer from a grey
    image of shape (H, W) to ``maps`` maps of H x W hidden units, each unit seeing a
    field x field window; in the convolutional layer the units of a map share one
    window of weights."""
    hint = ("fully connected: (H*W pixels) * (maps*H*W hidden units); locally connected: "
            "each hidden unit has its own field*field weights; convolutional: one "
            "field*field filter per map")
    return check_function(layer_weights, [
        Case("the chapter's 200 x 200 image, 10 maps, 10 x 10 fields",
             ((200, 200), 10, 10),
             expected=(16_000_000_000, 40_000_000, 1_000), rtol=0, atol=0, hint=hint),
        Case("a 28 x 28 digit, one map, 5 x 5 fields", ((28, 28), 1, 5),
             expected=(614_656, 19_600, 25), rtol=0, atol=0, hint=hint),
        Case("a non-square 32 x 48 image, 6 maps, 3 x 3 fields", ((32, 48), 6, 3),
             expected=_layer_weights, rtol=0, atol=0,
             hint=hint + "; H and W differ here: use both"),
        Case("a small layer against PyTorch's Linear and Conv2d", ((6, 7), 2, 3),
             expected=_torch_layer_weights, rtol=0, atol=0, hint=hint),
        Case("1 x 1 fields: locally connected = one weight per hidden unit",
             ((10, 10), 3, 1), expected=(30_000, 300, 3), rtol=0, atol=0,
             hint="with field = 1 each hidden unit sees one pixel: maps*H*W weights "
                  "locally, maps weights with sharing"),
    ])


# ----------------------------------------------------- 4.6 padding and stride
@exercise("4.6", "1-D convolution with padding and stride")
def check_conv1d_padding_stride(conv1d_general):
    """``conv1d_general(x, theta, padding=0, stride=1)``: x padded with ``padding``
    zeros at both ends, the window moved ``stride`` samples at a time; output length
    floor((n + 2 padding - m) / stride) + 1."""
    rng = check_rng(406)
    x_r, t_r = rng.normal(size=17), rng.normal(size=4)
    length_hint = ("the output has floor((n + 2*padding - m) / stride) + 1 entries; pad "
                   "first (np.pad(x, padding)), then window i starts at i * stride")
    return check_function(conv1d_general, [
        Case("the worked example without padding or stride", (WORKED_X, WORKED_THETA),
             expected=np.array([2.0, 1.0, 1.0]), rtol=0, atol=1e-12,
             hint="with the defaults padding=0, stride=1 this is Exercise 4.1"),
        Case("the worked example with padding=1 (the chapter's 5 x 5 matrix)",
             (WORKED_X, WORKED_THETA), {"padding": 1},
             expected=np.array([1.0, 2.0, 1.0, 1.0, 0.0]), rtol=0, atol=1e-12,
             hint="add `padding` zeros at BOTH ends: [0, 1, 1, 1, 0, 0, 0]"),
        Case("the worked example with stride=2", (WORKED_X, WORKED_THETA), {"stride": 2},
             expected=np.array([2.0, 1.0]), rtol=0, atol=1e-12,
             hint="window i starts at sample i * stride: here at 0 and 2"),
        Case("padding=2, stride=3 against cnnlib", (x_r, t_r),
             {"padding": 2, "stride": 3}, expected=_cnnlib_conv1d, rtol=1e-10,
             hint=length_hint),
        Case("a stride that does not divide evenly (n = 10, m = 3, stride = 4)",
             (np.arange(10.0), np.array([1.0, -1.0, 0.5])), {"stride": 4},
             expected=_cnnlib_conv1d, rtol=1e-10,
             hint="the last window must fit entirely: floor((10 - 3) / 4) + 1 = 2 outputs"),
        Case("a filter longer than the input, made to fit by padding",
             (np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0, 1.0, 1.0])),
             {"padding": 1}, expected=np.array([6.0]), rtol=0, atol=1e-12,
             hint=length_hint),
        Case("padding=1, stride=2 against torch.nn.functional.conv1d", (x_r, t_r),
             {"padding": 1, "stride": 2}, expected=_torch_conv1d, rtol=1e-10,
             hint=length_hint),
    ])
