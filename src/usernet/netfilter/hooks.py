"""The packet side of netfilter: the five hooks on the IPv4 path.

``nf_ipv4(net, hook, pkt, indev, outdev)`` builds the rules' view of an IPv4
packet, runs the hook's tables (``nf_hook``) and carries out what targets
asked for: REJECT's ICMP error, MARK's mark.  It answers True when the
packet may go on.  A namespace without tables never gets here: the data path
asks ``nf_enabled(net)`` first, so packets of namespaces without rules pay
one dict lookup.  Connection tracking and NAT are not built yet: every
packet is seen as untracked (conntrack matches see CT_UNTRACKED).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..ipv4.fib_frontend import inet_addr_type
from ..wire.icmp import ICMP_DEST_UNREACH
from .packet import NF_ACCEPT, PktView
from .tables import nf_hook, nf_net

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..ipv4.route import OutputRoute
    from ..net import Net

# --reject-with -> ICMP destination-unreachable code
REJECT_CODES = {
    "icmp-net-unreachable": 0, "icmp-host-unreachable": 1, "icmp-proto-unreachable": 2,
    "icmp-port-unreachable": 3, "icmp-net-prohibited": 9, "icmp-host-prohibited": 10,
    "icmp-admin-prohibited": 13,
}


def nf_enabled(net: Net) -> bool:
    return bool(nf_net(net).tables)


def pkt_view(net: Net, hook: int, pkt: bytes, indev: NetDevice | None,
             outdev: NetDevice | None) -> PktView:
    """The rules' view of IPv4 packet ``pkt`` (header at offset 0)."""
    ihl = (pkt[0] & 15) << 2
    frag = ((pkt[6] << 8) | pkt[7]) & 0x1FFF
    saddr = int.from_bytes(pkt[12:16], "big")
    daddr = int.from_bytes(pkt[16:20], "big")
    v = PktView(hook=hook, iif=indev.name if indev is not None else "",
                oif=outdev.name if outdev is not None else "", saddr=saddr, daddr=daddr,
                proto=pkt[9], length=(pkt[2] << 8) | pkt[3], ttl=pkt[8], tos=pkt[1],
                fragment=bool(frag), now_ns=net.kernel.sched.now,
                saddr_type=inet_addr_type(net, saddr), daddr_type=inet_addr_type(net, daddr))
    body = pkt[ihl:]
    if not frag and v.proto in (6, 17) and len(body) >= 4:
        v.sport = (body[0] << 8) | body[1]
        v.dport = (body[2] << 8) | body[3]
        if v.proto == 6 and len(body) >= 14:
            v.tcp_flags = body[13]
    elif not frag and v.proto == 1 and len(body) >= 2:
        v.icmp_type, v.icmp_code = body[0], body[1]
    return v


def nf_ipv4(net: Net, hook: int, pkt: bytes, indev: NetDevice | None,
            outdev: NetDevice | None, rt: OutputRoute | None) -> bool:
    """Run the hook; act on REJECT; True when the verdict lets the packet on."""
    view = pkt_view(net, hook, pkt, indev, outdev)
    verdict = nf_hook(net, hook, view)
    if view.reject is not None and rt is not None:
        _reject(pkt, rt, view.reject.with_)
    return verdict == NF_ACCEPT


def _reject(pkt: bytes, rt: OutputRoute, how: str) -> None:
    """nf_send_unreach / nf_send_reset: the answer REJECT was asked for."""
    if how == "tcp-reset":
        _send_reset(rt.dev.net, pkt)
        return
    from ..ipv4.icmp import icmp_send

    icmp_send(pkt, rt, ICMP_DEST_UNREACH, REJECT_CODES.get(how, 3))


def _send_reset(net: Net, pkt: bytes) -> None:
    """A RST for the rejected segment, from its destination to its source
    (never for a RST, nor for a fragment, as nf_send_reset)."""
    from ..transport.tcp_output import tcp_v4_send_reset

    ihl = (pkt[0] & 15) << 2
    if pkt[9] != 6 or len(pkt) < ihl + 20 or ((pkt[6] << 8) | pkt[7]) & 0x1FFF:
        return
    t = pkt[ihl:]
    doff = (t[12] >> 4) << 2
    dlen = ((pkt[2] << 8) | pkt[3]) - ihl - doff
    tcp_v4_send_reset(net, int.from_bytes(pkt[12:16], "big"), int.from_bytes(pkt[16:20], "big"),
                      (t[0] << 8) | t[1], (t[2] << 8) | t[3], int.from_bytes(t[4:8], "big"),
                      int.from_bytes(t[8:12], "big"), t[13], max(dlen, 0), pkt[1])
