"""Bob Jenkins' lookup3 hash as Linux has it (include/linux/jhash.h): the
same inputs give the same buckets, ports and IDs the kernel's would."""

from __future__ import annotations

JHASH_INITVAL = 0xDEADBEEF
_M32 = 0xFFFFFFFF


def _rol32(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M32


def jhash_3words(a: int, b: int, c: int, initval: int) -> int:
    """Linux's jhash_3words (include/linux/jhash.h)."""
    init = (initval + JHASH_INITVAL + 12) & _M32
    a, b, c = (a + init) & _M32, (b + init) & _M32, (c + init) & _M32
    c = ((c ^ b) - _rol32(b, 14)) & _M32
    a = ((a ^ c) - _rol32(c, 11)) & _M32
    b = ((b ^ a) - _rol32(a, 25)) & _M32
    c = ((c ^ b) - _rol32(b, 16)) & _M32
    a = ((a ^ c) - _rol32(c, 4)) & _M32
    b = ((b ^ a) - _rol32(a, 14)) & _M32
    return ((c ^ b) - _rol32(b, 24)) & _M32


def jhash2(k: tuple[int, ...], initval: int) -> int:
    """The kernel's jhash2 over 32-bit words."""
    m = 0xFFFFFFFF
    a = b = c = (0xDEADBEEF + (len(k) << 2) + initval) & m
    i, n = 0, len(k)
    while n > 3:
        a, b, c = (a + k[i]) & m, (b + k[i + 1]) & m, (c + k[i + 2]) & m
        a = ((a - c) & m) ^ _rol32(c, 4); c = (c + b) & m  # noqa: E702
        b = ((b - a) & m) ^ _rol32(a, 6); a = (a + c) & m  # noqa: E702
        c = ((c - b) & m) ^ _rol32(b, 8); b = (b + a) & m  # noqa: E702
        a = ((a - c) & m) ^ _rol32(c, 16); c = (c + b) & m  # noqa: E702
        b = ((b - a) & m) ^ _rol32(a, 19); a = (a + c) & m  # noqa: E702
        c = ((c - b) & m) ^ _rol32(b, 4); b = (b + a) & m  # noqa: E702
        i, n = i + 3, n - 3
    if n == 0:
        return c
    if n == 3:
        c = (c + k[i + 2]) & m
    if n >= 2:
        b = (b + k[i + 1]) & m
    a = (a + k[i]) & m
    c ^= b; c = (c - _rol32(b, 14)) & m  # noqa: E702
    a ^= c; a = (a - _rol32(c, 11)) & m  # noqa: E702
    b ^= a; b = (b - _rol32(a, 25)) & m  # noqa: E702
    c ^= b; c = (c - _rol32(b, 16)) & m  # noqa: E702
    a ^= c; a = (a - _rol32(c, 4)) & m  # noqa: E702
    b ^= a; b = (b - _rol32(a, 14)) & m  # noqa: E702
    c ^= b; c = (c - _rol32(b, 24)) & m  # noqa: E702
    return c
