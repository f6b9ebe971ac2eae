"""Frames received on a bridge port (``net/bridge/br_input.c``), without STP,
VLAN filtering or multicast snooping; IPv4 frames meet iptables first when
bridge netfilter wants them (:mod:`usernet.dev.br_netfilter`).

``br_handle_frame`` is the port's rx_handler: it answers True when the bridge
consumed the frame and False to let the port's own stack see it (a disabled
port; link-local frames the bridge does not forward).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..wire.ethernet import ETH_HLEN
from .br_fdb import fdb_update
from .br_forward import br_flood, br_forward
from .br_netfilter import br_nf_handle_frame, br_nf_wanted
from .br_private import (
    BR_LEARNING,
    BR_PKT_BROADCAST,
    BR_PKT_MULTICAST,
    BR_PKT_UNICAST,
    BR_STATE_DISABLED,
    BR_STATE_FORWARDING,
    BR_STATE_LEARNING,
    FDB_LOCAL,
)
from .datapath import dev_stats, netif_receive
from .netdevice import BROADCAST_MAC, IFF_PROMISC, ZERO_MAC

if TYPE_CHECKING:
    from .bridge import Bridge, BridgePort
    from .netdevice import NetDevice

LINK_LOCAL_PREFIX = b"\x01\x80\xc2\x00\x00"  # 01:80:c2:00:00:0X, IEEE 802.1D reserved


def br_handle_frame(p: BridgePort, dev: NetDevice, frame: bytes, pkt_type: int,
                    summed: int) -> bool:
    """The rx_handler: True when the bridge took the frame."""
    if type(frame) is not bytes:  # a forwarded bytearray: the FDB needs hashable slices
        frame = bytes(frame)
    src = frame[6:12]
    if src[0] & 1 or src == ZERO_MAC:
        return True  # !is_valid_ether_addr(source): dropped
    if frame[0] == 1 and frame[5] < 0x10 and frame[:5] == LINK_LOCAL_PREFIX:
        verdict = _link_local(p, frame, src)
        if verdict is not None:
            return verdict
    state = p.state
    if state in (BR_STATE_FORWARDING, BR_STATE_LEARNING):
        if br_nf_wanted(p.br, frame):
            br_nf_handle_frame(p, frame, src, summed)  # NF_BR_PRE_ROUTING first
        else:
            br_handle_frame_finish(p, frame, src, summed)
        return True
    return state != BR_STATE_DISABLED  # a disabled port passes; blocking drops


def _link_local(p: BridgePort, frame: bytes, src: bytes) -> bool | None:
    """01:80:c2:00:00:0X: None forwards it like any frame, True drops it, False
    passes it to the port's stack after learning its source."""
    low = frame[5]
    if low == 0:
        return None  # STP group address: forwarded while STP is off
    if low == 1:
        return True  # MAC pause frames are never bridged
    br = p.br
    if br.opt("group_fwd_mask") >> low & 1:
        return None
    if p.flags & BR_LEARNING and p.state in (BR_STATE_LEARNING, BR_STATE_FORWARDING) \
            and not br.opt("no_linklocal_learn"):
        fdb_update(br, p, src)
    return False


def br_handle_frame_finish(p: BridgePort, frame: bytes, src: bytes, summed: int) -> None:
    """Learn the source, then deliver: up the bridge, to one port, or flooded."""
    br = p.br
    if p.flags & BR_LEARNING:
        fdb_update(br, p, src)
    local_rcv = bool(br.flags & IFF_PROMISC)
    if frame[0] & 1:
        if p.state == BR_STATE_LEARNING:
            return
        if frame[:6] == BROADCAST_MAC:
            kind = BR_PKT_BROADCAST
        else:
            kind = BR_PKT_MULTICAST  # no querier: every group floods and goes up
            st = br.stats or dev_stats(br)
            st.multicast += 1
        br_flood(br, frame, kind, p.dev)
        br_pass_frame_up(br, frame, summed)
        return
    if p.state == BR_STATE_LEARNING:
        return
    dst = br.fdb.get(frame[:6])
    if dst is None:
        br_flood(br, frame, BR_PKT_UNICAST, p.dev)
    elif dst.flags & FDB_LOCAL:
        br_pass_frame_up(br, frame, summed)
        return
    else:
        dst.used = br.now()
        br_forward(dst.dst, frame, p.dev)
    if local_rcv:
        br_pass_frame_up(br, frame, summed)


def br_pass_frame_up(br: Bridge, frame: bytes, summed: int) -> None:
    """The frame enters the bridge device's own stack; rx counts there
    (without the Ethernet header, as dev_sw_netstats_rx_add sees skb->len)."""
    st = br.stats or dev_stats(br)
    st.rx_packets += 1
    st.rx_bytes += len(frame) - ETH_HLEN
    netif_receive(br, frame, summed)
