"""cnnlib.functional.padding: values by hand, gradients, bad input. (PyTorch comparisons live in
test_crosscheck_conv.py.)"""
import numpy as np
import pytest

from cnnlib.functional import padding as P
from cnnlib.gradcheck import numerical_gradient


def test_pad_order_is_last_axis_first():
    x = np.arange(6.0).reshape(2, 3)
    out = P.pad(x, (1, 0, 0, 2))                 # width: 1 before; height: 2 after
    np.testing.assert_array_equal(out, [[0, 0, 1, 2], [0, 3, 4, 5], [0, 0, 0, 0],
                                        [0, 0, 0, 0]])


@pytest.mark.parametrize("mode,want", [
    ("constant", [7, 7, 1, 2, 3, 7]),
    ("reflect", [3, 2, 1, 2, 3, 2]),
    ("replicate", [1, 1, 1, 2, 3, 3]),
    ("circular", [2, 3, 1, 2, 3, 1]),
])
def test_modes_by_hand(mode, want):
    value = 7 if mode == "constant" else None
    np.testing.assert_array_equal(P.pad(np.array([[1.0, 2, 3]]), (2, 1), mode, value),
                                  [want])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_gradient_against_finite_differences(mode):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4))
    pad = (2, 1, 1, 2)
    out, cache = P.pad_forward(x, pad, mode)
    dout = rng.normal(size=out.shape)
    num = numerical_gradient(lambda v: float(np.sum(P.pad(v, pad, mode) * dout)), x.copy())
    np.testing.assert_allclose(P.pad_backward(dout, cache), num, atol=1e-7)


def test_float32_stays_float32():
    x = np.ones((2, 2), np.float32)
    out, cache = P.pad_forward(x, (1, 1), "reflect")
    assert out.dtype == np.float32
    assert P.pad_backward(np.ones_like(out), cache).dtype == np.float32


@pytest.mark.parametrize("args,exc,word", [
    ((np.ones((2, 3)), (1,)), ValueError, "even"),
    ((np.ones((2, 3)), 1), ValueError, "pad"),
    ((np.ones(3), (1, 1, 1, 1)), ValueError, "axes"),
    ((np.ones(3), (-1, 1)), ValueError, "pad[0]"),
    ((np.ones(3), (1.5, 1)), TypeError, "pad[0]"),
    ((np.ones(3), (3, 0), "reflect"), ValueError, "reflect"),
    ((np.ones(3), (4, 0), "circular"), ValueError, "circular"),
    ((np.ones(3), (1, 1), "mirror"), ValueError, "mode"),
    ((np.ones(3), (1, 1), "reflect", 2.0), ValueError, "value"),
    (("abc", (1, 1)), TypeError, "input"),
])
def test_bad_input(args, exc, word):
    with pytest.raises(exc) as info:
        P.pad(*args)
    assert word in str(info.value)


def test_backward_rejects_wrong_dout_shape():
    out, cache = P.pad_forward(np.ones((2, 3)), (1, 1))
    with pytest.raises(ValueError, match="dout"):
        P.pad_backward(np.ones((2, 4)), cache)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape, pad", [((0, 2, 4), (1, 1)), ((3, 0, 4), (1, 1)),
                                        ((2, 3, 0), (0, 0)), ((0, 3, 3), (1, 1, 1, 1))])
def test_empty_axes_follow_torch(mode, shape, pad):
    """'constant' pads anything, empty arrays included. The other modes copy existing
    pixels, so (as in PyTorch) only a leading batch axis may be empty: cnnlib then
    returns PyTorch's empty result, and otherwise a clear ValueError where PyTorch
    raises."""
    import torch
    import torch.nn.functional as TF

    x = np.zeros(shape)
    try:
        want = TF.pad(torch.tensor(x), pad, mode=mode).numpy()
    except (RuntimeError, NotImplementedError):
        want = None
    if want is None:
        with pytest.raises(ValueError, match=f"'{mode}' padding needs a non-empty input"):
            P.pad(x, pad, mode)
    else:
        out, cache = P.pad_forward(x, pad, mode)
        assert out.shape == want.shape
        assert P.pad_backward(np.ones(out.shape), cache).shape == shape
