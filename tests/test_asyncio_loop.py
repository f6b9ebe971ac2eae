"""usernet.asyncio: asyncio's event loop on usernet sockets, in virtual time."""

from __future__ import annotations

import asyncio
import socket as stdsocket
import time
from typing import Any

import pytest

import usernet.asyncio as uasyncio
import usernet.socket as usock
from usernet import Kernel
from usernet.testing import ROUTER
from usernet.wait import WouldBlockForever, sleep


def router() -> Kernel:
    k = Kernel()
    k.script(ROUTER)
    return k


def test_sleep_and_timeouts_take_virtual_time() -> None:
    k = Kernel()

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        seen = [loop.time()]
        await asyncio.sleep(3600)
        seen.append(loop.time())
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(loop.create_future(), 2.5)
        seen.append(loop.time())
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.25):
                await asyncio.sleep(10)
        seen.append(loop.time())
        return seen

    t0 = time.perf_counter()
    assert uasyncio.run(main(), kernel=k) == [0.0, 3600.0, 3602.5, 3602.75]
    assert time.perf_counter() - t0 < 5
    assert k.sched.now == 3602_750_000_000


def test_loop_is_usernets_and_runs_in_the_namespace() -> None:
    k = router()

    async def main() -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        return type(loop).__name__, repr(k.current_net)

    name, net = uasyncio.run(main(), kernel=k, netns="h2")
    assert name == "UsernetEventLoop"
    assert net == repr(k.netns_get("h2"))


def test_datagram_endpoints_across_a_router() -> None:
    k = router()

    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: Any) -> None:
            self.transport.sendto(data.upper(), addr)

    async def server() -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(Echo, local_addr=("0.0.0.0", 9999))
        await asyncio.sleep(5)
        transport.close()

    async def client() -> tuple[bytes, Any, float]:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(1)
        got: asyncio.Future[tuple[bytes, Any]] = loop.create_future()

        class Client(asyncio.DatagramProtocol):
            def connection_made(self, transport: Any) -> None:
                transport.sendto(b"hello")

            def datagram_received(self, data: bytes, addr: Any) -> None:
                got.set_result((data, addr))

        transport, _ = await loop.create_datagram_endpoint(Client,
                                                           remote_addr=("10.2.0.2", 9999))
        data, addr = await asyncio.wait_for(got, 1)
        transport.close()
        return data, addr, loop.time()

    srv = uasyncio.spawn(server(), kernel=k, netns="h2")
    data, addr, when = uasyncio.run(client(), kernel=k, netns="h1")
    assert (data, addr) == (b"HELLO", ("10.2.0.2", 9999))
    # ARP on both links, then 4 hops there and back: 8 link delays of 10 us
    assert when == pytest.approx(1.00008)
    srv.result()


def test_sock_methods() -> None:
    k = router()

    async def main() -> tuple[bytes, bytes, Any]:
        loop = asyncio.get_running_loop()
        a, b = usock.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        reader = asyncio.ensure_future(loop.sock_recv(b, 100))
        await asyncio.sleep(1)
        await loop.sock_sendall(a, b"x" * 10)
        first = await reader
        buf = bytearray(4)
        await loop.sock_sendall(a, b"tail")
        n = await loop.sock_recv_into(b, buf)
        a.close()
        b.close()
        u = usock.socket(usock.AF_INET, usock.SOCK_DGRAM)
        u.setblocking(False)
        u.bind(("127.0.0.1", 0))
        await loop.sock_sendto(u, b"self", u.getsockname())
        data, addr = await loop.sock_recvfrom(u, 100)
        assert addr == u.getsockname()
        u.close()
        return first, bytes(buf[:n]), (data, addr)

    k.cmd("ip -n h1 link set lo up")
    first, second, (data, _) = uasyncio.run(main(), kernel=k, netns="h1")
    assert (first, second, data) == (b"x" * 10, b"tail", b"self")


def test_sock_connect_and_accept_over_tcp() -> None:
    k = router()

    async def server() -> bytes:
        loop = asyncio.get_running_loop()
        lsock = usock.socket()
        lsock.setblocking(False)
        lsock.bind(("0.0.0.0", 4000))
        lsock.listen()
        conn, _ = await loop.sock_accept(lsock)
        data = await loop.sock_recv(conn, 100)
        await loop.sock_sendall(conn, data[::-1])
        conn.close()
        lsock.close()
        return bytes(data)

    async def client() -> bytes:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0.1)
        s = usock.socket()
        s.setblocking(False)
        await loop.sock_connect(s, ("10.2.0.2", 4000))
        await loop.sock_sendall(s, b"olleh")
        data = await asyncio.wait_for(loop.sock_recv(s, 100), 5)
        s.close()
        return bytes(data)

    srv = uasyncio.spawn(server(), kernel=k, netns="h2")
    assert uasyncio.run(client(), kernel=k, netns="h1") == b"hello"
    assert srv.result() == b"olleh"


def test_streams_over_a_socketpair() -> None:
    k = Kernel()

    async def main() -> tuple[list[bytes], bytes, float]:
        a, b = usock.socketpair()
        r1, w1 = await asyncio.open_connection(sock=a, limit=1 << 20)
        r2, w2 = await asyncio.open_connection(sock=b, limit=1 << 20)

        async def echo() -> None:
            while line := await r2.readline():
                await asyncio.sleep(0.5)
                w2.write(line.upper())
                await w2.drain()
            w2.close()

        task = asyncio.ensure_future(echo())
        out = []
        for word in (b"one\n", b"two\n"):
            w1.write(word)
            await w1.drain()
            out.append(await r1.readline())
        w1.write(b"x" * 300_000 + b"\n")  # more than the socket buffer holds
        await w1.drain()
        big = await r1.readline()
        w1.write_eof()
        assert await r1.read() == b""
        await task
        w1.close()
        await w1.wait_closed()
        return out, big, asyncio.get_running_loop().time()

    out, big, when = uasyncio.run(main(), kernel=k)
    assert out == [b"ONE\n", b"TWO\n"]
    assert big == b"X" * 300_000 + b"\n"
    assert when == 1.5


def test_executor_runs_blocking_calls_as_processes() -> None:
    k = router()
    usock.hosts(k, "h1").add("10.2.0.2", "server.example")

    def blocking(n: float) -> tuple[float, str]:
        sleep(k, n)  # a blocking wait: parks this process, not the loop
        return k.sched.now / 1e9, repr(k.current_net)

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        ticks = []

        async def ticker() -> None:
            for _ in range(3):
                await asyncio.sleep(1)
                ticks.append(loop.time())

        t = asyncio.ensure_future(ticker())
        res = await asyncio.gather(asyncio.to_thread(blocking, 2.5),
                                   loop.run_in_executor(None, blocking, 0.5))
        await t
        info = await loop.getaddrinfo("server.example", 80, type=stdsocket.SOCK_STREAM)
        return res, ticks, info

    res, ticks, info = uasyncio.run(main(), kernel=k, netns="h1")
    assert res == [(2.5, repr(k.netns_get("h1"))), (0.5, repr(k.netns_get("h1")))]
    assert ticks == [1.0, 2.0, 3.0]
    assert info[0][4] == ("10.2.0.2", 80)


def test_process_executor_shutdown_waits_in_a_task() -> None:
    k = Kernel()

    def main() -> list[float]:
        ex = uasyncio.ProcessExecutor(k)
        futs = [ex.submit(sleep, k, d) for d in (2, 1)]
        ex.shutdown(wait=True)
        assert all(f.done() for f in futs)
        with pytest.raises(RuntimeError):
            ex.submit(print)
        return [k.sched.now / 1e9]

    assert k.spawn(main).result() == [2.0]


def test_call_soon_threadsafe_from_another_task_wakes_the_loop() -> None:
    k = Kernel()
    box: dict[str, Any] = {}

    def other() -> None:
        sleep(k, 7)
        loop = box["loop"]
        loop.call_soon_threadsafe(box["fut"].set_result, "woken")

    async def main() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        box["loop"] = loop
        box["fut"] = loop.create_future()
        k.spawn(other)
        return await box["fut"], loop.time()

    assert uasyncio.run(main(), kernel=k) == ("woken", 7.0)


def test_a_loop_waiting_for_nothing_says_so() -> None:
    k = Kernel()
    loop = uasyncio.new_event_loop(k)
    try:
        with pytest.raises(WouldBlockForever, match="asyncio event"):
            loop.run_until_complete(loop.create_future())
    finally:
        loop.close()


def test_policy_makes_usernet_loops() -> None:
    k = Kernel()
    old = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(uasyncio.EventLoopPolicy(k))
    try:
        async def main() -> float:
            await asyncio.sleep(42)
            return asyncio.get_running_loop().time()

        assert asyncio.run(main()) == 42.0
    finally:
        asyncio.set_event_loop_policy(old)


def test_errors_and_signals() -> None:
    k = Kernel()
    loop = uasyncio.new_event_loop(k)
    try:
        with pytest.raises(NotImplementedError):
            loop.add_signal_handler(2, lambda: None)
        with pytest.raises(ValueError, match="usernet"):
            loop.add_reader(0, lambda: None)  # stdin is no usernet descriptor
    finally:
        loop.close()

    async def boom() -> None:
        await asyncio.sleep(1)
        raise KeyError("x")

    with pytest.raises(KeyError):
        uasyncio.run(boom(), kernel=k)
    with pytest.raises(ValueError):
        uasyncio.run(lambda: None, kernel=k)  # type: ignore[arg-type]


def _two_loops(seed: int) -> tuple[list[Any], list[tuple[int, str]]]:
    k = Kernel(seed)
    k.script(ROUTER)
    trace: list[tuple[int, str]] = []
    k.sched.trace = trace
    log: list[Any] = []

    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: Any) -> None:
            log.append(("srv", data, addr, asyncio.get_running_loop().time()))
            self.transport.sendto(data, addr)

    async def server() -> None:
        loop = asyncio.get_running_loop()
        tr, _ = await loop.create_datagram_endpoint(Echo, local_addr=("0.0.0.0", 7))
        await asyncio.sleep(3)
        tr.close()

    async def client(i: int) -> None:
        loop = asyncio.get_running_loop()
        sock = usock.socket(usock.AF_INET, usock.SOCK_DGRAM)
        sock.setblocking(False)
        await asyncio.sleep(0.001 * i)
        for j in range(3):
            await loop.sock_sendto(sock, b"%d.%d" % (i, j), ("10.2.0.2", 7))
            data, _ = await loop.sock_recvfrom(sock, 100)
            log.append(("cli", i, data, loop.time()))
        sock.close()

    async def clients() -> None:
        await asyncio.gather(*(client(i) for i in range(4)))

    srv = uasyncio.spawn(server(), kernel=k, netns="h2")
    uasyncio.run(clients(), kernel=k, netns="h1")
    srv.result()
    return log, trace


def test_runs_are_deterministic() -> None:
    first = _two_loops(5)
    assert first == _two_loops(5)
    assert len(first[0]) == 24


def test_unix_server_socket_file_cleanup_follows_the_python_version(tmp_path: Any) -> None:
    """create_unix_server: 3.13's cleanup_socket removes the socket file when
    the server closes; 3.11 and 3.12 leave it, as CPython does."""
    import sys

    k = Kernel()
    path = str(tmp_path / "srv.sock")

    async def main() -> tuple[bool, bool]:
        srv = await asyncio.start_unix_server(lambda r, w: None, path)
        made = (tmp_path / "srv.sock").is_socket()
        srv.close()
        await srv.wait_closed()
        return made, (tmp_path / "srv.sock").exists()

    made, left = uasyncio.run(main(), kernel=k)
    assert made
    assert left is (sys.version_info < (3, 13))
