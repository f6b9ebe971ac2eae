"""IPv4 address helpers: addresses are ints in host order throughout the kernel."""

from __future__ import annotations

import socket
import struct

_IP = struct.Struct("!I")


def aton(text: str) -> int:
    """Dotted quad to int; raises ValueError on anything else."""
    parts = text.split(".")
    if len(parts) != 4:
        raise ValueError(text)
    value = 0
    for part in parts:
        if not part.isdigit() or len(part) > 3:
            raise ValueError(text)
        octet = int(part)
        if octet > 255:
            raise ValueError(text)
        value = (value << 8) | octet
    return value


def ntoa(addr: int) -> str:
    return socket.inet_ntoa(_IP.pack(addr))


def mask(plen: int) -> int:
    return (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF if plen else 0


def is_zeronet(addr: int) -> bool:
    return addr >> 24 == 0


def is_loopback(addr: int) -> bool:
    return addr >> 24 == 127


def is_multicast(addr: int) -> bool:
    return addr >> 28 == 0xE


def is_lbcast(addr: int) -> bool:
    return addr == 0xFFFFFFFF


def prefix_str(addr: int, plen: int) -> str:
    return ntoa(addr) if plen == 32 else f"{ntoa(addr)}/{plen}"
