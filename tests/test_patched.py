"""usernet.patched: unmodified stdlib code on the emulated stack, in virtual time."""

from __future__ import annotations

import _thread
import asyncio
import concurrent.futures
import os
import queue
import random
import select
import selectors
import socket
import socketserver
import threading
import time
from typing import Any

import pytest

import usernet.socket as usock
from usernet import Kernel
from usernet.asyncio import UsernetEventLoop
from usernet.patch import EPOCH, GreenLock, PatchError, patched
from usernet.testing import ROUTER
from usernet.wait import WouldBlockForever

# what the patch replaces, read through containers the patch does not scan
WATCHED = [(time, "sleep"), (time, "time"), (time, "monotonic"), (time, "perf_counter"),
           (socket, "socket"), (socket, "getaddrinfo"), (socket, "create_connection"),
           (socket, "gethostname"), (socket, "socketpair"), (select, "select"),
           (select, "epoll"), (selectors, "DefaultSelector"), (threading, "Lock"),
           (threading, "_start_new_thread"), (threading, "get_ident"), (threading, "local"),
           (_thread, "allocate_lock"), (queue, "SimpleQueue"), (socketserver, "_ServerSelector")]


def snapshot() -> list[Any]:
    return [vars(mod).get(name) for mod, name in WATCHED]


def router() -> Kernel:
    k = Kernel()
    k.script(ROUTER)
    return k


def test_everything_comes_back_and_nesting_is_refused() -> None:
    before = snapshot()
    policy = asyncio.get_event_loop_policy()
    k = Kernel()
    with patched(k):
        inside = snapshot()
        assert all(a is not b for a, b in zip(before, inside, strict=True))
        assert isinstance(threading.Lock(), GreenLock)
        with pytest.raises(PatchError, match="already active"), patched(k):
            pass
    assert snapshot() == before
    assert asyncio.get_event_loop_policy() is policy
    with pytest.raises(ZeroDivisionError), patched(k):
        1 / 0  # noqa: B018
    assert snapshot() == before


def test_the_clock_is_virtual() -> None:
    k = Kernel()
    t0 = time.perf_counter()
    with patched(k):
        assert time.time() == EPOCH
        assert time.monotonic() == 0.0
        time.sleep(86400)
        assert time.monotonic() == 86400.0
        assert time.perf_counter_ns() == 86400 * 10**9
        assert time.time() == EPOCH + 86400
        assert time.gmtime()[:3] == (2026, 1, 2)
        time.sleep(0)
        with pytest.raises(ValueError):
            time.sleep(-1)
    assert k.sched.now == 86400 * 10**9
    assert time.perf_counter() - t0 < 5
    assert time.time() > EPOCH + 10**7  # the real clock again


def test_threads_are_tasks_in_virtual_time() -> None:
    k = router()
    log: list[tuple[float, str, str]] = []
    with patched(k, netns="h1"):
        ev = threading.Event()

        def worker(delay: float) -> None:
            time.sleep(delay)
            log.append((time.monotonic(), threading.current_thread().name,
                        repr(k.current_net)))
            if delay == 3:
                ev.set()

        threads = [threading.Thread(target=worker, args=(d,), name=f"w{d}") for d in (3, 1, 2)]
        for t in threads:
            t.start()
        assert ev.wait(10)
        for t in threads:
            t.join()
            assert not t.is_alive()
        assert threading.current_thread() is threading.main_thread()
    h1 = repr(k.netns_get("h1"))
    assert log == [(1.0, "w1", h1), (2.0, "w2", h1), (3.0, "w3", h1)]


def test_a_thread_ending_after_the_block_leaves_the_main_thread_alone() -> None:
    """A thread still running when the block ends finishes when the kernel
    runs again; threading has forgotten it, and its end must not unregister
    the real main thread (whose ident the real get_ident gives again)."""
    k = Kernel()
    with patched(k):
        t = threading.Thread(target=time.sleep, args=(5,))
        t.start()
        time.sleep(1)
    k.run(until=10)  # the thread ends now, outside the block
    assert threading.current_thread() is threading.main_thread()
    assert threading.main_thread().ident in threading._active  # type: ignore[attr-defined]


def test_synchronisation_primitives() -> None:
    k = Kernel()
    with patched(k):
        q: queue.Queue[int] = queue.Queue(maxsize=2)
        got: list[tuple[int, float]] = []

        def producer() -> None:
            for i in range(5):
                q.put(i)  # blocks while the queue is full
                time.sleep(0.5)

        def consumer() -> None:
            for _ in range(5):
                got.append((q.get(), time.monotonic()))
                time.sleep(1)

        ts = [threading.Thread(target=producer), threading.Thread(target=consumer)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert [i for i, _ in got] == [0, 1, 2, 3, 4]
        assert [t for _, t in got] == [0.0, 1.0, 2.0, 3.0, 4.0]

        lock = threading.Lock()
        lock.acquire()
        t0 = time.monotonic()
        assert not lock.acquire(timeout=1.5)  # outside any task: time passes
        assert time.monotonic() - t0 == 1.5
        lock.release()
        rl = threading.RLock()
        with rl, rl:
            pass
        cond = threading.Condition()
        barrier = threading.Barrier(3)
        sem = threading.BoundedSemaphore(1)
        order: list[str] = []

        def party(name: str, delay: float) -> None:
            time.sleep(delay)
            barrier.wait()
            with sem:
                order.append(name)
                time.sleep(0.1)
            with cond:
                cond.notify_all()

        ts = [threading.Thread(target=party, args=(n, d)) for n, d in (("a", 2), ("b", 1))]
        for t in ts:
            t.start()
        barrier.wait()  # the main program is the third party
        assert time.monotonic() == t0 + 1.5 + 2
        with cond:
            assert cond.wait_for(lambda: len(order) == 2, timeout=5)
        assert sorted(order) == ["a", "b"]
        fired: list[float] = []
        timer = threading.Timer(4, lambda: fired.append(time.monotonic()))
        timer.start()
        timer.join()
        assert fired == [t0 + 3.5 + 0.2 + 4] or fired[0] > t0 + 3.5
        with pytest.raises(WouldBlockForever):
            threading.Event().wait()  # nothing can ever set it


def test_thread_pool_executor_and_locals() -> None:
    k = Kernel()
    with patched(k):
        local = threading.local()
        local.x = "main"

        def job(n: int) -> tuple[int, float, Any]:
            local.x = n
            time.sleep(n)
            return n, time.monotonic(), local.x

        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            results = list(pool.map(job, [3, 1, 2]))
        assert results == [(3, 3.0, 3), (1, 1.0, 1), (2, 2.0, 2)]
        assert local.x == "main"


def test_names_are_answered_per_namespace() -> None:
    k = router()
    usock.hosts(k, "h1").add("10.2.0.2", "server.test", "server")
    with patched(k, netns="h1"):
        assert socket.gethostbyname("server") == "10.2.0.2"
        assert socket.getaddrinfo("server.test", 80, type=socket.SOCK_STREAM)[0][4] == \
            ("10.2.0.2", 80)
        assert socket.gethostname() == "localhost"
        assert not socket.has_ipv6

        def in_h2() -> Any:
            try:
                return socket.gethostbyname("server")
            except socket.gaierror as exc:
                return exc.errno

        p = k.spawn(in_h2, netns="h2")
        assert p.result() == socket.EAI_NONAME


def test_udp_socketserver_and_select() -> None:
    k = router()
    with patched(k, netns="h1"):
        class Upper(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                sock.sendto(data.upper(), self.client_address)

        class Server(socketserver.ThreadingMixIn, socketserver.UDPServer):
            pass

        servers: list[Any] = []

        def serve() -> None:
            with Server(("0.0.0.0", 9999), Upper) as srv:
                servers.append(srv)
                srv.serve_forever(poll_interval=0.5)

        p = k.spawn(serve, netns="h2")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t0 = time.monotonic()
        assert select.select([s], [], [], 2) == ([], [], [])
        assert time.monotonic() - t0 == 2
        s.sendto(b"hello", ("10.2.0.2", 9999))
        r, _, _ = select.select([s], [], [], 2)
        assert r == [s]
        assert s.recvfrom(100) == (b"HELLO", ("10.2.0.2", 9999))
        s.close()
        servers[0].shutdown()
        p.join()


class CopiedAtImport:
    """Copies a class took when its module was imported, as pyftpdlib's
    ``class Epoll: _poller = select.epoll`` does: the patch replaces them
    and puts them back, binding as the originals did."""

    poller: Any = select.epoll
    wait: Any = select.select  # a C function: an instance does not bind it
    clock: Any = staticmethod(time.monotonic)


def test_class_attributes_copied_at_import_and_epoll() -> None:
    originals = dict(vars(CopiedAtImport))
    k = router()
    with patched(k, netns="h1"):
        assert CopiedAtImport.poller is vars(select)["epoll"] is usock.select.epoll
        assert CopiedAtImport().wait([], [], [], 0) == ([], [], [])
        time.sleep(2)
        assert CopiedAtImport().clock() == 2.0

        def serve() -> bytes:
            with socket.create_server(("0.0.0.0", 7000)) as srv, \
                    CopiedAtImport.poller() as ep:
                ep.register(srv, select.EPOLLIN)
                assert ep.poll(5) == [(srv.fileno(), select.EPOLLIN)]
                conn, _ = srv.accept()
                ep.register(conn, select.EPOLLIN | select.EPOLLET)
                ep.poll(5)
                with conn:
                    return conn.recv(100)

        p = k.spawn(serve, netns="h2")
        with socket.create_connection(("10.2.0.2", 7000)) as c:
            c.sendall(b"over epoll")
        assert p.result() == b"over epoll"
    assert dict(vars(CopiedAtImport)) == originals


class UnboundProxy:
    """A proxy (werkzeug's LocalProxy, say) that fails when asked anything
    while unbound, ``__class__`` included."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise RuntimeError("working outside of a context")


ASKED_NOTHING = UnboundProxy()  # a module global: the patch scans it, and must not ask it


class HoldsAProxy:
    proxy = UnboundProxy()


def test_the_scan_for_copies_asks_proxies_nothing() -> None:
    with patched(router(), netns="h1"):
        pass
    assert type(HoldsAProxy.__dict__["proxy"]) is UnboundProxy


def test_asyncio_run_uses_usernet_loops() -> None:
    k = router()
    with patched(k, netns="h1"):
        async def main() -> tuple[str, float]:
            await asyncio.sleep(10)
            loop = asyncio.get_running_loop()
            return type(loop).__name__, loop.time()

        assert asyncio.run(main()) == ("UsernetEventLoop", 10.0)
        loop = asyncio.new_event_loop()
        assert isinstance(loop, UsernetEventLoop)
        loop.close()


def test_loops_in_threads_that_block() -> None:
    """Two threads each run a loop; a coroutine that blocks (time.sleep)
    parks its thread, and the other loop still runs (the running loop is
    kept per greenlet)."""
    k = Kernel()
    log: list[tuple[str, float]] = []
    with patched(k):
        async def main(name: str, blocking: bool) -> None:
            for _ in range(2):
                if blocking:
                    time.sleep(1)
                else:
                    await asyncio.sleep(1)
                log.append((name, time.monotonic()))
                assert asyncio.get_running_loop().time() == time.monotonic()

        ts = [threading.Thread(target=asyncio.run, args=(main(n, b),))
              for n, b in (("blocking", True), ("async", False))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    assert sorted(log) == [("async", 1.0), ("async", 2.0), ("blocking", 1.0),
                           ("blocking", 2.0)]


def test_random_and_proxies() -> None:
    k = Kernel()
    os.environ["http_proxy"] = "http://proxy.invalid:3128"
    try:
        state = random.getstate()
        with patched(k, seed=7):
            a = random.random()
            assert "http_proxy" not in os.environ
        with patched(k, seed=7):
            assert random.random() == a
        assert random.getstate() == state
        assert os.environ["http_proxy"] == "http://proxy.invalid:3128"
    finally:
        del os.environ["http_proxy"]


def _echo_run(seed: int) -> tuple[list[Any], list[tuple[int, str]]]:
    k = Kernel(seed)
    k.script(ROUTER)
    trace: list[tuple[int, str]] = []
    k.sched.trace = trace
    out: list[Any] = []
    with patched(k, netns="h1"):
        def server() -> None:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("0.0.0.0", 5000))
            for _ in range(6):
                data, addr = s.recvfrom(100)
                s.sendto(data + b"!", addr)
            s.close()

        def client(i: int) -> None:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(1)
            for j in range(2):
                time.sleep(random.random() / 100)
                s.sendto(b"%d.%d" % (i, j), ("10.2.0.2", 5000))
                out.append((s.recvfrom(100), time.monotonic(), s.getsockname()))
            s.close()

        srv = k.spawn(server, netns="h2")
        cs = [threading.Thread(target=client, args=(i,)) for i in range(3)]
        for t in cs:
            t.start()
        for t in cs:
            t.join()
        srv.result()
    return out, trace


def test_patched_runs_are_deterministic() -> None:
    first = _echo_run(11)
    assert len(first[0]) == 6
    assert first == _echo_run(11)


def test_urandom_seeded_only_when_asked() -> None:
    """patched(urandom=True): os.urandom, secrets, SystemRandom and uuid4
    repeat with the seed, and are the host's again afterwards."""
    import secrets
    import uuid

    def draw(**kw: Any) -> tuple[Any, ...]:
        with patched(Kernel(), **kw):
            return (os.urandom(8), secrets.token_hex(8), random.SystemRandom().random(),
                    uuid.uuid4())

    assert draw(urandom=True, seed=3) == draw(urandom=True, seed=3)
    assert draw(urandom=True, seed=3) != draw(urandom=True, seed=4)
    assert draw() != draw()  # the host's, by default
    real = os.urandom
    with patched(Kernel(), urandom=True):
        with pytest.raises(ValueError, match="negative argument not allowed"):
            os.urandom(-1)
        with pytest.raises(TypeError):
            os.urandom(1.5)  # type: ignore[arg-type]
    assert os.urandom is real and random._urandom is real  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="needs a seed"), patched(Kernel(), seed=None,
                                                                    urandom=True):
        pass


def test_thread_handle_joins_in_virtual_time() -> None:
    """GreenThreadHandle, what Python 3.13's Thread.join and is_alive ask
    (exercised through threading on 3.13; directly here on any Python)."""
    from usernet.patch import GreenThreadHandle, make_thread_handle

    k = Kernel()
    with patched(k):
        handle = GreenThreadHandle()
        assert not handle.is_done()
        handle.join(2.5)  # nothing ends it: the timeout passes, in virtual time
        assert time.monotonic() == 2.5 and not handle.is_done()

        def finish() -> None:
            time.sleep(1)
            handle._set_done()

        k.spawn(finish)
        handle.join()
        assert handle.is_done() and time.monotonic() == 3.5
        handle.join()  # done: returns at once
        handle._set_done()  # twice is harmless
        assert make_thread_handle(42).ident == 42
