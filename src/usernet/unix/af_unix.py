"""AF_UNIX sockets (net/unix/af_unix.c): streams, datagrams and sequenced
packets, named in the filesystem or in the abstract namespace
(:mod:`usernet.unix.names`: abstract names per network namespace, paths as
real socket files that every namespace shares).

Names are ``sun_path`` as bytes: ``b"\\0..."`` is abstract, anything else a
filesystem path, ``None`` unnamed.  A connection is made at once, without
a handshake: the listener queues a new socket, in the connecting socket's
namespace, for accept().  What is sent is queued at the receiver as skbs
whose truesize (:mod:`usernet.unix.skb`) stays charged to the sender until
read: that is what fills a send buffer, as in Linux.  A stream read runs
across skbs and stops at an urgent byte (MSG_OOB); datagrams and packets
are read whole, with their sender's name as it is when read; a datagram
receiver holds at most ``net.unix.max_dgram_qlen`` + 1 of them.
"""

from __future__ import annotations

import errno
import os
import socket as _pysocket
import struct
from collections import deque
from typing import TYPE_CHECKING, Any

from ..errors import KernelError
from ..ipv4.datapath_state import sysctl_int
from ..sock import (
    AF_UNIX,
    MSG_DONTWAIT,
    MSG_OOB,
    MSG_PEEK,
    MSG_TRUNC,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLPRI,
    POLLRDHUP,
    RCV_SHUTDOWN,
    SEND_SHUTDOWN,
    SHUTDOWN_MASK,
    SOL_SOCKET,
    Sock,
)
from ..task import current_task
from .names import SocketFile, path_of, unix_find_other, unix_table
from .skb import SKB_MAX_HEAD0, UNIX_SKB_FRAGS_SZ, unix_dgram_truesize, unix_stream_truesize

if TYPE_CHECKING:
    from ..net import Net

SOCK_STREAM = 1
SOCK_DGRAM = 2
SOCK_RAW = 3
SOCK_SEQPACKET = 5
UNIX_TYPES = (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET)

# sk_state, in the TCP names Linux reuses for AF_UNIX (and ss prints)
TCP_ESTABLISHED = 1
TCP_CLOSE = 7
TCP_LISTEN = 10

SO_OOBINLINE = _pysocket.SO_OOBINLINE
SO_PASSCRED = _pysocket.SO_PASSCRED
SO_PEERCRED = _pysocket.SO_PEERCRED
SO_ACCEPTCONN = _pysocket.SO_ACCEPTCONN
NO_ID = -1  # cred_to_ucred's uid and gid without credentials (no peer)
OVERFLOW_ID = 65534  # what SCM_CREDENTIALS says of a message sent without them

Ucred = tuple[int, int, int]  # struct ucred: pid, uid, gid
UCRED = struct.Struct("iii")

UnixName = bytes  # sun_path as bound: b"\0..." abstract, else a path


class UnixSock(Sock):
    """One AF_UNIX socket (``struct unix_sock``)."""

    __slots__ = ("acceptq", "addr", "backlog", "bsd_key", "bsd_path", "max_dgram_qlen", "msgs",
                 "oob_skb", "peer", "peer_cred", "rq", "rx_cred", "state", "wmem")

    def __init__(self, net: Net, type: int) -> None:
        super().__init__(net, AF_UNIX, type, 0)
        self.state = TCP_CLOSE
        self.addr: UnixName | None = None
        self.bsd_key: tuple[int, int] | None = None
        self.bsd_path: SocketFile | None = None  # u->path: holds the file's inode
        self.peer: UnixSock | None = None
        self.peer_cred: Ucred | None = None  # sk_peer_pid, sk_peer_cred
        # stream: the skbs from the peer, [data, bytes consumed, truesize,
        # sender]; the sender's wmem is charged until one is used up
        self.rq: deque[list[Any]] = deque()
        self.oob_skb: list[Any] | None = None  # u->oob_skb: the urgent byte's skb
        # the credentials of what the last recvmsg read, for SCM_CREDENTIALS
        # (None unless this socket has SO_PASSCRED)
        self.rx_cred: Ucred | None = None
        # datagrams and packets, with their sender (whose name the reader
        # gets as it is when read: unix_copy_addr)
        self.msgs: deque[tuple[bytes, UnixSock, Ucred | None]] = deque()
        self.wmem = 0  # sk_wmem_alloc: truesize of what this socket sent, still queued
        self.acceptq: deque[UnixSock] = deque()
        self.backlog = 0
        self.max_dgram_qlen = sysctl_int(net, "net.unix.max_dgram_qlen")
        unix_table(net.kernel).socks[self] = None

    # -- names -------------------------------------------------------------------------

    def bind(self, addr: Any) -> None:
        """unix_bind: the empty name autobinds; a name is bound once."""
        name = bytes(addr)
        if not name:
            self._autobind()
            return
        if name[0] == 0:
            if self.addr is not None:
                raise KernelError(errno.EINVAL)
            table = unix_table(self.net.kernel).abstract
            key = (self.net, self.type, name)
            if key in table:
                raise KernelError(errno.EADDRINUSE)
            table[key] = self
        else:
            # unix_bind_bsd makes the file first, and takes it back when the
            # socket turns out to be bound already
            held = SocketFile.mknod(name)
            if self.addr is not None:
                held.put()
                os.unlink(path_of(name))
                raise KernelError(errno.EINVAL)
            self.bsd_path = held
            self.bsd_key = held.key
            unix_table(self.net.kernel).bsd[held.key] = self
        self.addr = name

    def _autobind(self) -> None:
        """unix_autobind: NUL and five hex digits, from a random start."""
        if self.addr is not None:
            return
        table = unix_table(self.net.kernel).abstract
        start = self.net.kernel.rng.getrandbits(32) & 0xFFFFF
        order = start
        while True:
            order = (order + 1) & 0xFFFFF
            name = b"\0" + b"%05x" % order
            key = (self.net, self.type, name)
            if key not in table:
                table[key] = self
                self.addr = name
                return
            if order == start:
                raise KernelError(errno.ENOSPC)

    def getsockname(self) -> Any:
        return self.addr if self.addr is not None else b""

    def getpeername(self) -> Any:
        peer = self.peer
        if peer is None or (self.type != SOCK_DGRAM and self.state != TCP_ESTABLISHED):
            raise KernelError(errno.ENOTCONN)
        return peer.addr if peer.addr is not None else b""

    # -- connections -------------------------------------------------------------------

    def listen(self, backlog: int) -> None:
        """unix_listen: a bound stream or packet socket that is not connected."""
        if self.type == SOCK_DGRAM:
            raise KernelError(errno.EOPNOTSUPP)
        if self.addr is None or self.state not in (TCP_CLOSE, TCP_LISTEN):
            raise KernelError(errno.EINVAL)
        somaxconn = sysctl_int(self.net, "net.core.somaxconn")
        self.backlog = somaxconn if backlog < 0 or backlog > somaxconn else backlog
        if self.state == TCP_CLOSE:
            self.peer_cred = _cred_of_current(self)  # init_peercred
        self.state = TCP_LISTEN
        self.wq.wake_up()  # connectors waiting for room see the new backlog

    def connect(self, addr: Any) -> None:
        """connect(2) that never waits: EAGAIN when the listener's queue is
        full (a blocking socket waits for ``connect_room`` on the listener:
        the socket layer calls ``unix_connect``)."""
        if self.unix_connect(addr) is not None:
            raise KernelError(errno.EAGAIN)

    def unix_connect(self, addr: Any) -> UnixSock | None:
        """connect: None when done; for a stream or packet socket whose
        listener's queue is full, the listener to wait on (unix_wait_for_peer)."""
        name = bytes(addr)
        if self.sock_flag(SO_PASSCRED):
            self._autobind()  # a peer with SO_PASSCRED must be able to name us
        if self.type == SOCK_DGRAM:
            self._dgram_connect(name)
            return None
        # unix_stream_connect's order: the listener, its queue, then our state
        other = unix_find_other(self.net, name, self.type)
        if other.state != TCP_LISTEN or other.closed or other.sk_shutdown & RCV_SHUTDOWN:
            raise KernelError(errno.ECONNREFUSED)
        if len(other.acceptq) > other.backlog:
            return other
        if self.state == TCP_ESTABLISHED:
            raise KernelError(errno.EISCONN)
        if self.state != TCP_CLOSE:
            raise KernelError(errno.EINVAL)
        self._connect_to(other)
        return None

    def _connect_to(self, other: UnixSock) -> None:
        """unix_stream_connect's second half: an embryo for the listener,
        made in this socket's namespace, connected to this socket."""
        new = UnixSock(self.net, self.type)
        new.file_cred = None  # no file (sk_socket) until accept() grafts one
        new.addr = other.addr
        new.bsd_key = other.bsd_key  # the listener's path, as path_get shares it
        if other.bsd_path is not None:
            new.bsd_path = other.bsd_path.get()
        new.peer_cred = _cred_of_current(self)
        new.state = TCP_ESTABLISHED
        new.peer = self
        self.peer = new
        self.peer_cred = other.peer_cred
        self.state = TCP_ESTABLISHED
        other.acceptq.append(new)
        other.wq.wake_up()
        self.wq.wake_up()

    def _dgram_connect(self, name: bytes) -> None:
        """unix_dgram_connect: set the default peer (one that talks to a
        third socket refuses: unix_may_send); leaving an old peer purges
        what it sent."""
        other = unix_find_other(self.net, name, self.type)
        if other.peer is not None and other.peer is not self:
            raise KernelError(errno.EPERM)
        old = self.peer
        self.peer = other
        # both ends read as connected (Linux 5.17+); a former peer that talks
        # to nobody itself reads as unconnected again
        self.state = other.state = TCP_ESTABLISHED
        self.peer_cred = other.peer_cred
        if old is not None and old is not other:
            self._dgram_disconnected(old)
            if old.peer is None:
                old.state = TCP_CLOSE

    def _dgram_disconnected(self, other: UnixSock) -> None:
        """unix_dgram_disconnected: drop the queue; a live old peer that
        was connected back hears ECONNRESET."""
        if not self.msgs:
            return
        self._purge_msgs()
        if not other.closed and other.peer is self:
            other.report_error(errno.ECONNRESET)

    def _purge_msgs(self) -> None:
        for data, sender, _cred in self.msgs:
            _dgram_consumed(data, sender)
        self.msgs.clear()
        self.wq.wake_up()

    def queue_full(self) -> bool:
        """unix_recvq_full: more queued than the backlog (or datagram limit)."""
        if self.type == SOCK_DGRAM:
            return len(self.msgs) > self.max_dgram_qlen
        return len(self.acceptq) > self.backlog

    def connect_room(self) -> bool:
        """What a blocked connector waits for: room in this listener's queue
        (or its end)."""
        return self.closed or self.state != TCP_LISTEN or not self.queue_full()

    def accept(self) -> UnixSock:
        if self.type == SOCK_DGRAM:
            raise KernelError(errno.EOPNOTSUPP)
        if self.state != TCP_LISTEN:
            raise KernelError(errno.EINVAL)
        if not self.acceptq:
            raise KernelError(errno.EAGAIN)
        new = self.acceptq.popleft()
        self.wq.wake_up()  # room for a waiting connector
        task = current_task(self.net.kernel)
        new.file_cred = task.cred
        return new

    # -- data ---------------------------------------------------------------------------

    def sendmsg(self, data: bytes | memoryview, addr: Any, flags: int) -> int:
        return self.sendmsg_scm(data, addr, flags, None)

    def sendmsg_scm(self, data: bytes | memoryview, addr: Any, flags: int,
                    cred: Ucred | None) -> int:
        """sendmsg with the credentials an SCM_CREDENTIALS message gave (the
        socket layer checked them), or None."""
        if self.type == SOCK_STREAM:
            return self._stream_send(data, addr, flags & MSG_OOB, cred)
        if self.type == SOCK_SEQPACKET:  # unix_seqpacket_sendmsg
            if self.sk_err:
                raise KernelError(self.sock_error())
            if self.state != TCP_ESTABLISHED:
                raise KernelError(errno.ENOTCONN)
            addr = None  # unix_seqpacket_sendmsg ignores a name
        if flags & MSG_OOB:
            raise KernelError(errno.EOPNOTSUPP)
        return self._dgram_send(data, addr, cred)

    def _stream_send(self, data: bytes | memoryview, addr: Any, oob: int,
                     cred: Ucred | None) -> int:
        """unix_stream_sendmsg; with MSG_OOB the last byte goes in an skb of
        its own that becomes the peer's urgent byte (queue_oob)."""
        if oob and not len(data):
            raise KernelError(errno.EOPNOTSUPP)
        if addr is not None:
            raise KernelError(errno.EISCONN if self.state == TCP_ESTABLISHED
                              else errno.EOPNOTSUPP)
        peer = self.peer
        if self.state != TCP_ESTABLISHED or peer is None:
            raise KernelError(errno.ENOTCONN)
        if self.sk_shutdown & SEND_SHUTDOWN:
            raise KernelError(errno.EPIPE)
        sent = 0
        body = len(data) - (1 if oob else 0)
        cred = self._add_creds(peer, cred)
        try:
            while sent < body:
                sent += self._stream_skb(peer, data[:body], sent, cred)
            if oob:
                self._stream_skb(peer, data, sent, cred)
                peer.oob_skb = peer.rq[-1]
                sent += 1
        except KernelError:
            if not sent:
                raise
        if sent:
            peer.wq.wake_up()
        return sent

    def _stream_skb(self, peer: UnixSock, data: bytes | memoryview, sent: int,
                    cred: Ucred | None) -> int:
        """One skb of unix_stream_sendmsg: at most half the send buffer less
        64 (two in the pipe) and one page head plus 32 KiB of frags; room is
        sock_alloc_send_pskb's (wmem under sndbuf)."""
        size = min(len(data) - sent, (self.sndbuf >> 1) - 64, SKB_MAX_HEAD0 + UNIX_SKB_FRAGS_SZ)
        self._alloc_send_room()
        if peer.closed or peer.sk_shutdown & RCV_SHUTDOWN:
            raise KernelError(errno.EPIPE)
        truesize = unix_stream_truesize(size)
        peer.rq.append([bytes(data[sent:sent + size]), 0, truesize, self, cred])
        self.wmem += truesize
        return size

    def _alloc_send_room(self) -> None:
        """sock_alloc_send_pskb's checks before it gives a buffer: a pending
        error, a shut-down sender, a send buffer already full."""
        if self.sk_err:
            raise KernelError(self.sock_error())
        if self.sk_shutdown & SEND_SHUTDOWN:
            raise KernelError(errno.EPIPE)
        if self.wmem >= self.sndbuf:
            raise KernelError(errno.EAGAIN)

    def _dgram_send(self, data: bytes | memoryview, addr: Any, cred: Ucred | None) -> int:
        """unix_dgram_sendmsg, in 6.18's order: an autobind for SO_PASSCRED,
        the size, the buffer (sock_alloc_send_pskb: a pending error, a
        shut-down sender, a full send buffer), a destination at all, then
        the receiver."""
        if self.sock_flag(SO_PASSCRED):
            self._autobind()
        if len(data) > self.sndbuf - 32:
            raise KernelError(errno.EMSGSIZE)
        self._alloc_send_room()
        if addr is None and self.peer is None:
            raise KernelError(errno.ENOTCONN)
        other = unix_find_other(self.net, bytes(addr), self.type) if addr is not None \
            else self.peer
        assert other is not None
        if other.peer is not None and other.peer is not self:
            raise KernelError(errno.EPERM)  # unix_may_send: it talks to someone else
        if other.closed:
            if other is self.peer:  # the peer died: disconnect
                self.peer = None
                self.state = TCP_CLOSE
                self._dgram_disconnected(other)
            raise KernelError(errno.ECONNREFUSED)
        if other.sk_shutdown & RCV_SHUTDOWN:
            raise KernelError(errno.EPIPE)
        if other.peer is not self and other.queue_full():
            raise KernelError(errno.EAGAIN)
        other.msgs.append((bytes(data), self, self._add_creds(other, cred)))
        self.wmem += unix_dgram_truesize(len(data))
        other.wq.wake_up()
        return len(data)

    def _add_creds(self, other: UnixSock, cred: Ucred | None) -> Ucred | None:
        """maybe_add_creds: the sender's pid, uid and gid go with what it
        sends when either end has SO_PASSCRED or the receiver is not yet
        accepted (explicit SCM_CREDENTIALS win)."""
        if cred is not None:
            return cred
        if self.sock_flag(SO_PASSCRED) or other.sock_flag(SO_PASSCRED) \
                or other.file_cred is None:
            return _cred_of_current(self)
        return None

    def _set_rx_cred(self, cred: Ucred | None) -> None:
        """scm_recv: with SO_PASSCRED the reader learns who sent it; what
        came without credentials shows pid 0 and the overflow ids."""
        if self.sock_flag(SO_PASSCRED):
            self.rx_cred = cred if cred is not None else (0, OVERFLOW_ID, OVERFLOW_ID)
        else:
            self.rx_cred = None

    def recvmsg(self, bufsize: int, flags: int) -> tuple[bytes, Any]:
        self.rx_cred = None
        if self.type == SOCK_STREAM:
            data = self._stream_recv(bufsize, flags)
            # unix_copy_addr: the sender's name as it is now, once data came
            peer = self.peer
            return data, (peer.addr if data and peer is not None else None)
        if self.type == SOCK_SEQPACKET and self.state != TCP_ESTABLISHED:
            raise KernelError(errno.ENOTCONN)
        if flags & MSG_OOB:
            raise KernelError(errno.EOPNOTSUPP)
        if self.sk_err:  # __skb_try_recv_datagram: a pending error comes first
            raise KernelError(self.sock_error())
        if self.msgs:
            data, sender, cred = self.msgs[0] if flags & MSG_PEEK else self.msgs.popleft()
            if not flags & MSG_PEEK:
                _dgram_consumed(data, sender)
                self.wq.wake_up()  # room in the queue for waiting senders
            self._set_rx_cred(cred)
            if len(data) > bufsize:
                self.msg_flags = MSG_TRUNC
            return data[:bufsize], sender.addr
        if self.sk_shutdown & RCV_SHUTDOWN and (self.type == SOCK_SEQPACKET
                                                or not flags & MSG_DONTWAIT):
            # a datagram socket notices the shutdown only when it waits; a
            # disconnected seqpacket one signals EOF even without waiting
            return b"", None
        raise KernelError(errno.EAGAIN)

    def _stream_recv(self, bufsize: int, flags: int) -> bytes:
        if self.state != TCP_ESTABLISHED:
            raise KernelError(errno.EINVAL)
        if flags & MSG_OOB:
            return self._stream_recv_urg(flags)
        out = self._stream_read(bufsize, flags & MSG_PEEK)
        if out:
            return out
        if self.sk_err:
            raise KernelError(self.sock_error())
        if self.sk_shutdown & RCV_SHUTDOWN:
            return b""
        raise KernelError(errno.EAGAIN)

    def _stream_read(self, bufsize: int, peek: int) -> bytes:
        """unix_stream_read_generic over the skbs, with manage_oob: a read
        stops at the urgent byte once it has data; reaching it first, it
        drops it (unless SO_OOBINLINE) and goes on."""
        rq, out, copied, i = self.rq, [], 0, 0
        scm: Ucred | None = None
        inline = self.sock_flag(SO_OOBINLINE)
        passcred = self.sock_flag(SO_PASSCRED)
        while copied < bufsize and i < len(rq):
            skb = rq[i]
            left = len(skb[0]) - skb[1]
            if not left:  # an urgent byte already read with MSG_OOB
                if copied and (self.oob_skb is None or skb is self.oob_skb):
                    break
                if peek:
                    i += 1
                else:
                    self._unlink(i)
                continue
            if skb is self.oob_skb:
                if copied:
                    break
                if not peek:
                    self.oob_skb = None
                    if not inline:
                        self._unlink(i)
                        continue
                elif not inline:
                    i += 1
                    continue
            if passcred:
                # check_creds: one read returns what one sender's credentials
                # cover, the first skb's
                if not copied:
                    scm = skb[4]
                    self._set_rx_cred(scm)
                elif skb[4] != scm:
                    break
            take = min(left, bufsize - copied)
            out.append(skb[0][skb[1]:skb[1] + take])
            copied += take
            if peek:
                i += 1
            else:
                skb[1] += take
                if skb[1] == len(skb[0]):
                    self._unlink(i)
        return b"".join(out)

    def _stream_recv_urg(self, flags: int) -> bytes:
        """unix_stream_recv_urg: the urgent byte, which stays queued as an
        empty skb until a normal read passes it."""
        skb = self.oob_skb
        if skb is None or self.sock_flag(SO_OOBINLINE):
            raise KernelError(errno.EINVAL)
        if not flags & MSG_PEEK:
            self.oob_skb = None
            skb[1] += 1
        return bytes(skb[0][-1:])

    def _unlink(self, i: int) -> None:
        """Take skb ``i`` off the queue: its truesize goes back to its sender
        (sock_wfree), who may write again."""
        skb = self.rq[i]
        del self.rq[i]
        sender = skb[3]
        sender.wmem -= skb[2]
        sender.wq.wake_up()

    def _inq_len(self) -> int:
        return sum(len(skb[0]) - skb[1] for skb in self.rq)

    def diag_rqlen(self) -> tuple[int, int]:
        """sk_diag_show_rqlen: a listener's accept queue and backlog; else
        unix_inq_len (a stream's or packet socket's queued bytes, the first
        datagram's length) and unix_outq_len (sk_wmem_alloc)."""
        if self.state == TCP_LISTEN:
            return len(self.acceptq), self.backlog
        if self.type == SOCK_STREAM:
            return self._inq_len(), self.wmem
        if self.type == SOCK_SEQPACKET:
            return sum(len(m[0]) for m in self.msgs), self.wmem
        return (len(self.msgs[0][0]) if self.msgs else 0), self.wmem

    def shutdown(self, how: int) -> None:
        """unix_shutdown: this end's directions, mirrored on a stream peer."""
        if how not in (0, 1, 2):
            raise KernelError(errno.EINVAL)
        mode = how + 1
        self.sk_shutdown |= mode
        self.wq.wake_up()
        peer = self.peer
        if peer is not None and self.type != SOCK_DGRAM:
            peer.sk_shutdown |= (SEND_SHUTDOWN if mode & RCV_SHUTDOWN else 0) | \
                (RCV_SHUTDOWN if mode & SEND_SHUTDOWN else 0)
            peer.wq.wake_up()

    def poll(self) -> int:
        """unix_poll (streams) and unix_dgram_poll (datagrams, packets)."""
        mask = POLLERR if self.sk_err else 0
        if self.sk_shutdown == SHUTDOWN_MASK:
            mask |= POLLHUP
        if self.sk_shutdown & RCV_SHUTDOWN:
            mask |= POLLIN | POLLRDHUP
        if self.rq or self.msgs or self.acceptq:
            mask |= POLLIN
        if self.oob_skb is not None:
            mask |= POLLPRI
        if self.type != SOCK_DGRAM and self.state == TCP_CLOSE:
            mask |= POLLHUP
        if self._writable():
            mask |= POLLOUT
        return mask

    def _writable(self) -> bool:
        """unix_writable: not a listener, and at most a quarter of the send
        buffer in flight (sk_wmem_alloc counts from 1); a datagram socket
        also waits while its peer, talking to someone else, is full."""
        if self.state == TCP_LISTEN or (self.wmem + 1) << 2 > self.sndbuf:
            return False
        if self.type == SOCK_STREAM:
            return True
        peer = self.peer
        return peer is None or peer.closed or peer.peer is self or not peer.queue_full()

    # -- options -----------------------------------------------------------------------

    def getsockopt(self, level: int, name: int) -> Any:
        if level == SOL_SOCKET:
            if name == SO_PEERCRED:
                cred = self.peer_cred or (0, NO_ID, NO_ID)
                return UCRED.pack(*cred)
            if name == SO_ACCEPTCONN:
                return int(self.state == TCP_LISTEN)
        return super().getsockopt(level, name)

    # -- release -----------------------------------------------------------------------

    def close(self) -> None:
        """unix_release_sock: the name goes (the file stays); a stream peer
        is shut down, and told ECONNRESET if this end left data unread or
        was never accepted; queued connections are released the same way."""
        if self.closed:
            return
        self._release(embryo=False)

    def _release(self, embryo: bool) -> None:
        self.closed = True
        table = unix_table(self.net.kernel)
        if self.addr is not None and self.addr[:1] == b"\0":
            key = (self.net, self.type, self.addr)
            if table.abstract.get(key) is self:
                del table.abstract[key]
        if self.bsd_key is not None and table.bsd.get(self.bsd_key) is self:
            del table.bsd[self.bsd_key]
        if self.bsd_path is not None:
            self.bsd_path.put()
            self.bsd_path = None
        peer = self.peer
        if peer is not None and self.type != SOCK_DGRAM:
            peer.sk_shutdown = SHUTDOWN_MASK
            # unread bytes (an empty packet is none) or never accepted
            if self._inq_len() or any(m[0] for m in self.msgs) or embryo:
                peer.sk_err = errno.ECONNRESET
            peer.wq.wake_up()
        self._purge_msgs()
        while self.rq:
            self._unlink(0)
        self.oob_skb = None
        while self.acceptq:
            self.acceptq.popleft()._release(embryo=True)
        self.state = TCP_CLOSE
        table.socks.pop(self, None)
        self.wq.wake_up()
        super().close()


def _dgram_consumed(data: bytes, sender: UnixSock) -> None:
    """A datagram left the queue (read or purged): its truesize goes back to
    its sender (sock_wfree), who may write again."""
    sender.wmem -= unix_dgram_truesize(len(data))
    sender.wq.wake_up()


def _cred_of_current(sk: UnixSock) -> Ucred:
    task = current_task(sk.net.kernel)
    return task.tgid, task.cred.uid, task.cred.gid


def unix_create(net: Net, type: int, protocol: int) -> UnixSock:
    """unix_create: SOCK_RAW is taken as SOCK_DGRAM; protocol 0 or PF_UNIX."""
    if protocol not in (0, AF_UNIX):
        raise KernelError(errno.EPROTONOSUPPORT)
    if type == SOCK_RAW:
        type = SOCK_DGRAM
    if type not in UNIX_TYPES:
        raise KernelError(errno.ESOCKTNOSUPPORT)
    return UnixSock(net, type)


def unix_pair(net: Net, type: int) -> tuple[UnixSock, UnixSock]:
    """unix_socketpair: two unnamed sockets, each the other's peer."""
    a, b = unix_create(net, type, 0), unix_create(net, type, 0)
    cred = _cred_of_current(a)
    for x, y in ((a, b), (b, a)):
        x.peer = y
        x.state = TCP_ESTABLISHED
        x.peer_cred = cred
    return a, b
