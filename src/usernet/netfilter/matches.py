"""The match extensions: tcp, udp, icmp, conntrack (and state), multiport,
comment, limit, mark, addrtype, iprange, length, ttl, owner.

Parsing, errors, ``save``/``print_`` follow the libxt_*.c of iptables 1.8.9
(the revision the kernel picks: conntrack 3, multiport 1, mark 1, addrtype 1,
iprange 1, owner 1); ``evaluate`` follows the kernel's xt_*.c match functions.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from ..sock import CtlSock, sk_to_full_sk
from . import names
from .ext import HOOK_IN, HOOK_OUT, HOOK_POST, HOOK_PRE, Match
from .packet import CT_INVALID, CT_UNTRACKED, PktView
from .xtables import (
    F_INVERT,
    F_MAND,
    T_HOSTMASK,
    T_MARKMASK32,
    T_NONE,
    T_OLD,
    T_PORTRC,
    T_PROTOCOL,
    T_STRING,
    T_UINT8,
    T_UINT16RC,
    T_UINT32,
    T_UINT32RC,
    Opt,
    OptCall,
    XtError,
    ip_to_str,
    ipaddr_to_anyname,
    ipmask_to_numeric,
    numeric_to_ipaddr,
    option_parse,
    param_error,
    parse_port,
    strtoul,
    strtoul_end,
)

if TYPE_CHECKING:
    from .rule import IpSpec

# ---------------------------------------------------------------------------------
# tcp and udp
# ---------------------------------------------------------------------------------

TCP_FLAG_NAMES = (("FIN", 0x01), ("SYN", 0x02), ("RST", 0x04), ("PSH", 0x08),
                  ("ACK", 0x10), ("URG", 0x20), ("ALL", 0x3F), ("NONE", 0))


def _port_name(port: int, proto: str | None, numeric: bool) -> str:
    name = None if numeric or proto is None else names.getservbyport(port, proto)
    return name if name is not None else str(port)


def _print_ports(label: str, lo: int, hi: int, inv: bool, numeric: bool, proto: str) -> str:
    if lo == 0 and hi == 0xFFFF and not inv:
        return ""
    bang = "!" if inv else ""
    if lo == hi:
        return f" {label}:{bang}{_port_name(lo, proto, numeric)}"
    return f" {label}s:{bang}{_port_name(lo, proto, numeric)}:{_port_name(hi, proto, numeric)}"


def _save_ports(opt: str, lo: int, hi: int, inv: bool) -> str:
    if lo == 0 and hi == 0xFFFF:
        return ""
    value = str(lo) if lo == hi else f"{lo}:{hi}"
    return f"{' !' if inv else ''} --{opt} {value}"


def _in_range(value: int, lo: int, hi: int, inv: bool) -> bool:
    return (lo <= value <= hi) != inv


def _tcp_flag_list(flags: int) -> str:
    out = []
    while flags:
        name, bit = next((n, b) for n, b in TCP_FLAG_NAMES if flags & b)
        out.append(name)
        flags &= ~bit
    return ",".join(out) if out else "NONE"


def _parse_tcp_flags(text: str) -> int:
    value = 0
    for part in (p for p in text.split(",") if p):
        for name, bit in TCP_FLAG_NAMES:
            if name.lower() == part.lower():
                value |= bit
                break
        else:
            raise param_error(f"Unknown TCP flag `{part}'")
    return value


def _parse_tcp_ports(text: str, proto: str) -> tuple[int, int]:
    if ":" not in text:
        port = parse_port(text, proto)
        return port, port
    lo_s, _, hi_s = text.partition(":")
    lo = parse_port(lo_s, proto) if lo_s else 0
    hi = parse_port(hi_s, proto) if hi_s else 0xFFFF
    if lo > hi:
        raise param_error("invalid portrange (min > max)")
    return lo, hi


class Tcp(Match):
    """``-m tcp`` (old-style options, parsed by the extension itself)."""

    NAME = "tcp"
    X6 = False
    OPTIONS = (Opt("source-port", 1, T_OLD, has_arg=1), Opt("sport", 1, T_OLD, has_arg=1),
               Opt("destination-port", 2, T_OLD, has_arg=1), Opt("dport", 2, T_OLD, has_arg=1),
               Opt("syn", 3, T_OLD, has_arg=0), Opt("tcp-flags", 4, T_OLD, has_arg=1),
               Opt("tcp-option", 5, T_OLD, has_arg=1))
    INV_SRCPT, INV_DSTPT, INV_FLAGS, INV_OPTION = 0x01, 0x02, 0x04, 0x08

    __slots__ = ("dpts", "flg_cmp", "flg_mask", "invflags", "option", "spts")

    def __init__(self) -> None:
        super().__init__()
        self.spts = (0, 0xFFFF)
        self.dpts = (0, 0xFFFF)
        self.option = 0
        self.flg_mask = 0
        self.flg_cmp = 0
        self.invflags = 0

    def parse(self, cb: OptCall) -> None:
        oid = cb.entry.id
        bit = {1: 0x01, 2: 0x02, 3: 0x04, 4: 0x04, 5: 0x08}[oid]
        if self.xflags & bit:
            raise param_error({1: "Only one `--source-port' allowed",
                               2: "Only one `--destination-port' allowed",
                               5: "Only one `--tcp-option' allowed"}.get(
                oid, "Only one of `--syn' or `--tcp-flags'  allowed"))
        arg = cb.arg or ""
        if oid == 1:
            self.spts = _parse_tcp_ports(arg, "tcp")
        elif oid == 2:
            self.dpts = _parse_tcp_ports(arg, "tcp")
        elif oid == 3:
            self.flg_mask, self.flg_cmp = 0x17, 0x02
        elif oid == 4:
            self._parse_flags_arg(cb)
        else:
            value = strtoul(arg, 1, 255)
            if value is None:
                raise param_error(f'Bad TCP option "{arg}"')
            self.option = value
        if cb.invert:
            self.invflags |= {1: 0x01, 2: 0x02, 3: 0x04, 4: 0x04, 5: 0x08}[oid]
        self.xflags |= bit

    def _parse_flags_arg(self, cb: OptCall) -> None:
        g = cb.getopt
        if g.optind >= len(g.argv) or g.argv[g.optind][:1] in ("-", "!"):
            raise param_error("--tcp-flags requires two args.")
        self.flg_mask = _parse_tcp_flags(cb.arg or "")
        self.flg_cmp = _parse_tcp_flags(g.argv[g.optind])
        g.optind += 1

    def save(self, ip: IpSpec) -> str:
        out = _save_ports("sport", *self.spts, bool(self.invflags & 1))
        out += _save_ports("dport", *self.dpts, bool(self.invflags & 2))
        if self.option or self.invflags & 8:
            out += f"{' !' if self.invflags & 8 else ''} --tcp-option {self.option}"
        if self.flg_mask or self.invflags & 4:
            out += (f"{' !' if self.invflags & 4 else ''} --tcp-flags "
                    f"{_tcp_flag_list(self.flg_mask)} {_tcp_flag_list(self.flg_cmp)}")
        return out

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        out = " tcp" + _print_ports("spt", *self.spts, bool(self.invflags & 1), numeric, "tcp")
        out += _print_ports("dpt", *self.dpts, bool(self.invflags & 2), numeric, "tcp")
        if self.option or self.invflags & 8:
            out += f" option={'!' if self.invflags & 8 else ''}{self.option}"
        if self.flg_mask or self.invflags & 4:
            bang = "!" if self.invflags & 4 else ""
            if numeric:
                out += f" flags:{bang}0x{self.flg_mask:02X}/0x{self.flg_cmp:02X}"
            else:
                out += (f" flags:{bang}{_tcp_flag_list(self.flg_mask)}/"
                        f"{_tcp_flag_list(self.flg_cmp)}")
        return out

    def check_entry(self, table: str, hookmask: int, ip: IpSpec) -> int:
        if ip.proto != 6 or ip.invflags & 0x40:
            return errno.EINVAL
        return 0

    def evaluate(self, pkt: PktView, ip: IpSpec) -> bool:
        if pkt.fragment:
            return False
        inv = self.invflags
        if not _in_range(pkt.sport, *self.spts, bool(inv & 1)):
            return False
        if not _in_range(pkt.dport, *self.dpts, bool(inv & 2)):
            return False
        if ((pkt.tcp_flags & self.flg_mask) == self.flg_cmp) == bool(inv & 4):
            return False
        if self.option:
            return (self.option in pkt.tcp_options) != bool(inv & 8)
        return True

    def is_all_zero(self) -> bool:
        return (self.spts, self.dpts, self.option, self.flg_mask, self.flg_cmp,
                self.invflags) == ((0, 0xFFFF), (0, 0xFFFF), 0, 0, 0, 0)


class Udp(Match):
    """``-m udp``."""

    NAME = "udp"
    OPTIONS = (Opt("source-port", 0, T_PORTRC, F_INVERT), Opt("sport", 0, T_PORTRC, F_INVERT),
               Opt("destination-port", 1, T_PORTRC, F_INVERT),
               Opt("dport", 1, T_PORTRC, F_INVERT))

    __slots__ = ("dpts", "invflags", "spts")

    def __init__(self) -> None:
        super().__init__()
        self.spts = (0, 0xFFFF)
        self.dpts = (0, 0xFFFF)
        self.invflags = 0

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        vals = cb.val
        rng = (vals[0], vals[1])
        if cb.entry.id == 0:
            self.spts = rng
        else:
            self.dpts = rng
        if cb.invert:
            self.invflags |= 1 << cb.entry.id

    def save(self, ip: IpSpec) -> str:
        return (_save_ports("sport", *self.spts, bool(self.invflags & 1))
                + _save_ports("dport", *self.dpts, bool(self.invflags & 2)))

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        return (" udp" + _print_ports("spt", *self.spts, bool(self.invflags & 1), numeric, "udp")
                + _print_ports("dpt", *self.dpts, bool(self.invflags & 2), numeric, "udp"))

    def check_entry(self, table: str, hookmask: int, ip: IpSpec) -> int:
        if ip.proto != 17 or ip.invflags & 0x40:
            return errno.EINVAL
        return 0

    def evaluate(self, pkt: PktView, ip: IpSpec) -> bool:
        if pkt.fragment:
            return False
        return (_in_range(pkt.sport, *self.spts, bool(self.invflags & 1))
                and _in_range(pkt.dport, *self.dpts, bool(self.invflags & 2)))

    def is_all_zero(self) -> bool:
        return (self.spts, self.dpts, self.invflags) == ((0, 0xFFFF), (0, 0xFFFF), 0)


# ---------------------------------------------------------------------------------
# icmp
# ---------------------------------------------------------------------------------

ICMP_CODES: tuple[tuple[str, int, int, int], ...] = (
    ("any", 0xFF, 0, 0xFF), ("echo-reply", 0, 0, 0xFF), ("pong", 0, 0, 0xFF),
    ("destination-unreachable", 3, 0, 0xFF), ("network-unreachable", 3, 0, 0),
    ("host-unreachable", 3, 1, 1), ("protocol-unreachable", 3, 2, 2),
    ("port-unreachable", 3, 3, 3), ("fragmentation-needed", 3, 4, 4),
    ("source-route-failed", 3, 5, 5), ("network-unknown", 3, 6, 6),
    ("host-unknown", 3, 7, 7), ("network-prohibited", 3, 9, 9),
    ("host-prohibited", 3, 10, 10), ("TOS-network-unreachable", 3, 11, 11),
    ("TOS-host-unreachable", 3, 12, 12), ("communication-prohibited", 3, 13, 13),
    ("host-precedence-violation", 3, 14, 14), ("precedence-cutoff", 3, 15, 15),
    ("source-quench", 4, 0, 0xFF), ("redirect", 5, 0, 0xFF),
    ("network-redirect", 5, 0, 0), ("host-redirect", 5, 1, 1),
    ("TOS-network-redirect", 5, 2, 2), ("TOS-host-redirect", 5, 3, 3),
    ("echo-request", 8, 0, 0xFF), ("ping", 8, 0, 0xFF),
    ("router-advertisement", 9, 0, 0xFF), ("router-solicitation", 10, 0, 0xFF),
    ("time-exceeded", 11, 0, 0xFF), ("ttl-exceeded", 11, 0, 0xFF),
    ("ttl-zero-during-transit", 11, 0, 0), ("ttl-zero-during-reassembly", 11, 1, 1),
    ("parameter-problem", 12, 0, 0xFF), ("ip-header-bad", 12, 0, 0),
    ("required-option-missing", 12, 1, 1), ("timestamp-request", 13, 0, 0xFF),
    ("timestamp-reply", 14, 0, 0xFF), ("address-mask-request", 17, 0, 0xFF),
    ("address-mask-reply", 18, 0, 0xFF),
)


def _icmp_range(text: str) -> tuple[int, int, int] | None:
    """``parse_range``: "n[:m]" -> (n, m, end index)."""
    from .xtables import strtoul_end
    res = strtoul_end(text, 0, 255)
    if res is None:
        return None
    lo, end = res
    hi = lo
    if text[end:end + 1] == ":":
        res2 = strtoul_end(text[end + 1:], 0, 255)
        if res2 is None:
            return None
        hi, end = res2[0], end + 1 + res2[1]
    return lo, hi, end


def parse_icmp(text: str) -> tuple[int, int, int]:
    """``ipt_parse_icmp``: (type, code_min, code_max)."""
    match = None
    for entry in ICMP_CODES:
        if entry[0].lower().startswith(text.lower()):
            if match is not None:
                raise param_error(f"Ambiguous ICMP type `{text}': `{match[0]}' or `{entry[0]}'?")
            match = entry
    if match is not None:
        return match[1], match[2], match[3]
    res = _icmp_range(text)
    if res is None:
        raise param_error(f"Unknown ICMP type `{text}'")
    tlo, thi, end = res
    codes = (0, 255)
    rest = text[end:]
    if rest.startswith("/"):
        res2 = _icmp_range(rest[1:])
        if res2 is None:
            raise param_error(f"Unknown ICMP code `{text}'")
        codes = (res2[0], res2[1])
        rest = rest[1 + res2[2]:]
    if rest:
        raise param_error(f"unknown character {rest[0]}")
    if tlo != thi:
        raise param_error("ICMP type range not supported")
    return tlo, codes[0], codes[1]


class Icmp(Match):
    """``-m icmp``."""

    NAME = "icmp"
    OPTIONS = (Opt("icmp-type", 0, T_STRING, F_MAND | F_INVERT),)

    __slots__ = ("code", "invert", "type")

    def __init__(self) -> None:
        super().__init__()
        self.type = 0xFF
        self.code = (0, 0xFF)
        self.invert = False

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        t, lo, hi = parse_icmp(cb.arg or "")
        self.type, self.code = t, (lo, hi)
        self.invert = self.invert or cb.invert

    def save(self, ip: IpSpec) -> str:
        out = " !" if self.invert else ""
        if self.type == 0xFF:
            return out + " --icmp-type any"
        out += f" --icmp-type {self.type}"
        if self.code != (0, 0xFF):
            out += f"/{self.code[0]}"
        return out

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        if not numeric:
            for name, t, lo, hi in ICMP_CODES:
                if (t, lo, hi) == (self.type, *self.code):
                    return f" icmp {'!' if self.invert else ''}{name}"
        out = " icmp" + (" !" if self.invert else "") + f"type {self.type}"
        lo, hi = self.code
        if lo == hi:
            out += f" code {lo}"
        elif lo != 0 or hi != 0xFF:
            out += f" codes {lo}-{hi}"
        return out

    def check_entry(self, table: str, hookmask: int, ip: IpSpec) -> int:
        if ip.proto != 1 or ip.invflags & 0x40:
            return errno.EINVAL
        return 0

    def evaluate(self, pkt: PktView, ip: IpSpec) -> bool:
        if pkt.fragment:
            return False
        hit = self.type == 0xFF or (pkt.icmp_type == self.type
                                    and self.code[0] <= pkt.icmp_code <= self.code[1])
        return hit != self.invert


# ---------------------------------------------------------------------------------
# conntrack and state
# ---------------------------------------------------------------------------------

CT_STATE, CT_PROTO, CT_ORIGSRC, CT_ORIGDST = 1 << 0, 1 << 1, 1 << 2, 1 << 3
CT_REPLSRC, CT_REPLDST, CT_STATUS, CT_EXPIRES = 1 << 4, 1 << 5, 1 << 6, 1 << 7
CT_ORIGSRC_PORT, CT_ORIGDST_PORT = 1 << 8, 1 << 9
CT_REPLSRC_PORT, CT_REPLDST_PORT = 1 << 10, 1 << 11
CT_DIRECTION, CT_STATE_ALIAS = 1 << 12, 1 << 13

STATE_BITS = (("INVALID", 1 << 0), ("NEW", 1 << 3), ("RELATED", 1 << 2),
              ("ESTABLISHED", 1 << 1), ("UNTRACKED", 1 << 8), ("SNAT", 1 << 6),
              ("DNAT", 1 << 7))
STATE_PARSE_ORDER = ("INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED", "SNAT", "DNAT")
STATUS_BITS = (("EXPECTED", 1), ("SEEN_REPLY", 2), ("ASSURED", 4), ("CONFIRMED", 8))

_CT_ADDR = ((2, "ctorigsrc", CT_ORIGSRC), (3, "ctorigdst", CT_ORIGDST),
            (4, "ctreplsrc", CT_REPLSRC), (5, "ctrepldst", CT_REPLDST))
_CT_PORT = ((6, "ctorigsrcport", CT_ORIGSRC_PORT), (7, "ctorigdstport", CT_ORIGDST_PORT),
            (8, "ctreplsrcport", CT_REPLSRC_PORT), (9, "ctrepldstport", CT_REPLDST_PORT))
_CT_FIELDS = {oid: name for oid, name, _flag in _CT_ADDR + _CT_PORT}  # option -> PktView field
# what --ctstate alone leaves unasked
_CT_BEYOND_STATE = ~(CT_STATE | CT_STATE_ALIAS)


def _parse_word_list(arg: str, words: tuple[str, ...], what: str) -> list[str]:
    """Comma list of case-insensitive prefixes of ``words`` ("Bad ctstate ...")."""
    out: list[str] = []
    rest = arg
    while True:
        part, comma, tail = rest.partition(",")
        hit = next((w for w in words if part and w.lower().startswith(part.lower())), None)
        if hit is None:
            raise param_error(f'Bad {what} "{rest}"')
        out.append(hit)
        if not comma:
            return out
        rest = tail


def _state_mask(names_: list[str]) -> int:
    table = dict(STATE_BITS)
    return sum(table[n] for n in set(names_))


def _print_states(mask: int, first_sep: str) -> str:
    out, sep = "", first_sep
    for name, bit in STATE_BITS:
        if mask & bit:
            out += sep + name
            sep = ","
    return out


class Conntrack(Match):
    """``-m conntrack`` (revision 3); ``-m state`` is this with the alias flag."""

    NAME = "conntrack"
    OPTIONS: ClassVar[tuple[Opt, ...]] = (
        Opt("ctstate", 0, T_STRING, F_INVERT), Opt("ctproto", 1, T_PROTOCOL, F_INVERT),
        Opt("ctorigsrc", 2, T_HOSTMASK, F_INVERT), Opt("ctorigdst", 3, T_HOSTMASK, F_INVERT),
        Opt("ctreplsrc", 4, T_HOSTMASK, F_INVERT), Opt("ctrepldst", 5, T_HOSTMASK, F_INVERT),
        Opt("ctstatus", 10, T_STRING, F_INVERT), Opt("ctexpire", 11, T_UINT32RC, F_INVERT),
        Opt("ctorigsrcport", 6, T_PORTRC, F_INVERT), Opt("ctorigdstport", 7, T_PORTRC, F_INVERT),
        Opt("ctreplsrcport", 8, T_PORTRC, F_INVERT), Opt("ctrepldstport", 9, T_PORTRC, F_INVERT),
        Opt("ctdir", 12, T_STRING),
    )
    _PORT_OPT_FLAG: ClassVar[dict[int, int]] = {6: CT_ORIGSRC_PORT, 7: CT_ORIGDST_PORT,
                                                 8: CT_REPLSRC_PORT, 9: CT_REPLDST_PORT}

    __slots__ = ("addrs", "expires", "invert_flags", "l4proto", "match_flags", "ports",
                 "state_mask", "status_mask")

    def __init__(self) -> None:
        super().__init__()
        self.match_flags = 0
        self.invert_flags = 0
        self.state_mask = 0
        self.status_mask = 0
        self.l4proto = 0
        self.addrs: dict[int, tuple[int, int]] = {}
        self.ports: dict[int, tuple[int, int]] = {}
        self.expires = (0, 0)

    def alias(self) -> str:
        return "state" if self.match_flags & CT_STATE_ALIAS else "conntrack"

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        oid = cb.entry.id
        flag = self._parse_one(oid, cb)
        self.match_flags |= flag
        if cb.invert and oid != 12:
            self.invert_flags |= flag

    def _parse_one(self, oid: int, cb: OptCall) -> int:
        arg = cb.arg or ""
        if oid == 0:
            self.state_mask |= _state_mask(_parse_word_list(arg, STATE_PARSE_ORDER, "ctstate"))
            return CT_STATE
        if oid == 1:
            self.l4proto = cb.val
            if self.l4proto == 0 and self.invert_flags & 0x40:
                raise param_error("conntrack: rule would never match protocol")
            return CT_PROTO
        if 2 <= oid <= 5:
            self.addrs[oid] = cb.val
            return 1 << oid
        if oid == 10:
            words = ("NONE", *(n for n, _ in STATUS_BITS))
            for w in _parse_word_list(arg, words, "ctstatus"):
                self.status_mask |= dict(STATUS_BITS).get(w, 0)
            return CT_STATUS
        if oid == 11:
            vals = cb.val
            self.expires = (vals[0], vals[1] if cb.nvals >= 2 else vals[0])
            return CT_EXPIRES
        if 6 <= oid <= 9:
            vals = cb.val
            self.ports[oid] = (vals[0], vals[1] if cb.nvals >= 2 else vals[0])
            return self._PORT_OPT_FLAG[oid]
        return self._parse_dir(arg)

    def _parse_dir(self, arg: str) -> int:
        if arg.lower() == "original":
            self.invert_flags &= ~CT_DIRECTION
        elif arg.lower() == "reply":
            self.invert_flags |= CT_DIRECTION
        else:
            raise param_error(f'conntrack: Bad value for "--ctdir" option: "{arg}"')
        return CT_DIRECTION

    def fcheck(self) -> None:
        if self.xflags == 0:
            raise param_error("conntrack: At least one option is required")

    def save(self, ip: IpSpec) -> str:
        return self._dump("--", True)

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        return self._dump("", numeric)

    def _dump(self, prefix: str, numeric: bool) -> str:
        out: list[str] = []
        mf, inv = self.match_flags, self.invert_flags

        def bang(flag: int) -> str:
            return " !" if inv & flag else ""

        if mf & CT_STATE:
            word = "state" if mf & CT_STATE_ALIAS else "ctstate"
            out.append(f"{bang(CT_STATE)} {prefix}{word}{_print_states(self.state_mask, ' ')}")
        if mf & CT_PROTO:
            out.append(f"{bang(CT_PROTO)} {prefix}ctproto {self.l4proto}")
        for oid, name, flag in _CT_ADDR:
            if mf & flag:
                addr, mask = self.addrs[oid]
                out.append(f"{bang(flag)} {prefix}{name}{_ct_addr(addr, mask, numeric)}")
        for oid, name, flag in _CT_PORT:
            if mf & flag:
                lo, hi = self.ports[oid]
                value = str(lo) if hi == 0 or lo == hi else f"{lo}:{hi}"
                out.append(f"{bang(flag)} {prefix}{name} {value}")
        out.append(self._dump_tail(prefix))
        return "".join(out)

    def _dump_tail(self, prefix: str) -> str:
        out = ""
        mf, inv = self.match_flags, self.invert_flags
        if mf & CT_STATUS:
            text = ",".join(n for n, b in STATUS_BITS if self.status_mask & b) or "NONE"
            out += f"{' !' if inv & CT_STATUS else ''} {prefix}ctstatus {text}"
        if mf & CT_EXPIRES:
            lo, hi = self.expires
            value = str(lo) if lo == hi else f"{lo}:{hi}"
            out += f"{' !' if inv & CT_EXPIRES else ''} {prefix}ctexpire {value}"
        if mf & CT_DIRECTION:
            out += f" {prefix}ctdir {'REPLY' if inv & CT_DIRECTION else 'ORIGINAL'}"
        return out

    def evaluate(self, pkt: PktView, ip: IpSpec) -> bool:
        mf, inv = self.match_flags, self.invert_flags
        state = pkt.ctstate
        if mf & CT_STATE and bool(self.state_mask & state) == bool(inv & CT_STATE):
            return False
        if state & (CT_INVALID | CT_UNTRACKED):
            return bool(mf & CT_STATE)
        if not mf & _CT_BEYOND_STATE:  # --ctstate alone, the usual rule: decided
            return True
        if mf & CT_DIRECTION and (pkt.ctdir == 1) != bool(inv & CT_DIRECTION):
            return False
        if mf & CT_PROTO and (pkt.ctproto == self.l4proto) == bool(inv & CT_PROTO):
            return False
        return self._eval_tuple(pkt) and self._eval_status(pkt)

    def _eval_tuple(self, pkt: PktView) -> bool:
        inv = self.invert_flags
        for oid, (addr, mask) in self.addrs.items():
            hit = (getattr(pkt, _CT_FIELDS[oid]) & mask) == (addr & mask)
            if hit == bool(inv & (1 << oid)):
                return False
        for oid, (lo, hi) in self.ports.items():
            hit = lo <= getattr(pkt, _CT_FIELDS[oid]) <= hi
            if hit == bool(inv & self._PORT_OPT_FLAG[oid]):
                return False
        return True

    def _eval_status(self, pkt: PktView) -> bool:
        mf, inv = self.match_flags, self.invert_flags
        if mf & CT_STATUS and bool(self.status_mask & pkt.ctstatus) == bool(inv & CT_STATUS):
            return False
        if mf & CT_EXPIRES:
            hit = self.expires[0] <= pkt.ctexpire <= self.expires[1]
            if hit == bool(inv & CT_EXPIRES):
                return False
        return True


def _ct_addr(addr: int, mask: int, numeric: bool) -> str:
    if not numeric and addr == 0:
        return " anywhere"
    host = ip_to_str(addr) if numeric else ipaddr_to_anyname(addr)
    return f" {host}{ipmask_to_numeric(mask)}"


class State(Conntrack):
    """``-m state --state``: a conntrack match with the state alias flag."""

    NAME = "state"
    OPTIONS: ClassVar[tuple[Opt, ...]] = (Opt("state", 0, T_STRING, F_MAND | F_INVERT),)

    __slots__ = ()

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        self.match_flags = CT_STATE | CT_STATE_ALIAS
        self.state_mask = _parse_states_state(cb.arg or "")
        if cb.invert:
            self.invert_flags |= CT_STATE

    def fcheck(self) -> None:
        pass


def _parse_states_state(arg: str) -> int:
    """``state_parse_states``: exact names (case-insensitive prefixes of length)."""
    words = ("INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED")
    bits = {"INVALID": 1, "NEW": 8, "ESTABLISHED": 2, "RELATED": 4, "UNTRACKED": 1 << 8}
    mask = 0
    parts = arg.split(",")
    for i, part in enumerate(parts):
        rest = ",".join(parts[i:])
        if part == "" and i == len(parts) - 1:
            raise param_error('"--state" requires a list of states with no spaces, '
                              "e.g. ESTABLISHED,RELATED")
        hit = next((w for w in words if part and w[:len(part)].lower() == part.lower()), None)
        if hit is None:
            raise param_error(f'Bad state "{rest}"')
        mask |= bits[hit]
    return mask


# ---------------------------------------------------------------------------------
# multiport
# ---------------------------------------------------------------------------------

MULTIPORT_PROTOS = {6: "tcp", 17: "udp", 136: "udplite", 132: "sctp", 33: "dccp"}


class Multiport(Match):
    """``-m multiport`` (revision 1: ranges and inversion)."""

    NAME = "multiport"
    _ANY = 0b111
    OPTIONS = (Opt("source-ports", 0, T_STRING, F_INVERT, excl=_ANY),
               Opt("sports", 0, T_STRING, F_INVERT, excl=_ANY),
               Opt("destination-ports", 1, T_STRING, F_INVERT, excl=_ANY),
               Opt("dports", 1, T_STRING, F_INVERT, excl=_ANY),
               Opt("ports", 2, T_STRING, F_INVERT, excl=_ANY))
    SOURCE, DESTINATION, EITHER = 0, 1, 2

    __slots__ = ("flags", "invert", "pflags", "ports")

    def __init__(self) -> None:
        super().__init__()
        self.flags = 0
        self.invert = False
        self.ports: list[int] = []
        self.pflags: list[int] = []

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        proto = _multiport_proto(cb.ip.proto, cb.ip.invflags)
        self.ports, self.pflags = _parse_multi_ports(cb.arg or "", proto)
        self.flags = cb.entry.id
        if cb.invert:
            self.invert = True

    def fcheck(self) -> None:
        if self.xflags == 0:
            raise param_error("multiport expection an option")

    def _ports_text(self, proto: int, numeric: bool) -> str:
        pname = MULTIPORT_PROTOS.get(proto)
        out, i = [], 0
        while i < len(self.ports):
            text = _port_name(self.ports[i], pname, numeric)
            if self.pflags[i]:
                i += 1
                text += ":" + _port_name(self.ports[i], pname, numeric)
            out.append(text)
            i += 1
        return ",".join(out)

    def save(self, ip: IpSpec) -> str:
        opt = ("--sports", "--dports", "--ports")[self.flags]
        return f"{' !' if self.invert else ''} {opt} {self._ports_text(ip.proto, True)}"

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        word = ("sports", "dports", "ports")[self.flags]
        bang = " !" if self.invert else ""
        return f" multiport {word} {bang}{self._ports_text(ip.proto, numeric)}"

    def evaluate(self, pkt: PktView, ip: IpSpec) -> bool:
        if pkt.fragment:
            return False
        i = 0
        while i < len(self.ports):
            lo = hi = self.ports[i]
            if self.pflags[i]:
                i += 1
                hi = self.ports[i]
            i += 1
            src = self.flags in (0, 2) and lo <= pkt.sport <= hi
            dst = self.flags in (1, 2) and lo <= pkt.dport <= hi
            if src or dst:
                return not self.invert
        return self.invert


def _multiport_proto(proto: int, invflags: int) -> str:
    msg = "multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP"
    if invflags & 0x40:
        raise param_error(msg)
    name = MULTIPORT_PROTOS.get(proto)
    if name is not None:
        return name
    if not proto:
        raise param_error("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or "
                          "`-p dccp'")
    raise param_error(msg)


def _parse_multi_ports(text: str, proto: str) -> tuple[list[int], list[int]]:
    ports: list[int] = []
    pflags: list[int] = []
    items = text.split(",")
    for n, item in enumerate(items):
        if len(ports) >= 15:
            raise param_error("too many ports specified")
        lo_s, colon, hi_s = item.partition(":")
        if colon and len(ports) == 14:
            raise param_error("too many ports specified")
        ports.append(parse_port(lo_s, proto))
        pflags.append(1 if colon else 0)
        if colon:
            ports.append(parse_port(hi_s, proto))
            pflags.append(0)
            if ports[-2] >= ports[-1]:
                raise param_error("invalid portrange specified")
        if len(ports) >= 15 and n < len(items) - 1:
            raise param_error("too many ports specified")
    return ports, pflags


# ---------------------------------------------------------------------------------
# comment, limit, mark, length, ttl
# ---------------------------------------------------------------------------------

class Comment(Match):
    """``-m comment --comment TEXT`` (at most 255 bytes kept)."""

    NAME = "comment"
    OPTIONS = (Opt("comment", 0, T_STRING, F_MAND),)

    __slots__ = ("comment",)

    def __init__(self) -> None:
        super().__init__()
        self.comment = ""

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        raw = (cb.arg or "").encode()[:255]
        self.comment = raw.decode(errors="ignore")

    def save(self, ip: IpSpec) -> str:
        from .xtables import save_string
        return " --comment" + save_string(self.comment)

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        return f" /* {self.comment} */"


XT_LIMIT_SCALE = 10000
LIMIT_RATES = (("day", XT_LIMIT_SCALE * 24 * 60 * 60), ("hour", XT_LIMIT_SCALE * 60 * 60),
               ("min", XT_LIMIT_SCALE * 60), ("sec", XT_LIMIT_SCALE))
NFT_LIMIT_PKT_BURST_DEFAULT = 5


def _parse_rate(rate: str) -> int | None:
    unit, slash, suffix = rate.partition("/")
    mult = 1
    if slash:
        if not suffix:
            return None
        for word, m in (("second", 1), ("minute", 60), ("hour", 3600), ("day", 86400)):
            if word.startswith(suffix.lower()):
                mult = m
                break
        else:
            return None
    digits = ""
    for ch in unit.lstrip():
        if not (ch.isdigit() or (not digits and ch in "+-")):
            break
        digits += ch
    try:
        r = int(digits) & 0xFFFFFFFF
    except ValueError:
        return None
    if not r:
        return None
    val = XT_LIMIT_SCALE * mult // r
    if val == 0:
        raise param_error(f'Rate too fast "{rate}"')
    return val


def _rate_unit(avg: int) -> int:
    """The index into LIMIT_RATES ``print_rate`` and ``add_nft_limit`` choose."""
    i = 1
    while i < len(LIMIT_RATES):
        mult = LIMIT_RATES[i][1]
        if avg > mult or mult // avg < mult % avg:
            break
        i += 1
    return i - 1


class Limit(Match):
    """``-m limit``.  iptables-nft sends it as nft's native limit expression,
    so the packets meet nft_limit.c's token bucket (nanoseconds of tokens,
    full when the rule is made), not xt_limit's jiffies.  The bucket belongs
    to the kernel rule: a rule that is re-added (-Z, -R) starts full."""

    NAME = "limit"
    OPTIONS = (Opt("limit", 0, T_STRING), Opt("limit-burst", 1, T_UINT32, max=10000))

    __slots__ = ("avg", "burst", "cost", "last", "tokens", "tokens_max")

    def __init__(self) -> None:
        super().__init__()
        self.avg = _parse_rate("3/hour") or 0
        self.burst = 5
        self.cost = 0
        self.tokens_max = 0
        self.tokens = 0
        self.last = -1  # no packet yet: the bucket is full

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        if cb.entry.id == 0:
            avg = _parse_rate(cb.arg or "")
            if avg is None:
                raise param_error(f"bad rate \"{cb.arg}\"'")
            self.avg = avg
        else:
            self.burst = cb.val
        if cb.invert:
            raise param_error("limit does not support invert")

    def nft_normalize(self) -> None:
        """The value after the round trip through nft's native limit expression."""
        i = _rate_unit(self.avg)
        mult = LIMIT_RATES[i][1]
        rate = mult // self.avg
        self.avg = XT_LIMIT_SCALE * (mult // XT_LIMIT_SCALE) // rate if rate else 0
        # nft_limit_init: a packet limit with burst 0 gets the default burst
        self.burst = self.burst or NFT_LIMIT_PKT_BURST_DEFAULT

    def _rate(self) -> str:
        if self.avg == 0:
            return " inf"
        name, mult = LIMIT_RATES[_rate_unit(self.avg)]
        return f" {mult // self.avg}/{name}"

    def save(self, ip: IpSpec) -> str:
        out = " --limit" + self._rate()
        if self.burst != 5:
            out += f" --limit-burst {self.burst}"
        return out

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        return f" limit: avg{self._rate()} burst {self.burst}"

    def renewed(self) -> Limit:
        """The same match as a new kernel rule gets it: a full bucket."""
        m = Limit()
        m.xflags, m.avg, m.burst = self.xflags, self.avg, self.burst
        return m

    def _init_bucket(self, now: int) -> None:
        """nft_limit_init: cost = unit / rate; the bucket holds ``burst`` costs."""
        name_mult = LIMIT_RATES[_rate_unit(self.avg)][1] if self.avg else XT_LIMIT_SCALE
        rate = name_mult // self.avg if self.avg else 0
        nsecs = name_mult // XT_LIMIT_SCALE * 1_000_000_000
        self.cost = nsecs // rate if rate else 0
        self.tokens_max = self.tokens = self.cost * self.burst
        self.last = now

    def evaluate(self, pkt: PktView, ip: IpSpec) -> bool:
        """nft_limit_eval: refill by the time elapsed, then take one cost."""
        now = pkt.now_ns
        if self.last < 0:
            self._init_bucket(now)
        tokens = self.tokens + now - self.last
        if tokens > self.tokens_max:
            tokens = self.tokens_max
        self.last = now
        if tokens >= self.cost:
            self.tokens = tokens - self.cost
            return True
        self.tokens = tokens
        return False


def _val_mask(val: int, mask: int) -> str:
    return f" 0x{val:x}/0x{mask:x}" if mask != 0xFFFFFFFF else f" 0x{val:x}"


class Mark(Match):
    """``-m mark --mark value[/mask]``."""

    NAME = "mark"
    OPTIONS = (Opt("mark", 0, T_MARKMASK32, F_MAND | F_INVERT),)

    __slots__ = ("invert", "mark", "mask")

    def __init__(self) -> None:
        super().__init__()
        self.mark = 0
        self.mask = 0xFFFFFFFF
        self.invert = False

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        self.mark, self.mask = cb.val
        self.invert = self.invert or cb.invert

    def save(self, ip: IpSpec) -> str:
        return f"{' !' if self.invert else ''} --mark{_val_mask(self.mark, self.mask)}"

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        return f" mark match{' !' if self.invert else ''}{_val_mask(self.mark, self.mask)}"

    def evaluate(self, pkt: PktView, ip: IpSpec) -> bool:
        return ((pkt.mark & self.mask) == self.mark) != self.invert


class Connmark(Mark):
    """``-m connmark --mark value[/mask]``: the conntrack entry's mark."""

    NAME = "connmark"

    __slots__ = ()

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        return f" connmark match {'!' if self.invert else ''}{_val_mask(self.mark, self.mask)}"

    def evaluate(self, pkt: PktView, ip: IpSpec) -> bool:
        if pkt.ctstate & (CT_INVALID | CT_UNTRACKED):
            return False
        return ((pkt.ctmark & self.mask) == self.mark) != self.invert


class Length(Match):
    """``-m length --length min[:max]``."""

    NAME = "length"
    OPTIONS = (Opt("length", 0, T_UINT16RC, F_MAND | F_INVERT),)

    __slots__ = ("invert", "max", "min")

    def __init__(self) -> None:
        super().__init__()
        self.min = self.max = 0
        self.invert = False

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        vals = cb.val
        self.min = self.max = vals[0]
        if cb.nvals >= 2:
            self.max = vals[1]
        self.invert = self.invert or cb.invert

    def _value(self) -> str:
        return str(self.min) if self.min == self.max else f"{self.min}:{self.max}"

    def save(self, ip: IpSpec) -> str:
        return f"{' !' if self.invert else ''} --length {self._value()}"

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        return f" length {'!' if self.invert else ''}{self._value()}"

    def evaluate(self, pkt: PktView, ip: IpSpec) -> bool:
        return (self.min <= pkt.length <= self.max) != self.invert


class Ttl(Match):
    """``-m ttl --ttl-eq/--ttl-lt/--ttl-gt``."""

    NAME = "ttl"
    _ANY = 0b111
    OPTIONS = (Opt("ttl-lt", 1, T_UINT8, excl=_ANY), Opt("ttl-gt", 2, T_UINT8, excl=_ANY),
               Opt("ttl-eq", 0, T_UINT8, F_INVERT, excl=_ANY),
               Opt("ttl", 0, T_UINT8, excl=_ANY))
    EQ, NE, LT, GT = 0, 1, 2, 3

    __slots__ = ("mode", "ttl")

    def __init__(self) -> None:
        super().__init__()
        self.mode = self.EQ
        self.ttl = 0

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        self.ttl = cb.val
        oid = cb.entry.id
        self.mode = {0: self.NE if cb.invert else self.EQ, 1: self.LT, 2: self.GT}[oid]

    def fcheck(self) -> None:
        if not self.xflags & self._ANY:
            raise param_error("TTL match: You must specify one of `--ttl-eq', `--ttl-lt', "
                              "`--ttl-gt")

    def save(self, ip: IpSpec) -> str:
        opt = (" --ttl-eq", " ! --ttl-eq", " --ttl-lt", " --ttl-gt")[self.mode]
        return f"{opt} {self.ttl}"

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        op = ("==", "!=", "<", ">")[self.mode]
        return f" TTL match TTL {op} {self.ttl}"

    def evaluate(self, pkt: PktView, ip: IpSpec) -> bool:
        t = pkt.ttl
        return (t == self.ttl, t != self.ttl, t < self.ttl, t > self.ttl)[self.mode]


# ---------------------------------------------------------------------------------
# addrtype, iprange
# ---------------------------------------------------------------------------------

RTN_NAMES = ("UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST", "BLACKHOLE",
             "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE")
ADDRTYPE_INV_SRC, ADDRTYPE_INV_DST = 0x1, 0x2
ADDRTYPE_LIMIT_IN, ADDRTYPE_LIMIT_OUT = 0x4, 0x8


def _parse_types(arg: str) -> int:
    mask = 0
    rest = arg
    while True:
        part, comma, tail = rest.partition(",")
        hit = next((i for i, n in enumerate(RTN_NAMES)
                    if n[:len(part)].lower() == part.lower()), None) if part else None
        if hit is None:
            quote = f"`{rest}'" if comma else f'"{rest}"'
            raise param_error(f"addrtype: bad type {quote}")
        mask |= 1 << hit
        if not comma:
            return mask
        rest = tail


def _print_types(mask: int) -> str:
    return ",".join(n for i, n in enumerate(RTN_NAMES) if mask & (1 << i))


class Addrtype(Match):
    """``-m addrtype`` (revision 1)."""

    NAME = "addrtype"
    OPTIONS = (Opt("src-type", 0, T_STRING, F_INVERT), Opt("dst-type", 1, T_STRING, F_INVERT),
               Opt("limit-iface-in", 2, T_NONE, excl=1 << 3),
               Opt("limit-iface-out", 3, T_NONE, excl=1 << 2))

    __slots__ = ("dest", "flags", "source")

    def __init__(self) -> None:
        super().__init__()
        self.source = 0
        self.dest = 0
        self.flags = 0

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        oid = cb.entry.id
        if oid == 0:
            self.source |= _parse_types(cb.arg or "")
            self.flags |= ADDRTYPE_INV_SRC if cb.invert else 0
        elif oid == 1:
            self.dest |= _parse_types(cb.arg or "")
            self.flags |= ADDRTYPE_INV_DST if cb.invert else 0
        else:
            self.flags |= ADDRTYPE_LIMIT_IN if oid == 2 else ADDRTYPE_LIMIT_OUT

    def fcheck(self) -> None:
        if not self.xflags & 0b11:
            raise param_error("addrtype: you must specify --src-type or --dst-type")

    def save(self, ip: IpSpec) -> str:
        out = ""
        if self.source:
            out += f"{' !' if self.flags & ADDRTYPE_INV_SRC else ''} --src-type "
            out += _print_types(self.source)
        if self.dest:
            out += f"{' !' if self.flags & ADDRTYPE_INV_DST else ''} --dst-type "
            out += _print_types(self.dest)
        if self.flags & ADDRTYPE_LIMIT_IN:
            out += " --limit-iface-in"
        if self.flags & ADDRTYPE_LIMIT_OUT:
            out += " --limit-iface-out"
        return out

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        out = " ADDRTYPE match"
        if self.source:
            out += " src-type " + ("!" if self.flags & ADDRTYPE_INV_SRC else "")
            out += _print_types(self.source)
        if self.dest:
            out += " dst-type " + ("!" if self.flags & ADDRTYPE_INV_DST else "")
            out += _print_types(self.dest)
        if self.flags & ADDRTYPE_LIMIT_IN:
            out += " limit-in"
        if self.flags & ADDRTYPE_LIMIT_OUT:
            out += " limit-out"
        return out

    def check_entry(self, table: str, hookmask: int, ip: IpSpec) -> int:
        if self.flags & ADDRTYPE_LIMIT_IN and hookmask & (HOOK_OUT | HOOK_POST):
            return errno.EINVAL
        if self.flags & ADDRTYPE_LIMIT_OUT and hookmask & (HOOK_PRE | HOOK_IN):
            return errno.EINVAL
        return 0

    def evaluate(self, pkt: PktView, ip: IpSpec) -> bool:
        if self.source:
            hit = bool(self.source & (1 << pkt.saddr_type))
            if hit == bool(self.flags & ADDRTYPE_INV_SRC):
                return False
        if self.dest:
            hit = bool(self.dest & (1 << pkt.daddr_type))
            if hit == bool(self.flags & ADDRTYPE_INV_DST):
                return False
        return True


class Iprange(Match):
    """``-m iprange --src-range/--dst-range a-b`` (revision 1)."""

    NAME = "iprange"
    OPTIONS = (Opt("src-range", 0, T_STRING, F_INVERT), Opt("dst-range", 1, T_STRING, F_INVERT))
    SRC, DST, SRC_INV, DST_INV = 0x1, 0x2, 0x10, 0x20

    __slots__ = ("dst", "flags", "src")

    def __init__(self) -> None:
        super().__init__()
        self.src = (0, 0)
        self.dst = (0, 0)
        self.flags = 0

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        oid = cb.entry.id
        rng = _parse_iprange(cb.arg or "", ("--src-range", "--dst-range")[oid], cb.warnings)
        if oid == 0:
            self.src = rng
            self.flags |= self.SRC | (self.SRC_INV if cb.invert else 0)
        else:
            self.dst = rng
            self.flags |= self.DST | (self.DST_INV if cb.invert else 0)

    def fcheck(self) -> None:
        if self.xflags == 0:
            raise param_error("iprange match: You must specify `--src-range' or `--dst-range'")

    def _text(self, prefix: str, save: bool) -> str:
        out = ""
        for flag, inv, rng, sname, pname in ((self.SRC, self.SRC_INV, self.src, "--src-range",
                                              "source IP range"),
                                             (self.DST, self.DST_INV, self.dst, "--dst-range",
                                              "destination IP range")):
            if not self.flags & flag:
                continue
            text = f"{ip_to_str(rng[0])}-{ip_to_str(rng[1])}"
            if save:
                out += f"{' !' if self.flags & inv else ''} {sname} {text}"
            else:
                out += f" {pname}{' !' if self.flags & inv else ''} {text}"
        return out

    def save(self, ip: IpSpec) -> str:
        return self._text("--", True)

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        return self._text("", False)

    def evaluate(self, pkt: PktView, ip: IpSpec) -> bool:
        if self.flags & self.SRC:
            hit = self.src[0] <= pkt.saddr <= self.src[1]
            if hit == bool(self.flags & self.SRC_INV):
                return False
        if self.flags & self.DST:
            hit = self.dst[0] <= pkt.daddr <= self.dst[1]
            if hit == bool(self.flags & self.DST_INV):
                return False
        return True


def _parse_iprange(arg: str, optname: str, warnings: list[str]) -> tuple[int, int]:
    lo_s, dash, hi_s = arg.partition("-")
    if not dash:
        hi_s = lo_s
    values = []
    for spec in (lo_s, hi_s):
        addr = numeric_to_ipaddr(spec)
        if addr is None:
            raise param_error(f'iprange: Bad value for "{optname}" option: "{spec}"')
        values.append(addr)
    if dash and values[0] > values[1]:
        warnings.append(f"xt_iprange: range {lo_s}-{hi_s} is reversed and will never match\n")
    return values[0], values[1]


# ---------------------------------------------------------------------------------
# owner
# ---------------------------------------------------------------------------------

XT_OWNER_UID, XT_OWNER_GID, XT_OWNER_SOCKET, XT_OWNER_SUPPL_GROUPS = 0x1, 0x2, 0x4, 0x8
_OWNER_ID_MAX = 0xFFFFFFFE  # (uid_t)-1 is no id


def _owner_range(arg: str, opt: str) -> tuple[int, int]:
    """owner_parse_range: "N", "N-M" or "N:M", numbers as strtoul reads them."""
    bad = param_error(f'owner: Bad value for "{opt}" option: "{arg}"')
    first = strtoul_end(arg, 0, _OWNER_ID_MAX)
    if first is None:
        raise bad
    lo, end = first
    hi = lo
    if arg[end:end + 1] in ("-", ":"):
        rest = arg[end + 1:]
        second = strtoul_end(rest, 0, _OWNER_ID_MAX)
        if second is None:
            raise bad
        hi, used = second
        end += 1 + used
    if end != len(arg):
        raise bad
    return lo, hi


class Owner(Match):
    """``-m owner [!] --uid-owner id[-id] [!] --gid-owner id[-id]
    [--suppl-groups] [!] --socket-exists`` (revision 1): the socket of a
    locally generated packet, in OUTPUT and POSTROUTING only."""

    NAME = "owner"
    OPTIONS = (Opt("uid-owner", 0, T_STRING, F_INVERT), Opt("gid-owner", 1, T_STRING, F_INVERT),
               Opt("socket-exists", 2, T_NONE, F_INVERT), Opt("suppl-groups", 3, T_NONE))
    HOOKS = HOOK_OUT | HOOK_POST

    __slots__ = ("gid_max", "gid_min", "invert", "match", "uid_max", "uid_min")

    def __init__(self) -> None:
        super().__init__()
        self.uid_min = self.uid_max = self.gid_min = self.gid_max = 0
        self.match = self.invert = 0

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        oid, arg = cb.entry.id, cb.arg or ""
        if oid == 0:  # a user name first, as getpwnam, then numbers
            uid = names.getpwnam(arg)
            self.uid_min, self.uid_max = (uid, uid) if uid is not None else \
                _owner_range(arg, "--uid-owner")
            flag = XT_OWNER_UID
        elif oid == 1:
            gid = names.getgrnam(arg)
            self.gid_min, self.gid_max = (gid, gid) if gid is not None else \
                _owner_range(arg, "--gid-owner")
            flag = XT_OWNER_GID
        elif oid == 2:
            flag = XT_OWNER_SOCKET
        else:
            if not self.match & XT_OWNER_GID:
                raise param_error('owner: Bad value for "--suppl-groups" option: '
                                  '"you need to use --gid-owner first"')
            flag = XT_OWNER_SUPPL_GROUPS
        self.match |= flag
        if cb.invert:
            self.invert |= flag

    def fcheck(self) -> None:
        if not self.xflags:
            raise param_error("owner: At least one of --uid-owner, --gid-owner or "
                              "--socket-exists is required")

    def _items(self, labels: tuple[str, str, str, str], numeric: bool) -> str:
        """owner_mt_print_item for each flag set, in the kernel struct's order."""
        out = ""
        for flag, label in zip((XT_OWNER_SOCKET, XT_OWNER_UID, XT_OWNER_GID,
                                XT_OWNER_SUPPL_GROUPS), labels, strict=True):
            if not self.match & flag:
                continue
            out += f"{' !' if self.invert & flag else ''} {label}"
            if flag == XT_OWNER_UID:
                out += _owner_id(self.uid_min, self.uid_max, numeric, names.getpwuid)
            elif flag == XT_OWNER_GID:
                out += _owner_id(self.gid_min, self.gid_max, numeric, names.getgrgid)
        return out

    def save(self, ip: IpSpec) -> str:
        return self._items(("--socket-exists", "--uid-owner", "--gid-owner", "--suppl-groups"),
                           True)

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        return self._items(("owner socket exists", "owner UID match", "owner GID match",
                            "incl. suppl. groups"), numeric)

    def check_entry(self, table: str, hookmask: int, ip: IpSpec) -> int:
        """owner_check: the hooks, then no range upside down."""
        err = super().check_entry(table, hookmask, ip)
        if err:
            return err
        if self.match & XT_OWNER_UID and self.uid_max < self.uid_min:
            return errno.EINVAL
        if self.match & XT_OWNER_GID and self.gid_max < self.gid_min:
            return errno.EINVAL
        return 0

    def evaluate(self, pkt: PktView, ip: IpSpec) -> bool:
        """owner_mt: no socket (or one no file holds yet) matches only when
        every option is inverted; the kernel's own socket has no credentials."""
        match, invert = self.match, self.invert
        sk = sk_to_full_sk(pkt.sk)
        if sk is None or (sk.file_cred is None and not isinstance(sk, CtlSock)):
            return (match ^ invert) == 0
        if match & invert & XT_OWNER_SOCKET:
            return False  # a socket, but "! --socket-exists"
        cred = sk.file_cred
        if cred is None:
            return ((match ^ invert) & (XT_OWNER_UID | XT_OWNER_GID)) == 0
        if match & XT_OWNER_UID and \
                (self.uid_min <= cred.uid <= self.uid_max) == bool(invert & XT_OWNER_UID):
            return False
        if match & XT_OWNER_GID:
            hit = self.gid_min <= cred.gid <= self.gid_max or bool(
                match & XT_OWNER_SUPPL_GROUPS
                and any(self.gid_min <= g <= self.gid_max for g in cred.groups))
            if hit == bool(invert & XT_OWNER_GID):
                return False
        return True


def _owner_id(lo: int, hi: int, numeric: bool, name_of: Callable[[int], str | None]) -> str:
    """A range as numbers; one id by its name unless numeric (or unnamed)."""
    if lo != hi:
        return f" {lo}-{hi}"
    name = None if numeric else name_of(lo)
    return f" {name if name is not None else lo}"


MATCHES: dict[str, type[Match]] = {
    cls.NAME: cls for cls in (Tcp, Udp, Icmp, Conntrack, State, Multiport, Comment, Limit,
                              Mark, Connmark, Length, Ttl, Addrtype, Iprange, Owner)
}

__all__ = ["MATCHES", "XtError"]
