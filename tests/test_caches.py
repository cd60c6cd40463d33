"""A forward cache keeps the values of forward time. For every op with a cache, each
array the caller passed in (input, weight, target, ...) and each array it got back
(the output) is changed in place between the forward and the backward pass; the
gradients must equal those of an undisturbed run, exactly. (The 1x1 convolution of a
single image is the case that once leaked: its column matrix was a view of the input.)"""
import numpy as np
import pytest

import cnnlib.functional as F

RNG = np.random.default_rng(0)


def _arr(*shape):
    return RNG.normal(size=shape)


# name -> (forward, backward, positional arrays, keyword options). Every *_forward of
# cnnlib.functional must be here (checked below).
OPS = {
    "sigmoid": (F.sigmoid_forward, F.sigmoid_backward, [_arr(3, 4)], {}),
    "relu": (F.relu_forward, F.relu_backward, [_arr(3, 4)], {}),
    "leaky_relu": (F.leaky_relu_forward, F.leaky_relu_backward, [_arr(3, 4)], {}),
    "tanh": (F.tanh_forward, F.tanh_backward, [_arr(3, 4)], {}),
    "arctan": (F.arctan_forward, F.arctan_backward, [_arr(3, 4)], {}),
    "softmax": (F.softmax_forward, F.softmax_backward, [_arr(3, 4)], {}),
    "log_softmax": (F.log_softmax_forward, F.log_softmax_backward, [_arr(3, 4)], {}),
    "linear": (F.linear_forward, F.linear_backward, [_arr(3, 4), _arr(5, 4), _arr(5)], {}),
    "conv2d": (F.conv2d_forward, F.conv2d_backward,
               [_arr(2, 3, 6, 6), _arr(4, 3, 3, 3), _arr(4)], {"padding": 1}),
    "conv2d 1x1, one image": (F.conv2d_forward, F.conv2d_backward,
                              [_arr(1, 3, 5, 5), _arr(4, 3, 1, 1), _arr(4)], {}),
    "conv2d 1x1, one channel": (F.conv2d_forward, F.conv2d_backward,
                                [_arr(2, 1, 5, 5), _arr(4, 1, 1, 1)], {}),
    "conv2d unbatched": (F.conv2d_forward, F.conv2d_backward,
                         [_arr(3, 5, 5), _arr(2, 3, 1, 1)], {}),
    "conv2d_loop": (F.conv2d_loop_forward, F.conv2d_loop_backward,
                    [_arr(1, 2, 5, 5), _arr(3, 2, 1, 1), _arr(3)], {}),
    "conv1d": (F.conv1d_forward, F.conv1d_backward, [_arr(1, 3, 7), _arr(2, 3, 1)], {}),
    "max_pool2d": (F.max_pool2d_forward, F.max_pool2d_backward, [_arr(2, 3, 6, 6)],
                   {"kernel_size": 2, "return_indices": True}),
    "avg_pool2d": (F.avg_pool2d_forward, F.avg_pool2d_backward, [_arr(2, 3, 6, 6)],
                   {"kernel_size": 3, "padding": 1, "stride": 2}),
    "pad": (F.pad_forward, F.pad_backward, [_arr(2, 3)], {"pad": (1, 2)}),
    "binary_cross_entropy": (F.binary_cross_entropy_forward,
                             F.binary_cross_entropy_backward,
                             [RNG.uniform(0.1, 0.9, (3, 4)), RNG.uniform(0, 1, (3, 4)),
                              _arr(4)], {}),
    "binary_cross_entropy_with_logits": (
        F.binary_cross_entropy_with_logits_forward,
        F.binary_cross_entropy_with_logits_backward,
        [_arr(3, 4), RNG.uniform(0, 1, (3, 4)), _arr(4)], {"pos_weight": _arr(4) ** 2}),
    "cross_entropy": (F.cross_entropy_forward, F.cross_entropy_backward,
                      [_arr(3, 4), F.softmax(_arr(3, 4)), _arr(4) ** 2],
                      {"label_smoothing": 0.1}),
    "mse_loss": (F.mse_loss_forward, F.mse_loss_backward, [_arr(3, 4), _arr(3, 4)],
                 {"weight": _arr(3, 4) ** 2, "reduction": "sum"}),
    "batch_norm": (F.batch_norm_forward, F.batch_norm_backward,
                   [_arr(4, 3, 2, 2), np.zeros(3), np.ones(3), _arr(3), _arr(3)],
                   {"training": True}),
    "dropout": (F.dropout_forward, F.dropout_backward, [_arr(3, 4)], {"p": 0.3, "rng": 0}),
    "normalize": (F.normalize_forward, F.normalize_backward, [_arr(3, 4)], {}),
    "similarity_logits": (F.similarity_logits_forward, F.similarity_logits_backward,
                          [_arr(3, 4), _arr(5, 4)], {"logit_scale": 2.5}),
    "clip_loss": (F.clip_loss_forward, F.clip_loss_backward,
                  [F.normalize(_arr(4, 3)), F.normalize(_arr(4, 3))], {"logit_scale": 3.0}),
    "nt_xent": (F.nt_xent_forward, F.nt_xent_backward, [_arr(4, 3), _arr(4, 3)],
                {"temperature": 0.3}),
}


def test_every_forward_is_covered():
    forwards = {n[:-len("_forward")] for n in F.__all__ if n.endswith("_forward")}
    covered = {name.split(" ")[0] for name in OPS}
    assert forwards == covered


def _run(name, mutate: bool):
    forward, backward, arrays, kwargs = OPS[name]
    arrays = [a.copy() for a in arrays]
    kwargs = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    out, cache = forward(*arrays, **kwargs)
    outs = out if isinstance(out, tuple) else (out,)
    dout = np.linspace(-1, 1, np.size(outs[0])).reshape(np.shape(outs[0]))
    if mutate:
        # overwrite everything the caller holds, in place
        for a in arrays + [v for v in kwargs.values() if isinstance(v, np.ndarray)]:
            a[...] = RNG.uniform(0.2, 0.8, a.shape)
        for o in outs:
            if o.ndim:
                o[...] = o.dtype.type(7)
    grads = backward(dout, cache)
    return grads if isinstance(grads, tuple) else (grads,)


@pytest.mark.parametrize("name", list(OPS))
def test_backward_uses_forward_time_values(name):
    clean, disturbed = _run(name, mutate=False), _run(name, mutate=True)
    for g, h in zip(clean, disturbed):
        if g is None:
            assert h is None
        else:
            np.testing.assert_array_equal(h, g)


def test_float32_conv_cache_is_not_the_callers_weight():
    """The cheapest way to see the copy: the cached weight is not a view of the
    caller's."""
    x = np.ones((1, 2, 4, 4), np.float32)
    w = np.ones((3, 2, 1, 1), np.float32)
    _, cache = F.conv2d_forward(x, w)
    assert not np.shares_memory(cache.cols, x) and not np.shares_memory(cache.weight, w)
