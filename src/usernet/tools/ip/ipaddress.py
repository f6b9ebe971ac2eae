"""``ip address`` (ip/ipaddress.c): add, change, replace, del, flush, show."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from ...dev.netdevice import IFF_UP, NetDevice
from ...errors import KernelError
from ...ipv4 import devinet
from ...ipv4.devinet import InIfAddr
from ...ipv4.fib import RT_SCOPE_HOST
from ...ipv4.inet import mask, ntoa
from .. import Proc, ToolExit
from .linkfmt import brief_link, link_json, link_text
from .utils import (
    Args,
    IpOpts,
    duparg2,
    get_addr,
    get_prefix,
    get_unsigned,
    invarg,
    matches,
    nodev,
    rtnl_error,
)

SCOPE_NAMES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
IFNAMSIZ = 16


def scope_name(scope: int) -> str:
    return SCOPE_NAMES.get(scope, str(scope))


def parse_scope(text: str) -> int:
    for value, name in SCOPE_NAMES.items():
        if text == name:
            return value
    if text == "universe":
        return 0
    try:
        value = get_unsigned(text, bits=8)
    except ValueError:
        invarg("invalid scope value.", text)
    return value


def do_ipaddr(proc: Proc, opts: IpOpts, argv: list[str]) -> int:
    if not argv:
        return addr_show(proc, opts, [])
    cmd, rest = argv[0], argv[1:]
    if matches(cmd, "add"):
        return addr_modify(proc, rest, "add")
    if matches(cmd, "change") or cmd == "chg":
        return addr_modify(proc, rest, "change")
    if matches(cmd, "replace"):
        return addr_modify(proc, rest, "replace")
    if matches(cmd, "delete"):
        return addr_modify(proc, rest, "del")
    if matches(cmd, "list") or matches(cmd, "show") or matches(cmd, "lst"):
        return addr_show(proc, opts, rest)
    if matches(cmd, "flush"):
        return addr_flush(proc, opts, rest)
    if matches(cmd, "help"):
        raise ToolExit(255, "Usage: ip address {add|change|replace} IFADDR dev IFNAME "
                            "[ LIFETIME ] [ CONFFLAG-LIST ]\n"
                            "       ip address del IFADDR dev IFNAME [mngtmpaddr]\n"
                            "       ip address {save|flush} [ dev IFNAME ] [ scope SCOPE-ID ]\n"
                            "       ip address [ show [ dev IFNAME ] [ scope SCOPE-ID ] ]")
    raise ToolExit(255, f'Command "{cmd}" is unknown, try "ip address help".')


@dataclass
class AddrRequest:
    local: int | None = None
    plen: int = 32
    plen_given: bool = False
    peer: int | None = None
    peer_plen: int = 32
    brd: int | None = None
    brd_mode: str = ""
    scope: int | None = None
    dev: str | None = None
    label: str | None = None
    metric: int = 0
    noprefixroute: bool = False


def _prefix_or_die(text: str) -> tuple[int, int]:
    try:
        return get_prefix(text, allow_default=False)
    except ValueError:
        raise ToolExit(1, f'Error: any valid prefix is expected rather than "{text}".') from None


def parse_addr_args(argv: list[str]) -> AddrRequest:
    req = AddrRequest()
    args = Args(argv)
    while args:
        word = args.pop()
        if word in ("peer", "remote"):
            req.peer, req.peer_plen = _prefix_or_die(args.next_arg())
        elif matches(word, "broadcast") or word == "brd":
            value = args.next_arg()
            if value in ("+", "-"):
                req.brd_mode = value
            else:
                try:
                    req.brd = get_addr(value)
                except ValueError:
                    raise ToolExit(1, f'Error: inet address is expected rather than '
                                      f'"{value}".') from None
        elif word == "anycast":
            args.next_arg()
        elif word == "scope":
            req.scope = parse_scope(args.next_arg())
        elif word == "dev":
            req.dev = args.next_arg()
        elif word == "label":
            req.label = args.next_arg()
        elif word in ("metric", "priority", "preference"):
            value = args.next_arg()
            try:
                req.metric = get_unsigned(value)
            except ValueError:
                invarg('"metric" value is invalid\n', value)
        elif matches(word, "valid_lft") or matches(word, "preferred_lft"):
            args.next_arg()
        elif word == "noprefixroute":
            req.noprefixroute = True
        elif word in ("mngtmpaddr", "nodad", "optimistic", "home", "autojoin"):
            pass
        else:
            if matches(word, "local"):
                word = args.next_arg()
            if req.local is not None:
                duparg2("local", word)
            req.local, req.plen = _prefix_or_die(word)
            req.plen_given = "/" in word
    return req


def addr_modify(proc: Proc, argv: list[str], cmd: str) -> int:
    req = parse_addr_args(argv)
    if req.dev is None:
        raise ToolExit(1, 'Not enough information: "dev" argument is required.')
    if req.label is not None and len(req.label.encode()) >= IFNAMSIZ:
        raise ToolExit(2, "Error: Attribute failed policy validation.")
    dev = proc.net.dev_get_by_name(req.dev)
    if dev is None:
        nodev(req.dev)
    if req.local is None:
        raise ToolExit(2, "RTNETLINK answers: Operation not supported")
    if cmd == "del":
        return _addr_del(proc, dev, req)
    return _addr_add(proc, dev, req, cmd)


def _addr_add(proc: Proc, dev: NetDevice, req: AddrRequest, cmd: str) -> int:
    in_dev = dev.ip_ptr
    if in_dev is None:
        raise ToolExit(2, "RTNETLINK answers: No buffer space available")
    assert req.local is not None
    plen = req.peer_plen if req.peer is not None else req.plen
    address = req.peer if req.peer is not None else req.local
    brd = req.brd or 0
    if req.brd_mode:  # iproute2 computes "brd +" / "brd -" itself
        host = ~mask(plen) & 0xFFFFFFFF
        brd = (address | host) if req.brd_mode == "+" else (address & mask(plen))
    scope = req.scope
    if scope is None:  # iproute2's default_scope(): host for 127/8
        scope = RT_SCOPE_HOST if req.local >> 24 == 127 else 0
    flags = devinet.IFA_F_PERMANENT | (devinet.IFA_F_NOPREFIXROUTE if req.noprefixroute else 0)
    ifa = InIfAddr(in_dev, req.local, plen, address=address, broadcast=brd,
                   label=req.label or "", scope=scope, flags=flags, rt_priority=req.metric)
    try:
        devinet.inet_rtm_newaddr(dev, ifa, replace=cmd != "add")
    except KernelError as exc:
        rtnl_error(exc)
    return 0


WILDCARD_WARNING = (
    "Warning: Executing wildcard deletion to stay compatible with old scripts.\n"
    "         Explicitly specify the prefix length ({}/32) to avoid this warning.\n"
    "         This special behaviour is likely to disappear in further releases,\n"
    "         fix your scripts.\n")


def _addr_del(proc: Proc, dev: NetDevice, req: AddrRequest) -> int:
    assert req.local is not None
    wildcard = not req.plen_given and req.peer is None
    if wildcard:
        proc.err(WILDCARD_WARNING.format(ntoa(req.local)))
    try:
        devinet.inet_rtm_deladdr(
            dev, req.local, label=req.label,
            prefixlen=None if wildcard else (req.peer_plen if req.peer is not None else req.plen),
            address=None if wildcard else (req.peer if req.peer is not None else req.local))
    except KernelError as exc:
        rtnl_error(exc)
    return 0


@dataclass
class AddrFilter:
    dev: str | None = None
    scope: int | None = None
    label: str | None = None
    prefix: tuple[int, int] | None = None
    up: bool = False
    primary: bool | None = None
    master: str | None = None

    def accepts(self, ifa: InIfAddr) -> bool:
        if self.scope is not None and ifa.scope != self.scope:
            return False
        if self.label is not None and not fnmatch.fnmatchcase(ifa.label, self.label):
            return False
        if self.prefix is not None:
            addr, plen = self.prefix
            if ifa.prefixlen < plen or (ifa.local ^ addr) & mask(plen):
                return False
        return self.primary is None or self.primary != ifa.secondary


def parse_filter(argv: list[str]) -> AddrFilter:
    flt = AddrFilter()
    args = Args(argv)
    while args:
        word = args.pop()
        if word == "dev":
            flt.dev = args.next_arg()
        elif word == "scope":
            value = args.next_arg()
            flt.scope = None if value == "all" else parse_scope(value)
        elif word == "label":
            flt.label = args.next_arg()
        elif word == "to":
            flt.prefix = _prefix_or_die(args.next_arg())
        elif word == "up":
            flt.up = True
        elif word in ("primary", "secondary"):
            flt.primary = word == "primary"
        elif word in ("permanent", "dynamic", "tentative", "deprecated", "dadfailed"):
            pass
        elif word == "master":
            flt.master = args.next_arg()
        elif word in ("type", "vrf"):
            args.next_arg()
        else:
            if flt.dev is not None:
                duparg2("dev", word)
            flt.dev = word
    return flt


def _devices(proc: Proc, flt: AddrFilter) -> list[NetDevice]:
    if flt.dev is not None:
        dev = proc.net.dev_get_by_name(flt.dev)
        if dev is None:
            raise ToolExit(1, f'Device "{flt.dev}" does not exist.')
        devs = [dev]
    else:
        devs = list(proc.net.devices())
    return [d for d in devs if (not flt.up or d.flags & IFF_UP) and (
        flt.master is None or (d.master is not None and d.master.name == flt.master))]


def _addrs(dev: NetDevice, flt: AddrFilter) -> list[InIfAddr]:
    in_dev = dev.ip_ptr
    return [ifa for ifa in in_dev.ifa_list if flt.accepts(ifa)] if in_dev else []


def addr_json(ifa: InIfAddr) -> dict[str, Any]:
    d: dict[str, Any] = {"family": "inet", "local": ntoa(ifa.local)}
    if ifa.address != ifa.local:
        d["address"] = ntoa(ifa.address)
    d["prefixlen"] = ifa.prefixlen
    if ifa.broadcast:
        d["broadcast"] = ntoa(ifa.broadcast)
    if ifa.rt_priority:
        d["metric"] = ifa.rt_priority
    d["scope"] = scope_name(ifa.scope)
    for flag, name in _ifa_flag_names(ifa):
        if ifa.flags & flag:
            d[name] = True
    d["label"] = ifa.label
    d["valid_life_time"] = ifa.valid_lft
    d["preferred_life_time"] = ifa.preferred_lft
    return d


def _ifa_flag_names(ifa: InIfAddr) -> list[tuple[int, str]]:
    return [(devinet.IFA_F_SECONDARY, "secondary"),
            (devinet.IFA_F_NOPREFIXROUTE, "noprefixroute")]


def addr_text(ifa: InIfAddr) -> tuple[str, str]:
    """The inet line and the lifetime line of one address."""
    if ifa.address != ifa.local:
        text = f"    inet {ntoa(ifa.local)} peer {ntoa(ifa.address)}/{ifa.prefixlen}"
    else:
        text = f"    inet {ntoa(ifa.local)}/{ifa.prefixlen}"
    if ifa.broadcast:
        text += f" brd {ntoa(ifa.broadcast)}"
    if ifa.rt_priority:
        text += f" metric {ifa.rt_priority}"
    text += f" scope {scope_name(ifa.scope)}"
    for flag, name in _ifa_flag_names(ifa):
        if ifa.flags & flag:
            text += f" {name}"
    text += f" {ifa.label}"
    return text, "       valid_lft forever preferred_lft forever"


def addr_show(proc: Proc, opts: IpOpts, argv: list[str]) -> int:
    flt = parse_filter(argv)
    devs = _devices(proc, flt)
    only_inet = opts.family == "inet"
    filtering = flt.label is not None or flt.scope is not None or flt.prefix is not None
    if opts.json:
        return _show_json(proc, opts, devs, flt, only_inet or filtering)
    for dev in devs:
        addrs = _addrs(dev, flt)
        if (only_inet or filtering) and not addrs:
            continue
        if opts.brief:
            name, oper = brief_link(dev)
            items = "".join(_brief_addr(ifa) + " " for ifa in addrs)
            proc.out(f"{name:<16} {oper:<14} {items}\n")
            continue
        if flt.label is not None:
            for ifa in addrs:
                line, life = addr_text(ifa)
                proc.out(f"{line}\n{life}\n")
            continue
        if opts.oneline:
            _oneline(proc, dev, addrs, only_inet)
            continue
        head = link_text(dev, proc.net, addr_view=True, details=bool(opts.details))
        if only_inet:
            head = _inet_head(head)
        proc.out(head)
        for ifa in addrs:
            line, life = addr_text(ifa)
            proc.out(f"{line}\n{life}\n")
    return 0


def _inet_head(head: str) -> str:
    """-4 drops the link/ether line; a foreign peer's netns goes on the header."""
    first, _, second = head.partition("\n")
    for marker in (" link-netns ", " link-netnsid "):
        if marker in second:
            return first + marker + second.split(marker, 1)[1].split(" ")[0].rstrip() + "\n"
    return first + "\n"


def _oneline(proc: Proc, dev: NetDevice, addrs: list[InIfAddr], only_inet: bool) -> None:
    """-o prints one line per address and nothing for the link itself."""
    for ifa in addrs:
        line, life = addr_text(ifa)
        proc.out(f"{dev.ifindex}: {dev.name}{line}\\{life}\n")


def _brief_addr(ifa: InIfAddr) -> str:
    if ifa.address != ifa.local:
        return f"{ntoa(ifa.local)} peer {ntoa(ifa.address)}/{ifa.prefixlen}"
    return f"{ntoa(ifa.local)}/{ifa.prefixlen}"


def _show_json(proc: Proc, opts: IpOpts, devs: list[NetDevice], flt: AddrFilter,
               skip_empty: bool) -> int:
    from . import print_json

    out = []
    for dev in devs:
        addrs = _addrs(dev, flt)
        if skip_empty and not addrs:
            continue
        if opts.brief:
            _, oper = brief_link(dev)
            entry: dict[str, Any] = {"ifname": dev.name, "operstate": oper,
                                     "addr_info": [{"local": ntoa(a.local),
                                                    "prefixlen": a.prefixlen} for a in addrs]}
            out.append(entry)
            continue
        entry = link_json(dev, proc.net, addr_view=True, details=bool(opts.details),
                          stats=bool(opts.stats))
        if opts.family == "inet":
            for key in ("link_type", "address", "broadcast"):
                entry.pop(key, None)
        entry["addr_info"] = [addr_json(a) for a in addrs]
        out.append(entry)
    print_json(proc, opts, out)
    return 0


def addr_flush(proc: Proc, opts: IpOpts, argv: list[str]) -> int:
    """Dump, then one RTM_DELADDR per matching address (until none is left:
    deleting a primary may take or promote its secondaries)."""
    if not argv:
        raise ToolExit(1, "Flush requires arguments.")
    flt = parse_filter(argv)
    for dev in _devices(proc, flt):
        while (victim := next(iter(_addrs(dev, flt)), None)) is not None:
            devinet.inet_rtm_deladdr(dev, victim.local, prefixlen=victim.prefixlen,
                                     address=victim.address, label=victim.label)
    return 0
