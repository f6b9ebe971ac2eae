"""usernet.socket's API surface: the stdlib's names, objects, modes and errors."""

from __future__ import annotations

import errno
import io
import socket as stdsocket

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.testing import VETH_PAIR
from usernet.wait import WouldBlockForever


@pytest.fixture
def k() -> Kernel:
    kernel = Kernel()
    kernel.script(VETH_PAIR)
    return kernel


def test_constants_are_the_stdlib_objects() -> None:
    for name in ("AF_INET", "SOCK_DGRAM", "SOL_SOCKET", "SO_REUSEPORT", "MSG_PEEK",
                 "IPPROTO_UDP", "SHUT_RDWR", "AI_PASSIVE", "EAI_NONAME", "INADDR_ANY"):
        assert getattr(us, name) is getattr(stdsocket, name)
    assert us.error is OSError and us.timeout is TimeoutError
    assert us.gaierror is stdsocket.gaierror and us.herror is stdsocket.herror
    assert us.inet_aton("10.0.0.1") == b"\n\0\0\x01"
    assert not us.has_ipv6 and not us.has_dualstack_ipv6()
    # no SCM_RIGHTS (no ancillary data) and no C API capsule
    assert set(stdsocket.__all__) - set(us.__all__) == {"send_fds", "recv_fds", "CAPI"}


def test_identity_repr_and_descriptors(k: Kernel) -> None:
    with k.netns("a"):
        a = us.socket(us.AF_INET, us.SOCK_DGRAM)
        b = us.socket(us.AF_INET, us.SOCK_DGRAM | us.SOCK_NONBLOCK)
    assert a.family is us.AF_INET and a.type is us.SOCK_DGRAM and a.proto == 0
    assert b.type is us.SOCK_DGRAM and b.gettimeout() == 0.0 and not b.getblocking()
    assert (a.fileno(), b.fileno()) == (3, 4)  # the lowest free descriptors
    assert repr(a) == ("<usernet.socket.socket fd=3, family=2, type=2, proto=0, "
                       "laddr=('0.0.0.0', 0)>")
    a.close()
    assert repr(a) == "<usernet.socket.socket [closed] fd=-1, family=2, type=2, proto=0>"
    assert a.fileno() == -1
    with pytest.raises(OSError) as info:
        a.send(b"x")
    assert info.value.errno == errno.EBADF and info.value.strerror == "Bad file descriptor"
    with k.netns("a"):
        c = us.socket(us.AF_INET, us.SOCK_DGRAM)
    assert c.fileno() == 3  # reused, lowest first
    a.close()  # closing twice is fine
    b.close()
    c.close()


def test_creation_errors(k: Kernel) -> None:
    with k.netns("a"):
        for args, err in (((us.AF_INET, us.SOCK_DGRAM, us.IPPROTO_TCP), errno.EPROTONOSUPPORT),
                          ((us.AF_INET, 9, 0), errno.ESOCKTNOSUPPORT),
                          ((99, us.SOCK_DGRAM, 0), errno.EAFNOSUPPORT),
                          ((us.AF_INET6, us.SOCK_DGRAM, 0), errno.EAFNOSUPPORT),
                          ((us.AF_INET, us.SOCK_DGRAM, us.IPPROTO_ICMP), errno.EACCES),
                          ((us.AF_INET, us.SOCK_RAW, 0), errno.EPROTONOSUPPORT)):
            with pytest.raises(OSError) as info:
                us.socket(*args)
            assert info.value.errno == err, args
    with pytest.raises(RuntimeError, match="no kernel here"):
        us.socket(us.AF_INET, us.SOCK_DGRAM)


def test_errors_are_cpythons(k: Kernel) -> None:
    with k.netns("a"):
        u = us.socket(us.AF_INET, us.SOCK_DGRAM)
        v = us.socket(us.AF_INET, us.SOCK_DGRAM)
    u.bind(("10.0.0.1", 7000))
    with pytest.raises(OSError) as info:
        v.bind(("0.0.0.0", 7000))
    assert type(info.value) is OSError and info.value.args == (98, "Address already in use")
    with pytest.raises(OSError) as info:
        v.send(b"x")
    assert info.value.args == (errno.EDESTADDRREQ, "Destination address required")
    with pytest.raises(PermissionError):
        v.sendto(b"x", ("10.0.0.255", 9))
    with pytest.raises(TypeError, match="bind\\(\\): AF_INET address must be tuple, not str"):
        v.bind("10.0.0.1")
    with pytest.raises(OverflowError, match="port must be 0-65535"):
        v.bind(("10.0.0.1", 70000))
    with pytest.raises(ValueError, match="negative buffersize"):
        v.recv(-1)
    u.close()
    v.close()


def test_timeouts_run_in_virtual_time(k: Kernel) -> None:
    with k.netns("a"):
        u = us.socket(us.AF_INET, us.SOCK_DGRAM)
    u.bind(("", 5000))
    u.settimeout(2.5)
    t0 = k.sched.now
    with pytest.raises(TimeoutError) as info:
        u.recv(10)
    assert info.value.args == ("timed out",) and info.value.errno is None
    assert k.sched.now - t0 == 2_500_000_000
    u.setblocking(False)
    with pytest.raises(BlockingIOError) as bio:
        u.recv(10)
    assert bio.value.args == (errno.EAGAIN, "Resource temporarily unavailable")
    u.setblocking(True)
    assert u.gettimeout() is None
    with pytest.raises(WouldBlockForever):
        u.recv(10)  # outside any task, nothing could ever arrive
    with pytest.raises(ValueError, match="Timeout value out of range"):
        u.settimeout(-1)
    with pytest.raises(TypeError):
        u.settimeout("1")  # type: ignore[arg-type]
    u.close()


def test_default_timeout_applies_to_new_sockets(k: Kernel) -> None:
    us.setdefaulttimeout(1.5)
    try:
        with k.netns("a"):
            u = us.socket(us.AF_INET, us.SOCK_DGRAM)
        assert u.gettimeout() == 1.5
        u.close()
    finally:
        us.setdefaulttimeout(None)
    assert us.getdefaulttimeout() is None


def test_msg_dontwait_and_peek(k: Kernel) -> None:
    assert k.cmd("ip -n a link set lo up").ok
    with k.netns("a"):
        u = us.socket(us.AF_INET, us.SOCK_DGRAM)
    u.bind(("127.0.0.1", 5000))
    with pytest.raises(BlockingIOError):
        u.recv(10, us.MSG_DONTWAIT)
    u.sendto(b"hello", ("127.0.0.1", 5000))
    assert u.recv(2, us.MSG_PEEK) == b"he"
    buf = bytearray(10)
    n, addr = u.recvfrom_into(buf)
    assert (n, bytes(buf[:n]), addr) == (5, b"hello", ("127.0.0.1", 5000))
    u.close()


def test_sockopts(k: Kernel) -> None:
    with k.netns("a"):
        u = us.socket(us.AF_INET, us.SOCK_DGRAM)
    g = u.getsockopt
    assert (g(us.SOL_SOCKET, us.SO_TYPE), g(us.SOL_SOCKET, us.SO_PROTOCOL)) == (2, 17)
    assert g(us.SOL_SOCKET, us.SO_RCVBUF) == g(us.SOL_SOCKET, us.SO_SNDBUF) == 212992
    u.setsockopt(us.SOL_SOCKET, us.SO_RCVBUF, 1)
    u.setsockopt(us.SOL_SOCKET, us.SO_SNDBUF, 5000)
    assert (g(us.SOL_SOCKET, us.SO_RCVBUF), g(us.SOL_SOCKET, us.SO_SNDBUF)) == (2304, 10000)
    u.setsockopt(us.SOL_SOCKET, us.SO_RCVBUF, 10**7)
    assert g(us.SOL_SOCKET, us.SO_RCVBUF) == 2 * 212992  # net.core.rmem_max
    u.setsockopt(us.SOL_SOCKET, us.SO_REUSEADDR, 5)
    assert g(us.SOL_SOCKET, us.SO_REUSEADDR) == 1
    assert g(us.IPPROTO_IP, us.IP_TTL) == 64
    for bad in (0, 256):
        with pytest.raises(OSError) as info:
            u.setsockopt(us.IPPROTO_IP, us.IP_TTL, bad)
        assert info.value.errno == errno.EINVAL
    u.setsockopt(us.IPPROTO_IP, us.IP_TTL, 5)
    assert g(us.IPPROTO_IP, us.IP_TTL, 4) == b"\x05\0\0\0"
    with pytest.raises(OSError) as info:
        u.setsockopt(us.IPPROTO_TCP, us.TCP_NODELAY, 1)
    assert info.value.errno == errno.ENOPROTOOPT
    with pytest.raises(OSError) as info:
        u.setsockopt(us.SOL_SOCKET, us.SO_BINDTODEVICE, b"nosuch")
    assert info.value.errno == errno.ENODEV
    u.setsockopt(us.SOL_SOCKET, us.SO_BINDTODEVICE, b"v0")
    assert g(us.SOL_SOCKET, us.SO_BINDTODEVICE, 16) == b"v0\0"
    with pytest.raises(OSError, match="buflen out of range"):
        g(us.SOL_SOCKET, us.SO_TYPE, 2000)
    u.close()


def test_dup_detach_and_context_manager(k: Kernel) -> None:
    with k.netns("a"):
        u = us.socket(us.AF_INET, us.SOCK_DGRAM)
    u.bind(("", 6000))
    d = u.dup()
    assert d.fileno() != u.fileno() and d.getsockname() == ("0.0.0.0", 6000)
    u.close()
    assert d.getsockname() == ("0.0.0.0", 6000)  # the socket lives while a descriptor does
    fd = d.detach()
    assert d.fileno() == -1
    with us.socket(fileno=fd, kernel=k) as again:
        assert again.type is us.SOCK_DGRAM and again.getsockname() == ("0.0.0.0", 6000)
    with k.netns("a"), us.socket(us.AF_INET, us.SOCK_DGRAM) as fresh:
        fresh.bind(("", 6000))  # the port was released by the last close


def test_makefile_over_socketpair(k: Kernel) -> None:
    with k.netns("a"):
        a, b = us.socketpair()
    assert a.family is us.AF_UNIX and a.getsockname() == "" and a.getpeername() == ""
    w = a.makefile("w", encoding="utf-8")
    r = b.makefile("rb")
    assert isinstance(r, io.BufferedReader)
    w.write("first line\nsecond ")
    w.flush()
    assert r.readline() == b"first line\n"
    w.write("line\n")
    w.close()
    a.close()  # the last reference: b sees end-of-file
    assert r.read() == b"second line\n"
    r.close()
    b.close()
    with pytest.raises(ValueError, match="invalid mode"):
        a.makefile("rx")


def test_makefile_defers_close(k: Kernel) -> None:
    with k.netns("a"):
        a, b = us.socketpair()
    f = a.makefile("wb")
    a.close()
    assert a.fileno() != -1  # open until the file goes too, as in CPython
    f.write(b"x")
    f.close()
    assert a.fileno() == -1
    assert b.recv(10) == b"x" and b.recv(10) == b""
    b.close()


def test_socketpair_epipe_and_nonblocking(k: Kernel) -> None:
    with k.netns("a"):
        a, b = us.socketpair(us.AF_UNIX, us.SOCK_DGRAM)
    a.sendall(b"one")
    a.send(b"two")
    assert b.recv(100) == b"one" and b.recv(100) == b"two"
    b.setblocking(False)
    with pytest.raises(BlockingIOError):
        b.recv(100)
    b.close()
    # unix_dgram_sendmsg: the dead peer refuses once and is forgotten
    with pytest.raises(ConnectionRefusedError):
        a.send(b"x")
    with pytest.raises(OSError) as gone:
        a.send(b"x")
    assert gone.value.errno == errno.ENOTCONN
    a.close()
    with k.netns("a"), pytest.raises(OSError) as info:
        us.socketpair(us.AF_INET)
    assert info.value.errno == errno.EOPNOTSUPP


def test_sendfile(k: Kernel) -> None:
    with k.netns("a"):
        a, b = us.socketpair()
    data = bytes(range(256)) * 100
    n = a.sendfile(io.BytesIO(data), offset=10, count=20000)
    assert n == 20000
    got = b""
    while len(got) < n:
        got += b.recv(65536)
    assert got == data[10:20010]
    with k.netns("a"), us.socket(us.AF_INET, us.SOCK_DGRAM) as u, \
            pytest.raises(ValueError, match="only SOCK_STREAM"):
        u.sendfile(io.BytesIO(b"x"))
    a.close()
    b.close()


def test_current_kernel_sources(k: Kernel) -> None:
    with us.use_kernel(k):
        assert us.current_kernel() is k
        u = us.socket(us.AF_INET, us.SOCK_DGRAM)  # in the init task's namespace
        assert u.sock.net is k.init_net
        u.close()
    with k.netns("b"):
        assert us.current_kernel() is k
    p = k.spawn(lambda: us.current_kernel() is k, netns="a")
    assert p.result() is True
