"""Raw IPv4 sockets (``net/ipv4/raw.c``): what ``ping`` uses.

A raw socket of protocol P gets a copy of every locally delivered packet of
protocol P in its namespace (header included), optionally limited to one
device (SO_BINDTODEVICE).  Sending builds the IP header for the caller,
with the socket's TTL, TOS, mark and path-MTU discovery mode.
"""

from __future__ import annotations

import errno
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import KernelError
from .datapath_state import ipv4_dp
from .ip_output import IP_PMTUDISC_DO, IP_PMTUDISC_WANT, ip_build_and_send, route_mtu
from .route import ip_route_output_cached

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..net import Net
    from .route import OutputRoute

RCVBUF_PACKETS = 256  # a full receive queue drops, as sk_rcvbuf does


class RawSocket:
    """A SOCK_RAW socket, tagged forever with the namespace it was made in."""

    __slots__ = (
        "bound_dev",
        "closed",
        "mark",
        "net",
        "on_readable",
        "pmtudisc",
        "protocol",
        "rcvq",
        "saddr",
        "so_broadcast",
        "tos",
        "ttl",
    )

    def __init__(self, net: Net, protocol: int) -> None:
        self.net = net
        self.protocol = protocol
        self.rcvq: deque[tuple[int, bytes]] = deque()  # (arrival ns, IP packet)
        self.bound_dev: NetDevice | None = None
        self.saddr = 0
        self.mark = 0
        self.ttl = 0  # 0: net.ipv4.ip_default_ttl
        self.tos = 0
        self.pmtudisc = IP_PMTUDISC_WANT
        self.on_readable: Callable[[], None] | None = None
        self.closed = False
        self.so_broadcast = False
        net.get()
        ipv4_dp(net).raw_socks.append(self)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            ipv4_dp(self.net).raw_socks.remove(self)
            self.net.put()

    def route(self, daddr: int) -> OutputRoute:
        """The output route this socket's packets to ``daddr`` take."""
        return ip_route_output_cached(self.net, daddr, self.saddr, self.bound_dev, self.mark,
                                      self.tos)

    def sendto(self, payload: bytes, daddr: int) -> int:
        """raw_sendmsg: EMSGSIZE (with the MTU) when DF is demanded and the
        datagram does not fit; ENETUNREACH etc. from routing."""
        from .fib import RTN_BROADCAST

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
        ip_build_and_send(rt, self.protocol, payload, tos=self.tos, ttl=self.ttl,
                          pmtudisc=self.pmtudisc)
        return len(payload)

    def recv(self) -> tuple[int, bytes] | None:
        return self.rcvq.popleft() if self.rcvq else None


def raw_local_deliver(dev: NetDevice, pkt: bytes, proto: int, rt: OutputRoute) -> bool:
    """raw_v4_input: every matching socket gets its own reference."""
    hit = False
    now = dev.net.kernel.sched.now
    in_dev = dev.net.dev_by_index.get(rt.iif) if rt.iif else dev
    for sk in ipv4_dp(dev.net).raw_socks:
        if sk.protocol != proto or (sk.bound_dev is not None and sk.bound_dev is not in_dev
                                    and sk.bound_dev is not dev):
            continue
        hit = True
        if len(sk.rcvq) < RCVBUF_PACKETS:
            sk.rcvq.append((now, pkt))
            if sk.on_readable is not None:
                sk.on_readable()
    return hit
