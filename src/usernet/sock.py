"""Sockets inside the kernel (``struct sock`` and ``proto_ops``).

A :class:`Sock` belongs forever to the namespace it was made in (the RFC:
"tag all sockets with a network namespace they will always be in") and
holds a reference on it.  Protocol operations never block: they raise
``KernelError(EAGAIN)`` (or ``EINPROGRESS`` for a connect in progress) and
the socket layer (:mod:`usernet.socket`) waits on ``sk.wq`` -- woken on
every state change -- until ``poll()`` reports what it needs, within the
socket's timeout, in virtual time.
"""

from __future__ import annotations

import errno
import select
from typing import TYPE_CHECKING, Any

from .errors import KernelError
from .wait import WaitQueue

if TYPE_CHECKING:
    from .dev.netdevice import NetDevice
    from .net import Net

POLLIN = select.POLLIN
POLLPRI = select.POLLPRI
POLLOUT = select.POLLOUT
POLLERR = select.POLLERR
POLLHUP = select.POLLHUP
POLLRDHUP = 0x2000

SHUT_RD = 0
SHUT_WR = 1
SHUT_RDWR = 2
RCV_SHUTDOWN = 1
SEND_SHUTDOWN = 2

Address = tuple[int, int]  # (IPv4 address as int, port), host order


class Sock:
    """What every protocol's socket has; protocols override the operations."""

    __slots__ = ("__weakref__", "bound_dev", "closed", "family", "mark", "net", "opts",
                 "protocol", "rcvbuf", "sk_err", "sk_shutdown", "sndbuf", "type", "wq")

    def __init__(self, net: Net, family: int, type: int, protocol: int) -> None:
        self.net = net.get()
        self.family = family
        self.type = type
        self.protocol = protocol
        self.wq = WaitQueue()
        self.sk_err = 0  # pending error, reported once (SO_ERROR, sock_error)
        self.sk_shutdown = 0
        self.closed = False
        self.bound_dev: NetDevice | None = None
        self.mark = 0
        self.rcvbuf = 212992  # net.core.rmem_default
        self.sndbuf = 212992  # net.core.wmem_default
        self.opts: dict[tuple[int, int], Any] = {}  # options stored as given

    # -- the operations (proto_ops); protocols override what they support ----

    def bind(self, addr: Address) -> None:
        raise KernelError(errno.EOPNOTSUPP)

    def connect(self, addr: Address) -> None:
        raise KernelError(errno.EOPNOTSUPP)

    def listen(self, backlog: int) -> None:
        raise KernelError(errno.EOPNOTSUPP)

    def accept(self) -> Sock:
        raise KernelError(errno.EOPNOTSUPP)

    def sendmsg(self, data: bytes | memoryview, addr: Address | None, flags: int) -> int:
        raise KernelError(errno.EOPNOTSUPP)

    def recvmsg(self, bufsize: int, flags: int) -> tuple[bytes, Address | None]:
        raise KernelError(errno.EOPNOTSUPP)

    def shutdown(self, how: int) -> None:
        raise KernelError(errno.EOPNOTSUPP)

    def getsockname(self) -> Address:
        return (0, 0)

    def getpeername(self) -> Address:
        raise KernelError(errno.ENOTCONN)

    def poll(self) -> int:
        """The poll mask: POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP."""
        return POLLERR if self.sk_err else 0

    def setsockopt(self, level: int, name: int, value: Any) -> None:
        self.opts[(level, name)] = value

    def getsockopt(self, level: int, name: int) -> Any:
        if (level, name) in self.opts:
            return self.opts[(level, name)]
        raise KernelError(errno.ENOPROTOOPT)

    def sock_error(self) -> int:
        """sock_error(): take the pending error (0 if none)."""
        err, self.sk_err = self.sk_err, 0
        return err

    def report_error(self, err: int) -> None:
        """sk_error_report: set the error and wake every waiter."""
        self.sk_err = err
        self.wq.wake_up()

    def close(self) -> None:
        """Release the socket; protocols unhash themselves first."""
        if not self.closed:
            self.closed = True
            self.wq.wake_up()
            self.net.put()
