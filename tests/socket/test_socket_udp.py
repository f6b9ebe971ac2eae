"""UDP as Linux does it, through usernet.socket: delivery rules, reuseport,
broadcast, ICMP errors, receive buffers and counters.  Figures marked
"6.18" were measured on the real kernel (veth between two namespaces)."""

from __future__ import annotations

import errno
import struct
from collections.abc import Iterator

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.ipv4.datapath_state import ipv4_dp
from usernet.testing import VETH_PAIR
from usernet.transport.udp import udp_ehashfn, udp_table
from usernet.wait import sleep


@pytest.fixture
def k() -> Iterator[Kernel]:
    kernel = Kernel()
    kernel.script(VETH_PAIR + "ip -n a link set lo up\nip -n b link set lo up\n")
    yield kernel


def udp(k: Kernel, ns: str, bind: tuple[str, int] | None = None, *, reuseaddr: bool = False,
        reuseport: bool = False) -> us.socket:
    with k.netns(ns):
        s = us.socket(us.AF_INET, us.SOCK_DGRAM)
    if reuseaddr:
        s.setsockopt(us.SOL_SOCKET, us.SO_REUSEADDR, 1)
    if reuseport:
        s.setsockopt(us.SOL_SOCKET, us.SO_REUSEPORT, 1)
    if bind is not None:
        s.bind(bind)
    s.setblocking(False)
    return s


def drain(s: us.socket) -> list[bytes]:
    out = []
    while True:
        try:
            out.append(s.recv(65536))
        except BlockingIOError:
            return out


def mib(k: Kernel, ns: str) -> dict[str, int]:
    return ipv4_dp(k.netns_get(ns)).mib


def test_bind_rules_and_who_receives(k: Kernel) -> None:
    a = udp(k, "b", ("0.0.0.0", 7000), reuseaddr=True)
    b = udp(k, "b", ("0.0.0.0", 7000), reuseaddr=True)  # both SO_REUSEADDR: allowed
    with pytest.raises(OSError) as info:
        udp(k, "b", ("10.0.0.2", 7000))  # without it: in use, even for a specific address
    assert info.value.errno == errno.EADDRINUSE
    tx = udp(k, "a")
    tx.sendto(b"1", ("10.0.0.2", 7000))
    sleep(k, 0.01)
    assert (drain(a), drain(b)) == ([], [b"1"])  # the socket bound last wins a tie (6.18)
    c = udp(k, "b", ("10.0.0.2", 7000), reuseaddr=True)
    tx.sendto(b"2", ("10.0.0.2", 7000))
    sleep(k, 0.01)
    assert (drain(a), drain(b), drain(c)) == ([], [], [b"2"])  # the exact address first
    for s in (a, b, c, tx):
        s.close()
    assert (k.netns_get("b"), 7000) not in udp_table


def test_connected_socket_gets_only_its_peer(k: Kernel) -> None:
    wild = udp(k, "b", ("0.0.0.0", 7001), reuseaddr=True)
    conn = udp(k, "b", ("0.0.0.0", 7001), reuseaddr=True)
    peer = udp(k, "a", ("10.0.0.1", 6000))
    conn.connect(("10.0.0.1", 6000))
    other = udp(k, "a", ("10.0.0.1", 6001))
    peer.sendto(b"from-peer", ("10.0.0.2", 7001))
    other.sendto(b"from-other", ("10.0.0.2", 7001))
    sleep(k, 0.01)
    assert drain(conn) == [b"from-peer"] and drain(wild) == [b"from-other"]
    assert conn.getsockname() == ("10.0.0.2", 7001)  # connect fixed the local address
    for s in (wild, conn, peer, other):
        s.close()


def test_reuseport_spreads_flows_by_hash_deterministically(k: Kernel) -> None:
    group = [udp(k, "b", ("10.0.0.2", 7100), reuseport=True) for _ in range(4)]
    with pytest.raises(OSError):
        udp(k, "b", ("10.0.0.2", 7100))  # a socket without SO_REUSEPORT may not join
    senders = [udp(k, "a", ("10.0.0.1", 20000 + i)) for i in range(40)]
    for s in senders:
        s.sendto(b"x", ("10.0.0.2", 7100))
        s.sendto(b"y", ("10.0.0.2", 7100))  # the same flow lands on the same member
    sleep(k, 0.01)
    got = [drain(g) for g in group]
    counts = [len(g) // 2 for g in got]
    assert all(g == [b"x", b"y"] * (len(g) // 2) for g in got)
    want = [0, 0, 0, 0]
    for i in range(40):
        want[(udp_ehashfn(0x0A000002, 7100, 0x0A000001, 20000 + i) * 4) >> 32] += 1
    assert counts == want and sum(counts) == 40 and all(counts)
    assert udp_ehashfn(1, 2, 3, 4) == 3743661760  # include/linux/jhash.h, compiled with gcc
    for s in group + senders:
        s.close()


def test_broadcast_reaches_every_matching_socket(k: Kernel) -> None:
    wild = udp(k, "b", ("0.0.0.0", 6666), reuseaddr=True)
    uni = udp(k, "b", ("10.0.0.2", 6666), reuseaddr=True)
    bcast = udp(k, "b", ("10.0.0.255", 6666), reuseaddr=True)
    conn = udp(k, "b", ("0.0.0.0", 6666), reuseaddr=True)
    conn.connect(("10.0.0.9", 1))
    tx = udp(k, "a")
    with pytest.raises(PermissionError):
        tx.sendto(b"no", ("10.0.0.255", 6666))  # EACCES without SO_BROADCAST
    tx.setsockopt(us.SOL_SOCKET, us.SO_BROADCAST, 1)
    tx.sendto(b"dir", ("10.0.0.255", 6666))
    tx.sendto(b"uni", ("10.0.0.2", 6666))
    before = dict(mib(k, "b"))
    tx.sendto(b"nobody", ("10.0.0.255", 6667))
    sleep(k, 0.01)
    # as 6.18 delivers it: wildcard and broadcast-bound sockets get a copy
    assert [drain(s) for s in (wild, uni, bcast, conn)] == [[b"dir"], [b"uni"], [b"dir"], []]
    after = mib(k, "b")
    assert after["UdpIgnoredMulti"] - before["UdpIgnoredMulti"] == 1
    assert after["UdpNoPorts"] == before["UdpNoPorts"]  # and no ICMP error
    for s in (wild, uni, bcast, conn, tx):
        s.close()


def test_port_unreachable_refuses_a_connected_socket_once(k: Kernel) -> None:
    c = udp(k, "a")
    c.connect(("10.0.0.2", 9))
    c.send(b"ping")
    sleep(k, 0.01)
    with pytest.raises(ConnectionRefusedError) as info:
        c.recv(10)
    assert info.value.args == (errno.ECONNREFUSED, "Connection refused")
    with pytest.raises(BlockingIOError):
        c.recv(10)  # reported once
    c.send(b"ping")
    sleep(k, 0.01)
    with pytest.raises(ConnectionRefusedError):
        c.send(b"ping")  # the next call, whichever it is
    assert c.send(b"ping") == 4
    sleep(k, 0.01)
    assert mib(k, "b")["UdpNoPorts"] == 3
    u = udp(k, "a")  # unconnected: the error is not reported ...
    u.sendto(b"ping", ("10.0.0.2", 9))
    sleep(k, 0.01)
    with pytest.raises(BlockingIOError):
        u.recv(10)
    assert u.getsockopt(us.SOL_SOCKET, us.SO_ERROR) == 0
    c.close()
    u.close()


def test_ip_recverr_queues_the_icmp_report(k: Kernel) -> None:
    u = udp(k, "a")
    u.setsockopt(us.IPPROTO_IP, 11, 1)  # IP_RECVERR: ... unless asked for
    u.sendto(b"payload", ("10.0.0.2", 9))
    sleep(k, 0.01)
    sel = us.select.select([], [], [u], 0)
    assert sel == ([], [], [])  # POLLERR, not POLLPRI
    assert us.select.select([u], [], [], 0)[0] == [u]
    with pytest.raises(ConnectionRefusedError):
        u.recv(10)
    data, anc, flags, addr = u.recvmsg(100, 1024, us.MSG_ERRQUEUE)
    assert (data, addr, flags) == (b"payload", ("10.0.0.2", 9), us.MSG_ERRQUEUE)
    [(level, kind, blob)] = anc
    assert (level, kind) == (us.IPPROTO_IP, 11)
    ee_errno, origin, icmp_type, code = struct.unpack_from("=IBBB", blob)
    assert (ee_errno, origin, icmp_type, code) == (errno.ECONNREFUSED, 2, 3, 3)
    assert blob[-12:-8] == bytes([10, 0, 0, 2])  # the offender
    with pytest.raises(BlockingIOError):
        u.recvmsg(100, 1024, us.MSG_ERRQUEUE)
    u.close()


@pytest.mark.parametrize(("size", "rcvbuf", "fits"), [
    (22, None, 256), (22, 1, 2), (22, 3000, 7),  # 6.18: 832 bytes each
    (1000, None, 92), (1000, 20000, 17),  # 2304 each
    (3000, None, 39),  # three fragments: 5440
])
def test_rcvbuf_drops_count_like_linux(k: Kernel, size: int, rcvbuf: int | None,
                                       fits: int) -> None:
    r = udp(k, "b", ("0.0.0.0", 5555))
    if rcvbuf is not None:
        r.setsockopt(us.SOL_SOCKET, us.SO_RCVBUF, rcvbuf)
    tx = udp(k, "a")
    tx.sendto(b"", ("10.0.0.2", 9))  # resolves ARP, so nothing waits in its queue
    sleep(k, 0.01)
    before = dict(mib(k, "b"))
    for _ in range(300):
        tx.sendto(b"x" * size, ("10.0.0.2", 5555))
    sleep(k, 0.1)
    assert len(drain(r)) == fits
    after = mib(k, "b")
    delta = {n: after[n] - before[n] for n in ("UdpInDatagrams", "UdpRcvbufErrors",
                                                "UdpInErrors")}
    assert delta == {"UdpInDatagrams": fits, "UdpRcvbufErrors": 300 - fits,
                     "UdpInErrors": 300 - fits}
    assert r.sock.drops == 300 - fits  # type: ignore[attr-defined]
    assert r.sock.rmem_alloc == 0  # type: ignore[attr-defined]
    assert mib(k, "a")["UdpOutDatagrams"] == 301
    r.close()
    tx.close()


def test_ephemeral_ports_follow_the_namespace_sysctl(k: Kernel) -> None:
    assert k.cmd("ip netns exec a sysctl -qw net.ipv4.ip_local_port_range='40000 40001'").ok
    socks = [udp(k, "a", ("", 0)) for _ in range(2)]
    assert sorted(s.getsockname()[1] for s in socks) == [40000, 40001]
    late = udp(k, "a")
    with pytest.raises(OSError) as info:
        late.bind(("", 0))
    assert info.value.errno == errno.EADDRINUSE
    late.setblocking(True)
    with pytest.raises(BlockingIOError):
        late.sendto(b"x", ("10.0.0.2", 9))  # autobind: EAGAIN, even on a blocking socket
    other = udp(k, "b", ("", 0))
    assert 32768 <= other.getsockname()[1] <= 60999  # b keeps the default range
    for s in [*socks, late, other]:
        s.close()


def test_send_errors_and_sizes(k: Kernel) -> None:
    u = udp(k, "a")
    with pytest.raises(OSError) as info:
        u.sendto(b"x", ("192.0.2.1", 9))
    assert info.value.errno == errno.ENETUNREACH
    assert mib(k, "a")["OutNoRoutes"] == 1
    with pytest.raises(OSError) as info:
        u.sendto(b"x" * 65508, ("10.0.0.2", 9))
    assert info.value.errno == errno.EMSGSIZE
    r = udp(k, "b", ("", 5000))
    u.sendto(b"y" * 65507, ("10.0.0.2", 5000))  # 45 fragments, reassembled
    u.setsockopt(us.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO
    with pytest.raises(OSError) as info:
        u.sendto(b"z" * 1473, ("10.0.0.2", 5000))
    assert info.value.errno == errno.EMSGSIZE
    sleep(k, 0.01)
    assert drain(r) == [b"y" * 65507]
    u.close()
    r.close()


def test_shutdown_wakes_a_blocked_reader(k: Kernel) -> None:
    def reader() -> list[object]:
        with k.netns("a"):
            s = us.socket(us.AF_INET, us.SOCK_DGRAM)
        s.bind(("", 5000))
        readers.append(s)
        data = s.recv(10)  # blocks until the shutdown below
        s.setblocking(False)
        try:
            s.recv(10)
        except BlockingIOError as exc:
            return [data, exc.errno, k.sched.now]
        return [data]

    readers: list[us.socket] = []
    p = k.spawn(reader)
    k.run(1.0)
    with pytest.raises(OSError) as info:
        readers[0].shutdown(us.SHUT_RD)  # unconnected: ENOTCONN, but it wakes the reader
    assert info.value.errno == errno.ENOTCONN
    assert p.result() == [b"", errno.EAGAIN, 1_000_000_000]
    readers[0].close()


def test_blocking_echo_between_processes(k: Kernel) -> None:
    def server() -> None:
        s = us.socket(us.AF_INET, us.SOCK_DGRAM)
        s.bind(("", 7))
        for _ in range(3):
            data, addr = s.recvfrom(100)
            s.sendto(data.upper(), addr)
        s.close()

    def client() -> list[tuple[bytes, int]]:
        s = us.socket(us.AF_INET, us.SOCK_DGRAM)
        s.settimeout(1)
        out = []
        for i in range(3):
            s.sendto(b"ping%d" % i, ("10.0.0.2", 7))
            out.append((s.recv(100), k.sched.now))
            sleep(k, 1)
        s.close()
        return out

    k.spawn(server, netns="b")
    c = k.spawn(client, netns="a")
    k.run()
    # ARP, then request and reply (10 us a link); later exchanges skip ARP
    assert c.result() == [(b"PING0", 40_000), (b"PING1", 1_000_060_000),
                          (b"PING2", 2_000_080_000)]
