"""TCP through usernet.socket: the socket layer over TcpSock (blocking,
timeouts, non-blocking connect, files), between namespaces, in virtual time."""

from __future__ import annotations

import errno

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.socket import selectors
from usernet.testing import VETH_PAIR

pytest.importorskip("usernet.transport.tcp_input")


@pytest.fixture
def k() -> Kernel:
    kernel = Kernel()
    kernel.script(VETH_PAIR)
    return kernel


def test_line_echo_with_makefile(k: Kernel) -> None:
    def server() -> tuple[object, bytes]:
        srv = us.create_server(("", 8080))
        conn, addr = srv.accept()
        with conn, conn.makefile("rwb") as f:
            line = f.readline()
            f.write(b"echo: " + line)
        srv.close()
        return addr, line

    def client() -> bytes:
        with us.create_connection(("10.0.0.2", 8080), timeout=5) as c:
            c.sendall(b"hello\n")
            return c.makefile("rb").readline()

    srv = k.spawn(server, netns="b")
    cli = k.spawn(client, netns="a")
    k.run()
    addr, line = srv.result()
    assert line == b"hello\n" and addr[0] == "10.0.0.1"  # type: ignore[index]
    assert cli.result() == b"echo: hello\n"


def test_bulk_sendall_and_eof(k: Kernel) -> None:
    blob = bytes(range(256)) * 256  # 64 KiB

    def server() -> int:
        srv = us.create_server(("", 9000))
        conn, _ = srv.accept()
        total = 0
        while chunk := conn.recv(65536):
            total += len(chunk)
        conn.close()
        srv.close()
        return total

    def client() -> None:
        c = us.create_connection(("10.0.0.2", 9000))
        c.sendall(blob)
        c.shutdown(us.SHUT_WR)
        assert c.recv(10) == b""  # the server closed after our FIN
        c.close()

    srv = k.spawn(server, netns="b")
    k.spawn(client, netns="a")
    k.run()
    assert srv.result() == len(blob)


def test_refused_nonblocking_connect_and_timeouts(k: Kernel) -> None:
    with k.netns("a"):
        t = us.socket()
        with pytest.raises(ConnectionRefusedError):
            t.connect(("10.0.0.2", 81))
        t.close()
        n = us.socket()
        n.setblocking(False)
        assert n.connect_ex(("10.0.0.2", 81)) == errno.EINPROGRESS
        sel = selectors.DefaultSelector()
        sel.register(n, selectors.EVENT_WRITE)
        assert len(sel.select(1)) == 1
        assert n.getsockopt(us.SOL_SOCKET, us.SO_ERROR) == errno.ECONNREFUSED
        n.close()
    with k.netns("b"):
        srv = us.create_server(("", 7000))
    with k.netns("a"):
        c = us.create_connection(("10.0.0.2", 7000))
    conn, _ = srv.accept()
    c.settimeout(0.75)
    t0 = k.sched.now
    with pytest.raises(TimeoutError):
        c.recv(10)
    assert k.sched.now - t0 == 750_000_000
    for s in (c, conn, srv):
        s.close()


def test_port_80_in_two_namespaces(k: Kernel) -> None:
    servers = []
    for ns in ("a", "b"):
        with k.netns(ns):
            servers.append(us.create_server(("", 80)))
    assert [s.getsockname() for s in servers] == [("0.0.0.0", 80)] * 2
    with k.netns("a"), pytest.raises(OSError) as info:
        us.create_server(("", 80))
    assert info.value.errno == errno.EADDRINUSE
    for s in servers:
        s.close()


def test_select_for_write_wakes_when_acks_free_room(k: Kernel) -> None:
    """A send that fits takes the buffer below the write-space threshold
    without filling it; a select for writing then sleeps until ACKs free
    room.  tcp_poll sets SOCK_NOSPACE when it answers "not writable", so
    those ACKs wake it -- within a round trip, not at the timeout (pyftpdlib
    on epoll stalled there for good)."""
    def sender() -> tuple[int, bool, int]:
        srv = us.create_server(("", 9000))
        conn, _ = srv.accept()
        conn.setblocking(False)
        sent = conn.send(b"x" * 65536)
        t0 = k.sched.now
        _, writable, _ = us.select.select([], [conn], [], 10)
        waited = k.sched.now - t0
        conn.close()
        srv.close()
        return sent, bool(writable), waited

    def receiver() -> int:
        with us.create_connection(("10.0.0.2", 9000)) as c:
            total = 0
            while chunk := c.recv(65536):
                total += len(chunk)
            return total

    snd = k.spawn(sender, netns="b")
    rcv = k.spawn(receiver, netns="a")
    k.run()
    sent, writable, waited = snd.result()
    assert (sent, writable, rcv.result()) == (65536, True, 65536)
    assert waited < 1_000_000  # ns: the ACKs' round trip, not the 10 s timeout
