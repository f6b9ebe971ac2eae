"""Fuzz target for the receive path: any bytes, as a frame arriving on a
veth of a router namespace, must be dropped or handled -- never raise.

Run as a fuzzer (random mutation of seed frames, no extra dependency):

    .venv/bin/python tests/fuzz/rx_target.py [ITERATIONS] [SEED]

``fuzz_one_input`` has the signature atheris and similar fuzzers expect.
"""

from __future__ import annotations

import random
import sys

from usernet.dev.datapath import CHECKSUM_NONE, netif_receive
from usernet.dev.netdevice import NetDevice
from usernet.ipv4.datapath_state import ipv4_dp, sysctl_int
from usernet.kernel import Kernel
from usernet.wire.arp import arp_packet
from usernet.wire.icmp import icmp_message
from usernet.wire.ipv4 import IP_MF, addr_int, ipv4_header

SETUP = """ip netns add r
ip netns add h
ip -n r link add r1 type veth peer name eth0 netns h
ip -n r addr add 10.0.0.1/24 dev r1
ip -n h addr add 10.0.0.2/24 dev eth0
ip -n r link set r1 up
ip -n h link set eth0 up
ip -n r link add r2 type veth peer name r2p
ip -n r addr add 10.9.0.1/24 dev r2
ip -n r link set r2 up
ip -n r link set r2p up
ip netns exec r sysctl -w net.ipv4.ip_forward=1
ip netns exec r sysctl -w net.ipv4.ipfrag_high_thresh=65536"""


class Target:
    """A kernel with a router namespace; frames are injected on r1."""

    def __init__(self) -> None:
        self.kernel = Kernel(1)
        for r in self.kernel.script(SETUP):
            assert r.ok, r
        self.net = self.kernel.netns_get("r")
        self.dev: NetDevice = self.net.dev_by_name["r1"]

    def feed(self, frame: bytes) -> None:
        netif_receive(self.dev, frame, CHECKSUM_NONE)
        self.kernel.sched.run_for(50_000_000)
        frags = ipv4_dp(self.net).frags
        if frags is not None:
            high = sysctl_int(self.net, "net.ipv4.ipfrag_high_thresh")
            assert frags.mem() <= high + 65536 + 1024, frags.mem()


_target: Target | None = None


def fuzz_one_input(data: bytes) -> None:
    global _target
    if _target is None:
        _target = Target()
    _target.feed(data)


def seed_frames(dev: NetDevice) -> list[bytes]:
    """Well-formed frames to mutate: ARP, echo, UDP, fragments, forwarding."""
    mac, src = dev.dev_addr, b"\x02\x00\x00\x00\x00\x02"
    a, b, far = addr_int("10.0.0.2"), addr_int("10.0.0.1"), addr_int("10.9.0.7")
    eth = mac + src + b"\x08\x00"
    echo = icmp_message(8, 0, 0x12340001, bytes(range(56)))
    udp = b"\x13\x88\x17\x70\x00\x10\x00\x00" + b"payload!"
    return [
        b"\xff" * 6 + src + b"\x08\x06" + arp_packet(1, src, a, b"\x00" * 6, b),
        eth + ipv4_header(0, 20 + len(echo), 1, 0, 64, 1, a, b) + echo,
        eth + ipv4_header(0, 36, 2, 0, 64, 17, a, b) + udp,
        eth + ipv4_header(0, 36, 3, 0, 5, 17, a, far) + udp,
        eth + ipv4_header(0, 28, 4, IP_MF, 64, 1, a, b) + echo[:8],
        eth + ipv4_header(0, 28, 4, 1, 64, 1, a, b) + echo[8:16],
    ]


def mutate(rng: random.Random, frame: bytes) -> bytes:
    buf = bytearray(frame)
    for _ in range(rng.randrange(1, 6)):
        op = rng.randrange(4)
        if op == 0 and buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif op == 1:
            del buf[rng.randrange(len(buf) + 1):]
        elif op == 2:
            buf += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        elif buf:
            i = rng.randrange(len(buf))
            buf[i:i + 2] = rng.randrange(65536).to_bytes(2, "big")
    return bytes(buf)


def main(iterations: int, seed: int) -> int:
    rng = random.Random(seed)
    target = Target()
    seeds = seed_frames(target.dev)
    for _ in range(iterations):
        target.feed(mutate(rng, rng.choice(seeds)))
    print(f"{iterations} frames, no exception; "
          f"fragment memory {ipv4_dp(target.net).frags.mem() if ipv4_dp(target.net).frags else 0}")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10000,
                  int(sys.argv[2]) if len(sys.argv) > 2 else 0))
