"""``ip``: iproute2's front end over the kernel API (ip/ip.c)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ...errors import KernelError
from .. import Proc, ToolExit
from .utils import IpOpts, matches, resolve_netns

Handler = Callable[[Proc, IpOpts, list[str]], int]

USAGE = """Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }
       ip [ -force ] -batch filename
where  OBJECT := { address | addrlabel | amt | fou | help | ila | ioam | l2tp |
                   link | macsec | maddress | monitor | mptcp | mroute | mrule |
                   neighbor | neighbour | netconf | netns | nexthop | ntable |
                   ntbl | route | rule | sr | tap | tcpmetrics |
                   token | tunnel | tuntap | vrf | xfrm }
       OPTIONS := { -V[ersion] | -s[tatistics] | -d[etails] | -r[esolve] |
                    -h[uman-readable] | -iec | -j[son] | -p[retty] |
                    -f[amily] { inet | inet6 | mpls | bridge | link } |
                    -4 | -6 | -M | -B | -0 |
                    -l[oops] { maximum-addr-flush-attempts } | -br[ief] |
                    -o[neline] | -t[imestamp] | -ts[hort] | -b[atch] [filename] |
                    -rc[vbuf] [size] | -n[etns] name | -N[umeric] | -a[ll] |
                    -c[olor]}
"""


def _objects() -> list[tuple[str, Handler | None]]:
    from . import ipaddress, iplink, ipneigh, ipnetns, iproute, iprule

    # ip.c's table order decides abbreviations: "a" is address, "n" neighbor.
    return [
        ("address", ipaddress.do_ipaddr),
        ("addrlabel", None),
        ("maddress", None),
        ("route", iproute.do_iproute),
        ("rule", iprule.do_iprule),
        ("neighbor", ipneigh.do_ipneigh),
        ("neighbour", ipneigh.do_ipneigh),
        ("ntable", None),
        ("ntbl", None),
        ("link", iplink.do_iplink),
        ("l2tp", None),
        ("fou", None),
        ("ila", None),
        ("macsec", None),
        ("tunnel", None),
        ("tuntap", None),
        ("tap", None),
        ("token", None),
        ("tcpmetrics", None),
        ("tcp_metrics", None),
        ("monitor", None),
        ("xfrm", None),
        ("mroute", None),
        ("mrule", None),
        ("netns", ipnetns.do_netns),
        ("netconf", None),
        ("vrf", None),
        ("sr", None),
        ("nexthop", None),
        ("mptcp", None),
        ("ioam", None),
        ("stats", None),
        ("help", None),
    ]


def _parse_options(argv: list[str]) -> tuple[IpOpts, str | None, list[str]]:
    opts = IpOpts()
    netns: str | None = None
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        opt = argv[i]
        if opt.startswith("--"):
            opt = opt[1:]
        i += 1
        if opt == "-4":
            opts.family = "inet"
        elif opt == "-6":
            opts.family = "inet6"
        elif opt == "-0":
            opts.family = "link"
        elif matches(opt, "-family"):
            if i >= len(argv):
                raise ToolExit(255, 'Command line is not complete. Try option "help"')
            opts.family = argv[i]
            i += 1
        elif matches(opt, "-stats") or matches(opt, "-statistics"):
            opts.stats += 1
        elif matches(opt, "-details"):
            opts.details += 1
        elif matches(opt, "-resolve"):
            opts.resolve = True
        elif matches(opt, "-oneline"):
            opts.oneline = True
        elif matches(opt, "-timestamp") or matches(opt, "-tshort"):
            pass
        elif matches(opt, "-Version"):
            opts.extra["version"] = "1"
        elif matches(opt, "-batch") or matches(opt, "-force"):
            raise ToolExit(255, f'Option "{opt}" is not supported by usernet\'s ip.')
        elif matches(opt, "-color"):
            pass
        elif matches(opt, "-help"):
            raise ToolExit(255, USAGE)
        elif matches(opt, "-netns"):
            if i >= len(argv):
                raise ToolExit(255, 'Cannot open network namespace "(null)": '
                                    "No such file or directory")
            netns = argv[i]
            i += 1
        elif matches(opt, "-Numeric"):
            opts.numeric = True
        elif matches(opt, "-all"):
            opts.all = True
        elif matches(opt, "-json"):
            opts.json = True
        elif matches(opt, "-pretty"):
            opts.pretty = True
        elif matches(opt, "-brief"):
            opts.brief = True
        elif matches(opt, "-human") or matches(opt, "-human-readable") or opt == "-iec":
            pass
        else:
            raise ToolExit(255, f'Option "{opt}" is unknown, try "ip -help".')
    return opts, netns, argv[i:]


def main(proc: Proc, argv: list[str]) -> int:
    opts, netns, rest = _parse_options(argv)
    if opts.extra.get("version"):
        proc.out("ip utility, iproute2-6.1.0, libbpf 1.1.2 (usernet)\n")
        return 0
    if netns is not None:
        proc.net = resolve_netns(proc, netns)
    if not rest:
        raise ToolExit(255, USAGE)
    word = rest[0]
    for name, handler in _objects():
        if matches(word, name):
            if handler is None:
                raise ToolExit(1, f'Object "{word}" is not supported by usernet, '
                                  'try "ip help".')
            return handler(proc, opts, rest[1:])
    raise ToolExit(1, f'Object "{word}" is unknown, try "ip help".')


def print_json(proc: Proc, opts: IpOpts, data: Any) -> None:
    if opts.pretty:
        proc.out(json.dumps(data, indent=4) + "\n")
    else:
        proc.out(json.dumps(data, separators=(",", ":")) + "\n")


__all__ = ["KernelError", "main", "print_json"]
