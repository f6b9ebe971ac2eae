"""Per-device counters (``struct rtnl_link_stats64``), created on first use."""

from __future__ import annotations


class DevStats:
    """The counters ``ip -s link`` prints."""

    __slots__ = (
        "collisions",
        "multicast",
        "rx_bytes",
        "rx_dropped",
        "rx_errors",
        "rx_missed_errors",
        "rx_packets",
        "tx_bytes",
        "tx_carrier_errors",
        "tx_dropped",
        "tx_errors",
        "tx_packets",
    )

    def __init__(self) -> None:
        self.rx_packets = self.tx_packets = 0
        self.rx_bytes = self.tx_bytes = 0
        self.rx_errors = self.tx_errors = 0
        self.rx_dropped = self.tx_dropped = 0
        self.rx_missed_errors = self.multicast = 0
        self.tx_carrier_errors = self.collisions = 0
