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
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tcp_model import LoopbackSide, run_loopback

from usernet.testing import kernel_release_at_least

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
    st.tuples(st.just("recvmsg"), st.integers(0, SOCKS - 1), st.sampled_from((4, 70000)),
              st.booleans()),
    st.tuples(st.just("wait"), st.sampled_from((0.01,))),
)


class Side(LoopbackSide):
    def do(self, o: tuple[Any, ...]) -> Any:
        what = o[0]
        sm = self.sm
        if what == "wait":
            return self.wait(o[1])
        if what == "socket":
            return self.add(self.new_socket(sm.AF_INET, sm.SOCK_DGRAM))
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
        if what == "recvmsg":
            data, anc, flags, addr = s.recvmsg(o[2], 0, sm.MSG_PEEK if o[3] else 0)
            return data, anc, flags, self.shown(addr)
        if what == "close":
            s.close()
            return "closed"
        if what == "names":
            return self.names(s)
        if what == "select":
            return self.ready(s)
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


# The oracle is the kernel under this test: its answers match Linux 6.18's,
# the version usernet follows.
pytestmark = pytest.mark.skipif(not kernel_release_at_least(6, 18),
                                reason="the live oracle needs Linux >= 6.18")


# UDP_MODEL_EXAMPLES=5000 UDP_MODEL_RANDOM=1 explores beyond the fixed examples
@settings(max_examples=int(os.environ.get("UDP_MODEL_EXAMPLES", "200")),
          derandomize=not os.environ.get("UDP_MODEL_RANDOM"), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=int(os.environ.get("UDP_MODEL_STEPS", "30"))))
def test_operations_agree_with_the_kernel(ops: list[tuple[Any, ...]]) -> None:
    run_loopback(ops, Side)
