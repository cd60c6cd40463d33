"""The learning-rate schedulers against torch.optim.lr_scheduler: the same constructor
arguments, and after every step the same learning rate in every parameter group (to
1e-12), the same get_last_lr(), initial_lr and momentum; and fit() stepping them."""
import warnings

import numpy as np
import pytest
import torch

import cnnlib.nn as L
from cnnlib.optim import SGD, Adam
from cnnlib.optim import lr_scheduler as S
from cnnlib.train import fit


def groups_pair(lrs=(0.1, 0.03), optimizer="sgd", momentum=0.9):
    """Two parameter groups with their own learning rates, in cnnlib and in torch."""
    ours_net = L.Sequential(L.Linear(3, 4), L.Linear(4, 2))
    theirs_net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    if optimizer == "sgd":
        make_ours = lambda g: SGD(g, lr=lrs[0], momentum=momentum)  # noqa: E731
        make_theirs = lambda g: torch.optim.SGD(g, lr=lrs[0], momentum=momentum)  # noqa: E731
    else:
        make_ours = lambda g: Adam(g, lr=lrs[0])  # noqa: E731
        make_theirs = lambda g: torch.optim.Adam(g, lr=lrs[0])  # noqa: E731
    ours = make_ours([{"params": list(ours_net[0].parameters())},
                      {"params": list(ours_net[1].parameters()), "lr": lrs[1]}])
    theirs = make_theirs([{"params": list(theirs_net[0].parameters())},
                          {"params": list(theirs_net[1].parameters()), "lr": lrs[1]}])
    return ours, theirs


def assert_same_lrs(ours, theirs, sched, tsched, where):
    got = [g["lr"] for g in ours.param_groups]
    want = [g["lr"] for g in theirs.param_groups]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=where)
    np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12,
                               atol=1e-15, err_msg=where)
    assert [g["initial_lr"] for g in ours.param_groups] == \
        pytest.approx([g["initial_lr"] for g in theirs.param_groups], rel=1e-15)


SCHEDULES = {
    "StepLR": lambda S_, o: S_.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda S_, o: S_.MultiStepLR(o, milestones=[10, 25, 25, 60], gamma=0.3),
    "ExponentialLR": lambda S_, o: S_.ExponentialLR(o, gamma=0.97),
    "CosineAnnealingLR": lambda S_, o: S_.CosineAnnealingLR(o, T_max=40),
    "CosineAnnealingLR eta_min, past T_max": lambda S_, o: S_.CosineAnnealingLR(
        o, T_max=17, eta_min=0.001),
    "LinearLR warm-up": lambda S_, o: S_.LinearLR(o, start_factor=0.01, total_iters=20),
    "LinearLR decay": lambda S_, o: S_.LinearLR(o, start_factor=1.0, end_factor=0.1,
                                                total_iters=50),
    "OneCycleLR": lambda S_, o: S_.OneCycleLR(o, max_lr=1.0, total_steps=100),
    "OneCycleLR per-group max_lr, linear": lambda S_, o: S_.OneCycleLR(
        o, max_lr=[0.5, 0.2], epochs=10, steps_per_epoch=10, pct_start=0.25,
        anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0),
    "OneCycleLR three phases": lambda S_, o: S_.OneCycleLR(o, max_lr=0.4, total_steps=100,
                                                           three_phase=True),
    "SequentialLR warm-up + cosine": lambda S_, o: S_.SequentialLR(
        o, [S_.LinearLR(o, start_factor=0.1, total_iters=10),
            S_.CosineAnnealingLR(o, T_max=90)], milestones=[10]),
    "SequentialLR three parts": lambda S_, o: S_.SequentialLR(
        o, [S_.LinearLR(o, start_factor=0.2, total_iters=5), S_.StepLR(o, 10, 0.5),
            S_.ExponentialLR(o, 0.95)], milestones=[5, 40]),
}


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_lr_after_every_step_equals_torch(name, optimizer):
    ours, theirs = groups_pair(optimizer=optimizer)
    sched = SCHEDULES[name](S, ours)
    with warnings.catch_warnings():
        # torch warns that its scheduler stepped before its optimizer: there is no
        # optimizer step here, only the schedule
        warnings.simplefilter("ignore", UserWarning)
        tsched = SCHEDULES[name](torch.optim.lr_scheduler, theirs)
        assert_same_lrs(ours, theirs, sched, tsched, "after construction")
        for step in range(100):
            sched.step()
            tsched.step()
            assert_same_lrs(ours, theirs, sched, tsched, f"after step {step + 1}")
            # OneCycleLR also cycles the momentum (SGD) or beta1 (Adam)
            if name.startswith("OneCycleLR"):
                mom = (lambda g: g["momentum"]) if optimizer == "sgd" else \
                    (lambda g: g["betas"][0])
                assert [mom(g) for g in ours.param_groups] == pytest.approx(
                    [mom(g) for g in theirs.param_groups], rel=1e-12)
    assert sched.last_epoch == tsched.last_epoch


def test_one_cycle_refuses_to_step_past_its_end():
    ours, _ = groups_pair()
    sched = S.OneCycleLR(ours, max_lr=0.1, total_steps=5)
    for _ in range(4):
        sched.step()
    sched.step()          # last_epoch 5 == total_steps: the last allowed value
    with pytest.raises(ValueError, match="more than its total_steps=5"):
        sched.step()


def test_shapes_of_the_schedules():
    """The formulas of the module docstring, by hand."""
    ours, _ = groups_pair(lrs=(1.0, 1.0))
    sched = S.CosineAnnealingLR(ours, T_max=10, eta_min=0.0)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(10):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    np.testing.assert_allclose(lrs, (1 + np.cos(np.pi * np.arange(11) / 10)) / 2,
                               atol=1e-12)
    ours, _ = groups_pair(lrs=(0.5, 0.5))
    warm = S.LinearLR(ours, start_factor=0.1, total_iters=4)
    lrs = [warm.get_last_lr()[0]]
    for _ in range(6):
        warm.step()
        lrs.append(warm.get_last_lr()[0])
    np.testing.assert_allclose(lrs, [0.05, 0.1625, 0.275, 0.3875, 0.5, 0.5, 0.5],
                               rtol=1e-12)


def test_fit_steps_a_one_cycle_schedule_per_batch():
    """fit(..., scheduler_interval="batch") steps OneCycleLR once per batch, as the
    same loop written with torch does: the lr logged each epoch follows torch's."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    model = L.Sequential(L.Linear(3, 2, rng=0))
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = S.OneCycleLR(opt, max_lr=0.5, epochs=4, steps_per_epoch=5)
    history = fit(model, "cross_entropy", opt, X, y, epochs=4, batch_size=8, rng=0,
                  scheduler=sched, scheduler_interval="batch", progress=False)
    tnet = torch.nn.Linear(3, 2)
    topt = torch.optim.SGD(tnet.parameters(), lr=0.1, momentum=0.9)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.5, epochs=4,
                                                 steps_per_epoch=5)
    expected = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for epoch in range(4):
            expected.append(topt.param_groups[0]["lr"])
            for _ in range(5):
                tsched.step()
    np.testing.assert_allclose(history["lr"], expected, rtol=1e-12)
    assert sched.last_epoch == 20


@pytest.mark.parametrize("make, error, words", [
    (lambda o: S.StepLR(o, step_size=0), ValueError, "step_size"),
    (lambda o: S.StepLR(o, step_size=2.5), TypeError, "step_size"),
    (lambda o: S.ExponentialLR(o, gamma="0.9"), TypeError, "gamma"),
    (lambda o: S.LinearLR(o, start_factor=0.0), ValueError, "start_factor"),
    (lambda o: S.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
    (lambda o: S.OneCycleLR(o, max_lr=0.1), ValueError, "total_steps"),
    (lambda o: S.OneCycleLR(o, max_lr=[0.1, 0.2, 0.3], total_steps=5), ValueError,
     "one value per parameter group"),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=5, anneal_strategy="cosine"),
     ValueError, "anneal_strategy"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2)], milestones=[3]), ValueError,
     "one milestone fewer"),
    (lambda o: S.StepLR("sgd", 2), TypeError, "optimizer must be a cnnlib Optimizer"),
    (lambda o: S.MultiStepLR(o, milestones=5), TypeError, "milestones"),
    (lambda o: S.StepLR(o, 2, last_epoch=3), KeyError, "initial_lr"),
])
def test_bad_arguments_are_named(make, error, words):
    ours, _ = groups_pair()
    with pytest.raises(error, match=words):
        make(ours)


def test_sequential_refuses_a_scheduler_of_another_optimizer():
    a, _ = groups_pair()
    b, _ = groups_pair()
    with pytest.raises(ValueError, match="drives another optimizer"):
        S.SequentialLR(a, [S.StepLR(a, 2), S.StepLR(b, 2)], milestones=[3])


def test_state_dict_round_trip_resumes_the_schedule():
    ours, _ = groups_pair()
    sched = S.CosineAnnealingLR(ours, T_max=20)
    for _ in range(7):
        sched.step()
    saved = sched.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 7
    other, _ = groups_pair()
    resumed = S.CosineAnnealingLR(other, T_max=20)
    resumed.load_state_dict(saved)
    for g, lr in zip(other.param_groups, sched.get_last_lr()):
        g["lr"] = lr
    for _ in range(5):
        sched.step()
        resumed.step()
    assert resumed.get_last_lr() == pytest.approx(sched.get_last_lr(), rel=1e-14)
