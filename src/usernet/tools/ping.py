"""iputils ``ping`` (version 20221126) over a raw ICMP socket, in virtual time.

Options, texts, exit statuses and the main loop follow iputils' ``ping.c`` and
``ping_common.c``, as the oracle kernel ran it (root, so a SOCK_RAW socket):

* The source address comes from a route lookup standing in for the UDP
  ``connect()`` probe; its errors end ping with status 2 ("ping: connect:
  ...").  A broadcast destination needs ``-b``.
* Probes go out every ``-i`` seconds (iputils' token bucket, in ms).  After
  the ``-c``-th probe an exit timer is armed once: ``-W`` when nothing came
  back yet, else twice the largest RTT (at least the interval).  ``-w`` arms a
  deadline instead and keeps probing; ping also stops as soon as replies plus
  errors reach ``-c``, or at the first error under ``-w``.
* The kernel has no socket error queue: an ICMP error quoting one of our
  probes, found in the socket's receive queue, stands for the IP_RECVERR
  message (printed as "From ADDR icmp_seq=N TEXT", counted in "+N errors");
  a redirect prints from the normal path ("From ADDR: icmp_seq=N ...").
* Waiting is ``sched.run_until``: time only moves with the kernel's events,
  so RTTs and the statistics are virtual and reproducible.
"""

from __future__ import annotations

import errno
import ipaddress
import math
import os
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..errors import KernelError
from ..ipv4.datapath_state import sysctl_int
from ..ipv4.fib import RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST
from ..ipv4.fib_frontend import inet_addr_type
from ..ipv4.ip_output import IP_PMTUDISC_DO, IP_PMTUDISC_DONT, IP_PMTUDISC_WANT
from ..ipv4.raw import RawSocket
from ..ipv4.route import RTCF_BROADCAST
from ..sched import NSEC_PER_MSEC, NSEC_PER_SEC, NSEC_PER_USEC
from ..wait import task_greenlet, wait_event, yield_now
from ..wire.checksum import ip_checksum
from ..wire.icmp import (
    ICMP_DEST_UNREACH,
    ICMP_ECHO,
    ICMP_ECHOREPLY,
    ICMP_FRAG_NEEDED,
    ICMP_PARAMETERPROB,
    ICMP_REDIRECT,
    ICMP_SOURCE_QUENCH,
    ICMP_TIME_EXCEEDED,
    icmp_message,
)
from ..wire.ipv4 import addr_str
from . import Proc, ToolExit

USAGE = """
Usage
  ping [options] <destination>

Options:
  <destination>      dns name or ip address
  -a                 use audible ping
  -A                 use adaptive ping
  -B                 sticky source address
  -c <count>         stop after <count> replies
  -C                 call connect() syscall on socket creation
  -D                 print timestamps
  -d                 use SO_DEBUG socket option
  -e <identifier>    define identifier for ping session, default is random for
                     SOCK_RAW and kernel defined for SOCK_DGRAM
                     Imply using SOCK_RAW (for IPv4 only for identifier 0)
  -f                 flood ping
  -h                 print help and exit
  -I <interface>     either interface name or address
  -i <interval>      seconds between sending each packet
  -L                 suppress loopback of multicast packets
  -l <preload>       send <preload> number of packages while waiting replies
  -m <mark>          tag the packets going out
  -M <pmtud opt>     define mtu discovery, can be one of <do|dont|want>
  -n                 no dns name resolution
  -O                 report outstanding replies
  -p <pattern>       contents of padding byte
  -q                 quiet output
  -Q <tclass>        use quality of service <tclass> bits
  -s <size>          use <size> as number of data bytes to be sent
  -S <size>          use <size> as SO_SNDBUF socket option value
  -t <ttl>           define time to live
  -U                 print user-to-user latency
  -v                 verbose output
  -V                 print version and exit
  -w <deadline>      reply wait <deadline> in seconds
  -W <timeout>       time to wait for response

IPv4 options:
  -4                 use IPv4
  -b                 allow pinging broadcast
  -R                 record route
  -T <timestamp>     define timestamp, can be one of <tsonly|tsandaddr|tsprespec>

IPv6 options:
  -6                 use IPv6
  -F <flowlabel>     define flow label, default is random
  -N <nodeinfo opt>  use icmp6 node info query, try <help> as argument

For more details see ping(8).
"""

VERSION = ("ping from iputils 20221126\nlibcap: yes, IDN: yes, NLS: no, error.h: yes, "
           "getrandom(): yes, __fpending(): yes\n")

INT_MAX = 2**31 - 1
UINT_MAX = 2**32 - 1
LONG_MAX = 2**63 - 1
ULONG_MAX = 2**64 - 1
MAXWAIT_MS = 10_000  # default -W
MININTERVAL = 10  # ms
MAX_DUP_CHK = 0x10000
DEFDATALEN = 56
TIMEVAL = struct.Struct("<qq")  # struct timeval on x86_64: tv_sec, tv_usec
# The oracle runs each command for at most 15 s; a ping that nothing would
# ever stop (no -c/-w, or -W 0 waiting forever) is cut there, status 124.
ORACLE_TIMEOUT_NS = 15 * NSEC_PER_SEC
MAX_UNBOUNDED_PROBES = 100_000  # -i 0 without -c/-w: the wall clock matters too
# ICMP_FILTER: what the raw socket accepts before and after the first error.
FILTER_INITIAL = frozenset({ICMP_ECHOREPLY, ICMP_DEST_UNREACH, ICMP_SOURCE_QUENCH,
                            ICMP_REDIRECT, ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB})
FILTER_AFTER_ERROR = frozenset({ICMP_ECHOREPLY, ICMP_SOURCE_QUENCH, ICMP_REDIRECT})
ERRQUEUE_TYPES = frozenset({ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB})

# -- C number parsing (strtol_or_err, strtoul_or_err, ping_strtod) ---------------------

_C_SPACE = " \t\n\v\f\r"
_INT_RE = re.compile(r"[ \t\n\v\f\r]*([+-]?)([0-9]+)")
_FLOAT_RE = re.compile(
    r"[ \t\n\v\f\r]*[+-]?(?:"
    r"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    r"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?"
    r"|[nN][aA][nN](?:\([0-9A-Za-z_]*\))?)")
DBL_MIN = 2.2250738585072014e-308


def _c_strtol(text: str, unsigned: bool) -> tuple[int, bool, bool]:
    """strtol/strtoul in base 10: (value, ERANGE, trailing garbage or no digits)."""
    m = _INT_RE.match(text)
    if m is None:
        return 0, False, True
    mag, neg = int(m.group(2)), m.group(1) == "-"
    garbage = m.end() != len(text)
    if unsigned:
        if mag > ULONG_MAX:
            return ULONG_MAX, True, garbage
        return (-mag) & ULONG_MAX if neg else mag, False, garbage
    value = -mag if neg else mag
    if not -LONG_MAX - 1 <= value <= LONG_MAX:
        return (LONG_MAX if value > 0 else -LONG_MAX - 1), True, garbage
    return value, False, garbage


def num_arg(text: str, lo: int, hi: int, unsigned: bool = False) -> int:
    """iputils' strtol_or_err / strtoul_or_err with "invalid argument"."""
    value, erange, garbage = _c_strtol(text, unsigned)
    if erange:
        raise ToolExit(1, f"ping: invalid argument: '{text}': Numerical result out of range")
    if garbage or not text:
        raise ToolExit(1, f"ping: invalid argument: '{text}'")
    if not lo <= value <= hi:
        raise ToolExit(1, f"ping: invalid argument: '{text}': out of range: "
                          f"{lo} <= value <= {hi}")
    return value


def c_strtod(text: str) -> tuple[float, int, bool]:
    """strtod: (value, characters consumed, ERANGE)."""
    m = _FLOAT_RE.match(text)
    if m is None:
        return 0.0, 0, False
    lit = m.group().strip(_C_SPACE)
    body = lit.lstrip("+-").lower()
    sign = -1.0 if lit.startswith("-") else 1.0
    if body.startswith(("inf", "nan")):
        return math.copysign(float(body[:3]), sign), m.end(), False
    hexa = body.startswith("0x")
    mantissa = body.split("p" if hexa else "e")[0].removeprefix("0x")
    try:
        value = float.fromhex(lit) if hexa else float(lit)
    except OverflowError:
        value = math.copysign(math.inf, sign)
    nonzero = re.search("[1-9a-f]" if hexa else "[1-9]", mantissa) is not None
    return value, m.end(), math.isinf(value) or (nonzero and abs(value) < DBL_MIN)


def ping_strtod(proc: Proc, text: str, what: str) -> float:
    """iputils' ping_strtod: garbage only warns; inf, nan and subnormals are fatal."""
    if not text:
        raise ToolExit(2, f"ping: {what}: : No such file or directory")
    value, end, erange = c_strtod(text)
    if erange or end == 0 or end != len(text):
        proc.err(f"ping: option argument contains garbage: {text[end:]}\n"
                 "ping: this will become fatal error in the future\n")
    if not math.isfinite(value) or (value != 0 and abs(value) < DBL_MIN):
        raise ToolExit(2, f"ping: {what}: {text}: Numerical result out of range")
    return value


def _c_hex_or_dec(text: str) -> tuple[int, bool]:
    """strtol with base 16 after a 0x prefix, else 10: (value, fully consumed)."""
    base, digits = (16, text[2:]) if text[:2] in ("0x", "0X") else (10, text)
    pat = r"[ \t\n\v\f\r]*[+-]?[0-9a-fA-F]+" if base == 16 else r"[ \t\n\v\f\r]*[+-]?[0-9]+"
    m = re.match(pat, digits)
    if m is None:
        return 0, not digits
    return int(m.group().strip(_C_SPACE), base), m.end() == len(digits)


# -- options ------------------------------------------------------------------------

OPTSTRING = "h?4bRT:6F:N:aABc:CdDe:fi:I:l:Lm:M:nOp:qQ:rs:S:t:UvVw:W:"
_WITH_ARG = frozenset(c for c, nxt in zip(OPTSTRING, OPTSTRING[1:] + " ", strict=True)
                      if nxt == ":" and c != ":")
_LETTERS = frozenset(OPTSTRING.replace(":", ""))


def getopt(argv: list[str], operands: list[str]) -> Iterator[tuple[str, str]]:
    """GNU getopt with permutation: yields (option, argument) in order; operands
    are collected as they are passed.  Errors print getopt's text and the usage."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            operands.extend(argv[i:])
            return
        if not arg.startswith("-") or arg == "-":
            operands.append(arg)
            continue
        j = 1
        while j < len(arg):
            c = arg[j]
            j += 1
            if c not in _LETTERS:
                raise ToolExit(2, f"ping: invalid option -- '{c}'\n{USAGE}")
            if c not in _WITH_ARG:
                yield c, ""
                continue
            if j < len(arg):
                yield c, arg[j:]
            elif i < len(argv):
                i += 1
                yield c, argv[i - 1]
            else:
                raise ToolExit(2, f"ping: option requires an argument -- '{c}'\n{USAGE}")
            break


@dataclass
class Opts:
    """struct ping_rts's settings, as the options left them."""

    count: int = 0
    interval: int = 1000  # ms
    opt_interval: bool = False
    linger: int = MAXWAIT_MS  # ms
    deadline: int = 0  # s
    datalen: int = DEFDATALEN
    ttl: int = 0
    opt_ttl: bool = False
    device: str | None = None
    source: int = 0
    strict_source: bool = False
    quiet: bool = False
    numeric: bool = False
    broadcast: bool = False
    pmtudisc: int = -1
    mark: int = 0
    opt_mark: bool = False
    ident: int = -1
    preload: int = 1
    tos: int = 0
    pattern: str | None = None
    family: int = 0  # 4, 6 or 0 (either)
    timestamps: bool = False
    audible: bool = False
    outstanding: bool = False
    verbose: bool = False
    flood: bool = False
    rroute: bool = False
    timestamp_opt: bool = False


_FLAG_ATTRS = {"b": "broadcast", "q": "quiet", "n": "numeric", "D": "timestamps",
               "a": "audible", "O": "outstanding", "v": "verbose"}
# option: (attribute, min, max, unsigned)
_NUM_ATTRS: dict[str, tuple[str, int, int, bool]] = {
    "c": ("count", 1, LONG_MAX, False), "s": ("datalen", 0, INT_MAX, False),
    "t": ("ttl", 0, 255, False), "w": ("deadline", 0, INT_MAX, False),
    "m": ("mark", 0, UINT_MAX, True), "l": ("preload", 1, MAX_DUP_CHK, False),
    "e": ("ident", 0, 0xFFFF, True), "S": ("", 1, INT_MAX, False),
}
_PMTUDISC = {"do": IP_PMTUDISC_DO, "dont": IP_PMTUDISC_DONT, "want": IP_PMTUDISC_WANT}


def _set_option(proc: Proc, o: Opts, c: str, val: str) -> None:
    if c in _FLAG_ATTRS:
        setattr(o, _FLAG_ATTRS[c], True)
    elif c in _NUM_ATTRS:
        attr, lo, hi, unsigned = _NUM_ATTRS[c]
        value = num_arg(val, lo, hi, unsigned)
        if attr:
            setattr(o, attr, value)
        o.opt_ttl |= c == "t"
        o.opt_mark |= c == "m"
    elif c in "46":
        if o.family and o.family != int(c):
            raise ToolExit(2, "ping: only one -4 or -6 option may be specified")
        o.family = int(c)
    elif c in _SPECIAL:
        _SPECIAL[c](proc, o, val)
    # -A -B -C -d -L -N -r -U: accepted, no effect here


def _opt_interval(proc: Proc, o: Opts, val: str) -> None:
    value = ping_strtod(proc, val, "bad timing interval")
    if value > INT_MAX / 1000:
        raise ToolExit(2, f"ping: bad timing interval: {val}")
    o.interval = int(value * 1000)
    o.opt_interval = True


def _opt_linger(proc: Proc, o: Opts, val: str) -> None:
    value = ping_strtod(proc, val, "bad linger time")
    if value < 0 or value > INT_MAX / 1000:
        raise ToolExit(2, f"ping: bad linger time: {val}")
    o.linger = int(value * 1000)


def _opt_iface(proc: Proc, o: Opts, val: str) -> None:
    if ":" in val:  # an IPv6 source, with an optional %device: unused by IPv4
        addr6, _, scope = val.partition("%")
        try:
            ipaddress.IPv6Address(addr6)
        except ValueError:
            raise ToolExit(2, f"ping: invalid source address: {val}") from None
        o.device = scope or o.device
        o.strict_source = True
        return
    addr = inet_pton4(val)
    if addr is not None:
        o.source, o.strict_source = addr, True
    else:
        o.device = val


def _opt_pmtu(proc: Proc, o: Opts, val: str) -> None:
    if val not in _PMTUDISC:
        raise ToolExit(2, f"ping: invalid -M argument: {val}")
    o.pmtudisc = _PMTUDISC[val]


def _opt_tos(proc: Proc, o: Opts, val: str) -> None:
    tos, whole = _c_hex_or_dec(val)
    if not whole:
        raise ToolExit(2, f"ping: bad TOS value: {val}")
    if tos > 255:
        raise ToolExit(2, f"ping: the decimal value of TOS bits must be in range 0-255: {tos}")
    o.tos = tos


def _opt_rr_ts(proc: Proc, o: Opts, val: str) -> None:
    if (o.timestamp_opt and not val) or (o.rroute and val):
        raise ToolExit(2, "ping: only one of -T or -R may be used")
    if not val:
        o.rroute = True
    elif val not in ("tsonly", "tsandaddr", "tsprespec"):
        raise ToolExit(2, f"ping: invalid timestamp type: {val}")
    else:
        o.timestamp_opt = True


def _opt_flow(proc: Proc, o: Opts, val: str) -> None:
    """parseflow(): validated only, IPv6 has no use here."""
    flow, whole = _c_hex_or_dec(val)
    if not whole:
        raise ToolExit(2, f"ping: bad value for flowinfo: {val}")
    if flow & 0xFFFFFFFF & ~0xFFFFF:  # (int)strtoul(): the sign spreads
        raise ToolExit(2, f"ping: flow value is greater than 20 bits: {val}")


def _opt_usage(proc: Proc, o: Opts, val: str) -> None:
    raise ToolExit(2, USAGE)


def _opt_version(proc: Proc, o: Opts, val: str) -> None:
    proc.out(VERSION)
    raise ToolExit(0)


def _opt_pattern(proc: Proc, o: Opts, val: str) -> None:
    o.pattern = val


def _opt_flood(proc: Proc, o: Opts, val: str) -> None:
    o.flood = o.numeric = True


_SPECIAL: dict[str, Callable[[Proc, Opts, str], None]] = {
    "h": _opt_usage, "i": _opt_interval, "I": _opt_iface, "M": _opt_pmtu,
    "W": _opt_linger, "Q": _opt_tos, "p": _opt_pattern, "R": _opt_rr_ts, "T": _opt_rr_ts,
    "F": _opt_flow, "V": _opt_version, "f": _opt_flood,
}
_SPECIAL["?"] = _opt_usage


def parse_args(proc: Proc, argv: list[str]) -> tuple[Opts, list[str]]:
    o = Opts()
    operands: list[str] = []
    for c, val in getopt(argv, operands):
        _set_option(proc, o, c, val)
    if not operands:
        raise ToolExit(1, "ping: usage error: Destination address required")
    return o, operands


# -- addresses ------------------------------------------------------------------------

_ATON_PART = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")


def inet_aton(text: str) -> int | None:
    """glibc's inet_aton_exact: a, a.b, a.b.c or a.b.c.d; octal and hex parts."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        if not _ATON_PART.fullmatch(part):
            return None
        values.append(int(part, 0) if not part.startswith("0") or len(part) == 1
                      or part[1] in "xX" else int(part, 8))
    last_bits = 8 * (5 - len(values))
    if any(v > 0xFF for v in values[:-1]) or values[-1] >= 1 << last_bits:
        return None
    addr = values[-1]
    for i, v in enumerate(values[:-1]):
        addr |= v << (24 - 8 * i)
    return addr


def inet_pton4(text: str) -> int | None:
    """inet_pton(AF_INET): exactly four decimal parts."""
    if not re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,3}){3}", text):
        return None
    parts = [int(p) for p in text.split(".")]
    if any(p > 255 for p in parts):
        return None
    return (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]


def resolve(o: Opts, target: str) -> tuple[str, int]:
    """getaddrinfo as the oracle host answers: numeric IPv4 and "localhost" only.
    Returns (name printed in the header and statistics, address)."""
    addr = inet_aton(target)
    if addr is not None:
        if o.family == 6:
            raise ToolExit(2, f"ping: {target}: Address family for hostname not supported")
        o.numeric = True
        return target, addr
    if target == "localhost" and o.family != 6:
        return target, 0x7F000001
    if target == "localhost":
        raise ToolExit(2, f"ping: {target}: Address family for hostname not supported")
    raise ToolExit(2, f"ping: {target}: Name or service not known")


def fill_pattern(proc: Proc, o: Opts, data: bytearray) -> None:
    """iputils' fill(): -p's up to 16 hex bytes repeated over the payload."""
    pat_text = o.pattern or ""
    for i, ch in enumerate(pat_text):
        if ch not in "0123456789abcdefABCDEF":
            raise ToolExit(2, f"ping: patterns must be specified as hex digits: {pat_text[i:]}")
    pat = [int(pat_text[i:i + 2], 16) for i in range(0, min(len(pat_text), 32), 2)]
    # iputils writes whole copies while the offset is <= datalen - len + 8
    stop = 0 if len(data) < len(pat) + 8 else len(data) - len(pat) + 8
    for k in range(0, stop + 1, len(pat) or 1):
        for j, b in enumerate(pat[:max(len(data) - k, 0)]):
            data[k + j] = b
    if not o.quiet:
        proc.out("PATTERN: 0x" + "".join(f"{b:02x}" for b in pat) + "\n")


# -- socket setup (ping4_run) ---------------------------------------------------------


@dataclass
class Target:
    hostname: str
    whereto: int
    source: int = 0
    multicast: bool = False


def _bind_device(proc: Proc, sock: RawSocket, o: Opts, daddr: int) -> None:
    assert o.device is not None
    dev = proc.net.dev_get_by_name(o.device[:15])
    if dev is not None:
        sock.bound_dev = dev
    elif daddr >> 28 == 0xE:
        raise ToolExit(2, f"ping: unknown iface: {o.device}")
    else:
        raise ToolExit(2, f"ping: SO_BINDTODEVICE {o.device}: No such device")


def _probe_source(proc: Proc, sock: RawSocket, o: Opts, daddr: int) -> int:
    """The UDP connect() probe: its route's source, or ping's connect errors."""
    try:
        rt = sock.route(daddr)
        if rt.type == RTN_BROADCAST or rt.flags & RTCF_BROADCAST:
            raise KernelError(errno.EACCES)
        return rt.saddr
    except KernelError as exc:
        if exc.errno != errno.EACCES:
            raise ToolExit(2, f"ping: connect: {os.strerror(exc.errno or 0)}") from None
    if not o.broadcast:
        raise ToolExit(2, "ping: Do you want to ping broadcast? Then -b. "
                          "If not, check your local firewall rules")
    proc.err("WARNING: pinging broadcast address\n")
    try:
        return sock.route(daddr).saddr  # now with SO_BROADCAST
    except KernelError as exc:
        raise ToolExit(2, f"ping: connect: {os.strerror(exc.errno or 0)}") from None


def _check_device_source(proc: Proc, sock: RawSocket, o: Opts, source: int) -> None:
    dev = sock.bound_dev
    addrs = [] if dev is None or dev.ip_ptr is None else dev.ip_ptr.ifa_list
    if not any(ifa.label == o.device and ifa.local == source for ifa in addrs):
        proc.err(f"ping: Warning: source address might be selected on device other "
                 f"than: {o.device}\n")


def _bind_source(proc: Proc, sock: RawSocket, source: int) -> None:
    """raw_bind(): the address must be local (or broadcast/multicast)."""
    kind = inet_addr_type(proc.net, source)
    if kind not in (RTN_LOCAL, RTN_MULTICAST, RTN_BROADCAST) and not sysctl_int(
            proc.net, "net.ipv4.ip_nonlocal_bind"):
        raise ToolExit(2, "ping: bind: Cannot assign requested address")
    sock.saddr = source


def open_socket(proc: Proc, o: Opts, tgt: Target) -> RawSocket:
    """ping4_run's socket setup; the socket is closed again on any error."""
    sock = RawSocket(proc.net, 1)
    try:
        _setup_socket(proc, sock, o, tgt)
    except BaseException:
        sock.close()
        raise
    return sock


def _setup_socket(proc: Proc, sock: RawSocket, o: Opts, tgt: Target) -> None:
    sock.tos = o.tos
    if o.opt_mark:
        sock.mark = o.mark
    if o.device is not None:
        _bind_device(proc, sock, o, tgt.whereto)
    if not o.source:
        tgt.source = _probe_source(proc, sock, o, tgt.whereto)
        if o.device is not None:
            _check_device_source(proc, sock, o, tgt.source)
    else:
        tgt.source = o.source
    if not tgt.whereto:
        tgt.whereto = tgt.source
    if o.broadcast or tgt.whereto >> 28 == 0xE:
        tgt.multicast = True
        if o.pmtudisc < 0:
            o.pmtudisc = IP_PMTUDISC_DO
    if o.pmtudisc >= 0:
        sock.pmtudisc = o.pmtudisc
    if o.strict_source:
        _bind_source(proc, sock, o.source)
    sock.so_broadcast = o.broadcast
    if o.opt_ttl:
        if o.ttl == 0:
            raise ToolExit(2, "ping: cannot set unicast time-to-live: Invalid argument")
        sock.ttl = o.ttl


# -- texts ------------------------------------------------------------------------

UNREACH_TEXTS = [
    "Destination Net Unreachable", "Destination Host Unreachable",
    "Destination Protocol Unreachable", "Destination Port Unreachable",
    "Frag needed and DF set (mtu = {info})", "Source Route Failed",
    "Destination Net Unknown", "Destination Host Unknown", "Source Host Isolated",
    "Destination Net Prohibited", "Destination Host Prohibited",
    "Destination Net Unreachable for Type of Service",
    "Destination Host Unreachable for Type of Service", "Packet filtered",
    "Precedence Violation", "Precedence Cutoff",
]
REDIRECT_TEXTS = ["Redirect Network", "Redirect Host",
                  "Redirect Type of Service and Network", "Redirect Type of Service and Host"]


def icmp_text(icmp_type: int, code: int, info: int, pr_addr: Callable[[int], str]) -> str:
    """pr_icmph(): the description of an ICMP message (no newline)."""
    if icmp_type == ICMP_DEST_UNREACH:
        if code < len(UNREACH_TEXTS):
            return UNREACH_TEXTS[code].format(info=info)
        return f"Dest Unreachable, Bad Code: {code}"
    if icmp_type == ICMP_TIME_EXCEEDED:
        return {0: "Time to live exceeded", 1: "Frag reassembly time exceeded"}.get(
            code, f"Time exceeded, Bad Code: {code}")
    if icmp_type == ICMP_REDIRECT:
        head = REDIRECT_TEXTS[code] if code < 4 else f"Redirect, Bad Code: {code}"
        return f"{head}(New nexthop: {pr_addr(info)})"
    if icmp_type == ICMP_PARAMETERPROB:
        return f"Parameter problem: pointer = {info}"
    if icmp_type == ICMP_SOURCE_QUENCH:
        return "Source Quench"
    return {ICMP_ECHOREPLY: "Echo Reply", ICMP_ECHO: "Echo Request"}.get(
        icmp_type, f"Bad ICMP type: {icmp_type}")


def fmt_triptime(us: int) -> str:
    """The reply line's time: 3, 2, 1 or no decimals by magnitude."""
    if us >= 100000 - 50:
        return f"{(us + 500) // 1000}"
    if us >= 10000 - 5:
        return f"{(us + 50) // 1000}.{((us + 50) % 1000) // 100}"
    if us >= 1000:
        return f"{(us + 5) // 1000}.{((us + 5) % 1000) // 10:02d}"
    return f"{us // 1000}.{us % 1000:03d}"


def fmt_ms(us: int) -> str:
    """%ld.%03ld of a microsecond count, with C's truncating division."""
    q = int(us / 1000)
    return f"{q}.{us - q * 1000:03d}" if us >= 0 else f"{q}.{abs(us - q * 1000):03d}"


def llsqrt(a: int) -> int:
    """iputils' integer square root (Newton); a <= 0 is returned as is."""
    x, prev = a, None
    if x > 0:
        while prev is None or x < prev:
            prev = x
            x = (x + a // x) // 2
    return x


def rtt_line(tmin: int, tmax: int, tsum: float, tsum2: float, total: int) -> str:
    """The "rtt min/avg/max/mdev" figures (µs in, ms out) as finish() computes them."""
    tmavg = int(tsum / total)
    if tsum < INT_MAX:
        tmvar = int((tsum2 - (tsum * tsum) / total) / total)
    else:
        tmvar = int((tsum2 / total) - (tmavg * tmavg))
    tmdev = llsqrt(tmvar)
    return (f"rtt min/avg/max/mdev = {fmt_ms(tmin)}/{fmt_ms(tmavg)}/{fmt_ms(tmax)}/"
            f"{fmt_ms(tmdev)} ms")


def loss_percent(transmitted: int, received: int) -> str:
    """printf("%g", (float)...) of the loss."""
    value = ((transmitted - received) * 100.0) / transmitted
    single = struct.unpack("f", struct.pack("f", value))[0]
    return f"{single:g}"


def elapsed_ms(ns: int) -> int:
    """finish()'s "time": milliseconds rounded half up."""
    sec, nsec = divmod(ns, NSEC_PER_SEC)
    return 1000 * sec + (nsec + 500000) // 1000000


def ms_between(later: int, earlier: int) -> int:
    """pinger()'s (tv_sec diff) * 1000 + (tv_nsec diff) / 1000000, C division."""
    s1, n1 = divmod(later, NSEC_PER_SEC)
    s0, n0 = divmod(earlier, NSEC_PER_SEC)
    return (s1 - s0) * 1000 + int((n1 - n0) / NSEC_PER_MSEC)


def schint(ms: int) -> int:
    return MININTERVAL if ms <= MININTERVAL else ms


def _int16(v: int) -> int:
    v &= 0xFFFF
    return v - 0x10000 if v & 0x8000 else v


# -- the session (main_loop, pinger, parse_reply, finish) ------------------------------


class PingTimeout(Exception):
    """The run outlived the oracle's per-command timeout."""


class Session:
    """One ping run: counters, the send schedule and the receive path."""

    def __init__(self, proc: Proc, o: Opts, tgt: Target, sock: RawSocket,
                 outdata: bytes) -> None:
        self.proc, self.o, self.tgt, self.sock = proc, o, tgt, sock
        self.kernel = proc.kernel
        self.sched = proc.kernel.sched
        self.outdata = outdata
        self.timing = o.datalen >= TIMEVAL.size
        self.ident = o.ident if o.ident >= 0 else proc.kernel.rng.randrange(0x10000)
        # A negative -i floods endlessly in iputils (no pacing at all); 0 is
        # the nearest thing that lets virtual time move.
        self.interval = 0 if o.flood and not o.opt_interval else max(o.interval, 0)
        self.filter = FILTER_INITIAL
        self.ntransmitted = self.nreceived = self.nrepeats = self.nerrors = 0
        self.nchecksum = 0
        self.tmin, self.tmax = LONG_MAX, 0
        self.tsum = self.tsum2 = 0.0
        self.rtt = self.rtt_addend = 0
        self.pipesize = -1
        self.acked = 0
        self.rcvd: set[int] = set()
        self.tokens = 0
        self.oom_count = 0
        self.cur_time: int | None = None
        self.start = self.sched.now
        self.exiting = False
        self.alarm: int | None = None
        if o.deadline:
            self.alarm = self.start + o.deadline * NSEC_PER_SEC
        self.exit_armed = False
        self.stdout: list[str] = []
        self.flushed = 0

    # -- output helpers ---------------------------------------------------------

    def pr_addr(self, addr: int) -> str:
        """Numeric unless the target was a name; then "name (address)", the
        name being what getnameinfo finds (the address itself when nothing)."""
        text = addr_str(addr)
        if self.o.numeric or self.exiting:
            return text
        name = "localhost" if addr == 0x7F000001 else text
        return f"{name} ({text})"

    def emit(self, text: str, flush: bool = True) -> None:
        stamp = ""
        if self.o.timestamps:
            us = self.sched.now // NSEC_PER_USEC
            stamp = f"[{us // 1_000_000}.{us % 1_000_000:06d}] "
        self.stdout.append(stamp + text)
        if flush:
            self.flush()

    def flush(self) -> None:
        """stdout is a pipe: only what ping fflush()es (after each reply, each
        error line, and before anything glibc's error() prints) is out if the
        run is killed."""
        self.flushed = len(self.stdout)

    def error(self, text: str) -> None:
        self.flush()
        self.proc.err(text)

    # -- counters -------------------------------------------------------------------

    def in_flight(self) -> int:
        diff = ((self.ntransmitted & 0xFFFF) - self.acked) & 0xFFFF
        if diff <= 0x7FFF:
            return diff
        return self.ntransmitted - self.nreceived - self.nerrors

    def acknowledge(self, seq: int) -> None:
        diff = ((self.ntransmitted & 0xFFFF) - seq) & 0xFFFF
        if diff <= 0x7FFF:
            self.pipesize = max(self.pipesize, diff + 1)
            if (_int16(seq - self.acked) > 0
                    or (self.ntransmitted & 0xFFFF) - self.acked > 0x7FFF):
                self.acked = seq

    def advance_ntransmitted(self) -> None:
        self.ntransmitted += 1
        if (self.ntransmitted & 0xFFFF) - self.acked > 0x7FFF:
            self.acked = ((self.ntransmitted & 0xFFFF) + 1) & 0xFFFF

    # -- main loop ------------------------------------------------------------------

    def run(self) -> int:
        o = self.o
        while True:
            if self.alarm is not None and self.sched.now >= self.alarm:
                self.exiting = True
            if self.exiting:
                break
            if o.count and self.nreceived + self.nerrors >= o.count:
                break
            if o.deadline and self.nerrors:
                break
            while True:
                nxt = self.schedule_exit(self.pinger())
                if nxt > 0:
                    break
            if self.unbounded() and self.ntransmitted >= MAX_UNBOUNDED_PROBES:
                raise PingTimeout
            self.wait(self.sched.now + nxt * NSEC_PER_MSEC)
            self.receive()
        return self.finish()

    def unbounded(self) -> bool:
        """Nothing but a reply would ever end this run (no -w, no exit timer)."""
        o = self.o
        return not o.deadline and self.alarm is None and (
            not o.count or self.ntransmitted >= o.count)

    def wait(self, until: int) -> None:
        """Let the kernel run until ``until``, the alarm, or a readable packet;
        events of the instant a packet arrived all run first (softirq)."""
        if self.alarm is not None:
            until = min(until, self.alarm)
        limit = self.start + ORACLE_TIMEOUT_NS
        if self.unbounded():
            until = min(until, limit)
        rcvq = self.sock.rcvq
        if not rcvq:
            if task_greenlet() is None:
                self.sched.run_until(until, stop=lambda: bool(rcvq))
            else:  # spawned: park, so the other tasks run meanwhile
                wait_event(self.kernel, [self.sock.wq], lambda: bool(rcvq),
                           max(0, until - self.sched.now), what="ping replies")
        yield_now(self.kernel)
        if not rcvq and self.unbounded() and self.sched.now >= limit:
            raise PingTimeout

    def schedule_exit(self, nxt: int) -> int:
        o = self.o
        if not (o.count and self.ntransmitted >= o.count and not o.deadline):
            return nxt
        if self.exit_armed:
            return nxt
        if self.nreceived:
            waittime = max(2 * self.tmax, 1000 * self.interval)
        else:
            waittime = o.linger * 1000
        if nxt < 0 or nxt < waittime // 1000:
            nxt = waittime // 1000
        if waittime:  # a zero timer is no timer (iputils re-arms it each time)
            self.exit_armed = True
            self.alarm = self.sched.now + waittime * NSEC_PER_USEC
        return nxt

    # -- sending (pinger, send_probe) ------------------------------------------------

    def pinger(self) -> int:
        """Send a probe if one is due; milliseconds until the next one."""
        o = self.o
        if self.exiting or (o.count and self.ntransmitted >= o.count and not o.deadline):
            return 1000
        now = self.sched.now
        if self.cur_time is None:
            self.cur_time = now
            self.tokens = self.interval * (o.preload - 1)
        else:
            ntokens = ms_between(now, self.cur_time)
            if (not self.interval and ntokens < MININTERVAL
                    and self.in_flight() >= o.preload):
                return MININTERVAL - ntokens
            ntokens = min(ntokens + self.tokens, self.interval * o.preload)
            if ntokens < self.interval:
                return self.interval - ntokens
            self.cur_time = now
            self.tokens = ntokens - self.interval
        if o.outstanding and self.ntransmitted > 0 and \
                (self.ntransmitted & 0xFFFF) not in self.rcvd:
            self.emit(f"no answer yet for icmp_seq={self.ntransmitted % MAX_DUP_CHK}\n")
        return self.send_probe()

    def packet(self, seq: int) -> bytes:
        data = self.outdata
        if self.timing:
            us = self.sched.now // NSEC_PER_USEC
            data = TIMEVAL.pack(us // 1_000_000, us % 1_000_000) + data[TIMEVAL.size:]
        return icmp_message(ICMP_ECHO, 0, (self.ident << 16) | seq, data)

    def send_probe(self) -> int:
        seq = (self.ntransmitted + 1) & 0xFFFF
        self.rcvd.discard(seq)
        try:
            self.sock.sendto(self.packet(seq), self.tgt.whereto)
        except KernelError as exc:
            return self.send_failed(exc)
        self.oom_count = 0
        self.advance_ntransmitted()
        return self.interval - self.tokens

    def send_failed(self, exc: KernelError) -> int:
        """pinger()'s error handling: ENOBUFS retries, local errors, sendmsg."""
        err = exc.errno or 0
        hard = -1
        if err in (errno.ENOBUFS, errno.ENOMEM):
            self.tokens = 0
            self.rtt_addend += self.rtt // 8 if self.rtt < 8 * 50000 else 50000
            nores = min(schint(int(self.interval / 2)), 500)
            self.oom_count += 1
            if self.oom_count * nores < self.o.linger:
                return nores
            hard = 0
        elif err == errno.EAGAIN:
            self.tokens += self.interval
            return MININTERVAL
        elif self.error_queue(exc) > 0:
            hard = 0
        self.advance_ntransmitted()
        if hard == 0 and not self.o.quiet:
            self.error(f"ping: sendmsg: {os.strerror(err)}\n")
        self.tokens = 0
        return schint(self.interval)

    def error_queue(self, exc: KernelError) -> int:
        """receive_error_msg() right after a failed send: the local EMSGSIZE
        report (the kernel's "mtu=N"), or an ICMP error the send provoked."""
        m = re.search(r"mtu=(\d+)", exc.extack or "")
        if exc.errno == errno.EMSGSIZE and m:
            if not self.o.quiet:
                self.error(f"ping: local error: message too long, mtu={m.group(1)}\n")
                self.nerrors += 1
            return -1
        yield_now(self.kernel)  # bottom halves run before sendmsg returns
        rcvq = self.sock.rcvq
        for i, (when, pkt) in enumerate(rcvq):
            if self.quoted_probe(pkt) is not None and pkt[(pkt[0] & 0xF) * 4] in ERRQUEUE_TYPES:
                self.sock.take(i)
                self.handle(when, pkt)
                return 1
        return -1

    # -- receiving (parse_reply, receive_error_msg) -------------------------------------

    def receive(self) -> None:
        """recvmsg() until the queue is empty or nothing is in flight."""
        rcvq = self.sock.rcvq
        while rcvq:
            when, pkt = self.sock.take(0)
            self.handle(when, pkt)
            if self.in_flight() == 0:
                break

    def quoted_probe(self, pkt: bytes) -> tuple[int, int, int] | None:
        """For an ICMP error: (inner saddr, inner daddr, seq) when it quotes an
        echo request of ours; None otherwise."""
        hlen = (pkt[0] & 0xF) * 4
        inner = pkt[hlen + 8:]
        if len(inner) < 20:
            return None
        ihl = (inner[0] & 0xF) * 4
        if ihl < 20 or len(inner) < ihl + 8 or inner[9] != 1:
            return None
        icmp = inner[ihl:]
        ident, seq = struct.unpack_from("!HH", icmp, 4)
        if icmp[0] != ICMP_ECHO or ident != self.ident:
            return None
        saddr, daddr = struct.unpack_from("!II", inner, 12)
        return saddr, daddr, seq

    def handle(self, when: int, pkt: bytes) -> None:
        if len(pkt) < 20 or pkt[0] >> 4 != 4:
            return
        hlen = (pkt[0] & 0xF) * 4
        if hlen < 20 or len(pkt) < hlen + 8:
            return
        icmp_type = pkt[hlen]
        if icmp_type in ERRQUEUE_TYPES:
            self.recv_error(pkt)
        if icmp_type not in self.filter:
            return
        if icmp_type == ICMP_ECHOREPLY:
            self.echo_reply(when, pkt)
        elif icmp_type in (ICMP_SOURCE_QUENCH, ICMP_REDIRECT) or icmp_type in ERRQUEUE_TYPES:
            self.icmp_notice(pkt)

    def recv_error(self, pkt: bytes) -> None:
        """The IP_RECVERR report of an ICMP error about one of our probes."""
        quoted = self.quoted_probe(pkt)
        if quoted is None:
            return
        saddr, daddr, seq = quoted
        if (self.sock.saddr and saddr != self.sock.saddr) or daddr != self.tgt.whereto:
            return
        hlen = (pkt[0] & 0xF) * 4
        icmp_type, code = pkt[hlen], pkt[hlen + 1]
        if icmp_type == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
            info = struct.unpack_from("!H", pkt, hlen + 6)[0]
        elif icmp_type == ICMP_PARAMETERPROB:
            info = pkt[hlen + 4]
        else:
            info = 0
        self.acknowledge(seq)
        self.filter = FILTER_AFTER_ERROR
        self.nerrors += 1
        if self.o.quiet:
            return
        offender = struct.unpack_from("!I", pkt, 12)[0]
        text = icmp_text(icmp_type, code, info, self.pr_addr)
        self.emit(f"From {self.pr_addr(offender)} icmp_seq={seq} {text}\n")

    def icmp_notice(self, pkt: bytes) -> None:
        """parse_reply() for an error (acknowledged only) or a redirect or
        source quench (printed, not counted)."""
        quoted = self.quoted_probe(pkt)
        if quoted is None or quoted[1] != self.tgt.whereto:
            return
        seq = quoted[2]
        hlen = (pkt[0] & 0xF) * 4
        icmp_type, code = pkt[hlen], pkt[hlen + 1]
        if icmp_type not in (ICMP_REDIRECT, ICMP_SOURCE_QUENCH):
            self.acknowledge(seq)
            return
        if self.o.quiet or self.o.flood:
            return
        gateway = struct.unpack_from("!I", pkt, hlen + 4)[0]
        bad = "(BAD CHECKSUM)" if ip_checksum(pkt[hlen:]) else ""
        sender = struct.unpack_from("!I", pkt, 12)[0]
        text = icmp_text(icmp_type, code, gateway, self.pr_addr)
        self.emit(f"From {self.pr_addr(sender)}: icmp_seq={seq} {bad}{text}\n", flush=False)

    def echo_reply(self, when: int, pkt: bytes) -> None:
        hlen = (pkt[0] & 0xF) * 4
        icmp = pkt[hlen:]
        ident, seq = struct.unpack_from("!HH", icmp, 4)
        if ident != self.ident:
            return
        sender = struct.unpack_from("!I", pkt, 12)[0]
        wrong_source = (not self.o.broadcast and not self.tgt.multicast
                        and sender != self.tgt.whereto)
        csfailed = ip_checksum(icmp) != 0
        self.gather_statistics(when, icmp, seq, pkt[8], csfailed, sender, wrong_source)

    def triptime(self, when: int, icmp: bytes) -> int | None:
        if not self.timing or len(icmp) < 8 + TIMEVAL.size:
            return None
        sec, usec = TIMEVAL.unpack_from(icmp, 8)
        t: int = when // NSEC_PER_USEC - (sec * 1_000_000 + usec)
        return max(t, 0)

    def gather_statistics(self, when: int, icmp: bytes, seq: int, ttl: int,
                          csfailed: bool, sender: int, wrong_source: bool) -> None:
        self.nreceived += 1
        if not csfailed:
            self.acknowledge(seq)
        trip = self.triptime(when, icmp)
        if trip is not None and not csfailed:
            self.account_rtt(trip)
        dup = False
        if csfailed:
            self.nchecksum += 1
            self.nreceived -= 1
        elif seq in self.rcvd:
            self.nrepeats += 1
            self.nreceived -= 1
            dup = True
        else:
            self.rcvd.add(seq)
        if self.o.quiet:
            self.flush()
            return
        self.print_reply(icmp, seq, ttl, sender, trip or 0, dup, csfailed, wrong_source)

    def account_rtt(self, trip: int) -> None:
        self.tsum += trip
        self.tsum2 += float(trip * trip)
        self.tmin = min(self.tmin, trip)
        self.tmax = max(self.tmax, trip)
        if not self.rtt:
            self.rtt = trip * 8
        else:
            self.rtt += trip - int(self.rtt / 8)

    def print_reply(self, icmp: bytes, seq: int, ttl: int, sender: int, trip: int,
                    dup: bool, csfailed: bool, wrong_source: bool) -> None:
        cc = len(icmp)
        line = f"{cc} bytes from {self.pr_addr(sender)}: icmp_seq={seq} ttl={ttl}"
        if cc < self.o.datalen + 8:
            self.emit(line + " (truncated)\n")
            return
        if self.timing:
            line += f" time={fmt_triptime(trip)} ms"
        if dup and (not self.tgt.multicast or self.o.verbose):
            line += " (DUP!)"
        if csfailed:
            line += " (BAD CHECKSUM!)"
        if wrong_source:
            line += " (DIFFERENT ADDRESS!)"
        line += self.data_check(icmp)
        self.emit(line + ("\a" if self.o.audible else "") + "\n")

    def data_check(self, icmp: bytes) -> str:
        start = TIMEVAL.size
        got, want = icmp[8 + start:8 + self.o.datalen], self.outdata[start:self.o.datalen]
        if got == want:
            return ""
        i = next(k for k in range(len(want)) if k >= len(got) or got[k] != want[k])
        text = f"\nwrong data byte #{start + i} should be 0x{want[i]:x} but was " \
               f"0x{got[i] if i < len(got) else 0:x}"
        for k, b in enumerate(got):
            if (start + k) % 32 == start:
                text += f"\n#{start + k}\t"
            text += f"{b:x} "
        return text

    # -- statistics (finish) ------------------------------------------------------------

    def finish(self) -> int:
        self.exiting = True
        now = self.cur_time if self.cur_time is not None else self.start
        elapsed = now - self.start
        lines = [f"\n--- {self.tgt.hostname} ping statistics ---\n",
                 self.summary_line(elapsed) + "\n"]
        tail, comma = "", ""
        if self.nreceived and self.timing:
            tail = rtt_line(self.tmin, self.tmax, self.tsum, self.tsum2,
                            self.nreceived + self.nrepeats)
            comma = ", "
        if self.pipesize > 1:
            tail += f"{comma}pipe {self.pipesize}"
            comma = ", "
        if self.nreceived and (not self.interval or self.o.flood) and self.ntransmitted > 1:
            ipg = (elapsed // NSEC_PER_USEC) // (self.ntransmitted - 1)
            ewma = int(self.rtt / 8)
            tail += f"{comma}ipg/ewma {ipg // 1000}.{ipg % 1000:03d}/" \
                    f"{int(self.rtt / 8000)}.{ewma % 1000:03d} ms"
        self.stdout.extend([*lines, tail + "\n"])
        deadline_missed = self.o.deadline and self.nreceived < self.o.count
        return 1 if not self.nreceived or deadline_missed else 0

    def summary_line(self, elapsed: int) -> str:
        text = f"{self.ntransmitted} packets transmitted, {self.nreceived} received"
        if self.nrepeats:
            text += f", +{self.nrepeats} duplicates"
        if self.nchecksum:
            text += f", +{self.nchecksum} corrupted"
        if self.nerrors:
            text += f", +{self.nerrors} errors"
        if self.ntransmitted:
            text += (f", {loss_percent(self.ntransmitted, self.nreceived)}% packet loss, "
                     f"time {elapsed_ms(elapsed)}ms")
        return text


# -- entry point -------------------------------------------------------------------


def build_outdata(proc: Proc, o: Opts) -> bytes:
    """The payload after the ICMP header: bytes i & 0xff, or -p's pattern.
    Beyond 64 KiB nothing can be sent, so the buffer stops there."""
    size = min(o.datalen, 0x10000)
    data = bytearray((bytes(range(256)) * (size // 256 + 1))[:size])
    if o.pattern is not None:
        fill_pattern(proc, o, data)
    return bytes(data)


def main(proc: Proc, argv: list[str]) -> int:
    o, operands = parse_args(proc, argv)
    if len(operands) > 1:
        raise ToolExit(2, "ping: source routing (several hosts) is not supported by usernet")
    target = operands[-1]
    outdata = build_outdata(proc, o)
    hostname, whereto = resolve(o, target)
    tgt = Target(hostname, whereto)
    sock = open_socket(proc, o, tgt)
    try:
        return _run(proc, o, tgt, sock, outdata)
    finally:
        sock.close()


def _run(proc: Proc, o: Opts, tgt: Target, sock: RawSocket, outdata: bytes) -> int:
    head = f"PING {tgt.hostname} ({addr_str(tgt.whereto)}) "
    if o.device is not None or o.strict_source:
        head += f"from {addr_str(tgt.source)} {o.device or ''}: "
    head += f"{o.datalen}({o.datalen + 28}) bytes of data.\n"
    if o.interval >= INT_MAX // o.preload:
        raise ToolExit(2, f"ping: illegal preload and/or interval: {o.interval}")
    session = Session(proc, o, tgt, sock, outdata)
    session.stdout.append(head)
    try:
        rc = session.run()
    except PingTimeout:
        proc.out("".join(session.stdout[:session.flushed]))
        proc.err("ping: stopped after 15 s (usernet stands in for the oracle's "
                 "command timeout)\n")
        return 124
    proc.out("".join(session.stdout))
    return rc
