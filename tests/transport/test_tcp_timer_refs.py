"""SockTimer holds its socket weakly and its pending event strongly: an armed
timer keeps the socket alive and fires on it, as before, and a finished
connection is freed by reference counting, not left to the cyclic GC."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.testing import VETH_PAIR
from usernet.transport.tcp_timer import SockTimer


@pytest.fixture
def nogc() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class Owner:
    """A stand-in socket: what SockTimer reads of one."""

    def __init__(self, k: Kernel) -> None:
        self.net = SimpleNamespace(kernel=k)


def test_armed_timer_keeps_its_socket_and_fires_on_it(nogc: None) -> None:
    k = Kernel()
    fired: list[Any] = []
    owner = Owner(k)
    t = SockTimer(owner, fired.append)  # type: ignore[arg-type]
    owner.timer = t  # type: ignore[attr-defined]
    t.arm(k.sched.now + 1_000_000)
    t.arm(k.sched.now + 3_000_000)  # later: recorded, the event re-arms itself
    ref = weakref.ref(owner)
    del owner
    assert ref() is not None  # only the pending event holds it
    k.sched.run_until(k.sched.now + 2_000_000)
    assert not fired and ref() is not None
    k.sched.run_until(k.sched.now + 2_000_000)
    assert fired == [ref()]
    fired.clear()
    assert ref() is None  # fired and idle: nothing holds it any more


@pytest.mark.parametrize("how", ["cancel", "rearm"])
def test_cancelled_event_lets_go(nogc: None, how: str) -> None:
    k = Kernel()
    owner = Owner(k)
    t = SockTimer(owner, lambda sk: None)  # type: ignore[arg-type]
    owner.timer = t  # type: ignore[attr-defined]
    t.arm(k.sched.now + 5_000_000)
    if how == "cancel":
        t.cancel()
    else:
        t.arm(k.sched.now + 1_000_000)  # earlier: the old event is cancelled
        t.cancel()
    ref = weakref.ref(owner)
    del owner
    assert ref() is None  # the dead events still in the heap hold nothing


def test_finished_connections_are_freed_without_gc(nogc: None) -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    refs: list[weakref.ref[Any]] = []

    def server(n: int) -> None:
        srv = us.socket(us.AF_INET, us.SOCK_STREAM)
        srv.bind(("0.0.0.0", 5001))
        srv.listen(16)
        for _ in range(n):
            conn, _ = srv.accept()
            refs.append(weakref.ref(conn._sk()))
            conn.close()
        srv.close()

    def client(n: int) -> None:
        for _ in range(n):
            c = us.create_connection(("10.0.0.2", 5001))
            refs.append(weakref.ref(c._sk()))
            c.close()

    k.spawn(server, 5, netns="b")
    k.spawn(client, 5, netns="a")
    k.run()
    k.sched.run_until(k.sched.now + 1_000_000_000)  # the last close's FIN and ACK
    assert len(refs) == 10
    assert [r() for r in refs] == [None] * 10


def test_rand_below_draws_as_randrange() -> None:
    """rand_below: the numbers randrange gives, and the same generator state."""
    import random

    from usernet.transport.tcp import rand_below

    for seed in range(20):
        a, b = random.Random(seed), random.Random(seed)
        for n in (1, 2, 3, 7, 8, 9, 1000, 0x10000, 28232, 2**40 + 3):
            for _ in range(50):
                assert rand_below(a, n) == b.randrange(n)
        assert a.getstate() == b.getstate()
    with pytest.raises(ValueError):
        rand_below(random.Random(1), 0)
