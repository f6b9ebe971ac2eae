"""The Internet checksum (RFC 1071) and its incremental update (RFC 1624)."""

from __future__ import annotations


def csum_partial(data: bytes | bytearray | memoryview, initial: int = 0) -> int:
    """One's-complement sum of ``data`` as 16-bit big-endian words, folded to 16 bits."""
    if len(data) & 1:
        data = bytes(data) + b"\x00"
    # The whole buffer as one big integer: 2**16 == 1 (mod 0xffff), so the
    # integer modulo 0xffff is the sum of its 16-bit words -- one C-level
    # operation instead of a Python loop.  A non-zero multiple of 0xffff is
    # one's-complement "negative zero", 0xffff.
    n = int.from_bytes(data, "big")
    rem = n % 0xFFFF
    total = initial + (rem if rem or not n else 0xFFFF)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def ip_checksum(data: bytes | bytearray | memoryview) -> int:
    """The checksum field value for ``data`` (whose checksum field is zero)."""
    return ~csum_partial(data) & 0xFFFF


def csum_ok(data: bytes | bytearray | memoryview) -> bool:
    """True when ``data`` including its checksum field sums to 0xffff."""
    return csum_partial(data) == 0xFFFF


def pseudo_header_sum(saddr: int, daddr: int, proto: int, length: int) -> int:
    """Folded sum of the IPv4 pseudo header (what CHECKSUM_PARTIAL leaves in the field)."""
    total = (saddr >> 16) + (saddr & 0xFFFF) + (daddr >> 16) + (daddr & 0xFFFF) + proto + length
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total
