"""tcpdump filter expressions, checked against what tcpdump 4.99.3 selects.

SELECTED and ERRORS were recorded by running ``tcpdump -n -r CAPTURE EXPR``
on capture(); test_live_tcpdump repeats that against the installed binary.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import struct
import subprocess

import pytest

from usernet.tools.tcpdump_filter import FilterError, compile_filter
from usernet.wire.arp import arp_packet
from usernet.wire.ethernet import eth_header
from usernet.wire.icmp import icmp_message
from usernet.wire.ipv4 import addr_int, ipv4_header
from usernet.wire.pcap import PcapWriter
from usernet.wire.udp import UDP_HDR

A = bytes.fromhex("020000000001")
B = bytes.fromhex("020000000002")
BCAST = b"\xff" * 6


def eth(payload: bytes, etype: int = 0x0800, src: bytes = A, dst: bytes = B) -> bytes:
    frame = eth_header(dst, src, etype) + payload
    return frame + bytes(max(0, 60 - len(frame)))


def ip4(proto: int, payload: bytes, src: str = "10.0.0.1", dst: str = "10.0.0.2",
        frag: int = 0) -> bytes:
    return ipv4_header(0, 20 + len(payload), 1, frag, 64, proto, addr_int(src),
                       addr_int(dst)) + payload


def udp(sport: int, dport: int, payload: bytes = b"data") -> bytes:
    return UDP_HDR.pack(sport, dport, 8 + len(payload), 0) + payload


def tcp(sport: int, dport: int, flags: int, data: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 2, 0x50, flags, 1000, 0, 0) + data


def ip6(nh: int, payload: bytes, src: str = "fe80::1", dst: str = "fe80::2") -> bytes:
    return struct.pack("!IHBB", 6 << 28, len(payload), nh, 255) + \
        socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + payload


def icmp6(kind: int, body: bytes) -> bytes:
    return struct.pack("!BBH", kind, 0, 0) + body


def capture() -> list[bytes]:
    """A mixed capture; the comment is each frame's index."""
    req = arp_packet(1, A, addr_int("10.0.0.1"), bytes(6), addr_int("10.0.0.2"))
    rep = arp_packet(2, B, addr_int("10.0.0.2"), A, addr_int("10.0.0.1"))
    echo = icmp_message(8, 0, 0x10001, bytes(56))
    reply = icmp_message(0, 0, 0x10001, bytes(56))
    frag_udp = b"\x11\0\0\x01\0\0\0\x07" + udp(40000, 5000)  # first fragment
    unreach = icmp_message(3, 3, 0, ip4(17, udp(40000, 5000))[:28])
    target = socket.inet_pton(socket.AF_INET6, "fe80::2")
    return [
        eth(req, 0x0806, dst=BCAST),                                         # 0
        eth(rep, 0x0806, B, A),                                              # 1
        eth(ip4(1, echo)),                                                   # 2
        eth(ip4(1, reply, "10.0.0.2", "10.0.0.1"), src=B),                   # 3
        eth(ip4(1, unreach, "10.0.0.2", "10.0.0.1"), src=B),                 # 4
        eth(ip4(17, udp(40000, 5000))),                                      # 5
        eth(ip4(17, udp(5000, 40000), "10.0.0.2", "10.0.0.1"), src=B),       # 6
        eth(ip4(17, udp(68, 67), "0.0.0.0", "255.255.255.255"), dst=BCAST),  # 7
        eth(ip4(6, tcp(40001, 80, 0x02))),                                   # 8
        eth(ip4(6, tcp(80, 40001, 0x12), "10.0.0.2", "10.0.0.1"), src=B),    # 9
        eth(ip4(6, tcp(40001, 80, 0x18, b"GET / HTTP/1.0\r\n\r\n"))),        # 10
        eth(ip4(6, tcp(40001, 80, 0x11))),                                   # 11
        eth(ip4(6, tcp(6000, 6005, 0x04), "192.168.1.5", "192.168.7.9")),    # 12
        eth(ip4(1, echo + bytes(1400), frag=0x2000)),                        # 13
        eth(ip4(1, bytes(500), frag=185)),                                   # 14
        eth(ip4(17, udp(5353, 5353), "10.0.0.1", "224.0.0.251"),
            dst=bytes.fromhex("01005e0000fb")),                              # 15
        eth(ip4(2, struct.pack("!BBHI", 0x16, 0, 0, addr_int("239.1.2.3")), dst="239.1.2.3"),
            dst=bytes.fromhex("01005e010203")),                              # 16
        eth(ip6(58, icmp6(133, bytes(4)), dst="ff02::2"), 0x86DD,
            dst=bytes.fromhex("333300000002")),                              # 17
        eth(ip6(58, icmp6(135, bytes(4) + target), "::", "ff02::1:ff00:2"), 0x86DD),  # 18
        eth(ip6(58, icmp6(128, bytes(60)), "2001:db8::1", "2001:db8::2"), 0x86DD),  # 19
        eth(ip6(17, udp(40000, 5000), "2001:db8::1", "2001:db8::2"), 0x86DD),  # 20
        eth(ip6(6, tcp(40002, 443, 0x02), "2001:db8:1::5", "2001:db8::2"), 0x86DD),  # 21
        eth(ip6(44, frag_udp, "2001:db8::1"), 0x86DD),                       # 22
        eth(struct.pack("!HH", 7, 0x0800) + ip4(1, echo), 0x8100),           # 23
        eth(b"custom protocol payload", 0x88B5),                             # 24
        eth(bytes(30), 0x0022, dst=bytes.fromhex("0180c2000000")),           # 25
        eth(ip4(6, tcp(22, 50000, 0x18, b"x" * 300), "10.1.2.3", "10.0.0.1")),  # 26
        eth(ip4(47, bytes(24), "10.9.9.9", "10.0.0.2")),                     # 27
    ]


def test_selects_what_tcpdump_selected() -> None:
    frames = capture()
    for expression, selected in SELECTED.items():
        matches = compile_filter(expression)
        assert [i for i, f in enumerate(frames) if matches(f)] == selected, expression


def test_errors_are_tcpdumps() -> None:
    for expression, message in ERRORS.items():
        with pytest.raises(FilterError) as err:
            compile_filter(expression)
        assert str(err.value) == message, expression


def test_qualifiers_carry_over_to_bare_addresses() -> None:
    frames = capture()
    one = compile_filter("src host 10.0.0.2 or 10.0.0.1")
    two = compile_filter("src host 10.0.0.2 or src host 10.0.0.1")
    assert [one(f) for f in frames] == [two(f) for f in frames]
    paren = compile_filter("tcp and (port 80 or 22)")
    assert [i for i, f in enumerate(frames) if paren(f)] == [8, 9, 10, 11, 26]


def same_selection(one: str, two: str) -> bool:
    a, b = compile_filter(one), compile_filter(two)
    return all(a(f) == b(f) for f in capture())


def test_names_from_the_system_databases() -> None:
    """Service and protocol names resolve as tcpdump resolves them (netbase)."""
    try:
        domain = socket.getservbyname("domain", "udp")
        udp_number = socket.getprotobyname("udp")
    except OSError:
        pytest.skip("no /etc/services or /etc/protocols")
    assert same_selection("udp port domain", f"udp port {domain}")
    assert same_selection("ip proto \\udp", f"ip proto {udp_number}")
    assert same_selection("ether proto \\arp", "arp")
    with pytest.raises(FilterError, match="unknown ip proto 'nosuch'"):
        compile_filter("ip proto \\nosuch")


def test_empty_expression_matches_everything() -> None:
    assert all(compile_filter("  ")(f) for f in capture())


@pytest.mark.parametrize("expression", ["vlan", "vlan 7 and ip", "mpls", "ip6 protochain 6",
                                        "decnet host 1.2", "atalk", "byte 12 & 8"])
def test_unsupported_primitives_say_so(expression: str) -> None:
    with pytest.raises(FilterError, match=r"^usernet: "):
        compile_filter(expression)


def test_short_frames_are_rejected_not_raised() -> None:
    matches = compile_filter("tcp[100] = 1 or udp port 5000 or ether[0] = 2")
    for size in range(0, 70):
        assert matches(capture()[10][:size]) is False


def tcpdump_binary() -> str | None:
    for path in ("/usr/sbin/tcpdump", "/usr/bin/tcpdump"):
        if os.access(path, os.X_OK):
            return path
    return shutil.which("tcpdump")


def tcpdump_select(expression: str) -> list[int] | str:
    """Indices of the frames tcpdump prints, or its error line."""
    buf = io.BytesIO()
    writer = PcapWriter(buf)
    for i, frame in enumerate(capture()):
        writer.write(i * 1_000_000_000, frame)
    out = subprocess.run([str(tcpdump_binary()), "-n", "-tt", "-r", "-", expression],
                         input=buf.getvalue(), capture_output=True)
    errors = [line for line in out.stderr.decode().splitlines()
              if not line.startswith("reading from file")]
    if out.returncode:
        return errors[0]
    return [int(line.split(".", 1)[0]) for line in out.stdout.decode().splitlines()
            if line[:1].isdigit()]


@pytest.mark.skipif(tcpdump_binary() is None, reason="tcpdump is not installed")
def test_live_tcpdump() -> None:
    for expression, selected in SELECTED.items():
        assert tcpdump_select(expression) == selected, expression
    for expression, message in ERRORS.items():
        assert tcpdump_select(expression) == message, expression


SELECTED: dict[str, list[int]] = {
    "arp": [0, 1],
    "rarp": [],
    "ip": [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 26, 27],
    "ip6": [17, 18, 19, 20, 21, 22],
    "icmp": [2, 3, 4, 13, 14],
    "icmp6": [17, 18, 19],
    "udp": [5, 6, 7, 15, 20, 22],
    "tcp": [8, 9, 10, 11, 12, 21, 26],
    "igmp": [16],
    "ether proto 0x88b5": [24],
    "ip proto 47": [27],
    "ip6 proto 17": [20, 22],
    "proto 17": [5, 6, 7, 15, 20, 22],
    "host 10.0.0.1": [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16, 26],
    "src host 10.0.0.1": [0, 2, 5, 8, 10, 11, 13, 14, 15, 16],
    "dst host 10.0.0.1": [1, 3, 4, 6, 9, 26],
    "host 10.0.0.2 or 10.1.2.3": [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 26, 27],
    "src host 10.0.0.2 or 10.0.0.1": [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16],
    "src 10.0.0.1 and dst 10.0.0.2": [0, 2, 5, 8, 10, 11, 13, 14],
    "src or dst host 10.0.0.2": [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 27],
    "src and dst host 10.0.0.1": [],
    "ip host 10.0.0.2": [2, 3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 27],
    "arp host 10.0.0.2": [0, 1],
    "host 10": [],
    "net 10.0.0.0/24": [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16, 26, 27],
    "net 10.0.0.0/8": [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16, 26, 27],
    "net 10.0.0": [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16, 26, 27],
    "net 10": [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16, 26, 27],
    "net 192.168.0.0 mask 255.255.0.0": [12],
    "src net 192.168.1.0/24": [12],
    "dst net 192.168.7.0/24": [12],
    "dst net 224.0.0.0/4": [15, 16],
    "net 0.0.0.0/0": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 26, 27],
    "host fe80::1": [17],
    "host ::": [18],
    "ip6 host 2001:db8::2": [19, 20, 21],
    "net 2001:db8::/32": [19, 20, 21, 22],
    "src net 2001:db8:1::/48": [21],
    "dst net ff02::/16": [17, 18],
    "port 80": [8, 9, 10, 11],
    "port 5000": [5, 6, 20],
    "src port 40000": [5, 20],
    "dst port 5000": [5, 20],
    "tcp port 80": [8, 9, 10, 11],
    "udp port 5000": [5, 6, 20],
    "tcp dst port 80 or 22": [8, 10, 11],
    "port 80 or 5000 or 443": [5, 6, 8, 9, 10, 11, 20, 21],
    "portrange 40000-40002": [5, 6, 8, 9, 10, 11, 20, 21],
    "tcp portrange 1-1024": [8, 9, 10, 11, 21, 26],
    "src portrange 5000-5353": [6, 15],
    "port 5353 and dst host 224.0.0.251": [15],
    "ether host 02:00:00:00:00:01": [
        0, 1, 2, 5, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27],
    "ether src 02:00:00:00:00:02": [1, 3, 4, 6, 9],
    "ether dst ff:ff:ff:ff:ff:ff": [0, 7],
    "ether dst 01:00:5e:00:00:fb or 01:00:5e:01:02:03": [15, 16],
    "ether src 02:00:00:00:00:01 and not ether dst 02:00:00:00:00:02": [0, 7, 15, 16, 17, 25],
    "broadcast": [0, 7],
    "ether broadcast": [0, 7],
    "multicast": [0, 7, 15, 16, 17, 25],
    "ip multicast": [7, 15, 16],
    "ip6 multicast": [17, 18],
    "ip broadcast": [7],
    "greater 100": [13, 14, 19, 23, 26],
    "less 60": [0, 1, 5, 6, 7, 8, 9, 11, 12, 15, 16, 24, 25, 27],
    "greater 61 or less 59": [2, 3, 4, 10, 13, 14, 17, 18, 19, 20, 21, 22, 23, 26],
    "len > 500": [13, 14],
    "len = 60": [0, 1, 5, 6, 7, 8, 9, 11, 12, 15, 16, 24, 25, 27],
    "not arp": [
        2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
        26, 27],
    "! ip": [0, 1, 17, 18, 19, 20, 21, 22, 23, 24, 25],
    "not ip and not ip6": [0, 1, 23, 24, 25],
    "! tcp && ! udp": [0, 1, 2, 3, 4, 13, 14, 16, 17, 18, 19, 23, 24, 25, 27],
    "tcp || udp": [5, 6, 7, 8, 9, 10, 11, 12, 15, 20, 21, 22, 26],
    "tcp and not port 80": [12, 21, 26],
    "(tcp or udp) and host 10.0.0.1": [5, 6, 8, 9, 10, 11, 15, 26],
    "not (icmp or icmp6 or arp)": [
        5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 20, 21, 22, 23, 24, 25, 26, 27],
    "host 10.0.0.1 and (10.0.0.2 or 10.1.2.3)": [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 26],
    "host 10.0.0.1 and not 10.0.0.2": [15, 16, 26],
    "udp and (port 67 or 68)": [7],
    "ip and not (tcp or udp or icmp)": [16, 27],
    "icmp[icmptype] == icmp-echo": [2, 13],
    "icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply": [4],
    "icmp[icmpcode] = 3 and icmp[icmptype] = icmp-unreach": [4],
    "icmp6[icmp6type] == icmp6-neighborsolicit": [18],
    "icmp6[0] = 133 or icmp6[0] = 128": [17, 19],
    "tcp[tcpflags] & tcp-syn != 0": [8, 9],
    "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn": [8],
    "tcp[tcpflags] & (tcp-fin|tcp-rst) != 0": [11, 12],
    "tcp[tcpflags] & tcp-push != 0 and tcp[0:2] > 1024": [10],
    "ip[6:2] & 0x1fff != 0": [14],
    "ip[6:2] & 0x2000 != 0": [13],
    "ip[0] & 0xf = 5": [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 26, 27],
    "ip[9] = 6": [8, 9, 10, 11, 12, 26],
    "udp[4:2] > 10": [5, 6, 7, 15],
    "ether[12:2] = 0x8100": [23],
    "ether[0] & 1 != 0": [0, 7, 15, 16, 17, 25],
    "ip6[6] = 58": [17, 18, 19],
    "ip[2:2] - 20 > 100": [13, 14, 26],
    "len - 14 >= 46": [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
        25, 26, 27],
    "tcp[13] & 2 != 0 or icmp": [2, 3, 4, 8, 9, 13, 14],
    "byte 23 = 1": [2, 3, 4, 13, 14, 19, 20, 21, 22, 23],
    "1 = 1": [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
        25, 26, 27],
}

ERRORS: dict[str, str] = {
    "hots 1.2.3.4": "tcpdump: can't parse filter expression: syntax error",
    "10.0.0.1": "tcpdump: can't parse filter expression: syntax error",
    "host foo": "tcpdump: unknown host 'foo'",
    "tcp or 80": "tcpdump: syntax error in filter expression",
    "port foo": "tcpdump: unknown port 'foo'",
    "port 99999": "tcpdump: illegal port number 99999 > 65535",
    "net 10.0.0.1/8": "tcpdump: non-network bits set in \"10.0.0.1/8\"",
    "host 10.0.0.0/8": "tcpdump: Mask syntax for networks only",
    "port 1.2.3.4": "tcpdump: 'port' modifier applied to ip host",
    "ether host 1.2.3.4": "tcpdump: illegal link layer address",
    "host 02:00:00:00:00:01": "tcpdump: ethernet address used in non-ether expression",
    "host": "tcpdump: can't parse filter expression: syntax error",
    "(host 1.2.3.4": "tcpdump: can't parse filter expression: syntax error",
    "portrange 1-70000": "tcpdump: illegal port number 70000 > 65535",
    "ip6 host 1.2.3.4": "tcpdump: 'ip6' modifier applied to ip host",
    "ip host ::1": "tcpdump: 'ip' modifier applied to ip6 host",
    "icmp port 80": "tcpdump: illegal qualifier of 'port'",
    "udp host 1.2.3.4": "tcpdump: 'udp' modifier applied to host",
    "tcp net 10.0.0.0/8": "tcpdump: 'tcp' modifier applied to net",
    "net 10.0.0.0/33": "tcpdump: mask length must be <= 32",
    "host 300.1.1.1": "tcpdump: invalid IPv4 address '300.1.1.1'",
    "gateway 1.1.1.1": "tcpdump: 'gateway' requires a name",
    "port 080": "tcpdump: number 080 contains non-octal digit",
    "(host 1.1.1.1) or 2.2.2.2": "tcpdump: syntax error in filter expression",
    "tcp[13] = 2 or 3": "tcpdump: syntax error in filter expression",
    "ip[0] / 0 = 1": "tcpdump: division by zero",
    "ip[0] % 0 = 1": "tcpdump: modulus by zero",
    "tcp[0:3] = 1": "tcpdump: data size must be 1, 2, or 4",
    "ah[0] = 1": "tcpdump: unsupported index operation",
    "tcp and udp": "tcpdump: expression rejects all packets",
    "ip and arp": "tcpdump: expression rejects all packets",
    "port 1 and not port 1": "tcpdump: expression rejects all packets",
    "0 = 1": "tcpdump: expression rejects all packets",
    "ip6 broadcast": "tcpdump: only link-layer/IP broadcast filters supported",
    "link": "tcpdump: link layer applied in wrong context",
    "1:2:3:4:5:6:7": "tcpdump: bogus ethernet address 1:2:3:4:5:6:",
    "host $1": "tcpdump: aid supported only on ARCnet",
    "host fe80::1/64": "tcpdump: non-network bits set in \"fe80::1/64\"",
    "inbound": "tcpdump: inbound/outbound not supported on Ethernet when reading savefiles",
}
