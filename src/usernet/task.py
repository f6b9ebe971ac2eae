"""Tasks and the current namespace.

The RFC tags *tasks* with a namespace, used when they create sockets.  A
:class:`Task` holds a reference on its namespace; ``setns`` and ``unshare``
change it.  The current task travels in a :mod:`contextvars` variable, so
asyncio tasks and threads started with a copied context inherit it.

A task also has credentials (:class:`Cred`, the uid and gid of ``struct
cred``): root (0/0) unless given where the task starts -- ``Kernel.spawn(...,
cred=Cred(1000, 1000))`` or ``Kernel.netns("a", cred=...)`` -- and otherwise
those of the task that started it, as fork copies them.  A socket records its
creator's credentials (the file's ``f_cred``), which the ``owner`` match and
``LOG --log-uid`` read.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .kernel import Kernel
    from .net import Net

_current: contextvars.ContextVar[Task | None] = contextvars.ContextVar(
    "usernet_current_task", default=None)


class Cred(NamedTuple):
    """The credentials a task acts with (``struct cred``'s fsuid and fsgid:
    what a new file, and so a new socket, is stamped with; ``groups`` are
    the supplementary groups, group_info)."""

    uid: int = 0
    gid: int = 0
    groups: tuple[int, ...] = ()


ROOT_CRED = Cred(0, 0)


class Task:
    """A task (``struct task_struct``'s nsproxy, for the network part, its
    credentials, and ``tgid``: the pid of the process it belongs to, which
    SO_PEERCRED reports; 1, the init task's, for work outside processes)."""

    __slots__ = ("cred", "exited", "kernel", "net", "tgid")

    def __init__(self, kernel: Kernel, net: Net, cred: Cred = ROOT_CRED, tgid: int = 1) -> None:
        self.kernel = kernel
        self.net = net.get()
        self.cred = cred
        self.exited = False
        self.tgid = tgid

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
        return f"<Task in {self.net!r} uid={self.cred.uid} gid={self.cred.gid}>"


def current_task(kernel: Kernel) -> Task:
    task = _current.get()
    if task is None or task.kernel is not kernel:
        return kernel.init_task
    return task


def current_cred(kernel: Kernel) -> Cred:
    """current_cred(): the credentials of the task running now."""
    return current_task(kernel).cred


@contextlib.contextmanager
def task_context(kernel: Kernel, net: Net, cred: Cred | None = None) -> Iterator[Task]:
    """Run a block as a new task in ``net``; the task exits with the block.
    Without ``cred`` it has the credentials of the task that runs it."""
    cur = current_task(kernel)
    task = Task(kernel, net, cur.cred if cred is None else cred, cur.tgid)
    token = _current.set(task)
    try:
        yield task
    finally:
        _current.reset(token)
        task.exit()
