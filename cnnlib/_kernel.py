"""Run a notebook in a fresh Jupyter kernel, reliably: the one kernel runner that the
book build, the test suite and the grader share.

    from cnnlib._kernel import execute_notebook
    execute_notebook(nb, cwd="book", timeout=180)      # nb (nbformat) is run in place

It is nbclient's ``NotebookClient`` with two differences.

**No lost replies.** jupyter_client's ``Session.send`` writes an asyncio ZeroMQ socket
through a plain shadow of it. Any libzmq call on a socket may consume the socket's
edge-triggered "a message is waiting" signal, and pyzmq's asyncio layer only re-checks
for waiting messages after calls that go through it. So when a message arrives just
before such a send, the coroutine that awaits it is never woken: the message sits in the
socket until that wait times out. nbclient sends on the shell socket in the middle of a
cell whenever a cell shows an ipywidgets ``Output`` widget (``widgets.interact`` does):
it tells the kernel what the widget captured, while another coroutine awaits the cell's
``execute_reply`` on the same socket. About one such cell in twelve then waited for its
whole cell time limit with the reply already delivered and the kernel idle (ZeroMQ
``EVENTS`` said "readable", the socket's file descriptor did not). The channels here ask
the asyncio socket for its events after every send, which makes pyzmq look for waiting
messages and wake the waiter; and they wait in slices of at most ``POLL_SLICE`` seconds,
each ending in a fresh look, so that a wake-up lost any other way costs under a second.

**Stalls are named in seconds.** A cell whose request the kernel finished (its
``status: idle`` arrived) but whose reply does not come, or whose request shows no sign
of life on IOPub at all, raises :class:`KernelStallError` after ``stall_timeout``
seconds (10 by default) with the cell and what was seen, instead of waiting out the
cell time limit.

Explained in the README (how the book is built and tested).
"""
from __future__ import annotations

import asyncio
import functools
import os
import time
from typing import Any

# The longest a message can wait unnoticed in a socket (see the module docstring).
POLL_SLICE = 1.0

__all__ = ["KernelStallError", "POLL_SLICE", "kernel_manager", "notebook_client_class",
           "execute_notebook", "async_execute_notebook"]


class KernelStallError(RuntimeError):
    """The kernel stopped answering a cell: idle, or silent, with no reply."""


@functools.cache
def _channel_class() -> type:
    import zmq
    from jupyter_client.channels import AsyncZMQSocketChannel

    class ReliableChannel(AsyncZMQSocketChannel):
        """An asyncio channel that cannot sleep through a message already delivered."""

        poll_slice = POLL_SLICE

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.on_slice_end = None      # called between slices of a wait; may raise
            self.pending_execute: tuple[str, float] | None = None  # (msg_id, sent at)
            self.late_finds = 0           # messages found only by a slice's final look

        def send(self, msg: dict[str, Any]) -> None:
            super().send(msg)  # written through a plain shadow of the asyncio socket
            if msg.get("header", {}).get("msg_type") == "execute_request":
                self.pending_execute = (msg["header"]["msg_id"], time.monotonic())
            # Reading EVENTS through the asyncio socket makes pyzmq wake any waiter for
            # a message that the send above may have hidden.
            self.socket.get(zmq.EVENTS)

        async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:
            """The next message; ``queue.Empty`` after ``timeout`` seconds (None: wait)."""
            from queue import Empty

            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                wait = self.poll_slice if left is None else min(self.poll_slice, left)
                start = time.monotonic()
                try:
                    msg = await super().get_msg(timeout=wait)
                except Empty:
                    if left is not None and left <= wait:
                        raise
                    if self.on_slice_end is not None:
                        self.on_slice_end()
                    continue
                if wait > 0 and time.monotonic() - start >= wait:
                    self.late_finds += 1  # it was there, but nothing woke the wait
                return msg

    return ReliableChannel


@functools.cache
def _kernel_client_class() -> type:
    from jupyter_client.asynchronous import AsyncKernelClient
    from traitlets import Type

    channel = _channel_class()

    class ReliableKernelClient(AsyncKernelClient):
        shell_channel_class = Type(channel)
        iopub_channel_class = Type(channel)
        stdin_channel_class = Type(channel)
        control_channel_class = Type(channel)

    return ReliableKernelClient


def kernel_manager(**kwargs: Any):
    """An ``AsyncKernelManager`` for an IPython kernel of this very Python (whatever
    kernelspec a notebook names), whose clients use the reliable channels."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())

    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisPython(),
                            **kwargs)
    km.client_factory = _kernel_client_class()
    return km


@functools.cache
def notebook_client_class() -> type:
    """``ReliableNotebookClient``: nbclient's ``NotebookClient`` that detects stalls.
    Subclass it (the grader does) to collect outputs as they arrive."""
    from nbclient import NotebookClient
    from traitlets import Float

    class ReliableNotebookClient(NotebookClient):
        stall_timeout = Float(10.0, help="Seconds a cell may go without its reply once "
                              "the kernel has gone idle, or without any sign of life "
                              "at all, before KernelStallError.").tag(config=True)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.current_cell = -1
            self._seen: dict[str, float] = {}   # request id -> last IOPub message
            self._idle: dict[str, float] = {}   # request id -> its status: idle
            self._channels: list = []

        @property
        def late_finds(self) -> int:
            """Messages that were waiting in a socket without waking the client: found
            only by a slice's final look (0 unless a wake-up got lost)."""
            return sum(channel.late_finds for channel in self._channels)

        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            self._channels = [kc.shell_channel, kc.iopub_channel]
            kc.shell_channel.on_slice_end = self._check_stall
            return kc

        async def async_execute_cell(self, cell, cell_index, *args: Any, **kwargs: Any):
            self.current_cell = cell_index
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

        def process_message(self, msg, cell, cell_index):
            parent = msg.get("parent_header", {}).get("msg_id")
            if parent:
                self._seen[parent] = time.monotonic()
                content = msg.get("content", {})
                if msg["msg_type"] == "status" and content.get("execution_state") == "idle":
                    self._idle[parent] = time.monotonic()
            return super().process_message(msg, cell, cell_index)

        def _check_stall(self) -> None:
            pending = self.kc.shell_channel.pending_execute if self.kc else None
            if pending is None:
                return
            msg_id, sent = pending
            now, limit = time.monotonic(), self.stall_timeout
            idle = self._idle.get(msg_id)
            where = f"cell {self.current_cell}"
            if idle is not None and now - idle > limit:
                raise KernelStallError(
                    f"{where}: the kernel finished it {now - idle:.0f} s ago (status: "
                    "idle) but its execute_reply never arrived")
            if msg_id not in self._seen and now - sent > limit:
                raise KernelStallError(
                    f"{where}: the kernel showed no sign of running it {now - sent:.0f} s "
                    "after it was sent (no message about it on IOPub, no reply)")

    return ReliableNotebookClient


async def async_execute_notebook(nb, *, cwd: str | os.PathLike, timeout: float = 180,
                                 stall_timeout: float = 10, env: dict | None = None,
                                 kernel_log=None, client_class: type | None = None,
                                 **client_kwargs: Any):
    """Run every code cell of ``nb`` (an nbformat notebook, changed in place) in a fresh
    kernel started in ``cwd`` with environment ``env`` (default: this process's); the
    kernel's own stdout/stderr go to the open file ``kernel_log`` (default: inherited).

    Cells tagged ``raises-exception`` may raise; any other error raises nbclient's
    ``CellExecutionError``; a cell over ``timeout`` seconds ``CellTimeoutError``; a dead
    kernel ``DeadKernelError``; a stall ``KernelStallError``. The kernel is shut down in
    every case; an exception carries ``cell_index``, the index in ``nb.cells`` of the
    cell it stopped at. Returns the client (its ``nb`` is ``nb``).
    """
    cls = client_class or notebook_client_class()
    options = dict(timeout=timeout, stall_timeout=stall_timeout, shutdown_kernel="immediate",
                   iopub_timeout=30, raise_on_iopub_timeout=True,
                   resources={"metadata": {"path": os.fspath(cwd)}})
    options.update(client_kwargs)
    client = cls(nb, km=kernel_manager(), **options)
    launch: dict[str, Any] = {"cwd": os.fspath(cwd), "cleanup_kc": True}
    if env is not None:
        launch["env"] = env
    if kernel_log is not None:
        launch.update(stdout=kernel_log, stderr=kernel_log)
    try:
        await client.async_execute(**launch)
    except Exception as exc:
        exc.cell_index = client.current_cell  # which cell (index in nb.cells) it was
        raise
    finally:
        if client.km is not None and client.km.has_kernel:
            await client.km.shutdown_kernel(now=True)
    return client


def execute_notebook(nb, **kwargs: Any):
    """:func:`async_execute_notebook` from synchronous code (it runs its own event loop)."""
    return asyncio.run(async_execute_notebook(nb, **kwargs))
