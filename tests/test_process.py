"""Processes: functions running as tasks in namespaces, in virtual time."""

from __future__ import annotations

import pytest

from usernet import Kernel
from usernet.process import ProcessError
from usernet.testing import VETH_PAIR
from usernet.transport.udp import UdpSock
from usernet.wait import WaitQueue, WouldBlockForever, sleep, wait_event
from usernet.wire.ipv4 import addr_int


def _udp(k: Kernel) -> tuple[UdpSock, WaitQueue]:
    sock = UdpSock(k.current_net)
    return sock, sock.wq


def test_echo_between_two_processes() -> None:
    k = Kernel()
    k.script(VETH_PAIR)

    def server() -> list[tuple[int, bytes]]:
        sock, wq = _udp(k)
        sock.bind((0, 9000))
        got = []
        while len(got) < 3:
            wait_event(k, [wq], lambda: bool(sock.rcvq))
            data, addr = sock.recvmsg(2048, 0)
            got.append((k.sched.now, data))
            sock.sendmsg(data.upper(), addr, 0)
        return got

    def client() -> list[bytes]:
        sock, wq = _udp(k)
        out = []
        for i in range(3):
            sock.sendmsg(b"hi%d" % i, (addr_int("10.0.0.2"), 9000), 0)
            wait_event(k, [wq], lambda: bool(sock.rcvq))
            out.append(sock.recvmsg(2048, 0)[0])
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

    def make() -> UdpSock:
        return UdpSock(k.current_net)

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
