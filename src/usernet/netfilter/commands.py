"""What iptables-nft does with a parsed command: queue it, then at commit
run every queued command against its view of the tables (``nft_prepare``),
then have the kernel check the batch.  Nothing changes unless all of it
passes.

Errors come back the way iptables reports them: :class:`CmdError` is a
userspace refusal ("iptables: Bad rule (does a matching rule exist in that
chain?)."), :class:`BatchError` the kernel's ("RULE_APPEND failed (Invalid
argument): rule in chain INPUT", exit status 4).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .listing import FakeView, chain_or_fake, list_chains, list_rules, save_rules
from .rule import FMT_PRINT_RULE, Rule
from .tables import NetfilterNet, Table, Txn, builtin_hook, validate_rule
from .xtables import PARAMETER_PROBLEM, XtError

# the functions nft_strerror knows (nft_fn)
FN_CHAIN_DEL = "nft_chain_del"
FN_CHAIN_USER_ADD = "nft_chain_user_add"
FN_CHAIN_RENAME = "nft_chain_user_rename"
FN_RULE_INSERT = "nft_rule_insert"
FN_RULE_CHECK = "nft_rule_check"
FN_RULE_REPLACE = "nft_rule_replace"
FN_RULE_DELETE_NUM = "nft_rule_delete_num"
FN_RULE_DELETE = "nft_rule_delete"
FN_CHAIN_SET = "nft_chain_set"
FN_RULE_APPEND = "nft_rule_append"
FN_RULE_FLUSH = "nft_rule_flush"

_STRERROR: tuple[tuple[str | None, int, str], ...] = (
    (FN_CHAIN_DEL, errno.ENOTEMPTY, "Chain is not empty"),
    (FN_CHAIN_DEL, errno.EBUSY, "Directory not empty"),
    (FN_CHAIN_DEL, errno.EMLINK, "Can't delete chain with references left"),
    (FN_CHAIN_USER_ADD, errno.EEXIST, "Chain already exists"),
    (FN_CHAIN_RENAME, errno.EEXIST, "File exists"),
    (FN_RULE_INSERT, errno.E2BIG, "Index of insertion too big"),
    (FN_RULE_CHECK, errno.ENOENT, "Bad rule (does a matching rule exist in that chain?)"),
    (FN_RULE_REPLACE, errno.E2BIG, "Index of replacement too big"),
    (FN_RULE_DELETE_NUM, errno.E2BIG, "Index of deletion too big"),
    (FN_RULE_DELETE, errno.ENOENT, "Bad rule (does a matching rule exist in that chain?)"),
    (FN_CHAIN_SET, errno.ENOENT, "Bad built-in chain name"),
    (FN_CHAIN_SET, errno.EINVAL, "Bad policy name"),
    (FN_CHAIN_SET, errno.ENXIO, "Bad table name"),
    (None, errno.ELOOP, "Loop found in table"),
    (None, errno.EPERM, "Permission denied (you must be root)"),
    (None, 0, "Incompatible with this kernel"),
    (None, errno.ENOPROTOOPT, "iptables who? (do you need to insmod?)"),
    (None, errno.ENOSYS, "Will be implemented real soon.  I promise ;)"),
    (None, errno.ENOMEM, "Memory allocation problem"),
    (None, errno.ENOENT, "No chain/target/match by that name"),
)


def nft_strerror(fn: str | None, err: int) -> str:
    for tfn, terr, msg in _STRERROR:
        if (tfn is None or tfn == fn) and terr == err:
            return msg
    return os.strerror(err)


class CmdError(Exception):
    """A command refused before the batch goes to the kernel (exit status 1)."""

    def __init__(self, fn: str | None, err: int, lineno: int = 0) -> None:
        super().__init__(nft_strerror(fn, err))
        self.fn = fn
        self.err = err
        self.lineno = lineno

    def message(self) -> str:
        return nft_strerror(self.fn, self.err)


@dataclass
class KernelFailure:
    """One message of the batch the kernel refused."""

    op: str
    err: int
    what: str
    lineno: int

    def text(self) -> str:
        msg = f"{self.op} failed ({os.strerror(self.err)}): {self.what}"
        return f"\nline {self.lineno}: {msg}" if self.lineno else f" {msg}"


class BatchError(Exception):
    """The kernel refused the batch (exit status 4)."""

    def __init__(self, failures: list[KernelFailure]) -> None:
        super().__init__("batch")
        self.failures = failures

    def message(self) -> str:
        shown = []
        for f in self.failures:
            shown.append(f.text())
            if not f.lineno:
                break
        return "".join(shown)


@dataclass
class Queued:
    """One queued command: the function and its arguments, with its line."""

    fn: Callable[..., None]
    args: tuple[Any, ...]
    lineno: int


class Nft:
    """iptables-nft's handle: a transaction over one namespace's tables."""

    def __init__(self, nfnet: NetfilterNet, restore: bool = False) -> None:
        self.nfnet = nfnet
        self.restore = restore
        self.txn = Txn(nfnet)
        self.queue: list[Queued] = []
        self.out: list[str] = []
        self.failures: list[KernelFailure] = []
        self.lineno = 0
        self.fake_view = FakeView(nfnet)

    # -- the queue and the commit ----------------------------------------------------

    def add(self, fn: Callable[..., None], *args: Any) -> None:
        self.queue.append(Queued(fn, args, self.lineno))

    def commit(self) -> None:
        """``nft_commit``: prepare every command, then the kernel's verdict."""
        queue, self.queue = self.queue, []
        self.failures = []
        try:
            for q in queue:
                self.lineno = q.lineno
                try:
                    q.fn(*q.args)
                except CmdError as exc:
                    exc.lineno = q.lineno
                    raise
            if self.failures:
                raise BatchError(self.failures)
        except BaseException:
            self.abort()
            raise
        self.txn.commit()
        self.fake_view = FakeView(self.nfnet)

    def abort(self) -> None:
        self.queue = []
        self.txn = Txn(self.nfnet)

    def kernel_refuses(self, op: str, err: int, what: str) -> None:
        self.failures.append(KernelFailure(op, err, what, self.lineno))

    # -- helpers ------------------------------------------------------------------------

    def builtin_init(self, table: str, chain: str | None) -> Table:
        """``nft_xt_builtin_init``: the table, and the built-in chain(s) asked for."""
        from .tables import TABLE_DEFS, Chain
        t = self.txn.create(table)
        for name, hook in TABLE_DEFS[table]:
            if (chain is None or chain == name) and name not in t.chains:
                t.chains[name] = Chain(name, hook)
        return t

    def chain_exists(self, table: str, chain: str) -> bool:
        """``nft_chain_exists``: built-in names always "exist"."""
        if builtin_hook(table, chain) is not None:
            return True
        t = self.txn.peek(table)
        return t is not None and chain in t.chains

    def find(self, table: str, chain: str) -> Table | None:
        t = self.txn.get(table)
        return t if t is not None and chain in t.chains else None

    def print_rule(self, rule: Rule) -> None:
        self.out.append(rule.list_line(0, FMT_PRINT_RULE))

    def _check_added(self, t: Table, chain: str, rule: Rule, op: str) -> None:
        """The kernel's checks for a rule just put in ``chain``."""
        c = t.chains[chain]
        err = validate_rule(t, c, rule)
        if err:
            self.kernel_refuses(op, err, f"rule in chain {chain}")
            c.rules.remove(rule)

    def assert_chain_exists(self, table: str, rule: Rule) -> None:
        if rule.target is None and rule.jumpto and not self.chain_exists(table, rule.jumpto):
            raise XtError(PARAMETER_PROBLEM, f"Chain '{rule.jumpto}' does not exist")

    # -- rules ------------------------------------------------------------------------------

    def rule_append(self, table: str, chain: str, rule: Rule, verbose: bool) -> None:
        self.assert_chain_exists(table, rule)
        self.builtin_init(table, chain)
        if verbose:
            self.print_rule(rule)
        t = self.find(table, chain)
        if t is None:
            raise CmdError(FN_RULE_APPEND, errno.ENOENT)
        t.chains[chain].rules.append(rule)
        self._check_added(t, chain, rule, "RULE_APPEND")

    def rule_insert(self, table: str, chain: str, rule: Rule, rulenum: int,
                    verbose: bool) -> None:
        self.assert_chain_exists(table, rule)
        self.builtin_init(table, chain)
        t = self.find(table, chain)
        if t is None:
            raise CmdError(FN_RULE_INSERT, errno.ENOENT)
        rules = t.chains[chain].rules
        if rulenum > 0 and rulenum >= len(rules):
            if rulenum - 1 < len(rules):
                if verbose:
                    self.print_rule(rule)
                rules.append(rule)
                self._check_added(t, chain, rule, "RULE_APPEND")
                return
            raise CmdError(FN_RULE_INSERT, errno.E2BIG)
        if verbose:
            self.print_rule(rule)
        rules.insert(rulenum, rule)
        self._check_added(t, chain, rule, "RULE_INSERT")

    def rule_delete(self, table: str, chain: str, rule: Rule, verbose: bool) -> None:
        self.assert_chain_exists(table, rule)
        t = self.find(table, chain)
        if t is None:
            raise CmdError(FN_RULE_DELETE, errno.ENOENT)
        rules = t.chains[chain].rules
        key = rule.key()
        for i, r in enumerate(rules):
            if r.key() == key:
                del rules[i]
                if verbose:
                    self.print_rule(r)
                return
        raise CmdError(FN_RULE_DELETE, errno.ENOENT)

    def rule_delete_num(self, table: str, chain: str, rulenum: int, verbose: bool) -> None:
        t = self.find(table, chain)
        if t is None:
            raise CmdError(FN_RULE_DELETE_NUM, errno.ENOENT)
        rules = t.chains[chain].rules
        if not 0 <= rulenum < len(rules):
            raise CmdError(FN_RULE_DELETE_NUM, errno.E2BIG)
        del rules[rulenum]

    def rule_replace(self, table: str, chain: str, rule: Rule, rulenum: int,
                     verbose: bool) -> None:
        self.assert_chain_exists(table, rule)
        t = self.find(table, chain)
        if t is None:
            raise CmdError(FN_RULE_REPLACE, errno.ENOENT)
        rules = t.chains[chain].rules
        if not 0 <= rulenum < len(rules):
            raise CmdError(FN_RULE_REPLACE, errno.E2BIG)
        if verbose:
            self.print_rule(rule)
        old = rules[rulenum]
        rules[rulenum] = rule
        err = validate_rule(t, t.chains[chain], rule)
        if err:
            self.kernel_refuses("RULE_REPLACE", err, f"rule in chain {chain}")
            rules[rulenum] = old

    def rule_check(self, table: str, chain: str, rule: Rule, verbose: bool) -> None:
        self.assert_chain_exists(table, rule)
        t = self.txn.peek(table)
        if t is None or chain not in t.chains:
            raise CmdError(FN_RULE_CHECK, errno.ENOENT)
        key = rule.key()
        for r in t.chains[chain].rules:
            if r.key() == key:
                if verbose:
                    self.print_rule(r)
                return
        raise CmdError(FN_RULE_CHECK, errno.ENOENT)

    def rule_flush(self, table: str, chain: str | None, verbose: bool) -> None:
        if chain is not None or verbose:
            self.builtin_init(table, chain)
        elif self.txn.peek(table) is None:
            return
        t = self.txn.get(table)
        assert t is not None
        if chain is not None:
            if chain not in t.chains:
                raise CmdError(FN_RULE_FLUSH, errno.ENOENT)
            if verbose:
                self.out.append(f"Flushing chain `{chain}'\n")
            t.chains[chain].rules = []
            return
        for c in list_chains(t, sort=verbose):
            if verbose:
                self.out.append(f"Flushing chain `{c.name}'\n")
            c.rules = []

    def rule_zero(self, table: str, chain: str, rulenum: int) -> None:
        t = self.find(table, chain)
        if t is None:
            raise CmdError(FN_RULE_DELETE, errno.ENOENT)
        rules = t.chains[chain].rules
        if 0 <= rulenum < len(rules):
            rules[rulenum] = rules[rulenum].readded()

    def chain_zero(self, table: str, chain: str | None, verbose: bool) -> None:
        if chain is not None:
            t = self.find(table, chain)
            if t is None:
                raise CmdError(None, errno.ENOENT)
            self._zero_chain(t, chain, verbose)
            return
        t = self.txn.get(table)
        if t is None:
            return
        for c in list_chains(t, sort=verbose):
            self._zero_chain(t, c.name, verbose)

    def _zero_chain(self, t: Table, chain: str, verbose: bool) -> None:
        if verbose:
            self.out.append(f"Zeroing chain `{chain}'\n")
        c = t.chains[chain]
        c.pcnt = c.bcnt = 0
        c.counted = c.counted or c.builtin
        for i, r in enumerate(c.rules):
            if r.pcnt or r.bcnt:
                c.rules[i] = r.readded()

    # -- chains -----------------------------------------------------------------------------

    def chain_user_add(self, table: str, chain: str) -> None:
        from .tables import Chain
        t = self.txn.create(table)
        if self.chain_exists(table, chain):
            raise CmdError(FN_CHAIN_USER_ADD, errno.EEXIST)
        t.chains[chain] = Chain(chain)

    def chain_del(self, table: str, chain: str | None, verbose: bool) -> None:
        t = self.txn.get(table)
        if chain is not None:
            if t is None or chain not in t.chains:
                raise CmdError(FN_CHAIN_DEL, errno.ENOENT)
            self._chain_del_one(t, t.chains[chain], verbose, explicit=True)
            return
        if t is None:
            return
        chains = t.base_chains() + t.user_chains(sort=verbose)
        for c in chains:
            self._chain_del_one(t, c, verbose, explicit=False)

    def _chain_del_one(self, t: Table, c: Any, verbose: bool, explicit: bool) -> None:
        if verbose and not c.builtin:
            self.out.append(f"Deleting chain `{c.name}'\n")
        if c.builtin and c.policy != "ACCEPT":
            if explicit:
                raise CmdError(FN_CHAIN_DEL, errno.EBUSY)
            return
        if c.rules or t.references(c.name):
            self.kernel_refuses("CHAIN_DEL", errno.EBUSY, f"chain {c.name}")
            return
        del t.chains[c.name]

    def chain_rename(self, table: str, chain: str, newname: str) -> None:
        if self.chain_exists(table, newname):
            raise CmdError(FN_CHAIN_RENAME, errno.EEXIST)
        t = self.find(table, chain)
        if t is None:
            raise CmdError(FN_CHAIN_RENAME, errno.ENOENT)
        c = t.chains[chain]
        if c.builtin:
            raise CmdError(FN_CHAIN_RENAME, errno.EOPNOTSUPP)
        t.chains = {(newname if name == chain else name): v for name, v in t.chains.items()}
        c.name = newname
        for other in t.chains.values():
            for i, r in enumerate(other.rules):
                if r.target is None and r.jumpto == chain:
                    new = r.copy()
                    new.jumpto = newname
                    other.rules[i] = new

    def chain_set(self, table: str, chain: str, policy: str,
                  counters: tuple[int, int] | None) -> None:
        if policy not in ("DROP", "ACCEPT", "-"):
            raise CmdError(FN_CHAIN_SET, errno.EINVAL)
        self.builtin_init(table, chain)
        if builtin_hook(table, chain) is None:
            raise CmdError(FN_CHAIN_SET, errno.ENOENT)
        t = self.txn.get(table)
        assert t is not None
        c = t.chains[chain]
        if policy != "-":
            c.policy = policy
            c.pcnt = c.bcnt = 0  # each -P starts the policy counter afresh
            c.counted = True
        if counters is not None:
            c.pcnt, c.bcnt = counters
            c.counted = True

    def chain_restore(self, table: str, chain: str) -> None:
        """A ":chain - [p:b]" line of iptables-restore: create, or flush."""
        from .tables import Chain
        t = self.txn.create(table)
        if chain in t.chains:
            t.chains[chain].rules = []
        else:
            t.chains[chain] = Chain(chain)

    def table_flush(self, table: str) -> None:
        """iptables-restore without --noflush: the table goes, chains and all."""
        self.txn.delete(table)

    # -- listings ----------------------------------------------------------------------------

    def rule_list(self, table: str, chain: str | None, rulenum: int, fmt: int) -> None:
        t = self.txn.peek(table)
        self.out.append(list_rules(t, table, chain, rulenum, fmt, self._refs_view()))

    def rule_list_save(self, table: str, chain: str | None, rulenum: int,
                       counters: bool) -> None:
        t = self.txn.peek(table)
        self.out.append(save_rules(t, table, chain, rulenum, counters))

    def _refs_view(self) -> FakeView | None:
        return self.fake_view if self.restore else None

    def chain_or_fake(self, table: str, chain: str) -> Any:
        return chain_or_fake(self.txn.peek(table), table, chain)
