"""IPv4 forwarding (``net/ipv4/ip_forward.c``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..dev.datapath import PACKET_HOST
from ..netfilter.hooks import nf_enabled, nf_ipv4
from ..wire.gso import gso_size
from ..wire.icmp import (
    ICMP_DEST_UNREACH,
    ICMP_EXC_TTL,
    ICMP_FRAG_NEEDED,
    ICMP_TIME_EXCEEDED,
)
from ..wire.ipv4 import IP_DF
from .datapath_state import ipv4_dp, sysctl_int
from .ip_output import ip_output, route_mtu
from .neigh_resolve import neigh_output

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from .route import OutputRoute

RTCF_DOREDIRECT = 0x01000000
NF_FORWARD = 2


def forward_mtu(rt: OutputRoute) -> int:
    """ip_dst_mtu_maybe_forward: forwarded packets ignore learned path MTUs
    (unless net.ipv4.ip_forward_use_pmtu) but honour a locked mtu metric."""
    if sysctl_int(rt.dev.net, "net.ipv4.ip_forward_use_pmtu"):
        return route_mtu(rt)
    m = rt.metrics
    if m and int(m.get(1, 0)) & (1 << 2) and m.get(2):  # RTAX_LOCK of RTAX_MTU
        return int(m[2])
    return rt.dev.mtu


def ip_forward(dev: NetDevice, pkt: bytes, rt: OutputRoute, pkt_type: int, summed: int) -> None:
    """Decrement the TTL (fixing the checksum incrementally, as
    ip_decrease_ttl does), answer what cannot go on, send the rest."""
    if pkt_type != PACKET_HOST:
        return
    ttl = pkt[8]
    if ttl <= 1:
        from .icmp import icmp_send

        ipv4_dp(dev.net).mib["InHdrErrors"] += 1
        icmp_send(pkt, rt, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL)
        return
    if rt.flags & RTCF_DOREDIRECT:
        from .icmp import ip_rt_send_redirect

        ip_rt_send_redirect(pkt, rt)
    mtu = forward_mtu(rt)
    n = len(pkt)
    if n > mtu and dev.mtu <= mtu and gso_size(pkt, 0, dev.mtu):
        # ip_exceeds_mtu: a super-segment GRO handed us whole is judged by its
        # segments, which fill the MTU of the device it came in on
        n = 0
    if n > mtu and pkt[6] & (IP_DF >> 8):
        from .icmp import icmp_send

        ipv4_dp(dev.net).mib["FragFails"] += 1
        icmp_send(pkt, rt, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu & 0xFFFF)
        return
    check = ((pkt[10] << 8) | pkt[11]) + 0x100  # ip_decrease_ttl
    check = (check + (check >= 0xFFFF)) & 0xFFFF
    out = pkt[:8] + bytes((ttl - 1, pkt[9], check >> 8, check & 0xFF)) + pkt[12:]
    net = dev.net
    if nf_enabled(net):
        fwd = nf_ipv4(net, NF_FORWARD, out, dev, rt.dev, rt)
        if fwd is None:
            return
        out = fwd
        ipv4_dp(net).mib["ForwDatagrams"] += 1
        ip_output(rt, out)  # POSTROUTING runs there
        # the neighbour memo too: ip_list_rcv's established-flow shortcut uses it
        rt.neigh = net.kernel.neigh_tbl.entries.get((rt.dev, rt.gateway or rt.daddr))
        return
    ipv4_dp(net).mib["ForwDatagrams"] += 1
    if n > mtu:
        ip_output(rt, out)
        return
    nexthop = rt.gateway or rt.daddr
    neigh_output(rt.dev, nexthop, out, rt)
    # memoise the neighbour for ip_rcv's fast path (dst->neighbour)
    rt.neigh = rt.dev.net.kernel.neigh_tbl.entries.get((rt.dev, nexthop))
