"""``iptables``, ``iptables-save`` and ``iptables-restore`` (iptables v1.8.9,
nf_tables variant) on the caller's namespace.

The programs live in :mod:`usernet.netfilter.frontend`; this module gives them
the namespace and the two output streams.  ``iptables-restore`` reads the
file named on its command line; :func:`restore_text` feeds it text as
standard input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..netfilter import frontend
from ..netfilter.tables import nf_net
from . import Proc, Result

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..net import Net


def _emit(proc: Proc, o: frontend.Output) -> None:
    for text in o.out:
        proc.out(text)
    for text in o.err:
        proc.err(text)


def main(proc: Proc, argv: list[str]) -> int:
    o = frontend.Output()
    rc = frontend.iptables(nf_net(proc.net), argv, o, proc.argv0)
    _emit(proc, o)
    return rc


def save_main(proc: Proc, argv: list[str]) -> int:
    o = frontend.Output()
    rc = frontend.iptables_save(nf_net(proc.net), argv, o, proc.argv0)
    _emit(proc, o)
    return rc


def restore_main(proc: Proc, argv: list[str]) -> int:
    o = frontend.Output()
    rc = frontend.iptables_restore(nf_net(proc.net), argv, None, o, proc.argv0)
    _emit(proc, o)
    return rc


def restore_text(kernel: Kernel, net: Net, text: str, argv: list[str] | None = None) -> Result:
    """Run ``iptables-restore ARGV`` in ``net`` with ``text`` as standard input."""
    proc = Proc(kernel, net, "iptables-restore")
    o = frontend.Output()
    with kernel.rtnl():
        rc = frontend.iptables_restore(nf_net(net), argv or [], text, o)
    _emit(proc, o)
    return proc.result(rc)
