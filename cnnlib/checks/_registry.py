"""The registry of exercises: which checks exist, and which a notebook must pass.

Private to :mod:`cnnlib.checks` (its names are re-exported there). Every check decorated
with ``@exercise("N.k", title)`` is registered under (its module, its id); the grader
finds a notebook's exercises from the chapter number in its file name.
"""
from __future__ import annotations

import importlib
import os
import re
from typing import Any, Callable, NamedTuple

__all__ = ["ExerciseInfo", "register", "validate_id", "exercises_for_module",
           "chapter_of_notebook", "exercises_for_notebook"]


class ExerciseInfo(NamedTuple):
    id: str
    title: str
    module: str
    function: str


#: Every decorated check: (module name, exercise id) -> ExerciseInfo, and the check.
_REGISTRY: dict[tuple[str, str], ExerciseInfo] = {}
_CHECKS: dict[tuple[str, str], Callable[..., Any]] = {}

_ID = re.compile(r"^(\d+)\.(\d+)[a-z]?$")


def _id_key(exercise_id: str) -> tuple:
    m = _ID.match(exercise_id)
    return (int(m.group(1)), int(m.group(2)), exercise_id) if m else (10**9, 0, exercise_id)


def validate_id(exercise_id: str) -> None:
    if not isinstance(exercise_id, str) or not _ID.match(exercise_id):
        raise ValueError(f"exercise_id must look like '1.2', got {exercise_id!r}")


def register(exercise_id: str, title: str, check: Callable[..., Any]) -> None:
    """Record ``check`` as the check of exercise ``exercise_id`` of its module."""
    module = check.__module__
    m = re.search(r"(?:^|\.)ch(\d+)$", module)
    if m and int(m.group(1)) != int(exercise_id.split(".")[0]):
        raise ValueError(f"exercise {exercise_id} is registered in {module}, which "
                         f"belongs to chapter {int(m.group(1))}")
    key = (module, exercise_id)
    old = _REGISTRY.get(key)
    if old is not None and old.function != check.__qualname__:
        raise ValueError(f"exercise {exercise_id} is registered twice in {module}: "
                         f"{old.function} and {check.__qualname__}")
    _REGISTRY[key] = ExerciseInfo(exercise_id, title, module, check.__qualname__)
    _CHECKS[key] = check


def exercises_for_module(module: str) -> list[ExerciseInfo]:
    """The exercises registered by ``module`` (imported here), in id order."""
    importlib.import_module(module)
    found = [info for (mod, _), info in _REGISTRY.items() if mod == module]
    return sorted(found, key=lambda info: _id_key(info.id))


def chapter_of_notebook(path: str | os.PathLike) -> int | None:
    """The chapter number from a notebook's name: ``01_logistic.ipynb`` -> 1; also
    with a student's prefix, ``alice_01_logistic.ipynb`` -> 1. None if there is none."""
    m = re.match(r"^(?:.*?[_\-.])?(\d{2})_.*\.ipynb$", os.path.basename(os.fspath(path)))
    return int(m.group(1)) if m else None


def exercises_for_notebook(path: str | os.PathLike,
                           package: str = "cnnlib.checks") -> list[ExerciseInfo]:
    """The exercises a notebook ``NN_*.ipynb`` must pass: those of ``package.chNN``.
    Empty when the name has no chapter number or the chapter has no check module."""
    chapter = chapter_of_notebook(path)
    if chapter is None:
        return []
    module = f"{package}.ch{chapter:02d}"
    try:
        return exercises_for_module(module)
    except ModuleNotFoundError as exc:
        if exc.name in (module, package):
            return []
        raise
