"""tcpdump -n lines, checked against text recorded from tcpdump 4.99.3.

EXPECTED was produced by writing cases() to a pcap and running
``TZ=UTC tcpdump -n -r FILE``; test_live_tcpdump re-checks every case against
the binary when it is installed.
"""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import socket
import struct
import subprocess

import pytest

from usernet.tools.tcpdump_fmt import TcpdumpFormatter, format_frame, format_line, format_ts
from usernet.wire.arp import ARP_HDR, arp_packet
from usernet.wire.ethernet import ETH_P_ARP, ETH_P_IPV6, eth_header
from usernet.wire.icmp import icmp_message
from usernet.wire.ipv4 import addr_int, ipv4_header
from usernet.wire.pcap import PcapWriter
from usernet.wire.udp import UDP_HDR

A = bytes.fromhex("020000000001")
B = bytes.fromhex("020000000002")
BCAST = b"\xff" * 6
ZERO = bytes(6)


# -- frame builders ------------------------------------------------------------


def eth(payload: bytes, etype: int = 0x0800, src: bytes = A, dst: bytes = B,
        pad: bool = True) -> bytes:
    frame = eth_header(dst, src, etype) + payload
    return frame + bytes(max(0, 60 - len(frame))) if pad else frame


def ip4(proto: int, payload: bytes, src: str = "10.0.0.1", dst: str = "10.0.0.2", *,
        frag: int = 0, tot_len: int | None = None, options: bytes = b"") -> bytes:
    total = 20 + len(options) + len(payload) if tot_len is None else tot_len
    return ipv4_header(0, total, 1, frag, 64, proto, addr_int(src), addr_int(dst),
                       options) + payload


def echo(kind: int, ident: int, seq: int, size: int = 56) -> bytes:
    return icmp_message(kind, 0, ident << 16 | seq, bytes(i & 0xFF for i in range(size)))


def udp(sport: int, dport: int, payload: bytes, ulen: int | None = None) -> bytes:
    return UDP_HDR.pack(sport, dport, 8 + len(payload) if ulen is None else ulen, 0) + payload


def tcp(sport: int, dport: int, seq: int, ack: int, flags: int, *, win: int = 64240,
        opts: bytes = b"", data: bytes = b"", doff: int | None = None, urp: int = 0) -> bytes:
    off = 5 + len(opts) // 4 if doff is None else doff
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, win, 0,
                       urp) + opts + data


def a6(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6, text)


def ip6(nh: int, payload: bytes, src: str = "fe80::1", dst: str = "fe80::2", *,
        hlim: int = 64, plen: int | None = None) -> bytes:
    length = len(payload) if plen is None else plen
    return struct.pack("!IHBB", 6 << 28, length, nh, hlim) + a6(src) + a6(dst) + payload


def icmp6(kind: int, code: int, body: bytes) -> bytes:
    return struct.pack("!BBH", kind, code, 0) + body


def e6(payload: bytes) -> bytes:
    return eth(payload, ETH_P_IPV6)


def arp(op: int, sha: bytes, spa: str, tha: bytes, tpa: str) -> bytes:
    return arp_packet(op, sha, addr_int(spa), tha, addr_int(tpa))


SYN_OPTS = bytes.fromhex("020405b4" "0402080a0000100000000000" "01030307")
TS_OPTS = bytes.fromhex("0101080a0000101000002020")
HBH_RA = bytes.fromhex("3a00050200000100")  # next header ICMPv6, router alert (MLD)
DB1, DB2, DBFE, DB9 = "2001:db8::1", "2001:db8::2", "2001:db8::fe", "2001:db8::9"


def quoted(proto: int, payload: bytes) -> bytes:
    """The first 28 bytes of a datagram, as an ICMP error quotes it."""
    return ip4(proto, payload, "10.2.0.1", "10.2.0.2")[:28]


Q_UDP = quoted(17, udp(40000, 5000, b"x" * 10))
Q_TCP = quoted(6, tcp(40000, 80, 1, 0, 2))


def unreach(code: int, rest: int = 0, inner: bytes = Q_UDP) -> bytes:
    return icmp_message(3, code, rest, inner)


def err6(kind: int, code: int, rest: bytes, inner: bytes, src: str = DBFE) -> bytes:
    return e6(ip6(58, icmp6(kind, code, rest + inner), src, DB1))


def inner6(nh: int, payload: bytes, dst: str = DB9, src: str = DB1) -> bytes:
    return ip6(nh, payload, src, dst)


# -- the cases, in capture order (TCP numbering depends on it) -------------------


def arp_cases() -> list[tuple[str, bytes]]:
    return [
        ("arp request", eth(arp(1, A, "10.0.0.1", ZERO, "10.0.0.2"), ETH_P_ARP, dst=BCAST)),
        ("arp request unpadded",
         eth(arp(1, A, "10.0.0.1", ZERO, "10.0.0.2"), ETH_P_ARP, dst=BCAST, pad=False)),
        ("arp reply", eth(arp(2, B, "10.0.0.2", A, "10.0.0.1"), ETH_P_ARP)),
        ("arp request known tha", eth(arp(1, A, "10.0.0.1", B, "10.0.0.2"), ETH_P_ARP)),
        ("arp unknown op", eth(ARP_HDR.pack(1, 0x800, 6, 4, 7, A, 1, B, 2), ETH_P_ARP,
                               pad=False)),
        ("arp for ipv6", eth(struct.pack("!HHBBH", 1, 0x86DD, 6, 16, 1) + bytes(44),
                             ETH_P_ARP)),
        ("arp truncated", eth(arp(1, A, "10.0.0.1", ZERO, "10.0.0.2")[:20], ETH_P_ARP,
                              pad=False)),
        ("rarp request", eth(ARP_HDR.pack(1, 0x800, 6, 4, 3, A, 0, A, 0), 0x8035)),
        ("rarp reply", eth(ARP_HDR.pack(1, 0x800, 6, 4, 4, B, addr_int("10.0.0.2"), A,
                                        addr_int("10.0.0.1")), 0x8035)),
    ]


def icmp_cases() -> list[tuple[str, bytes]]:
    rtr = "10.0.0.254", "10.2.0.1"
    cases = [
        ("icmp echo request", eth(ip4(1, echo(8, 123, 1)))),
        ("icmp echo reply", eth(ip4(1, echo(0, 123, 1), "10.0.0.2", "10.0.0.1"))),
        ("icmp echo padded", eth(ip4(1, echo(8, 7, 2, 0)))),
        ("icmp port unreach udp", eth(ip4(1, unreach(3), "10.2.0.2", "10.2.0.1"))),
        ("icmp port unreach tcp",
         eth(ip4(1, unreach(3, inner=Q_TCP), "10.2.0.2", "10.2.0.1"))),
        ("icmp port unreach gre",
         eth(ip4(1, unreach(3, inner=ip4(47, b"\0\0\x08\0abcd")[:28]), "10.2.0.2"))),
        ("icmp need frag", eth(ip4(1, unreach(4, 1400), *rtr))),
        ("icmp need frag no mtu", eth(ip4(1, unreach(4, 0), *rtr))),
    ]
    for code in (0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 20):
        cases.append((f"icmp unreach code {code}", eth(ip4(1, unreach(code), *rtr))))
    for code in (0, 1, 7):
        cases.append((f"icmp time exceeded {code}",
                      eth(ip4(1, icmp_message(11, code, 0, Q_UDP), *rtr))))
    for code in (0, 1, 2, 3, 9):
        gateway = addr_int("10.0.0.3")
        cases.append((f"icmp redirect {code}",
                      eth(ip4(1, icmp_message(5, code, gateway, Q_UDP), *rtr))))
    return cases + icmp_info_cases()


def icmp_info_cases() -> list[tuple[str, bytes]]:
    stamps = struct.pack("!III", 3723004, 3723005, 86399999)
    advert = struct.pack("!IIII", addr_int("10.0.0.1"), 0, addr_int("10.0.0.9"), 7)
    return [
        ("icmp param problem", eth(ip4(1, icmp_message(12, 0, 20 << 24, Q_UDP)))),
        ("icmp param problem code", eth(ip4(1, icmp_message(12, 2, 0, Q_UDP)))),
        ("icmp timestamp", eth(ip4(1, icmp_message(13, 0, 5 << 16 | 6, bytes(12))))),
        ("icmp timestamp reply", eth(ip4(1, icmp_message(14, 0, 5 << 16 | 6, stamps)))),
        ("icmp mask request", eth(ip4(1, icmp_message(17, 0, 0, bytes(4))))),
        ("icmp mask reply", eth(ip4(1, icmp_message(18, 0, 0, b"\xff\xff\xff\x00")))),
        ("icmp router solicitation",
         eth(ip4(1, icmp_message(10, 0, 0, b""), dst="224.0.0.2"))),
        ("icmp router advertisement",
         eth(ip4(1, icmp_message(9, 0, 2 << 24 | 2 << 16 | 1800, advert), dst="224.0.0.1"))),
        ("icmp router advertisement odd size",
         eth(ip4(1, icmp_message(9, 0, 1 << 24 | 3 << 16 | 9000, bytes(12))))),
        ("icmp source quench", eth(ip4(1, icmp_message(4, 0, 0, Q_UDP)))),
        ("icmp information request", eth(ip4(1, icmp_message(15, 0, 0, b"")))),
        ("icmp unknown type", eth(ip4(1, icmp_message(42, 3, 0, b"abcd")))),
        ("icmp quoted header cut",
         eth(ip4(1, unreach(3, inner=Q_UDP[:12]), "10.2.0.2", "10.2.0.1"), pad=False)),
        ("icmp header cut", eth(ip4(1, b"\x08"), pad=False)),
        ("icmp time exceeded cut",
         eth(ip4(1, icmp_message(11, 0, 0, Q_UDP[:10])), pad=False)),
    ]


def udp_cases() -> list[tuple[str, bytes]]:
    return [
        ("udp", eth(ip4(17, udp(5000, 6000, b"hello world, hi!!!")))),
        ("udp empty", eth(ip4(17, udp(5000, 6000, b"")))),
        ("udp bad length", eth(ip4(17, udp(5000, 6000, b"abc", ulen=100)))),
        ("udp length under 8", eth(ip4(17, udp(5000, 6000, b"abcd", ulen=4)))),
        ("udp length under payload", eth(ip4(17, udp(5000, 6000, b"abcdefgh", ulen=10)))),
        ("udp header cut", eth(ip4(17, udp(5000, 6000, b"abcd"))[:22], pad=False)),
        ("udp only ports", eth(ip4(17, udp(5000, 6000, b""), tot_len=24)[:24], pad=False)),
        ("udp truncated-udp", eth(ip4(17, udp(5000, 6000, b""), tot_len=26)[:26],
                                  pad=False)),
        ("ip datagram cut", eth(ip4(17, udp(5000, 6000, b"x" * 100))[:80], pad=False)),
    ]


def tcp_flow_cases() -> list[tuple[str, bytes]]:
    """A connection: absolute numbers until the SYN-ACK, relative after it."""
    server = "10.0.0.2", "10.0.0.1"
    sack = b"\x01\x01\x05\x0a" + struct.pack("!II", 1100, 1200)
    return [
        ("tcp syn", eth(ip4(6, tcp(40000, 8000, 1000, 0, 0x02, opts=SYN_OPTS)))),
        ("tcp syn-ack", eth(ip4(6, tcp(8000, 40000, 5000, 1001, 0x12, win=65160,
                                       opts=SYN_OPTS), *server))),
        ("tcp ack", eth(ip4(6, tcp(40000, 8000, 1001, 5001, 0x10, win=502, opts=TS_OPTS)))),
        ("tcp push", eth(ip4(6, tcp(40000, 8000, 1001, 5001, 0x18, win=502, opts=TS_OPTS,
                                    data=b"GET / HTTP/1.0\r\n\r\n")))),
        ("tcp ack back", eth(ip4(6, tcp(8000, 40000, 5001, 1019, 0x10, win=509), *server))),
        ("tcp fin", eth(ip4(6, tcp(40000, 8000, 1019, 5001, 0x11, win=502)))),
        ("tcp sack", eth(ip4(6, tcp(8000, 40000, 5001, 1019, 0x10, opts=sack), *server))),
        ("tcp rst", eth(ip4(6, tcp(5555, 7777, 99, 0, 0x04, win=0)))),
        ("tcp rst-ack", eth(ip4(6, tcp(7777, 5555, 0, 100, 0x14, win=0), *server))),
        ("tcp ack new flow", eth(ip4(6, tcp(6040, 6041, 100, 200, 0x10)))),
        ("tcp ack same ports",
         eth(ip4(6, tcp(7000, 7000, 100, 200, 0x10), "10.0.0.9", "10.0.0.3"))),
        ("tcp ack same ports back",
         eth(ip4(6, tcp(7000, 7000, 250, 150, 0x10, data=b"abc"), "10.0.0.3", "10.0.0.9"))),
    ]


def tcp_odd_cases() -> list[tuple[str, bytes]]:
    def syn(port: int, opts: bytes = b"", doff: int | None = None) -> bytes:
        return eth(ip4(6, tcp(port, port + 1, 1, 0, 2, opts=opts, doff=doff)))

    misc = bytes.fromhex("1c04012d" "2202" "14040102" "fe041234" "060600000009" "0000")
    return [
        ("tcp urg", eth(ip4(6, tcp(6000, 6001, 1, 0, 0x28, urp=3, data=b"abcdef")))),
        ("tcp ecn syn", eth(ip4(6, tcp(6002, 6003, 1, 0, 0xC2)))),
        ("tcp no flags", eth(ip4(6, tcp(6004, 6005, 1, 0, 0)))),
        ("tcp header too short", syn(6006, doff=4)),
        ("tcp header too long", syn(6008, doff=15)),
        ("tcp bad option", syn(6010, bytes.fromhex("020805b4"))),
        ("tcp bad second option", syn(6012, bytes.fromhex("01020905"))),
        ("tcp option length mismatch", syn(6014, bytes.fromhex("020605b40000"))),
        ("tcp unknown option", syn(6016, bytes.fromhex("4c04abcd"))),
        ("tcp assorted options", syn(6018, misc)),
        ("tcp fast open cookie", syn(6020, b"\x22\x0a" + bytes(range(8)) + b"\x01\x01")),
        ("tcp experimental fast open", syn(6022, bytes.fromhex("fe04f989"))),
        ("tcp md5", syn(6024, b"\x13\x12" + bytes(range(16)) + b"\0\0")),
        ("tcp eol", syn(6026, bytes.fromhex("020405b400000000"))),
        ("tcp-ao", syn(6028, bytes.fromhex("1d080102aabbccdd"))),
        ("tcp options cut", eth(ip4(6, tcp(6030, 6031, 1, 0, 2, opts=SYN_OPTS))[:46],
                                pad=False)),
        ("tcp later option cut", eth(ip4(6, tcp(6032, 6033, 1, 0, 2, opts=SYN_OPTS))[:53],
                                     pad=False)),
        ("tcp header cut", eth(ip4(6, tcp(6034, 6035, 1, 0, 2))[:30], pad=False)),
        ("tcp ports cut", eth(ip4(6, tcp(6036, 6037, 1, 0, 2))[:23], pad=False)),
        ("tcp data cut", eth(ip4(6, tcp(6038, 6039, 1, 0, 0x18, data=b"x" * 100))[:60],
                             pad=False)),
    ]


def ipv4_cases() -> list[tuple[str, bytes]]:
    igmp_query3 = struct.pack("!BBHIBBHI", 0x11, 0x8F, 0, addr_int("239.1.1.1"), 2, 125, 1, 1)
    return [
        ("ip first fragment", eth(ip4(1, echo(8, 9, 1, 3000)[:1480], frag=0x2000,
                                      tot_len=1500))),
        ("ip later fragment", eth(ip4(1, b"z" * 1480, frag=0x2000 | 185))),
        ("ip last fragment", eth(ip4(1, b"z" * 48, frag=370))),
        ("udp first fragment", eth(ip4(17, udp(5000, 6000, b"q" * 3992)[:1480], frag=0x2000))),
        ("ip bad header length", eth(b"\x44" + ip4(1, echo(8, 1, 1))[1:])),
        ("ip bad total length", eth(ip4(1, echo(8, 1, 1), tot_len=10))),
        ("ip zero total length", eth(ip4(1, echo(8, 1, 1), tot_len=0))),
        ("ip header cut", eth(ip4(1, echo(8, 1, 1))[:10], pad=False)),
        ("ip version 6 in an ipv4 frame", eth(b"\x60" + bytes(50))),
        ("ip version 5", eth(b"\x55" + bytes(50))),
        ("ip empty", eth(b"", pad=False)),
        ("ip unknown protocol", eth(ip4(99, b"abcdefgh"))),
        ("ip no next header", eth(ip4(59, b"abcdefgh"))),
        ("ip in ip", eth(ip4(4, ip4(1, echo(8, 5, 5, 8), "192.168.0.1", "192.168.0.2")))),
        ("igmp v2 report with router alert",
         eth(ip4(2, struct.pack("!BBHI", 0x16, 0, 0, addr_int("239.1.1.1")), dst="239.1.1.1",
                 options=b"\x94\x04\x00\x00"))),
        ("igmp leave", eth(ip4(2, struct.pack("!BBHI", 0x17, 0, 0, addr_int("239.1.1.1"))))),
        ("igmp v1 report", eth(ip4(2, struct.pack("!BBHI", 0x12, 0, 0, addr_int("239.1.1.1"))))),
        ("igmp query v2", eth(ip4(2, struct.pack("!BBHI", 0x11, 100, 0, 0)))),
        ("igmp query v2 group",
         eth(ip4(2, struct.pack("!BBHI", 0x11, 10, 0, addr_int("239.1.1.1"))))),
        ("igmp query v1", eth(ip4(2, struct.pack("!BBHI", 0x11, 0, 0, 0)))),
        ("igmp query v3", eth(ip4(2, struct.pack("!BBHIBBH", 0x11, 100, 0, 0, 2, 125, 0)))),
        ("igmp query v3 sources", eth(ip4(2, igmp_query3))),
        ("igmp v3 report", eth(ip4(2, struct.pack("!BBHHHBBHI", 0x22, 0, 0, 0, 1, 4, 0, 0,
                                                  addr_int("239.1.1.1"))))),
        ("igmp unknown", eth(ip4(2, struct.pack("!BBHI", 0x99, 0, 0, 0)))),
    ]


def ether_cases() -> list[tuple[str, bytes]]:
    request = arp(1, A, "10.0.0.1", ZERO, "10.0.0.2")
    return [
        ("ether runt", b"\xff" * 10),
        ("ether type cut", eth(b"", pad=False)[:13]),
        ("ether unknown type", eth(b"hello, unknown ethertype payload!", 0x88B5, pad=False)),
        ("ether unknown type padded", eth(b"\x01\x02\x03", 0x88B6)),
        ("ether named type without printer", eth(b"abc", 0x6004)),
        ("vlan icmp", eth(struct.pack("!HH", 5, 0x0800) + ip4(1, echo(8, 3, 4)), 0x8100)),
        ("vlan cut", eth(b"\x00\x05", 0x8100, pad=False)),
        ("qinq arp", eth(struct.pack("!HHHH", 5, 0x8100, 6, 0x0806) + request, 0x88A8)),
    ]


def ipv6_nd_cases() -> list[tuple[str, bytes]]:
    group = a6("ff02::1:ff00:1")
    return [
        ("ip6 router solicitation",
         e6(ip6(58, icmp6(133, 0, bytes(4) + b"\x01\x01" + A), dst="ff02::2", hlim=255))),
        ("ip6 router solicitation from ::",
         e6(ip6(58, icmp6(133, 0, bytes(4)), src="::", dst="ff02::2", hlim=255))),
        ("ip6 router advertisement",
         e6(ip6(58, icmp6(134, 0, struct.pack("!BBHII", 64, 0, 1800, 0, 0)), dst="ff02::1"))),
        ("ip6 neighbor solicitation dad",
         e6(ip6(58, icmp6(135, 0, bytes(4) + a6("fe80::200:ff:fe00:1")), src="::",
                dst="ff02::1:ff00:1"))),
        ("ip6 neighbor advertisement",
         e6(ip6(58, icmp6(136, 0, b"\x60\0\0\0" + a6("fe80::2") + b"\x02\x01" + B),
                "fe80::2", "fe80::1"))),
        ("ip6 redirect", e6(ip6(58, icmp6(137, 0, bytes(4) + a6("fe80::3") + a6(DB2 + "5"))))),
        ("ip6 mldv2 report", e6(ip6(0, HBH_RA + icmp6(143, 0, b"\0\0\0\x01\x04\0\0\0" + group),
                                    src="::", dst="ff02::16", hlim=1))),
        ("ip6 mldv1 report", e6(ip6(0, HBH_RA + icmp6(131, 0, bytes(4) + group),
                                    dst="ff02::1:ff00:1", hlim=1))),
        ("ip6 mld done", e6(ip6(0, HBH_RA + icmp6(132, 0, bytes(4) + group), dst="ff02::2"))),
        ("ip6 mld query v1",
         e6(ip6(58, icmp6(130, 0, b"\x27\x10\0\0" + a6("::")), dst="ff02::1"))),
        ("ip6 mld query v2",
         e6(ip6(58, icmp6(130, 0, b"\x27\x10\0\0" + a6("::") + b"\x02\x7d\0\0"), dst="ff02::1"))),
        ("ip6 mld query v2 sources",
         e6(ip6(58, icmp6(130, 0, b"\x27\x10\0\0" + a6("ff05::5") + b"\x02\x7d\0\x01" + a6(DB1)),
                dst="ff05::5"))),
        ("ip6 mld query odd length",
         e6(ip6(58, icmp6(130, 0, b"\x27\x10\0\0" + a6("::") + b"\x02\x7d"), dst="ff02::1"))),
    ]


def ipv6_cases() -> list[tuple[str, bytes]]:
    idseq = struct.pack("!HH", 77, 3) + bytes(56)
    hi = udp(40000, 5000, b"hi")
    return [
        ("ip6 echo request", e6(ip6(58, icmp6(128, 0, idseq), DB1, DB2))),
        ("ip6 echo reply", e6(ip6(58, icmp6(129, 0, idseq), DB2, DB1))),
        ("ip6 udp", e6(ip6(17, udp(5000, 6000, b"abcdef"), DB1, DB2))),
        ("ip6 tcp syn", e6(ip6(6, tcp(40001, 443, 7, 0, 2, opts=SYN_OPTS), DB1, DB2))),
        ("ip6 tcp ack", e6(ip6(6, tcp(40001, 443, 8, 9, 0x10), DB1, DB2))),
        ("ip6 port unreachable", err6(1, 4, bytes(4), inner6(17, hi, DB2), DB2)),
        ("ip6 port unreachable tcp",
         err6(1, 4, bytes(4), inner6(6, tcp(40000, 5000, 1, 0, 2), DB2), DB2)),
        ("ip6 no route", err6(1, 0, bytes(4), inner6(17, hi))),
        ("ip6 admin prohibited", err6(1, 1, bytes(4), inner6(17, hi))),
        ("ip6 beyond scope", err6(1, 2, bytes(4), inner6(17, hi, src="fe80::1"))),
        ("ip6 address unreachable", err6(1, 3, bytes(4), inner6(17, hi))),
        ("ip6 unreachable code 6", err6(1, 6, bytes(4), inner6(17, hi))),
        ("ip6 packet too big", err6(2, 0, struct.pack("!I", 1280), inner6(17, udp(1, 2, b"")))),
        ("ip6 time exceeded", err6(3, 0, bytes(4), inner6(17, udp(1, 2, b"")))),
        ("ip6 reassembly time exceeded", err6(3, 1, bytes(4), inner6(17, udp(1, 2, b"")))),
        ("ip6 parameter problem", err6(4, 1, struct.pack("!I", 40), inner6(99, b""))),
        ("ip6 parameter problem code 9", err6(4, 9, struct.pack("!I", 40), inner6(99, b""))),
        ("ip6 unknown icmp6 type", e6(ip6(58, icmp6(250, 0, b"abcdefgh")))),
        *ipv6_odd_cases(),
    ]


def ipv6_odd_cases() -> list[tuple[str, bytes]]:
    first = b"\x3a\0\0\x01\0\0\0\x05" + icmp6(128, 0, struct.pack("!HH", 1, 1) + bytes(40))
    return [
        ("ip6 first fragment", e6(ip6(44, first, DB1, DB2))),
        ("ip6 later fragment", e6(ip6(44, b"\x3a\0\0\xb8\0\0\0\x05" + bytes(48), DB1, DB2))),
        ("ip6 destination options",
         e6(ip6(60, b"\x11\0\x01\x04\0\0\0\0" + udp(5000, 6000, b"abc"), DB1, DB2))),
        ("ip6 header cut", eth(ip6(58, icmp6(128, 0, bytes(8)))[:30], ETH_P_IPV6, pad=False)),
        ("ip6 payload cut", eth(ip6(58, icmp6(128, 0, struct.pack("!HH", 1, 2) + bytes(56)))[:70],
                                ETH_P_IPV6, pad=False)),
        ("ip6 no next header", e6(ip6(59, b""))),
        ("ip6 unknown protocol", e6(ip6(99, b"abcd"))),
        ("ip6 carrying icmp", e6(ip6(1, echo(8, 1, 1, 4)))),
        ("ip6 zero payload length", e6(ip6(58, icmp6(128, 0, bytes(4)), plen=0))),
        ("ip6 version error", eth(b"\x40" + bytes(50), ETH_P_IPV6)),
        ("ip6 bad router alert", e6(ip6(0, bytes.fromhex("3a00050300000000") + icmp6(143, 0,
                                                                                       bytes(4))))),
        ("ip6 mapped address", e6(ip6(17, udp(1, 2, b""), "::ffff:10.0.0.1", "::1"))),
    ]


def cases() -> list[tuple[str, bytes]]:
    return (arp_cases() + icmp_cases() + udp_cases() + tcp_flow_cases() + tcp_odd_cases()
            + ipv4_cases() + ether_cases() + ipv6_nd_cases() + ipv6_cases())


def ts_of(index: int) -> int:
    """Capture times: one a second plus a few nanoseconds (microseconds show truncation)."""
    return index * 1_000_000_007


# -- tests -----------------------------------------------------------------------


def test_cases_have_unique_names() -> None:
    names = [name for name, _ in cases()]
    assert len(names) == len(set(names))
    assert set(names) == set(EXPECTED)


def test_matches_recorded_tcpdump_output() -> None:
    fmt = TcpdumpFormatter()
    for name, frame in cases():
        assert fmt.format(frame) == EXPECTED[name], name


def test_timestamps() -> None:
    assert format_ts(0) == "00:00:00.000000 "
    assert format_ts(3723_000_456_789) == "01:02:03.000456 "
    assert format_ts(86400_000_000_000 + 1_999) == "00:00:00.000001 "  # a day wraps
    assert format_ts(3723_000_456_789, tt=True) == "3723.000456 "
    frame = cases()[0][1]
    assert format_line(2_000_000_000, frame) == "00:00:02.000000 " + EXPECTED["arp request"]


def test_format_frame_is_stateless() -> None:
    """An ACK alone prints absolute numbers; after its SYN-ACK, relative ones."""
    flow = dict(tcp_flow_cases())
    assert "seq 5000, ack 1001" in format_frame(flow["tcp syn-ack"])
    assert format_frame(flow["tcp ack"]).startswith(
        "IP 10.0.0.1.40000 > 10.0.0.2.8000: Flags [.], ack 5001, win 502")
    fmt = TcpdumpFormatter()
    fmt.format(flow["tcp syn-ack"])
    assert ", ack 1, win 502" in fmt.format(flow["tcp ack"])


def test_invalid_records_have_no_timestamp() -> None:
    assert format_line(5, b"") == "[Invalid header: caplen==0, len==0]"
    assert format_frame(bytes(262145)) == "[Invalid header: len(262145) > 262144]"


def test_never_raises_on_damaged_frames() -> None:
    rng = random.Random(7)
    fmt = TcpdumpFormatter()
    frames = [frame for _, frame in cases()]
    for _ in range(3000):
        frame = bytearray(rng.choice(frames))
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.5 and len(frame) > 12:
                frame[rng.randrange(12, len(frame))] = rng.randrange(256)
            else:
                frame = frame[:rng.randrange(len(frame) + 1)]
        assert isinstance(fmt.format(bytes(frame)), str)
    for size in range(0, 80):
        assert isinstance(fmt.format(bytes(rng.randrange(256) for _ in range(size))), str)


def tcpdump_binary() -> str | None:
    for path in ("/usr/sbin/tcpdump", "/usr/bin/tcpdump"):
        if os.access(path, os.X_OK):
            return path
    return shutil.which("tcpdump")


def run_tcpdump(frames: list[bytes], *args: str) -> list[str]:
    """tcpdump's text for each frame (timestamps included), split per packet."""
    binary = tcpdump_binary()
    assert binary is not None
    buf = io.BytesIO()
    writer = PcapWriter(buf)
    for i, frame in enumerate(frames):
        writer.write(ts_of(i), frame)
    out = subprocess.run([binary, "-n", *args, "-r", "-"], input=buf.getvalue(),
                         capture_output=True, check=True, env={**os.environ, "TZ": "UTC"})
    packets: list[str] = []
    for line in out.stdout.decode("utf-8", "replace").splitlines():
        if re.match(r"\d+[:.]\d", line) or line.startswith("[Invalid header"):
            packets.append(line)
        else:
            packets[-1] += "\n" + line
    return packets


@pytest.mark.skipif(tcpdump_binary() is None, reason="tcpdump is not installed")
@pytest.mark.parametrize("tt", [False, True])
def test_live_tcpdump(tt: bool) -> None:
    named = cases()
    real = run_tcpdump([frame for _, frame in named], *(["-tt"] if tt else []))
    assert len(real) == len(named)
    fmt = TcpdumpFormatter()
    for i, ((name, frame), line) in enumerate(zip(named, real, strict=True)):
        assert fmt.format_line(ts_of(i), frame, tt=tt) == line, name


# Recorded with tcpdump 4.99.3 (libpcap 1.10.3), TZ=UTC, by running the cases above.
EXPECTED: dict[str, str] = {
    "arp request": "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 46",
    "arp request unpadded": "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28",
    "arp reply": "ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 46",
    "arp request known tha": (
        "ARP, Request who-has 10.0.0.2 (02:00:00:00:00:02) tell 10.0.0.1, length 46"),
    "arp unknown op": (
        "ARP, Unknown (7) \n\t"
        "0x0000:  0001 0800 0604 0007 0200 0000 0001 0000  ................\n\t"
        "0x0010:  0001 0200 0000 0002 0000 0002            ............"),
    "arp for ipv6": "ARP, Ethernet (len 6), IPv6 (len 16), length 52",
    "arp truncated": " [|arp]",
    "rarp request": (
        "ARP, Reverse Request who-is 02:00:00:00:00:01 tell 02:00:00:00:00:01, length 46"),
    "rarp reply": "ARP, Reverse Reply 02:00:00:00:00:01 at 10.0.0.1, length 46",
    "icmp echo request": "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 123, seq 1, length 64",
    "icmp echo reply": "IP 10.0.0.2 > 10.0.0.1: ICMP echo reply, id 123, seq 1, length 64",
    "icmp echo padded": "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 7, seq 2, length 8",
    "icmp port unreach udp": (
        "IP 10.2.0.2 > 10.2.0.1: ICMP 10.2.0.2 udp port 5000 unreachable, length 36"),
    "icmp port unreach tcp": (
        "IP 10.2.0.2 > 10.2.0.1: ICMP 10.2.0.2 tcp port 80 unreachable, length 36"),
    "icmp port unreach gre": (
        "IP 10.2.0.2 > 10.0.0.2: ICMP 10.0.0.2 protocol 47 port 2048 unreachable, length 36"),
    "icmp need frag": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP 10.2.0.2 unreachable - need to frag (mtu 1400), length "
        "36"),
    "icmp need frag no mtu": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP 10.2.0.2 unreachable - need to frag, length 36"),
    "icmp unreach code 0": "IP 10.0.0.254 > 10.2.0.1: ICMP net 10.2.0.2 unreachable, length 36",
    "icmp unreach code 1": "IP 10.0.0.254 > 10.2.0.1: ICMP host 10.2.0.2 unreachable, length 36",
    "icmp unreach code 2": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP 10.2.0.2 protocol 17 unreachable, length 36"),
    "icmp unreach code 5": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP 10.2.0.2 unreachable - source route failed, length 36"),
    "icmp unreach code 6": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP net 10.2.0.2 unreachable - unknown, length 36"),
    "icmp unreach code 7": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP host 10.2.0.2 unreachable - unknown, length 36"),
    "icmp unreach code 8": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP 10.2.0.2 unreachable - source host isolated, length 36"),
    "icmp unreach code 9": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP net 10.2.0.2 unreachable - admin prohibited, length 36"),
    "icmp unreach code 10": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP host 10.2.0.2 unreachable - admin prohibited, length 36"),
    "icmp unreach code 11": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP net 10.2.0.2 unreachable - tos prohibited, length 36"),
    "icmp unreach code 12": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP host 10.2.0.2 unreachable - tos prohibited, length 36"),
    "icmp unreach code 13": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP host 10.2.0.2 unreachable - admin prohibited filter, "
        "length 36"),
    "icmp unreach code 14": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP host 10.2.0.2 unreachable - host precedence violation, "
        "length 36"),
    "icmp unreach code 15": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP host 10.2.0.2 unreachable - precedence cutoff, length 36"),
    "icmp unreach code 20": "IP 10.0.0.254 > 10.2.0.1: ICMP 10.2.0.2 unreachable - #20, length 36",
    "icmp time exceeded 0": "IP 10.0.0.254 > 10.2.0.1: ICMP time exceeded in-transit, length 36",
    "icmp time exceeded 1": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP ip reassembly time exceeded, length 36"),
    "icmp time exceeded 7": "IP 10.0.0.254 > 10.2.0.1: ICMP time exceeded-#7, length 36",
    "icmp redirect 0": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP redirect 10.2.0.2 to net 10.0.0.3, length 36"),
    "icmp redirect 1": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP redirect 10.2.0.2 to host 10.0.0.3, length 36"),
    "icmp redirect 2": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP redirect-tos 10.2.0.2 to net 10.0.0.3, length 36"),
    "icmp redirect 3": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP redirect-tos 10.2.0.2 to host 10.0.0.3, length 36"),
    "icmp redirect 9": (
        "IP 10.0.0.254 > 10.2.0.1: ICMP redirect-#9 10.2.0.2 to 10.0.0.3, length 36"),
    "icmp param problem": "IP 10.0.0.1 > 10.0.0.2: ICMP parameter problem - octet 20, length 36",
    "icmp param problem code": (
        "IP 10.0.0.1 > 10.0.0.2: ICMP parameter problem - code 2, length 36"),
    "icmp timestamp": "IP 10.0.0.1 > 10.0.0.2: ICMP time stamp query id 5 seq 6, length 20",
    "icmp timestamp reply": (
        "IP 10.0.0.1 > 10.0.0.2: ICMP time stamp reply id 5 seq 6: org 01:02:03.004, recv "
        "01:02:03.005, xmit 23:59:59.999, length 20"),
    "icmp mask request": "IP 10.0.0.1 > 10.0.0.2: ICMP address mask request, length 12",
    "icmp mask reply": "IP 10.0.0.1 > 10.0.0.2: ICMP address mask is 0xffffff00, length 12",
    "icmp router solicitation": "IP 10.0.0.1 > 224.0.0.2: ICMP router solicitation, length 8",
    "icmp router advertisement": (
        "IP 10.0.0.1 > 224.0.0.1: ICMP router advertisement lifetime 30:00 2: {10.0.0.1 0} "
        "{10.0.0.9 7}, length 24"),
    "icmp router advertisement odd size": (
        "IP 10.0.0.1 > 10.0.0.2: ICMP router advertisement lifetime 2:30:00 1: [size 3], length "
        "20"),
    "icmp source quench": "IP 10.0.0.1 > 10.0.0.2: ICMP source quench, length 36",
    "icmp information request": "IP 10.0.0.1 > 10.0.0.2: ICMP information request, length 8",
    "icmp unknown type": "IP 10.0.0.1 > 10.0.0.2: ICMP type-#42, length 12",
    "icmp quoted header cut": "IP 10.2.0.2 > 10.2.0.1:  [|icmp]",
    "icmp header cut": "IP 10.0.0.1 > 10.0.0.2:  [|icmp]",
    "icmp time exceeded cut": "IP 10.0.0.1 > 10.0.0.2:  [|icmp]",
    "udp": "IP 10.0.0.1.5000 > 10.0.0.2.6000: UDP, length 18",
    "udp empty": "IP 10.0.0.1.5000 > 10.0.0.2.6000: UDP, length 0",
    "udp bad length": "IP 10.0.0.1.5000 > 10.0.0.2.6000: UDP, bad length 92 > 3",
    "udp length under 8": "IP 10.0.0.1.5000 > 10.0.0.2.6000: truncated-udplength 4",
    "udp length under payload": "IP 10.0.0.1.5000 > 10.0.0.2.6000: UDP, length 2",
    "udp header cut": "IP truncated-ip - 10 bytes missing! 10.0.0.1 > 10.0.0.2:  [|udp]",
    "udp only ports": "IP 10.0.0.1.5000 > 10.0.0.2.6000: truncated-udp 4",
    "udp truncated-udp": "IP 10.0.0.1.5000 > 10.0.0.2.6000: truncated-udp 6",
    "ip datagram cut": (
        "IP truncated-ip - 48 bytes missing! 10.0.0.1.5000 > 10.0.0.2.6000: UDP, length 100"),
    "tcp syn": (
        "IP 10.0.0.1.40000 > 10.0.0.2.8000: Flags [S], seq 1000, win 64240, options [mss "
        "1460,sackOK,TS val 4096 ecr 0,nop,wscale 7], length 0"),
    "tcp syn-ack": (
        "IP 10.0.0.2.8000 > 10.0.0.1.40000: Flags [S.], seq 5000, ack 1001, win 65160, options "
        "[mss 1460,sackOK,TS val 4096 ecr 0,nop,wscale 7], length 0"),
    "tcp ack": (
        "IP 10.0.0.1.40000 > 10.0.0.2.8000: Flags [.], ack 1, win 502, options [nop,nop,TS val "
        "4112 ecr 8224], length 0"),
    "tcp push": (
        "IP 10.0.0.1.40000 > 10.0.0.2.8000: Flags [P.], seq 1:19, ack 1, win 502, options "
        "[nop,nop,TS val 4112 ecr 8224], length 18"),
    "tcp ack back": "IP 10.0.0.2.8000 > 10.0.0.1.40000: Flags [.], ack 19, win 509, length 0",
    "tcp fin": "IP 10.0.0.1.40000 > 10.0.0.2.8000: Flags [F.], seq 19, ack 1, win 502, length 0",
    "tcp sack": (
        "IP 10.0.0.2.8000 > 10.0.0.1.40000: Flags [.], ack 19, win 64240, options [nop,nop,sack "
        "1 {100:200}], length 0"),
    "tcp rst": "IP 10.0.0.1.5555 > 10.0.0.2.7777: Flags [R], seq 99, win 0, length 0",
    "tcp rst-ack": "IP 10.0.0.2.7777 > 10.0.0.1.5555: Flags [R.], seq 0, ack 100, win 0, length 0",
    "tcp ack new flow": (
        "IP 10.0.0.1.6040 > 10.0.0.2.6041: Flags [.], ack 200, win 64240, length 0"),
    "tcp ack same ports": (
        "IP 10.0.0.9.7000 > 10.0.0.3.7000: Flags [.], ack 200, win 64240, length 0"),
    "tcp ack same ports back": (
        "IP 10.0.0.3.7000 > 10.0.0.9.7000: Flags [.], seq 51:54, ack 50, win 64240, length 3"),
    "tcp urg": "IP 10.0.0.1.6000 > 10.0.0.2.6001: Flags [PU], seq 1:7, win 64240, urg 3, length 6",
    "tcp ecn syn": "IP 10.0.0.1.6002 > 10.0.0.2.6003: Flags [SEW], seq 1, win 64240, length 0",
    "tcp no flags": "IP 10.0.0.1.6004 > 10.0.0.2.6005: Flags [none], win 64240, length 0",
    "tcp header too short": (
        "IP 10.0.0.1.6006 > 10.0.0.2.6007:  tcp 4 [bad hdr length 16 - too short, < 20]"),
    "tcp header too long": (
        "IP 10.0.0.1.6008 > 10.0.0.2.6009: Flags [S] [bad hdr length 60 - too long, > 20]"),
    "tcp bad option": (
        "IP 10.0.0.1.6010 > 10.0.0.2.6011: Flags [S], seq 1, win 64240, options [[bad opt]"),
    "tcp bad second option": (
        "IP 10.0.0.1.6012 > 10.0.0.2.6013: Flags [S], seq 1, win 64240, options [nop,[bad opt]]"),
    "tcp option length mismatch": (
        "IP 10.0.0.1.6014 > 10.0.0.2.6015: Flags [S], seq 1:3, win 64240, options [[bad opt]"),
    "tcp unknown option": (
        "IP 10.0.0.1.6016 > 10.0.0.2.6017: Flags [S], seq 1, win 64240, options [unknown-76 "
        "0xabcd], length 0"),
    "tcp assorted options": (
        "IP 10.0.0.1.6018 > 10.0.0.2.6019: Flags [S], seq 1:3, win 64240, options [uto 0x12d "
        "9000,tfo  cookiereq,scps cap 01 id 2,exp-1234,echo 9], length 2"),
    "tcp fast open cookie": (
        "IP 10.0.0.1.6020 > 10.0.0.2.6021: Flags [S], seq 1, win 64240, options [tfo  cookie "
        "0001020304050607,nop,nop], length 0"),
    "tcp experimental fast open": (
        "IP 10.0.0.1.6022 > 10.0.0.2.6023: Flags [S], seq 1, win 64240, options [exp-tfo "
        "cookiereq], length 0"),
    "tcp md5": (
        "IP 10.0.0.1.6024 > 10.0.0.2.6025: Flags [S], seq 1, win 64240, options [md5 shared "
        "secret not supplied with -M, can't check - 000102030405060708090a0b0c0d0e0f,eol], "
        "length 0"),
    "tcp eol": (
        "IP 10.0.0.1.6026 > 10.0.0.2.6027: Flags [S], seq 1, win 64240, options [mss 1460,eol], "
        "length 0"),
    "tcp-ao": (
        "IP 10.0.0.1.6028 > 10.0.0.2.6029: Flags [S], seq 1, win 64240, options [tcp-ao keyid 1 "
        "rnextkeyid 2 mac 0xaabbccdd], length 0"),
    "tcp options cut": (
        "IP truncated-ip - 14 bytes missing! 10.0.0.1.6030 > 10.0.0.2.6031: Flags [S], seq 1, "
        "win 64240, options [mss 1460,sackOK, [|tcp]"),
    "tcp later option cut": (
        "IP truncated-ip - 7 bytes missing! 10.0.0.1.6032 > 10.0.0.2.6033: Flags [S], seq 1, "
        "win 64240, options [mss 1460,sackOK,TS [|tcp]>"),
    "tcp header cut": "IP truncated-ip - 10 bytes missing! 10.0.0.1.6034 > 10.0.0.2.6035:  [|tcp]",
    "tcp ports cut": "IP truncated-ip - 17 bytes missing! 10.0.0.1 > 10.0.0.2: [|tcp]",
    "tcp data cut": (
        "IP truncated-ip - 80 bytes missing! 10.0.0.1.6038 > 10.0.0.2.6039: Flags [P.], seq "
        "1:101, ack 0, win 64240, length 100"),
    "ip first fragment": "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 9, seq 1, length 1480",
    "ip later fragment": "IP 10.0.0.1 > 10.0.0.2: ip-proto-1",
    "ip last fragment": "IP 10.0.0.1 > 10.0.0.2: ip-proto-1",
    "udp first fragment": "IP 10.0.0.1.5000 > 10.0.0.2.6000: UDP, length 3992",
    "ip bad header length": "IP bad-hlen 16",
    "ip bad total length": "IP bad-len 10",
    "ip zero total length": "IP bad-len 0",
    "ip header cut": "IP  [|ip]",
    "ip version 6 in an ipv4 frame": "IP6, wrong link-layer encapsulation (invalid)",
    "ip version 5": "IP5 (invalid)",
    "ip empty": " [|ip]",
    "ip unknown protocol": "IP 10.0.0.1 > 10.0.0.2:  ip-proto-99 8",
    "ip no next header": "IP 10.0.0.1 > 10.0.0.2: no next header",
    "ip in ip": (
        "IP 10.0.0.1 > 10.0.0.2: IP 192.168.0.1 > 192.168.0.2: ICMP echo request, id 5, seq 5, "
        "length 16"),
    "igmp v2 report with router alert": "IP 10.0.0.1 > 239.1.1.1: igmp v2 report 239.1.1.1",
    "igmp leave": "IP 10.0.0.1 > 10.0.0.2: igmp leave 239.1.1.1",
    "igmp v1 report": "IP 10.0.0.1 > 10.0.0.2: igmp v1 report 239.1.1.1",
    "igmp query v2": "IP 10.0.0.1 > 10.0.0.2: igmp query v2",
    "igmp query v2 group": (
        "IP 10.0.0.1 > 10.0.0.2: igmp query v2 [max resp time 10] [gaddr 239.1.1.1]"),
    "igmp query v1": "IP 10.0.0.1 > 10.0.0.2: igmp query v1",
    "igmp query v3": "IP 10.0.0.1 > 10.0.0.2: igmp query v3",
    "igmp query v3 sources": (
        "IP 10.0.0.1 > 10.0.0.2: igmp query v3 [max resp time 24.8s] [gaddr 239.1.1.1, 1 "
        "source(s)]"),
    "igmp v3 report": "IP 10.0.0.1 > 10.0.0.2: igmp v3 report, 1 group record(s)",
    "igmp unknown": "IP 10.0.0.1 > 10.0.0.2: igmp-153",
    "ether runt": " [|ether]",
    "ether type cut": " [|ether]",
    "ether unknown type": (
        "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype Unknown (0x88b5), length 47: \n\t"
        "0x0000:  6865 6c6c 6f2c 2075 6e6b 6e6f 776e 2065  hello,.unknown.e\n\t"
        "0x0010:  7468 6572 7479 7065 2070 6179 6c6f 6164  thertype.payload\n\t"
        "0x0020:  21                                       !"),
    "ether unknown type padded": (
        "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype Unknown (0x88b6), length 60: \n\t"
        "0x0000:  0102 0300 0000 0000 0000 0000 0000 0000  ................\n\t"
        "0x0010:  0000 0000 0000 0000 0000 0000 0000 0000  ................\n\t"
        "0x0020:  0000 0000 0000 0000 0000 0000 0000       .............."),
    "ether named type without printer": (
        "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype LAT (0x6004), length 60: \n\t"
        "0x0000:  6162 6300 0000 0000 0000 0000 0000 0000  abc.............\n\t"
        "0x0010:  0000 0000 0000 0000 0000 0000 0000 0000  ................\n\t"
        "0x0020:  0000 0000 0000 0000 0000 0000 0000       .............."),
    "vlan icmp": "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 3, seq 4, length 64",
    "vlan cut": " [|vlan]",
    "qinq arp": "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 38",
    "ip6 router solicitation": "IP6 fe80::1 > ff02::2: ICMP6, router solicitation, length 16",
    "ip6 router solicitation from ::": "IP6 :: > ff02::2: ICMP6, router solicitation, length 8",
    "ip6 router advertisement": "IP6 fe80::1 > ff02::1: ICMP6, router advertisement, length 16",
    "ip6 neighbor solicitation dad": (
        "IP6 :: > ff02::1:ff00:1: ICMP6, neighbor solicitation, who has fe80::200:ff:fe00:1, "
        "length 24"),
    "ip6 neighbor advertisement": (
        "IP6 fe80::2 > fe80::1: ICMP6, neighbor advertisement, tgt is fe80::2, length 32"),
    "ip6 redirect": "IP6 fe80::1 > fe80::2: ICMP6, redirect, 2001:db8::25 to fe80::3, length 40",
    "ip6 mldv2 report": (
        "IP6 :: > ff02::16: HBH ICMP6, multicast listener report v2, 1 group record(s), length "
        "28"),
    "ip6 mldv1 report": (
        "IP6 fe80::1 > ff02::1:ff00:1: HBH ICMP6, multicast listener reportmax resp delay: 0 "
        "addr: ff02::1:ff00:1, length 24"),
    "ip6 mld done": (
        "IP6 fe80::1 > ff02::2: HBH ICMP6, multicast listener donemax resp delay: 0 addr: "
        "ff02::1:ff00:1, length 24"),
    "ip6 mld query v1": (
        "IP6 fe80::1 > ff02::1: ICMP6, multicast listener querymax resp delay: 10000 addr: ::, "
        "length 24"),
    "ip6 mld query v2": (
        "IP6 fe80::1 > ff02::1: ICMP6, multicast listener query v2 [gaddr ::], length 28"),
    "ip6 mld query v2 sources": (
        "IP6 fe80::1 > ff05::5: ICMP6, multicast listener query v2 [gaddr ff05::5, 1 "
        "source(s)], length 44"),
    "ip6 mld query odd length": (
        "IP6 fe80::1 > ff02::1: ICMP6, multicast listener query unknown-version (len 26) , "
        "length 26"),
    "ip6 echo request": (
        "IP6 2001:db8::1 > 2001:db8::2: ICMP6, echo request, id 77, seq 3, length 64"),
    "ip6 echo reply": "IP6 2001:db8::2 > 2001:db8::1: ICMP6, echo reply, id 77, seq 3, length 64",
    "ip6 udp": "IP6 2001:db8::1.5000 > 2001:db8::2.6000: UDP, length 6",
    "ip6 tcp syn": (
        "IP6 2001:db8::1.40001 > 2001:db8::2.443: Flags [S], seq 7, win 64240, options [mss "
        "1460,sackOK,TS val 4096 ecr 0,nop,wscale 7], length 0"),
    "ip6 tcp ack": (
        "IP6 2001:db8::1.40001 > 2001:db8::2.443: Flags [.], ack 9, win 64240, length 0"),
    "ip6 port unreachable": (
        "IP6 2001:db8::2 > 2001:db8::1: ICMP6, destination unreachable, unreachable port, "
        "2001:db8::2 udp port 5000, length 58"),
    "ip6 port unreachable tcp": (
        "IP6 2001:db8::2 > 2001:db8::1: ICMP6, destination unreachable, unreachable port, "
        "2001:db8::2 tcp port 5000, length 68"),
    "ip6 no route": (
        "IP6 2001:db8::fe > 2001:db8::1: ICMP6, destination unreachable, unreachable route "
        "2001:db8::9, length 58"),
    "ip6 admin prohibited": (
        "IP6 2001:db8::fe > 2001:db8::1: ICMP6, destination unreachable,  unreachable "
        "prohibited 2001:db8::9, length 58"),
    "ip6 beyond scope": (
        "IP6 2001:db8::fe > 2001:db8::1: ICMP6, destination unreachable, beyond scope "
        "2001:db8::9, source address fe80::1, length 58"),
    "ip6 address unreachable": (
        "IP6 2001:db8::fe > 2001:db8::1: ICMP6, destination unreachable, unreachable address "
        "2001:db8::9, length 58"),
    "ip6 unreachable code 6": (
        "IP6 2001:db8::fe > 2001:db8::1: ICMP6, destination unreachable, unknown unreach code "
        "(6)\n\t"
        "0x0000:  0106 0000 0000 0000 6000 0000 000a 1140\n\t"
        "0x0010:  2001 0db8 0000 0000 0000 0000 0000 0001\n\t"
        "0x0020:  2001 0db8 0000 0000 0000 0000 0000 0009\n\t"
        "0x0030:  9c40 1388 000a 0000 6869"),
    "ip6 packet too big": (
        "IP6 2001:db8::fe > 2001:db8::1: ICMP6, packet too big, mtu 1280, length 56"),
    "ip6 time exceeded": (
        "IP6 2001:db8::fe > 2001:db8::1: ICMP6, time exceeded in-transit for 2001:db8::9, "
        "length 56"),
    "ip6 reassembly time exceeded": (
        "IP6 2001:db8::fe > 2001:db8::1: ICMP6, time exceeded in-transit (reassembly), length 56"),
    "ip6 parameter problem": (
        "IP6 2001:db8::fe > 2001:db8::1: ICMP6, parameter problem, next header - octet 40, "
        "length 48"),
    "ip6 parameter problem code 9": (
        "IP6 2001:db8::fe > 2001:db8::1: ICMP6, parameter problem, code-#9, length 48"),
    "ip6 unknown icmp6 type": (
        "IP6 fe80::1 > fe80::2: ICMP6, unknown icmp6 type (250), length 12\n\t"
        "0x0000:  fa00 0000 6162 6364 6566 6768"),
    "ip6 first fragment": (
        "IP6 2001:db8::1 > 2001:db8::2: frag (0|48) ICMP6, echo request, id 1, seq 1, length 48"),
    "ip6 later fragment": "IP6 2001:db8::1 > 2001:db8::2: frag (184|48)",
    "ip6 destination options": "IP6 2001:db8::1 > 2001:db8::2: DSTOPT 5000 > 6000: UDP, length 3",
    "ip6 header cut": " [|ip6]",
    "ip6 payload cut": (
        "IP6 truncated-ip6 - 34 bytes missing!fe80::1 > fe80::2: ICMP6, echo request, id 1, seq "
        "2, length 64"),
    "ip6 no next header": "IP6 fe80::1 > fe80::2: no next header",
    "ip6 unknown protocol": "IP6 fe80::1 > fe80::2:  ip-proto-99 4",
    "ip6 carrying icmp": "IP6 fe80::1 > fe80::2: [ICMP requires IPv4] (invalid)",
    "ip6 zero payload length": "IP6 fe80::1 > fe80::2: ICMP6, length 0 (invalid)",
    "ip6 version error": "IP6 version error: 4 != 6",
    "ip6 bad router alert": "IP6 fe80::1 > fe80::2: HBH (rtalert: invalid len 3) [|hbhopt]",
    "ip6 mapped address": "IP6 ::ffff:10.0.0.1.1 > ::1.2: UDP, length 0",
}
