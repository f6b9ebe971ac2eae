"""``do_parse``: an iptables command line to a command, as iptables 1.8.9
parses it (xshared.c), with its error texts.

Extensions are loaded as the line names them (-m, -j, the protocol of -p
when one of its options turns up); their long options join the getopt table
at that moment, newest first, exactly like ``xtables_options_xfrm``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .ext import Match, Target
from .getopt import Getopt, LongOpt
from .matches import MATCHES, Tcp, Udp
from .rule import (
    IPT_INV_DSTIP,
    IPT_INV_FRAG,
    IPT_INV_SRCIP,
    IPT_INV_VIA_IN,
    IPT_INV_VIA_OUT,
    STANDARD_VERDICTS,
    XT_INV_PROTO,
    IpSpec,
    Rule,
)
from .targets import OTHER_TARGETS, TARGETS, Standard
from .xtables import (
    PARAMETER_PROBLEM,
    TRYHELP,
    OptCall,
    XtError,
    ipparse_multiple,
    param_error,
    parse_protocol,
    proto_to_name,
    sscanf_ull,
    strtoul,
)

CMD_NONE = 0
CMD_INSERT = 1 << 0
CMD_DELETE = 1 << 1
CMD_DELETE_NUM = 1 << 2
CMD_REPLACE = 1 << 3
CMD_APPEND = 1 << 4
CMD_LIST = 1 << 5
CMD_FLUSH = 1 << 6
CMD_ZERO = 1 << 7
CMD_NEW_CHAIN = 1 << 8
CMD_DELETE_CHAIN = 1 << 9
CMD_SET_POLICY = 1 << 10
CMD_RENAME_CHAIN = 1 << 11
CMD_LIST_RULES = 1 << 12
CMD_ZERO_NUM = 1 << 13
CMD_CHECK = 1 << 14
CMD_CHARS = "IDDRALFZNXPESZC"

OPT_NUMERIC = 1 << 0
OPT_SOURCE = 1 << 1
OPT_DESTINATION = 1 << 2
OPT_PROTOCOL = 1 << 3
OPT_JUMP = 1 << 4
OPT_VERBOSE = 1 << 5
OPT_EXPANDED = 1 << 6
OPT_VIANAMEIN = 1 << 7
OPT_VIANAMEOUT = 1 << 8
OPT_LINENUMBERS = 1 << 9
OPT_COUNTERS = 1 << 10
OPT_FRAGMENT = 1 << 11
OPT_CHARS = "nsdpjvxio0cf"
INVERSE_FOR_OPT = (0, IPT_INV_SRCIP, IPT_INV_DSTIP, XT_INV_PROTO, 0, 0, 0, IPT_INV_VIA_IN,
                   IPT_INV_VIA_OUT, 0, 0, IPT_INV_FRAG)

# commands_v_options: per command, the 12 options n s d p j v x i o 0 c f
COMMANDS_V_OPTIONS = (
    "x     x  x  ",  # INSERT
    "x     x  xx ",  # DELETE
    "xxxxx xxxxxx",  # DELETE_NUM
    "x     x  x  ",  # REPLACE
    "x     x  x  ",  # APPEND
    " xxxx  xx xx",  # LIST
    "xxxxx xxxxxx",  # FLUSH
    "xxxxx xxxxxx",  # ZERO
    "xxxxx xxxxxx",  # NEW_CHAIN
    "xxxxx xxxxxx",  # DEL_CHAIN
    "xxxxx xxxx x",  # SET_POLICY
    "xxxxx xxxxxx",  # RENAME
    "xxxxx xxxxxx",  # LIST_RULES
    "xxxxx xxxxxx",  # ZERO_NUM
    "x     x  xx ",  # CHECK
)

IPT_OPTSTRING = "-:A:C:D:E:F::I:L::M:N:P:VX::Z::c:d:i:j:o:p:s:t:R:S::W::46bfg:h::m:nvw::x"
ORIGINAL_OPTS = (
    ("append", 1, "A"), ("delete", 1, "D"), ("check", 1, "C"), ("insert", 1, "I"),
    ("replace", 1, "R"), ("list", 2, "L"), ("list-rules", 2, "S"), ("flush", 2, "F"),
    ("zero", 2, "Z"), ("new-chain", 1, "N"), ("delete-chain", 2, "X"),
    ("rename-chain", 1, "E"), ("policy", 1, "P"), ("source", 1, "s"),
    ("destination", 1, "d"), ("src", 1, "s"), ("dst", 1, "d"), ("protocol", 1, "p"),
    ("in-interface", 1, "i"), ("jump", 1, "j"), ("table", 1, "t"), ("match", 1, "m"),
    ("numeric", 0, "n"), ("out-interface", 1, "o"), ("verbose", 0, "v"), ("wait", 2, "w"),
    ("wait-interval", 2, "W"), ("exact", 0, "x"), ("fragments", 0, "f"), ("version", 0, "V"),
    ("help", 2, "h"), ("line-numbers", 0, "0"), ("modprobe", 1, "M"),
    ("set-counters", 1, "c"), ("goto", 1, "g"), ("ipv4", 0, "4"), ("ipv6", 0, "6"),
)
XT_EXTENSION_MAXNAMELEN = 29


@dataclass
class Parsed:
    """What ``do_parse`` found (``struct xt_cmd_parse`` + the command state)."""

    command: int = 0
    chain: str | None = None
    newname: str | None = None
    policy: str | None = None
    rulenum: int = 0
    table: str = "filter"
    verbose: int = 0
    options: int = 0
    rules: list[Rule] = field(default_factory=list)
    jumpto: str = ""
    warnings: list[str] = field(default_factory=list)
    version: bool = False
    help: bool = False


class _RuleMatch:
    """``struct xtables_rule_match``: one match in the rule being parsed."""

    __slots__ = ("completed", "match")

    def __init__(self, match: Match) -> None:
        self.match = match
        self.completed = False


class Parser:
    """One run of ``do_parse`` over ``argv`` (argv[0] is the program name)."""

    def __init__(self, argv: list[str], table: str, restore: bool,
                 notargets: set[str] | None = None) -> None:
        self.g = Getopt(argv, IPT_OPTSTRING)
        self.notargets = notargets if notargets is not None else set()
        self.g.longopts = [LongOpt(n, a, v) for n, a, v in ORIGINAL_OPTS]
        self.p = Parsed(table=table)
        self.restore = restore
        self.ip = IpSpec()
        self.matches: list[_RuleMatch] = []
        self.target: Target | None = None
        self.protocol: str | None = None
        self.proto_used = False
        self.invert = False
        self.table_set = False
        self.goto = False
        self.shost: str | None = None
        self.dhost: str | None = None
        self.pcnt = 0
        self.bcnt = 0
        self.loaded: set[type[Match] | type[Target]] = set()
        self.wait = False
        self.wait_interval = False

    # -- the option table --------------------------------------------------------

    def _merge(self, cls: type[Match] | type[Target]) -> None:
        """Add an extension's options to getopt's table (first load only)."""
        if cls in self.loaded:
            return
        self.loaded.add(cls)
        new = [LongOpt(o.name, o.takes_arg, (cls, o.id)) for o in cls.OPTIONS]
        n = len(ORIGINAL_OPTS)
        self.g.longopts = self.g.longopts[:n] + new + self.g.longopts[n:]

    def _add_match(self, cls: type[Match]) -> Match:
        for rm in self.matches:
            if type(rm.match) is cls:
                rm.completed = True
        m = cls()
        self.matches.append(_RuleMatch(m))
        self._merge(cls)
        return m

    # -- the main loop ---------------------------------------------------------------

    def parse(self) -> Parsed:
        g = self.g
        while True:
            c = g.next()
            if c == -1:
                break
            if self._dispatch(c):
                continue
            self.invert = False
        self._finish()
        return self.p

    def _dispatch(self, c: Any) -> bool:
        """Handle one getopt answer; True means "keep the ! flag" (continue)."""
        if isinstance(c, str) and c in _COMMANDS:
            _COMMANDS[c](self, c)
        elif isinstance(c, str) and c in _OPTIONS:
            _OPTIONS[c](self, c)
        elif c == 1:
            return self._nonoption()
        else:
            return self._command_default(c)
        return False

    def _nonoption(self) -> bool:
        arg = self.g.optarg or ""
        if arg == "!":
            if self.invert:
                raise param_error("multiple consecutive ! not allowed")
            self.invert = True
            return True
        raise XtError(PARAMETER_PROBLEM, f"Bad argument `{arg}'\n", TRYHELP)

    def has_arg(self) -> bool:
        g = self.g
        return g.optind < len(g.argv) and g.argv[g.optind][:1] not in ("-", "!")

    def next_arg(self) -> str:
        arg = self.g.argv[self.g.optind]
        self.g.optind += 1
        return arg

    # -- extension options ---------------------------------------------------------

    def _command_default(self, c: Any) -> bool:
        if isinstance(c, tuple):
            cls, oid = c
            ext = self._ext_for(cls)
            if ext is not None:
                self._call(ext, oid)
                return False
        if self._load_proto():
            return True
        argv = self.g.argv
        if c == ":":
            raise param_error(f'option "{argv[self.g.optind - 1]}" requires an argument')
        if c == "?":
            raise param_error(f'unknown option "{argv[self.g.optind - 1]}"')
        optarg = self.g.optarg
        raise param_error(f'Unknown arg "{optarg if optarg is not None else "(null)"}"')

    def _ext_for(self, cls: type) -> Match | Target | None:
        if self.target is not None and type(self.target) is cls:
            return self.target
        for rm in self.matches:
            if not rm.completed and type(rm.match) is cls:
                return rm.match
        return None

    def _call(self, ext: Match | Target, oid: int) -> None:
        entry = next(o for o in type(ext).OPTIONS if o.id == oid)
        cb = OptCall(entry, self.g.optarg, self.invert, ext.NAME, ext.xflags, self.g,
                     ip=self.ip, warnings=self.p.warnings)
        ext.parse(cb)
        if type(ext).X6:
            ext.xflags = cb.xflags

    def _load_proto(self) -> bool:
        """``load_proto``: -p NAME brings match NAME in on its first option."""
        if self.protocol is None or self.proto_used:
            return False
        name = self.protocol
        num = strtoul(name, 0, 255)
        if num is not None:
            found = proto_to_name(num, bool(self.p.options & OPT_NUMERIC))
            if found is None:
                return False
            name = found
        cls = MATCHES.get(name)
        if cls is None:
            return False
        self.proto_used = True
        self._add_match(cls)
        self.g.optind -= 1
        return True

    # -- after the loop -------------------------------------------------------------

    def _finish(self) -> None:
        p = self.p
        if p.table == "nat" and ("DROP" in (p.policy, p.jumpto)):
            raise param_error('\nThe "nat" table is not intended for filtering, the use of '
                              "DROP is therefore inhibited.\n\n")
        if not self.wait and self.wait_interval:
            raise param_error("--wait-interval only makes sense with --wait\n")
        for rm in self.matches:
            rm.match.final_check()
        if self.target is not None:
            self.target.final_check()
        if self.g.optind < len(self.g.argv):
            raise param_error("unknown arguments found on commandline")
        if not p.command:
            raise param_error("no command specified")
        if self.invert:
            raise param_error("nothing appropriate following !")
        self._post_parse()
        _generic_opt_check(p.command, p.options)
        if p.chain is not None and len(p.chain.encode()) >= XT_EXTENSION_MAXNAMELEN:
            raise param_error(f"chain name `{p.chain}' too long (must be under 29 chars)")
        self._check_ifaces()

    def _post_parse(self) -> None:
        p = self.p
        ip = self.ip
        rule_cmds = CMD_REPLACE | CMD_INSERT | CMD_DELETE | CMD_APPEND | CMD_CHECK
        shost, dhost = self.shost, self.dhost
        if p.command & rule_cmds:
            shost = shost if p.options & OPT_SOURCE else "0.0.0.0/0"
            dhost = dhost if p.options & OPT_DESTINATION else "0.0.0.0/0"
        srcs = ipparse_multiple(shost) if shost is not None else [(0, 0)]
        dsts = ipparse_multiple(dhost) if dhost is not None else [(0, 0)]
        if (len(srcs) > 1 or len(dsts) > 1) and ip.invflags & (IPT_INV_SRCIP | IPT_INV_DSTIP):
            raise param_error("! not allowed with multiple source or destination IP addresses")
        if p.command == CMD_REPLACE and (len(srcs) != 1 or len(dsts) != 1):
            raise param_error("Replacement rule does not specify a unique address")
        if p.command & rule_cmds:
            p.rules = [self._make_rule(s, d) for s in srcs for d in dsts]

    def _make_rule(self, src: tuple[int, int], dst: tuple[int, int]) -> Rule:
        ip = self.ip
        rip = IpSpec(src[0], src[1], dst[0], dst[1], ip.iniface, ip.outiface, ip.proto,
                     ip.invflags, ip.frag)
        _nft_iface_quirks(rip)
        rule = Rule(rip, [rm.match for rm in self.matches], self.target, self.p.jumpto,
                    self.goto, self.pcnt, self.bcnt)
        return rule

    def _check_ifaces(self) -> None:
        p = self.p
        rule_cmds = CMD_APPEND | CMD_DELETE | CMD_DELETE_NUM | CMD_CHECK | CMD_INSERT | CMD_REPLACE
        if not p.command & rule_cmds or p.chain is None:
            return
        if p.chain in ("PREROUTING", "INPUT") and p.options & OPT_VIANAMEOUT:
            raise param_error(f"Can't use -o with {p.chain}\n")
        if p.chain in ("POSTROUTING", "OUTPUT") and p.options & OPT_VIANAMEIN:
            raise param_error(f"Can't use -i with {p.chain}\n")


def _nft_iface_quirks(ip: IpSpec) -> None:
    """A lone "+" matches every name: nft stores nothing for it (and a name
    that never matches for "! -i +", listed as "! -i +" again)."""
    for attr, flag in (("iniface", IPT_INV_VIA_IN), ("outiface", IPT_INV_VIA_OUT)):
        if getattr(ip, attr) == "+" and not ip.invflags & flag:
            setattr(ip, attr, "")


def nft_rule_checks(rule: Rule) -> None:
    """What ``nft_rule_new`` refuses or changes when it builds the nft rule:
    protocol checks, and what the round trip through nf_tables does (native
    tcp/udp port expressions of several matches read back as one match)."""
    for m in rule.matches:
        _nft_match_check(m, rule.ip)
    rule.matches = _merge_native(rule.matches)


def _is_native(m: Match) -> bool:
    if isinstance(m, Tcp):
        return not m.is_all_zero() and not m.option and not m.invflags & ~0x07
    return isinstance(m, Udp) and not m.is_all_zero()


def _merge_native(matches: list[Match]) -> list[Match]:
    out: list[Match] = []
    first: dict[type, Match] = {}
    for m in matches:
        if not _is_native(m):
            out.append(m)
            continue
        base = first.get(type(m))
        if base is None:
            first[type(m)] = m
            out.append(m)
            continue
        _merge_ports(base, m)
    return out


def _merge_ports(base: Match, m: Match) -> None:
    assert isinstance(base, (Tcp, Udp)) and isinstance(m, (Tcp, Udp))
    if m.spts != (0, 0xFFFF) or m.invflags & 1:
        base.spts = m.spts
    if m.dpts != (0, 0xFFFF) or m.invflags & 2:
        base.dpts = m.dpts
    base.invflags |= m.invflags & 3
    if isinstance(base, Tcp) and isinstance(m, Tcp) and (m.flg_mask or m.invflags & 4):
        base.flg_mask, base.flg_cmp = m.flg_mask, m.flg_cmp
        base.invflags |= m.invflags & 4


def _nft_match_check(m: Match, ip: IpSpec) -> None:
    """``add_match``: tcp/udp go native and need their protocol; limit rounds."""
    if isinstance(m, Tcp) and not m.is_all_zero() and not m.invflags & ~0x07 \
            and not m.option and ip.proto != 6:
        raise param_error("TCP match requires '-p tcp'")
    if isinstance(m, Udp) and not m.is_all_zero() and ip.proto != 17:
        raise param_error("UDP match requires '-p udp'")
    normalize = getattr(m, "nft_normalize", None)
    if normalize is not None:
        normalize()


def _generic_opt_check(command: int, options: int) -> None:
    for i, ch in enumerate(OPT_CHARS):
        legal = 0
        for j, row in enumerate(COMMANDS_V_OPTIONS):
            if not command & (1 << j) or not options & (1 << i):
                continue
            if row[i] != "x":
                legal = 1
            elif legal == 0:
                legal = -1
        if legal == -1:
            raise param_error(f"Illegal option `-{ch}' with this command")


# ---------------------------------------------------------------------------------
# commands and options
# ---------------------------------------------------------------------------------

def _cmd_char(cmd: int) -> str:
    return CMD_CHARS[cmd.bit_length() - 1]


def _add_command(ps: Parser, newcmd: int, othercmds: int) -> None:
    p = ps.p
    if ps.invert:
        raise param_error("unexpected '!' flag")
    if p.command & ~othercmds:
        raise param_error(f"Cannot use -{_cmd_char(newcmd)} with "
                          f"-{_cmd_char(p.command & ~othercmds)}")
    p.command |= newcmd


def parse_rulenumber(text: str) -> int:
    value = strtoul(text, 1, 2**31 - 1)
    if value is None:
        raise param_error(f"Invalid rule number `{text}'")
    return value


def assert_valid_chain_name(name: str, notargets: set[str] | None = None) -> None:
    if len(name.encode()) >= XT_EXTENSION_MAXNAMELEN:
        raise param_error(f"chain name `{name}' too long (must be under 29 chars)")
    if name[:1] in ("-", "!"):
        raise param_error(f"chain name not allowed to start with `{name[0]}'")
    if is_target_name(name, notargets):
        raise param_error("chain name may not clash with target name")
    if any(ch.isspace() for ch in name):
        raise param_error(f"Invalid chain name `{name}'")


def is_target_name(name: str, notargets: set[str] | None = None) -> bool:
    """``xtables_find_target`` finds it (announced chain names never do)."""
    if name in STANDARD_VERDICTS or name == "":
        return True
    if notargets and name in notargets:
        return False
    return name in TARGETS or name in OTHER_TARGETS


def _c_cmd(ps: Parser, c: str) -> None:
    """-A -C -D -R -I -L -S -F -Z -N -X -E -P."""
    p, g = ps.p, ps.g
    simple = {"A": CMD_APPEND, "C": CMD_CHECK}
    if c in simple:
        _add_command(ps, simple[c], CMD_NONE)
        p.chain = g.optarg
    elif c in ("D", "R", "I"):
        _c_rule_num_cmd(ps, c)
    elif c in ("L", "S", "F", "Z", "X"):
        _c_optional_chain_cmd(ps, c)
    elif c == "N":
        assert_valid_chain_name(g.optarg or "", ps.notargets)
        _add_command(ps, CMD_NEW_CHAIN, CMD_NONE)
        p.chain = g.optarg
    else:
        _c_two_arg_cmd(ps, c)


def _c_rule_num_cmd(ps: Parser, c: str) -> None:
    p = ps.p
    cmd = {"D": CMD_DELETE, "R": CMD_REPLACE, "I": CMD_INSERT}[c]
    _add_command(ps, cmd, CMD_NONE)
    p.chain = ps.g.optarg
    if ps.has_arg():
        p.rulenum = parse_rulenumber(ps.next_arg())
        if c == "D":
            p.command = CMD_DELETE_NUM
    elif c == "R":
        raise param_error("-R requires a rule number")
    elif c == "I":
        p.rulenum = 1


def _c_optional_chain_cmd(ps: Parser, c: str) -> None:
    p = ps.p
    cmd, other = {"L": (CMD_LIST, CMD_ZERO | CMD_ZERO_NUM),
                  "S": (CMD_LIST_RULES, CMD_ZERO | CMD_ZERO_NUM),
                  "F": (CMD_FLUSH, CMD_NONE), "Z": (CMD_ZERO, CMD_LIST | CMD_LIST_RULES),
                  "X": (CMD_DELETE_CHAIN, CMD_NONE)}[c]
    _add_command(ps, cmd, other)
    if ps.g.optarg is not None:
        p.chain = ps.g.optarg
    elif ps.has_arg():
        p.chain = ps.next_arg()
    if c in ("L", "S", "Z") and ps.has_arg():
        p.rulenum = parse_rulenumber(ps.next_arg())
        if c == "Z":
            p.command = CMD_ZERO_NUM


def _c_two_arg_cmd(ps: Parser, c: str) -> None:
    p = ps.p
    if c == "E":
        _add_command(ps, CMD_RENAME_CHAIN, CMD_NONE)
        p.chain = ps.g.optarg
        if not ps.has_arg():
            raise param_error("-E requires old-chain-name and new-chain-name")
        p.newname = ps.next_arg()
    else:
        _add_command(ps, CMD_SET_POLICY, CMD_NONE)
        p.chain = ps.g.optarg
        if not ps.has_arg():
            raise param_error("-P requires a chain and a policy")
        p.policy = ps.next_arg()


def _set_option(ps: Parser, option: int) -> None:
    p = ps.p
    idx = option.bit_length() - 1
    if p.options & option:
        raise param_error(f"multiple -{OPT_CHARS[idx]} flags not allowed")
    p.options |= option
    if ps.invert:
        inv = INVERSE_FOR_OPT[idx]
        if not inv:
            raise param_error(f"cannot have ! before -{OPT_CHARS[idx]}")
        ps.ip.invflags |= inv


def _argword(ps: Parser) -> str:
    """``argv[optind - 1]``: what iptables really reads for -p -s -d -i -o -j
    (the whole word when the value was glued on: "-s1.2.3.4", "--ju=DROP")."""
    return ps.g.argv[ps.g.optind - 1]


def _o_proto(ps: Parser, c: str) -> None:
    _set_option(ps, OPT_PROTOCOL)
    arg = _argword(ps).lower()
    ps.protocol = arg
    ps.ip.proto = parse_protocol(arg)
    if ps.ip.proto == 0 and ps.ip.invflags & XT_INV_PROTO:
        raise param_error("rule would never match protocol")


def _o_addr(ps: Parser, c: str) -> None:
    if c == "s":
        _set_option(ps, OPT_SOURCE)
        ps.shost = _argword(ps)
    else:
        _set_option(ps, OPT_DESTINATION)
        ps.dhost = _argword(ps)


def _o_iface(ps: Parser, c: str) -> None:
    if (ps.g.optarg or "") == "":
        raise param_error("Empty interface is likely to be undesired")
    _set_option(ps, OPT_VIANAMEIN if c == "i" else OPT_VIANAMEOUT)
    arg = _argword(ps)
    if len(arg.encode()) + 1 > 16:
        raise param_error(f"interface name `{arg}' must be shorter than IFNAMSIZ (15)")
    if "/" in arg or " " in arg:
        ps.p.warnings.append(f"Warning: weird character in interface `{arg}' "
                             "('/' and ' ' are not allowed by the kernel).\n")
    if c == "i":
        ps.ip.iniface = arg
    else:
        ps.ip.outiface = arg


def _o_jump(ps: Parser, c: str) -> None:
    _set_option(ps, OPT_JUMP)
    name = (ps.g.optarg or "") if c == "g" else _argword(ps)
    if c == "g":
        ps.goto = True
    _check_target_name(name)
    ps.p.jumpto = name
    if c == "g":
        return
    if name in STANDARD_VERDICTS:
        ps.target = Standard(name)
        return
    if name in ps.notargets:
        return
    cls = TARGETS.get(name)
    if cls is None and name in OTHER_TARGETS:
        raise param_error(f"Couldn't load target `{name}':No such file or directory\n")
    if cls is not None:
        ps.target = cls()
        ps.p.jumpto = cls.real_name()
        ps._merge(cls)


def _check_target_name(name: str) -> None:
    if len(name) < 1:
        raise param_error("Invalid target name (too short)")
    if len(name.encode()) >= XT_EXTENSION_MAXNAMELEN:
        raise param_error(f"Invalid target name `{name}' (28 chars max)")
    if any(ch.isspace() for ch in name):
        raise param_error(f"Invalid target name `{name}'")


def _o_match(ps: Parser, c: str) -> None:
    if ps.invert:
        raise param_error("unexpected ! flag before --match")
    name = ps.g.optarg or ""
    if len(name.encode()) >= XT_EXTENSION_MAXNAMELEN:
        raise param_error(f'Invalid match name "{name}" (28 chars max)')
    if name in ("icmpv6", "ipv6-icmp", "icmp6"):
        name = "icmp6"
    cls = MATCHES.get(name)
    if cls is None:
        raise param_error(f"Couldn't load match `{name}':No such file or directory\n")
    ps._add_match(cls)


def _o_flag(ps: Parser, c: str) -> None:
    """-n -x -f -0 (--line-numbers) -v."""
    p = ps.p
    if c == "v":
        if not p.verbose:
            _set_option(ps, OPT_VERBOSE)
        p.verbose += 1
    elif c == "f":
        _set_option(ps, OPT_FRAGMENT)
        ps.ip.frag = True
    else:
        _set_option(ps, {"n": OPT_NUMERIC, "x": OPT_EXPANDED, "0": OPT_LINENUMBERS}[c])


def _o_table(ps: Parser, c: str) -> None:
    if ps.invert:
        raise param_error("unexpected ! flag before --table")
    if ps.restore and ps.table_set:
        raise param_error("The -t option cannot be used in iptables-restore.\n")
    ps.p.table = ps.g.optarg or ""
    ps.table_set = True


def _o_counters(ps: Parser, c: str) -> None:
    _set_option(ps, OPT_COUNTERS)
    pcnt = ps.g.optarg or ""
    comma = pcnt.find(",", 1)
    bcnt: str | None = pcnt[comma + 1:] if comma >= 0 else None
    if bcnt is None and ps.has_arg():
        bcnt = ps.next_arg()
    if bcnt is None:
        raise param_error("-c requires packet and byte counter")
    p_val = sscanf_ull(pcnt)
    if p_val is None:
        raise param_error("-c packet counter not numeric")
    b_val = sscanf_ull(bcnt)
    if b_val is None:
        raise param_error("-c byte counter not numeric")
    ps.pcnt, ps.bcnt = p_val, b_val


def _o_misc(ps: Parser, c: str) -> None:
    """-V -h -w -W -M -4 -6."""
    if c == "V":
        ps.p.version = True
        raise _Version(ps.invert)
    if c == "h":
        if not ps.matches and ps.protocol is not None and ps.protocol in MATCHES:
            ps._add_match(MATCHES[ps.protocol])
        names = [ps.target.NAME if ps.target is not None else ""]
        raise _Help([n for n in names if n] + [rm.match.NAME for rm in ps.matches])
    if c in "wW":
        if ps.restore:
            raise param_error(f"You cannot use `-{c}' from iptables-restore")
        if c == "w":
            _parse_wait_time(ps)
        else:
            _parse_wait_interval(ps)
    if c == "6":
        raise XtError(PARAMETER_PROBLEM, "", TRYHELP)


def _parse_wait_time(ps: Parser) -> None:
    arg = ps.g.optarg
    if arg is None and ps.has_arg():
        arg = ps.next_arg()
    if arg is not None:
        if re.match(r"\s*[+-]?(0[xX][0-9a-fA-F]|\d)", arg) is None:
            raise param_error("wait seconds not numeric")
    ps.wait = True


def _parse_wait_interval(ps: Parser) -> None:
    arg = ps.g.optarg
    if arg is None:
        if not ps.has_arg():
            raise param_error("wait interval value required")
        arg = ps.next_arg()
    m = re.match(r"\s*([+-]?)(\d+)", arg)
    if m is None:
        raise param_error("wait interval not numeric")
    usec = int(m.group(2)) % 2**32
    if m.group(1) == "-":
        usec = (-usec) % 2**32
    if usec > 999999:
        raise param_error(f"too long usec wait {usec} > 999999 usec")
    ps.p.warnings.append("Ignoring deprecated --wait-interval option.\n")
    ps.wait_interval = True


class _Version(Exception):
    def __init__(self, inverted: bool) -> None:
        super().__init__("version")
        self.inverted = inverted


class _Help(Exception):
    def __init__(self, exts: list[str]) -> None:
        super().__init__("help")
        self.exts = exts


_COMMANDS = {ch: _c_cmd for ch in "ACDRILSFZNXEP"}
_OPTIONS = {"p": _o_proto, "s": _o_addr, "d": _o_addr, "i": _o_iface, "o": _o_iface,
            "j": _o_jump, "g": _o_jump, "m": _o_match, "n": _o_flag, "x": _o_flag,
            "f": _o_flag, "0": _o_flag, "v": _o_flag, "t": _o_table, "c": _o_counters,
            "V": _o_misc, "h": _o_misc, "w": _o_misc, "W": _o_misc, "M": _o_misc,
            "4": _o_misc, "6": _o_misc}


def do_parse(argv: list[str], table: str = "filter", restore: bool = False,
             notargets: set[str] | None = None) -> Parsed:
    """Parse one command line (argv[0] is the program name).  ``notargets``
    are the names iptables-restore announced as chains (never targets)."""
    return Parser(argv, table, restore, notargets).parse()


Version = _Version
Help = _Help

__all__ = ["Help", "Parsed", "Parser", "Version", "do_parse", "nft_rule_checks"]
