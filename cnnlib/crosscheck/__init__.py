"""Cross-checks of cnnlib against PyTorch: the same inputs through both, compared.

Explained in the preface. Every NumPy op of cnnlib is run beside its PyTorch twin on
random inputs of random shapes: the forward outputs are compared, then one random
upstream gradient ``dout`` is pushed back through cnnlib's backward and through
PyTorch's autograd and every input gradient is compared. The error of one comparison
is the normalised maximum error

    err(a, b) = max |a - b| / max(max |b|, 1e-12)        (b = PyTorch's answer)

and a row passes when its worst error over all trials is within tolerance: 1e-10 in
float64 and a per-op tolerance in float32 (justified next to each case). A float32
input must also give float32 outputs and gradients.

Each sibling module (``core.py``, ``conv.py``, ...) defines a list ``CASES`` of
:class:`Case`; :func:`all_cases` collects them. ``python -m cnnlib.crosscheck`` prints
the table for every op on every device (``cpu`` always, ``cuda`` when PyTorch sees a
GPU) and exits with a non-zero status when a row fails.

This package imports torch; ``import cnnlib`` never imports it.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import pkgutil
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from cnnlib._validate import as_rng, check_positive_int

__all__ = ["Case", "CaseResult", "TOL64", "DEVICES", "DTYPES", "run_case", "assert_case",
           "available_devices", "device_skip_reason", "normalised_error", "all_cases",
           "select_cases", "run_all", "format_table", "main"]

TOL64 = 1e-10
"""float64 tolerance: about 5e5 units of float64 rounding (1.1e-16), far more than
any of these short computations accumulate, and far less than any real bug gives."""
DEVICES = ("cpu", "cuda")
DTYPES = ("float64", "float32")
_FLOOR = 1e-12          # denominator floor of the normalised error (all-zero outputs)


@dataclass(frozen=True)
class Case:
    """One op to cross-check.

    op : row label in the table, e.g. "sigmoid", "conv2d (fast)".
    make : rng -> (inputs, extras, kwargs). inputs: the differentiable arrays by name
        (float64; cast to the dtype under test); extras: non-differentiable arrays
        (targets, class indices: floats are cast to the dtype under test, integers
        become int64); kwargs: plain Python options (stride, dim, reduction, ...).
        Draw random shapes too, so that each trial tests a new configuration.
    numpy_fn : (inputs, extras, kwargs) -> (out, backward) with backward(dout) ->
        {input name: gradient}, computed by cnnlib. The output and every gradient
        must have the dtype of the inputs (a float32 row fails on a float64 result).
    torch_fn : (input tensors requiring grad, extra tensors, kwargs) -> output tensor.
    tol32 : float32 tolerance of the normalised error (justify it where it is set).
    """

    op: str
    make: Callable[[np.random.Generator], tuple[dict, dict, dict]]
    numpy_fn: Callable[[dict, dict, dict], tuple[np.ndarray, Callable[[np.ndarray], dict]]]
    torch_fn: Callable[[dict, dict, dict], "torch.Tensor"]
    tol32: float = 1e-4


@dataclass(frozen=True)
class CaseResult:
    """One row of the table. ``ok`` is None when the row was skipped (``note`` says
    why); otherwise ``note`` describes the worst trial (shapes and options) or the
    error that made the row fail."""

    op: str
    device: str
    dtype: str
    fwd_err: float
    grad_err: float
    ok: bool | None
    tol: float = TOL64
    note: str = ""
    seconds: float = field(default=0.0, compare=False)

    @property
    def skipped(self) -> bool:
        return self.ok is None

    @property
    def failed(self) -> bool:
        return self.ok is False


# ------------------------------------------------------------------------ devices
def available_devices() -> list[str]:
    """The devices this machine can cross-check on: ``["cpu"]`` plus ``"cuda"`` when
    PyTorch sees a GPU."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def device_skip_reason(device: str) -> str | None:
    """Why ``device`` cannot be tested here, or None when it can."""
    if device == "cuda" and not torch.cuda.is_available():
        return "skipped: no CUDA device"
    if device not in DEVICES:
        return f"skipped: unknown device {device!r} (use one of {list(DEVICES)})"
    return None


@contextlib.contextmanager
def _strict_float32() -> Iterator[None]:
    """Turn TF32 off for the duration: on Ampere and later GPUs PyTorch may otherwise
    run float32 matrix products and convolutions with 10-bit mantissas (errors near
    1e-3), which would be measuring the hardware shortcut, not cnnlib."""
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


# --------------------------------------------------------------------- comparing
def _dtype_name(dtype) -> str:
    """'float64' or 'float32' from a string, a NumPy dtype or type, or a torch dtype."""
    if isinstance(dtype, torch.dtype):
        name = str(dtype).replace("torch.", "")
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = repr(dtype)
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {list(DTYPES)}, got {dtype!r}")
    return name


def _cast_inputs(arrays: dict, dtype: np.dtype, *, keep_ints: bool) -> dict:
    out = {}
    for name, value in arrays.items():
        a = np.asarray(value)
        if keep_ints and (np.issubdtype(a.dtype, np.integer) or a.dtype == bool):
            out[name] = a.astype(np.int64)
        else:
            out[name] = a.astype(dtype)
    return out


def normalised_error(a, b) -> float:
    """``max|a - b| / max(max|b|, 1e-12)`` in float64 (``b`` is the reference)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: cnnlib gave {a.shape}, PyTorch gave {b.shape}")
    if a.size == 0:
        return 0.0
    err = float(np.max(np.abs(a - b)))
    if math.isnan(err):
        return math.inf
    return err / max(float(np.max(np.abs(b))), _FLOOR)


def _describe(inputs: dict, extras: dict, kwargs: dict) -> str:
    parts = [f"{k}{tuple(np.shape(v))}" for k, v in {**inputs, **extras}.items()]
    parts += [f"{k}={v!r}" for k, v in kwargs.items()]
    return ", ".join(parts)


class _TrialError(AssertionError):
    """A trial that could not be compared (an exception, a wrong dtype or shape)."""


def _one_trial(case: Case, device: str, dtype: np.dtype,
               rng: np.random.Generator) -> tuple[float, float, str]:
    """Run one random configuration; returns (forward error, gradient error, shapes).
    Raises _TrialError, naming the shapes, when the two sides cannot be compared."""
    try:
        inputs64, extras, kwargs = case.make(rng)
    except Exception as exc:
        raise _TrialError(f"{type(exc).__name__} while drawing inputs: {exc}") from exc
    inputs = _cast_inputs(inputs64, dtype, keep_ints=False)
    extras = _cast_inputs(extras, dtype, keep_ints=True)
    where = _describe(inputs, extras, kwargs)
    try:
        return _compare(case, device, dtype, rng, inputs, extras, kwargs) + (where,)
    except Exception as exc:
        raise _TrialError(f"{type(exc).__name__}: {exc} ({where})") from exc


def _compare(case, device, dtype, rng, inputs, extras, kwargs) -> tuple[float, float]:
    # Forward on both sides; cnnlib gets copies, so an op that writes into its
    # input cannot change what PyTorch sees.
    out, backward = case.numpy_fn({k: v.copy() for k, v in inputs.items()},
                                  {k: v.copy() for k, v in extras.items()}, kwargs)
    out = np.asarray(out)
    tdtype = getattr(torch, dtype.name)
    t_in = {k: torch.tensor(v, dtype=tdtype, device=device, requires_grad=True)
            for k, v in inputs.items()}
    t_ex = {k: torch.tensor(v, device=device) for k, v in extras.items()}
    t_out = case.torch_fn(t_in, t_ex, kwargs)
    if out.dtype != dtype:
        raise TypeError(f"cnnlib's output is {out.dtype} for {dtype.name} inputs")
    fwd = normalised_error(out, t_out.detach().cpu().numpy())

    # Backward: one random upstream gradient through both.
    dout = rng.standard_normal(out.shape).astype(dtype)
    grads = backward(dout.copy())
    t_out.backward(torch.tensor(dout, dtype=tdtype, device=device))
    grad = 0.0
    for name, tensor in t_in.items():
        if grads.get(name) is None:
            raise KeyError(f"cnnlib's backward returned no gradient for {name!r}")
        g = np.asarray(grads[name])
        if g.dtype != dtype:
            raise TypeError(f"cnnlib's gradient for {name!r} is {g.dtype} for "
                            f"{dtype.name} inputs")
        ref = tensor.grad if tensor.grad is not None else torch.zeros_like(tensor)
        try:
            grad = max(grad, normalised_error(g, ref.cpu().numpy()))
        except ValueError as exc:
            raise ValueError(f"gradient of {name!r}: {exc}") from None
    return fwd, grad


def run_case(case: Case, device: str = "cpu", dtype="float64", trials: int = 3,
             rng: np.random.Generator | int | None = 0) -> CaseResult:
    """Cross-check ``case`` on ``device`` in ``dtype`` over ``trials`` random draws.

    Returns a :class:`CaseResult` with the worst forward and gradient errors; never
    raises for a failing op (the row says FAIL and ``note`` says why). A device that
    is not available gives a skipped row.
    """
    trials = check_positive_int(trials, "trials")
    name = _dtype_name(dtype)
    tol = TOL64 if name == "float64" else case.tol32
    reason = device_skip_reason(device)
    if reason is not None:
        return CaseResult(case.op, device, name, math.nan, math.nan, None, tol, reason)
    rng = as_rng(rng)
    np_dtype = np.dtype(name)
    worst_fwd = worst_grad = 0.0
    worst_where = ""
    start = time.perf_counter()
    with _strict_float32():
        for _ in range(trials):
            try:
                fwd, grad, where = _one_trial(case, device, np_dtype, rng)
            except _TrialError as exc:        # a broken op is a failed row, not a crash
                return CaseResult(case.op, device, name, math.nan, math.nan, False, tol,
                                  str(exc), time.perf_counter() - start)
            if max(fwd, grad) >= max(worst_fwd, worst_grad) or not worst_where:
                worst_where = where
            worst_fwd, worst_grad = max(worst_fwd, fwd), max(worst_grad, grad)
    ok = worst_fwd <= tol and worst_grad <= tol
    return CaseResult(case.op, device, name, worst_fwd, worst_grad, ok, tol,
                      f"worst trial: {worst_where}", time.perf_counter() - start)


def assert_case(case: Case, device: str = "cpu", dtype="float64", trials: int = 5,
                rng: np.random.Generator | int | None = 0) -> CaseResult:
    """:func:`run_case` for tests: raise ``AssertionError`` naming the op, the worst
    error and the shapes when the row fails. An unavailable device calls
    ``pytest.skip`` (when running under pytest) or raises ``RuntimeError``."""
    result = run_case(case, device, dtype, trials, rng)
    if result.skipped:
        if "pytest" in sys.modules:
            import pytest
            pytest.skip(f"{case.op} on {device}: {result.note}")
        raise RuntimeError(f"{case.op} on {device}: {result.note}")
    if result.failed:
        raise AssertionError(
            f"{case.op} on {device} in {result.dtype}: forward error "
            f"{result.fwd_err:.3g}, gradient error {result.grad_err:.3g} (tolerance "
            f"{result.tol:.0e}); {result.note}")
    return result


# ------------------------------------------------------------------- collecting
def all_cases() -> list[Case]:
    """``CASES`` from every module of this package, ``core`` first, then the others
    alphabetically. Raises ``ValueError`` if two cases share an op name."""
    names = sorted((m.name for m in pkgutil.iter_modules(__path__)
                    if not m.name.startswith("_")),
                   key=lambda n: (n != "core", n))
    cases: list[Case] = []
    for name in names:
        module = importlib.import_module(f"{__name__}.{name}")
        cases.extend(getattr(module, "CASES", []))
    seen: set[str] = set()
    for case in cases:
        if case.op in seen:
            raise ValueError(f"two cross-check cases are both called {case.op!r}")
        seen.add(case.op)
    return cases


def select_cases(ops: str | Sequence[str] | None = None) -> list[Case]:
    """The cases whose op name contains one of the words in ``ops`` (a list, or one
    comma-separated string; case-insensitive); all of them when ``ops`` is empty."""
    if isinstance(ops, str):
        ops = ops.split(",")
    words = [w.strip().lower() for w in (ops or []) if w.strip()]
    cases = all_cases()
    return [c for c in cases if not words or any(w in c.op.lower() for w in words)]


def run_all(trials: int = 3, devices: Sequence[str] = DEVICES,
            dtypes: Sequence[str] = DTYPES, ops: str | Sequence[str] | None = None,
            seed: int = 0) -> list[CaseResult]:
    """Every selected case on every device and dtype: the rows of the table.

    The same seed serves every device and dtype of an op, so the cpu and cuda rows
    see the same random configurations. In a notebook,
    ``Markdown(format_table(run_all(), markdown=True))`` shows the table.
    """
    return [run_case(case, device, dtype, trials, seed)
            for case in select_cases(ops) for device in devices for dtype in dtypes]


# -------------------------------------------------------------------- printing
def _fmt_err(x: float) -> str:
    if math.isnan(x):
        return "-"
    return "0" if x == 0 else f"{x:.1e}"


def _ok_text(r: CaseResult, *, markdown: bool = False) -> str:
    if r.skipped:
        return r.note
    if r.ok:
        return "ok"
    return "**FAIL**" if markdown else "FAIL"


def format_table(results: Sequence[CaseResult], *, markdown: bool = False) -> str:
    """The results as a fixed-width text table, or as a Markdown table."""
    header = ("op", "device", "dtype", "forward error", "gradient error", "tolerance",
              "ok")
    rows = [(r.op, r.device, r.dtype, _fmt_err(r.fwd_err), _fmt_err(r.grad_err),
             f"{r.tol:.0e}", _ok_text(r, markdown=markdown)) for r in results]
    if markdown:
        lines = ["| " + " | ".join(header) + " |",
                 "| " + " | ".join(["---"] * 3 + ["---:"] * 3 + ["---"]) + " |"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    right = {3, 4, 5}                       # numbers line up on the right

    def line(cells) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule] + [line(r) for r in rows])


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m cnnlib.crosscheck",
        description="Cross-check every cnnlib op against PyTorch: forward outputs and "
                    "gradients on random inputs, on every device and dtype.")
    p.add_argument("--trials", type=int, default=3,
                   help="random configurations per row (default 3)")
    p.add_argument("--device", choices=[*DEVICES, "all"], default="all",
                   help="device to test (default: all; cuda rows are skipped without "
                        "a GPU)")
    p.add_argument("--dtype", choices=[*DTYPES, "all"], default="all",
                   help="dtype to test (default: all)")
    p.add_argument("--ops", default="",
                   help="comma-separated filter: keep ops whose name contains one of "
                        "these words, e.g. --ops softmax,conv")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--markdown", action="store_true",
                   help="print a Markdown table (for the book's preface)")
    p.add_argument("--verbose", action="store_true",
                   help="also print each row's worst configuration")
    args = p.parse_args(argv)
    if args.trials < 1:
        p.error("--trials must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Print the cross-check table; return 0 when every row passed (or was skipped)."""
    args = _parse(argv)
    if not select_cases(args.ops):
        print(f"no op matches --ops {args.ops!r}; ops are: "
              f"{', '.join(c.op for c in all_cases())}", file=sys.stderr)
        return 2
    devices = DEVICES if args.device == "all" else (args.device,)
    dtypes = DTYPES if args.dtype == "all" else (args.dtype,)
    start = time.perf_counter()
    results = run_all(args.trials, devices, dtypes, args.ops, args.seed)
    elapsed = time.perf_counter() - start

    gpu = (f"CUDA device: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available()
           else "no CUDA device")
    versions = f"PyTorch {torch.__version__}, NumPy {np.__version__}, {gpu}"
    failed = [r for r in results if r.failed]
    verdict = (f"{len(results)} rows, {len(failed)} failed, "
               f"{sum(r.skipped for r in results)} skipped, {elapsed:.1f} s")
    if args.markdown:
        print(f"cnnlib versus PyTorch ({versions}): the worst normalised error "
              f"`max|a - b| / max|b|` over {args.trials} random configurations per "
              f"row.\n")
    else:
        print(f"cnnlib versus PyTorch ({versions})\nworst normalised error "
              f"max|a - b| / max|b| over {args.trials} random configurations per "
              f"row\n")
    print(format_table(results, markdown=args.markdown))
    print()
    print(verdict)
    bullet = "- " if args.markdown else "  "
    for r in results:
        if r.failed or (args.verbose and not r.skipped):
            print(f"{bullet}{r.op} [{r.device}, {r.dtype}]: {r.note}")
    return 1 if failed else 0
