"""The ``socket`` class: CPython's socket API over usernet's kernel sockets.

A call goes to the :class:`~usernet.sock.Sock`, which never blocks.  When
it says EAGAIN (or EINPROGRESS, for a connect) a blocking socket waits on
the sock's wait queue, in virtual time, until ``poll()`` shows what the
call needs or an error, then tries again; a socket with a timeout gives up
at its deadline with ``TimeoutError('timed out')``; a non-blocking one
raises ``BlockingIOError`` at once.  Errors are CPython's: OSError with the
errno and ``os.strerror`` text, which Python maps to ConnectionRefusedError,
BrokenPipeError and the rest.
"""

from __future__ import annotations

import contextlib
import errno
import io
import socket as _s
import struct
import warnings
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any, TypeVar

from ..errors import KernelError
from ..sock import MSG_DONTWAIT, MSG_ERRQUEUE, POLLERR, POLLHUP, POLLIN, POLLOUT, Sock
from ..task import current_task
from ..unix.af_unix import UnixSock, unix_create, unix_pair
from ..wait import charge_cpu, softirq_exit, wait_event
from ._context import OpenFile, current_kernel, fd_table, from_kernel, oserror
from ._io import SocketIO
from ._netdb import addr_str, setipaddr
from ._unix import scm_credentials, scm_recv, unix_makesockaddr, unix_sockaddr

if TYPE_CHECKING:
    from ..kernel import Kernel

T = TypeVar("T")
NSEC = 1_000_000_000
SOCK_FLAGS = _s.SOCK_NONBLOCK | _s.SOCK_CLOEXEC
_default_timeout: float | None = None


def getdefaulttimeout() -> float | None:
    return _default_timeout


def setdefaulttimeout(timeout: float | None) -> None:
    global _default_timeout
    _default_timeout = _check_timeout(timeout)


def _check_timeout(value: Any) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float):
        raise TypeError("Timeout value must be int, float or None")
    if value < 0:
        raise ValueError("Timeout value out of range")
    return float(value)


def make_sock(kernel: Kernel, family: int, type: int, proto: int) -> Sock:
    """__sock_create + inet_create: the protocol's kernel socket, in the
    current task's namespace, for good."""
    net = current_task(kernel).net
    if family == _s.AF_UNIX:
        try:
            return unix_create(net, type, proto)
        except KernelError as exc:
            raise from_kernel(exc) from None
    if family != _s.AF_INET:
        raise oserror(errno.EAFNOSUPPORT)  # no IPv6 here
    if type == _s.SOCK_DGRAM:
        if proto in (0, _s.IPPROTO_UDP):
            from ..transport.udp import UdpSock

            return UdpSock(net)
        if proto == _s.IPPROTO_ICMP:
            raise oserror(errno.EACCES)  # ping sockets: net.ipv4.ping_group_range is "1 0"
        raise oserror(errno.EPROTONOSUPPORT)
    if type == _s.SOCK_STREAM:
        if proto not in (0, _s.IPPROTO_TCP):
            raise oserror(errno.EPROTONOSUPPORT)
        tcp = _tcp()
        if tcp is None:
            raise oserror(errno.EPROTONOSUPPORT)
        sk: Sock = tcp[0](net)
        return sk
    if type == _s.SOCK_RAW:
        if not 0 < proto < 256:
            raise oserror(errno.EPROTONOSUPPORT)
        from ..ipv4.raw import RawSocket

        return RawSocket(net, proto)
    raise oserror(errno.ESOCKTNOSUPPORT if 0 <= type < 11 else errno.EINVAL)


class socket:
    """socket.socket over usernet: ``socket(family, type, proto, fileno,
    kernel=k)``; without ``kernel`` the current one (see current_kernel)."""

    __slots__ = ("__weakref__", "_closed", "_family", "_fd", "_file", "_io_refs", "_kernel",
                 "_proto", "_timeout", "_type")
    __module__ = "usernet.socket"  # as repr() shows it

    def __init__(self, family: int = -1, type: int = -1, proto: int = -1,
                 fileno: int | None = None, *, kernel: Kernel | None = None) -> None:
        self._kernel = kernel or current_kernel()
        self._closed = False
        self._io_refs = 0
        self._fd = -1
        table = fd_table(self._kernel)
        if fileno is None:
            family = _s.AF_INET if family == -1 else family
            type = _s.SOCK_STREAM if type == -1 else type
            proto = 0 if proto == -1 else proto
            sk = make_sock(self._kernel, family, type & ~SOCK_FLAGS, proto)
            self._file = OpenFile(sk)
            self._fd = table.install(self._file)
        else:
            if fileno < 0:
                raise ValueError("negative file descriptor")
            file = table.get(fileno)
            if not isinstance(file, OpenFile):  # an epoll descriptor, say
                raise oserror(errno.ENOTSOCK)
            self._file = file
            self._fd = fileno
            sk = file.sk
            family = sk.family if family == -1 else family
            type = sk.type if type == -1 else type
            proto = sk.protocol if proto == -1 else proto
        self._family = family
        self._type = type & ~SOCK_FLAGS
        self._proto = proto
        self._timeout = 0.0 if type & _s.SOCK_NONBLOCK else _default_timeout

    # -- identity -------------------------------------------------------------------

    @property
    def family(self) -> _s.AddressFamily | int:
        try:
            return _s.AddressFamily(self._family)
        except ValueError:
            return self._family

    @property
    def type(self) -> _s.SocketKind | int:
        try:
            return _s.SocketKind(self._type)
        except ValueError:
            return self._type

    @property
    def proto(self) -> int:
        return self._proto

    @property
    def timeout(self) -> float | None:
        return self._timeout

    @property
    def kernel(self) -> Kernel:
        return self._kernel

    @property
    def sock(self) -> Sock:
        """The kernel socket (usernet's own; EBADF once closed)."""
        return self._sk()

    def fileno(self) -> int:
        return self._fd

    def __repr__(self) -> str:
        cls = type(self)
        text = (f"<{cls.__module__}.{cls.__qualname__}{' [closed]' if self._closed else ''} "
                f"fd={self._fd}, family={self._family}, type={self._type}, proto={self._proto}")
        if not self._closed:
            for label, get in (("laddr", self.getsockname), ("raddr", self.getpeername)):
                try:
                    addr = get()
                except OSError:
                    continue
                if addr:
                    text += f", {label}={addr}"
        return text + ">"

    def __getstate__(self) -> None:
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

    def __enter__(self) -> socket:
        return self

    def __exit__(self, *args: object) -> None:
        if not self._closed:
            self.close()

    def __del__(self) -> None:
        """CPython's finaliser: warn about, then close, a forgotten socket."""
        if getattr(self, "_fd", -1) != -1 and not self._closed:
            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=2, source=self)
            # as a dying process's files are closed (PF_EXITING): nothing
            # waits -- a finaliser runs in whatever task the collector
            # interrupted, perhaps of another kernel, and must not park it
            fd, self._fd = self._fd, -1
            with contextlib.suppress(OSError):
                fd_table(self._kernel).close(fd, exiting=True)

    # -- the machinery ----------------------------------------------------------------

    def _sk(self) -> Sock:
        if self._fd == -1:
            raise oserror(errno.EBADF)
        return self._file.sk

    def _deadline(self) -> int | None:
        t = self._timeout
        return None if not t else self._kernel.sched.now + int(t * NSEC)

    def _wait(self, sk: Sock, ready: Callable[[], bool], deadline: int | None,
              what: str) -> bool:
        """Sleep (virtual time) until ``ready()``; False when the deadline
        passed first."""
        left = None if deadline is None else max(0, deadline - self._kernel.sched.now)
        return wait_event(self._kernel, [sk.wq], ready, left, what=_Label(what, self))

    def _call(self, op: Callable[[int], T], mask: int, flags: int, what: str,
              deadline: int | None = None) -> T:
        """Run ``op(flags)`` as CPython's sock_call does for the socket's mode:
        once (non-blocking); letting the "kernel" block (no timeout); or
        polling up to the deadline, then trying without blocking (timeout)."""
        sk = self._sk()
        if self._timeout is None:
            return self._call_blocking(sk, op, mask, flags, what)
        if self._timeout == 0.0:
            return _kernel_op(op, flags | MSG_DONTWAIT)
        if deadline is None:
            deadline = self._deadline()

        def polled() -> bool:
            return bool(sk.poll() & (mask | POLLERR | POLLHUP))

        while True:
            if not self._wait(sk, polled, deadline, what):
                raise TimeoutError("timed out")
            try:
                return op(flags | MSG_DONTWAIT)
            except KernelError as exc:
                if exc.errno != errno.EAGAIN:
                    raise from_kernel(exc) from None
            if polled():  # ready yet EAGAIN, and it stays so: CPython spins to the deadline
                self._wait(sk, lambda: False, deadline, what)
                raise TimeoutError("timed out")

    def _call_blocking(self, sk: Sock, op: Callable[[int], T], mask: int, flags: int,
                       what: str) -> T:
        """A blocking system call: the kernel sleeps until the socket can make
        progress (data, room, an error, a hang-up).  EAGAIN on a socket that
        is ready is a real error (an exhausted port range, say), as in Linux."""
        def ready() -> bool:
            return bool(sk.poll() & (mask | POLLHUP) or sk.sk_err)

        while True:
            try:
                return op(flags)
            except KernelError as exc:
                if exc.errno != errno.EAGAIN or flags & MSG_DONTWAIT or ready():
                    raise from_kernel(exc) from None
            self._wait(sk, ready, None, what)

    def _addr(self, address: Any, caller: str) -> Any:
        """getsockaddrarg: AF_INET's ``(host, port)`` as (address, port)
        integers; AF_UNIX's path or abstract name as sun_path bytes."""
        if self._family == _s.AF_UNIX:
            return unix_sockaddr(address)
        if not isinstance(address, tuple):
            raise TypeError(f"{caller}(): AF_INET address must be tuple, "
                            f"not {type(address).__name__}")
        if len(address) != 2 or not isinstance(address[1], int):
            raise TypeError("AF_INET address must be a pair (host, port)")
        host, port = address
        if not 0 <= port <= 0xFFFF:
            raise OverflowError(f"{caller}(): port must be 0-65535.")
        return (setipaddr(host, self._kernel), port)

    def _fmt(self, addr: Any) -> Any:
        if addr is None:
            return None
        if self._family == _s.AF_UNIX:
            return unix_makesockaddr(addr)
        return (addr_str(addr[0]), addr[1])

    # -- connection set-up ---------------------------------------------------------------

    def bind(self, address: Any) -> None:
        sk = self._sk()
        addr = self._addr(address, "bind")
        try:
            sk.bind(addr)
        except KernelError as exc:
            raise from_kernel(exc) from None

    def listen(self, backlog: int = min(_s.SOMAXCONN, 128)) -> None:
        sk = self._sk()
        try:
            sk.listen(max(backlog, 0))
        except KernelError as exc:
            raise from_kernel(exc) from None

    def connect(self, address: Any) -> None:
        err = self._connect(address, "connect")
        if err == -1:
            raise TimeoutError("timed out")
        if err:
            raise oserror(err)

    def connect_ex(self, address: Any) -> int:
        err = self._connect(address, "connect_ex")
        return errno.EAGAIN if err == -1 else err

    def _connect(self, address: Any, caller: str) -> int:
        """internal_connect: 0, an errno, or -1 for a timeout.  A connect in
        progress is awaited (writable), then SO_ERROR says how it went."""
        addr = self._addr(address, caller)
        if self._fd == -1:
            return errno.EBADF  # connect(-1): connect_ex returns it, connect raises
        sk = self._file.sk
        if self._family == _s.AF_UNIX:
            return self._unix_connect(sk, addr)
        try:
            err = sk.connect_start(addr)  # EINPROGRESS returned, not raised
        except KernelError as exc:
            err = exc.errno or 0
        finally:
            softirq_exit(self._kernel)  # the SYN's answer, on links without delay
        if err != errno.EINPROGRESS or self._timeout == 0.0:
            return err
        def done() -> bool:
            return bool(sk.poll() & (POLLOUT | POLLERR | POLLHUP))

        if not self._wait(sk, done, self._deadline(), "connect"):
            return -1
        # inet_stream_connect after its wait: the socket itself says how the
        # handshake ended (and a refused socket becomes unconnected again).
        try:
            sk.connect(addr)
        except KernelError as exc:
            return exc.errno or errno.ECONNABORTED
        return 0

    def _unix_connect(self, sk: Any, addr: bytes) -> int:
        """unix_stream_connect: done at once, or (blocking) wait while the
        listener's queue is full.  With a timeout CPython's socket is
        non-blocking and only EINPROGRESS is waited for: EAGAIN is final."""
        while True:
            try:
                other = sk.unix_connect(addr)
            except KernelError as exc:
                return exc.errno or 0
            if other is None:
                return 0
            if self._timeout is not None:
                return errno.EAGAIN
            wait_event(self._kernel, [other.wq], other.connect_room, None,
                       what=_Label("connect", self))

    def accept(self) -> tuple[socket, Any]:
        sk = self._sk()
        if self._timeout is None and _accept_must_wait(sk):
            # what _call_blocking does after the EAGAIN, without raising and
            # catching it first: such a listener polls 0, so it waits
            def ready() -> bool:
                return bool(sk.poll() & (POLLIN | POLLHUP) or sk.sk_err)

            while _accept_must_wait(sk):
                self._wait(sk, ready, None, "accept")
        new = self._call(lambda flags: sk.accept(), POLLIN, 0, "accept")
        try:
            peer = new.getpeername()
        except KernelError:
            peer = None
        fd = fd_table(self._kernel).install(OpenFile(new))
        # CPython's accept makes a plain socket, whatever class accepts (SSLSocket)
        conn = socket(self._family, self._type, self._proto, fileno=fd, kernel=self._kernel)
        if _default_timeout is None and self.gettimeout():
            conn.setblocking(True)
        return conn, self._fmt(peer)

    def getsockname(self) -> Any:
        return self._fmt(self._kcall(lambda sk: sk.getsockname()))

    def getpeername(self) -> Any:
        return self._fmt(self._kcall(lambda sk: sk.getpeername()))

    def shutdown(self, how: int) -> None:
        try:
            self._kcall(lambda sk: sk.shutdown(how))
        finally:
            softirq_exit(self._kernel)  # a FIN's answer

    def _kcall(self, fn: Callable[[Sock], T]) -> T:
        sk = self._sk()
        try:
            return fn(sk)
        except KernelError as exc:
            raise from_kernel(exc) from None

    # -- data -----------------------------------------------------------------------------

    def send(self, data: Any, flags: int = 0) -> int:
        if self._fd == -1:  # _sk, inline: this is the per-datagram path
            raise oserror(errno.EBADF)
        sk = self._file.sk
        if not flags and type(data) is bytes:
            sent = sk.send_connected(data)
            if sent >= 0:
                charge_cpu(self._kernel)
                softirq_exit(self._kernel)
                return sent
        view = memoryview(data).cast("B")
        if self._timeout is None and self._type == _s.SOCK_STREAM \
                and not flags & MSG_DONTWAIT:
            sent = self._send_stream_blocking(sk, view, flags)
        else:
            sent = self._call(lambda f: sk.sendmsg(view, None, f), POLLOUT, flags, "send")
        charge_cpu(self._kernel)
        softirq_exit(self._kernel)
        return sent

    def _send_stream_blocking(self, sk: Sock, view: memoryview, flags: int) -> int:
        """A blocking stream send returns when all of it is queued: the kernel
        waits for room in between (sk_stream_wait_memory for TCP,
        sock_alloc_send_pskb for AF_UNIX).  An error once some data went
        returns what went, as tcp_sendmsg and unix_stream_sendmsg do."""
        total = 0
        while True:
            try:
                total += self._call(_sender(sk, view[total:]), POLLOUT, flags, "send")
            except OSError:
                if total:
                    return total
                raise
            if total >= len(view):
                return total

    def sendto(self, data: Any, flags_or_addr: Any, address: Any = None) -> int:
        flags, target = (0, flags_or_addr) if address is None else (flags_or_addr, address)
        sk = self._sk()
        addr = self._addr(target, "sendto")
        if not flags and type(data) is bytes and type(addr) is tuple:
            sent = sk.send_to(data, addr[0], addr[1])
            if sent >= 0:
                charge_cpu(self._kernel)
                softirq_exit(self._kernel)
                return sent
        view = memoryview(data).cast("B")
        sent = self._call(lambda f: sk.sendmsg(view, addr, f), POLLOUT, flags, "sendto")
        charge_cpu(self._kernel)
        softirq_exit(self._kernel)
        return sent

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Send everything, one deadline for the whole (as CPython does)."""
        sk = self._sk()
        view = memoryview(data).cast("B")
        deadline = self._deadline()
        while view:
            sent = self._call(_sender(sk, view), POLLOUT, flags, "sendall", deadline)
            view = view[sent:]
        charge_cpu(self._kernel)
        softirq_exit(self._kernel)

    def sendmsg(self, buffers: Iterable[Any], ancdata: Iterable[Any] = (), flags: int = 0,
                address: Any = None) -> int:
        data = b"".join(bytes(memoryview(b).cast("B")) for b in buffers)
        anc = list(ancdata)
        if anc:
            if self._family != _s.AF_UNIX:
                raise oserror(errno.EINVAL)  # usernet carries no IP control messages
            return self._sendmsg_scm(data, anc, flags, address)
        if address is None:
            return self.send(data, flags)
        return self.sendto(data, flags, address)

    def _sendmsg_scm(self, data: bytes, anc: list[Any], flags: int, address: Any) -> int:
        """AF_UNIX sendmsg with control messages: SCM_CREDENTIALS (scm_send's
        checks); descriptors (SCM_RIGHTS) cannot travel, and anything else
        is EINVAL."""
        cred = scm_credentials(self._kernel, anc)
        addr = None if address is None else self._addr(address, "sendmsg")
        sk = self._sk()
        assert isinstance(sk, UnixSock)
        view = memoryview(data)
        sent: int = self._call(lambda f: sk.sendmsg_scm(view, addr, f, cred), POLLOUT, flags,
                               "sendmsg")
        charge_cpu(self._kernel)
        return sent

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        if bufsize == 0:
            return b""  # sock_recv_guts asks the kernel nothing for 0 bytes
        if not flags:
            if self._fd == -1:  # _sk, inline
                raise oserror(errno.EBADF)
            ready = self._file.sk.recv_ready(bufsize)
            if ready is not None:
                return ready
        return self._recv(bufsize, flags, "recv")[0]

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
        if bufsize < 0:
            raise ValueError("negative buffersize in recvfrom")
        if not flags:
            if self._fd == -1:
                raise oserror(errno.EBADF)
            ready = self._file.sk.recv_ready_from(bufsize)
            if ready is not None:
                return ready[0], self._fmt(ready[1])
        data, addr = self._recv(bufsize, flags, "recvfrom")
        return data, self._fmt(addr)

    def _recv(self, bufsize: int, flags: int, what: str) -> tuple[bytes, tuple[int, int] | None]:
        sk = self._sk()
        if (flags & _MSG_WAITALL and self._timeout is None and self._type == _s.SOCK_STREAM
                and not flags & _MSG_PEEK and bufsize):
            return self._recv_waitall(sk, bufsize, flags & ~_MSG_WAITALL, what), None
        return self._call(lambda f: sk.recvmsg(bufsize, f), POLLIN, flags, what)

    def _recv_waitall(self, sk: Sock, bufsize: int, flags: int, what: str) -> bytes:
        """tcp_recvmsg's MSG_WAITALL on a blocking socket: wait for all
        ``bufsize`` bytes, or EOF; an error after some data returns the data.
        (With a timeout CPython makes the socket non-blocking: no waiting.)"""
        parts: list[bytes] = []
        got = 0
        while got < bufsize:
            try:
                data, _addr = self._call(_receiver(sk, bufsize - got), POLLIN, flags, what)
            except OSError:
                if parts:
                    break
                raise
            if not data:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        return self._recv_into(buffer, nbytes, flags, "recv_into")[0]

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
        n, addr = self._recv_into(buffer, nbytes, flags, "recvfrom_into")
        return n, self._fmt(addr)

    def _recv_into(self, buffer: Any, nbytes: int, flags: int,
                   what: str) -> tuple[int, tuple[int, int] | None]:
        view = memoryview(buffer).cast("B")
        if nbytes < 0:
            raise ValueError(f"negative buffersize in {what}")
        if nbytes > len(view):
            raise ValueError("buffer too small for requested bytes" if what == "recv_into"
                             else "nbytes is greater than the length of the buffer")
        if what == "recv_into" and not (nbytes or len(view)):
            return 0, None  # sock_recv_guts: nothing asked, nothing done
        sk = self._sk()
        into = getattr(sk, "recvmsg_into", None)
        if into is not None and not flags & _MSG_WAITALL:
            # a stream copies straight from its queue into the caller's buffer
            target = view[:nbytes or len(view)]
            return self._call(lambda f: into(target, f), POLLIN, flags, what), None
        data, addr = self._recv(nbytes or len(view), flags, what)
        view[:len(data)] = data
        return len(data), addr

    def recvmsg(self, bufsize: int, ancbufsize: int = 0,
                flags: int = 0) -> tuple[bytes, list[tuple[int, int, bytes]], int, Any]:
        """recvmsg; with MSG_ERRQUEUE the IP_RECVERR report comes as its
        control message (struct sock_extended_err + the offender)."""
        if flags & MSG_ERRQUEUE:
            return self._recv_error(bufsize, ancbufsize)
        sk = self._sk()
        sk.msg_flags = 0
        data, addr = self._recv(bufsize, flags, "recvmsg")
        if sk.__class__ is UnixSock:
            anc, mflags = scm_recv(sk, ancbufsize)
            return data, anc, mflags | sk.msg_flags, self._fmt(addr)
        return data, [], sk.msg_flags, self._fmt(addr)

    def _recv_error(self, bufsize: int,
                    ancbufsize: int) -> tuple[bytes, list[tuple[int, int, bytes]], int, Any]:
        """ip_recv_error never blocks; with a timeout CPython still polls first."""
        sk = self._sk()
        if self._timeout:
            entry = self._call(lambda f: sk.recv_error(), POLLIN, 0, "recvmsg")
        else:
            entry = _kernel_op(lambda f: sk.recv_error(), 0)
        serr = struct.pack("=IBBBBII", entry.errno, entry.origin, entry.type, entry.code, 0,
                           entry.info, 0)
        offender = struct.pack("=H2s4s8x", _s.AF_INET, b"\0\0", entry.offender.to_bytes(4, "big"))
        anc = [(_s.IPPROTO_IP, 11, serr + offender)] if ancbufsize else []
        flags = int(MSG_ERRQUEUE) | (int(_s.MSG_TRUNC) if len(entry.payload) > bufsize else 0)
        return entry.payload[:bufsize], anc, flags, self._fmt(entry.addr)

    def sendfile(self, file: IO[bytes], offset: int = 0, count: int | None = None) -> int:
        """CPython's send()-based sendfile (there is no kernel file to splice)."""
        if "b" not in getattr(file, "mode", "b"):
            raise ValueError("file should be opened in binary mode")
        if not self._type & _s.SOCK_STREAM:
            raise ValueError("only SOCK_STREAM type sockets are supported")
        if count is not None and (not isinstance(count, int) or count <= 0):
            raise (TypeError if not isinstance(count, int) else ValueError)(
                f"count must be a positive integer (got {count!r})")
        if self.gettimeout() == 0:
            raise ValueError("non-blocking sockets are not supported")
        if offset:
            file.seek(offset)
        total = 0
        try:
            while not count or total < count:
                block = min(count - total, 8192) if count else 8192
                data = file.read(block)
                if not data:
                    break
                self.sendall(data)
                total += len(data)
            return total
        finally:
            if total > 0 and hasattr(file, "seek"):
                file.seek(offset + total)

    # -- options and modes ------------------------------------------------------------------

    def setsockopt(self, level: int, optname: int, value: Any, optlen: int | None = None) -> None:
        if value is None:
            if optlen is None:
                raise TypeError("setsockopt() takes an int or a buffer, or None and optlen")
            value = bytes(optlen)
        elif not isinstance(value, int):
            value = bytes(memoryview(value).cast("B"))
        self._kcall(lambda sk: sk.setsockopt(level, optname, value))

    def getsockopt(self, level: int, optname: int, buflen: int | None = None) -> Any:
        if buflen is not None and not 0 < buflen <= 1024:
            raise OSError("getsockopt buflen out of range")
        value = self._kcall(lambda sk: sk.getsockopt(level, optname))
        if isinstance(value, bool | int):
            raw = int(value).to_bytes(4, "little", signed=value < 0)
            return int(value) if buflen is None else raw[:buflen]
        raw = bytes(value)
        if buflen is not None:
            return raw[:buflen]
        if (level, optname) == (_s.SOL_SOCKET, _s.SO_BINDTODEVICE):
            raise oserror(errno.EINVAL)  # sock_getbindtodevice wants IFNAMSIZ bytes
        return int.from_bytes(raw[:4].ljust(4, b"\0"), "little", signed=True)

    def settimeout(self, value: float | None) -> None:
        self._timeout = _check_timeout(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    def set_inheritable(self, inheritable: bool) -> None:
        """Descriptors of usernet are never inherited by a real process."""

    def get_inheritable(self) -> bool:
        return False

    # -- files and lifetime -------------------------------------------------------------------

    def makefile(self, mode: str = "r", buffering: int | None = None, *,
                 encoding: str | None = None, errors: str | None = None,
                 newline: str | None = None) -> Any:
        """CPython's makefile: buffered (or text) I/O over a SocketIO."""
        if not set(mode) <= {"r", "w", "b"}:
            raise ValueError(f"invalid mode {mode!r} (only r, w, b allowed)")
        writing = "w" in mode
        reading = "r" in mode or not writing
        raw = SocketIO(self, ("r" if reading else "") + ("w" if writing else ""))
        self._io_refs += 1
        if buffering is None or buffering < 0:
            buffering = io.DEFAULT_BUFFER_SIZE
        if buffering == 0:
            if "b" not in mode:
                raise ValueError("unbuffered streams must be binary")
            return raw
        buffer: Any
        if reading and writing:
            buffer = io.BufferedRWPair(raw, raw, buffering)
        elif reading:
            buffer = io.BufferedReader(raw, buffering)
        else:
            buffer = io.BufferedWriter(raw, buffering)
        if "b" in mode:
            return buffer
        text = io.TextIOWrapper(buffer, io.text_encoding(encoding), errors, newline)
        text.mode = mode  # type: ignore[misc]
        return text

    def _decref_socketios(self) -> None:
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed:
            self.close()

    def close(self) -> None:
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def _real_close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd != -1:
            fd_table(self._kernel).close(fd)
            softirq_exit(self._kernel)  # a FIN or RST's answer

    def detach(self) -> int:
        """Forget the descriptor without closing it; returns it."""
        self._closed = True
        fd, self._fd = self._fd, -1
        return fd

    def dup(self) -> socket:
        fd = fd_table(self._kernel).install(self._file) if self._fd != -1 else -1
        if fd == -1:
            raise oserror(errno.EBADF)
        sock = type(self)(self._family, self._type, self._proto, fileno=fd, kernel=self._kernel)
        sock.settimeout(self.gettimeout())
        return sock


SocketType = socket


_tcp_classes: tuple[Any, int] | None = None  # (TcpSock, TCP_LISTEN), resolved once


def _tcp() -> tuple[Any, int] | None:
    """TCP's socket class and LISTEN state, or None where TCP is not built
    (imported once: every socket() and accept() asks)."""
    global _tcp_classes
    if _tcp_classes is None:
        try:
            from ..transport.tcp import TCP_LISTEN, TcpSock
        except ImportError:
            return None
        _tcp_classes = (TcpSock, TCP_LISTEN)
    return _tcp_classes


def _accept_must_wait(sk: Any) -> bool:
    """inet_csk_accept's EAGAIN known before the call: an open TCP listener
    with nothing to accept and no error pending (anything else, let the
    call say)."""
    tcp = _tcp_classes or _tcp()
    if tcp is None:  # no TCP: no listener either
        return False
    cls, listen = tcp
    return (sk.__class__ is cls and sk.state == listen and not sk.acceptq and not sk.sk_err
            and not sk.closed)


def _kernel_op(op: Callable[[int], T], flags: int) -> T:
    try:
        return op(flags)
    except KernelError as exc:
        raise from_kernel(exc) from None


_MSG_WAITALL = int(_s.MSG_WAITALL)
_MSG_PEEK = int(_s.MSG_PEEK)


class _Label:
    """What a wait is for, formatted only if the wait fails (repr is costly)."""

    __slots__ = ("sock", "what")

    def __init__(self, what: str, sock: object) -> None:
        self.what = what
        self.sock = sock

    def __str__(self) -> str:
        return f"{self.what} on {self.sock!r}"


def _receiver(sk: Sock, n: int) -> Callable[[int], tuple[bytes, tuple[int, int] | None]]:
    return lambda flags: sk.recvmsg(n, flags)


def _sender(sk: Sock, view: memoryview) -> Callable[[int], int]:
    return lambda flags: sk.sendmsg(view, None, flags)


def close(fd: int, *, kernel: Kernel | None = None) -> None:
    """socket.close(fd)."""
    fd_table(kernel or current_kernel()).close(fd)


def dup(fd: int, *, kernel: Kernel | None = None) -> int:
    """socket.dup(fd): a new descriptor for the same socket."""
    table = fd_table(kernel or current_kernel())
    return table.install(table.get(fd))


def fromfd(fd: int, family: int, type: int, proto: int = 0, *,
           kernel: Kernel | None = None) -> socket:
    k = kernel or current_kernel()
    nfd = dup(fd, kernel=k)
    try:
        return socket(family, type, proto, nfd, kernel=k)
    except OSError:  # no socket behind fd (ENOTSOCK): the copy is not kept
        close(nfd, kernel=k)
        raise


def socketpair(family: int = _s.AF_UNIX, type: int = _s.SOCK_STREAM, proto: int = 0, *,
               kernel: Kernel | None = None) -> tuple[socket, socket]:
    """Two connected AF_UNIX sockets (usernet.unix.af_unix)."""
    k = kernel or current_kernel()
    if family != _s.AF_UNIX:
        raise oserror(errno.EOPNOTSUPP)
    if proto:
        raise oserror(errno.EPROTONOSUPPORT)
    try:
        pair = unix_pair(current_task(k).net, type & ~SOCK_FLAGS)
    except KernelError as exc:
        raise from_kernel(exc) from None
    table = fd_table(k)
    fds = [table.install(OpenFile(sk)) for sk in pair]
    a, b = (socket(family, type, proto, fileno=fd, kernel=k) for fd in fds)
    return a, b

