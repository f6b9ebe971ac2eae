"""glibc ``getopt_long`` as iptables drives it.

iptables passes an option string starting with "-:" (non-options come back in
order as code 1, a missing argument as ":"), keeps ``opterr`` at 0 and grows
the long-option table as matches and targets load, so the exact rules of
glibc matter for what a command line means: unique abbreviations of long
options are accepted, ``--name=value`` too, a required argument is the next
word even when it starts with "-", short options cluster ("-nvL").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LongOpt:
    """One ``struct option``: ``val`` is a character or an extension's key."""

    name: str
    has_arg: int  # 0 none, 1 required, 2 optional
    val: Any


class Getopt:
    """The state of one ``getopt_long`` scan (optind, nextchar, optarg)."""

    def __init__(self, argv: list[str], optstring: str) -> None:
        self.argv = argv
        self.optind = 1
        self.optarg: str | None = None
        self.nextchar = ""
        self.first_nonopt = 1
        self.last_nonopt = 1
        ordering = optstring[:1]
        self.in_order = ordering == "-"
        self.permute = ordering not in ("-", "+")
        self.optstring = optstring[1:] if not self.permute else optstring
        self.longopts: list[LongOpt] = []
        self.nonopts: list[str] = []  # what a permuting scan skipped
        self.opterr = False  # print glibc's messages (into .errors)
        self.errors: list[str] = []

    def _short_spec(self, c: str) -> str | None:
        """"" (no arg), ":" (required) or "::" (optional); None if unknown."""
        if c in ":;":
            return None
        pos = self.optstring.find(c)
        if pos < 0:
            return None
        spec = self.optstring[pos + 1:pos + 3]
        return "::" if spec == "::" else (":" if spec[:1] == ":" else "")

    def next(self) -> Any:
        """The next option code; -1 at the end."""
        self.optarg = None
        argv = self.argv
        argc = len(argv)
        if not self.nextchar:
            self.last_nonopt = min(self.last_nonopt, self.optind)
            self.first_nonopt = min(self.first_nonopt, self.optind)
            if self.optind != argc and argv[self.optind] == "--":
                self.optind += 1
                if self.first_nonopt == self.last_nonopt:
                    self.first_nonopt = self.optind
                self.last_nonopt = argc
                self.optind = argc
            if self.optind == argc:
                if self.first_nonopt != self.last_nonopt:
                    self.optind = self.first_nonopt
                return -1
            arg = argv[self.optind]
            while self.permute and (not arg.startswith("-") or arg == "-"):
                self.nonopts.append(arg)
                self.optind += 1
                if self.optind == argc:
                    return -1
                arg = argv[self.optind]
                if arg == "--":
                    self.optind = argc
                    return -1
            if not arg.startswith("-") or arg == "-":
                if not self.in_order:
                    return -1
                self.optarg = arg
                self.optind += 1
                return 1
            if arg.startswith("--"):
                return self._long(arg[2:])
            self.nextchar = arg[1:]
        return self._short()

    def _short(self) -> Any:
        c, self.nextchar = self.nextchar[0], self.nextchar[1:]
        if not self.nextchar:
            self.optind += 1
        spec = self._short_spec(c)
        if spec is None:
            self._err(f"invalid option -- '{c}'")
            return "?"
        if spec == "::":
            if self.nextchar:
                self.optarg = self.nextchar
                self.optind += 1
            self.nextchar = ""
        elif spec == ":":
            if self.nextchar:
                self.optarg = self.nextchar
                self.optind += 1
            elif self.optind == len(self.argv):
                self._err(f"option requires an argument -- '{c}'")
                c = ":" if self.optstring[:1] == ":" else "?"
            else:
                self.optarg = self.argv[self.optind]
                self.optind += 1
            self.nextchar = ""
        return c

    def _find_long(self, name: str) -> LongOpt | str | None:
        for opt in self.longopts:
            if opt.name == name:
                return opt
        found: LongOpt | None = None
        for opt in self.longopts:
            if opt.name.startswith(name):
                if found is None:
                    found = opt
                elif (found.has_arg, found.val) != (opt.has_arg, opt.val):
                    return "ambiguous"
        return found

    def _long(self, text: str) -> Any:
        name, eq, value = text.partition("=")
        found = self._find_long(name)
        self.optind += 1
        self.nextchar = ""
        if found is None:
            self._err(f"unrecognized option '--{text}'")
            return "?"
        if isinstance(found, str):
            names = " ".join(f"'--{o.name}'" for o in self.longopts if o.name.startswith(name))
            self._err(f"option '--{name}' is ambiguous; possibilities: {names}")
            return "?"
        if eq:
            if not found.has_arg:
                self._err(f"option '--{found.name}' doesn't allow an argument")
                return "?"
            self.optarg = value
        elif found.has_arg == 1:
            if self.optind < len(self.argv):
                self.optarg = self.argv[self.optind]
                self.optind += 1
            else:
                self._err(f"option '--{found.name}' requires an argument")
                return ":" if self.optstring[:1] == ":" else "?"
        return found.val

    def _err(self, msg: str) -> None:
        if self.opterr:
            self.errors.append(f"{self.argv[0]}: {msg}\n")
