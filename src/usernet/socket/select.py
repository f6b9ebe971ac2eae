"""The stdlib ``select`` module (``select``, ``poll`` and ``epoll``) over
usernet sockets, waiting in virtual time.

Readiness is the sockets' ``poll()`` read the way Linux's select reads it:
readable on POLLIN, POLLHUP or POLLERR, writable on POLLOUT or POLLERR,
exceptional on POLLPRI.  Objects are usernet sockets, objects whose
``fileno()`` is a usernet descriptor, or such descriptors.

``epoll`` is ``fs/eventpoll.c``'s: an instance is a descriptor of its own
(pollable, so it nests), an item is keyed by (file, descriptor) and goes
away when its file's last descriptor is closed, each wake-up of a watched
socket puts its item on the ready list, and ``poll`` reports the ready
items in that order -- level-triggered items go back on the list's tail,
EPOLLET items wait for the next wake-up, EPOLLONESHOT items are disarmed
until ``modify``.  One difference: a usernet wake-up carries no event key,
so an EPOLLET item may be reported again on a wake-up for an event it does
not watch (Linux filters those out), while its events are still pending.
"""

from __future__ import annotations

import errno
import math
import select as _select
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..wait import WaitQueue, wait_event
from ._context import AnonFile, OpenFile, Pollable, current_kernel, fd_table, oserror

if TYPE_CHECKING:
    from ..kernel import Kernel

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

# <uapi/linux/eventpoll.h>
EPOLLIN = 0x001
EPOLLPRI = 0x002
EPOLLOUT = 0x004
EPOLLERR = 0x008
EPOLLHUP = 0x010
EPOLLRDNORM = 0x040
EPOLLRDBAND = 0x080
EPOLLWRNORM = 0x100
EPOLLWRBAND = 0x200
EPOLLMSG = 0x400
EPOLLRDHUP = 0x2000
EPOLLEXCLUSIVE = 1 << 28
EPOLLWAKEUP = 1 << 29
EPOLLONESHOT = 1 << 30
EPOLLET = 1 << 31
EPOLL_CLOEXEC = 0o2000000  # O_CLOEXEC
EP_PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE
# What may go with EPOLLEXCLUSIVE.  Exclusive wake-ups ("at least one of the
# instances that watch a file") are every instance here: a wait queue wakes
# all its waiters, which that promise allows.
EPOLLEXCLUSIVE_OK_BITS = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | \
    EPOLLEXCLUSIVE
FD_SETSIZE = 1024

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


def lookup(kernel: Kernel, fd: int) -> Pollable:
    """The kernel socket (or epoll instance) behind ``fd``; EBADF if it is
    not open."""
    return fd_table(kernel).get(fd).sk


def wait_ready(kernel: Kernel, socks: Iterable[Pollable], ready: Any, timeout: float | None,
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


# -- epoll ---------------------------------------------------------------------------------


class EpItem:
    """``struct epitem``: one watched (file, descriptor) of an instance."""

    __slots__ = ("callback", "events", "fd", "file")

    def __init__(self, fd: int, file: OpenFile | AnonFile, events: int) -> None:
        self.fd = fd
        self.file = file
        self.events = events
        self.callback = _no_callback


def _no_callback() -> None:
    return None


class EventPoll:
    """``struct eventpoll``: an epoll instance, behind its descriptor."""

    __slots__ = ("items", "rdllist", "wq")

    def __init__(self) -> None:
        self.items: dict[tuple[int, OpenFile | AnonFile], EpItem] = {}
        self.rdllist: dict[EpItem, None] = {}  # the ready list, in wake-up order
        self.wq = WaitQueue()  # epoll_wait callers and whoever polls the instance

    # -- what the descriptor table asks of a file -----------------------------------------

    def poll(self) -> int:
        """ep_eventpoll_poll: readable while a ready item has events."""
        for item in self.rdllist:
            if item.file.refs and item.file.sk.poll() & item.events:
                return POLLIN | POLLRDNORM
        return 0

    def close(self) -> None:
        """ep_free: the last descriptor of the instance is closed."""
        for item in list(self.items.values()):
            self._remove(item)

    close_exiting = close

    # -- epoll_ctl ------------------------------------------------------------------------

    def ctl_add(self, fd: int, file: OpenFile | AnonFile, events: int) -> None:
        # in do_epoll_ctl's order: EINVAL, ELOOP, then EEXIST
        if file.sk is self:
            raise oserror(errno.EINVAL)
        if events & EPOLLEXCLUSIVE and (isinstance(file.sk, EventPoll)
                                        or events & ~EPOLLEXCLUSIVE_OK_BITS):
            raise oserror(errno.EINVAL)
        if isinstance(file.sk, EventPoll) and file.sk._reaches(self):
            raise oserror(errno.ELOOP)
        if (fd, file) in self.items:
            raise oserror(errno.EEXIST)
        item = EpItem(fd, file, events | EPOLLERR | EPOLLHUP)
        self.items[(fd, file)] = item

        def callback() -> None:  # ep_poll_callback
            if item.events & ~EP_PRIVATE_BITS and item not in self.rdllist:
                self.rdllist[item] = None
                self.wq.wake_up()

        item.callback = callback
        file.sk.wq.add(callback)
        self._check(item)

    def ctl_mod(self, fd: int, file: OpenFile | AnonFile, events: int) -> None:
        if events & EPOLLEXCLUSIVE:
            raise oserror(errno.EINVAL)
        item = self.items.get((fd, file))
        if item is None:
            raise oserror(errno.ENOENT)
        if item.events & EPOLLEXCLUSIVE:  # an exclusive item cannot be modified
            raise oserror(errno.EINVAL)
        item.events = events | EPOLLERR | EPOLLHUP
        self._check(item)

    def ctl_del(self, fd: int, file: OpenFile | AnonFile) -> None:
        item = self.items.get((fd, file))
        if item is None:
            raise oserror(errno.ENOENT)
        self._remove(item)

    def _check(self, item: EpItem) -> None:
        """After ADD or MOD: an item whose file is ready now is queued now."""
        if item.file.sk.poll() & item.events and item not in self.rdllist:
            self.rdllist[item] = None
            self.wq.wake_up()

    def _remove(self, item: EpItem) -> None:
        self.items.pop((item.fd, item.file), None)
        self.rdllist.pop(item, None)
        item.file.sk.wq.remove(item.callback)

    def _reaches(self, target: EventPoll) -> bool:
        """Whether ``target`` is watched by this instance, or by an instance
        it watches (epoll_ctl's loop check)."""
        seen: set[int] = set()
        todo: list[EventPoll] = [self]
        while todo:
            ep = todo.pop()
            if id(ep) in seen:
                continue
            seen.add(id(ep))
            for item in ep.items.values():
                sk = item.file.sk
                if sk is target:
                    return True
                if isinstance(sk, EventPoll):
                    todo.append(sk)
        return False

    # -- epoll_wait -----------------------------------------------------------------------

    def send_events(self, maxevents: int) -> list[tuple[int, int]]:
        """ep_send_events: report up to ``maxevents`` ready items."""
        out: list[tuple[int, int]] = []
        for item in list(self.rdllist):
            if len(out) >= maxevents:
                break
            del self.rdllist[item]
            if not item.file.refs:  # its file was released: eventpoll_release
                self._remove(item)
                continue
            revents = item.file.sk.poll() & item.events
            if not revents:
                continue
            out.append((item.fd, revents))
            if item.events & EPOLLONESHOT:
                item.events &= EP_PRIVATE_BITS
            elif not item.events & EPOLLET:
                self.rdllist[item] = None  # level-triggered: back on the tail
        return out


class epoll:
    """select.epoll over usernet descriptors (see the module doc)."""

    def __init__(self, sizehint: int = -1, flags: int = 0, *,
                 kernel: Kernel | None = None) -> None:
        if sizehint == -1:
            sizehint = FD_SETSIZE - 1
        elif sizehint <= 0:
            raise ValueError("negative sizehint")
        if flags and flags != EPOLL_CLOEXEC:
            raise oserror(errno.EINVAL)
        self._kernel = kernel or current_kernel()
        self._fd = fd_table(self._kernel).install(AnonFile(EventPoll()))

    @classmethod
    def fromfd(cls, fd: int, *, kernel: Kernel | None = None) -> epoll:
        """An epoll object for an epoll descriptor (it takes the descriptor)."""
        self = cls.__new__(cls)
        self._kernel = kernel or current_kernel()
        self._fd = fd
        return self

    @property
    def closed(self) -> bool:
        return self._fd < 0

    @property
    def kernel(self) -> Kernel:
        """The kernel whose descriptor table holds the instance (select on
        the object finds it, as on a usernet socket)."""
        return self._kernel

    def _check_closed(self) -> None:
        if self._fd < 0:
            raise ValueError("I/O operation on closed epoll object")

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            fd_table(self._kernel).close(fd)

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            self.close()

    def fileno(self) -> int:
        self._check_closed()
        return self._fd

    def __enter__(self) -> epoll:
        self._check_closed()
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def _ep(self) -> EventPoll:
        self._check_closed()
        ep = fd_table(self._kernel).get(self._fd).sk
        if not isinstance(ep, EventPoll):
            raise oserror(errno.EINVAL)
        return ep

    def _target(self, fd: Any) -> tuple[int, OpenFile | AnonFile]:
        n = fileobj_fd(fd)
        return n, fd_table(self._kernel).get(n)

    def register(self, fd: Any, eventmask: int = EPOLLIN | EPOLLPRI | EPOLLOUT) -> None:
        ep = self._ep()
        n, file = self._target(fd)
        ep.ctl_add(n, file, eventmask & 0xFFFFFFFF)

    def modify(self, fd: Any, eventmask: int) -> None:
        ep = self._ep()
        n, file = self._target(fd)
        ep.ctl_mod(n, file, eventmask & 0xFFFFFFFF)

    def unregister(self, fd: Any) -> None:
        ep = self._ep()
        n, file = self._target(fd)
        ep.ctl_del(n, file)

    def poll(self, timeout: float | None = None, maxevents: int = -1) -> list[tuple[int, int]]:
        """Ready (fd, events) pairs; ``timeout`` in seconds (None or
        negative: wait as long as it takes), rounded up to milliseconds as
        CPython hands it to epoll_wait."""
        ep = self._ep()
        if maxevents == -1:
            maxevents = FD_SETSIZE - 1
        elif maxevents < 1:
            raise ValueError(f"maxevents must be greater than 0, got {maxevents}")
        if timeout is None or timeout < 0:
            deadline = None
        else:
            deadline = self._kernel.sched.now + math.ceil(timeout * 1000) * 1_000_000
        while True:
            events = ep.send_events(maxevents)
            now = self._kernel.sched.now
            if events or (deadline is not None and now >= deadline):
                return events
            wait_event(self._kernel, [ep.wq], lambda: bool(ep.rdllist),
                       None if deadline is None else deadline - now, "epoll_wait()")
