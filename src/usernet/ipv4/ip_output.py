"""IPv4 output (``net/ipv4/ip_output.c``): headers for locally generated
packets, fragmentation to the route's MTU, and hand-off to the neighbour."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..dev.datapath import dev_can_gso
from ..dev.loopback import Loopback
from ..netfilter.hooks import nf_enabled, nf_output
from ..wire.gso import gso_segment, gso_size
from ..wire.ipv4 import IP_DF, ipv4_header
from .datapath_state import ipv4_dp
from .ip_ident import ip_select_ident
from .neigh_resolve import neigh_output

LOOPBACK_HH = bytes(12) + b"\x08\x00"

if TYPE_CHECKING:
    from .route import OutputRoute

RTAX_MTU_IDX = 2
RTCF_BROADCAST = 0x10000000  # route.py's (which imports this module)
IP_PMTUDISC_DONT = 0
IP_PMTUDISC_WANT = 1
IP_PMTUDISC_DO = 2
IP_PMTUDISC_PROBE = 3


def route_mtu(rt: OutputRoute) -> int:
    """dst_mtu(): a learned path MTU, else the route's mtu metric, else the device's."""
    if rt.pmtu:
        return rt.pmtu
    m = rt.metrics
    if m:
        mtu = m.get(RTAX_MTU_IDX)
        if mtu:
            return int(mtu)
    return rt.dev.mtu


def ip_build_and_send(rt: OutputRoute, proto: int, payload: bytes, *, tos: int = 0,
                      ttl: int = 0, pmtudisc: int = IP_PMTUDISC_WANT,
                      ident: int | None = None, sk: Any = None) -> int:
    """ip_push_pending_frames for one datagram: header, then ip_local_out;
    0 or the errno netfilter gave (see ip_output).  ``sk`` is the socket
    sending it (skb->sk; see ip_output), which ip_select_ident asks;
    ``ident`` overrides that choice."""
    net = rt.dev.net
    if not ttl:
        ttl = net.ipv4.sysctl.ip_default_ttl
    tot_len = 20 + len(payload)
    mtu = route_mtu(rt)
    df = pmtudisc >= IP_PMTUDISC_DO or (pmtudisc == IP_PMTUDISC_WANT and tot_len <= mtu)
    if ident is None:
        ident = ip_select_ident(net, rt.daddr, rt.saddr, proto, df, pmtudisc, sk)
    hdr = ipv4_header(tos, tot_len, ident, IP_DF if df else 0, ttl, proto, rt.saddr, rt.daddr)
    ipv4_dp(net).mib["OutRequests"] += 1
    return ip_output(rt, hdr + payload, sk)


def ip_output(rt: OutputRoute, pkt: bytes, sk: Any = None) -> int:
    """__ip_local_out + ip_output + ip_finish_output: the OUTPUT hook for our
    own packets, POSTROUTING for all, then fragment what does not fit.
    0, or the errno netfilter dropped the packet with (EPERM), which the
    sender's sendmsg returns.  ``sk`` is skb->sk, which only the hooks read
    (the owner match, LOG --log-uid): the sending Sock, a TCP request socket
    for a SYN-ACK, :data:`~usernet.sock.CTL_SK` for the kernel's own ICMP and
    TCP replies, None for a forwarded packet or REJECT's reset."""
    net = rt.dev.net
    if nf_enabled(net):
        res = nf_output(net, rt, pkt, sk)  # may re-route (mark, NAT)
        if isinstance(res, int):
            return res
        rt, pkt = res
    mtu = route_mtu(rt)
    if len(pkt) > mtu:
        size = gso_size(pkt, 0, mtu) if pkt[6] & 0x40 else 0
        if size:
            _finish_gso(rt, pkt, size)
            return 0
        ip_fragment_output(rt, pkt, mtu)
        return 0
    _finish(rt, pkt)
    return 0


def _finish_gso(rt: OutputRoute, pkt: bytes, size: int) -> None:
    """ip_finish_output_gso: a TCP super-segment goes whole to a device that
    takes it; for any other it is cut into MTU-sized segments first."""
    if dev_can_gso(rt.dev):
        _finish(rt, pkt)
        return
    for seg in gso_segment(pkt, 0, size):
        _finish(rt, seg)


def _finish(rt: OutputRoute, pkt: bytes) -> None:
    if rt.flags & RTCF_BROADCAST and not rt.is_input:
        _loopback_copy(rt, pkt)
    dev = rt.dev
    if isinstance(dev, Loopback):
        dev.xmit_with_dst(LOOPBACK_HH + pkt, rt)
        return
    neigh_output(dev, rt.gateway or rt.daddr, pkt, rt)


def ip_fragment_output(rt: OutputRoute, pkt: bytes, mtu: int) -> None:
    from .ip_fragment import ip_fragment

    dp = ipv4_dp(rt.dev.net)
    frags = ip_fragment(pkt, mtu)
    dp.mib["FragOKs"] += 1
    dp.mib["FragCreates"] += len(frags)
    for frag in frags:
        _finish(rt, frag)


def _loopback_copy(rt: OutputRoute, pkt: bytes) -> None:
    """ip_mc_output: a broadcast we send is also delivered to ourselves."""
    from .ip_input import ip_local_deliver

    dev = rt.dev
    dev.net.kernel.sched.call_soon(ip_local_deliver, dev, pkt, rt, 1)
