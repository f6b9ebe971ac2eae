"""UDP (``net/ipv4/udp.c``): the socket table, input, output and ICMP errors.

The table is one dict for the whole kernel keyed by (namespace, port) --
the RFC's rule for large hash tables: shared, with the namespace as part of
the key, so a lookup costs the same however many namespaces exist, and port
53 in one namespace never meets port 53 in another.  A datagram for a port
nobody has bound earns ICMP port unreachable.

Lookup is ``__udp4_lib_lookup``'s: sockets bound to the packet's own
address are tried before wildcard ones, and within each pass the best
score wins (a connected peer or a bound device adds to it; of equal scores
the socket bound last wins, as Linux adds to the head of the slot).  A
SO_REUSEPORT group shares one address and port; which member gets a
datagram is ``udp_ehashfn``'s jhash of the 4-tuple -- with a zero secret,
so runs repeat.  Broadcasts and multicasts go to every matching socket
(``__udp4_lib_mcast_deliver``).

Receive memory is counted as Linux counts it: each datagram charges its skb
truesize to ``rmem_alloc``; one that would pass ``rcvbuf`` is dropped
(unless the queue is empty) and counted in RcvbufErrors and InErrors.
Devices orphan a sent skb at once (veth and lo do), so the send buffer
never fills and sends never block.

Output leaves the checksum to the device as Linux does on veth and lo
(CHECKSUM_PARTIAL): the field holds the folded pseudo-header sum, exactly
what a capture on a veth shows.  Receivers trust frames that crossed a veth
(CHECKSUM_UNNECESSARY) and verify the rest.
"""

from __future__ import annotations

import errno
import struct
from collections import deque
from typing import TYPE_CHECKING, Any

from ..dev.datapath import dev_queue_xmit
from ..dev.netdevice import IFF_LOOPBACK
from ..errors import KernelError
from ..ipv4 import rt_cache
from ..ipv4.datapath_state import ipv4_dp, sysctl_int
from ..ipv4.fib import RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST, RTN_UNICAST
from ..ipv4.fib_frontend import inet_addr_type
from ..ipv4.icmp import (
    icmp_err_convert,
    icmp_err_handlers,
    icmp_send,
    ipv4_redirect,
    ipv4_update_pmtu,
)
from ..ipv4.ip_ident import inet_next_id
from ..ipv4.ip_output import ip_build_and_send, route_mtu
from ..ipv4.neighbour import NUD_CONNECTED
from ..ipv4.route import RTCF_BROADCAST, ip_route_output_cached
from ..jhash import jhash_3words
from ..netfilter.tables import nf_net
from ..sock import (
    AF_INET,
    IP_FREEBIND,
    IP_MTU,
    IP_PMTUDISC_DO,
    IP_PMTUDISC_DONT,
    IP_PMTUDISC_OMIT,
    IP_PMTUDISC_WANT,
    IP_RECVERR,
    IP_TOS,
    IP_TRANSPARENT,
    IP_TTL,
    IPPROTO_IP,
    MSG_DONTWAIT,
    MSG_OOB,
    MSG_PEEK,
    MSG_TRUNC,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLRDHUP,
    RCV_SHUTDOWN,
    SEND_SHUTDOWN,
    SHUTDOWN_MASK,
    SO_BROADCAST,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SOL_SOCKET,
    Address,
    ExtendedErr,
    Sock,
    skb_truesize,
)
from ..wire.checksum import csum_partial, pseudo_header_sum
from ..wire.icmp import (
    ICMP_DEST_UNREACH,
    ICMP_FRAG_NEEDED,
    ICMP_PARAMETERPROB,
    ICMP_PORT_UNREACH,
    ICMP_REDIRECT,
    ICMP_SOURCE_QUENCH,
)
from ..wire.ipv4 import IP_DF, IPPROTO_UDP, ipv4_header
from ..wire.udp import UDP_HDR

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..ipv4.route import OutputRoute
    from ..net import Net

SOCK_DGRAM = 2
SOL_UDP = 17
SO_EE_ORIGIN_LOCAL = 1
SO_EE_ORIGIN_ICMP = 2
SMALL_TRUESIZE = 832  # skb_truesize() of a datagram of up to 197 bytes
SMALL_ULEN = 205  # ... whose UDP length is at most this
COALESCE_ROOM = 212  # a second fragment this small fits the first one's tailroom

# (namespace, port) -> the sockets bound to that port, the last bound first
udp_table: dict[tuple[Net, int], list[UdpSock]] = {}


class ReuseportGroup:
    """sock_reuseport: the SO_REUSEPORT sockets sharing one address and port,
    in join order; leaving moves the last member into the gap, as Linux does."""

    __slots__ = ("socks",)

    def __init__(self, sk: UdpSock) -> None:
        self.socks = [sk]

    def detach(self, sk: UdpSock) -> None:
        socks = self.socks
        i = socks.index(sk)
        socks[i] = socks[-1]
        socks.pop()

    def select(self, hash32: int) -> UdpSock | None:
        """reuseport_select_sock_by_hash: reciprocal_scale of the hash, skipping
        connected members."""
        socks = self.socks
        n = len(socks)
        i = start = (hash32 * n) >> 32
        while True:
            sk = socks[i]
            if not sk.dport:
                return sk
            i = (i + 1) % n
            if i == start:
                return None


class UdpSock(Sock):
    """A SOCK_DGRAM socket, tagged forever with the namespace it was made in."""

    __slots__ = ("bind_locked", "bind_port_locked", "daddr", "dport", "drops", "errq", "fast",
                 "inet_id", "laddr", "lport", "rcvq", "reuseport_group", "rmem_alloc", "saddr",
                 "txc", "txd")

    def __init__(self, net: Net, family: int = AF_INET, type: int = SOCK_DGRAM,
                 protocol: int = IPPROTO_UDP) -> None:
        super().__init__(net, family, type, protocol or IPPROTO_UDP)
        self.laddr = 0  # inet_rcv_saddr: what we receive on (0: any)
        self.saddr = 0  # inet_saddr: the source we send from (0: the route's)
        self.lport = 0
        self.daddr = 0  # the peer, once connected
        self.dport = 0
        self.inet_id = 0  # once connected, the IP ID of the last datagram (ip_ident.py)
        self.bind_locked = False  # SOCK_BINDADDR_LOCK: bind() chose laddr
        self.bind_port_locked = False  # SOCK_BINDPORT_LOCK: bind() chose the port
        self.rcvq: deque[tuple[bytes, Address, int]] = deque()  # data, from, truesize
        self.rmem_alloc = 0
        self.drops = 0
        self.errq: deque[ExtendedErr] = deque()  # IP_RECVERR reports
        self.reuseport_group: ReuseportGroup | None = None
        # The input fast path's test: None when scoring is needed (connected, bound
        # to a device); else the address a datagram must be for (0: any).
        self.fast: int | None = 0
        self.txc: UdpTxCache | None = None  # see send_connected
        self.txd: dict[Address, UdpTxCache] | None = None  # see send_to

    def __repr__(self) -> str:
        return f"<UdpSock {self.laddr:#x}:{self.lport} -> {self.daddr:#x}:{self.dport}>"

    # -- binding ------------------------------------------------------------------

    def bind(self, addr: Address) -> None:
        """inet_bind: the address must be ours (or any, or broadcast); then
        udp_v4_get_port (EADDRINUSE)."""
        ip, port = addr
        self._check_open()
        kind = inet_addr_type(self.net, ip) if ip else RTN_LOCAL
        if kind not in (RTN_LOCAL, RTN_MULTICAST, RTN_BROADCAST) and not self._nonlocal_ok():
            raise KernelError(errno.EADDRNOTAVAIL)
        if self.lport or self.dport:
            raise KernelError(errno.EINVAL)
        self.laddr = self.saddr = ip
        if kind != RTN_LOCAL:
            self.saddr = 0  # broadcast or multicast: the source comes from the route
        if not self._get_port(port):
            self.laddr = self.saddr = 0
            raise KernelError(errno.EADDRINUSE)
        self.bind_locked = bool(ip)
        self.bind_port_locked = bool(port)
        self._update_fast()

    def _nonlocal_ok(self) -> bool:
        return bool(sysctl_int(self.net, "net.ipv4.ip_nonlocal_bind")
                    or self.ip_opt(IP_FREEBIND) or self.ip_opt(IP_TRANSPARENT))

    def _check_open(self) -> None:
        if self.closed:
            raise KernelError(errno.EBADF)

    def _autobind(self) -> None:
        """inet_autobind: an ephemeral port, or EAGAIN when none is free."""
        if not self._get_port(0):
            raise KernelError(errno.EAGAIN)

    def _get_port(self, port: int) -> bool:
        if not port:
            port = self._ephemeral()
            if not port:
                return False
        elif self._lport_inuse(port):
            return False
        self._hash(port)
        return True

    def _lport_inuse(self, port: int) -> bool:
        """udp_lib_lport_inuse: does a socket on ``port`` forbid our binding?"""
        reuse = self.sock_flag(SO_REUSEADDR)
        reuseport = self.sock_flag(SO_REUSEPORT) and self.reuseport_group is None
        for other in udp_table.get((self.net, port), ()):
            if other is self or (reuse and other.sock_flag(SO_REUSEADDR)):
                continue
            odev, dev = other.bound_dev, self.bound_dev
            if odev is not None and dev is not None and odev is not dev:
                continue
            if other.laddr and self.laddr and other.laddr != self.laddr:
                continue
            if not (reuseport and other.sock_flag(SO_REUSEPORT)):
                return True
        return False

    def _ephemeral(self) -> int:
        """A free port from net.ipv4.ip_local_port_range, probing from a random
        start; 0 when every port is taken."""
        lo, hi = local_port_range(self.net)
        if hi < lo:
            return 0
        span = hi - lo + 1
        start = self.net.kernel.rng.randrange(lo, hi + 1)
        net = self.net
        for i in range(span):
            port = lo + (start - lo + i) % span
            if (net, port) not in udp_table or not self._lport_inuse(port):
                return port
        return 0

    def _hash(self, port: int) -> None:
        """Add to the port's slot (at the head) and, with SO_REUSEPORT, to the
        group of a socket on the same address and device (udp_reuseport_add_sock)."""
        socks = udp_table.setdefault((self.net, port), [])
        if self.sock_flag(SO_REUSEPORT):
            for other in socks:
                if (other.sock_flag(SO_REUSEPORT) and other.laddr == self.laddr
                        and other.bound_dev is self.bound_dev):
                    group = other.reuseport_group
                    if group is None:
                        group = other.reuseport_group = ReuseportGroup(other)
                    group.socks.append(self)
                    self.reuseport_group = group
                    break
            else:
                self.reuseport_group = ReuseportGroup(self)
        socks.insert(0, self)
        self.lport = port

    def _unhash(self) -> None:
        key = (self.net, self.lport)
        socks = udp_table[key]
        socks.remove(self)
        if not socks:
            del udp_table[key]
        self._leave_group()
        self.lport = 0

    def _leave_group(self) -> None:
        group = self.reuseport_group
        if group is not None:
            group.detach(self)
            self.reuseport_group = None

    # -- connecting ---------------------------------------------------------------

    def connect(self, addr: Address) -> None:
        """inet_dgram_connect: autobind, then ip4_datagram_connect -- the route
        fixes our source address, and a broadcast needs SO_BROADCAST."""
        self._check_open()
        if not self.lport:
            self._autobind()
        daddr, dport = addr
        rt = self._route(daddr)
        if rt.flags & RTCF_BROADCAST and not self.sock_flag(SO_BROADCAST):
            raise KernelError(errno.EACCES)
        if not self.saddr:
            self.saddr = rt.saddr
        if not self.laddr:
            self.laddr = rt.saddr
            self._leave_group()  # udp_lib_rehash: a new address leaves the group
        self.daddr, self.dport = rt.daddr, dport
        self.inet_id = self.net.kernel.ip_idents.rng.getrandbits(16)
        self._update_fast()

    def _route(self, daddr: int) -> OutputRoute:
        try:
            return ip_route_output_cached(self.net, daddr, self.saddr, self.bound_dev,
                                          self.mark, self.ip_opt(IP_TOS) & 0x1E)
        except KernelError as exc:
            if exc.errno == errno.ENETUNREACH:
                ipv4_dp(self.net).mib["OutNoRoutes"] += 1
            raise

    def _update_fast(self) -> None:
        self.fast = self.laddr if not self.dport and self.bound_dev is None else None
        self.txc = self.txd = None

    def getsockname(self) -> Address:
        return (self.laddr, self.lport)

    def getpeername(self) -> Address:
        if not self.dport:
            raise KernelError(errno.ENOTCONN)
        return (self.daddr, self.dport)

    # -- sending ------------------------------------------------------------------

    def sendmsg(self, data: bytes | memoryview, addr: Address | None, flags: int) -> int:
        """udp_sendmsg: autobind first (inet_send_prepare), then the checks in
        Linux's order; a pending error (sock_error) fails this send."""
        self._check_open()
        if not self.lport:
            self._autobind()
        n = len(data)
        if n > 0xFFFF:
            raise KernelError(errno.EMSGSIZE)
        if flags & MSG_OOB:
            raise KernelError(errno.EOPNOTSUPP)
        if addr is None:
            if not self.dport:
                raise KernelError(errno.EDESTADDRREQ)
            daddr, dport = self.daddr, self.dport
        else:
            daddr, dport = addr
            if not dport:
                raise KernelError(errno.EINVAL)
        rt = self._route(daddr)
        if rt.flags & RTCF_BROADCAST and not self.sock_flag(SO_BROADCAST):
            raise KernelError(errno.EACCES)
        pmtudisc = self.pmtudisc_mode()
        self._check_size(n + 8, rt, pmtudisc, dport)
        err = self.sock_error()
        if err:
            raise KernelError(err)
        if self.sk_shutdown & SEND_SHUTDOWN:
            raise KernelError(errno.EPIPE)
        ulen = n + 8
        # CHECKSUM_PARTIAL: the device would finish the sum; veth and lo never do
        check = pseudo_header_sum(rt.saddr, rt.daddr, IPPROTO_UDP, ulen) or 0xFFFF
        err = ip_build_and_send(rt, IPPROTO_UDP, UDP_HDR.pack(self.lport, dport, ulen, check)
                                + bytes(data), tos=self.ip_opt(IP_TOS),
                                ttl=self.ip_opt(IP_TTL), pmtudisc=pmtudisc, sk=self)
        if err:  # udp_send_skb: a netfilter drop is the sender's EPERM, not counted
            raise KernelError(err)
        ipv4_dp(self.net).mib["UdpOutDatagrams"] += 1
        if not flags:
            if addr is None:
                if self.txc is None:
                    self.txc = UdpTxCache.build(self, rt, dport, pmtudisc)
            elif not self.daddr:
                self._cache_destination(rt, dport, pmtudisc)
        return n

    def _cache_destination(self, rt: OutputRoute, dport: int, pmtudisc: int) -> None:
        """Keep what this send to ``(rt.daddr, dport)`` shared with the next
        ones (send_to); a few destinations at a time."""
        dests = self.txd
        if dests is None:
            dests = self.txd = {}
        elif len(dests) >= TX_DESTINATIONS_MAX:
            dests.clear()
        c = UdpTxCache.build(self, rt, dport, pmtudisc)
        if c is not None:
            dests[(rt.daddr, dport)] = c

    def send_connected(self, data: bytes | memoryview) -> int:
        """udp_sendmsg's common case -- a connected socket, no address, no
        flags -- as one frame from the header cached by the last such send;
        -1 means "take sendmsg's road"."""
        c = self.txc
        if c is None or self.sk_err or self.sk_shutdown:
            return -1
        return c.xmit(data)

    def send_to(self, data: bytes | memoryview, daddr: int, dport: int) -> int:
        """sendto's common case on an unconnected socket, no flags, to a
        destination it sent to before: as send_connected."""
        dests = self.txd
        if dests is None or self.sk_err or self.sk_shutdown:
            return -1
        c = dests.get((daddr, dport))
        return -1 if c is None else c.xmit(data)

    def _check_size(self, ulen: int, rt: OutputRoute, pmtudisc: int, dport: int) -> None:
        """__ip_append_data: with DF demanded the datagram must fit the path;
        otherwise it must fit an IP datagram (ip_local_error reports it)."""
        mtu = route_mtu(rt)
        ignore_df = pmtudisc < IP_PMTUDISC_DO or pmtudisc == IP_PMTUDISC_OMIT
        if ulen <= (0xFFFF if ignore_df else mtu) - 20:
            return
        if self.ip_opt(IP_RECVERR):
            self.errq.append(ExtendedErr(errno.EMSGSIZE, SO_EE_ORIGIN_LOCAL, 0, 0, mtu, 0, b"",
                                         (rt.daddr, dport)))
        raise KernelError(errno.EMSGSIZE, f"mtu={mtu}")

    # -- receiving ----------------------------------------------------------------

    def recvmsg(self, bufsize: int, flags: int) -> tuple[bytes, Address | None]:
        """udp_recvmsg: a pending error comes first; a datagram longer than
        ``bufsize`` is truncated (the rest is lost unless MSG_PEEK)."""
        self._check_open()
        err = self.sock_error()
        if err:
            raise KernelError(err)
        q = self.rcvq
        if not q:
            if self.sk_shutdown & RCV_SHUTDOWN and not flags & MSG_DONTWAIT:
                return b"", None
            raise KernelError(errno.EAGAIN)
        if flags & MSG_PEEK:
            data, src, _ = q[0]
        else:
            data, src, size = q.popleft()
            self.rmem_alloc -= size
        if len(data) > bufsize:
            self.msg_flags = MSG_TRUNC
        return data[:bufsize], src

    def recv_ready(self, bufsize: int) -> bytes | None:
        q = self.rcvq
        if not q or self.sk_err:
            return None
        data, _src, size = q.popleft()
        self.rmem_alloc -= size
        return data[:bufsize]

    def recv_ready_from(self, bufsize: int) -> tuple[bytes, Address | None] | None:
        q = self.rcvq
        if not q or self.sk_err:
            return None
        data, src, size = q.popleft()
        self.rmem_alloc -= size
        return data[:bufsize], src

    def recv_error(self) -> ExtendedErr:
        """ip_recv_error (recvmsg with MSG_ERRQUEUE): the oldest report; the
        next one, if any, becomes the pending error."""
        if not self.errq:
            raise KernelError(errno.EAGAIN)
        entry = self.errq.popleft()
        self.sk_err = self.errq[0].errno if self.errq else 0
        return entry

    def flush_rcvq(self) -> int:
        """Read every queued datagram at once, without copying (what a server's
        receive loop does); the count."""
        n = len(self.rcvq)
        self.rcvq.clear()
        self.rmem_alloc = 0
        return n

    def poll(self) -> int:
        """udp_poll/datagram_poll: always writable (see the module doc)."""
        mask = POLLOUT
        if self.rcvq:
            mask |= POLLIN
        if self.sk_err or self.errq:
            mask |= POLLERR
        shut = self.sk_shutdown
        if shut & RCV_SHUTDOWN:
            mask |= POLLIN | POLLRDHUP
        if shut == SHUTDOWN_MASK:
            mask |= POLLHUP
        return mask

    def shutdown(self, how: int) -> None:
        """inet_shutdown: the flags are set (and waiters woken) even on an
        unconnected socket, which then reports ENOTCONN."""
        if how not in (0, 1, 2):
            raise KernelError(errno.EINVAL)
        self.sk_shutdown |= how + 1
        self.wq.wake_up()
        if not self.dport:
            raise KernelError(errno.ENOTCONN)

    # -- options ------------------------------------------------------------------

    def setsockopt(self, level: int, name: int, value: Any) -> None:
        if level not in (SOL_SOCKET, IPPROTO_IP, SOL_UDP):
            raise KernelError(errno.ENOPROTOOPT)
        super().setsockopt(level, name, value)
        if level == IPPROTO_IP and name == IP_RECVERR and not self.ip_opt(IP_RECVERR):
            self.errq.clear()
        self._update_fast()

    def getsockopt(self, level: int, name: int) -> Any:
        if level == IPPROTO_IP and name == IP_MTU and self.dport:
            return route_mtu(self._route(self.daddr))
        if level not in (SOL_SOCKET, IPPROTO_IP, SOL_UDP):
            raise KernelError(errno.EOPNOTSUPP)
        if level == SOL_UDP:
            return self.opts.get((level, name), 0)
        return super().getsockopt(level, name)

    def close(self) -> None:
        if self.closed:
            return
        if self.lport:
            self._unhash()
        self.rcvq.clear()
        self.rmem_alloc = 0
        self.errq.clear()
        self.txc = self.txd = None
        super().close()


_unpack_udp = UDP_HDR.unpack_from
ID_NUMBERED, ID_ZERO = -1, -2  # UdpTxCache.bucket's two IDs that are no bucket
TX_DESTINATIONS_MAX = 16  # destinations an unconnected socket keeps (send_to)
# a frame's 42 bytes of headers around its IP ID and header checksum
_FRAME_HDR = struct.Struct("!18sH4sH16s")
_pack_frame_hdr, _unpack_frame_hdr = _FRAME_HDR.pack, _FRAME_HDR.unpack_from
_unpack_ip_words = struct.Struct("!10H").unpack_from


def _header_words(frame: bytes) -> int:
    """The sum of an IPv4 header's 16-bit words (20 bytes, after Ethernet)."""
    return sum(_unpack_ip_words(frame, 14))
HDR_MEMO_MAX = 64  # payload lengths whose headers a UdpTxCache keeps


class UdpTxCache:
    """What a socket's sends to one destination share: the route's outcome,
    how IP IDs are chosen, and the headers each payload length gets (all
    but the IP ID and the header checksum, which covers it).  Built only
    where the result is one unfragmented DF frame to a unicast neighbour,
    so the shortcut cannot disagree with udp_sendmsg's road."""

    __slots__ = ("bucket", "daddr", "dev", "dport", "expires", "genid", "hdrs", "hh", "idents",
                 "key", "max_len", "mib", "neigh", "net", "nft", "saddr", "sched", "sk",
                 "sport", "tos", "ttl")

    def __init__(self, sk: UdpSock, rt: OutputRoute, dport: int, pmtudisc: int) -> None:
        net = self.net = sk.net
        self.sk = sk
        self.genid: int = rt_cache._genid
        self.expires = rt.expires
        self.sched = net.kernel.sched
        self.nft = nf_net(net)
        self.max_len = route_mtu(rt) - 28
        self.dev = rt.dev
        self.neigh: dict[Any, Any] = net.kernel.neigh_tbl.entries
        self.key = (rt.dev, rt.gateway or rt.daddr)
        self.tos = sk.ip_opt(IP_TOS)
        self.ttl = sk.ip_opt(IP_TTL) or sysctl_int(net, "net.ipv4.ip_default_ttl")
        self.saddr, self.daddr, self.sport, self.dport = rt.saddr, rt.daddr, sk.lport, dport
        self.mib = ipv4_dp(net).mib
        self.hh: bytes | None = None  # the neighbour's hh the memo below was built with
        # payload length -> the frame's headers (header())
        self.hdrs: dict[int, tuple[bytes, bytes, bytes, int]] = {}
        # ip_select_ident_segs (ip_ident.py): the connected socket's counter
        # (ID_NUMBERED), 0 for DF that may not be ignored (ID_ZERO), else the
        # hashed generator's bucket of this flow
        self.idents = net.kernel.ip_idents
        self.bucket = (ID_NUMBERED if sk.daddr else ID_ZERO if pmtudisc == IP_PMTUDISC_DO
                       else self.idents.bucket(net, rt.daddr, rt.saddr, IPPROTO_UDP))

    def xmit(self, data: bytes | memoryview) -> int:
        """Send ``data`` as one frame, once everything that could change the
        outcome is checked (route generation and expiry, netfilter rules,
        size, the neighbour's state): the byte count, or -1 (take the road)."""
        if self.genid != rt_cache._genid or self.nft.tables:
            return -1
        n = len(data)
        if n > self.max_len or (self.expires and self.expires <= self.sched.now):
            return -1
        nb = self.neigh.get(self.key)
        if nb is None or not nb.nud_state & NUD_CONNECTED:
            return -1
        hh = nb.hh
        if hh is not self.hh:  # a new link-layer address: every header changes
            self.hh = hh
            self.hdrs.clear()
        hdr = self.hdrs.get(n)
        if hdr is None:
            hdr = self.header(hh, n)
        head, middle, tail, unsummed = hdr
        bucket = self.bucket
        if bucket == ID_NUMBERED:
            ident = inet_next_id(self.sk)
        elif bucket == ID_ZERO:
            ident = 0
        else:
            ident = self.idents.take(self.net, bucket)
        s = unsummed + ident
        frame = _pack_frame_hdr(head, ident, middle, ~((s & 0xFFFF) + (s >> 16)) & 0xFFFF,
                                tail) + data
        mib = self.mib
        mib["OutRequests"] += 1
        mib["UdpOutDatagrams"] += 1
        dev_queue_xmit(self.dev, frame)
        return n

    def header(self, hh: bytes, n: int) -> tuple[bytes, bytes, bytes, int]:
        """The frame's headers for an ``n``-byte payload -- udp_sendmsg's,
        with the pseudo-header sum CHECKSUM_PARTIAL leaves -- built once per
        length (a sender's datagrams mostly share a few; the memo is bounded):
        the bytes before the IP ID, those between it and the header
        checksum, those after, and the header's sum without the ID."""
        ulen = n + 8
        frame = (hh + ipv4_header(self.tos, ulen + 20, 0, IP_DF, self.ttl, IPPROTO_UDP,
                                  self.saddr, self.daddr)
                 + UDP_HDR.pack(self.sport, self.dport, ulen,
                                pseudo_header_sum(self.saddr, self.daddr, IPPROTO_UDP, ulen)
                                or 0xFFFF))
        hdr = (frame[:18], frame[20:24], frame[26:42],
               ~int.from_bytes(frame[24:26], "big") & 0xFFFF)
        hdrs = self.hdrs
        if len(hdrs) >= HDR_MEMO_MAX:
            hdrs.clear()
        hdrs[n] = hdr
        return hdr

    @staticmethod
    def build(sk: UdpSock, rt: OutputRoute, dport: int, pmtudisc: int) -> UdpTxCache | None:
        if (rt.flags & RTCF_BROADCAST or rt.dev.flags & IFF_LOOPBACK or rt.type != RTN_UNICAST
                or pmtudisc not in (IP_PMTUDISC_WANT, IP_PMTUDISC_DO)):
            return None
        return UdpTxCache(sk, rt, dport, pmtudisc)


def local_port_range(net: Net) -> tuple[int, int]:
    """net.ipv4.ip_local_port_range of this namespace."""
    own = net.sysctls
    text = own.get("net.ipv4.ip_local_port_range") if own is not None else None
    if text is None:
        return (32768, 60999)
    lo, hi = str(text).split()
    return int(lo), int(hi)


# -- lookup --------------------------------------------------------------------------


def udp_ehashfn(laddr: int, lport: int, faddr: int, fport: int) -> int:
    """udp_ehashfn with a zero secret: the same flow picks the same socket
    in every run."""
    return jhash_3words(laddr, faddr, (lport << 16) | fport, 0)


def _best(socks: list[UdpSock], want: int, saddr: int, sport: int, dif: int) -> UdpSock | None:
    """udp4_lib_lookup2 over the sockets bound to ``want``: compute_score's
    best, the first (last bound) of equals."""
    best = None
    badness = 0
    for sk in socks:
        if sk.laddr != want:
            continue
        score = 2
        if sk.daddr:
            if sk.daddr != saddr:
                continue
            score += 4
        if sk.dport:
            if sk.dport != sport:
                continue
            score += 4
        dev = sk.bound_dev
        if dev is not None:
            if dev.ifindex != dif:
                continue
            score += 4
        if score > badness:
            best, badness = sk, score
    return best


def udp_lookup(socks: list[UdpSock], saddr: int, sport: int, daddr: int, dport: int,
               dif: int) -> UdpSock | None:
    """__udp4_lib_lookup: the exact address first, then the wildcard; an
    unconnected winner in a reuseport group hands over to the flow's member."""
    best = _best(socks, daddr, saddr, sport, dif) if daddr else None
    if best is None:
        best = _best(socks, 0, saddr, sport, dif)
        if best is None:
            return None
    group = best.reuseport_group
    if group is not None and len(group.socks) > 1 and not best.dport:
        chosen = group.select(udp_ehashfn(daddr, dport, saddr, sport))
        if chosen is not None:
            return chosen
    return best


# -- input ---------------------------------------------------------------------------


def udp_rcv(dev: NetDevice, pkt: bytes, ihl: int, rt: OutputRoute, summed: int) -> None:
    net = dev.net
    mib = (net.ipv4.dp or ipv4_dp(net)).mib
    n = len(pkt) - ihl
    if n < 8:
        mib["UdpInErrors"] += 1
        return
    sport, dport, ulen, check = UDP_HDR.unpack_from(pkt, ihl)
    if ulen < 8 or ulen > n:
        mib["UdpInErrors"] += 1
        return
    if not summed and check:
        saddr = int.from_bytes(pkt[12:16], "big")
        daddr = int.from_bytes(pkt[16:20], "big")
        seed = pseudo_header_sum(saddr, daddr, IPPROTO_UDP, ulen)
        if csum_partial(pkt[ihl:ihl + ulen], seed) != 0xFFFF:
            mib["UdpInCsumErrors"] += 1
            mib["UdpInErrors"] += 1
            return
    socks = udp_table.get((net, dport))
    # One unconnected socket, no device, for any address or this one: it is
    # the lookup's answer, and the only match of a broadcast as well.
    sk = socks[0] if socks is not None and len(socks) == 1 else None
    if sk is not None:
        fast = sk.fast
        if fast is None or (fast and fast != rt.daddr):
            sk = None
    if sk is None:
        if rt.flags & 0x30000000:  # RTCF_BROADCAST | RTCF_MULTICAST
            udp_mcast_deliver(socks, pkt, ihl, ulen, rt, sport, rt.iif or dev.ifindex,
                              dev.mtu, mib)
            return
        if socks is not None:
            sk = udp_lookup(socks, rt.saddr, sport, rt.daddr, dport, rt.iif or dev.ifindex)
        if sk is None:
            mib["UdpNoPorts"] += 1
            icmp_send(pkt, rt, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH)
            return
    udp_queue_rcv(sk, pkt[ihl + 8:ihl + ulen], (rt.saddr, sport),
                  832 if ulen <= 205 else udp_truesize(ulen, dev.mtu), mib)  # SMALL_TRUESIZE


def udp_rcv_frame(dev: NetDevice, frames: list[bytes], i: int, tot_len: int,
                  rt: OutputRoute, summed: int, mib: dict[str, int]) -> int:
    """udp_rcv for ip_list_rcv's local delivery of ``frames[i]``, an
    unfragmented packet with a 20-byte header, given the whole frame: the
    commonest datagram -- checksum trusted, for the one unconnected socket
    of its port -- is queued straight from the frame (one copy, the
    payload), with the frames after it that carry the same headers;
    anything else takes udp_rcv's road with the packet, which decides as
    before.  Returns how many frames it took."""
    frame = frames[i]
    if tot_len >= 28:
        sport, dport, ulen, check = _unpack_udp(frame, 34)
        if 8 <= ulen <= tot_len - 20 and (summed or not check):
            socks = udp_table.get((dev.net, dport))
            if socks is not None and len(socks) == 1:
                sk = socks[0]
                fast = sk.fast
                if fast is not None and (not fast or fast == rt.daddr):
                    size = 832 if ulen <= 205 else udp_truesize(ulen, dev.mtu)  # SMALL_TRUESIZE
                    nxt = i + 1
                    # a run may follow only where the next frame has the same
                    # UDP header (a cheap test; datagrams with their own full
                    # checksums never pass it)
                    if nxt < len(frames) and frames[nxt].startswith(frame[34:42], 34):
                        return udp_queue_flow(sk, frames, i, 14 + tot_len, 34 + ulen,
                                              (rt.saddr, sport), size, mib)
                    udp_queue_rcv(sk, frame[42:34 + ulen], (rt.saddr, sport), size, mib)
                    return 1
    udp_rcv(dev, frame[14:14 + tot_len], 20, rt, summed)
    return 1


def udp_queue_flow(sk: UdpSock, frames: list[bytes], i: int, frame_len: int, end: int,
                   src: Address, size: int, mib: dict[str, int]) -> int:
    """udp_queue_rcv for ``frames[i]`` and each frame after it that holds
    its packet and has the same 42 bytes of headers but for the IP ID and
    the header checksum (GRO's test: the same flow, and here the same
    length too): every check made of the first gives the same answer for
    those, once the header checksum is checked with the frame's own ID;
    then only the receive buffer is checked again.  Returns how many frames
    it took."""
    first = frames[i]
    n = len(frames)
    rcvq = sk.rcvq
    rcvbuf = sk.rcvbuf
    head = None  # the run's headers, worked out once a second frame may join
    j = i
    queued = dropped = 0
    while True:
        rmem = sk.rmem_alloc
        if rmem + size > rcvbuf and rmem:  # over rcvbuf unless the queue is empty
            dropped += 1
        else:
            sk.rmem_alloc = rmem + size
            rcvq.append((frames[j][42:end], src, size))
            queued += 1
        j += 1
        if j == n:
            break
        frame = frames[j]
        if len(frame) < frame_len:
            break
        if head is None:  # the run's sums, once: udp_rcv_frame saw a second frame may join
            head, ident, middle, check, tail = _unpack_frame_hdr(first)
            unsummed = _header_words(first) - ident - check  # the rest of the header's sum
        h, ident, m, check, t = _unpack_frame_hdr(frame)
        # the same headers but for ID and checksum; ip_fast_csum, as ip_list_rcv tests it
        if h != head or m != middle or t != tail or (unsummed + ident + check) % 0xFFFF:
            break
    if queued:
        # sk_data_ready once for the run: a waiter only schedules its task
        # (idempotently), and nothing runs between these frames
        sk.wq.wake_up()
        mib["UdpInDatagrams"] += queued
    if dropped:
        sk.drops += dropped
        mib["UdpRcvbufErrors"] += dropped
        mib["UdpInErrors"] += dropped
    return j - i


def udp_truesize(ulen: int, mtu: int) -> int:
    """The truesize a datagram of UDP length ``ulen`` charges when it came
    over a link of ``mtu``: one skb (data + 51 bytes of headers, headroom
    and alignment), or one per fragment -- the last coalesced into the
    first's tailroom when there are two and it fits.  Measured on 6.18 over
    veth, from 832 bytes for a small datagram to 102656 for 65507 bytes."""
    if ulen + 20 <= mtu:
        return skb_truesize(ulen + 51)
    frag = (mtu - 20) & ~7
    nfrags = -(-ulen // frag)
    last = ulen - frag * (nfrags - 1)
    size = (nfrags - 1) * skb_truesize(frag + 51)
    if nfrags > 2 or last > COALESCE_ROOM:
        size += skb_truesize(last + 51)
    return size


def udp_queue_rcv(sk: UdpSock, data: bytes, src: Address, size: int,
                  mib: dict[str, int]) -> None:
    """__udp_enqueue_schedule_skb: charge the truesize; drop when over
    rcvbuf unless the queue is empty."""
    rmem = sk.rmem_alloc
    if rmem + size > sk.rcvbuf and rmem:
        sk.drops += 1
        mib["UdpRcvbufErrors"] += 1
        mib["UdpInErrors"] += 1
        return
    sk.rmem_alloc = rmem + size
    mib["UdpInDatagrams"] += 1
    sk.rcvq.append((data, src, size))
    sk.wq.wake_up()


def udp_mcast_deliver(socks: list[UdpSock] | None, pkt: bytes, ihl: int, ulen: int,
                      rt: OutputRoute, sport: int, dif: int, mtu: int,
                      mib: dict[str, int]) -> None:
    """__udp4_lib_mcast_deliver: a copy for every matching socket; with none,
    the datagram is IgnoredMulti (never an ICMP error)."""
    daddr, saddr = rt.daddr, rt.saddr
    hit = False
    data = pkt[ihl + 8:ihl + ulen]
    size = udp_truesize(ulen, mtu)
    for sk in list(socks or ()):
        dev = sk.bound_dev
        if ((sk.daddr and sk.daddr != saddr) or (sk.dport and sk.dport != sport)
                or (sk.laddr and sk.laddr != daddr) or (dev is not None and dev.ifindex != dif)):
            continue
        hit = True
        udp_queue_rcv(sk, data, (saddr, sport), size, mib)
    if not hit:
        mib["UdpIgnoredMulti"] += 1


# -- ICMP errors ---------------------------------------------------------------------


def udp_err(dev: NetDevice, pkt: bytes, ihl: int, info: int) -> None:
    """__udp4_lib_err: find the socket that sent the quoted datagram and
    report the error -- on a connected socket only when it is hard
    (port unreachable is), on any socket with IP_RECVERR."""
    net = dev.net
    inner = ihl + 8
    iihl = (pkt[inner] & 15) << 2
    isrc = int.from_bytes(pkt[inner + 12:inner + 16], "big")
    idst = int.from_bytes(pkt[inner + 16:inner + 20], "big")
    sport, dport = UDP_HDR.unpack_from(pkt, inner + iihl)[:2]
    socks = udp_table.get((net, sport))
    sk = udp_lookup(socks, idst, dport, isrc, sport, dev.ifindex) if socks else None
    if sk is None:
        ipv4_dp(net).mib["IcmpInErrors"] += 1
        return
    icmp_type, code = pkt[ihl], pkt[ihl + 1]
    if icmp_type == ICMP_SOURCE_QUENCH:
        return
    if icmp_type == ICMP_REDIRECT:
        ipv4_redirect(dev, idst, isrc, info, int.from_bytes(pkt[12:16], "big"))
        return
    if icmp_type == ICMP_PARAMETERPROB:
        err, hard = errno.EPROTO, True
    elif icmp_type == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
        if info:
            ipv4_update_pmtu(net, idst, isrc, info)
        if sk.pmtudisc_mode() == IP_PMTUDISC_DONT:
            return
        err, hard = errno.EMSGSIZE, True
    elif icmp_type == ICMP_DEST_UNREACH:
        err, hard = icmp_err_convert[code]
    else:  # ICMP_TIME_EXCEEDED
        err, hard = errno.EHOSTUNREACH, False
    if sk.ip_opt(IP_RECVERR):
        sk.errq.append(ExtendedErr(err, SO_EE_ORIGIN_ICMP, icmp_type, code, info,
                                   int.from_bytes(pkt[12:16], "big"),
                                   pkt[inner + iihl + 8:], (idst, dport)))
    elif not hard or not sk.dport:
        return
    sk.report_error(err)


def udp_register() -> None:
    from ..ipv4.ip_input import inet_frame_protos, inet_protos

    inet_protos[IPPROTO_UDP] = udp_rcv
    inet_frame_protos[IPPROTO_UDP] = udp_rcv_frame
    icmp_err_handlers[IPPROTO_UDP] = udp_err
