"""udp_rcv_frame wakes the socket's waiters itself (wake_up inline, with
its one-waiter shortcut): every task blocked on the socket must be woken,
however many there are, and each datagram of a burst reach one of them."""

from __future__ import annotations

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.testing import VETH_PAIR, on_udp_frame_road


@pytest.mark.parametrize("tasks", [1, 2, 3])
def test_every_blocked_reader_is_woken(tasks: int, monkeypatch: pytest.MonkeyPatch) -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    calls: list[int] = []
    on_udp_frame_road(monkeypatch, lambda taken: calls.extend([1] * taken))  # one per frame
    with k.netns("b"):
        srv = us.socket(us.AF_INET, us.SOCK_DGRAM)
        srv.bind(("0.0.0.0", 7000))

    def reader() -> bytes:
        data, _addr = srv.recvfrom(100)
        return data

    with k.netns("a"):
        cli = us.socket(us.AF_INET, us.SOCK_DGRAM)
        cli.connect(("10.0.0.2", 7000))
        cli.send(b"warm")  # the neighbour resolved: later sends make one burst
    assert srv.recv(100) == b"warm"
    procs = [k.spawn(reader, netns="b") for _ in range(tasks)]
    k.run(0.001)  # every reader is blocked now
    assert not any(p.done for p in procs)
    del calls[:]
    for i in range(tasks + 1):  # a burst of more than one frame: ip_list_rcv's
        cli.send(b"datagram %d" % i)
    k.run(1)
    assert len(calls) == tasks + 1  # the frame road was taken
    assert all(p.done for p in procs)
    assert sorted(p.result() for p in procs) == [b"datagram %d" % i for i in range(tasks)]
    srv.setblocking(False)
    assert srv.recv(100) == b"datagram %d" % tasks
