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
import ftplib
import hashlib
import http.client
import http.server
import io
import json
import logging
import logging.handlers
import pickle
import smtplib
import socket
import socketserver
import struct
import sys
import tempfile
import threading
import time
import urllib.request
import xmlrpc.client
import xmlrpc.server
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from program_harness import SERVER, run_once, run_twice

from usernet import Kernel
from usernet.patch import EPOCH

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


# -- uvicorn serving Starlette, httpx and websockets clients -------------------------------


def test_uvicorn_starlette_with_httpx_and_websockets() -> None:
    """uvicorn's ``Server.run`` in a process in h2, waited for the way test
    suites that run it in a thread do (polling ``server.started``); httpx's
    Client and websockets' sync client (with a thread of its own) in h1.
    The idle keep-alive connection outlives uvicorn's ``timeout_keep_alive``:
    uvicorn closes it and httpx, finding it readable at EOF, opens a new one."""
    import httpx
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket
    from websockets.sync.client import connect

    async def hello(request: Request) -> JSONResponse:
        assert request.client is not None
        return JSONResponse({"path": request.url.path, "q": request.query_params.get("q"),
                             "client": [request.client.host, request.client.port]})

    async def digest(request: Request) -> PlainTextResponse:
        return PlainTextResponse(hashlib.sha256(await request.body()).hexdigest())

    async def ticks(request: Request) -> StreamingResponse:
        async def body() -> Any:
            for i in range(3):
                yield b"tick %d\n" % i
                await asyncio.sleep(0.25)
        return StreamingResponse(body(), media_type="text/plain")

    async def upper(ws: WebSocket) -> None:
        await ws.accept()
        async for text in ws.iter_text():
            await ws.send_text(text.upper())

    app = Starlette(routes=[Route("/hello", hello), Route("/digest", digest, methods=["POST"]),
                            Route("/ticks", ticks), WebSocketRoute("/ws", upper)])

    def scenario(k: Kernel) -> Any:
        server = uvicorn.Server(uvicorn.Config(app, host="0.0.0.0", port=8000, log_config=None,
                                               log_level="warning", timeout_keep_alive=2))
        proc = k.spawn(server.run, netns="h2", name="uvicorn")
        while not server.started:
            time.sleep(0.01)
        with httpx.Client(trust_env=False, timeout=5) as client:
            first = client.get("http://server:8000/hello?q=1").json()
            again = client.get("http://server:8000/hello?q=2").json()
            posted = client.post("http://server:8000/digest", content=b"u" * 300_000).text
            with client.stream("GET", "http://server:8000/ticks") as r:
                streamed = [(line, round(time.monotonic(), 2)) for line in r.iter_lines()]
            time.sleep(5)  # past timeout_keep_alive
            later = client.get("http://server:8000/hello?q=3").json()
        with connect("ws://server:8000/ws") as ws:
            ws.send("hello")
            echoed = ws.recv(timeout=5)
        server.should_exit = True
        proc.result()
        return first, again, posted, streamed, later, echoed

    run = run_twice(scenario, urandom=True)  # websockets masks from os.urandom
    first, again, posted, streamed, later, echoed = run.result
    assert first["path"] == "/hello" and first["client"][0] == "10.1.0.2"
    assert again["client"] == first["client"]  # the same connection, kept alive
    assert later["client"][1] != first["client"][1]  # uvicorn closed the idle one
    assert posted == hashlib.sha256(b"u" * 300_000).hexdigest()
    assert [line for line, _ in streamed] == ["tick 0", "tick 1", "tick 2"]
    assert streamed[-1][1] - streamed[0][1] >= 0.5  # each chunk as it was yielded
    assert echoed == "HELLO"


# -- dnspython against a dnslib server, UDP and TCP -----------------------------------------


def test_dnspython_against_dnslib_server() -> None:
    """dnslib's DNSServer (socketserver threads, UDP and TCP on port 5353) in
    h2 answers from a fixed table; dnspython queries it over UDP, over TCP,
    falls back to TCP on a truncated UDP answer, and its stub resolvers (sync
    and asyncio) skip a nameserver that never answers.  dnspython draws its
    query IDs from random.SystemRandom (os.urandom): ``urandom=True``."""
    import dns.asyncresolver
    import dns.message
    import dns.query
    import dns.resolver
    from dnslib import QTYPE, RR, TXT, A, DNSRecord  # type: ignore[import-untyped]
    from dnslib.server import (  # type: ignore[import-untyped]
        BaseResolver,
        DNSHandler,
        DNSLogger,
        DNSServer,
    )

    class Table(BaseResolver):  # type: ignore[misc]
        def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
            reply = request.reply()
            qname, qtype = request.q.qname, QTYPE[request.q.qtype]
            if qtype == "A":
                reply.add_answer(RR(qname, QTYPE.A, rdata=A("10.2.0.7"), ttl=60))
            elif qtype == "TXT":  # about 2.8 KB: more than a 512-byte UDP answer holds
                for i in range(40):
                    reply.add_answer(RR(qname, QTYPE.TXT, rdata=TXT(f"{i:03} " + "t" * 60)))
            return reply

    class Handler(DNSHandler):  # type: ignore[misc]
        udplen = 512  # RFC 1035's UDP limit: longer answers are truncated (TC)

    def scenario(k: Kernel) -> Any:
        requests: list[str] = []  # "(udp) / 'www.example.test.' (A)", as the server saw them
        logger = DNSLogger("request", prefix=False,
                           logf=lambda line: requests.append(line.split("] ", 1)[1]))

        def start() -> list[Any]:
            servers = [DNSServer(Table(), address="0.0.0.0", port=5353, tcp=tcp, handler=Handler,
                                 logger=logger) for tcp in (False, True)]
            for srv in servers:
                srv.start_thread()
            return servers

        servers = k.spawn(start, netns="h2").result()
        got: dict[str, Any] = {}
        r = dns.query.udp(dns.message.make_query("www.example.test", "A"), SERVER, port=5353,
                          timeout=2)
        got["udp"] = [rrset.to_text() for rrset in r.answer]
        big = dns.message.make_query("big.example.test", "TXT")
        with pytest.raises(dns.message.Truncated):
            dns.query.udp(big, SERVER, port=5353, timeout=2, raise_on_truncation=True)
        got["tcp"] = len(dns.query.tcp(big, SERVER, port=5353, timeout=2).answer[0])
        r, used_tcp = dns.query.udp_with_fallback(big, SERVER, port=5353, timeout=2)
        got["fallback"] = len(r.answer[0]), used_tcp

        res = dns.resolver.Resolver(configure=False)
        res.nameservers = ["10.2.0.99", SERVER]  # no such host: a timeout, then the next
        res.port, res.timeout, res.lifetime = 5353, 1, 10
        start_at = time.monotonic()
        got["resolver"] = [a.address for a in res.resolve("host.example.test", "A")]
        got["resolver_took"] = round(time.monotonic() - start_at, 3)

        async def resolve() -> list[str]:
            ares = dns.asyncresolver.Resolver(configure=False)
            ares.nameservers, ares.port = [SERVER], 5353
            return [a.address for a in await ares.resolve("async.example.test", "A")]

        got["async"] = asyncio.run(resolve())
        for srv in servers:
            srv.stop()
            srv.server.server_close()
        got["requests"] = requests
        return got

    run = run_twice(scenario, urandom=True)
    assert run.result == {
        "udp": ["www.example.test. 60 IN A 10.2.0.7"],
        "tcp": 40,
        "fallback": (40, True),
        "resolver": ["10.2.0.7"],
        "resolver_took": 1.0,  # res.timeout on 10.2.0.99, then one round trip
        "async": ["10.2.0.7"],
        "requests": [f"({proto}) / '{name}.example.test.' ({qtype})" for proto, name, qtype in [
            ("udp", "www", "A"), ("udp", "big", "TXT"), ("tcp", "big", "TXT"),
            ("udp", "big", "TXT"), ("tcp", "big", "TXT"), ("udp", "host", "A"),
            ("udp", "async", "A")]],
    }


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


def test_smtplib_against_aiosmtpd() -> None:
    """aiosmtpd's Controller in h2: a thread that runs an asyncio loop of
    its own, which ``start`` checks by connecting to 0.0.0.0 -- this host,
    over lo, which is up here as on any real host.  smtplib sends from h1;
    ``stop`` ends the loop with call_soon_threadsafe."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, Envelope, Session

    class Mailbox:
        def __init__(self) -> None:
            self.messages: list[tuple[str | None, list[str], bytes]] = []

        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            assert isinstance(envelope.content, bytes)
            self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
            return "250 Message accepted for delivery"

    def scenario(k: Kernel) -> Any:
        k.script("ip -n h2 link set lo up")
        mailbox = Mailbox()
        controller = Controller(mailbox, hostname="0.0.0.0", port=2525)
        k.spawn(controller.start, netns="h2", name="aiosmtpd").result()
        msg = EmailMessage()
        msg["From"] = "alice@h1.test"
        msg["To"] = "bob@h2.test, carol@h2.test"
        msg["Subject"] = "via aiosmtpd"
        msg.set_content("Hello,\n.a leading dot\n")
        with smtplib.SMTP("server", 2525, timeout=5) as smtp:
            code, banner = smtp.ehlo("h1.test")
            refused = smtp.send_message(msg)
        controller.stop()
        return code, banner.split(b"\n")[0], refused, mailbox.messages

    run = run_twice(scenario)
    code, first_line, refused, [(sender, rcpts, body)] = run.result
    assert (code, first_line, refused) == (250, b"localhost", {})  # getfqdn() under the patch
    assert (sender, rcpts) == ("alice@h1.test", ["bob@h2.test", "carol@h2.test"])
    assert b"Subject: via aiosmtpd" in body
    assert b"\r\n.a leading dot\r\n" in body


# -- wsgiref + http.client, urllib3's pool, tornado -----------------------------------------


class QuietWSGIRequestHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    data = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    body = json.dumps({"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"],
                       "sha256": hashlib.sha256(data).hexdigest()[:16]}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def test_wsgiref_and_http_client() -> None:
    """wsgiref's simple_server (HTTP/1.0: one request a connection) and
    http.client's HTTPConnection, which reconnects for each request."""
    def scenario(k: Kernel) -> Any:
        with serve_in_h2(k, lambda: make_server("0.0.0.0", 8000, wsgi_app,
                                                handler_class=QuietWSGIRequestHandler)):
            conn = http.client.HTTPConnection("server", 8000, timeout=5)
            out = []
            for method, body in (("GET", None), ("POST", b"w" * 200_000), ("GET", None)):
                conn.request(method, f"/{method.lower()}", body=body)
                r = conn.getresponse()
                out.append((r.status, r.version, r.getheader("Server"), json.loads(r.read())))
            conn.close()
        return out

    run = run_twice(scenario)
    empty = hashlib.sha256(b"").hexdigest()[:16]
    server = "WSGIServer/0.2 CPython/" + ".".join(map(str, sys.version_info[:3]))
    assert run.result == [
        (200, 10, server, {"method": "GET", "path": "/get", "sha256": empty}),
        (200, 10, server, {"method": "POST", "path": "/post",
                           "sha256": hashlib.sha256(b"w" * 200_000).hexdigest()[:16]}),
        (200, 10, server, {"method": "GET", "path": "/get", "sha256": empty}),
    ]


def test_urllib3_pool_keeps_connections_alive() -> None:
    """urllib3's PoolManager against ThreadingHTTPServer (HTTP/1.1): every
    request after the first reuses the pooled connection, from one port."""
    import urllib3

    def scenario(k: Kernel) -> Any:
        with serve_in_h2(k, http_server):
            pool = urllib3.PoolManager(maxsize=1, timeout=5, retries=False)
            out = [(r.status, r.json()) for r in (pool.request("GET", f"http://server:{PORT}/{i}")
                                                  for i in range(5))]
            posted = pool.request("POST", f"http://server:{PORT}/up", body=b"p" * 50_000)
            out.append((posted.status, posted.data.decode()))
            http_pool = pool.connection_from_url(f"http://server:{PORT}")
            stats = (http_pool.num_connections, http_pool.num_requests)
            pool.clear()
        return out, stats

    run = run_twice(scenario)
    out, stats = run.result
    assert out == [(200, {"path": f"/{i}", "host": f"server:{PORT}"}) for i in range(5)] + [
        (201, hashlib.sha256(b"p" * 50_000).hexdigest())]
    assert stats == (1, 6)


def test_tornado_server_and_clients() -> None:
    """tornado's web Application, websocket handler and TCPServer (IOStream)
    on asyncio in h2; its AsyncHTTPClient, websocket_connect and TCPClient
    in h1, and the blocking HTTPClient (a loop of its own)."""
    import tornado.httpclient
    import tornado.iostream
    import tornado.netutil
    import tornado.tcpclient
    import tornado.tcpserver
    import tornado.web
    import tornado.websocket

    class Info(tornado.web.RequestHandler):
        def get(self) -> None:
            self.write({"path": self.request.path, "remote": self.request.remote_ip})

        def post(self) -> None:
            self.write(hashlib.sha256(self.request.body).hexdigest())

    class Upper(tornado.websocket.WebSocketHandler):
        async def on_message(self, message: str | bytes) -> None:
            await self.write_message(message.upper())

    class LineUpper(tornado.tcpserver.TCPServer):
        async def handle_stream(self, stream: tornado.iostream.IOStream, address: Any) -> None:
            with contextlib.suppress(tornado.iostream.StreamClosedError):
                while True:
                    await stream.write((await stream.read_until(b"\n")).upper())

    async def server() -> None:
        web = tornado.web.Application([(r"/ws", Upper), (r"/.*", Info)]).listen(8888)
        lines = LineUpper()
        lines.add_sockets(tornado.netutil.bind_sockets(9000, "0.0.0.0", reuse_port=True))
        await asyncio.sleep(30)
        lines.stop()
        web.stop()
        await web.close_all_connections()

    async def client() -> Any:
        await asyncio.sleep(0.5)
        http = tornado.httpclient.AsyncHTTPClient()
        got = json.loads((await http.fetch("http://server:8888/info")).body)
        posted = (await http.fetch("http://server:8888/up", method="POST",
                                   body=b"t" * 100_000)).body.decode()
        ws = await tornado.websocket.websocket_connect("ws://server:8888/ws")
        await ws.write_message("hello")
        echoed = await ws.read_message()
        ws.close()
        stream = await tornado.tcpclient.TCPClient().connect("server", 9000)
        lines = []
        for line in (b"alpha\n", b"beta\n"):
            await stream.write(line)
            lines.append(await stream.read_until(b"\n"))
        stream.close()
        return got, posted, echoed, lines

    def scenario(k: Kernel) -> Any:
        srv = k.spawn(asyncio.run, server(), netns="h2")
        got = asyncio.run(client())
        blocking = tornado.httpclient.HTTPClient()
        fetched = json.loads(blocking.fetch("http://server:8888/blocking").body)
        blocking.close()
        srv.result()
        return got, fetched

    run = run_twice(scenario, urandom=True)  # websocket masks
    (got, posted, echoed, lines), fetched = run.result
    assert got == {"path": "/info", "remote": "10.1.0.2"}
    assert posted == hashlib.sha256(b"t" * 100_000).hexdigest()
    assert (echoed, lines) == ("HELLO", [b"ALPHA\n", b"BETA\n"])
    assert fetched == {"path": "/blocking", "remote": "10.1.0.2"}


# -- ftplib against pyftpdlib --------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:The asyn(core|chat) module is deprecated:DeprecationWarning")
def test_ftplib_against_pyftpdlib() -> None:
    """pyftpdlib's FTPServer in h2 -- its own loop, on the ``select.epoll``
    it chose when imported -- and ftplib in h1: passive transfers, then
    active ones (PORT: the server connects back across the router), both
    ways.  os.sendfile needs an OS socket, so the handler sends with send()
    (``use_sendfile = False``, docs/guide.md)."""
    from pyftpdlib.authorizers import DummyAuthorizer  # type: ignore[import-untyped]
    from pyftpdlib.handlers import FTPHandler  # type: ignore[import-untyped]
    from pyftpdlib.servers import FTPServer  # type: ignore[import-untyped]

    blob = hashlib.sha256(b"ftp").digest() * 4096  # 128 KiB

    def scenario(k: Kernel) -> Any:
        log: list[str] = []
        logger = logging.getLogger("pyftpdlib")
        handler = logging.Handler()
        handler.emit = lambda record: log.append(record.getMessage())  # type: ignore[method-assign]
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            with tempfile.TemporaryDirectory() as root:
                (Path(root) / "blob.bin").write_bytes(blob)
                authorizer = DummyAuthorizer()
                authorizer.add_user("alice", "secret", root, perm="elrw")

                class Handler(FTPHandler):  # type: ignore[misc]
                    use_sendfile = False

                Handler.authorizer = authorizer
                servers: list[FTPServer] = []

                def serve() -> None:
                    srv = FTPServer(("0.0.0.0", 2121), Handler)
                    servers.append(srv)
                    srv.serve_forever(timeout=0.5, handle_exit=False)

                proc = k.spawn(serve, netns="h2", name="ftpd")
                got: dict[str, Any] = {}
                with ftplib.FTP(timeout=5) as ftp:
                    ftp.connect("server", 2121)
                    ftp.login("alice", "secret")
                    got["names"] = ftp.nlst()
                    for mode in ("passive", "active"):
                        ftp.set_pasv(mode == "passive")
                        down = bytearray()
                        ftp.retrbinary("RETR blob.bin", down.extend)
                        ftp.storbinary(f"STOR {mode}.bin", io.BytesIO(bytes(down[::-1])))
                        got[mode] = hashlib.sha256(down).hexdigest()
                    got["names_after"] = sorted(ftp.nlst())
                stored = {name: hashlib.sha256((Path(root) / name).read_bytes()).hexdigest()
                          for name in ("passive.bin", "active.bin")}
                servers[0].close_all()
                proc.result()
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
        transfers = [line.split("] ", 1)[1].split(" seconds=")[0].replace(root, "")
                     for line in log if "completed=" in line]
        return got, stored, transfers

    run = run_twice(scenario)
    got, stored, transfers = run.result
    digest = hashlib.sha256(blob).hexdigest()
    assert got == {"names": ["blob.bin"], "passive": digest, "active": digest,
                   "names_after": ["active.bin", "blob.bin", "passive.bin"]}
    assert stored == dict.fromkeys(("passive.bin", "active.bin"),
                                   hashlib.sha256(blob[::-1]).hexdigest())
    assert transfers == [f"{verb} /{name} completed=1 bytes={len(blob)}" for verb, name in (
        ("RETR", "blob.bin"), ("STOR", "passive.bin"),
        ("RETR", "blob.bin"), ("STOR", "active.bin"))]


# -- stdlib logging over the network --------------------------------------------------------


class LogRecordStream(socketserver.StreamRequestHandler):
    """The logging cookbook's receiver for SocketHandler: a 4-byte length,
    then a pickled LogRecord dict (trusted: the test's own sender)."""

    def handle(self) -> None:
        while len(head := self.rfile.read(4)) == 4:
            [size] = struct.unpack(">L", head)
            record = logging.makeLogRecord(pickle.loads(self.rfile.read(size)))
            self.server.got.append(("tcp", record.name, record.levelname,  # type: ignore[attr-defined]
                                    record.getMessage(), round(record.created - EPOCH, 1)))


class LogRecordDatagram(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        record = logging.makeLogRecord(pickle.loads(self.request[0][4:]))
        self.server.got.append(("udp", record.name, record.levelname,  # type: ignore[attr-defined]
                                record.getMessage(), round(record.created - EPOCH, 1)))


class SyslogDatagram(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.got.append(("syslog/udp", self.request[0]))  # type: ignore[attr-defined]


class SyslogStream(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        for message in self.rfile.read().split(b"\0")[:-1]:  # NUL-terminated messages
            self.server.got.append(("syslog/tcp", message))  # type: ignore[attr-defined]


def test_logging_handlers_over_the_network() -> None:
    """logging.handlers' SocketHandler, DatagramHandler and SysLogHandler (UDP
    and TCP) send one logger's records to socketserver receivers in h2.  The
    first record goes out before the receivers listen: SocketHandler's
    connection is refused, the record is dropped and it retries only after
    its back-off (retryStart, 1 s) has passed."""
    def scenario(k: Kernel) -> Any:
        got: list[Any] = []
        log = logging.getLogger("usernet.programs.app")
        log.propagate = False
        log.setLevel(logging.INFO)
        handlers = [
            logging.handlers.SocketHandler("server", logging.handlers.DEFAULT_TCP_LOGGING_PORT),
            logging.handlers.DatagramHandler("server", logging.handlers.DEFAULT_UDP_LOGGING_PORT),
            logging.handlers.SysLogHandler(("server", 5514)),
        ]
        for handler in handlers:
            log.addHandler(handler)
        log.info("before the receivers listen")

        servers: list[socketserver.BaseServer] = []

        def start() -> None:
            for cls, port, handler_class in [
                (socketserver.ThreadingTCPServer, logging.handlers.DEFAULT_TCP_LOGGING_PORT,
                 LogRecordStream),
                (socketserver.UDPServer, logging.handlers.DEFAULT_UDP_LOGGING_PORT,
                 LogRecordDatagram),
                (socketserver.UDPServer, 5514, SyslogDatagram),
                (socketserver.ThreadingTCPServer, 5514, SyslogStream),
            ]:
                srv = cls(("0.0.0.0", port), handler_class)
                srv.got = got  # type: ignore[attr-defined]
                servers.append(srv)
                threading.Thread(target=srv.serve_forever, args=(0.5,)).start()

        k.spawn(start, netns="h2").result()
        tcp_syslog = logging.handlers.SysLogHandler(
            ("server", 5514), facility=logging.handlers.SysLogHandler.LOG_DAEMON,
            socktype=socket.SOCK_STREAM)
        log.addHandler(tcp_syslog)
        handlers.append(tcp_syslog)
        log.info("too soon for SocketHandler")  # within its back-off
        time.sleep(1.5)
        for i in range(2):
            log.info("hello %d", i)
        log.warning("careful")
        for handler in handlers:
            log.removeHandler(handler)
            handler.close()
        time.sleep(1)
        for srv in servers:
            srv.shutdown()
            srv.server_close()
        return sorted(got)

    run = run_twice(scenario)
    name = "usernet.programs.app"
    sent = [("INFO", "hello 0", 1.5), ("INFO", "hello 1", 1.5), ("WARNING", "careful", 1.5)]
    assert run.result == sorted(
        [("syslog/tcp", b"<30>" + m.encode()) for m in ("too soon for SocketHandler",
                                                       "hello 0", "hello 1")]
        + [("syslog/tcp", b"<28>careful")]
        + [("syslog/udp", b"<14>" + m.encode() + b"\0") for m in (
            "before the receivers listen", "too soon for SocketHandler", "hello 0", "hello 1")]
        + [("syslog/udp", b"<12>careful\0")]
        + [("tcp", name, level, message, dt) for level, message, dt in sent]
        + [("udp", name, level, message, dt) for level, message, dt in
           [("INFO", "before the receivers listen", 0), ("INFO", "too soon for SocketHandler", 0),
            *sent]])


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
