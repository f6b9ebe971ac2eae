"""The packet side of netfilter: the five hooks on the IPv4 path.

``nf_ipv4(net, hook, pkt, indev, outdev, rt)`` runs one hook for IPv4 packet
``pkt`` (header at offset 0) and answers the packet to go on with -- the same
object when nothing changed it, a new one when NAT, TTL or defragmentation
did -- or None when it was dropped (or queued for reassembly).  Locally
generated packets take :func:`nf_output` instead (OUTPUT, the re-route a
changed mark or destination asks for, then POSTROUTING).

Each hook runs what Linux registers there, in priority order:

* PREROUTING: raw, conntrack, mangle, nat (DNAT/REDIRECT);
* INPUT: mangle, filter, security, nat (SNAT), conntrack confirm;
* FORWARD: mangle, filter, security;
* OUTPUT: raw, conntrack, mangle, nat (DNAT), filter, security;
* POSTROUTING: mangle, nat (SNAT/MASQUERADE), conntrack confirm.

What a packet carries between its hooks (skb->_nfct, skb->mark) travels in
its :class:`PktView`: the view of a received packet stays in the namespace's
conntrack state (``CtNet.cur``) from PREROUTING to INPUT or to FORWARD and
POSTROUTING, matched by the packet's tuple (reception is synchronous, so no
other received packet runs in between); a packet looping through lo keeps
its entry and mark the same way (``CtNet.lo``).

Namespaces without tables never get here: the data path asks
``nf_enabled(net)`` first, so their packets pay one dict lookup.
"""

from __future__ import annotations

import errno
import struct
from typing import TYPE_CHECKING, Any

from ..dev.netdevice import IFF_LOOPBACK
from ..errors import KernelError
from ..ipv4.fib import RTN_LOCAL
from ..ipv4.fib_frontend import inet_addr_type
from ..wire.checksum import ip_checksum
from ..wire.icmp import ICMP_DEST_UNREACH
from .conntrack import (
    CT_NONE,
    IP_CT_IS_REPLY,
    IP_CT_NEW,
    IP_CT_RELATED,
    IP_CT_RELATED_REPLY,
    IP_CT_UNTRACKED,
    CtNet,
    NfConn,
    ct_confirm,
    ct_destroy,
    ct_net,
    nf_conntrack_in,
    set_ct,
)
from .conntrack_proto import (
    IPS_CONFIRMED,
)
from .matches import Connmark as ConnmarkMatch
from .matches import Conntrack
from .nat import (
    MAP_IPS,
    NF_NAT_MANIP_DST,
    NF_NAT_MANIP_SRC,
    nat_initialized,
    nf_nat_icmp_reply_translation,
    nf_nat_packet,
    nf_nat_setup_info,
    null_binding,
)
from .nf_log import NF_LOG_UID, nf_log_packet, sk_log_cred
from .packet import (
    NF_ACCEPT,
    NF_INET_FORWARD,
    NF_INET_LOCAL_IN,
    NF_INET_LOCAL_OUT,
    NF_INET_POST_ROUTING,
    NF_INET_PRE_ROUTING,
    NatRequest,
    PktView,
)
from .tables import ipt_do_table, nf_net, tables_at, wants_addrtype
from .targets import CT_NOTRACK, Ct, Nat
from .targets import Connmark as ConnmarkTarget

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..ipv4.route import OutputRoute
    from ..net import Net
    from .tables import NetfilterNet

PRE, IN, FWD, OUT, POST = (NF_INET_PRE_ROUTING, NF_INET_LOCAL_IN, NF_INET_FORWARD,
                           NF_INET_LOCAL_OUT, NF_INET_POST_ROUTING)

# --reject-with -> ICMP destination-unreachable code
REJECT_CODES = {
    "icmp-net-unreachable": 0, "icmp-host-unreachable": 1, "icmp-proto-unreachable": 2,
    "icmp-port-unreachable": 3, "icmp-net-prohibited": 9, "icmp-host-prohibited": 10,
    "icmp-admin-prohibited": 13,
}
_HDR = struct.Struct("!BBHHHBBHII")
LO_PENDING_MAX = 4096


def nf_enabled(net: Net) -> bool:
    return bool(nf_net(net).tables)


# -- the view of a packet ---------------------------------------------------------------------


def _fill(v: PktView, net: Net, pkt: bytes) -> None:
    """Read the packet's header into the view (again after NAT changed it)."""
    vihl, tos, tot_len, _id, frag, ttl, proto, _c, saddr, daddr = _HDR.unpack_from(pkt)
    ihl = (vihl & 15) << 2
    frag &= 0x1FFF
    v.saddr, v.daddr, v.proto, v.length, v.ttl, v.tos = saddr, daddr, proto, tot_len, ttl, tos
    v.fragment = bool(frag)
    if wants_addrtype(nf_net(net)):  # two route lookups only an addrtype match reads
        v.saddr_type = inet_addr_type(net, saddr)
        v.daddr_type = inet_addr_type(net, daddr)
    v.sport = v.dport = v.tcp_flags = v.icmp_type = v.icmp_code = 0
    n = len(pkt)
    key: tuple[int, int, int, int, int] | None = (saddr, daddr, proto, 0, 0)
    if proto == 6 or proto == 17:
        if n >= ihl + 8:
            v.sport = (pkt[ihl] << 8) | pkt[ihl + 1]
            v.dport = (pkt[ihl + 2] << 8) | pkt[ihl + 3]
            key = (saddr, daddr, proto, v.sport, v.dport)
            if proto == 6 and n >= ihl + 14 and not frag:
                v.tcp_flags = pkt[ihl + 13]
        else:
            key = None
    elif proto == 1:
        if n >= ihl + 2 and not frag:
            v.icmp_type, v.icmp_code = pkt[ihl], pkt[ihl + 1]
        key = (saddr, daddr, 1, (pkt[ihl + 4] << 8) | pkt[ihl + 5],
               (pkt[ihl] << 8) | pkt[ihl + 1]) if n >= ihl + 8 else None
    if frag:
        key = (saddr, daddr, proto, -1, -1)  # no ports: never an entry's tuple
    v.key = key


def _new_view(net: Net, hook: int, pkt: bytes, indev: NetDevice | None,
              outdev: NetDevice | None) -> PktView:
    v = PktView(hook=hook, iif=indev.name if indev is not None else "",
                oif=outdev.name if outdev is not None else "", now_ns=net.kernel.sched.now)
    _fill(v, net, pkt)
    return v


def _pkt_key(pkt: bytes) -> tuple[int, ...] | None:
    """The tuple ``_fill`` would give, without the rest."""
    ihl = (pkt[0] & 15) << 2
    proto = pkt[9]
    saddr = int.from_bytes(pkt[12:16], "big")
    daddr = int.from_bytes(pkt[16:20], "big")
    if ((pkt[6] << 8) | pkt[7]) & 0x1FFF:
        return (saddr, daddr, proto, -1, -1)
    if proto in (6, 17, 1):
        if len(pkt) < ihl + 8:
            return None
        if proto == 1:
            return (saddr, daddr, 1, (pkt[ihl + 4] << 8) | pkt[ihl + 5],
                    (pkt[ihl] << 8) | pkt[ihl + 1])
        return (saddr, daddr, proto, (pkt[ihl] << 8) | pkt[ihl + 1],
                (pkt[ihl + 2] << 8) | pkt[ihl + 3])
    return (saddr, daddr, proto, 0, 0)


# -- which hooks are registered ---------------------------------------------------------------


def _needs_ct(nfn: NetfilterNet) -> bool:
    """Does a rule load conntrack (nf_ct_netns_get in its checkentry)?"""
    for table in nfn.tables.values():
        for chain in table.chains.values():
            for rule in chain.rules:
                if any(isinstance(m, (Conntrack, ConnmarkMatch)) for m in rule.matches):
                    return True
                t = rule.target
                if isinstance(t, (Nat, ConnmarkTarget)) or (
                        isinstance(t, Ct) and not t.flags & CT_NOTRACK):
                    return True
    return False


def _refresh(ctn: CtNet, nfn: NetfilterNet) -> None:
    """After a ruleset change: is conntrack on, is NAT on (a nat base chain
    makes the NAT core hook all four nat hooks, as nf_nat_register_fn)?"""
    ctn.active = _needs_ct(nfn)
    nat = nfn.tables.get("nat")
    ctn.nat_on = nat is not None and any(c.hook is not None for c in nat.chains.values())
    ctn.active_gen = nfn.gen


def refresh_ct_state(net: Net) -> None:
    """Bring the namespace's conntrack switches (active, NAT) up to date with
    its ruleset."""
    _states(net)


def _states(net: Net) -> tuple[CtNet, NetfilterNet]:
    nfn = nf_net(net)
    ctn = ct_net(net)
    if ctn.active_gen != nfn.gen:
        _refresh(ctn, nfn)
    return ctn, nfn


# -- running tables ---------------------------------------------------------------------------


def _table(net: Net, name: str, hook: int, v: PktView, pkt: bytes, indev: NetDevice | None,
           outdev: NetDevice | None, rt: OutputRoute | None) -> bytes | None:
    """One table's chain, then what its targets asked for."""
    verdict = ipt_do_table(net, name, hook, v)
    if v.log is not None:
        nf_log_packet(net, pkt, indev, outdev, v.log, mark=v.mark, uid=sk_log_cred(_log_sk(net, v)))
        v.log = None
    ct = v.ct
    if ct is not None and v.ctmark != ct.mark:
        ct.mark = v.ctmark  # CONNMARK
    if verdict != NF_ACCEPT:
        if v.reject is not None and rt is not None:
            ctn = ct_net(net)
            outer, ctn.attach = ctn.attach, v  # nf_ct_attach: the answer is RELATED
            try:
                _reject(pkt, rt, v.reject.with_)
            finally:
                ctn.attach = outer
        v.reject = None
        return None
    if v.ttl != pkt[8]:
        pkt = _set_ttl(pkt, v.ttl)  # the TTL target
    return pkt


def _log_sk(net: Net, v: PktView) -> Any:
    """The skb->sk a LOG line reads: a local packet's own socket, or at INPUT
    the one early demux found (looked up only for a --log-uid line)."""
    if v.sk is None and v.hook == IN and v.log and not v.fragment and \
            any(req.flags & NF_LOG_UID for req in v.log):
        from ..ipv4.ip_input import ip_early_demux_sk

        return ip_early_demux_sk(net, v.saddr, v.daddr, v.proto, v.sport, v.dport)
    return v.sk


def _set_ttl(pkt: bytes, ttl: int) -> bytes:
    ihl = (pkt[0] & 15) << 2
    hdr = bytearray(pkt[:ihl])
    hdr[8] = ttl
    hdr[10:12] = b"\0\0"
    hdr[10:12] = ip_checksum(bytes(hdr)).to_bytes(2, "big")
    return bytes(hdr) + pkt[ihl:]


def _tables(net: Net, names: tuple[str, ...], hook: int, v: PktView, pkt: bytes | None,
            indev: NetDevice | None, outdev: NetDevice | None,
            rt: OutputRoute | None) -> bytes | None:
    if pkt is None:
        return None
    present = _present(net, hook)
    for name in names:
        if name in present:
            pkt = _table(net, name, hook, v, pkt, indev, outdev, rt)
            if pkt is None:
                return None
    return pkt


def _present(net: Net, hook: int) -> frozenset[str]:
    return tables_at(nf_net(net), hook)


# -- conntrack steps --------------------------------------------------------------------------


def _track(net: Net, ctn: CtNet, v: PktView, pkt: bytes) -> bool:
    """The conntrack hook (priority -200): False when the packet must go."""
    cause = ctn.attach
    if cause is not None:
        # REJECT's answer carries the rejected packet's entry, the other way
        # (nf_conntrack_attach); nothing else is looked up
        ctn.attach = None
        ctinfo = IP_CT_RELATED if cause.ctinfo >= IP_CT_IS_REPLY else IP_CT_RELATED_REPLY
        if cause.ct is not None:
            set_ct(v, cause.ct, ctinfo, v.now_ns)
        else:
            set_ct(v, None, cause.ctinfo, v.now_ns)
        return True
    if v.notrack:
        set_ct(v, None, IP_CT_UNTRACKED, v.now_ns)
        return True
    if not ctn.active:
        set_ct(v, None, CT_NONE, v.now_ns)
        return True
    return nf_conntrack_in(net, ctn, v, pkt, v.now_ns)


def _confirm(net: Net, ctn: CtNet, v: PktView) -> bool:
    """The conntrack confirm hook.  Only a packet in the ORIGINAL direction
    confirms: an error REJECT sent about an unconfirmed connection does not."""
    ct = v.ct
    if ct is None or ct.status & IPS_CONFIRMED or v.ctinfo >= IP_CT_IS_REPLY:
        return True
    return ct_confirm(net, ctn, ct, v.now_ns)


# -- NAT --------------------------------------------------------------------------------------


def _nat(net: Net, ctn: CtNet, hook: int, v: PktView, pkt: bytes | None,
         indev: NetDevice | None, outdev: NetDevice | None,
         rt: OutputRoute | None) -> bytes | None:
    """The NAT core's hook (nf_nat_ipv4_fn): the nat chain for a connection's
    first packet, then the connection's mapping applied."""
    ct = v.ct
    if pkt is None or ct is None or not ctn.nat_on:
        return pkt
    manip = NF_NAT_MANIP_SRC if hook in (IN, POST) else NF_NAT_MANIP_DST
    ctinfo = v.ctinfo
    dir_ = 1 if ctinfo >= IP_CT_IS_REPLY else 0
    if ctinfo in (IP_CT_RELATED, IP_CT_RELATED_REPLY) and pkt[9] == 1:
        new = nf_nat_icmp_reply_translation(ct, dir_, manip, pkt)
    else:
        if ctinfo in (IP_CT_NEW, IP_CT_RELATED, IP_CT_RELATED_REPLY) and \
                not nat_initialized(ct, manip):
            if not _nat_chain(net, ctn, hook, v, pkt, indev, outdev, rt):
                return None
        elif _oif_changed(ct, hook, dir_, outdev):
            ct_destroy(ctn, ct)
            return None
        new = nf_nat_packet(ct, dir_, manip, pkt)
    if new is not None and new is not pkt:
        _fill(v, net, new)
    return new


def _nat_chain(net: Net, ctn: CtNet, hook: int, v: PktView, pkt: bytes,
               indev: NetDevice | None, outdev: NetDevice | None,
               rt: OutputRoute | None) -> bool:
    """The nat table's chain for this hook, and the binding it asked for
    (an identity binding when none)."""
    ct = v.ct
    assert ct is not None
    manip = NF_NAT_MANIP_SRC if hook in (IN, POST) else NF_NAT_MANIP_DST
    rand = net.kernel.rng
    if "nat" in _present(net, hook):
        if _table(net, "nat", hook, v, pkt, indev, outdev, rt) is None:
            return False
        req, v.nat = v.nat, None  # what a NAT target asked for
        if req is not None:
            rng = _nat_range(net, hook, req, v, indev, outdev, rt)
            if isinstance(rng, NatRequest):
                if rng.kind == "MASQUERADE" and outdev is not None:
                    ct.masq_index = outdev.ifindex
                nf_nat_setup_info(ctn, ct, rng, manip, rand)
            elif rng is False:
                return False
    if not nat_initialized(ct, manip):
        null_binding(ctn, ct, manip, rand)
    set_ct(v, ct, v.ctinfo, v.now_ns)  # --ctstate SNAT/DNAT from now on
    return True


def _nat_range(net: Net, hook: int, req: NatRequest, v: PktView, indev: NetDevice | None,
               outdev: NetDevice | None, rt: OutputRoute | None) -> NatRequest | bool | None:
    """The range a NAT target maps into; None: no binding here; False: drop."""
    from ..ipv4.devinet import inet_select_addr
    from ..ipv4.fib import RT_SCOPE_UNIVERSE

    kind = req.kind
    if kind in ("SNAT", "DNAT"):
        return req
    if kind == "MASQUERADE":
        ct = v.ct
        if ct is None or ct.orig[0] == 0:
            return None  # a locally generated packet from 0.0.0.0: not masqueraded
        nexthop = (rt.gateway if rt is not None and rt.gateway else 0) or v.daddr
        newsrc = inet_select_addr(outdev, nexthop, RT_SCOPE_UNIVERSE) if outdev else 0
        if not newsrc:
            return False  # "%s ate my IP address"
        return NatRequest(kind, newsrc, newsrc, req.min_port, req.max_port,
                          req.flags | MAP_IPS, req.base_port)
    # REDIRECT: to ourselves -- 127.0.0.1 for our own packets, else the first
    # address of the device the packet came in on
    if hook == OUT:
        newdst = 0x7F000001
    else:
        in_dev = indev.ip_ptr if indev is not None else None
        newdst = in_dev.ifa_list[0].local if in_dev is not None and in_dev.ifa_list else 0
        if not newdst:
            return False
    return NatRequest(kind, newdst, newdst, req.min_port, req.max_port,
                      req.flags | MAP_IPS, req.base_port)


def _oif_changed(ct: object, hook: int, dir_: int, outdev: NetDevice | None) -> bool:
    """nf_nat_oif_changed: a masqueraded connection now leaving through another
    device is killed (its address would be wrong)."""
    masq = getattr(ct, "masq_index", 0)
    return bool(masq and hook == POST and not dir_ and outdev is not None
                and masq != outdev.ifindex)


# -- the hooks --------------------------------------------------------------------------------


def nf_ipv4(net: Net, hook: int, pkt: bytes, indev: NetDevice | None,
            outdev: NetDevice | None, rt: OutputRoute | None) -> bytes | None:
    """Run ``hook`` for ``pkt``: the packet to go on with (the same object
    when unchanged), or None when it was dropped or stolen."""
    ctn, _nfn = _states(net)
    if hook == PRE:
        return _prerouting(net, ctn, pkt, indev)
    if hook == OUT:
        assert rt is not None
        res = _local_out(net, ctn, rt, pkt)
        return None if isinstance(res, int) else res[1]
    v = _continued(net, ctn, hook, pkt, indev, outdev)
    if v is None:
        return None
    if hook == IN:
        return _local_in(net, ctn, v, pkt, indev, rt)
    if hook == FWD:
        return _tables(net, ("mangle", "filter", "security"), FWD, v, pkt, indev, outdev, rt)
    return _postrouting(net, ctn, v, pkt, outdev, rt)


def nf_input_route(rt: OutputRoute, pkt: bytes) -> OutputRoute:
    """The input route with the addresses INPUT's NAT gave the packet: the
    transport protocols take a received packet's addresses from its route."""
    import dataclasses

    saddr = int.from_bytes(pkt[12:16], "big")
    daddr = int.from_bytes(pkt[16:20], "big")
    if saddr == rt.saddr and daddr == rt.daddr:
        return rt
    return dataclasses.replace(rt, saddr=saddr, daddr=daddr)


def nf_skb_mark(net: Net) -> int:
    """The mark of the packet PREROUTING just let through (skb->mark): the
    input route is looked up with it, so ``ip rule fwmark`` applies."""
    v = ct_net(net).cur
    return v.mark if v is not None else 0


def _continued(net: Net, ctn: CtNet, hook: int, pkt: bytes, indev: NetDevice | None,
               outdev: NetDevice | None) -> PktView | None:
    """The view PREROUTING made for this packet, or a new one (with its
    connection looked up) for a packet that did not come through it."""
    v = ctn.cur
    now = net.kernel.sched.now
    if v is not None and v.key == _pkt_key(pkt):
        v.hook = hook
        v.iif = indev.name if indev is not None else ""
        v.oif = outdev.name if outdev is not None else ""
        v.ttl = pkt[8]
        v.length = (pkt[2] << 8) | pkt[3]
        v.now_ns = now
        ct = v.ct
        if ct is not None and (ct.status != v.ctstatus or ct.mark != v.ctmark):
            set_ct(v, ct, v.ctinfo, now)  # the matches read the entry as it is now
        return v
    ctn.cur = None
    v = _new_view(net, hook, pkt, indev, outdev)
    if ctn.active and not nf_conntrack_in(net, ctn, v, pkt, now):
        return None
    if not ctn.active:
        set_ct(v, None, CT_NONE, now)
    return v


def _prerouting(net: Net, ctn: CtNet, pkt: bytes, indev: NetDevice | None) -> bytes | None:
    ctn.cur = None
    if ctn.active and ((pkt[6] << 8) | pkt[7]) & 0x3FFF and indev is not None:
        # nf_defrag_ipv4 (priority -400): conntrack and the rules see whole
        # datagrams; a forwarded one is fragmented again on output
        from ..ipv4.ip_input import _defrag

        whole = _defrag(indev, pkt)
        if whole is None:
            return None  # queued (stolen) or dropped
        pkt = whole
    v = _new_view(net, PRE, pkt, indev, None)
    looped = indev is not None and bool(indev.flags & IFF_LOOPBACK)
    carried = _lo_take(ctn, v.key) if looped and ctn.lo else None
    orig = pkt
    out = _tables(net, ("raw",), PRE, v, pkt, indev, None, None)
    if out is None:
        return None
    if carried is not None:
        set_ct(v, carried[0], carried[1], v.now_ns)
        v.mark = carried[2]
    elif not _track(net, ctn, v, out):
        return None
    out = _tables(net, ("mangle",), PRE, v, out, indev, None, None)
    out = _nat(net, ctn, PRE, v, out, indev, None, None)
    if out is None:
        return None
    if looped:
        out = orig  # the looped packet keeps its route: nothing here re-routes it
    ctn.cur = v
    return out


def _local_in(net: Net, ctn: CtNet, v: PktView, pkt: bytes, indev: NetDevice | None,
              rt: OutputRoute | None) -> bytes | None:
    ctn.cur = None
    out = _tables(net, ("mangle", "filter", "security"), IN, v, pkt, indev, None, rt)
    out = _nat(net, ctn, IN, v, out, indev, None, rt)
    if out is None or not _confirm(net, ctn, v):
        return None
    return out


def _postrouting(net: Net, ctn: CtNet, v: PktView, pkt: bytes, outdev: NetDevice | None,
                 rt: OutputRoute | None, indev: NetDevice | None = None) -> bytes | None:
    ctn.cur = None
    out = _tables(net, ("mangle",), POST, v, pkt, indev, outdev, rt)
    out = _nat(net, ctn, POST, v, out, indev, outdev, rt)
    if out is None or not _confirm(net, ctn, v):
        return None
    if outdev is not None and outdev.flags & IFF_LOOPBACK and (
            v.ct is not None or v.ctinfo == IP_CT_UNTRACKED):
        _lo_put(ctn, v)
    return out


def nf_output(net: Net, rt: OutputRoute, pkt: bytes,
              sk: Any = None) -> tuple[OutputRoute, bytes] | int:
    """ip_local_out + ip_output's hooks for a packet sent on ``rt``: OUTPUT
    for our own packets, POSTROUTING for all.  The route and packet to send,
    or the errno the sender sees (EPERM for a drop, as nf_hook_slow).
    ``sk`` (skb->sk) is what the rules see as the packet's socket."""
    ctn, _nfn = _states(net)
    if rt.is_input:  # forwarded: FORWARD ran, POSTROUTING is left
        # ip_output's indev = skb->dev: the device the packet came in on
        # (LOG shows it), which FORWARD's view still names
        cur = ctn.cur
        indev = net.dev_by_name.get(cur.iif) if cur is not None and cur.iif else None
        v = _continued(net, ctn, POST, pkt, indev, rt.dev)
        out = _postrouting(net, ctn, v, pkt, rt.dev, rt, indev) if v is not None else None
        return errno.EPERM if out is None else (rt, out)
    res = _local_out(net, ctn, rt, pkt, sk)
    if isinstance(res, int):
        return res
    rt, pkt, v = res
    v.hook = POST
    v.oif = rt.dev.name
    out = _postrouting(net, ctn, v, pkt, rt.dev, rt)
    return errno.EPERM if out is None else (rt, out)


def _local_out(net: Net, ctn: CtNet, rt: OutputRoute, pkt: bytes,
               sk: Any = None) -> tuple[OutputRoute, bytes, PktView] | int:
    """The OUTPUT hook, with ip_route_me_harder where mangle changed the mark
    or an address, or NAT the destination."""
    first_dev = rt.dev
    v = _new_view(net, OUT, pkt, None, first_dev)
    v.mark = rt.mark
    v.sk = sk
    out = _tables(net, ("raw",), OUT, v, pkt, None, rt.dev, rt)
    if out is None or not _track(net, ctn, v, out):
        return errno.EPERM
    before = (v.saddr, v.daddr, v.mark, v.tos)
    out = _tables(net, ("mangle",), OUT, v, out, None, rt.dev, rt)
    if out is None:
        return errno.EPERM
    if (v.saddr, v.daddr, v.mark, v.tos) != before:
        new_rt = _reroute(net, v)
        if isinstance(new_rt, int):
            return new_rt
        rt = new_rt
    out = _nat(net, ctn, OUT, v, out, None, rt.dev, rt)
    if out is None:
        return errno.EPERM
    ct = v.ct
    if ct is not None:
        dir_ = 1 if v.ctinfo >= IP_CT_IS_REPLY else 0
        if ct.tuple_of(dir_)[1] != ct.tuple_of(1 - dir_)[0]:
            new_rt = _reroute(net, v)
            if isinstance(new_rt, int):
                return new_rt
            rt = new_rt
    # the rest of OUTPUT still sees the device the hook started with
    # (nf_hook_state.out): a re-route shows from POSTROUTING on
    out = _tables(net, ("filter", "security"), OUT, v, out, None, first_dev, rt)
    if out is None:
        return errno.EPERM
    return rt, out, v


def _reroute(net: Net, v: PktView) -> OutputRoute | int:
    """ip_route_me_harder: the route for what the packet now is."""
    from ..ipv4.route import ip_route_output_cached

    saddr = v.saddr if inet_addr_type(net, v.saddr) == RTN_LOCAL else 0
    try:
        return ip_route_output_cached(net, v.daddr, saddr, None, v.mark, v.tos & 0x1E)
    except KernelError as exc:
        return exc.errno or errno.EINVAL


# -- packets through lo -----------------------------------------------------------------------


def _lo_put(ctn: CtNet, v: PktView) -> None:
    if len(ctn.lo) >= LO_PENDING_MAX:
        ctn.lo.clear()  # frames lo dropped: forget what they carried
    key = v.key
    if key is not None:
        ctn.lo.setdefault(key, []).append((v.ct, v.ctinfo, v.mark))


def _lo_take(ctn: CtNet, key: tuple[int, ...] | None) -> tuple[NfConn | None, int, int] | None:
    if key is None:
        return None
    pending = ctn.lo.get(key)
    if not pending:
        return None
    entry = pending.pop(0)
    if not pending:
        del ctn.lo[key]
    return entry


# -- REJECT -----------------------------------------------------------------------------------


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
                      int.from_bytes(t[8:12], "big"), t[13], max(dlen, 0), pkt[1],
                      sk=None)  # nf_send_reset: a fresh skb, with no socket
