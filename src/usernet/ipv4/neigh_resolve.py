"""Neighbour resolution: the NUD state machine and ARP (``net/core/neighbour.c``,
``net/ipv4/arp.c``).

``neigh_output`` is the last step of IPv4 output: a frame to a CONNECTED
neighbour leaves at once with the cached header; otherwise the state machine
decides (queue and solicit, DELAY then PROBE, FAILED with host-unreachable
errors for what was queued).  ``arp_rcv`` answers requests for local
addresses and updates entries from what it hears.  Times follow the
namespace's ``net.ipv4.neigh.*`` parameters, in jiffies (HZ=250).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..dev.datapath import PACKET_HOST, PACKET_OTHERHOST, dev_queue_xmit, dev_stats
from ..dev.netdevice import IFF_LOOPBACK, IFF_NOARP
from ..errors import KernelError
from ..wire.arp import ARP_HDR, ARP_LEN, ARPOP_REPLY, ARPOP_REQUEST, arp_packet
from ..wire.ethernet import BROADCAST, ETH_HLEN, ETH_P_ARP, eth_header
from .neighbour import (
    HZ,
    NUD_CONNECTED,
    NUD_DELAY,
    NUD_FAILED,
    NUD_INCOMPLETE,
    NUD_NOARP,
    NUD_NONE,
    NUD_PERMANENT,
    NUD_PROBE,
    NUD_REACHABLE,
    NUD_STALE,
    NUD_VALID,
    Neighbour,
)

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice

JIFFY_NS = 1_000_000_000 // HZ
SKB_TRUESIZE = 768  # what one queued packet costs against queue_len_bytes


def _jiffies(dev: NetDevice) -> int:
    return dev.net.kernel.sched.now // JIFFY_NS


def _parm(dev: NetDevice, name: str) -> int:
    return dev.net.kernel.neigh_tbl.parm(dev, name)


def _arm(n: Neighbour, when_jiffies: int) -> None:
    n.del_timer()
    dev = n.dev
    assert dev is not None
    n.timer = dev.net.kernel.sched.call_at(when_jiffies * JIFFY_NS, neigh_timer_handler, n)


def _rand_reach_time(dev: NetDevice) -> int:
    """neigh_rand_reach_time: uniformly in [base/2, 3*base/2)."""
    base = _parm(dev, "base_reachable_time")
    return base // 2 + dev.net.kernel.rng.randrange(base) if base else 0


# -- creating entries ---------------------------------------------------------------


def neigh_create(dev: NetDevice, addr: int) -> Neighbour:
    """__neigh_create + arp_constructor: broadcast and multicast addresses and
    ARP-less devices need no resolution (NOARP)."""
    from .fib import RTN_BROADCAST, RTN_MULTICAST
    from .fib_frontend import inet_addr_type

    n = Neighbour(dev, addr, None, NUD_NONE)
    if dev.flags & (IFF_NOARP | IFF_LOOPBACK):
        n.nud_state = NUD_NOARP
        n.set_lladdr(dev.dev_addr)
    else:
        kind = inet_addr_type(dev.net, addr, dev)
        if kind == RTN_MULTICAST or addr >> 28 == 0xE:
            n.nud_state = NUD_NOARP
            n.set_lladdr(b"\x01\x00\x5e" + ((addr & 0x7FFFFF).to_bytes(3, "big")))
        elif kind == RTN_BROADCAST or addr == 0xFFFFFFFF:
            n.nud_state = NUD_NOARP
            n.set_lladdr(dev.broadcast)
    n.updated = n.used = _jiffies(dev)
    dev.net.kernel.neigh_tbl.insert(n)
    return n


# -- output -------------------------------------------------------------------------


def neigh_output(dev: NetDevice, nexthop: int, pkt: bytes, rt: Any) -> None:
    """Send IPv4 packet ``pkt`` to ``nexthop`` on ``dev`` (ip_finish_output2)."""
    n = dev.net.kernel.neigh_tbl.entries.get((dev, nexthop))
    if n is None:
        n = neigh_create(dev, nexthop)
    if n.nud_state & NUD_CONNECTED:
        dev_queue_xmit(dev, n.hh + pkt)
        return
    neigh_event_send(n, pkt, rt)


def neigh_event_send(n: Neighbour, pkt: bytes, rt: Any) -> None:
    """__neigh_event_send: move the state machine for an outgoing packet."""
    dev = n.dev
    assert dev is not None
    now = _jiffies(dev)
    n.used = now
    state = n.nud_state
    if state & (NUD_DELAY | NUD_PROBE):
        dev_queue_xmit(dev, n.hh + pkt)
        return
    if state & NUD_STALE:
        n.nud_state = NUD_DELAY
        n.updated = now
        _arm(n, now + _parm(dev, "delay_probe_time"))
        dev_queue_xmit(dev, n.hh + pkt)
        return
    immediate = False
    if not state & NUD_INCOMPLETE:  # NONE or FAILED
        if _parm(dev, "mcast_probes") + _parm(dev, "app_probes"):
            n.probes = _parm(dev, "ucast_probes")
            n.nud_state = NUD_INCOMPLETE
            n.updated = now
            _arm(n, now + max(_parm(dev, "retrans_time"), HZ // 100))
            immediate = True
        else:
            n.nud_state = NUD_FAILED
            n.updated = now
            return
    _enqueue(n, pkt, rt)
    if immediate:
        neigh_probe(n)


def _enqueue(n: Neighbour, pkt: bytes, rt: Any) -> None:
    """arp_queue, bounded by queue_len_bytes: the oldest packets go first."""
    q = n.queue
    if q is None:
        q = n.queue = []
    assert n.dev is not None
    limit = _parm(n.dev, "queue_len_bytes")
    while q and (len(q) + 1) * SKB_TRUESIZE > limit:
        q.pop(0)  # counted in the table's unres_discards, not on the device
    q.append((pkt, rt))


def neigh_probe(n: Neighbour) -> None:
    """Send one solicitation, using the newest queued packet's source."""
    q = n.queue
    arp_solicit(n, q[-1][0] if q else None)
    n.probes += 1


def _max_probes(n: Neighbour) -> int:
    dev = n.dev
    assert dev is not None
    probes = _parm(dev, "ucast_probes") + _parm(dev, "app_probes")
    if not n.nud_state & NUD_PROBE:
        probes += _parm(dev, "mcast_probes")
    return probes


def neigh_timer_handler(n: Neighbour) -> None:
    dev = n.dev
    assert dev is not None
    n.timer = None
    now = _jiffies(dev)
    state = n.nud_state
    nxt = now + HZ
    if state & NUD_REACHABLE:
        if now <= n.confirmed + n.reachable_time:
            nxt = n.confirmed + n.reachable_time
        elif now <= n.used + _parm(dev, "delay_probe_time"):
            n.nud_state = NUD_DELAY
            n.updated = now
            nxt = now + _parm(dev, "delay_probe_time")
        else:
            n.nud_state = NUD_STALE
            n.updated = now
            return
    elif state & NUD_DELAY:
        if now <= n.confirmed + _parm(dev, "delay_probe_time"):
            n.nud_state = NUD_REACHABLE
            n.updated = now
            nxt = n.confirmed + n.reachable_time
        else:
            n.nud_state = NUD_PROBE
            n.updated = now
            n.probes = 0
            nxt = now + max(_parm(dev, "retrans_time"), HZ // 100)
    else:
        nxt = now + max(_parm(dev, "retrans_time"), HZ // 100)
    if n.nud_state & (NUD_INCOMPLETE | NUD_PROBE) and n.probes >= _max_probes(n):
        n.nud_state = NUD_FAILED
        n.updated = now
        neigh_invalidate(n)
        return
    _arm(n, max(nxt, now + 1))
    if n.nud_state & (NUD_INCOMPLETE | NUD_PROBE):
        neigh_probe(n)


def neigh_invalidate(n: Neighbour) -> None:
    """Resolution failed: every queued packet earns its sender a host unreachable."""
    from .icmp import icmp_send_host_unreach

    q = n.queue
    n.queue = None
    for pkt, rt in q or ():
        icmp_send_host_unreach(pkt, rt)


def neigh_update(n: Neighbour, lladdr: bytes, state: int, override: bool) -> None:
    """__neigh_update for what ARP heard (never touches PERMANENT/NOARP)."""
    old = n.nud_state
    if old & (NUD_NOARP | NUD_PERMANENT):
        return
    dev = n.dev
    assert dev is not None
    now = _jiffies(dev)
    if old & NUD_VALID and lladdr != n.lladdr and not override:
        if old & NUD_CONNECTED:
            state = NUD_STALE
            lladdr = n.lladdr or lladdr
        else:
            return
    if lladdr != n.lladdr:
        n.set_lladdr(lladdr)
    if state & NUD_CONNECTED:
        n.confirmed = now
    n.updated = now
    if state == old and lladdr == n.lladdr and not state & NUD_CONNECTED:
        return
    n.nud_state = state
    if state & NUD_REACHABLE:
        n.reachable_time = _rand_reach_time(dev)
        _arm(n, now + n.reachable_time)
    elif not state & (NUD_DELAY | NUD_PROBE | NUD_INCOMPLETE):
        n.del_timer()
    if not old & NUD_VALID:
        _flush_queue(n)


def _flush_queue(n: Neighbour) -> None:
    q = n.queue
    n.queue = None
    dev = n.dev
    assert dev is not None
    for pkt, _rt in q or ():
        dev_queue_xmit(dev, n.hh + pkt)


def neigh_admin_changed(n: Neighbour, old_state: int) -> None:
    """After `ip neigh add/replace`: timers follow the new state and a
    now-valid entry releases its queue."""
    state = n.nud_state
    if not state & (NUD_INCOMPLETE | NUD_REACHABLE | NUD_DELAY | NUD_PROBE):
        n.del_timer()
    if state & NUD_VALID and not old_state & NUD_VALID and n.lladdr is not None:
        _flush_queue(n)


# -- ARP ----------------------------------------------------------------------------


def arp_send(dev: NetDevice, op: int, dest_hw: bytes | None, sip: int, target_hw: bytes,
             tip: int) -> None:
    """arp_create + arp_xmit.  Frames on virtual links are not padded."""
    frame = eth_header(dest_hw or BROADCAST, dev.dev_addr, ETH_P_ARP) + \
        arp_packet(op, dev.dev_addr, sip, target_hw, tip)
    dev_queue_xmit(dev, frame)


def arp_solicit(n: Neighbour, pkt: bytes | None) -> None:
    from .devinet import inet_select_addr
    from .fib import RT_SCOPE_LINK, RTN_LOCAL
    from .fib_frontend import inet_addr_type

    dev = n.dev
    assert dev is not None
    saddr = 0
    if pkt is not None and len(pkt) >= 20:
        src = int.from_bytes(pkt[12:16], "big")
        if inet_addr_type(dev.net, src, dev) == RTN_LOCAL:
            saddr = src
    if not saddr:
        saddr = inet_select_addr(dev, n.addr, RT_SCOPE_LINK)
    probes = n.probes - _parm(dev, "ucast_probes")
    dest_hw: bytes | None = None
    if n.nud_state & NUD_PROBE or probes < 0:
        dest_hw = n.lladdr  # unicast reprobe of the address we knew
    arp_send(dev, ARPOP_REQUEST, dest_hw, saddr, b"\x00" * 6, n.addr)


def arp_rcv(dev: NetDevice, frame: bytes, pkt_type: int, summed: int) -> None:
    """arp_rcv + arp_process."""
    in_dev = dev.ip_ptr
    if in_dev is None or dev.flags & IFF_NOARP or pkt_type == PACKET_OTHERHOST:
        return
    if len(frame) < ETH_HLEN + ARP_LEN:
        dev_stats(dev).rx_dropped += 1
        return
    hrd, pro, hln, pln, op, sha, sip, _tha, tip = ARP_HDR.unpack_from(frame, ETH_HLEN)
    if hrd != 1 or pro != 0x0800 or hln != 6 or pln != 4 or op not in (1, 2):
        return
    if tip >> 28 == 0xE or sip >> 28 == 0xE or tip >> 24 == 127:
        return
    if sha[0] & 1:
        return
    tbl = dev.net.kernel.neigh_tbl
    if op == ARPOP_REQUEST and _arp_request_for_us(dev, sip, tip):
        if sip:
            sender = tbl.entries.get((dev, sip)) or neigh_create(dev, sip)
            neigh_update(sender, sha, NUD_STALE, True)
        arp_send(dev, ARPOP_REPLY, sha, tip, sha, sip)
        return
    if not sip:
        return
    n = tbl.entries.get((dev, sip))
    if n is None:
        return
    state = NUD_REACHABLE if op == ARPOP_REPLY and pkt_type == PACKET_HOST else NUD_STALE
    now = _jiffies(dev)
    override = now - n.updated >= _parm(dev, "locktime")
    neigh_update(n, sha, state, override or op == ARPOP_REPLY)


def _arp_request_for_us(dev: NetDevice, sip: int, tip: int) -> bool:
    """The route to the target is local (arp_ignore 0 answers for any local
    address), or a proxy entry covers it."""
    from .fib import RTN_LOCAL
    from .route import ip_route_input

    try:
        rt = ip_route_input(dev.net, tip, sip, dev) if sip else None
    except KernelError:
        rt = None
    if rt is not None:
        if rt.type == RTN_LOCAL:
            return True
        tbl = dev.net.kernel.neigh_tbl
        proxies = tbl.proxies
        return (dev.net, tip, dev) in proxies or (dev.net, tip, None) in proxies
    if not sip:  # a duplicate-address probe
        from .fib_frontend import inet_addr_type

        return inet_addr_type(dev.net, tip, dev) == RTN_LOCAL
    return False
