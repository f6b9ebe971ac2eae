"""iproute2 ``nstat``: the namespace's SNMP counters, as ``/proc/net/snmp``
and ``/proc/net/netstat`` name them.

``nstat -az`` lists every counter usernet keeps (Ip, Icmp, Tcp, Udp, then
TcpExt and IpExt, in the kernel's order; counters usernet does not model
are left out rather than shown as zeros).  Without ``-a`` it shows what
changed since the last run in this namespace and remembers the current
values (``-s``: don't; ``-n``: only remember; ``-r``: forget), as nstat's
history file does.  ``-j`` prints JSON (``-p`` pretty); patterns are
shell globs.  The rate column is always 0.0: there is no sampling daemon.
"""

from __future__ import annotations

import fnmatch
import json
import weakref
from typing import TYPE_CHECKING

from ..ipv4.datapath_state import ipv4_dp
from . import Proc, ToolExit

if TYPE_CHECKING:
    from ..net import Net

USAGE = """\
Usage: nstat [OPTION] [ PATTERN [ PATTERN ] ]
   -h, --help          this message
   -a, --ignore        ignore history
   -d, --scan=SECS     sample every statistics every SECS
   -j, --json          format output in JSON
   -n, --nooutput      do history only
   -p, --pretty        pretty print
   -r, --reset         reset history
   -s, --noupdate      don't update history
   -t, --interval=SECS report average over the last SECS
   -V, --version       output version information
   -z, --zeros         show entries with zero activity
"""
_LONG = {"--help": "h", "--ignore": "a", "--json": "j", "--nooutput": "n", "--pretty": "p",
         "--reset": "r", "--noupdate": "s", "--version": "V", "--zeros": "z",
         "--scan": "d", "--interval": "t"}

IP = ("InReceives", "InHdrErrors", "InAddrErrors", "ForwDatagrams", "InUnknownProtos",
      "InDiscards", "InDelivers", "OutRequests", "OutDiscards", "OutNoRoutes", "ReasmTimeout",
      "ReasmReqds", "ReasmOKs", "ReasmFails", "FragOKs", "FragFails", "FragCreates",
      "OutTransmits")
ICMP = ("InMsgs", "InErrors", "InCsumErrors", "InDestUnreachs", "InTimeExcds", "InParmProbs",
        "InSrcQuenchs", "InRedirects", "InEchos", "InEchoReps", "InTimestamps",
        "InTimestampReps", "InAddrMasks", "InAddrMaskReps", "OutMsgs", "OutErrors",
        "OutRateLimitGlobal", "OutRateLimitHost", "OutDestUnreachs", "OutTimeExcds",
        "OutParmProbs", "OutSrcQuenchs", "OutRedirects", "OutEchos", "OutEchoReps",
        "OutTimestamps", "OutTimestampReps", "OutAddrMasks", "OutAddrMaskReps")
TCP = ("ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets", "InSegs", "OutSegs",
       "RetransSegs", "InErrs", "OutRsts", "InCsumErrors")
UDP = ("InDatagrams", "NoPorts", "InErrors", "OutDatagrams", "RcvbufErrors", "SndbufErrors",
       "InCsumErrors", "IgnoredMulti", "MemErrors")
IPEXT = ("InNoRoutes", "InTruncatedPkts", "InMcastPkts", "OutMcastPkts", "InBcastPkts",
         "OutBcastPkts", "InOctets", "OutOctets", "InMcastOctets", "OutMcastOctets",
         "InBcastOctets", "OutBcastOctets", "InCsumErrors", "InNoECTPkts", "InECT1Pkts",
         "InECT0Pkts", "InCEPkts", "ReasmOverlaps")

_history: weakref.WeakKeyDictionary[Net, dict[str, int]] = weakref.WeakKeyDictionary()


def _tcp_mib(net: Net) -> tuple[tuple[str, ...], dict[str, int]]:
    """TCP's counters (kept by the TCP code per namespace), if TCP is built."""
    try:
        from ..transport.tcp_table import TCP_MIB_NAMES, tcp_net_peek
    except ImportError:
        return (), {}
    tn = tcp_net_peek(net)
    return TCP_MIB_NAMES, (tn.mib if tn is not None else {})


def snmp_counters(net: Net) -> list[tuple[str, int]]:
    """(nstat name, value) of every counter the namespace keeps, in order."""
    mib = ipv4_dp(net).mib
    tcp_names, tcp = _tcp_mib(net)
    out = [("Ip" + n, mib[n]) for n in IP if n in mib]
    out += [("Icmp" + n, mib["Icmp" + n]) for n in ICMP if "Icmp" + n in mib]
    out += [(k, v) for k, v in mib.items() if k.startswith("IcmpMsg") and v]
    out += [("Tcp" + n, tcp.get(n, 0)) for n in TCP if n in tcp_names]
    out += [("Udp" + n, mib["Udp" + n]) for n in UDP if "Udp" + n in mib]
    out += [("TcpExt" + n, tcp.get(n, 0)) for n in tcp_names if n not in TCP]
    out += [("IpExt" + n, mib[n]) for n in IPEXT if n in mib]
    return out


def _parse(argv: list[str]) -> tuple[set[str], list[str]]:
    flags: set[str] = set()
    patterns: list[str] = []
    for arg in argv:
        if arg.startswith("--"):
            flag = _LONG.get(arg.split("=", 1)[0])
            if flag is None:
                raise ToolExit(255, f"nstat: unrecognized option '{arg}'\n{USAGE}")
            flags.add(flag)
        elif arg.startswith("-") and len(arg) > 1:
            for ch in arg[1:]:
                if ch not in "hajnprsVzdt":
                    raise ToolExit(255, f"nstat: invalid option -- '{ch}'\n{USAGE}")
                flags.add(ch)
        else:
            patterns.append(arg)
    if flags & {"d", "t"}:
        raise ToolExit(255, "nstat: -d and -t need a sampling daemon; usernet has none")
    return flags, patterns


def main(proc: Proc, argv: list[str]) -> int:
    flags, patterns = _parse(argv)
    if "h" in flags:
        raise ToolExit(255, USAGE)
    if "V" in flags:
        proc.out("nstat utility, iproute2-6.1.0\n")
        return 0
    now = snmp_counters(proc.net)
    if "r" in flags:
        _history.pop(proc.net, None)
    old = {} if "a" in flags else _history.get(proc.net, {})
    if "s" not in flags:
        _history[proc.net] = dict(now)
    if "n" in flags:
        return 0
    rows = [(name, value - old.get(name, 0)) for name, value in now
            if not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)]
    rows = [(n, v) for n, v in rows if v or "z" in flags]
    if "j" in flags:
        doc = {"kernel": dict(rows)}
        proc.out(json.dumps(doc, indent=4) if "p" in flags else
                 json.dumps(doc, separators=(",", ":")))
        proc.out("\n")
        return 0
    proc.out("#kernel\n" + "".join(f"{n:<32}{v:<16}{0.0:6.1f}\n" for n, v in rows))
    return 0
