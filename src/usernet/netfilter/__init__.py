"""Netfilter per namespace: iptables' tables, chains and rules.

* :mod:`.tables` -- the per-namespace state (pernet storage), transactions,
  the kernel's checks and :func:`ipt_do_table`, the rule walk for the data
  path;
* :mod:`.packet` -- :class:`PktView`, what rules see of a packet, and the
  verdict and hook constants;
* :mod:`.matches`, :mod:`.targets` -- the extensions;
* :mod:`.conntrack`, :mod:`.conntrack_proto`, :mod:`.nat` -- connection
  tracking and NAT; :mod:`.hooks` -- the five IPv4 hooks;
* :mod:`.cmdline`, :mod:`.commands`, :mod:`.listing`, :mod:`.frontend` --
  iptables v1.8.9 (nf_tables): parsing, commands, outputs and errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import tables
from .conntrack import conntrack_register
from .nat import masq_register
from .packet import PktView
from .tables import (
    HOOK_TABLES,
    NetfilterNet,
    ipt_do_table,
    netfilter_net_ops,
    nf_hook,
    nf_net,
)

if TYPE_CHECKING:
    from ..kernel import Kernel


def netfilter_register(kernel: Kernel) -> None:
    """The tables, conntrack and the MASQUERADE device notifiers."""
    tables.netfilter_register(kernel)
    conntrack_register(kernel)
    masq_register(kernel)


__all__ = ["HOOK_TABLES", "NetfilterNet", "PktView", "ipt_do_table", "netfilter_net_ops",
           "netfilter_register", "nf_hook", "nf_net"]
