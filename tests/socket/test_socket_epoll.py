"""select.epoll over usernet descriptors (fs/eventpoll.c's rules), in
virtual time: level- and edge-triggered items, one-shot items, the ready
list's order, epoll_ctl's errors, nesting, and items leaving with their
file."""

from __future__ import annotations

import contextlib
import errno
import random

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.socket import select as uselect
from usernet.socket.select import (
    EPOLLERR,
    EPOLLET,
    EPOLLEXCLUSIVE,
    EPOLLHUP,
    EPOLLIN,
    EPOLLONESHOT,
    EPOLLOUT,
    EPOLLRDHUP,
    epoll,
)
from usernet.testing import VETH_PAIR
from usernet.wait import WouldBlockForever, sleep


@pytest.fixture
def k() -> Kernel:
    kernel = Kernel()
    kernel.script(VETH_PAIR)
    return kernel


def pair(k: Kernel, port: int = 9000) -> tuple[us.socket, us.socket]:
    """A UDP socket bound in b and one in a that sends to it."""
    with k.netns("b"):
        srv = us.socket(us.AF_INET, us.SOCK_DGRAM)
    srv.bind(("", port))
    with k.netns("a"):
        cli = us.socket(us.AF_INET, us.SOCK_DGRAM)
    return srv, cli


def test_level_triggered_in_virtual_time(k: Kernel) -> None:
    srv, cli = pair(k)
    with us.use_kernel(k):
        ep = epoll()
    fd = srv.fileno()
    ep.register(srv, EPOLLIN)
    assert ep.poll(0) == []
    cli.sendto(b"one", ("10.0.0.2", 9000))
    t0 = k.sched.now
    assert ep.poll(5) == [(fd, EPOLLIN)]
    assert k.sched.now - t0 == 30_000  # ARP there and back, then the datagram
    assert ep.poll(0) == [(fd, EPOLLIN)]  # level-triggered: still readable, still reported
    srv.recv(10)
    assert ep.poll(0) == []
    t0 = k.sched.now
    assert ep.poll(0.0015) == []
    assert k.sched.now - t0 == 2_000_000  # rounded up to milliseconds, as CPython does
    with pytest.raises(WouldBlockForever):
        ep.poll()
    ep.close()
    for s in (srv, cli):
        s.close()


def test_edge_triggered_reports_each_wakeup_once(k: Kernel) -> None:
    srv, cli = pair(k)
    with us.use_kernel(k):
        ep = epoll()
    ep.register(srv.fileno(), EPOLLIN | EPOLLET)
    for data in (b"a", b"b"):
        cli.sendto(data, ("10.0.0.2", 9000))
    k.sched.run_until(k.sched.now + 1_000_000)  # both arrive: two wake-ups, one item queued
    assert ep.poll(0) == [(srv.fileno(), EPOLLIN)]
    assert ep.poll(0) == []  # data is still queued, but nothing new came
    assert srv.recv(10) == b"a"
    assert ep.poll(0) == []
    cli.sendto(b"c", ("10.0.0.2", 9000))
    assert ep.poll(1) == [(srv.fileno(), EPOLLIN)]
    ep.close()
    for s in (srv, cli):
        s.close()


def test_oneshot_is_disarmed_until_modify(k: Kernel) -> None:
    srv, cli = pair(k)
    with us.use_kernel(k):
        ep = epoll()
    ep.register(srv, EPOLLIN | EPOLLONESHOT)
    cli.sendto(b"a", ("10.0.0.2", 9000))
    assert ep.poll(1) == [(srv.fileno(), EPOLLIN)]
    cli.sendto(b"b", ("10.0.0.2", 9000))
    assert ep.poll(1) == []  # disarmed: neither the old data nor the new is reported
    ep.modify(srv, EPOLLIN | EPOLLONESHOT)
    assert ep.poll(0) == [(srv.fileno(), EPOLLIN)]
    ep.close()
    for s in (srv, cli):
        s.close()


def test_ready_list_order_and_maxevents(k: Kernel) -> None:
    a, cli = pair(k, 9000)
    b, _ = pair(k, 9001)
    with us.use_kernel(k):
        ep = epoll()
    ep.register(a, EPOLLIN)
    ep.register(b, EPOLLIN)
    cli.sendto(b"to b", ("10.0.0.2", 9001))
    cli.sendto(b"to a", ("10.0.0.2", 9000))
    k.sched.run_until(k.sched.now + 1_000_000)
    both = [(b.fileno(), EPOLLIN), (a.fileno(), EPOLLIN)]  # in the order they woke
    assert ep.poll(0) == both
    # one at a time: a reported level-triggered item goes back on the tail
    assert [ep.poll(0, maxevents=1) for _ in range(3)] == [both[:1], both[1:], both[:1]]
    with pytest.raises(ValueError, match="maxevents must be greater than 0, got 0"):
        ep.poll(0, 0)
    ep.close()
    for s in (a, b, cli):
        s.close()


def test_tcp_hangup_and_error_are_always_reported(k: Kernel) -> None:
    with k.netns("a"):
        ep = epoll()
        n = us.socket()
        n.setblocking(False)
        assert n.connect_ex(("10.0.0.2", 81)) == errno.EINPROGRESS  # nobody listens
        ep.register(n, EPOLLOUT)
        assert ep.poll(1) == [(n.fileno(), EPOLLOUT | EPOLLERR | EPOLLHUP)]
        assert n.getsockopt(us.SOL_SOCKET, us.SO_ERROR) == errno.ECONNREFUSED
        n.close()
    with k.netns("b"):
        srv = us.create_server(("", 7000))
    with k.netns("a"):
        c = us.create_connection(("10.0.0.2", 7000))
    conn, _ = srv.accept()
    ep.register(c, EPOLLIN | EPOLLRDHUP | EPOLLET)
    conn.close()  # FIN
    assert ep.poll(1) == [(c.fileno(), EPOLLIN | EPOLLRDHUP)]
    assert c.recv(10) == b""
    ep.close()
    for s in (c, srv):
        s.close()


def test_epoll_ctl_errors(k: Kernel) -> None:
    srv, cli = pair(k)
    with us.use_kernel(k):
        ep = epoll()
        inner = epoll()
    ep.register(srv, EPOLLIN)
    with pytest.raises(FileExistsError):
        ep.register(srv, EPOLLIN)
    with pytest.raises(FileNotFoundError):
        ep.modify(cli, EPOLLIN)
    with pytest.raises(FileNotFoundError):
        ep.unregister(cli)
    with pytest.raises(OSError) as info:
        ep.register(ep.fileno(), EPOLLIN)
    assert info.value.errno == errno.EINVAL
    inner.register(ep, EPOLLIN)
    with pytest.raises(OSError) as info:
        ep.register(inner, EPOLLIN)
    assert info.value.errno == errno.ELOOP
    with pytest.raises(OSError) as info:
        ep.register(99, EPOLLIN)
    assert info.value.errno == errno.EBADF
    for call in (lambda: ep.register(cli, EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT),
                 lambda: ep.modify(srv, EPOLLIN | EPOLLEXCLUSIVE),
                 lambda: ep.register(inner, EPOLLIN | EPOLLEXCLUSIVE)):
        with pytest.raises(OSError) as info:
            call()
        assert info.value.errno == errno.EINVAL
    ep.register(cli, EPOLLOUT | EPOLLEXCLUSIVE)
    with pytest.raises(OSError) as info:
        ep.modify(cli, EPOLLOUT)  # an exclusive item stays as it was added
    assert info.value.errno == errno.EINVAL
    assert ep.poll(0) == [(cli.fileno(), EPOLLOUT)]
    with pytest.raises(OSError) as info:
        us.socket(fileno=ep.fileno(), kernel=k)
    assert info.value.errno == errno.ENOTSOCK
    with us.use_kernel(k):
        with pytest.raises(ValueError, match="negative sizehint"):
            epoll(0)
        with pytest.raises(OSError) as info:
            epoll(flags=1)
        assert info.value.errno == errno.EINVAL
    ep.close()
    ep.close()  # a second close does nothing
    assert ep.closed
    for call in (ep.fileno, lambda: ep.poll(0), lambda: ep.register(srv)):
        with pytest.raises(ValueError, match="closed epoll object"):
            call()
    inner.close()
    for s in (srv, cli):
        s.close()


def test_nested_instances_and_select_on_one(k: Kernel) -> None:
    srv, cli = pair(k)
    with us.use_kernel(k):
        inner, outer = epoll(), epoll()
    inner.register(srv, EPOLLIN)
    outer.register(inner, EPOLLIN)
    assert outer.poll(0) == []
    assert uselect.select([inner], [], [], 0) == ([], [], [])
    cli.sendto(b"x", ("10.0.0.2", 9000))
    assert outer.poll(1) == [(inner.fileno(), EPOLLIN)]
    assert uselect.select([inner], [], [], 0) == ([inner], [], [])
    assert inner.poll(0) == [(srv.fileno(), EPOLLIN)]
    outer.close()
    inner.close()
    for s in (srv, cli):
        s.close()


def test_an_item_leaves_with_its_files_last_descriptor(k: Kernel) -> None:
    srv, cli = pair(k)
    with us.use_kernel(k):
        ep = epoll()
    fd = srv.fileno()
    ep.register(srv, EPOLLIN)
    twin = srv.dup()  # a second descriptor keeps the file, and so the item
    srv.close()
    cli.sendto(b"x", ("10.0.0.2", 9000))
    assert ep.poll(1) == [(fd, EPOLLIN)]  # reported under the number it was added with
    twin.close()
    assert ep.poll(0) == []
    with k.netns("b"):
        again = us.socket(us.AF_INET, us.SOCK_DGRAM)  # the lowest free number: fd again
    assert again.fileno() == fd
    ep.register(again, EPOLLOUT)  # a new file: no EEXIST
    assert ep.poll(0) == [(fd, EPOLLOUT)]
    with ep:
        pass
    assert ep.closed
    for s in (again, cli):
        s.close()


def test_epollout_after_a_send_that_fit(k: Kernel) -> None:
    """A send that fits but leaves less than the write-space threshold, then
    a wait for EPOLLOUT: only the wake-up of the ACKs that free room can
    end it (tcp_poll's SOCK_NOSPACE), as pyftpdlib's loop relies on."""
    def sender() -> tuple[int, bool, int]:
        lsk = us.create_server(("", 9000))
        conn, _ = lsk.accept()
        fd = conn.fileno()
        conn.setblocking(False)
        sent = conn.send(b"x" * 65536)
        with epoll() as ep:
            ep.register(conn, EPOLLOUT)
            assert ep.poll(0) == []  # below the threshold: not writable yet
            t0 = k.sched.now
            woken = ep.poll(10) == [(fd, EPOLLOUT)]
            waited = k.sched.now - t0
        conn.close()
        lsk.close()
        return sent, woken, waited

    def receiver() -> int:
        with us.create_connection(("10.0.0.2", 9000)) as c:
            total = 0
            while chunk := c.recv(65536):
                total += len(chunk)
            return total

    snd = k.spawn(sender, netns="b")
    rcv = k.spawn(receiver, netns="a")
    k.run()
    sent, woken, waited = snd.result()
    assert (sent, rcv.result()) == (65536, 65536)
    assert woken and waited < 1_000_000  # ns: a round trip, not the 10 s timeout


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("edge", [False, True], ids=["level", "edge"])
@pytest.mark.parametrize("one_send", [False, True], ids=["send-until-EAGAIN", "one-send"])
def test_echo_server_on_epoll_never_stalls(edge: bool, one_send: bool, seed: int) -> None:
    """A non-blocking echo server driven only by epoll's reports echoes
    three clients' streams (a few MB, sent in uneven pieces with pauses).
    A missing wake-up would leave it waiting: epoll, unlike select and poll,
    looks at a socket only when it was woken.  "one-send" writes once per
    report and then waits for EPOLLOUT, as pyftpdlib does."""
    k = Kernel(seed)
    k.script(VETH_PAIR)
    rng = random.Random(f"{edge}{one_send}{seed}")
    flags = EPOLLET if edge else 0
    clients = 3

    def server() -> str:
        lsk = us.create_server(("", 9000))
        lsk.setblocking(False)
        ep = epoll()
        ep.register(lsk, EPOLLIN)
        conns: dict[int, tuple[us.socket, bytearray]] = {}
        eof: set[int] = set()
        done = 0
        while done < clients:
            events = ep.poll(60)
            if not events:
                return f"stalled with {[(fd, len(out)) for fd, (_, out) in conns.items()]}"
            for fd, ev in events:
                if fd == lsk.fileno():
                    with contextlib.suppress(BlockingIOError):
                        while True:
                            c, _ = lsk.accept()
                            c.setblocking(False)
                            conns[c.fileno()] = (c, bytearray())
                            ep.register(c, EPOLLIN | EPOLLRDHUP | flags)
                    continue
                c, out = conns[fd]
                while ev & EPOLLIN and fd not in eof:
                    try:
                        data = c.recv(rng.choice([100, 4096, 65536]))
                    except BlockingIOError:
                        break
                    if not data:
                        eof.add(fd)
                    out += data
                    if not edge:
                        break
                while out:
                    try:
                        del out[:c.send(out[:rng.choice([1000, 30000, 200000])])]
                    except BlockingIOError:
                        break
                    if one_send:
                        break
                if fd in eof and not out:
                    ep.unregister(c)
                    c.close()
                    del conns[fd]
                    done += 1
                else:
                    reading = 0 if fd in eof else EPOLLIN | EPOLLRDHUP
                    ep.modify(c, reading | (EPOLLOUT if out else 0) | flags)
        ep.close()
        lsk.close()
        return "done"

    def client(size: int) -> bool:
        payload = rng.randbytes(size)
        got = bytearray()
        with us.create_connection(("10.0.0.2", 9000), timeout=60) as c:
            pos = 0
            while pos < size:
                pos += c.send(payload[pos:pos + rng.choice([10, 1000, 50000, 300000])])
                if rng.random() < 0.3:
                    sleep(k, rng.random() / 100)
                with contextlib.suppress(BlockingIOError):
                    got += c.recv(65536, us.MSG_DONTWAIT)
            c.shutdown(us.SHUT_WR)
            while data := c.recv(65536):
                got += data
        return got == payload

    srv = k.spawn(server, netns="b")
    procs = [k.spawn(client, rng.randint(1, 2_000_000), netns="a") for _ in range(clients)]
    k.run(until=600)
    assert srv.result() == "done"
    assert [p.result() for p in procs] == [True] * clients
