"""The stdlib ``select`` module (``select`` and ``poll``) over usernet
sockets, waiting in virtual time.

Readiness is the sockets' ``poll()`` read the way Linux's select reads it:
readable on POLLIN, POLLHUP or POLLERR, writable on POLLOUT or POLLERR,
exceptional on POLLPRI.  Objects are usernet sockets, objects whose
``fileno()`` is a usernet descriptor, or such descriptors.
"""

from __future__ import annotations

import math
import select as _select
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..wait import wait_event
from ._context import current_kernel, fd_table, oserror

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..sock import Sock

POLLIN = _select.POLLIN
POLLPRI = _select.POLLPRI
POLLOUT = _select.POLLOUT
POLLERR = _select.POLLERR
POLLHUP = _select.POLLHUP
POLLNVAL = _select.POLLNVAL
POLLRDNORM = _select.POLLRDNORM
POLLWRNORM = _select.POLLWRNORM
POLLRDHUP = 0x2000
error = OSError

READ_SET = POLLIN | POLLHUP | POLLERR
WRITE_SET = POLLOUT | POLLERR
EXCEPT_SET = POLLPRI
NSEC = 1_000_000_000


def fileobj_fd(obj: Any) -> int:
    """An object's descriptor, as select.select finds it."""
    if isinstance(obj, int):
        fd = obj
    else:
        try:
            fd = int(obj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise TypeError("argument must be an int, or have a fileno() method.") from None
    if fd < 0:
        raise ValueError(f"file descriptor cannot be a negative integer ({fd})")
    return fd


def kernel_of(objs: Iterable[Any], kernel: Kernel | None = None) -> Kernel:
    """The kernel the objects' sockets live in (usernet sockets know theirs)."""
    if kernel is not None:
        return kernel
    for obj in objs:
        found = getattr(obj, "kernel", None)
        if found is not None and hasattr(found, "sched"):
            k: Kernel = found
            return k
    return current_kernel()


def lookup(kernel: Kernel, fd: int) -> Sock:
    """The kernel socket behind ``fd``; EBADF if it is not open."""
    return fd_table(kernel).get(fd).sk


def wait_ready(kernel: Kernel, socks: list[Sock], ready: Any, timeout: float | None,
               what: str) -> None:
    """Wait (virtual time) until ``ready()`` or the timeout."""
    if timeout is not None and timeout <= 0:
        return
    ns = None if timeout is None else math.ceil(timeout * NSEC)
    wait_event(kernel, [sk.wq for sk in socks], ready, ns, what=what)


def select(rlist: Iterable[Any], wlist: Iterable[Any], xlist: Iterable[Any],
           timeout: float | None = None, *,
           kernel: Kernel | None = None) -> tuple[list[Any], list[Any], list[Any]]:
    """select.select: the ready objects of each list, in their order."""
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must be non-negative")
    lists = [list(rlist), list(wlist), list(xlist)]
    k = kernel_of([o for lst in lists for o in lst], kernel)
    entries = [[(obj, lookup(k, fileobj_fd(obj))) for obj in lst] for lst in lists]
    masks = (READ_SET, WRITE_SET, EXCEPT_SET)

    def scan() -> list[list[Any]]:
        return [[obj for obj, sk in group if sk.poll() & mask]
                for group, mask in zip(entries, masks, strict=True)]

    def ready() -> bool:
        return any(any(g) for g in scan())

    if not ready():
        socks = [sk for group in entries for _, sk in group]
        wait_ready(k, socks, ready, timeout, "select()")
    r, w, x = scan()
    return r, w, x


class poll:
    """select.poll: register descriptors with event masks; ``poll(ms)``."""

    def __init__(self, *, kernel: Kernel | None = None) -> None:
        self._kernel = kernel
        self._fds: dict[int, int] = {}
        self._objs: dict[int, Any] = {}

    def register(self, fd: Any, eventmask: int = POLLIN | POLLPRI | POLLOUT) -> None:
        n = fileobj_fd(fd)
        self._fds[n] = eventmask & 0xFFFF
        self._objs[n] = fd

    def modify(self, fd: Any, eventmask: int) -> None:
        n = fileobj_fd(fd)
        if n not in self._fds:
            raise oserror(2)  # ENOENT
        self._fds[n] = eventmask & 0xFFFF

    def unregister(self, fd: Any) -> None:
        n = fileobj_fd(fd)
        del self._fds[n]
        self._objs.pop(n, None)

    def _revents(self, kernel: Kernel) -> list[tuple[int, int]]:
        out = []
        files = fd_table(kernel).files
        for fd, mask in self._fds.items():
            file = files.get(fd)
            revents = POLLNVAL if file is None else \
                file.sk.poll() & (mask | POLLERR | POLLHUP)
            if revents:
                out.append((fd, revents))
        return out

    def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
        """Ready (fd, events) pairs; ``timeout`` in milliseconds (None or
        negative: wait as long as it takes)."""
        k = kernel_of(self._objs.values(), self._kernel)
        seconds = None if timeout is None or timeout < 0 else timeout / 1000
        if not self._revents(k):
            files = fd_table(k).files
            socks = [files[fd].sk for fd in self._fds if fd in files]
            wait_ready(k, socks, lambda: bool(self._revents(k)), seconds, "poll()")
        return self._revents(k)
