"""AF_UNIX names: the kernel's tables of bound sockets and the socket files
that filesystem names live in.

An abstract name belongs to the network namespace of the socket that binds
it (one kernel-wide table keyed by namespace, type and name: the RFC's
shared table filtered by the namespace tag); a filesystem name is an inode
of the host's filesystem, which every namespace shares."""

from __future__ import annotations

import errno
import os
import stat
from typing import TYPE_CHECKING

from ..errors import KernelError

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..net import Net
    from .af_unix import UnixSock


class UnixTable:
    """The kernel's AF_UNIX names: abstract ones by (namespace, type, name),
    filesystem ones by the (device, inode) of their socket file."""

    __slots__ = ("abstract", "bsd", "socks")

    def __init__(self) -> None:
        self.abstract: dict[tuple[Net, int, bytes], UnixSock] = {}
        self.bsd: dict[tuple[int, int], UnixSock] = {}
        # every socket from creation to release, named or not, in creation
        # order (the per-namespace table unix_diag walks)
        self.socks: dict[UnixSock, None] = {}


def unix_table(kernel: Kernel) -> UnixTable:
    return kernel.unix_table


class SocketFile:
    """A bound socket's file, held open (O_PATH) while any socket refers to
    it -- the bound one and the connections accepted through it -- as
    u->path holds the dentry: its inode number cannot go to another file
    even once the name is unlinked."""

    __slots__ = ("fd", "key", "refs")

    def __init__(self, fd: int, key: tuple[int, int]) -> None:
        self.fd = fd
        self.key = key
        self.refs = 1

    @classmethod
    def mknod(cls, name: bytes) -> SocketFile:
        """unix_bind_bsd: make the socket file (mode 0777 less the umask, as
        mknod applies it); a name that exists is EADDRINUSE."""
        path = path_of(name)
        try:
            os.mknod(path, stat.S_IFSOCK | 0o777)
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except FileExistsError:
            raise KernelError(errno.EADDRINUSE) from None
        except OSError as exc:
            raise KernelError(exc.errno or errno.EINVAL) from None
        st = os.fstat(fd)
        return cls(fd, (st.st_dev, st.st_ino))

    def get(self) -> SocketFile:
        self.refs += 1
        return self

    def put(self) -> None:
        self.refs -= 1
        if not self.refs:
            os.close(self.fd)


def unix_find_other(net: Net, name: bytes, type: int) -> UnixSock:
    """unix_find_other: an abstract name in ``net``, or the socket bound to
    a path's inode; ECONNREFUSED when nobody is there."""
    if not name:
        raise KernelError(errno.EINVAL)
    table = unix_table(net.kernel)
    if name[0] == 0:
        found = table.abstract.get((net, type, name))
        if found is None:
            raise KernelError(errno.ECONNREFUSED)
        return found
    path = path_of(name)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise KernelError(exc.errno or errno.ENOENT) from None
    if not stat.S_ISSOCK(st.st_mode):
        raise KernelError(errno.ECONNREFUSED)
    sk = table.bsd.get((st.st_dev, st.st_ino))
    if sk is None:
        raise KernelError(errno.ECONNREFUSED)
    if sk.type != type:
        raise KernelError(errno.EPROTOTYPE)
    return sk


def path_of(name: bytes) -> bytes:
    """The path a sun_path names: up to its first NUL."""
    end = name.find(b"\0")
    return name if end < 0 else name[:end]
