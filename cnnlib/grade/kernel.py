"""Starting a student's kernel and running code in it: the one place where the grader
speaks the Jupyter messaging protocol.

(Trusted notebooks, the book's own, run through :mod:`cnnlib._kernel` and nbclient. An
untrusted one needs more than nbclient offers: its own session and process group, a
private folder and environment, another user, and a blocking client that reads every
reply itself, which the lost wake-ups that :mod:`cnnlib._kernel` works around cannot
reach.)

The kernel is this environment's ``ipykernel``, started as its own process group and
session (so that it and whatever it starts can be killed together, and it cannot reach
the grader's terminal), in a private working folder, with a small environment (no
variables of the instructor's), its home and Jupyter/IPython folders inside that
folder, optionally as another Unix user. The connection file is deleted as soon as the
kernel has read it. Every wait has a deadline; a kernel that dies, stops answering or
is stopped by a signal (it is continued) is noticed within a fraction of a second.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from cnnlib.grade import procs

__all__ = ["KernelProcess", "Execution", "KernelStartError", "MAX_MESSAGE"]

#: Largest message accepted from a kernel (bytes); a larger one disconnects it.
MAX_MESSAGE = 96 << 20
#: Seconds allowed for a kernel to start (not counted in the notebook's time limit).
STARTUP_LIMIT = 60.0

# The kernel's first lines: non-dumpable, so that another student's kernel running as
# the same user cannot read this one's memory or connection key through /proc.
_BOOT = ("import ctypes, sys\n"
         "try:\n    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)\nexcept Exception:\n    pass\n"
         "if sys.path and sys.path[0] == '':\n    del sys.path[0]\n"
         "from ipykernel import kernelapp\nkernelapp.launch_new_instance()\n")

_PASSED_ON = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH", "MPLBACKEND",
              "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
              "OPENBLAS_NUM_THREADS")


class KernelStartError(RuntimeError):
    """The kernel did not start (the message ends with what it printed)."""


@dataclass
class Execution:
    """How one ``execute`` ended: ``ok``, ``error`` (the code raised: ``error`` holds
    (name, value)), ``timeout`` (the deadline passed) or ``died`` (the kernel exited)."""
    status: str
    error: tuple[str, str] | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)


def kernel_env(workdir: str, threads: int) -> dict[str, str]:
    """The kernel's environment: a few variables passed on, everything private inside
    ``workdir``, ``threads`` BLAS/OpenMP threads."""
    env = {k: os.environ[k] for k in _PASSED_ON if k in os.environ}
    env.setdefault("PATH", os.defpath)
    env.setdefault("MPLBACKEND", "Agg")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(var, str(threads))
    env.update(HOME=workdir, TMPDIR=os.path.join(workdir, "tmp"),
               IPYTHONDIR=os.path.join(workdir, ".ipython"),
               MPLCONFIGDIR=os.path.join(workdir, ".matplotlib"),
               JUPYTER_CONFIG_DIR=os.path.join(workdir, ".jupyter"),
               JUPYTER_DATA_DIR=os.path.join(workdir, ".jupyter", "data"),
               JUPYTER_RUNTIME_DIR=os.path.join(workdir, ".jupyter", "runtime"),
               XDG_CACHE_HOME=os.path.join(workdir, ".cache"),
               PYDEVD_DISABLE_FILE_VALIDATION="1", PYTHONNOUSERSITE="1")
    return env


class KernelProcess:
    """A kernel started in ``workdir`` (as ``user``: (uid, gid), when given)."""

    def __init__(self, workdir: str, env: dict[str, str],
                 user: tuple[int, int] | None = None) -> None:
        self.workdir, self.env, self.user = workdir, env, user
        self.proc: subprocess.Popen | None = None
        self.client = None
        self.resumed = 0   # times the kernel was found stopped and continued

    # ------------------------------------------------------------ start and stop
    def start(self) -> None:
        import zmq
        from jupyter_client.blocking.client import BlockingKernelClient
        from jupyter_client.connect import write_connection_file

        os.makedirs(self.env["TMPDIR"], exist_ok=True)
        conn = os.path.join(self.workdir, f".kernel-{secrets.token_hex(4)}.json")
        write_connection_file(conn, ip="127.0.0.1", key=secrets.token_hex(32).encode())
        log_path = os.path.join(self.workdir, ".kernel.log")
        if self.user is not None:
            for path in (self.workdir, self.env["TMPDIR"], conn):
                os.chown(path, *self.user)
        with open(log_path, "wb") as log:
            extra: dict[str, Any] = {}
            if self.user is not None:
                extra = dict(user=self.user[0], group=self.user[1], extra_groups=[])
            try:
                self.proc = subprocess.Popen(
                    [sys.executable, "-c", _BOOT, "-f", conn,
                     "--HistoryManager.hist_file=:memory:"],
                    cwd=self.workdir, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
                    **extra)
            except OSError as exc:  # e.g. --user: that user cannot run this Python
                os.remove(conn)
                raise KernelStartError(f"{sys.executable} could not be run: {exc}") from None
        ctx = zmq.Context()
        ctx.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)  # a flood disconnects, not exhausts
        ctx.setsockopt(zmq.LINGER, 0)
        self.client = BlockingKernelClient(context=ctx)
        self.client.load_connection_file(conn)
        self.client.start_channels(hb=False, control=False)
        try:
            self._wait_ready(time.monotonic() + STARTUP_LIMIT, log_path)
        finally:
            try:
                os.remove(conn)  # read by now; no other process should find the key
            except OSError:
                pass

    def _wait_ready(self, deadline: float, log_path: str) -> None:
        from queue import Empty

        while True:
            self.client.kernel_info()
            try:
                msg = self.client.shell_channel.get_msg(timeout=0.5)
                if msg["msg_type"] == "kernel_info_reply":
                    break
            except Empty:
                pass
            except Exception:  # a malformed message: ask again
                continue
            if self.proc.poll() is not None or time.monotonic() > deadline:
                why = (f"the kernel exited ({procs.exit_text(self.proc.returncode)})"
                       if self.proc.poll() is not None else
                       f"the kernel did not answer within {STARTUP_LIMIT:g} s")
                try:
                    with open(log_path, "rb") as f:
                        tail = f.read()[-400:].decode("utf-8", "replace").strip()
                except OSError:
                    tail = ""
                raise KernelStartError(why + (f"; it said: {tail}" if tail else ""))
        # IOPub connects asynchronously: wait until it delivers before running code.
        while time.monotonic() < deadline:
            try:
                self.client.iopub_channel.get_msg(timeout=0.2)
            except Empty:
                break
            except Exception:
                continue

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def exited(self) -> int | None:
        """The kernel's return code once it has exited, else None."""
        return self.proc.poll() if self.proc else None

    def kill(self) -> None:
        """Kill the kernel, its process group and the processes below it. (Processes it
        detached from its tree are re-parented to a subreaper: the worker sweeps them.)"""
        if self.client is not None:
            try:
                self.client.stop_channels()
                self.client.context.destroy(linger=0)
            except Exception:
                pass
        if self.proc is not None:
            below = procs.descendants(self.proc.pid)
            if self.proc.poll() is None:  # not reaped: its number is still its own
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            else:
                procs.kill_group(self.proc.pid)
            for pid in below:
                procs.kill_tree(pid, include_root=True, limit=2.0)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    # ------------------------------------------------------------ running code
    def _keep_running(self) -> None:
        """Continue a kernel that something outside stopped (SIGSTOP)."""
        if procs.state(self.proc.pid) == "T":
            self.resumed += 1
            try:
                os.killpg(self.proc.pid, signal.SIGCONT)
            except (ProcessLookupError, PermissionError):
                pass

    def execute(self, code: str, deadline: float, *, silent: bool = False,
                allow_stdin: bool = False, on_input: Callable[[str], str] | None = None,
                on_output: Callable[[dict], None] | None = None) -> Execution:
        """Run ``code``; wait until the kernel is idle again or ``deadline`` (a
        ``time.monotonic()`` value) passes. ``on_output`` receives each output message
        (stream, display_data, execute_result, error, ...) of this request;
        ``on_input(prompt)`` answers the code's ``input()`` calls."""
        import zmq

        kc = self.client
        msg_id = kc.execute(code, silent=silent, store_history=False,
                            allow_stdin=allow_stdin, stop_on_error=False)
        channels = {kc.shell_channel.socket: kc.shell_channel,
                    kc.iopub_channel.socket: kc.iopub_channel,
                    kc.stdin_channel.socket: kc.stdin_channel}
        poller = zmq.Poller()
        for sock in channels:
            poller.register(sock, zmq.POLLIN)
        result = Execution("ok")
        replied = idle = False
        while not (replied and idle):
            left = deadline - time.monotonic()
            if left <= 0:
                result.status = "timeout"
                return result
            if self.proc.poll() is not None:
                result.status = "died"
                return result
            self._keep_running()
            for sock, _ in poller.poll(int(min(left, 0.2) * 1000) + 1):
                channel = channels[sock]
                try:
                    msg = channel.get_msg(timeout=0)
                except Exception:  # a message that does not verify or parse: ignore it
                    continue
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg.get("msg_type"), msg.get("content") or {}
                if channel is kc.stdin_channel:
                    if kind == "input_request":
                        prompt = str(content.get("prompt", ""))
                        kc.input(on_input(prompt) if on_input else "")
                elif channel is kc.shell_channel:
                    if kind == "execute_reply":
                        replied = True
                        if content.get("status") == "error" and result.error is None:
                            result.error = (str(content.get("ename", "")),
                                            str(content.get("evalue", ""))[:500])
                elif kind == "status":
                    idle = idle or content.get("execution_state") == "idle"
                else:
                    if kind == "error" and result.error is None:
                        result.error = (str(content.get("ename", "")),
                                        str(content.get("evalue", ""))[:500])
                    if on_output is not None:
                        on_output(msg)
        if result.error is not None:
            result.status = "error"
        return result
