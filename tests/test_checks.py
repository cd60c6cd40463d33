"""The student-check framework (cnnlib.checks): verdicts, records, the registry.

The checks used here live in tests/exercise_fixtures: ch99 is a well-behaved example
chapter, ch98 holds checks with deliberate bugs.
"""
import json
import sys

import numpy as np
import pytest

from cnnlib.checks import (Case, CheckResult, Verdict, chapter_of_notebook, check_function,
                           exercise, exercises_for_notebook, verdict)
from cnnlib.checks import _record
from exercise_fixtures import ch98, ch99


def run(check, *args, capsys):
    """Call a check; return (result, printed text)."""
    result = check(*args)
    return result, capsys.readouterr().out


# ---------------------------------------------------------------- verdicts
def test_pass(capsys):
    result, out = run(ch99.check_double, lambda x: 2 * x, capsys=capsys)
    assert result and result == True  # noqa: E712  (it must compare like a bool)
    assert out.strip() == "✅ Exercise 99.1 (Doubling): all 3 cases passed"


def test_wrong_values_name_the_case_and_show_expected_and_got(capsys):
    result, out = run(ch99.check_double, lambda x: 3 * x, capsys=capsys)
    assert not result and result == False  # noqa: E712
    first = out.splitlines()[0]
    assert first == ("❌ Exercise 99.1 (Doubling): case 'a number' failed "
                     "(0 of 3 cases passed)")
    assert "call: <lambda>(3.0)" in out
    assert "expected: 6.0" in out and "got:      9.0" in out
    assert "the largest difference is 3" in out
    assert "Also failing: 'a vector', 'a matrix'" in out
    assert "Traceback" not in out


def test_shape_mismatch_shows_both_shapes_and_the_hint(capsys):
    def double(x):
        y = 2 * np.asarray(x)
        return y.T if y.ndim == 2 else y

    result, out = run(ch99.check_double, double, capsys=capsys)
    assert not result
    assert "case 'a matrix' failed (2 of 3 cases passed)" in out
    assert "wrong shape: expected shape (3, 4), got shape (4, 3) (transposed?)" in out
    assert "Hint: multiply every entry by two" in out


def test_not_implemented(capsys):
    def double(x):
        raise NotImplementedError("Exercise 99.1: replace this line with your code")

    result, out = run(ch99.check_double, double, capsys=capsys)
    assert not result
    assert out.strip() == ("⏳ Exercise 99.1 (Doubling): not implemented yet — replace "
                           "the `raise NotImplementedError` line with your code")


def test_not_implemented_in_an_earlier_exercise_is_named(capsys):
    def norm(v):
        raise NotImplementedError("Exercise 99.1: replace this line with your code")

    _, out = run(ch99.check_norm, norm, capsys=capsys)
    assert "uses your answer to Exercise 99.1" in out


def test_exception_in_student_code_shows_type_message_and_their_line(capsys):
    def norm(v):
        total = sum(v)
        return total / 0

    result, out = run(ch99.check_norm, norm, capsys=capsys)
    assert not result
    assert "case '3-4-5' failed" in out
    assert "it raised ZeroDivisionError: float division by zero" in out
    assert "in norm(), test_checks.py, line" in out and "return total / 0" in out
    assert "Traceback" not in out and "cnnlib/checks" not in out


def test_returning_none_and_non_arrays(capsys):
    _, out = run(ch99.check_double, lambda x: None, capsys=capsys)
    assert "your function returned None: did you forget a `return` statement?" in out
    _, out = run(ch99.check_double, lambda x: "six", capsys=capsys)
    assert "expected a number or a NumPy array, got a str: 'six'" in out


def test_nan_results_are_called_out(capsys):
    _, out = run(ch99.check_norm, lambda v: np.nan, capsys=capsys)
    assert "your result contains nan or inf" in out


def test_long_arrays_are_shortened(capsys):
    @exercise("97.1", "Long output")
    def check_long(fn):
        return check_function(fn, [Case("long", (np.arange(2000.0),),
                                        expected=lambda x: x)])

    _, out = run(check_long, lambda x: x + 1, capsys=capsys)
    assert "2000 of 2000 values differ" in out
    assert "..." in out and len(out) < 2000


def test_passing_a_value_instead_of_the_function(capsys):
    result, out = run(ch99.check_double, 6.0, capsys=capsys)
    assert not result
    assert "wants your function itself" in out and "6.0 of type float" in out


def test_calling_a_check_with_the_wrong_arguments(capsys):
    result, out = run(ch99.check_double, capsys=capsys)
    assert not result
    assert "call it as check_double(double)" in out


def test_input_changed_in_place_is_noted(capsys):
    def double(x):
        x *= 2
        return x

    result, out = run(ch99.check_double, double, capsys=capsys)
    assert result
    assert "note: your function changed its input array in place (case 'a vector')" in out


def test_tuples_compare_item_by_item_and_warnings_can_fail(capsys):
    result, _ = run(ch98.check_pair, lambda x: (x, 2 * x), capsys=capsys)
    assert result
    _, out = run(ch98.check_pair, lambda x: (x, 3 * x), capsys=capsys)
    assert "item [1]: wrong values" in out
    _, out = run(ch98.check_pair, lambda x: (x, 2 * x + 0 * np.exp(x)), capsys=capsys)
    assert "case 'no warnings allowed' failed" in out
    assert "NumPy warned:" in out and "overflow encountered in exp" in out
    _, out = run(ch98.check_pair, lambda x: [x], capsys=capsys)
    assert "expected 2 values, got 1" in out


def test_custom_condition(capsys):
    assert run(ch98.check_positive, lambda x: x + 1, capsys=capsys)[0]
    result, out = run(ch98.check_positive, lambda x: x, capsys=capsys)
    assert not result and "every value must be positive" in out


def test_verdict_checks(capsys):
    result, out = run(ch99.check_threshold, 0.8, capsys=capsys)
    assert result
    assert out.strip() == ("✅ Exercise 99.3 (A value above one half): value = 0.8 "
                           "(more than 0.5 needed)")
    result, out = run(ch99.check_threshold, 0.2, capsys=capsys)
    assert not result and out.startswith("❌ Exercise 99.3")


def test_check_that_calls_student_code_itself(capsys):
    assert run(ch98.check_training, lambda n: [3.0, 2.0, 1.0], capsys=capsys)[0]

    def train(epochs):
        raise ValueError("learning rate must be positive")

    result, out = run(ch98.check_training, train, capsys=capsys)
    assert not result
    assert "your code raised ValueError: learning rate must be positive" in out
    assert 'raise ValueError("learning rate must be positive")' in out

    def stub(epochs):
        raise NotImplementedError("Exercise 98.3: replace this line with your code")

    assert "not implemented yet" in run(ch98.check_training, stub, capsys=capsys)[1]


@pytest.mark.parametrize("check", [ch98.check_with_buggy_reference,
                                   ch98.check_with_buggy_body])
def test_a_bug_in_the_checker_is_reported_as_such(check, capsys):
    result, out = run(check, lambda x: x, capsys=capsys)
    assert not result
    assert out.startswith(f"⚠️ Exercise {check.exercise_id}")
    assert "the checker itself failed" in out and "not in your code" in out
    assert "Traceback" not in out


def test_pytorch_results_are_compared_as_arrays(capsys):
    torch = pytest.importorskip("torch")
    assert run(ch99.check_double, lambda x: torch.as_tensor(x) * 2, capsys=capsys)[0]


# ---------------------------------------------------------------- result and records
def test_check_result_looks_like_a_bool_and_adds_no_cell_output():
    assert repr(CheckResult(True)) == "True" and str(CheckResult(False)) == "False"
    assert CheckResult(True) == True and CheckResult(False) == False  # noqa: E712
    assert CheckResult(False)._ipython_display_() is None


def test_records_are_signed_only_when_grading(monkeypatch, capsys):
    monkeypatch.delenv(_record.KEY_ENV, raising=False)
    monkeypatch.setattr(_record, "_KEY", None)
    ch99.check_threshold(0.9)
    assert _record.TEXT_PREFIX not in capsys.readouterr().out

    monkeypatch.setenv(_record.KEY_ENV, "secret")
    ch99.check_double(lambda x: 3 * x)
    lines = capsys.readouterr().out.splitlines()
    record = json.loads(lines[-1][len(_record.TEXT_PREFIX):])
    assert record["exercise"] == "99.1" and record["status"] == "fail"
    assert record["module"] == "exercise_fixtures.ch99"
    assert record["cases_passed"] == 0 and record["cases_total"] == 3
    assert record["targets"] == ["test_checks.test_records_are_signed_only_when_grading."
                                 "<locals>.<lambda>"]
    assert _record.verify(record, "secret")
    assert not _record.verify(record, "another key")
    assert not _record.verify({**record, "status": "pass"}, "secret")
    assert not _record.verify({**record, "sig": None}, "secret")
    assert not _record.verify("not a record", "secret")


# ---------------------------------------------------------------- registry
def test_registry_maps_notebooks_to_their_exercises():
    infos = exercises_for_notebook("alice_99_fixture.ipynb", "exercise_fixtures")
    assert [(i.id, i.function) for i in infos] == [
        ("99.1", "check_double"), ("99.2", "check_norm"), ("99.3", "check_threshold")]
    assert infos[1].title == "Euclidean norm"
    assert exercises_for_notebook("42_nothing.ipynb", "exercise_fixtures") == []
    assert exercises_for_notebook("notes.ipynb", "exercise_fixtures") == []


@pytest.mark.parametrize("name, chapter", [
    ("01_logistic_regression.ipynb", 1), ("alice_01_logistic.ipynb", 1),
    ("bob-smith_12_conv.ipynb", 12), ("alice_2024_03_x.ipynb", 3),
    ("sub/dir/07_pooling.ipynb", 7), ("notes.ipynb", None), ("1_short.ipynb", None)])
def test_chapter_of_notebook(name, chapter):
    assert chapter_of_notebook(name) == chapter


def test_exercise_decorator_validates_ids():
    with pytest.raises(ValueError, match="must look like '1.2'"):
        exercise("one", "x")

    def check(fn):
        return verdict(True)

    check.__module__ = "somewhere.ch05"
    with pytest.raises(ValueError, match="belongs to chapter 5"):
        exercise("6.1", "x")(check)
    exercise("5.1", "x")(check)

    def other(fn):
        return verdict(True)

    other.__module__ = "somewhere.ch05"
    with pytest.raises(ValueError, match="registered twice"):
        exercise("5.1", "y")(other)


def test_a_check_returning_nonsense_is_a_checker_bug(capsys):
    @exercise("97.2", "Bad return")
    def check_bad(fn):
        return "yes"

    result, out = run(check_bad, abs, capsys=capsys)
    assert not result and "returned str, not a Verdict" in out


def test_verdict_object():
    assert Verdict("pass").passed and not Verdict("fail").passed and not Verdict("error")
    assert verdict(True, "fine") == Verdict("pass", "fine")
