"""The scheduler: (time, sequence) order, cancellation, virtual and real time."""

from __future__ import annotations

import time

from usernet.kernel import Kernel
from usernet.sched import Scheduler


def test_events_run_in_time_then_sequence_order() -> None:
    s = Scheduler()
    seen: list[str] = []
    s.call_at(20, seen.append, "c")
    s.call_at(10, seen.append, "a")
    s.call_at(10, seen.append, "b")  # same instant: scheduling order
    s.call_soon(seen.append, "now")
    s.run_until()
    assert seen == ["now", "a", "b", "c"]
    assert s.now == 20


def test_events_scheduled_while_running_keep_order() -> None:
    s = Scheduler()
    seen: list[tuple[int, str]] = []

    def first() -> None:
        seen.append((s.now, "first"))
        s.call_soon(lambda: seen.append((s.now, "soon")))
        s.call_later(5, lambda: seen.append((s.now, "later")))

    s.call_at(10, first)
    s.call_at(10, lambda: seen.append((s.now, "second")))
    s.run_until()
    assert seen == [(10, "first"), (10, "second"), (10, "soon"), (15, "later")]


def test_cancel_and_bounded_runs() -> None:
    s = Scheduler()
    seen: list[int] = []
    t = s.call_at(5, seen.append, 5)
    s.call_at(50, seen.append, 50)
    t.cancel()
    assert not t.pending
    s.run_until(30)
    assert seen == [] and s.now == 30  # time still reaches the bound
    assert s.next_time() == 50
    s.run_until(stop=lambda: bool(seen))
    assert seen == [50]


def test_trace_records_every_event() -> None:
    s = Scheduler()
    s.trace = []
    s.call_at(3, int)
    s.run_until()
    assert s.trace == [(3, "int")]


def test_virtual_time_does_not_wait() -> None:
    k = Kernel()
    t0 = time.monotonic()
    assert k.cmd("sleep 3600").rc == 0
    assert time.monotonic() - t0 < 1
    assert k.sched.now == 3600 * 10**9


def test_realtime_follows_the_wall_clock() -> None:
    s = Scheduler()
    s.set_realtime(True)
    seen: list[float] = []
    start = time.monotonic()
    s.call_later(50_000_000, lambda: seen.append(time.monotonic() - start))
    s.run_until()
    assert seen and seen[0] >= 0.045
    s.set_realtime(False)
    t0 = time.monotonic()
    s.run_for(10**9)  # virtual again: no wait
    assert time.monotonic() - t0 < 0.5


def test_compaction_drops_cancelled_events_and_keeps_the_order() -> None:
    """Past HEAP_COMPACT_MIN events the heap sheds cancelled ones; the live
    ones still run in (time, seq) order, and time is not moved by the dead."""
    from usernet.sched import HEAP_COMPACT_MIN

    s = Scheduler()
    ran: list[int] = []
    for i in range(HEAP_COMPACT_MIN + 10):
        t = s.call_at(1000 + (i % 7), ran.append, i)
        if not i % 2:
            t.cancel()  # as timers are: armed, then cancelled before their time
    s.call_at(5000, ran.append, -1)
    assert len(s._heap) < HEAP_COMPACT_MIN  # the cancelled half went at the compaction
    s.run_until()
    live = [i for i in range(HEAP_COMPACT_MIN + 10) if i % 2]
    assert ran == [*sorted(live, key=lambda i: (1000 + i % 7, i)), -1]
    assert s.now == 5000


def test_a_cancelled_event_lets_go_of_its_arguments() -> None:
    """It stays in the heap until its time, but what it was for may be freed."""
    import weakref

    class Thing:
        pass

    s = Scheduler()
    thing = Thing()
    ref = weakref.ref(thing)
    t = s.call_later(1_000_000_000, lambda x: None, thing)
    t.cancel()
    del thing
    assert ref() is None
    assert not t.pending
