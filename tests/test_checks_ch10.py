"""The checks of chapter 10 (cnnlib.checks.ch10): right answers pass, the typical wrong
ones fail on the case meant to catch them, with its hint, and no traceback."""
import numpy as np
import torch
from torch import nn

from cnnlib.checks import ch10, exercises_for_notebook
from cnnlib.twins.transfer import small_cnn


# ------------------------------------------------------------- right answers
def labelled_subset(y, per_class, rng):
    rng = np.random.default_rng(rng)
    y = np.asarray(y)
    return np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False)
                           for c in np.unique(y)])


def _model(state, num_classes):
    model = small_cnn(10)
    model.load_state_dict(state)
    model.head = nn.Linear(model.num_features, num_classes)
    return model


def _steps(model, params, X, y, steps, lr=1e-2, frozen=None):
    opt = torch.optim.Adam(params, lr=lr)
    xb = torch.tensor(np.asarray(X)[:, None], dtype=torch.float32)
    yb = torch.as_tensor(np.asarray(y))
    model.train()
    if frozen is not None:
        frozen.eval()
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.state_dict()


def train_probe(state, X, y, num_classes, steps, forget_eval=False, freeze=True,
                keep_head=False):
    model = small_cnn(10)
    model.load_state_dict(state)
    if not keep_head:
        model.head = nn.Linear(model.num_features, num_classes)
    if freeze:
        for p in model.body.parameters():
            p.requires_grad_(False)
    params = model.head.parameters() if freeze else model.parameters()
    return _steps(model, params, X, y, steps, frozen=None if forget_eval else model.body)


def fine_tune_discriminative(state, X, y, num_classes, lr, body_lr_factor, steps,
                             swap=False, one_group=False):
    model = _model(state, num_classes)
    body_lr, head_lr = lr * body_lr_factor, lr
    if swap:
        body_lr, head_lr = head_lr, body_lr
    groups = ([{"params": model.parameters(), "lr": lr}] if one_group else
              [{"params": model.body.parameters(), "lr": body_lr},
               {"params": model.head.parameters(), "lr": head_lr}])
    opt = torch.optim.Adam(groups)
    xb = torch.tensor(np.asarray(X)[:, None], dtype=torch.float32)
    yb = torch.as_tensor(np.asarray(y))
    model.train()
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.state_dict()


def test_right_answers_pass(capsys):
    for check, answer, cases in [(ch10.check_labelled_subset, labelled_subset, 4),
                                 (ch10.check_train_probe, train_probe, 2),
                                 (ch10.check_discriminative_fine_tune,
                                  fine_tune_discriminative, 3)]:
        assert check(answer), capsys.readouterr().out
        out = capsys.readouterr().out
        assert out.startswith("✅ Exercise 10.") and f"all {cases} cases passed" in out


def test_the_library_solutions_pass_too(capsys):
    from cnnlib.data.subsets import labelled_subset as library
    assert ch10.check_labelled_subset(library)


def test_the_notebook_has_these_exercises():
    ids = [info.id for info in exercises_for_notebook("10_transfer_learning.ipynb")]
    assert ids == ["10.1", "10.2", "10.3"]


# ------------------------------------------------------------- wrong answers
def failing_case(check, answer, capsys):
    assert not check(answer)
    out = capsys.readouterr().out
    assert out.startswith("❌") and "Traceback" not in out
    return out


def test_subsets_with_replacement_unbalanced_or_not_random(capsys):
    def with_replacement(y, k, rng):
        rng = np.random.default_rng(rng)
        return np.concatenate([rng.choice(np.flatnonzero(np.asarray(y) == c), k)
                               for c in np.unique(y)])

    def unbalanced(y, k, rng):
        return np.random.default_rng(rng).choice(len(y), k * len(np.unique(y)),
                                                 replace=False)

    def first_ones(y, k, rng):
        return np.concatenate([np.flatnonzero(np.asarray(y) == c)[:k] for c in np.unique(y)])

    assert "drawn twice" in failing_case(ch10.check_labelled_subset, with_replacement, capsys)
    assert "exactly 4 examples" in failing_case(ch10.check_labelled_subset, unbalanced,
                                                capsys)
    out = failing_case(ch10.check_labelled_subset, first_ones, capsys)
    assert "first 3 examples of each class" in out


def test_a_probe_that_forgets_eval_or_trains_the_body(capsys):
    out = failing_case(ch10.check_train_probe,
                       lambda *a: train_probe(*a, forget_eval=True), capsys)
    assert "running statistics changed" in out and "eval()" in out
    out = failing_case(ch10.check_train_probe, lambda *a: train_probe(*a, freeze=False),
                       capsys)
    assert "the body's weights changed" in out
    out = failing_case(ch10.check_train_probe, lambda *a: train_probe(*a, keep_head=True),
                       capsys)
    assert "old 10-class head" in out
    out = failing_case(ch10.check_train_probe, lambda *a: dict(a[0]), capsys)
    assert "NEW nn.Linear" in out


def test_swapped_rates_and_a_single_group_fail(capsys):
    out = failing_case(ch10.check_discriminative_fine_tune,
                       lambda *a: fine_tune_discriminative(*a, swap=True), capsys)
    assert "swapped" in out and "body_lr_factor = 0.1" in out
    out = failing_case(ch10.check_discriminative_fine_tune,
                       lambda *a: fine_tune_discriminative(*a, one_group=True), capsys)
    assert "must not change" in out and "only one group" in out
