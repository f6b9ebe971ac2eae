"""Socket workloads shared by bench/sockets.py's two sides.

Each function takes a ``socket`` module -- CPython's, run in a real
namespace, or ``usernet.socket``, run in an emulated one -- so the very
same Python code is measured on both.  They return what they counted and
the (wall or virtual) seconds their own clock saw.
"""

from __future__ import annotations

import resource
import time
from types import ModuleType
from typing import Any

PAYLOAD_64 = b"u" * 64
CHUNK = 1 << 16


def udp_sink(sm: ModuleType, port: int, n: int, idle_s: float = 2.0) -> dict[str, Any]:
    """Receive until ``n`` datagrams arrived or none came for ``idle_s``."""
    s = sm.socket(sm.AF_INET, sm.SOCK_DGRAM)
    s.setsockopt(sm.SOL_SOCKET, sm.SO_RCVBUF, 1 << 22)
    s.bind(("0.0.0.0", port))
    s.settimeout(idle_s)
    got = 0
    t0 = None
    try:
        while got < n:
            s.recv(2048)
            if t0 is None:
                t0 = time.perf_counter()
            got += 1
    except TimeoutError:
        pass
    t1 = time.perf_counter()
    s.close()
    return {"received": got, "seconds": (t1 - t0) if t0 else 0.0}


def udp_blast(sm: ModuleType, host: str, port: int, n: int) -> dict[str, Any]:
    s = sm.socket(sm.AF_INET, sm.SOCK_DGRAM)
    s.connect((host, port))
    send = s.send
    t0 = time.perf_counter()
    for _ in range(n):
        send(PAYLOAD_64)
    t1 = time.perf_counter()
    s.close()
    return {"sent": n, "seconds": t1 - t0}


def cpu_times() -> tuple[float, float]:
    """This process's user and system CPU seconds.  Only meaningful where
    the workload owns its process (the kernel side): there user time is the
    Python code and system time is the kernel's socket and TCP work (Linux
    splits the two by sampling at the tick, so they are approximate)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def tcp_accept_loop(sm: ModuleType, port: int, n: int) -> dict[str, Any]:
    srv = sm.socket(sm.AF_INET, sm.SOCK_STREAM)
    srv.setsockopt(sm.SOL_SOCKET, sm.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(1024)
    u0, s0 = cpu_times()
    for _ in range(n):
        conn, _addr = srv.accept()
        conn.close()
    u1, s1 = cpu_times()
    srv.close()
    return {"accepted": n, "user_s": u1 - u0, "sys_s": s1 - s0}


def tcp_connect_loop(sm: ModuleType, host: str, port: int, n: int) -> dict[str, Any]:
    """connect/close ``n`` times: the Python client of the connection-rate test."""
    u0, s0 = cpu_times()
    t0 = time.perf_counter()
    for _ in range(n):
        c = sm.create_connection((host, port))
        c.close()
    t1 = time.perf_counter()
    u1, s1 = cpu_times()
    return {"connections": n, "seconds": t1 - t0, "user_s": u1 - u0, "sys_s": s1 - s0}


def tcp_bulk_recv(sm: ModuleType, port: int, nbytes: int) -> dict[str, Any]:
    srv = sm.socket(sm.AF_INET, sm.SOCK_STREAM)
    srv.setsockopt(sm.SOL_SOCKET, sm.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    return bulk_recv(srv, nbytes)


def bulk_recv(srv: Any, nbytes: int) -> dict[str, Any]:
    """Accept one stream on the bound ``srv`` and read ``nbytes`` (or to EOF)
    with 256 KiB recv_into calls; what came and how long it took."""
    srv.listen(1)
    conn, _addr = srv.accept()
    view = memoryview(bytearray(CHUNK * 4))
    got = 0
    t0 = time.perf_counter()
    while got < nbytes:
        k = conn.recv_into(view)
        if not k:
            break
        got += k
    t1 = time.perf_counter()
    conn.close()
    srv.close()
    return {"received": got, "seconds": t1 - t0}


def tcp_bulk_send(sm: ModuleType, host: str, port: int, nbytes: int) -> dict[str, Any]:
    c = sm.create_connection((host, port))
    block = memoryview(b"b" * (CHUNK * 4))
    sent = 0
    t0 = time.perf_counter()
    while sent < nbytes:
        c.sendall(block[:min(len(block), nbytes - sent)])
        sent += min(len(block), nbytes - sent)
    c.close()
    return {"sent": sent, "seconds": time.perf_counter() - t0}


def unix_bulk_recv(sm: ModuleType, path: str, nbytes: int) -> dict[str, Any]:
    """AF_UNIX stream goodput, receiving side: bound on ``path``."""
    srv = sm.socket(sm.AF_UNIX, sm.SOCK_STREAM)
    srv.bind(path)
    return bulk_recv(srv, nbytes)


def unix_bulk_send(sm: ModuleType, path: str, nbytes: int) -> dict[str, Any]:
    c = sm.socket(sm.AF_UNIX, sm.SOCK_STREAM)
    c.connect(path)
    block = memoryview(b"b" * (CHUNK * 4))
    sent = 0
    while sent < nbytes:
        c.sendall(block[:min(len(block), nbytes - sent)])
        sent += min(len(block), nbytes - sent)
    c.close()
    return {"sent": sent}
