"""send_connected's per-length header memo and its direct hand-over to the
driver (no dev_queue_xmit call when there is nothing to capture) must put
on the wire, and count, exactly what udp_sendmsg's full road does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from udp_helpers import numbered

import usernet.socket as us
from usernet import Kernel
from usernet.dev.netdevice import IFF_UP
from usernet.dev.stats import DevStats
from usernet.testing import VETH_PAIR
from usernet.transport.udp import HDR_MEMO_MAX
from usernet.wait import sleep


@pytest.fixture
def k() -> Iterator[Kernel]:
    kernel = Kernel()
    kernel.script(VETH_PAIR)
    yield kernel


def pair(k: Kernel) -> tuple[us.socket, us.socket]:
    with k.netns("b"):
        rx = us.socket(us.AF_INET, us.SOCK_DGRAM)
    rx.setsockopt(us.SOL_SOCKET, us.SO_RCVBUF, 1 << 22)
    rx.bind(("0.0.0.0", 7000))
    rx.setblocking(False)
    with k.netns("a"):
        tx = us.socket(us.AF_INET, us.SOCK_DGRAM)
    tx.connect(("10.0.0.2", 7000))
    tx.send(b"warm-up")  # resolves the neighbour, builds the cache
    sleep(k, 0.01)
    assert rx.recv(100) == b"warm-up"
    return tx, rx


def stats(k: Kernel, ns: str, dev: str) -> dict[str, int]:
    d = k.netns_get(ns).dev_get_by_name(dev)
    assert d is not None
    st = d.stats or DevStats()
    return {f: getattr(st, f) for f in DevStats.__slots__}


def both_roads(k: Kernel, tx: us.socket, sizes: list[int]) -> None:
    """Each size by the shortcut, then by the full road (flags)."""
    payload = bytes(i % 251 for i in range(2000))
    for size in sizes:
        tx.send(payload[:size])
        tx.send(payload[:size], us.MSG_DONTWAIT)
    sleep(k, 0.01)


def test_receiver_sees_the_same_frames_and_counters(k: Kernel) -> None:
    tx, rx = pair(k)
    assert tx._sk().txc is not None  # type: ignore[attr-defined]
    cap = k.capture("b", "v1")  # the sender has no tap: the direct hand-over
    tx0, rx0 = stats(k, "a", "v0"), stats(k, "b", "v1")
    sizes = [0, 1, 64, 64, 1472, 64]
    both_roads(k, tx, sizes)
    frames = [f for _, f in cap.packets]
    assert len(frames) == 2 * len(sizes)
    bare = numbered(frames)
    assert bare[0::2] == bare[1::2]
    tx1, rx1 = stats(k, "a", "v0"), stats(k, "b", "v1")
    nbytes = sum(map(len, frames))
    assert tx1["tx_packets"] - tx0["tx_packets"] == rx1["rx_packets"] - rx0["rx_packets"] == 12
    assert tx1["tx_bytes"] - tx0["tx_bytes"] == rx1["rx_bytes"] - rx0["rx_bytes"] == nbytes
    assert [len(rx.recv(2000)) for _ in frames] == [n for n in sizes for _ in "ab"]


def test_memo_is_bounded_and_exact(k: Kernel) -> None:
    tx, _rx = pair(k)
    cap = k.capture("a", "v0")
    sizes = [*range(HDR_MEMO_MAX + 10), 3, 5]
    both_roads(k, tx, sizes)
    frames = [f for _, f in cap.packets]
    assert len(frames) == 2 * len(sizes)
    bare = numbered(frames)
    assert bare[0::2] == bare[1::2]
    assert 0 < len(tx._sk().txc.hdrs) <= HDR_MEMO_MAX  # type: ignore[attr-defined]


def test_memo_follows_the_neighbours_address(k: Kernel) -> None:
    tx, _rx = pair(k)
    both_roads(k, tx, [10])  # the memo holds this length's header now
    k.script("ip -n a neigh replace 10.0.0.2 lladdr 02:00:00:00:00:99 dev v0 nud permanent")
    cap = k.capture("a", "v0")
    both_roads(k, tx, [10])
    frames = [f for _, f in cap.packets]
    assert len(frames) == 2
    bare = numbered(frames)
    assert bare[0] == bare[1]
    assert frames[0][:6] == bytes.fromhex("020000000099")


@pytest.mark.parametrize("what", ["carrier", "down"])
def test_no_carrier_or_down_drops_without_counting(k: Kernel, what: str) -> None:
    """Carrier and IFF_UP changes flush the route cache, so the shortcut
    steps aside anyway; its own guards are tested by changing the device
    behind the flush's back."""
    tx, _rx = pair(k)
    v0 = k.netns_get("a").dev_get_by_name("v0")
    assert v0 is not None
    before = stats(k, "a", "v0")
    if what == "carrier":
        v0.carrier = False
    else:
        v0.flags &= ~IFF_UP
    for _ in range(3):
        tx.send(b"into the void")
    sleep(k, 0.01)
    assert stats(k, "a", "v0") == before  # the noop qdisc's silent drop
