"""iproute2's ``bridge``: ``link show`` and ``fdb show/add/del/replace``.

A front end over the kernel: FDB entries live on the bridge ports
(:mod:`usernet.dev.bridge`), address lists on the devices
(:mod:`usernet.dev.addr_lists`).  The listing is Linux's (scenarios c062,
c063): per device in ifindex order, a port's bridge entries (newest first)
then its ``self`` entries (its unicast list, then its multicast list); a
bridge lists its ``self`` entries, then its own MAC unless a port has it.
Learned entries arrive with the data path.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..dev.addr_lists import dev_uc_add, dev_uc_del, mc_list
from ..dev.bridge import (
    BR_STATE_NAMES,
    FDB_DYNAMIC,
    FDB_PERMANENT,
    FDB_STATIC,
    Bridge,
    BridgePort,
)
from ..dev.netdevice import IFF_UP, ZERO_MAC, NetDevice
from ..errors import KernelError
from . import Proc, ToolExit
from .ip.linkfmt import flag_list
from .ip.utils import mac_str, matches, parse_mac, resolve_netns

if TYPE_CHECKING:
    from ..net import Net

STATE_NAMES = {FDB_PERMANENT: "permanent", FDB_STATIC: "static", FDB_DYNAMIC: ""}


# -- options and dispatch ---------------------------------------------------------------


@dataclass
class BrOpts:
    json: bool = False
    pretty: bool = False


def main(proc: Proc, argv: list[str]) -> int:
    opts = BrOpts()
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        opt = argv[i].lstrip("-")
        if matches(opt, "netns") and i + 1 < len(argv):
            proc.net = resolve_netns(proc, argv[i + 1])
            i += 1
        elif matches(opt, "json"):
            opts.json = True
        elif matches(opt, "pretty"):
            opts.pretty = True
        elif not any(matches(opt, o) for o in ("stats", "details", "color", "oneline",
                                                 "compressvlans", "timestamp")):
            raise ToolExit(255, f'Option "{argv[i]}" is unknown, try "bridge help".')
        i += 1
    rest = argv[i:]
    if not rest:
        raise ToolExit(255, "Usage: bridge [ OPTIONS ] OBJECT { COMMAND | help }")
    obj, args = rest[0], rest[1:]
    if matches(obj, "link"):
        return do_link(proc, opts, args)
    if matches(obj, "fdb"):
        return do_fdb(proc, opts, args)
    raise ToolExit(255, f'Object "{obj}" is unknown, try "bridge help".')


def _print_json(proc: Proc, opts: BrOpts, data: Any) -> None:
    import json

    if opts.pretty:
        proc.out(json.dumps(data, indent=4) + "\n")
    else:
        proc.out(json.dumps(data, separators=(",", ":")) + "\n")


def _dev(proc: Proc, name: str, what: str = "device") -> NetDevice:
    dev = proc.net.dev_get_by_name(name)
    if dev is None:
        raise ToolExit(255, f'Cannot find {what} "{name}"')
    return dev


# -- bridge link ------------------------------------------------------------------------


def do_link(proc: Proc, opts: BrOpts, argv: list[str]) -> int:
    if argv and not (matches(argv[0], "show") or matches(argv[0], "list")
                     or matches(argv[0], "lst")):
        raise ToolExit(255, f'Command "{argv[0]}" is unknown, try "bridge link help".')
    args = argv[1:]
    only: NetDevice | None = None
    while args:
        word = args.pop(0)
        if word == "dev" and args:
            only = _dev(proc, args.pop(0))
    rows = [link_row(proc.net, dev) for dev in proc.net.devices()
            if isinstance(dev.rx_handler, BridgePort) and only in (None, dev)]
    if opts.json:
        _print_json(proc, opts, rows)
        return 0
    for row in rows:
        link = f"@{row['link']}" if "link" in row else ""
        proc.out(f"{row['ifindex']}: {row['ifname']}{link}: <{','.join(row['flags'])}> "
                 f"mtu {row['mtu']} master {row['master']} state {row['state']} "
                 f"priority {row['priority']} cost {row['cost']} \n")
    return 0


def link_row(net: Net, dev: NetDevice) -> dict[str, Any]:
    """One port as ``bridge link`` prints it.  IFLA_LINK is resolved by index
    in the bridge's own namespace, whatever namespace the peer is in."""
    port = dev.rx_handler
    assert isinstance(port, BridgePort)
    row: dict[str, Any] = {"ifindex": dev.ifindex}
    flags = [f for f in flag_list(dev, net) if f != "M-DOWN"]
    if dev.iflink() != dev.ifindex:
        peer = net.dev_get_by_index(dev.iflink())
        row["link"] = peer.name if peer is not None else f"if{dev.iflink()}"
        if peer is not None and not peer.flags & IFF_UP:
            flags.append("M-DOWN")
    row.update(ifname=dev.name, flags=flags, mtu=dev.mtu, master=port.br.name,
               state=BR_STATE_NAMES[port.state], priority=port.priority,
               cost=port.path_cost)
    return row


# -- bridge fdb: listing ------------------------------------------------------------------


def self_rows(dev: NetDevice) -> list[dict[str, Any]]:
    macs = [*(dev.uc or ()), *mc_list(dev)]
    return [{"mac": mac_str(m), "ifname": dev.name, "flags": ["self"], "state": "permanent"}
            for m in macs]


def master_rows(port: BridgePort) -> list[dict[str, Any]]:
    entries = port.fdb_entries()
    return [{"mac": mac_str(e.mac), "ifname": port.dev.name, "flags": [],
             "master": port.br.name, "state": STATE_NAMES[e.state]} for e in entries]


def bridge_own_rows(br: Bridge) -> list[dict[str, Any]]:
    """The bridge's own MAC (an entry without port) unless a port has it."""
    if br.dev_addr == ZERO_MAC or any(d.dev_addr == br.dev_addr for d in br.ports):
        return []
    return [{"mac": mac_str(br.dev_addr), "ifname": br.name, "flags": [],
             "master": br.name, "state": "permanent"}]


def dev_rows(dev: NetDevice) -> list[dict[str, Any]]:
    port = dev.rx_handler
    if isinstance(port, BridgePort):
        return master_rows(port) + self_rows(dev)
    if isinstance(dev, Bridge):
        return self_rows(dev) + bridge_own_rows(dev)
    return self_rows(dev)


@dataclass
class FdbFilter:
    br: NetDevice | None = None
    port: NetDevice | None = None
    dynamic: bool = False


def _in_scope(flt: FdbFilter, dev: NetDevice) -> bool:
    if flt.port is not None and dev is not flt.port:
        return False
    if flt.br is None:
        return True
    if dev is flt.br:
        return isinstance(dev, Bridge)
    return dev.master is flt.br and isinstance(dev.rx_handler, BridgePort)


def fdb_show(proc: Proc, opts: BrOpts, argv: list[str]) -> int:
    flt = FdbFilter()
    while argv:
        word = argv.pop(0)
        if word == "br" and argv:
            flt.br = _dev(proc, argv.pop(0), "bridge device")
        elif word in ("brport", "dev") and argv:
            flt.port = _dev(proc, argv.pop(0))
        elif word == "dynamic":
            flt.dynamic = True
    rows = [r for dev in proc.net.devices() if _in_scope(flt, dev) for r in dev_rows(dev)]
    if flt.dynamic:
        rows = [r for r in rows if r["state"] != "permanent"]
    if flt.port is not None:
        for r in rows:
            del r["ifname"]
    if opts.json:
        _print_json(proc, opts, rows)
        return 0
    for r in rows:
        proc.out(fdb_text(r))
    return 0


def fdb_text(r: dict[str, Any]) -> str:
    text = f"{r['mac']} "
    if "ifname" in r:
        text += f"dev {r['ifname']} "
    text += "".join(f"{f} " for f in r["flags"])
    if "master" in r:
        text += f"master {r['master']} "
    return text + f"{r['state']}\n"


# -- bridge fdb: add / del / replace ---------------------------------------------------


@dataclass
class FdbReq:
    mac: bytes = b""
    dev: NetDevice | None = None
    master: bool = False
    self_: bool = False
    state: int = FDB_PERMANENT


def parse_fdb_req(proc: Proc, argv: list[str]) -> FdbReq:
    req = FdbReq()
    mac_text: str | None = None
    dev_name: str | None = None
    while argv:
        word = argv.pop(0)
        if word == "dev" and argv:
            dev_name = argv.pop(0)
        elif word in ("master", "self"):
            req.master |= word == "master"
            req.self_ |= word == "self"
        elif word in ("static", "permanent", "local", "dynamic"):
            req.state = {"static": FDB_STATIC, "dynamic": FDB_DYNAMIC}.get(word, FDB_PERMANENT)
        elif word in ("vlan", "dst", "port", "vni", "via", "src_vni") and argv:
            argv.pop(0)
        elif mac_text is None:
            mac_text = word
    if mac_text is None or dev_name is None:
        raise ToolExit(255, "Device and address are required arguments.")
    mac = parse_mac(mac_text)
    if mac is None or len(mac) != 6:
        raise ToolExit(255, f"Invalid mac address {mac_text}")
    req.mac = mac
    req.dev = _dev(proc, dev_name)
    if not req.master:
        req.self_ = True  # neither given: NTF_SELF
    return req


def fdb_modify(proc: Proc, argv: list[str], cmd: str) -> int:
    req = parse_fdb_req(proc, argv)
    try:
        if req.master:
            _master_modify(req, cmd)
        if req.self_:
            _self_modify(req, cmd)
    except KernelError as exc:
        raise ToolExit(255, f"RTNETLINK answers: {exc.strerror}") from None
    return 0


def _master_modify(req: FdbReq, cmd: str) -> None:
    assert req.dev is not None
    port = req.dev.rx_handler
    if not isinstance(port, BridgePort):
        raise KernelError(errno.EOPNOTSUPP)
    if cmd == "del":
        port.fdb_del(req.mac)
    else:
        port.fdb_add(req.mac, req.state, replace=cmd == "replace")


def _self_modify(req: FdbReq, cmd: str) -> None:
    assert req.dev is not None
    if cmd == "del":
        dev_uc_del(req.dev, req.mac)
    else:
        dev_uc_add(req.dev, req.mac, excl=cmd == "add")


def do_fdb(proc: Proc, opts: BrOpts, argv: list[str]) -> int:
    if not argv:
        return fdb_show(proc, opts, [])
    cmd, rest = argv[0], list(argv[1:])
    if matches(cmd, "add") or matches(cmd, "append"):
        return fdb_modify(proc, rest, "add")
    if matches(cmd, "replace"):
        return fdb_modify(proc, rest, "replace")
    if matches(cmd, "delete"):
        return fdb_modify(proc, rest, "del")
    if matches(cmd, "show") or matches(cmd, "list") or matches(cmd, "lst"):
        return fdb_show(proc, opts, rest)
    raise ToolExit(255, f'Command "{cmd}" is unknown, try "bridge fdb help".')
