r"""Learning-rate schedules: how the step size changes during training.

Explained in chapter 9. Each scheduler is ``torch.optim.lr_scheduler``'s, with the same
constructor arguments, the same ``step()`` / ``get_last_lr()`` semantics and the same
arithmetic (the tests compare the learning rate after every step with PyTorch's to
1e-12):

* a scheduler changes ``optimizer.param_groups[i]["lr"]`` of every group; on
  construction it stores each group's starting rate as ``group["initial_lr"]`` (its
  ``base_lrs``) and takes a first step, ``last_epoch = 0``;
* call ``scheduler.step()`` after ``optimizer.step()``, once per epoch or once per
  batch (``cnnlib.train.fit(..., scheduler=s, scheduler_interval="batch")``);
  ``last_epoch`` counts the calls;
* ``get_last_lr()`` is the list of the groups' current rates.

With :math:`\eta_0` a group's base rate and :math:`t` = ``last_epoch``:

=====================  =============================================================
``StepLR``             :math:`\eta_0\,\gamma^{\lfloor t/s \rfloor}` (divide by 1/gamma every ``step_size`` steps)
``MultiStepLR``        :math:`\eta_0\,\gamma^{\#\{\text{milestones} \le t\}}`
``ExponentialLR``      :math:`\eta_0\,\gamma^t`
``CosineAnnealingLR``  :math:`\eta_{\min} + (\eta_0 - \eta_{\min})\,\tfrac12\bigl(1 + \cos(\pi t / T_{\max})\bigr)`
``LinearLR``           :math:`\eta_0\,\bigl(f_s + (f_e - f_s)\min(t, T)/T\bigr)` (a warm-up from ``start_factor`` to ``end_factor``)
``OneCycleLR``         up from ``max_lr/div_factor`` to ``max_lr`` over ``pct_start`` of the steps, then down to ``initial_lr/final_div_factor`` (cosine or linear), with momentum cycling the other way
``SequentialLR``       one scheduler after another, switching at ``milestones``
=====================  =============================================================

Like PyTorch's, most of them compute the next rate from the current one (a
"chainable" rule: e.g. ``lr * gamma``), so that they compose; the formulas above are
what that chain adds up to.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from cnnlib._validate import check_bool, check_in, check_int, check_number, check_positive_int
from cnnlib.optim.optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "LinearLR", "OneCycleLR", "SequentialLR"]


def _check_optimizer(optimizer) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a cnnlib Optimizer (e.g. SGD, Adam), got "
                        f"{type(optimizer).__name__}")
    return optimizer


def _check_last_epoch(last_epoch) -> int:
    last_epoch = check_int(last_epoch, "last_epoch")
    if last_epoch < -1:
        raise ValueError(f"last_epoch must be >= -1, got {last_epoch}")
    return last_epoch


class LRScheduler:
    """Base class (``torch.optim.lr_scheduler.LRScheduler``): a subclass implements
    :meth:`get_lr`, the groups' next rates, from ``self.last_epoch`` and the current
    rates; schedulers with a formula in closed form also give
    ``_get_closed_form_lr``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        self.optimizer = _check_optimizer(optimizer)
        last_epoch = _check_last_epoch(last_epoch)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param_groups[{i}] has no 'initial_lr': a scheduler "
                                   f"resumed with last_epoch={last_epoch} needs the "
                                   f"optimizer of the run it continues")
        self.base_lrs: list[float] = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._is_initial = False
        self._initial_step()

    def _initial_step(self) -> None:
        """The step taken on construction (``last_epoch`` -1 -> 0)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The groups' next learning rates (called by :meth:`step`)."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rate of every parameter group after the last step."""
        return list(self._last_lr)

    def _current(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def step(self) -> None:
        """Advance the schedule by one step (one epoch, or one batch) and write the new
        rates into the optimizer's groups."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:                       # jump to an epoch: the closed form, when there is one
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = self._current()

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (torch's rule), for checkpoints."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(last_epoch={self.last_epoch}, "
                f"lr={[float(f'{x:.6g}') for x in self.get_last_lr()]})")


class StepLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` every ``step_size`` steps:
    :math:`\eta_t = \eta_0\,\gamma^{\lfloor t/\text{step\_size}\rfloor}`.
    Explained in chapter 9."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = check_positive_int(step_size, "step_size")
        self.gamma = check_number(gamma, "gamma", low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size)
                for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` at each of the ``milestones`` (step counts):
    :math:`\eta_t = \eta_0\,\gamma^{\#\{m \le t\}}`. Explained in chapter 9."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Iterable):
            raise TypeError(f"milestones must be a list of step counts, got {milestones!r}")
        self.milestones = Counter(check_int(m, "milestones[i]") for m in milestones)
        self.gamma = check_number(gamma, "gamma", low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current()
        return [lr * self.gamma ** self.milestones[self.last_epoch]
                for lr in self._current()]

    def _get_closed_form_lr(self) -> list[float]:
        milestones = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` at every step: :math:`\eta_t = \eta_0\,\gamma^t`.
    Explained in chapter 9."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = check_number(gamma, "gamma", low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Half a cosine from the base rate down to ``eta_min`` over ``T_max`` steps:
    :math:`\eta_t = \eta_{\min} + (\eta_0 - \eta_{\min})\frac{1 + \cos(\pi t/T_{\max})}{2}`
    (and back up if stepped beyond ``T_max``, as PyTorch's does). Computed, as in
    PyTorch, by a rule that updates the current rate, so that it composes with other
    changes of the rate. Explained in chapter 9."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = check_positive_int(T_max, "T_max")
        self.eta_min = check_number(eta_min, "eta_min", low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        T, lo = self.T_max, self.eta_min
        if self._is_initial:
            return self._current()
        if self._step_count == 1 and self.last_epoch > 0:       # resumed mid-schedule
            return [lo + (base - lo) * (1 + math.cos(self.last_epoch * math.pi / T)) / 2
                    for base in self.base_lrs]
        if (self.last_epoch - 1 - T) % (2 * T) == 0:             # the bottom: turn back up
            return [lr + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base, lr in zip(self.base_lrs, self._current())]
        return [(1 + math.cos(math.pi * self.last_epoch / T))
                / (1 + math.cos(math.pi * (self.last_epoch - 1) / T)) * (lr - lo) + lo
                for lr in self._current()]

    def _get_closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Scale the base rate by a factor that moves linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` steps, then stays: the usual **warm-up**
    (``start_factor`` small, ``end_factor`` 1). Explained in chapter 9."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        self.start_factor = check_number(start_factor, "start_factor")
        if not 0 < self.start_factor <= 1:
            raise ValueError(f"start_factor must lie in (0, 1], got {start_factor}")
        self.end_factor = check_number(end_factor, "end_factor", low=0.0, high=1.0)
        self.total_iters = check_positive_int(total_iters, "total_iters")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current()
        fs, fe = self.start_factor, self.end_factor
        ratio = 1.0 + (fe - fs) / (self.total_iters * fs + (self.last_epoch - 1) * (fe - fs))
        return [lr * ratio for lr in self._current()]

    def _get_closed_form_lr(self) -> list[float]:
        fs, fe = self.start_factor, self.end_factor
        f = fs + (fe - fs) * min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * f for base in self.base_lrs]


def _per_group(name: str, value, optimizer: Optimizer) -> list[float]:
    """One value per parameter group: a number for all, or a list with one each."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} must have one value per parameter group ({n}), "
                             f"got {len(value)}")
        return [check_number(v, f"{name}[{i}]") for i, v in enumerate(value)]
    return [check_number(value, name)] * n


class OneCycleLR(LRScheduler):
    r"""The one-cycle policy (Smith and Topin, 2019), as
    ``torch.optim.lr_scheduler.OneCycleLR``: stepped once per **batch**, the rate rises
    from ``max_lr / div_factor`` to ``max_lr`` during the first ``pct_start`` of
    ``total_steps`` (or ``epochs * steps_per_epoch``), then anneals to
    ``initial_lr / final_div_factor``; with ``cycle_momentum`` the momentum (SGD's
    ``momentum`` or Adam's beta1) moves the opposite way between ``max_momentum`` and
    ``base_momentum``. ``three_phase`` comes back down to the initial rate before the
    final decay. Stepping more than ``total_steps`` times raises. Explained in
    chapter 9."""

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        if total_steps is not None:
            self.total_steps = check_positive_int(total_steps, "total_steps")
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (check_positive_int(epochs, "epochs")
                                * check_positive_int(steps_per_epoch, "steps_per_epoch"))
        else:
            raise ValueError("OneCycleLR needs total_steps, or epochs and steps_per_epoch")
        pct_start = check_number(pct_start, "pct_start", low=0.0, high=1.0)
        check_in(anneal_strategy, "anneal_strategy", ["cos", "linear"])
        self.anneal_strategy = anneal_strategy
        div_factor = check_number(div_factor, "div_factor", low=0.0)
        final_div_factor = check_number(final_div_factor, "final_div_factor", low=0.0)
        if div_factor == 0 or final_div_factor == 0:
            raise ValueError("div_factor and final_div_factor must be > 0")
        n = self.total_steps
        if check_bool(three_phase, "three_phase"):
            self._phases = [
                (float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum",
                 "base_momentum"),
                (float(2 * pct_start * n) - 2, "max_lr", "initial_lr", "base_momentum",
                 "max_momentum"),
                (n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases = [
                (float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum",
                 "base_momentum"),
                (n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        max_lrs = _per_group("max_lr", max_lr, optimizer)
        last_epoch = _check_last_epoch(last_epoch)
        if last_epoch == -1:
            for m, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = check_bool(cycle_momentum, "cycle_momentum")
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("cycle_momentum=True needs an optimizer with momentum "
                                 "(SGD) or betas (Adam)")
            self.use_beta1 = "betas" in optimizer.defaults
            maxes = _per_group("max_momentum", max_momentum, optimizer)
            bases = _per_group("base_momentum", base_momentum, optimizer)
            if last_epoch == -1:
                for m, b, group in zip(maxes, bases, optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (m, *group["betas"][1:])
                    else:
                        group["momentum"] = m
                    group["max_momentum"] = m
                    group["base_momentum"] = b
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR was stepped {t} times, more than its "
                             f"total_steps={self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, (end_step, lr0, lr1, mom0, mom1) in enumerate(self._phases):
                if t <= end_step or i == len(self._phases) - 1:
                    pct = (t - start_step) / (end_step - start_step)
                    lr = self._anneal(group[lr0], group[lr1], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[mom0], group[mom1], pct)
                    break
                start_step = end_step
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until step ``milestones[0]``, then ``schedulers[1]`` (started
    afresh from the base rate), and so on; e.g. a linear warm-up followed by a cosine
    decay. All schedulers must drive ``optimizer``. Explained in chapter 9."""

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("SequentialLR needs at least one scheduler")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler):
                raise TypeError(f"schedulers[{i}] must be a cnnlib LRScheduler, got "
                                f"{type(s).__name__}")
            if s.optimizer is not optimizer:
                raise ValueError(f"schedulers[{i}] ({type(s).__name__}) drives another "
                                 f"optimizer: every scheduler must belong to `optimizer`")
        milestones = [check_int(m, f"milestones[{i}]") for i, m in enumerate(milestones)]
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR needs one milestone fewer than schedulers: got "
                             f"{len(schedulers)} schedulers and {len(milestones)} "
                             f"milestones")
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = _check_last_epoch(last_epoch) + 1
        self.optimizer = optimizer
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        # Each scheduler took its first step when it was built; undo them all and
        # start again from the base rates with the first one only (PyTorch's rule).
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    @staticmethod
    def _undo(scheduler) -> None:
        """Step back every scheduler inside (nested SequentialLRs recursively)."""
        if isinstance(scheduler, SequentialLR) and hasattr(scheduler, "_schedulers"):
            for s in scheduler._schedulers:
                SequentialLR._undo(s)
        else:
            scheduler.last_epoch -= 1

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)          # the next scheduler starts from its step 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        state = dict(state)
        for s, sub in zip(self._schedulers, state.pop("_schedulers")):
            s.load_state_dict(sub)
        self.__dict__.update(state)
