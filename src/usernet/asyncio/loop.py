"""An asyncio event loop over usernet sockets, in virtual time.

:class:`UsernetEventLoop` is asyncio's own selector event loop
(``BaseSelectorEventLoop``: transports, streams, servers, ``sock_*``,
datagram endpoints, timeouts -- all of asyncio's code) with three things
swapped:

* the selector is :class:`UsernetSelector`: it polls the kernel sockets
  behind usernet's descriptors and waits with ``usernet.wait.wait_event``
  on their wait queues, so a task running the loop parks until a socket is
  ready, a timer is due or another task calls ``call_soon_threadsafe``;
* ``time()`` is the kernel's virtual clock (``sched.now`` in seconds), so
  ``asyncio.sleep(3600)`` and ``asyncio.timeout`` take no wall time;
* the methods that make sockets or resolve names (``create_connection``,
  ``create_server``, ``create_datagram_endpoint``, ``getaddrinfo``,
  ``sock_connect``...) are asyncio's own functions re-bound to see
  :mod:`usernet.socket` where they say ``socket``; blocking work
  (``run_in_executor(None, ...)``, ``asyncio.to_thread``, ``getaddrinfo``)
  runs in a usernet process -- a greenlet in the caller's namespace --
  instead of an OS thread.

It is the ``BaseSelectorEventLoop``, not Unix's: a descriptor of usernet is
no OS descriptor, so ``os.sendfile``, signals through a wake-up fd and
subprocesses are not offered (``sock_sendfile`` falls back to send, as
asyncio does where sendfile is missing).  Unix's ``create_unix_server``
and ``create_unix_connection`` are taken over, re-bound like the rest:
their AF_UNIX sockets are usernet's (names in the real filesystem, see
:mod:`usernet.unix.af_unix`).

Determinism: the loop's ready queue, its timers and the selector's answer
(registration order) depend only on what happened before in virtual time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import math
import os
import selectors
import socket as _stdsocket
import types
import warnings
from asyncio import base_events, events, selector_events, unix_events
from asyncio import log as asyncio_log
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, Unpack

from ..sock import POLLERR, POLLHUP, POLLIN, POLLOUT
from ..wait import WaitQueue, wait_event

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..process import Process
    from ..socket._context import Pollable

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")
NSEC = 1_000_000_000
_READ_MASK = POLLIN | POLLHUP | POLLERR
_WRITE_MASK = POLLOUT | POLLHUP | POLLERR


def _fd_of(fileobj: Any) -> int:
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fileobj!r}") from None
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


def kernel_sock(kernel: Kernel, fileobj: Any) -> Pollable:
    """The kernel socket (or epoll instance) behind a usernet descriptor
    (or socket object)."""
    sock = getattr(fileobj, "sock", None)
    if sock is not None and getattr(fileobj, "kernel", None) is kernel:
        return sock  # type: ignore[no-any-return]
    from ..socket.select import lookup

    try:
        return lookup(kernel, _fd_of(fileobj))
    except OSError:
        raise ValueError(f"{fileobj!r} is not a usernet descriptor of {kernel!r} "
                         "(the usernet loop waits on usernet sockets only)") from None


class UsernetSelector(selectors.BaseSelector):
    """A ``selectors`` selector over usernet descriptors, waiting in virtual
    time.  ``wakeup()`` ends a ``select`` early (the loop's self-pipe)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._keys: dict[int, selectors.SelectorKey] = {}
        self._socks: dict[int, Pollable] = {}
        self._wakeq = WaitQueue()
        self._woken = False

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        if not events or events & ~(selectors.EVENT_READ | selectors.EVENT_WRITE):
            raise ValueError(f"Invalid events: {events!r}")
        fd = _fd_of(fileobj)
        if fd in self._keys:
            raise KeyError(f"{fileobj!r} (FD {fd}) is already registered")
        sk = kernel_sock(self.kernel, fileobj)
        key = selectors.SelectorKey(fileobj, fd, events, data)
        self._keys[fd] = key
        self._socks[fd] = sk
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = _fd_of(fileobj)
        try:
            key = self._keys.pop(fd)
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None
        del self._socks[fd]
        return key

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        fd = _fd_of(fileobj)
        key = self._keys.get(fd)
        if key is None:
            raise KeyError(f"{fileobj!r} is not registered")
        if events != key.events:
            self.unregister(fileobj)
            return self.register(fileobj, events, data)
        if data != key.data:
            key = key._replace(data=data)
            self._keys[fd] = key
        return key

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return types.MappingProxyType(self._keys)

    def close(self) -> None:
        self._keys.clear()
        self._socks.clear()

    def wakeup(self) -> None:
        """End the current (or next) select: ``call_soon_threadsafe``."""
        self._woken = True
        self._wakeq.wake_up()

    def _ready(self) -> list[tuple[selectors.SelectorKey, int]]:
        out = []
        socks = self._socks
        for fd, key in self._keys.items():
            mask = socks[fd].poll()
            ev = 0
            if key.events & selectors.EVENT_READ and mask & _READ_MASK:
                ev |= selectors.EVENT_READ
            if key.events & selectors.EVENT_WRITE and mask & _WRITE_MASK:
                ev |= selectors.EVENT_WRITE
            if ev:
                out.append((key, ev))
        return out

    def _any_ready(self) -> bool:
        if self._woken:
            return True
        socks = self._socks
        for fd, key in self._keys.items():
            mask = socks[fd].poll()
            if ((key.events & selectors.EVENT_READ and mask & _READ_MASK)
                    or (key.events & selectors.EVENT_WRITE and mask & _WRITE_MASK)):
                return True
        return False

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if not self._woken:
            ready = self._ready()
            if ready or (timeout is not None and timeout <= 0):
                return ready
            ns = None if timeout is None else max(1, math.ceil(timeout * NSEC))
            queues = [sk.wq for sk in self._socks.values()]
            queues.append(self._wakeq)
            # asyncio's running loop is per OS thread, and other tasks (each
            # perhaps running a loop of its own) run while this one waits.
            running = events._get_running_loop()
            events._set_running_loop(None)
            try:
                wait_event(self.kernel, queues, self._any_ready, ns,
                           what="an asyncio event (I/O, timer or call_soon_threadsafe)")
            finally:
                events._set_running_loop(running)
        self._woken = False
        return self._ready()


class ProcessExecutor(concurrent.futures.Executor):
    """``run_in_executor``'s default: each call runs as a usernet process
    (a greenlet under the kernel's scheduler) in the caller's namespace --
    blocking usernet calls in it wait in virtual time, as an OS thread of a
    ``ThreadPoolExecutor`` would wait in real time."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._done = WaitQueue()  # woken as each call ends
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any,
               **kwargs: Any) -> concurrent.futures.Future[Any]:
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._pending.add(fut)

        def body() -> None:
            try:
                if not fut.set_running_or_notify_cancel():
                    return
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    fut.set_exception(exc)
                else:
                    fut.set_result(result)
            finally:
                self._pending.discard(fut)
                self._done.wake_up()

        name = getattr(fn, "__name__", None) or type(fn).__name__
        self.kernel.spawn(body, name=f"executor:{name}")
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True
        if cancel_futures:
            for fut in list(self._pending):
                fut.cancel()
        if wait:
            wait_event(self.kernel, [self._done], lambda: not self._pending, None,
                       what="executor calls to end")


# -- asyncio's methods, re-bound to usernet.socket --------------------------------------------


def _loop_kernel() -> Kernel | None:
    loop = events._get_running_loop()
    return loop.kernel if isinstance(loop, UsernetEventLoop) else None


def _socket_namespace() -> types.ModuleType:
    """The ``socket`` asyncio's re-bound methods see: the stdlib module's
    constants and helpers, with usernet's socket class and name functions,
    which default to the running usernet loop's kernel."""
    import usernet.socket as usock

    mod = types.ModuleType("socket", "stdlib socket names over usernet.socket")
    mod.__dict__.update({k: v for k, v in vars(_stdsocket).items() if not k.startswith("__")})
    for name in dir(usock):
        value = getattr(usock, name)
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if not hasattr(_stdsocket, name):
            continue
        if callable(value) and "kernel" in _kwonly(value):
            mod.__dict__[name] = _with_loop_kernel(value)
        else:
            mod.__dict__[name] = value
    return mod


def _kwonly(fn: Any) -> set[str]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return set()
    return {p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY}


def _with_loop_kernel(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        if "kernel" not in kwargs:
            kernel = _loop_kernel()
            if kernel is not None:
                kwargs["kernel"] = kernel
        return fn(*args, **kwargs)

    call.__name__ = getattr(fn, "__name__", "call")
    call.__qualname__ = getattr(fn, "__qualname__", "call")
    call.__doc__ = fn.__doc__
    return call


def _names(code: types.CodeType) -> set[str]:
    out = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out |= _names(const)
    return out


# What the Unix loop adds that works on usernet sockets: AF_UNIX servers and
# connections (3.13's removal of a server's socket file is the loop's own
# _stop_serving: the Unix loop's calls super() and cannot be re-bound).
_UNIX_METHODS = frozenset({"create_unix_connection", "create_unix_server"})


def _rebound_methods() -> dict[str, Any]:
    """asyncio's event-loop methods that use the ``socket`` module, as new
    functions whose globals see usernet's socket namespace instead."""
    sock_ns = _socket_namespace()
    out: dict[str, Any] = {}
    for cls in (unix_events._UnixSelectorEventLoop, selector_events.BaseSelectorEventLoop,
                base_events.BaseEventLoop):
        module = inspect.getmodule(cls)
        assert module is not None
        globs = dict(vars(module))
        globs["socket"] = sock_ns
        for name, fn in vars(cls).items():
            if name in out or not isinstance(fn, types.FunctionType):
                continue
            if cls is unix_events._UnixSelectorEventLoop:
                if name not in _UNIX_METHODS:
                    continue
            elif "socket" not in _names(fn.__code__):
                continue
            new = types.FunctionType(fn.__code__, globs, fn.__name__, fn.__defaults__,
                                     fn.__closure__)
            new.__kwdefaults__ = fn.__kwdefaults__
            new.__qualname__ = fn.__qualname__
            new.__doc__ = fn.__doc__
            new.__dict__.update(fn.__dict__)
            out[name] = new
    return out


class UsernetEventLoop(selector_events.BaseSelectorEventLoop):
    """asyncio's selector event loop on a usernet kernel (see the module doc).

    The loop belongs to no namespace: sockets are made in the namespace of
    the task that runs it (``usernet.asyncio.run(..., netns=)`` runs it in a
    process there)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._usel = UsernetSelector(kernel)
        super().__init__(self._usel)
        self._unix_server_sockets: dict[Any, int] = {}  # 3.13's cleanup_socket
        self._clock_resolution = 1e-9

    def time(self) -> float:
        return self.kernel.sched.now / NSEC

    def _stop_serving(self, sock: Any) -> None:
        """3.13's cleanup_socket: a unix server's socket file goes when it
        stops serving, if it is still the file the server made."""
        path = sock.getsockname() if sock in self._unix_server_sockets else None
        super()._stop_serving(sock)  # type: ignore[misc]  # asyncio's private API
        if path is None:
            return
        ino = self._unix_server_sockets.pop(sock)
        try:
            if os.stat(path).st_ino == ino:
                os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as err:
            asyncio_log.logger.error("Unable to clean up listening UNIX socket %r: %r",
                                     path, err)

    # -- the self-pipe: a wait queue, not a socketpair ------------------------------------

    def _make_self_pipe(self) -> None:
        self._ssock = self._csock = None

    def _close_self_pipe(self) -> None:
        pass

    def _write_to_self(self) -> None:
        self._usel.wakeup()

    def _process_self_data(self, data: bytes) -> None:
        pass

    # -- executors: usernet processes, not OS threads ---------------------------------------

    def run_in_executor(self, executor: concurrent.futures.Executor | None,
                        func: Callable[[Unpack[_Ts]], _T],
                        *args: *_Ts) -> asyncio.Future[_T]:
        if executor is None and self._default_executor is None:  # type: ignore[has-type]
            self._check_closed()  # type: ignore[attr-defined]
            self._check_default_executor()  # type: ignore[attr-defined]
            self._default_executor = ProcessExecutor(self.kernel)
        return super().run_in_executor(executor, func, *args)

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        """Wait for the default executor's work; ``timeout`` (Python 3.12's
        argument, virtual seconds) bounds the wait, with 3.12's warning."""
        self._executor_shutdown_called = True
        executor: Any = self._default_executor
        if executor is None:
            return
        if isinstance(executor, ProcessExecutor):
            pending = [asyncio.wrap_future(f, loop=self) for f in executor._pending]
            executor.shutdown(wait=False)
            if pending:
                _done, late = await asyncio.wait(pending, timeout=timeout)
                if late:
                    warnings.warn("The executor did not finishing joining its threads "
                                  f"within {timeout} seconds.", RuntimeWarning, stacklevel=2)
        else:  # a ThreadPoolExecutor given by the program: its threads are real
            executor.shutdown(wait=True)

    # -- what the Unix loop offers and a usernet one cannot ---------------------------------

    def add_signal_handler(self, sig: int, callback: Callable[[Unpack[_Ts]], object],
                           *args: *_Ts) -> None:
        raise NotImplementedError("signals do not reach a usernet event loop")

    def remove_signal_handler(self, sig: int) -> bool:
        raise NotImplementedError("signals do not reach a usernet event loop")

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} running={self.is_running()} "
                f"closed={self.is_closed()} debug={self.get_debug()} now={self.time():.9f}>")


for _name, _fn in _rebound_methods().items():
    if _name not in vars(UsernetEventLoop):  # the loop's own overrides stay
        setattr(UsernetEventLoop, _name, _fn)
del _name, _fn


class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """An event loop policy whose new loops are usernet loops on ``kernel``."""

    def __init__(self, kernel: Kernel) -> None:
        super().__init__()
        self.kernel = kernel

    def new_event_loop(self) -> UsernetEventLoop:
        return UsernetEventLoop(self.kernel)


def new_event_loop(kernel: Kernel) -> UsernetEventLoop:
    return UsernetEventLoop(kernel)


def spawn(main: Any, *, kernel: Kernel, netns: Any = None, debug: bool | None = None,
          name: str = "asyncio") -> Process:
    """Start ``asyncio.run(main)`` on a usernet loop as a process in ``netns``
    (default: the caller's namespace); its ``result()`` is what ``main``
    returned (a failure comes as ProcessError from the exception)."""
    if not inspect.iscoroutine(main):
        raise ValueError(f"a coroutine was expected, got {main!r}")

    def body() -> Any:
        with asyncio.Runner(debug=debug, loop_factory=lambda: UsernetEventLoop(kernel)) as r:
            return r.run(main)

    return kernel.spawn(body, netns=netns, name=name)


def run(main: Any, *, kernel: Kernel, netns: Any = None, debug: bool | None = None,
        name: str = "asyncio") -> Any:
    """``asyncio.run(main)`` on a usernet loop, in a process in ``netns``
    (default: the caller's namespace); waits for it (in virtual time) and
    returns what ``main`` returned, or raises what it raised."""
    proc = spawn(main, kernel=kernel, netns=netns, debug=debug, name=name)
    running = events._get_running_loop()
    events._set_running_loop(None)
    try:
        proc.join()
    finally:
        events._set_running_loop(running)
    if proc.exception is not None:
        raise proc.exception
    return proc.result()


__all__ = ["EventLoopPolicy", "ProcessExecutor", "UsernetEventLoop", "UsernetSelector",
           "kernel_sock", "new_event_loop", "run", "spawn"]
