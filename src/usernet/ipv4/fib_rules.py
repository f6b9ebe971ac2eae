"""Policy routing rules (``net/core/fib_rules.c``, ``net/ipv4/fib_rules.c``).

Rules are walked in priority order; the first whose selector matches decides:
look up a table (falling through when the table has no answer or answers
``throw``), or fail as unreachable/prohibit/blackhole.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from ..errors import KernelError
from .fib import RT_TABLE_DEFAULT, RT_TABLE_LOCAL, RT_TABLE_MAIN
from .inet import mask

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


class FibRule:
    __slots__ = (
        "action", "dst", "dst_len", "fwmark", "fwmask", "iifname", "invert", "oifname", "pref",
        "protocol", "src", "src_len", "suppress_ifgroup", "suppress_prefixlen", "table",
        "target", "tos",
    )

    def __init__(self, pref: int, table: int = 0, action: int = FR_ACT_TO_TBL, *,
                 src: int = 0, src_len: int = 0, dst: int = 0, dst_len: int = 0,
                 tos: int = 0, fwmark: int = 0, fwmask: int = 0, iifname: str = "",
                 oifname: str = "", invert: bool = False, suppress_prefixlen: int = -1,
                 suppress_ifgroup: int = -1, target: int = 0, protocol: int = 0) -> None:
        self.pref = pref
        self.table = table
        self.action = action
        self.src = src
        self.src_len = src_len
        self.dst = dst
        self.dst_len = dst_len
        self.tos = tos
        self.fwmark = fwmark
        self.fwmask = fwmask
        self.iifname = iifname
        self.oifname = oifname
        self.invert = invert
        self.suppress_prefixlen = suppress_prefixlen
        self.suppress_ifgroup = suppress_ifgroup
        self.target = target
        self.protocol = protocol

    @classmethod
    def defaults(cls) -> list[FibRule]:
        return [
            cls(0, RT_TABLE_LOCAL, protocol=2),
            cls(32766, RT_TABLE_MAIN, protocol=2),
            cls(32767, RT_TABLE_DEFAULT, protocol=2),
        ]

    def key(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__ if name != "protocol")

    def matches(self, daddr: int, saddr: int, iif: str, oif: str, mark: int, tos: int) -> bool:
        ok = True
        if self.iifname and self.iifname != iif:
            ok = False
        elif self.oifname and self.oifname != oif:
            ok = False
        elif self.src_len and (saddr ^ self.src) & mask(self.src_len):
            ok = False
        elif self.dst_len and (daddr ^ self.dst) & mask(self.dst_len):
            ok = False
        elif self.tos and self.tos != tos:
            ok = False
        elif (self.fwmark or self.fwmask) and (mark ^ self.fwmark) & (self.fwmask or 0xFFFFFFFF):
            ok = False
        return ok != self.invert


def default_pref(rules: list[FibRule]) -> int:
    """fib_default_rule_pref: one less than the second rule's priority."""
    if len(rules) >= 2 and rules[1].pref:
        return rules[1].pref - 1
    return 0


def rule_add(net: Net, rule: FibRule, pref_given: bool) -> None:
    rules = net.ipv4.get_rules()
    if not pref_given:
        rule.pref = default_pref(rules)
    key = rule.key()
    if any(r.key() == key for r in rules):
        raise KernelError(errno.EEXIST)
    if rule.action == FR_ACT_GOTO:
        if not any(r.pref == rule.target for r in rules) and rule.target <= rule.pref:
            raise KernelError(errno.EINVAL, "Invalid goto target")
    pos = 0
    for i, r in enumerate(rules):
        if r.pref > rule.pref:
            break
        pos = i + 1
    rules.insert(pos, rule)


def rule_delete(net: Net, match: dict[str, object]) -> None:
    """Delete the first rule whose given attributes all equal ``match``."""
    rules = net.ipv4.get_rules()
    for r in rules:
        if all(getattr(r, k) == v for k, v in match.items()):
            rules.remove(r)
            return
    raise KernelError(errno.ENOENT)
