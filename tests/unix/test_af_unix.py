"""AF_UNIX behaviour the differential cases cannot show: waiting in virtual
time, which namespace a socket lands in, credentials of emulated tasks,
seeded autobind names, and errors that leave everything as it was."""

from __future__ import annotations

import errno
import os
import stat
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.task import Cred


@pytest.fixture
def k() -> Kernel:
    kernel = Kernel(seed=7)
    kernel.script("ip netns add a\nip netns add b")
    return kernel


@pytest.fixture
def tmp(tmp_path: Path) -> Iterator[str]:
    yield str(tmp_path)


def test_blocking_connect_waits_for_room_in_virtual_time(k: Kernel) -> None:
    """listen(0) queues one connection; a blocking connector waits until
    accept() makes room (unix_wait_for_peer), and a timeout is no wait."""
    with k.netns("a"):
        lst = us.socket(us.AF_UNIX, us.SOCK_STREAM)
    lst.bind(b"\0room")
    lst.listen(0)
    log: list[tuple[str, int]] = []

    def connector(name: str) -> None:
        c = us.socket(us.AF_UNIX, us.SOCK_STREAM)
        c.connect(b"\0room")
        log.append((name, k.sched.now))

    def acceptor() -> None:
        us_sleep(k, 0.5)
        for _ in range(2):
            lst.accept()[0].close()

    k.spawn(connector, "first", netns="a")
    k.spawn(connector, "second", netns="a")
    k.spawn(acceptor, netns="a")
    k.run()
    assert log == [("first", 0), ("second", 500_000_000)]

    lst.listen(0)
    with k.netns("a"):
        fill = us.socket(us.AF_UNIX, us.SOCK_STREAM)
        fill.connect(b"\0room")
        timed = us.socket(us.AF_UNIX, us.SOCK_STREAM)
    timed.settimeout(5)
    with pytest.raises(BlockingIOError):  # CPython waits for EINPROGRESS only
        timed.connect(b"\0room")
    assert k.sched.now == 500_000_000


def us_sleep(k: Kernel, seconds: float) -> None:
    from usernet.wait import sleep

    sleep(k, seconds)


def test_accepted_socket_belongs_to_the_connecting_namespace(k: Kernel, tmp: str) -> None:
    """unix_stream_connect makes the server's end in the client's namespace."""
    path = os.path.join(tmp, "s.sock")
    with k.netns("a"):
        lst = us.socket(us.AF_UNIX, us.SOCK_STREAM)
        lst.bind(path)
        lst.listen()
    with k.netns("b"):
        c = us.socket(us.AF_UNIX, us.SOCK_STREAM)
        c.connect(path)
    conn, addr = lst.accept()
    net_of = {id(n): name for name, n in k.netns_names.items()}
    assert addr == ""
    assert net_of[id(lst._sk().net)] == "a"
    assert net_of[id(conn._sk().net)] == "b"
    assert net_of[id(c._sk().net)] == "b"


def test_peercred_names_the_processes_and_their_credentials(k: Kernel) -> None:
    def server() -> tuple[int, int, int]:
        lst = us.socket(us.AF_UNIX, us.SOCK_STREAM)
        lst.bind(b"\0cred")
        lst.listen()
        conn, _ = lst.accept()
        pid, uid, gid = struct.unpack("iii", conn.getsockopt(us.SOL_SOCKET, us.SO_PEERCRED, 12))
        return pid, uid, gid

    def client() -> tuple[int, int, int]:
        c = us.socket(us.AF_UNIX, us.SOCK_STREAM)
        c.connect(b"\0cred")
        pid, uid, gid = struct.unpack("iii", c.getsockopt(us.SOL_SOCKET, us.SO_PEERCRED, 12))
        return pid, uid, gid

    srv = k.spawn(server, netns="a", cred=Cred(100, 200))
    cli = k.spawn(client, netns="a", cred=Cred(1000, 1001))
    k.run()
    assert srv.result() == (cli.pid, 1000, 1001)
    assert cli.result() == (srv.pid, 100, 200)  # the listener's, from listen()


def test_autobind_names_follow_the_seed() -> None:
    def names(seed: int) -> list[bytes]:
        k = Kernel(seed=seed)
        out = []
        for _ in range(3):
            s = us.socket(us.AF_UNIX, us.SOCK_DGRAM, kernel=k)
            s.bind("")
            out.append(s.getsockname())
        return out

    first = names(1)
    assert first == names(1) and first != names(2)
    assert all(len(n) == 6 and n[0] == 0 for n in first)
    assert len(set(first)) == 3  # each from a random start (get_random_u32)


def test_socket_file_mode_follows_the_umask(k: Kernel, tmp: str) -> None:
    old = os.umask(0o027)
    try:
        s = us.socket(us.AF_UNIX, us.SOCK_STREAM, kernel=k)
        s.bind(os.path.join(tmp, "m.sock"))
    finally:
        os.umask(old)
    mode = os.stat(os.path.join(tmp, "m.sock")).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o750


def test_failed_calls_leave_the_socket_as_it_was(k: Kernel, tmp: str) -> None:
    s = us.socket(us.AF_UNIX, us.SOCK_STREAM, kernel=k)
    for bad, exc in ((os.path.join(tmp, "no", "x"), FileNotFoundError),
                     ("/" + "x" * 200, OSError), (12, TypeError)):
        with pytest.raises(exc):
            s.bind(bad)
        assert s.getsockname() == ""
    with pytest.raises(OSError) as info:
        s.listen()  # unbound: EINVAL
    assert info.value.errno == errno.EINVAL
    s.bind(os.path.join(tmp, "ok.sock"))
    assert s.getsockname() == os.path.join(tmp, "ok.sock")
    assert k.unix_table.bsd  # the name is taken, once
    s.close()
    assert not k.unix_table.bsd and not k.unix_table.abstract
    assert os.path.exists(os.path.join(tmp, "ok.sock"))  # the file outlives the socket


def test_two_kernels_share_the_filesystem_not_the_sockets(tmp: str) -> None:
    """A socket file of another kernel is a stale file here: refused."""
    path = os.path.join(tmp, "other.sock")
    k1, k2 = Kernel(), Kernel()
    s1 = us.socket(us.AF_UNIX, us.SOCK_STREAM, kernel=k1)
    s1.bind(path)
    s1.listen()
    c2 = us.socket(us.AF_UNIX, us.SOCK_STREAM, kernel=k2)
    with pytest.raises(ConnectionRefusedError):
        c2.connect(path)
    s2 = us.socket(us.AF_UNIX, us.SOCK_STREAM, kernel=k2)
    with pytest.raises(OSError) as info:
        s2.bind(path)
    assert info.value.errno == errno.EADDRINUSE


def test_namespace_teardown_keeps_open_sockets_working(k: Kernel) -> None:
    """A socket holds its namespace: deleting the name (ip netns del) does
    not end a connection made there."""
    with k.netns("b"):
        a, b = us.socketpair()
        lst = us.socket(us.AF_UNIX, us.SOCK_STREAM)
        lst.bind(b"\0kept")
        lst.listen()
    k.script("ip netns del b")
    a.sendall(b"still here")
    assert b.recv(100) == b"still here"
    with k.netns("a"):
        c = us.socket(us.AF_UNIX, us.SOCK_STREAM)
    with pytest.raises(ConnectionRefusedError):  # another namespace's name
        c.connect(b"\0kept")
    for sock in (a, b, lst, c):
        sock.close()
    assert not k.unix_table.abstract


# sk_wmem_alloc after one send, read off `ss -xm` (skmem t) on 6.18
MEASURED_DGRAM = [(1, 768), (193, 1280), (1000, 2304), (3000, 4352), (3800, 8448),
                  (4000, 8448), (9000, 16640), (16000, 16640), (17000, 20736), (40000, 41216),
                  (70000, 73984), (150000, 200960)]
MEASURED_STREAM = [(1, 768), (193, 1280), (1000, 2304), (3000, 4352)]


def test_truesize_model_matches_the_kernel() -> None:
    from usernet.unix.skb import unix_dgram_truesize, unix_stream_truesize

    assert [(n, unix_dgram_truesize(n)) for n, _ in MEASURED_DGRAM] == MEASURED_DGRAM
    assert [(n, unix_stream_truesize(n)) for n, _ in MEASURED_STREAM] == MEASURED_STREAM


def test_bound_file_is_held_until_the_last_socket_on_it_goes(k: Kernel, tmp: str) -> None:
    """u->path: the listener and the connections accepted through it hold
    the socket file (one O_PATH descriptor), so its inode number is not
    given to another file after an unlink; the last close lets it go."""
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_fds()
    path = os.path.join(tmp, "held.sock")
    lst = us.socket(us.AF_UNIX, us.SOCK_STREAM, kernel=k)
    lst.bind(path)
    lst.listen()
    key = lst._sk().bsd_key  # type: ignore[attr-defined]
    c = us.socket(us.AF_UNIX, us.SOCK_STREAM, kernel=k)
    c.connect(path)
    conn, _ = lst.accept()
    assert open_fds() == before + 1
    os.unlink(path)
    reused = []
    for i in range(50):
        other = os.path.join(tmp, f"f{i}")
        with open(other, "w"):
            pass
        reused.append(os.stat(other).st_ino)
        os.unlink(other)
    assert key is not None and key[1] not in reused
    lst.close()
    assert open_fds() == before + 1  # the accepted connection still holds it
    conn.close()
    c.close()
    assert open_fds() == before
