"""Run unmodified programs on usernet: ``with usernet.patched(kernel, netns="a"):``.

Inside the block the standard library -- and every library built on it --
uses the emulated stack and the kernel's virtual clock, the way gevent's
``monkey.patch_all()`` makes it use gevent's hub.  What is replaced:

``socket``
    The socket class and every function that makes sockets or answers names
    (``socket``, ``SocketType``, ``create_connection``, ``create_server``,
    ``socketpair``, ``fromfd``, ``getaddrinfo``, ``gethostbyname``,
    ``gethostname``, ``getfqdn``, ``getnameinfo`` ...) are
    :mod:`usernet.socket`'s: sockets belong to the namespace of the task
    that makes them, names come from that namespace's hosts table.
    ``has_ipv6`` is False.
``select``, ``selectors``
    ``select.select``/``poll``/``epoll`` and every ``selectors`` class
    wait on usernet sockets in virtual time (an ``epoll`` instance is a
    usernet descriptor too; ``devpoll`` and ``kqueue`` are hidden).
``time``
    ``sleep`` waits in virtual time (a task parks; code outside any task
    runs the scheduler meanwhile).  ``monotonic``, ``perf_counter`` (and
    their ``_ns`` forms) read the virtual clock, seconds since the kernel
    booted; ``time``/``time_ns`` read ``epoch`` plus that, so an HTTP
    ``Date`` header is the same in every run (``localtime``, ``gmtime``,
    ``ctime``, ``asctime`` and ``strftime`` without a time argument too).
    ``process_time`` and ``thread_time`` are left alone: they measure CPU.
``threading``, ``_thread``, ``queue``
    ``Thread.start`` (``_thread.start_new_thread``; on Python 3.13
    ``start_joinable_thread``, with a thread handle that ``join`` waits on
    in virtual time) runs the thread as
    a usernet process -- a greenlet under the kernel's scheduler -- in the
    starting task's namespace.  ``_thread.allocate_lock`` is a lock that
    parks the greenlet instead of the OS thread, and ``RLock``,
    ``Condition``, ``Event``, ``Semaphore``, ``Barrier``, ``Timer``,
    ``queue.Queue`` and ``queue.SimpleQueue`` are the pure-Python versions
    built on it; ``get_ident`` tells greenlets apart; ``threading.local`` is
    per greenlet.  So ``socketserver.ThreadingMixIn``,
    ``http.server.ThreadingHTTPServer`` and ``ThreadPoolExecutor`` run
    unmodified, deterministically.
``asyncio``
    The event loop policy makes :class:`usernet.asyncio.UsernetEventLoop`
    loops, so ``asyncio.run`` runs on usernet sockets in virtual time.
    asyncio's running loop, which CPython keeps per OS thread, is kept per
    greenlet while the patch is active (a ``greenlet.settrace`` hook).
``ssl``
    ``SSLContext.wrap_socket`` wraps a usernet socket in
    :class:`usernet.ssl.SSLSocket` (TLS over memory BIOs, carried by the
    emulated socket), and an OS socket as before: HTTPS clients and servers
    run unmodified.  Handshakes draw OpenSSL's randoms from the host, so
    their bytes on the wire differ between runs.
``random``
    Seeded with ``seed`` (the global generator's state comes back after).
``os.urandom``, only with ``urandom=True``
    Bytes from a generator seeded with ``seed``, and so ``secrets``,
    ``random.SystemRandom`` and ``uuid.uuid4`` too: programs that draw
    nonces or masks (websockets, say) then repeat byte for byte.  Nothing
    drawn in such a block is secret; never use it outside.  (OpenSSL has
    randoms of its own: TLS handshakes still differ by run.)
Proxy variables
    ``http_proxy``, ``https_proxy``, ``all_proxy``, ``no_proxy`` (either
    case) are hidden: no proxy exists in the emulated network.

Names that modules imported before the patch copied into their own globals
(``from time import monotonic``, ``from socket import create_connection``,
``socketserver``'s ``_ServerSelector``...) or into the attributes of the
classes they define (``_poller = select.epoll``) are replaced too, by
identity, in every loaded module except usernet's and the test runner's.  Everything
comes back when the block exits, and a second ``patched`` while one is
active is refused (:class:`PatchError`).

Why greenlets (measured by ``bench/task_switch.py``, Python 3.11, 2-core
machine): a blocking ping-pong between two tasks makes 300,000 task
switches per second with greenlets (150,000 round trips) and 40,000 to
70,000 with controlled OS threads (one thread running at a time, a lock
handed over as a baton): 4 to 8 times fewer, and worse under load (20,000
seen).  A blocking UDP recv/send ping-pong across a veth, where the stack
dominates, makes 18,000 round trips per second with greenlets against
5,000 to 14,000 with threads.  Greenlets also keep runs deterministic for
free: a switch happens only where a task waits, so the scheduler's
(virtual time, sequence) order decides everything, while threads need
the baton protocol to stay in step.  The running-loop hook below costs
about 25% of a bare switch and 6% of the UDP ping-pong.

What is not deterministic, or not covered (see docs/guide.md):
real OS threads started before the patch, or by C extensions, block for
real; locks and events created before the patch are real (a greenlet that
waits on one while another greenlet holds it blocks the whole process);
``datetime.now()``, ``os.urandom``/``secrets``/``uuid4`` and hash
randomisation across processes are not virtualised; a loop that polls the
clock without ever waiting spins forever (virtual time moves only when
every task waits); a usernet descriptor is no OS descriptor, so
``os.read``, ``os.write``, ``os.sendfile`` or ``fcntl`` on a socket's
``fileno()`` reach whatever real file has that number.  Two kernels cannot
be patched in at once.
"""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import os
import random
import select
import selectors
import socket
import ssl
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import greenlet

from . import wait as _wait
from .ssl import context_wrap_socket
from .task import current_task, task_context

if TYPE_CHECKING:
    from .kernel import Kernel
    from .net import Net

NSEC = 1_000_000_000
EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z: time.time() at virtual time 0 (recent enough
# that urllib3 does not think the clock is wrong and warn on every HTTPS request)
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy")
# Modules whose copies of patched names stay as they are: usernet itself
# (the scheduler needs the real clock) and the test runner's machinery.
SKIP_PACKAGES = ("usernet", "_pytest", "pytest", "pluggy", "greenlet", "hypothesis",
                 "coverage", "pyinstrument", "_pydevd", "pydevd", "IPython", "asyncio",
                 "concurrent", "threading", "_thread", "_threading_local", "queue", "time",
                 "socket", "_socket", "select", "selectors")

_MISSING = object()
_active: Patch | None = None


class PatchError(RuntimeError):
    """``patched`` refused: one is active already."""


# -- locks that park greenlets -----------------------------------------------------------------


class GreenLock:
    """``_thread.lock`` for greenlets: a contended ``acquire`` parks the task
    on a wait queue (virtual-time timeouts); outside any task it runs the
    scheduler until the lock is free, and raises
    :class:`usernet.wait.WouldBlockForever` if nothing can ever free it."""

    __slots__ = ("__weakref__", "_kernel", "_locked", "_wq")

    def __init__(self, kernel: Kernel | None = None) -> None:
        if kernel is None:
            if _active is None:
                raise RuntimeError("a usernet lock made outside usernet.patched()")
            kernel = _active.kernel
        self._kernel = kernel
        self._locked = False
        self._wq = _wait.WaitQueue()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not blocking and timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        if timeout < 0 and timeout != -1:
            raise ValueError("timeout value must be a non-negative number")
        if not self._locked:
            self._locked = True
            return True
        if not blocking:
            return False
        ns = None if timeout == -1 else int(timeout * NSEC)
        if not _wait.wait_event(self._kernel, [self._wq], self._free, ns, what="a lock"):
            return False
        self._locked = True
        return True

    def _free(self) -> bool:
        return not self._locked

    def release(self) -> None:
        if not self._locked:
            raise RuntimeError("release unlocked lock")
        self._locked = False
        self._wq.wake_up()

    def locked(self) -> bool:
        return self._locked

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *args: object) -> None:
        self.release()

    def _at_fork_reinit(self) -> None:
        self._locked = False
        self._wq = _wait.WaitQueue()

    acquire_lock = acquire
    release_lock = release
    locked_lock = locked

    def __repr__(self) -> str:
        state = "locked" if self._locked else "unlocked"
        return f"<{state} usernet lock object at {id(self):#x}>"


class GreenThreadHandle:
    """``_thread._ThreadHandle`` (Python 3.13, where ``Thread.join`` and
    ``is_alive`` ask it) for a thread that is a usernet process: a lock
    held while the thread runs, released with its greenlet's sentinels."""

    __slots__ = ("ident", "lock")

    def __init__(self) -> None:
        self.ident = 0
        self.lock = GreenLock()
        self.lock.acquire()

    def is_done(self) -> bool:
        return not self.lock.locked()

    def _set_done(self) -> None:
        if self.lock.locked():
            self.lock.release()

    def join(self, timeout: float | None = None) -> None:
        if self.lock.acquire(True, -1 if timeout is None else max(timeout, 0)):
            self.lock.release()


def make_thread_handle(ident: int) -> GreenThreadHandle:
    """``_thread._make_thread_handle``: the handle of a running thread."""
    handle = GreenThreadHandle()
    handle.ident = ident
    return handle


def allocate_lock() -> GreenLock:
    return GreenLock()


# -- the patch ---------------------------------------------------------------------------------


class Patch:
    """One active ``patched`` block: what was replaced, to put back."""

    def __init__(self, kernel: Kernel, net: Net, seed: int | None, epoch: float,
                 urandom: bool = False) -> None:
        self.kernel = kernel
        self.net = net
        self.seed = seed
        self.urandom = urandom
        self.epoch = epoch
        self.saved: list[tuple[Any, str, Any]] = []  # (dict or class, name, old value)
        self.threads: dict[int, Any] = {}  # ident -> Process of started threads
        self.next_ident = 1 << 32
        self.idents: list[int] = []  # the thread identifiers handed out
        self.loops: dict[Any, Any] = {}  # greenlet -> its running asyncio loop
        self.random_state: Any = None
        self.prev_trace: Any = None
        self.policy: Any = None

    # -- recording ------------------------------------------------------------------------

    def set(self, ns: Any, name: str, value: Any) -> None:
        if isinstance(ns, type):  # a class's namespace is read-only: set the attribute
            self.saved.append((ns, name, vars(ns).get(name, _MISSING)))
            setattr(ns, name, value)
            return
        d = ns if isinstance(ns, dict) else vars(ns)
        self.saved.append((d, name, d.get(name, _MISSING)))
        d[name] = value

    def hide(self, ns: Any, name: str) -> None:
        d = vars(ns)
        if name in d:
            self.saved.append((d, name, d.pop(name)))

    def undo(self) -> None:
        for d, name, old in reversed(self.saved):
            if isinstance(d, type):
                if old is _MISSING:
                    delattr(d, name)
                else:
                    setattr(d, name, old)
            elif old is _MISSING:
                d.pop(name, None)
            else:
                d[name] = old
        self.saved.clear()

    # -- clock ----------------------------------------------------------------------------

    def monotonic(self) -> float:
        return self.kernel.sched.now / NSEC

    def monotonic_ns(self) -> int:
        return self.kernel.sched.now

    def time(self) -> float:
        return self.epoch + self.kernel.sched.now / NSEC

    def time_ns(self) -> int:
        return int(self.epoch * NSEC) + self.kernel.sched.now

    def sleep(self, secs: float) -> None:
        if not isinstance(secs, int | float):
            raise TypeError(f"'{type(secs).__name__}' object cannot be interpreted as an integer")
        if secs < 0:
            raise ValueError("sleep length must be non-negative")
        if secs == 0:
            _wait.yield_now(self.kernel)  # let whatever is due now run
        else:
            _wait.sleep(self.kernel, secs)

    def time_functions(self) -> dict[str, Any]:
        orig = {name: getattr(time, name) for name in
                ("localtime", "gmtime", "ctime", "asctime", "strftime")}
        now = self.time

        def localtime(secs: float | None = None) -> time.struct_time:
            return orig["localtime"](now() if secs is None else secs)  # type: ignore[no-any-return]

        def gmtime(secs: float | None = None) -> time.struct_time:
            return orig["gmtime"](now() if secs is None else secs)  # type: ignore[no-any-return]

        def ctime(secs: float | None = None) -> str:
            return orig["ctime"](now() if secs is None else secs)  # type: ignore[no-any-return]

        def asctime(t: Any = None) -> str:
            return orig["asctime"](localtime() if t is None else t)  # type: ignore[no-any-return]

        def strftime(fmt: str, t: Any = None) -> str:
            return orig["strftime"](fmt, localtime() if t is None else t)  # type: ignore[no-any-return]

        return {"sleep": self.sleep, "time": self.time, "time_ns": self.time_ns,
                "monotonic": self.monotonic, "monotonic_ns": self.monotonic_ns,
                "perf_counter": self.monotonic, "perf_counter_ns": self.monotonic_ns,
                "localtime": localtime, "gmtime": gmtime, "ctime": ctime,
                "asctime": asctime, "strftime": strftime}

    # -- threads --------------------------------------------------------------------------

    def get_ident(self) -> int:
        g = greenlet.getcurrent()
        if g.parent is None:
            return _ORIG_GET_IDENT()
        ident: int | None = getattr(g, "_usernet_ident", None)
        if ident is None:
            ident = g._usernet_ident = self.new_ident()
        return ident

    def new_ident(self) -> int:
        ident = self.next_ident
        self.next_ident += 1
        self.idents.append(ident)
        return ident

    def set_sentinel(self) -> GreenLock:
        """``_thread._set_sentinel``: a lock released when the thread ends."""
        lock = GreenLock(self.kernel)
        g = greenlet.getcurrent()
        sentinels = getattr(g, "_usernet_sentinels", None)
        if sentinels is None:
            sentinels = g._usernet_sentinels = []
        sentinels.append(lock)
        return lock

    def start_joinable_thread(self, function: Callable[[], Any],
                              handle: GreenThreadHandle | None = None,
                              daemon: bool = True) -> GreenThreadHandle:
        """``_thread.start_joinable_thread`` (Python 3.13): as
        start_new_thread; the handle is done when the thread ends."""
        if handle is None:
            handle = GreenThreadHandle()
        handle.ident = self.start_new_thread(function, (), None, handle.lock)
        return handle

    def start_new_thread(self, function: Callable[..., Any], args: tuple[Any, ...],
                         kwargs: dict[str, Any] | None = None,
                         done: GreenLock | None = None) -> int:
        """``_thread.start_new_thread``; ``done``: a lock released when the
        thread ends (a sentinel of its greenlet)."""
        if not isinstance(args, tuple):
            raise TypeError("2nd arg must be a tuple")
        if kwargs is not None and not isinstance(kwargs, dict):
            raise TypeError("optional 3rd arg must be a dictionary")
        ident = self.new_ident()

        def body() -> None:
            g = greenlet.getcurrent()
            try:
                function(*args, **(kwargs or {}))
            except (SystemExit, greenlet.GreenletExit):
                pass
            except BaseException:
                print(f"Exception ignored in thread started by: {function!r}", file=sys.stderr)
                traceback.print_exc()
            finally:
                _release_sentinels(g)
                self.threads.pop(ident, None)

        net = current_task(self.kernel).net
        name = getattr(function, "__qualname__", "thread")
        owner = getattr(function, "__self__", None)
        if isinstance(owner, threading.Thread):
            name = owner.name
        proc = self.kernel.spawn(body, netns=net, name=name)
        assert proc.greenlet is not None
        proc.greenlet._usernet_ident = ident
        if done is not None:
            proc.greenlet._usernet_sentinels = [done]
        self.threads[ident] = proc
        return ident

    def thread_functions(self) -> dict[str, Any]:
        fns: dict[str, Any] = {
            "start_new_thread": self.start_new_thread, "start_new": self.start_new_thread,
            "allocate_lock": allocate_lock, "allocate": allocate_lock,
            "get_ident": self.get_ident, "_set_sentinel": self.set_sentinel}
        if hasattr(_thread, "start_joinable_thread"):  # Python 3.13: threads have handles
            fns.update(start_joinable_thread=self.start_joinable_thread,
                       _ThreadHandle=GreenThreadHandle, _make_thread_handle=make_thread_handle)
        return fns

    # -- asyncio's running loop, per greenlet -----------------------------------------------

    def trace(self, event: str, args: Any) -> None:
        if event in ("switch", "throw"):
            origin, target = args
            loops = self.loops
            running = asyncio.events._get_running_loop()
            if running is not None:
                loops[origin] = running
            else:
                loops.pop(origin, None)
            asyncio.events._set_running_loop(loops.pop(target, None))
        if self.prev_trace is not None:
            self.prev_trace(event, args)

    # -- apply / restore --------------------------------------------------------------------

    def apply(self) -> None:
        import _threading_local
        import concurrent.futures.thread  # noqa: F401 -- its globals get scanned
        import queue

        import usernet.socket as usock
        import usernet.socket.select as usel
        import usernet.socket.selectors as uselectors

        from . import sched as _sched
        from .asyncio import EventLoopPolicy, UsernetEventLoop

        kernel = self.kernel
        # the scheduler keeps the real clock (real-time mode sleeps on it)
        self.set(_sched, "time", types.SimpleNamespace(
            monotonic_ns=time.monotonic_ns, sleep=time.sleep, time=time.time,
            monotonic=time.monotonic, perf_counter=time.perf_counter))
        table: dict[int, tuple[Any, Any]] = {}

        def put(ns: Any, name: str, value: Any) -> None:
            old = getattr(ns, name, _MISSING)
            self.set(ns, name, value)
            if old is not _MISSING and old is not value and (callable(old)):
                table.setdefault(id(old), (old, value))

        # time
        for name, fn in self.time_functions().items():
            put(time, name, fn)
        # socket
        for name in usock.__all__:
            value = getattr(usock, name)
            if (name.startswith("_") or not callable(value) or not hasattr(socket, name)
                    or getattr(socket, name) is value):
                continue
            put(socket, name, value)
        put(socket, "has_ipv6", False)
        # ssl: SSLContext.wrap_socket wraps usernet sockets too (usernet.ssl)
        self.set(ssl.SSLContext, "wrap_socket", context_wrap_socket(ssl.SSLContext.wrap_socket))
        # select and selectors
        put(select, "select", usel.select)
        put(select, "poll", usel.poll)
        if hasattr(select, "epoll"):  # Linux's, on usernet descriptors
            put(select, "epoll", usel.epoll)
        for name in ("devpoll", "kqueue", "kevent"):
            self.hide(select, name)
        for name in ("DefaultSelector", "SelectSelector", "PollSelector", "EpollSelector",
                     "DevpollSelector", "KqueueSelector"):
            if hasattr(selectors, name):
                put(selectors, name, uselectors.DefaultSelector)
        # _thread and threading
        for name, fn in self.thread_functions().items():
            put(_thread, name, fn)
        put(_thread, "RLock", threading._PyRLock)  # type: ignore[attr-defined]
        put(_thread, "_local", _threading_local.local)
        put(threading, "_start_new_thread", self.start_new_thread)
        if hasattr(threading, "_start_joinable_thread"):  # Python 3.13: threads have handles
            put(threading, "_start_joinable_thread", self.start_joinable_thread)
            put(threading, "_ThreadHandle", GreenThreadHandle)
            put(threading, "_make_thread_handle", make_thread_handle)
        put(threading, "_allocate_lock", allocate_lock)
        put(threading, "_set_sentinel", self.set_sentinel)
        put(threading, "get_ident", self.get_ident)
        put(threading, "Lock", allocate_lock)
        put(threading, "_CRLock", None)
        put(threading, "_time", self.monotonic)
        put(threading, "local", _threading_local.local)
        put(queue, "SimpleQueue", queue._PySimpleQueue)  # type: ignore[attr-defined]
        put(queue, "time", self.monotonic)
        # asyncio
        policy = EventLoopPolicy(kernel)

        class SelectorEventLoop(UsernetEventLoop):
            def __init__(self, selector: Any = None) -> None:
                super().__init__(kernel)

        put(asyncio, "SelectorEventLoop", SelectorEventLoop)
        self.set(asyncio.events, "_event_loop_policy", policy)
        if self.urandom:  # random's own copy (SystemRandom, secrets) follows below
            put(os, "urandom", seeded_urandom(self.seed))
        # copies of the replaced names in other modules
        self.rebind_copies(table)
        # proxies, random, the greenlet hook
        for var in PROXY_VARS:
            for key in (var, var.upper()):
                if key in os.environ:
                    self.saved.append((_EnvDict(), key, os.environ.pop(key)))
        if self.seed is not None:
            self.random_state = random.getstate()
            random.seed(self.seed)
        self.prev_trace = greenlet.gettrace()
        greenlet.settrace(self.trace)

    def rebind_copies(self, table: dict[int, tuple[Any, Any]]) -> None:
        for modname, module in list(sys.modules.items()):
            if (not isinstance(module, types.ModuleType)
                    or modname.split(".", 1)[0] in SKIP_PACKAGES):
                continue
            try:
                d = vars(module)
            except TypeError:
                continue
            for name, value in list(d.items()):
                hit = table.get(id(value))
                if hit is not None and hit[0] is value and not name.startswith("__"):
                    self.set(d, name, hit[1])
                elif issubclass(type(value), type) and value.__module__ == modname:
                    # (type(), not isinstance: that would ask a proxy -- flask's
                    # request, say -- for its __class__)
                    self.rebind_class_copies(value, table)

    def rebind_class_copies(self, cls: type, table: dict[int, tuple[Any, Any]]) -> None:
        """Replace the copies a class took as attributes when its module was
        imported (pyftpdlib's ``class Epoll: _poller = select.epoll``), so
        that they are looked up through the class or an instance as the
        originals were: a C function or a class does not bind ``self``, a
        Python function does, so one that stands in for the first kind goes
        in as a staticmethod.  A copy whose binding cannot be kept stays."""
        for attr, member in list(vars(cls).items()):
            if attr.startswith("__"):
                continue
            wrapped = type(member) is staticmethod
            inner = member.__func__ if wrapped else member
            hit = table.get(id(inner))
            if hit is None or hit[0] is not inner:
                continue
            new = hit[1]
            binds, new_binds = isinstance(inner, types.FunctionType), \
                isinstance(new, types.FunctionType)
            if wrapped or (new_binds and not binds):
                new = staticmethod(new)
            elif binds and not new_binds:
                continue
            try:
                self.set(cls, attr, new)
            except (TypeError, AttributeError):  # an immutable (C) type keeps its own
                self.saved.pop()

    def restore(self) -> None:
        greenlet.settrace(self.prev_trace)
        if self.random_state is not None:
            random.setstate(self.random_state)
        # threads that outlive the block: threading forgets them and whoever
        # joins them is not kept waiting (they run on if the kernel runs again)
        for ident, proc in list(self.threads.items()):
            if proc.greenlet is not None:
                _release_sentinels(proc.greenlet)
            _forget_thread(ident)
        for ident in self.idents:
            _forget_thread(ident)
        # Python 3.13 tracks the last dummy thread (a task that asked for
        # current_thread()) in the OS thread's local; drop it while threading
        # can still unregister it, not at interpreter exit
        with contextlib.suppress(AttributeError):
            del threading._thread_local_info._track_dummy_thread_ref  # type: ignore[attr-defined]
        with contextlib.suppress(AttributeError):
            locks = threading._shutdown_locks  # type: ignore[attr-defined]
            for lock in [lk for lk in locks if isinstance(lk, GreenLock)]:
                locks.discard(lock)
        self.undo()
        self.loops.clear()


class _EnvDict(dict[str, Any]):
    """os.environ as a ``saved`` target (its setitem calls putenv)."""

    def get(self, key: str, default: Any = None) -> Any:
        return os.environ.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        os.environ[key] = value

    def pop(self, key: str, default: Any = None) -> Any:
        return os.environ.pop(key, default)


def _release_sentinels(g: Any) -> None:
    for lock in getattr(g, "_usernet_sentinels", ()):
        if lock.locked():
            lock.release()
    with contextlib.suppress(AttributeError):
        g._usernet_sentinels = []


_ORIG_GET_IDENT = _thread.get_ident


def _forget_thread(ident: int) -> None:
    """threading forgets a thread that outlives the block.  If it ends later
    (the kernel runs again), its ``_delete`` would ask the real get_ident,
    which names the main thread, and unregister that: it must not."""
    thread = threading._active.pop(ident, None)  # type: ignore[attr-defined]
    if thread is not None:
        thread._delete = _already_forgotten


def _already_forgotten() -> None:
    return None


def seeded_urandom(seed: int | None) -> Callable[[int], bytes]:
    """os.urandom from a generator seeded with ``seed`` (patched(urandom=True))."""
    gen = random.Random(f"urandom-{seed}")

    def urandom(size: int) -> bytes:
        if not isinstance(size, int):
            raise TypeError(f"'{type(size).__name__}' object cannot be interpreted as an integer")
        if size < 0:
            raise ValueError("negative argument not allowed")
        return gen.randbytes(size)

    return urandom


@contextlib.contextmanager
def patched(kernel: Kernel, netns: str | Net | None = None, *, seed: int | None = 0,
            epoch: float = EPOCH, urandom: bool = False) -> Iterator[Kernel]:
    """Make the standard library use ``kernel`` inside the block (see the
    module doc).  Code in the block runs as a task in ``netns`` (default:
    the caller's namespace if it is ``kernel``'s, else its ``init_net``);
    tasks and threads started in it run in theirs.  ``seed`` seeds
    ``random`` (None leaves it), and with ``urandom=True`` ``os.urandom``
    too; ``time.time()`` reads ``epoch`` plus the virtual time."""
    global _active
    if _active is not None:
        raise PatchError(f"usernet.patched() is already active (for {_active.kernel!r}); "
                         "it cannot be nested or used from two places at once")
    if netns is None:
        net = current_task(kernel).net
    elif isinstance(netns, str):
        net = kernel.netns_get(netns)
    else:
        net = netns
    from .socket import use_kernel

    if urandom and seed is None:
        raise ValueError("urandom=True needs a seed")
    patch = Patch(kernel, net, seed, epoch, urandom)
    _active = patch
    try:
        patch.apply()
        with use_kernel(kernel), task_context(kernel, net):
            yield kernel
    finally:
        try:
            patch.restore()
        finally:
            _active = None


def active() -> Patch | None:
    """The active patch, if any."""
    return _active


__all__ = ["EPOCH", "GreenLock", "Patch", "PatchError", "active", "allocate_lock", "patched"]
