"""Connection tracking per namespace (``nf_conntrack_core.c``).

**Design.**  Each namespace has its own table (:class:`CtNet`, pernet
storage): a dict from a tuple to ``(connection, direction)``.  The RFC's
"large hash tables call for filtering" would put every namespace's entries in
one kernel-wide dict keyed with the namespace; a per-namespace dict costs the
same per lookup, dumps (``conntrack -L``) and flushes without walking other
namespaces' entries, and goes away with the namespace in one step -- so the
table is replicated, as the small data-path state is.

A *tuple* is five ints ``(src, dst, proto, sport, dport)``.  For ICMP
``sport`` is the echo id and ``dport`` is ``type << 8 | code``, as Linux keeps
them in ``src.u.icmp.id`` and ``dst.u.icmp.{type,code}``; other protocols
have 0 ports.  A connection (:class:`NfConn`) has its ORIGINAL and REPLY
tuples; NAT changes the REPLY one.

**Activation.**  As with nf_tables, conntrack runs in a namespace only while
a rule needs it (conntrack/state/connmark matches, the NAT targets,
CONNMARK, CT without --notrack): ``ct_active``.  Entries made while it ran
stay until they expire.

**Time.**  Timeouts are absolute virtual-clock instants checked lazily: a
lookup that finds an expired entry removes it, and a sweep of the whole table
runs every second of virtual time at most (when a connection is inserted)
and before every dump or count -- deterministic, and without a timer per
connection.

**Table full.**  ``net.netfilter.nf_conntrack_max`` is global (writable in
init_net only) and compared with each namespace's count, as Linux does.  A
new connection that does not fit is dropped with the kernel's "nf_conntrack:
table full, dropping packet".  Linux first tries ``early_drop`` of an
unassured entry in the 8 hash buckets next to the new tuple's; with the
262144 buckets of a default table that scan finds nothing unless the table is
huge, so it is not modelled (the drop is what a full small table shows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..ipv4.rt_cache import rt_cache_genid
from ..pernet import PernetOperations, net_generic
from .conntrack_proto import (
    ICMP_ERRORS,
    ICMP_INVMAP,
    INVALID,
    IPS_CONFIRMED,
    IPS_DST_NAT,
    IPS_NAT_MASK,
    IPS_SEEN_REPLY,
    IPS_SRC_NAT,
    REPEAT,
    CtTimeouts,
    generic_packet,
    icmp_packet,
    tcp_error,
    tcp_new,
    tcp_packet,
    udp_packet,
)
from .packet import CT_DNAT, CT_INVALID, CT_SNAT, CT_UNTRACKED, PktView

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..net import Net

NSEC = 1_000_000_000

# enum ip_conntrack_info
IP_CT_ESTABLISHED = 0
IP_CT_RELATED = 1
IP_CT_NEW = 2
IP_CT_IS_REPLY = 3
IP_CT_ESTABLISHED_REPLY = 3
IP_CT_RELATED_REPLY = 4
IP_CT_UNTRACKED = 7
CT_NONE = -1  # no entry: the rules see INVALID

# ctinfo -> the --ctstate bit (XT_STATE_BIT)
STATE_BIT = (1 << 1, 1 << 2, 1 << 3, 1 << 1, 1 << 2)
NR_ICMP_TYPES = 18
GC_INTERVAL = NSEC


class NfConn:
    """One connection (``struct nf_conn``)."""

    __slots__ = (
        "id",
        "mark",
        "masq_index",
        "oref",
        "orig",
        "repl",
        "rref",
        "status",
        "tcp_flags_sim",
        "tcp_last_dir",
        "tcp_last_end",
        "tcp_last_index",
        "tcp_seen",
        "tcp_state",
        "timeout",
        "udp_stream_ts",
    )

    def __init__(self, orig: tuple[int, ...], repl: tuple[int, ...], ident: int) -> None:
        self.orig = orig
        self.repl = repl
        self.oref = (self, 0)
        self.rref = (self, 1)
        self.status = 0
        self.timeout = 0
        self.mark = 0
        self.masq_index = 0
        self.id = ident
        self.tcp_state = 0
        self.tcp_last_index = 5
        self.tcp_last_dir = 0
        self.tcp_last_end = 0
        self.tcp_seen = 0
        self.tcp_flags_sim = False
        self.udp_stream_ts = 0

    def tuple_of(self, dir_: int) -> tuple[int, ...]:
        return self.repl if dir_ else self.orig


class CtNet:
    """A namespace's conntrack state."""

    __slots__ = ("active", "active_gen", "attach", "bysource", "count", "cur", "hash",
                 "last_gc", "lo", "nat_on", "next_id", "rl_count", "rl_start", "timeouts",
                 "timeouts_gen")

    def __init__(self) -> None:
        self.hash: dict[tuple[int, ...], tuple[NfConn, int]] = {}
        # SNAT mappings by original source (nf_nat_bysource): (src, proto, sport)
        self.bysource: dict[tuple[int, int, int], list[NfConn]] = {}
        self.count = 0
        self.next_id = 1
        self.active = False  # a rule needs conntrack (see hooks._needs_ct)
        self.nat_on = False  # a nat base chain exists: the NAT core's hooks run
        self.active_gen = -1
        self.timeouts: CtTimeouts | None = None
        self.timeouts_gen = -1
        self.last_gc = 0
        self.rl_start = self.rl_count = 0  # net_ratelimit's window (init_net's counts)
        # the view of the received packet between its hooks (skb->_nfct and
        # skb->mark travelling from PREROUTING to INPUT/FORWARD/POSTROUTING)
        self.cur: PktView | None = None
        # the packet REJECT is answering while its answer is being sent
        self.attach: PktView | None = None
        # packets looping through lo keep their entry (loopback_xmit keeps
        # skb->_nfct): tuple -> [(conn, ctinfo, mark), ...] in send order
        self.lo: dict[tuple[int, ...], list[tuple[Any, int, int]]] = {}


def _ct_exit(net: Net) -> None:
    ctn = net.gen_get(ct_net_ops.id)
    if isinstance(ctn, CtNet):
        ctn.hash.clear()
        ctn.bysource.clear()
        ctn.lo.clear()
        ctn.cur = None
        ctn.count = 0


ct_net_ops = PernetOperations("nf_conntrack", generic=CtNet, exit=_ct_exit)


def conntrack_register(kernel: Kernel) -> None:
    kernel.pernet.register_subsys(ct_net_ops)


def ct_net(net: Net) -> CtNet:
    """The namespace's conntrack state (the slot read directly: per packet)."""
    gen = net.gen
    if gen is not None and 0 <= ct_net_ops.id < len(gen):
        data = gen[ct_net_ops.id]
        if data.__class__ is CtNet:
            return data
    data = net_generic(net, ct_net_ops)
    assert isinstance(data, CtNet)
    return data


def timeouts(net: Net, ctn: CtNet) -> CtTimeouts:
    """The namespace's timeouts; re-read after any configuration change."""
    gen = rt_cache_genid()
    tn = ctn.timeouts
    if tn is None or ctn.timeouts_gen != gen:
        tn = ctn.timeouts = CtTimeouts(net)
        ctn.timeouts_gen = gen
    return tn


def conntrack_max(net: Net) -> int:
    from ..sysctl import sysctl_get

    return int(sysctl_get(net, "net.netfilter.nf_conntrack_max"))


# -- tuples -----------------------------------------------------------------------------


def pkt_tuple(pkt: bytes, ihl: int) -> tuple[int, int, int, int, int] | None:
    """nf_ct_get_tuple: the packet's tuple, or None when its header is cut short."""
    proto = pkt[9]
    saddr = int.from_bytes(pkt[12:16], "big")
    daddr = int.from_bytes(pkt[16:20], "big")
    if proto == 6 or proto == 17:
        if len(pkt) < ihl + 8:
            return None
        return (saddr, daddr, proto, (pkt[ihl] << 8) | pkt[ihl + 1],
                (pkt[ihl + 2] << 8) | pkt[ihl + 3])
    if proto == 1:
        if len(pkt) < ihl + 8:
            return None
        return (saddr, daddr, 1, (pkt[ihl + 4] << 8) | pkt[ihl + 5],
                (pkt[ihl] << 8) | pkt[ihl + 1])
    return (saddr, daddr, proto, 0, 0)


def invert(t: tuple[int, ...]) -> tuple[int, int, int, int, int] | None:
    """nf_ct_invert_tuple; None for an ICMP type that has no answer."""
    src, dst, proto, sport, dport = t
    if proto == 1:
        answer = ICMP_INVMAP.get(dport >> 8)
        if answer is None:
            return None
        return (dst, src, 1, sport, (answer << 8) | (dport & 0xFF))
    return (dst, src, proto, dport, sport)


# -- the table ----------------------------------------------------------------------------


def ct_lookup(ctn: CtNet, key: tuple[int, ...], now: int) -> tuple[NfConn, int] | None:
    hit = ctn.hash.get(key)
    if hit is not None and hit[0].timeout <= now:
        ct_destroy(ctn, hit[0])
        return None
    return hit


def ct_destroy(ctn: CtNet, ct: NfConn) -> None:
    """Unlink a confirmed connection (nf_ct_delete)."""
    if not ct.status & IPS_CONFIRMED:
        return
    h = ctn.hash
    if h.get(ct.orig) is ct.oref:
        del h[ct.orig]
    if h.get(ct.repl) is ct.rref:
        del h[ct.repl]
    ct.status &= ~IPS_CONFIRMED
    ct.timeout = 0
    ctn.count -= 1
    if ct.status & IPS_SRC_NAT:
        key = (ct.orig[0], ct.orig[2], ct.orig[3])
        peers = ctn.bysource.get(key)
        if peers is not None and ct in peers:
            peers.remove(ct)
            if not peers:
                del ctn.bysource[key]


def ct_gc(ctn: CtNet, now: int) -> None:
    """Remove every expired entry (the GC worker's pass)."""
    ctn.last_gc = now
    dead = [ct for ct, d in ctn.hash.values() if d == 0 and ct.timeout <= now]
    for ct in dead:
        ct_destroy(ctn, ct)


def ct_entries(ctn: CtNet, now: int) -> list[NfConn]:
    """The live connections, oldest first."""
    ct_gc(ctn, now)
    return [ct for ct, d in ctn.hash.values() if d == 0]


def ct_confirm(net: Net, ctn: CtNet, ct: NfConn, now: int) -> bool:
    """__nf_conntrack_confirm: put a new connection in the table.  False when
    another one took either tuple first (the packet is dropped)."""
    h = ctn.hash
    for key in (ct.orig, ct.repl):
        if ct_lookup(ctn, key, now) is not None:
            return False
    h[ct.orig] = ct.oref
    h[ct.repl] = ct.rref
    ct.status |= IPS_CONFIRMED
    ctn.count += 1
    if ct.status & IPS_SRC_NAT:
        ctn.bysource.setdefault((ct.orig[0], ct.orig[2], ct.orig[3]), []).append(ct)
    if now - ctn.last_gc >= GC_INTERVAL:
        ct_gc(ctn, now)
    return True


def _alloc(net: Net, ctn: CtNet, key: tuple[int, ...], now: int) -> NfConn | None:
    """init_conntrack: a new, unconfirmed connection; None when the table is full."""
    repl = invert(key)
    assert repl is not None
    limit = conntrack_max(net)
    if limit and ctn.count >= limit:
        ct_gc(ctn, now)
        if ctn.count >= limit:
            _table_full(net)
            return None
    ct = NfConn(tuple(key), repl, ctn.next_id)
    ctn.next_id += 1
    return ct


def _table_full(net: Net) -> None:
    """net_warn_ratelimited("nf_conntrack: table full, dropping packet"):
    net_ratelimit lets 10 messages through per 5 s (message_burst, _cost)."""
    from ..printk import KERN_SOH, printk

    kernel = net.kernel
    now = kernel.sched.now
    state = ct_net(kernel.init_net)  # the limit is the kernel's, kept in init_net
    if now - state.rl_start >= 5 * NSEC or not state.rl_count:
        state.rl_start, state.rl_count = now, 0
    state.rl_count += 1
    if state.rl_count <= 10:
        printk(kernel, KERN_SOH + "4nf_conntrack: table full, dropping packet")


# -- nf_conntrack_in ------------------------------------------------------------------------

_L4 = {6: tcp_packet, 17: udp_packet, 1: icmp_packet}


def set_ct(v: PktView, ct: NfConn | None, ctinfo: int, now: int) -> None:
    """What the conntrack and connmark matches read of the packet's entry."""
    v.ct = ct
    v.ctinfo = ctinfo
    if ct is None:
        v.ctstate = CT_UNTRACKED if ctinfo == IP_CT_UNTRACKED else CT_INVALID
        v.ctstatus = 0
        return
    state = STATE_BIT[ctinfo]
    status = ct.status
    if status & IPS_NAT_MASK:
        if status & IPS_SRC_NAT:
            state |= CT_SNAT
        if status & IPS_DST_NAT:
            state |= CT_DNAT
    v.ctstate = state
    v.ctstatus = status
    v.ctdir = 1 if ctinfo >= IP_CT_IS_REPLY else 0
    v.ctmark = ct.mark
    v.ctexpire = max(0, ct.timeout - now) // NSEC
    o, r = ct.orig, ct.repl
    v.ctproto = o[2]
    v.ctorigsrc, v.ctorigdst, v.ctorigsrcport, v.ctorigdstport = o[0], o[1], o[3], o[4]
    v.ctreplsrc, v.ctrepldst, v.ctreplsrcport, v.ctrepldstport = r[0], r[1], r[3], r[4]


def nf_conntrack_in(net: Net, ctn: CtNet, v: PktView, pkt: bytes, now: int) -> bool:
    """Find or make the packet's connection and fill the view; False when the
    packet must be dropped (table full, a clash that cannot be resolved)."""
    ihl = (pkt[0] & 15) << 2
    if pkt[9] == 1 and len(pkt) >= ihl + 8 and pkt[ihl] in ICMP_ERRORS:
        _icmp_error(ctn, v, pkt, ihl, now)
        return True
    key = pkt_tuple(pkt, ihl)
    if key is None or (key[2] == 6 and tcp_error(pkt, ihl)) or \
            (key[2] == 1 and pkt[ihl] > NR_ICMP_TYPES):
        set_ct(v, None, CT_NONE, now)
        return True
    tn = timeouts(net, ctn)
    ct: NfConn | None = None
    for _attempt in range(2):
        hit = ct_lookup(ctn, key, now)
        if hit is None:
            if invert(key) is None:
                set_ct(v, None, CT_NONE, now)
                return True
            ct = _alloc(net, ctn, key, now)
            if ct is None:
                return False
            dir_ = 0
            ctinfo = IP_CT_NEW
            if key[2] == 6 and not tcp_new(ct, pkt, ihl, tn):
                set_ct(v, None, CT_NONE, now)
                return True
        else:
            conn, dir_ = hit
            ct = conn
            if dir_:
                ctinfo = IP_CT_ESTABLISHED_REPLY
            else:
                ctinfo = IP_CT_ESTABLISHED if conn.status & IPS_SEEN_REPLY else IP_CT_NEW
        res = _L4.get(key[2], generic_packet)(ct, pkt, ihl, dir_, now, tn)
        if res == REPEAT:
            ct_destroy(ctn, ct)
            continue
        break
    if res == INVALID or ct is None:
        set_ct(v, None, CT_NONE, now)
        return True
    if ctinfo == IP_CT_ESTABLISHED_REPLY and not ct.status & IPS_SEEN_REPLY:
        ct.status |= IPS_SEEN_REPLY
    set_ct(v, ct, ctinfo, now)
    return True


def _icmp_error(ctn: CtNet, v: PktView, pkt: bytes, ihl: int, now: int) -> None:
    """nf_conntrack_inet_error: an ICMP error is RELATED to the connection of
    the packet it quotes, when it goes to that connection's end."""
    inner = ihl + 8
    iihl = (pkt[inner] & 15) << 2 if len(pkt) > inner else 0
    if iihl < 20 or len(pkt) < inner + iihl + 8:
        set_ct(v, None, CT_NONE, now)
        return
    quoted = pkt_tuple(pkt[inner:], iihl)
    back = invert(quoted) if quoted is not None else None
    hit = ct_lookup(ctn, back, now) if back is not None else None
    if hit is None:
        cause = ctn.cur
        if cause is not None and cause.ct is not None and cause.key == quoted:
            # an error about the packet being received (TTL exceeded, no
            # route...): icmp_glue_bits attaches that packet's entry, even
            # before it is confirmed
            related = IP_CT_RELATED if cause.ctinfo >= IP_CT_IS_REPLY else IP_CT_RELATED_REPLY
            set_ct(v, cause.ct, related, now)
            return
        set_ct(v, None, CT_NONE, now)
        return
    ct, dir_ = hit
    if ct.tuple_of(dir_)[1] != int.from_bytes(pkt[16:20], "big"):
        set_ct(v, None, CT_NONE, now)  # "outer daddr != inner"
        return
    set_ct(v, ct, IP_CT_RELATED_REPLY if dir_ else IP_CT_RELATED, now)


def ct_flush(ctn: CtNet) -> int:
    """conntrack -F: every entry goes; how many there were."""
    cts = [ct for ct, d in ctn.hash.values() if d == 0]
    for ct in cts:
        ct_destroy(ctn, ct)
    return len(cts)


def ct_count(net: Net) -> int:
    """net.netfilter.nf_conntrack_count."""
    ctn = ct_net(net)
    ct_gc(ctn, net.kernel.sched.now)
    return ctn.count
