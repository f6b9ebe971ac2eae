"""iproute2's parsing conventions and error texts (``lib/utils.c``).

Keyword abbreviations follow iproute2's ``matches()``: a word matches a
keyword when it is a non-empty prefix of it, and the first keyword tried wins.
Exit statuses follow iproute2 too: argument errors exit 255, a missing device
1, an error the kernel returned (``RTNETLINK answers: ...``) 2.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn, TypeVar

from ...errors import KernelError
from .. import Proc, ToolExit

if TYPE_CHECKING:
    from ...dev.netdevice import NetDevice
    from ...net import Net


@dataclass
class IpOpts:
    """ip's global options."""

    stats: int = 0
    details: int = 0
    json: bool = False
    pretty: bool = False
    brief: bool = False
    oneline: bool = False
    family: str = ""
    all: bool = False
    numeric: bool = False
    resolve: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def matches(word: str, keyword: str) -> bool:
    """iproute2's matches(): ``word`` is a non-empty prefix of ``keyword``."""
    return bool(word) and keyword.startswith(word)


class Args:
    """A cursor over argv, as iproute2's NEXT_ARG() loop uses it."""

    __slots__ = ("argv", "i")

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.i = 0

    def __bool__(self) -> bool:
        return self.i < len(self.argv)

    def peek(self) -> str:
        return self.argv[self.i]

    def pop(self) -> str:
        word = self.argv[self.i]
        self.i += 1
        return word

    def next_arg(self) -> str:
        """NEXT_ARG(): the value after a keyword, or "not complete"."""
        if self.i >= len(self.argv):
            incomplete()
        return self.pop()

    def rest(self) -> list[str]:
        out = self.argv[self.i:]
        self.i = len(self.argv)
        return out


def incomplete() -> NoReturn:
    raise ToolExit(255, 'Command line is not complete. Try option "help"')


def invarg(msg: str, arg: str) -> NoReturn:
    raise ToolExit(255, f'Error: argument "{arg}" is wrong: {msg}')


def duparg(key: str, arg: str) -> NoReturn:
    raise ToolExit(255, f'Error: duplicate "{key}": "{arg}" is the second value.')


def duparg2(key: str, arg: str) -> NoReturn:
    raise ToolExit(255, f'Error: either "{key}" is duplicate, or "{arg}" is a garbage.')


def nodev(name: str) -> NoReturn:
    raise ToolExit(1, f'Cannot find device "{name}"')


def rtnl_error(exc: KernelError) -> NoReturn:
    """How iproute2 reports a netlink error: the extack text, else strerror."""
    if exc.extack:
        text = exc.extack if exc.extack.endswith(".") else exc.extack + "."
        raise ToolExit(2, f"Error: {text}")
    raise ToolExit(2, f"RTNETLINK answers: {os.strerror(exc.errno or errno.EINVAL)}")


T = TypeVar("T")


def next_value(args: Args, msg: str, parse: Callable[..., T | None], *extra: object,
               **kw: object) -> T:
    """NEXT_ARG() and convert it; iproute2's ``invarg(msg, value)`` when that fails."""
    value = args.next_arg()
    out = parse(value, *extra, **kw)
    if out is None:
        invarg(msg, value)
    return out


def get_unsigned(text: str, base: int = 0, bits: int = 32) -> int:
    """get_unsigned(): as :func:`c_get_unsigned`, raising ValueError on failure."""
    value = c_get_unsigned(text, base, bits)
    if value is None:
        raise ValueError(text)
    return value


def get_addr(text: str) -> int:
    """An IPv4 address as get_addr_ipv4 reads it (also 'a.b.c' short forms)."""
    value = c_get_addr_ipv4(text) if ":" not in text else None
    if value is None:
        raise ValueError(text)
    return value


def get_prefix(text: str, allow_default: bool = True) -> tuple[int, int]:
    """ADDR[/PLEN|/MASK] -> (addr, plen); "default"/"all"/"any" -> (0, 0)."""
    pfx = parse_inet_prefix(text)
    if pfx is None or (not allow_default and pfx.addr == 0 and pfx.bitlen == 0
                       and text.split("/")[0] in ("default", "all", "any")):
        raise ValueError(text)
    return pfx.addr, pfx.bitlen


def lookup_dev(proc: Proc, name: str) -> NetDevice:
    dev = proc.net.dev_get_by_name(name)
    if dev is None:
        nodev(name)
    return dev


def resolve_netns(proc: Proc, name: str) -> Net:
    """A namespace by name, as `ip ... netns NAME` opens /run/netns/NAME."""
    try:
        return proc.kernel.netns_get(name)
    except KernelError:
        raise ToolExit(255, f'Cannot open network namespace "{name}": '
                            'No such file or directory') from None


def mac_str(addr: bytes) -> str:
    return ":".join(f"{b:02x}" for b in addr)


def parse_mac(text: str) -> bytes | None:
    parts = text.split(":")
    if not 1 <= len(parts) <= 32:
        return None
    try:
        out = bytes(int(p, 16) for p in parts)
    except ValueError:
        return None
    if any(not p or len(p) > 2 for p in parts):
        return None
    return out


# -- iproute2's address and number parsing (lib/utils.c), for ip route/rule --------


def c_strtoul(text: str, base: int = 0) -> tuple[int, str] | None:
    """C strtoul(): (value, rest) after leading blanks and an optional sign;
    None when no digit was read.  A '-' negates modulo 2**64, as C does."""
    s = text.lstrip(" \t\n\r\f\v")
    neg = s[:1] == "-"
    if s[:1] in "+-" and s:
        s = s[1:]
    if base in (0, 16) and s[:2].lower() == "0x" and len(s) > 2 and s[2] in _DIGITS[:22]:
        s, base = s[2:], 16
    elif base == 0:
        base = 8 if s[:1] == "0" else 10
    digits = _DIGITS[:base] if base <= 10 else _DIGITS[:10] + _DIGITS[10:10 + 2 * (base - 10)]
    n = 0
    while n < len(s) and s[n] in digits:
        n += 1
    if n == 0:
        return None
    value = int(s[:n], base)
    return ((-value) % (1 << 64) if neg else value), s[n:]


_DIGITS = "0123456789abcdefABCDEF"


def c_get_unsigned(text: str, base: int = 0, bits: int = 32) -> int | None:
    """get_unsigned()/get_u32(): the whole string must be a number that fits."""
    if not text:
        return None
    res = c_strtoul(text, base)
    if res is None or res[1]:
        return None
    return res[0] if res[0] < (1 << bits) else None


def c_get_addr_ipv4(text: str) -> int | None:
    """get_addr_ipv4(): 1 to 4 parts, each strtoul(base 0) <= 255; '10.8'
    is 10.8.0.0."""
    out = []
    rest = text
    for i in range(4):
        res = c_strtoul(rest, 0)
        if res is None or res[0] > 255:
            return None
        out.append(res[0])
        rest = res[1]
        if not rest:
            break
        if i == 3 or rest[0] != ".":
            return None
        rest = rest[1:]
    value = 0
    for octet in out:
        value = (value << 8) | octet
    return value << (8 * (4 - len(out)))


@dataclass
class InetPrefix:
    """iproute2's inet_prefix for IPv4: ``bytelen`` 0 for all/any,
    ``specified`` when a prefix length (or 'default') was given."""

    addr: int
    bitlen: int
    bytelen: int = 4
    specified: bool = False


def parse_inet_prefix(text: str) -> InetPrefix | None:
    """get_prefix_1() for AF_INET; None where iproute2 fails."""
    addr_s, slash, plen_s = text.partition("/")
    if addr_s in ("default", "all", "any"):
        if slash:
            return None
        return InetPrefix(0, 0, 4 if addr_s == "default" else 0, addr_s == "default")
    if ":" in addr_s:
        return None
    addr = c_get_addr_ipv4(addr_s)
    if addr is None:
        return None
    if not slash:
        return InetPrefix(addr, 32)
    plen = c_get_unsigned(plen_s)
    if plen is None:
        msk = c_get_addr_ipv4(plen_s)
        host = ~msk & 0xFFFFFFFF if msk is not None else 1
        if msk is None or host & (host + 1):
            return None
        plen = bin(msk).count("1")
    if plen > 32:
        return None
    return InetPrefix(addr, plen, specified=True)


def family_verbose(family: str) -> str:
    return "inet" if family == "inet" else "any valid"


def require_prefix(text: str, family: str) -> InetPrefix:
    """get_prefix(): the prefix, or iproute2's error (exit 1)."""
    pfx = parse_inet_prefix(text)
    if pfx is None:
        raise ToolExit(1, f'Error: {family_verbose(family)} prefix is expected '
                          f'rather than "{text}".')
    return pfx


def require_addr(text: str, family: str) -> int:
    """get_addr() for AF_INET: an address (default/all/any are 0), or exit 1."""
    if text in ("default", "all", "any"):
        return 0
    addr = c_get_addr_ipv4(text) if ":" not in text else None
    if addr is None:
        raise ToolExit(1, f'Error: {family_verbose(family)} address is expected '
                          f'rather than "{text}".')
    return addr
