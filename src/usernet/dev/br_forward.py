"""Sending frames out of bridge ports (``net/bridge/br_forward.c``) and the
bridge device's own transmit (``br_dev_xmit``, ``net/bridge/br_device.c``).

A frame is immutable ``bytes``, so a flood hands the same object to every
port where Linux clones the skb.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..wire.ethernet import ETH_HLEN
from ..wire.gso import gso_size
from . import br_netfilter
from .br_private import (
    BR_BCAST_FLOOD,
    BR_FLOOD,
    BR_HAIRPIN_MODE,
    BR_MCAST_FLOOD,
    BR_PKT_BROADCAST,
    BR_PKT_MULTICAST,
    BR_PKT_UNICAST,
    BR_STATE_FORWARDING,
    VLAN_HLEN,
)
from .datapath import dev_queue_xmit, dev_stats
from .netdevice import BROADCAST_MAC

if TYPE_CHECKING:
    from .bridge import Bridge, BridgePort
    from .netdevice import NetDevice

# The port flag a flood of each kind needs (br_flood); the bridge's own
# multicast and broadcast ignore the port's flag.
_FLOOD_FLAG = {BR_PKT_UNICAST: BR_FLOOD, BR_PKT_MULTICAST: BR_MCAST_FLOOD,
               BR_PKT_BROADCAST: BR_BCAST_FLOOD}


def br_forward(to: BridgePort | None, frame: bytes, indev: NetDevice) -> None:
    """br_forward: to one port, if it forwards and is not where the frame
    came from (unless hairpin), through br_dev_queue_push_xmit."""
    if to is None or to.state != BR_STATE_FORWARDING:
        return
    dev = to.dev
    if dev is indev and not to.flags & BR_HAIRPIN_MODE:
        return
    if br_netfilter.current is not None and indev is not to.br:
        out = br_netfilter.br_nf_forward(to, frame, indev)  # FORWARD, POSTROUTING
        if out is None:
            return
        frame = out
    if len(frame) > dev.mtu + ETH_HLEN + VLAN_HLEN and not gso_size(frame, ETH_HLEN, indev.mtu):
        return  # is_skb_forwardable: too big for the port (unless GSO), dropped uncounted
    dev_queue_xmit(dev, frame)


def br_flood(br: Bridge, frame: bytes, pkt_type: int, indev: NetDevice) -> None:
    """br_flood: to every forwarding port but the ingress one, newest port
    first (br->port_list), skipping ports with flooding of that kind off."""
    need = _FLOOD_FLAG[pkt_type]
    if indev is br and pkt_type != BR_PKT_UNICAST:
        need = 0
    for port in br.port_list:
        if need and not port.flags & need:
            continue
        br_forward(port, frame, indev)


def br_dev_xmit(br: Bridge, frame: bytes) -> None:
    """br_dev_xmit: a frame from the bridge's own stack goes to the port its
    destination was learned on, or is flooded.  Counts tx on the bridge."""
    if len(frame) < ETH_HLEN:
        return
    if type(frame) is not bytes:  # a forwarded bytearray: the FDB needs hashable slices
        frame = bytes(frame)
    st = br.stats or dev_stats(br)
    st.tx_packets += 1
    st.tx_bytes += len(frame)
    if frame[0] & 1:
        kind = BR_PKT_BROADCAST if frame[:6] == BROADCAST_MAC else BR_PKT_MULTICAST
        br_flood(br, frame, kind, br)
        return
    dst = br.fdb.get(frame[:6])
    if dst is not None:
        br_forward(dst.dst, frame, br)
    else:
        br_flood(br, frame, BR_PKT_UNICAST, br)
