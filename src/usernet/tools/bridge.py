"""iproute2's ``bridge``: ``link show/set`` and ``fdb show/add/del/replace``.

A front end over the kernel: FDB entries live in the bridge
(:mod:`usernet.dev.br_fdb`), address lists on the devices
(:mod:`usernet.dev.addr_lists`).  The listing is Linux's (scenarios c062,
c063): per device in ifindex order, a port's bridge entries (newest first,
learned ones included) then its ``self`` entries (its unicast list, then its
multicast list); a bridge lists its ``self`` entries, then the entries that
belong to no port (its own MAC unless a port has it).
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from ..dev.addr_lists import dev_uc_add, dev_uc_del, mc_list
from ..dev.br_fdb import (
    FdbEntry,
    fdb_add_entry,
    fdb_delete_entry,
    fdb_flush,
    fdb_flush_check_dev,
    fdb_state,
    port_entries,
)
from ..dev.br_private import (
    FDB_ADDED_BY_USER,
    FDB_LOCAL,
    FDB_STATIC,
    NUD_NOARP,
    NUD_PERMANENT,
    NUD_REACHABLE,
    NUD_STALE,
    PORT_FLAG_WORDS,
)
from ..dev.bridge import BR_STATE_NAMES, Bridge, BridgePort
from ..dev.netdevice import IFF_UP, NetDevice
from ..errors import KernelError
from ..sched import NSEC_PER_SEC
from . import Proc, ToolExit
from .ip.linkfmt import flag_list
from .ip.utils import mac_str, matches, parse_mac, resolve_netns

if TYPE_CHECKING:
    from ..net import Net

STATE_NAMES = {NUD_PERMANENT: "permanent", NUD_NOARP: "static", NUD_STALE: "stale",
               NUD_REACHABLE: ""}


# -- options and dispatch ---------------------------------------------------------------


@dataclass
class BrOpts:
    json: bool = False
    pretty: bool = False
    stats: bool = False
    details: bool = False


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
        elif matches(opt, "stats") or matches(opt, "statistics"):
            opts.stats = True
        elif matches(opt, "details"):
            opts.details = True
        elif not any(matches(opt, o) for o in ("color", "oneline", "compressvlans",
                                                 "timestamp")):
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


def rtnl_fail(exc: KernelError) -> NoReturn:
    """A refused request as the bridge tool reports it: the extack text, else
    strerror; rc 255."""
    if exc.extack:
        raise ToolExit(255, f"Error: {exc.extack.rstrip('.')}.")
    raise ToolExit(255, f"RTNETLINK answers: {exc.strerror}")


def _dev(proc: Proc, name: str, what: str = "device") -> NetDevice:
    dev = proc.net.dev_get_by_name(name)
    if dev is None:
        raise ToolExit(255, f'Cannot find {what} "{name}"')
    return dev


# -- bridge link ------------------------------------------------------------------------


def do_link(proc: Proc, opts: BrOpts, argv: list[str]) -> int:
    if argv and (matches(argv[0], "set") or matches(argv[0], "change")):
        return link_set(proc, argv[1:])
    if argv and not (matches(argv[0], "show") or matches(argv[0], "list")
                     or matches(argv[0], "lst")):
        raise ToolExit(255, f'Command "{argv[0]}" is unknown, try "bridge link help".')
    args = argv[1:]
    only: NetDevice | None = None
    while args:
        word = args.pop(0)
        if word == "dev" and args:
            only = _dev(proc, args.pop(0))
    rows = [link_row(proc.net, dev, opts.details) for dev in proc.net.devices()
            if isinstance(dev.rx_handler, BridgePort) and only in (None, dev)]
    if opts.json:
        _print_json(proc, opts, rows)
        return 0
    for row in rows:
        link = f"@{row['link']}" if "link" in row else ""
        proc.out(f"{row['ifindex']}: {row['ifname']}{link}: <{','.join(row['flags'])}> "
                 f"mtu {row['mtu']} master {row['master']} state {row['state']} "
                 f"priority {row['priority']} cost {row['cost']} \n")
        if opts.details:
            proc.out("    " + "".join(_detail_text(k, row[k]) for k in DETAIL_KEYS) + "\n")
    return 0


# `bridge -d link`: the port flags after the state, in iproute2's order
DETAIL_KEYS = ("hairpin", "guard", "root_block", "fastleave", "learning", "flood",
               "mcast_flood", "bcast_flood", "mcast_router", "mcast_to_unicast",
               "neigh_suppress", "vlan_tunnel", "isolated", "locked")


def _detail_text(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"{key} {'on' if value else 'off'} "
    return f"{key} {value} "


def link_row(net: Net, dev: NetDevice, details: bool = False) -> dict[str, Any]:
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
    if details:
        row.update({key: False for key in DETAIL_KEYS}, mcast_router=1)
        row.update({word: bool(port.flags & bit) for word, bit in PORT_FLAG_WORDS.items()})
    return row


# -- bridge link set --------------------------------------------------------------------

LINK_SET_USAGE = (
    "Usage: bridge link set dev DEV [ cost COST ] [ priority PRIO ] [ state STATE ]\n"
    + "".join(f"                               [ {w} {{on | off}} ]\n" for w in (
        "guard", "hairpin", "fastleave", "root_block", "learning", "learning_sync", "flood"))
    + "                               [ mcast_router MULTICAST_ROUTER ]\n"
    + "".join(f"                               [ {w} {{on | off}} ]\n" for w in (
        "mcast_flood", "bcast_flood", "mcast_to_unicast", "neigh_suppress", "vlan_tunnel",
        "isolated", "locked"))
    + "                               [ hwmode {vepa | veb} ]\n"
    "                               [ backup_port DEVICE ] [ nobackup_port ]\n"
    "                               [ self ] [ master ]\n"
    "       bridge link show [dev DEV]")
# Keywords iproute2 takes that name port behaviour usernet does not model.
LINK_SET_UNMODELLED = ("guard", "fastleave", "root_block", "learning_sync", "mcast_router",
                       "mcast_to_unicast", "neigh_suppress", "vlan_tunnel", "isolated",
                       "locked", "hwmode", "backup_port")


@dataclass
class PortReq:
    """What one ``bridge link set`` asks (IFLA_PROTINFO)."""

    dev: str | None = None
    set_flags: int = 0
    clear_flags: int = 0
    cost: int = 0  # 0: not sent
    priority: int = -1
    state: int = -1


def link_set(proc: Proc, argv: list[str]) -> int:
    """brlink_modify, then br_setport: flags, cost, priority, state in that
    order; an error stops there (what came before stays applied)."""
    req = parse_link_set(argv)
    if req.dev is None:
        raise ToolExit(255, "Device is a required argument.")
    dev = proc.net.dev_get_by_name(req.dev)
    if dev is None:
        raise ToolExit(255, f'Cannot find bridge device "{req.dev}"')
    port = dev.rx_handler
    try:
        if not isinstance(port, BridgePort):
            raise KernelError(errno.EOPNOTSUPP)
        port.br.setport(port, req.set_flags, req.clear_flags, req.cost, req.priority,
                        req.state)
    except KernelError as exc:
        rtnl_fail(exc)
    return 0


def parse_link_set(argv: list[str]) -> PortReq:
    req = PortReq()
    args = list(argv)
    while args:
        word = args.pop(0)
        if word in ("self", "master", "nobackup_port"):
            continue
        if word not in ("dev", "cost", "priority", "state", *PORT_FLAG_WORDS,
                        *LINK_SET_UNMODELLED):
            raise ToolExit(255, LINK_SET_USAGE)
        if not args:
            raise ToolExit(255, 'Command line is not complete. Try option "help"')
        value = args.pop(0)
        if word == "dev":
            req.dev = value
        elif word in PORT_FLAG_WORDS:
            _flag_arg(req, word, value)
        elif word in LINK_SET_UNMODELLED:
            raise ToolExit(255, f'Error: usernet does not implement "{word}" yet.')
        else:
            _number_arg(req, word, value)
    return req


def _flag_arg(req: PortReq, word: str, value: str) -> None:
    if value not in ("on", "off"):
        raise ToolExit(234, f'Error: argument of "{word}" must be one of "off", "on", '
                            f'not "{value}"')
    bit = PORT_FLAG_WORDS[word]
    if value == "on":
        req.set_flags, req.clear_flags = req.set_flags | bit, req.clear_flags & ~bit
    else:
        req.set_flags, req.clear_flags = req.set_flags & ~bit, req.clear_flags | bit


def _number_arg(req: PortReq, word: str, value: str) -> None:
    if word == "cost":
        req.cost = _atoi(value) & 0xFFFFFFFF
    elif word == "priority":
        req.priority = _atoi(value)
        if req.priority >= 0:
            req.priority &= 0xFFFF
    elif value.lstrip("-").isdigit():
        req.state = int(value) & 0xFF
    elif value.lower() in BR_STATE_NAMES:
        req.state = BR_STATE_NAMES.index(value.lower())
    else:
        raise ToolExit(255, "Error: invalid STP port state")


def _atoi(text: str) -> int:
    """C's atoi: leading blanks, a sign, digits; anything else ends it."""
    m = re.match(r"\s*([+-]?\d+)", text)
    return int(m.group(1)) if m else 0


# -- bridge fdb: listing ------------------------------------------------------------------


def self_rows(dev: NetDevice) -> list[dict[str, Any]]:
    macs = [*(dev.uc or ()), *mc_list(dev)]
    return [{"mac": mac_str(m), "ifname": dev.name, "flags": ["self"], "state": "permanent"}
            for m in macs]


def master_rows(br: Bridge, dev: NetDevice, port: BridgePort | None,
                stats: bool) -> list[dict[str, Any]]:
    """The bridge's entries for one port (None: the bridge's own), newest first."""
    return [_master_row(br, dev, f, stats) for f in port_entries(br, port)]


def _master_row(br: Bridge, dev: NetDevice, f: FdbEntry, stats: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"mac": mac_str(f.mac), "ifname": dev.name}
    if stats:  # NDA_CACHEINFO, in whole seconds as iproute2 divides by USER_HZ
        now = br.now()
        row.update(used=(now - f.used) // NSEC_PER_SEC, updated=(now - f.updated) // NSEC_PER_SEC)
    row.update(flags=[], master=br.name, state=STATE_NAMES[fdb_state(br, f)])
    return row


def dev_rows(dev: NetDevice, stats: bool) -> list[dict[str, Any]]:
    port = dev.rx_handler
    if isinstance(port, BridgePort):
        return master_rows(port.br, dev, port, stats) + self_rows(dev)
    if isinstance(dev, Bridge):
        return self_rows(dev) + master_rows(dev, dev, None, stats)
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
    rows = [r for dev in proc.net.devices() if _in_scope(flt, dev)
            for r in dev_rows(dev, opts.stats)]
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
    if "used" in r:
        text += f"used {r['used']}/{r['updated']} "
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
    state: int = NUD_PERMANENT


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
            req.state = {"static": NUD_NOARP, "dynamic": NUD_REACHABLE}.get(word, NUD_PERMANENT)
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
        rtnl_fail(exc)
    return 0


def _master_modify(req: FdbReq, cmd: str) -> None:
    """br_fdb_add / br_fdb_delete: ``add`` is NLM_F_EXCL, ``replace`` and
    ``append`` are not."""
    assert req.dev is not None
    port = req.dev.rx_handler
    if not isinstance(port, BridgePort):
        raise KernelError(errno.EOPNOTSUPP)
    if cmd == "del":
        fdb_delete_entry(port, req.mac)
    else:
        fdb_add_entry(port, req.mac, req.state, excl=cmd == "add")


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
    if matches(cmd, "add"):
        return fdb_modify(proc, rest, "add")
    if matches(cmd, "append") or matches(cmd, "replace"):
        return fdb_modify(proc, rest, "replace")
    if matches(cmd, "delete"):
        return fdb_modify(proc, rest, "del")
    if matches(cmd, "show") or matches(cmd, "list") or matches(cmd, "lst"):
        return fdb_show(proc, opts, rest)
    if cmd == "flush":
        return fdb_flush_cmd(proc, rest)
    raise ToolExit(255, f'Command "{cmd}" is unknown, try "bridge fdb help".')


# -- bridge fdb flush ---------------------------------------------------------------------

NTF_USE, NTF_SELF, NTF_MASTER = 0x01, 0x02, 0x04
NTF_EXT_LEARNED, NTF_OFFLOADED, NTF_STICKY = 0x10, 0x20, 0x40
# word -> (field, bits set, bits cleared, bits added to the mask), as fdb_flush parses them
FLUSH_WORDS = {
    "permanent": ("state", NUD_PERMANENT, 0, NUD_PERMANENT),
    "nopermanent": ("state", 0, NUD_PERMANENT, NUD_PERMANENT),
    "static": ("state", NUD_NOARP, 0, NUD_NOARP | NUD_PERMANENT),
    "nostatic": ("state", 0, NUD_NOARP, NUD_NOARP),
    "dynamic": ("state", 0, NUD_NOARP, NUD_NOARP | NUD_PERMANENT),
    "nodynamic": ("state", NUD_NOARP, 0, NUD_NOARP),
    "added_by_user": ("flags", NTF_USE, 0, NTF_USE),
    "noadded_by_user": ("flags", 0, NTF_USE, NTF_USE),
    "extern_learn": ("flags", NTF_EXT_LEARNED, 0, NTF_EXT_LEARNED),
    "noextern_learn": ("flags", 0, NTF_EXT_LEARNED, NTF_EXT_LEARNED),
    "sticky": ("flags", NTF_STICKY, 0, NTF_STICKY),
    "nosticky": ("flags", 0, NTF_STICKY, NTF_STICKY),
    "offloaded": ("flags", NTF_OFFLOADED, 0, NTF_OFFLOADED),
    "nooffloaded": ("flags", 0, NTF_OFFLOADED, NTF_OFFLOADED),
}


@dataclass
class FlushReq:
    """One ``bridge fdb flush`` (RTM_DELNEIGH with NLM_F_BULK)."""

    dev: str | None = None
    brport: str | None = None
    vid: int = -1
    ndm_flags: int = 0
    flags_mask: int = 0
    state: int = 0
    state_mask: int = 0


def parse_flush(argv: list[str]) -> FlushReq:
    req = FlushReq()
    args = list(argv)
    while args:
        word = args.pop(0)
        if word in FLUSH_WORDS:
            _flush_word(req, word)
        elif word in ("master", "self"):
            req.ndm_flags |= NTF_MASTER if word == "master" else NTF_SELF
        elif word in ("dev", "brport", "vlan"):
            if (word == "brport" and req.brport is not None) or (word == "vlan" and req.vid >= 0):
                raise ToolExit(255, f'Error: either "{word}" is duplicate, or "{word}" is a '
                                    "garbage.")
            if not args:
                raise ToolExit(255, 'Command line is not complete. Try option "help"')
            value = args.pop(0)
            if word == "vlan":
                req.vid = (_atoi(value) + 0x8000) % 0x10000 - 0x8000  # a C short
            elif word == "dev":
                req.dev = value
            else:
                req.brport = value
    if not req.ndm_flags & (NTF_SELF | NTF_MASTER):
        req.ndm_flags |= NTF_SELF
    return req


def _flush_word(req: FlushReq, word: str) -> None:
    field, on, off, mask = FLUSH_WORDS[word]
    if field == "state":
        req.state, req.state_mask = (req.state | on) & ~off, req.state_mask | mask
    else:
        req.ndm_flags, req.flags_mask = (req.ndm_flags | on) & ~off, req.flags_mask | mask


def fdb_flush_cmd(proc: Proc, argv: list[str]) -> int:
    req = parse_flush(argv)
    if req.dev is None:
        raise ToolExit(255, "Device is a required argument.")
    dev = proc.net.dev_get_by_name(req.dev)
    if dev is None:
        raise ToolExit(255, f'Cannot find bridge device "{req.dev}"')
    brport = None if req.brport is None else proc.net.dev_get_by_name(req.brport)
    if req.brport is not None and brport is None:
        raise ToolExit(255, f'Cannot find bridge port device "{req.brport}"')
    if req.vid >= 4096:
        raise ToolExit(255, f'Invalid VLAN ID "{req.vid}"')
    try:
        rtnl_fdb_flush(dev, brport, req)
    except KernelError as exc:
        rtnl_fail(exc)
    return 0


def rtnl_fdb_flush(dev: NetDevice, brport: NetDevice | None, req: FlushReq) -> None:
    """rtnl_fdb_del with NLM_F_BULK: the port's bridge (master), then the
    device itself (self); only a bridge flushes as itself."""
    if req.vid >= 0 and not 1 <= req.vid <= 4094:
        raise KernelError(errno.ERANGE, "integer out of range")  # NDA_VLAN's policy
    if dev.link_type != "ether":
        raise KernelError(errno.EINVAL, "FDB delete only supported for Ethernet devices")
    done = False
    port = dev.rx_handler
    if isinstance(port, BridgePort) and req.ndm_flags & NTF_MASTER:
        _delete_bulk(port.br, dev, brport, req)
        done = True
    if req.ndm_flags & NTF_SELF:
        if not isinstance(dev, Bridge):
            raise KernelError(errno.EOPNOTSUPP)
        _delete_bulk(dev, None, brport, req)
        done = True
    if not done:
        raise KernelError(errno.EOPNOTSUPP)


def _delete_bulk(br: Bridge, port_dev: NetDevice | None, brport: NetDevice | None,
                 req: FlushReq) -> None:
    """br_fdb_delete_bulk: NUD_PERMANENT means local, NUD_NOARP static, NTF_USE
    added by hand; entries with a VLAN do not exist here."""
    if brport is not None:
        fdb_flush_check_dev(br, brport)
        port_dev = brport
    if req.vid > 0:
        return
    flags = _fdb_bits(req.state, req.ndm_flags)
    mask = _fdb_bits(req.state_mask, req.flags_mask)
    fdb_flush(br, flags & mask, mask, port_dev)


def _fdb_bits(state: int, ntf: int) -> int:
    """NUD_* and NTF_* bits as BR_FDB_* bits (the ones usernet never sets map
    to bits no entry has)."""
    bits = (FDB_LOCAL if state & NUD_PERMANENT else 0) | (FDB_STATIC if state & NUD_NOARP else 0)
    bits |= FDB_ADDED_BY_USER if ntf & NTF_USE else 0
    return bits | (ntf & (NTF_EXT_LEARNED | NTF_OFFLOADED | NTF_STICKY)) << 4
