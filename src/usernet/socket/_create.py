"""create_connection and create_server, as CPython 3.11 writes them, over
usernet's resolver and sockets."""

from __future__ import annotations

import contextlib
import errno
import socket as _s
from typing import TYPE_CHECKING, Any

from ._context import current_kernel
from ._netdb import getaddrinfo
from ._socket import socket

if TYPE_CHECKING:
    from ..kernel import Kernel

_GLOBAL_DEFAULT_TIMEOUT: Any = _s._GLOBAL_DEFAULT_TIMEOUT  # type: ignore[attr-defined]


def create_connection(address: tuple[Any, Any], timeout: Any = _GLOBAL_DEFAULT_TIMEOUT,
                      source_address: tuple[Any, Any] | None = None, *,
                      all_errors: bool = False, kernel: Kernel | None = None) -> socket:
    """Try every address of ``host`` in turn; the first that connects wins."""
    k = kernel or current_kernel()
    host, port = address
    exceptions: list[OSError] = []
    for family, type, proto, _, sa in getaddrinfo(host, port, 0, _s.SOCK_STREAM, kernel=k):
        sock = None
        try:
            sock = socket(family, type, proto, kernel=k)
            if timeout is not _GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sa)
            exceptions.clear()
            return sock
        except OSError as exc:
            if not all_errors:
                exceptions.clear()
            exceptions.append(exc)
            if sock is not None:
                sock.close()
    if not exceptions:
        raise OSError("getaddrinfo returns an empty list")
    try:
        if not all_errors:
            raise exceptions[0]
        raise ExceptionGroup("create_connection failed", exceptions)
    finally:
        exceptions.clear()


def has_dualstack_ipv6() -> bool:
    return False  # usernet has no IPv6


def create_server(address: tuple[Any, Any], *, family: int = _s.AF_INET,
                  backlog: int | None = None, reuse_port: bool = False,
                  dualstack_ipv6: bool = False, kernel: Kernel | None = None) -> socket:
    """A listening TCP socket with SO_REUSEADDR set (POSIX), as CPython makes it."""
    if dualstack_ipv6:
        raise ValueError("dualstack_ipv6 not supported on this platform")
    sock = socket(family, _s.SOCK_STREAM, kernel=kernel)
    try:
        with contextlib.suppress(OSError):
            sock.setsockopt(_s.SOL_SOCKET, _s.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(_s.SOL_SOCKET, _s.SO_REUSEPORT, 1)
        try:
            sock.bind(address)
        except OSError as err:
            msg = f"{err.strerror} (while attempting to bind on address {address!r})"
            raise OSError(err.errno or errno.EINVAL, msg) from None
        if backlog is None:
            sock.listen()
        else:
            sock.listen(backlog)
        return sock
    except OSError:
        sock.close()
        raise
