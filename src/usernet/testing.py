"""Helpers for tests of programs that use usernet.

``check_determinism`` runs a scenario twice with the same seed and compares
everything that happened: the scheduler's event trace (time and callback of
every event, in order), the frames every device sent and received, and the
commands' output -- like madsim's ``check_determinism``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .dev.datapath import add_tap
from .dev.netdevice import NetDevice
from .kernel import Kernel
from .tools import Result

# Topologies that tests, benchmarks and examples share, as command scripts.
VETH_PAIR = """\
ip netns add a
ip netns add b
ip -n a link add v0 type veth peer name v1 netns b
ip -n a addr add 10.0.0.1/24 dev v0
ip -n b addr add 10.0.0.2/24 dev v1
ip -n a link set v0 up
ip -n b link set v1 up
"""

# h1 (10.1.0.2) -- r -- h2 (10.2.0.2), r forwarding
ROUTER = """\
ip netns add h1
ip netns add r
ip netns add h2
ip -n h1 link add eth0 type veth peer name r1 netns r
ip -n h2 link add eth0 type veth peer name r2 netns r
ip -n h1 addr add 10.1.0.2/24 dev eth0
ip -n h2 addr add 10.2.0.2/24 dev eth0
ip -n r addr add 10.1.0.1/24 dev r1
ip -n r addr add 10.2.0.1/24 dev r2
ip -n h1 link set eth0 up
ip -n h2 link set eth0 up
ip -n r link set r1 up
ip -n r link set r2 up
ip -n h1 route add default via 10.1.0.1
ip -n h2 route add default via 10.2.0.1
ip netns exec r sysctl -w net.ipv4.ip_forward=1
"""

# h1 (10.3.0.1) -- sw (bridge br0 with ports p1, p2) -- h2 (10.3.0.2)
BRIDGE = """\
ip netns add h1
ip netns add sw
ip netns add h2
ip -n sw link add br0 type bridge
ip -n h1 link add eth0 type veth peer name p1 netns sw
ip -n h2 link add eth0 type veth peer name p2 netns sw
ip -n sw link set p1 master br0
ip -n sw link set p2 master br0
ip -n sw link set br0 up
ip -n sw link set p1 up
ip -n sw link set p2 up
ip -n h1 addr add 10.3.0.1/24 dev eth0
ip -n h2 addr add 10.3.0.2/24 dev eth0
ip -n h1 link set eth0 up
ip -n h2 link set eth0 up
"""


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


def on_udp_frame_road(mp: Any, record: Callable[[int], None]) -> None:
    """Have ``ip_list_rcv``'s UDP frame handler report through ``record``
    how many frames each of its calls took -- installed with ``mp`` (a
    pytest MonkeyPatch), so tests can tell which road a burst went."""
    from .ipv4 import ip_input

    handler = ip_input.inet_frame_protos[17]

    def counted(*args: Any) -> int:
        taken = int(handler(*args))
        record(taken)
        return taken

    mp.setitem(ip_input.inet_frame_protos, 17, counted)


# -- model tests: the same operations on the real kernel's sockets and on usernet's --


class ModelSide:
    """One side of a model test: a socket module (CPython's, whose sockets
    are the running kernel's, or usernet's), its select module, and the
    sockets the operations made, in slots.  ``step`` runs one operation
    (``do``, written by the test) and gives its value, or the exception's
    class and errno name, so the two sides can be compared."""

    def __init__(self, sm: Any, sel: Any, kernel: Any = None) -> None:
        self.sm, self.sel, self.kernel = sm, sel, kernel
        self.socks: list[Any] = []

    def new_socket(self, family: int, type: int) -> Any:
        if self.kernel is None:
            return self.sm.socket(family, type)
        return self.sm.socket(family, type, kernel=self.kernel)

    def add(self, sock: Any) -> str:
        sock.setblocking(False)
        self.socks.append(sock)
        return f"s{len(self.socks) - 1}"

    def sock(self, i: int) -> Any:
        return self.socks[i % len(self.socks)] if self.socks else None

    def step(self, op: tuple[Any, ...]) -> Any:
        import errno

        try:
            return self.do(op)
        except OSError as exc:
            return ("error", type(exc).__name__, errno.errorcode.get(exc.errno or 0))
        except (ValueError, TypeError) as exc:  # select() on a closed socket, ...
            return ("error", type(exc).__name__)

    def do(self, op: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    def ready(self, sock: Any) -> tuple[bool, bool, bool]:
        r, w, x = self.sel.select([sock], [sock], [sock], 0)
        return bool(r), bool(w), bool(x)

    @staticmethod
    def name_or_errno(fn: Callable[[], Any]) -> Any:
        import errno

        try:
            return fn()
        except OSError as exc:
            return errno.errorcode.get(exc.errno or 0)

    def close(self) -> None:
        for s in self.socks:
            s.close()


def run_model(ops: list[tuple[Any, ...]], real: ModelSide, emu: ModelSide) -> None:
    """Each operation on both sides, in turn; the first disagreement fails
    with the sequence that led to it."""
    try:
        for i, op in enumerate(ops):
            want, got = real.step(op), emu.step(op)
            assert got == want, f"step {i} {op}: kernel {want!r}, usernet {got!r}\n{ops[:i + 1]}"
    finally:
        real.close()
        emu.close()


def kernel_release_at_least(major: int, minor: int) -> bool:
    """Whether the running kernel is at least ``major.minor`` (model tests
    use it as their oracle, and follow 6.18)."""
    import platform
    import re

    nums = [int(x) for x in re.findall(r"\d+", platform.release())[:2]]
    return tuple(nums) >= (major, minor)
