"""tcpdump 4.99.3 (libpcap 1.10.3) on one device of the tool's namespace, in virtual time.

``tcpdump [-i DEV] [-c N] [-w FILE] [-r FILE] [-n] [-e] [-t...] [-U] [EXPR]``
prints what the real program prints for the same traffic: packet lines from
:class:`~usernet.tools.tcpdump_fmt.TcpdumpFormatter`, the "listening on" and
closing statistics on stderr, and tcpdump's, libpcap's and GNU getopt's error
texts with their exit status (1).

How it runs in virtual time: a live capture attaches a tap to the device
(:class:`~usernet.dev.capture.PacketCapture`, filtered by
:func:`~usernet.tools.tcpdump_filter.compile_filter`) and drives the kernel's
scheduler until ``-c`` packets were captured or nothing is pending any more --
the simulation is idle, nothing else can arrive.  That end stands for the user
interrupting tcpdump, so it prints what an interrupted tcpdump prints (an
empty line on stdout when it was printing packets, then the statistics) and
exits 0.  A simulation that never goes idle (a task that keeps a timer armed
for ever) is cut after an hour of virtual time, the same way.  Commands run one
after another, so the traffic to watch must already be scheduled (a ping
spawned with ``Kernel.spawn``, say).  The other way round, tcpdump spawned as
a task (``kernel.spawn(kernel.cmd, "tcpdump -c 3 -i eth0", netns="a")``)
captures in the background while the next commands run -- until ``-c`` or the
hour, since a task cannot see the simulation go idle; and
:meth:`usernet.Kernel.capture` attaches a capture from Python that stays
until closed.

``-w FILE`` writes a nanosecond pcap; ``-r FILE`` reads classic pcap files of
either precision and byte order, with libpcap's checks and messages.  Paths
are relative to the Python process's working directory.

Device selection follows libpcap's ``pcap_findalldevs`` order (up and running
first, then connected, non-loopback, "any", then the rest), which ``-D``
lists, including the pseudo-devices of the oracle's libpcap build; ``-i N``
picks the N-th.  Only Ethernet-framed devices can be captured on: ``any``,
``nflog`` and the other pseudo-devices are refused with a "usernet:" message,
as are valid tcpdump options this emulation does not implement (``-v``,
``-q``, ``-X``, ``-Q`` ...).

Differences: no names are ever resolved (every address prints as with
``-n``); timestamps print in UTC; ``-w`` files are always nanosecond files;
"packets received by filter" equals "packets captured" (the tap stops at
``-c``); pcapng files cannot be read.  The formatter sees only the captured
bytes, so a frame cut by ``-s`` (or by a file's snaplen) prints as an IP
datagram truncated on the wire ("truncated-ip - N bytes missing!"), where
tcpdump prints the headers and "[|icmp]".
"""

from __future__ import annotations

import errno
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from ..dev.capture import PacketCapture
from ..dev.datapath import remove_tap
from ..dev.netdevice import IFF_LOOPBACK, IFF_RUNNING, IFF_UP
from ..errors import KernelError
from ..wait import WaitQueue, task_greenlet, wait_event
from ..wire.pcap import FILE_HDR, LINKTYPE_ETHERNET, MAGIC_NSEC, REC_HDR
from . import Proc, ToolExit
from .tcpdump_filter import FilterError, Predicate, compile_filter
from .tcpdump_fmt import ETHERTYPE_NAMES, TcpdumpFormatter

if TYPE_CHECKING:
    import os

    from ..dev.netdevice import NetDevice
    from ..kernel import Kernel
    from ..net import Net

VERSION = ("tcpdump version 4.99.3\nlibpcap version 1.10.3 (with TPACKET_V3)\n"
           "OpenSSL 3.0.19 27 Jan 2026\n")
USAGE = VERSION + (
    "Usage: tcpdump [-AbdDefhHIJKlLnNOpqStuUvxX#] [ -B size ] [ -c count ] [--count]\n"
    "\t\t[ -C file_size ] [ -E algo:secret ] [ -F file ] [ -G seconds ]\n"
    "\t\t[ -i interface ] [ --immediate-mode ] [ -j tstamptype ]\n"
    "\t\t[ -M secret ] [ --number ] [ --print ] [ -Q in|out|inout ]\n"
    "\t\t[ -r file ] [ -s snaplen ] [ -T type ] [ --version ]\n"
    "\t\t[ -V file ] [ -w file ] [ -W filecount ] [ -y datalinktype ]\n"
    "\t\t[ --time-stamp-precision precision ] [ --micro ] [ --nano ]\n"
    "\t\t[ -z postrotate-command ] [ -Z user ] [ expression ]\n")

MAXIMUM_SNAPLEN = 262144
INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1
NSEC_PER_SEC = 1_000_000_000
# A capture the simulation never lets go idle stops after this much virtual time.
MAX_CAPTURE_NS = 3600 * NSEC_PER_SEC
LINK_TYPE_TEXT = "EN10MB (Ethernet)"

# -- options (tcpdump.c's getopt_long call) ------------------------------------

OPTSTRING = "aAbB:c:C:dDeE:fF:G:hHi:Ij:JKlLm:M:nNOpqQ:r:s:StT:uUvV:w:W:xXy:Yz:Z:#"
_SHORT_ARG = frozenset(c for c, nxt in zip(OPTSTRING, OPTSTRING[1:] + " ", strict=True)
                       if nxt == ":" and c != ":")
_SHORT = frozenset(OPTSTRING.replace(":", ""))
# name: (takes an argument, the key main() sees), in tcpdump's longopts order
LONGOPTS: dict[str, tuple[bool, str]] = {
    "buffer-size": (True, "B"),
    "list-interfaces": (False, "D"),
    "help": (False, "h"),
    "interface": (True, "i"),
    "monitor-mode": (False, "I"),
    "time-stamp-type": (True, "j"),
    "list-time-stamp-types": (False, "J"),
    "micro": (False, "--micro"),
    "nano": (False, "--nano"),
    "time-stamp-precision": (True, "--time-stamp-precision"),
    "dont-verify-checksums": (False, "K"),
    "list-data-link-types": (False, "L"),
    "no-optimize": (False, "O"),
    "no-promiscuous-mode": (False, "p"),
    "direction": (True, "Q"),
    "snapshot-length": (True, "s"),
    "absolute-tcp-sequence-numbers": (False, "S"),
    "packet-buffered": (False, "U"),
    "linktype": (True, "y"),
    "immediate-mode": (False, "--immediate-mode"),
    "relinquish-privileges": (True, "Z"),
    "count": (False, "--count"),
    "fp-type": (False, "--fp-type"),
    "number": (False, "#"),
    "print": (False, "--print"),
    "version": (False, "--version"),
}
# Accepted and without effect here: line buffering, promiscuity, the BPF
# optimizer, checksum checks (never made without -v), -N, immediate mode.
_NO_OPS = frozenset({"l", "p", "O", "K", "N", "--immediate-mode"})
_SUPPORTED = frozenset({"c", "D", "e", "h", "i", "n", "r", "s", "t", "U", "w", "#", "Y",
                        "--micro", "--nano", "--time-stamp-precision", "--count", "--print",
                        "--version"}) | _NO_OPS


def _usage_error(message: str) -> ToolExit:
    return ToolExit(1, f"tcpdump: {message}\n{USAGE}")


def getopt_long(argv: list[str], operands: list[str]) -> Iterator[tuple[str, str, str]]:
    """GNU getopt_long with permutation: yields (key, argument, spelling) in
    order and collects the operands.  Errors raise getopt's text plus the usage."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            operands.extend(argv[i:])
            return
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            full = _match_long(name, arg)
            has_arg, key = LONGOPTS[full]
            if not has_arg:
                if eq:
                    raise _usage_error(f"option '--{full}' doesn't allow an argument")
                yield key, "", f"--{full}"
            elif eq:
                yield key, value, f"--{full}"
            elif i < len(argv):
                i += 1
                yield key, argv[i - 1], f"--{full}"
            else:
                raise _usage_error(f"option '--{full}' requires an argument")
            continue
        if not arg.startswith("-") or arg == "-":
            operands.append(arg)
            continue
        j = 1
        while j < len(arg):
            c = arg[j]
            j += 1
            if c not in _SHORT:
                raise _usage_error(f"invalid option -- '{c}'")
            if c not in _SHORT_ARG:
                yield c, "", f"-{c}"
                continue
            if j < len(arg):
                yield c, arg[j:], f"-{c}"
            elif i < len(argv):
                i += 1
                yield c, argv[i - 1], f"-{c}"
            else:
                raise _usage_error(f"option requires an argument -- '{c}'")
            break


def _match_long(name: str, arg: str) -> str:
    """The long option ``name`` abbreviates (exact names win; several
    candidates are fine when they all mean the same, as in glibc)."""
    if name in LONGOPTS:
        return name
    found = [opt for opt in LONGOPTS if opt.startswith(name)]
    if not found:
        raise _usage_error(f"unrecognized option '{arg}'")
    if len({LONGOPTS[opt] for opt in found}) > 1:
        listing = " ".join(f"'--{opt}'" for opt in found)
        raise _usage_error(f"option '--{name}' is ambiguous; possibilities: {listing}")
    return found[0]


def c_strtol(text: str, base: int = 10) -> tuple[int, int]:
    """strtol: (value clamped to a C long, characters consumed; 0 when no digits)."""
    i = len(text) - len(text.lstrip(" \t\n\v\f\r"))
    neg = False
    if i < len(text) and text[i] in "+-":
        neg = text[i] == "-"
        i += 1
    if base == 0:
        if text[i:i + 2] in ("0x", "0X") and i + 2 < len(text) and \
                text[i + 2] in "0123456789abcdefABCDEF":
            base, i = 16, i + 2
        elif text[i:i + 1] == "0":
            base = 8
        else:
            base = 10
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"[:base]
    j = i
    while j < len(text) and text[j].lower() in digits:
        j += 1
    if j == i:
        return 0, 0
    value = int(text[i:j], base)
    value = -value if neg else value
    return max(-LONG_MAX - 1, min(LONG_MAX, value)), j


def c_atoi(text: str) -> int:
    """atoi on LP64: strtol, then the low 32 bits as a signed int."""
    value = c_strtol(text)[0] & 0xFFFFFFFF
    return value - (1 << 32) if value > INT_MAX else value


@dataclass
class Opts:
    count: int = 0  # -c; 0 is "no limit"
    device: str | None = None
    list_devices: bool = False
    eflag: bool = False
    tflag: int = 0
    nano: bool = False
    rfile: str | None = None
    wfile: str | None = None
    snaplen: int = MAXIMUM_SNAPLEN
    buffered: bool = False  # -U: flush the -w file after every packet
    number: bool = False  # -#
    print_packets: bool = False  # --print
    count_mode: bool = False  # --count
    expression: list[str] = field(default_factory=list)


def parse_args(proc: Proc, argv: list[str]) -> Opts:
    o = Opts()
    operands: list[str] = []
    for key, val, spelling in getopt_long(argv, operands):
        if key not in _SUPPORTED:
            raise ToolExit(1, f"usernet: tcpdump option {spelling} is not supported")
        _set_option(proc, o, key, val)
    if o.tflag > 5:
        raise ToolExit(1, "tcpdump: only -t, -tt, -ttt, -tttt and -ttttt are supported")
    o.expression = operands
    return o


def _set_option(proc: Proc, o: Opts, key: str, val: str) -> None:
    if key == "c":
        o.count = c_atoi(val)
        if o.count <= 0:
            raise ToolExit(1, f"tcpdump: invalid packet count {val}")
    elif key == "D":
        o.list_devices = True
    elif key == "e":
        o.eflag = True
    elif key == "h":
        proc.out(USAGE)
        raise ToolExit(0)
    elif key == "--version":
        proc.out(VERSION)
        raise ToolExit(0)
    elif key == "Y":  # in the option string, but this build has no parser debugging
        raise ToolExit(1, USAGE)
    elif key == "i":
        o.device = val
    elif key == "r":
        o.rfile = val
    elif key == "w":
        o.wfile = val
    elif key == "s":
        snaplen, end = c_strtol(val, 0)
        if end == 0 or end != len(val) or not 0 <= snaplen <= MAXIMUM_SNAPLEN:
            raise ToolExit(1, f"tcpdump: invalid snaplen {val} (must be >= 0 and "
                              f"<= {MAXIMUM_SNAPLEN})")
        o.snaplen = snaplen or MAXIMUM_SNAPLEN
    elif key == "t":
        o.tflag += 1
    elif key == "U":
        o.buffered = True
    elif key == "#":
        o.number = True
    elif key in ("--micro", "--nano"):
        o.nano = key == "--nano"
    elif key == "--time-stamp-precision":
        if val not in ("micro", "nano"):
            raise ToolExit(1, "tcpdump: unsupported time stamp precision")
        o.nano = val == "nano"
    elif key == "--print":
        o.print_packets = True
    elif key == "--count":
        o.count_mode = True
    # -l -p -O -K -N --immediate-mode: nothing to do


# -- devices (pcap_findalldevs, pcap-linux.c's get_if_flags) --------------------

PCAP_IF_LOOPBACK = 0x1
PCAP_IF_UP = 0x2
PCAP_IF_RUNNING = 0x4
PCAP_IF_WIRELESS = 0x8
PCAP_IF_CONNECTION_STATUS_UNKNOWN = 0x00
PCAP_IF_CONNECTION_STATUS_CONNECTED = 0x10
PCAP_IF_CONNECTION_STATUS_DISCONNECTED = 0x20
PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE = 0x30
PCAP_IF_CONNECTION_STATUS = 0x30

# The capture sources the oracle's libpcap adds after the interfaces, as
# ``ip netns exec NS tcpdump -D`` lists them there.
PSEUDO_DEVICES: tuple[tuple[str, str, int], ...] = (
    ("any", "Pseudo-device that captures on all interfaces",
     PCAP_IF_UP | PCAP_IF_RUNNING | PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE),
    ("bluetooth-monitor", "Bluetooth Linux Monitor",
     PCAP_IF_WIRELESS | PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE),
    ("nflog", "Linux netfilter log (NFLOG) interface", PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE),
    ("nfqueue", "Linux netfilter queue (NFQUEUE) interface",
     PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE),
    ("dbus-system", "D-Bus system bus", PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE),
    ("dbus-session", "D-Bus session bus", PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE),
)
_PSEUDO_NAMES = frozenset(name for name, _, _ in PSEUDO_DEVICES)


@dataclass
class PcapIf:
    name: str
    description: str | None
    flags: int


def _if_flags(dev: NetDevice) -> int:
    kflags = dev.get_flags()
    flags = 0
    if kflags & IFF_UP:
        flags |= PCAP_IF_UP
    if kflags & IFF_RUNNING:
        flags |= PCAP_IF_RUNNING
    if kflags & IFF_LOOPBACK:
        return flags | PCAP_IF_LOOPBACK | PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE
    if dev.kind == "dummy":  # no ethtool get_link: ETHTOOL_GLINK fails
        return flags | PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE
    # ETHTOOL_GLINK: netif_running() && carrier
    if kflags & IFF_UP and dev.carrier:
        return flags | PCAP_IF_CONNECTION_STATUS_CONNECTED
    return flags | PCAP_IF_CONNECTION_STATUS_DISCONNECTED


def _figure_of_merit(dev: PcapIf) -> int:
    """libpcap's sort key: lower is better."""
    n = 0
    if not dev.flags & PCAP_IF_RUNNING:
        n |= 0x80000000
    if not dev.flags & PCAP_IF_UP:
        n |= 0x40000000
    if not dev.flags & PCAP_IF_WIRELESS and \
            dev.flags & PCAP_IF_CONNECTION_STATUS == PCAP_IF_CONNECTION_STATUS_DISCONNECTED:
        n |= 0x20000000
    if dev.flags & PCAP_IF_LOOPBACK:
        n |= 0x10000000
    if dev.name == "any":
        n |= 0x08000000
    return n


def find_all_devs(net: Net) -> list[PcapIf]:
    """pcap_findalldevs in ``net``: interfaces in ifindex order, then the
    pseudo-devices, stably sorted by figure of merit."""
    found = [PcapIf(dev.name, None, _if_flags(dev)) for dev in net.devices()]
    found += [PcapIf(name, desc, flags) for name, desc, flags in PSEUDO_DEVICES]
    return sorted(found, key=_figure_of_merit)


_STATUS_TEXT = {
    PCAP_IF_CONNECTION_STATUS_UNKNOWN: ", Connection status unknown",
    PCAP_IF_CONNECTION_STATUS_CONNECTED: ", Connected",
    PCAP_IF_CONNECTION_STATUS_DISCONNECTED: ", Disconnected",
    PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE: "",
}
_WIRELESS_STATUS_TEXT = {
    PCAP_IF_CONNECTION_STATUS_UNKNOWN: ", Association status unknown",
    PCAP_IF_CONNECTION_STATUS_CONNECTED: ", Associated",
    PCAP_IF_CONNECTION_STATUS_DISCONNECTED: ", Not associated",
    PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE: "",
}


def list_devices(net: Net) -> str:
    """``tcpdump -D``."""
    lines = []
    for i, dev in enumerate(find_all_devs(net), 1):
        line = f"{i}.{dev.name}"
        if dev.description is not None:
            line += f" ({dev.description})"
        if dev.flags:
            names = [text for bit, text in ((PCAP_IF_UP, "Up"), (PCAP_IF_RUNNING, "Running"),
                                            (PCAP_IF_LOOPBACK, "Loopback"),
                                            (PCAP_IF_WIRELESS, "Wireless"))
                     if dev.flags & bit]
            status = dev.flags & PCAP_IF_CONNECTION_STATUS
            table = _WIRELESS_STATUS_TEXT if dev.flags & PCAP_IF_WIRELESS else _STATUS_TEXT
            line += f" [{', '.join(names) or 'none'}{table[status]}]"
        lines.append(line + "\n")
    return "".join(lines)


def _parse_interface_number(name: str) -> int:
    """tcpdump's parse_interface_number: -1 when ``name`` is not all digits."""
    _, _, rest = name.partition(":")
    if rest.startswith("//") and "/" in rest[2:]:
        name = rest[2:].split("/", 1)[1]
    value, end = c_strtol(name)
    if end == 0 or end != len(name):
        return -1
    if value <= 0:
        raise ToolExit(1, "tcpdump: Invalid adapter index")
    return value


def _unsupported_device(name: str) -> ToolExit:
    return ToolExit(1, f"usernet: tcpdump cannot capture on {name}: only devices of the "
                       "namespace (link-type EN10MB) can be captured on")


def open_device(net: Net, name: str | None) -> NetDevice:
    """tcpdump's device choice and open_interface: the device, or its error."""
    if name is None:
        devs = find_all_devs(net)
        name = devs[0].name
        if name in _PSEUDO_NAMES:
            raise ToolExit(1, f"usernet: tcpdump would capture on \"{name}\" (no interface "
                              "is up), which is not supported; name a device with -i")
    dev = net.dev_get_by_name(name)
    if dev is None and name not in _PSEUDO_NAMES:
        devnum = _parse_interface_number(name)
        if devnum == -1:
            raise ToolExit(1, f"tcpdump: {name}: No such device exists\n"
                              "(No such device exists)")
        devs = find_all_devs(net)
        if devnum > len(devs):
            raise ToolExit(1, "tcpdump: Invalid adapter index")
        name = devs[devnum - 1].name
        dev = net.dev_get_by_name(name)
    if dev is None:
        raise _unsupported_device(name)
    if not dev.flags & IFF_UP:
        raise ToolExit(1, f"tcpdump: {name}: That device is not up")
    return dev


def device_netmask(dev: NetDevice) -> int:
    """pcap_lookupnet: the netmask of the device's first address (0 without one)."""
    in_dev = dev.ip_ptr
    if in_dev is None:
        return 0
    for ifa in in_dev.ifa_list:
        if ifa.label == dev.name:
            return ifa.mask
    return 0


# -- printing (print.c's pretty_print_packet, ts_print) ------------------------


class Printer:
    """Formats the packets of one capture as tcpdump prints them."""

    def __init__(self, o: Opts) -> None:
        self.fmt = TcpdumpFormatter()
        self.tflag = o.tflag
        self.nano = o.nano
        self.eflag = o.eflag
        self.number = o.number
        self.ref: tuple[int, int] = (0, 0)  # -ttt / -ttttt reference (sec, frac)

    def line(self, seq: int, sec: int, frac: int, frame: bytes, wire_len: int) -> str:
        """One packet; ``frac`` is in the printing precision (µs or ns)."""
        head = f"{seq:5d}  " if self.number else ""
        invalid = _invalid_header(len(frame), wire_len)
        if invalid:
            return head + invalid + "\n"
        if self.tflag in (0, 2) and not self.nano and frac < 1_000_000:
            text = self.fmt.format_line(sec * NSEC_PER_SEC + frac * 1000, frame,
                                        tt=self.tflag == 2)
            if self.eflag:
                stamp, _, body = text.partition(" ")
                text = f"{stamp} {ether_header(frame, wire_len, body)}"
            return head + text + "\n"
        body = self.fmt.format(frame)
        if self.eflag:
            body = ether_header(frame, wire_len, body)
        return head + self.stamp(sec, frac) + body + "\n"

    def stamp(self, sec: int, frac: int) -> str:
        digits = 9 if self.nano else 6
        unit = NSEC_PER_SEC if self.nano else 1_000_000
        t = self.tflag
        if t == 1:
            return ""
        if t == 2:
            return f"{sec}.{frac:0{digits}d} "
        if t in (3, 5):
            if self.ref == (0, 0):  # tcpdump's "not set yet", even for a packet at 0.0
                self.ref = (sec, frac)
            now, ref = (sec, frac), self.ref
            negative = now < ref
            if negative:
                now, ref = ref, now
            dsec, dfrac = now[0] - ref[0], now[1] - ref[1]
            if dfrac < 0:
                dsec -= 1
                dfrac += unit
            if t == 3:
                self.ref = (sec, frac)
            hms = f"{dsec // 3600:02d}:{dsec % 3600 // 60:02d}:{dsec % 60:02d}"
            return f"{'-' if negative else ' '}{hms}.{dfrac:0{digits}d} "
        tm = time.gmtime(sec)
        if t == 4:
            return time.strftime("%Y-%m-%d %H:%M:%S", tm) + f".{frac:0{digits}d} "
        return time.strftime("%H:%M:%S", tm) + f".{frac:0{digits}d} "


def _invalid_header(caplen: int, wire_len: int) -> str:
    """pretty_print_packet's sanity checks on the record's two lengths."""
    problems = []
    if caplen == 0:
        problems.append(" caplen==0")
    if wire_len == 0:
        problems.append(" len==0")
    elif wire_len < caplen:
        problems.append(f" len({wire_len}) < caplen({caplen})")
    if caplen > MAXIMUM_SNAPLEN:
        problems.append(f" caplen({caplen}) > {MAXIMUM_SNAPLEN}")
    if wire_len > MAXIMUM_SNAPLEN:
        problems.append(f" len({wire_len}) > {MAXIMUM_SNAPLEN}")
    if not problems:
        return ""
    return "[Invalid header:" + ",".join(problems) + "]"


_VLAN_TYPES = frozenset({0x8100, 0x9100, 0x9200, 0x88A8})
# The network printers that name their protocol only without -e.
_PROTO_TAGS = {0x0800: "IP ", 0x86DD: "IP6 ", 0x0806: "ARP, ", 0x8035: "ARP, "}


def _ether_type(etype: int) -> str:
    return f"ethertype {ETHERTYPE_NAMES.get(etype, 'Unknown')} (0x{etype:04x})"


def ether_header(frame: bytes, wire_len: int, body: str) -> str:
    """What -e makes of the formatter's text ``body`` for ``frame`` (print-ether.c
    with ndo_eflag): addresses, every type and VLAN tag, then the payload's text
    without the protocol name the network printers add only without -e."""
    if len(frame) < 14:
        return body  # " [|ether]" either way
    head = [f"{frame[6:12].hex(':')} > {frame[0:6].hex(':')}, "]
    length_part = f", length {wire_len}: "
    etype = int.from_bytes(frame[12:14], "big")
    off = 14
    tagged = False
    while etype in _VLAN_TYPES:
        if len(frame) - off < 4:
            return "".join(head) + body  # " [|vlan]"
        tci = int.from_bytes(frame[off:off + 2], "big")
        head.append(_ether_type(etype) + (", " if tagged else length_part))
        head.append(f"vlan {tci & 0xFFF}, p {tci >> 13}{', DEI' if tci & 0x1000 else ''}, ")
        tagged = True
        etype = int.from_bytes(frame[off + 2:off + 4], "big")
        off += 4
    sep = ", " if tagged else length_part
    if etype <= 1500:
        return "".join(head) + "802.3" + sep + body
    tag = _PROTO_TAGS.get(etype)
    if tag is not None:
        return "".join(head) + _ether_type(etype) + sep + body.removeprefix(tag)
    if not tagged:
        return body  # the formatter already printed the link header for an unknown type
    _, _, dump = body.partition(": ")
    return "".join(head) + _ether_type(etype) + sep + dump


# -- pcap files (sf-pcap.c) ------------------------------------------------------

PCAP_MAGICS = {0xA1B2C3D4: False, 0xA1B23C4D: True}  # magic: nanosecond
PCAPNG_MAGIC = 0x0A0D0D0A
DLT_NAMES = {0: "NULL (BSD loopback)", 1: LINK_TYPE_TEXT, 101: "RAW (Raw IP)",
             113: "LINUX_SLL (Linux cooked v1)", 228: "IPV4 (Raw IPv4)",
             229: "IPV6 (Raw IPv6)", 276: "LINUX_SLL2 (Linux cooked v2)"}


class SavefileError(Exception):
    """libpcap's text for an unreadable capture file."""


@dataclass
class Savefile:
    """A classic pcap file being read: its header, then records one by one."""

    data: bytes
    order: str
    nano: bool
    snaplen: int
    linktype: int
    off: int = FILE_HDR.size

    @classmethod
    def parse(cls, data: bytes) -> Savefile:
        if len(data) < 4:
            raise SavefileError("truncated dump file; tried to read 4 file header bytes, "
                                f"only got {len(data)}")
        for order in "<>":
            magic = struct.unpack_from(order + "I", data)[0]
            if magic in PCAP_MAGICS:
                break
        else:
            if struct.unpack_from("<I", data)[0] == PCAPNG_MAGIC:
                raise SavefileError("usernet: tcpdump cannot read pcapng files")
            raise SavefileError("unknown file format")
        if len(data) < FILE_HDR.size:
            raise SavefileError(f"truncated dump file; tried to read {FILE_HDR.size} file "
                                f"header bytes, only got {len(data) - 4}")
        _, major, minor, _, _, snaplen, linktype = struct.unpack_from(
            order + FILE_HDR.format.lstrip("<"), data)
        if major < 2:
            raise SavefileError("archaic pcap savefile format")
        if not ((major == 2 and minor <= 4) or (major == 543 and minor == 0)):
            raise SavefileError(f"unsupported pcap savefile version {major}.{minor}")
        linktype &= 0x03FFFFFF  # LT_LINKTYPE: the FCS bits are not the type
        if snaplen > INT_MAX or snaplen == 0 or snaplen > MAXIMUM_SNAPLEN:
            snaplen = MAXIMUM_SNAPLEN
        return cls(data, order, PCAP_MAGICS[magic], snaplen, linktype)

    def records(self) -> Iterator[tuple[int, int, bytes, int]]:
        """(seconds, fraction in the file's unit, captured bytes, wire length)."""
        rec = struct.Struct(self.order + REC_HDR.format.lstrip("<"))
        data = self.data
        while self.off < len(data):
            if len(data) - self.off < rec.size:
                raise SavefileError(f"truncated dump file; tried to read {rec.size} header "
                                    f"bytes, only got {len(data) - self.off}")
            sec, frac, caplen, wire_len = rec.unpack_from(data, self.off)
            self.off += rec.size
            if caplen > MAXIMUM_SNAPLEN:
                if caplen > self.snaplen:
                    raise SavefileError(f"invalid packet capture length {caplen}, bigger "
                                        f"than snaplen of {self.snaplen}")
                raise SavefileError(f"invalid packet capture length {caplen}, bigger than "
                                    f"maximum of {MAXIMUM_SNAPLEN}")
            keep = min(caplen, self.snaplen)  # longer records lose their tail
            left = len(data) - self.off
            if left < caplen:
                wanted = keep if left < keep else caplen
                raise SavefileError(f"truncated dump file; tried to read {wanted} captured "
                                    f"bytes, only got {left}")
            frame = data[self.off:self.off + keep]
            self.off += caplen
            yield sec, frac, frame, wire_len


class Dumper:
    """``-w``: a nanosecond EN10MB pcap (pcap_dump_open, pcap_dump)."""

    def __init__(self, f: BinaryIO, snaplen: int, flush_each: bool) -> None:
        self.f = f
        self.flush_each = flush_each
        f.write(FILE_HDR.pack(MAGIC_NSEC, 2, 4, 0, 0, snaplen, LINKTYPE_ETHERNET))

    def write(self, sec: int, nsec: int, frame: bytes, wire_len: int) -> None:
        self.f.write(REC_HDR.pack(sec & 0xFFFFFFFF, nsec & 0xFFFFFFFF, len(frame), wire_len))
        self.f.write(frame)
        if self.flush_each:
            self.f.flush()

    def close(self) -> None:
        self.f.close()


def _open_for_writing(path: str) -> BinaryIO:
    if path == "-":
        raise ToolExit(1, "usernet: tcpdump -w - (standard output) is not supported")
    try:
        return open(path, "wb")  # closed by Dumper.close
    except OSError as exc:
        raise ToolExit(1, f"tcpdump: {path}: {exc.strerror}") from None


def _compile(o: Opts, netmask: int) -> Predicate | None:
    expr = " ".join(o.expression)
    if not expr.strip():
        return None
    try:
        return compile_filter(expr, netmask)
    except FilterError as exc:
        raise ToolExit(1, str(exc)) from None


def _plural(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what.replace('packet', 'packets', 1)}"


# -- the two modes -----------------------------------------------------------------


def _read_file(proc: Proc, o: Opts) -> int:
    path = o.rfile
    assert path is not None
    if path == "-":
        raise ToolExit(1, "usernet: tcpdump -r - (standard input) is not supported")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except IsADirectoryError:
        raise ToolExit(1, "tcpdump: error reading dump file: Is a directory") from None
    except OSError as exc:
        raise ToolExit(1, f"tcpdump: {path}: {exc.strerror}") from None
    try:
        sf = Savefile.parse(data)
    except SavefileError as exc:
        text = str(exc)
        raise ToolExit(1, text if text.startswith("usernet:") else f"tcpdump: {text}") from None
    dlt = DLT_NAMES.get(sf.linktype)
    proc.err(f"reading from file {path}, "
             f"{f'link-type {dlt}' if dlt else f'link-type {sf.linktype}'}, "
             f"snapshot length {sf.snaplen}\n")
    if sf.linktype != LINKTYPE_ETHERNET:
        raise ToolExit(1, f"usernet: tcpdump can only print link-type {LINK_TYPE_TEXT} "
                          "captures")
    pred = _compile(o, 0)
    dumper = Dumper(_open_for_writing(o.wfile), sf.snaplen, o.buffered) if o.wfile else None
    printing = (o.wfile is None or o.print_packets) and not o.count_mode
    printer = Printer(o)
    seen = 0
    try:
        for sec, frac, frame, wire_len in sf.records():
            if pred is not None and not pred(frame):
                continue
            seen += 1
            if dumper is not None:
                dumper.write(sec, frac if sf.nano else frac * 1000, frame, wire_len)
            if printing:
                if sf.nano == o.nano:
                    shown = frac
                else:
                    shown = frac // 1000 if sf.nano else frac * 1000
                proc.out(printer.line(seen, sec, shown, frame, wire_len))
            if o.count and seen >= o.count:
                break
    except SavefileError as exc:
        raise ToolExit(1, f"tcpdump: pcap_loop: {exc}") from None
    finally:
        if dumper is not None:
            dumper.close()
    if o.count_mode:
        proc.out(_plural(seen, "packet") + "\n")
    return 0


def _capture_live(proc: Proc, o: Opts) -> int:
    dev = open_device(proc.net, o.device)
    pred = _compile(o, device_netmask(dev))
    dumper = Dumper(_open_for_writing(o.wfile), o.snaplen, o.buffered) if o.wfile else None
    printing = (o.wfile is None or o.print_packets) and not o.count_mode
    if o.wfile is None:
        proc.err("tcpdump: verbose output suppressed, use -v[v]... for full protocol decode\n")
    else:
        proc.err("tcpdump: ")
    proc.err(f"listening on {dev.name}, link-type {LINK_TYPE_TEXT}, "
             f"snapshot length {o.snaplen} bytes\n")
    printer = Printer(o)
    arrived = WaitQueue()

    def on_packet(ts_ns: int, frame: bytes) -> None:
        sec, nsec = divmod(ts_ns, NSEC_PER_SEC)
        data = frame[:o.snaplen]
        if dumper is not None:
            dumper.write(sec, nsec, data, len(frame))
        if printing:
            proc.out(printer.line(len(cap.packets), sec, nsec if o.nano else nsec // 1000,
                                  data, len(frame)))
        arrived.wake_up()

    cap = Capture(dev, filter=pred, count=o.count or None, on_packet=on_packet)
    try:
        wait_for_capture(proc.kernel, cap, arrived)
    finally:
        cap.close()
        if dumper is not None:
            dumper.close()
    if o.wfile is None and not cap.done:
        proc.out("\n")  # interrupted: "perhaps we didn't finish a line"
    n = len(cap.packets)
    proc.err(f"{_plural(n, 'packet captured')}\n{_plural(n, 'packet received by filter')}\n"
             "0 packets dropped by kernel\n")
    return 0


def wait_for_capture(kernel: Kernel, cap: PacketCapture, arrived: WaitQueue) -> None:
    """Run the simulation until ``cap`` is done or idle (or an hour has passed).
    A spawned task cannot see the simulation go idle: it waits for the count
    or the hour."""
    if task_greenlet() is not None:
        wait_event(kernel, [arrived], lambda: cap.done, MAX_CAPTURE_NS, what="tcpdump -c")
        return
    sched = kernel.sched
    limit = sched.now + MAX_CAPTURE_NS
    sched.run_until(None, stop=lambda: cap.done or sched.now > limit)


def main(proc: Proc, argv: list[str]) -> int:
    o = parse_args(proc, argv)
    if o.list_devices:
        proc.out(list_devices(proc.net))
        return 0
    if o.rfile is not None:
        return _read_file(proc, o)
    return _capture_live(proc, o)


# -- the Python API: Kernel.capture ------------------------------------------------


class Capture(PacketCapture):
    """A PacketCapture whose ``close()`` really detaches it and closes the file
    it was given (a second call does nothing).  Also a context manager.

    PacketCapture.close() hands remove_tap a new bound method, which never is
    the one add_tap stored, so the base class leaves its tap on the device;
    this class removes the stored one."""

    __slots__ = ("_file", "closed")

    def __init__(self, dev: NetDevice, fileobj: BinaryIO | None = None,
                 filter: Predicate | None = None, count: int | None = None,
                 on_packet: Callable[[int, bytes], None] | None = None) -> None:
        super().__init__(dev, fileobj=fileobj, filter=filter, count=count,
                         on_packet=on_packet)
        self._file = fileobj
        self.closed = False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            super().close()
        finally:
            tap = self._tap
            for stored in [t for t in self.dev.taps if t == tap]:
                remove_tap(self.dev, stored)
            if self._file is not None:
                self._file.close()

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_capture(kernel: Kernel, netns: str | Net, dev_name: str,
                 path: str | os.PathLike[str] | None = None, filter: str | None = None,
                 count: int | None = None) -> Capture:
    """What :meth:`usernet.Kernel.capture` returns: a tap on ``dev_name`` in
    ``netns`` keeping the frames ``filter`` (tcpdump syntax) selects, written
    to a pcap at ``path`` when given.  Raises KernelError (ENOENT for the
    namespace, ENODEV for the device), FilterError or OSError."""
    net = kernel.netns_get(netns) if isinstance(netns, str) else netns
    dev = net.dev_get_by_name(dev_name)
    if dev is None:
        raise KernelError(errno.ENODEV, f"no device {dev_name!r} in that namespace")
    pred = compile_filter(filter, device_netmask(dev)) if filter and filter.strip() else None
    if count is not None and count <= 0:
        raise ValueError(f"count must be positive, not {count}")
    fileobj = open(path, "wb") if path is not None else None  # noqa: SIM115
    try:
        return Capture(dev, fileobj, pred, count)
    except BaseException:
        if fileobj is not None:
            fileobj.close()
        raise


__all__ = [
    "Capture",
    "Printer",
    "Savefile",
    "SavefileError",
    "find_all_devs",
    "list_devices",
    "main",
    "open_capture",
    "open_device",
]
