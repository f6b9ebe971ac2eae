"""Helpers for tests of programs that use usernet.

``check_determinism`` runs a scenario twice with the same seed and compares
everything that happened: the scheduler's event trace (time and callback of
every event, in order), the frames every device sent and received, and the
commands' output -- like madsim's ``check_determinism``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .dev.datapath import add_tap
from .dev.netdevice import NetDevice
from .kernel import Kernel
from .tools import Result


@dataclass
class RunRecord:
    """What one run did."""

    events: list[tuple[int, str]] = field(default_factory=list)
    frames: list[tuple[int, str, int, str]] = field(default_factory=list)  # (ns, dev, dir, sha)
    results: list[Result] = field(default_factory=list)

    def digest(self) -> str:
        h = hashlib.sha256()
        h.update(repr(self.events).encode())
        h.update(repr(self.frames).encode())
        h.update(repr([(r.rc, r.stdout, r.stderr) for r in self.results]).encode())
        return h.hexdigest()


def record_run(script: str, seed: int = 0) -> RunRecord:
    """Run ``script`` (one command per line) in a fresh kernel, recording
    every event and every frame on every device."""
    kernel = Kernel(seed)
    rec = RunRecord()
    kernel.sched.trace = rec.events
    tapped: set[int] = set()

    def tap(dev: NetDevice, frame: bytes, direction: int) -> None:
        rec.frames.append((kernel.sched.now, f"{dev.net.cookie}:{dev.name}", direction,
                           hashlib.sha1(bytes(frame)).hexdigest()))

    def tap_all() -> None:
        for net in kernel.net_list():
            for dev in net.devices():
                if id(dev) not in tapped:
                    tapped.add(id(dev))
                    add_tap(dev, tap)

    for line in script.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        tap_all()
        rec.results.append(kernel.cmd(line))
    tap_all()
    kernel.sched.run_until()
    return rec


class NondeterminismError(AssertionError):
    pass


def check_determinism(script: str, seed: int = 0) -> RunRecord:
    """Run twice; raise NondeterminismError at the first difference."""
    first = record_run(script, seed)
    second = record_run(script, seed)
    for what in ("events", "frames", "results"):
        a, b = getattr(first, what), getattr(second, what)
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                raise NondeterminismError(f"{what}[{i}] differs: {x!r} != {y!r}")
        if len(a) != len(b):
            raise NondeterminismError(f"{what}: {len(a)} != {len(b)} entries")
    return first
