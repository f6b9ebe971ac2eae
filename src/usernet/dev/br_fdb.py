"""The bridge forwarding database (``net/bridge/br_fdb.c``), without VLANs.

One entry per MAC for the whole bridge (``br->fdb_hash_tbl``), kept in a dict
whose insertion order is Linux's ``fdb_list`` reversed: a dump lists a
device's entries newest first.  An entry points at the port the MAC was seen
on (``dst``); local entries (the bridge's and the ports' own MACs) may have no
port.  Learned entries age: one garbage-collection timer per bridge
(``br->gc_work``), armed only while entries that can age exist.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from ..errors import KernelError
from .br_private import (
    BR_STATE_FORWARDING,
    BR_STATE_LEARNING,
    FDB_ADDED_BY_USER,
    FDB_LOCAL,
    FDB_STATIC,
    GC_MIN_DELAY_NS,
    NUD_NOARP,
    NUD_PERMANENT,
    NUD_REACHABLE,
    NUD_STALE,
)

if TYPE_CHECKING:
    from .bridge import Bridge, BridgePort
    from .netdevice import NetDevice


class FdbEntry:
    """``struct net_bridge_fdb_entry``; times are virtual nanoseconds."""

    __slots__ = ("dst", "flags", "mac", "updated", "used")

    def __init__(self, mac: bytes, dst: BridgePort | None, flags: int, now: int) -> None:
        self.mac = mac
        self.dst = dst
        self.flags = flags
        self.updated = now  # last seen as a source (learning) or changed by hand
        self.used = now  # last used to forward


def is_valid_ether_addr(mac: bytes) -> bool:
    return not mac[0] & 1 and mac != b"\x00" * 6


def fdb_state(br: Bridge, f: FdbEntry) -> int:
    """fdb_to_nud: the state a dump reports."""
    if f.flags & FDB_LOCAL:
        return NUD_PERMANENT
    if f.flags & FDB_STATIC:
        return NUD_NOARP
    if f.updated + br.ageing_ns <= br.now():
        return NUD_STALE
    return NUD_REACHABLE


def port_entries(br: Bridge, port: BridgePort | None) -> list[FdbEntry]:
    """The entries of one port (None: the bridge's own), newest first."""
    return [f for f in reversed(br.fdb.values()) if f.dst is port]


# -- creating and deleting ----------------------------------------------------------


def fdb_create(br: Bridge, dst: BridgePort | None, mac: bytes, flags: int) -> FdbEntry:
    f = br.fdb[mac] = FdbEntry(mac, dst, flags, br.now())
    if not flags & FDB_STATIC:
        gc_arm(br, f.updated + br.ageing_ns)
    return f


def fdb_delete(br: Bridge, f: FdbEntry) -> None:
    del br.fdb[f.mac]


def fdb_delete_local(br: Bridge, p: BridgePort | None, f: FdbEntry) -> None:
    """A local entry leaves ``p``: another port, or the bridge, with the same
    MAC keeps it; otherwise it goes."""
    for op in br.ports.values():
        if op is not p and op.dev.dev_addr == f.mac:
            f.dst = op
            f.flags &= ~FDB_ADDED_BY_USER
            return
    if p is not None and br.dev_addr == f.mac:
        f.dst = None
        f.flags &= ~FDB_ADDED_BY_USER
        return
    fdb_delete(br, f)


def fdb_add_local(br: Bridge, source: BridgePort | None, mac: bytes) -> None:
    """br_fdb_add_local: the first port (or bridge) with an address keeps it;
    a learned entry for it gives way."""
    if not is_valid_ether_addr(mac):
        return
    f = br.fdb.get(mac)
    if f is not None:
        if f.flags & FDB_LOCAL:
            return
        fdb_delete(br, f)
    fdb_create(br, source, mac, FDB_LOCAL | FDB_STATIC)


def fdb_changeaddr(p: BridgePort, mac: bytes) -> None:
    """br_fdb_changeaddr: a port's MAC changed."""
    br = p.br
    for f in br.fdb.values():
        if f.dst is p and f.flags & FDB_LOCAL and not f.flags & FDB_ADDED_BY_USER:
            fdb_delete_local(br, p, f)
            break
    fdb_add_local(br, p, mac)


def fdb_change_mac_address(br: Bridge, mac: bytes) -> None:
    """br_fdb_change_mac_address: called before the bridge's MAC changes."""
    f = br.fdb.get(br.dev_addr)
    if f is not None and f.dst is None and f.flags & FDB_LOCAL \
            and not f.flags & FDB_ADDED_BY_USER:
        fdb_delete_local(br, None, f)
    fdb_add_local(br, None, mac)


def fdb_delete_by_port(br: Bridge, p: BridgePort, do_all: bool) -> None:
    """br_fdb_delete_by_port: a disabled port loses what it learned; a port
    that leaves loses everything."""
    for f in [f for f in br.fdb.values() if f.dst is p]:
        if not do_all and f.flags & FDB_STATIC:
            continue
        if f.flags & FDB_LOCAL:
            fdb_delete_local(br, p, f)
        else:
            fdb_delete(br, f)
    gc_check(br)


def fdb_flush(br: Bridge, flags: int = 0, mask: int = FDB_STATIC,
              dev: NetDevice | None = None) -> None:
    """br_fdb_flush: delete the entries whose flags under ``mask`` equal
    ``flags`` (the default, ``fdb_flush``: every entry that is not static),
    optionally only those of one port (or, with the bridge, of no port).
    Local entries go too, without the care fdb_delete_local takes."""
    for f in list(br.fdb.values()):
        if dev is not None and (br if f.dst is None else f.dst.dev) is not dev:
            continue
        if f.flags & mask != flags:
            continue
        fdb_delete(br, f)
    gc_check(br)


def fdb_flush_check_dev(br: Bridge, dev: NetDevice) -> None:
    """__fdb_flush_validate_ifindex: ``brport`` names this bridge or its port."""
    if dev is br:
        return
    master = dev.master
    if master is not None and master.kind == "bridge":
        if master is not br:
            raise KernelError(errno.EINVAL, "bridge: Port belongs to a different bridge device")
        return
    if dev.kind == "bridge":
        raise KernelError(errno.EINVAL,
                          "bridge: Flush bridge device does not match target bridge device")
    raise KernelError(errno.EINVAL, "bridge: Flush device is not a bridge or bridge port")


# -- learning -----------------------------------------------------------------------


def fdb_update(br: Bridge, source: BridgePort, mac: bytes) -> None:
    """br_fdb_update: learn (or refresh) where ``mac`` lives.  A local entry
    never moves; any other entry follows the MAC to its new port."""
    if not br.ageing_ns:
        return  # ageing_time 0: the bridge always floods
    f = br.fdb.get(mac)
    if f is None:
        fdb_create(br, source, mac, 0)
    elif not f.flags & FDB_LOCAL:
        f.updated = br.now()
        if f.dst is not source:
            f.dst = source


# -- entries added and deleted by hand (``bridge fdb add|replace|del ... master``) ----


def fdb_add_entry(p: BridgePort, mac: bytes, state: int, *, excl: bool) -> None:
    """fdb_add_entry for a port: create, or (without ``excl``) replace."""
    br = p.br
    if not state & (NUD_PERMANENT | NUD_NOARP) and \
            p.state not in (BR_STATE_LEARNING, BR_STATE_FORWARDING):
        raise KernelError(errno.EPERM)  # a port that cannot learn takes no dynamic entry
    f = br.fdb.get(mac)
    modified = f is None
    if f is None:
        f = fdb_create(br, p, mac, 0)
    elif excl:
        raise KernelError(errno.EEXIST)
    elif f.dst is not p:
        f.dst = p
        modified = True
    if fdb_state(br, f) != state:
        f.flags &= ~(FDB_LOCAL | FDB_STATIC)
        if state & NUD_PERMANENT:
            f.flags |= FDB_LOCAL | FDB_STATIC
        elif state & NUD_NOARP:
            f.flags |= FDB_STATIC
        modified = True
    f.flags |= FDB_ADDED_BY_USER
    f.used = br.now()
    if modified:
        f.updated = f.used
    if f.flags & FDB_STATIC:
        gc_check(br)
    else:
        gc_arm(br, f.updated + br.ageing_ns)


def fdb_delete_entry(p: BridgePort, mac: bytes) -> None:
    """fdb_delete_by_addr_and_port."""
    br = p.br
    f = br.fdb.get(mac)
    if f is None or f.dst is not p:
        raise KernelError(errno.ENOENT)
    fdb_delete(br, f)
    gc_check(br)


# -- ageing (br_fdb_cleanup) ------------------------------------------------------------


def gc_arm(br: Bridge, when: int) -> None:
    """Make sure the collector runs by ``when``."""
    t = br.gc_timer
    if br.sched is None or (t is not None and t.pending and t.when <= when):
        return
    if t is not None:
        t.cancel()
    br.gc_timer = br.sched.call_at(when, fdb_cleanup, br)


def gc_check(br: Bridge) -> None:
    """Stop the collector once no entry can age, so an idle kernel has no timer."""
    t = br.gc_timer
    if t is not None and not any(not f.flags & FDB_STATIC for f in br.fdb.values()):
        t.cancel()
        br.gc_timer = None


def gc_kick(br: Bridge) -> None:
    """br_set_ageing_time: collect at once with the new hold time."""
    if any(not f.flags & FDB_STATIC for f in br.fdb.values()):
        gc_arm(br, br.now())


def fdb_cleanup(br: Bridge) -> None:
    """Delete the entries that aged out; re-arm for the next one due."""
    br.gc_timer = None
    now = br.now()
    hold = br.ageing_ns
    due: int | None = None
    expired = []
    for f in br.fdb.values():
        if f.flags & FDB_STATIC:
            continue
        when = f.updated + hold
        if when <= now:
            expired.append(f)
        elif due is None or when < due:
            due = when
    for f in expired:
        fdb_delete(br, f)
    if due is not None:
        gc_arm(br, max(due, now + GC_MIN_DELAY_NS))
