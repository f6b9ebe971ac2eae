"""The target extensions: the standard verdicts, REJECT, LOG, SNAT, DNAT,
MASQUERADE, REDIRECT, MARK, CONNMARK, CT (and NOTRACK), TTL.

Parsing, errors and texts follow iptables 1.8.9's libxt_*.c/libipt_*.c (the
revisions the kernel picks: DNAT 2, MARK 2, CONNMARK 2, CT 2); the table and
hook restrictions and ``target`` follow the kernel's.  Targets that change
the packet write into the :class:`PktView`; the data path applies it.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, ClassVar

from . import names
from .ext import HOOK_FWD, HOOK_IN, HOOK_OUT, HOOK_POST, HOOK_PRE, Target
from .packet import (
    CT_INVALID,
    CT_UNTRACKED,
    NF_ACCEPT,
    NF_DROP,
    NF_QUEUE,
    XT_CONTINUE,
    XT_RETURN,
    LogRequest,
    NatRequest,
    PktView,
    RejectRequest,
)
from .xtables import (
    F_MAND,
    T_MARKMASK32,
    T_NONE,
    T_STRING,
    T_SYSLOGLEVEL,
    T_UINT8,
    T_UINT32,
    Opt,
    OptCall,
    ip_to_str,
    option_parse,
    param_error,
    save_string,
    strtoul,
    strtoul_end,
)

if TYPE_CHECKING:
    from .rule import IpSpec

MASK32 = 0xFFFFFFFF


class Standard(Target):
    """ACCEPT, DROP, QUEUE, RETURN (the "standard" target)."""

    NAME = "standard"
    VERDICTS = {"ACCEPT": NF_ACCEPT, "DROP": NF_DROP, "QUEUE": NF_QUEUE, "RETURN": XT_RETURN}

    __slots__ = ("verdict",)

    def __init__(self, label: str = "ACCEPT") -> None:
        super().__init__()
        self.verdict = label

    def alias(self) -> str:
        return self.verdict

    def target(self, pkt: PktView) -> int:
        return self.VERDICTS[self.verdict]


# ---------------------------------------------------------------------------------
# REJECT, LOG
# ---------------------------------------------------------------------------------

REJECT_TABLE = (
    ("icmp-net-unreachable", "net-unreach"), ("icmp-host-unreachable", "host-unreach"),
    ("icmp-proto-unreachable", "proto-unreach"), ("icmp-port-unreachable", "port-unreach"),
    None, ("icmp-net-prohibited", "net-prohib"), ("icmp-host-prohibited", "host-prohib"),
    ("tcp-reset", "tcp-rst"), ("icmp-admin-prohibited", "admin-prohib"),
)
IPT_TCP_RESET = 7


class Reject(Target):
    """``-j REJECT [--reject-with TYPE]``."""

    NAME = "REJECT"
    OPTIONS = (Opt("reject-with", 0, T_STRING),)
    TABLE = "filter"
    HOOKS = HOOK_IN | HOOK_FWD | HOOK_OUT

    __slots__ = ("with_",)

    def __init__(self) -> None:
        super().__init__()
        self.with_ = 3

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        arg = (cb.arg or "").lower()
        for i, entry in enumerate(REJECT_TABLE):
            if entry is not None and (entry[0].startswith(arg) or entry[1].startswith(arg)):
                self.with_ = i
                return
        if "echo-reply".startswith(arg) or "echoreply".startswith(arg):
            cb.warnings.append("--reject-with echo-reply no longer supported\n")
        raise param_error(f'unknown reject type "{cb.arg}"')

    def _name(self) -> str:
        entry = REJECT_TABLE[self.with_]
        assert entry is not None
        return entry[0]

    def save(self, ip: IpSpec) -> str:
        return f" --reject-with {self._name()}"

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        return f" reject-with {self._name()}"

    def check_entry(self, table: str, hookmask: int, ip: IpSpec) -> int:
        if self.with_ == IPT_TCP_RESET and (ip.proto != 6 or ip.invflags & 0x40):
            return errno.EINVAL
        return super().check_entry(table, hookmask, ip)

    def target(self, pkt: PktView) -> int:
        pkt.reject = RejectRequest(self._name())
        return NF_DROP


LOG_FLAG_NAMES = ((0x01, "tcp-sequence"), (0x02, "tcp-options"), (0x04, "ip-options"),
                  (0x08, "uid"), (0x20, "macdecode"))
PRIORITY_NAMES = (("alert", 1), ("crit", 2), ("debug", 7), ("emerg", 0), ("err", 3),
                  ("error", 3), ("info", 6), ("none", 0x10), ("notice", 5), ("panic", 0),
                  ("warn", 4), ("warning", 4))


class Log(Target):
    """``-j LOG`` (levels, prefix of at most 29 bytes, flags)."""

    NAME = "LOG"
    OPTIONS = (Opt("log-level", 6, T_SYSLOGLEVEL), Opt("log-prefix", 7, T_STRING, min=1),
               Opt("log-tcp-sequence", 0), Opt("log-tcp-options", 1),
               Opt("log-ip-options", 2), Opt("log-uid", 3), Opt("log-macdecode", 5))

    __slots__ = ("level", "logflags", "prefix")

    def __init__(self) -> None:
        super().__init__()
        self.level = 4
        self.logflags = 0
        self.prefix = ""

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        oid = cb.entry.id
        if oid == 6:
            self.level = cb.val
        elif oid == 7:
            if "\n" in (cb.arg or ""):
                raise param_error("Newlines not allowed in --log-prefix")
            self.prefix = (cb.arg or "").encode()[:29].decode(errors="ignore")
        else:
            self.logflags |= 1 << oid

    def save(self, ip: IpSpec) -> str:
        out = ""
        if self.prefix:
            out += " --log-prefix" + save_string(self.prefix)
        if self.level != 4:
            out += f" --log-level {self.level}"
        for bit, name in LOG_FLAG_NAMES:
            if self.logflags & bit:
                out += " --log-" + name
        return out

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        out = " LOG"
        if numeric:
            out += f" flags {self.logflags} level {self.level}"
        else:
            pname = next((n for n, v in PRIORITY_NAMES if v == self.level), None)
            out += f" level {pname}" if pname else f" UNKNOWN level {self.level}"
            out += "".join(" " + name for bit, name in LOG_FLAG_NAMES if self.logflags & bit)
        if self.prefix:
            out += f' prefix "{self.prefix}"'
        return out

    def target(self, pkt: PktView) -> int:
        if pkt.log is None:
            pkt.log = []
        pkt.log.append(LogRequest(self.prefix, self.level, self.logflags))
        return XT_CONTINUE


# ---------------------------------------------------------------------------------
# NAT: SNAT, DNAT, MASQUERADE, REDIRECT
# ---------------------------------------------------------------------------------

MAP_IPS, PROTO_SPECIFIED, PROTO_RANDOM, PERSISTENT = 1, 2, 4, 8
PROTO_RANDOM_FULLY, PROTO_OFFSET = 16, 32
NAT_PORT_PROTOS = (6, 17, 132, 33, 1)


def _inet_pton(text: str) -> int | None:
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for p in parts:
        if not p.isdigit() or len(p) > 3 or (len(p) > 1 and p[0] == "0") or int(p) > 255:
            return None
        value = value << 8 | int(p)
    return value


class Nat(Target):
    """The common part of the four NAT targets (``struct nf_nat_range2``)."""

    RANGE_OPT = ""
    LIST_WORD = "to:"
    SKIP_COLON = False
    TABLE = "nat"

    __slots__ = ("base_port", "flags", "max_ip", "max_port", "min_ip", "min_port")

    def __init__(self) -> None:
        super().__init__()
        self.flags = 0
        self.min_ip = self.max_ip = 0
        self.min_port = self.max_port = self.base_port = 0

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        portok = cb.ip.proto in NAT_PORT_PROTOS
        name = cb.entry.name
        if name in ("to-source", "to-destination"):
            self._parse_to(cb.arg or "", portok)
        elif name == "to-ports":
            self._parse_ports(cb.arg or "", portok)
        else:
            self.flags |= {"random": PROTO_RANDOM, "random-fully": PROTO_RANDOM_FULLY,
                           "persistent": PERSISTENT}[name]

    def _parse_to(self, arg: str, portok: bool) -> None:
        if "[" in arg:
            raise param_error("Invalid address format")
        colon = arg.find(":")
        if colon >= 0 and ":" in arg[colon + 1:]:
            colon = -1
        if colon >= 0:
            self._parse_ports(arg[colon + 1:], portok)
            if colon == 0:
                return
            arg = arg[:colon]
        self.flags |= MAP_IPS
        lo_s, dash, hi_s = arg.partition("-")
        lo = _inet_pton(lo_s)
        if lo is None:
            raise param_error(f'Bad IP address "{lo_s}"')
        hi = lo
        if dash:
            hi2 = _inet_pton(hi_s)
            if hi2 is None:
                raise param_error(f'Bad IP address "{hi_s}"')
            hi = hi2
        self.min_ip, self.max_ip = lo, hi

    def _parse_ports(self, arg: str, portok: bool) -> None:
        if not portok:
            raise param_error("Need TCP, UDP, SCTP or DCCP with port specification")
        self.flags |= PROTO_SPECIFIED
        port, rest = _nat_port(arg)
        if rest == "":
            self.min_port = self.max_port = port
            return
        if rest[0] == ":":
            raise param_error("Invalid port:port syntax - use dash")
        if rest[0] != "-":
            raise param_error(f"Garbage after port value: `{rest}'")
        rng = rest[1:]
        res = strtoul_end(rng, 0, 0xFFFF)
        if res is None:
            raise param_error(f"Port `{rng}' not valid")
        maxport, end = res
        if maxport < port:
            raise param_error(f"Port range `{rng}' funky")
        self.min_port, self.max_port = port, maxport
        tail = rng[end:]
        if tail == "":
            return
        if tail[0] != "/":
            raise param_error(f"Garbage after port range: `{tail}'")
        self._parse_base(tail[1:])

    def _parse_base(self, arg: str) -> None:
        base = strtoul(arg, 1, 0xFFFF)
        if base is None:
            base = names.getservbyname(arg, None)
        if base is None:
            raise param_error(f"Port `{arg}' not valid")
        self.flags |= PROTO_OFFSET
        self.base_port = base

    def _range_str(self) -> str:
        out = ""
        if self.flags & MAP_IPS:
            out = ip_to_str(self.min_ip)
            if self.max_ip != self.min_ip:
                out += "-" + ip_to_str(self.max_ip)
        if self.flags & PROTO_SPECIFIED:
            out += f":{self.min_port}"
            if self.max_port != self.min_port:
                out += f"-{self.max_port}"
            if self.flags & PROTO_OFFSET:
                out += f"/{self.base_port}"
        return out

    def _text(self, rangeopt: str, flag_pfx: str) -> str:
        text = self._range_str()
        out = ""
        if text:
            if text[0] == ":" and self.SKIP_COLON:
                text = text[1:]
            out = f" {rangeopt}{text}"
        for bit, word in ((PROTO_RANDOM, "random"), (PROTO_RANDOM_FULLY, "random-fully"),
                          (PERSISTENT, "persistent")):
            if self.flags & bit:
                out += f" {flag_pfx}{word}"
        return out

    def save(self, ip: IpSpec) -> str:
        return self._text(self.RANGE_OPT, "--")

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        return self._text(self.LIST_WORD, "")

    def target(self, pkt: PktView) -> int:
        pkt.nat = NatRequest(self.NAME, self.min_ip if self.flags & MAP_IPS else 0,
                             self.max_ip if self.flags & MAP_IPS else 0,
                             self.min_port, self.max_port, self.flags, self.base_port)
        return NF_ACCEPT


def _nat_port(arg: str) -> tuple[int, str]:
    res = strtoul_end(arg, 0, 0xFFFF)
    if res is not None:
        return res[0], arg[res[1]:]
    port = names.getservbyname(arg, None)
    if port is None:
        raise param_error(f"Port `{arg}' not valid")
    return port, ""


class Snat(Nat):
    NAME = "SNAT"
    OPTIONS = (Opt("to-source", 1, T_STRING, F_MAND), Opt("random", 3, T_NONE),
               Opt("random-fully", 4, T_NONE), Opt("persistent", 5, T_NONE))
    RANGE_OPT = "--to-source "
    HOOKS = HOOK_POST | HOOK_IN
    __slots__ = ()


class Dnat(Nat):
    NAME = "DNAT"
    OPTIONS = (Opt("to-destination", 0, T_STRING, F_MAND), Opt("random", 3, T_NONE),
               Opt("persistent", 5, T_NONE))
    RANGE_OPT = "--to-destination "
    HOOKS = HOOK_PRE | HOOK_OUT
    __slots__ = ()


class Masquerade(Nat):
    NAME = "MASQUERADE"
    OPTIONS = (Opt("to-ports", 2, T_STRING), Opt("random", 3, T_NONE),
               Opt("random-fully", 4, T_NONE))
    RANGE_OPT = "--to-ports "
    LIST_WORD = "masq ports: "
    SKIP_COLON = True
    HOOKS = HOOK_POST
    __slots__ = ()


class Redirect(Nat):
    NAME = "REDIRECT"
    OPTIONS = (Opt("to-ports", 2, T_STRING), Opt("random", 3, T_NONE))
    RANGE_OPT = "--to-ports "
    LIST_WORD = "redir ports "
    SKIP_COLON = True
    HOOKS = HOOK_PRE | HOOK_OUT
    __slots__ = ()

    def fcheck(self) -> None:
        if self.flags & PROTO_OFFSET:
            raise param_error("Shifted portmap ranges not supported with this kernel")


# ---------------------------------------------------------------------------------
# MARK, CONNMARK
# ---------------------------------------------------------------------------------

_MARK_ANY = 0b11111


def _mark_op(cb: OptCall, oid: int) -> tuple[int, int]:
    """(mark, mask) of --set-xmark/--set-mark/--and-mark/--or-mark/--xor-mark."""
    if oid == 4:  # set-xmark
        value, mask = cb.val
        return value, mask
    if oid == 0:  # set-mark
        value, mask = cb.val
        return value, value | mask
    if oid == 1:  # and-mark
        return 0, ~cb.val & MASK32
    if oid == 2:  # or-mark
        return cb.val, cb.val
    return cb.val, 0  # xor-mark


def _mark_words(prefix: str, mark: int, mask: int) -> str:
    if mark == 0:
        return f" {prefix} and 0x{~mask & MASK32:x}"
    if mark == mask:
        return f" {prefix} or 0x{mark:x}"
    if mask == 0:
        return f" {prefix} xor 0x{mark:x}"
    if mask == MASK32:
        return f" {prefix} set 0x{mark:x}"
    return f" {prefix} xset 0x{mark:x}/0x{mask:x}"


class MarkTarget(Target):
    """``-j MARK`` (revision 2: everything is a set-xmark)."""

    NAME = "MARK"
    OPTIONS = (Opt("set-xmark", 4, T_MARKMASK32, excl=_MARK_ANY),
               Opt("set-mark", 0, T_MARKMASK32, excl=_MARK_ANY),
               Opt("and-mark", 1, T_UINT32, excl=_MARK_ANY),
               Opt("or-mark", 2, T_UINT32, excl=_MARK_ANY),
               Opt("xor-mark", 3, T_UINT32, excl=_MARK_ANY))

    __slots__ = ("mark", "mask")

    def __init__(self) -> None:
        super().__init__()
        self.mark = self.mask = 0

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        self.mark, self.mask = _mark_op(cb, cb.entry.id)

    def fcheck(self) -> None:
        if self.xflags == 0:
            raise param_error("MARK: One of the --set-xmark, --{and,or,xor,set}-mark options "
                              "is required")

    def save(self, ip: IpSpec) -> str:
        return f" --set-xmark 0x{self.mark:x}/0x{self.mask:x}"

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        return _mark_words("MARK", self.mark, self.mask)

    def target(self, pkt: PktView) -> int:
        pkt.mark = (pkt.mark & ~self.mask & MASK32) ^ self.mark
        return XT_CONTINUE


CM_SET, CM_SAVE, CM_RESTORE = 0, 1, 2
_CM_OP_ANY = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8)
_CM_IDS = {0: 0, 3: 1, 4: 2, 5: 3, 8: 4}  # CONNMARK option id -> _mark_op id


class Connmark(Target):
    """``-j CONNMARK`` (revision 2, with the shift options)."""

    NAME = "CONNMARK"
    OPTIONS = (
        Opt("set-xmark", 8, T_MARKMASK32, excl=_CM_OP_ANY),
        Opt("set-mark", 0, T_MARKMASK32, excl=_CM_OP_ANY),
        Opt("and-mark", 3, T_UINT32, excl=_CM_OP_ANY),
        Opt("or-mark", 4, T_UINT32, excl=_CM_OP_ANY),
        Opt("xor-mark", 5, T_UINT32, excl=_CM_OP_ANY),
        Opt("save-mark", 1, T_NONE, excl=_CM_OP_ANY),
        Opt("restore-mark", 2, T_NONE, excl=_CM_OP_ANY),
        Opt("left-shift-mark", 6, T_UINT8, max=32),
        Opt("right-shift-mark", 7, T_UINT8, max=32),
        Opt("ctmask", 9, T_UINT32, excl=1 << 11),
        Opt("nfmask", 10, T_UINT32, excl=1 << 11),
        Opt("mask", 11, T_UINT32, excl=(1 << 9) | (1 << 10)),
    )

    __slots__ = ("ctmark", "ctmask", "mode", "nfmask", "shift_bits", "shift_dir")

    def __init__(self) -> None:
        super().__init__()
        self.mode = CM_SET
        self.ctmark = 0
        self.ctmask = self.nfmask = MASK32
        self.shift_dir = 0
        self.shift_bits = 0

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        oid = cb.entry.id
        if oid in _CM_IDS:
            self.mode = CM_SET
            self.ctmark, self.ctmask = _mark_op(cb, _CM_IDS[oid])
        elif oid in (1, 2):
            self.mode = CM_SAVE if oid == 1 else CM_RESTORE
        elif oid in (6, 7):
            self.shift_dir, self.shift_bits = oid - 6, cb.val
        elif oid == 9:
            self.ctmask = cb.val
        elif oid == 10:
            self.nfmask = cb.val
        else:
            self.nfmask = self.ctmask = cb.val

    def fcheck(self) -> None:
        if not self.xflags & _CM_OP_ANY:
            raise param_error("CONNMARK target: No operation specified")

    def _shift(self, save: bool) -> str:
        if self.shift_bits == 0:
            return ""
        word = ("left-shift-mark", "right-shift-mark")[self.shift_dir]
        return f" {'--' if save else ''}{word} {self.shift_bits}"

    def save(self, ip: IpSpec) -> str:
        if self.mode == CM_SET:
            out = f" --set-xmark 0x{self.ctmark:x}/0x{self.ctmask:x}"
        else:
            word = "--save-mark" if self.mode == CM_SAVE else "--restore-mark"
            out = f" {word} --nfmask 0x{self.nfmask:x} --ctmask 0x{self.ctmask:x}"
        return out + self._shift(True)

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        if self.mode == CM_SET:
            out = _mark_words("CONNMARK", self.ctmark, self.ctmask)
        else:
            word = "save" if self.mode == CM_SAVE else "restore"
            first, second = ((self.nfmask, self.ctmask) if self.mode == CM_SAVE
                             else (self.ctmask, self.nfmask))
            names_ = ("nfmask", "ctmask") if self.mode == CM_SAVE else ("ctmask", "nfmask")
            if first == MASK32 and second == MASK32:
                out = f" CONNMARK {word}"
            elif first == second:
                out = f" CONNMARK {word} mask 0x{first:x}"
            else:
                out = (f" CONNMARK {word} {names_[0]} 0x{first:x} "
                       f"{names_[1]} ~0x{second:x}")
        return out + self._shift(False)

    def _shifted(self, value: int) -> int:
        if self.shift_dir:
            return value >> self.shift_bits
        return (value << self.shift_bits) & MASK32

    def target(self, pkt: PktView) -> int:
        if pkt.ctstate & (CT_INVALID | CT_UNTRACKED):
            return XT_CONTINUE
        if self.mode == CM_SET:
            pkt.ctmark = self._shifted((pkt.ctmark & ~self.ctmask & MASK32) ^ self.ctmark)
        elif self.mode == CM_SAVE:
            new = self._shifted(pkt.mark & self.nfmask)
            pkt.ctmark = (pkt.ctmark & ~self.ctmask & MASK32) ^ new
        else:
            new = self._shifted(pkt.ctmark & self.ctmask)
            pkt.mark = (pkt.mark & ~self.nfmask & MASK32) ^ new
        return XT_CONTINUE


# ---------------------------------------------------------------------------------
# CT, NOTRACK, TTL
# ---------------------------------------------------------------------------------

CT_NOTRACK, CT_NOTRACK_ALIAS = 0x1, 0x2
CT_ZONE_DIR_ORIG, CT_ZONE_DIR_REPL, CT_ZONE_MARK = 0x4, 0x8, 0x10
CT_EVENTS = ("new", "related", "destroy", "reply", "assured", "protoinfo", "helper",
             "mark", "natseqinfo", "secmark")
CT_EVENT_BITS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)


class Ct(Target):
    """``-j CT`` (revision 2): --notrack, --helper, --timeout, events, zones."""

    NAME = "CT"
    OPTIONS: ClassVar[tuple[Opt, ...]] = (Opt("notrack", 0, T_NONE), Opt("helper", 1, T_STRING),
               Opt("timeout", 2, T_STRING), Opt("ctevents", 3, T_STRING),
               Opt("expevents", 4, T_STRING), Opt("zone-orig", 6, T_STRING),
               Opt("zone-reply", 7, T_STRING), Opt("zone", 5, T_STRING))
    TABLE = "raw"

    __slots__ = ("ct_events", "exp_events", "flags", "helper", "timeout", "zone")

    def __init__(self) -> None:
        super().__init__()
        self.flags = 0
        self.helper = ""
        self.timeout = ""
        self.ct_events = 0
        self.exp_events = 0
        self.zone = 0

    def alias(self) -> str:
        return "NOTRACK" if self.flags & CT_NOTRACK_ALIAS else "CT"

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        oid, arg = cb.entry.id, cb.arg or ""
        if oid == 0:
            self.flags |= CT_NOTRACK
        elif oid == 1:
            self.helper = arg.encode()[:15].decode(errors="ignore")
        elif oid == 2:
            self.timeout = arg.encode()[:31].decode(errors="ignore")
        elif oid in (3, 4):
            table = CT_EVENTS if oid == 3 else ("new",)
            mask = _ct_events(arg, table)
            if oid == 3:
                self.ct_events = mask
            else:
                self.exp_events = mask
        else:
            self._parse_zone(oid, arg)

    def _parse_zone(self, oid: int, arg: str) -> None:
        if oid == 6:
            self.flags |= CT_ZONE_DIR_ORIG
        if oid == 7:
            self.flags |= CT_ZONE_DIR_REPL
        self.zone = 0
        if arg.lower() == "mark":
            self.flags |= CT_ZONE_MARK
            return
        value = strtoul(arg, 0, 0xFFFF)
        if value is None:
            raise param_error(f"Cannot parse {arg} as a zone ID")
        self.zone = value

    def _text(self, save: bool) -> str:
        p = "--" if save else ""
        out = "" if save else " CT"
        if self.flags & CT_NOTRACK:
            out += f" {p}notrack"
        if self.helper:
            out += f" {p}helper {self.helper}"
        if self.timeout:
            out += f" {p}timeout {self.timeout}"
        if self.ct_events:
            out += f" {p}ctevents " + _ct_event_names(self.ct_events, CT_EVENTS)
        if self.exp_events:
            out += f" {p}expevents " + _ct_event_names(self.exp_events, ("new",))
        if self.flags & CT_ZONE_MARK or self.zone:
            out += f" {p}zone"
            dirs = self.flags & (CT_ZONE_DIR_ORIG | CT_ZONE_DIR_REPL)
            out += {CT_ZONE_DIR_ORIG: "-orig", CT_ZONE_DIR_REPL: "-reply"}.get(dirs, "")
            out += " mark" if self.flags & CT_ZONE_MARK else f" {self.zone}"
        return out

    def save(self, ip: IpSpec) -> str:
        return "" if self.flags & CT_NOTRACK_ALIAS else self._text(True)

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        return " NOTRACK" if self.flags & CT_NOTRACK_ALIAS else self._text(False)

    def target(self, pkt: PktView) -> int:
        if self.flags & CT_NOTRACK:
            pkt.notrack = True
        return XT_CONTINUE


def _ct_events(arg: str, table: tuple[str, ...]) -> int:
    mask = 0
    for word in arg.split(","):
        if word not in table:
            raise param_error(f'Unknown event type "{word}"')
        mask |= 1 << table.index(word)
    return mask


def _ct_event_names(mask: int, table: tuple[str, ...]) -> str:
    return ",".join(w for i, w in enumerate(table) if mask & (1 << i))


class Notrack(Ct):
    """``-j NOTRACK``: CT with --notrack and the alias flag, no options."""

    NAME = "NOTRACK"
    REAL_NAME = "CT"
    OPTIONS: ClassVar[tuple[Opt, ...]] = ()
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__()
        self.flags = CT_NOTRACK | CT_NOTRACK_ALIAS


class TtlTarget(Target):
    """``-j TTL --ttl-set/--ttl-dec/--ttl-inc``."""

    NAME = "TTL"
    _ANY = 0b111
    OPTIONS = (Opt("ttl-set", 0, T_UINT8, excl=_ANY), Opt("ttl-dec", 2, T_UINT8, excl=_ANY, min=1),
               Opt("ttl-inc", 1, T_UINT8, excl=_ANY, min=1))
    TABLE = "mangle"
    SET, INC, DEC = 0, 1, 2

    __slots__ = ("mode", "ttl")

    def __init__(self) -> None:
        super().__init__()
        self.mode = self.SET
        self.ttl = 0

    def parse(self, cb: OptCall) -> None:
        option_parse(cb)
        self.xflags = cb.xflags
        self.ttl = cb.val
        self.mode = cb.entry.id

    def fcheck(self) -> None:
        if not self.xflags & self._ANY:
            raise param_error("TTL: You must specify an action")

    def save(self, ip: IpSpec) -> str:
        return f" {('--ttl-set', '--ttl-inc', '--ttl-dec')[self.mode]} {self.ttl}"

    def print_(self, ip: IpSpec, numeric: bool) -> str:
        word = ("set to", "increment by", "decrement by")[self.mode]
        return f" TTL {word} {self.ttl}"

    def target(self, pkt: PktView) -> int:
        if self.mode == self.SET:
            pkt.ttl = self.ttl
        elif self.mode == self.INC:
            pkt.ttl = min(255, pkt.ttl + self.ttl)
        else:
            pkt.ttl = max(0, pkt.ttl - self.ttl)
        return XT_CONTINUE


TARGETS: dict[str, type[Target]] = {
    cls.NAME: cls for cls in (Reject, Log, Snat, Dnat, Masquerade, Redirect, MarkTarget,
                              Connmark, Ct, Notrack, TtlTarget)
}

# target extensions iptables 1.8.9 knows but usernet does not implement: a chain
# may not take their names (-N), and -j NAME reports them as not loadable.
OTHER_TARGETS = frozenset((
    "AUDIT", "CHECKSUM", "CLASSIFY", "CONNSECMARK", "DSCP", "HMARK", "IDLETIMER", "LED",
    "NFLOG", "NFQUEUE", "RATEEST", "SECMARK", "SET", "SYNPROXY", "TCPMSS", "TCPOPTSTRIP",
    "TEE", "TOS", "TPROXY", "TRACE", "CLUSTERIP", "ECN", "NETMAP", "ULOG", "standard",
))
