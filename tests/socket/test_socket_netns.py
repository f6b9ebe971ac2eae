"""Sockets belong to the namespace of the task that made them, for good."""

from __future__ import annotations

import errno

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.testing import VETH_PAIR
from usernet.wait import sleep


@pytest.fixture
def k() -> Kernel:
    kernel = Kernel()
    kernel.script(VETH_PAIR)
    return kernel


def test_same_port_in_two_namespaces(k: Kernel) -> None:
    socks = {}
    for ns in ("a", "b"):
        with k.netns(ns):
            s = us.socket(us.AF_INET, us.SOCK_DGRAM)
        s.bind(("0.0.0.0", 80))  # no EADDRINUSE: the table is keyed by namespace
        s.setblocking(False)
        socks[ns] = s
    with k.netns("a"):
        tx = us.socket(us.AF_INET, us.SOCK_DGRAM)
    tx.sendto(b"to-b", ("10.0.0.2", 80))
    sleep(k, 0.01)
    assert socks["b"].recvfrom(10) == (b"to-b", ("10.0.0.1", tx.getsockname()[1]))
    with pytest.raises(BlockingIOError):
        socks["a"].recv(10)
    for s in (*socks.values(), tx):
        s.close()


def test_a_socket_stays_when_its_task_moves(k: Kernel) -> None:
    with k.netns("a") as task:
        first = us.socket(us.AF_INET, us.SOCK_DGRAM)
        task.setns(k.netns_get("b"))
        second = us.socket(us.AF_INET, us.SOCK_DGRAM)
    assert first.sock.net is k.netns_get("a") and second.sock.net is k.netns_get("b")
    first.bind(("10.0.0.1", 0))  # a's address, still
    with pytest.raises(OSError) as info:
        second.bind(("10.0.0.1", 0))
    assert info.value.errno == errno.EADDRNOTAVAIL
    first.close()
    second.close()


def test_a_process_that_moves_keeps_its_sockets(k: Kernel) -> None:
    def worker() -> tuple[str, str]:
        s = us.socket(us.AF_INET, us.SOCK_DGRAM)
        k.current_task().setns(k.netns_get("a"))
        t = us.socket(us.AF_INET, us.SOCK_DGRAM)
        names = (k.netns_name(s.sock.net) or "", k.netns_name(t.sock.net) or "")
        s.close()
        t.close()
        return names

    assert k.spawn(worker, netns="b").result() == ("b", "a")


def test_an_open_socket_keeps_its_namespace_alive(k: Kernel) -> None:
    with k.netns("b"):
        s = us.socket(us.AF_INET, us.SOCK_DGRAM)
    net = s.sock.net
    assert k.cmd("ip netns del b").ok
    assert net.alive and net in k.net_list()  # the name went, the namespace did not
    s.bind(("10.0.0.2", 53))
    s.close()
    assert not net.alive and net not in k.net_list()


def test_hosts_tables_are_per_namespace(k: Kernel) -> None:
    us.hosts(k, "a").add("10.0.0.2", "server")
    with k.netns("a"):
        assert us.gethostbyname("server") == "10.0.0.2"
    with k.netns("b"), pytest.raises(us.gaierror):
        us.gethostbyname("server")
