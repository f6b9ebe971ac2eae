"""The data path's form of a table: each chain prepared once per committed
change, then walked per packet.

The kernel walks a chain rule by rule, and so does this walk -- over the
rules that *could* match.  A chain of enough rules carries an index: for a
few packet fields (protocol, interfaces, addresses, ports, conntrack state)
a map from the field's value to the rules that could match a packet with
that value, as a bit mask over the chain's rules (a Python int, bit i for
rule i), plus the mask of the rules that ask nothing of that field.  ANDing
the packet's masks leaves the candidates, which are then checked in rule
order exactly as the kernel checks every rule.  The candidates are
remembered per value of the indexed fields, so the packets of a flow after
the first pay one dict lookup for them.

Why this changes nothing that can be seen: the index leaves out only rules
that cannot match the packet, and a rule that does not match has no effect
-- its counters stay, its target does not run, and no match with state (the
limit bucket) is consulted, because the index is built only from the fixed
IPv4 part (which the kernel checks before any match) and from matches without
state that come before any match with state.  After a target that may change
the packet (an extension target, or a jump that comes back) the candidates
are computed again, so a target may write any field of the view.
``tests/netfilter/test_nf_compiled.py`` checks verdicts, counters and view
against the plain rule-by-rule walk over random rule sets and packets.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, cast

from .matches import (
    CT_STATE,
    Addrtype,
    Comment,
    Connmark,
    Conntrack,
    Icmp,
    Iprange,
    Length,
    Mark,
    Multiport,
    State,
    Tcp,
    Ttl,
    Udp,
)
from .packet import NF_ACCEPT, NF_DROP, XT_CONTINUE, XT_RETURN, PktView
from .rule import (
    IPT_INV_DSTIP,
    IPT_INV_FRAG,
    IPT_INV_SRCIP,
    IPT_INV_VIA_IN,
    IPT_INV_VIA_OUT,
    XT_INV_PROTO,
    IpSpec,
    Rule,
    iface_matches,
)
from .targets import Standard

if TYPE_CHECKING:
    from .ext import Match
    from .tables import Chain, Table

# matches whose answer depends on the packet alone (no state, no side
# effect): only these, before any other match of the rule, may feed the index
PURE_MATCHES: frozenset[type] = frozenset((Tcp, Udp, Icmp, Conntrack, State, Multiport,
                                           Comment, Mark, Connmark, Length, Ttl, Addrtype,
                                           Iprange))
INDEX_MIN_RULES = 4  # shorter chains are walked rule by rule
CAND_MEMO_MAX = 1024  # remembered candidate sets per chain
CT_STATE_BITS = 9  # the CT_* bits (INVALID .. UNTRACKED)

# what a rule does when it matches
K_NONE, K_VERDICT, K_TARGET, K_JUMP = 0, 1, 2, 3

Cand = Callable[[PktView], int]


class CRule:
    """One rule, prepared: what to check beyond the index, what to do."""

    __slots__ = ("dest", "evals", "goto", "ip", "ipcheck", "kind", "rule", "target",
                 "verdict")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.ip = rule.ip
        self.ipcheck = True  # decided by the chain (what its index covers)
        self.evals = tuple(m.evaluate for m in rule.matches)
        self.goto = rule.goto
        self.dest: CChain | None = None
        self.verdict = XT_CONTINUE
        self.target: Callable[[PktView], int] | None = None
        t = rule.target
        if isinstance(t, Standard):
            self.kind = K_VERDICT
            self.verdict = Standard.VERDICTS[t.verdict]
        elif t is not None:
            self.kind = K_TARGET
            self.target = t.target
        else:
            self.kind = K_JUMP if rule.jumpto else K_NONE


class CChain:
    """A chain, prepared: its rules, how many lead rules are walked one by
    one before the index is asked (rules it would not narrow, such as a
    first "ESTABLISHED,RELATED -j ACCEPT"), and the candidate function."""

    __slots__ = ("cand", "lead", "lead_bits", "name", "rest_bits", "rules")

    def __init__(self, name: str) -> None:
        self.name = name
        self.rules: list[CRule] = []
        self.lead = 0
        self.lead_bits = 0  # the lead rules' bits
        self.rest_bits = 0  # the others'
        self.cand: Cand | None = None


class CBase:
    """A base chain with its policy: what a hook runs for one table."""

    __slots__ = ("cchain", "chain", "counted", "policy", "table")

    def __init__(self, table: str, chain: Chain, cchain: CChain) -> None:
        self.table = table
        self.chain = chain  # holds the policy counters
        self.cchain = cchain
        self.counted = chain.counted
        self.policy = NF_DROP if chain.policy == "DROP" else NF_ACCEPT


def compile_table(table: Table) -> dict[str, CChain]:
    """Every chain of ``table``, prepared, by name (jumps resolved)."""
    out = {name: CChain(name) for name in table.chains}
    for name, chain in table.chains.items():
        cc = out[name]
        cc.rules = [CRule(r) for r in chain.rules]
        for cr in cc.rules:
            if cr.kind == K_JUMP:
                cr.dest = out.get(cr.rule.jumpto)
        _index(cc)
    return out


# ---------------------------------------------------------------------------------
# the index
# ---------------------------------------------------------------------------------

class _Dim:
    """One indexed field while it is built: per value (or per mask and
    network) the rules that need it, and the rules that need nothing."""

    __slots__ = ("by_value", "field", "wild")

    def __init__(self, field: str) -> None:
        self.field = field
        self.wild = 0
        self.by_value: dict[object, int] = {}

    def add(self, key: object, bit: int) -> None:
        self.by_value[key] = self.by_value.get(key, 0) | bit


_DIMS = ("proto", "iif", "oif", "saddr", "daddr", "sport", "dport", "ctstate")


def _index(cc: CChain) -> None:
    rules = cc.rules
    n = len(rules)
    constraints = [_constraints(cr) for cr in rules]
    # the leading rules the index would not narrow much are walked first:
    # those that ask for nothing but a conntrack state (a firewall's opening
    # "ESTABLISHED -j ACCEPT" matches most packets of a flow)
    lead = 0
    while lead < n and constraints[lead].keys() <= {"ctstate"}:
        lead += 1
    if n < INDEX_MIN_RULES or lead == n:
        lead = n
    cc.lead = lead
    cc.lead_bits = (1 << lead) - 1
    cc.rest_bits = ((1 << n) - 1) ^ cc.lead_bits
    for i, cr in enumerate(rules):
        # an indexed rule's exact ip constraints are the index's: only what
        # the index cannot say (inversions, "eth+", -f) is checked again
        cr.ipcheck = _ip_exotic(cr.ip) if i >= lead else _ip_any(cr.ip)
    if lead == n:
        return
    dims = {name: _Dim(name) for name in _DIMS}
    for i, cons in enumerate(constraints):
        bit = 1 << i
        for name, dim in dims.items():
            keys = cons.get(name)
            if keys is None:
                dim.wild |= bit
            else:
                for key in keys:
                    dim.add(key, bit)
    full = (1 << n) - 1
    used = [d for d in dims.values() if d.by_value]
    used.sort(key=lambda d: d.wild.bit_count())  # the most selective first
    cc.cand = _cand_fn(full, [_dim_fn(d) for d in used], [d.field for d in used])


def _constraints(cr: CRule) -> dict[str, list[object]]:
    """The fields ``cr`` needs exact values of, with the values that do."""
    ip = cr.ip
    inv = ip.invflags
    out: dict[str, list[object]] = {}
    if ip.proto and not inv & XT_INV_PROTO:
        out["proto"] = [ip.proto]
    if ip.iniface and not inv & IPT_INV_VIA_IN and not ip.iniface.endswith("+"):
        out["iif"] = [ip.iniface]
    if ip.outiface and not inv & IPT_INV_VIA_OUT and not ip.outiface.endswith("+"):
        out["oif"] = [ip.outiface]
    if ip.smsk and not inv & IPT_INV_SRCIP:
        out["saddr"] = [(ip.smsk, ip.src)]
    if ip.dmsk and not inv & IPT_INV_DSTIP:
        out["daddr"] = [(ip.dmsk, ip.dst)]
    for m in cr.rule.matches:
        if type(m) not in PURE_MATCHES:
            break
        for name, keys in _match_constraints(m):
            out.setdefault(name, keys)
    return out


def _match_constraints(m: Match) -> list[tuple[str, list[object]]]:
    out: list[tuple[str, list[object]]] = []
    if isinstance(m, (Tcp, Udp)):
        for name, (lo, hi), bit in (("sport", m.spts, 1), ("dport", m.dpts, 2)):
            if lo == hi and not m.invflags & bit:
                out.append((name, [lo]))
    elif isinstance(m, Multiport):
        if not m.invert and m.flags != Multiport.EITHER and not any(m.pflags):
            out.append((("sport", "dport")[m.flags], list(m.ports)))
    elif isinstance(m, Conntrack):
        if m.match_flags & CT_STATE and not m.invert_flags & CT_STATE:
            out.append(("ctstate", [b for b in range(CT_STATE_BITS)
                                    if m.state_mask >> b & 1]))
    return out


def _ip_any(ip: IpSpec) -> bool:
    return bool(ip.smsk or ip.dmsk or ip.invflags or ip.iniface or ip.outiface or ip.proto
                or ip.frag)


def _ip_exotic(ip: IpSpec) -> bool:
    return bool(ip.invflags or ip.frag or ip.iniface.endswith("+")
                or ip.outiface.endswith("+"))


def _dim_fn(d: _Dim) -> Cand:
    """The packet's mask for one field: the rules that ask nothing of it,
    and those that ask for the packet's value."""
    wild = d.wild
    field = d.field
    if field in ("saddr", "daddr"):
        return _addr_fn(field, wild, d.by_value)
    if field == "ctstate":
        return _ctstate_fn(wild, d.by_value)
    get = d.by_value.get
    if field == "proto":
        return lambda pkt: wild | get(pkt.proto, 0)
    if field == "iif":
        return lambda pkt: wild | get(pkt.iif, 0)
    if field == "oif":
        return lambda pkt: wild | get(pkt.oif, 0)
    if field == "sport":
        return lambda pkt: wild | get(pkt.sport, 0)
    return lambda pkt: wild | get(pkt.dport, 0)


def _addr_fn(field: str, wild: int, by_value: dict[object, int]) -> Cand:
    """Prefixes: one dict per mask length in use, most rules' mask first."""
    per_mask: dict[int, dict[int, int]] = {}
    for key, bits in by_value.items():
        mask, net = cast("tuple[int, int]", key)
        per_mask.setdefault(mask, {})[net] = bits
    tables = tuple(sorted(((mask, nets.get) for mask, nets in per_mask.items()),
                          key=lambda t: -len(per_mask[t[0]])))
    src = field == "saddr"
    if len(tables) == 1:
        (mask, get), = tables
        if src:
            return lambda pkt: wild | get(pkt.saddr & mask, 0)
        return lambda pkt: wild | get(pkt.daddr & mask, 0)

    def many(pkt: PktView) -> int:
        addr = pkt.saddr if src else pkt.daddr
        m = wild
        for mask, get in tables:
            m |= get(addr & mask, 0)
        return m
    return many


def _ctstate_fn(wild: int, by_bit: dict[object, int]) -> Cand:
    """--ctstate wants any of its bits: every combination of bits is
    precomputed (there are 2**9)."""
    table = []
    for state in range(1 << CT_STATE_BITS):
        m = wild
        for bit, bits in by_bit.items():
            if state >> bit & 1:  # type: ignore[operator]
                m |= bits
        table.append(m)
    states = tuple(table)
    top = (1 << CT_STATE_BITS) - 1
    return lambda pkt: states[pkt.ctstate & top]


def _cand_fn(full: int, fns: list[Cand], fields: list[str]) -> Cand:
    """The candidates: the AND of the fields' masks, remembered per value of
    the fields (the packets of one flow ask the same question), in a memo
    that starts afresh when full."""
    fns_t = tuple(fns)
    key_of = attrgetter(*fields)
    memo: dict[object, int] = {}
    get = memo.get

    def cand(pkt: PktView) -> int:
        key = key_of(pkt)
        m = get(key)
        if m is None:
            m = full
            for fn in fns_t:
                m &= fn(pkt)
                if not m:
                    break
            if len(memo) >= CAND_MEMO_MAX:
                memo.clear()
            memo[key] = m
        return m
    return cand


# ---------------------------------------------------------------------------------
# the walk
# ---------------------------------------------------------------------------------

def run_chain(cc: CChain, pkt: PktView) -> int:
    """The verdict of chain ``cc`` for ``pkt``: NF_ACCEPT/NF_DROP/NF_QUEUE,
    or XT_RETURN when the chain ends or RETURNs (its caller goes on).

    The lead rules come first, one by one; then the index's candidates, in
    rule order.  (One loop over bit masks for both, the checks written out:
    this is the innermost loop of every hook.)"""
    rules = cc.rules
    cand = cc.cand
    m = cc.lead_bits
    indexed = False
    while True:
        if not m:
            if indexed or cand is None:
                return XT_RETURN
            indexed = True
            m = cand(pkt) & cc.rest_bits
            continue
        low = m & -m
        m ^= low
        cr = rules[low.bit_length() - 1]
        ip = cr.ip
        if cr.ipcheck and not ip_packet_match(ip, pkt):
            continue
        for ev in cr.evals:
            if not ev(pkt, ip):
                break
        else:
            rule = cr.rule
            rule.pcnt += 1
            rule.bcnt += pkt.length
            kind = cr.kind
            if kind == K_VERDICT:
                return cr.verdict
            if kind != K_NONE:
                v = _act(cr, pkt)
                if v != XT_CONTINUE:
                    return v
                if indexed:  # the view may have changed: ask the index again
                    m = cand(pkt) & -(low << 1)  # type: ignore[misc]


def _act(cr: CRule, pkt: PktView) -> int:
    """An extension target or a jump: a verdict, XT_RETURN, or XT_CONTINUE
    to go on with the next rule."""
    if cr.kind == K_TARGET:
        return cr.target(pkt)  # type: ignore[misc]
    if cr.dest is None:
        return XT_CONTINUE
    v = run_chain(cr.dest, pkt)
    # goto does not come back here: the end of the chain it went to is ours
    return v if cr.goto or v != XT_RETURN else XT_CONTINUE


def ip_packet_match(ip: IpSpec, pkt: PktView) -> bool:
    """``ip_packet_match``: addresses, interfaces, protocol, fragments."""
    inv = ip.invflags
    if ((pkt.saddr & ip.smsk) != ip.src) != bool(inv & IPT_INV_SRCIP):
        return False
    if ((pkt.daddr & ip.dmsk) != ip.dst) != bool(inv & IPT_INV_DSTIP):
        return False
    if ip.iniface and iface_matches(ip.iniface, pkt.iif) == bool(inv & IPT_INV_VIA_IN):
        return False
    if ip.outiface and iface_matches(ip.outiface, pkt.oif) == bool(inv & IPT_INV_VIA_OUT):
        return False
    if ip.proto and (pkt.proto != ip.proto) != bool(inv & XT_INV_PROTO):
        return False
    return (ip.frag and not pkt.fragment) == bool(inv & IPT_INV_FRAG)
