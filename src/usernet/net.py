"""``Net``: one network namespace (Linux's ``struct net``).

A namespace is mostly about names (the RFC): each has its own device name and
ifindex tables, its own sysctl values and per-subsystem state.  That small
state is replicated here, one copy per namespace; large hash tables (sockets,
neighbours) live once in the kernel and are keyed by the namespace.

Memory matters -- a process holds 100,000 of these -- so everything that an
empty namespace does not need is created on first use: the generic storage
array, the nsid table and the sysctl overrides start as ``None``.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .errors import KernelError

if TYPE_CHECKING:
    from .dev.netdevice import NetDevice
    from .ipv4.netns import NetnsIPv4
    from .kernel import Kernel

NET_ALIVE = 0
NET_DYING = 1
NET_DEAD = 2


class Net:
    """A network namespace.  Created and destroyed through :class:`Kernel`."""

    __slots__ = (
        "__weakref__",
        "cookie",
        "dev_by_index",
        "dev_by_name",
        "gen",
        "ifindex",
        "ipv4",
        "is_init_net",
        "kernel",
        "loopback_dev",
        "nsid_holders",
        "nsids",
        "refcnt",
        "state",
        "sysctls",
    )

    def __init__(self, kernel: Kernel, cookie: int, is_init_net: bool = False) -> None:
        self.kernel = kernel
        self.cookie = cookie
        self.is_init_net = is_init_net
        self.refcnt = 1
        self.state = NET_ALIVE
        self.dev_by_name: dict[str, NetDevice] = {}
        self.dev_by_index: dict[int, NetDevice] = {}
        self.ifindex = 0  # last ifindex handed out (allocation is cyclic, as in Linux)
        self.gen: list[Any] | None = None
        self.nsids: dict[Net, int] | None = None
        self.nsid_holders: list[Net] | None = None  # namespaces holding an id for us
        self.sysctls: dict[str, Any] | None = None
        self.loopback_dev: NetDevice | None = None
        self.ipv4: NetnsIPv4 = None  # type: ignore[assignment]  # set by ipv4 pernet init

    # -- reference counting (get_net / put_net) ---------------------------------

    def get(self) -> Net:
        if self.state != NET_ALIVE:
            raise KernelError(errno.ENOENT, "network namespace is being destroyed")
        self.refcnt += 1
        return self

    def put(self) -> None:
        self.refcnt -= 1
        if self.refcnt == 0:
            self.kernel._destroy_net(self)

    @property
    def alive(self) -> bool:
        return self.state == NET_ALIVE

    # -- generic per-subsystem storage (net_generic) -----------------------------

    def gen_get(self, idx: int) -> Any:
        gen = self.gen
        if gen is None or not 0 <= idx < len(gen):
            return None
        return gen[idx]

    def gen_set(self, idx: int, value: Any) -> None:
        gen = self.gen
        if gen is None:
            if value is None:
                return
            gen = self.gen = []
        if idx >= len(gen):
            gen.extend([None] * (idx + 1 - len(gen)))
        gen[idx] = value

    # -- devices (the per-namespace name and index tables) -----------------------

    def dev_get_by_name(self, name: str) -> NetDevice | None:
        return self.dev_by_name.get(name)

    def dev_get_by_index(self, ifindex: int) -> NetDevice | None:
        return self.dev_by_index.get(ifindex)

    def devices(self) -> Iterator[NetDevice]:
        """Devices in ifindex order, the order of a netlink dump."""
        byidx = self.dev_by_index
        for idx in sorted(byidx):
            yield byidx[idx]

    def alloc_ifindex(self) -> int:
        """Next free ifindex, cyclic from the last one handed out (dev_index_reserve)."""
        idx = self.ifindex
        byidx = self.dev_by_index
        while True:
            idx += 1
            if idx > 0x7FFFFFFF:
                idx = 1
            if idx not in byidx:
                self.ifindex = idx
                return idx

    # -- peer namespace ids (peernet2id) ---------------------------------------------

    def peernet2id(self, peer: Net) -> int:
        """The id this namespace has for ``peer``, or -1 when none is assigned."""
        if self.nsids is None:
            return -1
        return self.nsids.get(peer, -1)

    def peernet2id_alloc(self, peer: Net) -> int:
        """The id of ``peer``, allocating the lowest free one on first need."""
        if peer is self:
            return -1
        nsids = self.nsids
        if nsids is None:
            nsids = self.nsids = {}
        nsid = nsids.get(peer)
        if nsid is not None:
            return nsid
        if not peer.alive:
            return -1
        used = set(nsids.values())
        nsid = 0
        while nsid in used:
            nsid += 1
        nsids[peer] = nsid
        if peer.nsid_holders is None:
            peer.nsid_holders = []
        peer.nsid_holders.append(self)
        return nsid

    def unhash_nsids(self) -> None:
        """A dying namespace: every other namespace forgets its id for it."""
        for holder in self.nsid_holders or ():
            if holder.nsids is not None:
                holder.nsids.pop(self, None)
        self.nsid_holders = None
        for peer in self.nsids or ():
            if peer.nsid_holders is not None and self in peer.nsid_holders:
                peer.nsid_holders.remove(self)
        self.nsids = None

    def get_net_ns_by_id(self, nsid: int) -> Net | None:
        if self.nsids:
            for peer, i in self.nsids.items():
                if i == nsid:
                    return peer
        return None

    def __repr__(self) -> str:
        kind = "init_net" if self.is_init_net else f"net#{self.cookie}"
        return f"<Net {kind}>"
