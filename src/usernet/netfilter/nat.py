"""NAT on top of conntrack (``nf_nat_core.c``, ``nf_nat_proto.c``,
``nf_nat_masquerade.c``, ``nf_nat_redirect.c``).

A connection's mapping is chosen once, by the nat chains on its first packet
(``nf_nat_setup_info``): the REPLY tuple becomes the inverse of the
translated ORIGINAL one, chosen unique in the namespace (``get_unique_tuple``:
keep the source port when free, else search the range from a random offset
as ``nf_nat_l4proto_unique_tuple`` does; several addresses are spread with
the kernel's own ``jhash2``).  Every later packet is rewritten from the
tuples alone (``nf_nat_packet``); ICMP errors quoting a packet of a NATed
connection have the quoted packet and the outer header rewritten
(``nf_nat_icmp_reply_translation``).

Checksums: the IPv4 header checksum is recomputed.  TCP and UDP follow the
checksum offload model of the stack: a checksum left for the device
(CHECKSUM_PARTIAL, the field holds the pseudo-header sum) gets the new
pseudo-header sum, as ``inet_proto_csum_replace4`` does for a partial skb;
a complete checksum is updated incrementally (RFC 1624), ports included.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ..jhash import jhash2
from ..wire.checksum import csum_partial, ip_checksum, pseudo_header_sum
from .conntrack import (
    CtNet,
    NfConn,
    invert,
)
from .conntrack_proto import (
    IPS_CONFIRMED,
    IPS_DST_NAT,
    IPS_DST_NAT_DONE,
    IPS_NAT_MASK,
    IPS_SRC_NAT,
    IPS_SRC_NAT_DONE,
)
from .packet import NatRequest

if TYPE_CHECKING:
    import random

    from ..dev.netdevice import NetDevice
    from ..ipv4.devinet import InIfAddr
    from ..kernel import Kernel
    from ..net import Net

NF_NAT_MANIP_SRC = 0
NF_NAT_MANIP_DST = 1
MAP_IPS, PROTO_SPECIFIED, PROTO_RANDOM, PERSISTENT = 1, 2, 4, 8
PROTO_RANDOM_FULLY, PROTO_OFFSET = 16, 32
RANDOM_ALL = PROTO_RANDOM | PROTO_RANDOM_FULLY
NF_NAT_MAX_ATTEMPTS = 128
PORT_PROTOS = frozenset((6, 17, 132, 33, 136))
ICMP_QUERY_TYPES = frozenset((0, 8, 13, 14, 15, 16, 17, 18))
_U32 = struct.Struct("<I")


def nat_initialized(ct: NfConn, manip: int) -> bool:
    return bool(ct.status & (IPS_DST_NAT_DONE if manip else IPS_SRC_NAT_DONE))


# -- choosing the mapping -------------------------------------------------------------------


def _used(ctn: CtNet, t: tuple[int, ...], ct: NfConn) -> bool:
    """nf_nat_used_tuple: does another connection already answer to ``t``?"""
    reply = invert(t)
    if reply is None:
        return False
    hit = ctn.hash.get(reply)
    return hit is not None and hit[0] is not ct


def _l4_in_range(t: tuple[int, ...], manip: int, rng: NatRequest) -> bool:
    proto = t[2]
    if proto == 1:
        value = t[3]
    elif proto in PORT_PROTOS:
        value = t[3] if manip == NF_NAT_MANIP_SRC else t[4]
    else:
        return True
    return rng.min_port <= value <= rng.max_port


def _in_range(t: tuple[int, ...], rng: NatRequest) -> bool:
    """nf_in_range, for a source mapping."""
    if rng.flags & MAP_IPS and not rng.min_ip <= t[0] <= rng.max_ip:
        return False
    return not rng.flags & PROTO_SPECIFIED or _l4_in_range(t, NF_NAT_MANIP_SRC, rng)


def _find_appropriate_src(ctn: CtNet, t: tuple[int, ...],
                          rng: NatRequest) -> tuple[int, ...] | None:
    """The source an earlier connection from the same source got, if in range."""
    for other in ctn.bysource.get((t[0], t[2], t[3]), ()):
        mapped = invert(other.repl)
        if mapped is None:
            continue
        result = (mapped[0], t[1], t[2], mapped[3], t[4])
        if _in_range(result, rng):
            return result
    return None


def _raw32(addr: int) -> int:
    """An address as the kernel's u32 load of its network-order bytes."""
    return int(_U32.unpack(addr.to_bytes(4, "big"))[0])


def _best_ip(t: tuple[int, ...], rng: NatRequest, manip: int) -> tuple[int, ...]:
    """find_best_ips_proto: one address of the range, by hash of the pair."""
    if not rng.flags & MAP_IPS:
        return t
    if rng.min_ip == rng.max_ip:
        ip = rng.min_ip
    else:
        initval = 0 if rng.flags & PERSISTENT else _raw32(t[1])
        j = jhash2((_raw32(t[0]), 0, 0, 0), initval)
        ip = rng.min_ip + ((j * ((rng.max_ip - rng.min_ip + 1) & 0xFFFFFFFF)) >> 32)
    if manip == NF_NAT_MANIP_SRC:
        return (ip, t[1], t[2], t[3], t[4])
    return (t[0], ip, t[2], t[3], t[4])


def _unique_l4(ctn: CtNet, t: tuple[int, ...], rng: NatRequest, manip: int, ct: NfConn,
               rand: random.Random) -> tuple[int, ...]:
    """nf_nat_l4proto_unique_tuple: a free id or port of the range."""
    proto = t[2]
    flags = rng.flags
    if proto == 1:
        slot = 3
        lo, size = (rng.min_port, rng.max_port - rng.min_port + 1) \
            if flags & PROTO_SPECIFIED else (0, 65536)
    elif proto in PORT_PROTOS:
        slot = 3 if manip == NF_NAT_MANIP_SRC else 4
        if not flags & PROTO_SPECIFIED:
            if manip == NF_NAT_MANIP_DST:
                return t  # a destination keeps its port
            port = t[slot]
            lo, size = (1, 511) if port < 512 else (600, 424) if port < 1024 else (1024, 64512)
        else:
            lo, hi = sorted((rng.min_port, rng.max_port))
            size = hi - lo + 1
    else:
        return t
    if flags & PROTO_OFFSET:
        off = (t[slot] - rng.base_port) & 0xFFFF
    elif flags & RANDOM_ALL or manip != NF_NAT_MANIP_DST:
        off = rand.getrandbits(16)
    else:
        off = 0
    attempts = min(size, NF_NAT_MAX_ATTEMPTS)
    cand = list(t)
    while True:
        for _ in range(attempts):
            cand[slot] = lo + off % size
            off += 1
            if not _used(ctn, tuple(cand), ct):
                return tuple(cand)
        if attempts >= size or attempts < 16:
            return tuple(cand)
        attempts //= 2
        off = rand.getrandbits(16)


def get_unique_tuple(ctn: CtNet, orig: tuple[int, ...], rng: NatRequest, ct: NfConn,
                     manip: int, rand: random.Random) -> tuple[int, ...]:
    """The translated ORIGINAL tuple for ``ct`` (nf_nat_core.c get_unique_tuple)."""
    flags = rng.flags
    if manip == NF_NAT_MANIP_SRC and not flags & RANDOM_ALL:
        if _in_range(orig, rng):
            if not _used(ctn, orig, ct):
                return orig
        else:
            mapped = _find_appropriate_src(ctn, orig, rng)
            if mapped is not None and not _used(ctn, mapped, ct):
                return mapped
    t = _best_ip(orig, rng, manip)
    if not flags & RANDOM_ALL:
        if flags & PROTO_SPECIFIED:
            if (not flags & PROTO_OFFSET and _l4_in_range(t, manip, rng)
                    and (rng.min_port == rng.max_port or not _used(ctn, t, ct))):
                return t
        elif not _used(ctn, t, ct):
            return t
    return _unique_l4(ctn, t, rng, manip, ct, rand)


def nf_nat_setup_info(ctn: CtNet, ct: NfConn, rng: NatRequest, manip: int,
                      rand: random.Random) -> None:
    """Bind ``ct``'s ``manip`` mapping: the REPLY tuple now answers to it."""
    curr = invert(ct.repl)
    assert curr is not None
    new = get_unique_tuple(ctn, curr, rng, ct, manip, rand)
    if new != curr:
        reply = invert(new)
        assert reply is not None
        if ct.status & IPS_CONFIRMED:
            # the kernel warns here (the entry is not rehashed); keep the table sound
            if ctn.hash.get(ct.repl) is ct.rref:
                del ctn.hash[ct.repl]
            ctn.hash[reply] = ct.rref
        ct.repl = reply
        ct.status |= IPS_SRC_NAT if manip == NF_NAT_MANIP_SRC else IPS_DST_NAT
    ct.status |= IPS_SRC_NAT_DONE if manip == NF_NAT_MANIP_SRC else IPS_DST_NAT_DONE


def null_binding(ctn: CtNet, ct: NfConn, manip: int, rand: random.Random) -> None:
    """nf_nat_alloc_null_binding: map to the addresses the packet already has
    (still unique: a clashing source port moves)."""
    ip = ct.repl[1] if manip == NF_NAT_MANIP_SRC else ct.repl[0]
    nf_nat_setup_info(ctn, ct, NatRequest("", ip, ip, 0, 0, MAP_IPS), manip, rand)


# -- rewriting packets ------------------------------------------------------------------


def _fold(s: int) -> int:
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def _words(x: int) -> int:
    return (x >> 16) + (x & 0xFFFF)


def csum_replace(check: int, old: int, new: int) -> int:
    """RFC 1624: a complete checksum after a 16/32-bit field went from old to new."""
    return ~_fold((~check & 0xFFFF) + _words(~old & 0xFFFFFFFF) + _words(new)) & 0xFFFF


def _partial_replace(check: int, old: int, new: int) -> int:
    """inet_proto_csum_replace4 on CHECKSUM_PARTIAL: the pseudo-header sum moves."""
    return _fold(check + _words(~old & 0xFFFFFFFF) + _words(new))


def _is_partial(pkt: bytes, l4: int, check: int) -> bool:
    """Does the L4 checksum field hold the pseudo-header sum a device would finish?"""
    saddr = int.from_bytes(pkt[12:16], "big")
    daddr = int.from_bytes(pkt[16:20], "big")
    seed = pseudo_header_sum(saddr, daddr, pkt[9], len(pkt) - l4)
    if check != (seed or 0xFFFF):
        return False
    return csum_partial(pkt[l4:], seed) != 0xFFFF


def manip_pkt(pkt: bytes, off: int, target: tuple[int, ...], manip: int) -> bytes:
    """nf_nat_ipv4_manip_pkt: the IP header at ``off`` (0, or that of the packet
    an ICMP error quotes) takes ``target``'s source or destination."""
    ihl = (pkt[off] & 15) << 2
    l4 = off + ihl
    buf = bytearray(pkt)
    apos = off + (12 if manip == NF_NAT_MANIP_SRC else 16)
    old_ip = int.from_bytes(pkt[apos:apos + 4], "big")
    new_ip = target[0] if manip == NF_NAT_MANIP_SRC else target[1]
    frag = ((pkt[off + 6] << 8) | pkt[off + 7]) & 0x1FFF
    if not frag:
        _manip_l4(buf, off, l4, target, manip, old_ip, new_ip)
    buf[apos:apos + 4] = new_ip.to_bytes(4, "big")
    buf[off + 10:off + 12] = b"\0\0"
    buf[off + 10:off + 12] = ip_checksum(bytes(buf[off:l4])).to_bytes(2, "big")
    return bytes(buf)


def _manip_l4(buf: bytearray, off: int, l4: int, target: tuple[int, ...], manip: int,
              old_ip: int, new_ip: int) -> None:
    proto = buf[off + 9]
    n = len(buf)
    if proto == 1:
        if n >= l4 + 8 and buf[l4] in ICMP_QUERY_TYPES:
            old_id = (buf[l4 + 4] << 8) | buf[l4 + 5]
            check = (buf[l4 + 2] << 8) | buf[l4 + 3]
            buf[l4 + 2:l4 + 4] = csum_replace(check, old_id, target[3]).to_bytes(2, "big")
            buf[l4 + 4:l4 + 6] = target[3].to_bytes(2, "big")
        return
    if proto not in (6, 17) or n < l4 + 8:
        return
    ppos = l4 if manip == NF_NAT_MANIP_SRC else l4 + 2
    old_port = (buf[ppos] << 8) | buf[ppos + 1]
    new_port = target[3] if manip == NF_NAT_MANIP_SRC else target[4]
    cpos = l4 + (16 if proto == 6 else 6)
    if cpos + 2 <= n:
        check = (buf[cpos] << 8) | buf[cpos + 1]
        if proto == 17 and not check:
            pass  # no checksum: none is added
        elif off == 0 and _is_partial(bytes(buf), l4, check):
            buf[cpos:cpos + 2] = _partial_replace(check, old_ip, new_ip).to_bytes(2, "big")
        else:
            check = csum_replace(check, old_ip, new_ip)
            check = csum_replace(check, old_port, new_port)
            if proto == 17 and not check:
                check = 0xFFFF  # CSUM_MANGLED_0
            buf[cpos:cpos + 2] = check.to_bytes(2, "big")
    buf[ppos:ppos + 2] = new_port.to_bytes(2, "big")


def _statusbit(manip: int, dir_: int) -> int:
    bit = IPS_SRC_NAT if manip == NF_NAT_MANIP_SRC else IPS_DST_NAT
    return bit ^ IPS_NAT_MASK if dir_ else bit


def nf_nat_packet(ct: NfConn, dir_: int, manip: int, pkt: bytes) -> bytes:
    """Rewrite a packet of ``ct`` (the same object when nothing changes)."""
    if not ct.status & _statusbit(manip, dir_):
        return pkt
    target = invert(ct.repl if dir_ == 0 else ct.orig)
    assert target is not None
    return manip_pkt(pkt, 0, target, manip)


def nf_nat_icmp_reply_translation(ct: NfConn, dir_: int, manip: int,
                                  pkt: bytes) -> bytes | None:
    """An ICMP error RELATED to ``ct``: the packet it quotes is put back as
    that end saw it, and the outer header made to look like a reply to it.
    None: drop it (a redirect about a NATed connection)."""
    ihl = (pkt[0] & 15) << 2
    if len(pkt) < ihl + 8 + 20:
        return pkt
    if pkt[ihl] == 5 and ct.status & IPS_NAT_MASK:
        return None
    if not ct.status & _statusbit(manip, dir_):
        return pkt
    other = ct.orig if dir_ else ct.repl
    inner = manip_pkt(pkt, ihl + 8, other, 1 - manip)
    buf = bytearray(inner)
    buf[ihl + 2:ihl + 4] = b"\0\0"
    buf[ihl + 2:ihl + 4] = ip_checksum(bytes(buf[ihl:])).to_bytes(2, "big")
    target = invert(other)
    assert target is not None
    outer = (target[0], target[1], 1, target[3], target[4])
    return manip_pkt(bytes(buf), 0, outer, manip)


# -- MASQUERADE and the devices it maps to (nf_nat_masquerade.c) ------------------------------


def _masq_kill(net: Net, ifindex: int, addr: int | None) -> None:
    """Forget the masqueraded connections of a device (of one of its
    addresses): their replies would come to an address we no longer use."""
    from .conntrack import ct_destroy, ct_net

    ctn = ct_net(net)
    dead = [ct for ct, d in ctn.hash.values()
            if d == 0 and ct.masq_index == ifindex and (addr is None or ct.repl[1] == addr)]
    for ct in dead:
        ct_destroy(ctn, ct)


def _masq_device_event(event: int, dev: NetDevice) -> None:
    from ..dev.core import NETDEV_DOWN

    if event == NETDEV_DOWN:
        _masq_kill(dev.net, dev.ifindex, None)


def _masq_inet_event(what: str, ifa: InIfAddr) -> None:
    if what == "down":
        dev = ifa.in_dev.dev
        _masq_kill(dev.net, dev.ifindex, ifa.local)


def masq_register(kernel: Kernel) -> None:
    kernel.netdev_chain.append(_masq_device_event)
    kernel.inetaddr_chain.append(_masq_inet_event)
