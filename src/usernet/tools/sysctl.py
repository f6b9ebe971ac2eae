"""procps ``sysctl``: read and write ``net.*`` keys of the caller's namespace.

Texts, exit statuses and quirks follow procps-ng 4 as recorded (NOTES.md
"sysctl"): ``KEY=VALUE`` writes even without ``-w``; a write echoes the value
as given; a read-only key prints "Invalid argument" but leaves the exit status
at 0 (procps only warns when the file is not writable).
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import KernelError
from ..sysctl import is_dir, keys, sysctl_get, sysctl_mode, sysctl_set
from . import Proc, ToolExit

USAGE = """
Usage:
 sysctl [options] [variable[=value] ...]

Options:
  -a, --all            display all variables
  -A                   alias of -a
  -X                   alias of -a
      --deprecated     include deprecated parameters to listing
      --dry-run        Print the key and values but do not write
  -b, --binary         print value without new line
  -e, --ignore         ignore unknown variables errors
  -N, --names          print variable names without values
  -n, --values         print only values of the given variable(s)
  -p, --load[=<file>]  read values from file
  -f                   alias of -p
      --system         read values from all system directories
  -r, --pattern <expression>
                       select setting that match expression
  -q, --quiet          do not echo variable set
  -w, --write          enable writing a value to variable
  -o                   does nothing
  -x                   does nothing
  -d                   alias of -h

 -h, --help     display this help and exit
 -V, --version  output version information and exit

For more details see sysctl(8).
"""

_LONG = {"--all": "a", "--deprecated": "D", "--dry-run": "R", "--binary": "b",
         "--ignore": "e", "--names": "N", "--values": "n", "--quiet": "q", "--write": "w",
         "--pattern": "r", "--help": "h", "--version": "V", "--load": "p", "--system": "S"}


@dataclass
class Opts:
    all: bool = False
    deprecated: bool = False
    dry_run: bool = False
    binary: bool = False
    ignore: bool = False
    names: bool = False
    values: bool = False
    quiet: bool = False
    write: bool = False
    pattern: re.Pattern[str] | None = None


def _set_flag(opts: Opts, flag: str) -> None:
    attr = {"a": "all", "A": "all", "X": "all", "D": "deprecated", "R": "dry_run",
            "b": "binary", "e": "ignore", "N": "names", "n": "values", "q": "quiet",
            "w": "write"}.get(flag)
    if attr is not None:
        setattr(opts, attr, True)
    elif flag in "hd":
        raise ToolExit(0, USAGE)
    elif flag == "V":
        raise ToolExit(0, "sysctl from procps-ng 4.0.2 (usernet)")
    elif flag in "pfS":
        raise ToolExit(1, "sysctl: loading settings from files is not supported by usernet")
    elif flag not in "ox":
        raise ToolExit(1, f"sysctl: invalid option -- '{flag}'\n{USAGE}")


def parse_args(argv: list[str]) -> tuple[Opts, list[str]]:
    opts = Opts()
    rest: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg.startswith("--") and arg.split("=")[0] in _LONG:
            flag = _LONG[arg.split("=")[0]]
            if flag == "r":
                opts.pattern = re.compile(arg.split("=", 1)[1] if "=" in arg else next(it, ""))
            else:
                _set_flag(opts, flag)
        elif arg.startswith("-") and len(arg) > 1 and not arg.startswith("--"):
            _short(opts, arg[1:], it)
        else:
            rest.append(arg)
    return opts, rest


def _short(opts: Opts, flags: str, it: Iterator[str]) -> None:
    for i, flag in enumerate(flags):
        if flag == "r":
            value = flags[i + 1:] or next(it, "")
            opts.pattern = re.compile(value)
            return
        _set_flag(opts, flag)


def dotted(key: str) -> str:
    """procps accepts the path form net/ipv4/ip_forward and prints dots."""
    return key.replace("/", ".") if "/" in key else key


def proc_path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


class Sysctl:
    """One run of the tool: its options and the exit status so far."""

    def __init__(self, proc: Proc, opts: Opts) -> None:
        self.proc = proc
        self.opts = opts
        self.rc = 0

    def missing(self, key: str) -> None:
        if not self.opts.ignore:
            self.proc.err(f"sysctl: cannot stat {proc_path(key)}: No such file or directory\n")
            self.rc = 1

    def show(self, key: str, value: str) -> None:
        if self.opts.names:
            self.proc.out(f"{key}\n")
        elif self.opts.values:
            self.proc.out(value if self.opts.binary else f"{value}\n")
        else:
            self.proc.out(f"{key} = {value}\n")

    def read(self, key: str) -> None:
        net = self.proc.net
        mode = sysctl_mode(net, key)
        if mode is None:
            if is_dir(net, key):
                self.show_all(key)
            else:
                self.missing(key)
            return
        if mode & 0o400:
            self.show(key, sysctl_get(net, key))

    def show_all(self, prefix: str = "") -> None:
        net = self.proc.net
        for key in keys(net, prefix, self.opts.deprecated):
            if self.opts.pattern is not None and not self.opts.pattern.search(key):
                continue
            self.show(key, sysctl_get(net, key))

    def write(self, arg: str) -> None:
        if "=" not in arg:
            self.proc.err("sysctl: command line(0): invalid syntax, continuing...\n")
            self.rc = 1
            return
        key, _, value = arg.partition("=")
        key, value = dotted(key.strip()), value.strip()
        mode = sysctl_mode(self.proc.net, key)
        if mode is None:
            self.missing(key)
            return
        if not mode & 0o200:
            # procps warns about a file without write permission but keeps rc 0
            self.proc.err(f'sysctl: setting key "{key}": Invalid argument\n')
            return
        if not self.opts.dry_run and not self.set(key, value):
            return
        if not self.opts.quiet:
            self.show(key, value)

    def set(self, key: str, value: str) -> bool:
        try:
            sysctl_set(self.proc.net, key, value)
        except KernelError as exc:
            text = "Invalid argument" if exc.errno == errno.EINVAL else exc.strerror
            self.proc.err(f'sysctl: setting key "{key}": {text}\n')
            self.rc = 1
            return False
        return True


def main(proc: Proc, argv: list[str]) -> int:
    opts, args = parse_args(argv)
    tool = Sysctl(proc, opts)
    if opts.all:
        tool.show_all()
        return tool.rc
    if not args:
        raise ToolExit(1, USAGE)
    for arg in args:
        if opts.write or "=" in arg:
            tool.write(arg)
        else:
            tool.read(dotted(arg))
    return tool.rc
