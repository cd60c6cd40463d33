"""python -m cnnlib.grade on a folder of submissions of the example chapters 99 and 97: a
correct one, the generated student version, one that crashes, wrong answers, one that
kills its kernel, an endless loop, a forged record, a library function passed off as an
answer, a corrupt file, and notebooks whose checks call back into the grader, read a
model's attributes and see inputs changed in place.

All notebooks are graded in one run of the command (two at a time), shared by the
tests below. The attacks of a hostile student are in test_grade_attacks.py.
"""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cnnlib import grade
from exercise_fixtures.hostile import student_version
from exercise_fixtures.notebooks import remote_notebook, solution_notebook, variant

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
TIMEOUT = 30  # seconds per notebook; the fixture notebooks need 1 to 5 (torch), more when loaded

STUDENT_VERSION = student_version()


def run_grader(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    """The command, as an instructor runs it, with the fixture checks importable."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)])}
    return subprocess.run([sys.executable, "-m", "cnnlib.grade", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("reports")
    for folder, nb in [("alice", solution_notebook()), ("bob", STUDENT_VERSION)]:
        (subs / folder).mkdir()
        nbformat.write(nb, subs / folder / "99_fixture.ipynb")
    for student, kind in [("carol", "raises"), ("dave", "wrong"), ("dan", "dies"),
                          ("erin", "loops"), ("mallory", "forged"), ("libby", "library")]:
        nbformat.write(variant(kind), subs / f"{student}_99_fixture.ipynb")
    nbformat.write(remote_notebook(), subs / "rita_97_remote.ipynb")
    nbformat.write(remote_notebook(mutates=True), subs / "mona_97_remote.ipynb")
    (subs / "zed_99_fixture.ipynb").write_text('{"cells": [ this is not JSON')
    (subs / ".ipynb_checkpoints").mkdir()
    nbformat.write(solution_notebook(), subs / ".ipynb_checkpoints" / "x_99_fixture.ipynb")
    nbformat.write(solution_notebook(), subs / "frank_42_elsewhere.ipynb")  # no checks
    proc = run_grader([str(subs), "--timeout", str(TIMEOUT), "--jobs", "2",
                       "--checks-package", "exercise_fixtures",
                       "--csv", str(out / "g.csv"), "--json", str(out / "g.json"),
                       "--executed", str(out / "executed")])
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "g.json").read_text())
    by_student = {nb["student"]: nb for nb in report["notebooks"]}
    return dict(proc=proc, report=report, nb=by_student, out=out)


def statuses(graded, student):
    return [e["status"] for e in graded["nb"][student]["exercises"]]


def test_grading_completes_and_skips_what_it_should(graded):
    assert sorted(graded["nb"]) == ["alice", "bob", "carol", "dan", "dave", "erin",
                                    "frank", "libby", "mallory", "mona", "rita", "zed"]
    frank = graded["nb"]["frank"]
    assert frank["run"] == "skipped"
    assert "no checks registered for chapter 42" in frank["error"]
    assert "Chapter 99" in graded["proc"].stdout and "Chapter 97" in graded["proc"].stdout
    assert isinstance(graded["report"]["seed"], int)


def test_correct_submission_passes_everything(graded):
    alice = graded["nb"]["alice"]
    assert alice["run"] == "ok" and alice["score"] == "3/3"
    assert statuses(graded, "alice") == ["PASS", "PASS", "PASS"]
    assert alice["exercises"][0]["cases_passed"] == 3 and alice["cell_errors"] == []
    assert alice["notes"] == []


def test_student_version_fails_cleanly_and_only_tagged_cells_raise(graded):
    bob = graded["nb"]["bob"]
    assert bob["run"] == "ok"
    assert statuses(graded, "bob") == ["FAIL", "FAIL", "FAIL"]
    assert all("not implemented yet" in e["detail"] for e in bob["exercises"])
    # nbval accepts the student version iff every cell that raised is tagged for it
    raised = {int(e.split(":")[0].split()[1]) for e in bob["cell_errors"]}
    assert raised, "the stubs should raise somewhere"
    tagged = {i for i, c in enumerate(STUDENT_VERSION.cells)
              if "raises-exception" in c.metadata.get("tags", [])}
    assert raised <= tagged
    # the executed copy shows the grader's verdict under the check cell
    executed = nbformat.read(graded["out"] / "executed" / "bob" / "99_fixture.ipynb", 4)
    check_cell = next(c for c in executed.cells if c.source == "check_double(double)")
    assert [o.output_type for o in check_cell.outputs] == ["display_data"]
    assert check_cell.outputs[0].data["text/plain"].startswith("⏳ Exercise 99.1")


def test_a_crash_at_top_level_does_not_stop_the_later_checks(graded):
    assert statuses(graded, "carol") == ["PASS", "PASS", "PASS"]
    assert graded["nb"]["carol"]["cell_errors"] == [
        "cell 5: RuntimeError: a student crashed here"]


def test_wrong_answers_fail_with_the_reason_and_the_students_line(graded):
    dave = graded["nb"]["dave"]
    assert statuses(graded, "dave") == ["FAIL", "FAIL", "PASS"]
    assert "case 'a number' failed" in dave["exercises"][0]["detail"]
    norm = dave["exercises"][1]
    assert norm["cases_passed"] == 0
    assert "it raised ZeroDivisionError: division by zero" in norm["detail"]
    assert "in norm(), line 2 of the cell: return 1 / 0" in norm["detail"]


def test_a_dead_kernel_is_an_error_for_the_checks_it_did_not_reach(graded):
    dan = graded["nb"]["dan"]
    assert dan["run"] == "error" and dan["error"] == "the kernel died in cell 5"
    assert statuses(graded, "dan") == ["PASS", "ERROR", "ERROR"]
    assert not dan["disturbed"]  # it exited by itself (code 3): not graded again


def test_an_endless_loop_times_out_without_hanging_the_grader(graded):
    erin = graded["nb"]["erin"]
    assert erin["run"] == "timeout"
    assert statuses(graded, "erin") == ["PASS", "TIMEOUT", "TIMEOUT"]
    assert f"stopped after {TIMEOUT} s while cell 5 was running" in \
        erin["exercises"][1]["detail"]
    # (the grading command itself runs under a time limit: a grader that hung would fail
    # the fixture)


def test_forged_records_do_not_count_and_are_noted(graded):
    mallory = graded["nb"]["mallory"]
    assert statuses(graded, "mallory") == ["PASS", "MISSING", "PASS"]
    assert any("check result(s) of its own" in n for n in mallory["notes"])


def test_a_library_function_passed_off_as_an_answer_is_flagged(graded):
    assert statuses(graded, "libby") == ["PASS", "PASS", "PASS"]
    assert graded["nb"]["libby"]["notes"] == [
        "exercise 99.2 was checked on numpy.linalg.norm, a library function"]


def test_a_corrupt_file_is_an_error(graded):
    zed = graded["nb"]["zed"]
    assert zed["run"] == "unreadable" and "not a readable notebook" in zed["error"]
    assert statuses(graded, "zed") == ["ERROR", "ERROR", "ERROR"]


def test_checks_reach_the_students_objects_through_the_kernel(graded):
    # 97.1 calls back the check's own function, 97.2 checks that the input is left
    # alone, 97.3 reads a method and an attribute of a model, 97.4 indexes an object,
    # gets a tensor and sees NumPy's overflow warning.
    rita = graded["nb"]["rita"]
    assert statuses(graded, "rita") == ["PASS", "PASS", "PASS", "FAIL"], rita
    assert "NumPy warned: overflow encountered in exp" in rita["exercises"][3]["detail"]
    mona = graded["nb"]["mona"]
    assert statuses(graded, "mona")[1] == "FAIL"
    assert "changed its input in place" in mona["exercises"][1]["detail"]


def test_csv_has_one_row_per_student_and_exercise(graded):
    with open(graded["out"] / "g.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 9 * 3 + 2 * 4 + 1  # frank's notebook gets one row
    alice = [r for r in rows if r["student"] == "alice"]
    assert [(r["exercise"], r["status"]) for r in alice] == [
        ("99.1", "PASS"), ("99.2", "PASS"), ("99.3", "PASS")]
    assert alice[0]["notebook"] == "alice/99_fixture.ipynb" and alice[0]["chapter"] == "99"


def test_the_digests_printed_match_the_files(graded):
    import hashlib
    for name in ("g.csv", "g.json"):
        digest = hashlib.sha256((graded["out"] / name).read_bytes()).hexdigest()
        assert f"{name} (sha256 {digest})" in graded["proc"].stderr


# ---------------------------------------------------------------- without kernels
def test_find_submissions_names_students_and_chapters(tmp_path):
    for name in ["alice/01_logistic.ipynb", "alice/sub/03_x.ipynb",
                 "bob_01_logistic.ipynb", "carol-smith_02_y.ipynb", "03_z.ipynb",
                 "notes.ipynb", ".hidden/01_a.ipynb",
                 "alice/.ipynb_checkpoints/01_a.ipynb"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    found = [(s.path.relative_to(tmp_path).as_posix(), s.student, s.chapter)
             for s in grade.find_submissions(tmp_path)]
    assert found == [("03_z.ipynb", "03_z", 3),
                     ("alice/01_logistic.ipynb", "alice", 1),
                     ("alice/sub/03_x.ipynb", "alice", 3),
                     ("bob_01_logistic.ipynb", "bob", 1),
                     ("carol-smith_02_y.ipynb", "carol-smith", 2),
                     ("notes.ipynb", "notes", None)]


def test_table_format():
    r = grade.NotebookResult("ann", "ann/01_a.ipynb", 1, exercises=[
        grade.ExerciseResult("1.1", "t", "PASS"), grade.ExerciseResult("1.2", "u", "FAIL")],
        notes=["a note"])
    assert grade.format_table([r]) == (
        "Chapter 1\n"
        "student  notebook        1.1   1.2   score\n"
        "-------  --------------  ----  ----  -----\n"
        "ann      ann/01_a.ipynb  PASS  FAIL  1/2\n"
        "\n"
        "Notes\n"
        "  ann/01_a.ipynb: a note\n")


def test_command_line_usage_errors(tmp_path):
    proc = run_grader([str(tmp_path / "nope")])
    assert proc.returncode == 2 and "is not a folder" in proc.stderr
    proc = run_grader([str(tmp_path)])
    assert proc.returncode == 0 and "no notebooks found" in proc.stdout
    proc = run_grader([str(tmp_path), "--user", "no-such-user-here"])
    assert proc.returncode == 2 and "no user named" in proc.stderr
