"""``ip neigh``: the neighbour (ARP) table (iproute2 ip/ipneigh.c).

Texts and exit statuses are those recorded in NOTES.md "Neighbours" and
checked against the oracle: ``add``/``change``/``replace`` default to
``nud permanent``; ``show`` hides NOARP (and NONE) entries unless a ``nud``
filter asks for them; ``flush`` spares PERMANENT and NOARP entries.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import KernelError
from ...ipv4.fib import RT_TABLE_LOCAL, fib_get_table
from ...ipv4.inet import is_lbcast, is_multicast, is_zeronet, mask, ntoa
from ...ipv4.neighbour import (
    NTF_PROXY,
    NTF_ROUTER,
    NUD_DELAY,
    NUD_FAILED,
    NUD_INCOMPLETE,
    NUD_NAMES,
    NUD_NOARP,
    NUD_NONE,
    NUD_PERMANENT,
    NUD_PROBE,
    NUD_REACHABLE,
    NUD_STALE,
    Neighbour,
)
from .. import Proc, ToolExit
from .utils import (
    Args,
    IpOpts,
    get_addr,
    get_prefix,
    invarg,
    lookup_dev,
    mac_str,
    matches,
    parse_mac,
    rtnl_error,
)

if TYPE_CHECKING:
    from ...dev.netdevice import NetDevice

NUD_STATES = {
    "permanent": NUD_PERMANENT, "reachable": NUD_REACHABLE, "noarp": NUD_NOARP,
    "none": NUD_NONE, "stale": NUD_STALE, "incomplete": NUD_INCOMPLETE, "delay": NUD_DELAY,
    "probe": NUD_PROBE, "failed": NUD_FAILED,
}
NUD_NONE_FILTER = 0x100  # iproute2's stand-in bit for "nud none"


def nud_state_a2n(word: str) -> int:
    state = NUD_STATES.get(word)
    if state is not None:
        return state
    try:
        value = int(word, 0)
    except ValueError:
        invarg("nud state is bad", word)
    if not 0 <= value <= 0xFF:
        invarg("nud state is bad", word)
    return value


def do_ipneigh(proc: Proc, opts: IpOpts, argv: list[str]) -> int:
    if not argv:
        return neigh_show(proc, opts, [], flush=False)
    cmd, rest = argv[0], argv[1:]
    if matches(cmd, "add"):
        return neigh_modify(proc, rest, create=True, excl=True, replace=False)
    if matches(cmd, "change") or cmd == "chg":
        return neigh_modify(proc, rest, create=False, excl=False, replace=True)
    if matches(cmd, "replace"):
        return neigh_modify(proc, rest, create=True, excl=False, replace=True)
    if matches(cmd, "delete"):
        return neigh_delete(proc, rest)
    if matches(cmd, "show") or matches(cmd, "list") or matches(cmd, "lst"):
        return neigh_show(proc, opts, rest, flush=False)
    if matches(cmd, "flush"):
        return neigh_show(proc, opts, rest, flush=True)
    if matches(cmd, "get"):
        return neigh_get(proc, opts, rest)
    if matches(cmd, "help"):
        raise ToolExit(255, "Usage: ip neigh { add | del | change | replace }\n"
                            "                { ADDR [ lladdr LLADDR ] [ nud STATE ] proxy ADDR }"
                            " [ dev DEV ]")
    raise ToolExit(255, f'Command "{cmd}" is unknown, try "ip neigh help".')


# -- add / change / replace / del ------------------------------------------------------


@dataclass
class ModReq:
    dst: int | None = None
    dev: str | None = None
    lladdr: str | None = None
    state: int = NUD_PERMANENT
    flags: int = 0


def _parse_addr(word: str) -> int:
    try:
        return get_addr(word)
    except ValueError:
        raise ToolExit(1, f'Error: any valid address is expected rather than "{word}".') from None


def parse_modify(argv: list[str]) -> ModReq:
    req = ModReq()
    args = Args(argv)
    while args:
        word = args.pop()
        if word == "lladdr":
            req.lladdr = args.next_arg()
        elif word == "nud":
            req.state = nud_state_a2n(args.next_arg())
        elif word == "proxy":
            req.dst = _parse_addr(args.next_arg())
            req.flags |= NTF_PROXY
        elif word == "router":
            req.flags |= NTF_ROUTER
        elif word == "dev":
            req.dev = args.next_arg()
        elif word in ("extern_learn", "use", "managed"):
            pass
        else:
            if word == "to":
                word = args.next_arg()
            req.dst = _parse_addr(word)
    if req.dev is None or req.dst is None:
        raise ToolExit(255, "Device and destination are required arguments.")
    return req


def _lladdr(req: ModReq) -> bytes | None:
    if req.lladdr is None or req.lladdr == "null":
        return None
    mac = parse_mac(req.lladdr)
    if mac is None:
        bad = next((p for p in req.lladdr.split(":") if parse_mac(p) is None), req.lladdr)
        raise ToolExit(1, f'"{bad}" is invalid lladdr.')
    return mac


def implicit_lladdr(dev: NetDevice, addr: int) -> bytes | None:
    """The address arp_constructor gives a new entry when none is supplied:
    broadcast for a broadcast-type destination (also when the namespace has no
    local table yet, as inet_addr_type then answers RTN_BROADCAST), the mapped
    group MAC for multicast, nothing for unicast."""
    if is_zeronet(addr) or is_lbcast(addr):
        return dev.broadcast
    if is_multicast(addr):
        return bytes([0x01, 0x00, 0x5E, (addr >> 16) & 0x7F, (addr >> 8) & 0xFF, addr & 0xFF])
    if fib_get_table(dev.net, RT_TABLE_LOCAL) is None:
        return dev.broadcast
    return None


def neigh_modify(proc: Proc, argv: list[str], *, create: bool, excl: bool,
                 replace: bool) -> int:
    req = parse_modify(argv)
    lladdr = _lladdr(req)
    assert req.dev is not None and req.dst is not None
    dev = lookup_dev(proc, req.dev)
    tbl = proc.kernel.neigh_tbl
    if req.flags & NTF_PROXY:
        tbl.add_proxy(proc.net, req.dst, dev)
        return 0
    if lladdr is None and tbl.lookup(dev, req.dst) is None:
        lladdr = implicit_lladdr(dev, req.dst)
    if not req.state & ~NUD_NONE or req.state & (NUD_INCOMPLETE | NUD_FAILED):
        lladdr = None  # a state without a valid address keeps none
    try:
        tbl.update(dev, req.dst, lladdr, req.state, create=create, replace=replace,
                   excl=excl, flags=req.flags & NTF_ROUTER)
    except KernelError as exc:
        rtnl_error(exc)
    return 0


def neigh_delete(proc: Proc, argv: list[str]) -> int:
    req = parse_modify(argv)
    _lladdr(req)
    assert req.dev is not None and req.dst is not None
    dev = lookup_dev(proc, req.dev)
    tbl = proc.kernel.neigh_tbl
    try:
        if req.flags & NTF_PROXY:
            tbl.del_proxy(proc.net, req.dst, dev)
        else:
            tbl.delete(dev, req.dst)
    except KernelError as exc:
        rtnl_error(exc)
    return 0


# -- show / flush / get ----------------------------------------------------------------


@dataclass
class Filter:
    dev: NetDevice | None = None
    state: int = 0xFF & ~NUD_NOARP
    nud_given: bool = False
    proxy: bool = False
    prefix: tuple[int, int] | None = None


def parse_filter(proc: Proc, argv: list[str], flush: bool) -> Filter:
    filt = Filter(state=~(NUD_PERMANENT | NUD_NOARP) & 0x1FF if flush else 0xFF & ~NUD_NOARP)
    args = Args(argv)
    while args:
        word = args.pop()
        if word == "dev":
            filt.dev = lookup_dev(proc, args.next_arg())
        elif word == "nud":
            _add_nud(filt, args.next_arg())
        elif word == "proxy":
            filt.proxy = True
        elif word in ("unused", "nomaster"):
            pass
        else:
            if word == "to":
                word = args.next_arg()
            filt.prefix = _prefix(word)
    return filt


def _add_nud(filt: Filter, word: str) -> None:
    if not filt.nud_given:
        filt.state = 0
        filt.nud_given = True
    if word == "all":
        filt.state = ~0
        return
    state = nud_state_a2n(word)
    filt.state |= state or NUD_NONE_FILTER


def _prefix(word: str) -> tuple[int, int]:
    try:
        return get_prefix(word)
    except ValueError:
        raise ToolExit(1, f'Error: any valid prefix is expected rather than "{word}".') from None


def _matches(filt: Filter, n: Neighbour) -> bool:
    if filt.dev is not None and n.dev is not filt.dev:
        return False
    if filt.prefix is not None:
        addr, plen = filt.prefix
        if (n.addr ^ addr) & mask(plen):
            return False
    if n.flags & NTF_PROXY:
        return True
    if n.nud_state:
        return bool(filt.state & n.nud_state)
    return bool(filt.state & NUD_NONE_FILTER)


def neigh_show(proc: Proc, opts: IpOpts, argv: list[str], flush: bool) -> int:
    if flush and not argv:
        raise ToolExit(1, "Flush requires arguments.")
    filt = parse_filter(proc, argv, flush)
    tbl = proc.kernel.neigh_tbl
    entries = tbl.dump_proxies(proc.net) if filt.proxy else tbl.dump(proc.net)
    rows = [n for n in entries if _matches(filt, n)]
    if flush:
        for n in rows:
            if n.dev is not None and not n.flags & NTF_PROXY:
                tbl.delete(n.dev, n.addr)
        return 0
    print_neighs(proc, opts, filt, rows)
    return 0


def neigh_get(proc: Proc, opts: IpOpts, argv: list[str]) -> int:
    req = parse_modify(argv)
    assert req.dev is not None and req.dst is not None
    dev = lookup_dev(proc, req.dev)
    n = proc.kernel.neigh_tbl.lookup(dev, req.dst)
    if n is None:
        rtnl_error(KernelError(errno.ENOENT, "Neighbour entry not found"))
    assert n is not None
    print_neighs(proc, opts, Filter(), [n])
    return 0


# -- output --------------------------------------------------------------------------------


def neigh_json(n: Neighbour, show_dev: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"dst": ntoa(n.addr)}
    if show_dev and n.dev is not None:
        row["dev"] = n.dev.name
    if n.lladdr is not None and n.nud_state:
        row["lladdr"] = mac_str(n.lladdr)
    if n.flags & NTF_ROUTER:
        row["router"] = None
    if n.flags & NTF_PROXY:
        row["proxy"] = None
    if n.nud_state:
        row["state"] = [name for bit, name in NUD_NAMES if n.nud_state & bit]
    return row


def neigh_text(row: dict[str, Any]) -> str:
    parts = [row["dst"]]
    if "dev" in row:
        parts.append(f"dev {row['dev']}")
    if "lladdr" in row:
        parts.append(f"lladdr {row['lladdr']}")
    parts.extend(flag for flag in ("router", "proxy") if flag in row)
    parts.extend(row.get("state", ()))
    return " ".join(parts) + " \n"


def print_neighs(proc: Proc, opts: IpOpts, filt: Filter, rows: list[Neighbour]) -> None:
    data = [neigh_json(n, filt.dev is None) for n in rows]
    if opts.json:
        from . import print_json

        print_json(proc, opts, data)
        return
    for row in data:
        proc.out(neigh_text(row))
