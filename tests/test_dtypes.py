"""One precision per op. Floating arrays of different precision in one call (float32
input with a float64 weight, target or bias) raise a TypeError naming both; Python
numbers, lists and integer or boolean arrays adopt the floating arrays' precision; an
upstream gradient is cast to the forward's dtype. See cnnlib.functional's docstring
for the rule and for where PyTorch differs (checked here too)."""
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import cnnlib.functional as F
from cnnlib._validate import as_float_arrays

RNG = np.random.default_rng(0)
X2 = RNG.normal(size=(3, 4))
P2 = RNG.uniform(0.1, 0.9, (3, 4))
Y2 = (RNG.random((3, 4)) < 0.5).astype(float)
IMG = RNG.normal(size=(2, 3, 6, 6))
SIG = RNG.normal(size=(2, 3, 7))

# op -> (function of keyword arrays, {argument: float64 value}); the first argument
# is the input, the others its partners
OPS = {
    "linear": (lambda a: F.linear(a["input"], a["weight"], a["bias"]),
               {"input": X2, "weight": RNG.normal(size=(5, 4)), "bias": np.ones(5)}),
    "conv2d": (lambda a: F.conv2d(a["input"], a["weight"], a["bias"], padding=1),
               {"input": IMG, "weight": RNG.normal(size=(2, 3, 3, 3)), "bias": np.ones(2)}),
    "conv2d_loop": (lambda a: F.conv2d_loop(a["input"], a["weight"], a["bias"]),
                    {"input": IMG, "weight": RNG.normal(size=(2, 3, 3, 3)),
                     "bias": np.ones(2)}),
    "conv1d": (lambda a: F.conv1d(a["input"], a["weight"], a["bias"]),
               {"input": SIG, "weight": RNG.normal(size=(2, 3, 3)), "bias": np.ones(2)}),
    "binary_cross_entropy": (
        lambda a: F.binary_cross_entropy(a["input"], a["target"], a["weight"]),
        {"input": P2, "target": Y2, "weight": np.ones(4)}),
    "binary_cross_entropy_with_logits": (
        lambda a: F.binary_cross_entropy_with_logits(a["input"], a["target"], a["weight"],
                                                     pos_weight=a["pos_weight"]),
        {"input": X2, "target": Y2, "weight": np.ones(4), "pos_weight": np.ones(4)}),
    "cross_entropy": (lambda a: F.cross_entropy(a["input"], a["target"], a["weight"]),
                      {"input": X2, "target": F.softmax(X2), "weight": np.ones(4)}),
    "mse_loss": (lambda a: F.mse_loss(a["input"], a["target"], weight=a["weight"]),
                 {"input": X2, "target": Y2, "weight": np.ones((3, 4))}),
    "similarity_logits": (lambda a: F.similarity_logits(a["a"], a["b"]),
                          {"a": X2, "b": RNG.normal(size=(5, 4))}),
    "clip_loss": (lambda a: F.clip_loss(a["image_emb"], a["text_emb"], 2.0),
                  {"image_emb": F.normalize(X2), "text_emb": F.normalize(P2)}),
    "nt_xent": (lambda a: F.nt_xent(a["z_a"], a["z_b"], 0.3), {"z_a": X2, "z_b": P2}),
}
PAIRS = [(op, partner) for op, (_, args) in OPS.items() for partner in list(args)[1:]]


def _cast(args, dtype, **override):
    return {**{k: v.astype(dtype) for k, v in args.items()}, **override}


@pytest.mark.parametrize("op, partner", PAIRS)
@pytest.mark.parametrize("main, other", [(np.float32, np.float64),
                                         (np.float64, np.float32)])
def test_mixed_float_precisions_raise_a_type_error_naming_both(op, partner, main, other):
    fn, args = OPS[op]
    a = _cast(args, main)
    a[partner] = a[partner].astype(other)
    first = next(iter(args))             # "input" for most ops
    with pytest.raises(TypeError, match=re.escape(
            f"{first} is {np.dtype(main)} but {partner} is {np.dtype(other)}")) as info:
        fn(a)
    assert f"{partner}.astype(np.{np.dtype(main)})" in str(info.value)   # the fix


@pytest.mark.parametrize("op, partner", PAIRS)
@pytest.mark.parametrize("main", [np.float32, np.float64])
def test_lists_and_integer_arrays_adopt_the_precision(op, partner, main):
    fn, args = OPS[op]
    a = _cast(args, main)
    ref = fn(a)
    for form in (a[partner].tolist(), np.rint(a[partner]).astype(np.int64)
                 if np.all(a[partner] == np.rint(a[partner])) else None):
        if form is None:
            continue
        out = fn({**a, partner: form})
        assert np.asarray(out).dtype == main, (op, partner, type(form))
        if isinstance(form, list):
            np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("op", list(OPS))
def test_without_a_float_array_the_op_computes_in_float64(op):
    fn, args = OPS[op]
    a = {k: v.tolist() for k, v in args.items()}
    assert np.asarray(fn(a)).dtype == np.float64


# What PyTorch 2.13 does with the same mixtures (input float32, partner float64): the
# docstring of cnnlib.functional says where cnnlib is stricter. Checked so that the
# statement stays true.
TORCH = {
    "linear": (lambda x, o: TF.linear(x, o), "raises"),
    "conv2d": (lambda x, o: TF.conv2d(x[None, None], o[None, None, :2, :2]), "raises"),
    "binary_cross_entropy": (lambda x, o: TF.binary_cross_entropy(x.sigmoid(), o.sigmoid()),
                             "raises"),
    "cross_entropy weight": (lambda x, o: TF.cross_entropy(x, torch.tensor([0, 1, 2]),
                                                           o[0]), "raises"),
    "mse_loss": (lambda x, o: TF.mse_loss(x, o), "promotes"),
    "binary_cross_entropy_with_logits": (
        lambda x, o: TF.binary_cross_entropy_with_logits(x, o.sigmoid()), "promotes"),
    "cross_entropy probabilities": (lambda x, o: TF.cross_entropy(x, o.softmax(1)),
                                    "promotes"),
    "binary_cross_entropy_with_logits weight": (
        lambda x, o: TF.binary_cross_entropy_with_logits(x, x.sigmoid(), o[0]), "casts"),
}


@pytest.mark.parametrize("name", list(TORCH))
def test_what_torch_does_with_mixed_precisions(name):
    op, behaviour = TORCH[name]
    x = torch.tensor(X2[:3, :3], dtype=torch.float32)
    o = torch.tensor(X2[:3, :3], dtype=torch.float64)
    if behaviour == "raises":
        with pytest.raises(RuntimeError):
            op(x, o)
    else:
        want = torch.float64 if behaviour == "promotes" else torch.float32
        assert op(x, o).dtype == want


BACKWARDS = {
    "sigmoid": (F.sigmoid_forward, F.sigmoid_backward, (X2,)),
    "relu": (F.relu_forward, F.relu_backward, (X2,)),
    "leaky_relu": (F.leaky_relu_forward, F.leaky_relu_backward, (X2,)),
    "tanh": (F.tanh_forward, F.tanh_backward, (X2,)),
    "arctan": (F.arctan_forward, F.arctan_backward, (X2,)),
    "softmax": (F.softmax_forward, F.softmax_backward, (X2,)),
    "log_softmax": (F.log_softmax_forward, F.log_softmax_backward, (X2,)),
    "linear": (F.linear_forward, F.linear_backward, (X2, np.ones((5, 4)))),
    "conv2d": (F.conv2d_forward, F.conv2d_backward, (IMG, np.ones((2, 3, 3, 3)))),
    "conv2d_loop": (F.conv2d_loop_forward, F.conv2d_loop_backward,
                    (IMG, np.ones((2, 3, 3, 3)))),
    "conv1d": (F.conv1d_forward, F.conv1d_backward, (SIG, np.ones((2, 3, 3)))),
    "max_pool2d": (lambda x: F.max_pool2d_forward(x, 2), F.max_pool2d_backward, (IMG,)),
    "avg_pool2d": (lambda x: F.avg_pool2d_forward(x, 2), F.avg_pool2d_backward, (IMG,)),
    "pad": (lambda x: F.pad_forward(x, (1, 2)), F.pad_backward, (X2,)),
    "mse_loss": (lambda x: F.mse_loss_forward(x, Y2.astype(x.dtype), reduction="none"),
                 F.mse_loss_backward, (X2,)),
    "cross_entropy": (lambda x: F.cross_entropy_forward(x, [0, 1, 3]),
                      F.cross_entropy_backward, (X2,)),
}


@pytest.mark.parametrize("name", list(BACKWARDS))
@pytest.mark.parametrize("dtype, other", [(np.float32, np.float64),
                                          (np.float64, np.float32)])
def test_dout_is_cast_to_the_forward_dtype_as_in_torch(name, dtype, other):
    """Gradients always have the dtype of the arrays they belong to: a dout of the
    other precision is cast, as PyTorch's autograd casts a gradient passed to
    ``backward``."""
    forward, backward, arrays = BACKWARDS[name]
    out, cache = forward(*(a.astype(dtype) for a in arrays))
    out = out[0] if isinstance(out, tuple) else out
    grads = backward(np.ones(np.shape(out), other), cache)
    for g in grads if isinstance(grads, tuple) else (grads,):
        assert g is None or g.dtype == dtype, name
    t = torch.ones(3, dtype=torch.float32, requires_grad=True)
    (t * 2).backward(torch.ones(3, dtype=torch.float64))
    assert t.grad.dtype == torch.float32


def test_as_float_arrays_details():
    x32 = np.ones(3, np.float32)
    a, b, c = as_float_arrays(input=x32, weight=None, target=np.float64(2.0))
    assert a is x32 and b is None and c.dtype == np.float32     # NumPy scalars adopt
    a, b = as_float_arrays(input=[1, 2], mask=np.array([True, False]))
    assert a.dtype == b.dtype == np.float64
    with pytest.raises(TypeError, match="input is float16 but weight is float32"):
        as_float_arrays(input=np.ones(2, np.float16), weight=np.ones(2, np.float32))
    with pytest.raises(TypeError, match="weight must be a numeric array"):
        as_float_arrays(input=x32, weight="w")
