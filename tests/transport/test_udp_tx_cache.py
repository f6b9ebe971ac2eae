"""The connected-UDP send shortcut (UdpSock.send_connected) must put on the
wire exactly what udp_sendmsg's full road puts there, and step aside whenever
anything that decides the outcome changes."""

from __future__ import annotations

import errno
from collections.abc import Iterator

import pytest
from udp_helpers import numbered

import usernet.socket as us
from usernet import Kernel
from usernet.ipv4.datapath_state import ipv4_dp
from usernet.testing import VETH_PAIR
from usernet.wait import sleep


@pytest.fixture
def k() -> Iterator[Kernel]:
    kernel = Kernel()
    kernel.script(VETH_PAIR)
    yield kernel


def pair(k: Kernel) -> tuple[us.socket, us.socket]:
    with k.netns("b"):
        rx = us.socket(us.AF_INET, us.SOCK_DGRAM)
    rx.bind(("0.0.0.0", 7000))
    rx.setblocking(False)
    with k.netns("a"):
        tx = us.socket(us.AF_INET, us.SOCK_DGRAM)
    tx.connect(("10.0.0.2", 7000))
    return tx, rx


def drain(s: us.socket) -> list[bytes]:
    out = []
    while True:
        try:
            out.append(s.recv(65536))
        except BlockingIOError:
            return out


def test_shortcut_frames_equal_full_road_frames(k: Kernel) -> None:
    tx, rx = pair(k)
    tx.send(b"warm-up")  # resolves the neighbour, builds the cache
    sleep(k, 0.01)
    cap = k.capture("a", "v0")
    for size in (0, 1, 10, 333, 1472):
        payload = bytes(range(256)) * 6
        tx.send(payload[:size])  # the shortcut
        tx.send(payload[:size], us.MSG_DONTWAIT)  # flags: the full road
    sleep(k, 0.01)
    frames = [f for _, f in cap.packets]
    assert len(frames) == 10
    bare = numbered(frames)  # one counter numbers the datagrams of both roads
    assert bare[0::2] == bare[1::2]
    assert [len(d) for d in drain(rx)] == [7, 0, 0, 1, 1, 10, 10, 333, 333, 1472, 1472]
    assert ipv4_dp(k.netns_get("a")).mib["UdpOutDatagrams"] == 11
    assert ipv4_dp(k.netns_get("a")).mib["OutRequests"] == 11


def test_options_routes_and_rules_take_effect(k: Kernel) -> None:
    tx, rx = pair(k)
    tx.send(b"x")
    sleep(k, 0.01)
    cap = k.capture("a", "v0")
    tx.setsockopt(us.IPPROTO_IP, us.IP_TTL, 5)
    tx.send(b"ttl")
    sleep(k, 0.01)
    assert cap.packets[-1][1][14 + 8] == 5
    tx.setsockopt(us.IPPROTO_IP, us.IP_TOS, 0x10)
    tx.send(b"tos")
    sleep(k, 0.01)
    assert cap.packets[-1][1][14 + 1] == 0x10
    # a smaller MTU: the datagram no longer fits, so it goes out in fragments
    k.script("ip -n a link set v0 mtu 576")
    tx.send(b"f" * 1000)
    sleep(k, 0.01)
    assert len(cap.packets) == 4
    assert [len(d) for d in drain(rx)] == [1, 3, 3, 1000]
    # a rule in OUTPUT sees (and here drops) what the shortcut would have sent
    k.script("ip netns exec a iptables -A OUTPUT -p udp -j DROP")
    before = ipv4_dp(k.netns_get("a")).mib["UdpOutDatagrams"]
    with pytest.raises(PermissionError):  # udp_send_skb returns the hook's EPERM
        tx.send(b"dropped")
    assert ipv4_dp(k.netns_get("a")).mib["UdpOutDatagrams"] == before
    sleep(k, 0.01)
    assert drain(rx) == []


def test_neighbour_flush_and_errors(k: Kernel) -> None:
    tx, rx = pair(k)
    tx.send(b"x")
    sleep(k, 0.01)
    drain(rx)
    k.script("ip -n a neigh flush dev v0")
    cap = k.capture("a", "v0")
    tx.send(b"after flush")
    sleep(k, 0.01)
    assert cap.packets[0][1][12:14] == b"\x08\x06"  # ARP first: the cache did not skip it
    assert drain(rx) == [b"after flush"]
    rx.close()  # port unreachable comes back: the next send reports it
    tx.send(b"to nobody")
    sleep(k, 0.01)
    with pytest.raises(ConnectionRefusedError) as info:
        tx.send(b"again")
    assert info.value.errno == errno.ECONNREFUSED
