"""Every public function of activations, softmax, linear, losses and gradcheck rejects
bad input with a TypeError or ValueError whose message says what was wrong."""
import re

import numpy as np
import pytest

from cnnlib.functional import activations as A
from cnnlib import gradcheck as G
from cnnlib.functional import affine as L
from cnnlib.functional import losses as LS
from cnnlib.functional import probabilities as S

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))                  # a generic input
P = RNG.uniform(0.1, 0.9, (3, 4))                # probabilities
Y = (RNG.random((3, 4)) < 0.5).astype(float)     # 0/1 targets
W = RNG.standard_normal((5, 4))                  # linear weight (out=5, in=4)
B = RNG.standard_normal(5)
IDX = np.array([0, 3, 1])                        # class indices for 4 classes


def _shapes(*shapes) -> str:
    """A regex that finds every shape, in order, in an error message."""
    return ".*".join(re.escape(str(s)) for s in shapes)


# One call per public function; ``bad`` replaces its main array argument (for a
# backward pass: dout, with a valid cache from the matching forward).
CALLS = {
    # activations
    "sigmoid": (lambda v: A.sigmoid(v), X),
    "sigmoid_forward": (lambda v: A.sigmoid_forward(v), X),
    "sigmoid_backward": (lambda v: A.sigmoid_backward(v, A.sigmoid_forward(X)[1]), X),
    "relu": (lambda v: A.relu(v), X),
    "relu_forward": (lambda v: A.relu_forward(v), X),
    "relu_backward": (lambda v: A.relu_backward(v, A.relu_forward(X)[1]), X),
    "leaky_relu": (lambda v: A.leaky_relu(v), X),
    "leaky_relu_forward": (lambda v: A.leaky_relu_forward(v, 0.1), X),
    "leaky_relu_backward": (lambda v: A.leaky_relu_backward(
        v, A.leaky_relu_forward(X)[1]), X),
    "tanh": (lambda v: A.tanh(v), X),
    "tanh_forward": (lambda v: A.tanh_forward(v), X),
    "tanh_backward": (lambda v: A.tanh_backward(v, A.tanh_forward(X)[1]), X),
    "arctan": (lambda v: A.arctan(v), X),
    "arctan_forward": (lambda v: A.arctan_forward(v), X),
    "arctan_backward": (lambda v: A.arctan_backward(v, A.arctan_forward(X)[1]), X),
    # softmax
    "one_hot": (lambda v: S.one_hot(v, 4), IDX),
    "softmax": (lambda v: S.softmax(v), X),
    "softmax_forward": (lambda v: S.softmax_forward(v, 0), X),
    "softmax_backward": (lambda v: S.softmax_backward(v, S.softmax_forward(X)[1]), X),
    "log_softmax": (lambda v: S.log_softmax(v), X),
    "log_softmax_forward": (lambda v: S.log_softmax_forward(v, 1), X),
    "log_softmax_backward": (lambda v: S.log_softmax_backward(
        v, S.log_softmax_forward(X)[1]), X),
    # linear
    "linear": (lambda v: L.linear(v, W, B), X),
    "linear_forward": (lambda v: L.linear_forward(v, W), X),
    "linear_backward": (lambda v: L.linear_backward(v, L.linear_forward(X, W, B)[1]),
                        np.ones((3, 5))),
    # losses
    "binary_cross_entropy": (lambda v: LS.binary_cross_entropy(v, Y), P),
    "binary_cross_entropy_forward": (lambda v: LS.binary_cross_entropy_forward(v, Y), P),
    "binary_cross_entropy_backward": (lambda v: LS.binary_cross_entropy_backward(
        v, LS.binary_cross_entropy_forward(P, Y)[1]), 1.0),
    "binary_cross_entropy_with_logits": (
        lambda v: LS.binary_cross_entropy_with_logits(v, Y), X),
    "binary_cross_entropy_with_logits_forward": (
        lambda v: LS.binary_cross_entropy_with_logits_forward(v, Y), X),
    "binary_cross_entropy_with_logits_backward": (
        lambda v: LS.binary_cross_entropy_with_logits_backward(
            v, LS.binary_cross_entropy_with_logits_forward(X, Y)[1]), 1.0),
    "cross_entropy": (lambda v: LS.cross_entropy(v, IDX), X),
    "cross_entropy_forward": (lambda v: LS.cross_entropy_forward(v, IDX), X),
    "cross_entropy_backward": (lambda v: LS.cross_entropy_backward(
        v, LS.cross_entropy_forward(X, IDX)[1]), 1.0),
    "mse_loss": (lambda v: LS.mse_loss(v, X), X),
    "mse_loss_forward": (lambda v: LS.mse_loss_forward(v, X), X),
    "mse_loss_backward": (lambda v: LS.mse_loss_backward(
        v, LS.mse_loss_forward(X, P)[1]), 1.0),
    # gradcheck
    "rel_error": (lambda v: G.rel_error(v, X), X),
    "numerical_gradient": (lambda v: G.numerical_gradient(np.sum, v), X.copy()),
    "numerical_gradient_array": (lambda v: G.numerical_gradient_array(
        lambda x: 2 * x, v, X), X.copy()),
    "check_gradient": (lambda v: G.check_gradient(np.sum, np.ones_like, v), X),
}

PUBLIC = [name for module in (A, S, L, LS, G) for name in module.__all__]
BAD_TYPES = {
    "a string": "abc",
    "an array of strings": np.array([["a", "b"], ["c", "d"]]),
    "an object array": np.array([None, 1.0], dtype=object),
    "a ragged list": [[1.0, 2.0], [3.0]],
    "complex numbers": np.ones(3, dtype=complex),
}


def test_every_public_function_is_covered():
    assert sorted(PUBLIC) == sorted(CALLS)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_valid_call_works(name):
    call, good = CALLS[name]
    call(good)          # the bad-input tests below must fail for the bad input only


@pytest.mark.parametrize("name", sorted(CALLS))
def test_non_numeric_input_is_a_type_error(name):
    call, _ = CALLS[name]
    for what, bad in BAD_TYPES.items():
        with pytest.raises(TypeError, match=r"must be|complex|real"):
            call(bad)
            pytest.fail(f"{name} accepted {what}")


# ------------------------------------------------------------------- wrong rank
@pytest.mark.parametrize("fn", [S.softmax, S.log_softmax, S.softmax_forward,
                                S.log_softmax_forward])
def test_softmax_of_a_scalar_or_bad_dim(fn):
    with pytest.raises(ValueError, match=r"dim=-1 is out of range.*\(\)"):
        fn(np.float64(1.0))
    with pytest.raises(ValueError, match=_shapes("dim=2", (3, 4))):
        fn(X, 2)
    with pytest.raises(TypeError, match="dim must be an int"):
        fn(X, 1.0)


@pytest.mark.parametrize("fn", [L.linear, L.linear_forward])
def test_linear_rank_and_shapes(fn):
    with pytest.raises(ValueError, match=r"weight must be 2-D.*\(20,\)"):
        fn(X, W.reshape(-1))
    with pytest.raises(ValueError, match=r"input must have at least 1 dimension"):
        fn(np.float64(2.0), W)
    with pytest.raises(ValueError, match=_shapes((3, 4), (4, 5))):
        fn(X, W.T)
    with pytest.raises(ValueError, match=_shapes("bias", (5,), (5, 1))):
        fn(X, W, B[:, None])
    with pytest.raises(ValueError, match=_shapes("bias", (5,), (4,))):
        fn(X, W, B[:4])


@pytest.mark.parametrize("fn", [LS.cross_entropy, LS.cross_entropy_forward])
def test_cross_entropy_rank_and_target_shape(fn):
    with pytest.raises(ValueError, match=r"0-D"):
        fn(np.float64(1.0), 0)
    with pytest.raises(ValueError, match=_shapes((3,), (3, 4), (3, 4), (4,))):
        fn(X, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=_shapes((3, 4), (3, 4), (4, 3))):
        fn(X, np.full((4, 3), 0.25))
    with pytest.raises(ValueError, match=_shapes("weight", (4,), (3,))):
        fn(X, IDX, np.ones(3))


# ------------------------------------------------------- mismatched input shapes
PAIRED = {
    "binary_cross_entropy": lambda x, t: LS.binary_cross_entropy(x, t),
    "binary_cross_entropy_forward": lambda x, t: LS.binary_cross_entropy_forward(x, t),
    "binary_cross_entropy_with_logits": LS.binary_cross_entropy_with_logits,
    "binary_cross_entropy_with_logits_forward":
        LS.binary_cross_entropy_with_logits_forward,
    "mse_loss": LS.mse_loss,
    "mse_loss_forward": LS.mse_loss_forward,
    "rel_error": G.rel_error,
}


@pytest.mark.parametrize("name", sorted(PAIRED))
def test_mismatched_shapes_name_both(name):
    a, b = np.full((3, 4), 0.5), np.full((4, 3), 0.5)
    with pytest.raises(ValueError, match=_shapes((3, 4), (4, 3))):
        PAIRED[name](a, b)
    # (n,) against (n, 1) would broadcast to (n, n) silently: refused too.
    with pytest.raises(ValueError, match=_shapes((3,), (3, 1))):
        PAIRED[name](np.full(3, 0.5), np.full((3, 1), 0.5))


@pytest.mark.parametrize("fn", [LS.binary_cross_entropy,
                                LS.binary_cross_entropy_with_logits])
def test_loss_weights_must_broadcast(fn):
    with pytest.raises(ValueError, match=_shapes("weight", (3, 4), (5,))):
        fn(P, Y, np.ones(5))
    with pytest.raises(ValueError, match=_shapes("weight", (3, 4), (2, 3, 4))):
        fn(P, Y, np.ones((2, 3, 4)))


def test_pos_weight_and_mse_weight_shapes():
    with pytest.raises(ValueError, match=_shapes("pos_weight", (3, 4), (3,))):
        LS.binary_cross_entropy_with_logits(X, Y, pos_weight=np.ones(3))
    with pytest.raises(ValueError, match=_shapes("weight", (4,), (3, 4))):
        LS.mse_loss(X, X, weight=np.ones(4))


# ----------------------------------------------------------------- bad reduction
LOSS_FORWARDS = {
    "binary_cross_entropy": (LS.binary_cross_entropy, P, Y),
    "binary_cross_entropy_forward": (LS.binary_cross_entropy_forward, P, Y),
    "binary_cross_entropy_with_logits": (LS.binary_cross_entropy_with_logits, X, Y),
    "binary_cross_entropy_with_logits_forward":
        (LS.binary_cross_entropy_with_logits_forward, X, Y),
    "cross_entropy": (LS.cross_entropy, X, IDX),
    "cross_entropy_forward": (LS.cross_entropy_forward, X, IDX),
    "mse_loss": (LS.mse_loss, X, P),
    "mse_loss_forward": (LS.mse_loss_forward, X, P),
}


@pytest.mark.parametrize("name", sorted(LOSS_FORWARDS))
def test_bad_reduction(name):
    fn, x, t = LOSS_FORWARDS[name]
    for reduction in ["avg", "MEAN", None, ""]:
        with pytest.raises(ValueError, match=r"reduction must be one of \['mean', "
                                             r"'sum', 'none'\]"):
            fn(x, t, reduction=reduction)


def test_options_after_weight_are_keyword_only_as_in_pytorch():
    # PyTorch's 4th positional argument is the deprecated size_average, not reduction:
    # a positional reduction would mean different things in the two libraries.
    with pytest.raises(TypeError):
        LS.binary_cross_entropy(P, Y, None, "sum")
    with pytest.raises(TypeError):
        LS.cross_entropy(X, IDX, None, "sum")
    with pytest.raises(TypeError):
        LS.mse_loss(X, P, "sum")


# --------------------------------------------------------- class indices, labels
@pytest.mark.parametrize("fn", [LS.cross_entropy, LS.cross_entropy_forward])
def test_out_of_range_class_indices(fn):
    with pytest.raises(ValueError, match=r"\[0, 4\).*from 0 to 4"):
        fn(X, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"\[0, 4\).*from -1 to 3"):
        fn(X, np.array([-1, 3, 1]))
    with pytest.raises(ValueError, match=r"\[0, 4\).*ignore_index=7"):
        fn(X, np.array([-100, 3, 1]), ignore_index=7)       # -100 not ignored now
    with pytest.raises(TypeError, match="integer class indices"):
        fn(X, np.array([0.0, 1.5, 2.0]))
    with pytest.raises(TypeError, match="ignore_index must be an int"):
        fn(X, IDX, ignore_index=1.0)


@pytest.mark.parametrize("smoothing, error", [(-0.1, ValueError), (1.5, ValueError),
                                              ("0.1", TypeError), (True, TypeError)])
def test_bad_label_smoothing(smoothing, error):
    with pytest.raises(error, match="label_smoothing"):
        LS.cross_entropy(X, IDX, label_smoothing=smoothing)


def test_one_hot_bad_indices_and_num_classes():
    with pytest.raises(ValueError, match=r"\[0, 3\).*from 0 to 3"):
        S.one_hot(IDX, 3)
    with pytest.raises(ValueError, match=r"\[0, 4\).*from -1"):
        S.one_hot(np.array([-1, 2]), 4)
    with pytest.raises(ValueError, match="num_classes must be positive"):
        S.one_hot(IDX, 0)
    with pytest.raises(TypeError, match="num_classes must be an int"):
        S.one_hot(IDX, 4.0)
    with pytest.raises(TypeError, match="integer class indices"):
        S.one_hot(np.array([0.5, 1.0]), 4)
    with pytest.raises(ValueError, match="non-empty"):
        S.one_hot(np.array([], dtype=int))


# ------------------------------------------------------------------- BCE inputs
@pytest.mark.parametrize("fn", [LS.binary_cross_entropy, LS.binary_cross_entropy_forward])
@pytest.mark.parametrize("bad, seen", [(1.5, "to 1.5"), (-0.1, "from -0.1"),
                                       (np.nan, "NaN"), (np.inf, "infinite")])
def test_binary_cross_entropy_wants_probabilities(fn, bad, seen):
    p = P.copy()
    p[1, 2] = bad
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*with_logits"):
        fn(p, Y)
    with pytest.raises(ValueError, match=re.escape(seen)):
        fn(p, Y)


def test_leaky_relu_slope():
    with pytest.raises(TypeError, match="negative_slope must be a number"):
        A.leaky_relu(X, "0.1")
    with pytest.raises(ValueError, match="negative_slope must be a finite number"):
        A.leaky_relu(X, np.nan)


# ------------------------------------------------------------ bad dout shapes
BACKWARDS = {name: CALLS[name] for name in CALLS if name.endswith("_backward")}


@pytest.mark.parametrize("name", sorted(BACKWARDS))
def test_backward_rejects_a_dout_of_the_wrong_shape(name):
    call, good = BACKWARDS[name]
    good = np.asarray(good)
    if good.ndim == 0:     # a reduced loss: dout must be a scalar
        with pytest.raises(ValueError, match=r"dout must be a scalar.*\(3,\)"):
            call(np.ones(3))
    else:
        wrong = good.T     # (4, 3) instead of (3, 4), (5, 3) instead of (3, 5)
        with pytest.raises(ValueError, match=_shapes("dout", good.shape, wrong.shape)):
            call(wrong)
        extra_axis = good[None]
        with pytest.raises(ValueError, match=_shapes("dout", good.shape, extra_axis.shape)):
            call(extra_axis)


UNREDUCED = {  # name -> (input, target, shape of the unreduced loss)
    "binary_cross_entropy": (P, Y, (3, 4)),
    "binary_cross_entropy_with_logits": (X, Y, (3, 4)),
    "cross_entropy": (X, IDX, (3,)),
    "mse_loss": (X, Y, (3, 4)),
}


@pytest.mark.parametrize("name", sorted(UNREDUCED))
def test_unreduced_loss_backward_wants_the_unreduced_shape(name):
    forward = getattr(LS, name + "_forward")
    backward = getattr(LS, name + "_backward")
    x, t, shape = UNREDUCED[name]
    _, cache = forward(x, t, reduction="none")
    backward(np.ones(shape), cache)
    with pytest.raises(ValueError, match=_shapes(shape, (2, 2))):
        backward(np.ones((2, 2)), cache)
    with pytest.raises(ValueError, match=_shapes(shape, ())):
        backward(1.0, cache)


# ------------------------------------------------------------------- gradcheck
def test_numerical_gradient_rejects_bad_arguments():
    with pytest.raises(TypeError, match="f must be callable"):
        G.numerical_gradient("sum", X.copy())
    with pytest.raises(ValueError, match="h must be a finite number > 0"):
        G.numerical_gradient(np.sum, X.copy(), h=0.0)
    with pytest.raises(ValueError, match="h must be a finite number"):
        G.numerical_gradient(np.sum, X.copy(), h=np.inf)
    with pytest.raises(TypeError, match="h must be a number"):
        G.numerical_gradient(np.sum, X.copy(), h="1e-6")
    with pytest.raises(ValueError, match=r"f must return a scalar.*\(3, 4\)"):
        G.numerical_gradient(lambda v: v * 2, X.copy())
    with pytest.raises(TypeError, match="float64.*float32"):
        G.numerical_gradient(np.sum, X.astype(np.float32))


def test_numerical_gradient_array_and_check_gradient_name_shapes():
    with pytest.raises(ValueError, match=_shapes("dout", (4, 3), (3, 4))):
        G.numerical_gradient_array(lambda v: 2 * v, X.copy(), np.ones((4, 3)))
    with pytest.raises(TypeError, match="f must be callable"):
        G.numerical_gradient_array(None, X.copy(), X)
    with pytest.raises(ValueError, match=_shapes((3,), (3, 4))):
        G.check_gradient(np.sum, lambda v: np.ones(3), X)
    with pytest.raises(TypeError, match="grad_f must be callable"):
        G.check_gradient(np.sum, 3, X)


# ------------------------------------------------- inputs once accepted silently
@pytest.mark.parametrize("fn", [LS.binary_cross_entropy,
                                LS.binary_cross_entropy_with_logits])
@pytest.mark.parametrize("bad, seen", [(2.0, "to 2.0"), (-1.0, "from -1.0"),
                                       (np.nan, "NaN")])
def test_bce_targets_must_lie_in_0_1(fn, bad, seen):
    """A target of 2 or -1 makes log-loss unbounded below (training would push the
    logit to infinity); PyTorch's binary_cross_entropy refuses it, and cnnlib refuses
    it for both forms (PyTorch's with_logits form does not check)."""
    y = Y.copy()
    y[0, 1] = bad
    x = P if fn is LS.binary_cross_entropy else X
    with pytest.raises(ValueError, match=r"target must hold probabilities in \[0, 1\]"):
        fn(x, y)
    with pytest.raises(ValueError, match=re.escape(seen)):
        fn(x, y)
    fn(x, np.clip(y, 0, 1) if not np.isnan(bad) else Y)      # soft labels are fine


def test_probability_targets_with_an_ignore_index():
    """ignore_index names a class to skip; class probabilities have no class index to
    skip. As in PyTorch, a non-negative ignore_index is refused for them, while a
    negative one (the default -100) cannot match anything and is allowed."""
    import torch
    import torch.nn.functional as TF

    probs = S.softmax(X)
    with pytest.raises(ValueError, match="ignore_index=1 needs class-index targets"):
        LS.cross_entropy(X, probs, ignore_index=1)
    with pytest.raises(RuntimeError, match="ignore_index"):
        TF.cross_entropy(torch.tensor(X), torch.tensor(probs), ignore_index=1)
    want = TF.cross_entropy(torch.tensor(X), torch.tensor(probs), ignore_index=-5)
    assert LS.cross_entropy(X, probs, ignore_index=-5) == pytest.approx(want.item(),
                                                                        rel=1e-12)


@pytest.mark.parametrize("value, exc", [("1.5", TypeError), (True, TypeError),
                                        (np.nan, None), (-np.inf, None)])
def test_pad_value_must_be_a_number(value, exc):
    """pad's fill value: a number (infinity allowed: -inf pads a max pooling); a string
    such as "1.5" used to be converted silently."""
    from cnnlib.functional import padding as PD

    if exc is None:
        out = PD.pad(X, (1, 1), value=value)
        assert np.isnan(out[0, 0]) if np.isnan(value) else out[0, 0] == value
    else:
        with pytest.raises(exc, match="value must be a number"):
            PD.pad(X, (1, 1), value=value)


@pytest.mark.parametrize("name, value", [("label_smoothing", "0.1"),
                                         ("ignore_index", True),
                                         ("ignore_index", 2.0)])
def test_cross_entropy_options_are_typed(name, value):
    with pytest.raises(TypeError, match=name):
        LS.cross_entropy(X, IDX, **{name: value})
