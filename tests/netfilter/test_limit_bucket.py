"""-m limit as iptables-nft gives it to the kernel: nft_limit's token bucket
in nanoseconds, full when the rule is made, with a new bucket for every rule
iptables re-adds (-Z, -R) and the same one across other commands."""

from __future__ import annotations

from usernet.kernel import Kernel
from usernet.netfilter.matches import Limit
from usernet.netfilter.packet import PktView
from usernet.netfilter.rule import IpSpec
from usernet.testing import VETH_PAIR

MS = 1_000_000


def limit(rate: int, unit_s: int, burst: int) -> Limit:
    m = Limit()
    m.avg = 10000 * unit_s // rate
    m.burst = burst
    return m


def passes(m: Limit, at_ms: float) -> bool:
    return m.evaluate(PktView(now_ns=int(at_ms * MS)), IpSpec())


def test_burst_then_one_token_per_period() -> None:
    m = limit(5, 1, 2)  # 5/sec: a token every 200 ms, 2 in the bucket
    assert [passes(m, 0), passes(m, 0), passes(m, 0)] == [True, True, False]
    assert not passes(m, 199.999)
    assert passes(m, 200.0)
    assert not passes(m, 300)
    assert [passes(m, 1000), passes(m, 1000), passes(m, 1000)] == [True, True, False]


def test_refused_packets_do_not_lose_time() -> None:
    """A refused packet keeps the tokens gathered so far (nft_limit_eval)."""
    m = limit(10, 1, 1)  # 100 ms a token
    assert passes(m, 0)
    assert not passes(m, 60)
    assert passes(m, 100)


def test_renewed_rule_starts_full() -> None:
    m = limit(1, 60, 1)
    assert passes(m, 0) and not passes(m, 1)
    fresh = m.renewed()
    assert (fresh.avg, fresh.burst) == (m.avg, m.burst)
    assert passes(fresh, 2) and not passes(m, 2)


def _run(k: Kernel, line: str) -> str:
    res = k.cmd(line)
    assert res.rc == 0, res.stderr
    return res.stdout


def test_bucket_survives_other_commands_and_refills_on_zero() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    _run(k, "ip netns exec b iptables -A INPUT -p icmp -m limit --limit 1/min "
            "--limit-burst 1 -j ACCEPT")
    _run(k, "ip netns exec b iptables -A INPUT -p icmp -j DROP")
    assert k.cmd("ip netns exec a ping -c 1 -W 1 10.0.0.2").rc == 0
    _run(k, "ip netns exec b iptables -A INPUT -s 192.0.2.1 -j ACCEPT")  # another rule
    assert k.cmd("ip netns exec a ping -c 1 -W 1 10.0.0.2").rc == 1
    _run(k, "ip netns exec b iptables -Z INPUT 1")  # re-adds rule 1: a new bucket
    assert k.cmd("ip netns exec a ping -c 1 -W 1 10.0.0.2").rc == 0


def test_burst_zero_is_the_default_burst() -> None:
    """nft_limit_init gives a packet limit with burst 0 the default, 5."""
    k = Kernel()
    _run(k, "iptables -A INPUT -m limit --limit 7/sec --limit-burst 0")
    assert _run(k, "iptables -S INPUT") == "-P INPUT ACCEPT\n-A INPUT -m limit --limit 7/sec\n"
    assert "limit: avg 7/sec burst 5" in _run(k, "iptables -L INPUT -n")
