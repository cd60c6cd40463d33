"""The grader's command line (``python -m cnnlib.grade``; see the package's doc)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cnnlib.grade.report import csv_text, format_table, json_text, write_atomically
from cnnlib.grade.runner import grade

__all__ = ["main"]


def _user(name: str) -> tuple[int, int]:
    import pwd
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise argparse.ArgumentTypeError(f"no user named {name!r}") from None
    return entry.pw_uid, entry.pw_gid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnnlib.grade",
        description="Run every submitted notebook under SUBMISSIONS and report, per "
                    "student and exercise, PASS / FAIL / MISSING / TIMEOUT / ERROR. The "
                    "checks run in the grader, on what each student's kernel answers.")
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                        help="folder of notebooks named STUDENT/NN_name.ipynb or "
                             "STUDENT_NN_name.ipynb (NN: the chapter)")
    parser.add_argument("--timeout", type=float, default=120,
                        help="seconds allowed for each whole notebook, its checks "
                             "included (default 120)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="notebooks graded at once (default: the number of CPUs; "
                             "1 runs one student's code at a time)")
    parser.add_argument("--csv", type=Path, help="write one row per student and exercise")
    parser.add_argument("--json", type=Path, help="write everything as JSON")
    parser.add_argument("--executed", type=Path, metavar="DIR",
                        help="also save the executed notebooks under DIR, with the "
                             "grader's verdicts as the outputs of the check cells")
    parser.add_argument("--checks-package", default="cnnlib.checks",
                        help="where the chNN check modules live (default cnnlib.checks)")
    parser.add_argument("--seed", type=int,
                        help="seed of the checks' random cases (default: drawn afresh; "
                             "the JSON report records it, to repeat a run)")
    parser.add_argument("--user", type=_user, metavar="NAME",
                        help="run the students' kernels as this Unix user (the grader "
                             "must run as root): they can then neither signal the "
                             "grader nor read or change its files")
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    if args.timeout <= 0 or args.jobs < 1:
        parser.error("--timeout must be positive and --jobs at least 1")
    if args.user is not None and os.geteuid() != 0:
        parser.error("--user needs the grader to run as root")
    if args.user is None and hasattr(os, "geteuid") and os.geteuid() == 0:
        print("warning: grading as root without --user: the students' code runs as root",
              file=sys.stderr)
    for out in (args.csv, args.json):
        if out is not None and not out.parent.resolve().is_dir():
            parser.error(f"{out.parent} is not a folder")
    run = grade(args.submissions, args.timeout, args.jobs, args.checks_package,
                want_executed=args.executed is not None, user=args.user, seed=args.seed)
    # Every student process is gone by now: the files are written once, at the end.
    if not run.results:
        print(f"no notebooks found under {args.submissions}")
    else:
        print(format_table(run.results), end="")
    written = []
    if args.csv:
        written.append((args.csv, write_atomically(args.csv, csv_text(run.results))))
    if args.json:
        written.append((args.json, write_atomically(
            args.json, json_text(run.results, timeout=args.timeout, seed=run.seed))))
    if args.executed is not None:
        for name, text in run.executed.items():
            out = args.executed / name
            out.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(out, text)
    for path, digest in written:
        print(f"wrote {path} (sha256 {digest})", file=sys.stderr)
    return 0
