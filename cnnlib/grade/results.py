"""What grading finds: per notebook, and per exercise in it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Submission", "ExerciseResult", "NotebookResult", "STATUSES"]

#: The statuses of an exercise (see the grader's documentation).
STATUSES = ("PASS", "FAIL", "MISSING", "TIMEOUT", "ERROR")


@dataclass
class Submission:
    path: Path
    student: str
    chapter: int | None


@dataclass
class ExerciseResult:
    id: str
    title: str
    status: str  # one of STATUSES
    detail: str = ""
    cases_passed: int | None = None
    cases_total: int | None = None


@dataclass
class NotebookResult:
    student: str
    notebook: str
    chapter: int | None
    run: str = "ok"  # ok, timeout, error, unreadable, skipped
    error: str = ""
    seconds: float = 0.0
    exercises: list[ExerciseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cell_errors: list[str] = field(default_factory=list)  # "cell 5: NameError: ..."
    #: The run ended in a way another process may have caused (the kernel killed by a
    #: signal, stopped from outside, the worker lost): worth grading again alone.
    disturbed: bool = False

    @property
    def score(self) -> str:
        return f"{sum(e.status == 'PASS' for e in self.exercises)}/{len(self.exercises)}"

    @classmethod
    def from_dict(cls, data: dict) -> "NotebookResult":
        exercises = [ExerciseResult(**e) for e in data.get("exercises", [])]
        return cls(**{**{k: v for k, v in data.items() if k in cls.__dataclass_fields__},
                      "exercises": exercises})
