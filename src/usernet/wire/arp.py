"""ARP for IPv4 over Ethernet (RFC 826)."""

from __future__ import annotations

import struct

ARPHRD_ETHER = 1
ARPOP_REQUEST = 1
ARPOP_REPLY = 2
ARP_LEN = 28
# hrd, pro, hln, pln, op, sha, spa, tha, tpa (addresses as host integers)
ARP_HDR = struct.Struct("!HHBBH6sI6sI")


def arp_packet(op: int, sha: bytes, spa: int, tha: bytes, tpa: int) -> bytes:
    return ARP_HDR.pack(ARPHRD_ETHER, 0x0800, 6, 4, op, sha, spa, tha, tpa)
