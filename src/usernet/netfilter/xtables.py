"""libxtables in Python: errors, number/address/port parsing, the x6 option
framework that extensions declare their options with.

Messages and exit statuses are iptables v1.8.9's (libxtables/xtables.c,
xtoptions.c); an :class:`XtError` carries one to the tool, which prints it the
way ``basic_exit_err``/``exit_tryhelp`` do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import names

if TYPE_CHECKING:
    from .getopt import Getopt

VERSION = "1.8.9"
PROGRAM_VERSION = f"{VERSION} (nf_tables)"

OTHER_PROBLEM = 1
PARAMETER_PROBLEM = 2
VERSION_PROBLEM = 3
RESOURCE_PROBLEM = 4

# how an XtError is printed
EXIT_ERR = "exit_err"   # "PROG v1.8.9 (nf_tables): MSG" (+ Try line for PARAMETER_PROBLEM)
TRYHELP = "tryhelp"     # MSG as is, then exit_tryhelp's lines
PLAIN = "plain"         # MSG as is


class XtError(Exception):
    """iptables gives up: ``status`` is the exit status."""

    def __init__(self, status: int, msg: str, kind: str = EXIT_ERR) -> None:
        super().__init__(msg)
        self.status = status
        self.msg = msg
        self.kind = kind

    def render(self, prog: str, line: int = -1) -> str:
        """The text iptables writes to stderr for this error."""
        if self.kind == PLAIN:
            return self.msg
        out = []
        if self.kind == EXIT_ERR:
            out.append(f"{prog} v{PROGRAM_VERSION}: {self.msg}\n")
        else:
            out.append(self.msg)
        if self.status == PARAMETER_PROBLEM or self.kind == TRYHELP:
            if line != -1:
                out.append(f"Error occurred at line: {line}\n")
            out.append(f"Try `{prog} -h' or '{prog} --help' for more information.\n")
        elif self.status == VERSION_PROBLEM:
            out.append(f"Perhaps {prog} or your kernel needs to be upgraded.\n")
        return "".join(out)


def param_error(msg: str) -> XtError:
    return XtError(PARAMETER_PROBLEM, msg)


# -- numbers ---------------------------------------------------------------------

_NUM_RE = re.compile(r"[ \t\n\v\f\r]*\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
UINT64_MAX = 2**64 - 1


def strtoumax(s: str) -> tuple[int, int] | None:
    """C ``strtoumax(s, &end, 0)``: (value, index of end) or None when no digits.

    The value saturates at UINT64_MAX (ERANGE is reported as a value above it).
    """
    m = _NUM_RE.match(s)
    if m is None:
        return None
    digits = m.group(1)
    if digits[:2] in ("0x", "0X"):
        value = int(digits[2:], 16)
    elif digits.startswith("0"):
        value = int(digits, 8)
        if len(digits) > 1 and s[m.end():m.end() + 1] in ("x", "X"):
            return 0, m.end()  # "0x" without hex digits: "0" then stop
    else:
        value = int(digits)
    return value, m.end()


def strtoul_end(s: str, lo: int, hi: int) -> tuple[int, int] | None:
    """``xtables_strtoul`` with an end pointer: (value, end) or None."""
    if s.lstrip(" \t\n\v\f\r").startswith("-"):
        return None
    res = strtoumax(s)
    if res is None:
        return None
    value, end = res
    if value > UINT64_MAX or value < lo or (hi != 0 and value > hi):
        return None
    return value, end


def strtoul(s: str, lo: int, hi: int) -> int | None:
    """``xtables_strtoul(s, NULL, ...)``: strict, the whole string is the number."""
    res = strtoul_end(s, lo, hi)
    if res is None or res[1] != len(s):
        return None
    return res[0]


def sscanf_ull(s: str) -> int | None:
    """``sscanf(s, "%llu", ...)``: leading digits (sign allowed), wraps like C."""
    m = re.match(r"\s*([+-]?)(\d+)", s)
    if m is None:
        return None
    value = int(m.group(2)) % 2**64
    return (-value) % 2**64 if m.group(1) == "-" else value


# -- addresses --------------------------------------------------------------------

def ip_to_str(addr: int) -> str:
    return f"{addr >> 24 & 255}.{addr >> 16 & 255}.{addr >> 8 & 255}.{addr & 255}"


def numeric_to_ipaddr(dotted: str, is_mask: bool = False) -> int | None:
    """``__numeric_to_ipaddr``: "a.b.c.d"; without is_mask "10" and "10.1" complete."""
    parts = dotted[:19].split(".")
    if len(parts) > 4:
        parts = [*parts[:3], ".".join(parts[3:])]
    if len(parts) < 4 and is_mask:
        return None
    octets = []
    for p in parts:
        v = strtoul(p, 0, 255)
        if v is None:
            return None
        octets.append(v)
    octets += [0] * (4 - len(octets))
    return octets[0] << 24 | octets[1] << 16 | octets[2] << 8 | octets[3]


def mask_from_bits(bits: int) -> int:
    return (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF if bits else 0


def parse_ipmask(mask: str | None) -> int:
    if mask is None:
        return 0xFFFFFFFF
    addr = numeric_to_ipaddr(mask, is_mask=True)
    if addr is not None:
        return addr
    bits = strtoul(mask, 0, 32)
    if bits is None:
        raise param_error(f"invalid mask `{mask}' specified")
    return mask_from_bits(bits)


def ipparse_hostnetwork(name: str) -> list[int]:
    addr = numeric_to_ipaddr(name)
    if addr is None:
        addr = names.NETWORKS.get(name)
    if addr is not None:
        return [addr]
    if name in names.HOSTS:
        return [names.HOSTS[name]]
    raise param_error(f"host/network `{name}' not found")


def ipparse_multiple(spec: str) -> list[tuple[int, int]]:
    """``xtables_ipparse_multiple``: "a[/m],b[/m],..." to (address, mask) pairs."""
    out: list[tuple[int, int]] = []
    for item in spec.split(","):
        item = item.lstrip(" \t\n\v\f\r")
        if len(item) > 255:
            raise param_error("Hostname too long")
        host, slash, mask_s = item.rpartition("/")
        if not slash:
            host, mask_s = item, ""
        mask = parse_ipmask(mask_s if slash else None)
        if mask == 0:
            host = "0.0.0.0"
        out.extend((a & mask, mask) for a in ipparse_hostnetwork(host))
    return out


def ipparse_any(spec: str) -> tuple[list[int], int]:
    """``xtables_ipparse_any``: one name or address with an optional mask."""
    host, slash, mask_s = spec[:255].rpartition("/")
    if not slash:
        host = spec[:255]
    mask = parse_ipmask(mask_s if slash else None)
    if mask == 0:
        host = "0.0.0.0"
    addrs: list[int] = []
    for a in ipparse_hostnetwork(host):
        if a & mask not in addrs:
            addrs.append(a & mask)
    return addrs, mask


def ipmask_to_cidr(mask: int) -> int:
    for bits in range(32, -1, -1):
        if mask_from_bits(bits) == mask:
            return bits
    return -1


def ipmask_to_numeric(mask: int) -> str:
    """The "/N" (or "/a.b.c.d") suffix of a listed address; "" for /32."""
    cidr = ipmask_to_cidr(mask)
    if cidr == -1:
        return "/" + ip_to_str(mask)
    return "" if cidr == 32 else f"/{cidr}"


def ipaddr_to_anyname(addr: int) -> str:
    """``xtables_ipaddr_to_anyname`` in a namespace without DNS: /etc/hosts
    (getnameinfo), then /etc/networks (getnetbyaddr), else the number."""
    name = names.HOST_NAMES.get(addr)
    if name is None:
        name = next((n for n, a in names.NETWORKS.items() if a == addr), None)
    return name if name is not None else ip_to_str(addr)


def ipaddr_to_string(addr: int, mask: int, numeric: bool) -> str:
    if mask == 0 and not numeric:
        return "anywhere"
    host = ip_to_str(addr) if numeric else ipaddr_to_anyname(addr)
    return host + ipmask_to_numeric(mask)


def save_mask(mask: int) -> str:
    """``mask_to_str`` of iptables-save: prefix length, or dotted when not CIDR."""
    cidr = ipmask_to_cidr(mask)
    return ip_to_str(mask) if cidr == -1 else str(cidr)


# -- ports and protocols -----------------------------------------------------------

def service_to_port(name: str, proto: str | None) -> int | None:
    return names.getservbyname(name, proto)


def parse_port(port: str, proto: str) -> int:
    """``xtables_parse_port``: a number or a service name of ``proto``."""
    value = strtoul(port, 0, 0xFFFF)
    if value is None:
        value = service_to_port(port, proto)
    if value is None:
        raise param_error(f"invalid port/service `{port}' specified")
    return value


def getportbyname(name: str) -> int | None:
    """``xtables_getportbyname`` (getaddrinfo with a service): number or any name."""
    value = strtoul(name, 0, 0xFFFF)
    if value is not None:
        return value
    if name.strip().isdigit():
        return None
    return service_to_port(name, None)


CHAIN_PROTOS: tuple[tuple[str, int], ...] = (
    ("tcp", 6), ("sctp", 132), ("udp", 17), ("udplite", 136), ("icmp", 1),
    ("ipv6-icmp", 58), ("icmpv6", 58), ("esp", 50), ("ah", 51),
    ("mobility-header", 135), ("ipv6-mh", 135), ("mh", 135), ("all", 0),
)


def parse_protocol(s: str) -> int:
    """``xtables_parse_protocol``."""
    value = strtoul(s, 0, 255)
    if value is not None:
        return value
    for name, num in CHAIN_PROTOS:
        if s == name:
            return num
    num2 = names.getprotobyname(s)
    if num2 is not None:
        return num2
    raise param_error(f'unknown protocol "{s}" specified')


def proto_to_name(proto: int, nolookup: bool) -> str | None:
    for name, num in CHAIN_PROTOS:
        if num == proto:
            return name
    if proto and not nolookup:
        return names.getprotobynumber(proto)
    return None


# -- output helpers ----------------------------------------------------------------

def save_string(value: str) -> str:
    """``xtables_save_string``: " value", or quoted with \\ before " \\ '."""
    ok = set("_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if value and all(c in ok for c in value):
        return " " + value
    escaped = "".join("\\" + c if c in "\"\\'" else c for c in value)
    return f' "{escaped}"'


def print_num(number: int, kmg: bool, table: bool = True) -> str:
    """``xtables_print_num``: "%8llu " or the K/M/G/T form (no padding without table)."""
    if not kmg:
        return f"{number:8d} " if table else f"{number} "
    if number <= 99999:
        return f"{number:5d} " if table else f"{number} "
    for suffix in "KMG":
        number = ((number + 500) % 2**64) // 1000
        if number <= 9999:
            return f"{number:4d}{suffix} " if table else f"{number}{suffix} "
    number = ((number + 500) % 2**64) // 1000
    return f"{number:4d}T " if table else f"{number}T "


# -- the x6 option framework ------------------------------------------------------

# option types
T_NONE, T_UINT8, T_UINT16, T_UINT32, T_UINT64 = "none", "u8", "u16", "u32", "u64"
T_UINT8RC, T_UINT16RC, T_UINT32RC = "u8rc", "u16rc", "u32rc"
T_STRING, T_PORT, T_PORTRC, T_HOST, T_HOSTMASK = "str", "port", "portrc", "host", "hostmask"
T_PROTOCOL, T_MARKMASK32, T_SYSLOGLEVEL, T_PLEN, T_PLENMASK = (
    "proto", "markmask", "syslog", "plen", "plenmask")
T_OLD = "old"  # an old-style option: the extension parses optarg itself

# option flags
F_MAND = 1
F_INVERT = 2
F_MULTI = 4

_MAX = {T_UINT8: 0xFF, T_UINT8RC: 0xFF, T_UINT16: 0xFFFF, T_UINT16RC: 0xFFFF,
        T_UINT32: 0xFFFFFFFF, T_UINT32RC: 0xFFFFFFFF, T_UINT64: UINT64_MAX}


@dataclass(frozen=True)
class Opt:
    """One ``struct xt_option_entry``: ``has_arg`` 0/1 as getopt sees it."""

    name: str
    id: int
    type: str = T_NONE
    flags: int = 0
    excl: int = 0
    also: int = 0
    min: int = 0
    max: int = 0
    size: int = 0  # maximum count of ":"-separated components (RC types)
    has_arg: int = -1

    @property
    def takes_arg(self) -> int:
        if self.has_arg >= 0:
            return self.has_arg
        return 0 if self.type == T_NONE else 1


@dataclass
class OptCall:
    """``struct xt_option_call``: one option occurrence for an extension."""

    entry: Opt
    arg: str | None
    invert: bool
    ext_name: str
    xflags: int
    getopt: Getopt
    ip: Any = None  # the rule's IpSpec under construction (cb->xt_entry)
    warnings: list[str] = field(default_factory=list)  # lines for stderr
    val: Any = None
    nvals: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


SYSLOG_LEVELS = (("alert", 1), ("crit", 2), ("debug", 7), ("emerg", 0), ("error", 3),
                 ("info", 6), ("notice", 5), ("panic", 0), ("warning", 4))


def _parse_int(cb: OptCall) -> None:
    e = cb.entry
    lmin = e.min
    lmax = e.max or _MAX[e.type]
    value = strtoul(cb.arg or "", lmin, lmax)
    if value is None:
        raise param_error(f'{cb.ext_name}: bad value for option "--{e.name}", '
                          f"or out of range ({lmin}-{lmax}).\n")
    cb.val = value


def _parse_mint(cb: OptCall) -> None:
    e = cb.entry
    lmax = _MAX[e.type]
    maxiter = e.size or 2
    arg = cb.arg or ""
    vals: list[int] = []
    pos = 0
    while True:
        if len(vals) == maxiter:
            raise param_error(f'{cb.ext_name}: Too many components for option "--{e.name}" '
                              f"(max: {maxiter})\n")
        rest = arg[pos:]
        if rest == "" or rest.startswith(":"):
            value, end = (lmax if len(vals) == 1 else 0), pos
        else:
            res = strtoul_end(rest, 0, lmax)
            if res is None:
                raise param_error(f'{cb.ext_name}: bad value for option "--{e.name}" near '
                                  f'"{rest}", or out of range (0-{lmax}).\n')
            value, end = res[0], pos + res[1]
            if end < len(arg) and arg[end] != ":":
                raise param_error(f'{cb.ext_name}: Argument to "--{e.name}" has unexpected '
                                  f'characters near "{arg[end:]}".\n')
        vals.append(value)
        if end >= len(arg):
            break
        pos = end + 1
    cb.val = vals
    cb.nvals = len(vals)


def _parse_mport(cb: OptCall) -> None:
    e = cb.entry
    maxiter = e.size or 2
    vals = [0, 0xFFFF]
    n = 0
    for part in (cb.arg or "").split(":"):
        if n == maxiter:
            raise param_error(f'{cb.ext_name}: Too many components for option "--{e.name}" '
                              f"(max: {maxiter})\n")
        if part == "":
            n += 1
            continue
        value = getportbyname(part)
        if value is None:
            raise param_error(f'Port "{part}" does not resolve to anything.\n')
        if n < 2:
            vals[n] = value
        n += 1
    if n == 1:
        vals[1] = vals[0]
        n = 2
    cb.val = vals
    cb.nvals = n


def _parse_port(cb: OptCall) -> None:
    value = getportbyname(cb.arg or "")
    if value is None:
        raise param_error(f'Port "{cb.arg}" does not resolve to anything.\n')
    cb.val = value


def _parse_string(cb: OptCall) -> None:
    e = cb.entry
    z = len((cb.arg or "").encode())
    if e.min and z < e.min:
        raise param_error(f"Argument must have a minimum length of {e.min} characters\n")
    if e.max and z > e.max:
        raise param_error(f"Argument must have a maximum length of {e.max} characters\n")
    cb.val = cb.arg


def _parse_markmask(cb: OptCall) -> None:
    """``xtables_parse_mark_mask``: "value[/mask]"."""
    arg = cb.arg or ""
    e = cb.entry
    bad = param_error(f'{cb.ext_name}: bad integer value for option "--{e.name}", '
                      "or out of range.\n")
    res = strtoul_end(arg, 0, 0xFFFFFFFF)
    if res is None:
        raise bad
    value, end = res
    mask = 0xFFFFFFFF
    if end < len(arg):
        if arg[end] != "/":
            raise param_error(f"{cb.ext_name}: trailing garbage after value for option "
                              f'"--{e.name}".\n')
        res2 = strtoul_end(arg[end + 1:], 0, 0xFFFFFFFF)
        if res2 is None:
            raise bad
        mask, end = res2[0], end + 1 + res2[1]
        if end < len(arg):
            raise param_error(f"{cb.ext_name}: trailing garbage after value for option "
                              f'"--{e.name}".\n')
    cb.val = (value, mask)


def _parse_sysloglevel(cb: OptCall) -> None:
    arg = cb.arg or ""
    value = strtoul(arg, 0, 7)
    if value is None:
        for name, num in SYSLOG_LEVELS:
            if name == arg:
                value = num
                break
    if value is None:
        raise param_error(f'log level "{arg}" unknown\n')
    cb.val = value


def inet_aton(text: str) -> int | None:
    """glibc ``inet_aton`` (what getaddrinfo accepts as a numeric host)."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    vals = []
    for p in parts:
        res = strtoumax(p) if p[:1].isdigit() else None
        if res is None or res[1] != len(p):
            return None
        vals.append(res[0])
    *head, last = vals
    shift = 8 * (4 - len(head))
    if any(v > 255 for v in head) or last >= 1 << shift:
        return None
    addr = 0
    for v in head:
        addr = addr << 8 | v
    return addr << shift | last


def _parse_host(cb: OptCall) -> None:
    """``xtopt_parse_host``: one address (getaddrinfo: numeric or /etc/hosts)."""
    arg = cb.arg or ""
    addr = inet_aton(arg)
    if addr is None:
        addr = names.HOSTS.get(arg)
    if addr is None:
        raise param_error("getaddrinfo: Temporary failure in name resolution\n")
    cb.val = (addr, 0xFFFFFFFF)


def _parse_hostmask(cb: OptCall) -> None:
    """``xtopt_parse_hostmask``: "host[/plen-or-mask]" (the address is not masked)."""
    arg = cb.arg or ""
    if "/" not in arg:
        _parse_host(cb)
        return
    host, _, plen = arg.partition("/")
    cb.arg = host
    _parse_host(cb)
    cb.arg = plen
    _parse_plen(cb)
    cb.arg = arg
    assert isinstance(cb.val, int)
    mask = cb.extra["mask"]
    cb.val = (cb.extra["addr"], mask)


def _parse_plen(cb: OptCall) -> None:
    """``xtopt_parse_plen``/``plenmask``: a prefix length or a mask
    (getaddrinfo-numeric; a mask that is no prefix leaves all 32 bits)."""
    if isinstance(cb.val, tuple):
        cb.extra["addr"] = cb.val[0]
    arg = cb.arg or ""
    plen = strtoul(arg, 0, 32)
    if plen is None:
        mask = inet_aton(arg)
        if mask is None:
            raise param_error(f'{cb.ext_name}: bad value for option "--{cb.entry.name}", '
                              "neither a valid network mask nor valid CIDR (0-32).\n")
        plen = ipmask_to_cidr(mask)
        cb.extra["mask"] = mask_from_bits(plen) if plen >= 0 else 0xFFFFFFFF
        cb.val = plen
        return
    cb.extra["mask"] = mask_from_bits(plen)
    cb.val = plen


def _parse_protocol_opt(cb: OptCall) -> None:
    cb.val = parse_protocol(cb.arg or "")


_SUBPARSE: dict[str, Callable[[OptCall], None]] = {
    T_UINT8: _parse_int, T_UINT16: _parse_int, T_UINT32: _parse_int, T_UINT64: _parse_int,
    T_UINT8RC: _parse_mint, T_UINT16RC: _parse_mint, T_UINT32RC: _parse_mint,
    T_STRING: _parse_string, T_PORT: _parse_port, T_PORTRC: _parse_mport,
    T_MARKMASK32: _parse_markmask, T_SYSLOGLEVEL: _parse_sysloglevel,
    T_HOST: _parse_host, T_HOSTMASK: _parse_hostmask, T_PLEN: _parse_plen,
    T_PLENMASK: _parse_plen, T_PROTOCOL: _parse_protocol_opt,
}


def option_parse(cb: OptCall) -> None:
    """``xtables_option_parse``: the generic checks, then the type's parser."""
    e = cb.entry
    eflag = 1 << e.id
    if (not e.flags & F_MULTI or e.excl & eflag) and cb.xflags & eflag:
        raise param_error(f'{cb.ext_name}: option "--{e.name}" can only be used once.\n')
    if cb.invert and not e.flags & F_INVERT:
        raise param_error(f'{cb.ext_name}: option "--{e.name}" cannot be inverted.\n')
    if e.type != T_NONE and cb.arg is None:
        raise param_error(f'{cb.ext_name}: option "--{e.name}" requires an argument.\n')
    cb.nvals = 1
    sub = _SUBPARSE.get(e.type)
    if sub is not None:
        sub(cb)
    cb.xflags |= eflag


def options_fcheck(name: str, xflags: int, table: tuple[Opt, ...]) -> None:
    """``xtables_options_fcheck``: mandatory options, "also" and exclusions."""
    by_id: dict[int, Opt] = {}
    for e in table:
        by_id.setdefault(e.id, e)
    for e in table:
        if e.flags & F_MAND and not xflags & (1 << e.id):
            raise param_error(f'{name}: option "--{e.name}" must be specified\n')
        if not xflags & (1 << e.id):
            continue
        for i in range(32):
            other = by_id.get(i)
            if other is None or i == e.id:
                continue
            of = 1 << i
            if e.also & of and not xflags & of:
                raise param_error(f'{name}: option "--{e.name}" also requires '
                                  f'"--{other.name}".\n')
            if e.excl & of and xflags & of:
                raise param_error(f'{name}: option "--{e.name}" cannot be used together '
                                  f'with "--{other.name}".\n')
