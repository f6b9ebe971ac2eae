"""Processes: Python functions running as tasks inside a namespace.

``Kernel.spawn(fn, *args, netns="a")`` runs ``fn`` as a task in namespace
``a`` (sockets it creates belong to ``a`` forever) on the kernel's
scheduler.  A blocking call in it -- ``recv``, ``accept``, ``time.sleep``
through usernet -- parks the task and lets the others run; virtual time
passes only when every task waits.  ``Kernel.run()`` drives the scheduler
until the processes finish (or a virtual deadline).  ``cred=Cred(uid, gid)``
runs it with other credentials than its parent's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .task import Cred, Task, _current
from .wait import WaitQueue, spawn_greenlet, wait_event

if TYPE_CHECKING:
    from .kernel import Kernel
    from .net import Net
    from .wait import TaskGreenlet


class ProcessError(Exception):
    """A process ended with an exception; it is the __cause__."""


class Process:
    __slots__ = ("_exc", "_result", "done", "exited", "greenlet", "kernel", "name", "pid",
                 "task")

    def __init__(self, kernel: Kernel, pid: int, name: str, net: Net, cred: Cred) -> None:
        self.kernel = kernel
        self.pid = pid
        self.name = name
        self.task = Task(kernel, net, cred, pid)
        self.done = False
        self._result: Any = None
        self._exc: BaseException | None = None
        self.exited = WaitQueue()
        self.greenlet: TaskGreenlet | None = None

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        _current.set(self.task)  # the greenlet has a context of its own
        try:
            self._result = fn(*args, **kwargs)
        except BaseException as exc:  # the process dies; join() re-raises
            self._exc = exc
        finally:
            self.done = True
            self.task.exit()
            self.kernel.processes.pop(self.pid, None)
            self.exited.wake_up()

    @property
    def exception(self) -> BaseException | None:
        return self._exc

    def join(self, timeout: float | None = None) -> bool:
        """Wait (in virtual time) for the process to end; True when it has."""
        ns = None if timeout is None else int(timeout * 1_000_000_000)
        return wait_event(self.kernel, [self.exited], lambda: self.done, ns,
                          what=f"process {self.pid} ({self.name}) to end")

    def result(self, timeout: float | None = None) -> Any:
        """join(), then the function's return value; its exception is raised
        as ProcessError from it."""
        if not self.join(timeout):
            raise TimeoutError(f"process {self.pid} ({self.name}) still running")
        if self._exc is not None:
            raise ProcessError(f"process {self.pid} ({self.name}) failed: {self._exc!r}") \
                from self._exc
        return self._result

    def kill(self) -> None:
        """End the process at its next wait (GreenletExit inside it)."""
        g = self.greenlet
        if g is not None and not g.dead and not self.done:
            import greenlet as _greenlet

            g.throw(_greenlet.GreenletExit)

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"<Process {self.pid} {self.name} in {self.task.net!r} {state}>"


def spawn(kernel: Kernel, fn: Callable[..., Any], args: tuple[Any, ...],
          kwargs: dict[str, Any], net: Net, name: str | None = None,
          cred: Cred | None = None) -> Process:
    """Start ``fn`` as a process in ``net``, with ``cred`` or (as fork) the
    credentials of the task calling this."""
    from .task import current_cred

    kernel.last_pid += 1
    label = name or str(getattr(fn, "__name__", "task"))
    proc = Process(kernel, kernel.last_pid, label, net,
                   current_cred(kernel) if cred is None else cred)
    kernel.processes[proc.pid] = proc
    proc.greenlet = spawn_greenlet(kernel, lambda: proc._run(fn, args, kwargs))
    return proc
