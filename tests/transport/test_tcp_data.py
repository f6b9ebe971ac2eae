"""Data transfer: bulk over a router, GSO, loss and recovery, windows."""

from __future__ import annotations

import hashlib
import socket as _s
from itertools import pairwise

import pytest
from tcp_helpers import Blocking, Dropper, parse_tcp

from usernet import Kernel
from usernet.testing import ROUTER, VETH_PAIR
from usernet.transport import tcp_input
from usernet.transport.tcp import TcpSock
from usernet.transport.tcp_table import tcp_net
from usernet.wait import sleep
from usernet.wire.tcp import ACK, FIN, PSH

PORT = 7100


def _blob(n: int, seed: int = 1) -> bytes:
    out = bytearray()
    h = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h * 64
    return bytes(out[:n])


def _transfer(k: Kernel, src_ns: str, dst_ns: str, dst: str, data: bytes,
              setup: object = None, chunk: int = 1 << 18) -> tuple[bytes, TcpSock, TcpSock]:
    socks: dict[str, TcpSock] = {}

    def server() -> bytes:
        ls = Blocking(k)
        ls.bind("0.0.0.0", PORT)
        ls.listen(8)
        c = ls.accept()
        socks["server"] = c.sk
        got = c.recv_all()
        c.close()
        ls.close()
        return got

    def client() -> None:
        c = Blocking(k)
        socks["client"] = c.sk
        if setup is not None:
            setup(c)  # type: ignore[operator]
        c.connect(dst, PORT)
        view = memoryview(data)
        for i in range(0, len(data), chunk):
            c.sendall(view[i:i + chunk])
        c.close()

    srv = k.spawn(server, netns=dst_ns)
    k.spawn(client, netns=src_ns)
    k.run()
    return srv.result(), socks["client"], socks["server"]


def test_ten_megabytes_over_a_router_with_gso() -> None:
    k = Kernel()
    k.script(ROUTER)
    cap = k.capture("h2", "eth0")
    data = _blob(10 << 20)
    got, cli, _srv = _transfer(k, "h1", "h2", "10.2.0.2", data)
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    sizes = [s["len"] for s in (parse_tcp(f) for _, f in cap.packets) if s and s["len"]]
    assert max(sizes) == 45 * 1448  # 64 KiB super-segments, forwarded whole
    assert cli.total_retrans == 0
    mib = tcp_net(k.netns_get("h1")).mib
    assert mib["RetransSegs"] == 0


def test_router_to_a_device_without_gso_cuts_segments() -> None:
    """A super-segment leaving through a device without GSO (dummy-less NIC
    stand-in: a veth with gso turned off is not emulated, so the MTU of the
    next hop is lowered instead) is cut to MSS-sized packets; the path MTU
    shrinks the MSS of the next connection."""
    k = Kernel()
    k.script(ROUTER + "ip -n r link set r2 mtu 1400\nip -n h2 link set eth0 mtu 1400\n")
    data = _blob(1 << 20, 2)
    got, _cli, srv = _transfer(k, "h1", "h2", "10.2.0.2", data)
    assert got == data
    assert srv.mss_cache == 1400 - 52


def test_mss_follows_the_route_mtu() -> None:
    k = Kernel()
    k.script(VETH_PAIR + "ip -n a link set v0 mtu 1280\nip -n b link set v1 mtu 1280\n")
    cap = k.capture("b", "v1")
    got, cli, srv = _transfer(k, "a", "b", "10.0.0.2", b"x" * 100_000)
    assert got == b"x" * 100_000
    syn = parse_tcp(next(f for _, f in cap.packets if parse_tcp(f)))
    assert syn is not None and syn["opts"].mss == 1240
    assert cli.mss_cache == srv.mss_cache == 1228


def _drop_nth_data(monkeypatch: pytest.MonkeyPatch, which: set[int], dev_name: str = "v0",
                   ) -> Dropper:
    drop = Dropper(monkeypatch)
    count = [0]

    def pred(dev: object, f: bytes) -> bool:
        seg = parse_tcp(f)
        if getattr(dev, "name", "") != dev_name or not seg or not seg["len"]:
            return False
        count[0] += 1
        return count[0] in which

    drop.pred = pred
    return drop


@pytest.mark.parametrize("sack", [1, 0])
def test_a_lost_segment_is_recovered(monkeypatch: pytest.MonkeyPatch, sack: int) -> None:
    """One super-segment lost in the middle of a bulk transfer: SACK/RACK (or
    NewReno's duplicate ACKs) resend it; the data arrives intact."""
    k = Kernel()
    k.script(VETH_PAIR + f"ip netns exec a sysctl -w net.ipv4.tcp_sack={sack}\n")
    drop = _drop_nth_data(monkeypatch, {8})
    data = _blob(4 << 20, 3)
    got, cli, _srv = _transfer(k, "a", "b", "10.0.0.2", data)
    assert got == data
    assert drop.dropped
    assert cli.total_retrans >= 1
    mib = tcp_net(k.netns_get("a")).mib
    assert mib["RetransSegs"] >= 1
    assert cli.sack_ok == bool(sack)


def test_several_losses_in_one_window_with_sack(monkeypatch: pytest.MonkeyPatch) -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    # small segments so that one window holds many of them
    _drop_nth_data(monkeypatch, {30, 32, 35, 60})
    data = _blob(2 << 20, 4)
    tagged: list[object] = []
    sacktag = tcp_input.tcp_sacktag_write_queue

    def spy(sk: TcpSock, sacks: list[tuple[int, int]], prior_snd_una: int, ack: int,
            st: tcp_input.SackState) -> int:
        tagged.append(st)
        return sacktag(sk, sacks, prior_snd_una, ack, st)

    monkeypatch.setattr(tcp_input, "tcp_sacktag_write_queue", spy)

    def setup(c: Blocking) -> None:
        c.setsockopt(_s.IPPROTO_TCP, _s.TCP_MAXSEG, 1000)

    got, cli, _srv = _transfer(k, "a", "b", "10.0.0.2", data, setup=setup, chunk=4096)
    assert got == data
    assert cli.total_retrans >= 4
    mib = tcp_net(k.netns_get("a")).mib
    assert mib["TCPSackRecovery"] + mib["TCPLossProbes"] >= 1
    # ACKs without SACK blocks share one empty SackState: SACK tagging,
    # which this recovery ran, must have had states of its own
    assert tagged and all(st is not tcp_input._NO_SACKS for st in tagged)
    empty = tcp_input._NO_SACKS
    assert (empty.first_sackt, empty.last_sackt, empty.reord, empty.sack_delivered,
            empty.flag) == (0, 0, 0, 0, 0)


def test_rto_backoff_while_the_peer_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Data into a black hole: retransmissions back off exponentially from
    the RTO (>= 200 ms), and tcp_retries2 ends the connection with ETIMEDOUT."""
    k = Kernel()
    k.script(VETH_PAIR + "ip netns exec a sysctl -w net.ipv4.tcp_retries2=5\n")
    drop = Dropper(monkeypatch)
    errs: dict[str, object] = {}

    def server() -> None:
        ls = Blocking(k)
        ls.bind("0.0.0.0", PORT)
        ls.listen(1)
        ls.accept()
        sleep(k, 1000)

    def client() -> None:
        c = Blocking(k)
        c.connect("10.0.0.2", PORT)
        drop.pred = lambda dev, f: dev.name == "v0" and (parse_tcp(f) or {}).get("len")
        errs["t0"] = k.sched.now
        c.sendall(b"into the void")
        try:
            c.recv(10)
        except Exception as exc:
            errs["err"] = exc
            errs["t1"] = k.sched.now

    k.spawn(server, netns="b")
    cli = k.spawn(client, netns="a")
    k.run(until=2000)
    assert cli.done
    assert getattr(errs["err"], "errno", None) == 110
    times = drop.times
    gaps = [b - a for a, b in pairwise(times)]
    # a tail loss probe first (min(SRTT/4 + 200 ms, RTO)), then the RTO,
    # doubling each time (RFC 6298 5.5)
    assert gaps[0] == gaps[1] == 204_000_000
    assert all(g2 == 2 * g1 for g1, g2 in pairwise(gaps[1:]))
    # tcp_retries2 = 5 with a 200 ms base: (2^6 - 1) * 0.2 = 12.6 s
    assert 12 <= (errs["t1"] - errs["t0"]) / 1e9 <= 26  # type: ignore[operator]


def test_zero_window_probes_then_resume() -> None:
    """A reader that stops reading: the window closes, the sender probes it
    with backoff, and the transfer resumes when the reader drains it."""
    k = Kernel()
    k.script(VETH_PAIR)
    cap = k.capture("a", "v0")
    data = _blob(3 << 20, 5)
    result: dict[str, object] = {}

    def server() -> None:
        ls = Blocking(k)
        ls.setsockopt(_s.SOL_SOCKET, _s.SO_RCVBUF, 65536)
        ls.bind("0.0.0.0", PORT)
        ls.listen(1)
        c = ls.accept()
        sleep(k, 5)  # not reading: the window closes
        result["data"] = c.recv_all()

    def client() -> None:
        c = Blocking(k)
        c.connect("10.0.0.2", PORT)
        c.sendall(data)
        c.close()

    k.spawn(server, netns="b")
    k.spawn(client, netns="a")
    k.run()
    assert result["data"] == data
    segs = [(t, parse_tcp(f)) for t, f in cap.packets]
    zero = [t for t, s in segs if s and s["src"] == "10.0.0.2" and s["win"] == 0]
    assert zero, "the receiver announced a zero window"
    assert tcp_net(k.netns_get("a")).mib["TCPWinProbe"] >= 2


def test_nagle_and_nodelay() -> None:
    """Small writes while data is unacknowledged wait (Nagle); TCP_NODELAY
    sends each at once."""
    def run(nodelay: bool) -> int:
        k = Kernel()
        k.script(VETH_PAIR)
        cap = k.capture("a", "v0")

        def server() -> None:
            ls = Blocking(k)
            ls.bind("0.0.0.0", PORT)
            ls.listen(1)
            c = ls.accept()
            c.recv_exact(10)

        def client() -> None:
            c = Blocking(k)
            if nodelay:
                c.setsockopt(_s.IPPROTO_TCP, _s.TCP_NODELAY, 1)
            c.connect("10.0.0.2", PORT)
            for _ in range(10):
                c.send(b"x")

        k.spawn(server, netns="b")
        k.spawn(client, netns="a")
        k.run()
        return len([1 for _, f in cap.packets if (parse_tcp(f) or {}).get("len")])

    assert run(True) == 10
    assert run(False) == 2  # the first byte, then the rest once it is ACKed


def test_delayed_ack_and_quickack() -> None:
    """After the quick-ACK start the receiver delays ACKs 40 ms (in
    interactive, pingpong mode); TCP_QUICKACK makes it ACK at once."""
    k = Kernel()
    k.script(VETH_PAIR)
    cap = k.capture("b", "v1")
    marks: dict[str, int] = {}

    def server() -> None:
        ls = Blocking(k)
        ls.bind("0.0.0.0", PORT)
        ls.listen(1)
        c = ls.accept()
        for _ in range(3):
            c.recv(10)
            c.send(b"r")  # request/response: pingpong
        sleep(k, 0.5)
        c.recv(10)

    def client() -> None:
        c = Blocking(k)
        c.connect("10.0.0.2", PORT)
        for _ in range(3):
            c.send(b"q")
            c.recv(10)
        marks["sent"] = k.sched.now
        c.send(b"late")
        sleep(k, 1)

    k.spawn(server, netns="b")
    k.spawn(client, netns="a")
    k.run()
    acks = [t for t, f in cap.packets
            if (s := parse_tcp(f)) and s["src"] == "10.0.0.2" and s["flags"] == ACK
            and not s["len"] and t > marks["sent"]]
    assert acks and acks[0] - marks["sent"] == 40_000_000 + 10_000


def test_half_close() -> None:
    k = Kernel()
    k.script(VETH_PAIR)

    def server() -> bytes:
        ls = Blocking(k)
        ls.bind("0.0.0.0", PORT)
        ls.listen(1)
        c = ls.accept()
        got = c.recv_all()  # until the client's FIN
        assert c.state == "CLOSE_WAIT"
        c.sendall(got[::-1])
        c.close()
        return got

    def client() -> bytes:
        c = Blocking(k)
        c.connect("10.0.0.2", PORT)
        c.sendall(b"abcdef")
        c.shutdown(_s.SHUT_WR)
        assert c.state == "FIN_WAIT1"
        back = c.recv_all()
        assert c.state == "TIME_WAIT" or c.sk.state == 7
        return back

    srv = k.spawn(server, netns="b")
    cli = k.spawn(client, netns="a")
    k.run()
    assert srv.result() == b"abcdef" and cli.result() == b"fedcba"


def test_psh_on_the_last_segment_of_a_write() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    cap = k.capture("a", "v0")
    got, _c, _s2 = _transfer(k, "a", "b", "10.0.0.2", b"y" * 3000)
    assert got == b"y" * 3000
    data_segs = [s for s in (parse_tcp(f) for _, f in cap.packets) if s and s["len"]]
    assert data_segs[-1]["flags"] & PSH
    fins = [s for s in (parse_tcp(f) for _, f in cap.packets) if s and s["flags"] & FIN]
    assert fins


def test_path_mtu_discovery_shrinks_the_mss() -> None:
    """The router's next hop has a smaller MTU than either end: it answers
    the too-big (super-)segments with ICMP "frag needed"; the sender lowers
    its MSS (tcp_v4_mtu_reduced), resends, and the transfer completes."""
    k = Kernel()
    k.script(ROUTER + "ip -n r link set r2 mtu 1400\n")
    data = _blob(1 << 20, 6)
    got, cli, _srv = _transfer(k, "h1", "h2", "10.2.0.2", data)
    assert got == data
    assert cli.pmtu == 1400 and cli.mss_cache == 1400 - 52
    assert k.cmd("ip -n h1 route get 10.2.0.2").stdout.count("mtu 1400") == 1


def test_recvmsg_into_matches_recvmsg() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    data = _blob(300_000, 7)
    out: list[bytes] = []

    def server() -> None:
        ls = Blocking(k)
        ls.bind("0.0.0.0", PORT)
        ls.listen(1)
        c = ls.accept()
        buf = bytearray(70_000)
        view = memoryview(buf)
        while True:
            c._wait(0x1 | 0x8 | 0x10)
            n = c.sk.recvmsg_into(view, 0)
            if not n:
                return
            out.append(bytes(buf[:n]))

    def client() -> None:
        c = Blocking(k)
        c.connect("10.0.0.2", PORT)
        c.sendall(data)
        c.close()

    k.spawn(server, netns="b")
    k.spawn(client, netns="a")
    k.run()
    assert b"".join(out) == data and max(map(len, out)) == 70_000


def test_loopback_transfer() -> None:
    """Over lo the MSS follows its 64 KiB MTU (65495, 65483 with timestamps),
    bounded by half the peer's largest window (tcp_bound_to_half_wnd): the
    receiver, whose peer's window stays 64 KiB, sends in 32 KiB pieces."""
    k = Kernel()
    k.script("ip netns add a\nip -n a link set lo up\n")
    data = _blob(1 << 20, 8)
    got, cli, srv = _transfer(k, "a", "a", "127.0.0.1", data)
    assert got == data
    assert cli.mss_cache == 65483 and srv.mss_cache == 32768


def test_transfer_across_a_bridge_keeps_super_segments() -> None:
    from usernet.testing import BRIDGE

    k = Kernel()
    k.script(BRIDGE)
    cap = k.capture("sw", "p2")
    data = _blob(2 << 20, 9)
    got, cli, _srv = _transfer(k, "h1", "h2", "10.3.0.2", data)
    assert got == data and cli.total_retrans == 0
    assert max(s["len"] for _, f in cap.packets if (s := parse_tcp(f))) > 20 * 1448
