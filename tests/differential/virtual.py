"""The usernet side: cases run as usernet processes with ``usernet.socket``.

``run_virtual`` boots a fresh ``Kernel()``, runs the topology's commands
(role names are the namespace names), spawns the case in ``da`` with
``kernel.spawn`` and drives ``kernel.run()``: blocking socket calls park
the process and time is virtual.  Helpers from ``env.spawn`` are processes
too; arguments and results go through JSON as on the real side.
"""

from __future__ import annotations

import gc
import json
import signal
import threading
import traceback
from collections.abc import Callable
from typing import Any

from usernet import Kernel
from usernet.process import Process, ProcessError
from usernet.wait import WaitQueue, wait_event
from usernet.wait import sleep as vsleep

from .real import HelperError
from .topology import addrs, commands, roles
from .util import jsonable

NS = 1_000_000_000
WALL_CLOCK_LIMIT = 120.0  # seconds of real time a case may take in usernet


class WallClockExpired(Exception):
    pass


def _wall_clock_expired(signum: int, frame: Any) -> None:
    raise WallClockExpired(f"the case ran {WALL_CLOCK_LIMIT} s of wall-clock time in usernet")


class VirtualHandle:
    def __init__(self, kernel: Kernel, what: str) -> None:
        self.kernel = kernel
        self.what = what
        self.proc: Process | None = None
        self.is_ready = False
        self.wq = WaitQueue()

    def set_ready(self) -> None:
        self.is_ready = True
        self.wq.wake_up()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        proc = self.proc
        assert proc is not None
        wait_event(self.kernel, [self.wq, proc.exited], lambda: self.is_ready or proc.done,
                   int(timeout * NS), what=f"{self.what} to be ready")
        return self.is_ready

    def result(self, timeout: float | None = 30.0) -> Any:
        proc = self.proc
        assert proc is not None
        try:
            value = proc.result(timeout)
        except TimeoutError:
            proc.kill()
            raise HelperError(f"{self.what}: no result within {timeout} s (virtual)") from None
        except ProcessError as exc:
            cause = exc.__cause__
            text = "".join(traceback.format_exception(cause)) if cause else repr(exc)
            del exc, cause  # no frames (and sockets in them) outlive the case
            raise HelperError(f"{self.what} failed:\n{text}") from None
        return json.loads(json.dumps(jsonable(value)))


class VirtualEnv:
    """``env`` on the usernet side."""

    side = "usernet"

    def __init__(self, kernel: Kernel, addr_map: dict[str, str],
                 handle: VirtualHandle | None = None) -> None:
        import usernet.socket
        import usernet.socket.select

        self.socket = usernet.socket
        self.select = usernet.socket.select
        self.kernel = kernel
        self._addrs = addr_map
        self._handle = handle

    def addr(self, host: str) -> str:
        return self._addrs[host]

    def spawn(self, fn: Callable[..., Any], *args: Any, netns: str) -> VirtualHandle:
        h = VirtualHandle(self.kernel, f"{fn.__qualname__} in {netns}")
        env = VirtualEnv(self.kernel, self._addrs, h)
        h.proc = self.kernel.spawn(fn, env, *json.loads(json.dumps(list(args))), netns=netns,
                                   name=fn.__name__)
        return h

    def sleep(self, seconds: float) -> None:
        vsleep(self.kernel, seconds)

    def wrap_tls(self, context: Any, sock: Any, **kwargs: Any) -> Any:
        from usernet.ssl import wrap_socket

        return wrap_socket(context, sock, **kwargs)

    def ready(self) -> None:
        if self._handle is not None:
            self._handle.set_ready()

    def netns(self, name: str) -> Any:
        return self.kernel.netns(name)


def run_virtual(fn: Callable[..., Any], topology: str, timeout: float = 30.0,
                seed: int = 0) -> Any:
    """Run a case in usernet: its JSON-normalised result, or HelperError."""
    guard = threading.current_thread() is threading.main_thread()
    if guard:  # a scheduler that never returns must not hang the suite
        previous = signal.signal(signal.SIGALRM, _wall_clock_expired)
        signal.setitimer(signal.ITIMER_REAL, WALL_CLOCK_LIMIT)
    try:
        ok, value = _run(fn, topology, timeout, seed)
    except Exception:  # from the kernel itself, outside any process
        ok, value = False, "usernet failed outside the case:\n" + traceback.format_exc()
    finally:
        if guard:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    # The kernel and whatever sockets the case left open are garbage now:
    # finalise them here rather than at some later collection inside pytest.
    gc.collect()
    if not ok:
        raise HelperError(value)
    return value


def _run(fn: Callable[..., Any], topology: str, timeout: float, seed: int) -> tuple[bool, Any]:
    # links without delay, as veth is: the peer's answer is in before a
    # sending call returns, which decides e.g. who finds an accept queue full
    kernel = Kernel(seed=seed, link_delay_ns=0)
    for line in commands(topology, {role: role for role in roles(topology)}):
        res = kernel.cmd(line)
        if res.rc != 0:
            return False, (f"topology {topology}: {line!r} failed in usernet: "
                           f"{res.stderr.strip()}")
    main = VirtualHandle(kernel, f"{fn.__qualname__} in da")
    main.proc = kernel.spawn(fn, VirtualEnv(kernel, addrs(topology)), netns="da",
                             name=fn.__name__)
    try:
        kernel.run(until=timeout)
        if not main.proc.done:
            return False, f"{fn.__qualname__} did not finish within {timeout} s of virtual time"
        try:
            return True, main.result(0)
        except HelperError as exc:
            return False, str(exc)
    finally:
        for proc in list(kernel.processes.values()):  # helpers left behind
            proc.kill()
