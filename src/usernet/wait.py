"""Waiting: wait queues and ``wait_event`` (``include/linux/wait.h``).

Code that runs "inside" the emulated kernel -- a task spawned with
``Kernel.spawn`` -- is a greenlet.  When it must wait (a blocking recv, an
accept, a sleep) it parks on a wait queue and switches back to the greenlet
that drives the scheduler; a wake-up or a timeout schedules its resumption
as an ordinary scheduler event, so which task runs when is decided by
(virtual time, sequence) alone: runs are deterministic.

Code outside any task (a test's main program, say) that waits simply drives
the scheduler itself until its condition holds.  If nothing is left that
could ever make it true, it would wait forever: usernet raises
:class:`WouldBlockForever` instead, naming what was awaited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import greenlet

if TYPE_CHECKING:
    from .kernel import Kernel
    from .sched import Timer


class WouldBlockForever(RuntimeError):
    """A wait outside any task that nothing pending can ever end."""


class WaitQueue:
    """Waiters to call back when the state they wait on may have changed
    (``wait_queue_head_t``; ``wake_up`` calls every waiter)."""

    __slots__ = ("waiters",)

    def __init__(self) -> None:
        self.waiters: list[Callable[[], None]] = []

    def add(self, waiter: Callable[[], None]) -> None:
        self.waiters.append(waiter)

    def remove(self, waiter: Callable[[], None]) -> None:
        waiters = self.waiters  # a test, not contextlib.suppress: every wait ends here
        if waiter in waiters:
            waiters.remove(waiter)

    def wake_up(self) -> None:
        waiters = self.waiters
        if waiters:
            if len(waiters) == 1:  # the common case: no copy (a waker never adds)
                waiters[0]()
                return
            for waiter in list(waiters):
                waiter()


def task_greenlet() -> greenlet.greenlet | None:
    """The greenlet of the current spawned task, or None outside tasks."""
    g = greenlet.getcurrent()
    return g if isinstance(g, TaskGreenlet) else None


class TaskGreenlet(greenlet.greenlet):  # type: ignore[misc]
    """A spawned task's greenlet: its parent is the scheduler's driver."""

    kernel: Kernel
    resume_event: Timer | None = None
    cpu_debt = 0  # virtual ns of CPU used and not yet paid (charge_cpu)


def wait_event(kernel: Kernel, queues: list[WaitQueue], cond: Callable[[], bool],
               timeout_ns: int | None = None, what: object = "an event") -> bool:
    """Wait until ``cond()`` holds (True) or ``timeout_ns`` of virtual time
    passes (False).  ``queues`` are woken by whatever may change ``cond``."""
    if cond():
        return True
    sched = kernel.sched
    deadline = None if timeout_ns is None else sched.now + timeout_ns
    g = task_greenlet()
    if g is None:
        sched.run_until(deadline, stop=cond)
        if cond():
            return True
        if deadline is None or sched.now < deadline:
            raise WouldBlockForever(f"waiting for {what} outside any task, and nothing "
                                    "pending can bring it")
        return False
    return _park(kernel, g, queues, cond, deadline)


def _park(kernel: Kernel, g: TaskGreenlet, queues: list[WaitQueue], cond: Callable[[], bool],
          deadline: int | None) -> bool:
    sched = kernel.sched

    def wake() -> None:
        if g.resume_event is None:
            g.resume_event = sched.call_soon(_resume, g)

    for q in queues:
        q.add(wake)
    timer = sched.call_at(deadline, wake) if deadline is not None else None
    try:
        while not cond():
            if deadline is not None and sched.now >= deadline:
                return False
            g.parent.switch()
        return True
    finally:
        for q in queues:
            q.remove(wake)
        if timer is not None:
            timer.cancel()


def _resume(g: TaskGreenlet) -> None:
    g.resume_event = None
    if not g.dead:
        g.switch()


def yield_now(kernel: Kernel) -> None:
    """Let every event already due at this instant run (softirqs before a
    system call returns): a task steps aside once, other code runs them."""
    g = task_greenlet()
    sched = kernel.sched
    if g is None:
        sched.run_until(sched.now)
        return
    g.resume_event = sched.call_soon(_resume, g)
    g.parent.switch()


SOFTIRQ_ROUNDS = 64  # bound on the steps aside one system call takes


def softirq_exit(kernel: Kernel) -> None:
    """The end of a system call that may have sent something, on links
    without delay (``Kernel(link_delay_ns=0)``): as Linux runs the receive
    path of a veth in the sender's softirq, at ``local_bh_enable``, before
    the call returns, the task steps aside until nothing is due at this
    instant -- the peer's answer (an ACK, an ICMP error) is in by then.
    With a link delay nothing is due yet and this costs one comparison."""
    if kernel.link_delay_ns:
        return
    sched = kernel.sched
    for _ in range(SOFTIRQ_ROUNDS):
        if sched.next_time() != sched.now:
            return
        yield_now(kernel)


_getcurrent = greenlet.getcurrent  # charge_cpu runs once per system call
SYSCALL_NS = 1_000  # virtual CPU time a sending system call costs
CPU_QUANTUM_NS = 64_000  # debt paid at once: one switch per quantum, not per call


def charge_cpu(kernel: Kernel, ns: int = SYSCALL_NS) -> None:
    """Account CPU work in virtual time.  A sender that never waits would
    otherwise run at infinite speed while time stands still and every queue
    overflows; a real one is paced by its CPU.  Debt accumulates per task
    (outside tasks: per kernel) and is paid by sleeping once it reaches a
    quantum, so the receivers, timers and links run meanwhile --
    deterministically."""
    g = _getcurrent()
    holder: Any = g if g.__class__ is TaskGreenlet else kernel
    debt = holder.cpu_debt + ns
    if debt < CPU_QUANTUM_NS:
        holder.cpu_debt = debt
        return
    holder.cpu_debt = 0
    sleep(kernel, debt / 1_000_000_000)


def sleep(kernel: Kernel, seconds: float) -> None:
    """time.sleep in virtual time: a task yields, outside tasks time passes."""
    ns = max(0, int(seconds * 1_000_000_000))
    g = task_greenlet()
    if g is None:
        kernel.sched.run_for(ns)
        return
    wait_event(kernel, [], lambda: False, ns)


def spawn_greenlet(kernel: Kernel, run: Callable[[], Any]) -> TaskGreenlet:
    """A greenlet for a task, parented to the root greenlet, which is the one
    that drives the scheduler; it starts at the next scheduler step."""
    root = greenlet.getcurrent()
    while root.parent is not None:
        root = root.parent
    g = TaskGreenlet(run, parent=root)
    g.kernel = kernel
    g.resume_event = kernel.sched.call_soon(_resume, g)
    return g
