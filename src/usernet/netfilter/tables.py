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

:func:`nf_hook` and :func:`ipt_do_table` are the entry points for the data
path.  They walk the chains in the form :mod:`.compiled` prepares once per
committed change (a table the namespace uses is never changed in place), and
:func:`hook_plan` keeps, per hook, the base chains that run there.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..pernet import PernetOperations, net_generic
from .compiled import CBase, CChain, compile_table, run_chain
from .ext import ALL_HOOKS
from .matches import Addrtype
from .packet import (
    NF_ACCEPT,
    NF_INET_FORWARD,
    NF_INET_LOCAL_IN,
    NF_INET_LOCAL_OUT,
    NF_INET_POST_ROUTING,
    NF_INET_PRE_ROUTING,
    XT_RETURN,
    PktView,
)
from .rule import IPT_INV_DSTIP, IPT_INV_SRCIP, Rule
from .targets import Standard

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..net import Net
    from .flow_fast import FlowFast

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
    """One table of one namespace: chains in creation order.  A table the
    namespace uses is never changed in place (a change works on a copy), so
    its prepared form is made once."""

    __slots__ = ("_prepared", "chains", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.chains: dict[str, Chain] = {}
        self._prepared: dict[str, CChain] | None = None

    def prepared(self) -> dict[str, CChain]:
        """The chains as the data path walks them (``compiled.compile_table``)."""
        if self._prepared is None:
            self._prepared = compile_table(self)
        return self._prepared

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
    """The netfilter state of one namespace: the tables that exist, a
    generation number that moves with every committed change, and the data
    path's plan of the hooks (made for generation ``plan_gen``)."""

    __slots__ = ("fast", "gen", "plan", "plan_addrtype", "plan_gen", "plan_tables", "tables")

    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}
        self.gen = 0
        self.fast: FlowFast | None = None  # flow_fast's shortcut, for generation fast.gen
        self.plan: tuple[tuple[CBase, ...], ...] | None = None
        self.plan_tables: tuple[frozenset[str], ...] = ()
        self.plan_addrtype = False
        self.plan_gen = -1

    def table(self, name: str) -> Table | None:
        return self.tables.get(name)


netfilter_net_ops = PernetOperations("netfilter", generic=NetfilterNet)


def netfilter_register(kernel: Kernel) -> None:
    kernel.pernet.register_subsys(netfilter_net_ops)


def nf_net(net: Net) -> NetfilterNet:
    """The namespace's netfilter state (``net_generic``)."""
    gen = net.gen  # the per-packet way in: the slot, without net_generic's checks
    if gen is not None and 0 <= netfilter_net_ops.id < len(gen):
        data = gen[netfilter_net_ops.id]
        if data.__class__ is NetfilterNet:
            return data
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

# the tables each hook runs, in nf_tables priority order (raw -300, mangle -150,
# nat dstnat -100, filter 0, security 50, nat srcnat 100)
HOOK_TABLES: dict[int, tuple[str, ...]] = {
    PRE: ("raw", "mangle", "nat"),
    IN: ("mangle", "filter", "security", "nat"),
    FWD: ("mangle", "filter", "security"),
    OUT: ("raw", "mangle", "nat", "filter", "security"),
    POST: ("mangle", "nat"),
}
_NO_BASES: tuple[CBase, ...] = ()


def hook_plan(nfnet: NetfilterNet) -> tuple[tuple[CBase, ...], ...]:
    """Per hook, the base chains it runs (prepared), in priority order.  Made
    again after each committed change, when the data path first asks."""
    plan = nfnet.plan
    if plan is None or nfnet.plan_gen != nfnet.gen:
        plan = nfnet.plan = _make_plan(nfnet.tables)
        nfnet.plan_tables = tuple(frozenset(b.table for b in bases) for bases in plan)
        nfnet.plan_addrtype = any(isinstance(m, Addrtype) for t in nfnet.tables.values()
                                  for _c, r in iter_rules(t) for m in r.matches)
        nfnet.plan_gen = nfnet.gen
    return plan


def tables_at(nfnet: NetfilterNet, hook: int) -> frozenset[str]:
    """The names of the tables with a base chain at ``hook`` (kept with the plan)."""
    hook_plan(nfnet)
    return nfnet.plan_tables[hook]


def wants_addrtype(nfnet: NetfilterNet) -> bool:
    """Whether any rule has an addrtype match: without one, nothing reads a
    view's ``saddr_type``/``daddr_type`` and the data path may skip the
    two route lookups that fill them."""
    hook_plan(nfnet)
    return nfnet.plan_addrtype


def _make_plan(tables: dict[str, Table]) -> tuple[tuple[CBase, ...], ...]:
    plan: list[tuple[CBase, ...]] = []
    for hook in range(5):
        bases = []
        for name in HOOK_TABLES[hook]:
            t = tables.get(name)
            base = t.base_chain(hook) if t is not None else None
            if t is not None and base is not None:
                bases.append(CBase(name, base, t.prepared()[base.name]))
        plan.append(tuple(bases) or _NO_BASES)
    return tuple(plan)


def nf_hook_active(net: Net, hook: int) -> bool:
    """Whether any table has a base chain at ``hook``: without one the hook
    lets every packet through and counts nothing, so the data path need not
    build a view of the packet for it."""
    return bool(hook_plan(nf_net(net))[hook])


def ipt_do_table(net: Net, table: str, hook: int, pkt: PktView) -> int:
    """Run ``pkt`` through the base chain of ``hook`` in ``table`` of ``net``.

    Returns NF_ACCEPT, NF_DROP (or NF_QUEUE); rule and policy counters are
    updated (a packet counts ``pkt.length`` bytes).  Without the table or the
    base chain the answer is NF_ACCEPT and nothing is counted.
    """
    for base in hook_plan(nf_net(net))[hook]:
        if base.table == table:
            pkt.hook = hook
            return _do_base(base, pkt)
    return NF_ACCEPT


def nf_hook(net: Net, hook: int, pkt: PktView, with_nat: bool = True) -> int:
    """Every table of ``hook`` in priority order; the first verdict that is not
    NF_ACCEPT ends it.  The nat chains see only a connection's first packet:
    the data path passes ``with_nat=False`` for the others."""
    pkt.hook = hook
    for base in hook_plan(nf_net(net))[hook]:
        if not with_nat and base.table == "nat":
            continue
        verdict = _do_base(base, pkt)
        if verdict != NF_ACCEPT:
            return verdict
    return NF_ACCEPT


def _do_base(base: CBase, pkt: PktView) -> int:
    verdict = run_chain(base.cchain, pkt)
    if verdict != XT_RETURN:
        return verdict
    if base.counted:  # the policy
        chain = base.chain
        chain.pcnt += 1
        chain.bcnt += pkt.length
    return base.policy


def iter_rules(table: Table) -> Iterator[tuple[Chain, Rule]]:
    for c in table.chains.values():
        for r in c.rules:
            yield c, r


__all__ = ["HOOK_TABLES", "Standard", "ipt_do_table", "nf_hook", "nf_net"]
