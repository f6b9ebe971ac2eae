"""Cases about the module itself: names, constants, creation errors,
address parsing and family mismatches, options, getaddrinfo.
Standard library only; only ``env.socket`` is the module under test."""

from __future__ import annotations

from typing import Any

from .util import Env, attempt

SURFACE = ("AF_INET", "AF_INET6", "AF_UNIX", "AF_UNSPEC", "SOCK_STREAM", "SOCK_DGRAM",
           "SOCK_RAW", "SOCK_NONBLOCK", "SOCK_CLOEXEC", "SOL_SOCKET", "SO_REUSEADDR",
           "SO_REUSEPORT", "SO_BROADCAST", "SO_ERROR", "SO_LINGER", "SO_KEEPALIVE",
           "SO_RCVBUF", "SO_SNDBUF", "SO_TYPE", "IPPROTO_TCP", "IPPROTO_UDP", "IPPROTO_IP",
           "TCP_NODELAY", "IP_TTL", "MSG_PEEK", "MSG_DONTWAIT", "MSG_OOB", "SHUT_RD",
           "SHUT_WR", "SHUT_RDWR", "AI_PASSIVE", "AI_NUMERICHOST", "AI_CANONNAME",
           "NI_NUMERICHOST", "NI_NUMERICSERV", "INADDR_ANY", "SOMAXCONN", "EAI_NONAME")
FUNCTIONS = ("socket", "create_connection", "create_server", "getaddrinfo", "getnameinfo",
             "gethostname", "gethostbyname", "getfqdn", "socketpair", "fromfd",
             "getdefaulttimeout", "setdefaulttimeout", "inet_aton", "inet_ntoa",
             "inet_pton", "inet_ntop", "htons", "ntohs", "htonl", "ntohl")


def case_module_surface(env: Env) -> Any:
    """Constants the stdlib defines, with the same values and enum names;
    error classes; the functions programs call."""
    s = env.socket
    out: dict[str, Any] = {}
    out["constants"] = {n: getattr(s, n, "<missing>") for n in SURFACE}
    out["functions"] = [n for n in FUNCTIONS if not callable(getattr(s, n, None))]
    out["errors"] = {"error": getattr(s, "error", None) is OSError,
                     "timeout": getattr(s, "timeout", None) is TimeoutError,
                     "gaierror": issubclass(s.gaierror, OSError),
                     "herror": issubclass(s.herror, OSError)}
    out["pure"] = [s.inet_aton("10.9.0.1"), s.inet_ntoa(b"\n\t\x00\x02"),
                   s.inet_pton(s.AF_INET, "1.2.3.4"), s.htons(1), s.ntohl(1)]
    sock = s.socket()
    out["default_socket"] = [sock.family, sock.type, sock.proto]
    out["fileno_positive"] = sock.fileno() >= 0
    sock.close()
    return out


def case_socket_create_errors(env: Env) -> Any:
    """socket(): protocol, type and family mismatches."""
    s = env.socket
    out = {}
    for label, args in (("stream_udp", (s.AF_INET, s.SOCK_STREAM, s.IPPROTO_UDP)),
                        ("dgram_tcp", (s.AF_INET, s.SOCK_DGRAM, s.IPPROTO_TCP)),
                        ("bad_family", (12345, s.SOCK_STREAM)),
                        ("bad_type", (s.AF_INET, 99)),
                        ("seqpacket_inet", (s.AF_INET, s.SOCK_SEQPACKET)),
                        ("stream_explicit_tcp", (s.AF_INET, s.SOCK_STREAM, s.IPPROTO_TCP)),
                        ("dgram_explicit_udp", (s.AF_INET, s.SOCK_DGRAM, s.IPPROTO_UDP))):
        res = attempt(s.socket, *args)
        if "ok" in res:
            sock = res["ok"]
            res = {"ok": [sock.family, sock.type, sock.proto]}
            sock.close()
        out[label] = res
    nb = s.socket(s.AF_INET, s.SOCK_DGRAM | s.SOCK_NONBLOCK)
    out["sock_nonblock"] = [nb.type, nb.gettimeout(), attempt(nb.recv, 1)]
    nb.close()
    return out


def case_closed_socket(env: Env) -> Any:
    """Operations on a closed socket: EBADF; close twice is fine."""
    s = env.socket
    sock = s.socket(s.AF_INET, s.SOCK_DGRAM)
    sock.close()
    out = {"fileno": sock.fileno(), "send": attempt(sock.sendto, b"x", ("127.0.0.1", 9)),
           "recv": attempt(sock.recv, 1), "bind": attempt(sock.bind, ("", 0)),
           "getsockname": attempt(sock.getsockname),
           "close_again": attempt(sock.close), "repr_closed": "[closed]" in repr(sock)}
    with s.socket(s.AF_INET, s.SOCK_STREAM) as t:
        pass
    out["context_manager_closes"] = t.fileno()
    return out


def case_address_family_mismatch(env: Env) -> Any:
    """Addresses that do not fit the socket's family or form."""
    s = env.socket
    out: dict[str, Any] = {}
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    out["v6_literal"] = attempt(u.sendto, b"x", ("::1", 9))
    out["four_tuple"] = attempt(u.sendto, b"x", ("127.0.0.1", 9, 0, 0))
    out["bare_string"] = attempt(u.sendto, b"x", "127.0.0.1")
    out["port_str"] = attempt(u.sendto, b"x", ("127.0.0.1", "9"))
    out["port_negative"] = attempt(u.sendto, b"x", ("127.0.0.1", -1))
    out["port_too_big"] = attempt(u.sendto, b"x", ("127.0.0.1", 65536))
    out["host_none"] = attempt(u.sendto, b"x", (None, 9))
    out["host_int"] = attempt(u.sendto, b"x", (2130706433, 9))
    out["empty_host_bind"] = attempt(u.bind, ("", 0))
    out["data_str"] = attempt(u.sendto, "text", ("127.0.0.1", 9))
    u.close()
    t = s.socket(s.AF_INET, s.SOCK_STREAM)
    out["tcp_connect_v6"] = attempt(t.connect, ("::1", 9))
    out["tcp_bind_broadcast_name"] = attempt(t.bind, ("<broadcast>", 0))
    out["tcp_connect_tuple_1"] = attempt(t.connect, ("127.0.0.1",))
    t.close()
    return out


def case_ipv6_socket(env: Env) -> Any:
    """AF_INET6: a socket can be made; an IPv4 literal is not an IPv6 address."""
    s = env.socket
    res = attempt(s.socket, s.AF_INET6, s.SOCK_DGRAM)
    out: dict[str, Any] = {"has_ipv6": s.has_ipv6, "create": "ok" if "ok" in res else res}
    if "ok" in res:
        u = res["ok"]
        out["sendto_v4"] = attempt(u.sendto, b"x", ("127.0.0.1", 9))
        out["bind_v6_lo"] = attempt(u.bind, ("::1", 0))
        out["name"] = u.getsockname()[:1]
        u.close()
    return out


def _sockopts(env: Env, typ: int) -> Any:
    """Option values of a fresh socket, and of settings made."""
    s = env.socket
    sock = s.socket(s.AF_INET, typ)
    g = sock.getsockopt
    vals = {"type": g(s.SOL_SOCKET, s.SO_TYPE), "protocol": g(s.SOL_SOCKET, s.SO_PROTOCOL),
            "domain": g(s.SOL_SOCKET, s.SO_DOMAIN), "error": g(s.SOL_SOCKET, s.SO_ERROR),
            "reuseaddr": g(s.SOL_SOCKET, s.SO_REUSEADDR),
            "keepalive": g(s.SOL_SOCKET, s.SO_KEEPALIVE),
            "acceptconn": g(s.SOL_SOCKET, s.SO_ACCEPTCONN),
            "ttl": g(s.IPPROTO_IP, s.IP_TTL), "tos": g(s.IPPROTO_IP, s.IP_TOS),
            "linger": g(s.SOL_SOCKET, s.SO_LINGER, 8)}
    sock.setsockopt(s.SOL_SOCKET, s.SO_REUSEADDR, 5)
    vals["reuseaddr_set"] = g(s.SOL_SOCKET, s.SO_REUSEADDR)
    sock.setsockopt(s.IPPROTO_IP, s.IP_TTL, 7)
    vals["ttl_set"] = g(s.IPPROTO_IP, s.IP_TTL)
    vals["ttl_bad"] = attempt(sock.setsockopt, s.IPPROTO_IP, s.IP_TTL, 256)
    vals["unknown"] = attempt(g, s.SOL_SOCKET, 9999)
    if typ == s.SOCK_STREAM:
        vals["nodelay"] = g(s.IPPROTO_TCP, s.TCP_NODELAY)
        sock.setsockopt(s.IPPROTO_TCP, s.TCP_NODELAY, 1)
        vals["nodelay_set"] = g(s.IPPROTO_TCP, s.TCP_NODELAY)
        vals["maxseg"] = g(s.IPPROTO_TCP, s.TCP_MAXSEG)
        sock.listen()
        vals["acceptconn_listening"] = g(s.SOL_SOCKET, s.SO_ACCEPTCONN)
    else:
        vals["tcp_level"] = attempt(g, s.IPPROTO_TCP, s.TCP_NODELAY)
    sock.close()
    return vals


def case_sockopt_defaults_udp(env: Env) -> Any:
    return _sockopts(env, env.socket.SOCK_DGRAM)


def case_sockopt_defaults_tcp(env: Env) -> Any:
    return _sockopts(env, env.socket.SOCK_STREAM)


def case_default_timeout(env: Env) -> Any:
    """setdefaulttimeout applies to sockets made afterwards."""
    s = env.socket
    out: dict[str, Any] = {"initial": s.getdefaulttimeout()}
    s.setdefaulttimeout(0.25)
    try:
        u = s.socket(s.AF_INET, s.SOCK_DGRAM)
        out["new_socket"] = [u.gettimeout(), u.getblocking()]
        u.bind(("", 0))
        out["recv"] = attempt(u.recv, 1)
        u.close()
    finally:
        s.setdefaulttimeout(None)
    v = s.socket(s.AF_INET, s.SOCK_DGRAM)
    out["after_reset"] = v.gettimeout()
    v.close()
    out["negative"] = attempt(s.setdefaulttimeout, -1)
    return out


def case_getaddrinfo(env: Env) -> Any:
    """getaddrinfo for numeric hosts, localhost and None, and its errors;
    gethostbyname and getnameinfo for numeric forms.  (Only AF_INET answers
    for localhost: whether ::1 is listed depends on the host's hosts file.)"""
    s = env.socket
    g = s.getaddrinfo
    out = {
        "numeric_stream": attempt(g, "10.9.0.2", 80, s.AF_INET, s.SOCK_STREAM),
        "numeric_any_type": attempt(g, "10.9.0.2", 80),
        "numeric_udp_proto": attempt(g, "10.9.0.2", 53, 0, 0, s.IPPROTO_UDP),
        "port_str": attempt(g, "10.9.0.2", "8080", s.AF_INET, s.SOCK_DGRAM),
        "port_none": attempt(g, "10.9.0.2", None, s.AF_INET, s.SOCK_STREAM),
        "localhost": attempt(g, "localhost", 80, s.AF_INET, s.SOCK_STREAM),
        "localhost_any_type": attempt(g, "localhost", 0, s.AF_INET),
        "none_passive": attempt(g, None, 80, s.AF_INET, s.SOCK_STREAM, 0, s.AI_PASSIVE),
        "none_active": attempt(g, None, 80, s.AF_INET, s.SOCK_STREAM),
        "canonname": attempt(g, "10.9.0.2", 80, s.AF_INET, s.SOCK_STREAM, 0,
                             s.AI_CANONNAME),
        "numerichost_name": attempt(g, "localhost", 80, s.AF_INET, 0, 0, s.AI_NUMERICHOST),
        "v6_literal_inet": attempt(g, "::1", 80, s.AF_INET),
        "empty_host": attempt(g, "", 80, s.AF_INET),
        "both_none": attempt(g, None, None),
        "bad_port": attempt(g, "10.9.0.2", 70000, s.AF_INET, s.SOCK_STREAM),
        "bytes_host": attempt(g, b"10.9.0.2", 80, s.AF_INET, s.SOCK_STREAM),
        "gethostbyname_numeric": attempt(s.gethostbyname, "10.9.0.2"),
        "gethostbyname_localhost": attempt(s.gethostbyname, "localhost"),
        "getnameinfo_numeric": attempt(s.getnameinfo, ("10.9.0.2", 80),
                                       s.NI_NUMERICHOST | s.NI_NUMERICSERV),
    }
    return out


def case_socketpair(env: Env) -> Any:
    """socketpair(): AF_UNIX stream pair (asyncio's self-pipe)."""
    s = env.socket
    a, b = s.socketpair()
    out: dict[str, Any] = {"family": a.family, "type": a.type}
    a.sendall(b"ping")
    out["got"] = b.recv(10)
    b.setblocking(False)
    out["empty"] = attempt(b.recv, 10)
    a.shutdown(s.SHUT_WR)
    out["eof"] = b.recv(10)
    b.sendall(b"back")
    out["back"] = a.recv(10)
    b.close()
    out["after_peer_close"] = a.recv(10)
    out["send_after_peer_close"] = attempt(a.send, b"x")
    a.close()
    c, d = s.socketpair(s.AF_UNIX, s.SOCK_DGRAM)
    c.send(b"one")
    c.send(b"two")
    out["dgram"] = [d.recv(2), d.recv(10)]
    c.close()
    d.close()
    return out
