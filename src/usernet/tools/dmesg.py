"""util-linux ``dmesg`` (2.38) over the emulated kernel's log buffer.

The log is the kernel's, not the namespace's: every namespace reads the same
records (LOG lines of every namespace, when they are allowed to log).  It
prints what dmesg prints reading /dev/kmsg: ``[%5lu.%06lu] text`` with the
virtual time of the record, ``-t`` without the time, ``-r`` with the raw
``<level>`` prefix, ``-x`` with ``facility:level:`` names, ``-d`` with the
time since the previous record.  ``-c`` prints and clears, ``-C`` clears;
``-l``/``-f`` filter by level/facility, ``-k``/``-u`` by origin.  Options of
dmesg that act on the console, on files or on the follow mode are refused as
not available here.
"""

from __future__ import annotations

from ..netfilter.getopt import Getopt, LongOpt
from ..printk import FACILITY_NAMES, LEVEL_NAMES, LogRecord, format_timestamp, kernel_log
from . import Proc, ToolExit

HELP = """
Usage:
 dmesg [options]

Display or control the kernel ring buffer.

Options:
 -C, --clear                 clear the kernel ring buffer
 -c, --read-clear            read and clear all messages
 -f, --facility <list>       restrict output to defined facilities
 -k, --kernel                display kernel messages
 -l, --level <list>          restrict output to defined levels
 -P, --nopager               do not pipe output into a pager
 -r, --raw                   print the raw message buffer
 -u, --userspace             display userspace messages
 -x, --decode                decode facility and level to readable string
 -d, --show-delta            show time delta between printed messages
 -t, --notime                don't show any timestamp with messages

 -h, --help                  display this help
 -V, --version               display version

For more details see dmesg(1).
"""
TRY = "Try 'dmesg --help' for more information.\n"
VERSION = "dmesg from util-linux 2.38.1\n"

OPTSTRING = "CcDdEeF:f:HhJkL::l:n:iPprSs:TtuVWwx"
LONGOPTS = (
    LongOpt("clear", 0, "C"), LongOpt("color", 2, "L"), LongOpt("console-level", 1, "n"),
    LongOpt("console-off", 0, "D"), LongOpt("console-on", 0, "E"), LongOpt("decode", 0, "x"),
    LongOpt("file", 1, "F"), LongOpt("facility", 1, "f"), LongOpt("follow", 0, "w"),
    LongOpt("follow-new", 0, "W"), LongOpt("human", 0, "H"), LongOpt("help", 0, "h"),
    LongOpt("json", 0, "J"), LongOpt("kernel", 0, "k"), LongOpt("level", 1, "l"),
    LongOpt("nopager", 0, "P"), LongOpt("noescape", 0, "noescape"), LongOpt("raw", 0, "r"),
    LongOpt("read-clear", 0, "c"), LongOpt("reltime", 0, "e"), LongOpt("show-delta", 0, "d"),
    LongOpt("syslog", 0, "S"), LongOpt("buffer-size", 1, "s"), LongOpt("ctime", 0, "T"),
    LongOpt("notime", 0, "t"), LongOpt("userspace", 0, "u"), LongOpt("version", 0, "V"),
    LongOpt("force-prefix", 0, "p"), LongOpt("time-format", 1, "time-format"),
    LongOpt("since", 1, "since"), LongOpt("until", 1, "until"),
)
# util-linux's excl[] rows (ASCII order) and the long names it prints for them
EXCLUSIVE = (("CDEcnr", "--clear --console-off --console-on --read-clear --console-level --raw"),
             ("Hr", "--human --raw"), ("Lr", "--color --raw"), ("Sw", "--syslog --follow"),
             ("Tr", "--ctime --raw"), ("dr", "--show-delta --raw"), ("rt", "--raw --notime"),
             ("rx", "--raw --decode"))
UNAVAILABLE = {"D": "--console-off", "E": "--console-on", "n": "--console-level",
               "F": "--file", "H": "--human", "J": "--json", "L": "--color", "S": "--syslog",
               "s": "--buffer-size", "T": "--ctime", "W": "--follow-new", "w": "--follow",
               "e": "--reltime", "i": "-i", "p": "--force-prefix", "noescape": "--noescape",
               "time-format": "--time-format", "since": "--since", "until": "--until"}
LOG_USER = 1


def _parse_list(text: str, names: tuple[str, ...], what: str) -> set[int]:
    """A comma list of names or numbers (parse_level / parse_facility)."""
    out: set[int] = set()
    for word in text.split(","):
        if word.isdigit() and int(word) < len(names):
            out.add(int(word))
        elif word in names:
            out.add(names.index(word))
        else:
            raise ToolExit(1, f"dmesg: unknown {what} '{word}'")
    return out


class _Opts:
    __slots__ = ("action", "decode", "delta", "facilities", "levels", "notime", "raw", "seen")

    def __init__(self) -> None:
        self.action = "print"  # print | read-clear | clear
        self.raw = self.decode = self.notime = self.delta = False
        self.levels: set[int] | None = None
        self.facilities: set[int] | None = None
        self.seen: list[str] = []

    def exclusive(self, opt: str) -> None:
        """err_exclusive_options: two different options of one row."""
        for row, names in EXCLUSIVE:
            if opt in row and any(o in row and o != opt for o in self.seen):
                raise ToolExit(1, f"dmesg: mutually exclusive arguments: {names}")
        self.seen.append(opt)


def _parse(argv: list[str]) -> _Opts:
    g = Getopt(["dmesg", *argv], OPTSTRING)
    g.longopts = list(LONGOPTS)
    g.opterr = True
    o = _Opts()
    while (c := g.next()) != -1:
        if c in ("?", ":"):
            raise ToolExit(1, g.errors[-1] + TRY)
        o.exclusive(c)
        if c in UNAVAILABLE:
            raise ToolExit(1, f"dmesg: {UNAVAILABLE[c]}: not available in usernet")
        _apply(o, c, g.optarg)
    if g.nonopts or g.optind < len(g.argv):
        raise ToolExit(1, "dmesg: bad usage\n" + TRY)
    return o


def _apply(o: _Opts, c: str, arg: str | None) -> None:
    if c == "h":
        raise _Done(HELP)
    if c == "V":
        raise _Done(VERSION)
    if c in "Cc":
        o.action = "clear" if c == "C" else "read-clear"
    elif c == "l":
        o.levels = _parse_list(arg or "", LEVEL_NAMES, "level")
    elif c == "f":
        o.facilities = _parse_list(arg or "", FACILITY_NAMES, "facility")
    elif c == "k":
        o.facilities = (o.facilities or set()) | {0}
    elif c == "u":
        o.facilities = (o.facilities or set()) | set(range(LOG_USER, len(FACILITY_NAMES)))
    elif c == "r":
        o.raw = True
    elif c == "x":
        o.decode = True
    elif c == "t":
        o.notime = True
    elif c == "d":
        o.delta = True
    # -P: there is no pager to switch off


class _Done(Exception):
    """--help / --version: print and exit 0."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _line(o: _Opts, rec: LogRecord, prev_ns: int | None) -> str:
    if o.raw:
        return f"<{rec.facility << 3 | rec.level}>{format_timestamp(rec.ts_ns)} {rec.text}\n"
    out = ""
    if o.decode:
        out = f"{FACILITY_NAMES[rec.facility]:<6s}:{LEVEL_NAMES[rec.level]:<6s}: "
    delta = ""
    if o.delta:
        d = 0 if prev_ns is None else (rec.ts_ns - prev_ns) // 1000
        delta = f"<{d // 1_000_000:5d}.{d % 1_000_000:06d}>"
    if o.notime:
        out += f"[{delta}] " if delta else ""
    else:
        ts = format_timestamp(rec.ts_ns)
        out += f"{ts[:-1]} {delta}] " if delta else ts + " "
    return out + rec.text + "\n"


def main(proc: Proc, argv: list[str]) -> int:
    try:
        o = _parse(argv)
    except _Done as done:
        proc.out(done.text)
        return 0
    log = kernel_log(proc.kernel)
    if o.action == "clear":
        log.clear()
        return 0
    prev: int | None = None
    for rec in log.read():
        if o.levels is not None and rec.level not in o.levels:
            continue
        if o.facilities is not None and rec.facility not in o.facilities:
            continue
        proc.out(_line(o, rec, prev))
        prev = rec.ts_ns
    if o.action == "read-clear":
        log.clear()
    return 0
