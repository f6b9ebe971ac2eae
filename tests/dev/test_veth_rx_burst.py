"""Veth.ndo_start_xmit joins a frame to the peer's current backlog burst
itself (netif_rx's commonest case, inline): the backlog limit, the burst's
arrival time and both ends' counters must be netif_rx's."""

from __future__ import annotations

from usernet import Kernel
from usernet.dev.datapath import NETDEV_MAX_BACKLOG
from usernet.dev.veth import Veth
from usernet.testing import VETH_PAIR


def ends(k: Kernel) -> tuple[Veth, Veth]:
    k.script(VETH_PAIR)
    v0 = k.netns_get("a").dev_get_by_name("v0")
    v1 = k.netns_get("b").dev_get_by_name("v1")
    assert isinstance(v0, Veth) and isinstance(v1, Veth)
    return v0, v1


def frame(v0: Veth, v1: Veth, n: int) -> bytes:
    return v1.dev_addr + v0.dev_addr + b"\x08\x00" + bytes(n)


def test_full_backlog_is_the_senders_tx_dropped() -> None:
    k = Kernel()
    v0, v1 = ends(k)
    f = frame(v0, v1, 50)
    for _ in range(NETDEV_MAX_BACKLOG + 5):
        v0.ndo_start_xmit(f)  # one instant: one burst
    assert v1.backlog is not None and len(v1.backlog) == 1
    assert v1.backlog_len == NETDEV_MAX_BACKLOG
    assert v0.stats is not None and v1.stats is not None
    assert (v0.stats.tx_packets, v0.stats.tx_dropped) == (NETDEV_MAX_BACKLOG, 5)
    assert (v1.stats.rx_packets, v1.stats.rx_bytes) == (NETDEV_MAX_BACKLOG,
                                                          NETDEV_MAX_BACKLOG * len(f))


def test_another_arrival_time_is_another_burst() -> None:
    k = Kernel()
    v0, v1 = ends(k)
    f = frame(v0, v1, 50)
    v0.ndo_start_xmit(f)
    v0.ndo_start_xmit(f)
    v0.delay_ns = 5_000  # a different propagation delay: a later arrival
    v0.ndo_start_xmit(f)
    v0.ndo_start_xmit(f)
    assert v1.backlog is not None
    assert [(due, len(b)) for due, b in v1.backlog] == [(k.link_delay_ns, 2), (5_000, 2)]
    assert v1.backlog_len == 4
    assert v1.stats is not None and v1.stats.rx_packets == 4
