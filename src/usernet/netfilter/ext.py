"""What every match and target extension has: its options, its parse step,
its two textual forms, the kernel's check of where it may be used.

An extension *class* is the ``struct xtables_match``/``xtables_target``; an
*instance* is the parsed data of one use in one rule.  ``save()`` is the text
after "-m NAME" (or "-j NAME") in ``iptables -S``/``iptables-save``,
``print_(numeric)`` the text in the last column of ``iptables -L``; both start
with a space when not empty, as iptables prints them.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, ClassVar

from .packet import (
    NF_INET_FORWARD,
    NF_INET_LOCAL_IN,
    NF_INET_LOCAL_OUT,
    NF_INET_POST_ROUTING,
    NF_INET_PRE_ROUTING,
    XT_CONTINUE,
    PktView,
)
from .xtables import Opt, OptCall, option_parse, options_fcheck

if TYPE_CHECKING:
    from .rule import IpSpec

HOOK_PRE = 1 << NF_INET_PRE_ROUTING
HOOK_IN = 1 << NF_INET_LOCAL_IN
HOOK_FWD = 1 << NF_INET_FORWARD
HOOK_OUT = 1 << NF_INET_LOCAL_OUT
HOOK_POST = 1 << NF_INET_POST_ROUTING
ALL_HOOKS = HOOK_PRE | HOOK_IN | HOOK_FWD | HOOK_OUT | HOOK_POST


class Ext:
    """Base of matches and targets."""

    NAME: ClassVar[str] = ""
    REAL_NAME: ClassVar[str] = ""  # the kernel's name when NAME is an alias ("" = NAME)
    OPTIONS: ClassVar[tuple[Opt, ...]] = ()
    X6: ClassVar[bool] = True  # new-style options: generic checks, then fcheck
    TABLE: ClassVar[str | None] = None  # the kernel's .table restriction
    HOOKS: ClassVar[int] = ALL_HOOKS  # the kernel's .hooks restriction

    __slots__ = ("xflags",)

    def __init__(self) -> None:
        self.xflags = 0

    # -- parsing ---------------------------------------------------------------

    def parse(self, cb: OptCall) -> None:
        """One option (``x6_parse``); the default stores nothing."""
        option_parse(cb)

    def fcheck(self) -> None:
        """The extension's own final check (``x6_fcheck``/``final_check``)."""

    def final_check(self) -> None:
        self.fcheck()
        if self.X6:
            options_fcheck(self.NAME, self.xflags, self.OPTIONS)

    # -- output ------------------------------------------------------------------

    def alias(self) -> str:
        """The name shown after -m/-j (``.alias`` or the name)."""
        return self.NAME

    @classmethod
    def real_name(cls) -> str:
        """The name the kernel knows (what -L shows as target)."""
        return cls.REAL_NAME or cls.NAME

    def save(self, ip: IpSpec) -> str:
        return ""

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        return ""

    def key(self, ip: IpSpec) -> tuple[str, str]:
        """What -D/-C compare (the kernel blob, here its saved form)."""
        return self.alias(), self.save(ip)

    # -- the kernel's checkentry -----------------------------------------------------

    def check_entry(self, table: str, hookmask: int, ip: IpSpec) -> int:
        """0, or the errno the kernel refuses this use with."""
        if self.TABLE is not None and table != self.TABLE:
            return errno.EINVAL
        if hookmask & ~self.HOOKS:
            return errno.EINVAL
        return 0


class Match(Ext):
    """A match: ``evaluate`` answers whether the packet matches."""

    __slots__ = ()

    def evaluate(self, pkt: PktView, ip: IpSpec) -> bool:
        return True

    def renewed(self) -> Match:
        """This match in a rule the kernel makes anew: only matches with
        per-rule state (limit) need a fresh copy."""
        return self


class Target(Ext):
    """A target: ``target`` returns a verdict or XT_CONTINUE."""

    __slots__ = ()

    def target(self, pkt: PktView) -> int:
        return XT_CONTINUE
