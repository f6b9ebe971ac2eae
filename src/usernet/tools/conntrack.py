"""``conntrack`` (conntrack-tools 1.4.7) on the caller's namespace: list
(``-L``), delete (``-D``), flush (``-F``) and count (``-C``) the connection
tracking table, with the tool's filters, output lines and messages.

The lines are libnetfilter_conntrack's default format::

    tcp      6 431999 ESTABLISHED src=... dst=... sport=... dport=... src=...
    dst=... sport=... dport=... [ASSURED] mark=0 use=1

(one line), and the summary goes to stderr: ``conntrack v1.4.7
(conntrack-tools): N flow entries have been shown.``  Entries are listed
oldest first (the kernel's order is its hash's).  The commands that change
or watch entries (-I, -U, -G, -E, -S) are not available.
"""

from __future__ import annotations

from ..netfilter.conntrack import (
    NSEC,
    NfConn,
    ct_destroy,
    ct_entries,
    ct_flush,
    ct_net,
)
from ..netfilter.conntrack_proto import IPS_DST_NAT_DONE, IPS_SRC_NAT_DONE, TCP_STATE_NAMES
from . import Proc

VERSION = "conntrack v1.4.7 (conntrack-tools)"
HINT = "Try `conntrack -h' or 'conntrack --help' for more information.\n"
PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 33: "dccp", 47: "gre", 132: "sctp",
               136: "udplite", 58: "icmpv6"}
# libnetfilter_conntrack prints TCP state 9 (SYN_SENT2) under its old name
STATE_NAMES = (*TCP_STATE_NAMES[:9], "LISTEN")
STATUS_BITS = {"EXPECTED": 1, "SEEN_REPLY": 2, "ASSURED": 4, "FIXED_TIMEOUT": 1 << 10,
               "UNSET": 0}
PORT_PROTOS = (6, 17, 33, 132, 136)
# long option -> (short letter, takes an argument: 0 no, 1 yes, 2 optional)
LONG_OPTS = {
    "dump": ("L", 2), "create": ("I", 2), "delete": ("D", 2), "update": ("U", 2),
    "get": ("G", 2), "flush": ("F", 2), "event": ("E", 2), "counter": ("C", 2),
    "stats": ("S", 0), "version": ("V", 0), "help": ("h", 0),
    "orig-src": ("s", 1), "src": ("s", 1), "orig-dst": ("d", 1), "dst": ("d", 1),
    "reply-src": ("r", 1), "reply-dst": ("q", 1), "protonum": ("p", 1),
    "timeout": ("t", 1), "status": ("u", 1), "zero": ("z", 0), "event-mask": ("e", 1),
    "mark": ("m", 1), "secmark": ("c", 1), "family": ("f", 1), "src-nat": ("n", 2),
    "dst-nat": ("g", 2), "any-nat": ("j", 2), "output": ("o", 1), "buffer-size": ("b", 1),
    "zone": ("w", 1), "label": ("l", 1), "mask-src": ("{", 1), "mask-dst": ("}", 1),
}
SHORT_OPTS = {"L": 2, "I": 2, "D": 2, "U": 2, "G": 2, "F": 2, "E": 2, "C": 2, "S": 0,
              "V": 0, "h": 0, "s": 1, "d": 1, "r": 1, "q": 1, "p": 1, "t": 1, "u": 1,
              "z": 0, "e": 1, "m": 1, "c": 1, "f": 1, "n": 2, "g": 2, "j": 2, "o": 1,
              "b": 1, "w": 1, "l": 1}
COMMANDS = "LIDUGFECSVh"
# options only -p of these protocols brings (each protocol's extension)
PROTO_LONG_OPTS = {
    "orig-port-src": "sport", "sport": "sport", "orig-port-dst": "dport", "dport": "dport",
    "reply-port-src": "rsport", "reply-port-dst": "rdport",
}
TCP_ONLY_OPTS = {"state": "state"}
ICMP_OPTS = {"icmp-type": "itype", "icmp-code": "icode", "icmp-id": "iid"}
TABLES = ("conntrack", "expect", "dying", "unconfirmed")
USAGE = (
    "Command line interface for the connection tracking system. Version 1.4.7\n"
    "Usage: conntrack [commands] [options]\n\nCommands:\n"
    "  -L [table] [options]\t\tList conntrack or expectation table\n"
    "  -G [table] parameters\t\tGet conntrack or expectation\n"
    "  -D [table] parameters\t\tDelete conntrack or expectation\n"
    "  -I [table] parameters\t\tCreate a conntrack or expectation\n"
    "  -U [table] parameters\t\tUpdate a conntrack\n"
    "  -E [table] [options]\t\tShow events\n"
    "  -F [table]\t\t\tFlush table\n"
    "  -C [table]\t\t\tShow counter\n"
    "  -S\t\t\t\tShow statistics\n\n"
    "Tables: conntrack, expect, dying, unconfirmed\n\n"
    "Conntrack parameters and options:\n"
    "  -n, --src-nat ip\t\t\tsource NAT ip\n"
    "  -g, --dst-nat ip\t\t\tdestination NAT ip\n"
    "  -j, --any-nat ip\t\t\tsource or destination NAT ip\n"
    "  -m, --mark mark\t\t\tSet mark\n"
    "  -c, --secmark secmark\t\t\tSet selinux secmark\n"
    "  -e, --event-mask eventmask\t\tEvent mask, eg. NEW,DESTROY\n"
    "  -z, --zero \t\t\t\tZero counters while listing\n"
    "  -o, --output type[,...]\t\tOutput format, eg. xml\n"
    "  -l, --label label[,...]\t\tconntrack labels\n\n"
    "Expectation parameters and options:\n"
    "  --tuple-src ip\tSource address in expect tuple\n"
    "  --tuple-dst ip\tDestination address in expect tuple\n\n"
    "Updating parameters and options:\n"
    "  --label-add label\tAdd label\n"
    "  --label-del label\tDelete label\n\n"
    "Common parameters and options:\n"
    "  -s, --src, --orig-src ip\t\tSource address from original direction\n"
    "  -d, --dst, --orig-dst ip\t\tDestination address from original direction\n"
    "  -r, --reply-src ip\t\tSource addres from reply direction\n"
    "  -q, --reply-dst ip\t\tDestination address from reply direction\n"
    "  -p, --protonum proto\t\tLayer 4 Protocol, eg. 'tcp'\n"
    "  -f, --family proto\t\tLayer 3 Protocol, eg. 'ipv6'\n"
    "  -t, --timeout timeout\t\tSet timeout\n"
    "  -u, --status status\t\tSet status, eg. ASSURED\n"
    "  -w, --zone value\t\tSet conntrack zone\n"
    "  --orig-zone value\t\tSet zone for original direction\n"
    "  --reply-zone value\t\tSet zone for reply direction\n"
    "  -b, --buffer-size\t\tNetlink socket buffer size\n"
    "  --mask-src ip\t\t\tSource mask address\n"
    "  --mask-dst ip\t\t\tDestination mask address\n\n"
)


class ParamError(Exception):
    """exit_error(PARAMETER_PROBLEM, ...): the message, then the hint; rc 2."""


class Options:
    """What the command line asked for."""

    __slots__ = ("command", "extended", "family", "filters", "mark", "nat", "proto", "show_id",
                 "status", "table")

    def __init__(self) -> None:
        self.command = ""
        self.table = "conntrack"
        self.proto: int | None = None
        self.family = 2
        self.filters: dict[str, int] = {}
        self.mark: tuple[int, int] | None = None
        self.status: int | None = None
        self.nat = ""  # "n", "g", "j" or a combination
        self.extended = False
        self.show_id = False


def main(proc: Proc, argv: list[str]) -> int:
    try:
        o = _parse(argv)
    except ParamError as exc:
        proc.err(f"{VERSION}: {exc}\n{HINT}")
        return 2
    if not o.command or o.command == "h":
        proc.out(USAGE)
        return 0
    if o.command == "V":
        proc.out(VERSION + "\n")
        return 0
    if o.command not in "LDFC":
        proc.err(f"{VERSION}: Operation not supported\n")
        return 1
    return _run(proc, o)


# -- the command line ---------------------------------------------------------------------


def _parse(argv: list[str]) -> Options:
    o = Options()
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if word.startswith("--") and len(word) > 2:
            name, eq, value = word[2:].partition("=")
            letter, arg_kind, key = _long(o, name, word)
            arg: str | None = value if eq else None
        elif word.startswith("-") and len(word) > 1:
            letter = word[1]
            if letter not in SHORT_OPTS:
                raise ParamError(f"unknown option `{word}'")
            arg_kind, key = SHORT_OPTS[letter], ""
            arg = word[2:] or None
        else:
            raise ParamError(f"unknown option `{word}'")  # a stray word (getopt's '?')
        if arg_kind == 1 and arg is None:
            if i >= len(argv):
                raise ParamError(f"option `{word}' requires an argument")
            arg = argv[i]
            i += 1
        elif arg_kind == 2 and arg is None and i < len(argv) and not argv[i].startswith("-"):
            arg = argv[i]
            i += 1
        _option(o, letter, key, arg)
    return o


def _long(o: Options, name: str, word: str) -> tuple[str, int, str]:
    """(letter, argument kind, proto key) of a long option, prefixes allowed."""
    table: dict[str, tuple[str, int, str]] = {k: (v[0], v[1], "") for k, v in LONG_OPTS.items()}
    if o.proto in PORT_PROTOS:
        table.update({k: ("P", 1, v) for k, v in PROTO_LONG_OPTS.items()})
    if o.proto == 6:
        table.update({k: ("P", 1, v) for k, v in TCP_ONLY_OPTS.items()})
    if o.proto == 1:
        table.update({k: ("P", 1, v) for k, v in ICMP_OPTS.items()})
    if name in table:
        return table[name]
    hits = [k for k in table if k.startswith(name)]
    if len({table[k] for k in hits}) == 1 and name:
        return table[hits[0]]
    raise ParamError(f"unknown option `{word}'")


def _option(o: Options, letter: str, key: str, arg: str | None) -> None:
    if letter in COMMANDS:
        if o.command:
            raise ParamError("Invalid commands combination")
        o.command = letter
        if arg is not None and letter in "LIDUGFEC":
            if arg not in TABLES:
                raise ParamError(f"Bad parameter `{arg}'")
            o.table = arg
        return
    if letter == "P":
        o.filters[key] = _proto_value(key, arg or "")
    elif letter == "p":
        o.proto = _protocol(arg or "")
    elif letter in "sdrq":
        o.filters[letter] = _address(arg or "")
    elif letter == "m":
        value, _, mask = (arg or "").partition("/")
        o.mark = (_strtoul(value), _strtoul(mask) if mask else 0xFFFFFFFF)
    elif letter == "u":
        o.status = _status(arg or "")
    elif letter == "f":
        o.family = _family(arg or "")
    elif letter in "ngj":
        o.nat += letter
        if arg is not None:
            o.filters["nat_" + letter] = _address(arg.partition(":")[0])
    elif letter == "o":
        for word in (arg or "").split(","):
            if word not in ("extended", "id", "xml", "timestamp", "ktimestamp", "labels",
                            "userspace"):
                raise ParamError(f"Bad parameter `{arg}'")
            o.extended |= word == "extended"
            o.show_id |= word == "id"


def _strtoul(text: str) -> int:
    """strtoul(text, NULL, 0) as the tool calls it: what parses, else 0."""
    t = text.strip()
    base = 10
    if t[:2].lower() == "0x":
        base, t = 16, t[2:]
    elif t.startswith("0") and len(t) > 1:
        base, t = 8, t[1:]
    digits = ""
    for ch in t:
        if ch.lower() in "0123456789abcdef"[:base]:
            digits += ch
        else:
            break
    return int(digits, base) & 0xFFFFFFFF if digits else 0


def _protocol(arg: str) -> int:
    by_name = {v: k for k, v in PROTO_NAMES.items()}
    if arg.lower() in by_name:
        return by_name[arg.lower()]
    if arg.isdigit() and int(arg) < 256:
        return int(arg)
    raise ParamError(f"`{arg}' unsupported protocol")


def _address(arg: str) -> int:
    """inet_aton, as the tool parses -s/-d/-r/-q."""
    import socket

    try:
        return int.from_bytes(socket.inet_aton(arg), "big")
    except OSError:
        raise ParamError(f"Invalid IP address `{arg}'") from None


def _status(arg: str) -> int:
    mask = 0
    for word in arg.split(","):
        if word not in STATUS_BITS:
            raise ParamError(f"Bad parameter `{word}'")
        mask |= STATUS_BITS[word]
    return mask


def _family(arg: str) -> int:
    if arg == "ipv4":
        return 2
    if arg == "ipv6":
        return 10
    raise ParamError(f"`{arg}' unsupported protocol")


def _proto_value(key: str, arg: str) -> int:
    if key == "state":
        if arg not in STATE_NAMES:
            raise ParamError(f"unknown TCP state `{arg}'")
        return STATE_NAMES.index(arg)
    return _strtoul(arg) & 0xFFFF


# -- running it -----------------------------------------------------------------------------


def _run(proc: Proc, o: Options) -> int:
    net = proc.net
    ctn = ct_net(net)
    now = net.kernel.sched.now
    if o.table != "conntrack":
        if o.command == "L":
            what = "expectations" if o.table == "expect" else "flow entries"
            proc.err(f"{VERSION}: 0 {what} have been shown.\n")
        elif o.command == "C":
            proc.out("0\n")
        return 0
    if o.command == "C":
        proc.out(f"{len(ct_entries(ctn, now))}\n")
        return 0
    if o.command == "F":
        ct_flush(ctn)
        proc.err(f"{VERSION}: connection tracking table has been emptied.\n")
        return 0
    hits = [ct for ct in ct_entries(ctn, now) if _selected(o, ct)]
    for ct in hits:
        proc.out(format_entry(ct, now, o.extended, o.show_id) + "\n")
    if o.command == "D":
        for ct in hits:
            ct_destroy(ctn, ct)
        proc.err(f"{VERSION}: {len(hits)} flow entries have been deleted.\n")
        return 0 if hits else 1
    proc.err(f"{VERSION}: {len(hits)} flow entries have been shown.\n")
    return 0


def _selected(o: Options, ct: NfConn) -> bool:
    if o.family != 2:
        return False
    orig, repl = ct.orig, ct.repl
    if o.proto is not None and orig[2] != o.proto:
        return False
    f = o.filters
    checks = (("s", orig[0]), ("d", orig[1]), ("r", repl[0]), ("q", repl[1]),
              ("sport", orig[3]), ("dport", orig[4]), ("rsport", repl[3]),
              ("rdport", repl[4]), ("state", ct.tcp_state), ("iid", orig[3]),
              ("itype", orig[4] >> 8), ("icode", orig[4] & 0xFF))
    for key, value in checks:
        if key in f and f[key] != value:
            return False
    if o.mark is not None and ct.mark & o.mark[1] != o.mark[0]:
        return False
    if o.status is not None and ct.status & o.status != o.status:
        return False
    return _nat_selected(o, ct) if o.nat else True


def _nat_selected(o: Options, ct: NfConn) -> bool:
    """filter_nat: libnetfilter_conntrack's IS_SNAT/IS_SPAT and IS_DNAT/IS_DPAT."""
    orig, repl, status = ct.orig, ct.repl, ct.status
    snat = bool(status & IPS_SRC_NAT_DONE) and (repl[1] != orig[0] or repl[4] != orig[3])
    dnat = bool(status & IPS_DST_NAT_DONE) and (repl[0] != orig[1] or repl[3] != orig[4])
    f = o.filters
    if "nat_n" in f or "nat_j" in f:
        snat = snat and repl[1] == f.get("nat_n", f.get("nat_j"))
    if "nat_g" in f or "nat_j" in f:
        dnat = dnat and repl[0] == f.get("nat_g", f.get("nat_j"))
    if "j" in o.nat:
        return snat or dnat
    if "n" in o.nat and "g" in o.nat:
        return snat and dnat
    return snat if "n" in o.nat else dnat


def _ip(addr: int) -> str:
    return f"{addr >> 24}.{(addr >> 16) & 255}.{(addr >> 8) & 255}.{addr & 255}"


def _tuple_text(t: tuple[int, ...]) -> str:
    out = f"src={_ip(t[0])} dst={_ip(t[1])} "
    if t[2] == 1:
        return out + f"type={t[4] >> 8} code={t[4] & 255} id={t[3]} "
    if t[2] in PORT_PROTOS:
        return out + f"sport={t[3]} dport={t[4]} "
    return out


def format_entry(ct: NfConn, now: int, extended: bool = False, show_id: bool = False) -> str:
    """One entry as ``conntrack -L`` prints it (nfct_snprintf, NFCT_O_DEFAULT)."""
    proto = ct.orig[2]
    out = "ipv4     2 " if extended else ""
    out += f"{PROTO_NAMES.get(proto, 'unknown'):<8} {proto} "
    out += f"{max(0, ct.timeout - now) // NSEC} "
    if proto == 6:
        out += f"{STATE_NAMES[ct.tcp_state]} "
    out += _tuple_text(ct.orig)
    if not ct.status & 2:  # IPS_SEEN_REPLY
        out += "[UNREPLIED] "
    out += _tuple_text(ct.repl)
    if ct.status & 4:  # IPS_ASSURED
        out += "[ASSURED] "
    out += f"mark={ct.mark} "
    if show_id:
        out += f"id={ct.id} "
    return out + "use=1"
