"""Sockets record their creator's credentials (the file's f_cred, and
sk_uid): a TCP child gets the accepting task's when accept() gives it a
file, and a socket loses its file's when close() orphans it (not sk_uid)."""

from __future__ import annotations

from usernet import Cred, Kernel
from usernet.ipv4.raw import RawSocket
from usernet.sock import CTL_SK, sk_to_full_sk
from usernet.socket import socket
from usernet.transport.tcp import TcpSock
from usernet.transport.udp import UdpSock


def test_sockets_take_the_creating_tasks_cred() -> None:
    k = Kernel()
    assert UdpSock(k.init_net).file_cred == Cred(0, 0)
    with k.netns(k.init_net, cred=Cred(1000, 1001)):
        assert UdpSock(k.init_net).file_cred == Cred(1000, 1001)
        assert TcpSock(k.init_net).file_cred == Cred(1000, 1001)
        assert RawSocket(k.init_net, 1).file_cred == Cred(1000, 1001)
    assert CTL_SK.file_cred is None


def test_tcp_child_has_the_acceptors_cred_and_close_orphans() -> None:
    k = Kernel()
    k.cmd("ip link set lo up")
    with k.netns(k.init_net, cred=Cred(1, 2)):
        lsn = socket(kernel=k)
    lsn.bind(("127.0.0.1", 80))
    lsn.listen()
    cli = socket(kernel=k)
    cli.setblocking(False)
    cli.connect_ex(("127.0.0.1", 80))
    k.sched.run_until(k.sched.now + 10_000_000)  # the handshake
    lsk = lsn._sk()
    assert isinstance(lsk, TcpSock) and lsk.file_cred == Cred(1, 2)
    child = lsk.acceptq[0]
    assert child.file_cred is None  # in the queue: no struct socket, no file
    assert child.sk_uid == 1  # sk_clone_lock copied the listener's
    with k.netns(k.init_net, cred=Cred(33, 44)):
        conn, _ = lsn.accept()
    assert conn._sk() is child and child.file_cred == Cred(33, 44)
    conn.close()
    assert child.file_cred is None  # orphaned
    assert child.sk_uid == 33  # sock_graft set it; it stays with the orphan
    assert sk_to_full_sk(None) is None


def test_request_socket_stands_for_its_listener() -> None:
    class Req:
        listener = object()

    assert sk_to_full_sk(Req()) is Req.listener
    assert sk_to_full_sk(CTL_SK) is CTL_SK
