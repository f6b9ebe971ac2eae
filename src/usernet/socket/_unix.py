"""AF_UNIX addresses as CPython's socket module converts them
(getsockaddrarg and makesockaddr in Modules/socketmodule.c).

Going in, a ``str`` is encoded with the filesystem encoding and anything
bytes-like is taken as is; a name starting with NUL is abstract and may
fill all 108 bytes of ``sun_path``, a path needs room for its NUL.  Coming
back, an abstract name is ``bytes``, a path is ``str`` (up to its NUL), an
unnamed socket is ``""`` and a datagram from an unnamed sender ``None``.
"""

from __future__ import annotations

import os
from typing import Any

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
