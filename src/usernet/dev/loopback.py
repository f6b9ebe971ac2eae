"""The loopback device: one per namespace, created by the first pernet device
hook and destroyed last.  It can never leave its namespace (``netns_immutable``)
and cannot be deleted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..pernet import PernetOperations
from .core import register_netdevice, unregister_netdevice_many
from .datapath import PACKET_OUTGOING, dev_stats, netif_rx
from .netdevice import IFF_LOOPBACK, IFF_UP, NET_ADDR_PERM, ZERO_MAC, NetDevice

if TYPE_CHECKING:
    from ..net import Net


class Loopback(NetDevice):
    # The route each queued frame was sent on, in backlog order: a looped
    # packet keeps its dst (skb_dst_force), so input needs no second lookup.
    __slots__ = ("dst_q",)
    link_type = "loopback"
    default_mtu = 65536
    min_mtu = 0
    max_mtu = 0  # no upper limit, as Linux reports it (maxmtu 0)
    netns_immutable = True
    iff_base = IFF_LOOPBACK

    def __init__(self) -> None:
        super().__init__("lo", ZERO_MAC, NET_ADDR_PERM)
        self.broadcast = ZERO_MAC
        self.dst_q: dict[int, tuple[bytes, Any]] = {}

    def xmit_with_dst(self, frame: bytes, dst: Any) -> None:
        """dev_queue_xmit for a routed packet: the route travels with it."""
        if not self.flags & IFF_UP:
            return
        if self.taps:
            for tap in self.taps:
                tap(self, frame, PACKET_OUTGOING)
        if self._loop(frame):
            self.dst_q[id(frame)] = (frame, dst)

    def take_dst(self, frame: bytes) -> Any:
        """The route ``frame`` was sent on (None for a frame from elsewhere)."""
        entry = self.dst_q.pop(id(frame), None)
        return entry[1] if entry is not None and entry[0] is frame else None

    def ndo_stop(self) -> None:
        self.dst_q.clear()  # frames in flight are dropped on a down device

    def ndo_start_xmit(self, frame: bytes) -> None:
        """loopback_xmit: counted as sent and received, then back in through
        the backlog -- never received inside the sender's call."""
        self._loop(frame)

    def _loop(self, frame: bytes) -> bool:
        n = len(frame)
        st = dev_stats(self)
        if netif_rx(self, frame, self.net.kernel.link_delay_ns):
            st.tx_packets += 1
            st.tx_bytes += n
            st.rx_packets += 1
            st.rx_bytes += n
            return True
        st.rx_dropped += 1
        return False


def loopback_net_init(net: Net) -> None:
    dev = Loopback()
    register_netdevice(net, dev)
    net.loopback_dev = dev


def loopback_net_exit(net: Net) -> None:
    dev = net.loopback_dev
    if dev is not None:
        unregister_netdevice_many((dev,))
        net.loopback_dev = None


loopback_net_ops = PernetOperations("loopback", init=loopback_net_init, exit=loopback_net_exit)
