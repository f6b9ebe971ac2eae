"""ip_list_rcv tells a fragment (MF set, or an offset) from a whole datagram
by the id/frag_off word it unpacked: a fragment -- whatever bits of the
word are set -- is reassembled as ip_rcv does, and only whole datagrams
(DF or the reserved bit notwithstanding) take the transports' own roads."""

from __future__ import annotations

import struct
from typing import Any

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.dev.datapath import CHECKSUM_UNNECESSARY, netif_receive
from usernet.ipv4 import ip_input
from usernet.ipv4.datapath_state import ipv4_dp
from usernet.testing import VETH_PAIR, on_udp_frame_road
from usernet.wait import sleep
from usernet.wire.checksum import csum_partial, pseudo_header_sum

A1, B2 = 0x0A000001, 0x0A000002


def world() -> tuple[Kernel, us.socket]:
    k = Kernel()
    k.script(VETH_PAIR)
    with k.netns("b"):
        s = us.socket(us.AF_INET, us.SOCK_DGRAM)
        s.setsockopt(us.SOL_SOCKET, us.SO_RCVBUF, 1 << 22)
        s.bind(("10.0.0.2", 7000))
        s.setblocking(False)
    return k, s


def ip_frame(k: Kernel, frag: int, ident: int, body: bytes, proto: int = 17) -> bytes:
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(body), ident, frag, 64, proto, 0, A1, B2)
    check = ~csum_partial(ip) & 0xFFFF
    ip = ip[:10] + struct.pack("!H", check) + ip[12:]
    v0 = k.netns_get("a").dev_get_by_name("v0")
    v1 = k.netns_get("b").dev_get_by_name("v1")
    assert v0 is not None and v1 is not None
    return v1.dev_addr + v0.dev_addr + b"\x08\x00" + ip + body


def datagram(payload: bytes) -> bytes:
    hdr = struct.pack("!HHHH", 5555, 7000, 8 + len(payload), 0)
    check = ~csum_partial(hdr + payload, pseudo_header_sum(A1, B2, 17, 8 + len(payload)))
    return hdr[:6] + struct.pack("!H", check & 0xFFFF or 0xFFFF) + payload


def syn(dport: int) -> bytes:
    hdr = struct.pack("!HHIIBBHHH", 4444, dport, 1, 0, 5 << 4, 0x02, 1024, 0, 0)
    check = ~csum_partial(hdr, pseudo_header_sum(A1, B2, 6, len(hdr))) & 0xFFFF
    return hdr[:16] + struct.pack("!H", check) + hdr[18:]


def frames(k: Kernel) -> list[bytes]:
    out = []
    # whole datagrams: no flags, DF, the reserved bit
    for ident, frag in ((1, 0), (2, 0x4000), (3, 0x8000)):
        out.append(ip_frame(k, frag, ident, datagram(b"whole %d" % ident)))
    # fragments: every bit of the 14 that mark one, alone or with MF
    for bit in range(13):
        ident = 100 + bit
        off = 8 << bit
        body = datagram(b"f" * (off - 8 + 24))
        head, tail = body[:off], body[off:]
        out.append(ip_frame(k, 0x2000, ident, head))  # MF, offset 0
        out.append(ip_frame(k, off >> 3, ident, tail))  # offset only: the last one
    # a middle fragment with both MF and an offset, and a whole one after
    body = datagram(b"m" * 40)
    out += [ip_frame(k, 0x2000, 200, body[:16]), ip_frame(k, 0x2000 | 2, 200, body[16:32]),
            ip_frame(k, 4, 200, body[32:]), ip_frame(k, 0x4000, 201, datagram(b"end"))]
    # TCP: SYNs to a closed port, whole (the RST comes back) or in fragments
    out += [ip_frame(k, 0x4000, 300, syn(81), 6), ip_frame(k, 0x8000, 301, syn(82), 6)]
    for bit in range(2):  # the last fragment's offset: 8 or 16 bytes
        off = 8 << bit
        seg = syn(90 + bit)
        out += [ip_frame(k, 0x2000, 310 + bit, seg[:off], 6),
                ip_frame(k, off >> 3, 310 + bit, seg[off:], 6)]
    return out


def run(road: str, mp: pytest.MonkeyPatch | None = None,
        calls: list[int] | None = None) -> dict[str, Any]:
    k, s = world()
    if mp is not None and calls is not None:
        on_udp_frame_road(mp, lambda taken: calls.extend([1] * taken))  # one per frame
        b = k.netns_get("b")
        tcp_rcv = ip_input.inet_protos[6]

        def tcp_counted(dev: Any, pkt: Any, *args: Any) -> None:
            # the burst's own road: a view into the whole frame
            # in b (the RSTs reach a by a burst too)
            if dev.net is b and isinstance(pkt, memoryview) and len(pkt.obj) == len(pkt) + 14:
                calls.append(6)
            tcp_rcv(dev, pkt, *args)

        mp.setitem(ip_input.inet_protos, 6, tcp_counted)
    b = k.netns_get("b")
    v1 = b.dev_get_by_name("v1")
    assert v1 is not None
    todo = frames(k)
    if road == "burst":
        # a frame that fills the route cache first: the rest test the word
        ip_input.ip_list_rcv(v1, todo[:1], CHECKSUM_UNNECESSARY)
        ip_input.ip_list_rcv(v1, todo[1:], CHECKSUM_UNNECESSARY)
    else:
        for f in todo:
            netif_receive(v1, f, CHECKSUM_UNNECESSARY)
    sleep(k, 0.01)
    got: list[tuple[bytes, Any]] = []
    while True:
        try:
            got.append(s.recvfrom(65536))
        except BlockingIOError:
            break
    return {"got": got, "mib": dict(ipv4_dp(b).mib),
            "mib.a": dict(ipv4_dp(k.netns_get("a")).mib)}


def test_fragments_by_the_unpacked_word(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    burst = run("burst", monkeypatch, calls)
    single = run("single")
    assert burst == single
    # the whole datagrams after the first took UDP's frame road, no fragment did
    assert calls == [1, 1, 1, 6, 6]
    assert burst["mib"]["InDelivers"] == 3 + 13 + 2 + 4
    got = [d for d, _ in burst["got"]]
    assert got[:3] == [b"whole 1", b"whole 2", b"whole 3"]
    assert [len(d) for d in got[3:16]] == [(8 << bit) + 16 for bit in range(13)]
    assert len(got) == 3 + 13 + 2
