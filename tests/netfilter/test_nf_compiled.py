"""The prepared walk (``netfilter/compiled.py``) against the plain one.

The reference below is the kernel's algorithm as ``ipt_do_table`` had it
before chains were prepared: every rule in order, the IPv4 part, then the
matches, then the target, with a stack for jumps.  The property test loads
one random rule set into two namespaces, runs random packets through the
prepared walk in one and through the reference in the other, and wants the
same verdicts, the same view afterwards (marks, TTL, log and reject
requests) and the same rule and policy counters."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from usernet import Kernel
from usernet.net import Net
from usernet.netfilter import PktView, compiled, ipt_do_table, nf_hook, nf_net
from usernet.netfilter.compiled import INDEX_MIN_RULES, compile_table, ip_packet_match
from usernet.netfilter.packet import (
    CT_DNAT,
    CT_ESTABLISHED,
    CT_INVALID,
    CT_NEW,
    CT_RELATED,
    CT_SNAT,
    CT_UNTRACKED,
    NF_ACCEPT,
    NF_DROP,
    NF_INET_FORWARD,
    NF_INET_LOCAL_IN,
    NF_INET_PRE_ROUTING,
    XT_CONTINUE,
    XT_RETURN,
)
from usernet.netfilter.rule import (
    Rule,
)
from usernet.netfilter.tables import Chain, Table, nf_hook_active, tables_at, wants_addrtype
from usernet.tools import run_argv
from usernet.tools.iptables import restore_text

FWD = NF_INET_FORWARD

# -- the reference walk ------------------------------------------------------------------


def ref_rule_matches(rule: Rule, pkt: PktView) -> bool:
    return ip_packet_match(rule.ip, pkt) and all(m.evaluate(pkt, rule.ip) for m in rule.matches)


def ref_do_table(table: Table, hook: int, pkt: PktView) -> int:
    base = table.base_chain(hook)
    if base is None:
        return NF_ACCEPT
    pkt.hook = hook
    stack: list[tuple[Chain, int]] = []
    chain, i = base, 0
    while True:
        if i >= len(chain.rules):
            if not stack:
                return ref_policy(base, pkt)
            chain, i = stack.pop()
            continue
        rule = chain.rules[i]
        i += 1
        if not ref_rule_matches(rule, pkt):
            continue
        rule.pcnt += 1
        rule.bcnt += pkt.length
        if rule.target is not None:
            verdict = rule.target.target(pkt)
        elif rule.jumpto:
            dest = table.chains.get(rule.jumpto)
            if dest is not None:
                if not rule.goto:
                    stack.append((chain, i))
                chain, i = dest, 0
            continue
        else:
            continue
        if verdict == XT_CONTINUE:
            continue
        if verdict == XT_RETURN:
            if not stack:
                return ref_policy(base, pkt)
            chain, i = stack.pop()
            continue
        return verdict


def ref_policy(base: Chain, pkt: PktView) -> int:
    if base.counted:
        base.pcnt += 1
        base.bcnt += pkt.length
    return NF_DROP if base.policy == "DROP" else NF_ACCEPT


# -- random rule sets and packets --------------------------------------------------------

ADDRS = ("10.0.0.1", "10.0.0.2", "10.0.1.5", "192.168.1.5", "172.16.3.4")
ADDR_INTS = (0x0A000001, 0x0A000002, 0x0A000105, 0xC0A80105, 0xAC100304, 0x08080808)
IFACES = ("eth0", "eth1", "wan0", "lan3")
IFACE_SPECS = ("eth0", "eth1", "wan0", "eth+", "wan+", "lan3")
PORTS = (22, 53, 80, 443, 5201, 40000)
STATES = ("NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED", "SNAT", "DNAT")
CT_VALUES = (CT_NEW, CT_ESTABLISHED, CT_RELATED, CT_INVALID, CT_UNTRACKED,
             CT_NEW | CT_DNAT, CT_ESTABLISHED | CT_SNAT)
USER_CHAINS = ("u0", "u1", "u2")


def bang(rnd: random.Random, p: float = 0.2) -> str:
    return "! " if rnd.random() < p else ""


def rand_ip_part(rnd: random.Random) -> tuple[list[str], str | None]:
    out: list[str] = []
    for opt in ("-s", "-d"):
        if rnd.random() < 0.5:
            out.append(f"{bang(rnd)}{opt} {rnd.choice(ADDRS)}/{rnd.choice((32, 24, 16, 8))}")
    for opt in ("-i", "-o"):
        if rnd.random() < 0.35:
            out.append(f"{bang(rnd)}{opt} {rnd.choice(IFACE_SPECS)}")
    proto = None
    if rnd.random() < 0.7:
        proto = rnd.choice(("tcp", "udp", "icmp"))
        if rnd.random() < 0.1:
            out.append(f"! -p {proto}")
            proto = None
        else:
            out.append(f"-p {proto}")
    if rnd.random() < 0.08:
        out.append(f"{bang(rnd, 0.5)}-f")
    return out, proto


def rand_port(rnd: random.Random) -> str:
    port = rnd.choice(PORTS)
    return f"{port}:{port + rnd.choice((0, 10, 1000))}" if rnd.random() < 0.25 else str(port)


def rand_match(rnd: random.Random, proto: str | None) -> str:
    kinds = ["conntrack", "mark", "length", "limit", "comment"]
    if proto in ("tcp", "udp"):
        kinds += [proto, proto, "multiport"]
    if proto == "icmp":
        kinds.append("icmp")
    kind = rnd.choice(kinds)
    if kind in ("tcp", "udp"):
        opts = [f"{bang(rnd)}--{d} {rand_port(rnd)}" for d in ("sport", "dport")
                if rnd.random() < 0.6]
        return f"-m {kind} " + " ".join(opts)
    if kind == "multiport":
        ports = ",".join(str(p) for p in rnd.sample(PORTS, rnd.randint(1, 3)))
        return f"-m multiport {bang(rnd)}--{rnd.choice(('sports', 'dports', 'ports'))} {ports}"
    if kind == "icmp":
        return f"-m icmp {bang(rnd)}--icmp-type {rnd.choice(('8', '0', '3/3', 'any'))}"
    if kind == "conntrack":
        states = ",".join(rnd.sample(STATES, rnd.randint(1, 3)))
        return f"-m conntrack {bang(rnd)}--ctstate {states}"
    if kind == "mark":
        return f"-m mark {bang(rnd)}--mark {rnd.randint(0, 3)}"
    if kind == "length":
        return f"-m length {bang(rnd)}--length {rnd.randint(20, 80)}:{rnd.randint(80, 1500)}"
    if kind == "limit":
        return f"-m limit --limit {rnd.randint(1, 50)}/sec --limit-burst {rnd.randint(1, 3)}"
    return "-m comment --comment x"


def rand_target(rnd: random.Random, chain_index: int) -> str:
    """Jumps go only to later user chains, so there are no loops."""
    choices = ["-j ACCEPT", "-j DROP", "-j RETURN", "", "-j MARK --set-mark 2",
               "-j MARK --set-xmark 0x1/0x1", "-j TTL --ttl-dec 1", "-j LOG --log-prefix p"]
    later = USER_CHAINS[chain_index + 1:]
    if later:
        choices += [f"-j {rnd.choice(later)}", f"-g {rnd.choice(later)}"]
    return rnd.choice(choices)


def rand_ruleset(rnd: random.Random) -> str:
    lines = ["*mangle", f":FORWARD {rnd.choice(('ACCEPT', 'DROP'))} [0:0]"]
    lines += [f":{u} - [0:0]" for u in USER_CHAINS]
    for ci, chain in enumerate(("FORWARD", *USER_CHAINS)):
        for _ in range(rnd.randint(0, 14)):
            ip, proto = rand_ip_part(rnd)
            matches = [rand_match(rnd, proto) for _ in range(rnd.choice((0, 1, 1, 2, 3)))]
            lines.append(" ".join(["-A", chain, *ip, *matches, rand_target(rnd, ci - 1)]))
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def rand_packet(rnd: random.Random, now: int) -> PktView:
    proto = rnd.choice((1, 6, 17, 17, 47))
    frag = rnd.random() < 0.1
    ports = proto in (6, 17) and not frag
    return PktView(
        iif=rnd.choice(IFACES), oif=rnd.choice(IFACES),
        saddr=rnd.choice(ADDR_INTS) if rnd.random() < 0.9 else rnd.getrandbits(32),
        daddr=rnd.choice(ADDR_INTS) if rnd.random() < 0.9 else rnd.getrandbits(32),
        proto=proto, fragment=frag,
        sport=rnd.choice(PORTS) if ports else 0, dport=rnd.choice(PORTS) if ports else 0,
        icmp_type=rnd.choice((0, 3, 8)) if proto == 1 and not frag else 0,
        icmp_code=rnd.choice((0, 3)) if proto == 1 and not frag else 0,
        length=rnd.randint(20, 1500), ttl=rnd.randint(1, 64), mark=rnd.randint(0, 3),
        ctstate=rnd.choice(CT_VALUES), now_ns=now)


def two_namespaces(text: str) -> tuple[Net, Net] | None:
    k = Kernel()
    nets = []
    for name in ("a", "b"):
        run_argv(k, ["ip", "netns", "add", name])
        net = k.netns_names[name]
        if restore_text(k, net, text).rc != 0:
            return None
        nets.append(net)
    return nets[0], nets[1]


def counters(table: Table) -> list[tuple[str, int, int, int]]:
    out = [(c.name, -1, c.pcnt, c.bcnt) for c in table.chains.values()]
    out += [(c.name, i, r.pcnt, r.bcnt) for c in table.chains.values()
            for i, r in enumerate(c.rules)]
    return out


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_prepared_walk_is_the_linear_walk(seed: int) -> None:
    rnd = random.Random(seed)
    text = rand_ruleset(rnd)
    nets = two_namespaces(text)
    assert nets is not None, text  # the generator writes only rules the kernel takes
    prepared, plain = nets
    ref_table = nf_net(plain).tables["mangle"]
    now = 0
    for _ in range(60):
        now += rnd.choice((0, 1000, 10_000_000, 300_000_000))
        pkt = rand_packet(rnd, now)
        p1, p2 = replace(pkt), replace(pkt)
        v1 = ipt_do_table(prepared, "mangle", FWD, p1)
        v2 = ref_do_table(ref_table, FWD, p2)
        assert (v1, p1) == (v2, p2), (text, pkt)
    assert counters(nf_net(prepared).tables["mangle"]) == counters(ref_table), text


# -- the index, by hand ---------------------------------------------------------------------


def router(*lines: str) -> tuple[Kernel, Net]:
    k = Kernel()
    run_argv(k, ["ip", "netns", "add", "r"])
    net = k.netns_names["r"]
    for line in lines:
        res = run_argv(k, line.split(), net)
        assert res.rc == 0, (line, res.stderr)
    return k, net


def udp(dport: int, **kw: object) -> PktView:
    base: dict[str, object] = {"saddr": 0x0A010002, "daddr": 0x0A020002, "proto": 17,
                               "iif": "r1", "oif": "r2", "sport": 5000, "dport": dport,
                               "length": 50}
    base.update(kw)
    return PktView(**base)  # type: ignore[arg-type]


def big_firewall(n: int) -> str:
    lines = ["*filter", ":FORWARD ACCEPT [0:0]",
             "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"]
    for i in range(n):
        lines.append(f"-A FORWARD -s 198.18.{i // 250}.{i % 250 + 1}/32 -j DROP")
        lines.append(f"-A FORWARD -p udp -m udp --dport {i + 1} -j DROP")
        lines.append(f"-A FORWARD -i wan{i} -j DROP")
    return "\n".join([*lines, "COMMIT"]) + "\n"


def test_the_index_leaves_no_candidate_for_traffic_no_rule_wants() -> None:
    k, net = router()
    assert restore_text(k, net, big_firewall(300)).rc == 0
    table = nf_net(net).tables["filter"]
    fwd = compile_table(table)["FORWARD"]
    assert fwd.lead == 1  # the ESTABLISHED rule is walked, the index takes the rest
    assert fwd.cand is not None
    assert fwd.cand(udp(5201, ctstate=CT_NEW)) == 0
    # one candidate each: the rule for port 7, the rule for 198.18.0.3, wan2's rule
    assert fwd.cand(udp(7, ctstate=CT_NEW)) == 1 << (1 + 3 * 6 + 1)
    assert fwd.cand(udp(5201, saddr=0xC6120003, ctstate=CT_NEW)) == 1 << (1 + 3 * 2)
    assert fwd.cand(udp(5201, iif="wan2", ctstate=CT_NEW)) == 1 << (1 + 3 * 2 + 2)
    assert ipt_do_table(net, "filter", FWD, udp(7, ctstate=CT_NEW)) == NF_DROP
    assert ipt_do_table(net, "filter", FWD, udp(5201, ctstate=CT_NEW)) == NF_ACCEPT
    assert ipt_do_table(net, "filter", FWD, udp(7, ctstate=CT_ESTABLISHED)) == NF_ACCEPT
    rules = table.chains["FORWARD"].rules
    assert [r.pcnt for r in rules[:3]] == [1, 0, 0] and rules[20].pcnt == 1
    assert sum(r.pcnt for r in rules) == 2
    assert table.chains["FORWARD"].pcnt == 1  # the policy, counted since restore set it


def test_short_chains_are_walked_rule_by_rule() -> None:
    _k, net = router("iptables -A FORWARD -p udp --dport 53 -j DROP",
                     "iptables -A FORWARD -s 10.0.0.0/8 -j ACCEPT")
    fwd = compile_table(nf_net(net).tables["filter"])["FORWARD"]
    assert len(fwd.rules) < INDEX_MIN_RULES and fwd.lead == 2 and fwd.cand is None
    assert ipt_do_table(net, "filter", FWD, udp(53)) == NF_DROP
    assert ipt_do_table(net, "filter", FWD, udp(54)) == NF_ACCEPT


def test_a_limit_before_the_port_is_still_consulted() -> None:
    """The kernel runs the limit of a rule whose port does not match (the
    port match comes after it), so its bucket empties: the index must not
    skip such a rule on the port."""
    _k, net = router(
        "iptables -A FORWARD -p udp -m limit --limit 1/hour --limit-burst 1 -m udp "
        "--dport 53 -j DROP",
        *(f"iptables -A FORWARD -p udp -m udp --dport {1000 + i} -j DROP" for i in range(6)))
    fwd = compile_table(nf_net(net).tables["filter"])["FORWARD"]
    assert fwd.cand is not None and fwd.cand(udp(80)) & 1
    assert ipt_do_table(net, "filter", FWD, udp(80)) == NF_ACCEPT  # takes the only token
    assert ipt_do_table(net, "filter", FWD, udp(53)) == NF_ACCEPT  # none left


def test_plan_follows_commits_and_skips_idle_hooks() -> None:
    k, net = router()
    assert not nf_hook_active(net, FWD)
    assert restore_text(k, net, big_firewall(10)).rc == 0
    nfnet = nf_net(net)
    # the restore file names FORWARD only: nf_tables has no INPUT base chain
    assert nf_hook_active(net, FWD) and not nf_hook_active(net, NF_INET_LOCAL_IN)
    assert not nf_hook_active(net, NF_INET_PRE_ROUTING)
    assert nf_hook(net, FWD, udp(3, ctstate=CT_NEW)) == NF_DROP
    plan = nfnet.plan
    assert nf_hook(net, FWD, udp(3, ctstate=CT_NEW)) == NF_DROP and nfnet.plan is plan
    prepared = nfnet.tables["filter"].prepared()
    assert prepared is nfnet.tables["filter"].prepared()
    res = run_argv(k, ["iptables", "-I", "FORWARD", "-p", "udp", "--dport", "3", "-j",
                       "ACCEPT"], net)
    assert res.rc == 0
    assert nf_hook(net, FWD, udp(3, ctstate=CT_NEW)) == NF_ACCEPT and nfnet.plan is not plan
    assert tables_at(nfnet, FWD) == {"filter"} and not tables_at(nfnet, NF_INET_PRE_ROUTING)
    res = run_argv(k, ["iptables", "-t", "raw", "-A", "PREROUTING", "-j", "ACCEPT"], net)
    assert res.rc == 0 and nf_hook_active(net, NF_INET_PRE_ROUTING)
    assert tables_at(nfnet, NF_INET_PRE_ROUTING) == {"raw"} and not wants_addrtype(nfnet)
    res = run_argv(k, ["iptables", "-t", "mangle", "-A", "FORWARD", "-m", "addrtype",
                       "--dst-type", "LOCAL"], net)
    assert res.rc == 0 and wants_addrtype(nfnet)
    assert tables_at(nfnet, FWD) == {"mangle", "filter"}
    assert run_argv(k, ["iptables", "-F"], net).rc == 0
    assert nf_hook(net, FWD, udp(3, ctstate=CT_NEW)) == NF_ACCEPT


def test_a_full_memo_starts_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """With room for two remembered candidate sets, many flows still get the
    linear walk's verdicts and counters."""
    monkeypatch.setattr(compiled, "CAND_MEMO_MAX", 2)
    nets = two_namespaces(big_firewall(40).replace("*filter", "*mangle"))
    assert nets is not None
    prepared, plain = nets
    ref_table = nf_net(plain).tables["mangle"]
    for i in range(200):
        pkt = udp(i % 45, saddr=0xC6120000 + i % 50, iif=f"wan{i % 7}",
                  ctstate=(CT_NEW, CT_ESTABLISHED)[i % 3 == 0])
        p1, p2 = replace(pkt), replace(pkt)
        assert ipt_do_table(prepared, "mangle", FWD, p1) == ref_do_table(ref_table, FWD, p2)
    fwd = compile_table(nf_net(prepared).tables["mangle"])["FORWARD"]
    assert fwd.cand is not None
    assert counters(nf_net(prepared).tables["mangle"]) == counters(ref_table)
