"""Policy routing rules (``net/core/fib_rules.c``, ``net/ipv4/fib_rules.c``).

Rules are walked in priority order; the first whose selector matches decides:
look up a table (falling through when the table has no answer or answers
``throw``), or fail as unreachable/prohibit/blackhole.

The list of a namespace materialises on the first successful add or delete;
until then the three default rules apply and the namespace counts as having
no custom rules (:func:`usernet.ipv4.fib.has_custom_rules`).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import KernelError, einval
from .fib import (
    RT_TABLE_DEFAULT,
    RT_TABLE_LOCAL,
    RT_TABLE_MAIN,
    RTPROT_KERNEL,
    Flow,
    fib_get_table,
    fib_new_table,
)
from .inet import mask
from .rt_cache import rt_cache_flush

if TYPE_CHECKING:
    from ..net import Net

FR_ACT_UNSPEC = 0
FR_ACT_TO_TBL = 1
FR_ACT_GOTO = 2
FR_ACT_NOP = 3
FR_ACT_BLACKHOLE = 6
FR_ACT_UNREACHABLE = 7
FR_ACT_PROHIBIT = 8
ACTION_ERRNO = {
    FR_ACT_BLACKHOLE: errno.EINVAL,
    FR_ACT_UNREACHABLE: errno.ENETUNREACH,
    FR_ACT_PROHIBIT: errno.EACCES,
}
FIB_RULE_INVERT = 2
IPTOS_TOS_MASK = 0x1E
UID_MAX = 0xFFFFFFFF


@dataclass
class FibRule:
    """struct fib4_rule.  ``iifname``/``oifname`` are matched by the name of
    the device the flow uses, which is how Linux's ifindex tracking behaves."""

    pref: int = 0
    table: int = 0
    action: int = FR_ACT_TO_TBL
    src: int = 0
    src_len: int = 0
    dst: int = 0
    dst_len: int = 0
    tos: int = 0
    fwmark: int = 0
    fwmask: int = 0
    iifname: str = ""
    oifname: str = ""
    invert: bool = False
    suppress_prefixlen: int = -1
    suppress_ifgroup: int = -1
    target: int = 0
    protocol: int = 0
    flow: int = 0  # realms (tclassid)
    uid_range: tuple[int, int] = (0, UID_MAX)
    ipproto: int = 0
    sport: tuple[int, int] = (0, 0)
    dport: tuple[int, int] = (0, 0)

    @classmethod
    def defaults(cls) -> list[FibRule]:
        return [
            cls(0, RT_TABLE_LOCAL, protocol=RTPROT_KERNEL),
            cls(32766, RT_TABLE_MAIN, protocol=RTPROT_KERNEL),
            cls(32767, RT_TABLE_DEFAULT, protocol=RTPROT_KERNEL),
        ]

    def uid_set(self) -> bool:
        return self.uid_range != (0, UID_MAX)

    def matches(self, net: Net, flow: Flow) -> bool:
        """fib_rule_match() + fib4_rule_match(), inversion included."""
        return self._match(net, flow) != self.invert

    def _match(self, net: Net, flow: Flow) -> bool:
        if self.iifname and _ifindex(net, self.iifname) != flow.iif:
            return False
        if self.oifname and _ifindex(net, self.oifname) != flow.oif:
            return False
        if (self.fwmark ^ flow.mark) & self.fwmask:
            return False
        if (flow.saddr ^ self.src) & mask(self.src_len):
            return False
        if (flow.daddr ^ self.dst) & mask(self.dst_len):
            return False
        if self.tos and self.tos != flow.tos:
            return False
        # Flows here carry no uid (0), ports or protocol: such rules never match
        # them, except a uid range that includes root.
        if not self.uid_range[0] <= 0 <= self.uid_range[1]:
            return False
        return not (self.ipproto or self.sport[0] or self.dport[0])


def _ifindex(net: Net, name: str) -> int:
    dev = net.dev_get_by_name(name)
    return dev.ifindex if dev is not None else -1


def rules_of(net: Net) -> list[FibRule]:
    """The rule list as it stands, without materialising it."""
    rules = net.ipv4.rules
    return rules if rules is not None else FibRule.defaults()


def _materialise(net: Net) -> list[FibRule]:
    ipv4 = net.ipv4
    if ipv4.rules is None:
        ipv4.rules = FibRule.defaults()
    ipv4.custom_rules = True
    return ipv4.rules


def default_pref(rules: list[FibRule]) -> int:
    """fib_default_rule_pref: one less than the second rule's priority."""
    if len(rules) >= 2 and rules[1].pref:
        return rules[1].pref - 1
    return 0


def goto_target(rules: list[FibRule], rule: FibRule) -> FibRule | None:
    """The rule a goto jumps to (ctarget): the first one with that priority."""
    return next((r for r in rules if r.pref == rule.target), None)


# -- add ----------------------------------------------------------------------------


def _check_new(rule: FibRule) -> None:
    """fib_nl2rule() and fib4_rule_configure() refusals, in their order."""
    if rule.action == FR_ACT_GOTO and rule.target <= rule.pref:
        raise einval("Backward goto not supported")
    if rule.src_len > 32 or rule.dst_len > 32:
        raise einval("Invalid source address" if rule.src_len > 32
                     else "Invalid destination address")
    if rule.uid_range[0] > rule.uid_range[1]:
        raise einval("Invalid uid range")


def _check_tos(rule: FibRule) -> None:
    if rule.tos & 3:
        raise einval("Invalid dsfield (tos): ECN bits must be 0")
    if rule.tos & ~IPTOS_TOS_MASK:
        raise einval("Invalid tos")


def _exists(rules: list[FibRule], rule: FibRule) -> bool:
    """rule_exists(): what NLM_F_EXCL calls a duplicate.  Selectors the new
    rule leaves out (no from/to/tos) are not compared, and neither is 'not'."""
    for r in rules:
        same = (
            (r.action, r.table, r.pref, r.iifname, r.oifname, r.fwmark, r.fwmask,
             r.suppress_ifgroup, r.suppress_prefixlen, r.uid_range, r.ipproto,
             r.protocol, r.sport, r.dport)
            == (rule.action, rule.table, rule.pref, rule.iifname, rule.oifname, rule.fwmark,
                rule.fwmask, rule.suppress_ifgroup, rule.suppress_prefixlen, rule.uid_range,
                rule.ipproto, rule.protocol, rule.sport, rule.dport)
        )
        if same and _compare(r, rule):
            return True
    return False


def _compare(r: FibRule, rule: FibRule) -> bool:
    """fib4_rule_compare()."""
    if rule.src_len and (r.src_len, r.src) != (rule.src_len, rule.src):
        return False
    if rule.dst_len and (r.dst_len, r.dst) != (rule.dst_len, rule.dst):
        return False
    if rule.tos and r.tos != rule.tos:
        return False
    return not (rule.flow and r.flow != rule.flow)


def _empty_table(net: Net) -> int:
    """fib_empty_table(): the lowest table id not in use."""
    tb_id = 1
    while fib_get_table(net, tb_id) is not None:
        tb_id += 1
    return tb_id


def rule_add(net: Net, rule: FibRule, pref_given: bool) -> None:
    """``ip rule add`` (fib_nl_newrule with NLM_F_EXCL)."""
    rules = rules_of(net)
    if not pref_given:
        rule.pref = default_pref(rules)
    if rule.fwmark and not rule.fwmask:
        rule.fwmask = 0xFFFFFFFF  # a non-zero mark alone compares all bits
    _check_new(rule)
    if _exists(rules, rule):
        raise KernelError(errno.EEXIST)
    _check_tos(rule)
    rules = _materialise(net)
    if rule.table == 0 and rule.action == FR_ACT_TO_TBL:
        rule.table = _empty_table(net)
        fib_new_table(net, rule.table)
    pos = len(rules)
    for i, r in enumerate(rules):
        if r.pref > rule.pref:
            pos = i
            break
    rules.insert(pos, rule)
    rt_cache_flush()


# -- delete --------------------------------------------------------------------------


def rule_find(rules: list[FibRule], rule: FibRule, pref_given: bool) -> FibRule | None:
    """rule_find(): the first rule agreeing with everything ``rule`` sets."""
    for r in rules:
        if _find_match(r, rule, pref_given) and _compare(r, rule):
            return r
    return None


def _find_match(r: FibRule, rule: FibRule, pref_given: bool) -> bool:
    checks = (
        (rule.action, r.action == rule.action),
        (rule.table, r.table == rule.table),
        (pref_given, r.pref == rule.pref),
        (rule.iifname, r.iifname == rule.iifname),
        (rule.oifname, r.oifname == rule.oifname),
        (rule.fwmark, r.fwmark == rule.fwmark),
        (rule.suppress_ifgroup != -1, r.suppress_ifgroup == rule.suppress_ifgroup),
        (rule.suppress_prefixlen != -1, r.suppress_prefixlen == rule.suppress_prefixlen),
        (rule.fwmask, r.fwmask == rule.fwmask),
        (rule.uid_set(), r.uid_range == rule.uid_range),
        (rule.ipproto, r.ipproto == rule.ipproto),
        (rule.protocol, r.protocol == rule.protocol),
        (rule.sport[0], r.sport == rule.sport),
        (rule.dport[0], r.dport == rule.dport),
    )
    return all(ok for given, ok in checks if given)


def rule_delete(net: Net, rule: FibRule, pref_given: bool) -> None:
    """``ip rule del``: remove the first matching rule, or ENOENT."""
    if rule.fwmark and not rule.fwmask:
        rule.fwmask = 0xFFFFFFFF
    victim = rule_find(rules_of(net), rule, pref_given)
    if victim is None:
        raise KernelError(errno.ENOENT)
    rules = _materialise(net)
    rules.remove(next(r for r in rules if r == victim))
    rt_cache_flush()


def rule_delete_exact(net: Net, victim: FibRule) -> None:
    """Remove one listed rule (``ip rule flush`` sends each back as a delete)."""
    rules = _materialise(net)
    for i, r in enumerate(rules):
        if r is victim or r == victim:
            del rules[i]
            return
    raise KernelError(errno.ENOENT)
