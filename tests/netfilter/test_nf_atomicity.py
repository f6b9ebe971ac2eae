"""Bad input changes nothing: random sequences of iptables commands and
iptables-restore files, valid and invalid, never raise, and every command
that fails leaves the namespace's tables exactly as they were (chains,
policies, rules, counters, which tables and built-in chains exist)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from usernet import Kernel
from usernet.netfilter import nf_net
from usernet.netfilter.tables import NetfilterNet
from usernet.tools import run_argv
from usernet.tools.iptables import restore_text

TABLES = ["filter", "nat", "mangle", "raw", "filter", "filter", "bogus"]
CHAINS = ["INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING", "u1", "u2", "nochain",
          "LOG", "-bad", "x" * 30]
MATCHES = ["", "-p tcp --dport 22", "-p udp --sport 53:60", "-s 10.0.0.0/8", "! -d 1.2.3.4",
           "-i eth0", "-o eth+", "-p icmp --icmp-type echo-request", "-m conntrack --ctstate NEW",
           "-m state --state ESTABLISHED", "-m comment --comment hi", "-m limit --limit 5/min",
           "-m mark --mark 1/3", "-p tcp -m multiport --dports 1,2:3", "-m ttl --ttl-gt 3",
           "-m length --length 10:20", "-m addrtype --src-type LOCAL", "-m iprange --src-range "
           "1.1.1.1-1.1.1.9", "-p tcp --syn", "-f", "-m owner --uid-owner 0-10 ! --socket-exists",
           # the kernel refuses owner outside OUTPUT/POSTROUTING, also through a jump
           "-m owner --gid-owner root",
           # invalid ones
           "--dport 22", "-p tcp --dport 99999", "-s 300.1.1.1", "-m nosuch", "-p bogus",
           "-m conntrack", "! ! -s 1.1.1.1", "-p tcp --tcp-flags SYN", "-m limit ! --limit 1",
           "-m owner", "-m owner --uid-owner 9-1", "-m owner --suppl-groups"]
TARGETS = ["-j ACCEPT", "-j DROP", "-j RETURN", "-j u1", "-g u2", "-j nochain", "-j LOG",
           "-j REJECT", "-j REJECT --reject-with tcp-reset", "-j MARK --set-mark 3",
           "-j DNAT --to-destination 1.2.3.4", "-j MASQUERADE", "-j SNAT --to-source 2.2.2.2",
           "-j TTL --ttl-set 3", "-j CT --notrack", "-j NOTRACK", "-j CONNMARK --save-mark", "",
           "-j", "-j MARK"]
POLICIES = ["ACCEPT", "DROP", "REJECT", "drop", "-"]


def rule_cmd() -> st.SearchStrategy[str]:
    return st.builds(lambda op, t, c, m, j: f"-t {t} {op} {c} {m} {j}",
                     st.sampled_from(["-A", "-I", "-I", "-D", "-C", "-R"]),
                     st.sampled_from(TABLES), st.sampled_from(CHAINS),
                     st.sampled_from(MATCHES), st.sampled_from(TARGETS))


def other_cmd() -> st.SearchStrategy[str]:
    simple = st.builds(lambda op, t, c: f"-t {t} {op} {c}",
                       st.sampled_from(["-N", "-X", "-F", "-Z", "-L", "-S", "-D", "-R"]),
                       st.sampled_from(TABLES), st.sampled_from(CHAINS))
    numbered = st.builds(lambda op, c, n: f"{op} {c} {n}",
                         st.sampled_from(["-D", "-I", "-Z", "-L", "-S", "-R"]),
                         st.sampled_from(CHAINS), st.sampled_from(["1", "2", "3", "0", "9", "x"]))
    policy = st.builds(lambda t, c, p: f"-t {t} -P {c} {p}", st.sampled_from(TABLES),
                       st.sampled_from(CHAINS), st.sampled_from(POLICIES))
    rename = st.builds(lambda a, b: f"-E {a} {b}", st.sampled_from(CHAINS),
                       st.sampled_from(CHAINS))
    whole = st.sampled_from(["-X", "-F", "-Z", "-v -X", "-v -F", "-L -Z", "-N u1", "-N u2",
                             "-A u1 -j u2", "-A u2 -j u1", "-A INPUT -j u1", "-F u1",
                             "-F u2", "--frobnicate", "-A", "", "-v -Z u1"])
    return st.one_of(simple, numbered, policy, rename, whole)


def restore_file() -> st.SearchStrategy[str]:
    line = st.one_of(
        rule_cmd().map(lambda c: " ".join(c.split()[2:])),
        other_cmd().map(lambda c: c.replace("-t filter ", "")),
        st.sampled_from([":u1 - [0:0]", ":INPUT DROP [1:2]", ":FORWARD FOO [0:0]",
                         ":ACCEPT - [0:0]",
                         "[3:4] -A INPUT -j ACCEPT", "[x] -A INPUT", "# comment", "",
                         ":u2 -", "COMMIT"]))
    return st.builds(lambda t, lines, commit: "\n".join([f"*{t}", *lines] +
                                                        (["COMMIT"] if commit else [])) + "\n",
                     st.sampled_from(["filter", "nat", "mangle", "raw", "bogus"]),
                     st.lists(line, max_size=8), st.booleans())


def snapshot(nfnet: NetfilterNet) -> object:
    out = []
    for name, t in sorted(nfnet.tables.items()):
        chains = []
        for c in t.chains.values():
            rules = tuple((r.save(c.name), r.pcnt, r.bcnt) for r in c.rules)
            chains.append((c.name, c.hook, c.policy, c.pcnt, c.bcnt, rules))
        out.append((name, tuple(chains)))
    return tuple(out)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(rule_cmd(), other_cmd()), min_size=1, max_size=25))
def test_failed_commands_change_nothing(cmds: list[str]) -> None:
    k = Kernel()
    run_argv(k, ["ip", "netns", "add", "t"])
    net = k.netns_names["t"]
    nfnet = nf_net(net)
    for cmd in cmds:
        before = snapshot(nfnet)
        res = run_argv(k, ["iptables", *cmd.split()], net)
        if res.rc != 0:
            assert snapshot(nfnet) == before, (cmd, res.stderr)
            assert res.stderr, cmd
        for listing in ("-S", "-L -n -v"):
            assert run_argv(k, ["iptables", *listing.split()], net).rc == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(rule_cmd(), other_cmd()), max_size=10), restore_file(),
       st.sampled_from([[], ["--noflush"], ["-c"], ["-n", "-c"]]))
def test_a_bad_restore_file_changes_nothing(setup: list[str], text: str,
                                           opts: list[str]) -> None:
    """What a failing file had not yet COMMITted changes nothing.  (Tables
    it committed before the bad line stay committed, as iptables-restore
    commits table by table.)"""
    k = Kernel()
    run_argv(k, ["ip", "netns", "add", "t"])
    net = k.netns_names["t"]
    for cmd in setup:
        run_argv(k, ["iptables", *cmd.split()], net)
    before = snapshot(nf_net(net))
    res = restore_text(k, net, text, opts)
    if res.rc != 0:
        assert res.stderr
        failed = re.search(r"line (\d+) failed", res.stderr)
        upto = int(failed.group(1)) - 1 if failed else len(text.splitlines())
        if any(line.strip() == "COMMIT" for line in text.splitlines()[:upto]):
            return  # an earlier table was committed: that part stays, as in iptables
        assert snapshot(nf_net(net)) == before, (text, res.stderr)


@settings(max_examples=60, deadline=None)
@given(st.lists(rule_cmd(), max_size=10))
def test_other_namespaces_never_change(cmds: list[str]) -> None:
    k = Kernel()
    for name in ("a", "b"):
        run_argv(k, ["ip", "netns", "add", name])
    a, b = k.netns_names["a"], k.netns_names["b"]
    run_argv(k, ["iptables", "-A", "INPUT", "-j", "DROP"], b)
    before_b, before_init = snapshot(nf_net(b)), snapshot(nf_net(k.init_net))
    for cmd in cmds:
        run_argv(k, ["iptables", *cmd.split()], a)
    assert snapshot(nf_net(b)) == before_b
    assert snapshot(nf_net(k.init_net)) == before_init


def test_save_then_restore_round_trips() -> None:
    k = Kernel()
    run_argv(k, ["ip", "netns", "add", "s"])
    net = k.netns_names["s"]
    for cmd in ("-N u1", "-A INPUT -p tcp --dport 22 -j u1", "-A u1 -j LOG --log-prefix x",
                "-t nat -A POSTROUTING -s 10.0.0.0/8 ! -o eth0 -j MASQUERADE",
                "-P FORWARD DROP", "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED "
                "-j ACCEPT"):
        assert run_argv(k, ["iptables", *cmd.split()], net).rc == 0
    saved = run_argv(k, ["iptables-save", "-c"], net).stdout
    run_argv(k, ["ip", "netns", "add", "s2"])
    net2 = k.netns_names["s2"]
    assert restore_text(k, net2, saved, ["-c"]).rc == 0
    again = run_argv(k, ["iptables-save", "-c"], net2).stdout

    def undated(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("#")]

    assert undated(again) == undated(saved)
