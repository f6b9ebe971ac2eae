"""Real programs, unmodified, each side in its own namespace across a router.

Every scenario runs twice with the same seed (program_harness.run_twice) and must
write byte-identical captures on both hosts' eth0.  The clients run in h1
under ``usernet.patched``; the servers run in h2, started with
``kernel.spawn`` -- their own threads (ThreadingMixIn, executors) follow
them there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http.server
import json
import smtplib
import socket
import socketserver
import threading
import urllib.request
import xmlrpc.client
import xmlrpc.server
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from program_harness import SERVER, run_once, run_twice

from usernet import Kernel

PORT = 8000


@contextlib.contextmanager
def serve_in_h2(k: Kernel, make: Callable[[], Any]) -> Iterator[Any]:
    """Start ``make()``'s socketserver in h2 (serve_forever in a process);
    yields the server, then shuts it down."""
    box: list[Any] = []
    ready = threading.Event()

    def run() -> None:
        srv = make()
        box.append(srv)
        ready.set()
        srv.serve_forever(poll_interval=0.5)

    proc = k.spawn(run, netns="h2", name="server")
    ready.wait(10)
    try:
        yield box[0]
    finally:
        box[0].shutdown()
        box[0].server_close()
        proc.result()


def asyncio_pair(server: Callable[[], Any], client: Callable[[], Any]) -> Callable[[Kernel], Any]:
    """A scenario: the ``server`` coroutine function runs in h2 under
    ``asyncio.run`` while the ``client`` one runs here (h1); its result."""
    def scenario(k: Kernel) -> Any:
        srv = k.spawn(asyncio.run, server(), netns="h2")
        result = asyncio.run(client())
        srv.result()
        return result

    return scenario


# -- http.server + urllib.request ----------------------------------------------------------


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = json.dumps({"path": self.path, "host": self.headers["Host"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers["Content-Length"]))
        body = hashlib.sha256(data).hexdigest().encode()
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def http_server() -> http.server.ThreadingHTTPServer:
    return http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Hello)


def test_http_server_and_urllib() -> None:
    def scenario(k: Kernel) -> Any:
        with serve_in_h2(k, http_server) as srv:
            with urllib.request.urlopen(f"http://server:{PORT}/a?b=1", timeout=5) as r:
                got = (r.status, json.loads(r.read()), r.headers["Date"])
            payload = b"x" * 100_000
            req = urllib.request.Request(f"http://{SERVER}:{PORT}/up", data=payload)
            with urllib.request.urlopen(req, timeout=5) as r:
                posted = (r.status, r.read().decode())
            assert srv.server_address == ("0.0.0.0", PORT)
        return got, posted

    run = run_twice(scenario)
    (status, body, date), posted = run.result
    assert (status, body) == (200, {"path": "/a?b=1", "host": f"server:{PORT}"})
    assert date == "Thu, 01 Jan 2026 00:00:00 GMT"  # usernet.patch.EPOCH + a few ms
    assert posted == (201, hashlib.sha256(b"x" * 100_000).hexdigest())


def test_httpx_against_http_server() -> None:
    httpx = pytest.importorskip("httpx")

    def scenario(k: Kernel) -> Any:
        with serve_in_h2(k, http_server), httpx.Client(trust_env=False, timeout=5) as client:
            r1 = client.get(f"http://server:{PORT}/one")
            r2 = client.post(f"http://server:{PORT}/two", content=b"abc")
        return r1.status_code, r1.json(), r2.status_code, r2.text

    run = run_twice(scenario)
    assert run.result == (200, {"path": "/one", "host": f"server:{PORT}"}, 201,
                          hashlib.sha256(b"abc").hexdigest())


# -- socketserver echo, TCP and UDP --------------------------------------------------------


class LineEcho(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        for line in self.rfile:
            self.wfile.write(line.upper())


class DatagramEcho(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        sock.sendto(data.upper(), self.client_address)


def test_socketserver_tcp_echo() -> None:
    def scenario(k: Kernel) -> Any:
        with serve_in_h2(k, lambda: socketserver.ThreadingTCPServer(
                ("0.0.0.0", 7007), LineEcho)):
            out = []
            for i in range(3):  # three clients, one after another
                with socket.create_connection(("server", 7007), timeout=5) as c:
                    f = c.makefile("rwb")
                    for j in range(3):
                        f.write(b"line %d.%d\n" % (i, j))
                        f.flush()
                        out.append(f.readline())
                    f.close()
        return out

    run = run_twice(scenario)
    assert run.result == [b"LINE %d.%d\n" % (i, j) for i in range(3) for j in range(3)]


def test_socketserver_udp_echo() -> None:
    def scenario(k: Kernel) -> Any:
        with serve_in_h2(k, lambda: socketserver.ThreadingUDPServer(
                ("0.0.0.0", 7007), DatagramEcho)):
            out = []
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
                c.settimeout(2)
                for i in range(5):
                    c.sendto(b"ping %d" % i, ("server", 7007))
                    out.append(c.recvfrom(100))
        return out

    run = run_twice(scenario)
    assert run.result == [(b"PING %d" % i, (SERVER, 7007)) for i in range(5)]


# -- asyncio streams -----------------------------------------------------------------------


def test_asyncio_streams() -> None:
    async def server(started: asyncio.Event | None = None) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while line := await reader.readline():
                writer.write(line[::-1].strip() + b"\n")
                await writer.drain()
            writer.close()
            await writer.wait_closed()

        srv = await asyncio.start_server(handle, "0.0.0.0", 7100)
        async with srv:
            await asyncio.sleep(30)  # then the server closes

    async def client() -> list[bytes]:
        reader, writer = await asyncio.open_connection("server", 7100)
        out = []
        for word in (b"alpha", b"beta", b"gamma"):
            writer.write(word + b"\n")
            await writer.drain()
            out.append(await asyncio.wait_for(reader.readline(), 5))
        writer.close()
        await writer.wait_closed()
        return out

    scenario = asyncio_pair(server, client)

    run = run_twice(scenario)
    assert run.result == [b"ahpla\n", b"ateb\n", b"ammag\n"]


# -- aiohttp and websockets: third-party asyncio libraries ---------------------------------


def test_aiohttp_server_and_client() -> None:
    """aiohttp's web server and ClientSession, each in its namespace."""
    from aiohttp import ClientSession, web

    async def server() -> None:
        async def hello(request: web.Request) -> web.Response:
            return web.json_response({"path": request.path, "x": request.query.get("x")})

        async def echo(request: web.Request) -> web.Response:
            return web.Response(body=(await request.read())[::-1])

        app = web.Application()
        app.router.add_get("/hello", hello)
        app.router.add_post("/echo", echo)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", 8080).start()
        await asyncio.sleep(30)
        await runner.cleanup()

    async def client() -> Any:
        await asyncio.sleep(0.5)
        async with ClientSession() as session:
            async with session.get("http://server:8080/hello?x=1") as r:
                hello = (r.status, await r.json(), r.headers["Date"])
            async with session.post("http://server:8080/echo", data=b"abc" * 10_000) as r:
                echoed = await r.read()
        return hello, hashlib.sha256(echoed).hexdigest()

    scenario = asyncio_pair(server, client)

    run = run_twice(scenario)
    hello, digest = run.result
    assert hello == (200, {"path": "/hello", "x": "1"}, "Thu, 01 Jan 2026 00:00:00 GMT")
    assert digest == hashlib.sha256(b"cba" * 10_000).hexdigest()


def test_websockets_echo() -> None:
    """websockets' asyncio server and client.  A client masks its frames
    with keys from ``secrets`` (os.urandom): with ``urandom=True`` the patch
    seeds those too, and the captures repeat."""
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import ServerConnection, serve

    async def server() -> None:
        async def upper(ws: ServerConnection) -> None:
            async for message in ws:
                await ws.send(message.upper())

        async with serve(upper, "0.0.0.0", 8765):
            await asyncio.sleep(30)

    async def client() -> list[Any]:
        await asyncio.sleep(0.5)
        out: list[Any] = []
        async with connect("ws://server:8765") as ws:
            for message in ("hello", "x" * 100_000, b"bytes"):
                await ws.send(message)
                out.append(await ws.recv())
        return out

    scenario = asyncio_pair(server, client)

    run = run_twice(scenario, urandom=True)
    assert run.result == ["HELLO", "X" * 100_000, b"BYTES"]
    # without it, the masks (and so the bytes on the wire) differ by run
    assert run_once(scenario).captures != run_once(scenario).captures


# -- xmlrpc --------------------------------------------------------------------------------


def test_xmlrpc() -> None:
    def make() -> xmlrpc.server.SimpleXMLRPCServer:
        srv = xmlrpc.server.SimpleXMLRPCServer(("0.0.0.0", 8080), logRequests=False)
        srv.register_function(pow)
        srv.register_function(lambda xs: sorted(xs), "sort")
        srv.register_introspection_functions()
        return srv

    def scenario(k: Kernel) -> Any:
        with serve_in_h2(k, make):
            proxy = xmlrpc.client.ServerProxy("http://server:8080/")
            got = (proxy.pow(2, 30), proxy.sort([3, 1, 2]), sorted(proxy.system.listMethods()))
            proxy("close")()
        return got

    run = run_twice(scenario)
    assert run.result == (2**30, [1, 2, 3], ["pow", "sort", "system.listMethods",
                                             "system.methodHelp", "system.methodSignature"])


# -- smtplib against an asyncio SMTP server ------------------------------------------------


class SmtpServer:
    """Enough of RFC 5321 for smtplib: greeting, EHLO/HELO, MAIL, RCPT,
    DATA (dot-stuffed), RSET, NOOP, QUIT."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def reply(text: str) -> None:
            writer.write(text.encode() + b"\r\n")

        reply("220 mail.test ESMTP usernet")
        sender, rcpts = "", []
        while line := await reader.readline():
            cmd = line.decode().strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                reply("250-mail.test greets " + cmd[5:])
                reply("250-8BITMIME")
                reply("250 SIZE 10485760")
            elif verb == "HELO":
                reply("250 mail.test")
            elif verb == "MAIL":
                sender = cmd.split(":", 1)[1].split()[0].strip("<>")
                reply("250 OK")
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].strip().strip("<>"))
                reply("250 OK")
            elif verb == "DATA":
                reply("354 End data with <CR><LF>.<CR><LF>")
                await writer.drain()
                body = []
                while (data := await reader.readline()) != b".\r\n":
                    body.append(data[1:] if data.startswith(b"..") else data)
                self.messages.append((sender, rcpts, b"".join(body)))
                sender, rcpts = "", []
                reply("250 OK: queued")
            elif verb in ("RSET", "NOOP"):
                reply("250 OK")
            elif verb == "QUIT":
                reply("221 Bye")
                await writer.drain()
                break
            else:
                reply("502 Command not implemented")
            await writer.drain()
        writer.close()

    async def serve(self, seconds: float) -> None:
        srv = await asyncio.start_server(self.handle, "0.0.0.0", 2525)
        async with srv:
            await asyncio.sleep(seconds)


def test_smtplib_against_asyncio_smtp_server() -> None:
    def scenario(k: Kernel) -> Any:
        server = SmtpServer()
        proc = k.spawn(asyncio.run, server.serve(60), netns="h2")
        msg = EmailMessage()
        msg["From"] = "alice@h1.test"
        msg["To"] = "bob@h2.test"
        msg["Subject"] = "across the router"
        msg.set_content("Hello Bob,\n.leading dot\nbye\n")
        with smtplib.SMTP("server", 2525, timeout=5) as smtp:
            code, _ = smtp.ehlo()
            refused = smtp.send_message(msg)
        proc.result()
        return code, refused, server.messages

    run = run_twice(scenario)
    code, refused, messages = run.result
    assert (code, refused) == (250, {})
    [(sender, rcpts, body)] = messages
    assert (sender, rcpts) == ("alice@h1.test", ["bob@h2.test"])
    assert b"Subject: across the router" in body
    assert b"\r\n.leading dot\r\n" in body


# -- a large transfer ----------------------------------------------------------------------

LARGE = 100 * 1024 * 1024


def test_large_transfer_with_checksum() -> None:
    block = hashlib.sha256(b"usernet").digest() * 2048  # 64 KiB

    def receiver() -> tuple[int, str]:
        with socket.create_server(("0.0.0.0", 5001)) as srv:
            conn, _ = srv.accept()
            h = hashlib.sha256()
            got = 0
            buf = bytearray(1 << 18)
            while n := conn.recv_into(buf):
                h.update(memoryview(buf)[:n])
                got += n
            conn.close()
        return got, h.hexdigest()

    def scenario(k: Kernel) -> Any:
        proc = k.spawn(receiver, netns="h2")
        h = hashlib.sha256()
        with socket.create_connection(("server", 5001), timeout=30) as c:
            for _ in range(LARGE // len(block)):
                c.sendall(block)
                h.update(block)
        return proc.result(), h.hexdigest()

    run = run_twice(scenario)
    (got, digest), sent_digest = run.result
    assert got == LARGE
    assert digest == sent_digest
