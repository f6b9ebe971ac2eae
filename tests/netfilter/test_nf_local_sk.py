"""Locally generated packets reach OUTPUT and POSTROUTING with their socket
(skb->sk): TCP's own segments too, also once the neighbour is known (the
transmit shortcut that skips ip_output is only for namespaces without
rules)."""

from __future__ import annotations

import time

import usernet
from usernet import Kernel
from usernet.testing import VETH_PAIR


def _echo_server() -> None:
    import socket

    s = socket.socket()
    s.bind(("0.0.0.0", 80))
    s.listen()
    c, _ = s.accept()
    while data := c.recv(10):
        c.send(data)
    c.close()


def _client() -> None:
    import socket

    c = socket.socket()
    c.connect(("10.0.0.2", 80))
    for _ in range(5):
        c.send(b"hi")
        c.recv(10)
    c.close()


def test_every_tcp_segment_passes_output_and_postrouting() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    k.cmd("ip netns exec a iptables -A OUTPUT -p tcp")
    k.cmd("ip netns exec a iptables -t mangle -A POSTROUTING -p tcp")
    with usernet.patched(k):
        k.spawn(_echo_server, netns="b")
        time.sleep(0.1)
        k.spawn(_client, netns="a").result(timeout=5)
        time.sleep(1)
    # SYN, ACK, 5 data segments, their ACKs folded into the next ones, FIN, ACK
    out = k.cmd("ip netns exec a iptables -L OUTPUT -v -x -n").stdout.splitlines()[2].split()
    post = k.cmd("ip netns exec a iptables -t mangle -L POSTROUTING -v -x -n")
    assert int(out[0]) >= 9
    assert post.stdout.splitlines()[2].split()[0] == out[0]
