"""The IPv4 header (RFC 791)."""

from __future__ import annotations

import socket
import struct

from .checksum import ip_checksum

IPV4_HLEN = 20
# version/ihl, tos, tot_len, id, frag_off, ttl, protocol, check, saddr, daddr
IPV4_HDR = struct.Struct("!BBHHHBBHII")

IP_CE = 0x8000
IP_DF = 0x4000
IP_MF = 0x2000
IP_OFFSET = 0x1FFF

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17


def ipv4_header(tos: int, tot_len: int, ident: int, frag_off: int, ttl: int, proto: int,
                saddr: int, daddr: int, options: bytes = b"") -> bytes:
    """A header with a correct checksum; ``options`` must be a multiple of 4 bytes."""
    ihl = 5 + len(options) // 4
    hdr = IPV4_HDR.pack(0x40 | ihl, tos, tot_len, ident, frag_off, ttl, proto, 0,
                        saddr, daddr) + options
    check = ip_checksum(hdr)
    return hdr[:10] + check.to_bytes(2, "big") + hdr[12:]


def addr_str(addr: int) -> str:
    return socket.inet_ntoa(addr.to_bytes(4, "big"))


def addr_int(text: str) -> int:
    return int.from_bytes(socket.inet_aton(text), "big")
