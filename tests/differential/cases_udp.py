"""UDP cases.  Each runs in namespace ``da`` (10.9.0.1) of the topology,
with ``db`` (10.9.0.2) on the other end of a veth unless it says otherwise.
Standard library only; only ``env.socket`` is the module under test."""

from __future__ import annotations

import itertools
import struct
from typing import Any

from .util import Env, attempt, case, code, name_form

IP_FREEBIND = 15  # linux/in.h; Python 3.11's socket module does not export it


def case_udp_connected_port_unreachable(env: Env) -> Any:
    """ICMP port unreachable on a connected socket: ECONNREFUSED once, from
    recv, send or SO_ERROR, whichever comes first."""
    s = env.socket
    out: dict[str, Any] = {}
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    u.settimeout(0.3)
    u.connect((env.addr("db"), 9))
    out["send"] = u.send(b"ping")
    env.sleep(0.1)
    out["recv"] = attempt(u.recv, 100)
    out["recv_again"] = attempt(u.recv, 100)
    out["send_again"] = attempt(u.send, b"ping")
    env.sleep(0.1)
    out["send_after_icmp"] = attempt(u.send, b"ping")
    out["send_next"] = attempt(u.send, b"ping")
    env.sleep(0.1)
    out["so_error"] = code(u.getsockopt(s.SOL_SOCKET, s.SO_ERROR))
    out["so_error_again"] = code(u.getsockopt(s.SOL_SOCKET, s.SO_ERROR))
    u.close()
    return out


def case_udp_unconnected_port_unreachable(env: Env) -> Any:
    """An unconnected socket hears nothing of ICMP errors (no IP_RECVERR)."""
    s = env.socket
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    u.settimeout(0.3)
    out = {"sendto": u.sendto(b"ping", (env.addr("db"), 9))}
    env.sleep(0.1)
    out["recvfrom"] = attempt(u.recvfrom, 100)
    out["sendto_again"] = attempt(u.sendto, b"ping", (env.addr("db"), 9))
    out["so_error"] = code(u.getsockopt(s.SOL_SOCKET, s.SO_ERROR))
    u.close()
    return out


def case_udp_loopback_port_unreachable(env: Env) -> Any:
    """The same over lo, to our own address and to 127.0.0.1."""
    s = env.socket
    out = {}
    for dst in ("127.0.0.1", env.addr("da")):
        u = s.socket(s.AF_INET, s.SOCK_DGRAM)
        u.settimeout(0.3)
        u.connect((dst, 9))
        u.send(b"x")
        env.sleep(0.05)
        out[dst] = [attempt(u.recv, 10), attempt(u.recv, 10)]
        u.close()
    return out


def case_udp_broadcast(env: Env) -> Any:
    """SO_BROADCAST: EACCES without it; a directed broadcast reaches a wildcard
    receiver on the link; 255.255.255.255 needs a route (there is none)."""
    s = env.socket
    out: dict[str, Any] = {}
    with env.netns("db"):
        r = s.socket(s.AF_INET, s.SOCK_DGRAM)
    r.bind(("", 5000))
    r.settimeout(1.0)
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    out["default"] = u.getsockopt(s.SOL_SOCKET, s.SO_BROADCAST)
    out["subnet_denied"] = attempt(u.sendto, b"x", ("10.9.0.255", 5000))
    out["limited_denied"] = attempt(u.sendto, b"x", ("255.255.255.255", 5000))
    u.setsockopt(s.SOL_SOCKET, s.SO_BROADCAST, 1)
    out["set"] = u.getsockopt(s.SOL_SOCKET, s.SO_BROADCAST)
    out["subnet"] = attempt(u.sendto, b"hello", ("10.9.0.255", 5000))
    data, src = r.recvfrom(100)
    out["received"] = [data, src[0]]
    out["limited"] = attempt(u.sendto, b"x", ("255.255.255.255", 5000))
    c = s.socket(s.AF_INET, s.SOCK_DGRAM)
    out["connect_broadcast_denied"] = attempt(c.connect, ("10.9.0.255", 5000))
    c.setsockopt(s.SOL_SOCKET, s.SO_BROADCAST, 1)
    out["connect_broadcast"] = attempt(c.connect, ("10.9.0.255", 5000))
    for sock in (r, u, c):
        sock.close()
    return out


def case_udp_bind_addresses(env: Env) -> Any:
    """bind: only local, broadcast and multicast addresses (EADDRNOTAVAIL
    otherwise) unless IP_FREEBIND; a second bind is EINVAL."""
    s = env.socket
    out: dict[str, Any] = {}

    def bound(sock: Any, addr: str) -> Any:
        sock.bind((addr, 0))
        return sock.getsockname()[0]

    for addr in ("10.9.0.1", "127.0.0.1", "127.0.0.2", "10.9.0.2", "10.9.0.255", "10.9.0.0",
                 "224.0.0.1", "255.255.255.255", "0.0.0.0", "192.0.2.1"):
        u = s.socket(s.AF_INET, s.SOCK_DGRAM)
        out[addr] = attempt(bound, u, addr)
        u.close()
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    u.setsockopt(s.IPPROTO_IP, IP_FREEBIND, 1)
    out["freebind"] = attempt(bound, u, "192.0.2.1")
    out["second_bind"] = attempt(u.bind, ("10.9.0.1", 0))
    u.close()
    t = s.socket(s.AF_INET, s.SOCK_STREAM)
    out["tcp_nonlocal"] = attempt(t.bind, ("10.9.0.2", 0))
    t.close()
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    out["port_too_big"] = attempt(u.bind, ("10.9.0.1", 70000))
    out["bad_address"] = attempt(u.bind, ("10.9.0.300", 1))
    u.close()
    return out


@case(topology="narrow_ports")
def case_udp_ephemeral_port_range(env: Env) -> Any:
    """ip_local_port_range = 40000 40001 in da: bind(0) takes one of the two,
    then EADDRINUSE; an implicit bind on sendto says EAGAIN."""
    s = env.socket
    out: dict[str, Any] = {}
    socks = []
    ports = []
    for i in range(3):
        u = s.socket(s.AF_INET, s.SOCK_DGRAM)
        res = attempt(u.bind, ("", 0))
        if "ok" in res:
            ports.append(u.getsockname()[1])
        else:
            out[f"bind{i}"] = res
        socks.append(u)
    out["ports"] = sorted(ports)
    v = s.socket(s.AF_INET, s.SOCK_DGRAM)
    out["autobind_exhausted"] = attempt(v.sendto, b"x", (env.addr("db"), 9))
    socks[0].close()
    out["autobind_after_close"] = attempt(v.sendto, b"x", (env.addr("db"), 9))
    out["autobound_port"] = v.getsockname()[1] == ports[0]
    w = s.socket(s.AF_INET, s.SOCK_DGRAM)
    out["explicit_port_outside_range"] = attempt(w.bind, ("", 5000))
    for sock in [*socks, v, w]:
        sock.close()
    return out


def case_udp_reuse_rules(env: Env) -> Any:
    """Two UDP binds to one port: SO_REUSEADDR on both, SO_REUSEPORT on both,
    or distinct specific addresses; wildcard and specific conflict."""
    s = env.socket
    A = env.addr("da")
    RA, RP = s.SO_REUSEADDR, s.SO_REUSEPORT
    scenarios: list[tuple[str, tuple[int, ...], str, tuple[int, ...], str]] = [
        ("plain", (), "", (), ""),
        ("reuseaddr_both", (RA,), "", (RA,), ""),
        ("reuseaddr_second_only", (), "", (RA,), ""),
        ("reuseaddr_first_only", (RA,), "", (), ""),
        ("reuseport_both", (RP,), "", (RP,), ""),
        ("reuseport_second_only", (), "", (RP,), ""),
        ("specific_then_wildcard", (), A, (), ""),
        ("wildcard_then_specific", (), "", (), A),
        ("two_specific", (), "127.0.0.1", (), A),
        ("reuseaddr_wildcard_specific", (RA,), "", (RA,), A),
    ]
    out: dict[str, Any] = {}
    for i, (label, o1, a1, o2, a2) in enumerate(scenarios):
        port = 6000 + i
        first = s.socket(s.AF_INET, s.SOCK_DGRAM)
        second = s.socket(s.AF_INET, s.SOCK_DGRAM)
        for opt in o1:
            first.setsockopt(s.SOL_SOCKET, opt, 1)
        for opt in o2:
            second.setsockopt(s.SOL_SOCKET, opt, 1)
        first.bind((a1, port))
        out[label] = attempt(second.bind, (a2, port))
        first.close()
        second.close()
    return out


def case_udp_reuseaddr_delivery(env: Env) -> Any:
    """Which of two sockets sharing a port gets a datagram: the one bound to
    the destination address beats the wildcard."""
    s = env.socket
    A = env.addr("da")
    wild = s.socket(s.AF_INET, s.SOCK_DGRAM)
    spec = s.socket(s.AF_INET, s.SOCK_DGRAM)
    for sock in (wild, spec):
        sock.setsockopt(s.SOL_SOCKET, s.SO_REUSEADDR, 1)
        sock.setblocking(False)
    wild.bind(("", 6100))
    spec.bind((A, 6100))
    with env.netns("db"):
        tx = s.socket(s.AF_INET, s.SOCK_DGRAM)
    tx.sendto(b"to-A", (A, 6100))
    lo = s.socket(s.AF_INET, s.SOCK_DGRAM)
    lo.sendto(b"to-lo", ("127.0.0.1", 6100))
    env.sleep(0.1)
    out = {"wild": [attempt(wild.recv, 100), attempt(wild.recv, 100)],
           "spec": [attempt(spec.recv, 100), attempt(spec.recv, 100)]}
    for sock in (wild, spec, tx, lo):
        sock.close()
    return out


def case_udp_no_route(env: Env) -> Any:
    """No route to 10.99.0.1 from da: ENETUNREACH from sendto and connect."""
    s = env.socket
    out = {}
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    out["sendto"] = attempt(u.sendto, b"x", ("10.99.0.1", 9))
    out["connect"] = attempt(u.connect, ("10.99.0.1", 9))
    out["name_after"] = name_form(u.getsockname())
    t = s.socket(s.AF_INET, s.SOCK_STREAM)
    out["tcp_connect"] = attempt(t.connect, ("10.99.0.1", 9))
    out["tcp_connect_ex"] = code(t.connect_ex(("10.99.0.1", 9)))
    u.close()
    t.close()
    return out


@case(timeout=30.0)
def case_udp_connected_host_unreachable(env: Env) -> Any:
    """A connected socket towards an address on the link that never answers
    ARP: once resolution fails (3 probes, 1 s apart) the local ICMP host
    unreachable reaches the socket as EHOSTUNREACH."""
    s = env.socket
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    u.connect(("10.9.0.77", 9))
    out: dict[str, Any] = {"send": u.send(b"x")}
    u.settimeout(0.5)
    out["recv_early"] = attempt(u.recv, 10)
    env.sleep(4.0)
    out["recv"] = attempt(u.recv, 10)
    out["recv_again"] = attempt(u.recv, 10)
    u.close()
    return out


def case_udp_timeouts(env: Env) -> Any:
    """settimeout/gettimeout/setblocking and what recv raises for each."""
    s = env.socket
    out: dict[str, Any] = {}
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    u.bind(("", 0))
    out["default"] = [u.gettimeout(), u.getblocking()]
    u.settimeout(0.2)
    out["set"] = [u.gettimeout(), u.getblocking()]
    out["recv"] = attempt(u.recv, 10)
    out["recvfrom"] = attempt(u.recvfrom, 10)
    u.settimeout(0.0)
    out["zero"] = [u.gettimeout(), u.getblocking()]
    out["recv_nonblocking"] = attempt(u.recv, 10)
    u.setblocking(True)
    out["blocking"] = [u.gettimeout(), u.getblocking()]
    u.setblocking(False)
    out["nonblocking"] = [u.gettimeout(), u.getblocking()]
    out["recvfrom_nonblocking"] = attempt(u.recvfrom, 10)
    out["negative"] = attempt(u.settimeout, -1)
    u.settimeout(None)
    out["none"] = [u.gettimeout(), u.getblocking()]
    u.close()
    return out


def case_udp_peek_dontwait(env: Env) -> Any:
    """MSG_PEEK leaves the datagram; a short read truncates and drops the
    rest; an empty datagram reads as b""; MSG_DONTWAIT on a blocking socket."""
    s = env.socket
    A = env.addr("da")
    rx = s.socket(s.AF_INET, s.SOCK_DGRAM)
    rx.bind(("", 7000))
    rx.settimeout(1.0)
    with env.netns("db"):
        tx = s.socket(s.AF_INET, s.SOCK_DGRAM)
    for msg in (b"hello", b"world!", b""):
        tx.sendto(msg, (A, 7000))
    env.sleep(0.1)
    out: dict[str, Any] = {}
    out["peek"] = rx.recv(100, s.MSG_PEEK)
    data, src = rx.recvfrom(2, s.MSG_PEEK)
    out["peek_short"] = [data, name_form(src)]
    out["read"] = rx.recv(100)
    out["truncated"] = rx.recv(3)
    data, src = rx.recvfrom(100)
    out["empty"] = [data, name_form(src)]
    out["dontwait"] = attempt(rx.recv, 100, s.MSG_DONTWAIT)
    out["timeout_kept"] = rx.gettimeout()
    tx.sendto(b"again", (A, 7000))
    env.sleep(0.1)
    out["dontwait_data"] = attempt(rx.recv, 100, s.MSG_DONTWAIT)
    rx.close()
    tx.close()
    return out


def case_udp_recv_into(env: Env) -> Any:
    """recv_into / recvfrom_into with a short buffer and an explicit nbytes."""
    s = env.socket
    A = env.addr("da")
    rx = s.socket(s.AF_INET, s.SOCK_DGRAM)
    rx.bind(("", 7100))
    tx = s.socket(s.AF_INET, s.SOCK_DGRAM)
    for msg in (b"abcdef", b"ghijkl", b"mn"):
        tx.sendto(msg, (A, 7100))
    env.sleep(0.1)
    buf = bytearray(4)
    n = rx.recv_into(buf)
    out: dict[str, Any] = {"recv_into": [n, bytes(buf)]}
    buf = bytearray(10)
    n, src = rx.recvfrom_into(buf, 3)
    out["recvfrom_into"] = [n, bytes(buf), name_form(src)]
    buf = bytearray(2)
    out["nbytes_too_big"] = attempt(rx.recv_into, buf, 5)
    out["left"] = rx.recv(100)
    rx.close()
    tx.close()
    return out


def case_udp_names(env: Env) -> Any:
    """getsockname/getpeername before and after bind, connect and sendto;
    recvfrom's address form; connecting to 0.0.0.0 means loopback."""
    s = env.socket
    B = env.addr("db")
    out: dict[str, Any] = {}
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    out["unbound"] = u.getsockname()
    out["peer_unconnected"] = attempt(u.getpeername)
    u.connect((B, 9))
    out["connected"] = name_form(u.getsockname())
    out["peer"] = u.getpeername()
    u.close()
    v = s.socket(s.AF_INET, s.SOCK_DGRAM)
    v.sendto(b"x", (B, 9))
    out["after_sendto"] = name_form(v.getsockname())
    out["peer_after_sendto"] = attempt(v.getpeername)
    v.close()
    w = s.socket(s.AF_INET, s.SOCK_DGRAM)
    w.bind(("127.0.0.1", 0))
    out["bound_lo"] = name_form(w.getsockname())
    out["lo_to_remote"] = attempt(w.connect, (B, 9))
    w.close()
    z = s.socket(s.AF_INET, s.SOCK_DGRAM)
    z.connect(("0.0.0.0", 9))
    out["zero_peer"] = z.getpeername()
    out["zero_name"] = name_form(z.getsockname())
    z.close()
    rx = s.socket(s.AF_INET, s.SOCK_DGRAM)
    rx.bind(("", 7200))
    with env.netns("db"):
        tx = s.socket(s.AF_INET, s.SOCK_DGRAM)
    tx.bind(("", 7201))
    tx.sendto(b"hi", (env.addr("da"), 7200))
    rx.settimeout(1.0)
    out["recvfrom"] = rx.recvfrom(10)
    rx.close()
    tx.close()
    return out


def case_udp_send_size_limits(env: Env) -> Any:
    """The largest datagram (65507 bytes) goes, one more is EMSGSIZE; a
    connected send to an unconnected socket's peer is EDESTADDRREQ."""
    s = env.socket
    out = {}
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    out["max"] = attempt(u.sendto, b"x" * 65507, (env.addr("db"), 9))
    out["too_big"] = attempt(u.sendto, b"x" * 65508, (env.addr("db"), 9))
    out["send_unconnected"] = attempt(u.send, b"x")
    u.close()
    return out


def _udp_echo(env: Env, port: int) -> Any:
    """Helper: answer one datagram with its upper-case, after a short wait."""
    s = env.socket
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    u.bind(("", port))
    env.ready()
    data, src = u.recvfrom(100)
    env.sleep(0.2)
    u.sendto(data.upper(), src)
    u.close()
    return data


def case_udp_blocking_recv_across_processes(env: Env) -> Any:
    """A blocking recvfrom waits for another process's reply."""
    s = env.socket
    h = env.spawn(_udp_echo, 7300, netns="db")
    ready = h.wait_ready()
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    u.settimeout(5.0)
    u.sendto(b"hello", (env.addr("db"), 7300))
    data, src = u.recvfrom(100)
    u.close()
    return {"ready": ready, "reply": data, "from": src, "helper": h.result()}


@case(topology="routed")
def case_udp_errors_through_router(env: Env) -> Any:
    """Through router r: port unreachable from dc is ECONNREFUSED; r's net
    unreachable is a soft error a connected UDP socket does not report."""
    s = env.socket
    out = {}
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    u.settimeout(0.3)
    u.connect((env.addr("dc"), 9))
    u.send(b"x")
    env.sleep(0.1)
    out["port_unreachable"] = attempt(u.recv, 10)
    u.close()
    v = s.socket(s.AF_INET, s.SOCK_DGRAM)
    v.settimeout(0.3)
    v.connect(("10.99.0.1", 9))
    v.send(b"x")
    env.sleep(0.1)
    out["net_unreachable"] = attempt(v.recv, 10)
    out["so_error"] = code(v.getsockopt(s.SOL_SOCKET, s.SO_ERROR))
    v.close()
    return out


def case_udp_rcvbuf_overflow(env: Env) -> Any:
    """SO_RCVBUF is doubled; datagrams beyond the receive buffer are dropped
    (how many fit follows the kernel's per-skb truesize accounting)."""
    s = env.socket
    rx = s.socket(s.AF_INET, s.SOCK_DGRAM)
    rx.setsockopt(s.SOL_SOCKET, s.SO_RCVBUF, 4096)
    out: dict[str, Any] = {"rcvbuf": rx.getsockopt(s.SOL_SOCKET, s.SO_RCVBUF)}
    rx.setsockopt(s.SOL_SOCKET, s.SO_RCVBUF, 1)
    out["rcvbuf_min"] = rx.getsockopt(s.SOL_SOCKET, s.SO_RCVBUF)
    rx.setsockopt(s.SOL_SOCKET, s.SO_RCVBUF, 4096)
    rx.bind(("", 7400))
    rx.setblocking(False)
    with env.netns("db"):
        tx = s.socket(s.AF_INET, s.SOCK_DGRAM)
    for i in range(40):
        tx.sendto(b"%03d" % i + b"." * 97, (env.addr("da"), 7400))
        if i % 10 == 9:
            env.sleep(0.05)
    env.sleep(0.1)
    got = []
    while True:
        try:
            got.append(rx.recv(200)[:3])
        except BlockingIOError:
            break
    out["received"] = got
    rx.close()
    tx.close()
    return out


def case_udp_recverr_errqueue(env: Env) -> Any:
    """IP_RECVERR: an unconnected socket hears ICMP errors too; the report
    waits in the error queue for recvmsg(MSG_ERRQUEUE)."""
    s = env.socket
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    u.setsockopt(s.IPPROTO_IP, 11, 1)  # IP_RECVERR
    u.settimeout(0.3)
    u.sendto(b"payload", (env.addr("db"), 9))
    env.sleep(0.1)
    out: dict[str, Any] = {"recv": attempt(u.recvfrom, 100)}
    res = attempt(u.recvmsg, 100, 1024, s.MSG_ERRQUEUE)
    if "ok" in res:
        data, anc, flags, addr = res["ok"]
        cmsgs = []
        for level, typ, raw in anc:
            # struct sock_extended_err: errno, origin, type, code, pad, info, data
            ee_errno, origin, itype, icode = struct.unpack_from("=IBBB", raw)
            offender = s.inet_ntoa(raw[20:24]) if len(raw) >= 24 else None
            cmsgs.append([level, typ, code(ee_errno), origin, itype, icode, offender])
        res = {"data": data, "cmsgs": cmsgs, "flags": flags, "addr": name_form(addr)}
    out["errqueue"] = res
    out["errqueue_again"] = attempt(u.recvmsg, 100, 1024, s.MSG_ERRQUEUE)
    out["recv_after"] = attempt(u.recvfrom, 100)
    u.close()
    return out


IP_MTU_DISCOVER, IP_PMTUDISC_DO = 10, 2  # linux/in.h; not exported by Python 3.11


def _ids(raw: Any, n: int, port: int) -> list[tuple[int, bool]]:
    """(IP ID, DF) of the next ``n`` UDP packets to ``port`` a raw socket sees."""
    out: list[tuple[int, bool]] = []
    while len(out) < n:
        pkt = raw.recv(2048)
        ihl = (pkt[0] & 15) * 4
        if struct.unpack_from("!H", pkt, ihl + 2)[0] == port:
            ident, frag = struct.unpack_from("!HH", pkt, 4)
            out.append((ident, bool(frag & 0x4000)))
    return out


def _id_kind(seen: list[tuple[int, bool]]) -> dict[str, Any]:
    """How a run of IDs was numbered: all zero, one apart each, or jumping."""
    ids = [i for i, _ in seen]
    steps = [(b - a) & 0xFFFF for a, b in itertools.pairwise(ids)]
    kind = ("zero" if not any(ids) else "consecutive" if all(s == 1 for s in steps)
            else "jumps" if all(0 < s < 5000 for s in steps) else f"other {ids}")
    return {"kind": kind, "df": sorted({df for _, df in seen})}


def case_udp_ip_ids(env: Env) -> Any:
    """ip_select_ident: a connected socket numbers its datagrams one by one
    (from a random start); an unconnected one takes the hashed generator,
    which jumps ahead with the time passed (DF set, but ignorable under
    IP_PMTUDISC_WANT); with IP_PMTUDISC_DO the ID is 0."""
    s = env.socket
    with env.netns("db"):
        raw = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_UDP)
        sinks = [s.socket(s.AF_INET, s.SOCK_DGRAM) for _ in range(4)]
    for port, sink in enumerate(sinks, 7301):  # no port unreachable comes back
        sink.bind(("", port))
    raw.settimeout(5)
    out: dict[str, Any] = {}
    connected = s.socket(s.AF_INET, s.SOCK_DGRAM)
    connected.connect((env.addr("db"), 7301))
    plain = s.socket(s.AF_INET, s.SOCK_DGRAM)
    strict = s.socket(s.AF_INET, s.SOCK_DGRAM)
    strict.setsockopt(s.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    for label, send, port in (
            ("connected", lambda: connected.send(b"c"), 7301),
            ("connected_sendto", lambda: connected.sendto(b"c", (env.addr("db"), 7304)), 7304),
            ("unconnected", lambda: plain.sendto(b"u", (env.addr("db"), 7302)), 7302),
            ("pmtudisc_do", lambda: strict.sendto(b"d", (env.addr("db"), 7303)), 7303)):
        for _ in range(4):
            send()
            env.sleep(0.3)  # 75 jiffies: the hashed generator jumps by up to that
        out[label] = _id_kind(_ids(raw, 4, port))
    for sock in (raw, connected, plain, strict, *sinks):
        sock.close()
    return out
