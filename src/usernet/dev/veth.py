"""veth: a pair of Ethernet devices, each the other's peer, possibly in two
namespaces.  Carrier is on only while both ends are up; deleting either end,
or the namespace holding it, deletes both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core import netif_carrier_off, netif_carrier_on
from .netdevice import IFF_UP, NetDevice

if TYPE_CHECKING:
    from ..net import Net


class Veth(NetDevice):
    __slots__ = ("peer",)
    kind = "veth"
    num_queues = 2  # one per CPU of the machine the recordings were made on

    def __init__(self, name: str, dev_addr: bytes, addr_assign_type: int) -> None:
        super().__init__(name, dev_addr, addr_assign_type)
        self.peer: Veth | None = None
        self.carrier = False  # veth_newlink: netif_carrier_off on both ends

    def iflink(self) -> int:
        return self.peer.ifindex if self.peer is not None else 0

    def link_net(self) -> Net | None:
        return self.peer.net if self.peer is not None else None

    def ndo_open(self) -> None:
        peer = self.peer
        if peer is not None and peer.flags & IFF_UP:
            netif_carrier_on(self)
            netif_carrier_on(peer)

    def ndo_stop(self) -> None:
        netif_carrier_off(self)
        if self.peer is not None:
            netif_carrier_off(self.peer)

    def dellink(self, batch: list[NetDevice]) -> None:
        batch.append(self)
        if self.peer is not None:
            batch.append(self.peer)

    def uninit(self) -> None:
        peer = self.peer
        self.peer = None
        if peer is not None and peer.peer is self:
            peer.peer = None

    def linkinfo(self) -> dict[str, Any] | None:
        return {"info_kind": "veth"}
