"""Real programs over AF_UNIX sockets, unmodified: servers in h2, clients in
h1 under ``usernet.patched``.  A socket file is a name in the filesystem
every namespace shares, so clients reach it across namespaces; an abstract
name stays in the namespace that bound it.

AF_UNIX puts nothing on the wire: each scenario runs twice with the same
seed and must give the same result at the same virtual time
(program_harness.run_twice_local)."""

from __future__ import annotations

import asyncio
import os
import socket
import socketserver
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from program_harness import run_twice_local
from test_programs import LineEcho, serve_in_h2

from usernet import Kernel


@contextmanager
def socket_dir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="usernet-prog-") as tmp:
        yield tmp


class DatagramUpper(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        sock.sendto(data.upper(), self.client_address)


def test_socketserver_unix_stream_and_datagram() -> None:
    def scenario(k: Kernel) -> Any:
        with socket_dir() as tmp:
            stream_path = os.path.join(tmp, "echo.sock")
            out: list[Any] = []
            with serve_in_h2(k, lambda: socketserver.ThreadingUnixStreamServer(
                    stream_path, LineEcho)):
                for i in range(2):
                    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
                        c.connect(stream_path)
                        f = c.makefile("rwb")
                        f.write(b"line %d\n" % i)
                        f.flush()
                        out.append(f.readline())
                        f.close()
            dgram_path = os.path.join(tmp, "dgram.sock")
            with serve_in_h2(k, lambda: socketserver.UnixDatagramServer(
                    dgram_path, DatagramUpper)), \
                    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as c:
                c.bind(os.path.join(tmp, "client.sock"))
                c.settimeout(2)
                c.sendto(b"ping", dgram_path)
                data, addr = c.recvfrom(100)
                out.append((data, os.path.basename(addr)))
            return out

    run = run_twice_local(scenario)
    assert run.result == [b"LINE 0\n", b"LINE 1\n", (b"PING", "dgram.sock")]


def test_asyncio_unix_streams_and_abstract_names() -> None:
    """asyncio's start_unix_server/open_unix_connection on a path, from the
    other namespace; an abstract name bound in h2 is not there for h1."""
    def scenario(k: Kernel) -> Any:
        with socket_dir() as tmp:
            path = os.path.join(tmp, "rev.sock")

            async def server() -> None:
                async def handle(reader: asyncio.StreamReader,
                                 writer: asyncio.StreamWriter) -> None:
                    while line := await reader.readline():
                        writer.write(line.strip()[::-1] + b"\n")
                        await writer.drain()
                    writer.close()

                on_path = await asyncio.start_unix_server(handle, path)
                abstract = await asyncio.start_unix_server(handle, "\0usernet-h2-only")
                async with on_path, abstract:
                    await asyncio.sleep(5)

            async def client() -> Any:
                await asyncio.sleep(0.1)
                reader, writer = await asyncio.open_unix_connection(path)
                got = []
                for word in (b"alpha", b"beta"):
                    writer.write(word + b"\n")
                    await writer.drain()
                    got.append(await reader.readline())
                writer.close()
                await writer.wait_closed()
                try:
                    await asyncio.open_unix_connection("\0usernet-h2-only")
                    other = "connected"
                except ConnectionRefusedError:
                    other = "refused"
                return got, other

            srv = k.spawn(asyncio.run, server(), netns="h2")
            result = asyncio.run(client())
            srv.result()
            return result

    run = run_twice_local(scenario)
    assert run.result == ([b"ahpla\n", b"ateb\n"], "refused")


def test_aiohttp_unix_site_with_aiohttp_and_httpx_clients() -> None:
    """aiohttp's UnixSite; clients: aiohttp's UnixConnector and httpx over uds."""
    import httpx
    from aiohttp import ClientSession, UnixConnector, web

    def scenario(k: Kernel) -> Any:
        with socket_dir() as tmp:
            path = os.path.join(tmp, "web.sock")

            async def server() -> None:
                async def hello(request: web.Request) -> web.Response:
                    return web.json_response({"path": request.path,
                                              "n": int(request.query.get("n", "0")) + 1})

                app = web.Application()
                app.router.add_get("/hello", hello)
                runner = web.AppRunner(app)
                await runner.setup()
                await web.UnixSite(runner, path).start()
                await asyncio.sleep(5)
                await runner.cleanup()

            async def client() -> Any:
                await asyncio.sleep(0.2)
                async with ClientSession(connector=UnixConnector(path=path)) as session, \
                        session.get("http://localhost/hello?n=1") as r:
                    first = (r.status, await r.json())
                transport = httpx.AsyncHTTPTransport(uds=path)
                async with httpx.AsyncClient(transport=transport) as hc:
                    r2 = await hc.get("http://localhost/hello", params={"n": "41"})
                    second = (r2.status_code, r2.json())
                return first, second

            srv = k.spawn(asyncio.run, server(), netns="h2")
            result = asyncio.run(client())
            srv.result()
            return result

    run = run_twice_local(scenario)
    assert run.result == ((200, {"path": "/hello", "n": 2}), (200, {"path": "/hello", "n": 42}))
