"""The established-flow shortcut (netfilter/flow_fast.py) must leave exactly
what the full hooks leave: the same frames out, the same rule counters, the
same conntrack entries -- and must not apply where the ruleset does not
allow it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

import usernet.ipv4.ip_input as ip_input
import usernet.socket as us
from usernet import Kernel
from usernet.netfilter.conntrack import ct_net
from usernet.netfilter.flow_fast import nf_flow_fast
from usernet.testing import ROUTER

STATEFUL = """\
ip netns exec r iptables -P FORWARD DROP
ip netns exec r iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
ip netns exec r iptables -A FORWARD -s 192.0.2.0/24 -j DROP
ip netns exec r iptables -A FORWARD -p udp --dport 9 -j REJECT
ip netns exec r iptables -A FORWARD -i r1 -o r2 -m conntrack --ctstate NEW -j ACCEPT
"""


def _traffic(k: Kernel) -> dict[str, Any]:
    """h1 -> h2: a UDP exchange, then TCP -- a bulk transfer with its close,
    and bursts of small segments each way on a connection left open.  The
    data path offers the shortcut bursts of frames (single frames go one by
    one), so the exchanges are bursts; the router's neighbours are made
    REACHABLE first."""
    assert k.cmd("ip netns exec h1 ping -c 1 10.2.0.2").rc == 0
    k.run(until=8)  # DELAY, a unicast probe, REACHABLE
    out: dict[str, Any] = {}

    def server() -> None:
        u = us.socket(us.AF_INET, us.SOCK_DGRAM)
        u.bind(("0.0.0.0", 5300))
        data, peer = u.recvfrom(2048)  # the first: NEW, then answered
        u.sendto(data, peer)
        got = [u.recv(2048) for _ in range(39)]
        out["snapshot_udp"] = _ct_snapshot(k)
        for d in got:
            u.sendto(d[::-1], peer)
        u.close()
        lst = us.create_server(("0.0.0.0", 5400))
        c, _ = lst.accept()
        h = hashlib.sha256()
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            h.update(chunk)
        c.sendall(b"done")
        c.close()
        c, _ = lst.accept()
        c.setsockopt(us.IPPROTO_TCP, us.TCP_NODELAY, 1)
        for _ in range(3):
            got_tcp = b""
            while len(got_tcp) < 20 * 500:
                got_tcp += c.recv(65536)
            for i in range(20):
                c.send(got_tcp[i * 500:(i + 1) * 500])
        out["snapshot"] = _ct_snapshot(k)
        c.close()
        lst.close()
        out["server"] = (len(got) + 1, h.hexdigest())

    def client() -> None:
        u = us.socket(us.AF_INET, us.SOCK_DGRAM)
        u.connect(("10.2.0.2", 5300))
        u.send(b"first")
        u.recv(2048)
        for i in range(39):
            u.send(bytes([i]) * (100 + i))
        out["udp"] = sorted(len(u.recv(2048)) for _ in range(39))
        u.close()
        c = us.create_connection(("10.2.0.2", 5400))
        c.sendall(bytes(range(256)) * 8192)
        c.shutdown(us.SHUT_WR)
        out["client"] = c.recv(100)
        c.close()
        c = us.create_connection(("10.2.0.2", 5400))
        c.setsockopt(us.IPPROTO_TCP, us.TCP_NODELAY, 1)
        for _ in range(3):
            for i in range(20):
                c.send(bytes([i]) * 500)
            got = b""
            while len(got) < 20 * 500:
                got += c.recv(65536)
        out["bursts"] = "ok"
        c.close()

    k.spawn(server, netns="h2")
    k.spawn(client, netns="h1")
    k.run(until=30)
    return out


def _ct_snapshot(k: Kernel) -> list[tuple[Any, ...]]:
    """Every field of every connection in r's table."""
    ctn = ct_net(k.netns_get("r"))
    return sorted((ct.orig, ct.repl, ct.status, ct.timeout, ct.mark, ct.tcp_state,
                   ct.tcp_last_index, ct.tcp_last_dir, ct.tcp_last_end, ct.tcp_seen,
                   ct.udp_stream_ts) for ct, d in ctn.hash.values() if not d)


# a router with a host firewall only: FORWARD, PREROUTING and POSTROUTING
# are empty, two of them with counted policies
HOST_FIREWALL = """\
ip netns exec r iptables -A INPUT -p tcp --dport 22 -j DROP
ip netns exec r iptables -A INPUT -p icmp -j ACCEPT
ip netns exec r iptables -P FORWARD ACCEPT
ip netns exec r iptables -t mangle -Z POSTROUTING
ip netns exec r iptables -t raw -A OUTPUT -j ACCEPT
"""


def _run(shortcut: bool, monkeypatch: pytest.MonkeyPatch,
         rules: str = STATEFUL) -> dict[str, Any]:
    if not shortcut:
        monkeypatch.setattr(ip_input, "nf_flow_fast", lambda net: None)
    k = Kernel(seed=3)
    k.script(ROUTER + rules)
    cap = k.capture("h2", "eth0")  # not on r: a tap makes r take frames one by one
    result = _traffic(k)
    k.run(until=1)
    monkeypatch.undo()
    return {
        "result": result,
        "frames": [f for _, f in cap.packets],
        # without the "# Generated/Completed on" lines: they carry the wall clock
        "counters": [line for line in k.cmd("iptables-save -c", "r").stdout.splitlines()
                     if not line.startswith("#")],
        "conntrack": sorted(k.cmd("conntrack -L", "r").stdout.splitlines()),
        "snmp": k.cmd("nstat -az", "r").stdout,
        "fast": nf_flow_fast(k.netns_get("r")) is not None,
    }


def test_shortcut_leaves_what_the_hooks_leave(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _run(True, monkeypatch)
    full = _run(False, monkeypatch)
    assert fast["fast"]
    assert fast["result"]["server"][0] == 40 and fast["result"]["client"] == b"done"
    assert fast["result"]["bursts"] == "ok" and len(fast["result"]["snapshot"]) >= 3
    assert fast["result"]["udp"] == list(range(100, 139))
    assert fast["result"] == full["result"]
    assert fast["frames"] == full["frames"]
    assert fast["counters"] == full["counters"]
    assert fast["conntrack"] == full["conntrack"]
    assert fast["snmp"] == full["snmp"]
    # the established rule did count the flows' packets
    est = next(line for line in fast["counters"] if "ESTABLISHED" in line)
    assert int(est.split(":")[0].strip("[")) > 100


def test_host_firewall_shortcut_leaves_what_the_hooks_leave(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _run(True, monkeypatch, HOST_FIREWALL)
    full = _run(False, monkeypatch, HOST_FIREWALL)
    assert fast["fast"] and fast["result"]["bursts"] == "ok"
    assert fast["result"] == full["result"]
    assert fast["frames"] == full["frames"]
    assert fast["counters"] == full["counters"]
    assert fast["snmp"] == full["snmp"]
    policy = next(line for line in fast["counters"] if line.startswith(":FORWARD"))
    assert int(policy.split("[")[1].split(":")[0]) > 100  # counted, and on the shortcut


@pytest.fixture
def k() -> Iterator[Kernel]:
    kernel = Kernel()
    kernel.script(ROUTER)
    yield kernel


@pytest.mark.parametrize("rules", [
    # not first
    "-A FORWARD -s 192.0.2.1 -j DROP\n-A FORWARD -m state --state ESTABLISHED -j ACCEPT",
    # restricted or inverted
    "-A FORWARD -i r1 -m conntrack --ctstate ESTABLISHED -j ACCEPT",
    "-A FORWARD -m conntrack ! --ctstate ESTABLISHED -j ACCEPT",
    "-A FORWARD -m conntrack --ctstate NEW -j ACCEPT",
    "-A FORWARD -m conntrack --ctstate ESTABLISHED --ctdir ORIGINAL -j ACCEPT",
    # not an accept
    "-A FORWARD -m conntrack --ctstate ESTABLISHED -j LOG",
    # no conntrack at all
    "-A FORWARD -s 192.0.2.1 -j DROP",
])
def test_no_shortcut_for_other_rulesets(k: Kernel, rules: str) -> None:
    for rule in rules.splitlines():
        assert k.cmd(f"ip netns exec r iptables {rule}").rc == 0
    assert nf_flow_fast(k.netns_get("r")) is None


@pytest.mark.parametrize("extra", [
    "iptables -t mangle -A PREROUTING -j MARK --set-mark 1",
    "iptables -t nat -A POSTROUTING -o r2 -j MASQUERADE",
    "iptables -t raw -A PREROUTING -j ACCEPT",
])
def test_no_shortcut_with_other_tables(k: Kernel, extra: str) -> None:
    k.cmd("ip netns exec r iptables -A FORWARD -m state --state ESTABLISHED,RELATED -j ACCEPT")
    r = k.netns_get("r")
    assert nf_flow_fast(r) is not None
    assert k.cmd(f"ip netns exec r {extra}").rc == 0
    assert nf_flow_fast(r) is None  # the plan follows the ruleset's generation
