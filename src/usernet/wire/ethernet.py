"""Ethernet II frames (IEEE 802.3 with an EtherType)."""

from __future__ import annotations

import struct

ETH_HLEN = 14
ETH_ZLEN = 60  # minimum frame without FCS: shorter frames are padded on the wire
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
ETH_P_8021Q = 0x8100

BROADCAST = b"\xff" * 6
ETH_HDR = struct.Struct("!6s6sH")


def eth_header(dst: bytes, src: bytes, proto: int) -> bytes:
    return ETH_HDR.pack(dst, src, proto)


def is_multicast(mac: bytes) -> bool:
    return bool(mac[0] & 1)


def mac_str(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)
