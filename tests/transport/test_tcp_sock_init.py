"""TcpSock.__init__ inlines Sock.__init__ and TcpSock.clone copies Sock's
slots one by one; TcpSock keeps its fields in slots that generated code
fills: both must set exactly what the generic code would (every field its
initial value; a child inheriting exactly _INHERITED from its listener)."""

from __future__ import annotations

import socket as _s
from typing import Any

from usernet import Kernel
from usernet.sock import Sock
from usernet.transport.tcp import (
    _CLONE_SLOTS,
    _FIELDS,
    _INHERITED,
    IPPROTO_TCP,
    TcpSock,
    sysctl_vec,
)

SLOTS = tuple(name for name in Sock.__slots__ if name != "__weakref__")
# what a child gets fresh rather than from its listener
FRESH = {"net", "wq", "sk_err", "sk_shutdown", "closed", "opts", "file_cred"}


def test_clone_and_init_cover_every_sock_slot() -> None:
    # a slot added to Sock must be added to TcpSock.__init__ and clone too
    assert set(SLOTS) == _CLONE_SLOTS


def test_init_sets_what_sock_init_would() -> None:
    net = Kernel().init_net
    for proto in (0, IPPROTO_TCP):
        before = net.refcnt
        sk = TcpSock(net, _s.AF_INET, _s.SOCK_STREAM, proto)
        assert net.refcnt == before + 1  # one reference, as Sock.__init__ takes
        ref = TcpSock.__new__(TcpSock)
        Sock.__init__(ref, net, _s.AF_INET, _s.SOCK_STREAM, IPPROTO_TCP)
        for name in SLOTS:
            if name in ("wq", "rcvbuf", "sndbuf"):
                continue
            assert getattr(sk, name) == getattr(ref, name), name
        assert type(sk.wq) is type(ref.wq) and not sk.wq.waiters
        assert sk.rcvbuf == sysctl_vec(net, "net.ipv4.tcp_rmem")[1]
        assert sk.sndbuf == sysctl_vec(net, "net.ipv4.tcp_wmem")[1]
        assert sk.opts == {} and sk.opts is not TcpSock(net).opts


def test_clone_copies_or_resets_each_slot() -> None:
    k = Kernel()
    net = k.init_net
    lsk = TcpSock(net)
    values: dict[str, Any] = {"family": 99, "type": 98, "protocol": 97, "bound_dev": object(),
                              "mark": 7, "rcvbuf": 12345, "sndbuf": 23456, "sk_err": 5,
                              "sk_shutdown": 3, "closed": True,
                              "opts": {(1, 2): 3}}
    for name, value in values.items():
        setattr(lsk, name, value)
    lsk.reuse = True
    lsk.keepalive = True
    lsk.user_mss = 1000
    before = net.refcnt
    child = TcpSock.clone(lsk)
    assert net.refcnt == before + 1
    assert child.net is net
    for name in SLOTS:
        if name not in FRESH:
            assert getattr(child, name) is getattr(lsk, name), name
    assert child.wq is not lsk.wq and not child.wq.waiters
    assert (child.sk_err, child.sk_shutdown, child.closed) == (0, 0, False)
    assert child.file_cred is None  # no file before accept()
    assert child.opts == lsk.opts and child.opts is not lsk.opts
    assert (child.reuse, child.keepalive, child.user_mss) == (True, True, 1000)
    lsk.opts = {}
    assert TcpSock.clone(lsk).opts == {}


def _distinct(value: Any, i: int) -> Any:
    """A value unlike ``value`` (and unlike every other field's)."""
    if isinstance(value, bool):
        return not value
    return 1000 + i


def test_fields_start_at_their_initial_values() -> None:
    net = Kernel().init_net
    lsk = TcpSock(net)
    lsk.ttl = 9
    for sk in (TcpSock(net), TcpSock.clone(lsk)):
        for name, value in _FIELDS.items():
            if sk is not lsk and name == "ttl":
                continue
            assert getattr(sk, name) == value, name
        assert sk.__dict__ == {}  # every field lives in a slot


def test_child_inherits_exactly_the_listener_options() -> None:
    net = Kernel().init_net
    lsk = TcpSock(net)
    for i, (name, value) in enumerate(_FIELDS.items()):
        setattr(lsk, name, _distinct(value, i))
    child = TcpSock.clone(lsk)
    for name, value in _FIELDS.items():
        want = getattr(lsk, name) if name in _INHERITED else value
        assert getattr(child, name) == want, name
