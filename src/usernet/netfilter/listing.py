"""The texts of ``iptables -L``, ``iptables -S`` and ``iptables-save``.

Built-in chains nf_tables does not have (yet) are listed as empty ACCEPT
chains (``nft_xt_fake_builtin_chains``); user chains come after the built-in
ones, sorted by name (``nft_cache_sort_chains``).
"""

from __future__ import annotations

import time

from .rule import (
    FMT_KILOMEGAGIGA,
    FMT_LINENUMBERS,
    FMT_NOCOUNTS,
    FMT_OPTIONS,
    FMT_VIA,
)
from .tables import TABLE_DEFS, TABLE_ORDER, Chain, NetfilterNet, Table, builtin_hook
from .xtables import OTHER_PROBLEM, PROGRAM_VERSION, XtError, print_num


class FakeView:
    """The chain use counts of the committed tables (what iptables-restore's
    cache holds while a transaction is being prepared)."""

    def __init__(self, nfnet: NetfilterNet) -> None:
        self.use: dict[tuple[str, str], int] = {}
        for tname, t in nfnet.tables.items():
            for c in t.chains.values():
                key = (tname, c.name)
                self.use[key] = self.use.get(key, 0) + len(c.rules)
                for r in c.rules:
                    if r.target is None and r.jumpto:
                        jkey = (tname, r.jumpto)
                        self.use[jkey] = self.use.get(jkey, 0) + 1

    def refs(self, table: str, chain: Chain) -> int:
        return self.use.get((table, chain.name), 0) - len(chain.rules)


def list_chains(t: Table, sort: bool = True) -> list[Chain]:
    """Existing chains: built-in ones in table order, then user chains."""
    return t.base_chains() + t.user_chains(sort=sort)


def chains_with_fakes(t: Table | None, table: str) -> list[Chain]:
    out = []
    for name, hook in TABLE_DEFS[table]:
        c = t.chains.get(name) if t is not None else None
        out.append(c if c is not None and c.builtin else Chain(name, hook))
    if t is not None:
        out += t.user_chains()
    return out


def chain_or_fake(t: Table | None, table: str, chain: str) -> Chain | None:
    c = t.chains.get(chain) if t is not None else None
    if c is not None:
        return c
    hook = builtin_hook(table, chain)
    return Chain(chain, hook) if hook is not None else None


def _incompatible(table: str, chain: str) -> XtError:
    return XtError(OTHER_PROBLEM,
                   f"chain `{chain}' in table `{table}' is incompatible, use 'nft' tool.")


# -- iptables -L ----------------------------------------------------------------------

def header(c: Chain, fmt: int, refs: int) -> str:
    """``print_header``: the "Chain ..." line and the column titles."""
    out = f"Chain {c.name}"
    if c.builtin:
        out += f" (policy {c.policy}"
        if not fmt & FMT_NOCOUNTS:
            kmg = bool(fmt & FMT_KILOMEGAGIGA)
            out += (" " + print_num(c.pcnt, kmg, False) + "packets, "
                    + print_num(c.bcnt, kmg, False) + "bytes")
        out += ")\n"
    elif refs < 0:
        out += " (ERROR obtaining refs)\n"
    else:
        out += f" ({refs} references)\n"
    if fmt & FMT_LINENUMBERS:
        out += "num  "
    if not fmt & FMT_NOCOUNTS:
        out += " pkts bytes " if fmt & FMT_KILOMEGAGIGA else "    pkts      bytes "
    out += "target    " + " prot "
    if fmt & FMT_OPTIONS:
        out += "opt"
    if fmt & FMT_VIA:
        out += " in     out    "
    out += f" {'source':<19s} " + f" {'destination':<19s} " + "\n"
    return out


def list_rules(t: Table | None, table: str, chain: str | None, rulenum: int, fmt: int,
               view: FakeView | None) -> str:
    """``nft_rule_list``: one chain (or one rule of it), or the whole table."""
    if chain is not None:
        c = chain_or_fake(t, table, chain)
        if c is None:
            raise _incompatible(table, chain)
        if rulenum:
            if rulenum <= len(c.rules):
                return c.rules[rulenum - 1].list_line(rulenum, fmt)
            return ""
        return _list_chain(t, table, c, fmt, view)
    parts = [_list_chain(t, table, c, fmt, view) for c in chains_with_fakes(t, table)]
    return "\n".join(parts)


def _list_chain(t: Table | None, table: str, c: Chain, fmt: int, view: FakeView | None) -> str:
    refs = 0
    if not c.builtin and t is not None:
        refs = view.refs(table, c) if view is not None else t.references(c.name)
    lines = [header(c, fmt, refs)]
    lines += [r.list_line(i, fmt) for i, r in enumerate(c.rules, 1)]
    return "".join(lines)


# -- iptables -S ----------------------------------------------------------------------

def _chain_decl(c: Chain, counters: bool) -> str:
    if not c.builtin:
        return f"-N {c.name}\n"
    tail = f" -c {c.pcnt} {c.bcnt}" if counters else ""
    return f"-P {c.name} {c.policy}{tail}\n"


def save_rules(t: Table | None, table: str, chain: str | None, rulenum: int,
               counters: bool) -> str:
    """``nft_rule_list_save``: -S [CHAIN [RULENUM]] (-v adds "-c P B")."""
    ctr = "-c" if counters else ""
    if chain is not None:
        c = chain_or_fake(t, table, chain)
        if c is None:
            raise _incompatible(table, chain)
        if rulenum:
            if rulenum <= len(c.rules):
                return c.rules[rulenum - 1].save(c.name, ctr) + "\n"
            return ""
        return _chain_decl(c, counters) + "".join(r.save(c.name, ctr) + "\n" for r in c.rules)
    chains = chains_with_fakes(t, table)
    out = [_chain_decl(c, counters) for c in chains]
    out += [r.save(c.name, ctr) + "\n" for c in chains for r in c.rules]
    return "".join(out)


# -- iptables-save ------------------------------------------------------------------------

def save_table(t: Table, counters: bool, prog: str = "iptables-save") -> str:
    """One table as iptables-save writes it, with its two date comments."""
    now = time.ctime()
    out = [f"# Generated by {prog} v{PROGRAM_VERSION} on {now}\n", f"*{t.name}\n"]
    chains = chains_with_fakes(t, t.name)
    for c in chains:
        policy = c.policy if c.builtin else "-"
        pc, bc = (c.pcnt, c.bcnt) if c.builtin else (0, 0)
        out.append(f":{c.name} {policy} [{pc}:{bc}]\n")
    ctr = "[]" if counters else ""
    out += [r.save(c.name, ctr) + "\n" for c in chains for r in c.rules]
    out.append("COMMIT\n")
    out.append(f"# Completed on {time.ctime()}\n")
    return "".join(out)


def save_all(nfnet: NetfilterNet, table: str | None, counters: bool) -> str:
    names = TABLE_ORDER if table is None else (table,)
    return "".join(save_table(nfnet.tables[n], counters) for n in names
                   if n in nfnet.tables)
