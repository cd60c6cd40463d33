"""Checks that use everything a check may do with a student's objects under the grader:
call back one of the check's own functions, see an input changed in place, read a
model's method and attribute, index and measure a sequence, judge a PyTorch tensor and
NumPy warnings. The notebook is built by notebooks.remote_notebook()."""
import numpy as np

from cnnlib.checks import Case, check_function, check_rng, exercise, verdict


def _square_sum(v):
    return float(np.sum(np.asarray(v) ** 2))


@exercise("97.1", "Calls back a function of the check's")
def check_apply_twice(apply_twice):
    rng = check_rng(1)
    x = rng.normal(size=3)
    return check_function(apply_twice, [
        Case("a function of the check's, called from the notebook", (_square_sum, x),
             expected=lambda f, v: 2 * _square_sum(v)),
        Case("numpy's own", (np.sum, x), expected=lambda f, v: 2 * np.sum(v)),
    ])


@exercise("97.2", "Leaves its input alone")
def check_normalise(normalise):
    x = check_rng(2).normal(size=(2, 3))
    before = x.copy()
    v = check_function(normalise, [Case("rows sum to one", (np.abs(x) + 1,),
                                        expected=lambda a: a / a.sum(axis=1, keepdims=True))])
    if not v.passed:
        return v
    normalise(x)
    return verdict(bool(np.array_equal(x, before)),
                   "the input was left unchanged" if np.array_equal(x, before) else
                   "your function changed its input in place")


@exercise("97.3", "A model object")
def check_model(model):
    X = check_rng(3).normal(size=(5, 2))
    pred = model.predict(X)
    ok = isinstance(pred, np.ndarray) and pred.shape == (5,) and \
        np.allclose(pred, X @ np.asarray(model.weights))
    return verdict(bool(ok), f"predict gave {type(pred).__name__} {np.shape(pred)}")


@exercise("97.4", "A sequence, a tensor and warnings")
def check_many(layers, to_tensor, overflow):
    import torch
    if len(layers) != 3 or layers[1] != 16 or list(layers) != [8, 16, 4]:
        return verdict(False, f"layers: len {len(layers)}, layers[1] = {layers[1]!r}")
    t = to_tensor(np.arange(3.0))
    if not isinstance(t, torch.Tensor) or not torch.equal(t, torch.arange(3.0,
                                                                          dtype=torch.float64)):
        return verdict(False, f"to_tensor gave {t!r}")
    return check_function(overflow, [Case("no overflow allowed", (np.array([1000.0]),),
                                          expected=None, allow_warnings=False)])
