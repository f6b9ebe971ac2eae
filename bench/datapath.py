#!/usr/bin/env python3
"""Data-path benchmark: usernet beside the real kernel, one run, one core.

Measures frames per second of wall time for
  (a) ICMP echo between two namespaces over a veth, back to back (one
      request outstanding): usernet sends from a raw socket and runs the
      scheduler until the reply is in; the kernel runs ``ping -f -q`` in
      real namespaces.  Both report exchanges/s and the round-trip time
      (usernet's is virtual: the modelled link delay, not a measurement);
  (b) 64-byte UDP frames forwarded through one router namespace
      (h1 -- r -- h2) with ARP resolved: usernet injects frames at h1's eth0
      (``dev_queue_xmit_list``, pktgen-style bursts), paced so no backlog overflows, and
      counts what a UDP socket bound in h2 receives (as iperf3's server
      does), draining it after every burst; the kernel runs
      ``iperf3 -u -l 64 -b 0`` from h1 to a server in h2 (receiver packets/s);
  (c) the same through a bridge: h1 -- sw(br0) -- h2 on one subnet.

The kernel side needs root, iproute2, ping and iperf3; it makes namespaces
named ``unbench-<pid>-*`` (deleted afterwards, whatever happens) and pins
every process it starts to one CPU (``--kernel-cpu``), so both sides use one
core.  With veths the kernel does the receiver's softirq work in the sender's
system call, so that core carries sender, router and receiver.

Prints one JSON object.  ``--profile`` runs only usernet's case (b) under
cProfile and prints the 15 functions with the most own time to stderr.
Not a timed test: run it by hand or from CI logs.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from usernet import Kernel
from usernet.dev.datapath import dev_queue_xmit_list
from usernet.dev.netdevice import NetDevice
from usernet.ipv4.raw import RawSocket
from usernet.net import Net
from usernet.testing import BRIDGE, ROUTER, VETH_PAIR
from usernet.transport.udp import UdpSock
from usernet.wire.checksum import csum_partial, pseudo_header_sum
from usernet.wire.icmp import icmp_message
from usernet.wire.ipv4 import addr_int, ipv4_header
from usernet.wire.udp import UDP_HDR

FRAME_BYTES = 64  # Ethernet frame without FCS: 14 + 20 + 8 + 22 bytes of payload
BURST = 64  # frames injected between two scheduler slices
PING_PAYLOAD = b"x" * 56  # ping's default
TARGET_FORWARD_FPS = 250_000

# -- usernet -------------------------------------------------------------------------

ECHO_TOPOLOGY = VETH_PAIR
ROUTER_TOPOLOGY = ROUTER
BRIDGE_TOPOLOGY = BRIDGE


def build(text: str) -> Kernel:
    kernel = Kernel()
    for line in text.splitlines():
        res = kernel.cmd(line)
        if not res.ok:
            raise RuntimeError(f"{line!r}: {str(res).strip()}")
    return kernel


def echo_once(kernel: Kernel, sock: RawSocket, daddr: int, rest: int,
              timeout_ns: int = 1_000_000_000) -> int | None:
    """Send one echo request; run until its reply is in.  The virtual RTT, or None."""
    sched = kernel.sched
    rcvq = sock.rcvq
    sent_at = sched.now
    sock.sendto(icmp_message(8, 0, rest, PING_PAYLOAD), daddr)
    sched.run_for(timeout_ns, lambda: len(rcvq) > 0)
    while rcvq:
        arrived, pkt = sock.take(0)
        ihl = (pkt[0] & 0x0F) * 4
        if pkt[ihl] == 0 and int.from_bytes(pkt[ihl + 4:ihl + 8], "big") == rest:
            return arrived - sent_at
    return None


def usernet_echo(n: int) -> dict[str, Any]:
    kernel = build(ECHO_TOPOLOGY)
    sock = RawSocket(kernel.netns_get("a"), 1)
    daddr = addr_int("10.0.0.2")
    ident = 0x1234 << 16
    first = echo_once(kernel, sock, daddr, ident)  # resolves ARP
    if first is None:
        raise RuntimeError("no echo reply over the veth")
    rtts: list[int] = []
    lost = 0
    gc.collect()
    t0 = time.perf_counter()
    for seq in range(1, n + 1):
        rtt = echo_once(kernel, sock, daddr, ident | (seq & 0xFFFF))
        if rtt is None:
            lost += 1
        else:
            rtts.append(rtt)
    wall = time.perf_counter() - t0
    sock.close()
    return {
        "exchanges": n,
        "lost": lost,
        "wall_s": round(wall, 3),
        "exchanges_per_s": round(len(rtts) / wall),
        "wall_us_per_exchange": round(wall / n * 1e6, 2),
        "virtual_rtt_us": round(sum(rtts) / len(rtts) / 1000, 3) if rtts else None,
        "first_virtual_rtt_us_with_arp": round(first / 1000, 3),
        "link_delay_ns": kernel.link_delay_ns,
    }


def udp_frames(src_dev: NetDevice, dst_mac: bytes, saddr: int, daddr: int,
               count: int) -> list[bytes]:
    """``count`` 64-byte UDP frames, each with its own IP ID and payload, all
    checksums right (so nothing is cheaper than a real packet would be)."""
    plen = FRAME_BYTES - 14 - 20 - 8
    frames = []
    for i in range(count):
        payload = i.to_bytes(4, "big") + bytes(plen - 4)
        udp = UDP_HDR.pack(5000, 5201, 8 + plen, 0) + payload
        check = ~csum_partial(udp, pseudo_header_sum(saddr, daddr, 17, 8 + plen)) & 0xFFFF
        udp = udp[:6] + (check or 0xFFFF).to_bytes(2, "big") + udp[8:]
        ip = ipv4_header(0, 28 + plen, i, 0x4000, 64, 17, saddr, daddr)
        frames.append(dst_mac + src_dev.dev_addr + b"\x08\x00" + ip + udp)
    assert len(frames[0]) == FRAME_BYTES
    return frames


def veth_drops(nets: list[Net]) -> int:
    """tx_dropped of every device: a veth counts a full peer backlog there."""
    total = 0
    for net in nets:
        for dev in net.dev_by_name.values():
            if dev.stats is not None:
                total += dev.stats.tx_dropped + dev.stats.rx_dropped
    return total


def inject(kernel: Kernel, dev: NetDevice, frames: list[bytes], n: int, sink: UdpSock,
           profiler: cProfile.Profile | None = None) -> tuple[float, int]:
    """Send ``n`` frames out of ``dev`` in bursts, running the scheduler for
    one link delay after each so no backlog holds more than a burst, and
    reading the receiving socket dry after each (the server's recv loop).
    Returns the wall seconds and the datagrams received."""
    sched = kernel.sched
    slice_ns = kernel.link_delay_ns or 1000
    xmit = dev_queue_xmit_list
    drain = sink.flush_rcvq
    received = 0
    full, rest = divmod(n, len(frames))
    gc.collect()
    if profiler is not None:
        profiler.enable()
    t0 = time.perf_counter()
    for _ in range(full):
        xmit(dev, frames)  # one burst, as pktgen's burst/xmit_more sends it
        sched.run_for(slice_ns)
        received += drain()
    xmit(dev, frames[:rest])
    sched.run_for(20 * slice_ns)
    received += drain()
    wall = time.perf_counter() - t0
    if profiler is not None:
        profiler.disable()
    return wall, received


def udp_sink(net: Net, addr: str) -> UdpSock:
    """The receiving socket: bound like ``iperf3 -s`` to port 5201."""
    sock = UdpSock(net)
    sock.bind((addr_int(addr), 5201))
    return sock


def usernet_forward(n: int, profiler: cProfile.Profile | None = None) -> dict[str, Any]:
    kernel = build(ROUTER_TOPOLOGY)
    h1, r, h2 = (kernel.netns_get(x) for x in ("h1", "r", "h2"))
    sock = RawSocket(h1, 1)
    daddr = addr_int("10.2.0.2")
    if echo_once(kernel, sock, daddr, 1) is None:  # resolves ARP on both hops
        raise RuntimeError("no echo reply through the router")
    sock.close()
    return stream(kernel, [h1, r, h2], h1.dev_by_name["eth0"], r.dev_by_name["r1"].dev_addr,
                  "10.1.0.2", "10.2.0.2", r.dev_by_name["r2"], n, profiler)


def stream(kernel: Kernel, nets: list[Net], eth0: NetDevice, dst_mac: bytes, src: str,
           dst: str, toward_h2: NetDevice, n: int,
           profiler: cProfile.Profile | None = None) -> dict[str, Any]:
    """Cases (b) and (c): ``n`` UDP frames from h1's eth0 to a socket in h2;
    ``toward_h2`` is the device whose transmissions count as forwarded."""
    frames = udp_frames(eth0, dst_mac, addr_int(src), addr_int(dst), BURST)
    base = toward_h2.stats.tx_packets if toward_h2.stats else 0
    drops0 = veth_drops(nets)
    sink = udp_sink(nets[-1], dst)
    wall, delivered = inject(kernel, eth0, frames, n, sink, profiler)
    forwarded = (toward_h2.stats.tx_packets if toward_h2.stats else 0) - base
    return {
        "frame_bytes": FRAME_BYTES,
        "burst": BURST,
        "sent": n,
        "forwarded": forwarded,
        "delivered": delivered,
        "dropped": n - delivered,
        "backlog_drops": veth_drops(nets) - drops0,
        "wall_s": round(wall, 3),
        "frames_per_s": round(delivered / wall),
        "ns_per_frame": round(wall / max(delivered, 1) * 1e9),
        "counted_at": "UDP socket bound in h2 (port 5201), drained after every burst",
    }


def usernet_bridge(n: int) -> dict[str, Any]:
    kernel = build(BRIDGE_TOPOLOGY)
    h1, sw, h2 = (kernel.netns_get(x) for x in ("h1", "sw", "h2"))
    sock = RawSocket(h1, 1)
    daddr = addr_int("10.3.0.2")
    try:
        ok = echo_once(kernel, sock, daddr, 1, timeout_ns=100_000_000) is not None
    except Exception as exc:
        return {"error": f"bridge does not forward: echo through br0 raised {exc!r}"}
    if not ok:
        return {"error": "bridge does not forward: no echo reply through br0"}
    sock.close()
    return stream(kernel, [h1, sw, h2], h1.dev_by_name["eth0"], h2.dev_by_name["eth0"].dev_addr,
                  "10.3.0.1", "10.3.0.2", sw.dev_by_name["p2"], n)


def guarded(fn: Callable[[int], dict[str, Any]], n: int) -> dict[str, Any]:
    """A case that fails reports why instead of ending the run."""
    try:
        return fn(n)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


# -- the real kernel ---------------------------------------------------------------


class Lab:
    """Real namespaces named ``unbench-<pid>-*`` and the processes run in them;
    ``close()`` kills the processes and deletes the namespaces."""

    def __init__(self, cpu: int) -> None:
        self.prefix = f"unbench-{os.getpid()}-"
        self.names: list[str] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        self.pin = ["taskset", "-c", str(cpu)] if cpu >= 0 and shutil.which("taskset") else []

    def ns(self, name: str) -> str:
        full = self.prefix + name
        self.run("ip", "netns", "add", full)
        self.names.append(full)
        self.run("ip", "-n", full, "link", "set", "lo", "up")
        return full

    def run(self, *args: str, timeout: float = 30) -> str:
        res = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {res.stderr.strip() or res.returncode}")
        return res.stdout

    def exec(self, ns: str, *args: str, timeout: float = 120) -> str:
        return self.run(*self.pin, "ip", "netns", "exec", ns, *args, timeout=timeout)

    def spawn(self, ns: str, *args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([*self.pin, "ip", "netns", "exec", ns, *args],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def script(self, text: str) -> None:
        """Lines of ``ip`` arguments with {name} standing for a namespace."""
        names = {n[len(self.prefix):]: n for n in self.names}
        for line in text.splitlines():
            if line.strip():
                self.run(*line.format(**names).split())

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        for name in reversed(self.names):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
        self.procs.clear()
        self.names.clear()


@contextmanager
def lab(cpu: int) -> Iterator[Lab]:
    it = Lab(cpu)
    try:
        yield it
    finally:
        it.close()


PING_STATS = re.compile(r"(\d+) packets transmitted, (\d+) received.*?time (\d+)ms")
PING_RTT = re.compile(r"rtt min/avg/max/mdev = ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms")


def kernel_echo(n: int, cpu: int) -> dict[str, Any]:
    with lab(cpu) as k:
        a, b = k.ns("a"), k.ns("b")
        k.script(f"""\
ip -n {a} link add v0 type veth peer name v1 netns {b}
ip -n {a} addr add 10.0.0.1/24 dev v0
ip -n {b} addr add 10.0.0.2/24 dev v1
ip -n {a} link set v0 up
ip -n {b} link set v1 up""")
        k.exec(a, "ping", "-c", "1", "-W", "2", "10.0.0.2")  # resolves ARP
        t0 = time.perf_counter()
        out = k.exec(a, "ping", "-f", "-q", "-c", str(n), "10.0.0.2", timeout=600)
        wall = time.perf_counter() - t0
    stats, rtt = PING_STATS.search(out), PING_RTT.search(out)
    if stats is None or rtt is None:
        raise RuntimeError(f"unexpected ping output: {out.strip()!r}")
    received, ms = int(stats.group(2)), int(stats.group(3))
    secs = ms / 1000 if ms > 0 else wall
    return {
        "tool": "ping -f -q",
        "exchanges": int(stats.group(1)),
        "lost": int(stats.group(1)) - received,
        "ping_time_s": round(secs, 3),
        "wall_s_with_exec": round(wall, 3),
        "exchanges_per_s": round(received / secs),
        "rtt_avg_us": round(float(rtt.group(2)) * 1000, 1),
        "rtt_min_us": round(float(rtt.group(1)) * 1000, 1),
    }


def iperf3_udp(k: Lab, server_ns: str, client_ns: str, daddr: str,
               seconds: int) -> dict[str, Any]:
    k.exec(client_ns, "ping", "-c", "1", "-W", "2", daddr)  # resolves ARP
    server = k.spawn(server_ns, "iperf3", "-s", "-1")
    deadline = time.monotonic() + 10
    # port 5201 (0x1451) in state LISTEN (0A), on IPv4 or (dual-stack) IPv6
    while not re.search(r":1451 0+:0000 0A",
                        k.exec(server_ns, "cat", "/proc/net/tcp", "/proc/net/tcp6")):
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("iperf3 server did not start")
        time.sleep(0.05)
    out = k.exec(client_ns, "iperf3", "-u", "-l", "64", "-b", "0", "-t", str(seconds),
                 "-J", "-c", daddr, timeout=seconds + 60)
    with suppress(subprocess.TimeoutExpired):
        server.wait(timeout=10)
    doc = json.loads(out)
    if "error" in doc:
        raise RuntimeError(f"iperf3: {doc['error']}")
    end = doc["end"]
    recv = end.get("sum_received") or end["sum"]
    sent = end.get("sum_sent") or end["sum"]
    got = recv["packets"] - recv["lost_packets"]
    return {
        "tool": f"iperf3 -u -l 64 -b 0 -t {seconds}",
        "udp_payload_bytes": 64,
        "frame_bytes": 64 + 8 + 20 + 14,
        "sent": sent["packets"],
        "delivered": got,
        "lost": recv["lost_packets"],
        "seconds": round(recv["seconds"], 3),
        "sent_per_s": round(sent["packets"] / sent["seconds"]),
        "frames_per_s": round(got / recv["seconds"]),
        "counted_at": "iperf3 server socket",
    }


def kernel_forward(seconds: int, cpu: int) -> dict[str, Any]:
    with lab(cpu) as k:
        h1, r, h2 = k.ns("h1"), k.ns("r"), k.ns("h2")
        k.script("""\
ip -n {h1} link add eth0 type veth peer name r1 netns {r}
ip -n {h2} link add eth0 type veth peer name r2 netns {r}
ip -n {h1} addr add 10.1.0.2/24 dev eth0
ip -n {h2} addr add 10.2.0.2/24 dev eth0
ip -n {r} addr add 10.1.0.1/24 dev r1
ip -n {r} addr add 10.2.0.1/24 dev r2
ip -n {h1} link set eth0 up
ip -n {h2} link set eth0 up
ip -n {r} link set r1 up
ip -n {r} link set r2 up
ip -n {h1} route add default via 10.1.0.1
ip -n {h2} route add default via 10.2.0.1""")
        k.exec(r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        return iperf3_udp(k, h2, h1, "10.2.0.2", seconds)


def kernel_bridge(seconds: int, cpu: int) -> dict[str, Any]:
    with lab(cpu) as k:
        h1, _sw, h2 = k.ns("h1"), k.ns("sw"), k.ns("h2")
        k.script("""\
ip -n {sw} link add br0 type bridge
ip -n {h1} link add eth0 type veth peer name p1 netns {sw}
ip -n {h2} link add eth0 type veth peer name p2 netns {sw}
ip -n {sw} link set p1 master br0
ip -n {sw} link set p2 master br0
ip -n {sw} link set br0 up
ip -n {sw} link set p1 up
ip -n {sw} link set p2 up
ip -n {h1} addr add 10.3.0.1/24 dev eth0
ip -n {h2} addr add 10.3.0.2/24 dev eth0
ip -n {h1} link set eth0 up
ip -n {h2} link set eth0 up""")
        return iperf3_udp(k, h2, h1, "10.3.0.2", seconds)


def kernel_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    missing = [t for t in ("ip", "ping", "iperf3") if shutil.which(t) is None]
    if missing:
        return f"missing tools: {', '.join(missing)}"
    return None


def kernel_guarded(fn: Callable[[int, int], dict[str, Any]], n: int,
                   cpu: int) -> dict[str, Any]:
    try:
        return fn(n, cpu)
    except (subprocess.SubprocessError, RuntimeError, OSError, ValueError, KeyError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


# -- report ------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"python": platform.python_version(), "implementation":
            platform.python_implementation(), "kernel": platform.release(),
            "cpu": cpu, "cpus": os.cpu_count()}


def ratio(u: dict[str, Any], k: dict[str, Any], ukey: str, kkey: str) -> float | None:
    a, b = u.get(ukey), k.get(kkey)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
        return round(a / b, 3)
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    ap.add_argument("--no-kernel", action="store_true", help="skip the real-kernel side")
    ap.add_argument("--frames", type=int, default=None,
                    help="UDP frames per usernet forwarding case (default 500000, "
                         "--quick 5000); echo exchanges are a fifth of it")
    ap.add_argument("--kernel-cpu", type=int, default=0,
                    help="CPU the kernel side's processes are pinned to (-1: no pinning)")
    ap.add_argument("--profile", action="store_true",
                    help="run only usernet's case (b) under cProfile; top 15 by "
                         "tottime to stderr")
    args = ap.parse_args()
    frames = args.frames or (5_000 if args.quick else 500_000)
    pings = max(frames // 5, 1)
    seconds = 1 if args.quick else 3
    params = {"frames": frames, "echo_exchanges": pings, "iperf3_seconds": seconds,
              "kernel_cpu": args.kernel_cpu, "quick": args.quick}
    result: dict[str, Any] = {"benchmark": "datapath", "machine": machine(), "params": params}

    if args.profile:
        prof = cProfile.Profile()
        result["usernet"] = {"forward": usernet_forward(frames, prof)}
        result["profiled"] = "figures slowed by cProfile"
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(15)
        print(json.dumps(result, indent=2))
        return 0

    usernet = {
        "icmp_echo": guarded(usernet_echo, pings),
        "forward": guarded(usernet_forward, frames),
        "bridge": guarded(usernet_bridge, frames),
    }
    result["usernet"] = usernet
    skip = "--no-kernel" if args.no_kernel else kernel_skip_reason()
    if skip is not None:
        result["kernel"] = {"skipped": skip}
        result["ratio"] = {}
    else:
        kern = {
            "icmp_echo": kernel_guarded(kernel_echo, pings, args.kernel_cpu),
            "forward": kernel_guarded(kernel_forward, seconds, args.kernel_cpu),
            "bridge": kernel_guarded(kernel_bridge, seconds, args.kernel_cpu),
        }
        result["kernel"] = kern
        ratios = {
            "icmp_echo_exchanges_per_s": ratio(usernet["icmp_echo"], kern["icmp_echo"],
                                               "exchanges_per_s", "exchanges_per_s"),
            "icmp_echo_rtt_virtual_over_kernel": ratio(usernet["icmp_echo"],
                                                       kern["icmp_echo"],
                                                       "virtual_rtt_us", "rtt_avg_us"),
            "forward_frames_per_s": ratio(usernet["forward"], kern["forward"],
                                          "frames_per_s", "frames_per_s"),
            "bridge_frames_per_s": ratio(usernet["bridge"], kern["bridge"],
                                         "frames_per_s", "frames_per_s"),
        }
        result["ratio"] = {key: v for key, v in ratios.items() if v is not None}
    fps = usernet["forward"].get("frames_per_s", 0)
    result["targets"] = {"forward_frames_per_s": f">= {TARGET_FORWARD_FPS}",
                         "met": fps >= TARGET_FORWARD_FPS}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
