"""Importing cnnlib, or any of its light modules, must stay fast: NumPy only. Each import
runs in a fresh interpreter, so modules loaded by other tests cannot hide a heavy one."""
import subprocess
import sys

import pytest

LIGHT = {
    "cnnlib, cnnlib.functional": ("torch", "matplotlib", "sklearn", "skimage", "tqdm"),
    "cnnlib.nn, cnnlib.optim, cnnlib.train, cnnlib.models, cnnlib.features, cnnlib.data":
        ("torch", "matplotlib", "sklearn", "skimage", "tqdm", "cnnlib.twins"),
    "cnnlib.checks, cnnlib.grade": ("torch", "matplotlib", "IPython", "nbclient"),
    "cnnlib.viz.widgets": ("matplotlib", "ipywidgets", "torch"),
    "cnnlib._kernel": ("nbclient", "jupyter_client", "zmq", "IPython", "torch"),
}


@pytest.mark.parametrize("modules, heavy", LIGHT.items(), ids=list(LIGHT))
def test_import_pulls_in_no_heavy_module(modules, heavy):
    code = (f"import sys, {modules}; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"import {modules} imported heavy modules: {out}"
