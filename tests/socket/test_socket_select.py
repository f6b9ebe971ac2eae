"""select, poll and selectors over usernet sockets, in virtual time."""

from __future__ import annotations

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.socket import select as uselect
from usernet.socket import selectors as uselectors
from usernet.testing import VETH_PAIR
from usernet.wait import WouldBlockForever


@pytest.fixture
def k() -> Kernel:
    kernel = Kernel()
    kernel.script(VETH_PAIR)
    return kernel


def pair(k: Kernel) -> tuple[us.socket, us.socket]:
    with k.netns("b"):
        srv = us.socket(us.AF_INET, us.SOCK_DGRAM)
    srv.bind(("", 9000))
    with k.netns("a"):
        cli = us.socket(us.AF_INET, us.SOCK_DGRAM)
    return srv, cli


def test_select_waits_for_the_datagram_in_virtual_time(k: Kernel) -> None:
    srv, cli = pair(k)
    assert uselect.select([srv], [], [], 0) == ([], [], [])
    r, w, x = uselect.select([srv], [cli], [], 0)
    assert (r, w, x) == ([], [cli], [])  # a UDP socket is always writable
    cli.sendto(b"x", ("10.0.0.2", 9000))
    t0 = k.sched.now
    assert uselect.select([srv, srv.fileno()], [], [], 5) == ([srv, srv.fileno()], [], [])
    assert k.sched.now - t0 == 30_000  # ARP there and back, then the datagram
    t0 = k.sched.now
    assert uselect.select([cli], [], [], 1.5) == ([], [], [])
    assert k.sched.now - t0 == 1_500_000_000
    with pytest.raises(ValueError, match="non-negative"):
        uselect.select([srv], [], [], -1)
    with pytest.raises(WouldBlockForever):
        uselect.select([cli], [], [])
    with pytest.raises(OSError), us.use_kernel(k):
        uselect.select([99], [], [], 0)  # EBADF
    srv.close()
    cli.close()


def test_poll_object(k: Kernel) -> None:
    srv, cli = pair(k)
    p = uselect.poll()
    p.register(srv, uselect.POLLIN)
    p.register(cli.fileno(), uselect.POLLIN | uselect.POLLOUT)
    assert p.poll(0) == [(cli.fileno(), uselect.POLLOUT)]
    p.modify(cli, uselect.POLLIN)
    assert p.poll(100) == []
    assert k.sched.now == 100_000_000  # 100 ms, in virtual time
    cli.sendto(b"x", ("10.0.0.2", 9000))
    assert p.poll() == [(srv.fileno(), uselect.POLLIN)]
    p.unregister(cli)
    fd = srv.fileno()
    srv.close()
    assert p.poll(0) == [(fd, uselect.POLLNVAL)]
    cli.close()


def test_selector_serves_two_clients(k: Kernel) -> None:
    def server() -> list[tuple[int, bytes]]:
        s = us.socket(us.AF_INET, us.SOCK_DGRAM)
        s.bind(("", 7))
        s.setblocking(False)
        sel = uselectors.DefaultSelector()
        key = sel.register(s, uselectors.EVENT_READ, data="srv")
        assert sel.get_map()[s] is key
        got = []
        while len(got) < 4:
            for key, events in sel.select(timeout=10):
                assert events == uselectors.EVENT_READ and key.data == "srv"
                data, _ = s.recvfrom(100)
                got.append((k.sched.now, data))
        sel.unregister(s)
        sel.close()
        s.close()
        return got

    def client(name: bytes, delay: float) -> None:
        c = us.socket(us.AF_INET, us.SOCK_DGRAM)
        for _ in range(2):
            us.select.select([], [], [], delay)
            c.sendto(name, ("10.0.0.2", 7))
        c.close()

    srv = k.spawn(server, netns="b")
    k.spawn(client, b"one", 0.5, netns="a")
    k.spawn(client, b"two", 0.75, netns="a")
    k.run()
    assert srv.result() == [(500_030_000, b"one"), (750_010_000, b"two"),
                            (1_000_010_000, b"one"), (1_500_010_000, b"two")]


def test_selector_rules() -> None:
    k = Kernel()
    sel = uselectors.DefaultSelector(kernel=k)
    with us.use_kernel(k):
        s = us.socket(us.AF_INET, us.SOCK_DGRAM)
    sel.register(s, uselectors.EVENT_WRITE)
    with pytest.raises(KeyError, match="already registered"):
        sel.register(s, uselectors.EVENT_READ)
    with pytest.raises(ValueError, match="Invalid events"):
        sel.register(s.fileno() + 1, 0)
    key = sel.modify(s, uselectors.EVENT_WRITE, data=1)
    assert key.data == 1 and sel.select(0) == [(key, uselectors.EVENT_WRITE)]
    s.close()
    assert sel.unregister(s).fd == 3  # a closed socket can still be unregistered
    assert sel.select(0.25) == [] and k.sched.now == 250_000_000
    sel.close()
    with pytest.raises(RuntimeError):
        sel.get_map()
