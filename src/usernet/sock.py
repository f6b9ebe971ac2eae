"""Sockets inside the kernel (``struct sock`` and ``proto_ops``).

A :class:`Sock` belongs forever to the namespace it was made in (the RFC:
"tag all sockets with a network namespace they will always be in") and
holds a reference on it.  Protocol operations never block: they raise
``KernelError(EAGAIN)`` (or ``EINPROGRESS`` for a connect in progress) and
the socket layer (:mod:`usernet.socket`) waits on ``sk.wq`` -- woken on
every state change -- until ``poll()`` reports what it needs, within the
socket's timeout, in virtual time.

Two rules keep that loop from spinning: when ``poll()`` reports POLLIN, a
``recvmsg`` without ``MSG_DONTWAIT`` does not raise EAGAIN (at end of
stream it returns ``b""``); when it reports POLLOUT, ``sendmsg`` makes
progress.  The socket layer passes ``MSG_DONTWAIT`` for non-blocking calls.

Socket options: ``SOL_SOCKET`` and (for AF_INET) ``IPPROTO_IP`` are
checked and answered here as ``sock_setsockopt``/``ip_setsockopt`` do, with
Linux's defaults; the values live in ``opts`` (booleans as 0/1) or in the
fields below.  Other levels are stored as given unless a protocol
overrides them.
"""

from __future__ import annotations

import errno
import select
import socket as _pysocket
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import KernelError
from .ipv4.datapath_state import sysctl_int
from .task import current_cred
from .wait import WaitQueue

if TYPE_CHECKING:
    from .dev.netdevice import NetDevice
    from .net import Net
    from .task import Cred

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
SHUTDOWN_MASK = 3

Address = tuple[int, int]  # (IPv4 address as int, port), host order

AF_UNIX = int(_pysocket.AF_UNIX)
AF_INET = int(_pysocket.AF_INET)
SOL_SOCKET = _pysocket.SOL_SOCKET
IPPROTO_IP = _pysocket.IPPROTO_IP
SO_REUSEADDR = _pysocket.SO_REUSEADDR
SO_REUSEPORT = _pysocket.SO_REUSEPORT
SO_BROADCAST = _pysocket.SO_BROADCAST
SO_BINDTODEVICE = _pysocket.SO_BINDTODEVICE
SO_RCVBUF = _pysocket.SO_RCVBUF
SO_SNDBUF = _pysocket.SO_SNDBUF
SO_ERROR = _pysocket.SO_ERROR
SO_MARK = _pysocket.SO_MARK
IP_TOS = _pysocket.IP_TOS
IP_TTL = _pysocket.IP_TTL
# linux/in.h values Python 3.11's socket module does not export
IP_MTU_DISCOVER = 10
IP_RECVERR = 11
IP_MTU = 14
IP_PMTUDISC_DONT = 0
IP_PMTUDISC_WANT = 1
IP_PMTUDISC_DO = 2
IP_PMTUDISC_OMIT = 5
SO_RCVBUFFORCE = 33
SO_SNDBUFFORCE = 32
# plain ints: flag arithmetic on the MsgFlag enum costs microseconds per call
MSG_PEEK = int(_pysocket.MSG_PEEK)
MSG_DONTWAIT = int(_pysocket.MSG_DONTWAIT)
MSG_TRUNC = int(_pysocket.MSG_TRUNC)
MSG_OOB = int(_pysocket.MSG_OOB)
MSG_ERRQUEUE = int(_pysocket.MSG_ERRQUEUE)

# sizeof(struct sk_buff) and sizeof(struct skb_shared_info), cache-aligned,
# on x86_64: SOCK_MIN_RCVBUF is 2 * (2048 + skb), SOCK_MIN_SNDBUF twice that.
SKB_STRUCT = 256
SKB_SHINFO = 320
SOCK_MIN_RCVBUF = 2304
SOCK_MIN_SNDBUF = 4608
_INT_MAX = 2**31 - 1

SO_TIMESTAMP = 29
_SO_BOOLS = frozenset({SO_REUSEADDR, SO_REUSEPORT, SO_BROADCAST, _pysocket.SO_KEEPALIVE,
                       _pysocket.SO_OOBINLINE, _pysocket.SO_DONTROUTE, SO_TIMESTAMP,
                       _pysocket.SO_PASSCRED})
_SO_INTS = {_pysocket.SO_PRIORITY: 0, _pysocket.SO_RCVLOWAT: 1}
_SO_READONLY = frozenset({_pysocket.SO_TYPE, _pysocket.SO_PROTOCOL, _pysocket.SO_DOMAIN,
                          SO_ERROR, _pysocket.SO_ACCEPTCONN, _pysocket.SO_SNDLOWAT,
                          _pysocket.SO_PEERCRED})
IP_PKTINFO = 8
IP_RECVTTL = 12
IP_FREEBIND = 15
IP_TRANSPARENT = 19
IP_BIND_ADDRESS_NO_PORT = 24
_IP_BOOLS = frozenset({IP_RECVERR, IP_PKTINFO, _pysocket.IP_RECVTOS, IP_RECVTTL, IP_FREEBIND,
                       IP_TRANSPARENT, IP_BIND_ADDRESS_NO_PORT, _pysocket.IP_MULTICAST_LOOP,
                       _pysocket.IP_HDRINCL, _pysocket.IP_RECVOPTS, _pysocket.IP_RETOPTS})
_IP_DEFAULTS = {_pysocket.IP_MULTICAST_LOOP: 1, _pysocket.IP_MULTICAST_TTL: 1,
                _pysocket.IP_TOS: 0}


class ExtendedErr(NamedTuple):
    """One IP_RECVERR report (struct sock_extended_err, its offender) and the
    datagram it is about: what recvmsg(MSG_ERRQUEUE) returns."""

    errno: int
    origin: int  # SO_EE_ORIGIN_LOCAL (1) or SO_EE_ORIGIN_ICMP (2)
    type: int
    code: int
    info: int
    offender: int  # who sent the ICMP error (0 for local errors)
    payload: bytes  # the original datagram's payload, as quoted
    addr: Address  # where it was going


def skb_truesize(alloc: int) -> int:
    """skb->truesize of a linear buffer of ``alloc`` bytes (data + headroom):
    the slab or page the head came from, plus the sk_buff.  Small heads
    come from the 576-byte skb_small_head_cache (Linux 6.3+).  Measured on
    6.18 through /proc/net/udp: 832, 1280, 2304, 4352 ... bytes."""
    need = alloc + SKB_SHINFO
    if need <= 576:
        return 576 + SKB_STRUCT
    size = 1024
    while size < need:
        size <<= 1
    return size + SKB_STRUCT


def int_value(value: Any) -> int:
    """An int option's value as the kernel reads it from optval: an int, or
    at least four bytes of native (little-endian) memory."""
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, bytes | bytearray | memoryview) and len(value) >= 4:
        return int.from_bytes(bytes(value[:4]), "little", signed=True)
    raise KernelError(errno.EINVAL)


class Sock:
    """What every protocol's socket has; protocols override the operations."""

    __slots__ = ("__weakref__", "bound_dev", "closed", "family", "file_cred", "mark",
                 "msg_flags", "net", "opts", "protocol", "rcvbuf", "sk_err", "sk_shutdown",
                 "sk_uid", "sndbuf", "type", "wq")

    def __init__(self, net: Net, family: int, type: int, protocol: int) -> None:
        self.net = net.get()
        # sk->sk_socket->file->f_cred: the creator's credentials while a file
        # holds the socket; None once it is orphaned (closed but still in the
        # protocol) and for a TCP child until accept() gives it a file
        self.file_cred: Cred | None = current_cred(net.kernel)
        # sk->sk_uid: the socket inode's owner, which stays with an orphan
        # (what sock_diag reports: ss -e's "uid:")
        self.sk_uid = self.file_cred.uid
        self.family = family
        self.type = type
        self.protocol = protocol
        self.wq = WaitQueue()
        self.sk_err = 0  # pending error, reported once (SO_ERROR, sock_error)
        self.sk_shutdown = 0
        self.closed = False
        self.bound_dev: NetDevice | None = None
        self.mark = 0
        self.rcvbuf = _core_int(net, "net.core.rmem_default")
        self.sndbuf = _core_int(net, "net.core.wmem_default")
        self.opts: dict[tuple[int, int], Any] = {}  # options stored as given
        # msg_flags of the last recvmsg: MSG_TRUNC when a datagram was cut
        # (the socket layer clears it before each call)
        self.msg_flags = 0

    # -- the operations (proto_ops); protocols override what they support ----

    def bind(self, addr: Address) -> None:
        raise KernelError(errno.EOPNOTSUPP)

    def connect(self, addr: Address) -> None:
        raise KernelError(errno.EOPNOTSUPP)

    def connect_start(self, addr: Address) -> int:
        """connect() that returns EINPROGRESS instead of raising it (any
        other error is raised): the socket layer's way in, which a blocking
        connect takes every time."""
        self.connect(addr)
        return 0

    def listen(self, backlog: int) -> None:
        raise KernelError(errno.EOPNOTSUPP)

    def accept(self) -> Sock:
        raise KernelError(errno.EOPNOTSUPP)

    def sendmsg(self, data: bytes | memoryview, addr: Address | None, flags: int) -> int:
        raise KernelError(errno.EOPNOTSUPP)

    def recvmsg(self, bufsize: int, flags: int) -> tuple[bytes, Address | None]:
        raise KernelError(errno.EOPNOTSUPP)

    # The socket layer's shortcuts for its commonest calls; a protocol
    # answers only when the result is certain and final, else the full
    # operation runs.

    def send_connected(self, data: bytes | memoryview) -> int:
        """send(data) with no flags that can neither block nor fail: the
        byte count, or -1 to take ``sendmsg``."""
        return -1

    def send_to(self, data: bytes | memoryview, daddr: int, dport: int) -> int:
        """sendto(data, addr) with no flags, as ``send_connected``."""
        return -1

    def recv_ready(self, bufsize: int) -> bytes | None:
        """recv(bufsize) with no flags when data is already queued and nothing
        else is pending; None to take ``recvmsg``."""
        return None

    def recv_ready_from(self, bufsize: int) -> tuple[bytes, Address | None] | None:
        """recvfrom(bufsize) with no flags, as ``recv_ready``."""
        return None

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
        if level == SOL_SOCKET:
            self._sock_setsockopt(name, value)
        elif level == IPPROTO_IP and self.family == AF_INET:
            self._ip_setsockopt(name, value)
        else:
            self.opts[(level, name)] = value

    def getsockopt(self, level: int, name: int) -> Any:
        if level == SOL_SOCKET:
            return self._sock_getsockopt(name)
        if level == IPPROTO_IP and self.family == AF_INET:
            return self._ip_getsockopt(name)
        if (level, name) in self.opts:
            return self.opts[(level, name)]
        raise KernelError(errno.ENOPROTOOPT)

    def recv_error(self) -> ExtendedErr:
        """recvmsg(MSG_ERRQUEUE): the oldest IP_RECVERR report (EAGAIN: none)."""
        raise KernelError(errno.EAGAIN)

    def sock_error(self) -> int:
        """sock_error(): take the pending error (0 if none)."""
        err, self.sk_err = self.sk_err, 0
        return err

    def report_error(self, err: int) -> None:
        """sk_error_report: set the error and wake every waiter."""
        self.sk_err = err
        self.wq.wake_up()

    def close_exiting(self) -> None:
        """inet_release for a task that is exiting (PF_EXITING): as close,
        but never waiting (SO_LINGER's wait is skipped)."""
        self.close()

    def close(self) -> None:
        """Release the socket; protocols unhash themselves first."""
        if not self.closed:
            self.closed = True
            self.wq.wake_up()
            self.net.put()

    # -- helpers for protocols ------------------------------------------------

    def sock_flag(self, name: int) -> bool:
        """A boolean SOL_SOCKET option (SO_REUSEADDR, SO_BROADCAST, ...)."""
        return bool(self.opts.get((SOL_SOCKET, name)))

    def ip_opt(self, name: int, default: int = 0) -> int:
        """An IPPROTO_IP option as set (IP_TTL 0 means the sysctl default)."""
        value: int = self.opts.get((IPPROTO_IP, name), default)
        return value

    def pmtudisc_mode(self) -> int:
        """IP_MTU_DISCOVER, defaulting as inet_create does."""
        mode = self.opts.get((IPPROTO_IP, IP_MTU_DISCOVER))
        if mode is None:
            no_pmtu = sysctl_int(self.net, "net.ipv4.ip_no_pmtu_disc")
            return IP_PMTUDISC_DONT if no_pmtu else IP_PMTUDISC_WANT
        return int(mode)

    # -- sock_setsockopt / sock_getsockopt (net/core/sock.c) --------------------

    def _sock_setsockopt(self, name: int, value: Any) -> None:
        if name == SO_BINDTODEVICE:
            self.bound_dev = _bind_device(self, value)
            return
        if name == _pysocket.SO_LINGER:  # struct linger: l_onoff, l_linger
            if isinstance(value, int) or len(value) < 8:
                raise KernelError(errno.EINVAL)
            self.opts[(SOL_SOCKET, name)] = bytes(value[:8])
            return
        val = int_value(value)
        if name in _SO_BOOLS:
            self.opts[(SOL_SOCKET, name)] = int(val != 0)
        elif name in (SO_RCVBUF, SO_RCVBUFFORCE):
            cap = _INT_MAX if name == SO_RCVBUFFORCE else _core_int(self.net,
                                                                     "net.core.rmem_max")
            self.rcvbuf = max(min(val & 0xFFFFFFFF, cap, _INT_MAX // 2) * 2, SOCK_MIN_RCVBUF)
        elif name in (SO_SNDBUF, SO_SNDBUFFORCE):
            cap = _INT_MAX if name == SO_SNDBUFFORCE else _core_int(self.net,
                                                                     "net.core.wmem_max")
            self.sndbuf = max(min(val & 0xFFFFFFFF, cap, _INT_MAX // 2) * 2, SOCK_MIN_SNDBUF)
        elif name == SO_MARK:
            self.mark = val & 0xFFFFFFFF
        elif name in _SO_INTS:
            self.opts[(SOL_SOCKET, name)] = val
        else:
            raise KernelError(errno.ENOPROTOOPT)
        self.wq.wake_up()  # a bigger buffer may make room

    def _sock_getsockopt(self, name: int) -> Any:
        simple = {_pysocket.SO_TYPE: self.type, _pysocket.SO_PROTOCOL: self.protocol,
                  _pysocket.SO_DOMAIN: self.family, SO_RCVBUF: self.rcvbuf,
                  SO_SNDBUF: self.sndbuf, SO_MARK: self.mark, _pysocket.SO_SNDLOWAT: 1,
                  _pysocket.SO_ACCEPTCONN: 0}
        if name == SO_ERROR:
            return self.sock_error()
        if name in simple:
            return self.opts.get((SOL_SOCKET, name), simple[name])
        if name == SO_BINDTODEVICE:
            dev = self.bound_dev
            return b"" if dev is None else dev.name.encode() + b"\0"
        if name in _SO_BOOLS:
            return self.opts.get((SOL_SOCKET, name), 0)
        if name in _SO_INTS:
            return self.opts.get((SOL_SOCKET, name), _SO_INTS[name])
        if name == _pysocket.SO_LINGER:
            return self.opts.get((SOL_SOCKET, name), bytes(8))
        if name in (_pysocket.SO_RCVTIMEO, _pysocket.SO_SNDTIMEO):
            return bytes(16)
        raise KernelError(errno.ENOPROTOOPT)

    # -- ip_setsockopt / ip_getsockopt (net/ipv4/ip_sockglue.c) -----------------

    def _ip_setsockopt(self, name: int, value: Any) -> None:
        val = int_value(value)
        key = (IPPROTO_IP, name)
        if name == _pysocket.IP_TTL:
            if val != -1 and not 1 <= val <= 255:
                raise KernelError(errno.EINVAL)
            self.opts[key] = 0 if val == -1 else val  # 0: net.ipv4.ip_default_ttl
        elif name == _pysocket.IP_TOS:
            self.opts[key] = val & 0xFF
        elif name == IP_MTU_DISCOVER:
            if not 0 <= val <= IP_PMTUDISC_OMIT:
                raise KernelError(errno.EINVAL)
            self.opts[key] = val
        elif name == _pysocket.IP_MULTICAST_TTL:
            if val == -1:
                val = 1
            if not 0 <= val <= 255:
                raise KernelError(errno.EINVAL)
            self.opts[key] = val
        elif name == _pysocket.IP_HDRINCL and self.type != _pysocket.SOCK_RAW:
            raise KernelError(errno.ENOPROTOOPT)
        elif name in _IP_BOOLS:
            self.opts[key] = int(val != 0)
        else:
            raise KernelError(errno.ENOPROTOOPT)

    def _ip_getsockopt(self, name: int) -> Any:
        if name == _pysocket.IP_TTL:
            ttl = self.ip_opt(name)
            if not ttl:
                from .ipv4.datapath_state import sysctl_int

                ttl = sysctl_int(self.net, "net.ipv4.ip_default_ttl")
            return ttl
        if name == IP_MTU_DISCOVER:
            return self.pmtudisc_mode()
        if name == IP_MTU:
            raise KernelError(errno.ENOTCONN)
        if name in _IP_DEFAULTS or name in _IP_BOOLS:
            return self.opts.get((IPPROTO_IP, name), _IP_DEFAULTS.get(name, 0))
        raise KernelError(errno.ENOPROTOOPT)


class CtlSock:
    """A namespace's control socket (``inet_ctl_sock_create``): the kernel's
    own socket that ICMP messages (icmp_reply, icmp_send) and the TCP segments
    sent for no full socket (resets, TIME_WAIT and request-socket ACKs) go out
    on.  It has a ``struct socket`` but no file: the ``owner`` match finds a
    socket there (--socket-exists) but no credentials.  It holds nothing per
    namespace, so :data:`CTL_SK` stands for every namespace's."""

    __slots__ = ()
    file_cred: Cred | None = None
    daddr = 0  # no peer: its packets take the hashed IP IDs (ip_ident.py)


CTL_SK = CtlSock()


def sk_to_full_sk(sk: Any) -> Any:
    """sk_to_full_sk: a TCP request socket (a SYN-ACK's skb->sk) stands for
    its listener; any other socket (or None) for itself."""
    if sk is None or isinstance(sk, Sock | CtlSock):
        return sk
    return sk.listener


def _core_int(net: Net, key: str) -> int:
    """A global net.core value (rmem_default, wmem_max ...): init_net's."""
    from .sysctl import core_global

    return int(core_global(net.kernel.init_net).values[key])


def _bind_device(sk: Sock, value: Any) -> NetDevice | None:
    """SO_BINDTODEVICE: a name (up to IFNAMSIZ, NUL-terminated); "" unbinds."""
    raw = value.to_bytes(4, "little", signed=True) if isinstance(value, int) else bytes(value)
    name = raw[:16].split(b"\0", 1)[0].decode(errors="replace")
    if not name:
        return None
    dev = sk.net.dev_get_by_name(name)
    if dev is None:
        raise KernelError(errno.ENODEV)
    return dev
