"""``ip rule``: iproute2's ip/iprule.c over the policy-rule kernel API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import KernelError
from ...ipv4 import fib_rules as fr
from ...ipv4.fib import RT_TABLE_MAIN, RTPROT_KERNEL
from ...ipv4.inet import ntoa
from .. import Proc, ToolExit
from .iproute import (
    _Out,
    _print_json,
    _realms,
    dsfield_a2n,
    dsfield_n2a,
    proto_a2n,
    proto_n2a,
    rtntype_a2n,
    rtntype_n2a,
    table_a2n,
    table_n2a,
)
from .utils import (
    Args,
    IpOpts,
    c_get_unsigned,
    invarg,
    matches,
    next_value,
    require_prefix,
    rtnl_error,
)

USAGE = """Usage: ip rule { add | del } SELECTOR ACTION
       ip rule { flush | save | restore }
       ip rule [ list [ SELECTOR ]]
SELECTOR := [ not ] [ from PREFIX ] [ to PREFIX ] [ tos TOS ]
            [ fwmark FWMARK[/MASK] ]
            [ iif STRING ] [ oif STRING ] [ pref NUMBER ] [ l3mdev ]
            [ uidrange NUMBER-NUMBER ]
            [ ipproto PROTOCOL ]
            [ sport [ NUMBER | NUMBER-NUMBER ]
            [ dport [ NUMBER | NUMBER-NUMBER ] ]
ACTION := [ table TABLE_ID ]
          [ protocol PROTO ]
          [ nat ADDRESS ]
          [ realms [SRCREALM/]DSTREALM ]
          [ goto NUMBER ]
          SUPPRESSOR
SUPPRESSOR := [ suppress_prefixlength NUMBER ]
              [ suppress_ifgroup DEVGROUP ]
TABLE_ID := [ local | main | default | NUMBER ]
"""

IPPROTOS = {"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51,
            "icmpv6": 58, "sctp": 132, "udplite": 136, "ipv6-icmp": 58}
IPPROTO_NAMES = {1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 51: "ah",
                 58: "ipv6-icmp", 132: "sctp", 136: "udplite"}
FR_ACT_NAT = 10


def do_iprule(proc: Proc, opts: IpOpts, argv: list[str]) -> int:
    if not argv:
        return _list(proc, opts, Args([]), flush=False)
    cmd, args = argv[0], Args(argv[1:])
    if matches(cmd, "list") or matches(cmd, "lst") or matches(cmd, "show"):
        return _list(proc, opts, args, flush=False)
    if matches(cmd, "save") or matches(cmd, "restore"):
        raise ToolExit(255, f'"ip rule {cmd}" is not supported by usernet.')
    if matches(cmd, "add"):
        return _modify(proc, opts, args, add=True)
    if matches(cmd, "delete"):
        return _modify(proc, opts, args, add=False)
    if matches(cmd, "flush"):
        return _list(proc, opts, args, flush=True)
    if matches(cmd, "help"):
        raise ToolExit(255, USAGE)
    raise ToolExit(255, f'Command "{cmd}" is unknown, try "ip rule help".')


# -- add / del ---------------------------------------------------------------------------


@dataclass
class _RuleReq:
    rule: fr.FibRule
    family: str
    pref_given: bool = False
    table_ok: bool = False


def _modify(proc: Proc, opts: IpOpts, args: Args, add: bool) -> int:
    if not args:
        raise ToolExit(1, f'"ip rule {"add" if add else "del"}" requires arguments.')
    rule = fr.FibRule(action=fr.FR_ACT_TO_TBL if add else fr.FR_ACT_UNSPEC)
    req = _RuleReq(rule, opts.family)
    while args:
        _modify_word(req, args.pop(), args)
    if add and not req.table_ok:
        rule.table = RT_TABLE_MAIN
    try:
        if add:
            fr.rule_add(proc.net, rule, req.pref_given)
        else:
            fr.rule_delete(proc.net, rule, req.pref_given)
    except KernelError as exc:
        rtnl_error(exc)
    return 0


def _modify_word(req: _RuleReq, word: str, args: Args) -> None:
    """One keyword of iprule_modify(), in iproute2's order."""
    rule = req.rule
    if word == "not":
        rule.invert = True
    elif word in ("from", "to"):
        pfx = require_prefix(args.next_arg(), req.family)
        if word == "from":
            rule.src, rule.src_len = pfx.addr, pfx.bitlen
        else:
            rule.dst, rule.dst_len = pfx.addr, pfx.bitlen
    elif matches(word, "preference") or matches(word, "order") or matches(word, "priority"):
        pref = next_value(args, "preference value is invalid\n", c_get_unsigned)
        rule.pref, req.pref_given = pref or 0, True
    elif word == "tos" or matches(word, "dsfield"):
        tos = next_value(args, "TOS value is invalid\n", dsfield_a2n)
        rule.tos = tos
    elif word == "fwmark":
        _fwmark(rule, args.next_arg())
    elif matches(word, "realms"):
        realm = next_value(args, "invalid realms\n", _realms)
        rule.flow = realm
    elif matches(word, "protocol"):
        proto = next_value(args, '"protocol" value is invalid\n', proto_a2n)
        rule.protocol = proto
    else:
        _modify_word2(req, word, args)


def _modify_word2(req: _RuleReq, word: str, args: Args) -> None:
    rule = req.rule
    if matches(word, "tun_id"):
        value = args.next_arg()
        if c_get_unsigned(value, 0, 64) is None:
            invarg('"tun_id" value is invalid\n', value)
    elif matches(word, "table") or word == "lookup":
        tid = next_value(args, "invalid table ID\n", table_a2n)
        rule.table, req.table_ok = tid or 0, True
    elif matches(word, "suppress_prefixlength") or word == "sup_pl":
        pl = next_value(args, "suppress_prefixlength value is invalid\n", c_get_unsigned, 0, 31)
        rule.suppress_prefixlen = pl
    elif matches(word, "suppress_ifgroup") or word == "sup_group":
        value = args.next_arg()
        group = 0 if value == "default" else c_get_unsigned(value, 0, 31)
        if group is None:
            invarg('Invalid "suppress_ifgroup" value\n', value)
        rule.suppress_ifgroup = group
    elif word in ("dev", "iif", "oif"):
        if word == "oif":
            rule.oifname = _ifname_arg(word, args)
        else:
            rule.iifname = _ifname_arg(word, args)
    else:
        _modify_word3(req, word, args)


def _ifname_arg(word: str, args: Args) -> str:
    """The device name after dev/iif/oif (it need not exist: rules can be detached)."""
    value = args.next_arg()
    if not _valid_ifname(value):
        what = '"oif"' if word == "oif" else '"iif"/"dev"'
        invarg(f"{what} not a valid ifname", value)
    return value


def _modify_word3(req: _RuleReq, word: str, args: Args) -> None:
    rule = req.rule
    if word == "l3mdev":
        raise ToolExit(2, "RTNETLINK answers: Invalid argument")
    if word == "uidrange":
        rng = next_value(args, "invalid UID range\n", _range, 32, single=False)
        rule.uid_range = rng
    elif word == "nat" or matches(word, "map-to"):
        args.next_arg()
        raise ToolExit(2, "Warning: route NAT is deprecated\nRTNETLINK answers: Invalid argument")
    elif word == "ipproto":
        value = args.next_arg()
        proto = IPPROTOS.get(value, c_get_unsigned(value, 0, 8))
        if proto is None:
            invarg('Invalid "ipproto" value\n', value)
        rule.ipproto = proto
    elif word in ("sport", "dport"):
        msg = "invalid port range\n" if word == "sport" else "invalid dport range\n"
        rng = next_value(args, msg, _range, 16, single=True)
        if word == "sport":
            rule.sport = rng
        else:
            rule.dport = rng
    else:
        _action_word(req, word, args)


def _action_word(req: _RuleReq, word: str, args: Args) -> None:
    """[type] goto N | nop | blackhole | unreachable | prohibit | ..."""
    rule = req.rule
    if word == "type":
        word = args.next_arg()
    if matches(word, "help"):
        raise ToolExit(255, USAGE)
    if matches(word, "goto"):
        target = next_value(args, "invalid target\n", c_get_unsigned)
        rule.action, rule.target = fr.FR_ACT_GOTO, target
    elif matches(word, "nop"):
        rule.action = fr.FR_ACT_NOP
    else:
        action = rtntype_a2n(word)
        if action is None:
            invarg("Failed to parse rule type", word)
        rule.action = action
    req.table_ok = True


def _fwmark(rule: fr.FibRule, value: str) -> None:
    mark_s, slash, mask_s = value.partition("/")
    mark = c_get_unsigned(mark_s)
    if mark is None:
        invarg("fwmark value is invalid\n", mark_s)
    rule.fwmark = mark
    if slash:
        msk = c_get_unsigned(mask_s)
        if msk is None:
            invarg("fwmask value is invalid\n", mask_s)
        rule.fwmask = msk


def _range(text: str, bits: int, single: bool) -> tuple[int, int] | None:
    """sscanf("%u-%u"): a range, or one number when ``single`` allows it."""
    lo_s, dash, hi_s = text.partition("-")
    lo = c_get_unsigned(lo_s, 10, bits)
    hi = c_get_unsigned(hi_s, 10, bits) if dash else (lo if single else None)
    if lo is None or hi is None:
        return None
    return lo, hi


def _valid_ifname(name: str) -> bool:
    """check_ifname(): what dev_valid_name would accept, by iproute2's test."""
    return 0 < len(name.encode()) < 16 and not any(c == "/" or c.isspace() for c in name)


# -- list / flush ---------------------------------------------------------------------------


@dataclass
class _RuleFilter:
    pref: int | None = None
    invert: bool = False
    tos: int | None = None
    fwmark: int = 0
    fwmask: int = 0
    iif: str | None = None
    oif: str | None = None
    table: int = 0
    src: Any = None
    dst: Any = None
    protocol: int | None = None


def _list(proc: Proc, opts: IpOpts, args: Args, flush: bool) -> int:
    filt = _RuleFilter()
    while args:
        _filter_word(opts, filt, args.pop(), args)
    if opts.family == "inet6":
        rules: list[fr.FibRule] = []
    else:
        rules = [r for r in fr.rules_of(proc.net) if _filter_ok(filt, r)]
    if flush:
        for rule in rules:
            if rule.pref and (filt.protocol is None or rule.protocol == filt.protocol):
                fr.rule_delete_exact(proc.net, rule)
        return 0
    rows = [_rule_row(proc, opts, r) for r in rules]
    if opts.json:
        _print_json(proc, opts, [row for row, _ in rows])
    else:
        proc.out("".join(text for _, text in rows))
    return 0


def _filter_word(opts: IpOpts, filt: _RuleFilter, word: str, args: Args) -> None:
    """One selector of iprule_list_flush_or_save()."""
    if matches(word, "preference") or matches(word, "order") or matches(word, "priority"):
        filt.pref = next_value(args, "preference value is invalid\n", c_get_unsigned)
    elif word == "not":
        filt.invert = True
    elif word in ("tos", "dsfield"):
        filt.tos = next_value(args, "TOS value is invalid\n", dsfield_a2n)
    elif word == "fwmark":
        rule = fr.FibRule()
        _fwmark(rule, args.next_arg())
        filt.fwmark, filt.fwmask = rule.fwmark, rule.fwmask
    elif word in ("dev", "iif", "oif"):
        if word == "oif":
            filt.oif = _ifname_arg(word, args)
        else:
            filt.iif = _ifname_arg(word, args)
    elif matches(word, "lookup") or matches(word, "table"):
        tid = next_value(args, "table id value is invalid\n", table_a2n)
        filt.table = tid
    else:
        _filter_word2(opts, filt, word, args)


def _filter_word2(opts: IpOpts, filt: _RuleFilter, word: str, args: Args) -> None:
    family = opts.family or "inet"
    if matches(word, "from") or matches(word, "src"):
        value = args.next_arg()
        filt.src = _filter_prefix(value, family, "from value is invalid\n")
    elif matches(word, "protocol"):
        value = args.next_arg()
        proto = proto_a2n(value)
        if proto is None and value != "all":
            invarg('invalid "protocol"\n', value)
        filt.protocol = proto
    elif word in ("l3mdev", "uidrange", "ipproto", "sport", "dport") or matches(word, "tun_id"):
        if word != "l3mdev":
            args.next_arg()
    else:
        if matches(word, "dst") or matches(word, "to"):
            word = args.next_arg()
        filt.dst = _filter_prefix(word, family, "to value is invalid\n")


def _filter_prefix(text: str, family: str, msg: str) -> Any:
    try:
        return require_prefix(text, family)
    except ToolExit:
        invarg(msg, text)


def _filter_ok(filt: _RuleFilter, rule: fr.FibRule) -> bool:
    """iprule.c filter_nlmsg()."""
    if filt.pref is not None and filt.pref != rule.pref:
        return False
    if filt.invert and not rule.invert:
        return False
    for sel, addr, plen in ((filt.src, rule.src, rule.src_len),
                            (filt.dst, rule.dst, rule.dst_len)):
        if sel is not None and (sel.bitlen > plen or (
                sel.bitlen > 0 and plen and (addr ^ sel.addr) >> (32 - sel.bitlen))):
            return False
    if filt.tos is not None and filt.tos != rule.tos:
        return False
    if filt.fwmark and filt.fwmark != rule.fwmark:
        return False
    if filt.fwmask and filt.fwmask != _dump_fwmask(rule):
        return False
    if filt.iif is not None and filt.iif != rule.iifname:
        return False
    if filt.oif is not None and filt.oif != rule.oifname:
        return False
    return not (filt.table and filt.table != rule.table)


def _dump_fwmask(rule: fr.FibRule) -> int:
    return rule.fwmask if (rule.fwmask or rule.fwmark) else 0


# -- printing (print_rule) --------------------------------------------------------------------


def _rule_row(proc: Proc, opts: IpOpts, rule: fr.FibRule) -> tuple[Any, str]:
    out = _Out()
    out.add("priority", f"{rule.pref}:\t", rule.pref)
    if rule.invert:
        out.add("not", "not ", None)
    _addr_sel(out, "from ", "src", "srclen", rule.src, rule.src_len, default="all")
    if rule.dst_len:
        _addr_sel(out, " to ", "dst", "dstlen", rule.dst, rule.dst_len)
    if rule.tos:
        tos = dsfield_n2a(rule.tos, opts.numeric)
        out.add("tos", f" tos {tos}", tos)
    if rule.fwmark or rule.fwmask:
        out.add("fwmark", f" fwmark {_hex(rule.fwmark)}", _hex(rule.fwmark))
        if rule.fwmask != 0xFFFFFFFF:
            out.add("fwmask", f"/{_hex(rule.fwmask)}", _hex(rule.fwmask))
    _dev_sel(proc, out, "iif", rule.iifname)
    _dev_sel(proc, out, "oif", rule.oifname)
    _extra_selectors(out, rule)
    _action(proc, out, opts, rule)
    if (rule.protocol and rule.protocol != RTPROT_KERNEL) or opts.details:
        proto = proto_n2a(rule.protocol, opts.numeric)
        out.add("protocol", f" proto {proto}", proto)
    return out.obj, "".join(out.text) + "\n"


def _hex(value: int) -> str:
    return f"{value:#x}" if value else "0"


def _addr_sel(out: _Out, word: str, key: str, lenkey: str, addr: int, plen: int,
              default: str = "") -> None:
    if plen:
        out.add(key, f"{word}{ntoa(addr)}", ntoa(addr))
        if plen != 32:
            out.add(lenkey, f"/{plen}", plen)
    elif default:
        out.add(key, f"{word}{default}", default)


def _dev_sel(proc: Proc, out: _Out, key: str, name: str) -> None:
    if not name:
        return
    out.add(key, f" {key} {name}", name)
    if proc.net.dev_get_by_name(name) is None:
        out.add(f"{key}_detached", " [detached]", None)


def _extra_selectors(out: _Out, rule: fr.FibRule) -> None:
    if rule.uid_set():
        out.add("uid_start", f" uidrange {rule.uid_range[0]}", rule.uid_range[0])
        out.add("uid_end", f"-{rule.uid_range[1]}", rule.uid_range[1])
    if rule.ipproto:
        name = IPPROTO_NAMES.get(rule.ipproto, str(rule.ipproto))
        out.add("ipproto", f" ipproto {name}", name)
    for key, (lo, hi) in (("sport", rule.sport), ("dport", rule.dport)):
        if not lo and not hi:
            continue
        if lo == hi:
            out.add(key, f" {key} {lo}", lo)
        else:
            out.add(f"{key}_start", f" {key} {lo}", lo)
            out.add(f"{key}_end", f"-{hi}", hi)


def _action(proc: Proc, out: _Out, opts: IpOpts, rule: fr.FibRule) -> None:
    if rule.table:
        table = table_n2a(rule.table, opts.numeric)
        out.add("table", f" lookup {table}", table)
        if rule.suppress_prefixlen != -1:
            out.add("suppress_prefixlen", f" suppress_prefixlength {rule.suppress_prefixlen}",
                    rule.suppress_prefixlen)
        if rule.suppress_ifgroup != -1:
            group = "default" if rule.suppress_ifgroup == 0 else str(rule.suppress_ifgroup)
            out.add("suppress_ifgroup", f" suppress_ifgroup {group}", group)
    if rule.flow:
        frm, to = rule.flow >> 16, rule.flow & 0xFFFF
        if frm:
            out.add("flow_from", f" realms {frm}/", str(frm))
        else:
            out.text.append(" realms ")
        out.add("flow_to", str(to), str(to))
    if rule.action == fr.FR_ACT_GOTO:
        out.add("goto", f" goto {rule.target}", rule.target)
        if fr.goto_target(fr.rules_of(proc.net), rule) is None:
            out.add("unresolved", " [unresolved]", None)
    elif rule.action == fr.FR_ACT_NOP:
        out.add("nop", " nop", None)
    elif rule.action != fr.FR_ACT_TO_TBL:
        name = rtntype_n2a(rule.action, opts.numeric)
        out.add("action", f" {name}", name)
