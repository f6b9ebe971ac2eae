"""send()'s connected-UDP shortcut charges the system call's CPU time
itself (charge_cpu inline): the virtual time after every send, in a task
and outside any, must be what charge_cpu gives on the full road (a
memoryview takes it)."""

from __future__ import annotations

from typing import Any

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.testing import VETH_PAIR
from usernet.wait import sleep

SENDS = 300  # several CPU quanta (64 system calls each)


def run(as_view: bool, in_task: bool) -> dict[str, Any]:
    k = Kernel()
    k.script(VETH_PAIR)
    with k.netns("b"):
        srv = us.socket(us.AF_INET, us.SOCK_DGRAM)
        srv.setsockopt(us.SOL_SOCKET, us.SO_RCVBUF, 1 << 22)
        srv.bind(("0.0.0.0", 7000))
        srv.setblocking(False)

    def sender() -> list[int]:
        c = us.socket(us.AF_INET, us.SOCK_DGRAM)
        c.connect(("10.0.0.2", 7000))
        c.send(b"warm")
        sleep(k, 0.001)  # the neighbour resolved: nothing waits in its queue
        times = []
        for i in range(SENDS):
            data = b"%d" % i
            c.send(memoryview(data) if as_view else data)
            times.append(k.sched.now)
        return times

    if in_task:
        proc = k.spawn(sender, netns="a")
        k.run(1)
        times = proc.result()
    else:
        with k.netns("a"):
            times = sender()
    sleep(k, 0.01)  # the last datagrams arrive
    got = []
    while True:
        try:
            got.append(srv.recv(100))
        except BlockingIOError:
            break
    return {"times": times, "got": got, "now": k.sched.now}


@pytest.mark.parametrize("in_task", [True, False])
def test_inline_charge_equals_charge_cpu(in_task: bool) -> None:
    fast = run(False, in_task)
    full = run(True, in_task)
    assert fast == full
    assert fast["got"] == [b"warm"] + [b"%d" % i for i in range(SENDS)]
    steps = sorted(set(fast["times"]))
    assert len(steps) > 3  # the sender paid its debt several times
