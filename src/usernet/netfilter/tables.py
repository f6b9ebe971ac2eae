"""Per-namespace tables, chains and rules, and the traversal of a table.

The model is iptables-nft's view of nf_tables (the reference is iptables
v1.8.9 (nf_tables)): a namespace starts with *no* tables; a table and its
built-in (base) chains come into existence when a command needs them (a rule
added to INPUT creates table filter and chain INPUT only).  A missing table
or base chain lets every packet through and counts nothing, as a missing
nf_tables hook does; listings show missing built-in chains as empty ACCEPT
chains, as iptables does.

State lives in :class:`NetfilterNet`, the namespace's pernet storage
(``net_generic``).  Changes are made on a copy (:class:`Txn`) and swapped in
whole at commit, so a failing command or restore file leaves the tables as
they were.

:func:`ipt_do_table` is the entry point for the data path.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..pernet import PernetOperations, net_generic
from .ext import ALL_HOOKS
from .packet import (
    NF_ACCEPT,
    NF_DROP,
    NF_INET_FORWARD,
    NF_INET_LOCAL_IN,
    NF_INET_LOCAL_OUT,
    NF_INET_POST_ROUTING,
    NF_INET_PRE_ROUTING,
    XT_CONTINUE,
    XT_RETURN,
    PktView,
)
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
    from ..kernel import Kernel
    from ..net import Net

PRE, IN, FWD, OUT, POST = (NF_INET_PRE_ROUTING, NF_INET_LOCAL_IN, NF_INET_FORWARD,
                           NF_INET_LOCAL_OUT, NF_INET_POST_ROUTING)

# the built-in chains of each table, in listing order (nft.c xtables_ipv4)
TABLE_DEFS: dict[str, tuple[tuple[str, int], ...]] = {
    "raw": (("PREROUTING", PRE), ("OUTPUT", OUT)),
    "mangle": (("PREROUTING", PRE), ("INPUT", IN), ("FORWARD", FWD), ("OUTPUT", OUT),
               ("POSTROUTING", POST)),
    "filter": (("INPUT", IN), ("FORWARD", FWD), ("OUTPUT", OUT)),
    "security": (("INPUT", IN), ("FORWARD", FWD), ("OUTPUT", OUT)),
    "nat": (("PREROUTING", PRE), ("INPUT", IN), ("OUTPUT", OUT), ("POSTROUTING", POST)),
}
# iptables-save's order (enum nft_table_type)
TABLE_ORDER = ("mangle", "security", "raw", "filter", "nat")
NFT_JUMP_STACK_SIZE = 16


def builtin_hook(table: str, chain: str) -> int | None:
    for name, hook in TABLE_DEFS[table]:
        if name == chain:
            return hook
    return None


class Chain:
    """A chain: a base chain has a hook, a policy and policy counters."""

    __slots__ = ("bcnt", "counted", "hook", "name", "pcnt", "policy", "rules")

    def __init__(self, name: str, hook: int | None = None, policy: str = "ACCEPT") -> None:
        self.name = name
        self.hook = hook
        self.policy = policy
        self.pcnt = 0
        self.bcnt = 0
        # iptables-nft gives a base chain a policy counter only when -P or -Z
        # touches it; before that the policy's packets are not counted (c163)
        self.counted = False
        self.rules: list[Rule] = []

    @property
    def builtin(self) -> bool:
        return self.hook is not None

    def copy(self) -> Chain:
        c = Chain(self.name, self.hook, self.policy)
        c.pcnt, c.bcnt = self.pcnt, self.bcnt
        c.counted = self.counted
        c.rules = list(self.rules)
        return c


class Table:
    """One table of one namespace: chains in creation order."""

    __slots__ = ("chains", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.chains: dict[str, Chain] = {}

    def copy(self) -> Table:
        t = Table(self.name)
        t.chains = {name: c.copy() for name, c in self.chains.items()}
        return t

    def base_chain(self, hook: int) -> Chain | None:
        for c in self.chains.values():
            if c.hook == hook:
                return c
        return None

    def base_chains(self) -> list[Chain]:
        """Existing base chains, in the table's listing order."""
        out = []
        for name, _hook in TABLE_DEFS[self.name]:
            c = self.chains.get(name)
            if c is not None and c.builtin:
                out.append(c)
        return out

    def user_chains(self, sort: bool = True) -> list[Chain]:
        users = [c for c in self.chains.values() if not c.builtin]
        return sorted(users, key=lambda c: c.name.encode()) if sort else users

    def references(self, name: str) -> int:
        """How many rules jump or go to chain ``name``."""
        return sum(1 for c in self.chains.values() for r in c.rules
                   if r.target is None and r.jumpto == name)


class NetfilterNet:
    """The netfilter state of one namespace: the tables that exist, and a
    generation number that moves with every committed change."""

    __slots__ = ("gen", "tables")

    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}
        self.gen = 0

    def table(self, name: str) -> Table | None:
        return self.tables.get(name)


netfilter_net_ops = PernetOperations("netfilter", generic=NetfilterNet)


def netfilter_register(kernel: Kernel) -> None:
    kernel.pernet.register_subsys(netfilter_net_ops)


def nf_net(net: Net) -> NetfilterNet:
    """The namespace's netfilter state (``net_generic``)."""
    data = net_generic(net, netfilter_net_ops)
    assert isinstance(data, NetfilterNet)
    return data


class Txn:
    """A transaction: tables are copied when first touched, swapped in at commit."""

    __slots__ = ("changed", "nfnet", "tables", "touched")

    def __init__(self, nfnet: NetfilterNet) -> None:
        self.nfnet = nfnet
        self.tables = dict(nfnet.tables)
        self.touched: set[str] = set()
        self.changed = False

    def get(self, name: str) -> Table | None:
        """The table for changing (copied on first use), or None."""
        t = self.tables.get(name)
        if t is not None and name not in self.touched:
            t = self.tables[name] = t.copy()
            self.touched.add(name)
        self.changed |= t is not None
        return t

    def peek(self, name: str) -> Table | None:
        return self.tables.get(name)

    def create(self, name: str) -> Table:
        t = self.get(name)
        if t is None:
            t = self.tables[name] = Table(name)
            self.touched.add(name)
            self.changed = True
        return t

    def delete(self, name: str) -> None:
        self.changed |= self.tables.pop(name, None) is not None
        self.touched.discard(name)

    def commit(self) -> None:
        """Swap the new tables in; ``gen`` moves when anything may have changed."""
        if not self.changed:
            return
        self.nfnet.tables = self.tables
        self.nfnet.gen += 1
        self.tables = dict(self.tables)
        self.touched = set()
        self.changed = False


# ---------------------------------------------------------------------------------
# the kernel's checks of a table (nft_table_validate and the xt compat checks)
# ---------------------------------------------------------------------------------

def validate_rule(table: Table, chain: Chain, rule: Rule) -> int:
    """0 or the errno the kernel refuses ``rule`` in ``chain`` with."""
    ip = rule.ip
    if (ip.invflags & IPT_INV_SRCIP and not ip.smsk) or (ip.invflags & IPT_INV_DSTIP
                                                         and not ip.dmsk):
        return errno.EINVAL  # a zero-length payload compare
    jumps = rule.target is None and bool(rule.jumpto)
    if jumps:
        dest = table.chains.get(rule.jumpto)
        if dest is not None and dest.builtin:
            return errno.EOPNOTSUPP
    hookmask = 1 << chain.hook if chain.hook is not None else 0
    hook_sensitive = False
    for ext in rule.exts():
        err = ext.check_entry(table.name, hookmask, rule.ip)
        if err:
            return err
        hook_sensitive |= ext.check_entry(table.name, ALL_HOOKS, rule.ip) != 0
    if jumps or (hook_sensitive and not chain.builtin):
        return validate_table(table)
    return 0


def validate_table(table: Table) -> int:
    """Walk every base chain as nft does: jump depth (EMLINK on loops or too
    deep) and the hook restrictions of what the reachable rules use."""
    seen: dict[tuple[str, int], int] = {}
    for base in table.base_chains():
        assert base.hook is not None
        err = _walk(table, base, 1 << base.hook, 0, seen)
        if err:
            return err
    return 0


def _walk(table: Table, chain: Chain, hookmask: int, level: int,
          seen: dict[tuple[str, int], int]) -> int:
    if level >= NFT_JUMP_STACK_SIZE:
        return errno.EMLINK
    key = (chain.name, hookmask)
    if seen.get(key, -1) >= level:
        return 0
    seen[key] = level
    for rule in chain.rules:
        if level:
            for ext in rule.exts():
                err = ext.check_entry(table.name, hookmask, rule.ip)
                if err:
                    return err
        if rule.target is None and rule.jumpto:
            dest = table.chains.get(rule.jumpto)
            if dest is not None and not dest.builtin:
                err = _walk(table, dest, hookmask, level + 1, seen)
                if err:
                    return err
    return 0


# ---------------------------------------------------------------------------------
# the traversal
# ---------------------------------------------------------------------------------

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


def rule_matches(rule: Rule, pkt: PktView) -> bool:
    if not ip_packet_match(rule.ip, pkt):
        return False
    return all(m.evaluate(pkt, rule.ip) for m in rule.matches)


def ipt_do_table(net: Net, table: str, hook: int, pkt: PktView) -> int:
    """Run ``pkt`` through the base chain of ``hook`` in ``table`` of ``net``.

    Returns NF_ACCEPT, NF_DROP (or NF_QUEUE); rule and policy counters are
    updated (a packet counts ``pkt.length`` bytes).  Without the table or the
    base chain the answer is NF_ACCEPT and nothing is counted.
    """
    t = nf_net(net).tables.get(table)
    base = t.base_chain(hook) if t is not None else None
    if t is None or base is None:
        return NF_ACCEPT
    pkt.hook = hook
    return _traverse(t, base, pkt)


def _traverse(table: Table, base: Chain, pkt: PktView) -> int:
    stack: list[tuple[Chain, int]] = []
    chain, i = base, 0
    while True:
        if i >= len(chain.rules):
            if not stack:
                return _policy(base, pkt)
            chain, i = stack.pop()
            continue
        rule = chain.rules[i]
        i += 1
        if not rule_matches(rule, pkt):
            continue
        rule.pcnt += 1
        rule.bcnt += pkt.length
        verdict = _rule_verdict(rule, pkt)
        if verdict == XT_CONTINUE:
            continue
        if verdict == XT_RETURN:
            if not stack:
                return _policy(base, pkt)
            chain, i = stack.pop()
            continue
        if verdict == _JUMP:
            dest = table.chains.get(rule.jumpto)
            if dest is None:
                continue
            if not rule.goto:
                stack.append((chain, i))
            chain, i = dest, 0
            continue
        return verdict


_JUMP = -100

# the tables each hook runs, in nf_tables priority order (raw -300, mangle -150,
# nat dstnat -100, filter 0, security 50, nat srcnat 100)
HOOK_TABLES: dict[int, tuple[str, ...]] = {
    PRE: ("raw", "mangle", "nat"),
    IN: ("mangle", "filter", "security", "nat"),
    FWD: ("mangle", "filter", "security"),
    OUT: ("raw", "mangle", "nat", "filter", "security"),
    POST: ("mangle", "nat"),
}


def nf_hook(net: Net, hook: int, pkt: PktView, with_nat: bool = True) -> int:
    """Every table of ``hook`` in priority order; the first verdict that is not
    NF_ACCEPT ends it.  The nat chains see only a connection's first packet:
    the data path passes ``with_nat=False`` for the others."""
    for table in HOOK_TABLES[hook]:
        if table == "nat" and not with_nat:
            continue
        verdict = ipt_do_table(net, table, hook, pkt)
        if verdict != NF_ACCEPT:
            return verdict
    return NF_ACCEPT


def _rule_verdict(rule: Rule, pkt: PktView) -> int:
    if rule.target is not None:
        return rule.target.target(pkt)
    if rule.jumpto:
        return _JUMP
    return XT_CONTINUE


def _policy(base: Chain, pkt: PktView) -> int:
    if base.counted:
        base.pcnt += 1
        base.bcnt += pkt.length
    return NF_DROP if base.policy == "DROP" else NF_ACCEPT


def iter_rules(table: Table) -> Iterator[tuple[Chain, Rule]]:
    for c in table.chains.values():
        for r in c.rules:
            yield c, r


__all__ = ["HOOK_TABLES", "Standard", "ipt_do_table", "nf_hook", "nf_net"]
