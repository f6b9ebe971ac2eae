"""TLS over usernet sockets: the stdlib ``ssl`` module's ``SSLSocket``.

CPython's ``SSLSocket`` hands OpenSSL the socket's OS descriptor, which a
usernet socket does not have.  Here OpenSSL works on two memory BIOs (the
``SSLObject`` that asyncio uses too) and :class:`SSLSocket` carries the
records between them and the emulated socket: what TLS wrote is sent
before a call returns, and when TLS wants to read, the next bytes are
received -- waiting as the socket's mode says (blocking, timeout,
non-blocking), in virtual time.  Everything else is CPython's behaviour:
the same checks and errors at wrap time, the handshake on connect or
accept, ragged EOFs suppressed or raised, ``unwrap``, ``makefile``.

Use it through the stdlib: under ``usernet.patched`` ``SSLContext.wrap_socket``
wraps usernet sockets with this class (and OS sockets as before), so
``urllib``, ``http.client``, ``smtplib``, ``httpx`` and servers that wrap
their listening socket work unchanged.  Outside the patch, call
:func:`wrap_socket` with the context.

Not deterministic: OpenSSL draws its randoms (client and server randoms,
key shares) from the host, so the bytes of a handshake differ from run to
run, though everything the programs send and receive is the same.
"""

from __future__ import annotations

import contextlib
import errno
import ssl as _ssl
from collections.abc import Callable
from socket import SOCK_STREAM
from typing import Any, TypeVar

from .socket._socket import socket

T = TypeVar("T")
RECORD_READ = 17 * 1024  # one TLS record (16 KiB) and its overhead in a receive


class SSLSocket(socket):
    """An ``ssl.SSLSocket`` over a usernet socket; made by :func:`wrap_socket`."""

    __slots__ = ("_connected", "_context", "_incoming", "_outgoing", "_session", "_sslobj",
                 "_unsent", "do_handshake_on_connect", "server_hostname", "server_side",
                 "suppress_ragged_eofs")
    __module__ = "usernet.ssl"
    _sslobj: _ssl.SSLObject | None
    _incoming: _ssl.MemoryBIO
    _outgoing: _ssl.MemoryBIO
    _context: _ssl.SSLContext
    _session: _ssl.SSLSession | None
    _unsent: bytes
    _connected: bool
    server_side: bool
    server_hostname: str | None
    do_handshake_on_connect: bool
    suppress_ragged_eofs: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{self.__class__.__name__} does not have a public constructor. "
                        "Instances are returned by SSLContext.wrap_socket().")

    @classmethod
    def _create(cls, sock: socket, context: _ssl.SSLContext, server_side: bool = False,
                do_handshake_on_connect: bool = True, suppress_ragged_eofs: bool = True,
                server_hostname: str | bytes | None = None,
                session: _ssl.SSLSession | None = None) -> SSLSocket:
        """ssl.SSLSocket._create: the same checks in the same order; the new
        socket takes the old one's descriptor (the old one is detached)."""
        if sock.type != SOCK_STREAM:
            raise NotImplementedError("only stream sockets are supported")
        if server_side:
            if server_hostname:
                raise ValueError("server_hostname can only be specified in server mode")
            if session is not None:
                raise ValueError("session can only be specified in client mode")
        if context.check_hostname and not server_hostname:
            raise ValueError("check_hostname requires server_hostname")
        self = cls.__new__(cls)
        socket.__init__(self, sock.family, sock.type, sock.proto, fileno=sock.fileno(),
                        kernel=sock.kernel)
        timeout = sock.gettimeout()
        sock.detach()
        self._context = context
        self._session = session
        self._sslobj = None
        self._incoming, self._outgoing = _ssl.MemoryBIO(), _ssl.MemoryBIO()
        self._unsent = b""
        self.server_side = server_side
        self.server_hostname = _hostname(context, server_hostname)
        self.do_handshake_on_connect = do_handshake_on_connect
        self.suppress_ragged_eofs = suppress_ragged_eofs
        self._connected = self._is_connected()
        self.settimeout(timeout)
        if self._connected:
            try:
                self._wrap()
                if do_handshake_on_connect:
                    if timeout == 0.0:
                        raise ValueError("do_handshake_on_connect should not be specified "
                                         "for non-blocking sockets")
                    self.do_handshake()
            except (OSError, ValueError):
                self.close()
                raise
        return self

    def _is_connected(self) -> bool:
        """CPython's test: getpeername; an unconnected socket with data
        already waiting is refused, so no plaintext passes for TLS."""
        try:
            self.getpeername()
            return True
        except OSError as exc:
            if exc.errno != errno.ENOTCONN:
                raise
        blocking = self.getblocking()
        self.setblocking(False)
        try:
            early = socket.recv(self, 1)
        except OSError as exc:
            if exc.errno not in (errno.ENOTCONN, errno.EINVAL, errno.EAGAIN):
                raise
            early = b""
        finally:
            self.setblocking(blocking)
        if early:
            raise _ssl.SSLError(errno.ENOTCONN,
                                "Closed before TLS handshake with data in recv buffer.")
        return False

    def _wrap(self) -> None:
        self._sslobj = self._context.wrap_bio(
            self._incoming, self._outgoing, server_side=self.server_side,
            server_hostname=self.server_hostname, session=self._session)

    # -- carrying records --------------------------------------------------------------

    def _tls(self, op: Callable[[], T], what: str) -> T:
        """Run one SSLObject operation to its end over the socket, as _ssl.c
        does over a descriptor: records TLS wrote go out (an alert too,
        before its error is raised); when TLS wants input, receive some."""
        while True:
            try:
                result = op()
            except _ssl.SSLWantReadError:
                self._flush(what)
                self._fill(what)
                continue
            except _ssl.SSLError:
                with contextlib.suppress(OSError):  # a gone peer: the TLS error is the news
                    self._flush(what)
                raise
            self._flush(what)
            return result

    def _flush(self, what: str) -> None:
        """Send what TLS wrote.  A non-blocking socket keeps what does not
        fit and sends it first next time (TLS has consumed the data)."""
        data = self._unsent + self._outgoing.read()
        self._unsent = b""
        if not data:
            return
        if self.gettimeout() == 0.0:
            view = memoryview(data)
            try:
                while view:
                    view = view[socket.send(self, view):]
            except BlockingIOError:
                self._unsent = bytes(view)
            return
        try:
            socket.sendall(self, data)
        except TimeoutError:
            raise TimeoutError(f"The {what} operation timed out") from None

    def _fill(self, what: str) -> None:
        if self._unsent:
            self._flush(what)
            if self._unsent:
                raise _ssl.SSLWantWriteError(_ssl.SSL_ERROR_WANT_WRITE,
                                             "The operation did not complete (write)")
        try:
            data = socket.recv(self, RECORD_READ)
        except BlockingIOError:
            raise _ssl.SSLWantReadError(_ssl.SSL_ERROR_WANT_READ,
                                        "The operation did not complete (read)") from None
        except TimeoutError:
            raise TimeoutError(f"The {what} operation timed out") from None
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()

    def _obj(self) -> _ssl.SSLObject:
        obj = self._sslobj
        assert obj is not None
        return obj

    # -- the handshake ---------------------------------------------------------------------

    def _check_connected(self) -> None:
        if not self._connected:
            self.getpeername()  # ENOTCONN when it really is not connected

    def do_handshake(self, block: bool = False) -> None:
        self._check_connected()
        timeout = self.gettimeout()
        try:
            if timeout == 0.0 and block:
                self.settimeout(None)
            self._tls(self._obj().do_handshake, "handshake")
        finally:
            self.settimeout(timeout)

    def _real_connect(self, addr: Any, connect_ex: bool) -> int | None:
        if self.server_side:
            raise ValueError("can't connect in server-side mode")
        if self._connected or self._sslobj is not None:
            raise ValueError("attempt to connect already-connected SSLSocket!")
        self._wrap()
        try:
            rc: int | None = None
            if connect_ex:
                rc = socket.connect_ex(self, addr)
            else:
                socket.connect(self, addr)
            if not rc:
                self._connected = True
                if self.do_handshake_on_connect:
                    self.do_handshake()
            return rc
        except (OSError, ValueError):
            self._sslobj = None
            raise

    def connect(self, address: Any) -> None:
        self._real_connect(address, False)

    def connect_ex(self, address: Any) -> int:
        return self._real_connect(address, True) or 0

    def accept(self) -> tuple[Any, Any]:
        newsock, addr = socket.accept(self)
        return wrap_socket(
            self._context, newsock, do_handshake_on_connect=self.do_handshake_on_connect,
            suppress_ragged_eofs=self.suppress_ragged_eofs, server_side=True), addr

    # -- data ------------------------------------------------------------------------------

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        obj = self._sslobj
        if obj is None:
            raise ValueError("Read on closed or unwrapped SSL socket.")
        try:
            if buffer is not None:
                return self._tls(lambda: obj.read(len, buffer), "read")
            return self._tls(lambda: obj.read(len), "read")
        except _ssl.SSLError as exc:
            if exc.args[0] == _ssl.SSL_ERROR_EOF and self.suppress_ragged_eofs:
                return 0 if buffer is not None else b""
            raise

    def write(self, data: Any) -> int:
        obj = self._sslobj
        if obj is None:
            raise ValueError("Write on closed or unwrapped SSL socket.")
        return self._tls(lambda: obj.write(data), "write")

    def send(self, data: Any, flags: int = 0) -> int:
        if self._sslobj is None:
            return socket.send(self, data, flags)
        _no_flags(flags, "send", self)
        return self.write(data)

    def sendall(self, data: Any, flags: int = 0) -> None:
        if self._sslobj is None:
            socket.sendall(self, data, flags)
            return
        _no_flags(flags, "sendall", self)
        with memoryview(data) as view, view.cast("B") as byte_view:
            count = 0
            while count < len(byte_view):
                count += self.write(byte_view[count:])

    def recv(self, bufsize: int = 1024, flags: int = 0) -> bytes:
        if self._sslobj is None:
            return socket.recv(self, bufsize, flags)
        _no_flags(flags, "recv", self)
        data: bytes = self.read(bufsize)
        return data

    def recv_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> int:
        if nbytes is None or not nbytes:
            with memoryview(buffer) as view:
                nbytes = view.nbytes or 1024
        if self._sslobj is None:
            return socket.recv_into(self, buffer, nbytes, flags)
        _no_flags(flags, "recv_into", self)
        count: int = self.read(nbytes, buffer)
        return count

    def sendto(self, data: Any, flags_or_addr: Any, address: Any = None) -> int:
        if self._sslobj is not None:
            raise ValueError(f"sendto not allowed on instances of {self.__class__}")
        return socket.sendto(self, data, flags_or_addr, address)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
        if self._sslobj is not None:
            raise ValueError(f"recvfrom not allowed on instances of {self.__class__}")
        return socket.recvfrom(self, bufsize, flags)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
        if self._sslobj is not None:
            raise ValueError(f"recvfrom_into not allowed on instances of {self.__class__}")
        return socket.recvfrom_into(self, buffer, nbytes, flags)

    def sendmsg(self, *args: Any, **kwargs: Any) -> int:
        raise NotImplementedError(f"sendmsg not allowed on instances of {self.__class__}")

    def recvmsg(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"recvmsg not allowed on instances of {self.__class__}")

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        if self._sslobj is None:
            return socket.sendfile(self, file, offset, count)
        return _sendfile_by_send(self, file, offset, count)

    def pending(self) -> int:
        return self._sslobj.pending() if self._sslobj is not None else 0

    def dup(self) -> socket:
        raise NotImplementedError(f"Can't dup() {self.__class__.__name__} instances")

    # -- ending ----------------------------------------------------------------------------

    def shutdown(self, how: int) -> None:
        self._sslobj = None
        socket.shutdown(self, how)

    def unwrap(self) -> SSLSocket:
        """Send close_notify and wait for the peer's; the socket is then plain."""
        obj = self._sslobj
        if obj is None:
            raise ValueError("No SSL wrapper around " + str(self))
        self._tls(obj.unwrap, "shutdown")
        self._sslobj = None
        return self

    def _real_close(self) -> None:
        self._sslobj = None
        socket._real_close(self)

    # -- what the session is ---------------------------------------------------------------

    @property
    def context(self) -> _ssl.SSLContext:
        return self._context

    @context.setter
    def context(self, ctx: _ssl.SSLContext) -> None:
        self._context = ctx
        if self._sslobj is not None:
            self._sslobj.context = ctx

    @property
    def session(self) -> _ssl.SSLSession | None:
        return self._sslobj.session if self._sslobj is not None else None

    @session.setter
    def session(self, session: _ssl.SSLSession) -> None:
        self._session = session
        if self._sslobj is not None:
            self._sslobj.session = session

    @property
    def session_reused(self) -> bool | None:
        return self._sslobj.session_reused if self._sslobj is not None else None

    def getpeercert(self, binary_form: bool = False) -> Any:
        self._check_connected()
        return self._obj().getpeercert(binary_form)

    def selected_alpn_protocol(self) -> str | None:
        return self._sslobj.selected_alpn_protocol() if self._sslobj is not None else None

    def cipher(self) -> tuple[str, str, int] | None:
        return self._sslobj.cipher() if self._sslobj is not None else None

    def shared_ciphers(self) -> list[tuple[str, str, int]] | None:
        return self._sslobj.shared_ciphers() if self._sslobj is not None else None

    def compression(self) -> str | None:
        return self._sslobj.compression() if self._sslobj is not None else None

    def version(self) -> str | None:
        return self._sslobj.version() if self._sslobj is not None else None

    def get_channel_binding(self, cb_type: str = "tls-unique") -> bytes | None:
        if self._sslobj is not None:
            return self._sslobj.get_channel_binding(cb_type)
        if cb_type not in _ssl.CHANNEL_BINDING_TYPES:
            raise ValueError(f"{cb_type} channel binding type not implemented")
        return None

    def verify_client_post_handshake(self) -> None:
        obj = self._sslobj
        if obj is None:
            raise ValueError("No SSL wrapper around " + str(self))
        self._tls(obj.verify_client_post_handshake, "write")



def _hostname(context: _ssl.SSLContext, name: str | bytes | None) -> str | None:
    """SSLContext._encode_hostname: IDNA-encoded, as the C module wants it."""
    encoded: str | None = context._encode_hostname(name)  # type: ignore[attr-defined]
    return encoded


def _no_flags(flags: int, call: str, sock: SSLSocket) -> None:
    if flags != 0:
        raise ValueError(f"non-zero flags not allowed in calls to {call}() on {sock.__class__}")


def _sendfile_by_send(sock: SSLSocket, file: Any, offset: int, count: int | None) -> int:
    """socket._sendfile_use_send: read the file in blocks and send them."""
    if offset:
        file.seek(offset)
    total = 0
    while count is None or total < count:
        block = file.read(8192 if count is None else min(8192, count - total))
        if not block:
            break
        sock.sendall(block)
        total += len(block)
    if hasattr(file, "seek"):
        file.seek(offset + total)
    return total


def wrap_socket(context: _ssl.SSLContext, sock: socket, server_side: bool = False,
                do_handshake_on_connect: bool = True, suppress_ragged_eofs: bool = True,
                server_hostname: str | bytes | None = None,
                session: _ssl.SSLSession | None = None) -> SSLSocket:
    """``context.wrap_socket(sock, ...)`` for a usernet socket."""
    return SSLSocket._create(sock, context, server_side, do_handshake_on_connect,
                             suppress_ragged_eofs, server_hostname, session)


def context_wrap_socket(original: Callable[..., Any]) -> Callable[..., Any]:
    """The ``SSLContext.wrap_socket`` the patch installs: usernet sockets
    are wrapped here, OS sockets by ``original``."""
    def wrap(self: _ssl.SSLContext, sock: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(sock, socket):
            return wrap_socket(self, sock, *args, **kwargs)
        return original(self, sock, *args, **kwargs)

    wrap.__wrapped__ = original  # type: ignore[attr-defined]
    return wrap
