"""Shared test set-up: figures draw off-screen and are closed after every test."""
import os
import sys

import pytest

# Draw without a display (the Makefile sets this too; this covers a bare `pytest`).
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test opened, so hundreds of tests do not pile them up."""
    yield
    plt = sys.modules.get("matplotlib.pyplot")   # only if the test used matplotlib
    if plt is not None:
        plt.close("all")
