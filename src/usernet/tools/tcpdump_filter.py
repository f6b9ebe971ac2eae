"""tcpdump filter expressions (pcap-filter(7), libpcap 1.10.3) as frame predicates.

``compile_filter("host 10.0.0.1 and not arp")`` returns a function telling
whether ``tcpdump -r`` would print an Ethernet frame.  The parser follows
libpcap's grammar.y, including qualifier inheritance ("host 1.2.3.4 or
5.6.7.8" is two host tests, "tcp or 80" an error); the code generator follows
gencode.c, reading the same fields at the same offsets as the BPF program
tcpdump runs, and a read past the end of a frame rejects the frame, as an
out-of-range BPF load does.  Bad expressions raise FilterError carrying the
line tcpdump prints on stderr, including the optimizer's "expression rejects
all packets" for filters no frame can pass.

Where it can differ from tcpdump: on frames cut short inside a header the
filter reads (libpcap's optimizer sometimes drops a test whose outcome cannot
matter, and with it the load); "len", "less" and "greater" see the frame's
captured length.  By design, no resolver is consulted for host, network or
Ethernet names (tcpdump's "unknown host 'x'" errors result), while service
and protocol names come from the system databases as tcpdump's do.  vlan,
mpls, pppoe, geneve, protochain, llc, ATM/MTP/pf/802.11 keywords, ifindex and
the AppleTalk/IPX/DECnet/OSI tests raise FilterError with a "usernet:"
message instead of compiling.
"""

from __future__ import annotations

import re
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import cast

Predicate = Callable[[bytes], bool]
_Value = Callable[[bytes], int]

_H = struct.Struct("!H").unpack_from
_W = struct.Struct("!I").unpack_from
_M32 = 0xFFFFFFFF


class FilterError(ValueError):
    """An expression tcpdump rejects; str() is tcpdump's stderr line."""


class _Reject(Exception):
    """An out-of-range load or a division by zero: the BPF program returns 0."""


def _fail(message: str) -> FilterError:
    return FilterError(f"tcpdump: {message}")


def _unsupported(what: str) -> FilterError:
    return FilterError(f"usernet: tcpdump filter {what} is not supported")


# -- lexer (scanner.l) -------------------------------------------------------

_KEYWORDS = {
    "dst": "DST", "src": "SRC", "link": "link", "ether": "link", "ppp": "link",
    "slip": "link", "fddi": "link", "tr": "link", "wlan": "link", "arp": "arp",
    "rarp": "rarp", "ip": "ip", "sctp": "sctp", "tcp": "tcp", "udp": "udp", "icmp": "icmp",
    "igmp": "igmp", "igrp": "igrp", "pim": "pim", "vrrp": "vrrp", "carp": "carp",
    "radio": "radio", "ip6": "ip6", "icmp6": "icmp6", "ah": "ah", "esp": "esp",
    "atalk": "atalk", "aarp": "aarp", "decnet": "decnet", "lat": "lat", "sca": "sca",
    "moprc": "moprc", "mopdl": "mopdl", "iso": "iso", "esis": "esis", "es-is": "esis",
    "isis": "isis", "is-is": "isis", "l1": "l1", "l2": "l2", "iih": "iih", "lsp": "lsp",
    "snp": "snp", "csnp": "csnp", "psnp": "psnp", "clnp": "clnp", "stp": "stp",
    "ipx": "ipx", "netbeui": "netbeui",
    "host": "HOST", "net": "NET", "mask": "NETMASK", "port": "PORT",
    "portrange": "PORTRANGE", "proto": "PROTO", "protochain": "PROTOCHAIN",
    "gateway": "GATEWAY", "address1": "ADDR1", "addr1": "ADDR1", "address2": "ADDR2",
    "addr2": "ADDR2", "address3": "ADDR3", "addr3": "ADDR3", "address4": "ADDR4",
    "addr4": "ADDR4", "ra": "RA", "ta": "TA", "less": "LESS", "greater": "GREATER",
    "byte": "CBYTE", "broadcast": "BROADCAST", "multicast": "MULTICAST", "and": "AND",
    "&&": "AND", "or": "OR", "||": "OR", "not": "!", "len": "LEN", "length": "LEN",
}
# Keywords of primitives this module does not implement: reaching one is an error.
_UNSUPPORTED_WORDS = frozenset({
    "type", "subtype", "direction", "dir", "inbound", "outbound", "ifindex", "vlan", "mpls",
    "pppoed", "pppoes", "geneve", "lane", "llc", "metac", "bcc", "oam", "oamf4", "oamf4ec",
    "oamf4sc", "sc", "ilmic", "vpi", "vci", "connectmsg", "metaconnect", "on", "ifname",
    "rset", "ruleset", "rnr", "rulenum", "srnr", "subrulenum", "reason", "action", "fisu",
    "lssu", "lsu", "msu", "hfisu", "hlssu", "hmsu", "sio", "opc", "dpc", "sls", "hsio",
    "hopc", "hdpc", "hsls"})
_NAMED_NUMS = {
    "icmptype": 0, "icmpcode": 1, "icmp-echoreply": 0, "icmp-unreach": 3,
    "icmp-sourcequench": 4, "icmp-redirect": 5, "icmp-echo": 8, "icmp-routeradvert": 9,
    "icmp-routersolicit": 10, "icmp-timxceed": 11, "icmp-paramprob": 12,
    "icmp-tstamp": 13, "icmp-tstampreply": 14, "icmp-ireq": 15, "icmp-ireqreply": 16,
    "icmp-maskreq": 17, "icmp-maskreply": 18, "icmp6type": 0, "icmp6code": 1,
    "icmp6-destinationunreach": 1, "icmp6-packettoobig": 2, "icmp6-timeexceeded": 3,
    "icmp6-parameterproblem": 4, "icmp6-echo": 128, "icmp6-echoreply": 129,
    "icmp6-multicastlistenerquery": 130, "icmp6-multicastlistenerreportv1": 131,
    "icmp6-multicastlistenerdone": 132, "icmp6-routersolicit": 133,
    "icmp6-routeradvert": 134, "icmp6-neighborsolicit": 135, "icmp6-neighboradvert": 136,
    "icmp6-redirect": 137, "icmp6-routerrenum": 138, "icmp6-nodeinformationquery": 139,
    "icmp6-nodeinformationresponse": 140, "icmp6-ineighbordiscoverysolicit": 141,
    "icmp6-ineighbordiscoveryadvert": 142, "icmp6-multicastlistenerreportv2": 143,
    "icmp6-homeagentdiscoveryrequest": 144, "icmp6-homeagentdiscoveryreply": 145,
    "icmp6-mobileprefixsolicit": 146, "icmp6-mobileprefixadvert": 147,
    "icmp6-certpathsolicit": 148, "icmp6-certpathadvert": 149,
    "icmp6-multicastrouteradvert": 151, "icmp6-multicastroutersolicit": 152,
    "icmp6-multicastrouterterm": 153, "tcpflags": 13, "tcp-fin": 0x01, "tcp-syn": 0x02,
    "tcp-rst": 0x04, "tcp-push": 0x08, "tcp-ack": 0x10, "tcp-urg": 0x20, "tcp-ece": 0x40,
    "tcp-cwr": 0x80,
}


def _words(words: list[str]) -> re.Pattern[str]:
    """A regex matching the longest of several literals (flex's longest match)."""
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


def _v6_patterns() -> list[re.Pattern[str]]:
    """scanner.l's V6 alternatives: 8 groups, or up to 7 around '::', or an IPv4 tail."""
    w, n = "[0-9A-Fa-f]{1,4}", "(?:0[xX][0-9A-Fa-f]+|[0-9]+)"
    v4 = rf"{n}\.{n}\.{n}\.{n}"

    def groups(k: int) -> str:
        return ":".join([w] * k)

    pats = [groups(8), groups(6) + ":" + v4]
    for g in range(8):
        for left in range(g + 1):
            pats.append(groups(left) + "::" + groups(g - left))
    for g in range(6):
        for left in range(g + 1):
            right = groups(g - left)
            pats.append(groups(left) + "::" + (right + ":" if right else "") + v4)
    return [re.compile(p) for p in pats]


_HEX = "[0-9A-Fa-f]"
_B = f"{_HEX}{_HEX}?"
_NUM = "(?:0[xX][0-9A-Fa-f]+|[0-9]+)"
# (rank, token kind, patterns): equal-length matches go to the lowest rank, as in flex.
_RULES: list[tuple[int, str, list[re.Pattern[str]]]] = [
    (0, "KW", [_words([*_KEYWORDS, *_UNSUPPORTED_WORDS])]),
    (1, "SPACE", [re.compile(r"[ \r\n\t]")]),
    (2, "CHAR", [re.compile(r"[+\-*/%:\[\]!<>()&|^=]")]),
    (3, "OP2", [re.compile(r">=|<=|!=|==|<<|>>")]),
    (4, "AID", [re.compile(r"\$" + _B)]),
    (5, "EID", [re.compile(p) for p in (
        ":".join([_B] * 6), "-".join([_B] * 6), r"\.".join([_B] * 6),
        r"\.".join([_HEX * 4] * 3), _HEX * 12)]),
    (6, "NUM", [re.compile("0[xX][0-9A-Fa-f]+"), re.compile("[0-9]+")]),
    (7, "HID", [re.compile(r"\.".join([_NUM] * k)) for k in (2, 3, 4)]),
    (8, "HID6", _v6_patterns()),
    (9, "BADEID", [re.compile(f"{_B}:+(?:{_B}:+)+")]),
    (10, "NAMED", [_words(list(_NAMED_NUMS))]),
    (11, "ID", [re.compile(r"[A-Za-z0-9](?:[-_.A-Za-z0-9]*[.A-Za-z0-9])?")]),
    (12, "BSID", [re.compile(r"\\[^ !()\n\t]+")]),
    (13, "ANY", [re.compile(r".", re.S)]),
]
_OP2 = {">=": "GEQ", "<=": "LEQ", "!=": "NEQ", "==": "=", "<<": "LSH", ">>": "RSH"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # a grammar terminal: "ID", "NUM", "HOST", "(", "tcp", "ERROR", "EOF" ...
    text: str
    value: int = 0


def _stou(text: str) -> _Tok:
    """stou(): decimal, 0x hex or 0 octal, each limited to 32 bits."""
    if text[:2] in ("0x", "0X"):
        value = int(text[2:], 16)
    elif text.startswith("0") and len(text) > 1:
        if any(c in "89" for c in text):
            return _Tok("ERROR", f"number {text} contains non-octal digit")
        value = int(text, 8)
    else:
        value = int(text)
    if value > _M32:
        return _Tok("ERROR", f"number {text} overflows 32 bits")
    return _Tok("NUM", text, value)


def _token(kind: str, text: str) -> _Tok | None:
    if kind == "SPACE":
        return None
    if kind == "KW":
        return _Tok("UNSUP" if text in _UNSUPPORTED_WORDS else _KEYWORDS[text], text)
    if kind in ("CHAR", "OP2"):
        return _Tok(_OP2.get(text, text), text)
    if kind == "NUM":
        return _stou(text)
    if kind == "NAMED":
        return _Tok("NUM", text, _NAMED_NUMS[text])
    if kind == "HID6":
        try:
            socket.inet_pton(socket.AF_INET6, text)
        except OSError:
            return _Tok("ERROR", f"bogus IPv6 address {text}")
    if kind == "BADEID":
        return _Tok("ERROR", f"bogus ethernet address {text}")
    if kind == "BSID":
        return _Tok("ID", text[1:])
    if kind == "ANY":
        return _Tok("ERROR", "can't parse filter expression: syntax error")
    return _Tok(kind, text)


def _lex(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        best = (0, 99, "ANY")
        for rank, kind, pats in _RULES:
            for pat in pats:
                m = pat.match(text, pos)
                if m and (m.end() - pos, -rank) > (best[0], -best[1]):
                    best = (m.end() - pos, rank, kind)
        tok = _token(best[2], text[pos:pos + best[0]])
        pos += best[0]
        if tok is not None:
            toks.append(tok)
    toks.append(_Tok("EOF", ""))
    return toks


# -- code generation (gencode.c) --------------------------------------------
# Qualifiers are (proto, dir, addr) strings; a proto is the keyword spelling
# tcpdump's messages use ("ip6", "icmp6", "l1", "link" ...).

_Qual = tuple[str, str, str]
_QERR: _Qual = ("undef", "undef", "undef")


def _load8(b: bytes, off: int) -> int:
    if off >= len(b):
        raise _Reject
    return b[off]


def _load(size: int, b: bytes, off: int) -> int:
    if off + size > len(b):
        raise _Reject
    if size == 1:
        return b[off]
    return int((_H if size == 2 else _W)(b, off)[0])


# A test is the function that runs it and a symbolic form the unsatisfiability
# check reads: ("const", bool), ("eq", field, value) for an equality the
# optimizer can reason about, ("op", name, field, value) for any other test,
# ("and"|"or", a, b) and ("not", a).  A field names a load as libpcap's value
# numbering would: ("abs", offset, size, mask), ("x", ...) behind the IPv4
# header, ("len",), or a whole arithmetic expression.
_Sym = tuple[object, ...]


@dataclass(frozen=True)
class _Test:
    fn: Predicate
    sym: _Sym


def _and(a: _Test, c: _Test) -> _Test:
    f, g = a.fn, c.fn
    return _Test(lambda b: f(b) and g(b), ("and", a.sym, c.sym))


def _or(a: _Test, c: _Test) -> _Test:
    f, g = a.fn, c.fn
    return _Test(lambda b: f(b) or g(b), ("or", a.sym, c.sym))


def _not(a: _Test) -> _Test:
    f = a.fn
    return _Test(lambda b: not f(b), ("not", a.sym))


def _const(value: bool) -> _Test:
    return _Test(lambda b: value, ("const", value))


def _cmp(off: int, size: int, value: int, mask: int = _M32) -> _Test:
    """gen_mcmp at an absolute offset (link header start)."""
    if mask == 0:  # the optimizer folds "x & 0 == 0" away, load included
        return _const(value == 0)
    sym = ("eq", ("abs", off, size, mask), value)
    if mask == _M32:
        return _Test(lambda b: _load(size, b, off) == value, sym)
    return _Test(lambda b: _load(size, b, off) & mask == value, sym)


def _order(op: str, off: int, size: int, value: int, mask: int = _M32) -> _Test:
    """An unsigned ">" or ">=" test of a field (reasoned about only as a whole)."""
    if op == "gt":
        return _Test(lambda b: _load(size, b, off) & mask > value,
                     ("op", "gt", ("abs", off, size, mask), value))
    return _Test(lambda b: _load(size, b, off) & mask >= value,
                 ("op", "ge", ("abs", off, size, mask), value))


def _jset(off: int, size: int, bits: int) -> _Test:
    return _Test(lambda b: bool(_load(size, b, off) & bits),
                 ("op", "jset", ("abs", off, size, _M32), bits))


def _linktype(proto: int) -> _Test:
    """gen_ether_linktype: an Ethernet type, or an 802.2 SAP for values <= 1500."""
    is_8023 = _not(_order("gt", 12, 2, 1500))
    if proto in (0xFE, 0x06, 0xF0):  # ISO, IP and NetBEUI SAPs: DSAP and SSAP
        return _and(is_8023, _cmp(14, 2, proto << 8 | proto))
    if proto in (0xE0, 0x809B, 0x80F3):
        raise _unsupported("'ether proto' for IPX and AppleTalk")
    if proto <= 1500:
        return _and(is_8023, _cmp(14, 1, proto))
    return _cmp(12, 2, proto)


_ETHERTYPE_IP, _ETHERTYPE_IPV6 = 0x0800, 0x86DD
_ETHERTYPES = {"ip": 0x0800, "arp": 0x0806, "rarp": 0x8035, "ip6": 0x86DD, "decnet": 0x6003,
               "sca": 0x6007, "lat": 0x6004, "mopdl": 0x6001, "moprc": 0x6002}
_SAPS = {"stp": 0x42, "netbeui": 0xF0, "iso": 0xFE}


_IPFRAG = _not(_jset(20, 2, 0x1FFF))  # gen_ipfrag: not a fragment other than the first


def _ip_proto(v: int) -> _Test:
    return _and(_linktype(_ETHERTYPE_IP), _cmp(23, 1, v))


def _ip6_proto(v: int) -> _Test:
    """The next header, or the one after a fragment header."""
    direct, frag = _cmp(20, 1, v), _and(_cmp(20, 1, 44), _cmp(54, 1, v))
    return _and(_linktype(_ETHERTYPE_IPV6), _or(direct, frag))


_PROTO_BOGUS = frozenset({
    "sctp", "tcp", "udp", "icmp", "igmp", "igrp", "icmp6", "ah", "esp", "pim", "vrrp", "aarp",
    "esis", "stp", "ipx", "netbeui", "l1", "l2", "iih", "snp", "csnp", "psnp", "lsp", "radio",
    "carp"})
_PROTO_NO_ENCAP = {"arp": "arp", "rarp": "rarp", "lat": "LAT", "sca": "SCA",
                   "moprc": "MOPRC", "mopdl": "MOPDL"}


def _gen_proto(v: int, proto: str, direction: str) -> _Test:
    if direction != "default":
        raise _fail("direction applied to 'proto'")
    if proto == "default":
        return _or(_ip_proto(v), _ip6_proto(v))
    if proto == "link":
        return _linktype(v)
    if proto == "ip":
        return _ip_proto(v)
    if proto == "ip6":
        return _ip6_proto(v)
    if proto in _PROTO_NO_ENCAP:
        raise _fail(f"{_PROTO_NO_ENCAP[proto]} does not encapsulate another protocol")
    if proto in _PROTO_BOGUS:
        raise _fail(f"'{proto} proto' is bogus")
    if proto == "atalk":
        raise _fail("AppleTalk encapsulation is not specifiable")
    if proto == "decnet":
        raise _fail("DECNET encapsulation is not specifiable")
    if proto == "clnp":
        raise _fail("'clnp proto' is not supported")
    raise _unsupported(f"'{proto} proto'")


_ABBREV_IP = {"sctp": (132, "default"), "tcp": (6, "default"), "udp": (17, "default"),
              "icmp": (1, "ip"), "igmp": (2, "ip"), "igrp": (9, "ip"),
              "pim": (103, "default"), "vrrp": (112, "ip"), "carp": (112, "ip"),
              "icmp6": (58, "ip6"), "ah": (51, "default"), "esp": (50, "default")}


def _proto_abbrev(proto: str) -> _Test:
    """gen_proto_abbrev: a bare protocol name such as "tcp" or "arp"."""
    if proto in _ABBREV_IP:
        v, via = _ABBREV_IP[proto]
        return _gen_proto(v, via, "default")
    if proto in _ETHERTYPES:
        return _linktype(_ETHERTYPES[proto])
    if proto in _SAPS:
        return _linktype(_SAPS[proto])
    if proto == "link":
        raise _fail("link layer applied in wrong context")
    if proto == "radio":
        raise _fail("'radio' is not a valid protocol type")
    raise _unsupported(f"'{proto}'")


_DIR_NAMES = {"addr1": "'addr1' and 'address1' are", "addr2": "'addr2' and 'address2' are",
              "addr3": "'addr3' and 'address3' are", "addr4": "'addr4' and 'address4' are",
              "ra": "'ra' is", "ta": "'ta' is"}


def _by_dir(direction: str, src: _Test, dst: _Test, what: str) -> _Test:
    """Combine the source and destination tests as the direction qualifier says."""
    if direction == "src":
        return src
    if direction == "dst":
        return dst
    if direction == "and":
        return _and(src, dst)
    if direction in ("or", "default"):
        return _or(src, dst)
    if what == "ether":
        raise _fail(f"{_DIR_NAMES[direction]} only supported on 802.11 with 802.11 headers")
    noun = "not valid qualifiers" if direction.startswith("addr") else "not a valid qualifier"
    raise _fail(f"{_DIR_NAMES[direction]} {noun} for {what}")


# -- hosts, networks and ports ----------------------------------------------

_HOST_NOT_IMPLEMENTED = {"atalk": "AppleTalk", "lat": "LAT", "sca": "SCA", "moprc": "MOPRC",
                         "mopdl": "MOPDL", "aarp": "AARP", "iso": "ISO", "ipx": "IPX"}
_V4_HOST_OFFSETS = {"ip": (_ETHERTYPE_IP, 26, 30), "arp": (0x0806, 28, 38),
                    "rarp": (0x8035, 28, 38)}
_OTHER_ADDR_TEXT = "addresses other than 802.11 MAC addresses"


def _gen_host(addr: int, mask: int, proto: str, direction: str, kind: str) -> _Test:
    """gen_host: an IPv4 address (under a mask) in IP, ARP or RARP headers."""
    if proto == "default":
        ip = _gen_host(addr, mask, "ip", direction, kind)
        arp = _gen_host(addr, mask, "arp", direction, kind)
        return _or(_or(ip, arp), _gen_host(addr, mask, "rarp", direction, kind))
    if proto in _V4_HOST_OFFSETS:
        etype, src_off, dst_off = _V4_HOST_OFFSETS[proto]
        src, dst = _cmp(src_off, 4, addr, mask), _cmp(dst_off, 4, addr, mask)
        return _and(_linktype(etype), _by_dir(direction, src, dst, _OTHER_ADDR_TEXT))
    typestr = "net" if kind == "net" else "host"
    if proto == "link":
        raise _fail(f"link-layer modifier applied to {typestr}")
    if proto == "ip6":
        raise _fail("'ip6' modifier applied to ip host")
    if proto in _HOST_NOT_IMPLEMENTED:
        raise _fail(f"{_HOST_NOT_IMPLEMENTED[proto]} host filtering not implemented")
    if proto == "decnet":
        raise _unsupported("'decnet host'")
    raise _fail(f"'{proto}' modifier applied to {typestr}")


def _gen_host6(addr: bytes, mask: bytes, proto: str, direction: str, kind: str) -> _Test:
    """gen_host6: an IPv6 address under a mask, compared a word at a time."""
    if proto in ("default", "ip6"):
        words = [(int.from_bytes(addr[i:i + 4], "big"), int.from_bytes(mask[i:i + 4], "big"))
                 for i in range(0, 16, 4)]

        def at(base: int) -> _Test:
            return reduce(_and, [_cmp(base + 4 * i, 4, a, m) for i, (a, m) in enumerate(words)])

        return _and(_linktype(_ETHERTYPE_IPV6),
                    _by_dir(direction, at(22), at(38), _OTHER_ADDR_TEXT))
    typestr = "net" if kind == "net" else "host"
    if proto == "link":
        raise _fail(f"link-layer modifier applied to ip6 {typestr}")
    if proto == "atalk":
        raise _fail(f"AppleTalk modifier applied to ip6 {typestr}")
    raise _fail(f"'{proto}' modifier applied to ip6 {typestr}")


def _port_atom(base: int, off: int, lo: int, hi: int) -> _Test:
    """The port field at off in the transport header; base 0 means IPv4's variable one."""
    if base:
        if lo == hi:
            return _cmp(base + off, 2, lo)
        return _and(_order("ge", base + off, 2, lo), _not(_order("gt", base + off, 2, hi)))

    def port(b: bytes) -> int:
        return _load(2, b, 14 + (_load8(b, 14) & 0x0F) * 4 + off)

    field = ("x", off, 2, _M32)
    if lo == hi:
        return _Test(lambda b: port(b) == lo, ("eq", field, lo))
    return _Test(lambda b: lo <= port(b) <= hi,
                 ("and", ("op", "ge", field, lo), ("not", ("op", "gt", field, hi))))


def _gen_ports(lo: int, hi: int, ip_proto: int | None, direction: str,
               what: str) -> _Test:
    """gen_port/gen_portrange and their IPv6 twins (ip_proto None: tcp, udp or sctp)."""
    protos = (6, 17, 132) if ip_proto is None else (ip_proto,)
    ports4 = _by_dir(direction, _port_atom(0, 0, lo, hi), _port_atom(0, 2, lo, hi), what)
    ports6 = _by_dir(direction, _port_atom(54, 0, lo, hi), _port_atom(54, 2, lo, hi), what)
    v4 = reduce(_or, [_and(_and(_cmp(23, 1, p), _IPFRAG), ports4) for p in protos])
    v6 = reduce(_or, [_and(_cmp(20, 1, p), ports6) for p in protos])
    return _or(_and(_linktype(_ETHERTYPE_IPV6), v6), _and(_linktype(_ETHERTYPE_IP), v4))


def _port_proto(proto: str, what: str) -> int | None:
    """The IP protocol a port qualifier restricts to (None: any of tcp/udp/sctp)."""
    if proto == "default":
        return None
    if proto not in ("tcp", "udp", "sctp"):
        raise _fail(f"illegal qualifier of '{what}'")
    return {"tcp": 6, "udp": 17, "sctp": 132}[proto]


def _ehost(mac: bytes, direction: str) -> _Test:
    """gen_ehostop: the source (offset 6) or destination (0) MAC address."""
    def at(off: int) -> _Test:
        def test(b: bytes) -> bool:
            if len(b) < off + 6:
                raise _Reject
            return b[off:off + 6] == mac

        # gen_bcmp compares the last four bytes as a word, then the first two.
        sym = ("and", ("eq", ("abs", off + 2, 4, _M32), int.from_bytes(mac[2:], "big")),
               ("eq", ("abs", off, 2, _M32), int.from_bytes(mac[:2], "big")))
        return _Test(test, sym)

    return _by_dir(direction, at(6), at(0), "ether")


def _gen_broadcast(proto: str, netmask: int) -> _Test:
    if proto in ("default", "link"):
        return _ehost(b"\xff" * 6, "dst")
    if proto == "ip":
        if netmask == _M32:
            raise _fail("netmask not known, so 'ip broadcast' not supported")
        hostmask = ~netmask & _M32
        all_zero, all_ones = _cmp(30, 4, 0, hostmask), _cmp(30, 4, hostmask, hostmask)
        return _and(_linktype(_ETHERTYPE_IP), _or(all_zero, all_ones))
    raise _fail("only link-layer/IP broadcast filters supported")


def _gen_multicast(proto: str) -> _Test:
    if proto in ("default", "link"):
        return _jset(0, 1, 1)
    if proto == "ip":
        return _and(_linktype(_ETHERTYPE_IP), _order("ge", 30, 1, 224))
    if proto == "ip6":
        return _and(_linktype(_ETHERTYPE_IPV6), _cmp(38, 1, 255))
    raise _fail("link-layer multicast filters supported only on ethernet/FDDI/token ring/"
                "ARCNET/802.11/ATM LANE/Fibre Channel")


# -- arithmetic: proto[off:size], len, + - * / % & | ^ << >> ----------------


@dataclass(frozen=True)
class _Arith:
    """A 32-bit value, its symbolic form, the checks guarding its loads, its literal."""

    value: _Value
    sym: object
    guard: _Test | None = None
    const: int | None = None


def _guarded(first: _Test | None, then: _Test | None) -> _Test | None:
    if first is None or then is None:
        return first or then
    return _and(first, then)


def _then(first: _Test | None, then: _Test) -> _Test:
    return then if first is None else _and(first, then)


_TRANSPORT = ("sctp", "tcp", "udp", "icmp", "igmp", "igrp", "pim", "vrrp", "carp")
_NETWORK = ("ip", "arp", "rarp", "ip6", "decnet", "sca", "lat", "moprc", "mopdl")


def _load_sym(base: str, index: _Arith, size: int, offset: int) -> object:
    """A constant-index load names the same field a header test does."""
    if index.const is not None:
        return (base, (index.const + offset) & _M32, size, _M32)
    return ("load", base, offset, index.sym, size)


def _gen_load(proto: str, index: _Arith, size: int) -> _Arith:
    """gen_load: proto[index:size], relative to the header the protocol names."""
    if size not in (1, 2, 4):
        raise _fail("data size must be 1, 2, or 4")
    idx = index.value
    if proto == "link":
        return _Arith(lambda b: _load(size, b, idx(b)), _load_sym("abs", index, size, 0),
                      index.guard)
    if proto in _NETWORK:
        guard = _then(index.guard, _proto_abbrev(proto))
        return _Arith(lambda b: _load(size, b, (idx(b) + 14) & _M32),
                      _load_sym("abs", index, size, 14), guard)
    if proto in _TRANSPORT:
        checks = _then(index.guard, _and(_proto_abbrev(proto), _IPFRAG))
        guard = _and(_linktype(_ETHERTYPE_IP), checks)

        def transport(b: bytes) -> int:
            return _load(size, b, ((_load8(b, 14) & 0x0F) * 4 + idx(b) + 14) & _M32)

        return _Arith(transport, _load_sym("x", index, size, 0), guard)
    if proto == "icmp6":
        guard = _and(_then(index.guard, _linktype(_ETHERTYPE_IPV6)), _cmp(20, 1, 58))
        return _Arith(lambda b: _load(size, b, (idx(b) + 54) & _M32),
                      _load_sym("abs", index, size, 54), guard)
    if proto == "radio":
        raise _fail("radio information not present in capture")
    if proto == "atalk":
        raise _unsupported("'atalk[...]'")
    raise _fail("unsupported index operation")


def _shift(left: bool) -> Callable[[int, int], int]:
    if left:
        return lambda x, y: (x << y) & _M32 if y < 32 else 0
    return lambda x, y: x >> y if y < 32 else 0


_ARITH_OPS: dict[str, Callable[[int, int], int]] = {
    "+": lambda x, y: (x + y) & _M32, "-": lambda x, y: (x - y) & _M32,
    "*": lambda x, y: (x * y) & _M32, "/": lambda x, y: x // y, "%": lambda x, y: x % y,
    "&": lambda x, y: x & y, "|": lambda x, y: x | y, "^": lambda x, y: x ^ y,
    "LSH": _shift(True), "RSH": _shift(False),
}


def _gen_arith(op: str, a0: _Arith, a1: _Arith) -> _Arith:
    """gen_arth; like libpcap it keeps only the left operand's protocol checks."""
    if a1.const is not None:
        if op == "/" and a1.const == 0:
            raise _fail("division by zero")
        if op == "%" and a1.const == 0:
            raise _fail("modulus by zero")
        if op in ("LSH", "RSH") and a1.const > 31:
            raise _fail("shift by more than 31 bits")
    fn, v0, v1 = _ARITH_OPS[op], a0.value, a1.value

    def value(b: bytes) -> int:
        try:
            return fn(v0(b), v1(b))
        except ZeroDivisionError:
            raise _Reject from None

    sym: object = (op, a0.sym, a1.sym)
    field = a0.sym
    if op == "&" and a1.const is not None and isinstance(field, tuple) and \
            field[0] in ("abs", "x") and field[3] == _M32:
        sym = (field[0], field[1], field[2], a1.const)  # "ip[0] & 0xf" is a masked field
    return _Arith(value, sym, a0.guard)


def _gen_neg(a: _Arith) -> _Arith:
    inner = a.value
    return _Arith(lambda b: -inner(b) & _M32, ("neg", a.sym), a.guard)


_RELOPS: dict[str, Callable[[int, int], bool]] = {
    ">": lambda x, y: x > y, "GEQ": lambda x, y: x >= y, "=": lambda x, y: x == y,
    "LEQ": lambda x, y: x <= y, "<": lambda x, y: x < y, "NEQ": lambda x, y: x != y,
}
# relop -> (test libpcap emits, negated?): "<=" is "not >", "<" is "not >=" ...
_RELOP_TESTS = {">": ("gt", False), "GEQ": ("ge", False), "=": ("eq", False),
                "LEQ": ("gt", True), "<": ("ge", True), "NEQ": ("eq", True)}


def _relation_sym(op: str, a0: _Arith, a1: _Arith) -> _Sym:
    if a0.const is not None and a1.const is not None:
        return ("const", _RELOPS[op](a0.const, a1.const))
    name, negated = _RELOP_TESTS[op]
    if a1.const is not None:
        test: _Sym = ("eq", a0.sym, a1.const) if name == "eq" else \
            ("op", name, a0.sym, a1.const)
    elif a0.const is not None and name == "eq":
        test = ("eq", a1.sym, a0.const)
    else:
        test = ("op", name, a0.sym, a1.sym)
    return ("not", test) if negated else test


def _gen_relation(op: str, a0: _Arith, a1: _Arith) -> _Test:
    """gen_relation: both sides' protocol checks first, then the comparison."""
    test, v0, v1 = _RELOPS[op], a0.value, a1.value
    compare = _Test(lambda b: test(v0(b), v1(b)), _relation_sym(op, a0, a1))
    return _then(_guarded(a0.guard, a1.guard), compare)


def _gen_byteop(op: str, idx: int, val: int) -> _Test:
    """byte IDX OP VAL, relative to the link header."""
    if op in ("&", "|"):
        # libpcap emits these without loading the byte (they test the accumulator).
        raise _unsupported(f"'byte {op}'")
    if op == "=":
        return _cmp(idx, 1, val)
    return _order("gt", idx, 1, val) if op == ">" else _not(_order("ge", idx, 1, val))


# -- primitives from an address token and its qualifiers --------------------


def _atoin(text: str) -> tuple[int, int] | None:
    """__pcap_atoin: "10.1" -> (0x0a01, 16); None when a part exceeds 255."""
    addr = bits = i = 0
    while True:
        n = 0
        while i < len(text) and text[i] != ".":
            if n > 25:
                return None
            n = n * 10 + ord(text[i]) - 48
            i += 1
        if n > 255:
            return None
        addr, bits = (addr << 8 | n) & _M32, bits + 8
        if i == len(text):
            return addr, bits
        i += 1


def _ipv4(text: str) -> tuple[int, int]:
    parsed = _atoin(text)
    if parsed is None:
        raise _fail(f"invalid IPv4 address '{text}'")
    return parsed


def _gen_ncode(text: str | None, v: int, q: _Qual) -> _Test:
    """gen_ncode: a number or dotted address under the current qualifiers."""
    proto, direction, addr = q
    vlen = 32
    if text is not None:
        v, vlen = _ipv4(text)
    if addr in ("default", "host", "net"):
        if proto == "decnet":
            raise _unsupported("'decnet host'")
        if proto == "link":
            raise _fail("illegal link layer address")
        mask = _M32
        if text is None and addr == "net":
            while v and not v & 0xFF000000:  # "net 10" is 10.0.0.0/8
                v, mask = v << 8 & _M32, mask << 8 & _M32
        else:
            v, mask = v << (32 - vlen) & _M32, mask << (32 - vlen) & _M32
        return _gen_host(v, mask, proto, direction, addr)
    if addr in ("port", "portrange"):
        ip_proto = _port_proto(proto, addr)
        if v > 65535:
            raise _fail(f"illegal port number {v} > 65535")
        return _gen_ports(v, v, ip_proto, direction,
                          "ports" if addr == "port" else "port ranges")
    if addr == "gateway":
        raise _fail("'gateway' requires a name")
    if addr == "proto":
        return _gen_proto(v, proto, direction)
    if addr == "protochain":
        return _gen_protochain(proto)
    raise _fail("syntax error in filter expression")


def _gen_protochain(proto: str) -> _Test:
    if proto not in ("ip", "ip6", "default"):
        raise _fail("bad protocol applied for 'protochain'")
    raise _unsupported("'protochain'")


def _gen_mcode(text: str, mask_text: str | None, masklen: int, q: _Qual) -> _Test:
    """gen_mcode: "net A/len" or "net A mask M"."""
    n, nlen = _ipv4(text)
    n = n << (32 - nlen) & _M32
    if mask_text is not None:
        m, mlen = _ipv4(mask_text)
        m = m << (32 - mlen) & _M32
        if n & ~m:
            raise _fail(f'non-network bits set in "{text} mask {mask_text}"')
    else:
        if masklen > 32:
            raise _fail("mask length must be <= 32")
        m = _M32 << (32 - masklen) & _M32 if masklen else 0
        if n & ~m:
            raise _fail(f'non-network bits set in "{text}/{masklen}"')
    if q[2] != "net":
        raise _fail("Mask syntax for networks only")
    return _gen_host(n, m, q[0], q[1], "net")


def _gen_mcode6(text: str, masklen: int, q: _Qual) -> _Test:
    """gen_mcode6: an IPv6 address, with a prefix length for networks."""
    addr = socket.inet_pton(socket.AF_INET6, text)
    if masklen > 128:
        raise _fail("mask length must be <= 128")
    mask = ((1 << 128) - (1 << (128 - masklen))).to_bytes(16, "big")
    if any(a & ~m & 0xFF for a, m in zip(addr, mask, strict=True)):
        raise _fail(f'non-network bits set in "{text}/{masklen}"')
    if q[2] in ("default", "host"):
        if masklen != 128:
            raise _fail("Mask syntax for networks only")
    elif q[2] != "net":
        raise _fail("invalid qualifier against IPv6 address")
    return _gen_host6(addr, mask, q[0], q[1], q[2])


def _ether_aton(text: str) -> bytes:
    """pcap_ether_aton: hex pairs, separators ':', '.' or '-' skipped."""
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] in ":.-":
            i += 1
        d = int(text[i], 16)
        i += 1
        if i < len(text) and text[i] in "0123456789abcdefABCDEF":
            d, i = d << 4 | int(text[i], 16), i + 1
        out.append(d)
    return bytes(out)


def _gen_ecode(text: str, q: _Qual) -> _Test:
    if q[2] in ("host", "default") and q[0] == "link":
        return _ehost(_ether_aton(text), q[1])
    raise _fail("ethernet address used in non-ether expression")


_ETHER_PROTO_NAMES = {"aarp": 0x80F3, "arp": 0x0806, "atalk": 0x809B, "decnet": 0x6003,
                      "ip": 0x0800, "ip6": 0x86DD, "lat": 0x6004, "loopback": 0x9000,
                      "mopdl": 0x6001, "moprc": 0x6002, "rarp": 0x8035, "sca": 0x6007,
                      "iso": 0xFE, "stp": 0x42, "ipx": 0xE0, "netbeui": 0xF0}
_IP_PORT_PROTO = {6: "tcp", 17: "udp", 132: "sctp"}


def _service(name: str, proto: str) -> int | None:
    try:
        return socket.getservbyname(name, proto)
    except OSError:
        return None


def _nametoport(name: str) -> tuple[int, int | None] | None:
    """pcap_nametoport: (port, IP protocol or None when tcp and udp agree)."""
    tcp, udp = _service(name, "tcp"), _service(name, "udp")
    if tcp is not None:
        return tcp, (None if udp == tcp else 6)
    if udp is not None:
        return udp, 17
    return None


def _nametoportrange(name: str) -> tuple[int, int, int | None] | None:
    """pcap_nametoportrange: "100-200" or "name-name"."""
    m = re.match(r"\s*([+-]?\d+)-\s*([+-]?\d+)", name)
    if m:
        return int(m.group(1)), int(m.group(2)), None
    if "-" not in name:
        return None
    first, second = name.split("-", 1)
    p1, p2 = _nametoport(first), _nametoport(second)
    if p1 is None or p2 is None:
        return None
    return p1[0], p2[0], (p2[1] if p1[1] == p2[1] else None)


def _check_port_proto(proto: str, real: int | None, what: str) -> int | None:
    """A named port under tcp/udp/sctp must be a port of that protocol."""
    if proto not in ("tcp", "udp", "sctp"):
        return real
    if real is not None and _IP_PORT_PROTO[real] != proto:
        raise _fail(f"{what} is {_IP_PORT_PROTO[real]}")
    return {"tcp": 6, "udp": 17, "sctp": 132}[proto]


def _check_port_number(port: int) -> None:
    if port < 0:
        raise _fail(f"illegal port number {port} < 0")
    if port > 65535:
        raise _fail(f"illegal port number {port} > 65535")


def _lookup_proto(name: str, proto: str) -> int | None:
    if proto in ("default", "ip", "ip6"):
        try:
            return socket.getprotobyname(name)
        except OSError:
            raise _fail(f"unknown ip proto '{name}'") from None
    if proto == "link":
        if name not in _ETHER_PROTO_NAMES:
            raise _fail(f"unknown ether proto '{name}'")
        return _ETHER_PROTO_NAMES[name]
    if proto == "iso":
        if name not in ("esis", "isis", "clnp"):
            raise _fail(f"unknown osi proto '{name}'")
        raise _unsupported("'iso proto'")
    return None


def _gen_scode(name: str, q: _Qual) -> _Test:
    """gen_scode: a name under the current qualifiers (hosts are never resolved)."""
    proto, direction, addr = q
    if addr == "net":
        raise _fail(f"unknown network '{name}'")
    if addr in ("default", "host"):
        if proto == "link":
            raise _fail(f"unknown ether host '{name}'")
        if proto == "decnet":
            raise _unsupported("'decnet host'")
        raise _fail(f"unknown host '{name}'")
    if addr == "port":
        ip_proto = _port_proto(proto, "port")
        found = _nametoport(name)
        if found is None:
            raise _fail(f"unknown port '{name}'")
        ip_proto = _check_port_proto(proto, found[1], f"port '{name}'")
        _check_port_number(found[0])
        return _gen_ports(found[0], found[0], ip_proto, direction, "ports")
    if addr == "portrange":
        _port_proto(proto, "portrange")
        span = _nametoportrange(name)
        if span is None:
            raise _fail(f"unknown port in range '{name}'")
        ip_proto = _check_port_proto(proto, span[2], f"port in range '{name}'")
        _check_port_number(span[0])
        _check_port_number(span[1])
        lo, hi = sorted(span[:2])
        return _gen_ports(lo, hi, ip_proto, direction, "port ranges")
    if addr == "gateway":
        raise _fail("'gateway' not supported in this configuration")
    if addr in ("proto", "protochain"):
        v = _lookup_proto(name, proto)
        if v is None:
            raise _fail(f"unknown protocol: {name}")
        return _gen_proto(v, proto, direction) if addr == "proto" else _gen_protochain(proto)
    raise _fail("syntax error in filter expression")


# -- parser (grammar.y) -------------------------------------------------------

_PNAMES = frozenset({
    "link", "ip", "arp", "rarp", "sctp", "tcp", "udp", "icmp", "igmp", "igrp", "pim", "vrrp",
    "carp", "atalk", "aarp", "decnet", "lat", "sca", "mopdl", "moprc", "ip6", "icmp6", "ah",
    "esp", "iso", "esis", "isis", "l1", "l2", "iih", "lsp", "snp", "psnp", "csnp", "clnp",
    "stp", "ipx", "netbeui", "radio"})
_DQUALS = frozenset({"SRC", "DST", "ADDR1", "ADDR2", "ADDR3", "ADDR4", "RA", "TA"})
_AQUALS = frozenset({"HOST", "NET", "PORT", "PORTRANGE"})
_HEAD_START = _DQUALS | _AQUALS | {"PROTO", "PROTOCHAIN", "GATEWAY"}
_ID_TOKENS = frozenset({"ID", "HID", "HID6", "EID", "AID"})
_ARITH_LEVELS = {"|": 1, "&": 2, "LSH": 3, "RSH": 3, "+": 4, "-": 4, "*": 5, "/": 5}
_ARITH_FOLLOW = frozenset({*_ARITH_LEVELS, "%", "^", *_RELOPS})


def _syntax() -> FilterError:
    return _fail("can't parse filter expression: syntax error")


class _Parser:
    """Recursive descent over libpcap's LALR grammar, qualifier passing included."""

    def __init__(self, toks: list[_Tok], netmask: int) -> None:
        self.toks = toks
        self.i = 0
        self.netmask = netmask

    def peek(self) -> _Tok:
        tok = self.toks[self.i]
        if tok.kind == "ERROR":  # the scanner's error surfaces when the parser reads it
            raise _fail(tok.text)
        return tok

    def kind(self, offset: int = 0) -> str:
        return self.toks[min(self.i + offset, len(self.toks) - 1)].kind

    def take(self, kind: str | None = None) -> _Tok:
        tok = self.peek()
        if kind is not None and tok.kind != kind:
            raise _syntax()
        self.i += 1
        return tok

    def program(self) -> _Test:
        if self.peek().kind == "EOF":
            return _const(True)
        pred, _ = self.expr(_QERR)
        self.take("EOF")
        return pred

    def expr(self, q: _Qual) -> tuple[_Test, _Qual]:
        """expr: term {and|or (term|id)}; a bare id reuses the last qualifiers."""
        pred, q = self.term(q)
        while self.peek().kind in ("AND", "OR"):
            op = self.take().kind
            if self.starts_id():
                rhs = self.id(q)
            else:
                rhs, q = self.term(q)
            pred = _and(pred, rhs) if op == "AND" else _or(pred, rhs)
        return pred, q

    def starts_id(self) -> bool:
        """Does an id (address, number, name) come next rather than a term?"""
        j = 0
        while self.kind(j) in ("!", "("):
            j += 1
        if self.kind(j) in _ID_TOKENS:
            return True
        if self.kind(j) != "NUM":
            return False
        j += 1
        while self.kind(j) == ")":
            j += 1
        return self.kind(j) not in _ARITH_FOLLOW

    def paren_is_arith(self) -> bool:
        """At '(': is this a parenthesised arithmetic operand rather than an expr?"""
        depth, j = 0, 0
        while self.kind(j) != "EOF":
            depth += {"(": 1, ")": -1}.get(self.kind(j), 0)
            j += 1
            if depth == 0:
                return self.kind(j) in _ARITH_FOLLOW
        return False

    def term(self, q: _Qual) -> tuple[_Test, _Qual]:
        kind = self.peek().kind
        if kind == "!":
            self.take()
            pred, q = self.term(q)
            return _not(pred), q
        if kind == "(" and not self.paren_is_arith():
            self.take()
            pred, _ = self.expr(q)
            self.take(")")
            return pred, q  # a parenthesised expr passes on the qualifiers before it
        if (kind in _PNAMES and self.kind(1) in _HEAD_START) or kind in _HEAD_START:
            head = self.head()
            return self.id(head), head
        return self.other(), _QERR

    def other(self) -> _Test:
        """Terms that leave no qualifiers behind: protocols, relations, less ..."""
        tok = self.peek()
        nxt = self.kind(1)
        if tok.kind in ("(", "NUM", "-", "LEN") or (tok.kind in _PNAMES and nxt == "["):
            return self.relation()
        if tok.kind in _PNAMES and nxt in ("BROADCAST", "MULTICAST"):
            self.take()
            return self.cast(tok.kind)
        if tok.kind in _PNAMES:
            self.take()
            if self.kind() not in ("AND", "OR", ")", "EOF"):
                raise _syntax()  # bison needs a valid lookahead before reducing a name
            return _proto_abbrev(tok.kind)
        if tok.kind in ("BROADCAST", "MULTICAST"):
            return self.cast("default")
        if tok.kind in ("LESS", "GREATER"):
            self.take()
            n = self.take("NUM").value
            if tok.kind == "LESS":
                return _not(_Test(lambda b: len(b) > n, ("op", "gt", ("len",), n)))
            return _Test(lambda b: len(b) >= n, ("op", "ge", ("len",), n))
        if tok.kind == "CBYTE":
            self.take()
            idx = self.take("NUM").value
            op = self.take().kind
            if op not in ("&", "|", "<", ">", "="):
                raise _syntax()
            return _gen_byteop(op, idx, self.take("NUM").value)
        if tok.kind == "UNSUP" and tok.text in ("inbound", "outbound"):
            raise _fail("inbound/outbound not supported on Ethernet when reading savefiles")
        if tok.kind == "UNSUP":
            raise _unsupported(f"'{tok.text}'")
        raise _syntax()

    def cast(self, proto: str) -> _Test:
        kind = self.take().kind
        if kind == "BROADCAST":
            return _gen_broadcast(proto, self.netmask)
        return _gen_multicast(proto)

    def head(self) -> _Qual:
        """[proto] [src|dst|src or dst|...] [host|net|port|portrange], or proto/gateway."""
        proto = self.take().kind if self.peek().kind in _PNAMES else "default"
        kind = self.peek().kind
        if kind in ("PROTO", "PROTOCHAIN", "GATEWAY"):
            self.take()
            return proto, "default", kind.lower()
        direction = "default"
        if kind in ("SRC", "DST"):
            self.take()
            direction = kind.lower()
            if self.peek().kind in ("AND", "OR"):
                conj = self.take().kind
                self.take("DST" if kind == "SRC" else "SRC")
                direction = conj.lower()
        elif kind in _DQUALS:
            self.take()
            direction = kind.lower()
        addr = "default"
        if self.peek().kind in _AQUALS:
            addr = self.take().kind.lower()
        return proto, direction, addr

    def id(self, q: _Qual) -> _Test:
        tok = self.take()
        if tok.kind == "!":
            return _not(self.id(q))
        if tok.kind == "(":
            if self.kind() == "NUM" and self.kind(1) not in ("AND", "OR", ")"):
                raise _syntax()  # "(5000" could still be arithmetic: no reduction yet
            pred = self.id(q)
            while self.peek().kind in ("AND", "OR"):
                op = self.take().kind
                rhs = self.id(q)
                pred = _and(pred, rhs) if op == "AND" else _or(pred, rhs)
            self.take(")")
            return pred
        if tok.kind == "NUM":
            return _gen_ncode(None, tok.value, q)
        if tok.kind == "ID":
            return _gen_scode(tok.text, q)
        if tok.kind == "HID":
            return self.hid(tok.text, q)
        if tok.kind == "HID6":
            masklen = 128
            if self.peek().kind == "/":
                self.take()
                masklen = self.take("NUM").value
            return _gen_mcode6(tok.text, masklen, q)
        if tok.kind == "EID":
            return _gen_ecode(tok.text, q)
        if tok.kind == "AID":
            raise _fail("aid supported only on ARCnet")
        raise _syntax()

    def hid(self, text: str, q: _Qual) -> _Test:
        """A dotted address, maybe "/len" or "mask M"."""
        if self.peek().kind == "/":
            self.take()
            return _gen_mcode(text, None, self.take("NUM").value, q)
        if self.peek().kind == "NETMASK":
            self.take()
            return _gen_mcode(text, self.take("HID").text, 0, q)
        if q[2] in ("port", "portrange", "proto", "protochain"):
            raise _fail(f"'{q[2]}' modifier applied to ip host")
        return _gen_ncode(text, 0, q)

    def relation(self) -> _Test:
        left = self.arith()
        op = self.take().kind
        if op not in _RELOPS:
            raise _syntax()
        return _gen_relation(op, left, self.arith())

    def arith(self, level: int = 1) -> _Arith:
        """Binary operators by grammar.y's precedence."""
        left = self.unary()
        while _ARITH_LEVELS.get(self.peek().kind, 0) >= level:
            op = self.take().kind
            left = _gen_arith(op, left, self.arith(_ARITH_LEVELS[op] + 1))
        return left

    def unary(self) -> _Arith:
        if self.peek().kind == "-":
            self.take()
            return _gen_neg(self.unary())
        operand = self.operand()
        if self.peek().kind in ("%", "^"):
            # '%' and '^' have no precedence in grammar.y: bison always shifts them,
            # so they take the nearest operand on the left and everything on the right.
            op = self.take().kind
            operand = _gen_arith(op, operand, self.arith())
        return operand

    def operand(self) -> _Arith:
        tok = self.take()
        if tok.kind == "NUM":
            value = tok.value
            return _Arith(lambda b: value, ("k", value), None, value)
        if tok.kind == "LEN":
            return _Arith(len, ("len",))
        if tok.kind == "(":
            inner = self.arith()
            self.take(")")
            return inner
        if tok.kind in _PNAMES and self.peek().kind == "[":
            self.take()
            index = self.arith()
            size = 1
            if self.peek().kind == ":":
                self.take()
                size = self.take("NUM").value
            self.take("]")
            return _gen_load(tok.kind, index, size)
        raise _syntax()


# -- "expression rejects all packets" ---------------------------------------
# libpcap's optimizer threads jumps through tests it already knows the outcome
# of, so a filter no packet can pass compiles to "ret #0", which pcap_compile
# refuses.  It reasons about equality tests of the same field and about
# repeated identical tests, not about ranges; so does this search for one
# consistent path through the test tree.

_SEARCH_BUDGET = 100_000


class _Facts:
    """What a path has established: field values, excluded values, test outcomes."""

    def __init__(self) -> None:
        self.equal: dict[object, object] = {}
        self.unequal: dict[object, frozenset[object]] = {}
        self.outcomes: dict[object, bool] = {}

    def copy(self) -> _Facts:
        new = _Facts()
        new.equal, new.unequal, new.outcomes = dict(self.equal), dict(self.unequal), \
            dict(self.outcomes)
        return new

    def add(self, sym: _Sym, holds: bool) -> _Facts | None:
        """These facts plus one test outcome, or None on a contradiction."""
        new = self.copy()
        if sym[0] == "eq":
            field, value = sym[1], sym[2]
            known = self.equal.get(field)
            if holds:
                if (known is not None and known != value) or \
                        value in self.unequal.get(field, frozenset()):
                    return None
                new.equal[field] = value
            else:
                if known == value:
                    return None
                new.unequal[field] = self.unequal.get(field, frozenset()) | {value}
            return new
        if self.outcomes.get(sym, holds) != holds:
            return None
        new.outcomes[sym] = holds
        return new


def _satisfiable(sym: _Sym) -> bool:
    budget = [_SEARCH_BUDGET]

    def search(goals: tuple[tuple[_Sym, bool], ...], facts: _Facts) -> bool:
        budget[0] -= 1
        if not goals or budget[0] < 0:
            return True  # a consistent path, or too big to tell: assume one exists
        (node, holds), rest = goals[0], goals[1:]
        kind = node[0]
        if kind == "const":
            return node[1] == holds and search(rest, facts)
        if kind == "not":
            return search(((cast(_Sym, node[1]), not holds), *rest), facts)
        if kind in ("and", "or"):
            a, c = cast(_Sym, node[1]), cast(_Sym, node[2])
            if (kind == "and") == holds:  # both must come out as "holds"
                return search(((a, holds), (c, holds), *rest), facts)
            return (search(((a, holds), *rest), facts)
                    or search(((a, not holds), (c, holds), *rest), facts))
        extended = facts.add(node, holds)
        return extended is not None and search(rest, extended)

    return search(((sym, True),), _Facts())


def compile_filter(expression: str, netmask: int = 0) -> Predicate:
    """A predicate over Ethernet frames selecting what ``tcpdump EXPRESSION`` selects.

    ``netmask`` is the one tcpdump would use for "ip broadcast" (0 when reading a
    file).  Raises FilterError with tcpdump's stderr line for a bad expression.
    """
    test = _Parser(_lex(expression), netmask).program()
    if not _satisfiable(test.sym):
        raise _fail("expression rejects all packets")
    run = test.fn

    def matches(frame: bytes) -> bool:
        try:
            return bool(run(frame))
        except _Reject:
            return False

    return matches
