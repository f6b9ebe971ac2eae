"""Which kernel a socket call talks to, its file descriptors, and errors.

The kernel comes from, in order: an explicit ``kernel=`` argument, the
``use_kernel`` context variable, the current task (``with k.netns(...)``,
or a process of ``k.spawn`` -- its greenlet sets the task), and last the
greenlet of a spawned task.  The namespace is always the current task's, at
the moment the socket is made.

File descriptors are fake but behave: per kernel, non-negative, the lowest
free one first (from 3, as a process with stdio open gets), shared by
``dup`` and closed when the last descriptor goes.  Most name a socket; an
``epoll`` instance has one too (:class:`AnonFile`), as in Linux.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import os
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from ..errors import KernelError
from ..task import _current
from ..wait import task_greenlet

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..sock import Sock
    from ..wait import WaitQueue
    from .select import EventPoll

_kernel_var: contextvars.ContextVar[Kernel | None] = contextvars.ContextVar(
    "usernet_socket_kernel", default=None)


def current_kernel() -> Kernel:
    """The kernel socket calls without ``kernel=`` use here."""
    kernel = _kernel_var.get()
    if kernel is not None:
        return kernel
    task = _current.get()
    if task is not None:
        return task.kernel
    g = task_greenlet()
    if g is not None:
        found: Kernel = g.kernel
        return found
    raise RuntimeError("usernet.socket: no kernel here -- pass kernel=, or run inside "
                       "usernet.socket.use_kernel(k), k.netns(...) or a k.spawn task")


@contextlib.contextmanager
def use_kernel(kernel: Kernel) -> Iterator[Kernel]:
    """Make ``kernel`` the one socket calls in this context (and contexts
    copied from it) use."""
    token = _kernel_var.set(kernel)
    try:
        yield kernel
    finally:
        _kernel_var.reset(token)


class Pollable(Protocol):
    """What select, poll and epoll need of the object behind a descriptor
    (``f_op->poll`` and the wait queue its state changes wake)."""

    wq: WaitQueue

    def poll(self) -> int: ...


class OpenFile:
    """``struct file`` for a socket: what descriptors point to."""

    __slots__ = ("refs", "sk")

    def __init__(self, sk: Sock) -> None:
        self.sk = sk
        self.refs = 0


class AnonFile:
    """``struct file`` of an anonymous inode that is no socket: an epoll
    instance (``anon_inode:[eventpoll]``).  Socket calls on its descriptor
    fail with ENOTSOCK."""

    __slots__ = ("refs", "sk")

    def __init__(self, sk: EventPoll) -> None:
        self.sk = sk  # named as OpenFile's: select, poll and close read either
        self.refs = 0


class FdTable:
    """One kernel's descriptor table (one process's, as far as usernet knows)."""

    __slots__ = ("files", "free", "next_fd")

    def __init__(self) -> None:
        self.files: dict[int, OpenFile | AnonFile] = {}
        self.free: list[int] = []  # closed descriptors below next_fd, a heap
        self.next_fd = 3

    def install(self, file: OpenFile | AnonFile) -> int:
        fd = heapq.heappop(self.free) if self.free else self.next_fd
        if fd == self.next_fd:
            self.next_fd += 1
        self.files[fd] = file
        file.refs += 1
        return fd

    def get(self, fd: int) -> OpenFile | AnonFile:
        file = self.files.get(fd)
        if file is None:
            raise oserror(9)  # EBADF
        return file

    def close(self, fd: int, exiting: bool = False) -> None:
        """close(2); ``exiting``: as the exit of the process that held it."""
        file = self.files.pop(fd, None)
        if file is None:
            raise oserror(9)
        heapq.heappush(self.free, fd)
        file.refs -= 1
        if not file.refs:
            if exiting:
                file.sk.close_exiting()
            else:
                file.sk.close()


_tables: weakref.WeakKeyDictionary[Kernel, FdTable] = weakref.WeakKeyDictionary()
# The last kernel asked for and its table: every socket call asks, nearly
# always about the same kernel.  Held weakly, as in _tables.
_last: tuple[weakref.ref[Kernel], FdTable] | None = None


def fd_table(kernel: Kernel) -> FdTable:
    global _last
    last = _last
    if last is not None and last[0]() is kernel:
        return last[1]
    table = _tables.get(kernel)
    if table is None:
        table = _tables[kernel] = FdTable()
    _last = (weakref.ref(kernel), table)
    return table


def oserror(err: int) -> OSError:
    """The exception CPython raises for ``err``: OSError(errno, strerror),
    which Python turns into ConnectionRefusedError, BlockingIOError ..."""
    return OSError(err, os.strerror(err))


def from_kernel(exc: KernelError) -> OSError:
    return oserror(exc.errno or 0)
