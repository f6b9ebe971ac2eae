"""Kernel errors: an errno plus, like netlink's extended ack, an optional message.

Every kernel API raises :class:`KernelError` for a refused operation, *before*
it changes any state, so a caller (the ``ip`` tool, a test) can report it the
way iproute2 does and rely on the kernel being exactly as it was.
"""

from __future__ import annotations

import errno
import os


class KernelError(OSError):
    """A refused kernel operation: ``errno`` and an optional extack text."""

    extack: str | None

    def __init__(self, err: int, extack: str | None = None) -> None:
        super().__init__(err, os.strerror(err))
        self.extack = extack

    def __str__(self) -> str:
        if self.extack:
            return f"{self.extack} ({os.strerror(self.errno or 0)})"
        return os.strerror(self.errno or 0)


def einval(extack: str | None = None) -> KernelError:
    return KernelError(errno.EINVAL, extack)
