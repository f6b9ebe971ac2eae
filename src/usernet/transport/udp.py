"""UDP (``net/ipv4/udp.c``): the socket table, input and output.

The table is one dict for the whole kernel keyed by (namespace, port) --
the RFC's rule for large hash tables: shared, with the namespace as part of
the key, so a lookup costs the same however many namespaces exist.  A
datagram for a port nobody has bound earns ICMP port unreachable.

Output leaves the checksum to the device as Linux does on veth and lo
(CHECKSUM_PARTIAL): the field holds the folded pseudo-header sum, exactly
what a capture on a veth shows.  Receivers trust frames that crossed a veth
(CHECKSUM_UNNECESSARY) and verify the rest.
"""

from __future__ import annotations

import errno
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import KernelError
from ..ipv4.datapath_state import ipv4_dp
from ..ipv4.devinet import find_ifa
from ..ipv4.icmp import icmp_send
from ..ipv4.ip_output import IP_PMTUDISC_WANT, ip_build_and_send, route_mtu
from ..ipv4.route import ip_route_output
from ..wire.checksum import csum_partial, pseudo_header_sum
from ..wire.icmp import ICMP_DEST_UNREACH, ICMP_PORT_UNREACH
from ..wire.ipv4 import IPPROTO_UDP
from ..wire.udp import UDP_HDR

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..ipv4.route import OutputRoute
    from ..net import Net

RTCF_BROADCAST_OR_MULTICAST = 0x10000000 | 0x20000000
RCVBUF_DATAGRAMS = 256  # what fits net.core.rmem_default of small datagrams
EPHEMERAL = (32768, 60999)  # net.ipv4.ip_local_port_range

Address = tuple[int, int]  # (IPv4 address as int, port)

# (namespace, port) -> sockets bound to that port, in bind order
udp_table: dict[tuple[Net, int], list[UdpSocket]] = {}


class UdpSocket:
    """A SOCK_DGRAM socket, tagged forever with the namespace it was made in."""

    __slots__ = ("closed", "drops", "laddr", "lport", "net", "on_readable", "rcvq")

    def __init__(self, net: Net) -> None:
        self.net = net
        self.laddr = 0
        self.lport = 0
        self.rcvq: deque[tuple[bytes, Address]] = deque()
        self.on_readable: Callable[[], None] | None = None
        self.drops = 0
        self.closed = False
        net.get()

    def bind(self, addr: int, port: int) -> None:
        """inet_bind + udp_v4_get_port: the address must be ours (or any);
        a port is shared only between distinct specific addresses."""
        if self.lport:
            raise KernelError(errno.EINVAL)
        if addr and find_ifa(self.net, addr) is None:
            raise KernelError(errno.EADDRNOTAVAIL)
        if not port:
            port = self._ephemeral()
        for other in udp_table.get((self.net, port), ()):
            if not addr or not other.laddr or other.laddr == addr:
                raise KernelError(errno.EADDRINUSE)
        self.laddr, self.lport = addr, port
        udp_table.setdefault((self.net, port), []).append(self)

    def _ephemeral(self) -> int:
        lo, hi = EPHEMERAL
        start = self.net.kernel.rng.randrange(lo, hi + 1)
        for i in range(hi - lo + 1):
            port = lo + (start - lo + i) % (hi - lo + 1)
            if (self.net, port) not in udp_table:
                return port
        raise KernelError(errno.EAGAIN)

    def sendto(self, data: bytes, addr: Address) -> int:
        if self.closed:
            raise KernelError(errno.EBADF)
        if not self.lport:
            self.bind(0, 0)
        daddr, dport = addr
        rt = ip_route_output(self.net, daddr, self.laddr)
        ulen = 8 + len(data)
        if ulen + 20 > 0xFFFF:
            raise KernelError(errno.EMSGSIZE, f"mtu={route_mtu(rt)}")
        # CHECKSUM_PARTIAL: the device would finish the sum; veth and lo never do
        check = pseudo_header_sum(rt.saddr, daddr, IPPROTO_UDP, ulen) or 0xFFFF
        ip_build_and_send(rt, IPPROTO_UDP, UDP_HDR.pack(self.lport, dport, ulen, check) + data,
                          pmtudisc=IP_PMTUDISC_WANT)
        return len(data)

    def recvfrom(self) -> tuple[bytes, Address] | None:
        return self.rcvq.popleft() if self.rcvq else None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.lport:
            socks = udp_table[(self.net, self.lport)]
            socks.remove(self)
            if not socks:
                del udp_table[(self.net, self.lport)]
        self.net.put()


def udp_rcv(dev: NetDevice, pkt: bytes, ihl: int, rt: OutputRoute, summed: int) -> None:
    n = len(pkt) - ihl
    if n < 8:
        ipv4_dp(dev.net).mib["UdpInErrors"] += 1
        return
    sport, dport, ulen, check = UDP_HDR.unpack_from(pkt, ihl)
    if ulen < 8 or ulen > n:
        ipv4_dp(dev.net).mib["UdpInErrors"] += 1
        return
    if not summed and check:
        saddr = int.from_bytes(pkt[12:16], "big")
        daddr = int.from_bytes(pkt[16:20], "big")
        seed = pseudo_header_sum(saddr, daddr, IPPROTO_UDP, ulen)
        if csum_partial(pkt[ihl:ihl + ulen], seed) != 0xFFFF:
            ipv4_dp(dev.net).mib["UdpInErrors"] += 1
            return
    socks = udp_table.get((dev.net, dport))
    if socks is not None:
        daddr = rt.daddr  # a local route is made for the packet's own addresses
        for sk in socks:
            if not sk.laddr or sk.laddr == daddr:
                mib = dev.net.ipv4.dp.mib  # type: ignore[union-attr]  # set by ip_rcv
                if len(sk.rcvq) >= RCVBUF_DATAGRAMS:  # __udp_queue_rcv_skb
                    sk.drops += 1
                    mib["UdpInErrors"] += 1
                    return
                mib["UdpInDatagrams"] += 1
                sk.rcvq.append((pkt[ihl + 8:ihl + ulen], (rt.saddr, sport)))
                if sk.on_readable is not None:
                    sk.on_readable()
                return
    ipv4_dp(dev.net).mib["UdpNoPorts"] += 1
    if rt.flags & RTCF_BROADCAST_OR_MULTICAST:
        return
    icmp_send(pkt, rt, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH)


def udp_register() -> None:
    from ..ipv4.ip_input import inet_protos

    inet_protos[IPPROTO_UDP] = udp_rcv
