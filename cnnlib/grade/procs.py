"""Processes: keeping the grader out of the students' reach, and killing what they start.

On Linux the grader's processes make themselves *non-dumpable* (``prctl``), so that code
running as the same (non-root) user cannot read their memory, environment or open files
under ``/proc``, nor attach a debugger; and *child subreapers*, so that a process a
student's kernel detaches (double fork, ``setsid``) is re-parented to the grader rather
than to init, and can be found and killed. Elsewhere these are no-ops and only the
kernel's process group is killed.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import time

__all__ = ["harden", "set_subreaper", "children", "descendants", "state", "kill_tree",
           "kill_group", "reap", "exit_text"]

_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def harden(on: bool = True) -> bool:
    """Make this process non-dumpable (``on``) or dumpable again."""
    return _prctl(_PR_SET_DUMPABLE, 0 if on else 1)


def set_subreaper(on: bool = True) -> bool:
    """Make orphaned descendants of this process its children (Linux)."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1 if on else 0)


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state letter, parent pid, process group) of ``pid`` from /proc, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # the name may hold spaces and parens
    return (fields[0], int(fields[1]), int(fields[2])) if len(fields) > 2 else None


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux; empty elsewhere)."""
    if not os.path.isdir("/proc"):
        return []
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None and st[1] == pid:
                found.append(int(entry))
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` in the process tree."""
    if not os.path.isdir("/proc"):
        return []
    parent_of = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                parent_of[int(entry)] = st[1]
    found, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, par in parent_of.items() if par == p and c not in found]
        found += kids
        frontier += kids
    return found


def state(pid: int) -> str | None:
    """The state letter of ``pid`` ('R', 'S', 'T' for stopped, 'Z' for a zombie...)."""
    st = _stat(pid)
    return st[0] if st else None


def reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is a dead child of ours (no zombie left)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except (ChildProcessError, OSError):
        pass


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_tree(root: int, *, include_root: bool, spare: set[int] = frozenset(),
              limit: float = 10.0) -> list[int]:
    """Kill every descendant of ``root`` (and ``root`` itself if ``include_root``),
    except the pids in ``spare`` and their subtrees; return the pids signalled.

    Processes are first stopped, so that none can fork while the tree is walked, then
    killed; orphans re-parented to a subreaper ``root`` are caught by the next round.
    Dead children of this process are reaped (a ``Popen`` of one then reads exit 0).
    """
    signalled: list[int] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        tree = [p for p in descendants(root) if p not in spare]
        if spare:  # leave the spared processes' own trees alone too
            spared = {d for s in spare for d in descendants(s)}
            tree = [p for p in tree if p not in spared]
        if include_root and root not in signalled:
            tree.append(root)
        alive = [p for p in tree if state(p) not in (None, "Z")]
        for p in alive:
            _signal(p, signal.SIGSTOP)
        for p in alive:
            _signal(p, signal.SIGKILL)
        signalled += [p for p in alive if p not in signalled]
        for p in tree:
            reap(p)
        if not alive:
            break
        time.sleep(0.02)
    return signalled


def kill_group(pgid: int) -> None:
    """SIGKILL the process group ``pgid`` if it still has a member (so that a group
    whose leader is gone and whose number was reused is never hit)."""
    members = True
    if os.path.isdir("/proc"):
        members = any((st := _stat(int(e))) is not None and st[2] == pgid
                      for e in os.listdir("/proc") if e.isdigit())
    if members:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def exit_text(returncode: int | None) -> str:
    """'exit code 3' or 'killed by SIGKILL'."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"
