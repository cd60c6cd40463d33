"""Checks of the example chapter 99 (see notebooks.py for its notebook)."""
import numpy as np

from cnnlib.checks import Case, check_function, check_rng, exercise, verdict


@exercise("99.1", "Doubling")
def check_double(double):
    rng = check_rng(0)
    return check_function(double, [
        Case("a number", (3.0,), expected=6.0),
        Case("a vector", (rng.normal(size=5),), expected=lambda x: x + x),
        Case("a matrix", (rng.normal(size=(3, 4)),), expected=lambda x: x + x,
             hint="multiply every entry by two"),
    ])


@exercise("99.2", "Euclidean norm")
def check_norm(norm):
    return check_function(norm, [
        Case("3-4-5", ([3.0, 4.0],), expected=5.0),
        Case("zeros", (np.zeros(4),), expected=0.0),
        Case("random", (np.arange(6.0),), expected=lambda v: np.linalg.norm(v)),
    ])


@exercise("99.3", "A value above one half")
def check_threshold(value):
    return verdict(value > 0.5, f"value = {value:g} (more than 0.5 needed)")
