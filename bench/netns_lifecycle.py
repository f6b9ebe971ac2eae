#!/usr/bin/env python3
"""Namespace life-cycle benchmark: usernet beside the real kernel, one run.

Measures, for usernet:
  * namespaces created+destroyed per second through the Python API
    (``Kernel.create_net()`` / ``Net.put()``) and through
    ``Kernel.cmd("ip netns add/del ...")``;
  * Python heap bytes per empty namespace (tracemalloc), lo included, with
    100,000 namespaces alive at once;
  * device lookup by name and by ifindex with 10, 1,000 and 100,000
    namespaces alive (it must stay flat);
and, when run as root where namespaces can be made, for the kernel:
  * ``unshare(CLONE_NEWNET)`` per second (each call makes a namespace and
    drops the previous one) in a throw-away child process;
  * ``ip netns add/del`` per second, inside a private mount namespace with a
    tmpfs on /run/netns so the host's named namespaces are never touched;
  * kernel memory per namespace (MemAvailable before/after holding 1,000).

Prints one JSON object.  Not a timed test: run it by hand or from CI logs.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from typing import Any

from usernet import Kernel

CLONE_NEWNET = 0x40000000


def rate(fn: Any, n: int) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn(n)
    return n / (time.perf_counter() - t0)


def api_cycle(n: int) -> float:
    kernel = Kernel()

    def run(count: int) -> None:
        create = kernel.create_net
        for _ in range(count):
            create().put()

    run(1000)  # warm up
    return rate(run, n)


def cmd_cycle(n: int) -> float:
    kernel = Kernel()

    def run(count: int) -> None:
        cmd = kernel.cmd
        for i in range(count):
            cmd(f"ip netns add ns{i}")
            cmd(f"ip netns del ns{i}")

    run(200)
    return rate(run, n)


def heap_per_namespace(n: int) -> tuple[float, list[Any], Kernel]:
    kernel = Kernel()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    nets = [kernel.create_net() for _ in range(n)]
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / n, nets, kernel


def lookup_ns(kernel: Kernel, nets: list[Any], reps: int = 200_000) -> dict[str, float]:
    """ns per lookup of lo by name and by ifindex, over namespaces round-robin."""
    sample = nets[:: max(1, len(nets) // 1000)] or nets
    names = [(n, "lo") for n in sample]
    gc.collect()
    t0 = time.perf_counter()
    i = 0
    m = len(names)
    while i < reps:
        net, name = names[i % m]
        net.dev_get_by_name(name)
        i += 1
    by_name = (time.perf_counter() - t0) / reps * 1e9
    t0 = time.perf_counter()
    i = 0
    while i < reps:
        sample[i % m].dev_get_by_index(1)
        i += 1
    by_index = (time.perf_counter() - t0) / reps * 1e9
    return {"by_name_ns": round(by_name, 1), "by_index_ns": round(by_index, 1)}


def lookup_flatness() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for count in (10, 1000, 100_000):
        kernel = Kernel()
        nets = [kernel.create_net() for _ in range(count)]
        out[str(count)] = lookup_ns(kernel, nets)
        for net in nets:
            net.put()
    return out


# -- the real kernel ---------------------------------------------------------------


def kernel_available() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None and \
        shutil.which("unshare") is not None


KERNEL_UNSHARE = r"""
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
n = int(sys.argv[1])
t0 = time.perf_counter()
for _ in range(n):
    if libc.unshare(0x40000000) != 0:
        raise OSError(ctypes.get_errno(), "unshare")
dt = time.perf_counter() - t0
print(n / dt)
"""

KERNEL_IP_NETNS = r"""
set -e
mkdir -p /run/netns
mount -t tmpfs tmpfs /run/netns
n=$1
start=$(date +%s.%N)
i=0
while [ $i -lt $n ]; do ip netns add b$i; ip netns del b$i; i=$((i+1)); done
end=$(date +%s.%N)
python3 -c "print($n / ($end - $start))"
"""

KERNEL_MEMORY = r"""
set -e
mkdir -p /run/netns
mount -t tmpfs tmpfs /run/netns
n=$1
avail() { awk '/MemAvailable/ {print $2}' /proc/meminfo; }
sync; before=$(avail)
i=0; : > /tmp/usernet-bench-batch.$$
while [ $i -lt $n ]; do echo "netns add m$i" >> /tmp/usernet-bench-batch.$$; i=$((i+1)); done
ip -batch /tmp/usernet-bench-batch.$$
sleep 1; after=$(avail)
ip -all netns delete
rm -f /tmp/usernet-bench-batch.$$
python3 -c "print(($before - $after) * 1024 / $n)"
"""


def _private(cmd: list[str]) -> list[str]:
    """Run in a new mount and network namespace: nothing of the host is touched."""
    return ["unshare", "--mount", "--net", "--propagation", "private", *cmd]


def kernel_figures(n_unshare: int, n_ipnetns: int, n_mem: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        res = subprocess.run(_private([sys.executable, "-c", KERNEL_UNSHARE, str(n_unshare)]),
                             capture_output=True, text=True, timeout=300, check=True)
        out["unshare_per_s"] = round(float(res.stdout.strip()))
        res = subprocess.run(_private(["bash", "-c", KERNEL_IP_NETNS, "bench",
                                       str(n_ipnetns)]),
                             capture_output=True, text=True, timeout=600, check=True)
        out["ip_netns_add_del_per_s"] = round(float(res.stdout.strip()))
        res = subprocess.run(_private(["bash", "-c", KERNEL_MEMORY, "bench", str(n_mem)]),
                             capture_output=True, text=True, timeout=600, check=True)
        out["bytes_per_namespace"] = round(float(res.stdout.strip()))
    except (subprocess.SubprocessError, ValueError, OSError) as exc:
        out["error"] = str(exc)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller counts (a smoke run)")
    ap.add_argument("--no-kernel", action="store_true", help="skip the real-kernel side")
    args = ap.parse_args()
    quick = args.quick
    n_api = 20_000 if quick else 200_000
    n_cmd = 2_000 if quick else 20_000
    n_alive = 10_000 if quick else 100_000

    per_ns, nets, kernel = heap_per_namespace(n_alive)
    alive_lookup = lookup_ns(kernel, nets)
    usernet: dict[str, Any] = {
        "api_create_destroy_per_s": round(api_cycle(n_api)),
        "ip_netns_add_del_per_s": round(cmd_cycle(n_cmd)),
        "heap_bytes_per_namespace": round(per_ns),
        "namespaces_alive": len(nets),
        "lookup_with_all_alive": alive_lookup,
        "lookup_flatness": lookup_flatness() if not quick else {},
    }
    del nets
    result: dict[str, Any] = {"benchmark": "netns_lifecycle", "usernet": usernet}
    if not args.no_kernel and kernel_available():
        k = kernel_figures(500 if quick else 3000, 200 if quick else 1000, 200 if quick else 1000)
        result["kernel"] = k
        ratios: dict[str, float] = {}
        if "unshare_per_s" in k:
            ratios["api_vs_unshare"] = round(usernet["api_create_destroy_per_s"]
                                             / k["unshare_per_s"], 1)
        if "ip_netns_add_del_per_s" in k:
            ratios["ip_netns_vs_kernel_ip_netns"] = round(usernet["ip_netns_add_del_per_s"]
                                                          / k["ip_netns_add_del_per_s"], 1)
        if k.get("bytes_per_namespace", 0) > 0:
            ratios["kernel_bytes_over_usernet_bytes"] = round(
                k["bytes_per_namespace"] / usernet["heap_bytes_per_namespace"], 1)
        result["ratios"] = ratios
    else:
        result["kernel"] = "not measured (needs root, iproute2 and unshare)"
    result["targets"] = {
        "api_create_destroy_per_s": ">= 50000",
        "ip_netns_add_del_per_s": ">= 10000",
        "heap_bytes_per_namespace": "<= 2048",
        "met": usernet["api_create_destroy_per_s"] >= 50_000
        and usernet["ip_netns_add_del_per_s"] >= 10_000
        and usernet["heap_bytes_per_namespace"] <= 2048,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
