"""Property tests: the receive path never raises, whatever arrives."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from usernet.ipv4.datapath_state import ipv4_dp
from usernet.wire.ipv4 import IP_MF, addr_int, ipv4_header

_spec = importlib.util.spec_from_file_location(
    "rx_target", Path(__file__).parent.parent / "fuzz" / "rx_target.py")
assert _spec is not None and _spec.loader is not None
rx_target = importlib.util.module_from_spec(_spec)
sys.modules["rx_target"] = rx_target
_spec.loader.exec_module(rx_target)

TARGET = rx_target.Target()
ETH = TARGET.dev.dev_addr + b"\x02\x00\x00\x00\x00\x02\x08\x00"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_any_bytes(data: bytes) -> None:
    TARGET.feed(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=120))
def test_any_ipv4_payload(data: bytes) -> None:
    TARGET.feed(ETH + data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ihl=st.integers(0, 15), tot_len=st.integers(0, 0xFFFF), frag=st.integers(0, 0xFFFF),
       ttl=st.integers(0, 255), proto=st.sampled_from([1, 6, 17, 47, 255]),
       payload=st.binary(max_size=64))
def test_header_fields(ihl: int, tot_len: int, frag: int, ttl: int, proto: int,
                       payload: bytes) -> None:
    """Valid checksums, arbitrary fields: bad IHL, lengths, fragments, TTLs."""
    hdr = bytearray(ipv4_header(0, tot_len, 7, frag, ttl, proto, addr_int("10.0.0.2"),
                                addr_int("10.0.0.1")))
    hdr[0] = 0x40 | ihl
    TARGET.feed(ETH + bytes(hdr) + payload)


def test_bad_checksum_is_counted() -> None:
    mib = ipv4_dp(TARGET.net).mib
    before = mib["InCsumErrors"]
    hdr = bytearray(ipv4_header(0, 28, 9, 0, 64, 1, addr_int("10.0.0.2"), addr_int("10.0.0.1")))
    hdr[10] ^= 0xFF
    TARGET.feed(ETH + bytes(hdr) + b"\x08\x00\xf7\xff\x00\x00\x00\x00")
    assert mib["InCsumErrors"] == before + 1


def test_fragment_flood_stays_bounded() -> None:
    """Fragments that never complete cannot take more than ipfrag_high_thresh."""
    rng = random.Random(5)
    for i in range(400):
        frag = ipv4_header(0, 20 + 1024, i, IP_MF, 64, 17, addr_int("10.0.0.2"),
                           addr_int("10.0.0.1")) + bytes(1024)
        TARGET.feed(ETH + frag)
        if rng.random() < 0.01:
            TARGET.feed(ETH + frag)  # duplicates too
    frags = ipv4_dp(TARGET.net).frags
    assert frags is not None
    assert frags.mem() <= 65536 + 2048
    assert frags.stats["ReasmFails"] > 0


def test_fuzzer_runs() -> None:
    assert rx_target.main(2000, 3) == 0
