"""iproute2's parsing conventions and error texts (``lib/utils.c``).

Keyword abbreviations follow iproute2's ``matches()``: a word matches a
keyword when it is a non-empty prefix of it, and the first keyword tried wins.
Exit statuses follow iproute2 too: argument errors exit 255, a missing device
1, an error the kernel returned (``RTNETLINK answers: ...``) 2.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...errors import KernelError
from ...ipv4.inet import aton, mask
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


def incomplete() -> ToolExit:
    raise ToolExit(255, 'Command line is not complete. Try option "help"')


def invarg(msg: str, arg: str) -> ToolExit:
    raise ToolExit(255, f'Error: argument "{arg}" is wrong: {msg}')


def duparg(key: str, arg: str) -> ToolExit:
    raise ToolExit(255, f'Error: duplicate "{key}": "{arg}" is the second value.')


def duparg2(key: str, arg: str) -> ToolExit:
    raise ToolExit(255, f'Error: either "{key}" is duplicate, or "{arg}" is a garbage.')


def nodev(name: str) -> ToolExit:
    raise ToolExit(1, f'Cannot find device "{name}"')


def rtnl_error(exc: KernelError) -> ToolExit:
    """How iproute2 reports a netlink error: the extack text, else strerror."""
    if exc.extack:
        text = exc.extack if exc.extack.endswith(".") else exc.extack + "."
        raise ToolExit(2, f"Error: {text}")
    raise ToolExit(2, f"RTNETLINK answers: {os.strerror(exc.errno or errno.EINVAL)}")


def get_unsigned(text: str, base: int = 0, bits: int = 32) -> int:
    """strtoul-like: decimal, 0x hex, 0 octal; ValueError on garbage or overflow."""
    t = text
    if not t or t.startswith(("-", "+")) or t.strip() != t:
        raise ValueError(text)
    if base == 0:
        if t.lower().startswith("0x"):
            value = int(t[2:], 16)
        elif len(t) > 1 and t.startswith("0"):
            value = int(t[1:], 8)
        else:
            value = int(t, 10)
    else:
        value = int(t, base)
    if value >> bits:
        raise ValueError(text)
    return value


def get_addr(text: str) -> int:
    """An IPv4 address as iproute2's get_addr_1 accepts it (also 'a.b.c' short forms)."""
    try:
        return aton(text)
    except ValueError:
        pass
    parts = text.split(".")
    if 0 < len(parts) < 4 and all(p.isdigit() and int(p) < 256 for p in parts):
        value = 0
        for p in parts:
            value = (value << 8) | int(p)
        return value << (8 * (4 - len(parts)))
    raise ValueError(text)


def get_prefix(text: str, allow_default: bool = True) -> tuple[int, int]:
    """ADDR[/PLEN] -> (addr, plen); "default"/"all"/"any" -> (0, 0)."""
    if allow_default and text in ("default", "all", "any"):
        return 0, 0
    addr_s, _, plen_s = text.partition("/")
    addr = get_addr(addr_s)
    if plen_s:
        if plen_s.isdigit() and int(plen_s) <= 32:
            plen = int(plen_s)
        else:
            try:
                msk = aton(plen_s)
            except ValueError:
                raise ValueError(text) from None
            plen = bin(msk).count("1")
            if mask(plen) != msk:
                raise ValueError(text)
    else:
        plen = 32
    return addr, plen


def lookup_dev(proc: Proc, name: str) -> NetDevice:
    dev = proc.net.dev_get_by_name(name)
    if dev is None:
        nodev(name)
    assert dev is not None
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
