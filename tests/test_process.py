"""Processes: functions running as tasks in namespaces, in virtual time."""

from __future__ import annotations

import pytest

from usernet import Kernel
from usernet.process import ProcessError
from usernet.testing import VETH_PAIR
from usernet.transport.udp import UdpSocket
from usernet.wait import WaitQueue, WouldBlockForever, sleep, wait_event
from usernet.wire.ipv4 import addr_int


def _udp(k: Kernel) -> tuple[UdpSocket, WaitQueue]:
    sock = UdpSocket(k.current_net)
    wq = WaitQueue()
    sock.on_readable = wq.wake_up
    return sock, wq


def test_echo_between_two_processes() -> None:
    k = Kernel()
    k.script(VETH_PAIR)

    def server() -> list[tuple[int, bytes]]:
        sock, wq = _udp(k)
        sock.bind(0, 9000)
        got = []
        while len(got) < 3:
            wait_event(k, [wq], lambda: bool(sock.rcvq))
            data, addr = sock.recvfrom()  # type: ignore[misc]
            got.append((k.sched.now, data))
            sock.sendto(data.upper(), addr)
        return got

    def client() -> list[bytes]:
        sock, wq = _udp(k)
        out = []
        for i in range(3):
            sock.sendto(b"hi%d" % i, (addr_int("10.0.0.2"), 9000))
            wait_event(k, [wq], lambda: bool(sock.rcvq))
            out.append(sock.recvfrom()[0])  # type: ignore[index]
            sleep(k, 1)
        return out

    srv = k.spawn(server, netns="b")
    cli = k.spawn(client, netns="a")
    k.run()
    assert cli.result() == [b"HI0", b"HI1", b"HI2"]
    times = [t for t, _ in srv.result()]
    assert times[0] == 30_000  # ARP request, reply, then the datagram: 3 link delays
    assert times[1] - times[0] == 1_000_000_000 + 20_000
    assert srv.task.net is k.netns_get("b") or srv.done


def test_sockets_stay_in_the_namespace_they_were_made_in() -> None:
    k = Kernel()
    k.script(VETH_PAIR)

    def make() -> UdpSocket:
        return UdpSocket(k.current_net)

    p = k.spawn(make, netns="a")
    k.run()
    assert p.result().net is k.netns_get("a")


def test_exceptions_and_timeouts() -> None:
    k = Kernel()

    def boom() -> None:
        sleep(k, 0.5)
        raise ValueError("bad")

    p = k.spawn(boom)
    with pytest.raises(ProcessError) as info:
        p.result()
    assert isinstance(info.value.__cause__, ValueError)
    assert k.sched.now == 500_000_000

    q = WaitQueue()
    waiter = k.spawn(lambda: wait_event(k, [q], lambda: False, 2_000_000_000))
    assert waiter.result() is False  # timed out after 2 s of virtual time
    with pytest.raises(WouldBlockForever):
        wait_event(k, [q], lambda: False)  # outside a task, nothing can help


def test_processes_interleave_deterministically() -> None:
    def run() -> list[tuple[int, str]]:
        k = Kernel(seed=3)
        log: list[tuple[int, str]] = []

        def worker(name: str, step: float) -> None:
            for _ in range(3):
                sleep(k, step)
                log.append((k.sched.now, name))

        k.spawn(worker, "a", 0.3)
        k.spawn(worker, "b", 0.2)
        k.run()
        return log

    first = run()
    assert first == run()
    assert [n for _, n in first] == ["b", "a", "b", "a", "b", "a"]
