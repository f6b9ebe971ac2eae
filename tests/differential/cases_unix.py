"""AF_UNIX cases: names in the filesystem (shared by every namespace) and in
the abstract namespace (one per network namespace), streams, datagrams and
their errors.  The case runs in da; ``env.netns("db")`` makes sockets in db.
Standard library only; only ``env.socket`` is the module under test."""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .util import Env, attempt, err


@contextmanager
def _tmpdir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="usernet-unix-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _name(addr: Any, tmp: str) -> Any:
    """A socket address with the temporary directory taken out."""
    if isinstance(addr, str) and addr.startswith(tmp):
        return "TMP" + addr[len(tmp):]
    return addr


def _autobound(addr: Any) -> Any:
    """An autobind name: NUL and five hex digits (the digits are random)."""
    if isinstance(addr, bytes) and len(addr) == 6 and addr[:1] == b"\0":
        int(addr[1:], 16)
        return "autobind"
    return addr


def case_unix_abstract_per_netns(env: Env) -> Any:
    """An abstract name belongs to the network namespace of the socket that
    binds it: the same name binds in da and db, and each connect reaches
    the listener of its own namespace; a name bound only in db is not there
    for da."""
    s = env.socket
    out: dict[str, Any] = {}
    la = s.socket(s.AF_UNIX, s.SOCK_STREAM)
    la.bind(b"\0usernet-shared")
    la.listen()
    with env.netns("db"):
        lb = s.socket(s.AF_UNIX, s.SOCK_STREAM)
        only_b = s.socket(s.AF_UNIX, s.SOCK_STREAM)
        cb = s.socket(s.AF_UNIX, s.SOCK_STREAM)
    out["bind_same_name_in_db"] = attempt(lb.bind, b"\0usernet-shared")
    lb.listen()
    only_b.bind(b"\0usernet-only-db")
    only_b.listen()
    ca = s.socket(s.AF_UNIX, s.SOCK_STREAM)
    out["da_to_shared"] = attempt(ca.connect, b"\0usernet-shared")
    out["db_to_shared"] = attempt(cb.connect, b"\0usernet-shared")
    ca.sendall(b"from da")
    cb.sendall(b"from db")
    a, a_addr = la.accept()
    b, b_addr = lb.accept()
    out["da_listener_got"] = a.recv(100)
    out["db_listener_got"] = b.recv(100)
    out["accepted_addrs"] = [a_addr, b_addr]
    out["names"] = [la.getsockname(), ca.getpeername(), ca.getsockname()]
    other = s.socket(s.AF_UNIX, s.SOCK_STREAM)
    out["da_to_only_db"] = attempt(other.connect, b"\0usernet-only-db")
    out["in_use_in_da"] = attempt(s.socket(s.AF_UNIX, s.SOCK_STREAM).bind, b"\0usernet-shared")
    for sock in (la, lb, only_b, ca, cb, a, b, other):
        sock.close()
    again = s.socket(s.AF_UNIX, s.SOCK_STREAM)
    out["rebind_after_close"] = attempt(again.bind, b"\0usernet-shared")
    again.close()
    return out


def case_unix_path_across_netns(env: Env) -> Any:
    """A filesystem name reaches its socket from any namespace; the socket
    file stays after close, and a new bind on it needs an unlink first."""
    s = env.socket
    out: dict[str, Any] = {}
    with _tmpdir() as tmp:
        path = os.path.join(tmp, "srv.sock")
        with env.netns("db"):
            lst = s.socket(s.AF_UNIX, s.SOCK_STREAM)
        lst.bind(path)
        lst.listen()
        st = os.stat(path)
        out["file_is_socket"] = (st.st_mode & 0o170000) == 0o140000
        c = s.socket(s.AF_UNIX, s.SOCK_STREAM)
        out["connect_from_da"] = attempt(c.connect, path)
        a, addr = lst.accept()
        out["accept_addr"] = addr
        out["names"] = [_name(x, tmp) for x in (lst.getsockname(), c.getpeername(),
                                                 c.getsockname(), a.getsockname(),
                                                 a.getpeername())]
        c.sendall(b"ping")
        c.shutdown(s.SHUT_WR)
        out["server_reads"] = [a.recv(10), a.recv(10)]
        a.sendall(b"pong")
        a.close()
        out["client_reads"] = [c.recv(10), c.recv(10)]
        out["send_after_peer_close"] = attempt(c.send, b"x")
        c.close()
        lst.close()
        out["file_after_close"] = os.path.exists(path)
        out["connect_stale"] = attempt(s.socket(s.AF_UNIX, s.SOCK_STREAM).connect, path)
        nb = s.socket(s.AF_UNIX, s.SOCK_STREAM)
        out["bind_stale"] = attempt(nb.bind, path)
        os.unlink(path)
        out["bind_after_unlink"] = attempt(nb.bind, path)
        out["bound_name"] = _name(nb.getsockname(), tmp)
        nb.close()
    return out


def case_unix_bind_errors(env: Env) -> Any:
    """bind: names in use, missing directories, twice, too long, wrong types,
    the empty name (autobind) and bytes paths."""
    s = env.socket
    out: dict[str, Any] = {}
    with _tmpdir() as tmp:
        u = s.socket(s.AF_UNIX, s.SOCK_STREAM)
        out["unbound_name"] = u.getsockname()
        out["missing_dir"] = attempt(u.bind, os.path.join(tmp, "no", "x.sock"))
        regular = os.path.join(tmp, "file")
        with open(regular, "w") as f:
            f.write("x")
        out["over_regular_file"] = attempt(u.bind, regular)
        out["bytes_path"] = attempt(u.bind, os.fsencode(os.path.join(tmp, "b.sock")))
        out["bytes_name"] = _name(u.getsockname(), tmp)
        out["twice"] = attempt(u.bind, os.path.join(tmp, "c.sock"))
        u.close()
        v = s.socket(s.AF_UNIX, s.SOCK_DGRAM)
        out["too_long"] = attempt(v.bind, "/" + "x" * 107)
        out["abstract_108"] = attempt(v.bind, b"\0" + b"y" * 107)
        out["abstract_109"] = attempt(s.socket(s.AF_UNIX, s.SOCK_DGRAM).bind, b"\0" + b"y" * 108)
        out["int_address"] = attempt(s.socket(s.AF_UNIX, s.SOCK_DGRAM).bind, 5)
        out["tuple_address"] = attempt(s.socket(s.AF_UNIX, s.SOCK_DGRAM).bind, ("a", 1))
        w = s.socket(s.AF_UNIX, s.SOCK_STREAM)
        out["autobind"] = attempt(w.bind, "")
        out["autobind_name"] = _autobound(w.getsockname())
        x = s.socket(s.AF_UNIX, s.SOCK_STREAM)
        x.bind(b"\0usernet-held")
        out["abstract_in_use_other_type"] = attempt(
            s.socket(s.AF_UNIX, s.SOCK_DGRAM).bind, b"\0usernet-held")
        out["inet_address"] = attempt(s.socket(s.AF_INET, s.SOCK_STREAM).bind, "/tmp/x")
        for sock in (v, w, x):
            sock.close()
    return out


def case_unix_connect_errors(env: Env) -> Any:
    """connect, listen, accept and send where they cannot work."""
    s = env.socket
    out: dict[str, Any] = {}
    with _tmpdir() as tmp:
        c = s.socket(s.AF_UNIX, s.SOCK_STREAM)
        out["missing_path"] = attempt(c.connect, os.path.join(tmp, "none"))
        regular = os.path.join(tmp, "file")
        with open(regular, "w") as f:
            f.write("x")
        out["regular_file"] = attempt(c.connect, regular)
        out["abstract_unbound"] = attempt(c.connect, b"\0usernet-nobody")
        idle = s.socket(s.AF_UNIX, s.SOCK_STREAM)
        idle.bind(os.path.join(tmp, "idle.sock"))
        out["not_listening"] = attempt(c.connect, os.path.join(tmp, "idle.sock"))
        dg = s.socket(s.AF_UNIX, s.SOCK_DGRAM)
        dg.bind(os.path.join(tmp, "dg.sock"))
        out["stream_to_dgram"] = attempt(c.connect, os.path.join(tmp, "dg.sock"))
        out["listen_dgram"] = attempt(dg.listen)
        out["accept_not_listening"] = attempt(idle.accept)
        out["send_unconnected"] = attempt(c.send, b"x")
        out["recv_unconnected"] = attempt(c.recv, 1)
        out["peername_unconnected"] = attempt(c.getpeername)
        lst = s.socket(s.AF_UNIX, s.SOCK_STREAM)
        lst.bind(os.path.join(tmp, "lst.sock"))
        lst.listen()
        out["connect"] = attempt(c.connect, os.path.join(tmp, "lst.sock"))
        out["connect_again"] = attempt(c.connect, os.path.join(tmp, "lst.sock"))
        out["listen_connected"] = attempt(c.listen)
        out["sendto_connected_stream"] = attempt(c.sendto, b"x", os.path.join(tmp, "lst.sock"))
        out["inet_family_sendto"] = attempt(c.sendto, b"x", ("10.9.0.2", 9))
        out["shutdown_bad"] = attempt(c.shutdown, 7)
        dgc = s.socket(s.AF_UNIX, s.SOCK_DGRAM)
        out["dgram_to_stream"] = attempt(dgc.sendto, b"x", os.path.join(tmp, "lst.sock"))
        out["dgram_to_missing"] = attempt(dgc.sendto, b"x", os.path.join(tmp, "none"))
        out["dgram_send_unconnected"] = attempt(dgc.send, b"x")
        for sock in (c, idle, dg, lst, dgc):
            sock.close()
    return out


def case_unix_dgram(env: Env) -> Any:
    """Datagrams keep their boundaries; the receiver sees the sender's name,
    None for an unbound sender; a connected socket sends without a name;
    the queue holds net.unix.max_dgram_qlen + 1 datagrams."""
    s = env.socket
    out: dict[str, Any] = {}
    with _tmpdir() as tmp:
        srv_path = os.path.join(tmp, "srv.sock")
        srv = s.socket(s.AF_UNIX, s.SOCK_DGRAM)
        srv.bind(srv_path)
        anon = s.socket(s.AF_UNIX, s.SOCK_DGRAM)
        out["sendto_unbound"] = attempt(anon.sendto, b"one", srv_path)
        data, addr = srv.recvfrom(100)
        out["from_unbound"] = [data, addr]
        named = s.socket(s.AF_UNIX, s.SOCK_DGRAM)
        named.bind(b"\0usernet-client")
        named.sendto(b"two" * 10, srv_path)
        data, addr = srv.recvfrom(4)
        out["truncated_from_abstract"] = [data, addr]
        srv.sendto(b"reply", addr)
        data, addr = named.recvfrom(100)
        out["reply"] = [data, _name(addr, tmp)]
        out["connect"] = attempt(named.connect, srv_path)
        named.send(b"three")
        out["after_connect"] = srv.recvfrom(100)
        out["peername"] = _name(named.getpeername(), tmp)
        out["empty"] = attempt(named.send, b"")
        out["empty_recv"] = srv.recvfrom(100)
        srv.setblocking(False)
        out["nothing_queued"] = attempt(srv.recv, 10)
        anon.setblocking(False)
        sent = 0
        result: Any = None
        for _ in range(50):
            result = attempt(anon.sendto, b"q", srv_path)
            if "ok" not in result:
                break
            sent += 1
        out["queue_fill"] = [sent, result]
        out["too_big"] = attempt(anon.sendto, b"z" * (1 << 20), srv_path)
        got = 0
        while "ok" in attempt(srv.recv, 10):
            got += 1
        out["drained"] = got
        for sock in (srv, anon, named):
            sock.close()
        out["to_closed"] = attempt(s.socket(s.AF_UNIX, s.SOCK_DGRAM).sendto, b"x", srv_path)
    return out


def case_unix_stream_backlog(env: Env) -> Any:
    """A stream connect completes before accept, and data sent then waits;
    listen(1) queues two connections, a third non-blocking connect gets
    EAGAIN; SO_PEERCRED names the peer's credentials."""
    s = env.socket
    out: dict[str, Any] = {}
    lst = s.socket(s.AF_UNIX, s.SOCK_STREAM)
    lst.bind(b"\0usernet-backlog")
    lst.listen(1)
    clients = []
    results = []
    for _ in range(3):
        c = s.socket(s.AF_UNIX, s.SOCK_STREAM)
        c.setblocking(False)
        results.append(attempt(c.connect, b"\0usernet-backlog"))
        clients.append(c)
    out["connects"] = results
    out["early_send"] = attempt(clients[0].send, b"before accept")
    a, _ = lst.accept()
    out["accepted_reads"] = a.recv(100)
    cred = a.getsockopt(s.SOL_SOCKET, s.SO_PEERCRED, 12)
    pid, uid, gid = struct.unpack("iii", cred)
    out["peercred"] = [pid > 0, uid, gid]
    out["acceptconn"] = [lst.getsockopt(s.SOL_SOCKET, s.SO_ACCEPTCONN),
                         a.getsockopt(s.SOL_SOCKET, s.SO_ACCEPTCONN)]
    out["type_domain"] = [a.getsockopt(s.SOL_SOCKET, s.SO_TYPE),
                          a.getsockopt(s.SOL_SOCKET, s.SO_DOMAIN)]
    lst.close()
    out["after_listener_closed"] = [attempt(c.recv, 10) for c in clients[1:]]
    a.close()
    for c in clients:
        c.close()
    try:
        seq = s.socket(s.AF_UNIX, s.SOCK_SEQPACKET)
    except OSError as exc:
        out["seqpacket"] = err(exc)
    else:
        seq.bind(b"\0usernet-seq")
        seq.listen()
        sc = s.socket(s.AF_UNIX, s.SOCK_SEQPACKET)
        sc.connect(b"\0usernet-seq")
        sa, _ = seq.accept()
        sc.send(b"abc")
        sc.send(b"defgh")
        out["seqpacket"] = [sa.recv(2), sa.recv(100)]
        sc.close()
        out["seqpacket_eof"] = sa.recv(10)
        for sock in (seq, sa):
            sock.close()
    return out


def case_unix_dgram_peers(env: Env) -> Any:
    """A datagram socket connected elsewhere takes nothing from strangers;
    a dead peer refuses once and is forgotten; socketpair's datagram ends
    likewise; credentials without a peer are the overflow ids."""
    s = env.socket
    out: dict[str, Any] = {}
    a = s.socket(s.AF_UNIX, s.SOCK_DGRAM)
    a.bind(b"\0usernet-a")
    b = s.socket(s.AF_UNIX, s.SOCK_DGRAM)
    b.bind(b"\0usernet-b")
    a.connect(b"\0usernet-b")
    stranger = s.socket(s.AF_UNIX, s.SOCK_DGRAM)
    out["stranger_to_connected"] = attempt(stranger.sendto, b"x", b"\0usernet-a")
    out["peer_to_connected"] = attempt(b.sendto, b"y", b"\0usernet-a")
    out["got"] = a.recvfrom(10)
    out["no_peer_cred"] = struct.unpack("iii", stranger.getsockopt(s.SOL_SOCKET,
                                                                   s.SO_PEERCRED, 12))
    b.close()
    out["send_to_dead_peer"] = [attempt(a.send, b"z"), attempt(a.send, b"z")]
    out["peername_after"] = attempt(a.getpeername)
    c, d = s.socketpair(s.AF_UNIX, s.SOCK_DGRAM)
    d.setblocking(False)
    c.close()
    out["pair_recv_after_close"] = attempt(d.recv, 10)
    out["pair_send_after_close"] = [attempt(d.send, b"w"), attempt(d.send, b"w")]
    for sock in (a, stranger, d):
        sock.close()
    return out


def case_unix_shutdown_and_poll(env: Env) -> Any:
    """What select() reports on a listener, a fresh stream socket and a
    connected pair through shutdowns and a close; reading after the peer
    closed with data unread."""
    s = env.socket
    out: dict[str, Any] = {}

    def ready(sock: Any) -> list[str]:
        r, w, _x = env.select.select([sock], [sock], [], 0)
        return (["r"] if r else []) + (["w"] if w else [])

    lst = s.socket(s.AF_UNIX, s.SOCK_STREAM)
    lst.bind(b"\0usernet-poll")
    lst.listen()
    fresh = s.socket(s.AF_UNIX, s.SOCK_STREAM)
    out["fresh"] = ready(fresh)
    out["listener_idle"] = ready(lst)
    c = s.socket(s.AF_UNIX, s.SOCK_STREAM)
    c.connect(b"\0usernet-poll")
    out["listener_pending"] = ready(lst)
    a, _ = lst.accept()
    out["connected"] = [ready(c), ready(a)]
    c.sendall(b"data")
    out["with_data"] = ready(a)
    a.recv(10)
    c.shutdown(s.SHUT_WR)
    out["peer_shut_wr"] = [ready(a), a.recv(10), ready(c), attempt(c.send, b"x")]
    a.shutdown(s.SHUT_RD)
    out["shut_rd"] = [ready(a), a.recv(10), attempt(a.send, b"back")]
    out["client_reads_back"] = attempt(c.recv, 10)
    a.sendall(b"unread")
    c.close()
    out["after_peer_close_unread_by_peer"] = [ready(a), attempt(a.recv, 10),
                                              attempt(a.send, b"x")]
    d = s.socket(s.AF_UNIX, s.SOCK_STREAM)
    d.connect(b"\0usernet-poll")
    e, _ = lst.accept()
    e.sendall(b"left unread")
    e.close()
    out["peer_closed_with_data_we_sent"] = [ready(d), attempt(d.recv, 100), attempt(d.recv, 10)]
    d2 = s.socket(s.AF_UNIX, s.SOCK_STREAM)
    d2.connect(b"\0usernet-poll")
    e2, _ = lst.accept()
    d2.sendall(b"never read")
    e2.close()
    out["peer_closed_leaving_our_data"] = [ready(d2), attempt(d2.recv, 10), attempt(d2.recv, 10),
                                           attempt(d2.send, b"x")]
    for sock in (lst, fresh, a, d, d2):
        sock.close()
    return out


def _slow_reader(env: Env, family: str, where: Any) -> Any:
    """Helper: two connections; read the first to EOF after a short nap,
    the second only after a long one."""
    s = env.socket
    if family == "inet":
        lst = s.socket(s.AF_INET, s.SOCK_STREAM)
        lst.bind(("", where))
    else:
        lst = s.socket(s.AF_UNIX, s.SOCK_STREAM)
        lst.bind(where)
    lst.listen()
    env.ready()
    totals = []
    for nap in (0.2, 1.0):
        a, _ = lst.accept()
        env.sleep(nap)
        total = 0
        while chunk := a.recv(65536):
            total += len(chunk)
        a.close()
        totals.append(total)
    lst.close()
    return totals


def case_blocking_stream_send_waits(env: Env) -> Any:
    """A blocking send() on a stream returns only when all of it is queued,
    however much more than the buffers it is (TCP and AF_UNIX); with a
    timeout it returns what fitted; recv(0) asks the kernel nothing."""
    s = env.socket
    out: dict[str, Any] = {}
    data = b"z" * 3_000_000
    with _tmpdir() as tmp:
        for family, where in (("inet", 10950), ("unix", os.path.join(tmp, "slow.sock"))):
            h = env.spawn(_slow_reader, family, where, netns="db")
            h.wait_ready()
            sent = []
            for timeout in (None, 0.05):
                if family == "inet":
                    c = s.create_connection((env.addr("db"), where))
                else:
                    c = s.socket(s.AF_UNIX, s.SOCK_STREAM)
                    c.connect(where)
                c.settimeout(timeout)
                sent.append(c.send(data))
                c.close()
            out[family] = [sent[0], 0 < sent[1] < len(data), h.result() == sent]
    fresh = s.socket(s.AF_INET, s.SOCK_STREAM)
    out["recv0_unconnected"] = attempt(fresh.recv, 0)
    out["recv1_unconnected"] = attempt(fresh.recv, 1)
    out["recvfrom0_unconnected"] = attempt(fresh.recvfrom, 0)
    fresh.close()
    out["recv0_closed"] = attempt(fresh.recv, 0)
    out["recv_into0_closed"] = attempt(fresh.recv_into, bytearray(0))
    return out


def _ucred(raw: bytes) -> Any:
    pid, uid, gid = struct.unpack("iii", raw)
    return ["pid" if pid > 0 else pid, uid, gid]


def case_unix_credentials(env: Env) -> Any:
    """SO_PASSCRED and SCM_CREDENTIALS: what a receiver learns of the
    sender, what it learns of a message sent before it asked, credentials a
    sender names, a stream read that stops where they change, and the room
    given for them."""
    s = env.socket
    sol, scm = s.SOL_SOCKET, s.SCM_CREDENTIALS
    out: dict[str, Any] = {}
    a, b = s.socketpair(s.AF_UNIX, s.SOCK_DGRAM)
    a.send(b"early")
    b.setsockopt(sol, s.SO_PASSCRED, 1)
    out["passcred"] = b.getsockopt(sol, s.SO_PASSCRED)
    data, anc, flags, _ = b.recvmsg(10, 64)
    out["sent_before"] = [data, [_ucred(r) for _l, _k, r in anc], flags]
    a.send(b"now")
    data, anc, flags, _ = b.recvmsg(10, 64)
    out["sent_after"] = [data, [(lvl, kind, _ucred(r)) for lvl, kind, r in anc], flags]
    for room in (0, 20):
        a.send(b"cut")
        data, anc, flags, _ = b.recvmsg(10, room)
        out[f"room_{room}"] = [data, [len(r) for _l, _k, r in anc], flags]
    a.sendmsg([b"named"], [(sol, scm, struct.pack("iii", 1, 7, 8))])
    out["named"] = _ucred(b.recvmsg(10, 64)[1][0][2])
    out["short"] = attempt(a.sendmsg, [b"x"], [(sol, scm, b"\0" * 8)])
    out["other_type"] = attempt(a.sendmsg, [b"x"], [(sol, 99, b"")])
    c, d = s.socketpair()
    d.setsockopt(sol, s.SO_PASSCRED, 1)
    c.send(b"ab")
    c.sendmsg([b"cd"], [(sol, scm, struct.pack("iii", 1, 5, 6))])
    c.send(b"ef")
    out["stream"] = []
    for _ in range(3):
        data, anc, _flags, _ = d.recvmsg(10, 64)
        out["stream"].append([data, _ucred(anc[0][2])])
    e = s.socket(s.AF_UNIX, s.SOCK_DGRAM)
    e.setsockopt(sol, s.SO_PASSCRED, 1)
    f = s.socket(s.AF_UNIX, s.SOCK_DGRAM)
    f.bind(b"\0usernet-creds")
    e.sendto(b"hi", b"\0usernet-creds")
    out["autobound_sender"] = _autobound(e.getsockname())
    out["truncated_flag"] = [b.recvmsg(2, 0)[2] if a.send(b"long") else None]
    for sock in (a, b, c, d, e, f):
        sock.close()
    return out
