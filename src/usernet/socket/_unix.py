"""AF_UNIX addresses as CPython's socket module converts them
(getsockaddrarg and makesockaddr in Modules/socketmodule.c).

Going in, a ``str`` is encoded with the filesystem encoding and anything
bytes-like is taken as is; a name starting with NUL is abstract and may
fill all 108 bytes of ``sun_path``, a path needs room for its NUL.  Coming
back, an abstract name is ``bytes``, a path is ``str`` (up to its NUL), an
unnamed socket is ``""`` and a datagram from an unnamed sender ``None``.
Control messages: SCM_CREDENTIALS both ways (SO_PASSCRED).
"""

from __future__ import annotations

import errno
import os
import socket as _s
from typing import TYPE_CHECKING, Any

from ..task import current_task
from ..unix.af_unix import UCRED, Ucred, UnixSock
from ._context import oserror

if TYPE_CHECKING:
    from ..kernel import Kernel

UNIX_PATH_MAX = 108  # sizeof(sockaddr_un.sun_path)


def unix_sockaddr(address: Any) -> bytes:
    if isinstance(address, str):
        name = os.fsencode(address)
    else:
        try:
            name = bytes(memoryview(address))
        except TypeError:
            raise TypeError("a bytes-like object is required, not "
                            f"'{type(address).__name__}'") from None
    if not name or name[0] == 0:
        if len(name) > UNIX_PATH_MAX:
            raise OSError("AF_UNIX path too long")
    elif len(name) >= UNIX_PATH_MAX:
        raise OSError("AF_UNIX path too long")
    return name


def unix_makesockaddr(name: bytes) -> str | bytes:
    if name[:1] == b"\0":
        return name
    end = name.find(b"\0")
    return os.fsdecode(name if end < 0 else name[:end])


CMSG_HDR = 16  # sizeof(struct cmsghdr) on 64-bit Linux


def scm_credentials(kernel: Kernel, anc: list[Any]) -> Ucred | None:
    """__scm_send for AF_UNIX: the credentials an SCM_CREDENTIALS message
    names -- the sender's own, or any for root (CAP_SYS_ADMIN, CAP_SETUID)
    -- else EPERM; a malformed message is EINVAL, descriptors EINVAL too
    (usernet's are not the process's to pass)."""
    cred = None
    for level, kind, data in anc:
        raw = bytes(memoryview(data).cast("B"))
        if level != _s.SOL_SOCKET or kind != _s.SCM_CREDENTIALS or len(raw) != UCRED.size:
            raise oserror(errno.EINVAL)
        pid, uid, gid = UCRED.unpack(raw)
        task = current_task(kernel)
        own = task.cred
        if own.uid != 0 and (pid != task.tgid or uid != own.uid or gid != own.gid):
            raise oserror(errno.EPERM)
        cred = (pid, uid, gid)
    return cred


def scm_recv(sk: UnixSock, ancbufsize: int) -> tuple[list[tuple[int, int, bytes]], int]:
    """put_cmsg of SCM_CREDENTIALS for a socket with SO_PASSCRED: cut to the
    room the caller gave, with MSG_CTRUNC."""
    cred = sk.rx_cred
    if cred is None:
        return [], 0
    raw = UCRED.pack(*cred)
    if ancbufsize < CMSG_HDR:
        return [], int(_s.MSG_CTRUNC)
    room = ancbufsize - CMSG_HDR
    cut = int(_s.MSG_CTRUNC) if room < len(raw) else 0
    return [(_s.SOL_SOCKET, _s.SCM_CREDENTIALS, raw[:room])], cut
