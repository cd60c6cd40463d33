"""Checks that misbehave on purpose, for the tests of cnnlib.checks."""
import numpy as np

from cnnlib.checks import Case, check_function, exercise, verdict


@exercise("98.1", "Reference with a bug")
def check_with_buggy_reference(fn):
    return check_function(fn, [
        Case("one", (1.0,), expected=lambda x: x / undefined_name)])  # noqa: F821


@exercise("98.2", "A check body with a bug")
def check_with_buggy_body(fn):
    return verdict([1, 2][5] == 0, "unreachable")


@exercise("98.3", "Training loop judged by a condition")
def check_training(train):
    losses = train(3)  # the student's code, called by the check itself
    return verdict(losses[-1] < losses[0],
                   f"loss went from {losses[0]:g} to {losses[-1]:g}")


@exercise("98.4", "Pair of arrays")
def check_pair(fn):
    return check_function(fn, [
        Case("pair", (np.arange(3.0),), expected=lambda x: (x, 2 * x)),
        Case("no warnings allowed", (np.array([1000.0]),), expected=lambda x: (x, 2 * x),
             allow_warnings=False, hint="avoid overflow"),
    ])


@exercise("98.5", "Custom condition")
def check_positive(fn):
    return check_function(fn, [
        Case("positive", (np.arange(3.0),),
             check=lambda got: None if np.all(np.asarray(got) > 0) else
             "every value must be positive"),
    ])
