"""TCP over a veth pair: handshake, data both ways, orderly close."""

from __future__ import annotations

from tcp_helpers import Blocking

from usernet import Kernel
from usernet.testing import VETH_PAIR


def test_echo_over_veth() -> None:
    k = Kernel()
    k.script(VETH_PAIR)

    def server() -> bytes:
        ls = Blocking(k)
        ls.bind("0.0.0.0", 7000)
        ls.listen(8)
        c = ls.accept()
        data = c.recv(100)
        c.sendall(data.upper())
        rest = c.recv(100)
        c.close()
        ls.close()
        return data + rest

    def client() -> bytes:
        c = Blocking(k)
        c.connect("10.0.0.2", 7000)
        c.sendall(b"hello")
        got = c.recv(100)
        c.close()
        return got

    srv = k.spawn(server, netns="b")
    cli = k.spawn(client, netns="a")
    k.run()
    assert cli.result() == b"HELLO"
    assert srv.result() == b"hello"
