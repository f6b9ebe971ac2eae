"""Raw IPv4 sockets (``net/ipv4/raw.c``): what ``ping`` uses.

A raw socket of protocol P gets a copy of every locally delivered packet of
protocol P in its namespace (header included), optionally limited to one
device (SO_BINDTODEVICE), a local address (bind), a peer (connect) and, for
ICMP, the types ICMP_FILTER lets through.  Sending builds the IP header for
the caller, with the socket's TTL, TOS, mark and path-MTU discovery mode.
Each queued packet charges its skb truesize against SO_RCVBUF; a full
queue drops (``sock_queue_rcv_skb``).
"""

from __future__ import annotations

import errno
from collections import deque
from typing import TYPE_CHECKING, Any

from ..errors import KernelError
from ..sock import (
    AF_INET,
    IP_MTU_DISCOVER,
    IP_TOS,
    IP_TTL,
    IPPROTO_IP,
    MSG_OOB,
    MSG_PEEK,
    MSG_TRUNC,
    POLLERR,
    POLLIN,
    POLLOUT,
    SO_BROADCAST,
    SOL_SOCKET,
    Address,
    Sock,
    skb_truesize,
)
from .datapath_state import ipv4_dp, sysctl_int
from .fib import RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST
from .fib_frontend import inet_addr_type
from .ip_output import IP_PMTUDISC_DO, IP_PMTUDISC_WANT, ip_build_and_send, route_mtu
from .route import ip_route_output_cached

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..net import Net
    from .route import OutputRoute

SOCK_RAW = 3
SOL_RAW = 255
ICMP_FILTER = 1
IPPROTO_ICMP = 1


class RawSocket(Sock):
    """A SOCK_RAW socket, tagged forever with the namespace it was made in.
    The IP options ping sets are plain fields here (``ttl``, ``tos``,
    ``pmtudisc``, ``so_broadcast``); setsockopt keeps them in step."""

    __slots__ = ("daddr", "drops", "icmp_filter", "inet_id", "laddr", "pmtudisc", "rcvq",
                 "rmem_alloc", "saddr", "so_broadcast", "tos", "ttl")

    def __init__(self, net: Net, protocol: int, family: int = AF_INET,
                 type: int = SOCK_RAW) -> None:
        super().__init__(net, family, type, protocol)
        self.rcvq: deque[tuple[int, bytes]] = deque()  # (arrival ns, IP packet)
        self.rmem_alloc = 0
        self.drops = 0
        self.laddr = 0  # inet_rcv_saddr: only packets to it (0: any)
        self.saddr = 0  # inet_saddr: the source we send from
        self.daddr = 0  # the peer, once connected
        self.inet_id = 0  # a connected socket numbers its packets (ip_ident.py)
        self.ttl = 0  # 0: net.ipv4.ip_default_ttl
        self.tos = 0
        self.pmtudisc = IP_PMTUDISC_WANT
        self.so_broadcast = False
        self.icmp_filter = 0  # ICMP types (bits) not delivered
        ipv4_dp(net).raw_socks.append(self)

    def close(self) -> None:
        if not self.closed:
            ipv4_dp(self.net).raw_socks.remove(self)
            super().close()  # what was queued stays readable to the holder

    def route(self, daddr: int) -> OutputRoute:
        """The output route this socket's packets to ``daddr`` take."""
        return ip_route_output_cached(self.net, daddr, self.saddr, self.bound_dev, self.mark,
                                      self.tos & 0x1E)

    # -- proto_ops ------------------------------------------------------------------

    def bind(self, addr: Address) -> None:
        """raw_bind: any local (or broadcast, multicast) address; no port."""
        ip = addr[0]
        kind = inet_addr_type(self.net, ip) if ip else RTN_LOCAL
        if kind not in (RTN_LOCAL, RTN_MULTICAST, RTN_BROADCAST) and not sysctl_int(
                self.net, "net.ipv4.ip_nonlocal_bind"):
            raise KernelError(errno.EADDRNOTAVAIL)
        self.laddr = ip
        self.saddr = ip if kind == RTN_LOCAL else 0

    def connect(self, addr: Address) -> None:
        """ip4_datagram_connect: the route fixes the source; then only the
        peer's packets are delivered."""
        rt = self.route(addr[0])
        if rt.type == RTN_BROADCAST and not self.so_broadcast:
            raise KernelError(errno.EACCES)
        self.saddr = self.saddr or rt.saddr
        self.laddr = self.laddr or rt.saddr
        self.daddr = rt.daddr
        self.inet_id = self.net.kernel.ip_idents.rng.getrandbits(16)

    def getsockname(self) -> Address:
        return (self.laddr, self.protocol)

    def getpeername(self) -> Address:
        if not self.daddr:
            raise KernelError(errno.ENOTCONN)
        return (self.daddr, self.protocol)

    def sendmsg(self, data: bytes | memoryview, addr: Address | None, flags: int) -> int:
        if flags & MSG_OOB:
            raise KernelError(errno.EOPNOTSUPP)
        if addr is None:
            if not self.daddr:
                raise KernelError(errno.EDESTADDRREQ)
            return self.sendto(bytes(data), self.daddr)
        return self.sendto(bytes(data), addr[0])

    def sendto(self, payload: bytes, daddr: int) -> int:
        """raw_sendmsg: EMSGSIZE (with the MTU) when DF is demanded and the
        datagram does not fit; ENETUNREACH etc. from routing."""
        if self.closed:
            raise KernelError(errno.EBADF)
        rt = self.route(daddr)
        if len(payload) > 0xFFFF - 20:  # ip_append_data: the datagram cannot exist
            raise KernelError(errno.EMSGSIZE, f"mtu={route_mtu(rt)}")
        if rt.type == RTN_BROADCAST and not self.so_broadcast:
            raise KernelError(errno.EACCES)
        mtu = route_mtu(rt)
        if self.pmtudisc >= IP_PMTUDISC_DO and len(payload) + 20 > mtu:
            raise KernelError(errno.EMSGSIZE, f"mtu={mtu}")
        err = self.sock_error()
        if err:
            raise KernelError(err)
        err = ip_build_and_send(rt, self.protocol, payload, tos=self.tos, ttl=self.ttl,
                                pmtudisc=self.pmtudisc, sk=self)
        if self.protocol == IPPROTO_ICMP:  # __ip_make_skb's icmp_out_count
            ipv4_dp(self.net).mib["IcmpOutMsgs"] += 1
        if err:
            # netfilter's drop (EPERM) reaches sendmsg -- after the softirq
            # that delivers what the hook sent us back (REJECT's answer via lo)
            from ..wait import sleep

            sleep(self.net.kernel, self.net.kernel.link_delay_ns / 1e9)
            raise KernelError(err)
        return len(payload)

    def recv(self) -> tuple[int, bytes] | None:
        """The oldest packet with its arrival time, or None."""
        if not self.rcvq:
            return None
        return self.take(0)

    def take(self, i: int) -> tuple[int, bytes]:
        """Remove the ``i``-th queued packet (ping picks its error reports)."""
        item = self.rcvq[i]
        del self.rcvq[i]
        self.rmem_alloc -= skb_truesize(len(item[1]) + 31)
        return item

    def recvmsg(self, bufsize: int, flags: int) -> tuple[bytes, Address | None]:
        """raw_recvmsg: the whole packet, IP header first; the source address
        with port 0."""
        err = self.sock_error()
        if err:
            raise KernelError(err)
        if not self.rcvq:
            raise KernelError(errno.EAGAIN)
        pkt = self.rcvq[0][1] if flags & MSG_PEEK else self.take(0)[1]
        if len(pkt) > bufsize:
            self.msg_flags = MSG_TRUNC
        return pkt[:bufsize], (int.from_bytes(pkt[12:16], "big"), 0)

    def poll(self) -> int:
        mask = POLLOUT
        if self.rcvq:
            mask |= POLLIN
        if self.sk_err:
            mask |= POLLERR
        return mask

    def shutdown(self, how: int) -> None:
        if how not in (0, 1, 2):
            raise KernelError(errno.EINVAL)
        self.sk_shutdown |= how + 1
        self.wq.wake_up()
        if not self.daddr:
            raise KernelError(errno.ENOTCONN)

    # -- options --------------------------------------------------------------------

    def setsockopt(self, level: int, name: int, value: Any) -> None:
        if level == SOL_RAW:
            if name != ICMP_FILTER or self.protocol != IPPROTO_ICMP:
                raise KernelError(errno.EOPNOTSUPP)
            self.icmp_filter = _u32(value)
            return
        if level not in (SOL_SOCKET, IPPROTO_IP):
            raise KernelError(errno.ENOPROTOOPT)
        super().setsockopt(level, name, value)
        if (level, name) == (IPPROTO_IP, IP_TTL):
            self.ttl = self.ip_opt(IP_TTL)
        elif (level, name) == (IPPROTO_IP, IP_TOS):
            self.tos = self.ip_opt(IP_TOS)
        elif (level, name) == (IPPROTO_IP, IP_MTU_DISCOVER):
            self.pmtudisc = self.ip_opt(IP_MTU_DISCOVER)
        elif (level, name) == (SOL_SOCKET, SO_BROADCAST):
            self.so_broadcast = self.sock_flag(SO_BROADCAST)

    def getsockopt(self, level: int, name: int) -> Any:
        if level == SOL_RAW:
            if name != ICMP_FILTER or self.protocol != IPPROTO_ICMP:
                raise KernelError(errno.EOPNOTSUPP)
            return self.icmp_filter
        if level not in (SOL_SOCKET, IPPROTO_IP):
            raise KernelError(errno.EOPNOTSUPP)
        if level == IPPROTO_IP and name == IP_MTU_DISCOVER:
            return self.pmtudisc
        if level == IPPROTO_IP and name == IP_TOS:
            return self.tos
        if level == IPPROTO_IP and name == IP_TTL and self.ttl:
            return self.ttl
        if level == SOL_SOCKET and name == SO_BROADCAST:
            return int(self.so_broadcast)
        return super().getsockopt(level, name)


def _u32(value: Any) -> int:
    if isinstance(value, int):
        return value & 0xFFFFFFFF
    if len(value) < 4:
        raise KernelError(errno.EINVAL)
    return int.from_bytes(bytes(value[:4]), "little")


def raw_local_deliver(dev: NetDevice, pkt: bytes, proto: int, rt: OutputRoute) -> bool:
    """raw_v4_input: every matching socket gets its own reference."""
    hit = False
    now = dev.net.kernel.sched.now
    in_dev = dev.net.dev_by_index.get(rt.iif) if rt.iif else dev
    for sk in ipv4_dp(dev.net).raw_socks:
        if sk.protocol != proto or (sk.bound_dev is not None and sk.bound_dev is not in_dev
                                    and sk.bound_dev is not dev):
            continue
        if sk.laddr or sk.daddr:  # raw_v4_match
            saddr = int.from_bytes(pkt[12:16], "big")
            daddr = int.from_bytes(pkt[16:20], "big")
            if (sk.laddr and sk.laddr != daddr) or (sk.daddr and sk.daddr != saddr):
                continue
        hit = True
        if sk.icmp_filter and proto == IPPROTO_ICMP and len(pkt) > (pkt[0] & 15) * 4 \
                and sk.icmp_filter >> (pkt[(pkt[0] & 15) * 4] & 31) & 1:
            continue  # raw_rcv's icmp_filter: matched, but not delivered
        if sk.rmem_alloc >= sk.rcvbuf:
            sk.drops += 1
            continue
        sk.rmem_alloc += skb_truesize(len(pkt) + 31)
        sk.rcvq.append((now, pkt))
        if sk.wq.waiters:
            sk.wq.wake_up()
    return hit

