"""Layer objects (cnnlib.nn) against torch.nn, forward and backward, on every device."""
import numpy as np
import pytest
import torch

import cnnlib.nn as L


from torch_devices import DEVICES
# float64: the two libraries run the same arithmetic, so only rounding differs.
# float32: about 1e-7 relative per operation, accumulated over sums of a few dozen
# terms (and different summation orders on the GPU), so 1e-5 relative leaves margin.
TOL = {np.float64: 1e-10, np.float32: 1e-5}


def err(a, b) -> float:
    """Normalised max error max|a - b| / max|b|."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


def tt(x, device, grad=False):
    return torch.tensor(x, device=device, requires_grad=grad)


def np_(t):
    return t.detach().cpu().numpy()


def copy_into(ours: L.Module, theirs: torch.nn.Module) -> None:
    ours.load_state_dict({k: np_(v) for k, v in theirs.state_dict().items()})


def compare(ours: L.Module, theirs: torch.nn.Module, x: np.ndarray, device: str, dtype):
    """Forward and backward of both with the same input and upstream gradient; returns
    the worst normalised error over the output, dx and every parameter gradient."""
    rng = np.random.default_rng(1)
    out = ours(x)
    xt = tt(x, device, grad=True)
    outt = theirs(xt)
    dout = rng.normal(size=out.shape).astype(dtype)
    dx = ours.backward(dout)
    outt.backward(tt(dout, device))
    errs = {"out": err(out, np_(outt)), "dx": err(dx, np_(xt.grad))}
    tparams = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        errs[name] = err(p.grad, np_(tparams[name].grad))
    assert out.dtype == dtype and dx.dtype == dtype
    return errs


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("make", [
    lambda: (L.Sigmoid(), torch.nn.Sigmoid()),
    lambda: (L.ReLU(), torch.nn.ReLU()),
    lambda: (L.Tanh(), torch.nn.Tanh()),
    lambda: (L.LeakyReLU(), torch.nn.LeakyReLU()),
    lambda: (L.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    lambda: (L.Flatten(), torch.nn.Flatten()),
    lambda: (L.Flatten(2, 3), torch.nn.Flatten(2, 3)),
], ids=["sigmoid", "relu", "tanh", "leaky_relu", "leaky_relu_0.2", "flatten",
        "flatten_2_3"])
def test_parameter_free_layers_match_torch(make, dtype, device):
    ours, theirs = make()
    x = np.random.default_rng(0).normal(scale=3, size=(4, 3, 5, 2)).astype(dtype)
    x[0, 0, 0, :] = 0.0  # ReLU's kink: both libraries give gradient 0 there
    errs = compare(ours, theirs, x, device, dtype)
    assert max(errs.values()) <= TOL[dtype], errs


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias, dtype, device):
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    theirs = torch.nn.Linear(7, 5, bias=bias, dtype=tdtype, device=device)
    ours = L.Linear(7, 5, bias=bias, rng=3, dtype=dtype)
    copy_into(ours, theirs)
    x = np.random.default_rng(2).normal(size=(6, 7)).astype(dtype)
    errs = compare(ours, theirs, x, device, dtype)
    assert set(errs) == {"out", "dx", "weight"} | ({"bias"} if bias else set())
    assert max(errs.values()) <= TOL[dtype], errs


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sequential_mlp_matches_torch(dtype, device):
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(12, 8), torch.nn.ReLU(), torch.nn.Linear(8, 6),
        torch.nn.Tanh(), torch.nn.Linear(6, 4), torch.nn.LeakyReLU(0.1),
        torch.nn.Linear(4, 3), torch.nn.Sigmoid()).to(device=device, dtype=tdtype)
    ours = L.Sequential(L.Flatten(), L.Linear(12, 8, dtype=dtype), L.ReLU(),
                        L.Linear(8, 6, dtype=dtype), L.Tanh(), L.Linear(6, 4, dtype=dtype),
                        L.LeakyReLU(0.1), L.Linear(4, 3, dtype=dtype), L.Sigmoid())
    copy_into(ours, theirs)
    x = np.random.default_rng(4).normal(size=(10, 3, 4)).astype(dtype)
    errs = compare(ours, theirs, x, device, dtype)
    assert len(errs) == 2 + 8
    assert max(errs.values()) <= TOL[dtype], errs


def test_linear_initialisation_follows_pytorch_rule():
    lin = L.Linear(400, 300, rng=0)
    w, b = lin.params["weight"], lin.params["bias"]
    bound = 1 / np.sqrt(400)
    assert w.shape == (300, 400) and b.shape == (300,) and w.dtype == np.float64
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # A uniform distribution on [-c, c] has standard deviation c / sqrt(3).
    assert abs(w.std() / (bound / np.sqrt(3)) - 1) < 0.02
    # torch draws from the same distribution (its own generator): compare spreads.
    tw = torch.nn.Linear(400, 300).weight.detach().numpy()
    assert abs(tw.std() / w.std() - 1) < 0.02
    assert np.array_equal(L.Linear(400, 300, rng=0).params["weight"], w)
    assert not np.array_equal(L.Linear(400, 300, rng=1).params["weight"], w)
    assert L.Linear(3, 2, dtype=np.float32).params["weight"].dtype == np.float32


def test_gradients_accumulate_until_zero_grad_like_torch():
    lin = L.Linear(3, 2, rng=0)
    x = np.ones((4, 3))
    lin(x)
    g1 = lin.backward(np.ones((4, 2)))
    w1 = lin.grads["weight"].copy()
    lin(x)
    lin.backward(np.ones((4, 2)))
    np.testing.assert_allclose(lin.grads["weight"], 2 * w1, rtol=1e-14)
    assert g1.shape == (4, 3)
    lin.zero_grad()
    assert not lin.grads["weight"].any() and not lin.grads["bias"].any()


def test_parameters_names_state_dict_and_modes():
    net = L.Sequential(L.Linear(2, 3, rng=0), L.Sigmoid(), L.Linear(3, 1, bias=False, rng=1))
    names = [n for n, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight"]
    assert net.num_parameters() == 2 * 3 + 3 + 3
    sd = net.state_dict()
    sd["0.bias"] += 1.0
    assert not np.array_equal(sd["0.bias"], net[0].params["bias"])  # a copy
    net.load_state_dict(sd)
    np.testing.assert_array_equal(net[0].params["bias"], sd["0.bias"])
    # A Parameter handle follows the module, even when the array is replaced.
    p = next(net.parameters())
    net[0].params["weight"] = np.zeros((3, 2))
    assert p.data is net[0].params["weight"]
    assert net.eval() is net and not net.training and not net[0].training
    net.train()
    assert net.training and net[2].training
    assert len(net) == 3 and isinstance(net[0:2], L.Sequential) and len(net[0:2]) == 2
    assert "Linear(in_features=2, out_features=3, bias=True)" in repr(net)
    assert [type(m).__name__ for m in net] == ["Linear", "Sigmoid", "Linear"]


def test_float32_input_through_float32_layers_stays_float32():
    net = L.Sequential(L.Linear(4, 3, dtype=np.float32), L.ReLU(), L.Linear(3, 2,
                                                                        dtype=np.float32))
    x = np.ones((5, 4), np.float32)
    out = net(x)
    dx = net.backward(np.ones_like(out))
    assert out.dtype == np.float32 and dx.dtype == np.float32
    assert net[0].grads["weight"].dtype == np.float32


# ------------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize("args, kwargs, exc, match", [
    ((0, 3), {}, ValueError, "in_features"),
    ((3, -1), {}, ValueError, "out_features"),
    ((2.5, 3), {}, TypeError, "in_features"),
    ((3, 2), {"bias": "yes"}, TypeError, "bias"),
    ((3, 2), {"dtype": np.int64}, TypeError, "dtype"),
    ((3, 2), {"rng": "seed"}, TypeError, "rng"),
])
def test_linear_rejects_bad_arguments(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        L.Linear(*args, **kwargs)


def test_layers_reject_bad_inputs_with_clear_messages():
    lin = L.Linear(3, 2)
    with pytest.raises(ValueError, match=r"in_features.*\(4, 5\)"):
        lin(np.ones((4, 5)))
    with pytest.raises(TypeError, match="input"):
        lin("abc")
    lin(np.ones((4, 3)))
    with pytest.raises(ValueError, match="dout"):
        lin.backward(np.ones((4, 3)))
    with pytest.raises(RuntimeError, match="without a pending forward"):
        L.Linear(3, 2).backward(np.ones((4, 2)))
    with pytest.raises(RuntimeError, match="without a pending forward"):
        L.Sigmoid().backward(np.ones(3))
    with pytest.raises(RuntimeError, match="without a pending forward"):
        L.Flatten().backward(np.ones(3))
    s = L.Sigmoid()
    s(np.ones((2, 3)))
    with pytest.raises(ValueError, match="dout"):
        s.backward(np.ones((3, 2)))
    with pytest.raises(TypeError, match="negative_slope"):
        L.LeakyReLU("0.1")
    with pytest.raises(TypeError, match="start_dim"):
        L.Flatten(start_dim=1.0)
    with pytest.raises(ValueError, match="flatten"):
        L.Flatten(start_dim=3)(np.ones((2, 3)))
    f = L.Flatten()
    f(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="dout"):
        f.backward(np.ones((2, 5)))
    with pytest.raises(TypeError, match="layer 1"):
        L.Sequential(L.ReLU(), torch.nn.ReLU())
    with pytest.raises(NotImplementedError):
        L.Module().forward(np.ones(2))
    with pytest.raises(NotImplementedError):
        L.Module().backward(np.ones(2))


def test_load_state_dict_rejects_bad_states():
    net = L.Sequential(L.Linear(2, 3, rng=0))
    with pytest.raises(TypeError, match="dict"):
        net.load_state_dict([np.ones((3, 2))])
    with pytest.raises(ValueError, match=r"missing \['0.bias'\]"):
        net.load_state_dict({"0.weight": np.ones((3, 2))})
    with pytest.raises(ValueError, match="unexpected"):
        net.load_state_dict({"0.weight": np.ones((3, 2)), "0.bias": np.ones(3),
                             "1.weight": np.ones(1)})
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        net.load_state_dict({"0.weight": np.ones((2, 3)), "0.bias": np.ones(3)})
