"""Module: named children, buffers, freezing, one module used twice before its backward,
state_dict round trips through a torch twin, and the optimiser's parameter groups."""
import numpy as np
import pytest
import torch

import cnnlib.nn as nn
from cnnlib import functional as F
from cnnlib.optim import SGD
from cnnlib.twins import state_from_torch, state_to_torch


def rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


# ------------------------------------------------------------- twin models
class Net(nn.Module):
    """A nested model: a Sequential body, a head, and a buffer of its own."""

    def __init__(self, rng=0):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 5, rng=rng), nn.Tanh(),
                                  nn.Linear(5, 4, rng=rng + 1))
        self.head = nn.Linear(4, 3, rng=rng + 2)
        self.register_buffer("calls", np.zeros(1))

    def forward(self, x):
        return self.head(self.body(x))

    def backward(self, dout):
        return self.body.backward(self.head.backward(dout))


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(),
                                        torch.nn.Linear(5, 4))
        self.head = torch.nn.Linear(4, 3)
        self.register_buffer("calls", torch.zeros(1))

    def forward(self, x):
        return self.head(self.body(x))


def twins():
    torch.manual_seed(0)
    theirs = TorchNet().double()
    ours = Net().load_state_dict(state_from_torch(theirs))
    return ours, theirs


def test_children_are_named_after_attributes_as_in_torch():
    ours, theirs = twins()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == \
        [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert ours.head is dict(ours.named_children())["head"]
    assert ours.head.weight.shape == (3, 4) and ours.body[2].bias.shape == (4,)
    assert ours.num_parameters() == sum(p.numel() for p in theirs.parameters()) == 74
    assert "(head): Linear(in_features=4, out_features=3, bias=True)" in repr(ours)


def test_state_dict_round_trips_through_the_torch_twin():
    ours = Net(rng=7)
    ours.buffers["calls"][...] = 3
    theirs = state_to_torch(ours, TorchNet().double())
    x = np.random.default_rng(0).normal(size=(5, 6))
    assert rel(ours(x), theirs(torch.tensor(x)).detach().numpy()) <= 1e-14
    assert theirs.calls.item() == 3
    back = Net(rng=99).load_state_dict(state_from_torch(theirs))
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k], v)
    # float32 torch twin: values are cast, keys and shapes still match.
    t32 = state_to_torch(ours.state_dict(), TorchNet())
    assert t32.head.weight.dtype == torch.float32
    with pytest.raises(ValueError, match=r"missing \['head.bias'\]"):
        state_to_torch({k: v for k, v in ours.state_dict().items() if k != "head.bias"},
                       TorchNet())
    bad = ours.state_dict()
    bad["head.weight"] = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"head.weight.*\(4, 3\).*\(3, 4\)"):
        state_to_torch(bad, TorchNet())
    with pytest.raises(TypeError, match="torch.nn.Module"):
        state_from_torch(ours)


def test_save_and_load_npz(tmp_path):
    ours = Net(rng=3)
    path = nn.save(ours.state_dict(), tmp_path / "net")
    assert path.name == "net.npz"
    other = Net(rng=4).load_state_dict(nn.load(path))
    for (k, a), (_, b) in zip(ours.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(FileNotFoundError, match="no weights file"):
        nn.load(tmp_path / "missing.npz")


def test_shared_encoder_on_two_batches_matches_torch():
    """The SimCLR pattern: one encoder, two forwards, two backwards (reverse order)."""
    ours, theirs = twins()
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(size=(4, 6)), rng.normal(size=(3, 6))
    ga, gb = rng.normal(size=(4, 3)), rng.normal(size=(3, 3))
    za, zb = ours(xa), ours(xb)
    assert ours.head.pending == 2 and ours.body[1].pending == 2
    dxb = ours.backward(gb)
    dxa = ours.backward(ga)
    assert ours.head.pending == 0
    ta = torch.tensor(xa, requires_grad=True)
    tb = torch.tensor(xb, requires_grad=True)
    loss = (theirs(ta) * torch.tensor(ga)).sum() + (theirs(tb) * torch.tensor(gb)).sum()
    loss.backward()
    assert rel(za, theirs(ta).detach().numpy()) <= 1e-12
    assert rel(dxa, ta.grad.numpy()) <= 1e-10 and rel(dxb, tb.grad.numpy()) <= 1e-10
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert rel(p.grad, tp[name].grad.numpy()) <= 1e-10, name
    # One forward for the concatenated batch gives the same gradients.
    single = Net().load_state_dict(ours.state_dict())
    single(np.concatenate([xa, xb]))
    single.backward(np.concatenate([ga, gb]))
    for (name, p), (_, q) in zip(ours.named_parameters(), single.named_parameters()):
        assert rel(p.grad, q.grad) <= 1e-12, name


def test_pending_caches_are_bounded_and_no_grad_keeps_none():
    lin = nn.Linear(3, 2, rng=0)
    x = np.ones((2, 3))
    with nn.no_grad():
        for _ in range(3 * nn.MAX_PENDING):
            lin(x)
    assert lin.pending == 0 and nn.is_grad_enabled()
    for _ in range(nn.MAX_PENDING):
        lin(x)
    with pytest.raises(RuntimeError, match="no_grad"):
        lin(x)
    lin.clear_pending()
    assert lin.pending == 0
    with pytest.raises(RuntimeError, match="without a pending forward"):
        lin.backward(np.ones((2, 2)))


def test_a_failed_backward_keeps_its_cache():
    seq = nn.Sequential(nn.Linear(3, 2, rng=0), nn.Sigmoid())
    seq(np.ones((4, 3)))
    with pytest.raises(ValueError, match="dout"):
        seq.backward(np.ones((2, 4)))
    dx = seq.backward(np.ones((4, 2)))           # the corrected call works
    assert dx.shape == (4, 3) and seq[0].pending == 0


def test_buffers_are_saved_loaded_and_optionally_not_persistent():
    m = nn.Module()
    m.register_buffer("running_mean", np.zeros(3))
    m.register_buffer("scratch", np.ones(2), persistent=False)
    m.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
    assert set(m.state_dict()) == {"running_mean", "num_batches_tracked"}
    m.load_state_dict({"running_mean": np.arange(3.0),
                       "num_batches_tracked": np.array(5)})
    np.testing.assert_array_equal(m.running_mean, [0, 1, 2])
    assert m.num_batches_tracked.dtype == np.int64 and m.num_batches_tracked == 5
    m.running_mean = np.full(3, 2.0)
    assert m.buffers["running_mean"][0] == 2
    with pytest.raises(ValueError, match="shape"):
        m.running_mean = np.ones(4)
    with pytest.raises(ValueError, match="already has"):
        m.register_buffer("running_mean", np.zeros(3))
    with pytest.raises(ValueError, match="without dots"):
        m.register_buffer("a.b", np.zeros(3))


def test_frozen_parameters_get_no_gradient_and_no_update_as_in_torch():
    ours, theirs = twins()
    ours.body.requires_grad_(False)
    for p in theirs.body.parameters():
        p.requires_grad_(False)
    assert ours.num_parameters(trainable_only=True) == 15
    assert not ours.body[0].weight.requires_grad and ours.head.weight.requires_grad
    frozen_before = {k: v.copy() for k, v in ours.body.state_dict().items()}
    opt = SGD(ours.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    rng = np.random.default_rng(2)
    for _ in range(4):
        x, y = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
        loss, cache = F.cross_entropy_forward(ours(x), y)
        opt.zero_grad()
        ours.backward(F.cross_entropy_backward(1.0, cache))
        opt.step()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        topt.step()
        assert not ours.body[0].grads["weight"].any()
    for k, v in ours.body.state_dict().items():
        np.testing.assert_array_equal(v, frozen_before[k])
    tstate = state_from_torch(theirs)
    for k, v in ours.state_dict().items():
        assert rel(v, tstate[k]) <= 1e-10, k
    ours.requires_grad_(True)
    assert ours.num_parameters(trainable_only=True) == 74


def test_parameter_groups_match_torch():
    ours, theirs = twins()
    groups = [{"params": ours.body.parameters(), "lr": 0.01},
              {"params": ours.head.parameters(), "momentum": 0.5}]
    tgroups = [{"params": theirs.body.parameters(), "lr": 0.01},
               {"params": theirs.head.parameters(), "momentum": 0.5}]
    opt = SGD(groups, lr=0.2, momentum=0.9)
    topt = torch.optim.SGD(tgroups, lr=0.2, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.2]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.5]
    rng = np.random.default_rng(3)
    for _ in range(5):
        x, y = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
        loss, cache = F.cross_entropy_forward(ours(x), y)
        opt.zero_grad()
        ours.backward(F.cross_entropy_backward(1.0, cache))
        opt.step()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        topt.step()
    tstate = state_from_torch(theirs)
    for k, v in ours.state_dict().items():
        assert rel(v, tstate[k]) <= 1e-10, k


def test_optimiser_rejects_duplicates_unknown_options_and_misshapen_gradients():
    net = Net()
    with pytest.raises(ValueError, match="given twice"):
        SGD([*net.parameters(), net.head.weight], lr=0.1)
    with pytest.raises(ValueError, match="given twice"):
        SGD([{"params": net.parameters()}, {"params": [net.head.bias]}], lr=0.1)
    with pytest.raises(ValueError, match="unknown option"):
        SGD([{"params": net.parameters(), "betas": (0.9, 0.99)}], lr=0.1)
    with pytest.raises(TypeError, match="not the model"):
        SGD(net, lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        SGD(net.parameters(), lr=-1)
    opt = SGD(net.parameters(), lr=0.1)
    net.head.grads["weight"] = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"gradient of .*head|shape \(4, 3\)"):
        opt.step()
    assert "group 0: 6 parameters" in repr(opt)


def test_attribute_rules():
    class Bad(nn.Module):
        def __init__(self):
            self.x = 1

    with pytest.raises(RuntimeError, match="super"):
        Bad()
    net = Net()
    with pytest.raises(TypeError, match="sub-module"):
        net.head = np.ones(3)
    with pytest.raises(AttributeError, match="no attribute 'tail'"):
        net.tail
    net.head = nn.Linear(4, 3, rng=5)            # replacing a child is fine
    assert list(net.state_dict())[-2:] == ["head.weight", "head.bias"]
    ml = nn.ModuleList([nn.Linear(2, 2), nn.ReLU()]).append(nn.Linear(2, 1))
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                    "2.bias"]
    assert len(ml) == 3 and isinstance(ml[-1], nn.Linear)
    with pytest.raises(IndexError):
        ml[3]
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(seq[1:], nn.Sequential) and len(seq[1:]) == 2
    p = seq[0].weight
    assert p == seq[0].weight and p != seq[2].weight and len({p, seq[0].weight}) == 1


def test_train_and_eval_reach_every_submodule():
    net = Net()
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(TypeError, match="mode"):
        net.train("yes")


def test_flatten_backward_rejects_a_gradient_of_the_same_size_but_wrong_shape():
    f = nn.Flatten()
    f(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"dout must have the shape.*\(2, 12\)"):
        f.backward(np.ones((4, 6)))
    assert f.backward(np.ones((2, 12))).shape == (2, 3, 4)
