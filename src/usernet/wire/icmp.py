"""ICMP for IPv4 (RFC 792)."""

from __future__ import annotations

import struct

from .checksum import ip_checksum

ICMP_ECHOREPLY = 0
ICMP_DEST_UNREACH = 3
ICMP_SOURCE_QUENCH = 4
ICMP_REDIRECT = 5
ICMP_ECHO = 8
ICMP_TIME_EXCEEDED = 11
ICMP_PARAMETERPROB = 12
ICMP_TIMESTAMP = 13
ICMP_TIMESTAMPREPLY = 14

# ICMP_DEST_UNREACH codes
ICMP_NET_UNREACH = 0
ICMP_HOST_UNREACH = 1
ICMP_PROT_UNREACH = 2
ICMP_PORT_UNREACH = 3
ICMP_FRAG_NEEDED = 4
ICMP_SR_FAILED = 5
ICMP_NET_UNKNOWN = 6
ICMP_HOST_UNKNOWN = 7
ICMP_NET_ANO = 9
ICMP_HOST_ANO = 10
ICMP_PKT_FILTERED = 13
# ICMP_REDIRECT codes
ICMP_REDIR_NET = 0
ICMP_REDIR_HOST = 1
# ICMP_TIME_EXCEEDED codes
ICMP_EXC_TTL = 0
ICMP_EXC_FRAGTIME = 1

ICMP_HLEN = 8
ICMP_HDR = struct.Struct("!BBHI")  # type, code, checksum, rest-of-header
ICMP_ECHO_HDR = struct.Struct("!BBHHH")  # type, code, checksum, id, sequence

# Types that are errors (icmp_pointers[].error in net/ipv4/icmp.c)
ICMP_ERROR_TYPES = frozenset({ICMP_DEST_UNREACH, ICMP_SOURCE_QUENCH, ICMP_REDIRECT,
                              ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB})


def icmp_message(icmp_type: int, code: int, rest: int, payload: bytes) -> bytes:
    """An ICMP message with its checksum computed (Linux always computes ICMP's)."""
    msg = ICMP_HDR.pack(icmp_type, code, 0, rest) + payload
    check = ip_checksum(msg)
    return msg[:2] + check.to_bytes(2, "big") + msg[4:]
