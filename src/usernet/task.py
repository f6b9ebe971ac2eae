"""Tasks and the current namespace.

The RFC tags *tasks* with a namespace, used when they create sockets.  A
:class:`Task` holds a reference on its namespace; ``setns`` and ``unshare``
change it.  The current task travels in a :mod:`contextvars` variable, so
asyncio tasks and threads started with a copied context inherit it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .kernel import Kernel
    from .net import Net

_current: contextvars.ContextVar[Task | None] = contextvars.ContextVar(
    "usernet_current_task", default=None)


class Task:
    """A task (``struct task_struct``'s nsproxy, for the network part)."""

    __slots__ = ("exited", "kernel", "net")

    def __init__(self, kernel: Kernel, net: Net) -> None:
        self.kernel = kernel
        self.net = net.get()
        self.exited = False

    def setns(self, net: Net) -> None:
        """setns(fd, CLONE_NEWNET): switch to ``net``."""
        new = net.get()
        old, self.net = self.net, new
        old.put()

    def unshare(self) -> Net:
        """unshare(CLONE_NEWNET): move into a brand-new namespace."""
        new = self.kernel.create_net()
        old, self.net = self.net, new
        old.put()
        return new

    def exit(self) -> None:
        if not self.exited:
            self.exited = True
            self.net.put()

    def __repr__(self) -> str:
        return f"<Task in {self.net!r}>"


def current_task(kernel: Kernel) -> Task:
    task = _current.get()
    if task is None or task.kernel is not kernel:
        return kernel.init_task
    return task


@contextlib.contextmanager
def task_context(kernel: Kernel, net: Net) -> Iterator[Task]:
    """Run a block as a new task in ``net``; the task exits with the block."""
    task = Task(kernel, net)
    token = _current.set(task)
    try:
        yield task
    finally:
        _current.reset(token)
        task.exit()
