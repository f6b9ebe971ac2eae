"""Packet lines exactly as ``tcpdump -n`` (4.99.3) prints them for Ethernet.

The printers follow tcpdump's own (print-ether.c, print-ip.c, print-icmp.c,
print-tcp.c, ...) closely, including how they fail: every read goes through
a bounds check against the current "snapend", and a read past it unwinds to
the top level, which appends `` [|proto]`` for the protocol being decoded --
tcpdump's ``nd_trunc_longjmp``.  The IP printers narrow the snapend to the
datagram's total length, so Ethernet padding is never decoded.

Covered: Ethernet II (802.1Q tags are skipped as tcpdump does without -e),
ARP/RARP, IPv4 (fragments, IP-in-IP, unknown protocols), ICMP (all of
print-icmp.c without -v), IGMP v1-v3, UDP, TCP (flags, relative sequence
numbers, options), IPv6 with hop-by-hop/destination/fragment headers, ICMPv6
(echo, errors, MLD, neighbour discovery), unknown ethertypes (hex dump).
Not covered, printed in a generic form that tcpdump does not use: 802.3/LLC
frames, ethertypes with their own tcpdump printers (LLDP, MPLS, PPPoE ...),
IP protocols such as GRE, ESP, OSPF, SCTP, and the application decoders
tcpdump runs for well-known TCP/UDP ports (DNS, DHCP, NTP, HTTP, ...).
"""

from __future__ import annotations

import socket
import struct

SNAPLEN = 262144  # tcpdump's MAXIMUM_SNAPLEN; longer records are rejected
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_TCP_HDR = struct.Struct("!HHIIBBHHH")  # sport dport seq ack off flags win sum urp


class _Truncated(Exception):
    """A read past the captured bytes (tcpdump's nd_trunc_longjmp)."""


_TRUNC = _Truncated()


class _Pkt:
    """One frame being printed: the bytes, the current snapend and the output."""

    __slots__ = ("data", "end", "out", "proto")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.end = len(data)
        self.out: list[str] = []
        self.proto = ""

    def has(self, off: int, n: int) -> bool:
        """ND_TTEST_LEN: are bytes [off, off+n) captured?"""
        return off >= 0 and off + n <= self.end

    def u8(self, off: int) -> int:
        if not 0 <= off < self.end:
            raise _TRUNC
        return self.data[off]

    def u16(self, off: int) -> int:
        if not 0 <= off <= self.end - 2:
            raise _TRUNC
        return int(_U16.unpack_from(self.data, off)[0])

    def u32(self, off: int) -> int:
        if not 0 <= off <= self.end - 4:
            raise _TRUNC
        return int(_U32.unpack_from(self.data, off)[0])

    def ip4(self, off: int) -> str:
        if not 0 <= off <= self.end - 4:
            raise _TRUNC
        return socket.inet_ntoa(self.data[off:off + 4])

    def ip6(self, off: int) -> str:
        if not 0 <= off <= self.end - 16:
            raise _TRUNC
        return socket.inet_ntop(socket.AF_INET6, self.data[off:off + 16])

    def push(self, off: int, length: int) -> int:
        """nd_push_snaplen: narrow the snapend to off+length; returns the old one."""
        old = self.end
        if off + length <= old:
            self.end = off + length
        return old

    def put(self, text: str) -> None:
        self.out.append(text)

    def trunc(self) -> None:
        """nd_print_trunc."""
        self.out.append(f" [|{self.proto}]")


# -- hex dumps (print-ascii.c) ----------------------------------------------


def _hex_ascii(p: _Pkt, off: int, length: int) -> None:
    """hex_and_ascii_print(ndo, "\\n\\t", ...): ND_DEFAULTPRINT's dump."""
    avail = max(p.end - off, 0)
    truncated = length > avail
    length = min(length, avail)
    data = p.data[off:off + length]
    for line in range(0, length, 16):
        chunk = data[line:line + 16]
        hexs = "".join(f" {chunk[i:i + 2].hex()}" for i in range(0, len(chunk), 2))
        text = "".join(chr(b) if 0x21 <= b <= 0x7E else "." for b in chunk)
        p.put(f"\n\t0x{line:04x}: {hexs:<40}  {text}")
    if truncated:
        raise _TRUNC


def _hex(p: _Pkt, off: int, length: int) -> None:
    """print_unknown_data(ndo, cp, "\\n\\t", len): hex only, clipped to the capture."""
    if off > p.end:
        p.put("\n\tDissector error: print_unknown_data called with pointer past end of packet")
        return
    data = p.data[off:off + min(length, p.end - off)]
    for line in range(0, len(data), 16):
        chunk = data[line:line + 16]
        hexs = "".join(f" {chunk[i:i + 2].hex()}" for i in range(0, len(chunk), 2))
        p.put(f"\n\t0x{line:04x}: {hexs}")


# -- Ethernet (print-ether.c) -----------------------------------------------

ETHERTYPE_NAMES = {
    0x0800: "IPv4", 0x8847: "MPLS unicast", 0x8848: "MPLS multicast", 0x86DD: "IPv6",
    0x8100: "802.1Q", 0x9100: "802.1Q-9100", 0x88A8: "802.1Q-QinQ", 0x9200: "802.1Q-9200",
    0x88E5: "802.1AE MACsec", 0x0200: "PUP", 0x0806: "ARP", 0x8035: "Reverse ARP",
    0x0600: "NS", 0x0500: "Sprite", 0x1000: "Trail", 0x6001: "MOP DL", 0x6002: "MOP RC",
    0x6003: "DN", 0x6004: "LAT", 0x6007: "SCA", 0x6558: "TEB", 0x8038: "Lanbridge",
    0x803C: "DEC DNS", 0x803E: "DEC DTS", 0x805B: "VEXP", 0x805C: "VPROD",
    0x809B: "Appletalk", 0x80F3: "Appletalk ARP", 0x8137: "IPX", 0x880B: "PPP",
    0x8808: "MPCP", 0x8809: "Slow Protocols", 0x8863: "PPPoE D", 0x8864: "PPPoE S",
    0x888E: "EAPOL", 0x8899: "Realtek protocols", 0x886F: "MS NLB heartbeat",
    0x8870: "Jumbo", 0x894F: "NSH", 0x9000: "Loopback", 0xFEFE: "OSI", 0x00FE: "GRE-OSI",
    0xABCD: "CFM (old)", 0x8902: "CFM", 0x893A: "IEEE1905.1", 0x88CC: "LLDP",
    0x88CA: "TIPC", 0x0707: "GeoNet (old)", 0x8947: "GeoNet", 0x1111: "CALM FAST",
    0x88A2: "AoE", 0x88F7: "PTP", 0xD28B: "Arista Vendor Specific Protocol",
}
_VLAN_TYPES = frozenset({0x8100, 0x9100, 0x9200, 0x88A8})


def _ether(p: _Pkt, tcp: _TcpState) -> None:
    p.proto = "ether"
    if p.end < 14:
        p.trunc()
        return
    off, length = 14, p.end - 14
    etype = p.u16(12)
    while etype in _VLAN_TYPES:
        if p.end - off < 4:
            p.proto = "vlan"
            p.trunc()
            return
        etype = p.u16(off + 2)
        off += 4
        length -= 4
    if etype == 0x0800:
        _ip(p, off, length, tcp)
    elif etype == 0x86DD:
        _ip6(p, off, length, tcp)
    elif etype in (0x0806, 0x8035):
        _arp(p, off, length)
    else:
        # A type tcpdump has no printer for: addresses, type, then the bytes.
        src, dst = p.data[6:12].hex(":"), p.data[0:6].hex(":")
        name = ETHERTYPE_NAMES.get(etype, "Unknown")
        p.put(f"{src} > {dst}, ethertype {name} (0x{etype:04x}), length {p.end}: ")
        _hex_ascii(p, off, p.end - off)


# -- ARP (print-arp.c) ------------------------------------------------------

_ARPHRD_NAMES = {1: "Ethernet", 6: "TokenRing", 7: "ArcNet", 15: "FrameRelay", 23: "Strip",
                 24: "IEEE 1394", 19: "ATM", 32: "InfiniBand"}
_ARPOP_NAMES = {1: "Request", 2: "Reply", 3: "Reverse Request", 4: "Reverse Reply",
                8: "Inverse Request", 9: "Inverse Reply", 10: "NACK Reply"}


def _linkaddr(p: _Pkt, off: int, length: int) -> str:
    if length == 0:
        return "<empty>"
    if not p.has(off, length):
        raise _TRUNC
    return p.data[off:off + length].hex(":")


def _arp(p: _Pkt, off: int, length: int) -> None:
    p.proto = "arp"
    if not p.has(off, 8):
        raise _TRUNC
    hrd, pro, hln, pln = p.u16(off), p.u16(off + 2), p.u8(off + 4), p.u8(off + 5)
    op = p.u16(off + 6)
    sha, spa = off + 8, off + 8 + hln
    tha, tpa = spa + pln, spa + pln + hln
    if not p.has(tpa, pln):
        raise _TRUNC
    p.put("ARP, ")
    if pro not in (0x0800, 0x1000) or pln != 4 or hln == 0:
        hname = _ARPHRD_NAMES.get(hrd, f"Unknown Hardware ({hrd})")
        pname = ETHERTYPE_NAMES.get(pro, f"Unknown Protocol (0x{pro:04x})")
        p.put(f"{hname} (len {hln}), {pname} (len {pln}), length {length}")
        return
    p.put(_ARPOP_NAMES.get(op, f"Unknown ({op})") + " ")
    if op == 1:
        text = f"who-has {p.ip4(tpa)}"
        if any(p.data[tha:tha + hln]):
            text += f" ({_linkaddr(p, tha, hln)})"
        text += f" tell {p.ip4(spa)}"
    elif op == 2:
        text = f"{p.ip4(spa)} is-at {_linkaddr(p, sha, hln)}"
    elif op in (3, 8):
        text = f"who-is {_linkaddr(p, tha, hln)} tell {_linkaddr(p, sha, hln)}"
    elif op == 4:
        text = f"{_linkaddr(p, tha, hln)} at {p.ip4(tpa)}"
    elif op == 9:
        text = f"{_linkaddr(p, sha, hln)} at {p.ip4(spa)}"
    else:
        _hex_ascii(p, off, p.end - off)
        return
    p.put(f"{text}, length {length}")


# -- IPv4 (print-ip.c, print-ip-demux.c) ------------------------------------

IPPROTO_NAMES = {1: "ICMP", 2: "IGMP", 58: "ICMPv6", 143: "Ethernet"}


def _ip(p: _Pkt, off: int, length: int, tcp: _TcpState) -> None:
    p.proto = "ip"
    version = p.u8(off) >> 4
    if version != 4:
        p.put("IP6, wrong link-layer encapsulation" if version == 6 else f"IP{version}")
        p.put(" (invalid)")
        return
    p.put("IP ")
    if not p.has(off, 20):
        raise _TRUNC
    if length < 20:
        p.put(f"truncated-ip {length}")
        return
    hlen = (p.data[off] & 0x0F) * 4
    if hlen < 20:
        p.put(f"bad-hlen {hlen}")
        return
    total = p.u16(off + 2)
    if length < total:
        p.put(f"truncated-ip - {total - length} bytes missing! ")
    if total < hlen:
        p.put(f"bad-len {total}")
        return
    saved = p.push(off, total)
    frag, proto = p.u16(off + 6), p.u8(off + 9)
    src, dst = p.ip4(off + 12), p.ip4(off + 16)
    if frag & 0x1FFF == 0:
        if proto not in (6, 17, 33, 132):
            p.put(f"{src} > {dst}: ")
        if not p.has(off, hlen):
            p.put(f" [remaining caplen({p.end - off}) < header length({hlen})]")
            raise _TRUNC
        _demux(p, off + hlen, total - hlen, off, 4, bool(frag & 0x2000), proto, tcp)
    else:
        # A later fragment: no transport header to decode.
        p.put(f"{src} > {dst}: ip-proto-{proto}")
    p.end = saved


def _demux(p: _Pkt, off: int, length: int, iph: int, ver: int, fragmented: bool,
           nh: int, tcp: _TcpState) -> None:
    """ip_demux_print for the protocols this module knows."""
    if ver == 4:
        src, dst, direct = p.ip4(iph + 12), p.ip4(iph + 16), p.u8(iph + 9) == nh
    else:
        src, dst, direct = p.ip6(iph + 8), p.ip6(iph + 24), p.u8(iph + 6) == nh
    if nh == 6:
        tcp.print(p, off, length, iph, ver, src, dst, direct)
    elif nh == 17:
        _udp(p, off, length, src, dst, direct, fragmented)
    elif nh == 1 and ver == 4:
        _icmp(p, off, length)
    elif nh == 58 and ver == 6:
        _icmp6(p, off, length, iph)
    elif nh == 2 and ver == 4:
        _igmp(p, off, length)
    elif nh in (1, 2, 58, 143):
        need = "IPv4" if nh in (1, 2) else "IPv6"
        p.put(f"[{IPPROTO_NAMES[nh]} requires {need}] (invalid)")
    elif nh == 4:
        _ip(p, off, length, tcp)
    elif nh == 41:
        _ip6(p, off, length, tcp)
    elif nh == 77:
        p.put(f" nd {length}")
    elif nh == 59:
        p.put("no next header")
    else:
        p.put(f" ip-proto-{nh} {length}")


# -- ICMP (print-icmp.c) ----------------------------------------------------

_ICMP_NAMES = {0: "echo reply", 4: "source quench", 8: "echo request",
               10: "router solicitation", 13: "time stamp request", 14: "time stamp reply",
               15: "information request", 16: "information reply",
               17: "address mask request"}
# ICMP_UNREACH codes other than protocol/port/need-frag: "{}" is the inner dst
_UNREACH_TEXT = {
    0: "net {} unreachable", 1: "host {} unreachable",
    5: "{} unreachable - source route failed", 6: "net {} unreachable - unknown",
    7: "host {} unreachable - unknown", 8: "{} unreachable - source host isolated",
    9: "net {} unreachable - admin prohibited", 10: "host {} unreachable - admin prohibited",
    11: "net {} unreachable - tos prohibited", 12: "host {} unreachable - tos prohibited",
    13: "host {} unreachable - admin prohibited filter",
    14: "host {} unreachable - host precedence violation",
    15: "host {} unreachable - precedence cutoff",
}
_REDIRECT_TEXT = {0: "redirect {} to net {}", 1: "redirect {} to host {}",
                  2: "redirect-tos {} to net {}", 3: "redirect-tos {} to host {}"}


def _icmp(p: _Pkt, off: int, plen: int) -> None:
    p.proto = "icmp"
    icmp_type, code = p.u8(off), p.u8(off + 1)
    if icmp_type in (0, 8):
        kind = "request" if icmp_type == 8 else "reply"
        text = f"echo {kind}, id {p.u16(off + 4)}, seq {p.u16(off + 6)}"
    elif icmp_type == 3:
        text = _icmp_unreach(p, off, code)
    elif icmp_type == 5:
        fmt = _REDIRECT_TEXT.get(code, f"redirect-#{code} {{}} to {{}}")
        text = fmt.format(p.ip4(off + 24), p.ip4(off + 4))
    elif icmp_type == 9:
        text = _icmp_router_adv(p, off)
    elif icmp_type == 11:
        if not p.has(off + 24, 4):
            raise _TRUNC
        text = {0: "time exceeded in-transit", 1: "ip reassembly time exceeded"}.get(
            code, f"time exceeded-#{code}")
    elif icmp_type == 12:
        text = (f"parameter problem - code {code}" if code else
                f"parameter problem - octet {p.u8(off + 4)}")
    elif icmp_type == 18:
        text = f"address mask is 0x{p.u32(off + 8):08x}"
    elif icmp_type == 13:
        text = f"time stamp query id {p.u16(off + 4)} seq {p.u16(off + 6)}"
    elif icmp_type == 14:
        if not p.has(off + 16, 4):
            raise _TRUNC
        text = (f"time stamp reply id {p.u16(off + 4)} seq {p.u16(off + 6)}: "
                f"org {_msec(p.u32(off + 8))}, recv {_msec(p.u32(off + 12))}, "
                f"xmit {_msec(p.u32(off + 16))}")
    else:
        text = _ICMP_NAMES.get(icmp_type, f"type-#{icmp_type}")
    p.put(f"ICMP {text}, length {plen}")


def _icmp_unreach(p: _Pkt, off: int, code: int) -> str:
    # The quoted datagram starts at off+8; its destination is at off+24.
    if code == 2:
        return f"{p.ip4(off + 24)} protocol {p.u8(off + 17)} unreachable"
    if code == 3:
        if not p.has(off + 17, 1):
            raise _TRUNC
        ihl = (p.u8(off + 8) & 0x0F) * 4
        dport = p.u16(off + 8 + ihl + 2)
        proto = p.u8(off + 17)
        name = {6: "tcp", 17: "udp"}.get(proto)
        if name:
            return f"{p.ip4(off + 24)} {name} port {dport} unreachable"
        return f"{p.ip4(off + 24)} protocol {proto} port {dport} unreachable"
    if code == 4:
        mtu = p.u16(off + 6)
        if mtu:
            return f"{p.ip4(off + 24)} unreachable - need to frag (mtu {mtu})"
        return f"{p.ip4(off + 24)} unreachable - need to frag"
    fmt = _UNREACH_TEXT.get(code)
    if fmt is None:
        return f"{p.ip4(off + 24)} unreachable - #{code}"
    return fmt.format(p.ip4(off + 24))


def _icmp_router_adv(p: _Pkt, off: int) -> str:
    if not p.has(off + 4, 4):
        raise _TRUNC
    life = p.u16(off + 6)
    if life < 60:
        life_s = f"{life}"
    elif life < 3600:
        life_s = f"{life // 60}:{life % 60:02d}"
    else:
        life_s = f"{life // 3600}:{life % 3600 // 60:02d}:{life % 60:02d}"
    num, size = p.u8(off + 4), p.u8(off + 5)
    text = f"router advertisement lifetime {life_s} {num}:"
    if size != 2:
        return text + f" [size {size}]"
    for i in range(num):
        entry = off + 8 + 8 * i
        if not p.has(entry, 8):
            raise _TRUNC
        text += f" {{{p.ip4(entry)} {p.u32(entry + 4)}}}"
    return text


def _msec(ms: int) -> str:
    """icmp_tstamp_print: milliseconds since midnight UTC as HH:MM:SS.mmm."""
    sec, msec = divmod(ms, 1000)
    mins, sec = divmod(sec, 60)
    hrs, mins = divmod(mins, 60)
    return f"{hrs:02d}:{mins:02d}:{sec:02d}.{msec:03d}"


# -- IGMP (print-igmp.c) ----------------------------------------------------


def _igmp(p: _Pkt, off: int, length: int) -> None:
    p.proto = "igmp"
    kind = p.u8(off)
    if kind == 0x11:
        p.put("igmp query")
        if length >= 12:
            _igmpv3_query(p, off, length)
            return
        mrt = p.u8(off + 1)
        if mrt:
            p.put(" v2" + (f" [max resp time {mrt}]" if mrt != 100 else ""))
        else:
            p.put(" v1")
        if p.u32(off + 4):
            p.put(f" [gaddr {p.ip4(off + 4)}]")
        if length != 8:
            p.put(f" [len {length}]")
    elif kind == 0x12:
        p.put(f"igmp v1 report {p.ip4(off + 4)}" + (f" [len {length}]" if length != 8 else ""))
    elif kind == 0x16:
        p.put(f"igmp v2 report {p.ip4(off + 4)}")
    elif kind == 0x17:
        p.put(f"igmp leave {p.ip4(off + 4)}")
    elif kind == 0x22:
        p.put("igmp v3 report")
        if length < 16 or length & 3:
            p.put(f" [invalid len {length}]")
        else:
            p.put(f", {p.u16(off + 6)} group record(s)")
    else:
        p.put(f"igmp-{kind}")


def _igmpv3_query(p: _Pkt, off: int, length: int) -> None:
    p.put(" v3")
    if length < 12 or length & 3:
        p.put(f" [invalid len {length}]")
        return
    mrc = p.u8(off + 1)
    mrt = mrc if mrc < 128 else ((mrc & 0x0F) | 0x10) << (((mrc & 0x70) >> 4) + 3)
    if mrc != 100:
        p.put(f" [max resp time {mrt * 0.1:.1f}s]" if mrt < 600 else
              f" [max resp time {_relts(mrt // 10)}]")
    if p.u32(off + 4) == 0:
        return
    p.put(f" [gaddr {p.ip4(off + 4)}")
    nsrcs = p.u16(off + 10)
    if nsrcs:
        p.put(" [invalid number of sources]" if length < 12 + (nsrcs << 2) else
              f", {nsrcs} source(s)")
    p.put("]")


def _relts(secs: int) -> str:
    """unsigned_relts_print: 90061 -> 1d1h1m1s."""
    if secs == 0:
        return "0s"
    out = ""
    for unit, size in (("y", 31536000), ("w", 604800), ("d", 86400), ("h", 3600),
                       ("m", 60), ("s", 1)):
        if secs >= size:
            out += f"{secs // size}{unit}"
            secs %= size
    return out


# -- UDP (print-udp.c) ------------------------------------------------------


def _udp(p: _Pkt, off: int, length: int, src: str, dst: str, direct: bool,
         fragmented: bool) -> None:
    p.proto = "udp"

    def addrs(ports: tuple[int, int] | None) -> None:  # udpipaddr_print
        if ports is None:
            if direct:
                p.put(f"{src} > {dst}: ")
        elif direct:
            p.put(f"{src}.{ports[0]} > {dst}.{ports[1]}: ")
        else:
            p.put(f"{ports[0]} > {ports[1]}: ")

    if not p.has(off + 2, 2):
        addrs(None)
        raise _TRUNC
    ports = (p.u16(off), p.u16(off + 2))
    if length < 8:
        addrs(ports)
        p.put(f"truncated-udp {length}")
        return
    if not p.has(off + 4, 2):
        addrs(ports)
        raise _TRUNC
    ulen = p.u16(off + 4)
    if ulen == 0 and length > 65535:
        ulen = length
    if ulen < 8:
        addrs(ports)
        p.put(f"truncated-udplength {ulen}")
        return
    ulen -= 8
    length = min(length - 8, ulen)
    addrs(ports)
    if off + 8 > p.end:
        raise _TRUNC
    if ulen > length and not fragmented:
        p.put(f"UDP, bad length {ulen} > {length}")
    else:
        p.put(f"UDP, length {ulen}")


# -- TCP (print-tcp.c) ------------------------------------------------------

_TCP_FLAGS = ((0x01, "F"), (0x02, "S"), (0x04, "R"), (0x08, "P"), (0x10, "."), (0x20, "U"),
              (0x40, "E"), (0x80, "W"))
_TCP_OPT_NAMES = {0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack",
                  6: "echo", 7: "echoreply", 8: "TS", 11: "cc", 12: "ccnew", 13: "",
                  19: "md5", 20: "scps", 28: "uto", 29: "tcp-ao", 30: "mptcp", 34: "tfo",
                  254: "exp"}
_M32 = 0xFFFFFFFF


def _tcp_flags(flags: int) -> str:
    return "".join(ch for bit, ch in _TCP_FLAGS if flags & bit) or "none"


class _TcpState:
    """tcpdump's tcp_seq_hash: initial sequence numbers per conversation."""

    def __init__(self) -> None:
        # (lower-side addr, other addr, ports) -> [seq base, ack base]
        self.flows: dict[tuple[bytes, bytes, int], list[int]] = {}

    def relative(self, p: _Pkt, iph: int, ver: int, sport: int, dport: int, seq: int,
                 ack: int, flags: int) -> tuple[int, int, int, int, bool]:
        """Record or apply a flow's base: (seq, ack, thseq, thack, rev) as tcpdump has them."""
        if ver == 4:
            src, dst = p.data[iph + 12:iph + 16], p.data[iph + 16:iph + 20]
        else:
            src, dst = p.data[iph + 8:iph + 24], p.data[iph + 24:iph + 40]
        rev = sport > dport or (sport == dport and src > dst)
        key = (dst, src, dport << 16 | sport) if rev else (src, dst, sport << 16 | dport)
        base = self.flows.get(key)
        if base is None or flags & 0x02:
            # New conversation: this segment's numbers become the base, printed absolute.
            base = [ack - 1 & _M32, seq] if rev else [seq, ack - 1 & _M32]
            self.flows[key] = base
        elif rev:
            seq, ack = seq - base[1] & _M32, ack - base[0] & _M32
        else:
            seq, ack = seq - base[0] & _M32, ack - base[1] & _M32
        return seq, ack, base[0], base[1], rev

    def print(self, p: _Pkt, off: int, length: int, iph: int, ver: int, src: str, dst: str,
              direct: bool) -> None:
        p.proto = "tcp"
        if not p.has(off + 2, 2):
            p.put(f"{src} > {dst}:")
            raise _TRUNC
        sport, dport = p.u16(off), p.u16(off + 2)
        p.put(f"{src}.{sport} > {dst}.{dport}: " if direct else f"{sport} > {dport}: ")
        if not p.has(off, 20):
            raise _TRUNC
        _, _, seq, ack, offx, flags, win, _, urp = _TCP_HDR.unpack_from(p.data, off)
        hlen = (offx >> 4) * 4
        if hlen < 20:
            p.put(f" tcp {length - hlen & _M32} [bad hdr length {hlen} - too short, < 20]")
            return
        p.put(f"Flags [{_tcp_flags(flags)}]")
        thseq = thack = 0
        rev = False
        if flags & 0x10:
            seq, ack, thseq, thack, rev = self.relative(p, iph, ver, sport, dport, seq, ack,
                                                        flags)
        if hlen > length:
            p.put(f" [bad hdr length {hlen} - too long, > {length}]")
            return
        length -= hlen
        if length > 0 or flags & 0x07:
            p.put(f", seq {seq}" + (f":{seq + length & _M32}" if length > 0 else ""))
        if flags & 0x10:
            p.put(f", ack {ack}")
        p.put(f", win {win}")
        if flags & 0x20:
            p.put(f", urg {urp}")
        if hlen > 20 and not _tcp_options(p, off, hlen, length, rev, thseq, thack):
            return
        p.put(f", length {length}")
        if length and not p.has(off, hlen):
            p.put(f" [remaining caplen({p.end - off}) < header length({hlen})]")
            raise _TRUNC


class _OptEnd(Exception):
    """Leaves the option loop: tcpdump's "goto bad" (True) or "goto trunc" (False)."""

    def __init__(self, bad: bool) -> None:
        super().__init__()
        self.bad = bad


def _tcp_options(p: _Pkt, off: int, hlen: int, length: int, rev: bool, thseq: int,
                 thack: int) -> bool:
    """The ", options [...]" list; False when tcpdump stops printing the segment."""
    left, cp, sep = hlen - 20, off + 20, ""
    p.put(", options [")
    try:
        while left > 0:
            p.put(sep)
            opt = p.u8(cp)
            cp += 1
            size = 1
            if opt > 1:
                size = p.u8(cp)
                cp += 1
                if size < 2 or size > left:
                    raise _OptEnd(True)
                left -= 1
            left -= 1
            p.put(_TCP_OPT_NAMES.get(opt, f"unknown-{opt}"))
            datalen = _tcp_option(p, opt, cp, size, left, off + hlen, length, rev, thseq, thack)
            cp += datalen
            left -= datalen
            if datalen + (1 if opt <= 1 else 2) != size:
                p.put(f"[len {size}]")
            sep = ","
            if opt == 0:
                break
    except _OptEnd as end:
        if end.bad:
            p.put("[bad opt]" + ("]" if sep else ""))
        else:
            p.put(" [|tcp]" + (">" if sep else ""))
        return False
    p.put("]")
    return True


def _lencheck(p: _Pkt, cp: int, n: int, left: int) -> None:
    """LENCHECK: the option claims n bytes that are not in the header or the capture."""
    if n > left:
        raise _OptEnd(True)
    if not p.has(cp, n):
        raise _OptEnd(False)


def _tcp_option(p: _Pkt, opt: int, cp: int, size: int, left: int, data_off: int,
                length: int, rev: bool, thseq: int, thack: int) -> int:
    """Print one option's value; returns how many value bytes it consumed."""
    if opt == 2:
        _lencheck(p, cp, 2, left)
        p.put(f" {p.u16(cp)}")
        return 2
    if opt == 3:
        _lencheck(p, cp, 1, left)
        p.put(f" {p.u8(cp)}")
        return 1
    if opt == 5:
        datalen = size - 2
        if datalen % 8:
            p.put(" invalid sack")
            return datalen
        p.put(f" {datalen // 8} ")
        for i in range(0, datalen, 8):
            _lencheck(p, cp, i + 4, left)
            s = p.u32(cp + i)
            _lencheck(p, cp, i + 8, left)
            e = p.u32(cp + i + 4)
            base = thseq if rev else thack
            p.put(f"{{{s - base & _M32}:{e - base & _M32}}}")
        return datalen
    if opt in (6, 7, 11, 12, 13):
        _lencheck(p, cp, 4, left)
        p.put(f" {p.u32(cp)}")
        return 4
    if opt == 8:
        _lencheck(p, cp, 8, left)
        p.put(f" val {p.u32(cp)} ecr {p.u32(cp + 4)}")
        return 8
    if opt in (0, 1, 4):
        return 0
    return _tcp_rare_option(p, opt, cp, size, left, data_off, length)


def _tcp_rare_option(p: _Pkt, opt: int, cp: int, size: int, left: int, data_off: int,
                     length: int) -> int:
    datalen = size - 2
    if opt == 19:  # md5 signature; tcpdump has no -M secret, so it cannot check it
        _lencheck(p, cp, 16, left)
        why = "snaplen too short, " if data_off + length > p.end else \
            "shared secret not supplied with -M, "
        p.put(f" {why}can't check - {p.data[cp:cp + 16].hex()}")
        return 16
    if opt == 20:
        _lencheck(p, cp, 2, left)
        p.put(f" cap {p.u8(cp):02x} id {p.u8(cp + 1)}")
        return 2
    if opt == 28:
        _lencheck(p, cp, 2, left)
        uto = p.u16(cp)
        p.put(f" 0x{uto:x} {(uto >> 1) * 60 if uto & 1 else uto >> 1}")
        return 2
    if opt == 29:
        if datalen < 2:
            p.put(" (invalid)")
            return datalen
        _lencheck(p, cp, 1, left)
        p.put(f" keyid {p.u8(cp)}")
        _lencheck(p, cp, 2, left)
        p.put(f" rnextkeyid {p.u8(cp + 1)}")
        if datalen > 2:
            p.put(" mac 0x")
            for i in range(2, datalen):
                _lencheck(p, cp, i + 1, left)
                p.put(f"{p.u8(cp + i):02x}")
        return datalen
    if opt == 34:
        _lencheck(p, cp, datalen, left)
        p.put(" ")
        _tcp_fastopen(p, cp, datalen)
        return datalen
    if opt == 254:
        _lencheck(p, cp, datalen, left)
        if datalen < 2:
            raise _OptEnd(True)
        magic = p.u16(cp)
        p.put("-")
        if magic == 0xF989:
            p.put("tfo")
            _tcp_fastopen(p, cp + 2, datalen - 2)
        else:
            p.put(f"{magic:04x}")
        return datalen
    if datalen:
        p.put(" 0x")
    for i in range(datalen):
        _lencheck(p, cp, i + 1, left)
        p.put(f"{p.u8(cp + i):02x}")
    return datalen


def _tcp_fastopen(p: _Pkt, cp: int, datalen: int) -> None:
    if datalen == 0:
        p.put(" cookiereq")
    elif datalen % 2 or datalen < 4 or datalen > 16:
        p.put(" (invalid)")
    else:
        if not p.has(cp, datalen):
            raise _TRUNC
        p.put(f" cookie {p.data[cp:cp + datalen].hex()}")


# -- IPv6 (print-ip6.c, print-ip6opts.c, print-frag6.c) ---------------------


def _ip6(p: _Pkt, off: int, length: int, tcp: _TcpState) -> None:
    p.proto = "ip6"
    if not p.has(off, 40):
        raise _TRUNC
    if length < 40:
        p.put(f"truncated-ip6 {length}")
        return
    p.put("IP6 ")
    if p.data[off] >> 4 != 6:
        p.put(f"version error: {p.data[off] >> 4} != 6")
        return
    payload_len = p.u16(off + 4)
    if payload_len:
        total = payload_len + 40
        if length < total:
            p.put(f"truncated-ip6 - {total - length} bytes missing!")
    else:
        total = length + 40
    saved = p.push(off, total)
    _ip6_chain(p, off, length, total, payload_len, tcp)
    p.end = saved


def _ip6_chain(p: _Pkt, off: int, length: int, left: int, payload_len: int,
               tcp: _TcpState) -> None:
    """Walk the extension headers, then hand the payload to the demuxer."""
    nh, prev, cp, advance, total = p.u8(off + 6), 255, off, 40, 0
    found_ext = found_hbh = fragmented = False
    jumbo: list[int] = []
    while cp < p.end and advance > 0:
        if left < advance:
            raise _TRUNC
        cp, left, total = cp + advance, left - advance, total + advance
        if cp == off + 40 and nh not in (6, 17, 33, 132):
            p.put(f"{p.ip6(off + 8)} > {p.ip6(off + 24)}: ")
        if nh == 0:
            if found_hbh or prev != 255:
                p.put("[The Hop-by-Hop Options header was already found] (invalid)" if found_hbh
                      else "[The Hop-by-Hop Options header don't follow the IPv6 header]"
                      " (invalid)")
                return
            advance = _ip6_opts(p, cp, "hbhopt", "HBH ", payload_len, jumbo)
            if payload_len == 0 and not jumbo:
                p.put("[No valid Jumbo Payload Hop-by-Hop option found] (invalid)")
                return
            found_hbh = True
        elif nh == 60:
            advance = _ip6_opts(p, cp, "dstopt", "DSTOPT ", None, jumbo)
        elif nh == 44:
            advance = _frag6(p, cp, off)
            if advance > 0 and p.end <= cp + advance:
                return
            fragmented = True
        else:
            if jumbo:
                left = jumbo[0] + 40
                if left < total:
                    raise _TRUNC
                if length < left:
                    p.put(f"truncated-ip6 - {left - length} bytes missing!")
                p.end = min(p.end, off + left)
                left -= total
            elif payload_len == 0:
                if found_ext:
                    raise _TRUNC
                p.end = min(p.end, off + 40)
                left = 40 - total
            _demux(p, cp, left, off, 6, fragmented, nh, tcp)
            return
        if advance < 0:
            return
        found_ext = True
        nh, prev = p.u8(cp), nh
        p.proto = "ip6"


def _ip6_opts(p: _Pkt, cp: int, proto: str, label: str, payload_len: int | None,
              jumbo: list[int]) -> int:
    """hbhopt_process / dstopt_process without -v: the header's length, or -1."""
    p.proto = proto
    hlen = (p.u8(cp + 1) + 1) << 3
    if not p.has(cp, hlen):
        p.trunc()
        return -1
    p.put(label)
    # Destination options are only checked with -v; hop-by-hop ones always are.
    if payload_len is not None and _ip6_opt_scan(p, cp + 2, hlen - 2, payload_len, jumbo):
        p.trunc()
        return -1
    return hlen


def _ip6_opt_scan(p: _Pkt, bp: int, length: int, payload_len: int, jumbo: list[int]) -> bool:
    """ip6_opt_process: True when an option is malformed (tcpdump's trunc)."""
    minlen = {1: (2, "padn"), 5: (4, "rtalert"), 0xC2: (6, "jumbo"), 0xC9: (18, "homeaddr")}
    i = 0
    while i < length:
        kind = p.u8(bp + i)
        if kind == 0:
            i += 1
            continue
        if i + 1 >= length:
            return True
        optlen = p.u8(bp + i + 1) + 2
        if i + optlen > length:
            return True
        need, name = minlen.get(kind, (2, f"type {kind}"))
        if length - i < need:
            p.put(f"({name}: trunc)")
            return True
        value_len = p.u8(bp + i + 1)
        if (kind == 5 and value_len != 2) or (kind == 0xC2 and value_len != 4) or \
                (kind == 0xC9 and value_len < 16):
            p.put(f"({name}: invalid len {value_len})")
            return True
        if kind == 0xC2 and not jumbo and payload_len == 0 and p.u32(bp + i + 2) >= 65536:
            jumbo.append(p.u32(bp + i + 2))
        i += optlen
    return False


def _frag6(p: _Pkt, cp: int, iph: int) -> int:
    p.proto = "frag6"
    offset = p.u16(cp + 2) & 0xFFF8
    p.put(f"frag ({offset}|{40 + p.u16(iph + 4) - (cp - iph) - 8})")
    if offset:
        return -1  # a later fragment: nothing to decode
    p.put(" ")
    return 8


# -- ICMPv6 (print-icmp6.c) -------------------------------------------------

_ICMP6_NAMES = {
    1: "destination unreachable", 2: "packet too big", 3: "time exceeded in-transit",
    4: "parameter problem", 128: "echo request", 129: "echo reply",
    130: "multicast listener query", 131: "multicast listener report",
    132: "multicast listener done", 133: "router solicitation", 134: "router advertisement",
    135: "neighbor solicitation", 136: "neighbor advertisement", 137: "redirect",
    138: "router renumbering", 141: "inverse neighbor solicitation",
    142: "inverse neighbor advertisement", 143: "multicast listener report v2",
    144: "ha discovery request", 145: "ha discovery reply", 146: "mobile router solicitation",
    147: "mobile router advertisement", 139: "who-are-you request", 140: "who-are-you reply",
    200: "mtrace message", 201: "mtrace response", 155: "RPL",
}
_ICMP6_UNREACH = {0: "unreachable route", 1: " unreachable prohibited", 2: "beyond scope",
                  3: "unreachable address", 4: "unreachable port"}
_ICMP6_PARAMPROB = {0: "erroneous", 1: "next header", 2: "option",
                    3: "incomplete header chain"}


def _icmp6(p: _Pkt, off: int, length: int, iph: int) -> None:
    p.proto = "icmp6"
    if length == 0:
        p.put("ICMP6, length 0 (invalid)")
        return
    kind = p.u8(off)
    p.put("ICMP6, " + _ICMP6_NAMES.get(kind, f"unknown icmp6 type ({kind})"))
    code = p.u8(off + 1)
    if kind == 1:
        p.put(", " + _ICMP6_UNREACH.get(code, f"unknown unreach code ({code})"))
        if code > 4:
            _hex(p, off, length)
            return
        _icmp6_unreach(p, off, code)
    elif kind == 2:
        p.put(f", mtu {p.u32(off + 4)}")
    elif kind == 3:
        if code == 0:
            p.put(f" for {p.ip6(off + 32)}")
        else:
            p.put(" (reassembly)" if code == 1 else f", unknown code ({code})")
    elif kind == 4:
        if not p.has(off + 32, 16):
            raise _TRUNC
        what = _ICMP6_PARAMPROB.get(code)
        p.put(f", {what} - octet {p.u32(off + 4)}" if what else f", code-#{code}")
    elif kind in (128, 129):
        p.put(f", id {p.u16(off + 4)}, seq {p.u16(off + 6)}")
    elif kind in (130, 131, 132):
        _mld(p, off, kind, length)
    elif kind == 135:
        p.put(f", who has {p.ip6(off + 8)}")
    elif kind == 136:
        p.put(f", tgt is {p.ip6(off + 8)}")
    elif kind == 137:
        p.put(f", {p.ip6(off + 24)} to {p.ip6(off + 8)}")
    elif kind == 143:
        p.put(f" [invalid len {length}]" if length < 8 else
              f", {p.u16(off + 6)} group record(s)")
    elif kind in (144, 146):
        p.put(f", id 0x{p.u16(off + 4):04x}")
    elif kind not in (133, 134, 141, 142, 145, 147):
        p.put(f", length {length}")
        _hex(p, off, length)
        return
    p.put(f", length {length}")


def _icmp6_unreach(p: _Pkt, off: int, code: int) -> None:
    oip = off + 8
    if code in (0, 1, 3):
        p.put(f" {p.ip6(oip + 24)}")
    elif code == 2:
        p.put(f" {p.ip6(oip + 24)}, source address {p.ip6(oip + 8)}")
    else:
        found = _upper_layer(p, oip)
        if found is None:
            raise _TRUNC
        proto, uh = found
        dport = p.u16(uh + 2)
        name = {6: "tcp", 17: "udp"}.get(proto)
        p.put(f", {p.ip6(oip + 24)} {name} port {dport}" if name else
              f", {p.ip6(oip + 24)} protocol {proto} port {dport} unreachable")


def _upper_layer(p: _Pkt, ip6: int) -> tuple[int, int] | None:
    """get_upperlayer: the quoted packet's TCP/UDP header behind its extension headers."""
    if not p.has(ip6 + 6, 1):
        return None
    nh, hlen, bp = p.u8(ip6 + 6), 40, ip6
    while bp < p.end:
        bp += hlen
        if nh in (6, 17):
            return (nh, bp) if p.has(bp + 2, 2) else None
        if nh in (0, 43, 60):
            if not p.has(bp + 1, 1):
                return None
            nh, hlen = p.u8(bp), (p.u8(bp + 1) + 1) << 3
        elif nh == 44:
            if not p.has(bp + 2, 2) or p.u16(bp + 2) & 0xFFF8:
                return None
            nh, hlen = p.u8(bp), 8
        elif nh == 51:
            if not p.has(bp + 1, 1):
                return None
            nh, hlen = p.u8(bp), (p.u8(bp + 1) + 2) << 2
        else:
            return None
    return None


def _mld(p: _Pkt, off: int, kind: int, length: int) -> None:
    """MLDv1 (mld6_print, glued to the type name) or an MLDv2 query."""
    if kind == 130 and length != 24:
        if length < 28:
            p.put(f" unknown-version (len {length}) ")
            return
        p.put(" v2")
        p.put(f" [gaddr {p.ip6(off + 8)}")
        nsrcs = p.u16(off + 26)
        if nsrcs:
            p.put(" [invalid number of sources]" if length < 28 + nsrcs * 16 else
                  f", {nsrcs} source(s)")
        p.put("]")
        return
    if off + 24 > p.end:
        return
    p.put(f"max resp delay: {p.u16(off + 4)} addr: {p.ip6(off + 8)}")


# -- public API -------------------------------------------------------------


class TcpdumpFormatter:
    """Formats a stream of frames; keeps the per-flow TCP state relative numbers need."""

    def __init__(self) -> None:
        self._tcp = _TcpState()

    def format(self, frame: bytes | bytearray | memoryview) -> str:
        """The text tcpdump -n prints after the timestamp (may span lines for dumps)."""
        invalid = _invalid_header(len(frame))
        if invalid:
            return invalid
        p = _Pkt(bytes(frame))
        try:
            _ether(p, self._tcp)
        except _Truncated:
            p.trunc()
        except Exception:  # a printer bug must not take the capture down
            p.put(f" [|{p.proto or 'ether'}]")
        return "".join(p.out)

    def format_line(self, ts_ns: int, frame: bytes | bytearray | memoryview,
                    tt: bool = False) -> str:
        """The whole line; tcpdump prints no timestamp for a record it rejects."""
        text = self.format(frame)
        return text if text.startswith("[Invalid header") else format_ts(ts_ns, tt) + text


def _invalid_header(length: int) -> str:
    """What tcpdump prints instead of a packet it will not decode (print.c)."""
    if length == 0:
        return "[Invalid header: caplen==0, len==0]"
    if length > SNAPLEN:
        return f"[Invalid header: len({length}) > {SNAPLEN}]"
    return ""


def format_frame(frame: bytes | bytearray | memoryview) -> str:
    """Stateless: TCP sequence numbers print as if this were the capture's only packet."""
    return TcpdumpFormatter().format(frame)


def format_ts(ts_ns: int, tt: bool = False) -> str:
    """tcpdump's timestamp and the space after it: "HH:MM:SS.uuuuuu " in UTC, or
    "SECONDS.uuuuuu " with ``tt`` (-tt).  libpcap truncates nanoseconds to microseconds."""
    usec_total = ts_ns // 1000
    sec, usec = divmod(usec_total, 1_000_000)
    if tt:
        return f"{sec}.{usec:06d} "
    hours, rem = divmod(sec % 86400, 3600)
    return f"{hours:02d}:{rem // 60:02d}:{rem % 60:02d}.{usec:06d} "


def format_line(ts_ns: int, frame: bytes | bytearray | memoryview) -> str:
    """One line of ``tcpdump -n -r`` output (TZ=UTC) for a frame captured at ts_ns."""
    return TcpdumpFormatter().format_line(ts_ns, frame)
