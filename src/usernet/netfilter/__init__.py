"""Netfilter per namespace: iptables' tables, chains and rules.

* :mod:`.tables` -- the per-namespace state (pernet storage), transactions,
  the kernel's checks and :func:`ipt_do_table`, the rule walk for the data
  path;
* :mod:`.packet` -- :class:`PktView`, what rules see of a packet, and the
  verdict and hook constants;
* :mod:`.matches`, :mod:`.targets` -- the extensions;
* :mod:`.cmdline`, :mod:`.commands`, :mod:`.listing`, :mod:`.frontend` --
  iptables v1.8.9 (nf_tables): parsing, commands, outputs and errors.
"""

from .packet import PktView
from .tables import (
    HOOK_TABLES,
    NetfilterNet,
    ipt_do_table,
    netfilter_net_ops,
    netfilter_register,
    nf_hook,
    nf_net,
)

__all__ = ["HOOK_TABLES", "NetfilterNet", "PktView", "ipt_do_table", "netfilter_net_ops",
           "netfilter_register", "nf_hook", "nf_net"]
