"""``usernet.socket``: the stdlib ``socket`` module's API over usernet.

Sockets made here live in the namespace of the task that makes them, in the
kernel that :func:`current_kernel` finds (``kernel=`` says which
explicitly); blocking calls and timeouts run in that kernel's virtual time.
Name functions answer from the namespace's hosts table (:func:`hosts`),
never from the host's resolver.  The constants are the stdlib's own objects.

``usernet.socket.select`` and ``usernet.socket.selectors`` stand in for the
stdlib modules of those names.

AF_UNIX sockets are ``usernet.unix.af_unix``'s: abstract names per
namespace, filesystem names as real socket files.

What is not here: IPv6 (AF_INET6 sockets fail with EAFNOSUPPORT, getaddrinfo
for it with EAI_ADDRFAMILY), most ancillary data (AF_UNIX's SCM_CREDENTIALS
and IP_RECVERR reports from ``recvmsg(MSG_ERRQUEUE)`` are there; SCM_RIGHTS
and the IP_PKTINFO kind are not).

_constants.py is generated::

    names = sorted(n for n in dir(socket) if n.isupper() and isinstance(getattr(socket, n), int))
"""

from __future__ import annotations

import socket as _s
from socket import (
    AddressFamily,
    AddressInfo,
    MsgFlag,
    SocketKind,
    error,
    gaierror,
    herror,
    htonl,
    htons,
    inet_aton,
    inet_ntoa,
    inet_ntop,
    inet_pton,
    ntohl,
    ntohs,
    timeout,
)
from typing import TYPE_CHECKING

from . import _constants, select, selectors
from ._constants import *  # noqa: F403
from ._context import current_kernel, use_kernel
from ._create import create_connection, create_server, has_dualstack_ipv6
from ._netdb import (
    Hosts,
    getaddrinfo,
    getfqdn,
    gethostbyaddr,
    gethostbyname,
    gethostbyname_ex,
    gethostname,
    getnameinfo,
    getprotobyname,
    getservbyname,
    getservbyport,
    hosts,
    sethostname,
)
from ._socket import (
    SocketType,
    close,
    dup,
    fromfd,
    getdefaulttimeout,
    setdefaulttimeout,
    socket,
    socketpair,
)

if TYPE_CHECKING:
    from ..kernel import Kernel

has_ipv6 = False
CMSG_LEN = _s.CMSG_LEN
CMSG_SPACE = _s.CMSG_SPACE


def if_nameindex(*, kernel: Kernel | None = None) -> list[tuple[int, str]]:
    """The current namespace's interfaces, by index."""
    from ..task import current_task

    net = current_task(kernel or current_kernel()).net
    return [(dev.ifindex, dev.name) for dev in net.devices()]


def if_nametoindex(name: str, *, kernel: Kernel | None = None) -> int:
    for index, dev in if_nameindex(kernel=kernel):
        if dev == name:
            return index
    raise OSError("no interface with this name")


def if_indextoname(index: int, *, kernel: Kernel | None = None) -> str:
    for i, dev in if_nameindex(kernel=kernel):
        if i == index:
            return dev
    raise OSError(6, "No such device or address")  # ENXIO


__all__ = [  # noqa: RUF022 -- the stdlib's names, then usernet's
    "AddressFamily", "AddressInfo", "MsgFlag", "SocketKind", "SocketType", "CMSG_LEN",
    "CMSG_SPACE", "close", "create_connection", "create_server", "dup", "error", "fromfd",
    "gaierror", "getaddrinfo", "getdefaulttimeout", "getfqdn", "gethostbyaddr",
    "gethostbyname", "gethostbyname_ex", "gethostname", "getnameinfo", "getprotobyname",
    "getservbyname", "getservbyport", "has_dualstack_ipv6", "has_ipv6", "herror", "htonl",
    "htons", "if_indextoname", "if_nameindex", "if_nametoindex", "inet_aton", "inet_ntoa",
    "inet_ntop", "inet_pton", "ntohl", "ntohs", "setdefaulttimeout", "sethostname",
    "socket", "socketpair", "timeout",
    "Hosts", "current_kernel", "hosts", "select", "selectors", "use_kernel",
]
__all__ += _constants.__all__
