"""veth: a pair of Ethernet devices, each the other's peer, possibly in two
namespaces.  Carrier is on only while both ends are up; deleting either end,
or the namespace holding it, deletes both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..wire.gso import gso_size
from .core import netif_carrier_off, netif_carrier_on
from .datapath import dev_stats, netif_rx, netif_rx_list
from .netdevice import IFF_UP, NetDevice

if TYPE_CHECKING:
    from ..net import Net


# is_skb_forwardable: a frame may exceed the receiver's MTU by its Ethernet
# header and one VLAN tag.
FORWARDABLE_OVERHEAD = 14 + 4


class Veth(NetDevice):
    __slots__ = ("delay_ns", "peer")
    kind = "veth"
    num_queues = 2  # one per CPU of the machine the recordings were made on

    def __init__(self, name: str, dev_addr: bytes, addr_assign_type: int) -> None:
        super().__init__(name, dev_addr, addr_assign_type)
        self.peer: Veth | None = None
        self.carrier = False  # veth_newlink: netif_carrier_off on both ends
        self.delay_ns: int | None = None  # propagation delay to the peer; None: the kernel's

    def ndo_start_xmit(self, frame: bytes) -> None:
        """veth_xmit: the frame enters the peer's backlog.  Both ends' counters
        move here, as Linux's do; a full backlog is the sender's tx_dropped."""
        peer = self.peer
        if peer is None or not peer.flags & IFF_UP:
            dev_stats(self).tx_dropped += 1
            return
        n = len(frame)
        if n > peer.mtu + FORWARDABLE_OVERHEAD and not gso_size(frame, 14, self.mtu):
            # is_skb_forwardable: the receiver drops it, the sender counts it
            # (a GSO super-segment always passes: veth hands it on whole)
            dev_stats(peer).rx_dropped += 1
            dev_stats(self).tx_dropped += 1
            return
        delay = self.delay_ns
        if delay is None:
            delay = self.net.kernel.link_delay_ns
        if not netif_rx(peer, frame, delay):
            dev_stats(self).tx_dropped += 1
            return
        st = self.stats or dev_stats(self)
        st.tx_packets += 1
        st.tx_bytes += n
        st = peer.stats or dev_stats(peer)
        st.rx_packets += 1
        st.rx_bytes += n

    def ndo_start_xmit_list(self, frames: list[bytes]) -> None:
        peer = self.peer
        if peer is None or not peer.flags & IFF_UP:
            dev_stats(self).tx_dropped += len(frames)
            return
        limit = peer.mtu + FORWARDABLE_OVERHEAD
        if max(map(len, frames)) > limit:
            for f in frames:
                self.ndo_start_xmit(f)
            return
        delay = self.delay_ns
        if delay is None:
            delay = self.net.kernel.link_delay_ns
        sent = netif_rx_list(peer, frames, delay)
        if sent < len(frames):
            dev_stats(self).tx_dropped += len(frames) - sent
            frames = frames[:sent]
        n = sum(map(len, frames))
        st = self.stats or dev_stats(self)
        st.tx_packets += sent
        st.tx_bytes += n
        st = peer.stats or dev_stats(peer)
        st.rx_packets += sent
        st.rx_bytes += n

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
