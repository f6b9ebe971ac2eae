"""Moving frames between devices (``net/core/dev.c``).

``dev_queue_xmit`` hands a frame to a device's driver; a driver that delivers
to another device (veth, loopback) calls ``netif_rx``, which queues the frame
on the receiver's backlog.  The backlog is drained by one scheduler event per
burst (NAPI's poll), so frames cost a deque append, not a timer each, and a
reply is never handled inside the call that sent its request.
``netif_receive`` is ``__netif_receive_skb_core``: taps (packet capture), the
bridge's rx_handler, then the protocol handler registered for the EtherType.

A frame is ``bytes``: immutable, so a flood, a capture and the sender may all
hold the same object.  Checksum offload travels beside it as ``summed``
(skb->ip_summed): CHECKSUM_UNNECESSARY means the receiver need not verify
L4 checksums, as veth promises for everything it forwards (NETIF_F_RXCSUM).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..wire.ethernet import ETH_HLEN, ETH_P_IPV6
from ..wire.gso import gso_segment, gso_size
from .netdevice import IFF_UP
from .stats import DevStats

if TYPE_CHECKING:
    from .netdevice import NetDevice

# skb->pkt_type
PACKET_HOST = 0
PACKET_BROADCAST = 1
PACKET_MULTICAST = 2
PACKET_OTHERHOST = 3
PACKET_OUTGOING = 4

# skb->ip_summed
CHECKSUM_NONE = 0
CHECKSUM_UNNECESSARY = 1

NETDEV_MAX_BACKLOG = 1000  # net.core.netdev_max_backlog

# A packet tap sees (device, frame, PACKET_OUTGOING or the received pkt_type).
Tap = Callable[["NetDevice", bytes, int], None]
# The protocol handlers (dev_add_pack): ethertype -> handler(dev, frame, pkt_type, summed)
ProtoHandler = Callable[["NetDevice", bytes, int, int], None]
ptype_base: dict[int, ProtoHandler] = {}
# List handlers (Linux's ptype->list_func): ethertype -> handler(dev, frames, summed)
ptype_list: dict[int, Callable[[NetDevice, list[bytes], int], None]] = {}


# Devices that take TCP super-segments whole (NETIF_F_GSO_SOFTWARE / TSO):
# veth, bridges, dummy and lo; others get them cut (gso_segment).
GSO_KINDS = frozenset(("veth", "bridge", "dummy"))


def dev_can_gso(dev: NetDevice) -> bool:
    return dev.kind in GSO_KINDS or dev.link_type == "loopback"


def dev_add_pack(ethertype: int, handler: ProtoHandler) -> None:
    ptype_base[ethertype] = handler


def dev_stats(dev: NetDevice) -> DevStats:
    st = dev.stats
    if st is None:
        st = dev.stats = DevStats()
    return st


def dev_queue_xmit(dev: NetDevice, frame: bytes) -> None:
    """Transmit through the device's qdisc.  A device that is down or has no
    carrier has the noop qdisc, which drops without touching device counters."""
    if not dev.flags & IFF_UP or not dev.carrier:
        return
    if len(frame) > dev.mtu + ETH_HLEN + 4 and not dev_can_gso(dev):
        size = gso_size(frame, ETH_HLEN, dev.mtu)
        if size:
            # validate_xmit_skb: a device without GSO gets the segments
            for seg in gso_segment(frame, ETH_HLEN, size):
                dev_queue_xmit(dev, seg)
            return
    if dev.taps:
        for tap in dev.taps:
            tap(dev, frame, PACKET_OUTGOING)
    dev.ndo_start_xmit(frame)


def dev_queue_xmit_list(dev: NetDevice, frames: list[bytes]) -> None:
    """dev_queue_xmit for a burst to one device (a NAPI poll's output)."""
    if not frames or not dev.flags & IFF_UP or not dev.carrier:
        return
    if dev.taps:
        for frame in frames:
            for tap in dev.taps:
                tap(dev, frame, PACKET_OUTGOING)
    dev.ndo_start_xmit_list(frames)


def netif_rx_list(dev: NetDevice, frames: list[bytes], delay_ns: int) -> int:
    """netif_rx for a burst; returns how many fit in the backlog.  The burst
    stays one backlog entry: no per-frame bookkeeping."""
    q = dev.backlog
    if q is None:
        q = dev.backlog = deque()
    room = NETDEV_MAX_BACKLOG - dev.backlog_len
    if room <= 0:
        return 0
    if len(frames) > room:
        frames = frames[:room]
    sched = dev.net.kernel.sched
    due = sched.now + delay_ns
    q.append((due, frames))
    dev.backlog_len += len(frames)
    if not dev.napi_armed:
        dev.napi_armed = True
        sched.call_at(due, napi_poll, dev)
    return len(frames)


class RxBurst(list[bytes]):
    """A backlog entry netif_rx made itself, so it may grow: frames sent one
    by one at the same instant join the same entry (a burst), as they would
    be received in one NAPI poll anyway.  Lists handed to netif_rx_list
    belong to their caller and are never grown."""

    __slots__ = ()


def netif_rx(dev: NetDevice, frame: bytes, delay_ns: int = 0) -> bool:
    """Queue ``frame`` for reception on ``dev`` after ``delay_ns`` (the link's
    propagation delay).  False when the backlog is full (the caller counts)."""
    q = dev.backlog
    if q:
        due, burst = q[-1]
        if (burst.__class__ is RxBurst and due == dev.net.kernel.sched.now + delay_ns
                and dev.backlog_len < NETDEV_MAX_BACKLOG):
            burst.append(frame)
            dev.backlog_len += 1
            return True
    return netif_rx_list(dev, RxBurst((frame,)), delay_ns) == 1


def napi_poll(dev: NetDevice) -> None:
    """Receive every frame whose arrival time has come; re-arm for the rest."""
    q = dev.backlog
    if q is None:
        dev.napi_armed = False
        return
    sched = dev.net.kernel.sched
    now = sched.now
    if len(q) == 1 and q[0][0] <= now:
        batch = q.popleft()[1]
    else:
        batch = []
        while q and q[0][0] <= now:
            batch.extend(q.popleft()[1])
    dev.backlog_len -= len(batch)
    netif_receive_list(dev, batch, CHECKSUM_UNNECESSARY)
    if q:
        sched.call_at(q[0][0], napi_poll, dev)
    else:
        dev.napi_armed = False


def netif_receive(dev: NetDevice, frame: bytes, summed: int = CHECKSUM_NONE) -> None:
    """__netif_receive_skb_core: taps, rx_handler (bridge), protocol dispatch."""
    if not dev.flags & IFF_UP or dev.reg_state != 1:
        return
    if len(frame) < ETH_HLEN:
        dev_stats(dev).rx_dropped += 1
        return
    dst0 = frame[0]
    if dst0 & 1:
        pkt_type = PACKET_BROADCAST if frame[:6] == b"\xff\xff\xff\xff\xff\xff" \
            else PACKET_MULTICAST
    elif frame[:6] == dev.dev_addr:
        pkt_type = PACKET_HOST
    else:
        pkt_type = PACKET_OTHERHOST
    if dev.taps:
        for tap in dev.taps:
            tap(dev, frame, pkt_type)
    handler = dev.rx_handler
    if handler is not None and handler.rx(dev, frame, pkt_type, summed):
        return
    deliver_skb(dev, frame, pkt_type, summed)


def deliver_skb(dev: NetDevice, frame: bytes, pkt_type: int, summed: int) -> None:
    """The protocol handler for the frame's EtherType, or a drop."""
    ethertype = (frame[12] << 8) | frame[13]
    proto = ptype_base.get(ethertype)
    if proto is not None:
        proto(dev, frame, pkt_type, summed)
    elif ethertype != ETH_P_IPV6:  # IPv6 has a handler in Linux; nothing else here does
        dev_stats(dev).rx_dropped += 1


def netif_receive_list(dev: NetDevice, frames: list[bytes], summed: int) -> None:
    """netif_receive_skb_list: runs of frames of a protocol with a list
    handler (IPv4) go to it together; anything unusual goes one by one."""
    if dev.taps or dev.rx_handler is not None or len(frames) == 1:
        for frame in frames:
            netif_receive(dev, frame, summed)
        return
    list_rcv = ptype_list.get(0x0800)
    if list_rcv is None:
        for frame in frames:
            netif_receive(dev, frame, summed)
        return
    # The IPv4 list handler takes the whole burst; what is not IPv4 it hands
    # back to deliver_skb one by one, in order.
    list_rcv(dev, frames, summed)


def add_tap(dev: NetDevice, tap: Tap) -> None:
    dev.taps = (*dev.taps, tap)


def remove_tap(dev: NetDevice, tap: Tap) -> None:
    dev.taps = tuple(t for t in dev.taps if t != tap)  # bound methods compare equal
