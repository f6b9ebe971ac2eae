"""The neighbour (ARP) table (``net/core/neighbour.c``).

One table for the whole kernel, keyed by (device, address): the RFC's rule
for large hash tables -- shared, and filtered by namespace through the
device's tag, so a lookup costs the same however many namespaces exist.
This layer holds administratively managed entries; resolution (ARP, NUD
timers) is driven by the data path.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from ..errors import KernelError

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..net import Net

NUD_NONE = 0x00
NUD_INCOMPLETE = 0x01
NUD_REACHABLE = 0x02
NUD_STALE = 0x04
NUD_DELAY = 0x08
NUD_PROBE = 0x10
NUD_FAILED = 0x20
NUD_NOARP = 0x40
NUD_PERMANENT = 0x80
NUD_NAMES = (
    (NUD_INCOMPLETE, "INCOMPLETE"), (NUD_REACHABLE, "REACHABLE"), (NUD_STALE, "STALE"),
    (NUD_DELAY, "DELAY"), (NUD_PROBE, "PROBE"), (NUD_FAILED, "FAILED"), (NUD_NOARP, "NOARP"),
    (NUD_PERMANENT, "PERMANENT"),
)

NTF_USE = 0x01
NTF_SELF = 0x02
NTF_MASTER = 0x04
NTF_PROXY = 0x08
NTF_EXT_LEARNED = 0x10
NTF_ROUTER = 0x80


class Neighbour:
    __slots__ = ("addr", "dev", "flags", "lladdr", "nud_state")

    def __init__(self, dev: NetDevice, addr: int, lladdr: bytes | None, nud_state: int,
                 flags: int = 0) -> None:
        self.dev = dev
        self.addr = addr
        self.lladdr = lladdr
        self.nud_state = nud_state
        self.flags = flags


class NeighTable:
    """``arp_tbl``: entries keyed (device, address); proxies keyed (net, address, device)."""

    __slots__ = ("entries", "proxies")

    def __init__(self) -> None:
        self.entries: dict[tuple[NetDevice, int], Neighbour] = {}
        self.proxies: dict[tuple[Net, int, NetDevice | None], Neighbour] = {}

    def lookup(self, dev: NetDevice, addr: int) -> Neighbour | None:
        return self.entries.get((dev, addr))

    def update(self, dev: NetDevice, addr: int, lladdr: bytes | None, state: int, *,
               create: bool, replace: bool, excl: bool, flags: int = 0) -> None:
        """RTM_NEWNEIGH (neigh_add)."""
        key = (dev, addr)
        old = self.entries.get(key)
        if old is not None:
            if excl:
                raise KernelError(errno.EEXIST)
            if not replace and (old.nud_state & (NUD_PERMANENT | NUD_NOARP)) and old.lladdr \
                    and lladdr and lladdr != old.lladdr:
                # neigh_update refuses to override a static entry without NLM_F_REPLACE
                raise KernelError(errno.EPERM)
            old.lladdr = lladdr if lladdr is not None else old.lladdr
            old.nud_state = state
            old.flags = flags
            return
        if not create:
            raise KernelError(errno.ENOENT)
        self.entries[key] = Neighbour(dev, addr, lladdr, state, flags)

    def delete(self, dev: NetDevice, addr: int) -> None:
        if self.entries.pop((dev, addr), None) is None:
            raise KernelError(errno.ENOENT)

    def ifdown(self, dev: NetDevice, skip_perm: bool = False) -> None:
        """neigh_ifdown: forget a device's entries (permanent too unless skipped)."""
        doomed = [k for k, n in self.entries.items()
                  if n.dev is dev and not (skip_perm and n.nud_state & NUD_PERMANENT)]
        for k in doomed:
            del self.entries[k]
        for k in [k for k in self.proxies if k[2] is dev]:
            del self.proxies[k]

    def dump(self, net: Net) -> list[Neighbour]:
        """Entries of one namespace: the shared table filtered by the tag."""
        return [n for n in self.entries.values() if n.dev.net is net]

    def add_proxy(self, net: Net, addr: int, dev: NetDevice | None) -> None:
        key = (net, addr, dev)
        if key not in self.proxies:
            assert dev is not None
            self.proxies[key] = Neighbour(dev, addr, None, NUD_NONE, NTF_PROXY)

    def del_proxy(self, net: Net, addr: int, dev: NetDevice | None) -> None:
        if self.proxies.pop((net, addr, dev), None) is None:
            raise KernelError(errno.ENOENT)

    def dump_proxies(self, net: Net) -> list[Neighbour]:
        return [n for (pnet, _, _), n in self.proxies.items() if pnet is net]
