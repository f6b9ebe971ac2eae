"""The three programs' logic, free of I/O: ``iptables`` (xtables.c
``do_commandx``), ``iptables-save`` and ``iptables-restore`` (xtables-restore.c).

They write into an :class:`Output` and return the exit status; the tool
front ends in :mod:`usernet.tools.iptables` only move text around.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .cmdline import (
    CMD_APPEND,
    CMD_CHECK,
    CMD_DELETE,
    CMD_DELETE_CHAIN,
    CMD_DELETE_NUM,
    CMD_FLUSH,
    CMD_INSERT,
    CMD_LIST,
    CMD_LIST_RULES,
    CMD_NEW_CHAIN,
    CMD_RENAME_CHAIN,
    CMD_REPLACE,
    CMD_SET_POLICY,
    CMD_ZERO,
    CMD_ZERO_NUM,
    OPT_EXPANDED,
    OPT_LINENUMBERS,
    OPT_NUMERIC,
    OPT_VERBOSE,
    Help,
    Parsed,
    Parser,
    Version,
    assert_valid_chain_name,
    do_parse,
    nft_rule_checks,
)
from .commands import BatchError, CmdError, Nft
from .getopt import Getopt, LongOpt
from .rule import FMT_KILOMEGAGIGA, FMT_LINENUMBERS, FMT_NOCOUNTS, FMT_NUMERIC, FMT_OPTIONS, FMT_VIA
from .tables import TABLE_DEFS, NetfilterNet
from .xtables import (
    OTHER_PROBLEM,
    PARAMETER_PROBLEM,
    PROGRAM_VERSION,
    RESOURCE_PROBLEM,
    VERSION_PROBLEM,
    XtError,
    sscanf_ull,
)

HELP_TEXT = """\
Usage: {p} -[ACD] chain rule-specification [options]
       {p} -I chain [rulenum] rule-specification [options]
       {p} -R chain rulenum rule-specification [options]
       {p} -D chain rulenum [options]
       {p} -[LS] [chain [rulenum]] [options]
       {p} -[FZ] [chain] [options]
       {p} -[NX] chain
       {p} -E old-chain-name new-chain-name
       {p} -P chain target [options]
       {p} -h (print this help information)

Commands:
Either long or short options are allowed.
  --append  -A chain\t\tAppend to chain
  --check   -C chain\t\tCheck for the existence of a rule
  --delete  -D chain\t\tDelete matching rule from chain
  --delete  -D chain rulenum
\t\t\t\tDelete rule rulenum (1 = first) from chain
  --insert  -I chain [rulenum]
\t\t\t\tInsert in chain as rulenum (default 1=first)
  --replace -R chain rulenum
\t\t\t\tReplace rule rulenum (1 = first) in chain
  --list    -L [chain [rulenum]]
\t\t\t\tList the rules in a chain or all chains
  --list-rules -S [chain [rulenum]]
\t\t\t\tPrint the rules in a chain or all chains
  --flush   -F [chain]\t\tDelete all rules in  chain or all chains
  --zero    -Z [chain [rulenum]]
\t\t\t\tZero counters in chain or all chains
  --new     -N chain\t\tCreate a new user-defined chain
  --delete-chain
            -X [chain]\t\tDelete a user-defined chain
  --policy  -P chain target
\t\t\t\tChange policy on chain to target
  --rename-chain
            -E old-chain new-chain
\t\t\t\tChange chain name, (moving any references)

Options:
    --ipv4\t-4\t\tNothing (line is ignored by ip6tables-restore)
    --ipv6\t-6\t\tError (line is ignored by iptables-restore)
[!] --protocol\t-p proto\tprotocol: by number or name, eg. `tcp'
[!] --source\t-s address[/mask][...]
\t\t\t\tsource specification
[!] --destination -d address[/mask][...]
\t\t\t\tdestination specification
[!] --in-interface -i input name[+]
\t\t\t\tnetwork interface name ([+] for wildcard)
 --jump\t-j target
\t\t\t\ttarget for rule (may load target extension)
  --goto      -g chain
\t\t\t       jump to chain with no return
  --match\t-m match
\t\t\t\textended match (may load extension)
  --numeric\t-n\t\tnumeric output of addresses and ports
[!] --out-interface -o output name[+]
\t\t\t\tnetwork interface name ([+] for wildcard)
  --table\t-t table\ttable to manipulate (default: `filter')
  --verbose\t-v\t\tverbose mode
  --wait\t-w [seconds]\tmaximum wait to acquire xtables lock before give up
  --line-numbers\t\tprint line numbers when listing
  --exact\t-x\t\texpand numbers (display exact values)
[!] --fragment\t-f\t\tmatch second or further fragments only
  --modprobe=<command>\t\ttry to insert modules using this command
  --set-counters -c PKTS BYTES\tset the counter during insert/append
[!] --version\t-V\t\tprint package version.
"""

RESTORE_USAGE = """\
Usage: {p} [-c] [-v] [-V] [-t] [-h] [-n] [-T table] [-M command] [-4] [-6] [file]
\t   [ --counters ]
\t   [ --verbose ]
\t   [ --version]
\t   [ --test ]
\t   [ --help ]
\t   [ --noflush ]
\t   [ --table=<TABLE> ]
\t   [ --modprobe=<command> ]
\t   [ --ipv4 ]
\t   [ --ipv6 ]
"""


@dataclass
class Output:
    """What a program wrote, in order per stream."""

    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------
# iptables
# ---------------------------------------------------------------------------------

def list_format(p: Parsed) -> int:
    fmt = FMT_OPTIONS
    fmt |= FMT_VIA if p.options & OPT_VERBOSE else FMT_NOCOUNTS
    if p.options & OPT_NUMERIC:
        fmt |= FMT_NUMERIC
    if not p.options & OPT_EXPANDED:
        fmt |= FMT_KILOMEGAGIGA
    if p.options & OPT_LINENUMBERS:
        fmt |= FMT_LINENUMBERS
    return fmt


def queue_command(nft: Nft, p: Parsed) -> None:
    """``do_commandx`` after the parse: queue what the command asks for."""
    if p.table not in TABLE_DEFS:
        raise XtError(VERSION_PROBLEM, f"table '{p.table}' does not exist")
    verbose = bool(p.options & OPT_VERBOSE)
    for rule in p.rules:
        nft_rule_checks(rule)
    cmd, t, chain = p.command, p.table, p.chain
    if cmd in (CMD_APPEND, CMD_INSERT, CMD_DELETE, CMD_CHECK):
        for rule in p.rules:
            _queue_rule_cmd(nft, p, rule, verbose)
    elif cmd == CMD_DELETE_NUM:
        nft.add(nft.rule_delete_num, t, chain, p.rulenum - 1, bool(p.verbose))
    elif cmd == CMD_REPLACE:
        nft.add(nft.rule_replace, t, chain, p.rules[0], p.rulenum - 1, verbose)
    elif cmd == CMD_FLUSH:
        nft.add(nft.rule_flush, t, chain, verbose)
    elif cmd == CMD_ZERO:
        nft.add(nft.chain_zero, t, chain, verbose)
    elif cmd == CMD_ZERO_NUM:
        nft.add(nft.rule_zero, t, chain, p.rulenum - 1)
    elif cmd & (CMD_LIST | CMD_LIST_RULES):
        _queue_list(nft, p, verbose)
    else:
        _queue_chain_cmd(nft, p, verbose)


def _queue_rule_cmd(nft: Nft, p: Parsed, rule: object, verbose: bool) -> None:
    t, chain = p.table, p.chain
    if p.command == CMD_APPEND:
        nft.add(nft.rule_append, t, chain, rule, verbose)
    elif p.command == CMD_INSERT:
        nft.add(nft.rule_insert, t, chain, rule, p.rulenum - 1, verbose)
    elif p.command == CMD_DELETE:
        nft.add(nft.rule_delete, t, chain, rule, verbose)
    else:
        nft.add(nft.rule_check, t, chain, rule, verbose)


def _queue_list(nft: Nft, p: Parsed, verbose: bool) -> None:
    t, chain = p.table, p.chain
    if p.command & CMD_LIST:
        nft.add(nft.rule_list, t, chain, p.rulenum, list_format(p))
    else:
        nft.add(nft.rule_list_save, t, chain, p.rulenum, verbose)
    if p.command & CMD_ZERO:
        nft.add(nft.chain_zero, t, chain, verbose)
    if p.command & CMD_ZERO_NUM:
        nft.add(nft.rule_zero, t, chain, p.rulenum - 1)


def _queue_chain_cmd(nft: Nft, p: Parsed, verbose: bool) -> None:
    t, chain = p.table, p.chain
    if p.command == CMD_NEW_CHAIN:
        nft.add(nft.chain_user_add, t, chain)
    elif p.command == CMD_DELETE_CHAIN:
        nft.add(nft.chain_del, t, chain, verbose)
    elif p.command == CMD_RENAME_CHAIN:
        nft.add(nft.chain_rename, t, chain, p.newname)
    elif p.command == CMD_SET_POLICY:
        nft.add(nft.chain_set, t, chain, p.policy, None)


def iptables(nfnet: NetfilterNet, argv: list[str], o: Output, prog: str = "iptables") -> int:
    """``xtables_main``: parse, queue, commit; the exit status."""
    nft = Nft(nfnet)
    parser = Parser([prog, *argv], "filter", False)
    p = parser.p
    try:
        parser.parse()
        queue_command(nft, p)
        nft.commit()
    except Version as v:
        o.out.append(f"Not {PROGRAM_VERSION} ;-)\n" if v.inverted
                     else f"{prog} v{PROGRAM_VERSION}\n")
        return 0
    except Help as h:
        from .helptext import EXT_HELP
        o.out.append(f"{prog} v{PROGRAM_VERSION}\n\n" + HELP_TEXT.format(p=prog))
        o.out.extend(EXT_HELP.get(name, f"\n{name} does not take any options\n")
                     for name in h.exts)
        return 0
    except XtError as exc:
        _flush(o, p, nft)
        o.err.append(exc.render(prog))
        return exc.status
    except CmdError as exc:
        _flush(o, p, nft)
        return _cmd_error(o, prog, exc)
    except BatchError as exc:
        _flush(o, p, nft)
        o.err.append(f"{prog} v{PROGRAM_VERSION}: {exc.message()}\n")
        return RESOURCE_PROBLEM
    _flush(o, p, nft)
    return 0


def _flush(o: Output, p: Parsed, nft: Nft) -> None:
    o.err.extend(p.warnings)
    o.out.extend(nft.out)
    nft.out.clear()


def _cmd_error(o: Output, prog: str, exc: CmdError) -> int:
    import errno as _errno
    dmesg = " Run `dmesg' for more information." if exc.err == _errno.EINVAL else ""
    o.err.append(f"{prog}: {exc.message()}.{dmesg}\n")
    return RESOURCE_PROBLEM if exc.err == _errno.EAGAIN else OTHER_PROBLEM


# ---------------------------------------------------------------------------------
# iptables-save
# ---------------------------------------------------------------------------------

SAVE_OPTS = (LongOpt("counters", 0, "c"), LongOpt("version", 0, "V"), LongOpt("dump", 0, "d"),
             LongOpt("table", 1, "t"), LongOpt("modprobe", 1, "M"), LongOpt("file", 1, "f"))


def iptables_save(nfnet: NetfilterNet, argv: list[str], o: Output,
                  prog: str = "iptables-save") -> int:
    from .listing import save_table
    from .tables import Table
    g = Getopt([prog, *argv], "bcdt:M:f:V")
    g.longopts = list(SAVE_OPTS)
    g.opterr = True
    counters, table = False, None
    while (c := g.next()) != -1:
        if c == "b":
            o.err.append("-b/--binary option is not implemented\n")
        elif c == "c":
            counters = True
        elif c == "t":
            table = g.optarg
        elif c == "V":
            o.out.append(f"{prog} v{PROGRAM_VERSION}\n")
            return 0
        elif c not in ("M", "f", "d"):
            o.err.extend(g.errors)
            o.err.append(f"Look at manual page `{prog}.8' for more information.\n")
            return 1
    if g.nonopts or g.optind < len(g.argv):
        o.err.append("Unknown arguments found on commandline\n")
        return 1
    if table is None:
        from .listing import save_all
        o.out.append(save_all(nfnet, None, counters))
        return 0
    if table not in TABLE_DEFS:
        o.err.append(f"Table `{table}' does not exist\n")
        return 1
    t = nfnet.tables.get(table) or Table(table)
    o.out.append(save_table(t, counters))
    return 0


# ---------------------------------------------------------------------------------
# iptables-restore
# ---------------------------------------------------------------------------------

RESTORE_OPTS = (LongOpt("counters", 0, "c"), LongOpt("verbose", 0, "v"),
                LongOpt("version", 0, "V"), LongOpt("test", 0, "t"), LongOpt("help", 0, "h"),
                LongOpt("noflush", 0, "n"), LongOpt("modprobe", 1, "M"),
                LongOpt("table", 1, "T"), LongOpt("ipv4", 0, "4"), LongOpt("ipv6", 0, "6"),
                LongOpt("wait", 2, "w"), LongOpt("wait-interval", 2, "W"))


@dataclass
class RestoreOpts:
    counters: bool = False
    verbose: int = 0
    testing: bool = False
    noflush: bool = False
    table: str | None = None
    file: str | None = None


def restore_options(argv: list[str], o: Output, prog: str) -> RestoreOpts | int:
    """The command line of iptables-restore: options, or an exit status."""
    g = Getopt([prog, *argv], "bcvVthnM:T:wW")
    g.longopts = list(RESTORE_OPTS)
    g.opterr = True
    ro = RestoreOpts()
    while (c := g.next()) != -1:
        if c == "b":
            o.err.append("-b/--binary option is not implemented\n")
        elif c in ("c", "t", "n"):
            setattr(ro, {"c": "counters", "t": "testing", "n": "noflush"}[c], True)
        elif c == "v":
            ro.verbose += 1
        elif c == "V":
            o.out.append(f"{prog} v{PROGRAM_VERSION}\n")
            return 0
        elif c == "h":
            o.err.append(RESTORE_USAGE.format(p=prog))
            return 0
        elif c == "T":
            ro.table = g.optarg
        elif c in ("w", "W"):
            if g.optarg is None and g.optind < len(g.argv) and g.argv[g.optind][:1] not in "-!":
                g.optind += 1
        elif c != "M":
            o.err.extend(g.errors)
            o.err.append(f"Try `{prog} -h' for more information.\n")
            return 1
    rest = g.nonopts + g.argv[g.optind:]
    if len(rest) > 1:
        o.err.append("Unknown arguments found on commandline\n")
        return 1
    ro.file = rest[0] if rest else None
    return ro


class Restore:
    """``xtables_restore_parse``: one input, line by line."""

    def __init__(self, nfnet: NetfilterNet, ro: RestoreOpts, o: Output, prog: str) -> None:
        self.nft = Nft(nfnet, restore=True)
        self.ro = ro
        self.o = o
        self.prog = prog
        self.table: str | None = None  # state->curtable
        self.in_table = False
        self.notargets: set[str] = set()
        self.line = 0

    def run(self, text: str) -> int:
        try:
            for raw in text.splitlines(keepends=True):
                self.line += 1
                self.nft.lineno = self.line
                self.parse_line(raw)
            if self.in_table:
                self.o.err.append(f"{self.prog}: COMMIT expected at line {self.line + 1}\n")
                return 1
        except XtError as exc:
            self._flush()
            self.o.err.append(exc.render(self.prog, self.line))
            return exc.status
        except _LineFailed as exc:
            self._flush()
            self.o.err.append(exc.text)
            return 1
        except BatchError as exc:
            self._flush()
            self.o.err.append(f"{self.prog} v{PROGRAM_VERSION}: {exc.message()}\n")
            return RESOURCE_PROBLEM
        self._flush()
        return 0

    def _flush(self) -> None:
        self.o.out.extend(self.nft.out)
        self.nft.out.clear()

    def parse_line(self, buf: str) -> None:
        if buf.startswith("\n"):
            return
        if buf.startswith("#"):
            if self.ro.verbose:
                self.nft.out.append(buf)
            return
        ok = True
        if self.in_table and buf.startswith("COMMIT") and buf[6:] in ("", "\n"):
            ok = self._commit()
        elif buf.startswith("*") and not self.in_table:
            if not self._new_table(buf):
                return
        elif buf.startswith(":") and self.in_table:
            self._new_chain(buf)
        elif self.in_table:
            self._rule_line(buf)
        else:
            ok = False
        if self.ro.table is not None and self.table is not None and self.ro.table != self.table:
            return
        if not ok:
            raise _LineFailed(f"{self.prog}: line {self.line} failed\n")

    def _commit(self) -> bool:
        self.in_table = False
        if self.ro.testing:
            self.nft.abort()
            return True
        try:
            self.nft.commit()
        except CmdError as exc:
            self._flush()
            raise _LineFailed(
                f"{self.prog}: line {exc.lineno} failed: {exc.message()}.\n") from exc
        return True

    def _new_table(self, buf: str) -> bool:
        words = buf[1:].split()
        if not words:
            raise XtError(PARAMETER_PROBLEM, f"{self.prog}: line {self.line} table name invalid")
        name = words[0]
        if name not in TABLE_DEFS:
            raise XtError(PARAMETER_PROBLEM,
                          f"{self.prog}: line {self.line} table name '{name}' invalid")
        self.table = name
        if self.ro.table is not None and self.ro.table != name:
            return False
        if not self.ro.noflush:
            if self.ro.verbose:
                self.nft.add(self.nft.rule_flush, name, None, True)
                self.nft.add(self.nft.chain_del, name, None, True)
            else:
                self.nft.add(self.nft.table_flush, name)
        self.in_table = True
        return True

    def _new_chain(self, buf: str) -> None:
        words = buf[1:].split()
        if not words:
            raise XtError(PARAMETER_PROBLEM, f"{self.prog}: line {self.line} chain name invalid")
        chain = words[0]
        self.notargets.add(chain)
        assert_valid_chain_name(chain, self.notargets)
        if len(words) < 2:
            raise XtError(PARAMETER_PROBLEM, f"{self.prog}: line {self.line} policy invalid")
        policy = words[1]
        assert self.table is not None
        if chain in dict(TABLE_DEFS[self.table]):
            counters = (0, 0)
            if self.ro.counters:
                counters = _parse_counters(words[2] if len(words) > 2 else None, chain)
            self.nft.add(self.nft.chain_set, self.table, chain, policy, counters)
        else:
            self.nft.add(self.nft.chain_restore, self.table, chain)

    def _rule_line(self, buf: str) -> None:
        assert self.table is not None
        argv = [self.prog, "-t", self.table]
        if not self.ro.noflush:
            argv += ["-v"] * self.ro.verbose
        rest = buf
        if rest.startswith("["):
            pcnt, bcnt, rest = _tokenize_counters(rest, self.line)
            if self.ro.counters:
                argv += ["--set-counters", pcnt, bcnt]
        argv += split_params(rest)
        p = do_parse(argv, "filter", restore=True, notargets=self.notargets)
        try:
            queue_command(self.nft, p)
        finally:
            self.o.err.extend(p.warnings)


class _LineFailed(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _parse_counters(text: str | None, chain: str) -> tuple[int, int]:
    import re
    m = re.match(r"\[(\s*[+-]?\d+):(\s*[+-]?\d+)\]", text or "")
    if m is None:
        raise XtError(PARAMETER_PROBLEM, f"invalid policy counters for chain '{chain}'")
    p, b = sscanf_ull(m.group(1)), sscanf_ull(m.group(2))
    assert p is not None and b is not None
    return p, b


def _tokenize_counters(buf: str, line: int) -> tuple[str, str, str]:
    """``tokenize_rule_counters``: "[p:b] rest" with strtok's semantics."""
    close = buf.find("]")
    if close < 0:
        raise XtError(PARAMETER_PROBLEM, f"Bad line {line}: need ]")
    s = buf[1:]
    i = len(s) - len(s.lstrip(":"))
    if i == len(s):
        raise XtError(PARAMETER_PROBLEM, f"Bad line {line}: need :")
    j = s.find(":", i)
    k = len(s) if j < 0 else j + 1
    k += len(s[k:]) - len(s[k:].lstrip("]"))
    if j < 0 or k >= len(s):
        raise XtError(PARAMETER_PROBLEM, f"Bad line {line}: need ]")
    end = s.find("]", k)
    return s[i:j], s[k:end if end >= 0 else len(s)], buf[close + 1:]


def split_params(text: str) -> list[str]:
    """``add_param_to_argv``: words, with "double quotes" and \\ inside them."""
    args: list[str] = []
    param: list[str] = []
    quote_open = escaped = False
    for ch in text:
        if quote_open:
            if escaped:
                param.append(ch)
                escaped = False
                continue
            if ch == "\\":
                escaped = True
                continue
            if ch != '"':
                param.append(ch)
                continue
            quote_open = False
        elif ch == '"':
            quote_open = True
            continue
        if ch in " \t\n":
            if not param:
                continue
        elif ch != '"':
            param.append(ch)
            continue
        args.append("".join(param))
        param = []
    if param:
        args.append("".join(param))
    return args


def iptables_restore(nfnet: NetfilterNet, argv: list[str], text: str | None, o: Output,
                     prog: str = "iptables-restore") -> int:
    """The whole program; ``text`` is standard input (None: read the file argument)."""
    ro = restore_options(argv, o, prog)
    if isinstance(ro, int):
        return ro
    if ro.file is not None:
        try:
            with open(ro.file, encoding="utf-8", errors="surrogateescape") as fh:
                text = fh.read()
        except OSError as exc:
            o.err.append(f"Can't open {ro.file}: {exc.strerror}\n")
            return 1
    return Restore(nfnet, ro, o, prog).run(text or "")
