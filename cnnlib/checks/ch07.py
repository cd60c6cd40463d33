"""Checks for the exercises of chapter 7, learning the features
(``solutions/07_learning_the_features.ipynb``).

Each check runs the student's backward pass on several cases (a small example worked
out by hand, random non-square images and filters, a 1 x 1 filter, a filter as large
as the image, integer inputs) and compares it with cnnlib's ``conv2d_backward`` and
``max_pool2d_backward`` and with PyTorch's autograd. The hints name the usual slips:
a flipped filter where none belongs (or none where one does), an output the size of
the wrong array, a gradient sent to every maximum of a tied window.
"""
from __future__ import annotations

import numpy as np

from cnnlib.checks import Case, check_function, check_rng, exercise

__all__ = ["check_conv_weight_grad", "check_conv_input_grad", "check_tied_gradient",
           "check_max_pool_backward"]


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


# ------------------------------------------------------------------ references
def _cnnlib_grads(x, K, g):
    """(dx, dK) of y = valid correlation of x (H, W) with K (kh, kw), from cnnlib."""
    from cnnlib.functional.conv import conv2d_backward, conv2d_forward
    _, cache = conv2d_forward(_f64(x)[None, None], _f64(K)[None, None])
    dx, dK, _ = conv2d_backward(_f64(g)[None, None], cache)
    return dx[0, 0], dK[0, 0]


def _torch_grads(x, K, g):
    """(dx, dK) from PyTorch's autograd."""
    import torch
    import torch.nn.functional as tF
    tx = torch.tensor(_f64(x)[None, None], requires_grad=True)
    tK = torch.tensor(_f64(K)[None, None], requires_grad=True)
    tF.conv2d(tx, tK).backward(torch.tensor(_f64(g)[None, None]))
    return tx.grad[0, 0].numpy(), tK.grad[0, 0].numpy()


def _problems(seed: int):
    """(x, K, g) triples: non-square image and filter, a 1 x 1 filter, a filter as large
    as the image."""
    rng = check_rng(seed)
    out = []
    for (H, W), (kh, kw) in [((int(rng.integers(6, 10)), int(rng.integers(10, 14))),
                              (int(rng.integers(2, 4)), int(rng.integers(3, 5)))),
                             ((5, 6), (1, 1)), ((4, 3), (4, 3))]:
        x, K = rng.normal(size=(H, W)), rng.normal(size=(kh, kw))
        out.append((x, K, rng.normal(size=(H - kh + 1, W - kw + 1))))
    return out


# A hand-sized example: x 3 x 3, K 2 x 2, g 2 x 2.
SMALL_X = np.array([[1.0, 2.0, 0.0],
                    [0.0, 1.0, 3.0],
                    [2.0, 0.0, 1.0]])
SMALL_K = np.array([[1.0, -1.0],
                    [2.0, 0.0]])
SMALL_G = np.array([[1.0, 0.0],
                    [0.0, -1.0]])
SMALL_DK = np.array([[0.0, -1.0],       # sum_ij g(i,j) x(i+m, j+n) = x(m,n) - x(m+1,n+1)
                     [0.0, 0.0]])
SMALL_DX = np.array([[1.0, -1.0, 0.0],  # sum_mn g(p-m, q-n) K(m, n)
                     [2.0, -1.0, 1.0],
                     [0.0, -2.0, 0.0]])


# -------------------------------------------------------- 7.1 the weight gradient
@exercise("7.1", "The weight gradient of a convolution")
def check_conv_weight_grad(conv_weight_grad):
    """``conv_weight_grad(x, g, kernel_shape)``: dL/dK(m, n) = sum_ij g(i, j)
    x(i + m, j + n) for y = the valid correlation of x (H, W) with K (kh, kw);
    g = dL/dy (H - kh + 1, W - kw + 1) -> (kh, kw)."""
    (x_r, K_r, g_r), (x_1, K_1, g_1), (x_n, K_n, g_n) = _problems(701)
    formula = ("dK(m, n) = sum over i, j of g(i, j) * x(i + m, j + n): the correlation of x "
               "with g, np.sum(g * x[m:m + OH, n:n + OW]) for each (m, n)")
    return check_function(conv_weight_grad, [
        Case("the 3 x 3 example worked out by hand", (SMALL_X, SMALL_G, (2, 2)),
             expected=SMALL_DK, rtol=0, atol=1e-12, hint=formula),
        Case(f"random image {x_r.shape}, filter {K_r.shape}, against cnnlib",
             (x_r, g_r, K_r.shape), expected=lambda x, g, s: _cnnlib_grads(x, K_r, g)[1],
             rtol=1e-10, hint=formula + "; the result has the filter's shape (kh, kw), "
                                        "rows and columns differ here"),
        Case("a 1 x 1 filter: the sum of g * x", (x_1, g_1, (1, 1)),
             expected=lambda x, g, s: _cnnlib_grads(x, K_1, g)[1], rtol=1e-10,
             hint="with a 1 x 1 filter, y = K * x, so dK = sum(g * x) in a (1, 1) array"),
        Case("a filter as large as the image: g is 1 x 1", (x_n, g_n, K_n.shape),
             expected=lambda x, g, s: _cnnlib_grads(x, K_n, g)[1], rtol=1e-10,
             hint="one output, y = sum(x * K) + b, so dK = g[0, 0] * x"),
        Case("random image against PyTorch's autograd", (x_r, g_r, K_r.shape),
             expected=lambda x, g, s: _torch_grads(x, K_r, g)[1], rtol=1e-10,
             hint="do not flip anything: K(m, n) multiplied x(i + m, j + n) in the forward "
                  "pass"),
        Case("integer inputs", (SMALL_X.astype(int), SMALL_G.astype(int), (2, 2)),
             expected=SMALL_DK, rtol=0, atol=1e-12,
             hint="start from np.zeros(kernel_shape) (floats) and add the products"),
    ])


# --------------------------------------------------------- 7.2 the input gradient
@exercise("7.2", "The input gradient of a convolution")
def check_conv_input_grad(conv_input_grad):
    """``conv_input_grad(K, g, image_shape)``: dL/dx(p, q) = sum_mn g(p - m, q - n)
    K(m, n) (terms outside g count as 0): the full convolution of g with K, of the
    image's shape (H, W)."""
    (x_r, K_r, g_r), (x_1, K_1, g_1), (x_n, K_n, g_n) = _problems(702)
    formula = ("dx(p, q) = sum over m, n of g(p - m, q - n) * K(m, n), skipping terms whose "
               "g index is outside g; or: pad g with kh - 1 rows and kw - 1 columns of "
               "zeros on every side and correlate it with the flipped filter K[::-1, ::-1]")
    return check_function(conv_input_grad, [
        Case("the 3 x 3 example worked out by hand", (SMALL_K, SMALL_G, (3, 3)),
             expected=SMALL_DX, rtol=0, atol=1e-12, hint=formula),
        Case(f"random image {x_r.shape}, filter {K_r.shape}, against cnnlib",
             (K_r, g_r, x_r.shape), expected=lambda K, g, s: _cnnlib_grads(x_r, K, g)[0],
             rtol=1e-10, hint=formula + "; the result has the image's shape"),
        Case("a 1 x 1 filter: K times g", (K_1, g_1, x_1.shape),
             expected=lambda K, g, s: _cnnlib_grads(x_1, K, g)[0], rtol=1e-10,
             hint="with a 1 x 1 filter, dx = K[0, 0] * g"),
        Case("a filter as large as the image: g is 1 x 1", (K_n, g_n, x_n.shape),
             expected=lambda K, g, s: _cnnlib_grads(x_n, K, g)[0], rtol=1e-10,
             hint="one output y = sum(x * K), so dx = g[0, 0] * K (not flipped!)"),
        Case("random image against PyTorch's autograd", (K_r, g_r, x_r.shape),
             expected=lambda K, g, s: _torch_grads(x_r, K, g)[0], rtol=1e-10,
             hint="pixel x(p, q) met weight K(m, n) in output (p - m, q - n): the filter "
                  "is flipped relative to the forward pass"),
    ])


# ------------------------------------------------------- 7.3 tied weights
def _tap_index(kernel_shape, image_shape):
    from cnnlib.features.kernels import toeplitz_2d
    kh, kw = kernel_shape
    return toeplitz_2d(np.arange(1.0, kh * kw + 1).reshape(kh, kw),
                       image_shape).astype(np.int64)


def _tied_reference(dT, tap_index, kernel_shape):
    kh, kw = kernel_shape
    return np.array([_f64(dT)[tap_index == k].sum()
                     for k in range(1, kh * kw + 1)]).reshape(kh, kw)


@exercise("7.3", "The gradient of shared weights")
def check_tied_gradient(tied_gradient):
    """``tied_gradient(dT, tap_index, kernel_shape)``: the kernel's gradient (kh, kw)
    from the gradient dT of the Toeplitz matrix's entries; tap_index (same shape as dT)
    holds k = 1 .. kh*kw where entry k - 1 of the flattened kernel sits, 0 where no
    weight does. Each weight's gradient is the sum of its copies' gradients."""
    rng = check_rng(703)
    cases = []
    for image_shape, kernel_shape in [((5, 5), (3, 3)), ((4, 6), (2, 3)), ((3, 4), (1, 1)),
                                      ((3, 3), (3, 3))]:
        tap = _tap_index(kernel_shape, image_shape)
        x = rng.normal(size=image_shape)
        g = rng.normal(size=tap.shape[0])
        dT = np.outer(g, x.ravel())
        K = rng.normal(size=kernel_shape)
        cases.append(Case(
            f"{kernel_shape[0]} x {kernel_shape[1]} filter on a {image_shape[0]} x "
            f"{image_shape[1]} image: equal to the convolution's backward pass",
            (dT, tap, kernel_shape),
            expected=_cnnlib_grads(x, K, g.reshape(image_shape[0] - kernel_shape[0] + 1,
                                                   image_shape[1] - kernel_shape[1] + 1))[1],
            rtol=1e-10,
            hint="for k in 1 .. kh*kw, add up dT[tap_index == k]; put the k-th sum at "
                 "position k - 1 of the flattened kernel (row by row), then reshape to "
                 "kernel_shape; entries where tap_index is 0 belong to no weight: leave "
                 "them out"))
    dT = rng.normal(size=(9, 25))
    tap = _tap_index((3, 3), (5, 5))
    cases.insert(1, Case("a random dT (not an outer product)", (dT, tap, (3, 3)),
                         expected=_tied_reference(dT, tap, (3, 3)), rtol=1e-12,
                         hint="entries where tap_index is 0 belong to no weight: leave "
                              "them out"))
    return check_function(tied_gradient, cases)


# ------------------------------------------------------ 7.4 max pooling backward
def _cnnlib_pool_back(x, g, k):
    from cnnlib.functional.pool import max_pool2d_backward, max_pool2d_forward
    _, cache = max_pool2d_forward(_f64(x)[None, None], k)
    return max_pool2d_backward(_f64(g)[None, None], cache)[0, 0]


def _torch_pool_back(x, g, k):
    import torch
    import torch.nn.functional as tF
    t = torch.tensor(_f64(x)[None, None], requires_grad=True)
    tF.max_pool2d(t, k).backward(torch.tensor(_f64(g)[None, None]))
    return t.grad[0, 0].numpy()


@exercise("7.4", "Backpropagation through max pooling")
def check_max_pool_backward(max_pool_backward):
    """``max_pool_backward(x, g, k)``: for k x k max pooling with stride k of x (H, W),
    and g = dL/d(pooled) (floor(H/k), floor(W/k)), return dL/dx (H, W): each g(i, j)
    goes to the element that won window (i, j), the first one in row-major order when
    several tie; every other element gets 0."""
    rng = check_rng(704)
    fmap = np.array([[1.0, 3, 0, 2], [4, 2, 1, 0], [0, 1, 5, 6], [2, 0, 7, 1]])
    g2 = np.array([[0.1, -0.2], [0.3, 0.4]])
    route = ("in each window find the position of the maximum (np.argmax of the window, "
             "then np.unravel_index) and add g(i, j) there; everything else stays 0")
    ragged = rng.normal(size=(7, 9))
    return check_function(max_pool_backward, [
        Case("chapter 7's 4 x 4 example", (fmap, g2, 2),
             expected=np.array([[0, 0, 0, -0.2], [0.1, 0, 0, 0], [0, 0, 0, 0],
                                [0.3, 0, 0.4, 0]]), rtol=0, atol=1e-12, hint=route),
        Case("ties: the first maximum in row-major order gets the gradient",
             (np.array([[2.0, 2.0], [2.0, 1.0]]), np.array([[5.0]]), 2),
             expected=np.array([[5.0, 0], [0, 0]]), rtol=0, atol=0,
             hint="give the gradient to ONE element, the first maximum (np.argmax returns "
                  "it); PyTorch does the same, so that the gradients still add up to g"),
        Case("an all-negative map", (-1 - rng.random((4, 6)), rng.normal(size=(2, 3)), 2),
             expected=_cnnlib_pool_back, rtol=0, atol=1e-12,
             hint="the maximum of a window can be negative: do not compare with 0"),
        Case("3 x 3 windows on a 6 x 9 map", (rng.normal(size=(6, 9)),
                                               rng.normal(size=(2, 3)), 3),
             expected=_cnnlib_pool_back, rtol=0, atol=1e-12, hint=route),
        Case("a 7 x 9 map with 2 x 2 windows: the last row and column get 0",
             (ragged, rng.normal(size=(3, 4)), 2), expected=_cnnlib_pool_back, rtol=0,
             atol=1e-12,
             hint="the result has the shape of x; pixels in no window get 0"),
        Case("k = 1: the gradient passes unchanged", (ragged, ragged * 2, 1),
             expected=ragged * 2, rtol=0, atol=1e-12),
        Case("against PyTorch's autograd", (ragged, rng.normal(size=(3, 4)), 2),
             expected=_torch_pool_back, rtol=0, atol=1e-12, hint=route),
    ])
