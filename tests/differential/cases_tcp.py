"""TCP cases (da 10.9.0.1 -- db 10.9.0.2 unless the topology says otherwise).
Standard library only; only ``env.socket`` is the module under test."""

from __future__ import annotations

import struct
from typing import Any

from .util import Env, attempt, case, code, name_form

LINGER_ABORT = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close sends RST


def _listener(env: Env, port: int, backlog: int = 8, netns: str = "db") -> Any:
    s = env.socket
    with env.netns(netns):
        lst = s.socket(s.AF_INET, s.SOCK_STREAM)
    lst.setsockopt(s.SOL_SOCKET, s.SO_REUSEADDR, 1)
    lst.bind(("", port))
    lst.listen(backlog)
    return lst


def _pair(env: Env, port: int) -> tuple[Any, Any, Any]:
    """(listener in db, client in da, accepted socket in db), connected."""
    s = env.socket
    lst = _listener(env, port)
    c = s.socket(s.AF_INET, s.SOCK_STREAM)
    c.connect((env.addr("db"), port))
    a, _ = lst.accept()
    return lst, c, a


def case_tcp_connect_refused(env: Env) -> Any:
    """Connecting to a closed port: RST, ECONNREFUSED -- over the veth, to our
    own address and over lo; a refused socket can try again."""
    s = env.socket
    out: dict[str, Any] = {}
    for label, dst in (("remote", env.addr("db")), ("own", env.addr("da")),
                       ("loopback", "127.0.0.1")):
        c = s.socket(s.AF_INET, s.SOCK_STREAM)
        out[label] = attempt(c.connect, (dst, 9))
        out[label + "_again"] = attempt(c.connect, (dst, 9))
        c.close()
    c = s.socket(s.AF_INET, s.SOCK_STREAM)
    out["connect_ex"] = code(c.connect_ex((env.addr("db"), 9)))
    out["peer_after"] = attempt(c.getpeername)
    c.close()
    out["create_connection"] = attempt(s.create_connection, (env.addr("db"), 9), 2.0)
    return out


def case_tcp_connect_refused_nonblocking(env: Env) -> Any:
    """Non-blocking connect to a closed port: EINPROGRESS, then SO_ERROR says
    ECONNREFUSED once; a second connect_ex reports the failure itself."""
    s = env.socket
    out: dict[str, Any] = {}
    c = s.socket(s.AF_INET, s.SOCK_STREAM)
    c.setblocking(False)
    out["connect_ex"] = code(c.connect_ex((env.addr("db"), 9)))
    env.sleep(0.1)
    out["so_error"] = code(c.getsockopt(s.SOL_SOCKET, s.SO_ERROR))
    out["so_error_again"] = code(c.getsockopt(s.SOL_SOCKET, s.SO_ERROR))
    c.close()
    d = s.socket(s.AF_INET, s.SOCK_STREAM)
    d.setblocking(False)
    out["d_connect"] = attempt(d.connect, (env.addr("db"), 9))
    env.sleep(0.1)
    out["d_connect_ex_after"] = code(d.connect_ex((env.addr("db"), 9)))
    out["d_connect_ex_third"] = code(d.connect_ex((env.addr("db"), 9)))
    d.close()
    return out


def case_tcp_bind_rules(env: Env) -> Any:
    """TCP bind conflicts: listening sockets own their port even with
    SO_REUSEADDR; SO_REUSEPORT on both shares it; second bind is EINVAL."""
    s = env.socket
    A = env.addr("da")
    RA, RP = s.SO_REUSEADDR, s.SO_REUSEPORT
    out: dict[str, Any] = {}

    def two(label: str, port: int, o1: tuple[int, ...], a1: str, listen1: bool,
            o2: tuple[int, ...], a2: str, listen2: bool = False) -> None:
        first = s.socket(s.AF_INET, s.SOCK_STREAM)
        second = s.socket(s.AF_INET, s.SOCK_STREAM)
        for opt in o1:
            first.setsockopt(s.SOL_SOCKET, opt, 1)
        for opt in o2:
            second.setsockopt(s.SOL_SOCKET, opt, 1)
        first.bind((a1, port))
        if listen1:
            first.listen()
        res = attempt(second.bind, (a2, port))
        if listen2 and "ok" in res:
            res = {"bind": res, "listen": attempt(second.listen)}
        out[label] = res
        first.close()
        second.close()

    two("plain", 9000, (), "", False, (), "")
    two("plain_listening", 9001, (), "", True, (), "")
    two("reuseaddr_both", 9002, (RA,), "", False, (RA,), "", True)
    two("reuseaddr_both_listening", 9003, (RA,), "", True, (RA,), "")
    two("reuseaddr_second_only", 9004, (), "", False, (RA,), "")
    two("reuseport_both_listening", 9005, (RP,), "", True, (RP,), "", True)
    two("reuseport_second_only", 9006, (), "", True, (RP,), "")
    two("specific_then_wildcard", 9007, (), A, False, (), "")
    two("wildcard_then_specific", 9008, (), "", False, (), A)
    two("two_specific", 9009, (), "127.0.0.1", True, (), A, True)
    two("reuseaddr_specific_listening", 9010, (RA,), A, True, (RA,), "")
    c = s.socket(s.AF_INET, s.SOCK_STREAM)
    c.bind(("", 9011))
    out["second_bind"] = attempt(c.bind, ("", 9012))
    c.close()
    return out


def case_tcp_time_wait_reuseaddr(env: Env) -> Any:
    """The side that closes first holds TIME_WAIT on its port: rebinding it
    needs SO_REUSEADDR on the new socket *and* on the one in TIME_WAIT (which
    an accepted socket inherits from its listener)."""
    s = env.socket
    out: dict[str, Any] = {}
    for label, port, listener_reuse in (("listener_plain", 9100, 0),
                                        ("listener_reuseaddr", 9101, 1)):
        lst = s.socket(s.AF_INET, s.SOCK_STREAM)
        lst.setsockopt(s.SOL_SOCKET, s.SO_REUSEADDR, listener_reuse)
        lst.bind(("", port))
        lst.listen()
        with env.netns("db"):
            c = s.socket(s.AF_INET, s.SOCK_STREAM)
        c.connect((env.addr("da"), port))
        a, _ = lst.accept()
        a.close()  # active close: a's side goes to TIME_WAIT
        env.sleep(0.05)
        c.close()
        env.sleep(0.05)
        lst.close()
        n1 = s.socket(s.AF_INET, s.SOCK_STREAM)
        n2 = s.socket(s.AF_INET, s.SOCK_STREAM)
        n2.setsockopt(s.SOL_SOCKET, s.SO_REUSEADDR, 1)
        out[label] = {"rebind": attempt(n1.bind, ("", port)),
                      "rebind_reuseaddr": attempt(n2.bind, ("", port))}
        n1.close()
        n2.close()
    return out


def case_tcp_send_after_peer_close(env: Env) -> Any:
    """The peer closed: recv sees EOF, the first send still goes (and earns an
    RST), later sends raise EPIPE (BrokenPipeError)."""
    s = env.socket
    lst, c, a = _pair(env, 9200)
    a.close()
    env.sleep(0.1)
    out: dict[str, Any] = {"recv_eof": c.recv(10)}
    out["send1"] = attempt(c.send, b"x")
    env.sleep(0.1)
    out["send2"] = attempt(c.send, b"y")
    out["send3"] = attempt(c.sendall, b"z")
    out["recv_after"] = attempt(c.recv, 10)
    out["so_error"] = code(c.getsockopt(s.SOL_SOCKET, s.SO_ERROR))
    out["peer_after"] = attempt(c.getpeername)
    c.close()
    lst.close()
    return out


def case_tcp_recv_after_rst(env: Env) -> Any:
    """SO_LINGER 0 close sends RST: the peer's recv raises ECONNRESET once,
    then reads EOF; send is EPIPE."""
    s = env.socket
    lst, c, a = _pair(env, 9300)
    a.setsockopt(s.SOL_SOCKET, s.SO_LINGER, LINGER_ABORT)
    a.close()
    env.sleep(0.1)
    out = {"recv": attempt(c.recv, 10), "recv_again": attempt(c.recv, 10),
           "send": attempt(c.send, b"x"),
           "so_error": code(c.getsockopt(s.SOL_SOCKET, s.SO_ERROR)),
           "peer": attempt(c.getpeername)}
    c.close()
    lst.close()
    return out


def case_tcp_close_with_unread_data(env: Env) -> Any:
    """Closing with unread data sends RST instead of FIN: ECONNRESET."""
    s = env.socket
    lst, c, a = _pair(env, 9301)
    c.sendall(b"unread")
    env.sleep(0.1)
    a.close()
    env.sleep(0.1)
    out = {"recv": attempt(c.recv, 10), "send": attempt(c.send, b"x"),
           "so_error": code(c.getsockopt(s.SOL_SOCKET, s.SO_ERROR))}
    c.close()
    lst.close()
    return out


def _rst_after(env: Env, port: int, delay: float) -> Any:
    """Helper: accept one connection, wait, abort it with RST."""
    s = env.socket
    lst = s.socket(s.AF_INET, s.SOCK_STREAM)
    lst.bind(("", port))
    lst.listen()
    env.ready()
    a, _ = lst.accept()
    env.sleep(delay)
    a.setsockopt(s.SOL_SOCKET, s.SO_LINGER, LINGER_ABORT)
    a.close()
    lst.close()
    return "reset"


def case_tcp_blocking_recv_woken_by_rst(env: Env) -> Any:
    """A recv blocked in one process wakes with ECONNRESET when another
    process aborts the connection."""
    s = env.socket
    h = env.spawn(_rst_after, 9302, 0.3, netns="db")
    ready = h.wait_ready()
    c = s.socket(s.AF_INET, s.SOCK_STREAM)
    c.settimeout(5.0)
    c.connect((env.addr("db"), 9302))
    out = {"ready": ready, "recv": attempt(c.recv, 10), "helper": h.result()}
    c.close()
    return out


def case_tcp_timeouts(env: Env) -> Any:
    """socket timeouts: accept, recv, connect to a host that never answers
    ARP (connect and connect_ex), and a sendall the peer never reads."""
    s = env.socket
    out: dict[str, Any] = {}
    lst = _listener(env, 9400)
    lst.settimeout(0.2)
    out["accept"] = attempt(lst.accept)
    c = s.socket(s.AF_INET, s.SOCK_STREAM)
    c.settimeout(0.3)
    c.connect((env.addr("db"), 9400))
    out["recv"] = attempt(c.recv, 10)
    a, addr = lst.accept()
    out["accepted"] = name_form(addr)
    d = s.socket(s.AF_INET, s.SOCK_STREAM)
    d.settimeout(0.3)
    out["connect_silent"] = attempt(d.connect, ("10.9.0.77", 80))
    d.close()
    e = s.socket(s.AF_INET, s.SOCK_STREAM)
    e.settimeout(0.3)
    out["connect_ex_silent"] = code(e.connect_ex(("10.9.0.77", 80)))
    e.close()
    out["sendall_unread"] = attempt(c.sendall, b"x" * (32 << 20))
    for sock in (a, c, lst):
        sock.close()
    return out


def case_tcp_nonblocking(env: Env) -> Any:
    """Non-blocking accept, connect, recv and send: EAGAIN, EINPROGRESS,
    EISCONN; send fills the buffers until EAGAIN, and all of it arrives."""
    s = env.socket
    out: dict[str, Any] = {}
    lst = _listener(env, 9500)
    lst.setblocking(False)
    out["accept_empty"] = attempt(lst.accept)
    c = s.socket(s.AF_INET, s.SOCK_STREAM)
    c.setblocking(False)
    out["connect"] = attempt(c.connect, (env.addr("db"), 9500))
    env.sleep(0.1)
    out["connect_ex_after"] = code(c.connect_ex((env.addr("db"), 9500)))
    out["connect_after"] = attempt(c.connect, (env.addr("db"), 9500))
    a, _ = lst.accept()
    out["accepted_timeout"] = a.gettimeout()
    a.setblocking(False)
    out["recv_empty"] = attempt(a.recv, 10)
    c.setblocking(True)
    out["recv_dontwait"] = attempt(c.recv, 10, s.MSG_DONTWAIT)
    c.setblocking(False)
    sent = 0
    for _ in range(10000):
        try:
            sent += c.send(b"x" * 65536)
        except BlockingIOError as exc:
            out["fill"] = {"exc": type(exc).__name__, "errno": code(exc.errno or 0)}
            break
    got = 0
    for _ in range(1000):
        try:
            chunk = a.recv(1 << 20)
        except BlockingIOError:
            env.sleep(0.01)
            continue
        got += len(chunk)
        if got >= sent:
            break
    out["all_arrived"] = got == sent and sent > 0
    for sock in (a, c, lst):
        sock.close()
    return out


def case_tcp_half_close(env: Env) -> Any:
    """shutdown(SHUT_WR) sends FIN and the other direction keeps working;
    SHUT_RD; shutdown of an unconnected socket is ENOTCONN."""
    s = env.socket
    out: dict[str, Any] = {}
    lst, c, a = _pair(env, 9600)
    c.shutdown(s.SHUT_WR)
    out["server_recv_eof"] = a.recv(10)
    out["client_send_after_shut_wr"] = attempt(c.send, b"x")
    a.sendall(b"reply")
    env.sleep(0.05)
    out["client_recv"] = c.recv(10)
    a.sendall(b"more")
    env.sleep(0.05)
    out["client_recv_more"] = c.recv(10)
    a.close()
    env.sleep(0.05)
    out["client_recv_eof"] = c.recv(10)
    out["shutdown_after_close"] = attempt(c.shutdown, s.SHUT_RDWR)
    c.close()
    c2 = s.socket(s.AF_INET, s.SOCK_STREAM)
    c2.connect((env.addr("db"), 9600))
    a2, _ = lst.accept()
    c2.shutdown(s.SHUT_RD)
    out["recv_after_shut_rd"] = c2.recv(10)
    a2.sendall(b"late")
    env.sleep(0.05)
    out["recv_late_after_shut_rd"] = attempt(c2.recv, 10)
    out["send_after_shut_rd"] = attempt(c2.send, b"ok")
    out["server_recv"] = a2.recv(10)
    c2.close()
    a2.close()
    d = s.socket(s.AF_INET, s.SOCK_STREAM)
    out["shutdown_unconnected"] = attempt(d.shutdown, s.SHUT_RDWR)
    out["shutdown_bad_how"] = attempt(d.shutdown, 7)
    d.close()
    lst.close()
    return out


def case_tcp_urgent_data(env: Env) -> Any:
    """MSG_OOB: without SO_OOBINLINE the urgent byte leaves the stream (a read
    stops at the mark; recv(MSG_OOB) gets it once, then EINVAL); with it, the
    byte stays in the stream and MSG_OOB is EINVAL.  Every recv(MSG_OOB) is
    made while normal data is readable (CPython polls for it first)."""
    s = env.socket
    out: dict[str, Any] = {}
    lst = _listener(env, 9700)

    def urgent_pair(inline: bool) -> tuple[Any, Any]:
        c = s.socket(s.AF_INET, s.SOCK_STREAM)
        c.connect((env.addr("db"), 9700))
        a, _ = lst.accept()
        a.settimeout(1.0)
        if inline:
            a.setsockopt(s.SOL_SOCKET, s.SO_OOBINLINE, 1)
        c.send(b"ab")
        c.send(b"c", s.MSG_OOB)
        c.send(b"de")
        env.sleep(0.1)
        return c, a

    c, a = urgent_pair(False)
    out["recv1"] = attempt(a.recv, 100)
    out["oob"] = attempt(a.recv, 1, s.MSG_OOB)
    out["oob_again"] = attempt(a.recv, 1, s.MSG_OOB)
    out["recv2"] = attempt(a.recv, 100)
    c.close()
    a.close()
    c, a = urgent_pair(True)
    out["inline1"] = attempt(a.recv, 100)
    out["inline_oob"] = attempt(a.recv, 1, s.MSG_OOB)
    out["inline2"] = attempt(a.recv, 100)
    c.close()
    a.close()
    c, a = urgent_pair(False)
    out["skip1"] = attempt(a.recv, 100)
    out["skip2"] = attempt(a.recv, 100)
    c.send(b"fg")
    env.sleep(0.1)
    out["oob_after_mark"] = attempt(a.recv, 1, s.MSG_OOB)
    out["skip3"] = attempt(a.recv, 100)
    c.close()
    a.close()
    lst.close()
    return out


def case_tcp_backlog_overflow(env: Env) -> Any:
    """listen(1) and five non-blocking connects: how many complete the
    handshake, how many are accepted; the rest get in once there is room."""
    s = env.socket
    lst = _listener(env, 9800, backlog=1)
    clients = []
    for _ in range(5):
        c = s.socket(s.AF_INET, s.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex((env.addr("db"), 9800))
        clients.append(c)
    env.sleep(0.5)

    def connected() -> list[bool]:
        return ["ok" in attempt(c.getpeername) for c in clients]

    out: dict[str, Any] = {"connected": connected()}
    lst.setblocking(False)
    accepted = []
    for _ in range(10):
        try:
            accepted.append(lst.accept()[0])
        except BlockingIOError:
            break
    out["accepted"] = len(accepted)
    env.sleep(2.0)
    out["connected_later"] = connected()
    for _ in range(10):
        try:
            accepted.append(lst.accept()[0])
        except BlockingIOError:
            break
    out["accepted_later"] = len(accepted)
    for sock in [*clients, *accepted, lst]:
        sock.close()
    return out


def case_tcp_names(env: Env) -> Any:
    """getsockname/getpeername/accept address forms; listen() without bind
    picks an ephemeral port; connecting to 0.0.0.0 means loopback."""
    s = env.socket
    out: dict[str, Any] = {}
    c = s.socket(s.AF_INET, s.SOCK_STREAM)
    out["unbound"] = c.getsockname()
    out["peer_unconnected"] = attempt(c.getpeername)
    lst = _listener(env, 9900)
    out["listener"] = lst.getsockname()
    out["listener_peer"] = attempt(lst.getpeername)
    c.connect((env.addr("db"), 9900))
    out["client"] = name_form(c.getsockname())
    out["client_peer"] = c.getpeername()
    a, addr = lst.accept()
    out["accept_addr"] = name_form(addr)
    out["same_port"] = addr[1] == c.getsockname()[1]
    out["accepted"] = a.getsockname()
    out["accepted_peer"] = name_form(a.getpeername())
    m = s.socket(s.AF_INET, s.SOCK_STREAM)
    m.listen()
    out["autobound"] = name_form(m.getsockname())
    z = s.socket(s.AF_INET, s.SOCK_STREAM)
    z.connect(("0.0.0.0", m.getsockname()[1]))
    out["zero_peer"] = name_form(z.getpeername())
    out["zero_name"] = name_form(z.getsockname())
    for sock in (a, c, lst, m, z):
        sock.close()
    return out


@case(topology="narrow_ports")
def case_tcp_ephemeral_port_range(env: Env) -> Any:
    """ip_local_port_range = 40000 40001: two connects to one destination,
    the third is EADDRNOTAVAIL; bind(0) then finds no port either."""
    s = env.socket
    lst = _listener(env, 10000)
    out: dict[str, Any] = {}
    clients = []
    ports = []
    for i in range(3):
        c = s.socket(s.AF_INET, s.SOCK_STREAM)
        res = attempt(c.connect, (env.addr("db"), 10000))
        if "ok" in res:
            ports.append(c.getsockname()[1])
        else:
            out[f"connect{i}"] = res
        clients.append(c)
    out["ports"] = sorted(ports)
    b = s.socket(s.AF_INET, s.SOCK_STREAM)
    out["bind0"] = attempt(b.bind, ("", 0))
    for sock in [*clients, b, lst]:
        sock.close()
    return out


def _echo_server(env: Env, port: int) -> Any:
    """Helper: accept one connection, read to EOF, answer with the length."""
    s = env.socket
    lst = s.socket(s.AF_INET, s.SOCK_STREAM)
    lst.bind(("", port))
    lst.listen()
    env.ready()
    a, _ = lst.accept()
    total = 0
    while True:
        chunk = a.recv(65536)
        if not chunk:
            break
        total += len(chunk)
    a.sendall(str(total).encode())
    a.close()
    lst.close()
    return total


def case_tcp_stream_across_processes(env: Env) -> Any:
    """A server in another process: sendall 1 MB, shutdown, read the answer."""
    s = env.socket
    h = env.spawn(_echo_server, 10100, netns="db")
    ready = h.wait_ready()
    c = s.create_connection((env.addr("db"), 10100), timeout=10.0)
    c.sendall(bytes(range(256)) * 4096)
    c.shutdown(s.SHUT_WR)
    reply = b""
    while True:
        chunk = c.recv(100)
        if not chunk:
            break
        reply += chunk
    c.close()
    return {"ready": ready, "reply": reply, "helper": h.result()}


def _late_client(env: Env, host: str, port: int) -> Any:
    """Helper: connect after a while, send, close."""
    s = env.socket
    env.sleep(0.3)
    c = s.socket(s.AF_INET, s.SOCK_STREAM)
    c.connect((host, port))
    c.sendall(b"hi")
    c.close()
    return "sent"


def case_tcp_blocking_accept(env: Env) -> Any:
    """A blocking accept waits for a client that comes later from db."""
    s = env.socket
    lst = s.socket(s.AF_INET, s.SOCK_STREAM)
    lst.bind(("", 10200))
    lst.listen()
    lst.settimeout(5.0)
    h = env.spawn(_late_client, env.addr("da"), 10200, netns="db")
    a, addr = lst.accept()
    out = {"addr": name_form(addr), "data": a.recv(10), "eof": a.recv(10),
           "helper": h.result()}
    a.close()
    lst.close()
    return out


def case_tcp_makefile(env: Env) -> Any:
    """makefile: buffered lines both ways, as http.client and ftplib use it."""
    s = env.socket
    lst, c, a = _pair(env, 10300)
    w = c.makefile("wb")
    w.write(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
    w.flush()
    r = a.makefile("rb")
    lines = [r.readline() for _ in range(3)]
    a.sendall(b"200 ok\nbody")
    a.shutdown(s.SHUT_WR)
    rc = c.makefile("r", encoding="ascii", newline="")
    got = [rc.readline(), rc.read()]
    for f in (w, r, rc):
        f.close()
    for sock in (a, c, lst):
        sock.close()
    return {"server_read": lines, "client_read": got}


def case_tcp_create_server(env: Env) -> Any:
    """create_server / create_connection, and SO_REUSEADDR set by the former."""
    s = env.socket
    srv = s.create_server(("", 10400))
    out: dict[str, Any] = {
        "name": srv.getsockname(),
        "reuseaddr": srv.getsockopt(s.SOL_SOCKET, s.SO_REUSEADDR),
        "acceptconn": srv.getsockopt(s.SOL_SOCKET, s.SO_ACCEPTCONN)}
    c = s.create_connection(("127.0.0.1", 10400), timeout=2.0)
    a, _ = srv.accept()
    out["client_timeout"] = c.gettimeout()
    out["peer"] = c.getpeername()
    out["in_use"] = attempt(s.create_server, ("", 10400), reuse_port=False)
    for sock in (a, c, srv):
        sock.close()
    return out


@case(topology="routed")
def case_tcp_connect_through_router(env: Env) -> Any:
    """Through r: a closed port on dc is ECONNREFUSED; r's ICMP net
    unreachable aborts a connect in SYN_SENT."""
    s = env.socket
    out = {}
    c = s.socket(s.AF_INET, s.SOCK_STREAM)
    c.settimeout(3.0)
    out["port_closed"] = attempt(c.connect, (env.addr("dc"), 9))
    c.close()
    d = s.socket(s.AF_INET, s.SOCK_STREAM)
    d.settimeout(3.0)
    out["net_unreachable"] = attempt(d.connect, ("10.99.0.1", 80))
    d.close()
    lst = _listener(env, 10500, netns="dc")
    e = s.socket(s.AF_INET, s.SOCK_STREAM)
    e.connect((env.addr("dc"), 10500))
    a, addr = lst.accept()
    out["routed_peer"] = name_form(addr)
    for sock in (a, e, lst):
        sock.close()
    return out


def case_tcp_state_errors(env: Env) -> Any:
    """Calls that do not fit the socket's state: send/recv before connect,
    accept before listen, connect on a listener, listen on UDP."""
    s = env.socket
    out: dict[str, Any] = {}
    t = s.socket(s.AF_INET, s.SOCK_STREAM)
    out["send_unconnected"] = attempt(t.send, b"x")
    out["sendto_unconnected"] = attempt(t.sendto, b"x", (env.addr("db"), 9))
    out["recv_unconnected"] = attempt(t.recv, 1)
    out["accept_unlistened"] = attempt(t.accept)
    t.bind(("", 10600))
    t.listen()
    out["connect_listener"] = attempt(t.connect, (env.addr("db"), 9))
    out["send_listener"] = attempt(t.send, b"x")
    out["recv_listener"] = attempt(t.recv, 1)
    out["listen_again"] = attempt(t.listen, 5)
    out["shutdown_listener"] = attempt(t.shutdown, s.SHUT_RDWR)
    t.close()
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    out["listen_udp"] = attempt(u.listen)
    out["accept_udp"] = attempt(u.accept)
    out["shutdown_udp_unconnected"] = attempt(u.shutdown, s.SHUT_RDWR)
    u.close()
    lst, c, a = _pair(env, 10601)
    out["connect_connected"] = attempt(c.connect, (env.addr("db"), 10601))
    out["connect_ex_connected"] = code(c.connect_ex((env.addr("db"), 10601)))
    out["bind_connected"] = attempt(c.bind, ("", 0))
    out["sendto_connected"] = attempt(c.sendto, b"x", (env.addr("db"), 10601))
    out["sendto_connected_other"] = attempt(c.sendto, b"y", ("10.9.0.99", 1))
    env.sleep(0.05)
    out["received"] = a.recv(10)
    for sock in (a, c, lst):
        sock.close()
    return out


def _two_part_sender(env: Env, host: str, port: int) -> Any:
    """Helper: connect, send five bytes, wait, send five more, close."""
    s = env.socket
    c = s.socket(s.AF_INET, s.SOCK_STREAM)
    c.connect((host, port))
    c.sendall(b"hello")
    env.sleep(0.2)
    c.sendall(b"world")
    env.sleep(0.1)
    c.close()
    return "sent"


def case_tcp_peek_waitall(env: Env) -> Any:
    """MSG_PEEK on a stream; MSG_WAITALL waits for the second part on a
    blocking socket, but not on one with a timeout (CPython makes that one
    O_NONBLOCK and polls)."""
    s = env.socket
    lst = s.socket(s.AF_INET, s.SOCK_STREAM)
    lst.bind(("", 10700))
    lst.listen()
    out: dict[str, Any] = {}
    for mode, timeout in (("timeout", 5.0), ("blocking", None)):
        h = env.spawn(_two_part_sender, env.addr("da"), 10700, netns="db")
        a, _ = lst.accept()
        a.settimeout(timeout)
        env.sleep(0.1)
        out[mode] = {"peek": a.recv(3, s.MSG_PEEK), "peek_all": a.recv(100, s.MSG_PEEK),
                     "waitall": a.recv(8, s.MSG_WAITALL), "rest": a.recv(100),
                     "eof": a.recv(100), "helper": h.result()}
        a.close()
    lst.close()
    return out


def case_tcp_loopback_wakeup_pair(env: Env) -> Any:
    """The wake-up channel some clients build on lo: bind 127.0.0.1:0,
    listen, non-blocking connect, accept, then bytes both ways."""
    s = env.socket
    lst = s.socket(s.AF_INET, s.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    c = s.socket(s.AF_INET, s.SOCK_STREAM)
    c.setblocking(False)
    first = code(c.connect_ex(lst.getsockname()))
    a, addr = lst.accept()
    c.setblocking(True)
    c.send(b"\0")
    a.send(b"\1")
    out = {"connect_ex": first in ("0", "EINPROGRESS"), "addr": name_form(addr),
           "a_got": a.recv(1), "c_got": c.recv(1),
           "names_match": a.getpeername() == c.getsockname()}
    for sock in (a, c, lst):
        sock.close()
    return out


def _linger_peer(env: Env, port: int, check_at: float, drain: bool) -> Any:
    """Helper for the SO_LINGER case: accept a connection on ``port`` with a
    small receive buffer and leave it unread.  At ``check_at`` seconds, see
    whether the client's "close() returned" connection on ``port + 1`` has
    come; then (if ``drain``) read to EOF, and wait up to 3 s for it."""
    s = env.socket
    lst = s.socket(s.AF_INET, s.SOCK_STREAM)
    lst.setsockopt(s.SOL_SOCKET, s.SO_RCVBUF, 4096)
    lst.bind(("", port))
    lst.listen()
    back = s.socket(s.AF_INET, s.SOCK_STREAM)
    back.bind(("", port + 1))
    back.listen()
    env.ready()
    a, _ = lst.accept()
    env.sleep(check_at)
    back.setblocking(False)
    early = "ok" in attempt(back.accept)
    got = 0
    while drain:
        chunk = a.recv(65536)
        if not chunk:
            break
        got += len(chunk)
    later = None
    if not early:
        back.setblocking(True)
        back.settimeout(3.0)
        res = attempt(back.accept)
        later = "ok" if "ok" in res else res
    a.close()
    back.close()
    lst.close()
    return {"close_returned_early": early, "drained": got > 0, "then": later}


def _linger_client(env: Env, port: int, linger: bytes | None) -> Any:
    s = env.socket
    c = s.socket(s.AF_INET, s.SOCK_STREAM)
    c.connect((env.addr("db"), port))
    c.setblocking(False)
    sent = 0
    try:
        while True:
            sent += c.send(b"L" * 65536)
    except BlockingIOError:
        pass
    if linger is not None:
        c.setsockopt(s.SOL_SOCKET, s.SO_LINGER, linger)
    res = attempt(c.close)
    s.create_connection((env.addr("db"), port + 1), 10.0).close()
    return {"close": res, "sent_some": sent > 0}


def case_tcp_linger_close(env: Env) -> Any:
    """SO_LINGER with a time: close() (even non-blocking) waits until the
    FIN is acknowledged -- here once the peer reads its full window -- or
    until the time runs out; without SO_LINGER it returns at once."""
    out: dict[str, Any] = {}
    for label, port, linger, check_at, drain in (
            ("plain", 9850, None, 0.3, True),
            ("linger_acked", 9860, struct.pack("ii", 1, 5), 0.3, True),
            ("linger_timeout", 9870, struct.pack("ii", 1, 1), 0.5, False)):
        h = env.spawn(_linger_peer, port, check_at, drain, netns="db")
        ready = h.wait_ready()
        client = _linger_client(env, port, linger)
        out[label] = {"ready": ready, "client": client, "peer": h.result()}
    return out
