"""TCP reads its net.ipv4 sysctls as numbers (``net.ipv4.sysctl``, Linux's
ints in struct netns_ipv4), rebuilt by every write: the numbers must always
equal what the text says, per namespace, and a write made between two
connections must reach the second one."""

from __future__ import annotations

import pytest
from tcp_helpers import ip

from usernet import Kernel
from usernet.errors import KernelError
from usernet.ipv4.datapath_state import sysctl_int
from usernet.ipv4.netns import IPV4_SYSCTL_DEFAULTS, Ipv4Sysctl
from usernet.net import Net
from usernet.sysctl import sysctl_set
from usernet.testing import VETH_PAIR
from usernet.transport.tcp import TcpSock, sysctl_vec

PORT = 7300
VECTORS = ("ip_local_port_range", "tcp_rmem", "tcp_wmem")


def _agree(net: Net) -> None:
    """Every number equals the value read from the text."""
    for name in Ipv4Sysctl.__slots__:
        key = "net.ipv4." + name
        want = sysctl_vec(net, key) if name in VECTORS else sysctl_int(net, key)
        assert getattr(net.ipv4.sysctl, name) == want, name


def test_numbers_follow_every_write_in_their_namespace_only() -> None:
    k = Kernel()
    a, b = k.netns_add("a"), k.netns_add("b")
    assert a.ipv4.sysctl is IPV4_SYSCTL_DEFAULTS  # nothing written: shared
    sysctl_set(a, "net.ipv4.tcp_min_snd_mss", "500")
    sysctl_set(a, "net.ipv4.tcp_rmem", "8192 65536 1048576")
    sysctl_set(a, "net.ipv4.ip_local_port_range", "40000")  # a vector's head only
    sysctl_set(a, "net.ipv4.tcp_sack", "0")
    _agree(a)
    _agree(b)
    assert a.ipv4.sysctl.tcp_min_snd_mss == 500
    assert a.ipv4.sysctl.ip_local_port_range == (40000, 60999)
    assert b.ipv4.sysctl is IPV4_SYSCTL_DEFAULTS
    with pytest.raises(KernelError):  # refused: the numbers stay
        sysctl_set(a, "net.ipv4.tcp_min_snd_mss", "x")
    assert a.ipv4.sysctl.tcp_min_snd_mss == 500


def _connect(k: Kernel, ls: TcpSock) -> tuple[TcpSock, TcpSock]:
    c = TcpSock(k.netns_get("a"))
    with pytest.raises(KernelError):
        c.connect((ip("10.0.0.2"), PORT))  # non-blocking: in progress
    k.sched.run_for(1_000_000)
    c.connect((ip("10.0.0.2"), PORT))
    child = ls.accept()
    assert isinstance(child, TcpSock)
    return c, child


def test_a_write_between_two_connections_reaches_the_second() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    a, b = k.netns_get("a"), k.netns_get("b")
    ls = TcpSock(b)
    ls.bind((0, PORT))
    ls.listen(4)
    c1, s1 = _connect(k, ls)
    assert c1.ts_ok and s1.ts_ok and c1.sack_ok and s1.sack_ok
    assert c1.rcvbuf == 131072
    sysctl_set(a, "net.ipv4.tcp_timestamps", "0")  # the client offers none now
    sysctl_set(b, "net.ipv4.tcp_sack", "0")  # the listener takes none now
    sysctl_set(a, "net.ipv4.tcp_rmem", "4096 65536 6291456")
    sysctl_set(a, "net.ipv4.ip_default_ttl", "33")
    c2, s2 = _connect(k, ls)
    assert not c2.ts_ok and not s2.ts_ok
    assert not c2.sack_ok and not s2.sack_ok
    assert c2.rcvbuf == 65536
    assert c2.getsockopt(0, 2) == 33  # IP_TTL follows ip_default_ttl
