"""Checks for the exercises of chapter 5, convolution of images
(``solutions/05_convolution_of_images.ipynb``).

Each check runs the student's function on several cases: the chapter's worked
example (the 5 x 5 binary image and the filter [[1,0,1],[0,1,0],[1,0,1]] give
[[4,3,4],[2,4,3],[2,3,4]]), random non-square images and kernels, 1 x 1 kernels, a kernel
as large as the image, strides that leave pixels over, all-negative maps and ties for
max pooling, against cnnlib and PyTorch. The last exercise, a kernel that detects
vertical edges, is judged by what the kernel does to test images.
"""
from __future__ import annotations

import numpy as np

from cnnlib.checks import Case, check_function, check_rng, exercise, verdict

__all__ = ["check_conv2d_valid", "check_conv2d_padding_stride", "check_output_size",
           "check_max_pool", "check_conv_multichannel", "check_vertical_edge_kernel",
           "WORKED_IMAGE", "WORKED_KERNEL", "WORKED_RESULT"]

WORKED_IMAGE = np.array([[1, 1, 1, 0, 0],
                         [0, 1, 1, 1, 0],
                         [0, 0, 1, 1, 1],
                         [0, 0, 1, 1, 0],
                         [0, 1, 1, 0, 0]], dtype=np.float64)
WORKED_KERNEL = np.array([[1, 0, 1],
                          [0, 1, 0],
                          [1, 0, 1]], dtype=np.float64)
WORKED_RESULT = np.array([[4, 3, 4],
                          [2, 4, 3],
                          [2, 3, 4]], dtype=np.float64)
ASYMMETRIC_IMAGE = np.arange(16, dtype=np.float64).reshape(4, 4)
ASYMMETRIC_KERNEL = np.array([[1.0, 2.0], [0.0, -1.0]])


# ------------------------------------------------------------------ references
def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _cnnlib_conv(image, kernel, padding=0, stride=1):
    """cnnlib's conv2d on one grey image and one kernel: (OH, OW)."""
    from cnnlib.functional.conv import conv2d
    return conv2d(_f64(image)[None, None], _f64(kernel)[None, None], padding=padding,
                  stride=stride)[0, 0]


def _torch_conv(image, kernel, padding=0, stride=1):
    """torch.nn.functional.conv2d on one grey image and one kernel: (OH, OW)."""
    import torch
    import torch.nn.functional as tF
    return tF.conv2d(torch.as_tensor(_f64(image))[None, None],
                     torch.as_tensor(_f64(kernel))[None, None], padding=padding,
                     stride=stride)[0, 0]


def _images(seed: int):
    """Random (image, kernel) pairs: non-square image with a non-square kernel, a 1 x 1
    kernel, and a kernel as large as the image."""
    rng = check_rng(seed)
    H, W = int(rng.integers(6, 12)), int(rng.integers(12, 18))
    kh, kw = int(rng.integers(2, 5)), int(rng.integers(1, 4))
    return (rng.normal(size=(H, W)), rng.normal(size=(kh, kw))), \
        (rng.normal(size=(5, 7)), rng.normal(size=(1, 1))), \
        (rng.normal(size=(4, 3)), rng.normal(size=(4, 3)))


# ------------------------------------------------------------- 5.1 valid convolution
@exercise("5.1", "2-D convolution with loops")
def check_conv2d_valid(conv2d_valid):
    """``conv2d_valid(image, kernel)``: (I * K)(i, j) = sum_m sum_n I(i+m, j+n) K(m, n)
    at every valid position; image (H, W), kernel (kh, kw) -> (H-kh+1, W-kw+1)."""
    (img_r, k_r), (img_1, k_1), (img_n, k_n) = _images(501)
    size_hint = ("the output has H - kh + 1 rows and W - kw + 1 columns; output (i, j) "
                 "sums image[i + m, j + n] * kernel[m, n] over m < kh and n < kw")
    return check_function(conv2d_valid, [
        Case("the chapter's worked example", (WORKED_IMAGE, WORKED_KERNEL),
             expected=WORKED_RESULT, rtol=0, atol=1e-12, hint=size_hint),
        Case("an asymmetric 2 x 2 kernel (not flipped)", (ASYMMETRIC_IMAGE, ASYMMETRIC_KERNEL),
             expected=np.array([[-3.0, -1, 1], [5, 7, 9], [13, 15, 17]]), rtol=0,
             atol=1e-12,
             hint="do not flip the kernel: K(m, n) multiplies I(i + m, j + n); deep "
                  "learning's convolution is a cross-correlation"),
        Case(f"random non-square image {img_r.shape} and kernel {k_r.shape} against "
             f"cnnlib", (img_r, k_r), expected=_cnnlib_conv, rtol=1e-10,
             hint=size_hint + "; rows and columns differ here: use H with kh and W with kw"),
        Case("a 1 x 1 kernel: the image times one number", (img_1, k_1),
             expected=_cnnlib_conv, rtol=1e-10,
             hint="with a 1 x 1 kernel the output is kernel[0, 0] * image, as large as "
                  "the image"),
        Case("a kernel as large as the image: one output", (img_n, k_n),
             expected=_cnnlib_conv, rtol=1e-10,
             hint="the window fits once: the output is 1 x 1, the sum of image * kernel"),
        Case("random image against torch.nn.functional.conv2d", (img_r, k_r),
             expected=_torch_conv, rtol=1e-10, hint=size_hint),
        Case("integer inputs", (WORKED_IMAGE.astype(np.int64), WORKED_KERNEL.astype(np.int64)),
             expected=WORKED_RESULT, rtol=0, atol=1e-12,
             hint="start from np.zeros((H - kh + 1, W - kw + 1)) and add the products"),
    ])


# ------------------------------------------------------- 5.2 padding and stride
@exercise("5.2", "Padding and stride")
def check_conv2d_padding_stride(conv2d_general):
    """``conv2d_general(image, kernel, padding=0, stride=1)``: the image padded with
    ``padding`` rings of zeros, the window moved ``stride`` pixels at a time; output
    floor((H + 2p - kh) / s) + 1 by floor((W + 2p - kw) / s) + 1."""
    (img_r, k_r), (img_1, k_1), _ = _images(502)
    size_hint = ("output size per axis: floor((n + 2*padding - k) / stride) + 1; pad first "
                 "(np.pad(image, padding)), then window (i, j) starts at row i * stride, "
                 "column j * stride of the padded image")
    return check_function(conv2d_general, [
        Case("the worked example with the defaults (Exercise 5.1)",
             (WORKED_IMAGE, WORKED_KERNEL), expected=WORKED_RESULT, rtol=0, atol=1e-12,
             hint="with padding=0 and stride=1 this is the valid convolution of 5.1"),
        Case("the worked example with padding=1", (WORKED_IMAGE, WORKED_KERNEL),
             {"padding": 1},
             expected=np.array([[2.0, 2, 3, 1, 1], [1, 4, 3, 4, 1], [1, 2, 4, 3, 3],
                                [1, 2, 3, 4, 1], [0, 2, 2, 1, 1]]),
             rtol=0, atol=1e-12,
             hint="add `padding` rings of zeros on ALL four sides: the padded image is "
                  "7 x 7 and the output 5 x 5"),
        Case("the worked example with stride=2", (WORKED_IMAGE, WORKED_KERNEL),
             {"stride": 2}, expected=np.array([[4.0, 4], [2, 4]]), rtol=0, atol=1e-12,
             hint="window (i, j) starts at row 2i and column 2j: here at 0 and 2"),
        Case("a stride that leaves pixels over (7 x 8 image, 3 x 3 kernel, stride 2)",
             (np.arange(56.0).reshape(7, 8), np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])),
             {"stride": 2}, expected=_cnnlib_conv, rtol=1e-10,
             hint="the last window must fit entirely: floor((8 - 3) / 2) + 1 = 3 columns, "
                  "and the last column of the image is never used"),
        Case(f"padding=2, stride=3, non-square image {img_r.shape} and kernel "
             f"{k_r.shape}, against cnnlib", (img_r, k_r), {"padding": 2, "stride": 3},
             expected=_cnnlib_conv, rtol=1e-10, hint=size_hint),
        Case("a 1 x 1 kernel with stride 2: every other pixel", (img_1, k_1),
             {"stride": 2}, expected=_cnnlib_conv, rtol=1e-10,
             hint="with a 1 x 1 kernel, stride 2 keeps rows and columns 0, 2, 4, ..."),
        Case("a kernel larger than the image, made to fit by padding",
             (np.ones((2, 2)), np.ones((4, 4))), {"padding": 1},
             expected=np.array([[4.0]]), rtol=0, atol=1e-12, hint=size_hint),
        Case("padding=1, stride=2 against torch.nn.functional.conv2d", (img_r, k_r),
             {"padding": 1, "stride": 2}, expected=_torch_conv, rtol=1e-10, hint=size_hint),
    ])


# ------------------------------------------------------------- 5.3 output size
def _cnnlib_size(n, k, stride=1, padding=0):
    from cnnlib.functional.conv import conv_output_size
    return conv_output_size(n, k, stride, padding)


def _torch_size(n, k, stride=1, padding=0):
    """The width of what PyTorch's conv2d actually returns."""
    import torch
    import torch.nn.functional as tF
    return int(tF.conv2d(torch.zeros(1, 1, 1, n), torch.zeros(1, 1, 1, k), stride=stride,
                         padding=(0, padding)).shape[-1])


def _is_int(value) -> str | None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        return (f"return an int (a number of pixels), got {type(value).__name__} "
                f"{value!r}: use // for the floor division")
    return None


@exercise("5.3", "The output size")
def check_output_size(output_size):
    """``output_size(n, k, stride=1, padding=0)``: floor((n + 2 padding - k) / stride) + 1,
    as an int."""
    formula = ("floor((n + 2*padding - k) / stride) + 1: in Python "
               "(n + 2 * padding - k) // stride + 1")
    rng = check_rng(503)
    cases = [
        Case("the chapter's 5 x 5 image and 3 x 3 filter", (5, 3), expected=3, rtol=0, atol=0,
             check=_is_int, hint="5 - 3 + 1 = 3 positions"),
        Case("padding 1 keeps the size ('same')", (5, 3), {"padding": 1}, expected=5,
             rtol=0, atol=0, check=_is_int, hint="padding adds 2 * padding pixels, one ring "
                                                  "on each side"),
        Case("stride 2", (5, 3), {"stride": 2}, expected=2, rtol=0, atol=0, check=_is_int,
             hint=formula),
        Case("a stride that leaves a pixel over: n = 6, k = 3, stride 2", (6, 3),
             {"stride": 2}, expected=2, rtol=0, atol=0, check=_is_int,
             hint="(6 - 3) / 2 = 1.5 is rounded DOWN: the last window must fit entirely"),
        Case("a 1 x 1 kernel with stride 3: n = 10", (10, 1), {"stride": 3}, expected=4,
             rtol=0, atol=0, check=_is_int, hint=formula),
        Case("a 256-pixel photo and a 3 x 3 filter", (256, 3), expected=254, rtol=0,
             atol=0, check=_is_int),
        Case("LeNet's first layer: 28, k = 5, padding 2", (28, 5), {"padding": 2},
             expected=28, rtol=0, atol=0, check=_is_int),
    ]
    for t in range(4):
        n, k = int(rng.integers(5, 60)), int(rng.integers(1, 6))
        s, p = int(rng.integers(1, 5)), int(rng.integers(0, 3))
        reference = _cnnlib_size if t % 2 == 0 else _torch_size
        who = "cnnlib's conv_output_size" if t % 2 == 0 else "the shape PyTorch returns"
        cases.append(Case(f"n = {n}, k = {k}, stride {s}, padding {p} against {who}",
                          (n, k), {"stride": s, "padding": p}, expected=reference,
                          rtol=0, atol=0, check=_is_int, hint=formula))
    return check_function(output_size, cases)


# ------------------------------------------------------------------ 5.4 max pooling
def _cnnlib_pool(feature_map, kernel_size, stride=None):
    from cnnlib.functional.pool import max_pool2d
    return max_pool2d(_f64(feature_map)[None, None], kernel_size, stride)[0, 0]


def _torch_pool(feature_map, kernel_size, stride=None):
    import torch
    import torch.nn.functional as tF
    return tF.max_pool2d(torch.as_tensor(_f64(feature_map))[None, None], kernel_size,
                         stride)[0, 0]


@exercise("5.4", "Max pooling")
def check_max_pool(max_pool):
    """``max_pool(feature_map, kernel_size, stride=None)``: the maximum of each
    kernel_size x kernel_size window moved ``stride`` pixels (default: kernel_size) at a
    time; (H, W) -> (floor((H - k) / s) + 1, floor((W - k) / s) + 1)."""
    rng = check_rng(504)
    ragged = rng.normal(size=(7, 10))
    window_hint = ("window (i, j) covers rows i*stride .. i*stride + k - 1 and the same "
                   "columns; keep its maximum (np.max of the slice)")
    return check_function(max_pool, [
        Case("a 4 x 4 map, 2 x 2 windows",
             (np.array([[1.0, 3, 0, 2], [4, 2, 1, 0], [0, 1, 5, 6], [2, 0, 7, 1]]), 2),
             expected=np.array([[4.0, 2], [2, 7]]), rtol=0, atol=0, hint=window_hint),
        Case("an all-negative map", (-1.0 - rng.random((4, 6)), 2), expected=_cnnlib_pool,
             rtol=0, atol=0,
             hint="do not start the maximum at 0: the largest value of a window can be "
                  "negative (take np.max of the window, or start from -np.inf)"),
        Case("ties: equal values in a window", (np.array([[2.0, 2, 1, 1], [2, 2, 1, 1],
                                                          [0, 3, 3, 0], [3, 0, 0, 3]]), 2),
             expected=np.array([[2.0, 1], [3, 3]]), rtol=0, atol=0, hint=window_hint),
        Case("stride defaults to kernel_size (6 x 9 map, 3 x 3 windows)",
             (rng.normal(size=(6, 9)), 3), expected=_cnnlib_pool, rtol=0, atol=0,
             hint="with stride=None use stride = kernel_size: the windows do not overlap"),
        Case("overlapping windows: kernel 3, stride 1", (rng.normal(size=(5, 6)), 3),
             {"stride": 1}, expected=_cnnlib_pool, rtol=0, atol=0, hint=window_hint),
        Case("a size that leaves pixels over: 7 x 10 map, 2 x 2 windows", (ragged, 2),
             expected=_cnnlib_pool, rtol=0, atol=0,
             hint="floor((7 - 2) / 2) + 1 = 3 rows and floor((10 - 2) / 2) + 1 = 5 columns; "
                  "the last row is left over"),
        Case("kernel 1: the map itself", (ragged, 1), expected=ragged, rtol=0, atol=0),
        Case("kernel 3, stride 2 against torch.nn.functional.max_pool2d", (ragged, 3),
             {"stride": 2}, expected=_torch_pool, rtol=0, atol=0, hint=window_hint),
    ])


# --------------------------------------------------- 5.5 many channels, many filters
def _cnnlib_multi(x, weight):
    from cnnlib.functional.conv import conv2d
    return conv2d(_f64(x)[None], _f64(weight))[0]


def _torch_multi(x, weight):
    import torch
    import torch.nn.functional as tF
    return tF.conv2d(torch.as_tensor(_f64(x))[None], torch.as_tensor(_f64(weight)))[0]


@exercise("5.5", "Many channels and many filters")
def check_conv_multichannel(conv_multichannel):
    """``conv_multichannel(x, weight)``: x (C, H, W), weight (F, C, kh, kw) ->
    (F, H-kh+1, W-kw+1), out[f, s, t] = sum_k sum_i sum_j weight[f, k, i, j]
    x[k, s+i, t+j] (valid, stride 1)."""
    rng = check_rng(505)
    x_r, w_r = rng.normal(size=(3, 7, 9)), rng.normal(size=(4, 3, 3, 2))
    photo = rng.random((3, 6, 5))
    luma = np.array([0.2125, 0.7154, 0.0721]).reshape(1, 3, 1, 1)
    rg = np.zeros((1, 3, 2, 2))
    rg[0, 0], rg[0, 1] = 0.25, -0.25
    sum_hint = ("out[f] is the SUM over the channels k of the 2-D convolutions of x[k] "
                "with weight[f, k]; one output map per filter f")
    return check_function(conv_multichannel, [
        Case("one channel, one filter: the worked example",
             (WORKED_IMAGE[None], WORKED_KERNEL[None, None]), expected=WORKED_RESULT[None],
             rtol=0, atol=1e-12,
             hint="with C = F = 1 this is Exercise 5.1, with shapes (1, H, W) and "
                  "(1, 1, kh, kw) -> (1, OH, OW)"),
        Case("'red minus green' on a 3-channel image", (photo, rg), expected=_cnnlib_multi,
             rtol=1e-10, hint=sum_hint),
        Case("1 x 1 kernels: the brightness of a colour image", (photo, luma),
             expected=(luma[0, :, 0, 0, None, None] * photo).sum(axis=0)[None], rtol=1e-10,
             hint="a 1 x 1 kernel over 3 channels is a weighted sum of the channels at "
                  "every pixel"),
        Case("3 channels, 4 filters of 3 x 2, against cnnlib", (x_r, w_r),
             expected=_cnnlib_multi, rtol=1e-10,
             hint=sum_hint + "; stack the F maps into an array of shape (F, OH, OW)"),
        Case("2 channels, 1 filter as large as the image", (x_r[:2, :3, :4],
                                                           w_r[:1, :2, :3, :2].repeat(2, 3)),
             expected=_cnnlib_multi, rtol=1e-10),
        Case("against torch.nn.functional.conv2d", (x_r, w_r), expected=_torch_multi,
             rtol=1e-10, hint=sum_hint),
    ])


# ------------------------------------------------ 5.6 a vertical edge detector
def _step_images(size: int = 16):
    rows, cols = np.indices((size, size))
    return {"flat": np.full((size, size), 0.6),
            "vertical edge": (cols >= size // 2).astype(float),
            "vertical edge, bright to dark": (cols < size // 2).astype(float),
            "horizontal edge": (rows >= size // 2).astype(float),
            "ramp from top to bottom": rows / size}


@exercise("5.6", "A kernel that detects vertical edges")
def check_vertical_edge_kernel(kernel):
    """``kernel``: a 2-D array (at most 7 x 7) whose valid convolution with a 16 x 16
    image gives (1) about 0 on a flat image, (2) a clear response to a vertical step
    edge, in either direction, and (3) at most a tenth of that on a horizontal edge
    and on a brightness ramp from top to bottom."""
    from cnnlib.functional.conv import conv2d

    if kernel is None:          # the notebook's placeholder: not designed yet
        raise NotImplementedError("Exercise 5.6: set vertical_kernel")
    try:
        K = np.asarray(kernel, dtype=np.float64)
    except (TypeError, ValueError):
        return verdict(False, f"the kernel must be a 2-D array of numbers, got "
                              f"{type(kernel).__name__}")
    if K.ndim != 2 or not (1 <= K.shape[0] <= 7 and 1 <= K.shape[1] <= 7):
        return verdict(False, f"the kernel must be a 2-D array of at most 7 x 7, got shape "
                              f"{K.shape}")
    if not np.all(np.isfinite(K)) or not np.any(K):
        return verdict(False, "the kernel must have finite weights, not all zero")
    peak = {name: float(np.abs(conv2d(img[None, None], K[None, None])).max())
            for name, img in _step_images().items()}
    scale = float(np.abs(K).sum())              # the largest response any [0, 1] image gives
    vertical = min(peak["vertical edge"], peak["vertical edge, bright to dark"])
    measured = (f"largest |response|: flat {peak['flat']:.3g}, vertical edge "
                f"{peak['vertical edge']:.3g} (bright to dark "
                f"{peak['vertical edge, bright to dark']:.3g}), horizontal edge "
                f"{peak['horizontal edge']:.3g}, ramp from top to bottom "
                f"{peak['ramp from top to bottom']:.3g}")
    if peak["flat"] > 1e-9 * scale:
        return verdict(False, f"{measured}. Hint: a flat region must give 0: make the "
                              f"weights sum to 0 (they sum to {K.sum():.3g})")
    if vertical <= 1e-9 * scale:
        turned = (" It responds to the horizontal edge instead: transpose it (K.T)."
                  if peak["horizontal edge"] > 1e-9 * scale else "")
        return verdict(False, f"{measured}. Hint: the kernel does not see vertical edges "
                              f"(in both directions).{turned} Put positive weights on one "
                              f"side (left or right) and negative weights on the other")
    for name in ("horizontal edge", "ramp from top to bottom"):
        if peak[name] > 0.1 * vertical:
            return verdict(False, f"{measured}. Hint: the kernel also responds to the "
                                  f"{name}: make it blind to changes from top to bottom, "
                                  f"e.g. by giving every row the same pattern (each column "
                                  f"constant), or rows that each sum to 0")
    if vertical < 0.25 * scale:
        return verdict(False, f"{measured}. Hint: the response to a vertical edge should "
                              f"reach at least a quarter of sum |K| = {scale:.3g}: the "
                              f"weights on each side of the edge should share one sign")
    return verdict(True, measured)
