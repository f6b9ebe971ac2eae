"""IPv4 fragmentation and reassembly (ip_fragment.py).

The KERNEL_* vectors were recorded on Linux 6.18 in a user namespace: packets
written into a tun device, forwarded out of a second tun with a small MTU
(fragmentation), or delivered locally to a raw socket (reassembly).  The same
rig compared ip_fragment and IpFragQueues with the kernel on about 1,350
random fragmentations (options, offsets, MF, mtu 68..1499) and 21,000 random
fragment sequences (shuffled, duplicated, overlapping, conflicting ends,
mixed ECN/DF/options): output bytes and Reasm* counters all matched.  The
oversize, timeout (ICMP quotes the trimmed head) and high_thresh cases below
were checked on it one by one.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from usernet.ipv4.ip_fragment import (
    IPQ_SIZE,
    SKB_OVERHEAD,
    IpFragQueues,
    IpFragStats,
    ip_fragment,
)
from usernet.sched import NSEC_PER_SEC, Scheduler
from usernet.wire.checksum import csum_ok
from usernet.wire.ipv4 import IP_DF, IP_MF, IP_OFFSET, addr_int, ipv4_header

SRC, DST = addr_int("10.0.0.2"), addr_int("10.0.0.1")
DEFAULTS = (4194304, 3145728, 30)


def pkt(ident: int, off: int, payload: bytes, *, mf: bool = False, df: bool = False,
        tos: int = 0, opts: bytes = b"", src: int = SRC, proto: int = 253) -> bytes:
    """A fragment carrying ``payload`` at byte offset ``off`` (a multiple of 8)."""
    field = (off >> 3) | (IP_MF if mf else 0) | (IP_DF if df else 0)
    return ipv4_header(tos, 20 + len(opts) + len(payload), ident, field, 64, proto, src, DST,
                       opts) + payload


def hdr_len(p: bytes) -> int:
    return (p[0] & 0x0F) * 4


def frag_field(p: bytes) -> int:
    return int.from_bytes(p[6:8], "big")


class Rig:
    """An IpFragQueues on a virtual clock, with mutable sysctls."""

    def __init__(self, high: int = DEFAULTS[0], time_s: int = DEFAULTS[2]) -> None:
        self.sched = Scheduler()
        self.sysctl = [high, DEFAULTS[1], time_s]
        self.expired: list[bytes] = []
        self.biggest = 0
        self.q = IpFragQueues(self.sched, lambda: (self.sysctl[0], self.sysctl[1],
                                                   self.sysctl[2]), self.expired.append)

    def feed(self, frags: list[bytes], key: object = None) -> list[bytes]:
        self.biggest = max([self.biggest, *map(len, frags)])
        return [out for f in frags if (out := self.q.defrag(f, key)) is not None]

    def bound(self) -> int:
        """high_thresh can be passed by one fragment, and the queue it opens."""
        return self.sysctl[0] + IPQ_SIZE + self.biggest + SKB_OVERHEAD

    def stats(self) -> dict[str, int]:
        return dict(self.q.stats.items())


# -- recorded from the kernel ----------------------------------------------------------------------

KERNEL_FRAG_CASES = [
    # tos 0x5a, options: 0x19 (not copied), NOOP, router alert (copied), END; mtu 76.
    (76, [
        "485a0048123420003ffd108e0a0000020a000102190401020194040000000000000102030405060708"
        "090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627",
        "485a0048123420053ffd288d0a0000020a00010201010101019404000000000028292a2b2c2d2e2f30"
        "3132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
        "485a00341234000a3ffd489c0a0000020a000102010101010194040000000000505152535455565758"
        "595a5b5c5d5e5f60616263",
    ]),
    # A non-last fragment at offset 1480 re-fragmented at mtu 100: offsets
    # continue, MF stays on the last piece, options are never NOOPed.
    (100, [
        "48000060432120b93ffd17e80a0000020a0001029e0611223344011a03550000000102030405060708"
        "090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031"
        "32333435363738393a3b3c3d3e3f",
        "48000060432120c13ffd17e00a0000020a0001029e0611223344011a03550000404142434445464748"
        "494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f7071"
        "72737475767778797a7b7c7d7e7f",
        "48000036432120c93ffd18020a0000020a0001029e0611223344011a03550000808182838485868788"
        "898a8b8c8d8e8f909192939495",
    ]),
]


def _unfragment(frags: list[bytes]) -> bytes:
    """The packet the router was asked to send (TTL already decremented)."""
    first = frags[0]
    hlen = hdr_len(first)
    payload = b"".join(f[hdr_len(f):] for f in frags)
    field = (frag_field(first) & IP_OFFSET) | (frag_field(frags[-1]) & IP_MF)
    return ipv4_header(first[1], hlen + len(payload), int.from_bytes(first[4:6], "big"), field,
                       first[8], first[9], int.from_bytes(first[12:16], "big"),
                       int.from_bytes(first[16:20], "big"), first[20:hlen]) + payload


@pytest.mark.parametrize(("mtu", "frags_hex"), KERNEL_FRAG_CASES)
def test_fragment_matches_kernel(mtu: int, frags_hex: list[str]) -> None:
    want = [bytes.fromhex(h) for h in frags_hex]
    assert ip_fragment(_unfragment(want), mtu) == want


def test_reassembly_matches_kernel() -> None:
    frags = [bytes.fromhex(h) for h in (
        "4502002c0077600040fd055a0a0000020a000001000102030405060708090a0b0c0d0e0f1011121314151617",
        "460300220077000340fd625e0a0000020a0000010101010118191a1b1c1d1e1f2021",
        "450200240077200140fd45610a0000020a00000108090a0b0c0d0e0f1011121314151617",
    )]
    want = bytes.fromhex("450300360077400040fd254f0a0000020a000001000102030405060708090a0b0c0d"
                         "0e0f101112131415161718191a1b1c1d1e1f2021")
    # ECT(0) + CE gives CE; the largest fragment had DF, so the result has DF;
    # the third fragment lies inside the run [0, 34) and is a duplicate.
    assert Rig().feed(frags) == [want]


# -- ip_fragment -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 7, 8, 9, 100, 1472, 1473, 1480, 1481, 4000, 65515])
@pytest.mark.parametrize("mtu", [68, 69, 75, 76, 576, 1280, 1500])
@pytest.mark.parametrize("df", [False, True])
def test_fragment_fields(size: int, mtu: int, df: bool) -> None:
    payload = bytes(i * 7 & 0xFF for i in range(size))
    orig = pkt(0xBEEF, 0, payload, df=df, tos=0xB8)
    frags = ip_fragment(orig, mtu)
    expect_off = 0
    for i, f in enumerate(frags):
        last = i == len(frags) - 1
        field = frag_field(f)
        data = len(f) - 20
        assert len(f) <= mtu and int.from_bytes(f[2:4], "big") == len(f)
        assert csum_ok(f[:20])
        assert (field & IP_OFFSET) << 3 == expect_off
        assert bool(field & IP_MF) == (not last)
        assert not field & (IP_DF | 0x8000)
        assert last or (data % 8 == 0 and data == (mtu - 20) & ~7)
        assert f[:2] == orig[:2] and f[4:6] == orig[4:6] and f[8:10] == orig[8:10]
        assert f[12:20] == orig[12:20]
        expect_off += data
    assert b"".join(f[20:] for f in frags) == payload


def test_fragment_of_fragment_continues_offsets_and_keeps_mf() -> None:
    middle = pkt(1, 800, bytes(300), mf=True)
    frags = ip_fragment(middle, 128)
    assert [(frag_field(f) & IP_OFFSET) << 3 for f in frags] == [800, 904, 1008]
    assert all(frag_field(f) & IP_MF for f in frags)
    last = pkt(1, 800, bytes(300))
    assert [bool(frag_field(f) & IP_MF) for f in ip_fragment(last, 128)] == [True, True, False]


def test_fragment_options() -> None:
    # Timestamp (0x44, not copied), loose source route (0x83, copied),
    # an unknown copied option, then END and padding.
    opts = bytes.fromhex("440c0501000000000000000083070400000000") + b"\x9e\x03\x55\x00\x00"
    assert len(opts) % 4 == 0
    frags = ip_fragment(pkt(5, 0, bytes(range(200)), opts=opts), 100)
    assert len({len(f) - hdr_len(f) for f in frags[:-1]}) == 1
    assert all(hdr_len(f) == 20 + len(opts) for f in frags)
    assert frags[0][20:hdr_len(frags[0])] == opts
    later = bytes([1] * 12) + opts[12:]
    assert all(f[20:hdr_len(f)] == later and csum_ok(f[:hdr_len(f)]) for f in frags[1:])


def test_fragment_malformed_options_left_alone() -> None:
    opts = b"\x44\x30\x00\x00"  # length runs past the header: stop, as Linux does
    frags = ip_fragment(pkt(5, 0, bytes(100), opts=opts), 68)
    assert all(f[20:24] == opts for f in frags)


def test_fragment_rejects() -> None:
    with pytest.raises(ValueError):
        ip_fragment(b"", 1500)
    with pytest.raises(ValueError):
        ip_fragment(b"\x44" + bytes(30), 1500)  # ihl 4
    with pytest.raises(ValueError):
        ip_fragment(pkt(1, 0, bytes(100), opts=bytes(40)), 67)  # 60-byte header, 7 bytes room
    assert ip_fragment(pkt(1, 0, b""), 68) == []  # no data, no fragments: the kernel's loop


# -- round trips -----------------------------------------------------------------------------------


def _with_dups(frags: list[bytes], rnd: random.Random, k: int) -> list[bytes]:
    """A random order with ``k`` duplicates, each after its original and before
    the datagram completes (a copy arriving later would start a new queue)."""
    order = frags[:]
    rnd.shuffle(order)
    for _ in range(k if len(order) > 1 else 0):
        pos = rnd.randrange(1, len(order))
        order.insert(pos, rnd.choice(order[:pos]))
    return order


def _orders(frags: list[bytes], rnd: random.Random) -> list[list[bytes]]:
    return [frags, frags[::-1], _with_dups(frags, rnd, 0), _with_dups(frags, rnd, 3),
            _with_dups(frags, rnd, len(frags))]


@pytest.mark.parametrize("size", [1, 8, 9, 100, 1000, 1480, 1481, 3000, 8000, 65495])
@pytest.mark.parametrize("mtu", [68, 100, 576, 1500])
def test_round_trip(size: int, mtu: int) -> None:
    rnd = random.Random(size * 7919 + mtu)
    opts = b"\x94\x04\x00\x00" if size % 2 else b""
    orig = pkt(size & 0xFFFF, 0, rnd.randbytes(size), tos=2, opts=opts)
    frags = ip_fragment(orig, mtu)
    for order in _orders(frags, rnd):
        rig = Rig()
        assert rig.feed(order) == [orig]
        assert rig.q.mem() == 0 and len(rig.q) == 0
        st_ = rig.stats()
        assert st_["ReasmOKs"] == 1 and st_["ReasmFails"] == 0 and st_["ReasmOverlaps"] == 0


def test_interleaved_datagrams_and_keys() -> None:
    rnd = random.Random(3)
    origs = [pkt(i % 3, 0, rnd.randbytes(1000 + i), src=SRC + i // 3) for i in range(9)]
    frags = [f for o in origs for f in ip_fragment(o, 300)]
    rnd.shuffle(frags)
    rig = Rig()
    got = {out for f in frags for out in rig.feed([f], key="local")}
    assert got == set(origs)
    # key_extra separates otherwise identical queues (Linux's defrag user, vif).
    two = ip_fragment(origs[0], 300)
    assert rig.feed(two[:1], key="a") + rig.feed(two[1:], key="b") == []
    assert len(rig.q) == 2


# -- duplicates, overlaps, bad ends ----------------------------------------------------------------


def test_duplicate_inside_a_run_is_dropped_quietly() -> None:
    rig = Rig()
    a, b, c = pkt(1, 0, bytes(8), mf=True), pkt(1, 8, bytes(8), mf=True), pkt(1, 16, bytes(8))
    assert rig.feed([a, b]) == []
    mem = rig.q.mem()
    # [0,8) and [8,16) came in order, so they form one run: [0,16) lies inside it.
    assert rig.feed([a, pkt(1, 0, bytes(16), mf=True), b]) == []
    assert rig.q.mem() == mem
    assert rig.feed([c]) == [pkt(1, 0, bytes(24))]
    assert rig.stats()["ReasmOverlaps"] == 0


def test_same_bytes_across_two_runs_is_an_overlap() -> None:
    rig = Rig()
    # Out of order, [8,16) and [0,8) are separate runs: [0,16) crosses both.
    rig.feed([pkt(1, 8, bytes(8), mf=True), pkt(1, 0, bytes(8), mf=True)])
    assert rig.feed([pkt(1, 0, bytes(16), mf=True)]) == []
    assert rig.q.mem() == 0 and len(rig.q) == 0
    assert rig.stats() == {"ReasmTimeout": 0, "ReasmReqds": 3, "ReasmOKs": 0, "ReasmFails": 1,
                           "ReasmOverlaps": 1}


@pytest.mark.parametrize(("first", "second"), [
    ((0, 16), (8, 16)),  # starts inside, ends past the tail
    ((16, 8), (8, 16)),  # ends inside the next fragment
    ((8, 8), (0, 24)),  # covers it entirely
])
def test_partial_overlap_kills_the_queue(first: tuple[int, int], second: tuple[int, int]) -> None:
    rig = Rig()
    rig.feed([pkt(9, first[0], bytes(first[1]), mf=True)])
    rig.feed([pkt(9, second[0], bytes(second[1]), mf=True)])
    assert len(rig.q) == 0 and rig.q.mem() == 0
    assert rig.stats()["ReasmOverlaps"] == 1 and rig.stats()["ReasmFails"] == 1
    # Later fragments of the same datagram start a new queue.
    orig = pkt(9, 0, bytes(range(40)))
    assert rig.feed(ip_fragment(orig, 36)) == [orig]


@pytest.mark.parametrize(("queued", "bad"), [
    (pkt(2, 8, bytes(8)), pkt(2, 8, bytes(16))),  # a second last fragment, another end
    (pkt(2, 8, bytes(8)), pkt(2, 16, bytes(16), mf=True)),  # data beyond the end
    (pkt(2, 8, bytes(16), mf=True), pkt(2, 0, bytes(8))),  # an end before queued data
])
def test_conflicting_end_kills_the_queue(queued: bytes, bad: bytes) -> None:
    rig = Rig()
    assert rig.feed([queued, bad]) == []
    assert len(rig.q) == 0 and rig.q.mem() == 0
    assert rig.stats()["ReasmFails"] == 1 and rig.stats()["ReasmOverlaps"] == 0


def test_same_last_fragment_twice_is_a_duplicate() -> None:
    rig = Rig()
    last = pkt(3, 8, bytes(8))
    assert rig.feed([last, last]) == []
    assert len(rig.q) == 1 and rig.stats()["ReasmFails"] == 0


def test_non_last_fragment_is_trimmed_to_8_bytes() -> None:
    rig = Rig()
    # 12 bytes with MF: the last 4 are cut off, so offset 8 completes it.
    out = rig.feed([pkt(4, 0, bytes(range(12)), mf=True), pkt(4, 8, b"\xaa" * 5)])
    assert out == [pkt(4, 0, bytes(range(8)) + b"\xaa" * 5)]
    # 4 bytes with MF trim to nothing: an error that takes the queue with it.
    rig.feed([pkt(5, 8, bytes(8)), pkt(5, 0, bytes(4), mf=True)])
    assert len(rig.q) == 0 and rig.stats()["ReasmFails"] == 1


def test_empty_fragment_kills_the_queue() -> None:
    rig = Rig()
    rig.feed([pkt(6, 0, bytes(8), mf=True), pkt(6, 8, b"")])
    assert len(rig.q) == 0 and rig.stats()["ReasmFails"] == 1


def test_oversized_datagram_is_dropped() -> None:
    rig = Rig()
    # Whole data up to offset 65520, then 100 bytes more: 20 + 65620 > 65535.
    frags = [pkt(7, off, bytes(min(1480, 65520 - off)), mf=True) for off in range(0, 65520, 1480)]
    frags.append(pkt(7, 65520, bytes(100)))
    assert rig.feed(frags) == []
    assert rig.stats()["ReasmFails"] == 1 and rig.q.mem() == 0 and len(rig.q) == 0
    # The largest legal datagram still goes through.
    ok = pkt(8, 0, bytes(65515))
    assert rig.feed(ip_fragment(ok, 1500)) == [ok]


# (first fragment's tos, second's, the result's tos or None when dropped)
@pytest.mark.parametrize(("tos_a", "tos_b", "want"), [
    (0, 0, 0), (2, 2, 2), (1, 2, 1), (2, 3, 3), (1, 3, 3), (3, 3, 3), (0, 3, None), (0, 2, None),
    (0xFC, 0x01, None),
])
def test_ecn_merge(tos_a: int, tos_b: int, want: int | None) -> None:
    rig = Rig()
    out = rig.feed([pkt(1, 0, bytes(8), mf=True, tos=tos_a), pkt(1, 8, bytes(8), tos=tos_b)])
    if want is None:
        assert out == [] and rig.stats()["ReasmFails"] == 1 and rig.q.mem() == 0
    else:
        assert [o[1] for o in out] == [want]


@pytest.mark.parametrize(("df_big", "df_small", "want_df"), [
    (True, False, True), (False, True, False), (True, True, True), (False, False, False)])
def test_df_follows_the_largest_fragment(df_big: bool, df_small: bool, want_df: bool) -> None:
    out = Rig().feed([pkt(1, 0, bytes(64), mf=True, df=df_big), pkt(1, 64, bytes(8), df=df_small)])
    assert len(out) == 1 and frag_field(out[0]) == (IP_DF if want_df else 0)
    assert csum_ok(out[0][:20])


# -- timers and memory -----------------------------------------------------------------------------


def test_timeout_reports_only_queues_with_their_first_fragment() -> None:
    rig = Rig()
    first = pkt(1, 0, bytes(range(100)), mf=True)
    rig.feed([first, pkt(2, 8, bytes(8), mf=True)])
    assert rig.q.mem() == 2 * IPQ_SIZE + len(first) + 28 + 2 * SKB_OVERHEAD
    rig.sched.run_for(20 * NSEC_PER_SEC)
    rig.feed([pkt(1, 200, bytes(8), mf=True)])  # no effect on the lifetime
    rig.sched.run_for(10 * NSEC_PER_SEC - 1)
    assert rig.expired == [] and len(rig.q) == 2
    rig.sched.run_for(1)
    # The head as queued: its 100 bytes with MF trimmed to 96.
    assert rig.expired == [first[:20 + 96]]
    assert rig.q.mem() == 0 and len(rig.q) == 0
    st_ = rig.stats()
    assert st_["ReasmTimeout"] == 2 and st_["ReasmFails"] == 2 and st_["ReasmOKs"] == 0


def test_ipfrag_time_is_read_when_a_queue_is_created() -> None:
    rig = Rig(time_s=5)
    rig.feed([pkt(1, 0, bytes(8), mf=True)])
    rig.sysctl[2] = 60
    rig.feed([pkt(2, 0, bytes(8), mf=True)])
    rig.sched.run_for(5 * NSEC_PER_SEC)
    assert len(rig.expired) == 1 and len(rig.q) == 1
    rig.sched.run_for(55 * NSEC_PER_SEC)
    assert len(rig.expired) == 2 and len(rig.q) == 0


def test_complete_and_killed_queues_cancel_their_timer() -> None:
    rig = Rig()
    orig = pkt(1, 0, bytes(100))
    rig.feed(ip_fragment(orig, 68))
    rig.feed([pkt(2, 0, bytes(16), mf=True), pkt(2, 8, bytes(16), mf=True)])  # overlap
    rig.sched.run_until()
    assert rig.expired == [] and rig.stats()["ReasmTimeout"] == 0


def test_high_thresh_bounds_a_flood() -> None:
    high = 64 * 1024
    rig = Rig(high=high)
    rnd = random.Random(1)
    peak = 0
    for i in range(2000):
        size = rnd.choice([8, 64, 512, 1480])
        rig.feed([pkt(i & 0xFFFF, rnd.randrange(0, 8000) * 8, bytes(size), mf=True,
                      src=SRC + i // 0x10000)])
        peak = max(peak, rig.q.mem())
        assert rig.q.mem() <= rig.bound()
    assert high < peak <= high + IPQ_SIZE + 20 + 1480 + SKB_OVERHEAD
    st_ = rig.stats()
    assert st_["ReasmReqds"] == 2000 and st_["ReasmFails"] > 1500
    # Over the limit even a queue's completing fragment is refused.
    full = rig.q.mem()
    assert rig.feed([pkt(0, 0, bytes(8), mf=True), pkt(0, 8, bytes(8))]) == []
    assert rig.q.mem() == full
    rig.sched.run_until()  # expiry frees everything
    assert rig.q.mem() == 0 and len(rig.q) == 0
    assert rig.feed(ip_fragment(pkt(1, 0, bytes(100)), 68)) == [pkt(1, 0, bytes(100))]


def test_high_thresh_zero_refuses_everything() -> None:
    rig = Rig(high=0)
    assert rig.feed(ip_fragment(pkt(1, 0, bytes(100)), 68)) == []
    assert rig.q.mem() == 0 and rig.stats()["ReasmFails"] == rig.stats()["ReasmReqds"] == 3


def test_clear_frees_everything_silently() -> None:
    rig = Rig()
    rig.feed([pkt(i, 0, bytes(64), mf=True) for i in range(10)])
    assert rig.q.mem() > 0
    rig.q.clear()
    assert rig.q.mem() == 0 and len(rig.q) == 0
    rig.sched.run_until()
    assert rig.expired == [] and rig.stats()["ReasmTimeout"] == 0


@pytest.mark.parametrize("junk", [b"", b"\x45", bytes(19), b"\x44" + bytes(30),
                                  b"\x4f" + bytes(40)])
def test_unparseable_input_is_ignored(junk: bytes) -> None:
    rig = Rig()
    assert rig.q.defrag(junk, None) is None
    assert rig.stats()["ReasmReqds"] == 0 and rig.q.mem() == 0


def test_stats_object() -> None:
    s = IpFragStats()
    s.ReasmOKs += 2
    assert list(s) == ["ReasmTimeout", "ReasmReqds", "ReasmOKs", "ReasmFails", "ReasmOverlaps"]
    assert s["ReasmOKs"] == 2 and dict(s.items())["ReasmReqds"] == 0
    with pytest.raises(KeyError):
        s["InReceives"]
    with pytest.raises(AttributeError):
        s.Other = 1  # type: ignore[attr-defined]


# -- properties ------------------------------------------------------------------------------------

HIGH = 8 * 1024


def _check_invariants(rig: Rig, outs: list[bytes]) -> None:
    assert 0 <= rig.q.mem() <= rig.bound()
    for out in outs:
        assert int.from_bytes(out[2:4], "big") == len(out) <= 0xFFFF
        assert csum_ok(out[:hdr_len(out)])
        assert frag_field(out) in (0, IP_DF)


def _drain(rig: Rig) -> None:
    rig.sched.run_until()
    assert rig.q.mem() == 0 and len(rig.q) == 0


SLOW = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(st.lists(st.binary(max_size=120), max_size=40))
def test_arbitrary_bytes_never_raise(blobs: list[bytes]) -> None:
    rig = Rig(high=HIGH)
    for b in blobs:
        outs = rig.feed([b])
        _check_invariants(rig, outs)
    _drain(rig)


fragment_fields = st.tuples(
    st.integers(0, 2),  # id: few values, so fragments collide
    st.integers(0, IP_OFFSET),  # offset in 8-byte units
    st.booleans(), st.booleans(),  # MF, DF
    st.integers(0, 255),  # tos
    st.sampled_from([b"", b"\x01\x01\x01\x01", b"\x94\x04\x00\x00"]),
    st.integers(0, 3000),  # payload length
)


@SLOW
@given(st.lists(fragment_fields, max_size=60), st.booleans())
def test_arbitrary_fragments_never_raise(fields: list[tuple[int, int, bool, bool, int, bytes,
                                                            int]], small: bool) -> None:
    rig = Rig(high=HIGH)
    for ident, off, mf, df, tos, opts, n in fields:
        if small:
            off &= 0x3F  # near the start, so queues complete and overlap
        outs = rig.feed([pkt(ident, off * 8, bytes([ident]) * n, mf=mf, df=df, tos=tos,
                             opts=opts)])
        _check_invariants(rig, outs)
    st_ = rig.stats()
    assert st_["ReasmReqds"] == len(fields)
    assert st_["ReasmOverlaps"] <= st_["ReasmFails"]
    _drain(rig)


@SLOW
@given(st.binary(min_size=1, max_size=5000), st.integers(68, 1500), st.randoms(),
       st.sampled_from([b"", b"\x94\x04\x00\x00", b"\x44\x08\x05\x00\x00\x00\x00\x00"]))
def test_any_fragmentation_round_trips(payload: bytes, mtu: int, rnd: random.Random,
                                       opts: bytes) -> None:
    orig = pkt(77, 0, payload, opts=opts)
    frags = ip_fragment(orig, mtu)
    assert all(len(f) <= mtu for f in frags)
    order = _with_dups(frags, rnd, 2)
    rig = Rig()
    assert rig.feed(order) == [orig]
    assert rig.q.mem() == 0
