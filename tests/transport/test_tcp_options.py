"""Socket options and sysctls: keepalive, congestion control, the TCP
options a SYN carries, TCP_INFO; determinism and a quiet kernel at the end."""

from __future__ import annotations

import errno
import socket as _s
import struct

import pytest
from tcp_helpers import Blocking, Dropper, ip, parse_tcp

from usernet import Kernel
from usernet.errors import KernelError
from usernet.testing import VETH_PAIR
from usernet.transport.tcp import TcpSock
from usernet.transport.tcp_table import tcp_net
from usernet.wait import sleep
from usernet.wire.tcp import ACK, SYN

PORT = 7300


def _pair(k: Kernel) -> tuple[TcpSock, TcpSock]:
    ls = TcpSock(k.netns_get("b"))
    ls.bind((0, PORT))
    ls.listen(4)
    c = TcpSock(k.netns_get("a"))
    with pytest.raises(KernelError):
        c.connect((ip("10.0.0.2"), PORT))
    k.sched.run_for(1_000_000)
    a = ls.accept()
    ls.close()
    return c, a  # type: ignore[return-value]


def test_defaults() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    sk = TcpSock(k.netns_get("a"))
    g = sk.getsockopt
    assert g(_s.SOL_SOCKET, _s.SO_TYPE) == _s.SOCK_STREAM
    assert g(_s.SOL_SOCKET, _s.SO_RCVBUF) == 131072
    assert g(_s.SOL_SOCKET, _s.SO_SNDBUF) == 16384
    assert g(_s.SOL_SOCKET, _s.SO_KEEPALIVE) == 0
    assert g(_s.IPPROTO_TCP, _s.TCP_NODELAY) == 0
    assert g(_s.IPPROTO_TCP, _s.TCP_MAXSEG) == 536
    assert g(_s.IPPROTO_TCP, _s.TCP_KEEPIDLE) == 7200
    assert g(_s.IPPROTO_TCP, _s.TCP_KEEPINTVL) == 75
    assert g(_s.IPPROTO_TCP, _s.TCP_KEEPCNT) == 9
    assert g(_s.IPPROTO_TCP, _s.TCP_SYNCNT) == 6
    assert g(_s.IPPROTO_TCP, _s.TCP_CONGESTION).rstrip(b"\0") == b"cubic"
    assert g(_s.IPPROTO_TCP, _s.TCP_QUICKACK) == 1


def test_congestion_control_by_sysctl_and_by_socket() -> None:
    k = Kernel()
    k.script(VETH_PAIR + "ip netns exec a sysctl -w net.ipv4.tcp_congestion_control=reno\n")
    a = TcpSock(k.netns_get("a"))
    b = TcpSock(k.netns_get("b"))
    assert a.ca.name == "reno" and b.ca.name == "cubic"
    b.setsockopt(_s.IPPROTO_TCP, _s.TCP_CONGESTION, b"reno")
    assert b.getsockopt(_s.IPPROTO_TCP, _s.TCP_CONGESTION).rstrip(b"\0") == b"reno"
    with pytest.raises(KernelError) as ei:
        b.setsockopt(_s.IPPROTO_TCP, _s.TCP_CONGESTION, b"vegas")
    assert ei.value.errno == errno.ENOENT
    res = k.cmd("ip netns exec a sysctl -w net.ipv4.tcp_congestion_control=vegas")
    assert res.rc != 0


def test_cubic_and_reno_grow_cwnd_differently() -> None:
    """After a loss both cut cwnd (Reno by half, CUBIC to 0.7) and grow again."""
    from usernet.transport.tcp_cong import Cubic, Reno

    k = Kernel()
    k.script(VETH_PAIR)
    sk = TcpSock(k.netns_get("a"))
    for ca, ssth in ((Reno(), 50), (Cubic(), 70)):
        sk.ca = ca
        sk.snd_cwnd = 100
        ca.init(sk)
        assert ca.ssthresh(sk) == ssth


def test_keepalive_probes_and_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """SO_KEEPALIVE with TCP_KEEPIDLE 10, TCP_KEEPINTVL 2, TCP_KEEPCNT 3: a
    probe (seq snd_una - 1, no data) after 10 s of silence; answered, they
    repeat every 10 s; unanswered, the connection dies at 10 + 3*2 s."""
    k = Kernel()
    k.script(VETH_PAIR)
    c, _a = _pair(k)
    c.setsockopt(_s.SOL_SOCKET, _s.SO_KEEPALIVE, 1)
    c.setsockopt(_s.IPPROTO_TCP, _s.TCP_KEEPIDLE, 10)
    c.setsockopt(_s.IPPROTO_TCP, _s.TCP_KEEPINTVL, 2)
    c.setsockopt(_s.IPPROTO_TCP, _s.TCP_KEEPCNT, 3)
    cap = k.capture("a", "v0")
    t0 = k.sched.now
    k.sched.run_for(25_000_000_000)
    probes = [(t, s) for t, f in cap.packets if (s := parse_tcp(f)) and s["src"] == "10.0.0.1"]
    assert len(probes) == 2
    assert all(s["seq"] == (c.snd_una - 1) & 0xFFFFFFFF and not s["len"] for _, s in probes)
    assert (probes[0][0] - t0) // 1_000_000_000 == 10
    assert c.state == 1
    drop = Dropper(monkeypatch)
    drop.pred = lambda dev, f: dev.name == "v1"  # the peer's answers are lost
    start = k.sched.now
    k.sched.run_for(30_000_000_000)
    assert c.state == 7 and c.sock_error() == errno.ETIMEDOUT
    assert (k.sched.now - start) // 1_000_000_000 >= 10
    assert tcp_net(k.netns_get("a")).mib["TCPKeepAlive"] >= 5


def test_sysctls_turn_syn_options_off() -> None:
    k = Kernel()
    k.script(VETH_PAIR + "ip netns exec a sysctl -w net.ipv4.tcp_timestamps=0\n"
             "ip netns exec a sysctl -w net.ipv4.tcp_sack=0\n"
             "ip netns exec a sysctl -w net.ipv4.tcp_window_scaling=0\n")
    cap = k.capture("a", "v0")
    c, a = _pair(k)
    syn = next(s for _, f in cap.packets if (s := parse_tcp(f)) and s["flags"] == SYN)
    o = syn["opts"]
    assert o.mss == 1460 and not o.sack_ok and not o.saw_ts and o.wscale == -1
    assert not (c.ts_ok or c.sack_ok or c.wscale_ok) and a.tcp_header_len == 20
    assert c.mss_cache == a.mss_cache == 1460
    c.sendmsg(b"x" * 5000, None, 0)
    k.sched.run_for(1_000_000)
    assert a.recvmsg(10000, 0)[0] == b"x" * 5000


def test_tcp_maxseg_clamps_the_mss() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    cap = k.capture("a", "v0")
    ls = TcpSock(k.netns_get("b"))
    ls.bind((0, PORT))
    ls.listen(1)
    c = TcpSock(k.netns_get("a"))
    c.setsockopt(_s.IPPROTO_TCP, _s.TCP_MAXSEG, 1000)
    with pytest.raises(KernelError):
        c.connect((ip("10.0.0.2"), PORT))
    k.sched.run_for(1_000_000)
    syn = next(s for _, f in cap.packets if (s := parse_tcp(f)) and s["flags"] == SYN)
    assert syn["opts"].mss == 1000
    assert c.mss_cache <= 1000
    with pytest.raises(KernelError) as ei:
        c.setsockopt(_s.IPPROTO_TCP, _s.TCP_MAXSEG, 10)
    assert ei.value.errno == errno.EINVAL


def test_so_rcvbuf_bounds_the_window() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    cap = k.capture("b", "v1")
    ls = TcpSock(k.netns_get("b"))
    ls.setsockopt(_s.SOL_SOCKET, _s.SO_RCVBUF, 4096)
    assert ls.getsockopt(_s.SOL_SOCKET, _s.SO_RCVBUF) == 8192
    ls.bind((0, PORT))
    ls.listen(1)
    c = TcpSock(k.netns_get("a"))
    with pytest.raises(KernelError):
        c.connect((ip("10.0.0.2"), PORT))
    k.sched.run_for(1_000_000)
    synack = next(s for _, f in cap.packets if (s := parse_tcp(f)) and s["flags"] == SYN | ACK)
    assert synack["win"] <= 4096


def test_tcp_info() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    c, _a = _pair(k)
    info = c.getsockopt(_s.IPPROTO_TCP, _s.TCP_INFO)
    state, ca_state, retrans, _probes, _backoff, options, wscale = struct.unpack_from("7B", info)
    assert state == 1 and ca_state == 0 and retrans == 0 and options & 7 == 7
    assert wscale == (10 | (10 << 4))
    rto, _ato, snd_mss, _rcv_mss = struct.unpack_from("4I", info, 8)
    assert rto == 204_000 and snd_mss == 1448


def test_same_seed_same_run() -> None:
    """Two runs with the same seed: identical ISNs, ports, timestamps and
    events; another seed changes them."""
    def run(seed: int) -> tuple[list[tuple[int, str]], list[bytes]]:
        k = Kernel(seed)
        k.script(VETH_PAIR)
        k.sched.trace = []
        cap = k.capture("a", "v0")

        def server() -> None:
            ls = Blocking(k)
            ls.bind("0.0.0.0", PORT)
            ls.listen(1)
            c = ls.accept()
            c.sendall(c.recv_exact(200_000))
            c.close()

        def client() -> None:
            c = Blocking(k)
            c.connect("10.0.0.2", PORT)
            c.sendall(b"d" * 200_000)
            c.recv_exact(200_000)
            c.close()

        k.spawn(server, netns="b")
        k.spawn(client, netns="a")
        k.run()
        k.sched.run_until()
        return k.sched.trace, [f for _, f in cap.packets]

    one, two, other = run(7), run(7), run(8)
    assert one == two
    assert one[1] != other[1]


def test_an_idle_kernel_ends_with_nothing_pending() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    c, a = _pair(k)
    c.sendmsg(b"x", None, 0)
    k.sched.run_for(1_000_000)
    c.close()
    a.close()
    k.sched.run_until()  # TIME_WAIT, neighbour timers ... all run out
    assert k.sched.next_time() is None


def test_sockets_hold_their_namespace_and_time_wait_does_not() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    net_a = k.netns_get("a")
    refs = net_a.refcnt
    c, a = _pair(k)
    assert net_a.refcnt == refs + 1
    c.close()
    a.close()
    k.sched.run_for(100_000_000)
    assert net_a.refcnt == refs  # only a timewait socket is left, holding nothing
    assert tcp_net(net_a).tw_count == 1
    k.cmd("ip netns del a")
    k.sched.run_until()
    assert not tcp_net(k.netns_get("b")).tw_count


def test_wait_for_blocking_recv_woken_by_rst() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    out: dict[str, int] = {}

    def server() -> None:
        ls = Blocking(k)
        ls.bind("0.0.0.0", PORT)
        ls.listen(1)
        c = ls.accept()
        sleep(k, 0.5)
        c.setsockopt(_s.SOL_SOCKET, _s.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()

    def client() -> None:
        c = Blocking(k)
        c.connect("10.0.0.2", PORT)
        try:
            c.recv(10)
        except KernelError as exc:
            out["err"] = exc.errno or 0
            out["t"] = k.sched.now

    k.spawn(server, netns="b")
    k.spawn(client, netns="a")
    k.run()
    assert out["err"] == errno.ECONNRESET and 500_000_000 < out["t"] < 501_000_000
