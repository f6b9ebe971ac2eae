"""The IPv4 hooks: rules act on real traffic, per namespace."""

from __future__ import annotations

from types import ModuleType

import usernet.socket as usock
from usernet import Kernel
from usernet.testing import VETH_PAIR


def _connect(sm: ModuleType, timeout: float) -> str:
    s = sm.socket(sm.AF_INET, sm.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(("10.0.0.2", 80))
        return "connected"
    except OSError as exc:
        return type(exc).__name__
    finally:
        s.close()


def _rule(k: Kernel, rule: str) -> None:
    assert k.cmd(f"ip netns exec b iptables {rule}").rc == 0


def test_reject_with_tcp_reset_refuses_the_connection() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    _rule(k, "-A INPUT -p tcp --dport 80 -j REJECT --reject-with tcp-reset")
    p = k.spawn(_connect, usock, 5.0, netns="a")
    k.run(until=10)
    assert p.result() == "ConnectionRefusedError"
    listing = k.cmd("ip netns exec b iptables -L INPUT -n -v -x").stdout
    assert "       1       60 REJECT" in listing  # one SYN of 60 bytes


def test_drop_makes_the_connect_time_out_and_only_in_its_namespace() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    _rule(k, "-A INPUT -p tcp --dport 80 -j DROP")
    p = k.spawn(_connect, usock, 2.0, netns="a")
    k.run(until=10)
    assert p.result() == "TimeoutError"
    assert "-A " not in k.cmd("ip netns exec a iptables -S").stdout  # a has no rules


def test_reject_icmp_port_unreachable_reaches_ping() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    _rule(k, "-A INPUT -p icmp -j REJECT")
    res = k.cmd("ip netns exec a ping -c 1 -W 1 10.0.0.2")
    assert res.rc == 1 and "Destination Port Unreachable" in res.stdout
