"""The grader against a hostile student: every attack that once fooled it, as a
regression test (see tests/exercise_fixtures/hostile.py for the notebooks).

One run of ``python -m cnnlib.grade`` (two notebooks at a time) grades them together
with two honest classmates. Then: no attack earns a PASS it did not deserve, the
classmates' grades are intact, the grader exits normally and its files do not change
after it has exited, and no process that a notebook started is still running.
"""
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from cnnlib.grade import procs
from exercise_fixtures import ch99, hostile
from exercise_fixtures.notebooks import solution_notebook

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
TIMEOUT = 12       # seconds per notebook; an honest one needs about 1 (more when loaded)
MANY_CELLS = 50    # cells of 0.5 s each: 25 s in all, none of them long
SECRET = "instructors-secret-value-7d41"

FALSE_PASS_ATTACKS = ["env", "proc", "emit", "checks", "verdict", "helper", "lookup",
                      "daemon", "overwrite"]


def grader(args: list[str], timeout: float = 300, **env) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)]), **env}
    return subprocess.run([sys.executable, "-m", "cnnlib.grade", *args], env=environ,
                          capture_output=True, text=True, timeout=timeout)


def alive(pid: int) -> bool:
    return procs.state(pid) not in (None, "Z")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    subs = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("reports")
    pids = tmp_path_factory.mktemp("pids")
    scratch = tmp_path_factory.mktemp("tmp")  # the grader's temporary folders go here
    csv_path, json_path = out / "grades.csv", out / "grades.json"
    notebooks = {
        "env": hostile.env_key(pids), "proc": hostile.proc_environ(pids),
        "emit": hostile.emit(pids), "checks": hostile.replace_check(pids),
        "verdict": hostile.replace_verdict(pids), "helper": hostile.sabotage_helper(pids),
        "lookup": hostile.lookup(pids),
        "daemon": hostile.daemon(pids, [csv_path, json_path]),
        "overwrite": hostile.overwrite(pids, subs, "victor_99_fixture.ipynb"),
        "killer": hostile.kill_parent(pids),
        "slowpoke": hostile.many_cells(pids, MANY_CELLS, 0.5),
        "victor": solution_notebook(), "wendy": solution_notebook()}
    for student, nb in notebooks.items():
        nbformat.write(nb, subs / f"{student}_99_fixture.ipynb")
    proc = grader([str(subs), "--timeout", str(TIMEOUT), "--jobs", "2",
                   "--checks-package", "exercise_fixtures",
                   "--csv", str(csv_path), "--json", str(json_path)],
                  INSTRUCTOR_SECRET=SECRET, TMPDIR=str(scratch))
    digests = {p: digest(p) for p in (csv_path, json_path) if p.exists()}
    report = json.loads(json_path.read_text()) if json_path.exists() else None
    return dict(proc=proc, report=report, subs=subs, pids=pids, scratch=scratch,
                files=(csv_path, json_path), digests=digests,
                nb={n["student"]: n for n in (report or {}).get("notebooks", [])})


def statuses(attacked, student):
    return [e["status"] for e in attacked["nb"][student]["exercises"]]


def test_the_grader_survives_and_reports_every_notebook(attacked):
    proc = attacked["proc"]
    assert proc.returncode == 0, proc.stderr
    assert attacked["report"] is not None
    assert sorted(attacked["nb"]) == sorted(
        [*FALSE_PASS_ATTACKS, "killer", "slowpoke", "victor", "wendy"])
    assert "zoe" not in proc.stdout  # the classmate the overwrite attack made up


@pytest.mark.parametrize("student", FALSE_PASS_ATTACKS)
def test_no_attack_earns_a_pass(attacked, student):
    result = attacked["nb"][student]
    assert "PASS" not in statuses(attacked, student), result
    assert "grader error" not in result["error"]


def test_honest_classmates_keep_their_grades(attacked):
    for student in ("victor", "wendy"):
        assert statuses(attacked, student) == ["PASS", "PASS", "PASS"], attacked["nb"][student]


def test_a_classmates_notebook_overwritten_on_disk_is_graded_as_submitted(attacked):
    victim = attacked["subs"] / "victor_99_fixture.ipynb"
    assert (attacked["pids"] / "overwrite-done").read_text() == str(attacked["subs"])
    assert "NotImplementedError" in victim.read_text()  # the attack did happen
    assert statuses(attacked, "victor") == ["PASS", "PASS", "PASS"]


def test_killing_the_kernels_parent_loses_only_the_attackers_later_checks(attacked):
    killer = attacked["nb"]["killer"]
    assert statuses(attacked, "killer") == ["PASS", "ERROR", "ERROR"], killer
    assert "the grading of this notebook stopped" in killer["error"]
    assert "killed by SIGKILL" in killer["error"]
    assert any("graded again on its own" in n for n in killer["notes"])


def test_one_time_limit_for_the_whole_notebook(attacked):
    slowpoke = attacked["nb"]["slowpoke"]
    assert slowpoke["run"] == "timeout"
    assert statuses(attacked, "slowpoke") == ["PASS", "TIMEOUT", "TIMEOUT"]
    assert f"stopped after {TIMEOUT} s while cell" in slowpoke["error"]


def test_the_grade_files_do_not_change_after_the_grader_exits(attacked):
    time.sleep(1.5)  # the detached process rewrote the files every 0.05 s
    for path in attacked["files"]:
        assert "FORGED" not in path.read_text()
        assert digest(path) == attacked["digests"][path]


def test_nothing_a_notebook_started_is_still_running(attacked):
    pid_files = sorted(attacked["pids"].glob("*.pid"))
    names = {p.name for p in pid_files}
    assert {"daemon-daemon.pid", "killer-kernel.pid", "env-kernel.pid"} <= names
    for path in pid_files:
        assert not alive(int(path.read_text())), f"{path.name} is still running"


def test_no_kernel_folder_is_left_behind(attacked):
    assert list(attacked["scratch"].iterdir()) == []  # the killer's worker died, too


def test_the_kernel_gets_none_of_the_instructors_environment(attacked):
    seen = json.loads((attacked["pids"] / "env-environ.json").read_text())
    assert SECRET not in json.dumps(seen)
    assert "INSTRUCTOR_SECRET" not in seen and "CNNLIB_GRADE_KEY" not in seen


def test_the_lookup_table_works_in_the_notebook_but_not_under_the_grader(attacked, capsys):
    # the same answer, run in the notebook's way (the check's fixed cases): it passes
    namespace = {"np": __import__("numpy")}
    cell = next(c.source for c in hostile.lookup(attacked["pids"]).cells
                if c.source.startswith("_rng"))
    exec(cell, namespace)
    assert ch99.check_double(namespace["double"])
    capsys.readouterr()
    # under the grader the cases are drawn afresh: only the fixed case passes
    lookup = attacked["nb"]["lookup"]["exercises"][0]
    assert lookup["status"] == "FAIL" and lookup["cases_passed"] == 1


# ---------------------------------------------------------------- another user
def _can_run_as(user: str) -> str | None:
    """Why the kernels cannot run as ``user`` here (None if they can)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the grader runs kernels as another user only when it runs as root"
    import pwd
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return f"there is no user {user!r}"
    try:
        subprocess.run([sys.executable, "-c", "import numpy, ipykernel, cnnlib"],
                       user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], check=True,
                       capture_output=True, timeout=60, cwd="/",
                       env={"PYTHONPATH": str(ROOT), "HOME": "/tmp"})
    except (subprocess.CalledProcessError, PermissionError, OSError) as exc:
        return (f"user {user!r} cannot run this Python and cnnlib ({sys.executable}): "
                f"{type(exc).__name__}")
    return None


def test_as_another_user_a_kernel_cannot_touch_the_grader(tmp_path):
    why = _can_run_as("nobody")
    if why:
        pytest.skip(why)
    subs, pids = tmp_path / "subs", tmp_path / "pids"
    subs.mkdir()
    pids.mkdir(mode=0o777)
    os.chmod(pids, 0o777)  # the kernel, as nobody, reports here
    nbformat.write(hostile.as_other_user(pids), subs / "ursula_99_fixture.ipynb")
    nbformat.write(solution_notebook(), subs / "victor_99_fixture.ipynb")
    proc = grader([str(subs), "--timeout", "30", "--jobs", "2", "--user", "nobody",
                   "--checks-package", "exercise_fixtures", "--json", str(tmp_path / "g.json")])
    assert proc.returncode == 0, proc.stderr
    report = json.loads((pids / "user-report.json").read_text())
    import pwd
    assert report["uid"] == pwd.getpwnam("nobody").pw_uid
    assert report["killed"] == [] and report["refused"]  # every ancestor refused it
    grades = {n["student"]: n for n in json.loads((tmp_path / "g.json").read_text())["notebooks"]}
    assert [e["status"] for e in grades["victor"]["exercises"]] == ["PASS"] * 3
