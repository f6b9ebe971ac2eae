"""A rule: the fixed IPv4 part (``struct ipt_ip``), its matches, its target
and its counters; and the save (-S) and list (-L) texts of a whole rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .xtables import (
    ip_to_str,
    ipaddr_to_string,
    print_num,
    proto_to_name,
    save_mask,
)

if TYPE_CHECKING:
    from .ext import Ext, Match, Target

IPT_INV_VIA_IN = 0x01
IPT_INV_VIA_OUT = 0x02
IPT_INV_SRCIP = 0x08
IPT_INV_DSTIP = 0x10
IPT_INV_FRAG = 0x20
XT_INV_PROTO = 0x40

# listing formats (FMT_* of xtables.h)
FMT_NUMERIC = 0x0001
FMT_NOCOUNTS = 0x0002
FMT_KILOMEGAGIGA = 0x0004
FMT_OPTIONS = 0x0008
FMT_NOTABLE = 0x0010
FMT_VIA = 0x0040
FMT_LINENUMBERS = 0x0100
FMT_PRINT_RULE = FMT_NOCOUNTS | FMT_OPTIONS | FMT_VIA | FMT_NUMERIC | FMT_NOTABLE

STANDARD_VERDICTS = ("ACCEPT", "DROP", "QUEUE", "RETURN")


@dataclass(slots=True)
class IpSpec:
    """``struct ipt_ip``: addresses and masks are host-order ints."""

    src: int = 0
    smsk: int = 0
    dst: int = 0
    dmsk: int = 0
    iniface: str = ""
    outiface: str = ""
    proto: int = 0
    invflags: int = 0
    frag: bool = False

    def key(self) -> tuple[object, ...]:
        return (self.src, self.smsk, self.dst, self.dmsk, self.iniface, self.outiface,
                self.proto, self.invflags, self.frag)


def iface_matches(spec: str, name: str) -> bool:
    """The kernel's masked interface compare: "eth+" is a prefix."""
    if spec.endswith("+"):
        return name.startswith(spec[:-1])
    return name == spec


@dataclass(slots=True, eq=False)
class Rule:
    """One rule of a chain.  ``jumpto`` is what -L shows as target: a
    standard verdict, an extension target's name, a chain name, or ""."""

    ip: IpSpec
    matches: list[Match] = field(default_factory=list)
    target: Target | None = None
    jumpto: str = ""
    goto: bool = False
    pcnt: int = 0
    bcnt: int = 0

    def exts(self) -> list[Ext]:
        """The matches, then the target extension (if any)."""
        out: list[Ext] = list(self.matches)
        if self.target is not None:
            out.append(self.target)
        return out

    def key(self) -> tuple[object, ...]:
        """What makes two rules "the same" for -D, -C (counters excluded)."""
        return (self.ip.key(), tuple(m.key(self.ip) for m in self.matches), self.jumpto,
                self.goto, self.target.key(self.ip) if self.target is not None else None)

    def copy(self) -> Rule:
        """A rule with the same data (the objects are shared) and counters."""
        return Rule(self.ip, list(self.matches), self.target, self.jumpto, self.goto,
                    self.pcnt, self.bcnt)

    def readded(self) -> Rule:
        """The rule iptables-nft puts back to zero its counters (-Z): the same
        data with counters at 0 and the per-rule state of a new kernel rule
        (a limit's bucket is full again)."""
        return Rule(self.ip, [m.renewed() for m in self.matches], self.target, self.jumpto,
                    self.goto)

    # -- iptables -S / iptables-save ----------------------------------------------

    def save(self, chain: str, counters: str = "") -> str:
        """"-A CHAIN ..." without newline; ``counters``: "" / "-c" / "[]"."""
        ip = self.ip
        out = [f"-A {chain}"]
        out.append(_save_addr("s", ip.src, ip.smsk, bool(ip.invflags & IPT_INV_SRCIP)))
        out.append(_save_addr("d", ip.dst, ip.dmsk, bool(ip.invflags & IPT_INV_DSTIP)))
        out.append(_save_iface("i", ip.iniface, bool(ip.invflags & IPT_INV_VIA_IN)))
        out.append(_save_iface("o", ip.outiface, bool(ip.invflags & IPT_INV_VIA_OUT)))
        if ip.proto:
            name = proto_to_name(ip.proto, False)
            out.append(" !" if ip.invflags & XT_INV_PROTO else "")
            out.append(f" -p {name}" if name else f" -p {ip.proto}")
        if ip.frag:
            out.append(" ! -f" if ip.invflags & IPT_INV_FRAG else " -f")
        for m in self.matches:
            out.append(f" -m {m.alias()}{m.save(ip)}")
        if counters == "-c":
            out.append(f" -c {self.pcnt} {self.bcnt}")
        out.append(self._save_target())
        line = "".join(out)
        return f"[{self.pcnt}:{self.bcnt}] {line}" if counters == "[]" else line

    def _save_target(self) -> str:
        if self.target is not None:
            return f" -j {self.target.alias()}{self.target.save(self.ip)}"
        if self.jumpto:
            return f" -{'g' if self.goto else 'j'} {self.jumpto}"
        return ""

    # -- iptables -L ------------------------------------------------------------------

    def list_line(self, num: int, fmt: int) -> str:
        """One rule as ``print_firewall`` prints it, with the newline."""
        ip = self.ip
        tab = not fmt & FMT_NOTABLE
        numeric = bool(fmt & FMT_NUMERIC)
        out: list[str] = []
        if fmt & FMT_LINENUMBERS:
            out.append(f"{num:<4d} " if tab else f"{num} ")
        if not fmt & FMT_NOCOUNTS:
            kmg = bool(fmt & FMT_KILOMEGAGIGA)
            out.append(print_num(self.pcnt, kmg) + print_num(self.bcnt, kmg))
        out.append(f"{self.jumpto:<9s} " if tab else f"{self.jumpto} ")
        out.append("!" if ip.invflags & XT_INV_PROTO else " ")
        pname = proto_to_name(ip.proto, numeric)
        if (numeric and tab) or pname is None:
            out.append(f"{ip.proto:<4d} " if tab else f"{ip.proto} ")
        else:
            out.append(f"{pname:<4s} " if tab else f"{pname} ")
        out.append(self._list_opts_ifaces(fmt))
        out.append(self._list_addrs(fmt))
        if not tab:
            out.append("  ")
        if self.goto:
            out.append("[goto] ")
        for m in self.matches:
            out.append(m.print_(ip, numeric))
        if self.target is not None:
            out.append(self.target.print_(ip, numeric))
        return "".join(out) + "\n"

    def _list_opts_ifaces(self, fmt: int) -> str:
        ip = self.ip
        tab = not fmt & FMT_NOTABLE
        out = []
        if fmt & FMT_OPTIONS:
            if not tab:
                out.append("opt ")
            flag = "!" if ip.invflags & IPT_INV_FRAG else "-"
            out.append(flag + ("f" if ip.frag else "-") + " ")
        if fmt & FMT_VIA:
            anyname = "*" if fmt & FMT_NUMERIC else "any"
            iface = ("!" if ip.invflags & IPT_INV_VIA_IN else "") + (ip.iniface or anyname)
            out.append(f" {iface:<6s} " if tab else f"in {iface} ")
            oface = ("!" if ip.invflags & IPT_INV_VIA_OUT else "") + (ip.outiface or anyname)
            out.append(f"{oface:<6s} " if tab else f"out {oface} ")
        return "".join(out)

    def _list_addrs(self, fmt: int) -> str:
        ip = self.ip
        tab = not fmt & FMT_NOTABLE
        numeric = bool(fmt & FMT_NUMERIC)
        src = ipaddr_to_string(ip.src, ip.smsk, numeric)
        dst = ipaddr_to_string(ip.dst, ip.dmsk, numeric)
        out = "!" if ip.invflags & IPT_INV_SRCIP else " "
        out += f"{src:<19s} " if tab else f"{src} "
        out += "!" if ip.invflags & IPT_INV_DSTIP else " "
        out += f"{dst:<19s} " if tab else f"-> {dst}"
        return out


def _save_addr(letter: str, addr: int, mask: int, invert: bool) -> str:
    if not mask and not invert and not addr:
        return ""
    return f"{' !' if invert else ''} -{letter} {ip_to_str(addr)}/{save_mask(mask)}"


def _save_iface(letter: str, iface: str, invert: bool) -> str:
    if not iface:
        return ""
    return f"{' !' if invert else ''} -{letter} {iface}"
