"""The neighbour (ARP) table (``net/core/neighbour.c``).

One table for the whole kernel, keyed by (device, address): the RFC's rule
for large hash tables -- shared, and filtered by namespace through the
device's tag, so a lookup costs the same however many namespaces exist.
This layer holds administratively managed entries; resolution (ARP, NUD
timers) is driven by the data path.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import KernelError

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..net import Net
    from ..sched import Timer

NUD_NONE = 0x00
NUD_INCOMPLETE = 0x01
NUD_REACHABLE = 0x02
NUD_STALE = 0x04
NUD_DELAY = 0x08
NUD_PROBE = 0x10
NUD_FAILED = 0x20
NUD_NOARP = 0x40
NUD_PERMANENT = 0x80
NUD_VALID = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY
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

HZ = 250  # the oracle kernel's tick rate: neighbour times are kept in jiffies
USER_HZ = 100
SKB_TRUESIZE_ETH = 2090  # SKB_TRUESIZE(ETH_FRAME_LEN): unres_qlen <-> unres_qlen_bytes

# Linux's neigh_parms defaults for arp_tbl (net/ipv4/arp.c); times in jiffies.
NEIGH_PARMS_DEFAULTS: dict[str, int] = {
    "mcast_probes": 3,
    "ucast_probes": 3,
    "mcast_reprobes": 0,
    "app_probes": 0,
    "retrans_time": 1 * HZ,
    "base_reachable_time": 30 * HZ,
    "delay_probe_time": 5 * HZ,
    "gc_staletime": 60 * HZ,
    "interval_probe_time_ms": 5 * HZ,
    "queue_len_bytes": 212992,
    "proxy_qlen": 64,
    "anycast_delay": 1 * HZ,
    "proxy_delay": (8 * HZ) // 10,
    "locktime": 1 * HZ,
}


NUD_CONNECTED = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE
NUD_IN_TIMER = NUD_INCOMPLETE | NUD_REACHABLE | NUD_DELAY | NUD_PROBE


class Neighbour:
    """One entry; ``dev`` is None only for a proxy entry valid on every device.

    ``hh`` is the Ethernet header frames to this neighbour start with (Linux's
    hh_cache), rebuilt whenever the link-layer address changes, so sending to
    a resolved neighbour is one concatenation.  Times are in jiffies."""

    __slots__ = ("addr", "confirmed", "dev", "flags", "hh", "lladdr", "nud_state", "probes",
                 "queue", "reachable_time", "timer", "updated", "used")

    def __init__(self, dev: NetDevice | None, addr: int, lladdr: bytes | None, nud_state: int,
                 flags: int = 0) -> None:
        self.dev = dev
        self.addr = addr
        self.lladdr = lladdr
        self.nud_state = nud_state
        self.flags = flags
        self.hh = b""
        self.probes = 0
        self.queue: list[tuple[bytes, Any]] | None = None  # arp_queue: (packet, route)
        self.timer: Timer | None = None
        self.confirmed = self.updated = self.used = 0
        self.reachable_time = 0
        if lladdr is not None:
            self.set_lladdr(lladdr)

    def set_lladdr(self, lladdr: bytes) -> None:
        self.lladdr = lladdr
        dev = self.dev
        if dev is not None:
            self.hh = lladdr + dev.dev_addr + b"\x08\x00"

    def del_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class NeighTable:
    """``arp_tbl``: entries keyed (device, address); proxies keyed (net, address, device)."""

    __slots__ = ("by_dev", "default_parms", "entries", "parms", "proxies")

    def __init__(self) -> None:
        self.entries: dict[tuple[NetDevice, int], Neighbour] = {}
        # Each device's addresses in ``entries`` (Linux 6.13's dev->neighbours):
        # flushing or dumping one device must not walk every namespace's entries.
        self.by_dev: dict[NetDevice, dict[int, None]] = {}
        self.proxies: dict[tuple[Net, int, NetDevice | None], Neighbour] = {}
        # tbl->parms: the global defaults (net.ipv4.neigh.default, init_net only)
        self.default_parms: dict[str, int] = dict(NEIGH_PARMS_DEFAULTS)
        # Per-device values that differ from default_parms (net.ipv4.neigh.DEV);
        # a device without an entry reads the defaults.  Dropped on unregister.
        self.parms: dict[NetDevice, dict[str, int]] = {}

    # -- parameters (neigh_parms) ---------------------------------------------

    def parm(self, dev: NetDevice | None, name: str) -> int:
        """NEIGH_VAR(parms, name) of ``dev`` (None: the defaults); times in jiffies."""
        if dev is not None:
            own = self.parms.get(dev)
            if own is not None and name in own:
                return own[name]
        return self.default_parms[name]

    def set_parm(self, dev: NetDevice, name: str, value: int) -> None:
        self.parms.setdefault(dev, {})[name] = value

    def set_default_parm(self, name: str, value: int, others: Iterable[NetDevice]) -> None:
        """Write tbl->parms.  neigh_copy_dflt_parms reaches only init_net's
        devices; ``others`` (devices elsewhere) keep the copy they took at
        creation, so their old value is pinned first."""
        old = self.default_parms[name]
        for dev in others:
            self.parms.setdefault(dev, {}).setdefault(name, old)
        self.default_parms[name] = value

    def forget_parms(self, dev: NetDevice) -> None:
        self.parms.pop(dev, None)

    def lookup(self, dev: NetDevice, addr: int) -> Neighbour | None:
        return self.entries.get((dev, addr))

    def update(self, dev: NetDevice, addr: int, lladdr: bytes | None, state: int, *,
               create: bool, replace: bool, excl: bool, flags: int = 0) -> None:
        """RTM_NEWNEIGH (neigh_add + __neigh_update), refusing before any change."""
        key = (dev, addr)
        old = self.entries.get(key)
        if old is None and not create:
            raise KernelError(errno.ENOENT)
        if old is not None and excl:
            raise KernelError(errno.EEXIST)
        if state & NUD_VALID and lladdr is None and dev.dev_addr and \
                (old is None or not old.nud_state & NUD_VALID or old.lladdr is None):
            raise KernelError(errno.EINVAL, "No link layer address given")
        if old is None:
            self.entries[key] = Neighbour(dev, addr, lladdr, state, flags)
            self.by_dev.setdefault(dev, {})[addr] = None
            return
        old_state = old.nud_state
        if lladdr is not None:
            old.set_lladdr(lladdr)
        old.nud_state = state
        old.flags = flags
        from .neigh_resolve import neigh_admin_changed

        neigh_admin_changed(old, old_state)

    def insert(self, n: Neighbour) -> None:
        """A new entry made by the data path (ARP, output to a new next hop)."""
        assert n.dev is not None
        self.entries[(n.dev, n.addr)] = n
        self.by_dev.setdefault(n.dev, {})[n.addr] = None

    def delete(self, dev: NetDevice, addr: int) -> None:
        n = self.entries.pop((dev, addr), None)
        if n is None:
            raise KernelError(errno.ENOENT)
        n.del_timer()
        n.queue = None
        n.nud_state = NUD_NONE  # n->dead: routes that memoised it look again
        self._unindex(dev, addr)

    def _unindex(self, dev: NetDevice, addr: int) -> None:
        addrs = self.by_dev[dev]
        del addrs[addr]
        if not addrs:
            del self.by_dev[dev]

    def ifdown(self, dev: NetDevice, skip_perm: bool = False) -> None:
        """neigh_ifdown: forget a device's entries (permanent too unless skipped)."""
        entries = self.entries
        for addr in list(self.by_dev.get(dev, ())):
            n = entries[(dev, addr)]
            if not (skip_perm and n.nud_state & NUD_PERMANENT):
                n.del_timer()
                n.queue = None
                n.nud_state = NUD_NONE
                del entries[(dev, addr)]
                self._unindex(dev, addr)
        if self.proxies:
            for pk in [pk for pk in self.proxies if pk[2] is dev]:
                del self.proxies[pk]

    def dump(self, net: Net) -> list[Neighbour]:
        """Entries of one namespace, device by device."""
        entries = self.entries
        return [entries[(dev, addr)] for dev in net.devices()
                for addr in self.by_dev.get(dev, ())]

    def add_proxy(self, net: Net, addr: int, dev: NetDevice | None) -> None:
        """pneigh_lookup(create): adding an existing proxy entry is no error."""
        key = (net, addr, dev)
        if key not in self.proxies:
            self.proxies[key] = Neighbour(dev, addr, None, NUD_NONE, NTF_PROXY)

    def del_proxy(self, net: Net, addr: int, dev: NetDevice | None) -> None:
        if self.proxies.pop((net, addr, dev), None) is None:
            raise KernelError(errno.ENOENT)

    def dump_proxies(self, net: Net) -> list[Neighbour]:
        return [n for (pnet, _, _), n in self.proxies.items() if pnet is net]


def neigh_parm(dev: NetDevice, name: str) -> int:
    """A neighbour parameter of ``dev`` (times in jiffies, see :data:`HZ`)."""
    return dev.net.kernel.neigh_tbl.parm(dev, name)


def neigh_parm_ms(dev: NetDevice, name: str) -> int:
    """A time parameter of ``dev`` in milliseconds (retrans_time, proxy_delay, ...)."""
    return neigh_parm(dev, name) * 1000 // HZ
