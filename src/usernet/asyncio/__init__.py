"""asyncio over usernet: an event loop whose I/O goes through usernet
sockets and whose clock is the kernel's virtual clock.

``usernet.asyncio.run(main(), kernel=k, netns="a")`` runs a coroutine in a
process in namespace ``a`` and waits for it, ``usernet.asyncio.spawn``
starts one and returns the process; :class:`EventLoopPolicy` makes asyncio's own
``asyncio.run`` use usernet loops (``usernet.patched`` installs it).  See
:mod:`usernet.asyncio.loop`.
"""

from __future__ import annotations

from .loop import (
    EventLoopPolicy,
    ProcessExecutor,
    UsernetEventLoop,
    UsernetSelector,
    kernel_sock,
    new_event_loop,
    run,
    spawn,
)

__all__ = ["EventLoopPolicy", "ProcessExecutor", "UsernetEventLoop", "UsernetSelector",
           "kernel_sock", "new_event_loop", "run", "spawn"]
