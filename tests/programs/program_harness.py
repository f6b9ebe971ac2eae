"""Run a program pair across usernet's router, twice, and compare captures.

A scenario gets a fresh ``Kernel(seed)`` with the ROUTER topology (h1 --
r -- h2), a hosts entry ``server`` for 10.2.0.2 in h1, and runs inside
``usernet.patched(kernel, netns="h1")``: the client side is the scenario's
own code, the server side a process or thread it starts in h2.  Every frame
on h1's and h2's eth0 goes to a pcap; both runs must write the very same
bytes.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import usernet.socket as usock
from usernet import Kernel
from usernet.patch import patched
from usernet.testing import ROUTER

SERVER = "10.2.0.2"


@dataclass
class Run:
    result: Any
    captures: dict[str, str]  # device -> sha256 of its pcap
    frames: int
    virtual_ns: int


def run_once(scenario: Callable[[Kernel], Any], seed: int = 1, urandom: bool = False) -> Run:
    k = Kernel(seed)
    k.script(ROUTER)
    usock.hosts(k, "h1").add(SERVER, "server")
    with tempfile.TemporaryDirectory() as tmp:
        caps = {f"{ns}-eth0": k.capture(ns, "eth0", path=Path(tmp) / f"{ns}.pcap")
                for ns in ("h1", "h2")}
        try:
            with patched(k, netns="h1", urandom=urandom):
                result = scenario(k)
        finally:
            for cap in caps.values():
                cap.close()
        frames = sum(len(cap.packets) for cap in caps.values())
        digests = {name: hashlib.sha256((Path(tmp) / f"{name[:2]}.pcap").read_bytes())
                   .hexdigest() for name in caps}
    return Run(result, digests, frames, k.sched.now)


def run_twice(scenario: Callable[[Kernel], Any], seed: int = 1, urandom: bool = False) -> Run:
    """Run ``scenario`` twice with ``seed``; the captures must be identical."""
    first = run_once(scenario, seed, urandom)
    second = run_once(scenario, seed, urandom)
    assert first.frames > 0
    assert first.captures == second.captures, "the two runs' captures differ"
    assert first.virtual_ns == second.virtual_ns
    assert first.result == second.result
    return first


def run_twice_local(scenario: Callable[[Kernel], Any], seed: int = 1) -> Run:
    """``run_twice`` for programs that talk over AF_UNIX only: nothing goes
    on the wire, so the runs must agree on the result and the virtual time."""
    first = run_once(scenario, seed)
    second = run_once(scenario, seed)
    assert first.frames == second.frames
    assert first.virtual_ns == second.virtual_ns
    assert first.result == second.result
    return first
