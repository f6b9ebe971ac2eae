#!/usr/bin/env python3
"""Netfilter benchmark: forwarding through a router with iptables rules,
usernet beside the real kernel in one run, one core.

The topology and the traffic are bench/datapath.py's case (b): 64-byte UDP
frames from h1 through router r to a UDP socket bound in h2 (usernet: frames
injected at h1's eth0 in pktgen-style bursts; the kernel: ``iperf3 -u -l 64
-b 0``, pinned to one CPU).  The cases differ in r's filter table, loaded
with ``iptables-restore`` from the same text on both sides:

  rules_0         no table at all: plain forwarding, the reference rate;
  empty_chain     a filter table whose FORWARD chain has no rule (what the
                  hooks cost by themselves);
  rules_100       100 FORWARD rules that never match the traffic, as a real
  rules_1000      firewall has them: source and destination addresses and
                  networks, UDP and TCP ports, ICMP types, in and out
                  interfaces, mixed in one rule or alone;
  conntrack_1000  ``-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT``
                  first, then the same 1,000 rules.

Making the flow ESTABLISHED: a conntrack entry is ESTABLISHED once it has
seen a reply.  iperf3's UDP test starts with a handshake on the data flow
itself -- the client sends a 4-byte datagram to the server's port, and the
server, having connected its socket to the client, answers from it -- so on
the kernel side every data datagram after that is ESTABLISHED and the first
rule accepts it (its counter shows it).  usernet does the same handshake
between a socket bound in h1 to the frames' source port and the receiving
socket in h2, then injects the frames.  The rule order (the ESTABLISHED
rule first) is the usual one and the same on both sides.

Reported per case and side: frames per second of wall time and the FORWARD
counters read back with ``iptables-save -c`` (so the rules are seen not to
match, and the ESTABLISHED rule to match); then usernet/kernel per case,
each side's rate relative to its rules_0, and the target: usernet's
conntrack_1000 at >= 70% of its rules_0.  Prints one JSON object.  Not a
timed test: run it by hand or from CI logs.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datapath import (
    BURST,
    FRAME_BYTES,
    ROUTER_TOPOLOGY,
    Lab,
    build,
    echo_once,
    inject,
    iperf3_udp,
    kernel_skip_reason,
    lab,
    machine,
    udp_frames,
    udp_sink,
    veth_drops,
)
from usernet import Kernel
from usernet.ipv4.raw import RawSocket
from usernet.tools.iptables import restore_text
from usernet.transport.udp import UdpSock
from usernet.wire.ipv4 import addr_int

CASES: dict[str, tuple[int | None, bool]] = {  # name: (rules, ESTABLISHED rule first)
    "rules_0": (None, False),
    "empty_chain": (0, False),
    "rules_100": (100, False),
    "rules_1000": (1000, False),
    "conntrack_1000": (1000, True),
}
TARGET_RATIO = 0.7  # usernet conntrack_1000 / usernet rules_0
ESTABLISHED_RULE = "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
H1, H2, SPORT, DPORT = "10.1.0.2", "10.2.0.2", 5000, 5201  # udp_frames' flow
HELLO, HELLO_REPLY = b"6789", b"9876"  # iperf3's UDP_CONNECT_MSG / _REPLY


def firewall_rule(i: int) -> str:
    """Rule ``i`` of the non-matching set: eight kinds in turn.  None matches
    the bench's traffic in either direction (h1 10.1.0.2 <-> h2 10.2.0.2, UDP
    to port 5201 from port 5000 or an ephemeral port, iperf3's TCP control
    connection, ping): other addresses, ports below 1024, other interfaces."""
    a, b, port = i // 250 % 250, i % 250 + 1, 1 + i % 1000
    kinds = (
        f"-s 198.18.{a}.{b}/32 -j DROP",
        f"-d 198.19.{i % 250}.0/24 -j DROP",
        f"-p udp -m udp --dport {port} -j DROP",
        f"-s 10.1.0.0/24 -p tcp -m tcp --dport {port} -j ACCEPT",
        f"-i wan{i} -j DROP",
        f"-i r1 -o dmz{i} -j ACCEPT",
        f"-s 198.51.100.{b}/32 -p icmp -m icmp --icmp-type 8 -j ACCEPT",
        f"-d 10.2.0.2/32 -p udp -m udp --sport {port} --dport {port} -j ACCEPT",
    )
    return "-A FORWARD " + kinds[i % len(kinds)]


def ruleset(n: int, established_first: bool) -> str:
    """The iptables-restore text of a case (the same for both sides)."""
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    if established_first:
        lines.append(ESTABLISHED_RULE)
    lines += [firewall_rule(i) for i in range(n)]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


SAVE_RULE = re.compile(r"^\[(\d+):(\d+)\] -A FORWARD ", re.M)
SAVE_POLICY = re.compile(r"^:FORWARD \w+ \[(\d+):(\d+)\]", re.M)


def counters(save_c: str, established_first: bool) -> dict[str, int]:
    """FORWARD's counters from ``iptables-save -c``: what the ESTABLISHED rule
    and what all other rules matched, in packets."""
    pkts = [int(m.group(1)) for m in SAVE_RULE.finditer(save_c)]
    first = pkts.pop(0) if established_first and pkts else None
    out = {"rules": len(pkts), "other_rules_pkts": sum(pkts)}
    if first is not None:
        out["established_rule_pkts"] = first
    policy = SAVE_POLICY.search(save_c)
    if policy is not None:
        out["policy_pkts"] = int(policy.group(1))
    return out


# -- usernet ---------------------------------------------------------------------------


def handshake(kernel: Kernel, h1_sock: UdpSock, sink: UdpSock) -> None:
    """iperf3's UDP start: hello to the server's port, the server answers on
    the same pair of ports, so conntrack in r has seen the reply."""
    h1_sock.sendmsg(HELLO, (addr_int(H2), DPORT), 0)
    kernel.sched.run_for(1_000_000)
    data, peer = sink.recvmsg(64, 0)
    if data != HELLO or peer is None:
        raise RuntimeError("the handshake datagram did not reach h2")
    sink.sendmsg(HELLO_REPLY, peer, 0)
    kernel.sched.run_for(1_000_000)
    if h1_sock.recvmsg(64, 0)[0] != HELLO_REPLY:
        raise RuntimeError("the handshake reply did not reach h1")


def usernet_case(case: str, frames: int, seconds: float,
                 profiler: cProfile.Profile | None = None) -> dict[str, Any]:
    nrules, established_first = CASES[case]
    kernel = build(ROUTER_TOPOLOGY)
    h1, r, h2 = (kernel.netns_get(x) for x in ("h1", "r", "h2"))
    if nrules is not None:
        res = restore_text(kernel, r, ruleset(nrules, established_first))
        if res.rc != 0:
            raise RuntimeError(f"iptables-restore: {res.stderr.strip()}")
    ping = RawSocket(h1, 1)
    if echo_once(kernel, ping, addr_int(H2), 1) is None:  # resolves ARP on both hops
        raise RuntimeError("no echo reply through the router")
    ping.close()
    sink = udp_sink(h2, H2)
    client = UdpSock(h1)  # iperf3's client socket: the flow's h1 end
    client.bind((addr_int(H1), SPORT))
    handshake(kernel, client, sink)
    eth0, toward_h2 = h1.dev_by_name["eth0"], r.dev_by_name["r2"]
    burst = udp_frames(eth0, r.dev_by_name["r1"].dev_addr, addr_int(H1), addr_int(H2), BURST)
    # warm-up (caches, prepared rules), and the rate that sizes the run
    wall, got = inject(kernel, eth0, burst, 16 * BURST, sink)
    n = max(4 * BURST, min(frames, int(got / max(wall, 1e-9) * seconds)) // BURST * BURST)
    base = toward_h2.stats.tx_packets if toward_h2.stats else 0
    drops0 = veth_drops([h1, r, h2])
    wall, delivered = inject(kernel, eth0, burst, n, sink, profiler)
    forwarded = (toward_h2.stats.tx_packets if toward_h2.stats else 0) - base
    save = kernel.cmd("iptables-save -c", r).stdout
    client.close()
    sink.close()
    return {
        "rules": nrules or 0,
        "frame_bytes": FRAME_BYTES,
        "burst": BURST,
        "sent": n,
        "forwarded": forwarded,
        "delivered": delivered,
        "dropped": n - delivered,
        "backlog_drops": veth_drops([h1, r, h2]) - drops0,
        "wall_s": round(wall, 3),
        "frames_per_s": round(delivered / wall),
        "ns_per_frame": round(wall / max(delivered, 1) * 1e9),
        "counters": counters(save, established_first) if nrules is not None else {},
    }


def usernet_guarded(case: str, frames: int, seconds: float) -> dict[str, Any]:
    try:
        return usernet_case(case, frames, seconds)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


# -- the real kernel ---------------------------------------------------------------------


def lab_topology(k: Lab, text: str) -> dict[str, str]:
    """Run usernet's topology script (``usernet.testing.ROUTER``) in real
    namespaces: ``ip netns add X`` makes the lab's X, and every namespace
    name after ``-n``, ``netns`` or ``exec`` becomes the lab's name."""
    names: dict[str, str] = {}
    for line in text.splitlines():
        words = line.split()
        if words[:3] == ["ip", "netns", "add"]:
            names[words[3]] = k.ns(words[3])
            continue
        for j in range(1, len(words)):
            if words[j - 1] in ("-n", "netns", "exec") and words[j] in names:
                words[j] = names[words[j]]
        if words:
            k.run(*words)
    return names


def kernel_case(case: str, seconds: int, cpu: int) -> dict[str, Any]:
    nrules, established_first = CASES[case]
    with lab(cpu) as k:
        ns = lab_topology(k, ROUTER_TOPOLOGY)
        if nrules is not None:
            res = subprocess.run(["ip", "netns", "exec", ns["r"], "iptables-restore"],
                                 input=ruleset(nrules, established_first), text=True,
                                 capture_output=True, timeout=120, check=False)
            if res.returncode != 0:
                raise RuntimeError(f"iptables-restore: {res.stderr.strip()}")
        out = iperf3_udp(k, ns["h2"], ns["h1"], H2, seconds)
        out["rules"] = nrules or 0
        if nrules is not None:
            save = k.run("ip", "netns", "exec", ns["r"], "iptables-save", "-c")
            out["counters"] = counters(save, established_first)
    return out


def kernel_guarded(case: str, seconds: int, cpu: int) -> dict[str, Any]:
    try:
        return kernel_case(case, seconds, cpu)
    except (subprocess.SubprocessError, RuntimeError, OSError, ValueError, KeyError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


# -- report --------------------------------------------------------------------------------


def fps(side: dict[str, Any], case: str) -> float | None:
    v = side.get(case, {}).get("frames_per_s")
    return v if isinstance(v, (int, float)) and v > 0 else None


def relative(side: dict[str, Any]) -> dict[str, float]:
    """Each case's rate over the same side's rules_0."""
    ref = fps(side, "rules_0")
    out = {}
    for case in side:
        v = fps(side, case)
        if ref and v:
            out[case] = round(v / ref, 3)
    return out


def report(args: argparse.Namespace, cases: list[str]) -> dict[str, Any]:
    frames = args.frames or (3_000 if args.quick else 200_000)
    seconds = args.seconds if args.seconds is not None else (0.3 if args.quick else 3.0)
    iperf_s = 1 if args.quick else 3
    result: dict[str, Any] = {
        "benchmark": "netfilter", "machine": machine(),
        "params": {"cases": cases, "max_frames": frames, "usernet_seconds": seconds,
                   "iperf3_seconds": iperf_s, "kernel_cpu": args.kernel_cpu,
                   "quick": args.quick, "established_rule": ESTABLISHED_RULE,
                   "rule_examples": [firewall_rule(i)[len("-A FORWARD "):]
                                     for i in range(8)]},
    }
    usernet = {case: usernet_guarded(case, frames, seconds) for case in cases}
    result["usernet"] = usernet
    skip = "--no-kernel" if args.no_kernel else kernel_skip_reason()
    if skip is None and shutil.which("iptables-restore") is None:
        skip = "missing tools: iptables-restore"
    ratios: dict[str, float] = {}
    if skip is not None:
        result["kernel"] = {"skipped": skip}
    else:
        kern = {case: kernel_guarded(case, iperf_s, args.kernel_cpu) for case in cases}
        result["kernel"] = kern
        for case in cases:
            u, k = fps(usernet, case), fps(kern, case)
            if u and k:
                ratios[case] = round(u / k, 3)
    result["ratio_usernet_over_kernel"] = ratios
    result["relative_to_rules_0"] = {"usernet": relative(usernet)}
    if skip is None:
        result["relative_to_rules_0"]["kernel"] = relative(result["kernel"])
    value = relative(usernet).get("conntrack_1000")
    result["target"] = {"usernet conntrack_1000 / usernet rules_0": f">= {TARGET_RATIO}",
                        "value": value, "met": value is not None and value >= TARGET_RATIO}
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    ap.add_argument("--no-kernel", action="store_true", help="skip the real-kernel side")
    ap.add_argument("--cases", default=",".join(CASES),
                    help=f"comma-separated subset of {', '.join(CASES)}")
    ap.add_argument("--frames", type=int, default=None,
                    help="at most this many frames per usernet case (default 200000, "
                         "--quick 3000)")
    ap.add_argument("--seconds", type=float, default=None,
                    help="wall seconds a usernet case aims at (default 3, --quick 0.3); "
                         "the frame count follows from the warm-up's rate")
    ap.add_argument("--kernel-cpu", type=int, default=0,
                    help="CPU the kernel side's processes are pinned to (-1: no pinning)")
    ap.add_argument("--profile", metavar="CASE", choices=list(CASES),
                    help="run only usernet's CASE under cProfile; top 20 by tottime "
                         "to stderr")
    args = ap.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        ap.error(f"unknown case(s): {', '.join(unknown)}")
    if args.profile:
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        out = usernet_case(args.profile, args.frames or 20_000, args.seconds or 3.0, prof)
        doc = {"benchmark": "netfilter", "profiled": args.profile, "usernet": out,
               "note": "figures slowed by cProfile", "wall_s": round(time.perf_counter() - t0, 3)}
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(20)
        print(json.dumps(doc, indent=2))
        return 0
    print(json.dumps(report(args, cases), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
