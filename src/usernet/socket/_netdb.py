"""Names: a hosts table per namespace and the resolver functions over it.

Each namespace has its own ``/etc/hosts`` (``127.0.0.1 localhost`` to start
with) and its own host name (``localhost``); nothing reaches the host's
resolver or DNS.  The answers follow glibc with ``hosts: files`` in
nsswitch.conf: a name the table lacks is ``EAI_NONAME`` ("Name or service
not known"), ``getaddrinfo`` returns every address listed for a name, in
file order, ``gethostbyname`` the first line's.  usernet has no IPv6, so
AF_INET6 lookups fail with ``EAI_ADDRFAMILY``.  Services come from a
built-in excerpt of Debian's ``/etc/services``.
"""

from __future__ import annotations

import socket as _s
import weakref
from builtins import type as builtins_type
from typing import TYPE_CHECKING, Any

from ..task import current_task
from ._context import current_kernel

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..net import Net

AddrInfo = tuple[_s.AddressFamily, _s.SocketKind, int, str, tuple[str, int]]

SERVICES_TEXT = """\
echo 7/tcp 7/udp|discard 9/tcp 9/udp sink null|daytime 13/tcp 13/udp|chargen 19/tcp 19/udp
ftp-data 20/tcp|ftp 21/tcp|ssh 22/tcp|telnet 23/tcp|smtp 25/tcp mail|time 37/tcp 37/udp
domain 53/tcp 53/udp|bootps 67/udp|bootpc 68/udp|tftp 69/udp|http 80/tcp www
kerberos 88/tcp 88/udp|pop3 110/tcp pop-3|sunrpc 111/tcp 111/udp portmapper
ntp 123/udp|imap2 143/tcp imap|snmp 161/tcp 161/udp|snmp-trap 162/tcp 162/udp snmptrap
bgp 179/tcp|ldap 389/tcp 389/udp|https 443/tcp 443/udp|submissions 465/tcp ssmtp smtps
syslog 514/udp|submission 587/tcp|ldaps 636/tcp|imaps 993/tcp|pop3s 995/tcp
socks 1080/tcp|openvpn 1194/tcp 1194/udp|mqtt 1883/tcp|nfs 2049/tcp 2049/udp
mysql 3306/tcp|postgresql 5432/tcp|amqp 5672/tcp|x11 6000/tcp|redis 6379/tcp
http-alt 8080/tcp webcache|mqtts 8883/tcp
"""
PROTOCOLS = {"ip": 0, "icmp": 1, "tcp": 6, "udp": 17, "raw": 255}


def _parse_services() -> tuple[dict[tuple[str, str], int], dict[tuple[int, str], str]]:
    by_name: dict[tuple[str, str], int] = {}
    by_port: dict[tuple[int, str], str] = {}
    for entry in SERVICES_TEXT.replace("\n", "|").split("|"):
        if not entry:
            continue
        name, *rest = entry.split()
        ports = [p for p in rest if "/" in p]
        aliases = [a for a in rest if "/" not in a]
        for spec in ports:
            port, proto = spec.split("/")
            by_port[(int(port), proto)] = name
            for alias in (name, *aliases):
                by_name[(alias, proto)] = int(port)
    return by_name, by_port


SERVICE_PORT, SERVICE_NAME = _parse_services()


class Hosts:
    """One namespace's ``/etc/hosts`` and host name."""

    __slots__ = ("entries", "hostname")

    def __init__(self) -> None:
        self.entries: list[tuple[str, list[str]]] = [("127.0.0.1", ["localhost"])]
        self.hostname = "localhost"

    def add(self, addr: str, *names: str) -> None:
        """Append a line ``addr name...`` (an IPv4 address, one name or more)."""
        packed = inet_aton_exact(addr)
        if packed is None:
            raise ValueError(f"not an IPv4 address: {addr!r}")
        if not names or any(not n or any(c.isspace() for c in n) for n in names):
            raise ValueError(f"bad host names: {names!r}")
        self.entries.append((_s.inet_ntoa(packed.to_bytes(4, "big")), list(names)))

    def remove(self, key: str) -> int:
        """Drop the lines of an address, or a name from every line (a line
        left without names goes); how many lines changed."""
        changed = 0
        kept: list[tuple[str, list[str]]] = []
        for addr, names in self.entries:
            left = [n for n in names if n.lower() != key.lower()]
            if addr == key or len(left) != len(names):
                changed += 1
            if addr != key and left:
                kept.append((addr, left))
        self.entries = kept
        return changed

    def lookup(self, name: str) -> list[tuple[str, list[str]]]:
        """The lines that list ``name`` (case does not matter)."""
        key = name.lower()
        return [(a, ns) for a, ns in self.entries if any(n.lower() == key for n in ns)]

    def addresses(self, name: str) -> list[str]:
        out: list[str] = []
        for addr, _ in self.lookup(name):
            if addr not in out:
                out.append(addr)
        return out

    def by_addr(self, addr: str) -> list[str] | None:
        """The names of the first line for ``addr``."""
        for a, names in self.entries:
            if a == addr:
                return names
        return None

    def text(self) -> str:
        """The table as /etc/hosts would hold it."""
        return "".join(f"{a}\t{' '.join(ns)}\n" for a, ns in self.entries)


_hosts: weakref.WeakKeyDictionary[Net, Hosts] = weakref.WeakKeyDictionary()


def hosts(kernel: Kernel | None = None, net: Net | str | None = None) -> Hosts:
    """The hosts table of ``net`` (a namespace or its name; default: the
    current task's namespace)."""
    k = kernel or current_kernel()
    if net is None:
        net = current_task(k).net
    elif isinstance(net, str):
        net = k.netns_get(net)
    table = _hosts.get(net)
    if table is None:
        table = _hosts[net] = Hosts()
    return table


# -- numbers and addresses ----------------------------------------------------------


def _c_number(text: str) -> int | None:
    """One part of an inet_aton address: decimal, 0x hex or 0 octal."""
    if not text:
        return None
    try:
        if text[:2] in ("0x", "0X"):
            return int(text[2:], 16) if text[2:] else 0
        if len(text) > 1 and text[0] == "0":
            return int(text[1:], 8)
        return int(text, 10) if text.isdigit() else None
    except ValueError:
        return None


def inet_aton_exact(text: str) -> int | None:
    """glibc's inet_aton_exact: "a.b.c.d", "a.b.c", "a.b", "a" in C number
    forms, nothing after; the address as an int, or None."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    nums = [_c_number(p) for p in parts]
    if any(n is None for n in nums):
        return None
    vals = [n for n in nums if n is not None]
    value = 0
    for v in vals[:-1]:
        if v > 255:
            return None
        value = value << 8 | v
    last = vals[-1]
    if last >= 1 << (8 * (5 - len(vals))):
        return None
    return value << (8 * (5 - len(vals))) | last


def addr_str(addr: int) -> str:
    text = _ADDR_STR.get(addr)
    if text is None:
        if len(_ADDR_STR) >= 4096:
            _ADDR_STR.clear()
        text = _ADDR_STR[addr] = _s.inet_ntoa(addr.to_bytes(4, "big"))
    return text


# dotted quads of the addresses seen so far (every recvfrom formats one)
_ADDR_STR: dict[int, str] = {}


# IDNA text of the str hosts seen so far: a pure function of the string,
# and its codec is slow.  Bounded: cleared when full.
_IDNA: dict[str, str] = {}


def _host_text(host: Any) -> str:
    if type(host) is str:  # exactly str: a subclass may hash or encode its own way
        text = _IDNA.get(host)
        if text is None:
            text = host.encode("idna").decode("ascii")
            if len(_IDNA) >= 4096:
                _IDNA.clear()
            _IDNA[host] = text
        return text
    if isinstance(host, str):
        return host.encode("idna").decode("ascii")
    if isinstance(host, bytes | bytearray):
        return bytes(host).decode("ascii", "replace")
    raise TypeError(f"str, bytes or bytearray expected, not {type(host).__name__}")


# setipaddr's dotted quads already parsed: text -> address.
_QUADS: dict[str, int] = {}


def setipaddr(host: Any, kernel: Kernel | None = None) -> int:
    """CPython's setipaddr for AF_INET: "" is any, "<broadcast>" all ones,
    a dotted quad itself, anything else through getaddrinfo."""
    name = _host_text(host)
    quad = _QUADS.get(name)
    if quad is not None:
        return quad
    if name == "":
        return 0
    if name in ("<broadcast>", "255.255.255.255"):
        return 0xFFFFFFFF
    parts = name.split(".")
    if len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts):
        quad = int.from_bytes(bytes(int(p) for p in parts), "big")
        if len(_QUADS) >= 4096:
            _QUADS.clear()
        _QUADS[name] = quad
        return quad
    info = getaddrinfo(name, None, _s.AF_INET, kernel=kernel)
    return inet_aton_exact(info[0][4][0]) or 0


# -- getaddrinfo and friends --------------------------------------------------------


def _gaierror(code: int) -> _s.gaierror:
    texts = {_s.EAI_NONAME: "Name or service not known",
             _s.EAI_SERVICE: "Servname not supported for ai_socktype",
             _s.EAI_FAMILY: "ai_family not supported",
             _s.EAI_SOCKTYPE: "ai_socktype not supported",
             _s.EAI_BADFLAGS: "Bad value for ai_flags",
             _s.EAI_ADDRFAMILY: "Address family for hostname not supported"}
    return _s.gaierror(code, texts[code])


_SOCKTYPES: list[tuple[int, int, str]] = [
    (_s.SOCK_STREAM, _s.IPPROTO_TCP, "tcp"), (_s.SOCK_DGRAM, _s.IPPROTO_UDP, "udp"),
    (_s.SOCK_RAW, 0, "")]


def _socktypes(type: int, proto: int) -> list[tuple[int, int, str]]:
    out = [t for t in _SOCKTYPES if (not type or t[0] == type) and (not proto or t[1] == proto)]
    if type == _s.SOCK_RAW and proto:
        out = [(type, proto, "")]
    if not out:
        raise _gaierror(_s.EAI_SOCKTYPE if type not in (0, 1, 2, 3) else _s.EAI_SERVICE)
    return out


def _service(port: Any, types: list[tuple[int, int, str]],
             flags: int) -> list[tuple[int, int, int]]:
    """(socktype, proto, port) for every socket type the service exists for."""
    if port is None:
        return [(t, p, 0) for t, p, _ in types]
    if isinstance(port, int):
        text = str(port)
    elif isinstance(port, str | bytes):
        text = port.decode() if isinstance(port, bytes) else port
    else:
        raise OSError("Int or String expected")
    if text.isdigit():
        return [(t, p, int(text) & 0xFFFF) for t, p, _ in types]
    if flags & _s.AI_NUMERICSERV:
        raise _gaierror(_s.EAI_NONAME)
    out = [(t, p, SERVICE_PORT[(text, name)]) for t, p, name in types
           if (text, name) in SERVICE_PORT]
    if not out:
        raise _gaierror(_s.EAI_SERVICE)
    return out


def _is_ipv6(name: str) -> bool:
    try:
        _s.inet_pton(_s.AF_INET6, name.split("%", 1)[0])
    except (OSError, ValueError):
        return False
    return True


def _resolve(k: Kernel, host: Any, flags: int) -> tuple[list[str], str]:
    """(addresses, canonical name) for ``host``."""
    if host is None:
        return (["0.0.0.0" if flags & _s.AI_PASSIVE else "127.0.0.1"], "")
    name = _host_text(host)
    packed = inet_aton_exact(name)
    if packed is not None:
        return [addr_str(packed)], name
    if _is_ipv6(name):
        raise _gaierror(_s.EAI_ADDRFAMILY)  # a v6 literal, and usernet is IPv4 only
    if flags & _s.AI_NUMERICHOST:
        raise _gaierror(_s.EAI_NONAME)
    table = hosts(k)
    addrs = table.addresses(name)
    if not addrs:
        raise _gaierror(_s.EAI_NONAME)
    return addrs, table.lookup(name)[0][1][0]


def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,
                flags: int = 0, *, kernel: Kernel | None = None) -> list[AddrInfo]:
    """socket.getaddrinfo, answered from the namespace's hosts table."""
    k = kernel or current_kernel()
    cacheable = builtins_type(host) is str and builtins_type(port) is int \
        and isinstance(family, int) and isinstance(type, int) and isinstance(proto, int) \
        and isinstance(flags, int)
    if cacheable:
        hit = _NUMERIC_AI.get((host, port, family, type, proto, flags))
        if hit is not None:
            return list(hit)
    found = _getaddrinfo(k, host, port, family, type, proto, flags)
    if cacheable and inet_aton_exact(_host_text(host)) is not None:
        # A numeric host's answer depends on nothing the namespace holds.
        if len(_NUMERIC_AI) >= 4096:
            _NUMERIC_AI.clear()
        _NUMERIC_AI[(host, port, family, type, proto, flags)] = tuple(found)
    return found


# getaddrinfo's answers for numeric hosts (and int ports), by arguments.
_NUMERIC_AI: dict[tuple[Any, ...], tuple[AddrInfo, ...]] = {}


def _getaddrinfo(k: Kernel, host: Any, port: Any, family: int, type: int, proto: int,
                 flags: int) -> list[AddrInfo]:
    """getaddrinfo's full road."""
    if host is None and port is None:
        raise _gaierror(_s.EAI_NONAME)
    if family == _s.AF_INET6:
        raise _gaierror(_s.EAI_ADDRFAMILY)
    if family not in (0, _s.AF_INET):
        raise _gaierror(_s.EAI_FAMILY)
    services = _service(port, _socktypes(type, proto), flags)
    addrs, canon = _resolve(k, host, flags)
    out: list[AddrInfo] = []
    for addr in addrs:
        for st, pr, num in services:
            cname = canon if flags & _s.AI_CANONNAME and not out else ""
            out.append((_s.AddressFamily.AF_INET, _s.SocketKind(st), pr, cname, (addr, num)))
    return out


def gethostbyname(name: Any, *, kernel: Kernel | None = None) -> str:
    return addr_str(setipaddr(name, kernel))


def gethostbyname_ex(name: Any, *,
                     kernel: Kernel | None = None) -> tuple[str, list[str], list[str]]:
    """(canonical name, aliases, addresses) of the first line naming ``name``."""
    k = kernel or current_kernel()
    text = _host_text(name)
    addr = addr_str(setipaddr(text, k))
    lines = hosts(k).lookup(text)
    if not lines:
        return (text, [], [addr])
    first_names = lines[0][1]
    addrs = [a for a, ns in lines if ns == first_names]
    return (first_names[0], first_names[1:], addrs)


def gethostbyaddr(ip: Any, *, kernel: Kernel | None = None) -> tuple[str, list[str], list[str]]:
    k = kernel or current_kernel()
    addr = addr_str(setipaddr(ip, k))
    names = hosts(k).by_addr(addr)
    if names is None:
        raise _s.herror(1, "Unknown host")
    return (names[0], names[1:], [addr])


def getnameinfo(sockaddr: Any, flags: int, *, kernel: Kernel | None = None) -> tuple[str, str]:
    k = kernel or current_kernel()
    if not isinstance(sockaddr, tuple) or len(sockaddr) not in (2, 4) \
            or not isinstance(sockaddr[1], int):
        raise TypeError("getnameinfo(): illegal sockaddr argument")
    packed = inet_aton_exact(_host_text(sockaddr[0]))
    if packed is None:
        raise _gaierror(_s.EAI_NONAME)
    addr, port = addr_str(packed), sockaddr[1] & 0xFFFF
    host = addr
    if not flags & _s.NI_NUMERICHOST:
        names = hosts(k).by_addr(addr)
        if names is not None:
            host = names[0].split(".")[0] if flags & _s.NI_NOFQDN else names[0]
        elif flags & _s.NI_NAMEREQD:
            raise _gaierror(_s.EAI_NONAME)
    proto = "udp" if flags & _s.NI_DGRAM else "tcp"
    serv = str(port) if flags & _s.NI_NUMERICSERV else SERVICE_NAME.get((port, proto), str(port))
    return host, serv


def gethostname(*, kernel: Kernel | None = None) -> str:
    return hosts(kernel).hostname


def sethostname(name: str | bytes, *, kernel: Kernel | None = None) -> None:
    hosts(kernel).hostname = name.decode() if isinstance(name, bytes) else name


def getfqdn(name: str = "", *, kernel: Kernel | None = None) -> str:
    """CPython's getfqdn: the first name with a dot among the host's names."""
    name = name.strip()
    if not name or name in ("0.0.0.0", "::"):
        name = gethostname(kernel=kernel)
    try:
        hostname, aliases, _ = gethostbyaddr(name, kernel=kernel)
    except OSError:
        return name
    for candidate in [hostname, *aliases]:
        if "." in candidate:
            return candidate
    return hostname


def getservbyname(name: str, proto: str | None = None) -> int:
    for p in (proto,) if proto else ("tcp", "udp"):
        if (name, p) in SERVICE_PORT:
            return SERVICE_PORT[(name, p)]
    raise OSError("service/proto not found")


def getservbyport(port: int, proto: str | None = None) -> str:
    if not 0 <= port <= 0xFFFF:
        raise OverflowError("getservbyport: port must be 0-65535.")
    for p in (proto,) if proto else ("tcp", "udp"):
        if (port, p) in SERVICE_NAME:
            return SERVICE_NAME[(port, p)]
    raise OSError("port/proto not found")


def getprotobyname(name: str) -> int:
    if name not in PROTOCOLS:
        raise OSError("protocol not found")
    return PROTOCOLS[name]
