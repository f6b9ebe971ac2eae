"""ip_list_rcv reuses the route of the previous frame when a frame is of
the same flow (addresses and tos), and counts its local deliveries once at
the end of the burst.  A burst interleaving flows that differ in one key
field only -- each routed differently -- must end exactly as the same
frames received one by one: the same datagrams, addresses, drops, ICMP
answers, counters and route cache."""

from __future__ import annotations

import struct
import sys
from typing import Any

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.dev.datapath import CHECKSUM_NONE, CHECKSUM_UNNECESSARY, netif_receive
from usernet.ipv4 import ip_input
from usernet.ipv4.datapath_state import ipv4_dp
from usernet.testing import VETH_PAIR, on_udp_frame_road
from usernet.wait import sleep
from usernet.wire.checksum import csum_partial, pseudo_header_sum

A1, A5, B2, B3, MARTIAN = 0x0A000001, 0x0A000005, 0x0A000002, 0x0A000003, 0x7F000001
TOS_DENIED = 0x10


def world() -> tuple[Kernel, dict[str, us.socket]]:
    k = Kernel()
    k.script(VETH_PAIR + "ip -n b addr add 10.0.0.3/24 dev v1\n"
             # the local table after a rule by tos: that tos is never ours
             f"ip -n b rule add pref 10 tos {TOS_DENIED:#x} prohibit\n"
             "ip -n b rule add pref 100 lookup local\n"
             "ip -n b rule del pref 0 lookup local\n")
    socks: dict[str, us.socket] = {}
    with k.netns("b"):
        for name, addr in (("two", "10.0.0.2"), ("three", "10.0.0.3")):
            s = us.socket(us.AF_INET, us.SOCK_DGRAM)
            s.bind((addr, 7000))
            s.setblocking(False)
            socks[name] = s
    return k, socks


def ip_frame(k: Kernel, saddr: int, daddr: int, proto: int, body: bytes, tos: int = 0,
             bad_word: int | None = None) -> bytes:
    """``bad_word``: the header checksum is the one of a header whose 16-bit
    word of that index differs (the checksum itself: off by one bit)."""
    ip = struct.pack("!BBHHHBBHII", 0x45, tos, 20 + len(body), 0x1234, 0x4000, 64, proto, 0,
                     saddr, daddr)
    summed = ip
    if bad_word is not None and bad_word != 5:
        word = struct.unpack_from("!H", ip, 2 * bad_word)[0] ^ (1 if bad_word == 0 else 0x0101)
        summed = ip[:2 * bad_word] + struct.pack("!H", word) + ip[2 * bad_word + 2:]
    check = ~csum_partial(summed) & 0xFFFF
    if bad_word == 5:
        check ^= 0x0100
    ip = ip[:10] + struct.pack("!H", check) + ip[12:]
    v0 = k.netns_get("a").dev_get_by_name("v0")
    v1 = k.netns_get("b").dev_get_by_name("v1")
    assert v0 is not None and v1 is not None
    return v1.dev_addr + v0.dev_addr + b"\x08\x00" + ip + body


def udp(saddr: int, daddr: int, payload: bytes, dport: int = 7000) -> bytes:
    hdr = struct.pack("!HHHH", 5555, dport, 8 + len(payload), 0)
    check = ~csum_partial(hdr + payload,
                          pseudo_header_sum(saddr, daddr, 17, 8 + len(payload))) & 0xFFFF
    return hdr[:6] + struct.pack("!H", check or 0xFFFF) + payload


def syn(saddr: int, daddr: int, dport: int) -> bytes:
    hdr = struct.pack("!HHIIBBHHH", 4444, dport, 1, 0, 5 << 4, 0x02, 1024, 0, 0)
    check = ~csum_partial(hdr, pseudo_header_sum(saddr, daddr, 6, len(hdr))) & 0xFFFF
    return hdr[:16] + struct.pack("!H", check) + hdr[18:]


def frames(k: Kernel) -> list[bytes]:
    """Runs of one flow broken by a frame that differs in one key field."""
    def u(saddr: int, daddr: int, text: str, tos: int = 0, dport: int = 7000) -> bytes:
        return ip_frame(k, saddr, daddr, 17, udp(saddr, daddr, text.encode(), dport), tos)

    return [
        u(A1, B2, "miss: the slow road fills the cache"), u(A1, B2, "hit"),
        u(A1, B2, "reused"),
        u(A1, B3, "other daddr"), u(A1, B3, "other daddr again"), u(A1, B2, "back"),
        u(A5, B2, "other saddr"), u(A1, B2, "back again"), u(A5, B2, "other saddr again"),
        u(A1, B2, "denied by tos", TOS_DENIED), u(A1, B2, "denied twice", TOS_DENIED),
        u(A1, B2, "tos 0 again"),
        u(MARTIAN, B2, "martian source"), u(MARTIAN, B2, "martian twice"), u(A1, B2, "fine"),
        u(A1, 0x0A000009, "not ours"), u(A1, B2, "nobody listens", dport=7999),
        ip_frame(k, A1, B2, 6, syn(A1, B2, 80)), u(A1, B2, "after the TCP segment"),
        ip_frame(k, A1, B2, 6, syn(A1, B2, 81), TOS_DENIED), u(A1, B2, "last"),
    ]


def run(road: str, summed: int, mp: pytest.MonkeyPatch | None = None,
        calls: list[int] | None = None) -> dict[str, Any]:
    """``calls``: counts the datagrams given to UDP's frame road (needs ``mp``)."""
    k, socks = world()  # (a new kernel registers the protocol handlers anew)
    if mp is not None and calls is not None:
        on_udp_frame_road(mp, lambda taken: calls.extend([1] * taken))  # one per frame
    b = k.netns_get("b")
    v1 = b.dev_get_by_name("v1")
    assert v1 is not None
    todo = frames(k)
    if road == "burst":
        ip_input.ip_list_rcv(v1, todo, summed)
    else:
        for f in todo:
            netif_receive(v1, f, summed)
    sleep(k, 0.01)  # the ICMP errors and RSTs reach a
    got: dict[str, Any] = {}
    for name, s in socks.items():
        got[name] = []
        while True:
            try:
                got[name].append(s.recvfrom(4096))
            except BlockingIOError:
                break
    got["mib.b"] = dict(ipv4_dp(b).mib)
    got["mib.a"] = dict(ipv4_dp(k.netns_get("a")).mib)
    cache = b.ipv4.rt_cache or {}
    got["cache"] = sorted((key[:2] + key[3:], rt if isinstance(rt, int) else
                           (rt.daddr, rt.saddr, rt.flags, rt.type))
                          for key, rt in cache.items() if key[0] != "out")
    return got


@pytest.mark.parametrize("summed", [CHECKSUM_UNNECESSARY, CHECKSUM_NONE])
def test_burst_with_flow_reuse_equals_one_by_one(summed: int) -> None:
    burst = run("burst", summed)
    single = run("single", summed)
    assert burst == single
    # the scenario is not vacuous: each differing field changed the outcome
    two = [(d.decode(), a) for d, a in burst["two"]]
    assert two == [(t, ("10.0.0.1", 5555)) for t in (
        "miss: the slow road fills the cache", "hit", "reused")] + [
        ("back", ("10.0.0.1", 5555)), ("other saddr", ("10.0.0.5", 5555)),
        ("back again", ("10.0.0.1", 5555)), ("other saddr again", ("10.0.0.5", 5555)),
        ("tos 0 again", ("10.0.0.1", 5555)), ("fine", ("10.0.0.1", 5555)),
        ("after the TCP segment", ("10.0.0.1", 5555)), ("last", ("10.0.0.1", 5555))]
    assert [d for d, _ in burst["three"]] == [b"other daddr", b"other daddr again"]
    mib = burst["mib.b"]
    assert mib["InReceives"] == len(frames(world()[0]))
    assert mib["InDelivers"] == 15  # 14 datagrams (one to a closed port) and a SYN
    assert mib["InMartians"] == 2 and mib["UdpNoPorts"] == 1
    assert burst["mib.a"]["InDelivers"] >= 2  # the port unreachable and the RST came back


def test_header_checksum_of_every_word(monkeypatch: pytest.MonkeyPatch) -> None:
    """The burst verifies the IP header checksum from the unpacked fields:
    a checksum wrong in any one word is an InCsumErrors drop there too, for
    a flow whose route is cached (so the burst's own test decides)."""
    def burst_frames(k: Kernel) -> list[bytes]:
        out = []
        for tos in (0, 0x08):
            for word in range(10):
                good = ip_frame(k, A1, B2, 17, udp(A1, B2, b"good %d" % word), tos)
                bad = ip_frame(k, A1, B2, 17, udp(A1, B2, b"bad %d" % word), tos, word)
                out += [good, bad]
        return out

    monkeypatch.setattr(sys.modules[__name__], "frames", burst_frames)
    calls: list[int] = []
    burst = run("burst", CHECKSUM_UNNECESSARY, monkeypatch, calls)
    # every good frame but the first of each flow (its route not cached
    # yet) passed the burst's own checksum test
    assert len(calls) == 18
    single = run("single", CHECKSUM_UNNECESSARY)
    assert burst == single
    assert [d for d, _ in burst["two"]] == [b"good %d" % w for w in range(10)] * 2
    assert burst["mib.b"]["InCsumErrors"] == 20
