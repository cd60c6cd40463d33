"""Adam and AdamW against torch.optim: the same model, the same batches, 100 steps; the
parameters must follow the same trajectory (float64 to 1e-10 at every step)."""
import numpy as np
import pytest
import torch

import cnnlib.nn as L
from cnnlib import functional as F
from cnnlib.optim import SGD, Adam, AdamW
from cnnlib.optim.lr_scheduler import OneCycleLR
from torch_devices import DEVICES


def twin_models(dtype, device, batch_norm=False):
    """A small network with the same weights in cnnlib and in torch."""
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    torch.manual_seed(0)
    layers = [torch.nn.Linear(6, 8)]
    ours = [L.Linear(6, 8, dtype=dtype)]
    if batch_norm:
        layers.append(torch.nn.BatchNorm1d(8))
        ours.append(L.BatchNorm1d(8, dtype=dtype))
    layers += [torch.nn.ReLU(), torch.nn.Linear(8, 4)]
    ours += [L.ReLU(), L.Linear(8, 4, dtype=dtype)]
    theirs = torch.nn.Sequential(*layers).to(device=device, dtype=tdtype)
    ours = L.Sequential(*ours)
    ours.load_state_dict({k: v.detach().cpu().numpy() for k, v in
                          theirs.state_dict().items()})
    return ours, theirs


def param_error(ours, theirs) -> float:
    tp = dict(theirs.named_parameters())
    return max(float(np.max(np.abs(p.data - tp[k].detach().cpu().numpy()))
                     / max(np.max(np.abs(tp[k].detach().cpu().numpy())), 1e-12))
               for k, p in ours.named_parameters())


def one_step(ours, theirs, opt, topt, x, y, device):
    loss, cache = F.cross_entropy_forward(ours(x), y)
    opt.zero_grad()
    ours.backward(F.cross_entropy_backward(1.0, cache))
    opt.step()
    tl = torch.nn.functional.cross_entropy(theirs(torch.tensor(x, device=device)),
                                           torch.tensor(y, device=device))
    topt.zero_grad()
    tl.backward()
    topt.step()
    return loss, tl.item()


CONFIGS = [
    (Adam, torch.optim.Adam, dict(lr=0.01)),
    (Adam, torch.optim.Adam, dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
    (Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.05)),
    (Adam, torch.optim.Adam, dict(lr=0.01, amsgrad=True)),
    (Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.01, amsgrad=True, maximize=True)),
    (AdamW, torch.optim.AdamW, dict(lr=0.01)),
    (AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1, betas=(0.85, 0.95))),
    (AdamW, torch.optim.AdamW, dict(lr=0.005, amsgrad=True)),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ours_cls, torch_cls, config", CONFIGS,
                         ids=[f"{c[0].__name__}-" + ",".join(f"{k}={v}" for k, v in
                                                              c[2].items()) for c in CONFIGS])
def test_trajectory_matches_torch_over_100_steps(ours_cls, torch_cls, config, dtype,
                                                 device):
    ours, theirs = twin_models(dtype, device)
    opt = ours_cls(ours.parameters(), **config)
    topt = torch_cls(theirs.parameters(), **config)
    rng = np.random.default_rng(2)
    worst = 0.0
    for step in range(100):
        x = rng.normal(size=(16, 6)).astype(dtype)
        y = rng.integers(0, 4, 16)
        loss, tloss = one_step(ours, theirs, opt, topt, x, y, device)
        worst = max(worst, param_error(ours, theirs))
        # float64: the same arithmetic in the same order, up to rounding: 1e-10 at every
        # step. float32: Adam divides by sqrt(v) + eps, so a parameter whose gradient is
        # ~0 gets steps of order lr whatever its rounding; 100 steps of 1e-7 relative
        # rounding, amplified like that, stay below 1e-4 (measured: ~1e-6).
        if dtype == np.float64:
            assert worst < 1e-10, (step, worst)
    assert worst < (1e-10 if dtype == np.float64 else 1e-4), worst
    # the optimiser states agree too
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        ts = topt.state[tp]
        assert opt.state[p]["step"] == int(ts["step"]) == 100
        for key in ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if config.get(
                "amsgrad") else ()):
            np.testing.assert_allclose(opt.state[p][key], ts[key].cpu().numpy(),
                                       rtol=1e-8 if dtype == np.float64 else 1e-3,
                                       atol=1e-12 if dtype == np.float64 else 1e-6)


def test_batch_norm_network_with_adam_and_one_cycle_matches_torch():
    """Adam's beta1 cycled by OneCycleLR, on a network with batch norm: 60 steps."""
    ours, theirs = twin_models(np.float64, "cpu", batch_norm=True)
    opt = Adam(ours.parameters(), lr=0.01, weight_decay=1e-3)
    topt = torch.optim.Adam(theirs.parameters(), lr=0.01, weight_decay=1e-3)
    sched = OneCycleLR(opt, max_lr=0.05, total_steps=60)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.05, total_steps=60)
    rng = np.random.default_rng(3)
    for _ in range(60):
        x, y = rng.normal(size=(12, 6)), rng.integers(0, 4, 12)
        loss, tloss = one_step(ours, theirs, opt, topt, x, y, "cpu")
        assert loss == pytest.approx(tloss, rel=1e-10)
        sched.step()
        tsched.step()
        assert opt.param_groups[0]["betas"][0] == pytest.approx(
            topt.param_groups[0]["betas"][0], rel=1e-12)
    assert param_error(ours, theirs) < 1e-10
    state = theirs.state_dict()
    np.testing.assert_allclose(ours.state_dict()["1.running_var"],
                               state["1.running_var"].numpy(), rtol=1e-10)


def test_parameter_groups_with_their_own_lr_and_weight_decay():
    ours, theirs = twin_models(np.float64, "cpu")
    groups = lambda m: [  # noqa: E731
        {"params": list(m[0].parameters()), "lr": 0.001},
        {"params": list(m[2].parameters()), "weight_decay": 0.1}]
    opt = AdamW(groups(ours), lr=0.02)
    topt = torch.optim.AdamW(groups(theirs), lr=0.02)
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.01, 0.1]
    rng = np.random.default_rng(4)
    for _ in range(30):
        one_step(ours, theirs, opt, topt, rng.normal(size=(8, 6)), rng.integers(0, 4, 8),
                 "cpu")
    assert param_error(ours, theirs) < 1e-10


def test_frozen_parameters_are_left_alone():
    lin = L.Linear(3, 2, rng=0)
    lin.bias.requires_grad_(False)
    b0 = lin.params["bias"].copy()
    opt = Adam(lin.parameters(), lr=0.1)
    lin.grads["weight"][...] = 1.0
    opt.step()
    np.testing.assert_array_equal(lin.params["bias"], b0)
    # one step of Adam moves each weight by lr (m/sqrt(v) = g/|g| after bias correction)
    np.testing.assert_allclose(lin.params["weight"], L.Linear(3, 2, rng=0).params["weight"]
                               - 0.1, rtol=0, atol=1e-7)


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(betas=(1.0, 0.9)), ValueError, "betas must lie in [0, 1)"),
    (dict(betas=0.9), TypeError, "betas must be a pair"),
    (dict(eps=-1e-8), ValueError, "eps"),
    (dict(weight_decay=-0.1), ValueError, "weight_decay"),
    (dict(amsgrad="yes"), TypeError, "amsgrad"),
])
def test_bad_hyperparameters_are_named(kwargs, error, words):
    with pytest.raises(error, match=words.replace("[", r"\[").replace("(", r"\(")
                       .replace(")", r"\)")):
        Adam(L.Linear(2, 2).parameters(), **kwargs)


def test_unknown_group_options_and_sgd_still_work():
    with pytest.raises(ValueError, match="momentum"):
        Adam([{"params": list(L.Linear(2, 2).parameters()), "momentum": 0.9}])
    assert SGD(L.Linear(2, 2).parameters(), lr=0.1).lr == 0.1
