"""socket.recv on a UDP socket with data queued takes UdpSock.recv_ready's
shortcut.  Step by step it must do what recvfrom's full road
(udp_recvmsg) does: the same bytes, truncation, receive-buffer accounting,
a pending error first, and waiting (or EAGAIN) on an empty queue."""

from __future__ import annotations

import errno
from typing import Any

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.testing import VETH_PAIR
from usernet.transport.udp import UdpSock
from usernet.wait import sleep


def world() -> tuple[Kernel, us.socket, us.socket]:
    k = Kernel()
    k.script(VETH_PAIR)
    with k.netns("b"):
        rx = us.socket(us.AF_INET, us.SOCK_DGRAM)
        rx.bind(("10.0.0.2", 7000))
        rx.setblocking(False)
    with k.netns("a"):
        tx = us.socket(us.AF_INET, us.SOCK_DGRAM)
        tx.connect(("10.0.0.2", 7000))
    return k, rx, tx


def scenario(road: str) -> list[Any]:
    k, rx, tx = world()
    sk = rx._file.sk  # type: ignore[attr-defined]
    assert sk.__class__ is UdpSock

    def read(n: int) -> Any:
        try:
            data = rx.recv(n) if road == "recv" else rx.recvfrom(n)[0]
        except OSError as exc:
            return ("error", exc.errno)
        return (data, sk.rmem_alloc, len(sk.rcvq))

    out: list[Any] = [read(100)]  # nothing queued: EAGAIN
    for text in (b"one", b"two, truncated", b"three", b"x" * 300):
        tx.send(text)
    sleep(k, 0.001)
    out += [sk.rmem_alloc, read(100), read(4), read(1)]
    sk.sk_err = errno.ECONNREFUSED  # an ICMP error pending: it comes first
    out += [read(100), sk.sk_err, read(1000), read(100)]
    tx.send(b"late")
    sleep(k, 0.001)
    rx.setblocking(True)
    out.append(read(100))
    rx.settimeout(0.01)
    out.append(read(100))  # the wait times out
    return out


def test_recv_inline_equals_recvfrom() -> None:
    inline = scenario("recv")
    full = scenario("recvfrom")
    assert inline == full
    assert inline[0] == ("error", errno.EAGAIN)
    assert inline[2][0] == b"one" and inline[3][0] == b"two," and inline[4][0] == b"t"
    assert inline[5] == ("error", errno.ECONNREFUSED)
    assert inline[7] == (b"x" * 300, 0, 0)
    assert inline[-2] == (b"late", 0, 0)
    assert inline[-1] == ("error", None)  # TimeoutError (CPython's has no errno)


def test_recv_of_nothing_asks_the_kernel_nothing() -> None:
    """CPython's sock_recv_guts returns at once for 0 bytes (even on a closed
    socket); recvfrom(0) is a real call and takes a datagram."""
    k, rx, tx = world()
    sk = rx._file.sk  # type: ignore[attr-defined]
    tx.send(b"kept")
    sleep(k, 0.001)
    assert rx.recv(0) == b"" and rx.recv_into(bytearray(0)) == 0 and len(sk.rcvq) == 1
    assert rx.recvfrom(0)[0] == b"" and len(sk.rcvq) == 0
    rx.close()
    assert rx.recv(0) == b""


@pytest.mark.parametrize("bufsize", [1, 3, 2048])
def test_recv_takes_the_shortcut(bufsize: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """With data queued the shortcut is the road taken: the full one never runs."""
    k, rx, tx = world()

    def never(*_args: Any) -> None:
        raise AssertionError("the full road was taken")

    monkeypatch.setattr(type(rx), "_recv", never)
    tx.send(b"abc")
    sleep(k, 0.001)
    assert rx.recv(bufsize) == b"abc"[:bufsize]
