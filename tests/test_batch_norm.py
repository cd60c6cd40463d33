"""Batch norm and dropout: the functional ops (finite differences), and the layers
BatchNorm1d, BatchNorm2d and Dropout against torch.nn over several training steps
followed by evaluation: outputs, every gradient, the running statistics and
num_batches_tracked (float64 to 1e-10), state_dict keys, modes and bad input."""
import numpy as np
import pytest
import torch

import cnnlib.nn as L
from cnnlib import functional as F
from cnnlib.gradcheck import numerical_gradient_array, rel_error
from cnnlib.optim import SGD
from cnnlib.twins import state_from_torch, state_to_torch
from torch_devices import DEVICES


def err(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


# ------------------------------------------------------------ functional, by hand
@pytest.mark.parametrize("shape", [(6, 3), (4, 2, 5), (3, 2, 4, 3)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_backward_matches_finite_differences(shape, training):
    rng = np.random.default_rng(len(shape) + training)
    x = rng.normal(size=shape) * 2 + 1
    c = shape[1]
    w, b = rng.normal(size=c), rng.normal(size=c)
    rm, rv = rng.normal(size=c), rng.uniform(0.5, 2, size=c)

    def f(x_, w_=w, b_=b):
        return F.batch_norm(x_, rm.copy(), rv.copy(), w_, b_, training=training)

    out, cache = F.batch_norm_forward(x, rm.copy(), rv.copy(), w, b, training=training)
    dout = rng.normal(size=out.shape)
    dx, dw, db = F.batch_norm_backward(dout, cache)
    # Central differences with h = 1e-6 leave ~1e-7 relative error on the smallest
    # entries (x's gradient nearly cancels in training mode); a wrong term gives 1e-2.
    assert rel_error(dx, numerical_gradient_array(f, x, dout)) < 1e-6
    assert rel_error(dw, numerical_gradient_array(lambda v: f(x, v), w, dout)) < 1e-6
    assert rel_error(db, numerical_gradient_array(lambda v: f(x, w, v), b, dout)) < 1e-6


def test_training_output_has_zero_mean_unit_variance_per_channel():
    x = np.random.default_rng(0).normal(size=(16, 3, 5, 5)) * [[[[5.0]], [[0.1]], [[2.0]]]] + 7
    out = F.batch_norm(x, training=True, eps=0.0)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, rtol=1e-12)


def test_running_statistics_are_updated_in_place_with_the_unbiased_variance():
    x = np.random.default_rng(1).normal(size=(5, 2)) * 3
    rm, rv = np.zeros(2), np.ones(2)
    F.batch_norm(x, rm, rv, training=True, momentum=0.25)
    np.testing.assert_allclose(rm, 0.25 * x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(rv, 0.75 + 0.25 * x.var(axis=0, ddof=1), rtol=1e-14)
    before = rm.copy()
    F.batch_norm(x, rm, rv, training=False)           # evaluation leaves them alone
    np.testing.assert_array_equal(rm, before)


@pytest.mark.parametrize("call, error, words", [
    (lambda: F.batch_norm(np.ones((4, 3)), np.zeros(2), np.ones(2), training=True),
     ValueError, r"running_mean must have shape \(3,\)"),
    (lambda: F.batch_norm(np.ones((1, 3)), training=True), ValueError,
     "more than 1 value per channel"),
    (lambda: F.batch_norm(np.ones((4, 3))), ValueError, "running_mean and running_var "
                                                        "must be given"),
    (lambda: F.batch_norm(np.ones(4), training=True), ValueError, r"\(N, C\)"),
    (lambda: F.batch_norm(np.ones((4, 3)), [0.0] * 3, [1.0] * 3, training=True),
     TypeError, "updated in place"),
    (lambda: F.batch_norm(np.ones((4, 3)), np.zeros(3), np.ones(3, int)), TypeError,
     "dtype int"),
    (lambda: F.batch_norm(np.ones((4, 3)), training=True, momentum=1.5), ValueError,
     "momentum"),
    (lambda: F.batch_norm(np.ones((4, 3)), training=True, weight=np.ones(4)), ValueError,
     r"weight must have shape \(3,\)"),
    (lambda: F.batch_norm_backward(np.ones((2, 3)), F.batch_norm_forward(
        np.ones((4, 3)) + np.arange(4)[:, None], training=True)[1]), ValueError,
     "dout must have the shape"),
    (lambda: F.dropout(np.ones(3), p=1.5), ValueError, "p must be"),
    (lambda: F.dropout(np.ones(3), mask=np.ones(4, bool)), ValueError, "mask must have"),
    (lambda: F.dropout(np.ones(3), mask=np.full(3, 0.5)), TypeError, "mask must hold"),
    (lambda: F.dropout([1.0, 2.0], inplace=True), TypeError, "inplace=True"),
])
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_dropout_by_hand():
    x = np.arange(1.0, 13.0).reshape(3, 4)
    out, cache = F.dropout_forward(x, 0.25, rng=0)
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / 0.75)
    np.testing.assert_array_equal(F.dropout_backward(np.ones_like(x), cache),
                                  kept / 0.75)
    assert F.dropout(x, 0.25, training=False) is x                # the identity
    assert not np.any(F.dropout(x, 1.0, rng=0)) and np.array_equal(F.dropout(x, 0.0), x)
    big = F.dropout(np.ones((400, 500)), 0.3, rng=1)
    assert abs((big != 0).mean() - 0.7) < 0.005 and abs(big.mean() - 1) < 0.01
    y = x.copy()
    assert F.dropout(y, 0.5, inplace=True, rng=2) is y


# -------------------------------------------------------------- layers vs torch
def bn_pair(cls, tcls, c, dtype, device, **kwargs):
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    theirs = tcls(c, **kwargs).to(device=device, dtype=tdtype)
    ours = cls(c, dtype=dtype, **kwargs)
    if "weight" in ours.params:           # not the default 1 and 0
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
            theirs.bias.normal_()
        ours.load_state_dict(state_from_torch(theirs))
    return ours, theirs


LAYERS = {
    "BatchNorm1d (N, C)": (L.BatchNorm1d, torch.nn.BatchNorm1d, (8, 5)),
    "BatchNorm1d (N, C, L)": (L.BatchNorm1d, torch.nn.BatchNorm1d, (6, 5, 7)),
    "BatchNorm2d": (L.BatchNorm2d, torch.nn.BatchNorm2d, (4, 5, 6, 3)),
}
OPTIONS = [dict(), dict(momentum=0.3, eps=1e-3), dict(momentum=None), dict(affine=False),
           dict(track_running_stats=False)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(
    f"{k}={v}" for k, v in o.items()) or "defaults")
@pytest.mark.parametrize("layer", list(LAYERS))
def test_layer_matches_torch_over_training_steps_then_eval(layer, options, dtype, device):
    cls, tcls, shape = LAYERS[layer]
    ours, theirs = bn_pair(cls, tcls, shape[1], dtype, device, **options)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    opt = SGD(ours.parameters(), lr=0.1) if ours.params else None
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1) if ours.params else None
    # float64: the same arithmetic up to rounding. float32: sums over up to 126 values
    # per channel, rounded in different orders; the worst of these tests is ~3e-6.
    tol = 1e-10 if dtype == np.float64 else 5e-5
    rng = np.random.default_rng(7)
    for step in range(5):
        x = (rng.normal(size=shape) * 3 + 2).astype(dtype)
        dout = rng.normal(size=shape).astype(dtype)
        out = ours(x)
        xt = torch.tensor(x, device=device, requires_grad=True)
        tout = theirs(xt)
        tout.backward(torch.tensor(dout, device=device))
        if opt:
            opt.zero_grad()
        dx = ours.backward(dout)
        assert out.dtype == dx.dtype == dtype
        assert err(out, tout.detach().cpu()) < tol, step
        assert err(dx, xt.grad.cpu()) < tol, step
        for name, p in ours.named_parameters():
            assert err(p.grad, getattr(theirs, name).grad.cpu()) < tol, (step, name)
        if opt:
            opt.step()
            topt.step()
            topt.zero_grad()
        tstate = state_from_torch(theirs)
        for key, value in ours.state_dict().items():
            if key == "num_batches_tracked":
                assert int(value) == int(tstate[key]) == step + 1
            else:
                assert err(value, tstate[key]) < tol, (step, key)
    # evaluation mode: the running statistics (if kept) normalise, nothing is updated
    ours.eval()
    theirs.eval()
    x = (rng.normal(size=shape) * 3 + 2).astype(dtype)
    dout = rng.normal(size=shape).astype(dtype)
    before = ours.state_dict()
    out = ours(x)
    xt = torch.tensor(x, device=device, requires_grad=True)
    tout = theirs(xt)
    tout.backward(torch.tensor(dout, device=device))
    assert err(out, tout.detach().cpu()) < tol
    assert err(ours.backward(dout), xt.grad.cpu()) < tol
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_eval_mode_makes_each_output_independent_of_its_batch():
    bn = L.BatchNorm1d(3)
    rng = np.random.default_rng(0)
    for _ in range(20):
        bn(rng.normal(size=(32, 3)) * 2 + 5)
        bn.clear_pending()
    x = rng.normal(size=(10, 3)) * 2 + 5
    bn.eval()
    with L.no_grad():
        alone = np.concatenate([bn(x[i:i + 1]) for i in range(10)])
        np.testing.assert_allclose(alone, bn(x), rtol=1e-14)
        bn.train()                       # in training mode the batch matters
        assert not np.allclose(bn(x[:5]), bn(x)[:5])


def test_state_dict_moves_to_torch_and_back():
    ours = L.Sequential(L.Linear(4, 3), L.BatchNorm1d(3), L.ReLU(), L.Dropout(0.2))
    rng = np.random.default_rng(0)
    with L.no_grad():                   # no_grad keeps no cache; the statistics still move
        for _ in range(3):
            ours(rng.normal(size=(8, 4)))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3),
                                 torch.nn.ReLU(), torch.nn.Dropout(0.2)).double()
    state_to_torch(ours, theirs)
    assert int(theirs[1].num_batches_tracked) == 3
    np.testing.assert_allclose(theirs[1].running_var.numpy(),
                               ours[1].buffers["running_var"])
    again = L.Sequential(L.Linear(4, 3), L.BatchNorm1d(3), L.ReLU(), L.Dropout(0.2))
    again.load_state_dict(state_from_torch(theirs))
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key], value)
    assert again[1].buffers["num_batches_tracked"].dtype == np.int64
    ours.eval()
    again.eval()
    x = rng.normal(size=(5, 4))
    np.testing.assert_allclose(again(x), ours(x))


def test_layer_rejects_wrong_ranks_and_channels():
    with pytest.raises(ValueError, match=r"BatchNorm2d expects a 4-D \(N, C, H, W\)"):
        L.BatchNorm2d(3)(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"BatchNorm1d expects a 2-D"):
        L.BatchNorm1d(3)(np.ones((4, 3, 2, 2)))
    with pytest.raises(ValueError, match="expects 3 channels on axis 1"):
        L.BatchNorm1d(3)(np.ones((4, 5)))
    with pytest.raises(ValueError, match="num_features"):
        L.BatchNorm1d(0)
    with pytest.raises(ValueError, match="momentum"):
        L.BatchNorm2d(2, momentum=2.0)


def test_dropout_layer_modes_and_reproducibility():
    x = np.ones((50, 40))
    a, b = L.Dropout(0.5, rng=3), L.Dropout(0.5, rng=3)
    np.testing.assert_array_equal(a(x), b(x))           # the same seed, the same masks
    first = a(x)
    assert not np.array_equal(first, a(x))              # a fresh mask on every call
    out = a(x)
    np.testing.assert_array_equal(a.backward(np.ones_like(x)), out)
    a.clear_pending()
    a.eval()
    np.testing.assert_array_equal(a(x), x)
    np.testing.assert_array_equal(a.backward(2 * x), 2 * x)
    assert repr(a) == "Dropout(p=0.5, inplace=False)"


def test_one_precision_and_caches_that_are_snapshots():
    x32 = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    with pytest.raises(TypeError, match="input is float32 but weight is float64"):
        F.batch_norm(x32, weight=np.ones(3), training=True)
    with pytest.raises(TypeError, match="running_mean"):
        F.batch_norm(x32, np.zeros(3), np.ones(3))
    out, cache = F.batch_norm_forward(x32, weight=[1.0, 2.0, 3.0], training=True)
    assert out.dtype == np.float32
    dx, dw, db = F.batch_norm_backward(np.ones((6, 3)), cache)     # float64 dout: cast
    assert dx.dtype == dw.dtype == np.float32 and db is None
    # an optimiser step on the weight between forward and backward changes nothing
    x = np.random.default_rng(1).normal(size=(5, 2))
    w = np.array([1.0, 2.0])
    _, cache = F.batch_norm_forward(x, weight=w, training=True)
    before = F.batch_norm_backward(np.ones((5, 2)) + x, cache)[0]
    w *= 10
    np.testing.assert_array_equal(F.batch_norm_backward(np.ones((5, 2)) + x, cache)[0], before)
    _, cache = F.dropout_forward(x.astype(np.float32), 0.3, training=False)
    assert F.dropout_backward(np.ones((5, 2)), cache).dtype == np.float32
