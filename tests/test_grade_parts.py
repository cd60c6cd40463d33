"""The grader's parts that need no kernel: the data that crosses from a kernel (strictly
decoded), the reading of check calls in a notebook, the student's exceptions and
stand-ins as checks see them, killing a process tree, writing the grade files."""
import base64
import io
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from cnnlib.checks import StudentException
from cnnlib.grade import procs, wire
from cnnlib.grade.plan import CheckStep, CodeStep, plan
from cnnlib.grade.remote import RemoteFunction, RemoteObject, student_exception
from cnnlib.grade.report import write_atomically


# ---------------------------------------------------------------- wire
def roundtrip(x):
    return wire.loads(wire.dumps(x))


def test_data_crosses_unchanged():
    value = {"a": [1, 2.5, None, True, "s", b"\x00\xff", 1 + 2j, float("nan")],
             (1, "k"): (np.arange(6.0).reshape(2, 3), np.float32(1.5), np.int64(7)),
             "big": 16_000_000_000}
    back = roundtrip(value)
    assert back["a"][:7] == [1, 2.5, None, True, "s", b"\x00\xff", 1 + 2j]
    assert np.isnan(back["a"][7])
    arr, f32, i64 = back[(1, "k")]
    assert arr.dtype == np.float64 and np.array_equal(arr, np.arange(6.0).reshape(2, 3))
    assert type(f32) is np.float32 and type(i64) is np.int64 and back["big"] == 16 * 10**9
    assert isinstance(back[(1, "k")], tuple) and isinstance(back["a"], list)
    zero_d, fortran = roundtrip([np.array(0.5), np.asfortranarray(np.ones((2, 3)))])
    assert zero_d.shape == () and type(zero_d) is np.ndarray and fortran.shape == (2, 3)
    view = roundtrip(np.arange(10.0)[::3])
    assert np.array_equal(view, [0.0, 3.0, 6.0, 9.0])


def test_tensors_cross_as_tensors():
    torch = pytest.importorskip("torch")
    t = roundtrip(torch.arange(3.0, requires_grad=True) * 2)
    assert isinstance(t, torch.Tensor) and torch.equal(t, torch.tensor([0.0, 2.0, 4.0]))


def _npy(arr, allow_pickle=False) -> str:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize("message, says", [
    ({"nd": _npy(np.array([{"a": 1}], dtype=object), allow_pickle=True)},
     "not data"),
    ({"nd": _npy(np.zeros(2)).replace(_npy(np.zeros(2))[:8], _npy(np.zeros(2))[:8])[:-8]},
     "size"),
    ({"nd": "not base64!"}, "base64"),
    ({"pickle": "gASVAAAAAAAAAAA="}, "unknown kind"),
    ({"list": [1], "tuple": [2]}, "unexpected dict"),
    ([1, 2], "unexpected list"),
    ({"remote": {"id": 1}}, "unknown kind"),  # no stand-ins unless asked for
    ({"np": _npy(np.zeros(2))}, "shape ()"),
    ({"dict": [[{"list": []}, 1]]}, "hashed"),
], ids=["object-array", "short-data", "base64", "pickle", "two-tags", "raw-list",
        "remote", "scalar-shape", "unhashable-key"])
def test_hostile_messages_are_refused(message, says):
    with pytest.raises(wire.WireError, match=says):
        wire.decode(message)


def test_a_lying_array_header_is_refused_before_allocating():
    buf = io.BytesIO()
    np.save(buf, np.zeros(2))
    raw = buf.getvalue().replace(b"(2,)", b"(10000000000000,)".ljust(4), 1)
    with pytest.raises(wire.WireError):
        wire.decode({"nd": base64.b64encode(raw).decode()})


def test_nesting_and_size_are_limited():
    deep = {"list": []}
    node = deep
    for _ in range(wire.MAX_DEPTH + 5):
        node["list"].append({"list": []})
        node = node["list"][0]
    with pytest.raises(wire.WireError, match="deep"):
        wire.decode(deep)
    with pytest.raises(wire.WireError, match="larger than 100 bytes"):
        wire.loads(json.dumps("x" * 1000), max_bytes=100)
    with pytest.raises(wire.WireError):
        wire.loads("[" * 100_000)


def test_what_cannot_be_sent_says_so():
    with pytest.raises(wire.WireError, match="a object cannot be sent"):
        wire.encode(object())
    assert wire.encode(object(), fallback=lambda x: {"remote": {"id": 1}}) == \
        {"remote": {"id": 1}}


# ---------------------------------------------------------------- plan
def cell(source):
    return {"cell_type": "code", "source": source}


def test_check_calls_are_found_and_cells_split_around_them():
    cells = [{"cell_type": "markdown", "source": "check_a(f)"},
             cell("import x\ncheck_a(f)"),
             cell("y = 1; check_b(g, n=y + 1)\n@dec\ndef h():\n    pass\ncheck_a(h)"),
             cell("%precision 3\ncheck_b(v)"),
             cell("if True:\n    check_a(f)"),            # not at the top level
             cell("c = check_a\nc(f)\ncheck_a(*fs)"),      # an alias, starred arguments
             cell("check_a(f"),                           # not Python
             cell("other(f)")]
    steps = plan(cells, {"check_a", "check_b"})
    kinds = [(type(s).__name__, s.cell) for s in steps]
    assert kinds == [("CodeStep", 1), ("CheckStep", 1),
                     ("CodeStep", 2), ("CheckStep", 2), ("CodeStep", 2), ("CheckStep", 2),
                     ("CodeStep", 3), ("CheckStep", 3),
                     ("CodeStep", 4), ("CodeStep", 5), ("CodeStep", 6), ("CodeStep", 7)]
    assert steps[1] == CheckStep(1, "check_a", ["f"])
    assert steps[3] == CheckStep(2, "check_b", ["g"], {"n": "y + 1"})
    assert steps[2] == CodeStep(2, "y = 1")
    assert steps[4].source == "\n@dec\ndef h():\n    pass"  # line numbers kept
    assert steps[7] == CheckStep(3, "check_b", ["v"])
    assert "run_line_magic" in steps[6].source
    assert steps[8].source == "if True:\n    check_a(f)"


# ---------------------------------------------------------------- the student's side
def test_student_exceptions_are_also_the_builtin_they_name():
    exc = student_exception({"type": "ValueError", "message": "bad shape",
                             "description": "ValueError: bad shape\n    raised in f()"})
    assert isinstance(exc, ValueError) and isinstance(exc, StudentException)
    assert exc.description.endswith("raised in f()") and str(exc) == "bad shape"
    assert isinstance(student_exception({"type": "NotImplementedError"}), NotImplementedError)
    for weird in ({"type": "SystemExit"}, {"type": "UnicodeDecodeError"},
                  {"type": "no such thing!"}, "junk", {"type": "KeyboardInterrupt"}):
        exc = student_exception(weird)
        assert isinstance(exc, StudentException) and isinstance(exc, Exception)


def test_stand_ins_answer_python_without_asking_the_kernel():
    class NoKernel:
        def request(self, req):
            raise AssertionError(f"asked the kernel: {req}")

    f = RemoteFunction(NoKernel(), 1, {"name": "sigmoid", "qualname": "sigmoid",
                                       "module": "__main__", "type": "function"})
    assert f.__name__ == "sigmoid" and callable(f) and f.origin == "__main__.sigmoid"
    assert repr(f) == "<your function sigmoid>"
    import copy
    assert copy.deepcopy(f) is f
    for probe in (lambda: bool(f), lambda: f > 0.5, lambda: f + 1, lambda: float(f),
                  lambda: np.asarray(f, dtype=float)):
        with pytest.raises((TypeError, StudentException)):
            probe()
    with pytest.raises(StudentException, match="neither"):
        f * 2
    with pytest.raises(AttributeError):
        f.__array_interface__
    assert not callable(RemoteObject(NoKernel(), 2, {}))


# ---------------------------------------------------------------- processes
def test_kill_tree_kills_children_grandchildren_and_the_root():
    code = ("import subprocess, sys, time\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "ready"
    below = procs.descendants(proc.pid)
    assert len(below) == 1
    killed = procs.kill_tree(proc.pid, include_root=True)
    proc.stdout.close()
    proc.wait(timeout=10)
    assert set(killed) == {proc.pid, *below}
    time.sleep(0.2)
    assert all(procs.state(p) in (None, "Z") for p in killed)
    assert procs.exit_text(-9) == "killed by SIGKILL"
    assert procs.exit_text(3) == "exit code 3"


# ---------------------------------------------------------------- files
def test_grade_files_are_written_in_one_step(tmp_path):
    target = tmp_path / "grades.csv"
    target.write_text("old")
    digest = write_atomically(target, "new,text\n")
    assert target.read_text() == "new,text\n"
    import hashlib
    assert digest == hashlib.sha256(b"new,text\n").hexdigest()
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"]  # no temporary left
    assert oct(os.stat(target).st_mode & 0o777) == "0o644"
