"""Packet capture on one device (``AF_PACKET`` taps, ``dev_queue_xmit_nit``).

A capture sees what tcpdump on that device would: frames the device sends,
after the qdisc, and frames it receives, before the bridge or IP handles
them.  Timestamps are the kernel's virtual time, so two runs with the same
seed write byte-identical pcap files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from ..wire.pcap import PcapWriter
from .datapath import add_tap, remove_tap

if TYPE_CHECKING:
    from .netdevice import NetDevice

Predicate = Callable[[bytes], bool]


class PacketCapture:
    """Attach to ``dev``; keep matching frames (and write them to ``fileobj``
    as pcap when given).  ``count`` stops capturing after that many."""

    __slots__ = ("_writer", "count", "dev", "filter", "on_packet", "packets")

    def __init__(self, dev: NetDevice, fileobj: BinaryIO | None = None,
                 filter: Predicate | None = None, count: int | None = None,
                 on_packet: Callable[[int, bytes], None] | None = None) -> None:
        self.dev = dev
        self.filter = filter
        self.count = count
        self.on_packet = on_packet
        self.packets: list[tuple[int, bytes]] = []
        self._writer = PcapWriter(fileobj) if fileobj is not None else None
        add_tap(dev, self._tap)

    @property
    def done(self) -> bool:
        return self.count is not None and len(self.packets) >= self.count

    def _tap(self, dev: NetDevice, frame: bytes, direction: int) -> None:
        if self.done:
            return
        data = bytes(frame)
        if self.filter is not None and not self.filter(data):
            return
        ts = dev.net.kernel.sched.now
        self.packets.append((ts, data))
        if self._writer is not None:
            self._writer.write(ts, data)
        if self.on_packet is not None:
            self.on_packet(ts, data)

    def close(self) -> None:
        remove_tap(self.dev, self._tap)
        if self._writer is not None:
            self._writer.flush()
