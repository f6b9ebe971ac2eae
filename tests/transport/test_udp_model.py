"""UDP over loopback against the real kernel, operation by operation.

Random sequences of non-blocking operations on 127.0.0.1 -- create, bind,
connect, send/sendto (up to and past 65,507 bytes), recv/recvfrom, close,
names, select, SO_ERROR, SO_RCVBUF, waits -- run on CPython's own sockets
in this process and on usernet's (``link_delay_ns=0``: loopback answers,
ICMP port unreachable included, within the call).  Every step must give the
same value or the same exception and errno.  Ports are slots.  Nothing is
sent anywhere but 127.0.0.1.
"""

from __future__ import annotations

import errno
import os
import platform
import re
import select
import socket
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tcp_model import free_ports

import usernet.socket as us
import usernet.socket.select as uselect
from usernet import Kernel
from usernet.wait import sleep

SOCKS = 4
PORTS = 3

op = st.one_of(
    st.tuples(st.just("socket")),
    st.tuples(st.just("bind"), st.integers(0, SOCKS - 1), st.integers(0, PORTS)),
    st.tuples(st.just("connect"), st.integers(0, SOCKS - 1), st.integers(0, PORTS - 1)),
    st.tuples(st.just("send"), st.integers(0, SOCKS - 1), st.sampled_from((0, 1, 1400, 65507,
                                                                           65508))),
    st.tuples(st.just("sendto"), st.integers(0, SOCKS - 1), st.integers(0, PORTS - 1),
              st.sampled_from((0, 5, 3000))),
    st.tuples(st.just("recv"), st.integers(0, SOCKS - 1), st.sampled_from((1, 2000, 70000))),
    st.tuples(st.just("recvfrom"), st.integers(0, SOCKS - 1), st.sampled_from((4, 70000))),
    st.tuples(st.just("close"), st.integers(0, SOCKS - 1)),
    st.tuples(st.just("names"), st.integers(0, SOCKS - 1)),
    st.tuples(st.just("select"), st.integers(0, SOCKS - 1)),
    st.tuples(st.just("error"), st.integers(0, SOCKS - 1)),
    st.tuples(st.just("rcvbuf"), st.integers(0, SOCKS - 1), st.sampled_from((1, 5000))),
    st.tuples(st.just("burst"), st.integers(0, SOCKS - 1), st.integers(0, PORTS - 1)),
    st.tuples(st.just("drain"), st.integers(0, SOCKS - 1)),
    st.tuples(st.just("wait"), st.sampled_from((0.01,))),
)


class Side:
    def __init__(self, sm: Any, sel: Any, ports: list[int], kernel: Kernel | None) -> None:
        self.sm, self.sel, self.kernel = sm, sel, kernel
        self.ports = ports
        self.socks: list[Any] = []

    def port(self, slot: int) -> int:
        return 0 if slot >= len(self.ports) else self.ports[slot]

    def shown(self, addr: Any) -> Any:
        if isinstance(addr, tuple) and len(addr) == 2:
            host, port = addr
            slot = self.ports.index(port) if port in self.ports else (
                "zero" if port == 0 else "ephemeral")
            return host, slot
        return addr

    def sock(self, i: int) -> Any:
        return self.socks[i % len(self.socks)] if self.socks else None

    def step(self, o: tuple[Any, ...]) -> Any:
        try:
            return self._step(o)
        except OSError as exc:
            return ("error", type(exc).__name__, errno.errorcode.get(exc.errno or 0))
        except (ValueError, TypeError) as exc:
            return ("error", type(exc).__name__)

    def _step(self, o: tuple[Any, ...]) -> Any:
        what = o[0]
        sm = self.sm
        if what == "wait":
            if self.kernel is None:
                time.sleep(o[1])
            else:
                sleep(self.kernel, o[1])
            return "waited"
        if what == "socket":
            extra = {} if self.kernel is None else {"kernel": self.kernel}
            s = sm.socket(sm.AF_INET, sm.SOCK_DGRAM, **extra)
            s.setblocking(False)
            self.socks.append(s)
            return f"s{len(self.socks) - 1}"
        s = self.sock(o[1])
        if s is None:
            return "no socket"
        if what == "bind":
            return s.bind(("127.0.0.1", self.port(o[2])))
        if what == "connect":
            return s.connect(("127.0.0.1", self.port(o[2])))
        if what == "send":
            return s.send(b"u" * o[2])
        if what == "sendto":
            return s.sendto(b"v" * o[3], ("127.0.0.1", self.port(o[2])))
        if what == "recv":
            return s.recv(o[2])
        if what == "recvfrom":
            data, addr = s.recvfrom(o[2])
            return data, self.shown(addr)
        if what == "close":
            s.close()
            return "closed"
        if what == "names":
            return self.shown(self._name(s.getsockname)), self.shown(self._name(s.getpeername))
        if what == "select":
            r, w, _x = self.sel.select([s], [s], [], 0)
            return bool(r), bool(w)
        if what == "error":
            return errno.errorcode.get(s.getsockopt(sm.SOL_SOCKET, sm.SO_ERROR), 0)
        if what == "rcvbuf":
            return s.setsockopt(sm.SOL_SOCKET, sm.SO_RCVBUF, o[2])
        if what == "burst":  # more than a small receive buffer holds
            return [self.step(("sendto", o[1], o[2], 1000))[0] == "error" for _ in range(8)]
        if what == "drain":
            got = []
            while True:
                try:
                    got.append(len(s.recv(70000)))
                except BlockingIOError:
                    return got
        raise AssertionError(what)

    @staticmethod
    def _name(fn: Any) -> Any:
        try:
            return fn()
        except OSError as exc:
            return errno.errorcode.get(exc.errno or 0)

    def close(self) -> None:
        for s in self.socks:
            s.close()


# The oracle is the kernel under this test: its answers match Linux 6.18's,
# the version usernet follows.
pytestmark = pytest.mark.skipif(
    tuple(int(x) for x in re.findall(r"\d+", platform.release())[:2]) < (6, 18),
    reason=f"the live oracle needs Linux >= 6.18, this is {platform.release()}")


# UDP_MODEL_EXAMPLES=5000 UDP_MODEL_RANDOM=1 explores beyond the fixed examples
@settings(max_examples=int(os.environ.get("UDP_MODEL_EXAMPLES", "200")),
          derandomize=not os.environ.get("UDP_MODEL_RANDOM"), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=int(os.environ.get("UDP_MODEL_STEPS", "30"))))
def test_operations_agree_with_the_kernel(ops: list[tuple[Any, ...]]) -> None:
    k = Kernel(link_delay_ns=0)
    k.script("ip link set lo up")
    real = Side(socket, select, free_ports(PORTS), None)
    emu = Side(us, uselect, [40001, 40002, 40003], k)
    try:
        for i, o in enumerate(ops):
            want, got = real.step(o), emu.step(o)
            assert got == want, f"step {i} {o}: kernel {want!r}, usernet {got!r}\n{ops[:i + 1]}"
    finally:
        real.close()
        emu.close()
