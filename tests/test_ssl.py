"""TLS over usernet sockets (usernet.ssl): unmodified HTTPS programs under
the patch, and SSLSocket's own behaviour where CPython's is known.  The
differential cases in tests/differential/cases_tls.py hold the rest of it
to CPython's ssl over real sockets."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.patch import patched
from usernet.ssl import SSLSocket, wrap_socket
from usernet.testing import ROUTER, VETH_PAIR

TLS = Path(__file__).parent / "data" / "tls"
CERT, KEY = str(TLS / "server.pem"), str(TLS / "server.key")


def server_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(CERT, KEY)
    return ctx


def client_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=CERT)


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer(200, json.dumps({"path": self.path}).encode())

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(201, hashlib.sha256(data).hexdigest().encode())

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def https_world() -> tuple[Kernel, Any]:
    k = Kernel(1)
    k.script(ROUTER)
    us.hosts(k, "h1").add("10.2.0.2", "server")
    us.hosts(k, "h1").add("10.2.0.2", "www")  # a name the certificate does not carry
    return k, k.capture("h1", "eth0")


@contextlib.contextmanager
def https_server_in_h2(k: Kernel) -> Iterator[None]:
    """A ThreadingHTTPServer in h2 whose listening socket is wrapped, as
    its documentation says to do (run inside the patch)."""
    box: list[http.server.ThreadingHTTPServer] = []
    ready = threading.Event()

    def serve() -> None:
        srv = http.server.ThreadingHTTPServer(("0.0.0.0", 443), Hello)
        srv.socket = server_context().wrap_socket(srv.socket, server_side=True)
        box.append(srv)
        ready.set()
        srv.serve_forever(poll_interval=0.5)

    proc = k.spawn(serve, netns="h2")
    ready.wait(5)
    try:
        yield
    finally:
        box[0].shutdown()
        box[0].server_close()
        proc.result()


def test_https_server_and_urllib_unmodified() -> None:
    """http.server with its socket wrapped, urllib with a CA file: the
    bodies arrive, and the wire carries TLS records, never the plaintext."""
    k, cap = https_world()
    payload = b"secret " * 20_000
    with patched(k, netns="h1"), https_server_in_h2(k):
        ctx = client_context()
        with urllib.request.urlopen("https://server/a?b=1", context=ctx, timeout=5) as r:
            got = (r.status, json.loads(r.read()))
        req = urllib.request.Request("https://server/up", data=payload)
        with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
            posted = (r.status, r.read().decode())
        with pytest.raises(urllib.error.URLError) as info:
            urllib.request.urlopen("https://www/", context=ctx, timeout=5)
    assert got == (200, {"path": "/a?b=1"})
    assert posted == (201, hashlib.sha256(payload).hexdigest())
    reason = info.value.reason
    assert isinstance(reason, ssl.SSLCertVerificationError) and reason.verify_code == 62
    wire = b"".join(data for _ts, data in cap.packets)
    assert b"\x16\x03\x01" in wire  # a TLS handshake record (ClientHello)
    assert b"secret secret" not in wire and b"/a?b=1" not in wire


def test_httpx_over_https() -> None:
    httpx = pytest.importorskip("httpx")
    k, _cap = https_world()
    with patched(k, netns="h1"), https_server_in_h2(k), \
            httpx.Client(verify=client_context(), trust_env=False, timeout=5) as client:
        r = client.get("https://server/x")
        out = (r.status_code, r.json(), r.extensions["http_version"])
    assert out == (200, {"path": "/x"}, b"HTTP/1.1")


def test_requests_over_https() -> None:
    """requests (urllib3 underneath): verification against a CA file, a
    POST, and a name the certificate does not carry."""
    import requests

    k, _cap = https_world()
    with patched(k, netns="h1"), https_server_in_h2(k), requests.Session() as session:
        session.trust_env = False
        r = session.get("https://server/x", verify=CERT, timeout=5)
        got = (r.status_code, r.json())
        r = session.post("https://server/up", data=b"abc" * 1000, verify=CERT, timeout=5)
        posted = (r.status_code, r.text)
        with pytest.raises(requests.exceptions.SSLError):
            session.get("https://www/", verify=CERT, timeout=5)
    assert got == (200, {"path": "/x"})
    assert posted == (201, hashlib.sha256(b"abc" * 1000).hexdigest())


def tls_pair(k: Kernel, port: int = 4433, **client_kw: Any) -> tuple[SSLSocket, SSLSocket]:
    """A TLS connection across the veth pair: (client in a, server side in b)."""
    with k.netns("b"):
        lst = us.socket()
        lst.bind(("0.0.0.0", port))
        lst.listen()
    box: list[SSLSocket] = []

    def accept() -> None:
        conn, _ = lst.accept()
        box.append(wrap_socket(server_context(), conn, server_side=True))

    proc = k.spawn(accept, netns="b")
    with k.netns("a"):
        raw = us.create_connection(("10.0.0.2", port))
    cli = wrap_socket(client_context(), raw, server_hostname="server", **client_kw)
    proc.result()
    lst.close()
    return cli, box[0]


def test_wrap_takes_the_descriptor_and_talks() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    cli, srv = tls_pair(k)
    assert cli.version() == srv.version() == "TLSv1.3"
    assert cli.getpeercert()["subject"] == ((("commonName", "server"),),)
    cli.sendall(b"x" * 100_000)
    got = b""
    while len(got) < 100_000:
        got += srv.recv(65536)
    assert got == b"x" * 100_000
    srv.sendall(b"bye")
    assert cli.recv(10) == b"bye"
    srv.close()  # no close_notify: a ragged EOF, suppressed by default
    assert cli.recv(10) == b""
    cli.close()


def test_ragged_eof_raised_when_asked_and_unwrap() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    cli, srv = tls_pair(k, suppress_ragged_eofs=False)
    srv.close()
    with pytest.raises(ssl.SSLEOFError):
        cli.recv(10)
    cli2, srv2 = tls_pair(k, 4434)
    done: list[Any] = []
    proc = k.spawn(lambda: done.append(srv2.unwrap()), netns="b")
    plain = cli2.unwrap()  # both sides send close_notify: the sockets are plain again
    proc.result()
    plain.sendall(b"clear")
    assert done[0].recv(10) == b"clear"


def test_nonblocking_handshake_wants_read() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    with k.netns("b"):
        lst = us.socket()
        lst.bind(("0.0.0.0", 4433))
        lst.listen()
    with k.netns("a"):
        raw = us.create_connection(("10.0.0.2", 4433))
    raw.setblocking(False)
    with pytest.raises(ValueError, match="non-blocking"):
        wrap_socket(client_context(), raw, server_hostname="server")
    with k.netns("a"):
        raw = us.create_connection(("10.0.0.2", 4433))
    raw.setblocking(False)
    cli = wrap_socket(client_context(), raw, server_hostname="server",
                      do_handshake_on_connect=False)
    with pytest.raises(ssl.SSLWantReadError):  # the ClientHello went; no answer yet
        cli.do_handshake()
    lst.accept()[0].close()  # the first connection, closed by the refused wrap
    conn, _ = lst.accept()
    srv_proc = k.spawn(lambda: wrap_socket(server_context(), conn, server_side=True), netns="b")
    sel = us.selectors.DefaultSelector()
    sel.register(cli, us.selectors.EVENT_READ)
    while True:
        try:
            cli.do_handshake()
            break
        except ssl.SSLWantReadError:
            assert sel.select(5)
    assert cli.version() == "TLSv1.3"
    srv = srv_proc.result()
    srv.sendall(b"ok")
    while True:  # TLS 1.3's session tickets may come first: readable, no data yet
        assert sel.select(5)
        try:
            assert cli.recv(10) == b"ok"
            break
        except ssl.SSLWantReadError:
            continue


def test_wrap_time_checks_are_cpythons() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    with k.netns("a"):
        udp = us.socket(us.AF_INET, us.SOCK_DGRAM)
        tcp = us.socket()
    with pytest.raises(NotImplementedError, match="only stream sockets"):
        wrap_socket(client_context(), udp, server_hostname="server")
    with pytest.raises(ValueError, match="server_hostname can only be specified"):
        wrap_socket(server_context(), tcp, server_side=True, server_hostname="x")
    with pytest.raises(ValueError, match="check_hostname requires server_hostname"):
        wrap_socket(client_context(), tcp)
    with pytest.raises(TypeError, match="public constructor"):
        SSLSocket()
    unconnected = wrap_socket(client_context(), tcp, server_hostname="server")
    assert tcp.fileno() == -1 and unconnected.fileno() != -1  # the descriptor moved
    assert unconnected.version() is None and unconnected.cipher() is None
    with pytest.raises(OSError) as info:
        unconnected.getpeercert()
    assert info.value.errno == 107  # ENOTCONN
    srv_side = wrap_socket(server_context(), us.socket(kernel=k), server_side=True)
    with pytest.raises(ValueError, match="can't connect in server-side mode"):
        srv_side.connect(("10.0.0.2", 1))


def test_flags_and_datagram_calls_refused_on_tls() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    cli, _srv = tls_pair(k)
    with pytest.raises(ValueError, match="non-zero flags"):
        cli.recv(10, us.MSG_PEEK)
    with pytest.raises(ValueError, match="non-zero flags"):
        cli.send(b"x", us.MSG_DONTWAIT)
    with pytest.raises(ValueError, match="sendto not allowed"):
        cli.sendto(b"x", ("10.0.0.2", 1))
    with pytest.raises(NotImplementedError):
        cli.dup()


def test_patch_wraps_usernet_sockets_and_leaves_os_ones() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    original = ssl.SSLContext.wrap_socket
    with patched(k, netns="a"):
        import socket

        s = socket.socket()
        wrapped = client_context().wrap_socket(s, server_hostname="server",
                                               do_handshake_on_connect=False)
        assert isinstance(wrapped, SSLSocket)
        wrapped.close()
    assert ssl.SSLContext.wrap_socket is original


def test_asyncio_streams_over_tls_without_the_patch() -> None:
    """asyncio's own SSL protocol (memory BIOs) over the usernet loop."""
    import asyncio

    import usernet.asyncio as uasyncio

    k = Kernel()
    k.script(VETH_PAIR)

    async def server() -> None:
        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.write(b"echo " + await r.readline())
            await w.drain()
            w.close()

        srv = await asyncio.start_server(handle, "0.0.0.0", 443, ssl=server_context())
        async with srv:
            await asyncio.sleep(5)

    async def client() -> tuple[bytes, str]:
        await asyncio.sleep(0.1)
        r, w = await asyncio.open_connection("10.0.0.2", 443, ssl=client_context(),
                                             server_hostname="server")
        w.write(b"hello\n")
        await w.drain()
        version = w.get_extra_info("ssl_object").version()
        return await r.read(), version

    srv = uasyncio.spawn(server(), kernel=k, netns="b")
    assert uasyncio.run(client(), kernel=k, netns="a") == (b"echo hello\n", "TLSv1.3")
    srv.result()


def test_smtplib_starttls_unmodified() -> None:
    """smtplib upgrades a plain SMTP session with STARTTLS; the server side
    is a small line-based SMTP server that wraps the accepted socket."""
    import smtplib
    from email.message import EmailMessage

    k = Kernel()
    k.script(ROUTER)
    us.hosts(k, "h1").add("10.2.0.2", "server")
    got: list[bytes] = []

    def smtp_server() -> None:
        with k.netns("h2"):
            lst = us.socket()
        lst.bind(("0.0.0.0", 25))
        lst.listen()
        conn, _ = lst.accept()
        f = conn.makefile("rwb")

        def reply(line: bytes) -> None:
            f.write(line + b"\r\n")
            f.flush()

        reply(b"220 server ESMTP")
        while line := f.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                reply(b"250-server")
                reply(b"250 STARTTLS")
            elif verb == b"STAR":
                reply(b"220 Ready to start TLS")
                f.close()
                conn = wrap_socket(server_context(), conn, server_side=True)
                f = conn.makefile("rwb")
            elif verb == b"DATA":
                reply(b"354 go on")
                while (data := f.readline()) != b".\r\n":
                    got.append(data)
                reply(b"250 queued")
            elif verb == b"QUIT":
                reply(b"221 bye")
                break
            else:  # MAIL, RCPT
                reply(b"250 ok")
        f.close()
        conn.close()
        lst.close()

    proc = k.spawn(smtp_server, netns="h2")
    with patched(k, netns="h1"):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "a@h1", "b@h2", "over TLS"
        msg.set_content("hello")
        with smtplib.SMTP("server", 25, timeout=5) as smtp:
            smtp.starttls(context=client_context())
            assert isinstance(smtp.sock, SSLSocket) and smtp.sock.version() == "TLSv1.3"
            smtp.send_message(msg)
    proc.result()
    assert b"Subject: over TLS\r\n" in got and b"hello\r\n" in got
