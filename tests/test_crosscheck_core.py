"""cnnlib's core ops (activations, softmax, linear, losses) against PyTorch, and the
cross-check framework itself: it must pass correct ops and catch wrong ones."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from cnnlib.functional import activations as A
from cnnlib.crosscheck import (Case, CaseResult, all_cases, assert_case,
                               available_devices, format_table, main,
                               normalised_error, run_case)
from cnnlib.crosscheck.core import CASES

DEVICES = ["cpu", "cuda"]
DTYPES = ["float64", "float32"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", CASES, ids=[c.op for c in CASES])
def test_core_op_matches_pytorch(case, device, dtype):
    # assert_case skips (with the reason) when the device is missing.
    assert_case(case, device, dtype, trials=5)


def test_core_cases_cover_every_core_op():
    ops = {c.op for c in CASES}
    for name in ["sigmoid", "relu", "leaky_relu", "tanh", "arctan", "softmax",
                 "log_softmax", "linear", "linear (no bias)", "binary_cross_entropy",
                 "binary_cross_entropy_with_logits", "cross_entropy (class indices)",
                 "cross_entropy (probabilities)", "mse_loss"]:
        assert name in ops


def test_every_case_draws_a_new_configuration_each_trial():
    for case in CASES:
        rng = np.random.default_rng(0)
        draws = [case.make(rng) for _ in range(4)]
        shapes = {tuple(np.shape(v) for v in d[0].values()) for d in draws}
        values = {float(np.sum(next(iter(d[0].values())))) for d in draws}
        assert len(shapes) > 1 or len(values) > 1, case.op


# ------------------------------------------------------------ the framework itself
def _sigmoid_case(backward_scale=1.0, out_dtype=None, op="test sigmoid"):
    def numpy_fn(inputs, extras, kwargs):
        out, cache = A.sigmoid_forward(inputs["input"])
        if out_dtype is not None:
            out = out.astype(out_dtype)
        return out, lambda d: {"input": backward_scale * A.sigmoid_backward(d, cache)}

    return Case(op, lambda rng: ({"input": rng.standard_normal((3, 4))}, {}, {}),
                numpy_fn, lambda t, e, k: torch.sigmoid(t["input"]))


def test_normalised_error_is_max_abs_error_over_max_abs_reference():
    assert normalised_error([1.0, 2.0], [1.0, 4.0]) == pytest.approx(2.0 / 4.0)
    assert normalised_error([0.0], [0.0]) == 0.0
    assert normalised_error([1e-13], [0.0]) == pytest.approx(0.1)   # floor 1e-12
    assert normalised_error([np.nan], [1.0]) == np.inf
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        normalised_error(np.zeros(2), np.zeros(3))


def test_a_correct_op_passes_with_tiny_errors():
    r = run_case(_sigmoid_case(), "cpu", "float64", trials=3)
    assert r.ok and r.fwd_err < 1e-15 and r.grad_err < 1e-15
    assert isinstance(r, CaseResult) and r.op == "test sigmoid" and r.dtype == "float64"


def test_a_slightly_wrong_gradient_fails_in_float64():
    # A gradient off by one part in a million passes any eyeball check, not this one.
    r = run_case(_sigmoid_case(backward_scale=1 + 1e-6), "cpu", "float64", trials=2)
    assert r.failed and r.fwd_err < 1e-15 and 5e-7 < r.grad_err < 2e-6
    with pytest.raises(AssertionError, match=r"test sigmoid.*gradient error.*\(3, 4\)"):
        assert_case(_sigmoid_case(backward_scale=1 + 1e-6), "cpu", "float64")


def test_a_float32_to_float64_leak_fails():
    r = run_case(_sigmoid_case(out_dtype=np.float64), "cpu", "float32", trials=1)
    assert r.failed and "float64" in r.note and "float32" in r.note


def test_an_op_that_raises_gives_a_failed_row_not_a_crash():
    def boom(inputs, extras, kwargs):
        raise ValueError("kaboom")

    case = Case("broken", lambda rng: ({"x": np.ones(2)}, {}, {}), boom,
                lambda t, e, k: t["x"])
    r = run_case(case, "cpu", "float64", trials=1)
    assert r.failed and "kaboom" in r.note


def test_a_wrong_output_shape_fails_naming_both_shapes():
    case = Case("transposed", lambda rng: ({"x": rng.standard_normal((2, 3))}, {}, {}),
                lambda i, e, k: (i["x"].T, lambda d: {"x": d.T}),
                lambda t, e, k: t["x"])
    r = run_case(case, "cpu", "float64", trials=1)
    assert r.failed and "(3, 2)" in r.note and "(2, 3)" in r.note


def test_a_missing_gradient_fails():
    case = Case("no grad", lambda rng: ({"x": rng.standard_normal(3)}, {}, {}),
                lambda i, e, k: (2 * i["x"], lambda d: {}),
                lambda t, e, k: 2 * t["x"])
    r = run_case(case, "cpu", "float64", trials=1)
    assert r.failed and "no gradient" in r.note


def test_dtype_names_are_accepted_in_every_spelling():
    case = _sigmoid_case()
    for dtype in ["float32", np.float32, np.dtype("float32"), torch.float32]:
        assert run_case(case, "cpu", dtype, trials=1).dtype == "float32"
    with pytest.raises(ValueError, match="dtype"):
        run_case(case, "cpu", "float16")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU behaviour")
def test_cuda_rows_say_why_they_are_skipped():
    assert available_devices() == ["cpu"]
    r = run_case(_sigmoid_case(), "cuda", "float64")
    assert r.skipped and not r.failed and r.note == "skipped: no CUDA device"
    assert "skipped: no CUDA device" in format_table([r])


def test_all_cases_start_with_core_and_have_unique_names():
    cases = all_cases()
    assert [c.op for c in cases[:len(CASES)]] == [c.op for c in CASES]
    assert len({c.op for c in cases}) == len(cases)


def test_table_is_fixed_width_and_markdown_is_a_table():
    rows = [run_case(c, "cpu", "float64", trials=1) for c in CASES[:3]]
    text = format_table(rows).splitlines()
    assert text[0].split()[:3] == ["op", "device", "dtype"]
    assert len({line.index("float64") for line in text[2:]}) == 1   # columns align
    md = format_table(rows, markdown=True).splitlines()
    assert md[0].startswith("| op | device | dtype |") and md[1].startswith("| ---")
    assert all(line.count("|") == 8 for line in md)


def test_main_filters_ops_and_prints_markdown(capsys):
    assert main(["--ops", "softmax", "--device", "cpu", "--dtype", "float64",
                 "--trials", "2", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| softmax | cpu | float64 |" in out and "| log_softmax | cpu |" in out
    assert "sigmoid" not in out and "cuda" not in out.split("\n", 2)[2]
    assert main(["--ops", "no-such-op"]) == 2


def test_main_prints_a_row_for_every_op_device_and_dtype(capsys):
    assert main(["--trials", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for case in all_cases():
        for device in DEVICES:
            for dtype in DTYPES:
                assert any(line.startswith(case.op + " ") and f" {device} " in line
                           and f" {dtype} " in line for line in lines), \
                    (case.op, device, dtype)
    assert any(" 0 failed" in line for line in lines)


def test_python_m_cnnlib_crosscheck_runs():
    # The entry point itself, on one op (the test above covers every op in-process).
    proc = subprocess.run([sys.executable, "-m", "cnnlib.crosscheck", "--ops", "relu",
                           "--trials", "1"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("relu ")]
    assert len(rows) == 4 and all(r.endswith(("ok", "skipped: no CUDA device"))
                                  for r in rows), proc.stdout
