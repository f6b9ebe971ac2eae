"""The kernel's clock and event scheduler.

Every timer, device queue and task wake-up is an event ordered by (virtual
time, sequence number): two runs with the same inputs and seed execute the
same events in the same order.  Events due at the current instant wait in a
FIFO (the softirq backlog); future ones wait in a heap.  Moving time forward
first moves every heap event due at that instant into the FIFO, in sequence
order, so the FIFO always holds events in (time, seq) order.

In virtual mode time jumps straight to the next event; in real-time mode
(``realtime=True``) the scheduler sleeps until the wall clock reaches it.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable
from typing import Any

NSEC_PER_SEC = 1_000_000_000
NSEC_PER_MSEC = 1_000_000
NSEC_PER_USEC = 1_000


class Timer:
    """A pending event; ``cancel()`` makes it a no-op (lazy deletion)."""

    __slots__ = ("args", "fn", "when")

    def __init__(self, when: int, fn: Callable[..., Any] | None, args: tuple[Any, ...]) -> None:
        self.when = when
        self.fn = fn
        self.args = args

    def cancel(self) -> None:
        self.fn = None
        # and let go of the arguments: the dead event stays in the heap until
        # its time (or a compaction), and must not keep what it was for (a
        # request socket, a TIME_WAIT socket) alive meanwhile
        self.args = ()

    @property
    def pending(self) -> bool:
        return self.fn is not None


_new = object.__new__


def new_timer(when: int, fn: Callable[..., Any] | None, args: tuple[Any, ...]) -> Timer:
    """Timer(when, fn, args), a little cheaper (no __init__ frame)."""
    t = _new(Timer)
    t.when = when
    t.fn = fn
    t.args = args
    return t


HEAP_COMPACT_MIN = 1024  # heap size below which cancelled events are left to time


class Scheduler:
    __slots__ = (
        "_compact_at",
        "_heap",
        "_now_q",
        "_seq",
        "_virt0",
        "_wall0",
        "events_run",
        "now",
        "realtime",
        "trace",
    )

    def __init__(self, realtime: bool = False) -> None:
        self.now = 0  # virtual nanoseconds since boot
        self._heap: list[tuple[int, int, Timer]] = []
        self._now_q: deque[Timer] = deque()
        self._seq = 0
        self._compact_at = HEAP_COMPACT_MIN
        self.realtime = realtime
        self._wall0 = time.monotonic_ns()
        self._virt0 = 0
        self.events_run = 0
        # When a list, every executed event appends (time, callback name):
        # the determinism check compares two runs' traces.
        self.trace: list[tuple[int, str]] | None = None

    # -- scheduling -----------------------------------------------------------

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> Timer:
        t = new_timer(self.now, fn, args)
        self._now_q.append(t)
        return t

    def call_at(self, when: int, fn: Callable[..., Any], *args: Any) -> Timer:
        if when <= self.now:
            return self.call_soon(fn, *args)
        t = new_timer(when, fn, args)
        self._seq += 1
        heap = self._heap
        heapq.heappush(heap, (when, self._seq, t))
        if len(heap) > self._compact_at:
            self.compact()
        return t

    def compact(self) -> None:
        """Drop cancelled events from the heap.  Cancelling leaves an event in
        place until its time (lazy deletion), and a connection cancels
        several timers of a second or a minute: without this the heap, and
        what the garbage collector must walk, would grow with them.  The
        live events keep their (time, seq) keys, so they run in the same
        order; the next compaction waits until the heap has doubled."""
        heap = self._heap
        heap[:] = [e for e in heap if e[2].fn is not None]
        heapq.heapify(heap)
        n = 2 * len(heap)
        self._compact_at = n if n > HEAP_COMPACT_MIN else HEAP_COMPACT_MIN

    def call_later(self, delay_ns: int, fn: Callable[..., Any], *args: Any) -> Timer:
        return self.call_at(self.now + delay_ns, fn, *args)

    # -- running --------------------------------------------------------------

    def next_time(self) -> int | None:
        """When the next live event is due, or None when nothing is pending."""
        if self._now_q:
            return self.now
        heap = self._heap
        while heap and heap[0][2].fn is None:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def _advance(self, when: int) -> None:
        if self.realtime:
            self._sleep_until(when)
        self.now = when
        heap = self._heap
        q = self._now_q
        while heap and heap[0][0] <= when:
            q.append(heapq.heappop(heap)[2])

    def _sleep_until(self, when: int) -> None:
        wall_due = self._wall0 + (when - self._virt0)
        delay = wall_due - time.monotonic_ns()
        if delay > 0:
            time.sleep(delay / NSEC_PER_SEC)

    def run_until(self, when: int | None = None,
                  stop: Callable[[], bool] | None = None) -> None:
        """Run events due up to ``when`` (None: until nothing is pending), or
        until ``stop()`` is true after an event; then leave ``now`` at ``when``."""
        q = self._now_q
        trace = self.trace
        while True:
            if stop is not None and stop():
                return
            if not q:
                nxt = self.next_time()
                if nxt is None or (when is not None and nxt > when):
                    break
                self._advance(nxt)
                continue
            t = q.popleft()
            fn = t.fn
            if fn is None:
                continue
            t.fn = None
            self.events_run += 1
            if trace is not None:
                trace.append((self.now, getattr(fn, "__qualname__", repr(fn))))
            fn(*t.args)
        if when is not None and when > self.now:
            if self.realtime:
                self._sleep_until(when)
            self.now = when

    def run_for(self, duration_ns: int, stop: Callable[[], bool] | None = None) -> None:
        self.run_until(self.now + duration_ns, stop)

    def set_realtime(self, on: bool) -> None:
        """Switch modes; virtual time stays continuous across the switch."""
        self.realtime = on
        self._wall0 = time.monotonic_ns()
        self._virt0 = self.now
