"""The kernel log: printk's ring buffer, one per emulated kernel.

Every namespace writes into the same buffer, as in Linux (the log is not
namespaced).  A record keeps the virtual time it was written at, its level
and its text; readers (``dmesg``) see the records after the last clear, as
util-linux's dmesg does when it seeks /dev/kmsg to ``SEEK_DATA``.  The buffer
holds ``LOG_BUF_LEN`` bytes of text (CONFIG_LOG_BUF_SHIFT=17); the oldest
records make room for new ones.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .kernel import Kernel

LOG_BUF_LEN = 1 << 17
KERN_SOH = "\x01"
MESSAGE_LOGLEVEL_DEFAULT = 4  # a printk without a level is a warning
LOG_KERN = 0  # facility of every kernel message

LEVEL_NAMES = ("emerg", "alert", "crit", "err", "warn", "notice", "info", "debug")
FACILITY_NAMES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
                  "uucp", "cron", "authpriv", "ftp")


@dataclass(slots=True, frozen=True)
class LogRecord:
    """One printk: ``ts_ns`` is virtual nanoseconds since boot."""

    seq: int
    ts_ns: int
    level: int
    facility: int
    text: str


class KernelLog:
    """The ring buffer and the sequence numbers readers start from."""

    __slots__ = ("clear_seq", "kernel", "next_seq", "records", "size")

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.records: deque[LogRecord] = deque()
        self.next_seq = 0
        self.clear_seq = 0  # SYSLOG_ACTION_CLEAR moves it to next_seq
        self.size = 0

    def printk(self, text: str) -> None:
        """Log ``text``; a leading KERN_SOH + digit sets the level.  A record is
        one line: each further line becomes its own record, as vprintk_store
        splits them."""
        level = MESSAGE_LOGLEVEL_DEFAULT
        if len(text) >= 2 and text[0] == KERN_SOH and "0" <= text[1] <= "7":
            level = ord(text[1]) - 48
            text = text[2:]
        for line in text.rstrip("\n").split("\n"):
            self._store(level, line)

    def _store(self, level: int, text: str) -> None:
        rec = LogRecord(self.next_seq, self.kernel.sched.now, level, LOG_KERN, text)
        self.next_seq += 1
        self.records.append(rec)
        self.size += len(text.encode())
        while self.size > LOG_BUF_LEN and len(self.records) > 1:
            self.size -= len(self.records.popleft().text.encode())

    def read(self) -> list[LogRecord]:
        """The records a reader sees: those since the last clear still held."""
        return [r for r in self.records if r.seq >= self.clear_seq]

    def clear(self) -> None:
        self.clear_seq = self.next_seq


def kernel_log(kernel: Kernel) -> KernelLog:
    """The kernel's log buffer (made on first use: a kernel that never logs
    pays nothing)."""
    log = kernel.kmsg
    if log is None:
        log = KernelLog(kernel)
        kernel.kmsg = log
    return log


def printk(kernel: Kernel, text: str) -> None:
    kernel_log(kernel).printk(text)


def format_timestamp(ts_ns: int) -> str:
    """The ``[%5lu.%06lu]`` prefix of dmesg (microseconds, truncated)."""
    us = ts_ns // 1000
    return f"[{us // 1_000_000:5d}.{us % 1_000_000:06d}]"
