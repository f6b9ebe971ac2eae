"""Connection setup as Linux does it: options, windows, retransmitted SYNs,
refusals, simultaneous open, backlogs and SYN cookies."""

from __future__ import annotations

import errno
import socket as _s

import pytest
from tcp_helpers import Blocking, Dropper, inject, ip, parse_tcp, tcp_frame

from usernet import Kernel
from usernet.errors import KernelError
from usernet.testing import VETH_PAIR
from usernet.transport.tcp import TcpSock
from usernet.transport.tcp_table import tcp_net
from usernet.wait import sleep
from usernet.wire.tcp import ACK, FIN, RST, SYN

PORT = 7000


def _listener(k: Kernel, port: int = PORT, backlog: int = 128) -> TcpSock:
    with k.netns("b"):
        ls = Blocking(k)
    ls.bind("0.0.0.0", port)
    ls.listen(backlog)
    return ls.sk


def _segments(cap: object) -> list[dict[str, object]]:
    out = []
    for ts, frame in cap.packets:  # type: ignore[attr-defined]
        seg = parse_tcp(frame)
        if seg is not None:
            seg["t"] = ts
            out.append(seg)
    return out


def test_syn_options_windows_and_ids_as_linux() -> None:
    """Recorded on Linux 6.18 over a veth: SYN win 64240 with mss 1460,
    sackOK, TS, nop, wscale 10; SYN-ACK win 65160 (45 * 1448), IP ID 0; the
    first ACK announces 63 << 10."""
    k = Kernel()
    k.script(VETH_PAIR)
    cap = k.capture("b", "v1")
    _listener(k)

    def client() -> None:
        c = Blocking(k)
        c.connect("10.0.0.2", PORT)

    k.spawn(client, netns="a")
    k.run()
    k.sched.run_for(1_000_000)
    segs = _segments(cap)
    syn, synack, ack = segs[:3]
    assert syn["flags"] == SYN and syn["win"] == 64240
    o = syn["opts"]
    assert (o.mss, o.sack_ok, o.saw_ts, o.tsecr, o.wscale) == (1460, True, True, 0, 10)
    raw = next(f for _, f in cap.packets if parse_tcp(f))
    assert raw[34 + 20:34 + 40].hex().startswith("020405b4" "0402" "080a")  # mss, sackOK, TS
    assert raw[34 + 36:34 + 40] == b"\x01\x03\x03\x0a"  # nop, wscale 10
    assert synack["flags"] == SYN | ACK and synack["win"] == 65160 and synack["ipid"] == 0
    assert synack["opts"].mss == 1460 and synack["opts"].tsecr == o.tsval
    assert synack["ack"] == (syn["seq"] + 1) & 0xFFFFFFFF
    assert ack["flags"] == ACK and ack["win"] == 63
    assert ack["ack"] == (synack["seq"] + 1) & 0xFFFFFFFF
    assert [s["t"] for s in segs[:3]] == [30_000, 30_000, 50_000]


def test_connect_refused_by_rst() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    cap = k.capture("b", "v1")

    def client() -> int:
        c = Blocking(k)
        try:
            c.connect("10.0.0.2", 9)
        except KernelError as exc:
            return exc.errno or 0
        return 0

    p = k.spawn(client, netns="a")
    k.run()
    k.sched.run_for(1_000_000)
    assert p.result() == errno.ECONNREFUSED
    syn, rst = _segments(cap)
    assert rst["flags"] == RST | ACK and rst["seq"] == 0 and rst["win"] == 0
    assert rst["ack"] == (syn["seq"] + 1) & 0xFFFFFFFF
    assert tcp_net(k.netns_get("b")).mib["OutRsts"] == 1
    assert tcp_net(k.netns_get("a")).mib["AttemptFails"] == 1


def test_syn_retransmissions_linear_then_exponential(monkeypatch: pytest.MonkeyPatch) -> None:
    """tcp_syn_retries 6 + tcp_syn_linear_timeouts 4: SYNs at 0, 1, 2, 3, 4,
    5, 7, 11, 19, 35, 67 s (measured on 6.18: 1, 1, 1, 1, 1, 2, 4 s apart),
    then ETIMEDOUT at 131 s."""
    k = Kernel()
    k.script(VETH_PAIR)
    drop = Dropper(monkeypatch)
    drop.pred = lambda dev, f: dev.name == "v0" and (parse_tcp(f) or {}).get("flags") == SYN
    start = {}

    def client() -> int:
        c = Blocking(k)
        start["t"] = k.sched.now
        try:
            c.connect("10.0.0.2", PORT)
        except KernelError as exc:
            start["end"] = k.sched.now
            return exc.errno or 0
        return 0

    p = k.spawn(client, netns="a")
    k.run()
    assert p.result() == errno.ETIMEDOUT
    times = [(parse_tcp(f) or {}).get("seq") for f in drop.dropped]
    assert len(times) == 11 and len(set(times)) == 1
    assert (start["end"] - start["t"]) // 1_000_000_000 == 131


def test_tcp_syncnt_limits_syn_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    drop = Dropper(monkeypatch)
    drop.pred = lambda dev, f: dev.name == "v0" and (parse_tcp(f) or {}).get("flags") == SYN

    def client() -> tuple[int, int]:
        c = Blocking(k)
        c.setsockopt(_s.IPPROTO_TCP, _s.TCP_SYNCNT, 2)
        assert c.getsockopt(_s.IPPROTO_TCP, _s.TCP_SYNCNT) == 2
        t0 = k.sched.now
        try:
            c.connect("10.0.0.2", PORT)
        except KernelError as exc:
            return exc.errno or 0, (k.sched.now - t0) // 1_000_000_000
        return 0, 0

    p = k.spawn(client, netns="a")
    k.run()
    # 2 retries + 4 linear timeouts: SYNs at 0, 1, 2, 3, 4, 5, 7 s; the
    # sixth retransmission's 4 s RTO ends it at 11 s
    assert p.result() == (errno.ETIMEDOUT, 11)
    assert len([f for f in drop.dropped if (parse_tcp(f) or {}).get("flags") == SYN]) == 7


def test_simultaneous_open() -> None:
    """Crossed SYNs: both sides go SYN_SENT -> SYN_RECV -> ESTABLISHED
    (RFC 9293 3.5, figure 7) and can talk."""
    k = Kernel()
    k.script(VETH_PAIR)
    a_sk = TcpSock(k.netns_get("a"))
    b_sk = TcpSock(k.netns_get("b"))
    a_sk.bind((ip("10.0.0.1"), 5000))
    b_sk.bind((ip("10.0.0.2"), 6000))
    for sk, dst in ((a_sk, ("10.0.0.2", 6000)), (b_sk, ("10.0.0.1", 5000))):
        with pytest.raises(KernelError) as ei:
            sk.connect((ip(dst[0]), dst[1]))
        assert ei.value.errno == errno.EINPROGRESS
    k.sched.run_for(1_000_000)
    assert a_sk.state == b_sk.state == 1  # ESTABLISHED
    a_sk.connect((ip("10.0.0.2"), 6000))  # completes the connect: no error
    a_sk.sendmsg(b"crossed", None, 0)
    k.sched.run_for(1_000_000)
    assert b_sk.recvmsg(100, 0)[0] == b"crossed"


def test_connect_to_itself() -> None:
    """A socket bound to a port and connected to that same address talks to
    itself (a simultaneous open with its own SYN)."""
    k = Kernel()
    k.script(VETH_PAIR + "ip -n a link set lo up\n")
    sk = TcpSock(k.netns_get("a"))
    sk.bind((ip("10.0.0.1"), 5555))
    with pytest.raises(KernelError):
        sk.connect((ip("10.0.0.1"), 5555))
    k.sched.run_for(1_000_000)
    assert sk.state == 1
    sk.sendmsg(b"echo", None, 0)
    k.sched.run_for(1_000_000)
    assert sk.recvmsg(100, 0)[0] == b"echo"


def test_backlog_is_clamped_to_somaxconn_per_namespace() -> None:
    k = Kernel()
    k.script(VETH_PAIR + "ip netns exec b sysctl -w net.core.somaxconn=3\n")
    ls = _listener(k, backlog=1000)
    assert ls.max_ack_backlog == 3
    with k.netns("a"):
        other = TcpSock(k.current_net)
    other.bind((0, PORT))
    other.listen(5000)
    assert other.max_ack_backlog == 4096  # namespace a keeps the default


def test_full_accept_queue_drops_syns_until_accept() -> None:
    """listen(0): one connection fits (Linux's queue is full past the backlog);
    a SYN arriving while it is full is dropped (ListenOverflows) and the
    client gets in with its retransmitted SYN after an accept."""
    k = Kernel()
    k.script(VETH_PAIR)
    ls = _listener(k, backlog=0)
    done: dict[str, int] = {}

    def client(i: int, delay: float) -> None:
        sleep(k, delay)
        c = Blocking(k)
        c.connect("10.0.0.2", PORT)
        done[f"c{i}"] = k.sched.now

    k.spawn(client, 1, 0.0, netns="a")
    k.spawn(client, 2, 0.1, netns="a")
    k.run(until=0.5)
    assert "c1" in done and "c2" not in done
    mib = tcp_net(k.netns_get("b")).mib
    assert mib["ListenOverflows"] == 1 and mib["ListenDrops"] == 1
    assert len(ls.acceptq or ()) == 1
    ls.accept()
    k.run()
    assert done["c2"] // 1_000_000 == 1100  # its SYN again 1 s after the first


def test_syn_flood_gets_syn_cookies_and_a_real_client_still_connects() -> None:
    """With tcp_syncookies=1, once the SYN queue overflows the listener keeps
    no state: SYN-ACKs carry cookies, and a genuine ACK makes the connection."""
    k = Kernel()
    k.script(VETH_PAIR)
    ls = _listener(k, backlog=4)
    v1 = k.netns_get("b").dev_get_by_name("v1")
    assert v1 is not None
    # spoofed SYNs from addresses nobody answers for
    for i in range(20):
        inject(v1, tcp_frame(v1.dev_addr, f"10.0.0.{100 + i}", "10.0.0.2", 40000 + i, PORT,
                             1000 * i, 0, SYN))
    k.sched.run_for(1_000_000)
    mib = tcp_net(k.netns_get("b")).mib
    assert ls.syn_qlen == 5  # qlen may reach backlog + 1
    assert mib["SyncookiesSent"] == 15 and mib["TCPReqQFullDoCookies"] == 15

    def client() -> bytes:
        c = Blocking(k)
        c.connect("10.0.0.2", PORT)
        c.sendall(b"through the flood")
        return b""

    k.spawn(client, netns="a")

    def server() -> bytes:
        return ls_b.accept().recv(100)

    ls_b = Blocking(k, ls)
    srv = k.spawn(server, netns="b")
    k.run(until=5)
    assert srv.result() == b"through the flood"
    assert mib["SyncookiesRecv"] == 1
    acc = ls.acceptq
    assert acc is not None and not acc


def test_bad_cookie_ack_gets_a_reset() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    ls = _listener(k, backlog=0)
    v1 = k.netns_get("b").dev_get_by_name("v1")
    assert v1 is not None
    cap = k.capture("b", "v1")
    for i in range(3):  # overflow: cookies from the second SYN on
        inject(v1, tcp_frame(v1.dev_addr, "10.0.0.1", "10.0.0.2", 41000 + i, PORT, 5, 0, SYN))
    assert tcp_net(k.netns_get("b")).mib["SyncookiesSent"] == 2
    inject(v1, tcp_frame(v1.dev_addr, "10.0.0.1", "10.0.0.2", 41002, PORT, 6, 12345, ACK))
    k.sched.run_for(1_000_000)
    assert tcp_net(k.netns_get("b")).mib["SyncookiesFailed"] == 1
    rst = [s for s in _segments(cap) if s["flags"] & RST and s["src"] == "10.0.0.2"]
    assert len(rst) == 1 and rst[0]["seq"] == 12345
    assert ls.acceptq is not None and not ls.acceptq


@pytest.mark.parametrize("flags", [SYN | FIN, FIN, 0, RST, SYN | RST])
def test_odd_flags_to_a_listener_are_dropped(flags: int) -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    ls = _listener(k)
    v1 = k.netns_get("b").dev_get_by_name("v1")
    assert v1 is not None
    cap = k.capture("b", "v1")
    inject(v1, tcp_frame(v1.dev_addr, "10.0.0.1", "10.0.0.2", 1234, PORT, 1, 0, flags))
    k.sched.run_for(1_000_000)
    assert ls.syn_qlen == 0
    sent = [s for s in _segments(cap) if s["src"] == "10.0.0.2"]
    assert sent == []


def test_ack_to_a_listener_earns_a_reset() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    _listener(k)
    v1 = k.netns_get("b").dev_get_by_name("v1")
    assert v1 is not None
    cap = k.capture("b", "v1")
    inject(v1, tcp_frame(v1.dev_addr, "10.0.0.1", "10.0.0.2", 1234, PORT, 1, 777, ACK))
    k.sched.run_for(1_000_000)
    out = [s for s in _segments(cap) if s["src"] == "10.0.0.2"]
    assert len(out) == 1 and out[0]["flags"] == RST and out[0]["seq"] == 777


def test_synack_retransmitted_while_the_ack_is_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    """The request socket resends its SYN-ACK after 1 s; the client's ACK of
    the repeated SYN-ACK completes the handshake."""
    k = Kernel()
    k.script(VETH_PAIR)
    ls = _listener(k)
    drop = Dropper(monkeypatch)
    lost = []

    def pred(dev: object, f: bytes) -> bool:
        seg = parse_tcp(f)
        if seg and seg["src"] == "10.0.0.1" and seg["flags"] == ACK and not lost:
            lost.append(f)
            return True
        return False

    drop.pred = pred
    cap = k.capture("b", "v1")

    def client() -> None:
        Blocking(k).connect("10.0.0.2", PORT)

    k.spawn(client, netns="a")
    k.run()
    k.sched.run_for(3_000_000_000)
    synacks = [s for s in _segments(cap) if s["flags"] == SYN | ACK]
    assert len(synacks) == 2 and synacks[1]["t"] - synacks[0]["t"] == 1_000_000_000
    assert ls.acceptq is not None and len(ls.acceptq) == 1


def test_reuseport_listeners_share_connections() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    net_b = k.netns_get("b")
    listeners = []
    for _ in range(2):
        ls = TcpSock(net_b)
        ls.setsockopt(_s.SOL_SOCKET, _s.SO_REUSEPORT, 1)
        ls.bind((0, PORT))
        ls.listen(16)
        listeners.append(ls)
    with pytest.raises(KernelError) as ei:
        third = TcpSock(net_b)
        third.bind((0, PORT))
    assert ei.value.errno == errno.EADDRINUSE
    for _ in range(16):
        c = TcpSock(k.netns_get("a"))
        with pytest.raises(KernelError):
            c.connect((ip("10.0.0.2"), PORT))
    k.sched.run_for(1_000_000)
    counts = [len(ls.acceptq or ()) for ls in listeners]
    assert sum(counts) == 16 and all(counts)


def test_syncookies_always() -> None:
    """net.ipv4.tcp_syncookies=2: every SYN-ACK is a cookie, no SYN queue."""
    k = Kernel()
    k.script(VETH_PAIR + "ip netns exec b sysctl -w net.ipv4.tcp_syncookies=2\n")
    ls = _listener(k)

    def client() -> bytes:
        c = Blocking(k)
        c.connect("10.0.0.2", PORT)
        c.sendall(b"cookie")
        return b""

    k.spawn(client, netns="a")
    k.run()
    k.sched.run_for(1_000_000)
    mib = tcp_net(k.netns_get("b")).mib
    assert mib["SyncookiesSent"] == 1 and mib["SyncookiesRecv"] == 1 and ls.syn_qlen == 0
    child = ls.accept()
    assert child.recvmsg(10, 0)[0] == b"cookie"
    assert child.wscale_ok and child.sack_ok and child.ts_ok  # carried in the TSval
