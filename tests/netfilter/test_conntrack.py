"""Connection tracking on real traffic: states, timeouts, the table limit,
RELATED errors, activation, NOTRACK and CONNMARK."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import usernet.socket as usock
from usernet import Kernel
from usernet.netfilter.conntrack import ct_count
from usernet.testing import ROUTER, VETH_PAIR, check_determinism

sys.path.insert(0, str(Path(__file__).parent))
from probes import udp_knock


def _ok(k: Kernel, line: str) -> str:
    res = k.cmd(line)
    assert res.rc == 0, (line, res.stderr)
    return res.stdout


def _entries(k: Kernel, ns: str, *args: str) -> list[str]:
    out = _ok(k, f"ip netns exec {ns} conntrack -L {' '.join(args)}")
    return sorted(out.splitlines())


def _tcp_server(port: int, hold: float) -> bytes:
    s = usock.socket()
    s.bind(("0.0.0.0", port))
    s.listen()
    c, _ = s.accept()
    data = c.recv(100)
    c.send(b"pong")
    usock_sleep(hold)
    c.close()
    s.close()
    return bytes(data)


def usock_sleep(seconds: float) -> None:
    from usernet.socket import current_kernel
    from usernet.wait import sleep

    sleep(current_kernel(), seconds)


def _tcp_client(addr: str, port: int, sport: int, hold: float) -> bytes:
    c = usock.socket()
    c.bind(("0.0.0.0", sport))
    c.connect((addr, port))
    c.send(b"ping")
    data = c.recv(100)
    usock_sleep(hold)
    c.close()
    return bytes(data)


def advance(k: Kernel, seconds: float) -> None:
    """Let virtual time pass (k.run stops once no process is left)."""
    k.sched.run_for(int(seconds * 1_000_000_000))


def _router(k: Kernel, *rules: str) -> None:
    k.script(ROUTER)
    for rule in rules:
        _ok(k, f"ip netns exec r iptables {rule}")


def test_tcp_states_and_timeouts_follow_the_connection() -> None:
    k = Kernel()
    _router(k, "-A FORWARD -m conntrack --ctstate INVALID -j DROP")
    server = k.spawn(_tcp_server, 80, 1.0, netns="h2")
    k.run(until=0.1)
    client = k.spawn(_tcp_client, "10.2.0.2", 80, 40000, 0.5, netns="h1")
    k.run(until=0.3)
    (line,) = _entries(k, "r")
    assert line.startswith("tcp      6 431999 ESTABLISHED src=10.1.0.2 dst=10.2.0.2 "
                           "sport=40000 dport=80 src=10.2.0.2 dst=10.1.0.2 sport=80 "
                           "dport=40000 [ASSURED] mark=0 use=1")
    k.run(until=3)
    advance(k, 0.1)
    assert client.result() == b"pong" and server.result() == b"ping"
    (line,) = _entries(k, "r")
    assert re.match(r"tcp      6 11[89] TIME_WAIT ", line), line
    advance(k, 120)
    assert _entries(k, "r") == [] and ct_count(k.netns_get("r")) == 0


def _udp_send(addr: str, port: int, sport: int, count: int, gap: float) -> None:
    s = usock.socket(usock.AF_INET, usock.SOCK_DGRAM)
    s.bind(("0.0.0.0", sport))
    for _ in range(count):
        s.sendto(b"x", (addr, port))
        usock_sleep(gap)
    s.close()


def _udp_echo(port: int, count: int) -> list[tuple[str, int]]:
    s = usock.socket(usock.AF_INET, usock.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    peers = []
    for _ in range(count):
        data, peer = s.recvfrom(100)
        peers.append(peer)
        s.sendto(data, peer)
    s.close()
    return peers


def test_udp_unreplied_then_replied_then_assured_stream() -> None:
    k = Kernel()
    _router(k, "-A FORWARD -m state --state INVALID -j DROP")
    k.spawn(_udp_send, "10.2.0.2", 9, 5000, 1, 0.1, netns="h1")
    k.run(until=0.5)
    (line,) = _entries(k, "r", "-p udp")
    assert "[UNREPLIED]" in line and line.startswith("udp      17 29 ")
    k.spawn(_udp_echo, 53, 3, netns="h2")
    k.spawn(_udp_send, "10.2.0.2", 53, 5001, 3, 1.5, netns="h1")
    k.run(until=0.2)
    line = next(x for x in _entries(k, "r", "-p udp") if "dport=53" in x)
    assert "[UNREPLIED]" not in line and "[ASSURED]" not in line  # answered, not a stream
    k.run(until=3.5)  # more traffic after two seconds: a stream
    advance(k, 0.1)
    line = next(x for x in _entries(k, "r", "-p udp") if "dport=53" in x)
    assert "[ASSURED]" in line and re.match(r"udp      17 1(19|20) ", line), line


def test_timeouts_come_from_the_namespace_sysctls() -> None:
    k = Kernel()
    _router(k, "-A FORWARD -m state --state INVALID -j DROP")
    _ok(k, "ip netns exec r sysctl -w net.netfilter.nf_conntrack_udp_timeout=7")
    assert _ok(k, "ip netns exec h1 sysctl -n net.netfilter.nf_conntrack_udp_timeout") == "30\n"
    k.spawn(_udp_send, "10.2.0.2", 9, 5000, 1, 0.1, netns="h1")
    k.run(until=0.5)
    (line,) = _entries(k, "r")
    assert line.startswith("udp      17 6 ")
    advance(k, 7)
    assert _ok(k, "ip netns exec r sysctl -n net.netfilter.nf_conntrack_count") == "0\n"


def test_a_full_table_drops_new_connections_and_says_so() -> None:
    k = Kernel()
    _router(k, "-A FORWARD -m state --state NEW -j ACCEPT")
    _ok(k, "sysctl -w net.netfilter.nf_conntrack_max=2")  # global: init_net only
    res = k.cmd("ip netns exec r sysctl -w net.netfilter.nf_conntrack_max=5")
    assert "Invalid argument" in res.stderr  # read-only elsewhere (procps still exits 0)
    for sport in (6000, 6001, 6002):
        k.spawn(_udp_send, "10.2.0.2", 9, sport, 1, 0.1, netns="h1")
    k.run(until=1)
    assert len(_entries(k, "r")) == 2
    listing = _ok(k, "ip netns exec r iptables -L FORWARD -v -n -x")
    assert "       2       58 ACCEPT" in listing  # the third never got a verdict
    assert "nf_conntrack: table full, dropping packet" in _ok(k, "dmesg")


def test_icmp_error_is_related_to_the_connection_it_quotes() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    _ok(k, "ip netns exec a iptables -A INPUT -m conntrack --ctstate RELATED -j ACCEPT")
    _ok(k, "ip netns exec a iptables -A INPUT -j DROP")

    p = k.spawn(udp_knock, "10.0.0.2", 9, 0, b"x", netns="a")
    k.run(until=2)
    assert p.result() == "ConnectionRefusedError"  # the port unreachable got in
    listing = _ok(k, "ip netns exec a iptables -L INPUT -v -n -x")
    assert "       1       57 ACCEPT" in listing, listing  # 20 + 8 + the quoted 29


def test_conntrack_runs_only_where_a_rule_needs_it() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    _ok(k, "ip netns exec a iptables -A OUTPUT -p tcp -j ACCEPT")
    _ok(k, "ip netns exec a ping -c 1 -W 1 10.0.0.2")
    assert _entries(k, "a") == []
    _ok(k, "ip netns exec a iptables -A OUTPUT -m state --state NEW")
    _ok(k, "ip netns exec a ping -c 1 -W 1 10.0.0.2")
    (line,) = _entries(k, "a")
    assert re.match(r"icmp     1 (29|30) src=10.0.0.1 dst=10.0.0.2 type=8 code=0 ", line)
    assert _entries(k, "b") == []  # the peer has no rules
    _ok(k, "ip netns exec a conntrack -F")
    _ok(k, "ip netns exec a iptables -F OUTPUT")
    _ok(k, "ip netns exec a ping -c 1 -W 1 10.0.0.2")
    assert _entries(k, "a") == []


def test_notrack_leaves_packets_untracked() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    _ok(k, "ip netns exec b iptables -t raw -A PREROUTING -p icmp -j CT --notrack")
    _ok(k, "ip netns exec b iptables -A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT")
    _ok(k, "ip netns exec a ping -c 2 -i 0.2 -W 1 10.0.0.2")
    assert "       2      168 ACCEPT" in _ok(k, "ip netns exec b iptables -L INPUT -v -n -x")
    assert _entries(k, "b") == []  # the replies left untracked (the entry was never made)


def test_connmark_saves_and_restores_marks() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    for rule in ("-t mangle -A OUTPUT -p icmp -j MARK --set-mark 7",
                 "-t mangle -A OUTPUT -j CONNMARK --save-mark",
                 "-t mangle -A PREROUTING -j CONNMARK --restore-mark",
                 "-A INPUT -m mark --mark 7 -m connmark --mark 7 -j ACCEPT"):
        _ok(k, f"ip netns exec a iptables {rule}")
    _ok(k, "ip netns exec a ping -c 2 -i 0.2 -W 1 10.0.0.2")
    assert "       2      168 ACCEPT" in _ok(k, "ip netns exec a iptables -L INPUT -v -n -x")
    (line,) = _entries(k, "a", "-m 7")
    assert "mark=7" in line


def test_conntrack_and_nat_are_deterministic() -> None:
    script = ROUTER + """\
ip netns exec r iptables -t nat -A POSTROUTING -o r2 -j MASQUERADE
ip netns exec r iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
ip netns exec h1 ping -c 3 -i 0.2 -W 1 10.2.0.2
ip netns exec r conntrack -L
"""
    check_determinism(script, seed=3)
