"""AF_UNIX socket pairs (``socketpair``), in process.

A pair is two connected sockets in the namespace of their creator, each
receiving into its own buffer.  A stream socket takes what fits in the
peer's buffer (``sk_sndbuf`` worth, 212992 bytes by default) and
reports EAGAIN when nothing does; a datagram pair keeps message boundaries.
Closing one end gives the other end-of-file on reads and EPIPE on writes,
as ``unix_stream_sendmsg`` does.
"""

from __future__ import annotations

import errno
from collections import deque
from typing import TYPE_CHECKING

from ..errors import KernelError
from ..sock import (
    AF_UNIX,
    MSG_DONTWAIT,
    MSG_PEEK,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLRDHUP,
    RCV_SHUTDOWN,
    SEND_SHUTDOWN,
    SHUTDOWN_MASK,
    Address,
    Sock,
)

if TYPE_CHECKING:
    from ..net import Net

SOCK_STREAM = 1
SOCK_DGRAM = 2
SOCK_SEQPACKET = 5  # kept as datagrams: boundaries hold, as they do


class UnixSock(Sock):
    """One end of a connected AF_UNIX pair."""

    __slots__ = ("msgs", "peer", "rbuf")

    def __init__(self, net: Net, type: int) -> None:
        super().__init__(net, AF_UNIX, type, 0)
        self.peer: UnixSock | None = None
        self.rbuf = bytearray()  # stream: bytes from the peer
        self.msgs: deque[bytes] = deque()  # datagram: messages from the peer

    def _queued(self) -> int:
        return len(self.rbuf) + sum(len(m) for m in self.msgs)

    def _peer_open(self) -> UnixSock | None:
        peer = self.peer
        return None if peer is None or peer.closed else peer

    def sendmsg(self, data: bytes | memoryview, addr: Address | None, flags: int) -> int:
        if addr is not None:
            raise KernelError(errno.EISCONN)
        peer = self._peer_open()
        if self.sk_shutdown & SEND_SHUTDOWN or peer is None or peer.sk_shutdown & RCV_SHUTDOWN:
            raise KernelError(errno.EPIPE)
        room = self.sndbuf - peer._queued()
        if self.type != SOCK_STREAM:
            if len(data) > self.sndbuf:
                raise KernelError(errno.EMSGSIZE)
            if room < len(data):
                raise KernelError(errno.EAGAIN)
            peer.msgs.append(bytes(data))
            n = len(data)
        else:
            if room <= 0 and data:
                raise KernelError(errno.EAGAIN)
            n = min(len(data), max(room, 0))
            peer.rbuf += data[:n]
        peer.wq.wake_up()
        return n

    def recvmsg(self, bufsize: int, flags: int) -> tuple[bytes, Address | None]:
        if self.type != SOCK_STREAM and self.msgs:
            msg = self.msgs[0] if flags & MSG_PEEK else self.msgs.popleft()
            out = msg[:bufsize]
        elif self.rbuf:
            out = bytes(self.rbuf[:bufsize])
            if not flags & MSG_PEEK:
                del self.rbuf[:bufsize]
        elif self.sk_shutdown & RCV_SHUTDOWN or self._peer_open() is None \
                or (self.peer is not None and self.peer.sk_shutdown & SEND_SHUTDOWN):
            if self.type != SOCK_STREAM and flags & MSG_DONTWAIT:
                raise KernelError(errno.EAGAIN)
            return b"", None
        else:
            raise KernelError(errno.EAGAIN)
        peer = self._peer_open()
        if peer is not None:
            peer.wq.wake_up()  # room to write again
        return out, None

    def poll(self) -> int:
        mask = 0
        peer = self._peer_open()
        if self.rbuf or self.msgs:
            mask |= POLLIN
        if self.sk_shutdown & RCV_SHUTDOWN or (peer is not None
                                                and peer.sk_shutdown & SEND_SHUTDOWN):
            mask |= POLLIN | POLLRDHUP
        if peer is None or self.sk_shutdown == SHUTDOWN_MASK:
            mask |= POLLIN | POLLHUP
        elif peer._queued() < self.sndbuf and not self.sk_shutdown & SEND_SHUTDOWN:
            mask |= POLLOUT
        return mask

    def shutdown(self, how: int) -> None:
        if how not in (0, 1, 2):
            raise KernelError(errno.EINVAL)
        self.sk_shutdown |= how + 1
        self.wq.wake_up()
        peer = self._peer_open()
        if peer is not None:
            peer.wq.wake_up()

    def getpeername(self) -> Address:
        if self._peer_open() is None:
            raise KernelError(errno.ENOTCONN)
        return (0, 0)

    def close(self) -> None:
        if not self.closed:
            super().close()
            peer = self.peer
            if peer is not None:
                peer.wq.wake_up()


def unix_pair(net: Net, type: int) -> tuple[UnixSock, UnixSock]:
    """unix_socketpair: two ends connected to each other."""
    if type not in (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET):
        raise KernelError(errno.ESOCKTNOSUPPORT)
    a, b = UnixSock(net, type), UnixSock(net, type)
    a.peer, b.peer = b, a
    return a, b
