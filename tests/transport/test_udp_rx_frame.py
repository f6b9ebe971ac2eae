"""The burst's UDP local delivery (udp_rcv_frame, given the whole frame)
must decide exactly as udp_rcv does with the packet: the same datagrams
queued for the same sockets, the same drops, errors, ICMP answers and
counters.  Each road runs in its own, identical, world."""

from __future__ import annotations

import struct
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

SRC, DST, OTHER = 0x0A000001, 0x0A000002, 0x0A000003
PORTS = {"plain": 7000, "small": 7001, "connected": 7002, "exact": 7003, "wild": 7003,
         "mine": 7004, "elsewhere": 7005}


def world() -> tuple[Kernel, dict[str, us.socket]]:
    k = Kernel()
    k.script(VETH_PAIR + "ip -n b addr add 10.0.0.3/24 dev v1\n")
    socks: dict[str, us.socket] = {}
    binds = {"plain": "0.0.0.0", "small": "0.0.0.0", "connected": "0.0.0.0",
             "exact": "10.0.0.2", "wild": "0.0.0.0", "mine": "10.0.0.2",
             "elsewhere": "10.0.0.3"}
    with k.netns("b"):
        for name, addr in binds.items():
            s = us.socket(us.AF_INET, us.SOCK_DGRAM)
            s.setsockopt(us.SOL_SOCKET, us.SO_REUSEADDR, 1)
            if name == "small":
                s.setsockopt(us.SOL_SOCKET, us.SO_RCVBUF, 1)  # the minimum: a few datagrams
            s.bind((addr, PORTS[name]))
            if name == "connected":
                s.connect(("10.0.0.9", 9))  # not the sender: nothing of ours is for it
            s.setblocking(False)
            socks[name] = s
    return k, socks


def udp_frame(k: Kernel, dport: int, payload: bytes, *, ulen: int | None = None,
              check: int | None = None, tot_len: int | None = None, daddr: int = DST,
              pad: int = 0, ident: int = 0, bad_ip_sum: bool = False) -> bytes:
    """A frame from a's v0 to b's v1; checksums right unless given; ``pad``
    bytes of Ethernet padding after the packet."""
    ulen = len(payload) + 8 if ulen is None else ulen
    udp = struct.pack("!HHHH", 5555, dport, ulen, 0) + payload
    if check is None:
        check = ~csum_partial(udp, pseudo_header_sum(SRC, daddr, 17, len(udp))) & 0xFFFF or 0xFFFF
    udp = udp[:6] + struct.pack("!H", check) + udp[8:]
    tot = 20 + len(udp) if tot_len is None else tot_len
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, tot, ident, 0x4000, 64, 17, 0, SRC, daddr)
    ip = ip[:10] + struct.pack("!H", ~csum_partial(ip) & 0xFFFF ^ bad_ip_sum) + ip[12:]
    v0 = k.netns_get("a").dev_get_by_name("v0")
    v1 = k.netns_get("b").dev_get_by_name("v1")
    assert v0 is not None and v1 is not None
    return v1.dev_addr + v0.dev_addr + b"\x08\x00" + (ip + udp)[:tot] + b"\xee" * pad


def frames(k: Kernel) -> list[bytes]:
    out = [udp_frame(k, 7000, b"warm")]  # the burst's first frame of a flow fills its route cache
    out += [udp_frame(k, 7000, bytes(i % 256 for i in range(n))) for n in (0, 64, 205, 1000)]
    # past rcvbuf: drops, each datagram charged its truesize
    out += [udp_frame(k, 7001, b"s" * (1000 if i < 6 else 100)) for i in range(12)]
    out += [udp_frame(k, 7002, b"for a connected socket"), udp_frame(k, 7003, b"exact"),
            udp_frame(k, 7004, b"bound here"), udp_frame(k, 7005, b"bound elsewhere"),
            udp_frame(k, 7999, b"nobody"), udp_frame(k, 7005, b"there", daddr=OTHER)]
    out += [udp_frame(k, 7000, b"short ulen", ulen=4), udp_frame(k, 7000, b"long ulen", ulen=99),
            udp_frame(k, 7000, b"", tot_len=24),  # no room for the UDP header
            udp_frame(k, 7000, b"padded", pad=20),
            udp_frame(k, 7000, b"one too long", ulen=21, pad=20),
            udp_frame(k, 7000, b"trailing bytes", ulen=16, check=0),
            udp_frame(k, 7000, b"bad sum", check=0x1234), udp_frame(k, 7000, b"no sum", check=0),
            udp_frame(k, 7000, b"last")]
    # runs of frames with the same headers, which the handler takes at once:
    # one cut short (not the run's: the packet is truncated), padded ones,
    # and ones whose payloads differ under the same headers (no UDP sum)
    same = udp_frame(k, 7000, b"same")
    out += [same] * 4 + [same[:-2], udp_frame(k, 7000, b"same", pad=5), same]
    out += [udp_frame(k, 7000, b"run %d" % i, check=0) for i in range(4)]
    out += [udp_frame(k, 7001, b"f" * 900)] * 8  # the small socket again: drops inside a run
    # a connected sender's run: the IP ID counts up (the header checksum with
    # it), across 0xffff; one frame's header checksum is wrong
    out += [udp_frame(k, 7000, b"numbered", ident=(0xFFFD + i) & 0xFFFF) for i in range(4)]
    out += [udp_frame(k, 7000, b"numbered", ident=2, bad_ip_sum=True),
            udp_frame(k, 7000, b"numbered", ident=3), udp_frame(k, 7000, b"numbered", ident=4)]
    return out


def run(road: str, summed: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    k, socks = world()
    b = k.netns_get("b")
    v1 = b.dev_get_by_name("v1")
    assert v1 is not None
    todo = frames(k)
    calls: list[int] = []
    on_udp_frame_road(monkeypatch, calls.append)  # the frames each call took
    if road == "burst":
        ip_input.ip_list_rcv(v1, todo, summed)
        assert sum(calls) > 20  # the frame road was taken
        assert max(calls) >= 4  # and runs of the same headers at once
    else:
        for f in todo:
            netif_receive(v1, f, summed)
        assert not calls
    sleep(k, 0.01)  # the ICMP errors reach a
    got: dict[str, Any] = {}
    for name, s in socks.items():
        got[name] = []
        while True:
            try:
                got[name].append(s.recvfrom(4096))
            except BlockingIOError:
                break
        got[name + ".drops"] = s._sk().drops  # type: ignore[attr-defined]
    got["mib.b"] = dict(ipv4_dp(b).mib)
    got["mib.a"] = dict(ipv4_dp(k.netns_get("a")).mib)
    st = v1.stats
    got["v1"] = {f: getattr(st, f) for f in type(st).__slots__} if st is not None else None
    return got


@pytest.mark.parametrize("summed", [CHECKSUM_UNNECESSARY, CHECKSUM_NONE])
def test_frame_road_equals_packet_road(summed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    burst = run("burst", summed, monkeypatch)
    single = run("single", summed, monkeypatch)
    assert burst == single
    # and the scenario is not vacuous
    assert [len(d) for d, _ in burst["plain"]] == ((
        [4, 0, 64, 205, 1000, 6, 8, 7, 6, 4] if summed else [4, 0, 64, 205, 1000, 6, 8, 6, 4])
        + [4, 4, 4, 4, 4, 4, 5, 5, 5, 5] + [8] * 6)
    assert [d for d, _ in burst["plain"][-10:-6]] == [b"run %d" % i for i in range(4)]
    assert burst["mib.b"]["InCsumErrors"] == 1
    assert burst["plain"][0][1] == ("10.0.0.1", 5555)
    assert 0 < len(burst["small"]) < 20 and burst["small.drops"] == 20 - len(burst["small"])
    assert burst["connected"] == [] and burst["elsewhere"] == [(b"there", ("10.0.0.1", 5555))]
    assert burst["exact"] == [(b"exact", ("10.0.0.1", 5555))] and burst["wild"] == []
    assert burst["mine"] == [(b"bound here", ("10.0.0.1", 5555))]
    assert burst["mib.b"]["UdpNoPorts"] == 3
    assert burst["mib.b"]["UdpInErrors"] >= 3 + burst["small.drops"]
    assert burst["mib.a"]["InDelivers"] == 3  # the port unreachables came back
