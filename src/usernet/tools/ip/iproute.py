"""``ip route``: iproute2's ip/iproute.c over the FIB kernel API.

Parsing follows iproute_modify()/iproute_list_flush_or_save()/iproute_get()
keyword by keyword (their order decides abbreviations); filtering of dumps
is iproute2's own filter_nlmsg(); printing is print_route().
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ...errors import KernelError
from ...ipv4 import fib_frontend as ff
from ...ipv4.fib import (
    RT_SCOPE_HOST,
    RT_SCOPE_LINK,
    RT_SCOPE_NOWHERE,
    RT_SCOPE_UNIVERSE,
    RT_TABLE_LOCAL,
    RT_TABLE_MAIN,
    RTAX_ADVMSS,
    RTAX_CC_ALGO,
    RTAX_CWND,
    RTAX_FASTOPEN_NO_COOKIE,
    RTAX_FEATURE_ECN,
    RTAX_FEATURES,
    RTAX_HOPLIMIT,
    RTAX_INITCWND,
    RTAX_INITRWND,
    RTAX_LOCK,
    RTAX_MTU,
    RTAX_QUICKACK,
    RTAX_REORDERING,
    RTAX_RTO_MIN,
    RTAX_RTT,
    RTAX_RTTVAR,
    RTAX_SSTHRESH,
    RTAX_WINDOW,
    RTM_F_CLONED,
    RTN_ANYCAST,
    RTN_BROADCAST,
    RTN_LOCAL,
    RTN_MULTICAST,
    RTN_NAT,
    RTN_UNICAST,
    RTNH_F_ONLINK,
    RTPROT_BOOT,
    FibRoute,
    Metrics,
)
from ...ipv4.fnhe import fnhe_flush
from ...ipv4.inet import mask, ntoa
from ...ipv4.route import OutputRoute, fib_match, route_get
from .. import Proc, ToolExit
from .utils import (
    Args,
    InetPrefix,
    IpOpts,
    c_get_unsigned,
    c_strtoul,
    invarg,
    lookup_dev,
    matches,
    next_value,
    require_addr,
    require_prefix,
    rtnl_error,
)

USAGE = """Usage: ip route { list | flush } SELECTOR
       ip route save SELECTOR
       ip route restore
       ip route showdump
       ip route get [ ROUTE_GET_FLAGS ] ADDRESS
                            [ from ADDRESS iif STRING ]
                            [ oif STRING ] [ tos TOS ]
                            [ mark NUMBER ] [ vrf NAME ]
                            [ uid NUMBER ] [ ipproto PROTOCOL ]
                            [ sport NUMBER ] [ dport NUMBER ]
       ip route { add | del | change | append | replace } ROUTE
SELECTOR := [ root PREFIX ] [ match PREFIX ] [ exact PREFIX ]
            [ table TABLE_ID ] [ vrf NAME ] [ proto RTPROTO ]
            [ type TYPE ] [ scope SCOPE ]
ROUTE := NODE_SPEC [ INFO_SPEC ]
NODE_SPEC := [ TYPE ] PREFIX [ tos TOS ]
             [ table TABLE_ID ] [ proto RTPROTO ]
             [ scope SCOPE ] [ metric METRIC ]
             [ ttl-propagate { enabled | disabled } ]
INFO_SPEC := { NH | nhid ID } OPTIONS FLAGS [ nexthop NH ]...
NH := [ encap ENCAPTYPE ENCAPHDR ] [ via [ FAMILY ] ADDRESS ]
      [ dev STRING ] [ weight NUMBER ] NHFLAGS
FAMILY := [ inet | inet6 | mpls | bridge | link ]
OPTIONS := FLAGS [ mtu NUMBER ] [ advmss NUMBER ] [ as [ to ] ADDRESS ]
           [ rtt TIME ] [ rttvar TIME ] [ reordering NUMBER ]
           [ window NUMBER ] [ cwnd NUMBER ] [ initcwnd NUMBER ]
           [ ssthresh NUMBER ] [ realms REALM ] [ src ADDRESS ]
           [ rto_min TIME ] [ hoplimit NUMBER ] [ initrwnd NUMBER ]
           [ features FEATURES ] [ quickack BOOL ] [ congctl NAME ]
           [ pref PREF ] [ expires TIME ] [ fastopen_no_cookie BOOL ]
TYPE := { unicast | local | broadcast | multicast | throw |
          unreachable | prohibit | blackhole | nat }
TABLE_ID := [ local | main | default | all | NUMBER ]
SCOPE := [ host | link | global | NUMBER ]
NHFLAGS := [ onlink | pervasive ]
RTPROTO := [ kernel | boot | static | NUMBER ]
PREF := [ low | medium | high ]
TIME := NUMBER[s|ms]
BOOL := [1|0]
FEATURES := ecn
ENCAPTYPE := [ mpls | ip | ip6 | seg6 | seg6local | rpl | ioam6 | xfrm ]
ENCAPHDR := [ MPLSLABEL | SEG6HDR | SEG6LOCAL | IOAM6HDR | XFRMINFO ]
SEG6HDR := [ mode SEGMODE ] segs ADDR1,ADDRi,ADDRn [hmac HMACKEYID] [cleanup]
SEGMODE := [ encap | encap.red | inline | l2encap | l2encap.red ]
SEG6LOCAL := action ACTION [ OPTIONS ] [ count ]
ACTION := { End | End.X | End.T | End.DX2 | End.DX6 | End.DX4 |
            End.DT6 | End.DT4 | End.DT46 | End.B6 | End.B6.Encaps |
            End.BM | End.S | End.AS | End.AM | End.BPF }
OPTIONS := OPTION [ OPTIONS ]
OPTION := { flavors FLAVORS | srh SEG6HDR | nh4 ADDR | nh6 ADDR | iif DEV | oif DEV |
            table TABLEID | vrftable TABLEID | endpoint PROGNAME }
FLAVORS := { FLAVOR[,FLAVOR] }
FLAVOR := { psp | usp | usd | next-csid }
IOAM6HDR := trace prealloc type IOAM6_TRACE_TYPE ns IOAM6_NAMESPACE size IOAM6_TRACE_SIZE
XFRMINFO := if_id IF_ID [ link_dev LINK ]
ROUTE_GET_FLAGS := [ fibmatch ]
"""

# -- name tables (lib/rt_names.c, /etc/iproute2/rt_* of the recording host) -------

RT_PROTOS = {
    0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 8: "gated", 9: "ra",
    10: "mrt", 11: "zebra", 12: "bird", 13: "dnrouted", 14: "xorp", 15: "ntk", 16: "dhcp",
    18: "keepalived", 42: "babel", 99: "openr", 186: "bgp", 187: "isis", 188: "ospf",
    189: "rip", 192: "eigrp",
}
RT_SCOPES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
RT_TABLES = {255: "local", 254: "main", 253: "default", 0: "unspec"}
RT_DSFIELD = {
    0x00: "default", 0x28: "AF11", 0x30: "AF12", 0x38: "AF13", 0x48: "AF21", 0x50: "AF22",
    0x58: "AF23", 0x68: "AF31", 0x70: "AF32", 0x78: "AF33", 0x88: "AF41", 0x90: "AF42",
    0x98: "AF43", 0x20: "CS1", 0x40: "CS2", 0x60: "CS3", 0x80: "CS4", 0xA0: "CS5",
    0xC0: "CS6", 0xE0: "CS7", 0xB8: "EF",
}
RTN_TYPES = {
    0: "none", 1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast",
    6: "blackhole", 7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat", 11: "xresolve",
}


def _a2n(table: dict[int, str], arg: str, limit: int, base: int = 0) -> int | None:
    for num, name in table.items():
        if name == arg:
            return num
    res = c_strtoul(arg, base)
    if res is None or res[1] or res[0] > limit:
        return None
    return res[0]


def proto_a2n(arg: str) -> int | None:
    return _a2n(RT_PROTOS, arg, 255)


def proto_n2a(num: int, numeric: bool = False) -> str:
    return str(num) if numeric else RT_PROTOS.get(num, str(num))


def scope_a2n(arg: str) -> int | None:
    return _a2n(RT_SCOPES, arg, 255)


def scope_n2a(num: int, numeric: bool = False) -> str:
    return str(num) if numeric else RT_SCOPES.get(num, str(num))


def table_a2n(arg: str) -> int | None:
    return _a2n(RT_TABLES, arg, 0xFFFFFFFF)


def table_n2a(num: int, numeric: bool = False) -> str:
    if numeric:
        return str(num)
    return RT_TABLES.get(num, str(num))


def dsfield_a2n(arg: str) -> int | None:
    return _a2n(RT_DSFIELD, arg, 255, base=16)


def dsfield_n2a(num: int, numeric: bool = False) -> str:
    name = None if numeric else RT_DSFIELD.get(num)
    return name if name is not None else f"0x{num:02x}"


def rtntype_a2n(arg: str) -> int | None:
    """rtnl_rtntype_a2n(): some names match abbreviated, in this order."""
    exact = {"local": 2, "nat": 10, "brd": 3, "throw": 9}
    if arg in exact:
        return exact[arg]
    for name, num in (("broadcast", 3), ("anycast", 4), ("multicast", 5), ("prohibit", 8),
                      ("unreachable", 7), ("blackhole", 6), ("xresolve", 11),
                      ("unicast", 1)):
        if matches(arg, name):
            return num
    res = c_strtoul(arg, 0)
    if res is None or res[1] or res[0] > 255:
        return None
    return res[0]


def rtntype_n2a(num: int, numeric: bool = False) -> str:
    return str(num) if numeric else RTN_TYPES.get(num, str(num))


def _usage() -> ToolExit:
    raise ToolExit(255, USAGE)


def do_iproute(proc: Proc, opts: IpOpts, argv: list[str]) -> int:
    if not argv:
        return _list_or_flush(proc, opts, Args([]), flush=False)
    cmd, args = argv[0], Args(argv[1:])
    modify = (
        ("add", ff.NLM_F_CREATE | ff.NLM_F_EXCL), ("change", ff.NLM_F_REPLACE),
        ("replace", ff.NLM_F_CREATE | ff.NLM_F_REPLACE), ("prepend", ff.NLM_F_CREATE),
        ("append", ff.NLM_F_CREATE | ff.NLM_F_APPEND), ("test", ff.NLM_F_EXCL),
    )
    for name, nlflags in modify:
        if matches(cmd, name) or (name == "change" and cmd == "chg"):
            return _modify(proc, opts, args, nlflags, delete=False)
    if matches(cmd, "delete"):
        return _modify(proc, opts, args, 0, delete=True)
    if matches(cmd, "list") or matches(cmd, "show") or matches(cmd, "lst"):
        return _list_or_flush(proc, opts, args, flush=False)
    if matches(cmd, "get"):
        return _get(proc, opts, args)
    if matches(cmd, "flush"):
        return _list_or_flush(proc, opts, args, flush=True)
    if matches(cmd, "save") or matches(cmd, "restore") or matches(cmd, "showdump"):
        raise ToolExit(255, f'"ip route {cmd}" is not supported by usernet.')
    if matches(cmd, "help"):
        _usage()
    raise ToolExit(255, f'Command "{cmd}" is unknown, try "ip route help".')


# -- add / change / replace / append / prepend / delete -----------------------------


@dataclass
class _Req:
    """The RTM_NEWROUTE/RTM_DELROUTE message being built."""

    family: str
    cfg: ff.RouteConfig
    delete: bool
    dev: str | None = None
    gw_ok: bool = False
    dst_ok: bool = False
    nhs_ok: bool = False
    scope_ok: bool = False
    table_ok: bool = False
    type_ok: bool = False
    mx: Metrics = field(default_factory=dict)
    mxlock: int = 0


# keyword -> (RTAX, error name, may be "lock", how to parse)
_METRIC_WORDS: list[tuple[str, bool, int, str]] = [
    # (keyword, exact match?, RTAX, error word)
    ("mtu", True, RTAX_MTU, "mtu"),
    ("hoplimit", True, RTAX_HOPLIMIT, "hoplimit"),
    ("advmss", True, RTAX_ADVMSS, "mss"),
    ("reordering", False, RTAX_REORDERING, "reordering"),
    ("rtt", True, RTAX_RTT, "rtt"),
    ("rto_min", True, RTAX_RTO_MIN, "rto_min"),
    ("window", False, RTAX_WINDOW, "window"),
    ("cwnd", False, RTAX_CWND, "cwnd"),
    ("initcwnd", False, RTAX_INITCWND, "initcwnd"),
    ("initrwnd", False, RTAX_INITRWND, "initrwnd"),
    ("features", False, RTAX_FEATURES, "features"),
    ("quickack", False, RTAX_QUICKACK, "quickack"),
    ("congctl", False, RTAX_CC_ALGO, "congctl"),
    ("rttvar", False, RTAX_RTTVAR, "rttvar"),
    ("ssthresh", False, RTAX_SSTHRESH, "ssthresh"),
]


def _modify(proc: Proc, opts: IpOpts, args: Args, nlflags: int, delete: bool) -> int:
    cfg = ff.RouteConfig(table=RT_TABLE_MAIN, nlflags=nlflags)
    if delete:
        cfg.protocol, cfg.scope, cfg.type = 0, RT_SCOPE_NOWHERE, 0
    else:
        cfg.protocol, cfg.scope, cfg.type = RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST
    req = _Req(opts.family, cfg, delete)
    while args:
        word = args.pop()
        if word == "nexthop":
            req.nhs_ok = True
            args.i -= 1
            break
        _modify_word(proc, req, word, args)
    if not req.dst_ok:
        _usage()
    nh = ff.NexthopConfig(gw=cfg.nhs[0].gw if cfg.nhs else 0,
                          onlink=bool(cfg.flags & RTNH_F_ONLINK))
    if req.dev is not None:
        nh.dev = lookup_dev(proc, req.dev)
    if req.mx or req.mxlock:
        if req.mxlock:
            req.mx[RTAX_LOCK] = req.mxlock
        cfg.metrics = req.mx
    if req.nhs_ok:
        cfg.nhs = _parse_nexthops(proc, req, args)
        cfg.multipath = True
    elif nh.dev is not None or nh.gw or req.gw_ok:
        cfg.nhs = [nh]
    _defaults(req)
    try:
        if delete:
            ff.inet_rtm_delroute(proc.net, cfg)
        else:
            ff.inet_rtm_newroute(proc.net, cfg)
    except KernelError as exc:
        rtnl_error(exc)
    return 0


def _defaults(req: _Req) -> None:
    """iproute2's table and scope defaults for the route type."""
    cfg = req.cfg
    if not req.table_ok and cfg.type in (RTN_LOCAL, RTN_BROADCAST, RTN_NAT, RTN_ANYCAST):
        cfg.table = RT_TABLE_LOCAL
    if req.scope_ok:
        return
    if cfg.type in (RTN_LOCAL, RTN_NAT):
        cfg.scope = RT_SCOPE_HOST
    elif cfg.type in (RTN_BROADCAST, RTN_MULTICAST, RTN_ANYCAST):
        cfg.scope = RT_SCOPE_LINK
    elif cfg.type in (RTN_UNICAST, 0):
        if req.delete:
            cfg.scope = RT_SCOPE_NOWHERE
        elif not req.gw_ok and not req.nhs_ok:
            cfg.scope = RT_SCOPE_LINK


def _set_gw(req: _Req, gw: int) -> None:
    cfg = req.cfg
    if cfg.nhs:
        cfg.nhs[0].gw = gw
    else:
        cfg.nhs = [ff.NexthopConfig(gw=gw)]


def _modify_word(proc: Proc, req: _Req, word: str, args: Args) -> None:
    """One keyword of iproute_modify(), in iproute2's order."""
    cfg = req.cfg
    if word == "src":
        cfg.prefsrc = _addr(req, args.next_arg())
    elif word == "as":
        value = args.next_arg()
        if value == "to":
            value = args.next_arg()
        _addr(req, value)
        raise ToolExit(2, "RTNETLINK answers: Operation not supported")
    elif word == "via":
        if req.gw_ok:
            invarg("use nexthop syntax to specify multiple via\n", word)
        req.gw_ok = True
        value = args.next_arg()
        if value == "inet":
            value = args.next_arg()
        _set_gw(req, _addr(req, value))
    elif word == "from":
        pfx = require_prefix(args.next_arg(), req.family)
        req.family = "inet"
        if pfx.bitlen:
            raise ToolExit(2, "RTNETLINK answers: Operation not supported")
    elif word == "tos" or matches(word, "dsfield"):
        tos = next_value(args, '"tos" value is invalid\n', dsfield_a2n)
        cfg.tos = tos
    elif word == "expires":
        value = args.next_arg()
        if c_get_unsigned(value) is None:
            invarg('"expires" value is invalid\n', value)
    elif matches(word, "metric") or matches(word, "priority") or word == "preference":
        metric = next_value(args, '"metric" value is invalid\n', c_get_unsigned)
        cfg.priority = metric
    elif word == "scope":
        scope = next_value(args, 'invalid "scope" value\n', scope_a2n)
        cfg.scope = scope
        req.scope_ok = True
    elif not _metric_word(req, word, args):
        _modify_word2(proc, req, word, args)


def _modify_word2(proc: Proc, req: _Req, word: str, args: Args) -> None:
    cfg = req.cfg
    if matches(word, "realms"):
        value = args.next_arg()
        if _realms(value) is None:
            invarg('"realm" value is invalid\n', value)
    elif word == "onlink":
        cfg.flags |= RTNH_F_ONLINK
    elif word == "nhid":
        value = args.next_arg()
        if c_get_unsigned(value) is None:
            invarg('"id" value is invalid\n', value)
        raise ToolExit(2, "Error: Nexthop id does not exist.")
    elif matches(word, "protocol"):
        proto = next_value(args, '"protocol" value is invalid\n', proto_a2n)
        cfg.protocol = proto
    elif matches(word, "table"):
        tid = next_value(args, '"table" value is invalid\n', table_a2n)
        cfg.table = tid or RT_TABLE_MAIN  # the kernel reads table 0 as main
        req.table_ok = True
    elif matches(word, "vrf"):
        invarg("Invalid VRF\n", args.next_arg())
    elif word in ("dev", "oif"):
        req.dev = args.next_arg()
    elif matches(word, "pref"):
        value = args.next_arg()
        if value not in ("low", "medium", "high") and c_get_unsigned(value, 0, 8) is None:
            invarg('"pref" value is invalid\n', value)
    elif word == "ttl-propagate":
        value = args.next_arg()
        if not (matches(value, "enabled") or matches(value, "disabled")):
            invarg('"ttl-propagate" value is invalid\n', value)
    elif matches(word, "fastopen_no_cookie"):
        _bool_metric(req, args.next_arg(), RTAX_FASTOPEN_NO_COOKIE, "fastopen_no_cookie")
    else:
        _dst_word(req, word, args)


def _dst_word(req: _Req, word: str, args: Args) -> None:
    """The catch-all: [to] [TYPE] PREFIX."""
    cfg = req.cfg
    if word == "to":
        word = args.next_arg()
    if not word[:1].isdigit():
        rtype = rtntype_a2n(word)
        if rtype is not None:
            word = args.next_arg()
            cfg.type = rtype
            req.type_ok = True
    if matches(word, "help"):
        _usage()
    if req.dst_ok:
        raise ToolExit(255, f'Error: either "to" is duplicate, or "{word}" is a garbage.')
    pfx = require_prefix(word, req.family)
    req.family = "inet"
    cfg.dst, cfg.plen = pfx.addr, pfx.bitlen
    req.dst_ok = True


def _addr(req: _Req, text: str) -> int:
    addr = require_addr(text, req.family)
    req.family = "inet"
    return addr


def _realms(text: str) -> int | None:
    parts = text.split("/")
    if len(parts) > 2 or not all(parts[-1:]):
        return None
    out = 0
    for part in parts:
        value = c_get_unsigned(part) if part else 0
        if value is None or value > 0xFFFF:
            return None
        out = (out << 16) | value
    return out


def _metric_word(req: _Req, word: str, args: Args) -> bool:
    """mtu/advmss/window/... [lock] VALUE; False when ``word`` is none of them."""
    hit = next((w for w in _METRIC_WORDS if (word == w[0] if w[1] else matches(word, w[0]))),
               None)
    if hit is None:
        return False
    _, _, rtax, name = hit
    value = args.next_arg()
    if rtax == RTAX_FEATURES:
        if value != "ecn":
            invarg('"features" value not valid\n', value)
        req.mx[rtax] = RTAX_FEATURE_ECN
        return True
    if rtax == RTAX_QUICKACK:
        _bool_metric(req, value, rtax, "quickack")
        return True
    if value == "lock" and rtax != RTAX_RTO_MIN:
        req.mxlock |= 1 << rtax
        value = args.next_arg()
    if rtax == RTAX_RTO_MIN:
        req.mxlock |= 1 << rtax
    if rtax == RTAX_CC_ALGO:
        req.mx[rtax] = value
        return True
    req.mx[rtax] = _metric_value(rtax, name, value)
    return True


def _metric_value(rtax: int, name: str, value: str) -> int:
    if rtax in (RTAX_RTT, RTAX_RTTVAR, RTAX_RTO_MIN):
        parsed = _time_rtt(value)
        if parsed is None:
            invarg(f'"{name}" value is invalid\n', value)
        ms, raw = parsed
        factor = {RTAX_RTT: 8, RTAX_RTTVAR: 4}.get(rtax, 1)
        return ms if raw else ms * factor
    num = c_get_unsigned(value)
    if num is None or (rtax == RTAX_HOPLIMIT and num > 255):
        invarg(f'"{name}" value is invalid\n', value)
    return num


def _bool_metric(req: _Req, value: str, rtax: int, name: str) -> None:
    num = c_get_unsigned(value)
    if num is None:
        invarg(f'"{name}" value is invalid\n', value)
    if num not in (0, 1):
        invarg(f'"{name}" value should be 0 or 1\n', value)
    req.mx[rtax] = num


def _time_rtt(text: str) -> tuple[int, bool] | None:
    """get_time_rtt(): milliseconds and whether the number was raw."""
    import math
    import re

    m = re.fullmatch(r"\s*\+?(\d+(?:\.\d*)?|\.\d+)(.*)", text)
    if m is None:
        res = c_strtoul(text, 0)
        if res is None or res[1]:
            return None
        return res[0], True
    num = float(m.group(1))
    suffix = m.group(2)
    if not suffix:
        return math.ceil(num), True
    if suffix.lower() in ("s", "sec", "secs"):
        return math.ceil(num * 1000), False
    if suffix.lower() in ("ms", "msec", "msecs"):
        return math.ceil(num), False
    return None


def _parse_nexthops(proc: Proc, req: _Req, args: Args) -> list[ff.NexthopConfig]:
    """parse_nexthops(): ``nexthop via A dev D weight W onlink`` ..."""
    out = []
    while args:
        word = args.pop()
        if word != "nexthop":
            raise ToolExit(255, f'Error: "nexthop" or end of line is expected instead of "{word}"')
        if not args:
            raise ToolExit(255, 'Error: unexpected end of line after "nexthop"')
        out.append(_parse_one_nh(proc, req, args))
    return out


def _parse_one_nh(proc: Proc, req: _Req, args: Args) -> ff.NexthopConfig:
    nh = ff.NexthopConfig()
    while args:
        word = args.pop()
        if word == "via":
            value = args.next_arg()
            if value == "inet":
                value = args.next_arg()
            nh.gw = _addr(req, value)
        elif word == "dev":
            nh.dev = lookup_dev(proc, args.next_arg())
        elif word == "weight":
            value = args.next_arg()
            weight = c_get_unsigned(value)
            if weight is None or not 1 <= weight <= 256:
                invarg('"weight" is invalid\n', value)
            nh.weight = weight or 1
        elif word == "onlink":
            nh.onlink = True
        elif matches(word, "realms"):
            value = args.next_arg()
            if _realms(value) is None:
                invarg('"realm" value is invalid\n', value)
        else:
            args.i -= 1
            break
    return nh


# -- show / flush ----------------------------------------------------------------------


@dataclass
class _Filter:
    """iproute2's route filter (the ``filter`` struct of iproute.c)."""

    tb: int = RT_TABLE_MAIN
    cloned: bool = False
    protocol: int = 0
    protocolmask: int = 0
    scope: int = 0
    scopemask: int = 0
    typemask: int = 0
    tos: int = 0
    tosmask: int = 0
    oif: int = 0
    oifmask: int = 0
    iifmask: int = 0
    mark: int = 0
    markmask: int = 0
    metric: int = 0
    metricmask: int = 0
    rdst: tuple[InetPrefix, bool] | None = None  # (prefix, family set)
    mdst: tuple[InetPrefix, bool] | None = None
    rsrc: tuple[InetPrefix, bool] | None = None
    msrc: tuple[InetPrefix, bool] | None = None
    rvia: tuple[InetPrefix, bool] | None = None
    rprefsrc: tuple[InetPrefix, bool] | None = None


def _filter_prefix(text: str, family: str) -> tuple[InetPrefix, bool]:
    """get_prefix() for a filter: the prefix and whether it has a family
    ('default'/'all'/'any' have one only under -4)."""
    pfx = require_prefix(text, family)
    named = text.split("/")[0] in ("default", "all", "any")
    return pfx, (not named) or family == "inet"


def _parse_filter(proc: Proc, opts: IpOpts, args: Args) -> _Filter:
    filt = _Filter()
    while args:
        word = args.pop()
        if not _filter_word(proc, opts, filt, word, args):
            _filter_dst(opts, filt, word, args)
    return filt


def _filter_word(proc: Proc, opts: IpOpts, filt: _Filter, word: str, args: Args) -> bool:
    if matches(word, "table"):
        value = args.next_arg()
        tid = table_a2n(value)
        if tid is not None:
            filt.tb = tid
        elif value == "all":
            filt.tb = 0
        elif value == "cache":
            filt.cloned = True
        elif value == "help":
            _usage()
        else:
            invarg("table id value is invalid\n", value)
    elif matches(word, "vrf"):
        invarg("Invalid VRF\n", args.next_arg())
    elif matches(word, "cached") or matches(word, "cloned"):
        filt.cloned = True
    elif word == "tos" or matches(word, "dsfield"):
        tos = next_value(args, "TOS value is invalid\n", dsfield_a2n)
        filt.tos, filt.tosmask = tos or 0, -1
    elif matches(word, "protocol"):
        value = args.next_arg()
        proto = proto_a2n(value)
        if proto is None and value != "all":
            invarg('invalid "protocol"\n', value)
        filt.protocol, filt.protocolmask = (proto, -1) if proto is not None else (0, 0)
    elif matches(word, "scope"):
        value = args.next_arg()
        scope = scope_a2n(value)
        if scope is None and value != "all":
            invarg('invalid "scope"\n', value)
        filt.scope, filt.scopemask = (scope, -1) if scope is not None else (RT_SCOPE_NOWHERE, 0)
    elif matches(word, "type"):
        rtype = next_value(args, "node type value is invalid\n", rtntype_a2n)
        filt.typemask = 1 << (rtype)
    else:
        return _filter_word2(proc, opts, filt, word, args)
    return True


def _filter_word2(proc: Proc, opts: IpOpts, filt: _Filter, word: str, args: Args) -> bool:
    if word in ("dev", "oif"):
        filt.oif = lookup_dev_deferred(proc, args.next_arg())
        filt.oifmask = -1
    elif word == "iif":
        lookup_dev_deferred(proc, args.next_arg())
        filt.iifmask = -1
    elif word == "mark":
        mark = next_value(args, "invalid mark value", c_get_unsigned)
        filt.mark, filt.markmask = mark or 0, -1
    elif matches(word, "metric") or matches(word, "priority") or word == "preference":
        metric = next_value(args, '"metric" value is invalid\n', c_get_unsigned)
        filt.metric, filt.metricmask = metric or 0, -1
    elif word == "via":
        value = args.next_arg()
        if value == "inet":
            value = args.next_arg()
        filt.rvia = _filter_prefix(value, opts.family)
    elif word == "src":
        filt.rprefsrc = _filter_prefix(args.next_arg(), opts.family)
    elif matches(word, "realms"):
        value = args.next_arg()
        if _realms(value) is None:
            invarg("invalid realms\n", value)
    elif matches(word, "from"):
        value = args.next_arg()
        if matches(value, "root"):
            filt.rsrc = _filter_prefix(args.next_arg(), opts.family)
        elif matches(value, "match"):
            filt.msrc = _filter_prefix(args.next_arg(), opts.family)
        else:
            if matches(value, "exact"):
                value = args.next_arg()
            filt.msrc = filt.rsrc = _filter_prefix(value, opts.family)
    else:
        return False
    return True


def _filter_dst(opts: IpOpts, filt: _Filter, word: str, args: Args) -> None:
    if matches(word, "to"):
        word = args.next_arg()
    if matches(word, "root"):
        filt.rdst = _filter_prefix(args.next_arg(), opts.family)
    elif matches(word, "match"):
        filt.mdst = _filter_prefix(args.next_arg(), opts.family)
    else:
        if matches(word, "exact"):
            word = args.next_arg()
        filt.mdst = filt.rdst = _filter_prefix(word, opts.family)


def lookup_dev_deferred(proc: Proc, name: str) -> int:
    """The ifindex; iproute2 resolves devices after parsing, so a missing one
    is reported with nodev's rc 1 -- identical here as parsing has no side effects."""
    return lookup_dev(proc, name).ifindex


def _root_ok(sel: tuple[InetPrefix, bool] | None, addr: int, plen: int) -> bool:
    """'root P': routes inside P (the first P.bitlen bits agree)."""
    if sel is None:
        return True
    pfx, fam = sel
    if not (fam or pfx.specified):
        return True
    if pfx.bitlen > plen:
        return False
    return not (addr ^ pfx.addr) & mask(pfx.bitlen)


def _match_ok(sel: tuple[InetPrefix, bool] | None, addr: int, plen: int) -> bool:
    """'match P': routes covering P (their own prefix contains it)."""
    if sel is None:
        return True
    pfx, fam = sel
    if not (fam or pfx.specified):
        return True
    if pfx.bitlen < plen:
        return False
    return not (addr ^ pfx.addr) & mask(plen)


def _addr_ok(sel: tuple[InetPrefix, bool] | None, addr: int) -> bool:
    if sel is None or not sel[1]:
        return True
    pfx = sel[0]
    return not (addr ^ pfx.addr) & mask(pfx.bitlen)


def _filter_ok(filt: _Filter, route: FibRoute) -> bool:
    """filter_nlmsg()."""
    if filt.cloned:
        return False  # no route-cache entries are dumped
    if filt.tb and filt.tb != route.table:
        return False
    if (filt.protocol ^ route.protocol) & filt.protocolmask:
        return False
    if (filt.scope ^ route.scope) & filt.scopemask:
        return False
    if filt.typemask and not filt.typemask & (1 << route.type):
        return False
    if (filt.tos ^ route.tos) & filt.tosmask:
        return False
    if not (_root_ok(filt.rdst, route.dst, route.plen) and _match_ok(filt.mdst, route.dst,
                                                                     route.plen)):
        return False
    if not (_root_ok(filt.rsrc, 0, 0) and _match_ok(filt.msrc, 0, 0)):
        return False
    nh = route.nh if len(route.nhs) == 1 else None
    gw = nh.gw if nh is not None and filt.rvia is not None and filt.rvia[0].bitlen > 0 else 0
    if not _addr_ok(filt.rvia, gw) or not _addr_ok(filt.rprefsrc, route.prefsrc):
        return False
    return _filter_ok2(filt, route, nh)


def _filter_ok2(filt: _Filter, route: FibRoute, nh: Any) -> bool:
    if filt.iifmask:
        return False  # FIB routes carry no input device
    oif = nh.dev.ifindex if nh is not None and nh.dev is not None else 0
    if (oif ^ filt.oif) & filt.oifmask:
        return False
    if filt.mark & filt.markmask:
        return False
    return not (filt.metric ^ route.priority) & filt.metricmask


def _list_or_flush(proc: Proc, opts: IpOpts, args: Args, flush: bool) -> int:
    if flush and not args:
        raise ToolExit(1, '"ip route flush" requires arguments.')
    filt = _parse_filter(proc, opts, args)
    if opts.family == "inet6":
        return _print_routes(proc, opts, filt, [])
    if flush:
        return _flush(proc, filt)
    try:
        routes = ff.route_dump(proc.net, 0 if filt.cloned else filt.tb)
    except KernelError as exc:
        if filt.tb != RT_TABLE_MAIN:
            if opts.json:
                proc.out("[")
            rtnl_error_text(proc, exc)
            raise ToolExit(2, "Dump terminated") from None
        routes = []
    return _print_routes(proc, opts, filt, [r for r in routes if _filter_ok(filt, r)])


def rtnl_error_text(proc: Proc, exc: KernelError) -> None:
    """The error line of a failed dump, before iproute2's own message."""
    try:
        rtnl_error(exc)
    except ToolExit as err:
        proc.err(err.message + "\n")


def _flush(proc: Proc, filt: _Filter) -> int:
    if filt.cloned:
        fnhe_flush(proc.net)  # writes net.ipv4.route.flush: exceptions are forgotten
        return 0
    try:
        routes = ff.route_dump(proc.net, filt.tb)
    except KernelError as exc:
        rtnl_error_text(proc, exc)
        raise ToolExit(2, "Flush terminated") from None
    for route in routes:
        if _filter_ok(filt, route):
            try:
                ff.route_remove(proc.net, route)
            except KernelError as exc:
                rtnl_error(exc)
    return 0


def _print_routes(proc: Proc, opts: IpOpts, filt: _Filter, routes: list[FibRoute]) -> int:
    rows = [_route_row(proc, opts, filt, r) for r in routes]
    if opts.json:
        _print_json(proc, opts, [row for row, _ in rows])
    else:
        for _, text in rows:
            proc.out(text)
    return 0


def _print_json(proc: Proc, opts: IpOpts, data: Any) -> None:
    if opts.pretty:
        proc.out(json.dumps(data, indent=4) + "\n")
    else:
        proc.out(json.dumps(data, separators=(",", ":")) + "\n")


# -- printing (print_route) ---------------------------------------------------------------


class _Out:
    """print_*(PRINT_ANY, key, fmt, value): a JSON object and its text line."""

    def __init__(self) -> None:
        self.obj: dict[str, Any] = {}
        self.text: list[str] = []

    def add(self, key: str | None, text: str | None, value: Any = None) -> None:
        if key is not None:
            self.obj[key] = value
        if text is not None:
            self.text.append(text)


_FLAG_NAMES = (
    (1, "dead"), (4, "onlink"), (2, "pervasive"), (8, "offload"), (64, "trap"),
    (0x100, "notify"), (16, "linkdown"), (32, "unresolved"), (0x4000, "rt_offload"),
    (0x8000, "rt_trap"), (0x20000000, "rt_offload_failed"),
)
_CACHE_FLAGS = (
    (0x80000000, "local"), (0x40000000, "reject"), (0x20000000, "mc"), (0x10000000, "brd"),
    (0x08000000, "dst-nat"), (0x00800000, "src-nat"), (0x00400000, "masq"),
    (0x00020000, "dst-direct"), (0x04000000, "src-direct"), (0x00040000, "redirected"),
    (0x01000000, "redirect"), (0x00200000, "fastroute"), (0x00010000, "notify"),
    (0x00080000, "proxy"),
)
_MX_NAMES = {
    RTAX_MTU: "mtu", RTAX_WINDOW: "window", RTAX_RTT: "rtt", RTAX_RTTVAR: "rttvar",
    RTAX_SSTHRESH: "ssthresh", RTAX_CWND: "cwnd", RTAX_ADVMSS: "advmss",
    RTAX_REORDERING: "reordering", RTAX_HOPLIMIT: "hoplimit", RTAX_INITCWND: "initcwnd",
    RTAX_FEATURES: "features", RTAX_RTO_MIN: "rto_min", RTAX_INITRWND: "initrwnd",
    RTAX_QUICKACK: "quickack", RTAX_CC_ALGO: "congctl",
    RTAX_FASTOPEN_NO_COOKIE: "fastopen_no_cookie",
}


def _flags(out: _Out, flags: int) -> None:
    names = [name for bit, name in _FLAG_NAMES if flags & bit]
    out.add("flags", None, names)
    out.text.extend(f"{n} " for n in names)


def _dev_name(proc: Proc, dev: Any) -> str:
    if dev is None:
        return "*"
    found = proc.net.dev_get_by_index(dev.ifindex)
    return found.name if found is not None else f"if{dev.ifindex}"


def _route_row(proc: Proc, opts: IpOpts, filt: _Filter, route: FibRoute) -> tuple[Any, str]:
    out = _Out()
    if (route.type != RTN_UNICAST or opts.details) and (
            not filt.typemask or filt.typemask & (1 << route.type)):
        name = rtntype_n2a(route.type, opts.numeric)
        out.add("type", f"{name} ", name)
    dst = "default" if route.plen == 0 else (
        ntoa(route.dst) if route.plen == 32 else f"{ntoa(route.dst)}/{route.plen}")
    out.add("dst", f"{dst} ", dst)
    if route.tos and filt.tosmask != -1:
        tos = dsfield_n2a(route.tos, opts.numeric)
        out.add("tos", f"tos {tos} ", tos)
    nh = route.nh if len(route.nhs) == 1 else None
    if nh is not None and nh.gw and not (filt.rvia is not None and filt.rvia[0].bitlen == 32):
        out.add("gateway", f"via {ntoa(nh.gw)} ", ntoa(nh.gw))
    if nh is not None and nh.dev is not None and filt.oifmask != -1:
        name = _dev_name(proc, nh.dev)
        out.add("dev", f"dev {name} ", name)
    if route.table and (route.table != RT_TABLE_MAIN or opts.details) and not filt.tb:
        table = table_n2a(route.table, opts.numeric)
        out.add("table", f"table {table} ", table)
    _proto_scope(out, opts, filt, route)
    if route.prefsrc and not (filt.rprefsrc is not None and filt.rprefsrc[0].bitlen == 32):
        out.add("prefsrc", f"src {ntoa(route.prefsrc)} ", ntoa(route.prefsrc))
    if route.priority and filt.metricmask != -1:
        out.add("metric", f"metric {route.priority} ", route.priority)
    _flags(out, ff.route_flags(route))
    if route.metrics:
        _metrics(out, route.metrics)
    if len(route.nhs) > 1:
        _multipath(proc, out, route)
    return out.obj, "".join(out.text) + "\n"


def _proto_scope(out: _Out, opts: IpOpts, filt: _Filter, route: FibRoute) -> None:
    if (route.protocol != RTPROT_BOOT or opts.details) and filt.protocolmask != -1:
        proto = proto_n2a(route.protocol, opts.numeric)
        out.add("protocol", f"proto {proto} ", proto)
    if (route.scope != RT_SCOPE_UNIVERSE or opts.details) and filt.scopemask != -1:
        scope = scope_n2a(route.scope, opts.numeric)
        out.add("scope", f"scope {scope} ", scope)


def _metrics(out: _Out, metrics: Metrics) -> None:
    """print_rta_metrics(): every metric set (or locked), by RTAX order."""
    lock = int(metrics.get(RTAX_LOCK, 0))
    obj: dict[str, Any] = {}
    for i in range(2, 18):
        if i not in metrics and not lock & (1 << i):
            continue
        val = metrics.get(i, 0)
        name = _MX_NAMES.get(i, f"metric {i}")
        out.text.append(f"{name} " + ("lock " if lock & (1 << i) else ""))
        if i == RTAX_CC_ALGO:
            obj["congestion"] = val
            out.text.append(f"{val} ")
            continue
        assert isinstance(val, int)
        if i == RTAX_FEATURES:
            _features(out, obj, val)
            continue
        if i in (RTAX_RTT, RTAX_RTTVAR, RTAX_RTO_MIN):
            val //= {RTAX_RTT: 8, RTAX_RTTVAR: 4}.get(i, 1)
            out.text.append(f"{val / 1e3:g}s " if val >= 1000 else f"{val}ms ")
        else:
            out.text.append(f"{val} ")
        obj[_MX_NAMES.get(i, str(i))] = val
    out.obj["metrics"] = [obj]


def _features(out: _Out, obj: dict[str, Any], val: int) -> None:
    if val & RTAX_FEATURE_ECN:
        obj["ecn"] = None
        out.text.append("ecn ")
    if val & ~RTAX_FEATURE_ECN:
        obj["features"] = hex(val)
        out.text.append(f"{hex(val)} ")


def _multipath(proc: Proc, out: _Out, route: FibRoute) -> None:
    nexthops = []
    for nh in route.nhs:
        sub = _Out()
        sub.text.append("\n\tnexthop ")
        if nh.gw:
            sub.add("gateway", f"via {ntoa(nh.gw)} ", ntoa(nh.gw))
        name = _dev_name(proc, nh.dev)
        sub.add("dev", f"dev {name} ", name)
        sub.add("weight", f"weight {nh.weight} ", nh.weight)
        _flags(sub, nh.report_flags())
        nexthops.append(sub.obj)
        out.text.extend(sub.text)
    out.obj["nexthops"] = nexthops


# -- get ------------------------------------------------------------------------------


@dataclass
class _GetReq:
    dst: int | None = None
    src: int | None = None
    iif: str | None = None
    oif: str | None = None
    mark: int = 0
    tos: int = 0
    fibmatch: bool = False
    family: str = ""


def _get(proc: Proc, opts: IpOpts, args: Args) -> int:
    req = _GetReq(family=opts.family)
    while args:
        _get_word(proc, req, args.pop(), args)
    if req.dst is None:
        raise ToolExit(1, "need at least a destination address")
    iif = lookup_dev(proc, req.iif) if req.iif is not None else None
    oif = lookup_dev(proc, req.oif) if req.oif is not None else None
    try:
        rt = route_get(proc.net, req.dst, req.src or 0, iif, oif, req.mark, req.tos)
        row = _fibmatch_row(proc, opts, rt) if req.fibmatch else _get_row(proc, opts, req, rt)
    except KernelError as exc:
        rtnl_error(exc)
    if opts.json:
        _print_json(proc, opts, [row[0]])
    else:
        proc.out(row[1])
    return 0


def _get_word(proc: Proc, req: _GetReq, word: str, args: Args) -> None:
    """One keyword of iproute_get()."""
    if word == "tos" or matches(word, "dsfield"):
        tos = next_value(args, "TOS value is invalid\n", dsfield_a2n)
        req.tos = tos
    elif matches(word, "from"):
        value = args.next_arg()
        if matches(value, "help"):
            _usage()
        req.src = require_prefix(value, req.family).addr
        req.family = "inet"
    elif matches(word, "iif"):
        req.iif = args.next_arg()
    elif matches(word, "mark"):
        mark = next_value(args, "invalid mark value", c_get_unsigned)
        req.mark = mark
    elif matches(word, "oif") or word == "dev":
        req.oif = args.next_arg()
    elif matches(word, "notify") or matches(word, "connected"):
        pass
    elif matches(word, "vrf"):
        invarg("Invalid VRF\n", args.next_arg())
    elif matches(word, "uid"):
        value = args.next_arg()
        if c_get_unsigned(value) is None:
            invarg("invalid UID\n", value)
    elif matches(word, "fibmatch"):
        req.fibmatch = True
    else:
        _get_word2(proc, req, word, args)


def _get_word2(proc: Proc, req: _GetReq, word: str, args: Args) -> None:
    if word == "as":
        value = args.next_arg()
        if value == "to":
            value = args.next_arg()
        require_addr(value, req.family)
        req.family = "inet"
    elif matches(word, "sport") or matches(word, "dport"):
        value = args.next_arg()
        if c_get_unsigned(value, 0, 16) is None:
            invarg(f"invalid {'sport' if matches(word, 'sport') else 'dport'}\n", value)
    elif matches(word, "ipproto"):
        args.next_arg()
    else:
        if word == "to":
            word = args.next_arg()
        if matches(word, "help"):
            _usage()
        pfx = require_prefix(word, req.family)
        req.family = "inet"
        if pfx.bitlen != 32:
            proc.err(f"Warning: /{pfx.bitlen} as prefix is invalid, only /32 (or none) "
                     "is supported.\n")
        req.dst = pfx.addr


def _get_row(proc: Proc, opts: IpOpts, req: _GetReq, rt: OutputRoute) -> tuple[Any, str]:
    """rt_fill_info() as print_route() shows it."""
    out = _Out()
    if rt.type != RTN_UNICAST or opts.details:
        name = rtntype_n2a(rt.type, opts.numeric)
        out.add("type", f"{name} ", name)
    dst = ntoa(req.dst or 0)  # the address asked for, not the flow's (0.0.0.0 stays)
    out.add("dst", f"{dst} ", dst)
    if req.src is not None:
        out.add("from", f"from {ntoa(req.src)} ", ntoa(req.src))
    if req.tos:
        tos = dsfield_n2a(req.tos, opts.numeric)
        out.add("tos", f"tos {tos} ", tos)
    if rt.gateway:
        out.add("gateway", f"via {ntoa(rt.gateway)} ", ntoa(rt.gateway))
    out.add("dev", f"dev {rt.dev.name} ", rt.dev.name)
    if rt.table and rt.table != RT_TABLE_MAIN:
        table = table_n2a(rt.table, opts.numeric)
        out.add("table", f"table {table} ", table)
    if not rt.is_input and rt.saddr != (req.src or 0):
        out.add("prefsrc", f"src {ntoa(rt.saddr)} ", ntoa(rt.saddr))
    _flags(out, (rt.flags & ~0xFFFF) | RTM_F_CLONED)
    if rt.mark:
        out.add("mark", f"mark {hex(rt.mark)} " if rt.mark >= 16 else f"mark {rt.mark} ",
                rt.mark)
    if not rt.is_input:
        out.add("uid", "uid 0 ", 0)
    cache = [name for bit, name in _CACHE_FLAGS if rt.flags & bit]
    out.add("cache", "\n    cache " + (f"<{','.join(cache)}> " if cache else ""), cache)
    if rt.expires:
        # rta_expires in USER_HZ ticks, printed by iproute2 in whole seconds
        left = max(0, rt.expires - proc.kernel.sched.now) // 10_000_000 // 100
        out.add("expires", f"expires {left}sec ", left)
    metrics = dict(rt.metrics or {})
    if rt.pmtu:
        metrics[RTAX_MTU] = rt.pmtu
    if metrics:
        _metrics(out, metrics)
    if rt.is_input:
        iif = proc.net.dev_get_by_index(rt.iif)
        name = iif.name if iif is not None else f"if{rt.iif}"
        out.add("iif", f"iif {name} ", name)
    return out.obj, "".join(out.text) + "\n"


def _fibmatch_row(proc: Proc, opts: IpOpts, rt: OutputRoute) -> tuple[Any, str]:
    """RTM_F_FIB_MATCH: the FIB entry, reported with the lookup's table."""
    res = fib_match(rt)
    route = res.route
    shown = FibRoute(res.table, route.dst, route.plen, rt.type, tos=route.tos,
                     protocol=route.protocol, scope=route.scope, priority=route.priority,
                     prefsrc=route.prefsrc, nhs=route.nhs, metrics=route.metrics,
                     flags=route.flags)
    filt = _Filter(tb=0)
    return _route_row(proc, opts, filt, shown)
