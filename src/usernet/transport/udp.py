"""UDP input (``net/ipv4/udp.c``) for a namespace without UDP sockets yet:
length and checksum checks, then port unreachable -- the answer Linux gives
when no socket is bound to the destination port."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..ipv4.datapath_state import ipv4_dp
from ..ipv4.icmp import icmp_send
from ..wire.checksum import csum_partial, pseudo_header_sum
from ..wire.icmp import ICMP_DEST_UNREACH, ICMP_PORT_UNREACH
from ..wire.ipv4 import IPPROTO_UDP

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..ipv4.route import OutputRoute

RTCF_BROADCAST_OR_MULTICAST = 0x10000000 | 0x20000000


def udp_rcv(dev: NetDevice, pkt: bytes, ihl: int, rt: OutputRoute, summed: int) -> None:
    mib = ipv4_dp(dev.net).mib
    n = len(pkt) - ihl
    if n < 8:
        mib["UdpInErrors"] += 1
        return
    ulen = (pkt[ihl + 4] << 8) | pkt[ihl + 5]
    if ulen < 8 or ulen > n:
        mib["UdpInErrors"] += 1
        return
    if not summed and (pkt[ihl + 6] or pkt[ihl + 7]):
        saddr = int.from_bytes(pkt[12:16], "big")
        daddr = int.from_bytes(pkt[16:20], "big")
        seed = pseudo_header_sum(saddr, daddr, IPPROTO_UDP, ulen)
        if csum_partial(pkt[ihl:ihl + ulen], seed) != 0xFFFF:
            mib["UdpInErrors"] += 1
            return
    # No socket table yet: nobody listens on any port.
    mib["UdpNoPorts"] += 1
    if rt.flags & RTCF_BROADCAST_OR_MULTICAST:
        return
    icmp_send(pkt, rt, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH)


def udp_register() -> None:
    from ..ipv4.ip_input import inet_protos

    inet_protos[IPPROTO_UDP] = udp_rcv
