#!/usr/bin/env python3
"""Socket benchmark: the same Python client/server code over usernet and
over CPython's socket in real namespaces, side by side in one run.

Cases (bench/workloads.py holds the code both sides run):
  udp:   64-byte datagrams/s from a connected UDP socket to a bound one;
  conn:  TCP connect + accept + close per second (Python client and server);
  bulk:  TCP goodput of one stream (``--bulk-mb``, default 1024 MB) with
         64 KiB sendall/recv_into; the kernel side also runs iperf3 -t 3;
  unix:  AF_UNIX stream goodput, the same code over a socket file that the
         two namespaces share (no target: the issue sets none).
usernet runs server and client as processes in two namespaces joined by a
veth (wall time measured, the virtual time needed reported beside it); the
kernel runs them with ``ip netns exec`` in namespaces named
``unbench-<pid>-*``, pinned to one CPU, deleted afterwards.  JSON on stdout.

For ``conn`` the kernel side also reports its CPU split per connection:
user time (CPython running the client and server code) and system time (the
kernel's socket calls and TCP).  ``ratio.conn.budget`` sets these beside
the time per connection the 1.5x target allows usernet, which must run that
same Python code, its own socket layer and its TCP/IP within it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import workloads  # noqa: E402
from usernet import Kernel  # noqa: E402
from usernet.testing import VETH_PAIR  # noqa: E402

PORT = 5001


# -- usernet -----------------------------------------------------------------------


def usernet_pair(server: Any, sargs: tuple[Any, ...], client: Any,
                 cargs: tuple[Any, ...]) -> dict[str, Any]:
    """Run ``server`` in namespace b and ``client`` in a; wall and virtual time."""
    import usernet.socket as usock

    kernel = Kernel()
    kernel.script(VETH_PAIR)
    t0 = time.perf_counter()
    srv = kernel.spawn(server, usock, *sargs, netns="b")
    cli = kernel.spawn(client, usock, *cargs, netns="a")
    kernel.run()
    wall = time.perf_counter() - t0
    return {"server": srv.result(), "client": cli.result(), "wall_s": wall,
            "virtual_s": kernel.sched.now / 1e9}


def usernet_udp(n: int) -> dict[str, Any]:
    r = usernet_pair(workloads.udp_sink, (PORT, n), workloads.udp_blast,
                     ("10.0.0.2", PORT, n))
    got = r["server"]["received"]
    return {"sent": n, "received": got, "wall_s": round(r["wall_s"], 3),
            "virtual_s": round(r["virtual_s"], 6),
            "datagrams_per_s": round(got / r["wall_s"])}


def usernet_conn(n: int) -> dict[str, Any]:
    r = usernet_pair(workloads.tcp_accept_loop, (PORT, n), workloads.tcp_connect_loop,
                     ("10.0.0.2", PORT, n))
    return {"connections": n, "wall_s": round(r["wall_s"], 3),
            "virtual_s": round(r["virtual_s"], 6),
            "connections_per_s": round(n / r["wall_s"])}


def usernet_bulk(nbytes: int) -> dict[str, Any]:
    r = usernet_pair(workloads.tcp_bulk_recv, (PORT, nbytes), workloads.tcp_bulk_send,
                     ("10.0.0.2", PORT, nbytes))
    got = r["server"]["received"]
    return {"bytes": got, "wall_s": round(r["wall_s"], 3),
            "virtual_s": round(r["virtual_s"], 6),
            "gbit_per_s": round(got * 8 / r["wall_s"] / 1e9, 3),
            "virtual_gbit_per_s": round(got * 8 / max(r["virtual_s"], 1e-9) / 1e9, 3)}


def usernet_unix(nbytes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="usernet-bench-") as tmp:
        path = os.path.join(tmp, "bulk.sock")
        r = usernet_pair(workloads.unix_bulk_recv, (path, nbytes), workloads.unix_bulk_send,
                         (path, nbytes))
    got = r["server"]["received"]
    return {"bytes": got, "wall_s": round(r["wall_s"], 3),
            "gbit_per_s": round(got * 8 / r["wall_s"] / 1e9, 3)}


# -- the real kernel ---------------------------------------------------------------


class RealPair:
    """Two real namespaces joined by a veth, 10.0.0.1 (a) and 10.0.0.2 (b)."""

    def __init__(self, cpu: int) -> None:
        self.prefix = f"unbench-{os.getpid()}-"
        self.a, self.b = self.prefix + "a", self.prefix + "b"
        self.pin = ["taskset", "-c", str(cpu)] if cpu >= 0 and shutil.which("taskset") else []
        self.made: list[str] = []
        self.procs: list[subprocess.Popen[str]] = []
        for ns in (self.a, self.b):
            self._run("ip", "netns", "add", ns)
            self.made.append(ns)
            self._run("ip", "-n", ns, "link", "set", "lo", "up")
        for line in (f"ip -n {self.a} link add v0 type veth peer name v1 netns {self.b}",
                     f"ip -n {self.a} addr add 10.0.0.1/24 dev v0",
                     f"ip -n {self.b} addr add 10.0.0.2/24 dev v1",
                     f"ip -n {self.a} link set v0 up", f"ip -n {self.b} link set v1 up"):
            self._run(*line.split())

    @staticmethod
    def _run(*args: str, timeout: float = 600) -> str:
        res = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {res.stderr.strip() or res.returncode}")
        return res.stdout

    def python(self, ns: str, fn: str, *args: Any) -> subprocess.Popen[str]:
        code = (f"import json, socket, sys; sys.path.insert(0, {str(HERE)!r}); "
                f"import workloads; print(json.dumps(workloads.{fn}(socket, *{args!r})))")
        proc = subprocess.Popen([*self.pin, "ip", "netns", "exec", ns, sys.executable, "-c",
                                 code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        self.procs.append(proc)
        return proc

    def pair(self, server: str, sargs: tuple[Any, ...], client: str,
             cargs: tuple[Any, ...]) -> tuple[dict[str, Any], dict[str, Any], float]:
        srv = self.python(self.b, server, *sargs)
        time.sleep(0.3)  # let it bind
        t0 = time.perf_counter()
        cli = self.python(self.a, client, *cargs)
        cout, cerr = cli.communicate(timeout=900)
        sout, serr = srv.communicate(timeout=900)
        wall = time.perf_counter() - t0
        if cli.returncode or srv.returncode:
            raise RuntimeError(f"workload failed: {cerr.strip()} {serr.strip()}")
        return json.loads(sout), json.loads(cout), wall

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        for ns in self.made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def kernel_cases(n_udp: int, n_conn: int, nbytes: int, cpu: int) -> dict[str, Any]:
    lab = RealPair(cpu)
    out: dict[str, Any] = {}
    try:
        s, _c, _w = lab.pair("udp_sink", (PORT, n_udp), "udp_blast", ("10.0.0.2", PORT, n_udp))
        out["udp"] = {"sent": n_udp, "received": s["received"],
                      "datagrams_per_s": round(s["received"] / max(s["seconds"], 1e-9))}
        s, c, _w = lab.pair("tcp_accept_loop", (PORT + 1, n_conn), "tcp_connect_loop",
                            ("10.0.0.2", PORT + 1, n_conn))
        out["conn"] = {"connections": n_conn,
                       "connections_per_s": round(n_conn / c["seconds"]),
                       # Where the kernel's time goes: user CPU is CPython running
                       # the client and server code, system CPU is the kernel's
                       # socket calls and TCP (both processes, per connection).
                       "user_us_per_conn": round((s["user_s"] + c["user_s"]) / n_conn * 1e6, 2),
                       "sys_us_per_conn": round((s["sys_s"] + c["sys_s"]) / n_conn * 1e6, 2)}
        s, _c, _w = lab.pair("tcp_bulk_recv", (PORT + 2, nbytes), "tcp_bulk_send",
                             ("10.0.0.2", PORT + 2, nbytes))
        out["bulk"] = {"bytes": s["received"],
                       "gbit_per_s": round(s["received"] * 8 / s["seconds"] / 1e9, 3)}
        with tempfile.TemporaryDirectory(prefix="usernet-bench-") as tmp:
            path = os.path.join(tmp, "bulk.sock")
            s, _c, _w = lab.pair("unix_bulk_recv", (path, nbytes), "unix_bulk_send",
                                 (path, nbytes))
        out["unix"] = {"bytes": s["received"],
                       "gbit_per_s": round(s["received"] * 8 / s["seconds"] / 1e9, 3)}
    finally:
        lab.close()
    return out


def guarded(fn: Any, *args: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = fn(*args)
        return result
    except Exception as exc:  # a case that cannot run says why
        return {"error": f"{type(exc).__name__}: {exc}"}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small counts (for the test)")
    p.add_argument("--no-kernel", action="store_true", help="skip the real-kernel side")
    p.add_argument("--bulk-mb", type=int, default=1024)
    p.add_argument("--kernel-cpu", type=int, default=0, help="CPU to pin to (-1: none)")
    args = p.parse_args()
    n_udp, n_conn = (2000, 200) if args.quick else (200_000, 5000)
    nbytes = (4 if args.quick else args.bulk_mb) << 20
    doc: dict[str, Any] = {"benchmark": "sockets", "params": {
        "udp_datagrams": n_udp, "connections": n_conn, "bulk_bytes": nbytes}}
    doc["usernet"] = {"udp": guarded(usernet_udp, n_udp), "conn": guarded(usernet_conn, n_conn),
                      "bulk": guarded(usernet_bulk, nbytes), "unix": guarded(usernet_unix, nbytes)}
    if args.no_kernel:
        doc["kernel"] = {"skipped": "--no-kernel"}
    elif os.geteuid() != 0 or not shutil.which("ip"):
        doc["kernel"] = {"skipped": "needs root and iproute2"}
    else:
        doc["kernel"] = guarded(kernel_cases, n_udp, n_conn, nbytes, args.kernel_cpu)
    doc["ratio"] = ratios(doc["usernet"], doc["kernel"])
    print(json.dumps(doc, indent=2))
    return 0


def ratios(u: dict[str, Any], k: dict[str, Any]) -> dict[str, Any]:
    pairs = (("udp", "datagrams_per_s", 1.0), ("conn", "connections_per_s", 1.5),
             ("bulk", "gbit_per_s", 0.5), ("unix", "gbit_per_s", None))
    out: dict[str, Any] = {}
    for case, key, target in pairs:
        a, b = u.get(case, {}).get(key), k.get(case, {}).get(key)
        if a and b:
            out[case] = {"ratio": round(a / b, 3)}
            if target is not None:
                out[case].update(target=target, met=a / b >= target)
    conn = out.get("conn")
    if conn and "user_us_per_conn" in k.get("conn", {}):
        conn["budget"] = conn_budget(u["conn"]["connections_per_s"], k["conn"])
    return out


def conn_budget(usernet_cps: float, kc: dict[str, Any]) -> dict[str, Any]:
    """What the connection target leaves usernet per connection, beside the
    kernel's own split of its time.  usernet must run the same Python client
    and server code (the kernel side's user time, with CPython's socket module
    in C) plus its own socket layer and TCP/IP, in Python, within the budget."""
    budget = 1e6 / (1.5 * kc["connections_per_s"])
    user = kc["user_us_per_conn"]
    return {"us_per_conn_at_target": round(budget, 2),
            "usernet_us_per_conn": round(1e6 / usernet_cps, 2),
            "kernel_python_us_per_conn": user,
            "kernel_tcp_us_per_conn": kc["sys_us_per_conn"],
            "left_for_usernet_tcp_us": round(budget - user, 2)}


if __name__ == "__main__":
    sys.exit(main())
