"""parse_options' one-unpack road for Linux's SYN layout must give exactly
what the option walk gives, on Linux's own SYNs and on anything near them."""

from __future__ import annotations

import random
import struct

from usernet.wire.tcp import TcpOptions, parse_options, syn_options, walk_options


def same(buf: bytes, start: int, end: int, syn: bool) -> None:
    fast = parse_options(buf, start, end, syn)
    slow = walk_options(TcpOptions(), buf, start, end, syn)
    assert repr(fast) == repr(slow)
    assert (fast.mss, fast.wscale, fast.sack_ok, fast.saw_ts, fast.tsval, fast.tsecr,
            fast.sack) == (slow.mss, slow.wscale, slow.sack_ok, slow.saw_ts, slow.tsval,
                           slow.tsecr, slow.sack)


def test_linux_syn_layouts() -> None:
    for mss in (0, 1, 536, 1460, 65535):
        for ws in (0, 7, 14, 15, 200, 255):
            for ts in ((0, 0), (1, 2), (0xFFFFFFFF, 0x80000000)):
                opts = syn_options(mss, True, ts, ws)
                assert len(opts) == 20
                for syn in (True, False):
                    same(b"\xaa" * 7 + opts + b"\xbb", 7, 27, syn)
                    same(opts, 0, 20, syn)
                    same(memoryview(opts), 0, 20, syn)  # type: ignore[arg-type]
                assert parse_options(opts, 0, 20, True).wscale == min(ws, 14)


def test_every_single_byte_mutation() -> None:
    base = syn_options(1460, True, (0x01020304, 0x05060708), 7)
    for pos in range(20):
        for value in range(256):
            buf = bytearray(base)
            buf[pos] = value
            same(bytes(buf), 0, 20, True)


def test_random_and_hostile_bytes() -> None:
    rng = random.Random(20)
    base = syn_options(1460, True, (1, 2), 7)
    for _ in range(20000):
        n = rng.choice((18, 19, 20, 21, 24, 40))
        if rng.random() < 0.5:
            buf = bytearray(rng.randbytes(n))
        else:
            buf = bytearray((base * 2)[:n])
            for _ in range(rng.randrange(1, 4)):
                buf[rng.randrange(n)] = rng.choice((0, 1, 2, 3, 4, 8, 10, 20, 255,
                                                    rng.randrange(256)))
        start = rng.randrange(0, 3) if n > 20 else 0
        end = min(start + 20, n) if rng.random() < 0.8 else n
        same(bytes(buf), start, end, rng.random() < 0.9)


def test_short_buffer_walks() -> None:
    """``end`` beyond the buffer: the walk decides (IndexError or struct.error)."""
    opts = syn_options(1460, True, (1, 2), 7)
    for cut in range(1, 20):
        buf = opts[:cut]
        try:
            want: object = walk_options(TcpOptions(), buf, 0, 20, True)
        except (IndexError, struct.error) as exc:
            want = type(exc)
        try:
            got: object = parse_options(buf, 0, 20, True)
        except (IndexError, struct.error) as exc:
            got = type(exc)
        assert repr(got) == repr(want)


def test_syn_options_one_pack_matches_the_layout() -> None:
    """syn_options' one-pack road: Linux's bytes, field by field."""
    for mss in (0, 536, 1460, 65535):
        for ws in (0, 7, 14, 255):
            for ts in ((0, 0), (1, 2), (0xFFFFFFFF, 0x80000000)):
                want = (struct.pack("!BBH", 2, 4, mss) + struct.pack("!BBBBII", 4, 2, 8, 10, *ts)
                        + bytes((1, 3, 3, ws)))
                assert syn_options(mss, True, ts, ws) == want
    assert syn_options(1460, True, (1, 2), -1) == struct.pack("!BBHBBBBII", 2, 4, 1460, 4, 2,
                                                               8, 10, 1, 2)
    for bad in ((70000, (1, 2), 7), (1460, (1 << 32, 2), 7), (1460, (1, 2), 256)):
        try:
            syn_options(bad[0], True, bad[1], bad[2])
        except (struct.error, ValueError):
            continue
        raise AssertionError(bad)
