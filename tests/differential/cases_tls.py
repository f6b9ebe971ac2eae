"""TLS cases: ``ssl`` over the socket under test (da 10.9.0.1 -- db 10.9.0.2).
``env.wrap_tls(ctx, sock, ...)`` is ``ctx.wrap_socket`` on the real side and
``usernet.ssl.wrap_socket`` on usernet's.  The certificate is
tests/data/tls/server.pem (name ``server``, address 10.9.0.2).
Standard library only."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path
from typing import Any

from .util import Env, err

TLS = Path(__file__).resolve().parents[1] / "data" / "tls"
PAYLOAD = bytes(range(256)) * 200  # 51,200 bytes: several records


def _server_ctx() -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(TLS / "server.pem"), str(TLS / "server.key"))
    return ctx


def _client_ctx() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(TLS / "server.pem"))


def tls_err(exc: BaseException) -> dict[str, Any]:
    """err() plus what ssl says of itself: the library's reason and the
    verification result; never the message (it names source lines)."""
    out = err(exc)
    for attr in ("reason", "verify_code"):
        if getattr(exc, attr, None) is not None:
            out[attr] = getattr(exc, attr)
    return out


def tls_attempt(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return {"ok": fn(*args, **kwargs)}
    except (OSError, ValueError, NotImplementedError) as exc:
        return tls_err(exc)


def _listen(env: Env, port: int) -> Any:
    s = env.socket
    lst = s.socket(s.AF_INET, s.SOCK_STREAM)
    lst.setsockopt(s.SOL_SOCKET, s.SO_REUSEADDR, 1)
    lst.bind(("", port))
    lst.listen(8)
    return lst


def _echo_server(env: Env, port: int) -> Any:
    """Accept one TLS client, echo what it sends upper-cased until its
    close_notify, then answer with ours."""
    ctx = _server_ctx()
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    lst = env.wrap_tls(ctx, _listen(env, port), server_side=True)
    env.ready()
    conn, _ = lst.accept()
    out: dict[str, Any] = {"version": conn.version(), "alpn": conn.selected_alpn_protocol(),
                           "client_cert": conn.getpeercert(), "cipher_proto": conn.cipher()[1]}
    got = 0
    digest = hashlib.sha256()
    while data := conn.recv(65536):
        got += len(data)
        digest.update(data)
        conn.sendall(data.upper())
    out["received"] = got
    out["sha256"] = digest.hexdigest()
    out["unwrap"] = "ok" if "ok" in tls_attempt(conn.unwrap) else "failed"
    conn.close()
    lst.close()
    return out


def case_tls_echo(env: Env) -> Any:
    """A TLS 1.3 session: handshake on connect, ALPN, the peer's certificate,
    50 KB each way in records, and a close_notify exchange (unwrap)."""
    s = env.socket
    srv = env.spawn(_echo_server, 7443, netns="db")
    srv.wait_ready()
    ctx = _client_ctx()
    ctx.set_alpn_protocols(["http/1.1"])
    c = env.wrap_tls(ctx, s.socket(s.AF_INET, s.SOCK_STREAM), server_hostname="server")
    out: dict[str, Any] = {"before": [c.version(), c.cipher(), c.selected_alpn_protocol()]}
    c.connect((env.addr("db"), 7443))
    cert = c.getpeercert()
    out["after"] = [c.version(), c.cipher()[1], c.selected_alpn_protocol()]
    out["peer"] = {k: cert[k] for k in ("subject", "issuer", "subjectAltName")}
    out["peer_der_len"] = len(c.getpeercert(binary_form=True))
    c.sendall(PAYLOAD)
    back = b""
    while len(back) < len(PAYLOAD):
        back += c.recv(65536)
    out["echo_ok"] = back == PAYLOAD.upper()
    out["pending"] = c.pending()
    plain = c.unwrap()
    out["plain_peer"] = plain.getpeername()
    plain.close()
    out["server"] = srv.result()
    return out


def _failing_server(env: Env, port: int, n: int) -> Any:
    lst = _listen(env, port)
    env.ready()
    out = []
    for _ in range(n):
        conn, _ = lst.accept()
        res = tls_attempt(env.wrap_tls, _server_ctx(), conn, server_side=True)
        if "ok" in res:
            res = {"ok": "handshake done"}
        out.append(res)
        conn.close()
    lst.close()
    return out


def case_tls_verify_failures(env: Env) -> Any:
    """What a client that cannot verify the server raises (an unknown
    issuer, a wrong name), and what the server's handshake makes of the
    client's alert."""
    s = env.socket
    srv = env.spawn(_failing_server, 7444, 2, netns="db")
    srv.wait_ready()
    out: dict[str, Any] = {}
    for label, ctx, name in (("unknown_ca", ssl.create_default_context(), "server"),
                             ("wrong_name", _client_ctx(), "other.example")):
        raw = s.create_connection((env.addr("db"), 7444))
        out[label] = tls_attempt(env.wrap_tls, ctx, raw, server_hostname=name)
        raw.close()
    out["server"] = srv.result()
    return out


def case_tls_wrap_checks(env: Env) -> Any:
    """What wrap_socket refuses, and an SSLSocket before it is connected."""
    s = env.socket
    out: dict[str, Any] = {}
    udp = s.socket(s.AF_INET, s.SOCK_DGRAM)
    out["udp"] = tls_attempt(env.wrap_tls, _client_ctx(), udp, server_hostname="server")
    udp.close()
    t = s.socket(s.AF_INET, s.SOCK_STREAM)
    out["server_with_name"] = tls_attempt(env.wrap_tls, _server_ctx(), t, server_side=True,
                                          server_hostname="x")
    out["no_hostname"] = tls_attempt(env.wrap_tls, _client_ctx(), t)
    u = env.wrap_tls(_client_ctx(), t, server_hostname="server")
    out["old_fileno"] = t.fileno()
    out["unconnected"] = {"version": u.version(), "cipher": u.cipher(),
                          "pending": u.pending(), "peercert": tls_attempt(u.getpeercert),
                          "handshake": tls_attempt(u.do_handshake),
                          "recv": tls_attempt(u.recv, 1),
                          "dup": tls_attempt(u.dup)}
    out["refused"] = tls_attempt(u.connect, (env.addr("db"), 9))
    out["connect_ex_again"] = tls_attempt(u.connect_ex, (env.addr("db"), 9))
    u.close()
    v = env.wrap_tls(_server_ctx(), s.socket(s.AF_INET, s.SOCK_STREAM), server_side=True)
    out["server_connect"] = tls_attempt(v.connect, (env.addr("db"), 9))
    v.close()
    return out


def _ticket_server(env: Env, port: int, mode: str, delay: float = 0.0) -> Any:
    """Accept one TLS client (after ``delay`` seconds) and send ``hello``;
    then ``close`` shuts without close_notify (a ragged EOF), ``wait`` waits
    for the client to go."""
    lst = env.wrap_tls(_server_ctx(), _listen(env, port), server_side=True)
    env.ready()
    env.sleep(delay)
    conn, _ = lst.accept()
    conn.sendall(b"hello")
    res = tls_attempt(conn.recv, 10) if mode == "wait" else {"ok": b"closed"}
    conn.close()
    lst.close()
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in res.items()}


def _plain_server(env: Env, port: int) -> Any:
    """Accept one connection without TLS and read it to its end."""
    lst = _listen(env, port)
    env.ready()
    conn, _ = lst.accept()
    got = 0
    while data := conn.recv(4096):
        got += len(data)
    conn.close()
    lst.close()
    return got


def case_tls_ragged_eof(env: Env) -> Any:
    """A peer that closes without close_notify: recv gives b'' when ragged
    EOFs are suppressed (the default), SSLEOFError when not."""
    s = env.socket
    out: dict[str, Any] = {}
    for i, suppress in enumerate((True, False)):
        srv = env.spawn(_ticket_server, 7450 + i, "close", netns="db")
        srv.wait_ready()
        c = env.wrap_tls(_client_ctx(), s.create_connection((env.addr("db"), 7450 + i)),
                         server_hostname="server", suppress_ragged_eofs=suppress)
        got = b""
        while len(got) < 5:
            got += c.recv(10)
        srv.result()
        out[f"suppress_{suppress}"] = [got, tls_attempt(c.recv, 10), tls_attempt(c.recv, 10)]
        c.close()
    return out


def case_tls_nonblocking(env: Env) -> Any:
    """Non-blocking TLS: a handshake on connect is refused; do_handshake and
    recv raise SSLWantReadError until the peer's records are in."""
    s = env.socket
    srv = env.spawn(_plain_server, 7460, netns="db")
    srv.wait_ready()
    out: dict[str, Any] = {}
    raw = s.create_connection((env.addr("db"), 7460))
    raw.setblocking(False)
    out["on_connect"] = tls_attempt(env.wrap_tls, _client_ctx(), raw, server_hostname="server")
    out["closed_by_refusal"] = raw.fileno()
    out["plain_server_got"] = srv.result()  # no ClientHello was sent
    # the server answers late: the client's first try cannot finish
    srv = env.spawn(_ticket_server, 7461, "wait", 0.3, netns="db")
    srv.wait_ready()
    raw = s.create_connection((env.addr("db"), 7461))
    raw.setblocking(False)
    c = env.wrap_tls(_client_ctx(), raw, server_hostname="server", do_handshake_on_connect=False)
    out["first_handshake"] = tls_attempt(c.do_handshake)
    for _ in range(100):
        env.sleep(0.02)
        if "ok" in tls_attempt(c.do_handshake):
            break
    out["version"] = c.version()
    got = b""
    for _ in range(100):
        env.sleep(0.02)
        res = tls_attempt(c.recv, 10)
        if "ok" in res:
            got += res["ok"]
            if len(got) >= 5:
                break
    out["got"] = got
    out["then"] = tls_attempt(c.recv, 10)
    c.setblocking(True)
    c.sendall(b"bye")
    out["server"] = srv.result()
    c.close()
    return out
