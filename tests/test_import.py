"""`import cnnlib` must stay fast and light: NumPy only."""
import subprocess
import sys


def test_import_cnnlib_pulls_in_neither_torch_nor_matplotlib():
    code = ("import sys, cnnlib, cnnlib.functional; "
            "heavy = [m for m in ('torch', 'matplotlib', 'sklearn', 'skimage', 'tqdm') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"import cnnlib imported heavy modules: {out}"
