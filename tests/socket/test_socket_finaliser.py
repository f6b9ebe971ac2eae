"""A usernet socket that is garbage-collected unclosed is closed as a dying
process's files are (PF_EXITING): without waiting for anything.  The
collector runs its finaliser in whatever task it interrupted, maybe one of
another kernel, which must not be parked by it."""

from __future__ import annotations

import gc
import struct
import warnings

import usernet.socket as us
from usernet import Kernel
from usernet.testing import VETH_PAIR
from usernet.wait import sleep


def tcp_pair(k: Kernel, port: int) -> tuple[us.socket, us.socket]:
    with k.netns("b"):
        lst = us.socket()
    lst.bind(("0.0.0.0", port))
    lst.listen()
    with k.netns("a"):
        c = us.create_connection(("10.0.0.2", port))
    a, _ = lst.accept()
    lst.close()
    return c, a


def forget_in_a_cycle(sock: us.socket) -> None:
    """Drop the last reference to ``sock`` from a cycle, so that only the
    cyclic collector finds it."""
    holder: list[object] = [sock]
    holder.append(holder)


def test_finaliser_in_another_kernels_task_does_not_park_it() -> None:
    old = Kernel(link_delay_ns=0)  # veth-like: a close would step aside for the answer
    old.script(VETH_PAIR)
    c, a = tcp_pair(old, 7000)
    a.sendall(b"unread")  # c's close will send a RST: an event due at once
    gc.disable()
    try:
        forget_in_a_cycle(c)
        del c
        k = Kernel()
        k.script(VETH_PAIR)

        def task() -> str:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()  # c's finaliser runs here, inside this task
            return "done"

        proc = k.spawn(task, netns="a")
        k.run()
        assert proc.result() == "done"
    finally:
        gc.enable()
    sleep(old, 0.01)  # the reset the finaliser's close sent reaches the peer
    a.setblocking(False)
    try:
        a.recv(10)
        raise AssertionError("the peer was not reset")
    except ConnectionResetError:
        pass


def test_finaliser_does_not_linger() -> None:
    """SO_LINGER holds close() until the FIN is acknowledged -- not for an
    exiting task's files (inet_release)."""
    k = Kernel()
    k.script(VETH_PAIR)
    c, _a = tcp_pair(k, 7001)
    c.setsockopt(us.SOL_SOCKET, us.SO_LINGER, struct.pack("ii", 1, 30))
    k.script("ip -n b link set v1 down")  # the FIN will never be acknowledged
    start = k.sched.now
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        del c
        gc.collect()
    assert k.sched.now == start  # no virtual time passed in the finaliser
