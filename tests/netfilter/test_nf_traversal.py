"""``ipt_do_table`` over synthetic packet views: policies, jump, goto, RETURN,
rule and policy counters, targets that write into the view, and namespaces
that never see each other's rules."""

from __future__ import annotations

import pytest

from usernet import Kernel
from usernet.net import Net
from usernet.netfilter import PktView, ipt_do_table, nf_hook, nf_net
from usernet.netfilter.packet import (
    CT_ESTABLISHED,
    CT_NEW,
    CT_UNTRACKED,
    NF_ACCEPT,
    NF_DROP,
    NF_INET_FORWARD,
    NF_INET_LOCAL_IN,
    NF_INET_LOCAL_OUT,
    NF_INET_POST_ROUTING,
    NF_INET_PRE_ROUTING,
)
from usernet.tools import run_argv

A = 0x0A000001  # 10.0.0.1
B = 0x0A000002  # 10.0.0.2
C = 0xC0A80105  # 192.168.1.5


def ns(k: Kernel, name: str, *lines: str) -> Net:
    if name not in k.netns_names:
        run_argv(k, ["ip", "netns", "add", name])
    net = k.netns_names[name]
    for line in lines:
        res = run_argv(k, line.split(), net)
        assert res.rc == 0, (line, res.stderr)
    return net


def icmp(**kw: object) -> PktView:
    base: dict[str, object] = {"saddr": A, "daddr": B, "proto": 1, "length": 84,
                               "iif": "eth0", "icmp_type": 8}
    base.update(kw)
    return PktView(**base)  # type: ignore[arg-type]


def tcp(port: int, **kw: object) -> PktView:
    base: dict[str, object] = {"saddr": A, "daddr": B, "proto": 6, "length": 60,
                               "iif": "eth0", "sport": 40000, "dport": port,
                               "tcp_flags": 0x02}
    base.update(kw)
    return PktView(**base)  # type: ignore[arg-type]


def listing(k: Kernel, net: Net, *args: str) -> str:
    res = run_argv(k, ["iptables", *args], net)
    assert res.rc == 0, res.stderr
    return res.stdout


def test_empty_namespace_accepts_and_counts_nothing() -> None:
    k = Kernel()
    net = ns(k, "e")
    for hook in (NF_INET_PRE_ROUTING, NF_INET_LOCAL_IN, NF_INET_FORWARD):
        assert ipt_do_table(net, "filter", hook, icmp()) == NF_ACCEPT
    assert nf_net(net).tables == {}
    assert "0 packets, 0 bytes" in listing(k, net, "-L", "INPUT", "-v")


def test_drop_rule_counts_like_the_recorded_listing() -> None:
    """p10: one ping dropped by ``-A INPUT -p icmp -j DROP``."""
    k = Kernel()
    net = ns(k, "b", "iptables -A INPUT -p icmp -j DROP")
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, icmp()) == NF_DROP
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, tcp(22)) == NF_ACCEPT
    assert listing(k, net, "-L", "INPUT", "-n", "-v", "-x") == (
        # the policy counter starts only with -P or -Z (iptables-nft, c163)
        "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)\n"
        "    pkts      bytes target     prot opt in     out     source               "
          "destination         \n"
        "       1       84 DROP       1    --  *      *       0.0.0.0/0            "
        "0.0.0.0/0           \n")


def test_policy_counters_count_only_what_reaches_the_policy() -> None:
    k = Kernel()
    net = ns(k, "p", "iptables -P FORWARD DROP", "iptables -A FORWARD -p tcp -j ACCEPT")
    assert ipt_do_table(net, "filter", NF_INET_FORWARD, tcp(80)) == NF_ACCEPT
    assert ipt_do_table(net, "filter", NF_INET_FORWARD, icmp()) == NF_DROP
    assert ipt_do_table(net, "filter", NF_INET_FORWARD, icmp(length=100)) == NF_DROP
    out = listing(k, net, "-L", "FORWARD", "-v", "-x", "-n")
    assert out.startswith("Chain FORWARD (policy DROP 2 packets, 184 bytes)\n")
    assert "       1       60 ACCEPT     6    --" in out


def test_missing_base_chain_lets_everything_through() -> None:
    """nf_tables creates only the base chains a command needs."""
    k = Kernel()
    net = ns(k, "m", "iptables -A INPUT -j DROP")
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, icmp()) == NF_DROP
    assert ipt_do_table(net, "filter", NF_INET_FORWARD, icmp()) == NF_ACCEPT
    assert ipt_do_table(net, "nat", NF_INET_PRE_ROUTING, icmp()) == NF_ACCEPT
    assert "policy ACCEPT 0 packets" in listing(k, net, "-L", "FORWARD", "-v")


def test_jump_returns_after_the_calling_rule() -> None:
    k = Kernel()
    net = ns(k, "j", "iptables -N sub", "iptables -A sub -p tcp --dport 22 -j ACCEPT",
             "iptables -A sub -p tcp -j RETURN", "iptables -A sub -j DROP",
             "iptables -A INPUT -j sub", "iptables -A INPUT -p tcp --dport 80 -j DROP")
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, tcp(22)) == NF_ACCEPT
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, tcp(80)) == NF_DROP  # RETURN, rule 2
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, tcp(443)) == NF_ACCEPT  # policy
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, icmp()) == NF_DROP  # sub's DROP
    counts = [(r.pcnt, r.bcnt) for r in nf_net(net).tables["filter"].chains["sub"].rules]
    assert counts == [(1, 60), (2, 120), (1, 84)]


def test_end_of_user_chain_is_an_implicit_return() -> None:
    k = Kernel()
    net = ns(k, "r", "iptables -N log1", "iptables -A log1 -j LOG --log-prefix x",
             "iptables -A INPUT -j log1", "iptables -A INPUT -j DROP")
    p = icmp()
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, p) == NF_DROP
    assert p.log is not None and p.log[0].prefix == "x" and p.log[0].level == 4


def test_goto_does_not_come_back() -> None:
    k = Kernel()
    net = ns(k, "g", "iptables -N a", "iptables -N b",
             "iptables -A INPUT -j a", "iptables -A INPUT -j DROP",
             "iptables -A a -g b", "iptables -A a -j ACCEPT",
             "iptables -A b -p tcp -j RETURN")
    # INPUT -> a (jump) -> b (goto) -> RETURN goes back to INPUT, after "-j a"
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, tcp(1)) == NF_DROP
    # end of b: the same, a's ACCEPT is never reached
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, icmp()) == NF_DROP


def test_goto_from_a_base_chain_returns_to_the_policy() -> None:
    k = Kernel()
    net = ns(k, "gb", "iptables -P INPUT DROP", "iptables -N b", "iptables -A INPUT -g b",
             "iptables -A INPUT -j ACCEPT", "iptables -A b -j RETURN")
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, icmp()) == NF_DROP
    base = nf_net(net).tables["filter"].chains["INPUT"]
    assert (base.pcnt, base.bcnt, base.rules[1].pcnt) == (1, 84, 0)


def test_return_in_a_base_chain_applies_the_policy() -> None:
    k = Kernel()
    net = ns(k, "rb", "iptables -P OUTPUT DROP", "iptables -A OUTPUT -p icmp -j RETURN",
             "iptables -A OUTPUT -j ACCEPT")
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_OUT, icmp(iif="", oif="eth0")) == NF_DROP
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_OUT, tcp(1, iif="")) == NF_ACCEPT


@pytest.mark.parametrize(("rule", "hit", "miss"), [
    ("-s 10.0.0.0/24", {"saddr": A}, {"saddr": C}),
    ("! -s 10.0.0.0/24", {"saddr": C}, {"saddr": A}),
    ("-d 10.0.0.2", {"daddr": B}, {"daddr": A}),
    ("-i eth+", {"iif": "eth7"}, {"iif": "veth0"}),
    ("! -i eth0", {"iif": "eth1"}, {"iif": "eth0"}),
    ("-p udp", {"proto": 17}, {"proto": 1}),
    ("! -p udp", {"proto": 1}, {"proto": 17}),
    ("-f", {"fragment": True}, {"fragment": False}),
    ("! -f", {"fragment": False}, {"fragment": True}),
    ("-p icmp --icmp-type echo-request", {"icmp_type": 8}, {"icmp_type": 0}),
    ("-p icmp --icmp-type port-unreachable", {"icmp_type": 3, "icmp_code": 3},
     {"icmp_type": 3, "icmp_code": 1}),
    ("-m length --length 80:90", {"length": 84}, {"length": 1000}),
    ("-m ttl --ttl-lt 10", {"ttl": 3}, {"ttl": 64}),
    ("-m mark --mark 0x10/0xf0", {"mark": 0x1F}, {"mark": 0x20}),
    ("-m iprange --src-range 10.0.0.0-10.0.0.9", {"saddr": A}, {"saddr": C}),
    ("-m addrtype --dst-type LOCAL", {"daddr_type": 2}, {"daddr_type": 1}),
    ("-m conntrack --ctstate NEW", {"ctstate": CT_NEW}, {"ctstate": CT_ESTABLISHED}),
    ("-m state --state UNTRACKED", {"ctstate": CT_UNTRACKED}, {"ctstate": CT_NEW}),
    ("-m conntrack --ctorigdst 10.0.0.0/8", {"ctstate": CT_NEW, "ctorigdst": B},
     {"ctstate": CT_NEW, "ctorigdst": C}),
])
def test_matches(rule: str, hit: dict[str, object], miss: dict[str, object]) -> None:
    k = Kernel()
    net = ns(k, "x", f"iptables -A INPUT {rule} -j DROP")
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, icmp(**hit)) == NF_DROP
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, icmp(**miss)) == NF_ACCEPT


@pytest.mark.parametrize(("rule", "hit", "miss"), [
    ("--dport 1000:2000", {"dport": 1500}, {"dport": 80}),
    ("! --sport 40000", {"sport": 1}, {"sport": 40000}),
    ("--syn", {"tcp_flags": 0x02}, {"tcp_flags": 0x12}),
    ("--tcp-flags SYN,ACK ACK", {"tcp_flags": 0x10}, {"tcp_flags": 0x02}),
    ("-m multiport --dports 22,80:90", {"dport": 85}, {"dport": 443}),
    ("-m multiport ! --ports 22", {"dport": 80}, {"dport": 22}),
    ("--tcp-option 2", {"tcp_options": (2, 4)}, {"tcp_options": (4,)}),
])
def test_tcp_matches(rule: str, hit: dict[str, object], miss: dict[str, object]) -> None:
    k = Kernel()
    net = ns(k, "t", f"iptables -A INPUT -p tcp {rule} -j DROP")
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, tcp(80, **hit)) == NF_DROP
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, tcp(80, **miss)) == NF_ACCEPT
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, tcp(80, fragment=True, **hit)) \
        == NF_ACCEPT  # non-first fragments carry no ports


def test_targets_write_into_the_view() -> None:
    k = Kernel()
    net = ns(k, "tg",
             "iptables -t mangle -A PREROUTING -j MARK --set-xmark 0x5/0xf",
             "iptables -t mangle -A PREROUTING -j CONNMARK --save-mark",
             "iptables -t mangle -A PREROUTING -j TTL --ttl-dec 2",
             "iptables -t nat -A PREROUTING -p tcp -j DNAT --to-destination 192.168.1.5:8080",
             "iptables -t raw -A PREROUTING -j CT --notrack",
             "iptables -A INPUT -p tcp -j REJECT --reject-with tcp-reset")
    p = tcp(80, mark=0xF0, ctstate=CT_NEW)
    assert ipt_do_table(net, "raw", NF_INET_PRE_ROUTING, p) == NF_ACCEPT
    assert ipt_do_table(net, "mangle", NF_INET_PRE_ROUTING, p) == NF_ACCEPT
    assert (p.notrack, p.mark, p.ctmark, p.ttl) == (True, 0xF5, 0xF5, 62)
    assert ipt_do_table(net, "nat", NF_INET_PRE_ROUTING, p) == NF_ACCEPT
    assert p.nat is not None and (p.nat.kind, p.nat.min_ip, p.nat.min_port) == \
        ("DNAT", C, 8080)
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, p) == NF_DROP
    assert p.reject is not None and p.reject.with_ == "tcp-reset"


def test_connmark_restore_and_masquerade() -> None:
    k = Kernel()
    net = ns(k, "cm", "iptables -t mangle -A OUTPUT -j CONNMARK --restore-mark --mask 0xff",
             "iptables -t nat -A POSTROUTING -p tcp -o eth1 -j MASQUERADE --to-ports 1024-2000")
    p = tcp(80, iif="", oif="eth1", ctstate=CT_ESTABLISHED, ctmark=0x1234, mark=0xAB00)
    ipt_do_table(net, "mangle", NF_INET_LOCAL_OUT, p)
    assert p.mark == 0xAB34
    assert ipt_do_table(net, "nat", NF_INET_POST_ROUTING, p) == NF_ACCEPT
    assert p.nat is not None and (p.nat.kind, p.nat.min_port, p.nat.max_port) == \
        ("MASQUERADE", 1024, 2000)


def test_limit_is_a_token_bucket_per_rule() -> None:
    k = Kernel()
    net = ns(k, "l", "iptables -A INPUT -m limit --limit 1/sec --limit-burst 2 -j ACCEPT",
             "iptables -A INPUT -j DROP")
    verdicts = [ipt_do_table(net, "filter", NF_INET_LOCAL_IN, icmp(now_ns=0))
                for _ in range(3)]
    assert verdicts == [NF_ACCEPT, NF_ACCEPT, NF_DROP]
    later = icmp(now_ns=1_000_000_000)
    assert ipt_do_table(net, "filter", NF_INET_LOCAL_IN, later) == NF_ACCEPT


def test_rules_in_one_namespace_never_see_another_namespaces_packets() -> None:
    k = Kernel()
    a = ns(k, "a", "iptables -A INPUT -j DROP")
    b = ns(k, "b")
    assert ipt_do_table(a, "filter", NF_INET_LOCAL_IN, icmp()) == NF_DROP
    assert ipt_do_table(b, "filter", NF_INET_LOCAL_IN, icmp()) == NF_ACCEPT
    assert ipt_do_table(k.init_net, "filter", NF_INET_LOCAL_IN, icmp()) == NF_ACCEPT
    assert nf_net(a).tables["filter"].chains["INPUT"].rules[0].pcnt == 1
    assert listing(k, b, "-S") == "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"


def test_namespace_teardown_drops_its_tables() -> None:
    k = Kernel()
    net = ns(k, "gone", "iptables -A INPUT -j DROP")
    state = nf_net(net)
    run_argv(k, ["ip", "netns", "del", "gone"])
    assert net.gen_get(0) is None or state is not net.gen_get(0)
    fresh = ns(k, "gone")
    assert nf_net(fresh).tables == {}


def test_nf_hook_runs_the_tables_in_priority_order() -> None:
    k = Kernel()
    net = ns(k, "h", "iptables -t raw -A PREROUTING -j CT --notrack",
             "iptables -t mangle -A PREROUTING -j MARK --set-mark 7",
             "iptables -t nat -A PREROUTING -m mark --mark 7 -j DNAT --to-destination 10.0.0.9",
             "iptables -t filter -A INPUT -m mark --mark 7 -j DROP")
    p = icmp()
    assert nf_hook(net, NF_INET_PRE_ROUTING, p) == NF_ACCEPT
    assert p.notrack and p.mark == 7 and p.nat is not None and p.nat.min_ip == 0x0A000009
    assert nf_hook(net, NF_INET_LOCAL_IN, p) == NF_DROP
    q = icmp()
    assert nf_hook(net, NF_INET_PRE_ROUTING, q, with_nat=False) == NF_ACCEPT
    assert q.nat is None


def test_generation_moves_with_changes_only() -> None:
    """Data-path caches may key on ``gen``: listings and failures leave it alone."""
    k = Kernel()
    net = ns(k, "gen")
    state = nf_net(net)
    gen = state.gen
    listing(k, net, "-L", "-n", "-v")
    assert run_argv(k, ["iptables", "-D", "INPUT", "1"], net).rc == 1
    assert state.gen == gen
    ns(k, "gen", "iptables -A INPUT -j DROP")
    assert state.gen == gen + 1
