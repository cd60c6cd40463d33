"""The student-check framework (cnnlib.checks): verdicts, the feedback on wrong values,
the random cases, the registry.

The checks used here live in tests/exercise_fixtures: ch99 is a well-behaved example
chapter, ch98 holds checks with deliberate bugs.
"""
import numpy as np
import pytest

from cnnlib.checks import (Case, CheckResult, Verdict, chapter_of_notebook, check_function,
                           check_rng, exercise, exercises_for_notebook, grading_seed,
                           run_check, verdict)
from cnnlib.checks._compare import compare, short
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
    assert ("wrong shape: expected shape (3, 4), got shape (4, 3) (it is the transpose of "
            "the expected result: swap the axes, or .T)") in out
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


def test_run_check_returns_the_verdict_and_text_without_printing(capsys):
    info = next(i for i in exercises_for_notebook("x_99_y.ipynb", "exercise_fixtures")
                if i.id == "99.1")
    v, text = run_check(info, (lambda x: 3 * x,), {})
    assert v.status == "fail" and v.cases_passed == 0 and v.cases_total == 3
    assert text.startswith("❌ Exercise 99.1 (Doubling): case 'a number' failed")
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------- random cases
def test_check_rng_is_fixed_in_the_notebook_and_fresh_under_the_grader():
    a, b = check_rng(5).normal(size=3), check_rng(5).normal(size=3)
    assert np.array_equal(a, b) and np.array_equal(a, np.random.default_rng(5).normal(size=3))
    with grading_seed(123):
        c, d = check_rng(5).normal(size=3), check_rng(5).normal(size=3)
    with grading_seed(124):
        e = check_rng(5).normal(size=3)
    assert np.array_equal(c, d)              # one run: the same cases for every call
    assert not np.array_equal(a, c) and not np.array_equal(c, e)  # runs differ
    assert np.array_equal(check_rng(5).normal(size=3), a)  # and the notebook is back


# ---------------------------------------------------------------- feedback
def test_small_arrays_are_shown_by_value_in_the_call():
    assert short(np.arange(7.0)) == "[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]"
    assert short(np.arange(6).reshape(2, 3)) == "[[0, 1, 2], [3, 4, 5]]"
    assert short(np.ones(3, np.float32)) == "[1.0, 1.0, 1.0] (float32)"
    assert short(np.array([[0.123456, -2.5], [1e-9, np.nan]])) == "[[0.12346, -2.5], [1e-09, nan]]"
    assert short(np.zeros(21)) == "<array of shape (21,), float64>"


def _cause(got, expected, rtol=1e-6, atol=1e-8):
    msg = compare(np.asarray(got), np.asarray(expected), rtol, atol)
    assert msg is not None
    return msg


EXPECTED = np.array([0.5, -1.25, 2.0, 0.75, -3.0, 1.5])


@pytest.mark.parametrize("got, says", [
    (-EXPECTED, "wrong sign: your result is the negative of the expected one"),
    (EXPECTED * 6, "6 times the expected one: a division by 6 is missing"),
    (EXPECTED / 4, "1/4 of the expected one: a division by 4 too many"),
    (EXPECTED * 0.37, "the expected one times 0.37 everywhere"),
    (np.r_[EXPECTED[1:], 9.0], "shifted one place towards the start"),
    (np.r_[9.0, EXPECTED[:-1]], "shifted one place towards the end"),
    (EXPECTED[::-1], "reversed"),
    (np.r_[EXPECTED[:-1], 0.0], "every value is right except the last"),
    (EXPECTED.astype(np.int64), "whole numbers (dtype int64) where the expected values "
                                "have fractions"),
], ids=["sign", "factor", "divided", "scale", "shift-left", "shift-right", "flipped",
        "last", "dtype"])
def test_common_mistakes_get_their_own_hint(got, says):
    msg = _cause(got, EXPECTED)
    assert "Likely cause: " in msg and says in msg


def test_a_different_mistake_gets_a_different_hint():
    sign, off_by_one = _cause(-EXPECTED, EXPECTED), _cause(EXPECTED[:-1], EXPECTED)
    assert "wrong sign" in sign and "wrong sign" not in off_by_one
    assert "one value too few: an off-by-one in a range or a size" in off_by_one
    assert "The values you have are right; the last one is missing" in off_by_one
    assert "one value too many" in _cause(np.r_[EXPECTED, 1.0], EXPECTED)
    assert "the first one is missing" in _cause(EXPECTED[1:], EXPECTED)


def test_transposes_and_float32_precision_are_named():
    m = np.arange(6.0).reshape(2, 3) + 0.5
    assert "(it is the transpose of the expected result" in _cause(m.T, m)
    square = np.arange(9.0).reshape(3, 3)
    assert "the transpose of the expected one" in _cause(square.T, square)
    x = np.array([1 / 3, 2 / 3, 1.1])
    msg = _cause(x.astype(np.float32), x, rtol=1e-12, atol=0)
    assert "your result is float32 and agrees only to about 6 digits" in msg


def test_no_hint_when_nothing_simple_explains_the_difference():
    got = EXPECTED + np.array([0.1, -0.3, 0.2, 0.0, 0.5, -0.1])
    assert "Likely cause" not in _cause(got, EXPECTED)
    assert "Likely cause" not in _cause(7.0, 3.0)  # one number: no guess at a factor


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
