"""Neighbour resolution: the NUD state machine and ARP (``net/core/neighbour.c``,
``net/ipv4/arp.c``).

``neigh_output`` is the last step of IPv4 output: a frame to a CONNECTED
neighbour leaves at once with the cached header; otherwise the state machine
decides (queue and solicit, DELAY then PROBE, FAILED with host-unreachable
errors for what was queued).  ``arp_process`` answers requests that pass
the input route check (rp_filter, martians) for local addresses (arp_ignore,
arp_filter) and proxied ones (proxy_arp, pvlan, `ip neigh add proxy`, after
proxy_delay), and updates entries from what it hears (arp_accept, locktime).
Times follow the namespace's ``net.ipv4.neigh.*`` parameters, in jiffies (HZ=250).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..dev.datapath import PACKET_HOST, PACKET_OTHERHOST, dev_queue_xmit
from ..dev.netdevice import IFF_LOOPBACK, IFF_NOARP, IFF_UP, NETREG_REGISTERED
from ..errors import KernelError
from ..wire.arp import ARP_HDR, ARP_LEN, ARPHRD_ETHER, ARPOP_REPLY, ARPOP_REQUEST, arp_packet
from ..wire.ethernet import ETH_HLEN, ETH_P_ARP, eth_header
from .devinet import inet_select_addr
from .fib import RT_SCOPE_HOST, RT_SCOPE_LINK, RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST, RTN_UNICAST
from .fib_frontend import inet_addr_type
from .neighbour import (
    HZ,
    NUD_CONNECTED,
    NUD_DELAY,
    NUD_FAILED,
    NUD_IN_TIMER,
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
from .route import OutputRoute, ip_route_input, ip_route_output

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..net import Net
    from .devinet import InDevice

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


def neigh_event_send(n: Neighbour, pkt: bytes | None, rt: Any) -> None:
    """__neigh_event_send: move the state machine for an outgoing packet."""
    dev = n.dev
    assert dev is not None
    now = _jiffies(dev)
    n.used = now
    state = n.nud_state
    if state & (NUD_CONNECTED | NUD_DELAY | NUD_PROBE):
        if pkt is not None:
            dev_queue_xmit(dev, n.hh + pkt)
        return
    if state & NUD_STALE:
        n.nud_state = NUD_DELAY
        n.updated = now
        _arm(n, now + _parm(dev, "delay_probe_time"))
        if pkt is not None:
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
    if pkt is not None:
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


def neigh_update(n: Neighbour, lladdr: bytes, new: int, override: bool) -> None:
    """__neigh_update as ARP calls it: ``new`` is REACHABLE or STALE, the flags
    are at most NEIGH_UPDATE_F_OVERRIDE (never ADMIN or WEAK_OVERRIDE)."""
    old = n.nud_state
    if old & (NUD_NOARP | NUD_PERMANENT):
        return
    dev = n.dev
    assert dev is not None
    now = _jiffies(dev)
    # Linux compares buffers: an invalid entry's old address never counts.
    changed = not old & NUD_VALID or lladdr != n.lladdr
    if new & NUD_CONNECTED:
        n.confirmed = now
    if old & NUD_VALID:
        if changed and not override:
            return
        if not changed and new == NUD_STALE:
            new = old  # an unchanged address does not demote the entry
    if new != old or changed:
        n.updated = now
    if new != old:
        n.del_timer()
        if new & NUD_PROBE:
            n.probes = 0
        if new & NUD_REACHABLE:
            n.reachable_time = _rand_reach_time(dev)
            _arm(n, now + n.reachable_time)
        elif new & NUD_IN_TIMER:
            _arm(n, now)
        n.nud_state = new
    if changed:
        n.set_lladdr(lladdr)
        if not new & NUD_CONNECTED:
            n.confirmed = now - 2 * _parm(dev, "base_reachable_time")
    if new != old and not old & NUD_VALID:
        _flush_queue(n)


def _flush_queue(n: Neighbour) -> None:
    """Send what waited for resolution through the entry's output: a STALE
    entry moves to DELAY with the first packet, as neigh_resolve_output does."""
    q = n.queue
    n.queue = None
    dev = n.dev
    assert dev is not None
    for pkt, rt in q or ():
        if not n.nud_state & NUD_VALID:
            break
        if n.nud_state & NUD_CONNECTED:
            dev_queue_xmit(dev, n.hh + pkt)
        else:
            neigh_event_send(n, pkt, rt)


def neigh_admin_changed(n: Neighbour, old_state: int) -> None:
    """After `ip neigh add/replace`: timers follow the new state and a
    now-valid entry releases its queue."""
    state = n.nud_state
    if not state & (NUD_INCOMPLETE | NUD_REACHABLE | NUD_DELAY | NUD_PROBE):
        n.del_timer()
    if state & NUD_VALID and not old_state & NUD_VALID and n.lladdr is not None:
        _flush_queue(n)


# -- ARP ----------------------------------------------------------------------------

ARPHRD_IEEE802 = 6
ETH_P_IP = 0x0800


def _conf_max(in_dev: InDevice, key: str) -> int:
    """IN_DEV_MAXCONF: the larger of conf.all and conf.DEV."""
    return max(in_dev.conf_get(key), in_dev.dev.net.ipv4.devconf_all.get(key, 0))


def _conf_or(in_dev: InDevice, key: str) -> bool:
    """IN_DEV_ORCONF: conf.all or conf.DEV."""
    return bool(in_dev.conf_get(key) or in_dev.dev.net.ipv4.devconf_all.get(key, 0))


def arp_send(dev: NetDevice, op: int, dest_hw: bytes | None, sip: int, target_hw: bytes,
             tip: int) -> None:
    """arp_create + arp_xmit (nothing on a NOARP device); ``dest_hw`` None
    broadcasts.  Frames on virtual links are not padded."""
    if dev.flags & IFF_NOARP:
        return
    frame = eth_header(dest_hw or dev.broadcast, dev.dev_addr, ETH_P_ARP) + \
        arp_packet(op, dev.dev_addr, sip, target_hw, tip)
    dev_queue_xmit(dev, frame)


def _inet_addr_onlink(in_dev: InDevice, a: int, b: int) -> bool:
    """inet_addr_onlink: some address of ``in_dev`` has ``a`` (and ``b``, if
    given) in its subnet."""
    return any(ifa.match(a) and (not b or ifa.match(b)) for ifa in in_dev.ifa_list)


def arp_solicit(n: Neighbour, pkt: bytes | None) -> None:
    """Send one ARP request for ``n``; ``pkt`` is the newest queued packet.
    arp_announce (max of all and DEV) decides the sender address: 0 any
    local source of the packet, 1 only one in the target's subnet, 2 always
    the device's own choice for the target."""
    dev = n.dev
    assert dev is not None
    in_dev = dev.ip_ptr
    if in_dev is None:
        return
    target = n.addr
    saddr = 0
    announce = _conf_max(in_dev, "arp_announce")
    if pkt is not None and len(pkt) >= 20 and announce != 2:
        src = int.from_bytes(pkt[12:16], "big")
        if inet_addr_type(dev.net, src) == RTN_LOCAL and (
                announce != 1 or _inet_addr_onlink(in_dev, target, src)):
            saddr = src
    if not saddr:
        saddr = inet_select_addr(dev, target, RT_SCOPE_LINK)
    probes = n.probes - _parm(dev, "ucast_probes")
    dest_hw: bytes | None = None
    if probes < 0:
        dest_hw = n.lladdr  # unicast reprobe of the address we knew
    elif probes - _parm(dev, "app_probes") < 0:
        return  # neigh_app_ns: a user-space resolver's turn (none here)
    arp_send(dev, ARPOP_REQUEST, dest_hw, saddr, b"\x00" * 6, target)


def _confirm_addr_indev(in_dev: InDevice, dst: int, local: int, scope: int) -> int:
    """confirm_addr_indev: a local address of ``in_dev`` (``local`` itself, or
    any when 0) of at most ``scope``, on a subnet that holds ``local`` and
    ``dst`` (either may be 0: any); 0 when there is none."""
    localnet_scope = RT_SCOPE_LINK if _conf_or(in_dev, "route_localnet") else RT_SCOPE_HOST
    addr = 0
    same = False
    for ifa in in_dev.ifa_list:
        min_scope = min(ifa.scope, localnet_scope)
        if not addr and (not local or local == ifa.local) and min_scope <= scope:
            addr = ifa.local
            if same:
                break
        if not same:
            same = (not local or ifa.match(local)) and (not dst or ifa.match(dst))
            if same and addr:
                if local or not dst:
                    break
                if ifa.match(addr):  # the chosen address is in dst's subnet
                    break
                if min_scope <= scope:  # else take this one
                    addr = ifa.local
                    break
                same = False  # look for a larger subnet holding dst
    return addr if same else 0


def inet_confirm_addr(net: Net, in_dev: InDevice | None, dst: int, local: int,
                      scope: int) -> int:
    """inet_confirm_addr: as :func:`_confirm_addr_indev`, on one device or (None)
    on every device of the namespace."""
    if in_dev is not None:
        return _confirm_addr_indev(in_dev, dst, local, scope)
    for dev in net.devices():
        other = dev.ip_ptr
        if other is not None:
            addr = _confirm_addr_indev(other, dst, local, scope)
            if addr:
                return addr
    return 0


def arp_ignore(in_dev: InDevice, sip: int, tip: int) -> bool:
    """True when a request for local ``tip`` must not be answered
    (arp_ignore, the larger of all and DEV)."""
    mode = _conf_max(in_dev, "arp_ignore")
    if mode == 0 or 4 <= mode <= 7 or mode > 8:
        return False
    if mode == 8:
        return True
    net = in_dev.dev.net
    if mode == 1:  # tip must be configured on the receiving interface
        return not _confirm_addr_indev(in_dev, 0, tip, RT_SCOPE_HOST)
    if mode == 2:  # ... and share a subnet with sip
        return not _confirm_addr_indev(in_dev, sip, tip, RT_SCOPE_HOST)
    return not inet_confirm_addr(net, None, 0, tip, RT_SCOPE_LINK)  # 3: no host scope


def arp_accept(in_dev: InDevice, sip: int) -> bool:
    """May unsolicited ARP create an entry (arp_accept, max of all and DEV)?"""
    mode = _conf_max(in_dev, "arp_accept")
    if mode == 1:
        return True
    if mode == 2:  # only for a sender in one of the device's subnets
        return bool(_confirm_addr_indev(in_dev, sip, 0, RT_SCOPE_LINK))
    return False


def arp_filter(sip: int, tip: int, dev: NetDevice) -> bool:
    """True when the route back to ``sip`` does not leave through ``dev``."""
    try:
        rt = ip_route_output(dev.net, sip, tip)
    except KernelError:
        return True
    return rt.dev is not dev


def _arp_fwd_proxy(in_dev: InDevice, dev: NetDevice, rt: OutputRoute) -> bool:
    """arp_fwd_proxy: proxy_arp (all or DEV) for a target routed through another
    device; medium_id -1 disables it, equal ids on both sides suppress it."""
    if rt.dev is dev or not _conf_or(in_dev, "proxy_arp"):
        return False
    imi = in_dev.conf_get("medium_id")
    if imi == 0:
        return True
    if imi == -1:
        return False
    out_dev = rt.dev.ip_ptr
    omi = out_dev.conf_get("medium_id") if out_dev is not None else -1
    return omi not in (imi, -1)


def _arp_fwd_pvlan(in_dev: InDevice, dev: NetDevice, rt: OutputRoute, sip: int,
                   tip: int) -> bool:
    """arp_fwd_pvlan: RFC 3069 private VLANs answer for the same segment."""
    return rt.dev is dev and sip != tip and _conf_or(in_dev, "proxy_arp_pvlan")


def _pneigh_lookup(dev: NetDevice, tip: int) -> bool:
    """pneigh_lookup: an `ip neigh add proxy` entry for ``tip`` on ``dev`` or on
    every device."""
    proxies = dev.net.kernel.neigh_tbl.proxies
    if not proxies:
        return False
    net = dev.net
    return (net, tip, dev) in proxies or (net, tip, None) in proxies


def neigh_event_ns(dev: NetDevice, lladdr: bytes, addr: int) -> Neighbour:
    """neigh_event_ns: the sender of a request we answer becomes STALE (made if
    need be), its address overriding the one we had."""
    n = dev.net.kernel.neigh_tbl.entries.get((dev, addr))
    if n is None:
        n = neigh_create(dev, addr)
    neigh_update(n, lladdr, NUD_STALE, True)
    return n


# pneigh_enqueue's per-device queue length (neigh_parms.qlen): requests waiting
# out proxy_delay.  Entries go away when their device's count drops to 0.
_proxy_qlen: dict[NetDevice, int] = {}


def _pneigh_enqueue(dev: NetDevice, frame: bytes, pkt_type: int) -> None:
    """pneigh_enqueue: answer a proxied request after a random delay below
    proxy_delay; ``neigh.DEV.proxy_qlen`` bounds the queue."""
    qlen = _proxy_qlen.get(dev, 0)
    if qlen > _parm(dev, "proxy_qlen"):
        return
    _proxy_qlen[dev] = qlen + 1
    kernel = dev.net.kernel
    when = _jiffies(dev) + kernel.rng.randrange(_parm(dev, "proxy_delay"))
    kernel.sched.call_at(when * JIFFY_NS, _parp_redo, dev, frame, pkt_type)


def _parp_redo(dev: NetDevice, frame: bytes, pkt_type: int) -> None:
    """neigh_proxy_process + parp_redo: the request is processed again, and
    answered at once if it still qualifies; a device gone down drops it."""
    qlen = _proxy_qlen[dev] - 1
    if qlen:
        _proxy_qlen[dev] = qlen
    else:
        del _proxy_qlen[dev]
    if dev.flags & IFF_UP and dev.reg_state == NETREG_REGISTERED:
        arp_process(dev, frame, pkt_type, True)


def arp_rcv(dev: NetDevice, frame: bytes, pkt_type: int, summed: int) -> None:
    """arp_rcv: ARP frames for this host (or broadcast) on an ARP device."""
    if dev.flags & IFF_NOARP or pkt_type == PACKET_OTHERHOST:
        return
    if len(frame) < ETH_HLEN + ARP_LEN:
        return
    arp_process(dev, frame, pkt_type, False)


def arp_process(dev: NetDevice, frame: bytes, pkt_type: int, requeued: bool) -> None:
    """arp_process: answer requests for local addresses (arp_ignore, arp_filter)
    and for addresses we proxy, and update the sender's entry.  ``requeued``
    is LOCALLY_ENQUEUED: the request waited out proxy_delay."""
    in_dev = dev.ip_ptr
    if in_dev is None:
        return
    hrd, pro, hln, pln, op, sha, sip, tha, tip = ARP_HDR.unpack_from(frame, ETH_HLEN)
    if hln != 6 or pln != 4 or pro != ETH_P_IP or op not in (ARPOP_REQUEST, ARPOP_REPLY):
        return
    if hrd not in (ARPHRD_ETHER, ARPHRD_IEEE802) or dev.link_type != "ether":
        return
    if tip >> 28 == 0xE or (tip >> 24 == 127 and not _conf_or(in_dev, "route_localnet")):
        return
    if sip == tip and _conf_or(in_dev, "drop_gratuitous_arp"):
        return
    net = dev.net
    if not sip:  # duplicate address detection (RFC 2131): answer, learn nothing
        if op == ARPOP_REQUEST and inet_addr_type(net, tip) == RTN_LOCAL \
                and not arp_ignore(in_dev, sip, tip):
            arp_send(dev, ARPOP_REPLY, sha, tip, sha, 0)
        return
    if op == ARPOP_REQUEST:
        try:
            # rp_filter and the martian checks apply to the sender address
            rt: OutputRoute | None = ip_route_input(net, tip, sip, dev)
        except KernelError:
            rt = None
        if rt is not None:
            if rt.type == RTN_LOCAL:
                if not arp_ignore(in_dev, sip, tip) and not (
                        _conf_or(in_dev, "arp_filter") and arp_filter(sip, tip, dev)):
                    neigh_event_ns(dev, sha, sip)
                    arp_send(dev, ARPOP_REPLY, sha, tip, sha, sip)
                return
            if in_dev.conf_get("forwarding") and rt.type == RTN_UNICAST and (
                    _arp_fwd_proxy(in_dev, dev, rt)
                    or _arp_fwd_pvlan(in_dev, dev, rt, sip, tip)
                    or (rt.dev is not dev and _pneigh_lookup(dev, tip))):
                neigh_event_ns(dev, sha, sip)
                if requeued or pkt_type == PACKET_HOST or not _parm(dev, "proxy_delay"):
                    arp_send(dev, ARPOP_REPLY, sha, tip, sha, sip)
                else:
                    _pneigh_enqueue(dev, frame, pkt_type)
                return
    # Update our table: replies to us and requests not answered above.
    tbl = dev.net.kernel.neigh_tbl
    n = tbl.entries.get((dev, sip))
    is_garp = False
    accept = arp_accept(in_dev, sip)
    if n is not None or accept:
        # gratuitous: sender == target (a reply also repeats its MAC as target)
        is_garp = sip == tip and (op == ARPOP_REQUEST or tha == sha) \
            and inet_addr_type(net, sip) == RTN_UNICAST
        if n is None and (is_garp or (op == ARPOP_REPLY
                                      and inet_addr_type(net, sip) == RTN_UNICAST)):
            n = neigh_create(dev, sip)
    if n is None:
        return
    # Several replies back to back: the first wins for locktime (unless garp).
    override = _jiffies(dev) > n.updated + _parm(dev, "locktime") or is_garp
    # Broadcast replies and requests do not prove reachability.
    state = NUD_REACHABLE if op == ARPOP_REPLY and pkt_type == PACKET_HOST else NUD_STALE
    neigh_update(n, sha, state, override)
