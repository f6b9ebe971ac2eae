"""The real side: cases run by CPython with its own ``socket`` module in real
network namespaces (root and iproute2 needed).  Standard library only.

``run_real`` makes the topology's namespaces (named ``du<pid>_<n><role>``),
runs the case in ``da`` as ``ip netns exec NS python -I -c BOOT`` and removes
the namespaces in ``finally``.  The child process imports the case's module
by name and calls it with a :class:`RealEnv`; ``env.spawn`` starts helpers
the same way in other namespaces; ``env.netns`` switches the calling thread
with ``setns(2)`` so sockets can be made in another namespace.

Control channel: a child's stdout carries ``READY`` (``env.ready()``) and one
final ``RESULT <json>`` or ``ERROR <json traceback>`` line; what the case
itself prints goes to stderr.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import itertools
import json
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from .topology import addrs, commands, roles
from .util import jsonable

CLONE_NEWNET = 0x40000000
BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); import importlib; "
        "importlib.import_module(sys.argv[2]).main()")
_serial = itertools.count()


class HelperError(RuntimeError):
    """A process running a case or helper function failed (or timed out)."""


def locate(fn: Callable[..., Any]) -> tuple[str, str, str]:
    """(sys.path root, module, qualified name) that import ``fn`` again."""
    module = fn.__module__
    path = Path(sys.modules[module].__file__ or "").resolve()
    root = path.parents[len(module.split(".")) - 1]
    return str(root), module, fn.__qualname__


def _resolve(module: str, qualname: str) -> Callable[..., Any]:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj  # type: ignore[no-any-return]


class RealHandle:
    """A function running in another process, in a namespace."""

    def __init__(self, proc: subprocess.Popen[bytes], what: str) -> None:
        self.proc = proc
        self.what = what
        self._buf = b""
        self._ready = False
        self._final: str | None = None

    def _line(self, deadline: float | None) -> str | None:
        """The next control line; None at end of file or deadline."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            readable, _, _ = select.select([fd], [], [], left)
            if not readable:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def _pump(self, deadline: float | None, until_ready: bool) -> None:
        while self._final is None and not (until_ready and self._ready):
            line = self._line(deadline)
            if line is None:  # end of file (the process is ending) or the deadline
                return
            if line == "READY":
                self._ready = True
            else:
                self._final = line

    def wait_ready(self, timeout: float = 10.0) -> bool:
        self._pump(time.monotonic() + timeout, until_ready=True)
        return self._ready

    def result(self, timeout: float | None = 30.0) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        self._pump(deadline, until_ready=False)
        if self._final is None:
            try:
                rc: int | None = self.proc.wait(1.0)
            except subprocess.TimeoutExpired:
                rc = None
            self.kill()
            if rc is None:
                raise HelperError(f"{self.what}: no result within {timeout} s")
            raise HelperError(f"{self.what}: exited with status {rc} and no result")
        self.proc.wait()
        kind, _, payload = self._final.partition(" ")
        if kind == "RESULT":
            return json.loads(payload)
        raise HelperError(f"{self.what} failed:\n{json.loads(payload)}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: it and helpers
            self.proc.wait()


def _start(names: dict[str, str], addr_map: dict[str, str], netns: str,
           fn: Callable[..., Any], args: list[Any], stderr: int | IO[Any] | None = None
           ) -> RealHandle:
    root, module, qualname = locate(fn)
    pkg = module.rsplit(".", 1)[0]
    spec = {"module": module, "func": qualname, "args": args, "names": names,
            "addrs": addr_map}
    argv = ["ip", "netns", "exec", names[netns], sys.executable, "-I", "-c", BOOT, root,
            f"{pkg}.real"]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=stderr, start_new_session=True)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(spec).encode())
    proc.stdin.close()
    return RealHandle(proc, f"{qualname} in {netns}")


class RealEnv:
    """``env`` on the real side (inside a child process)."""

    side = "real"

    def __init__(self, names: dict[str, str], addr_map: dict[str, str],
                 ctl: IO[str] | None = None) -> None:
        self.socket = socket
        self.select = select
        self._names = names
        self._addrs = addr_map
        self._ctl = ctl
        self._children: list[RealHandle] = []

    def addr(self, host: str) -> str:
        return self._addrs[host]

    def spawn(self, fn: Callable[..., Any], *args: Any, netns: str) -> RealHandle:
        h = _start(self._names, self._addrs, netns, fn, json.loads(json.dumps(list(args))))
        self._children.append(h)
        return h

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def wrap_tls(self, context: Any, sock: Any, **kwargs: Any) -> Any:
        return context.wrap_socket(sock, **kwargs)

    def ready(self) -> None:
        if self._ctl is not None:
            self._ctl.write("READY\n")
            self._ctl.flush()

    @contextlib.contextmanager
    def netns(self, name: str) -> Iterator[None]:
        """Run a block (this thread) in namespace ``name``: setns(2) there and back."""
        libc = ctypes.CDLL(None, use_errno=True)
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self._names[name]}", os.O_RDONLY)
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns to {name}")
            yield
        finally:
            libc.setns(own, CLONE_NEWNET)
            os.close(own)
            os.close(target)

    def reap(self) -> None:
        for h in self._children:
            h.kill()


def main() -> None:
    """A child process: read the spec on stdin, run the function, report."""
    spec = json.load(sys.stdin)
    ctl = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    env = RealEnv(spec["names"], spec["addrs"], ctl)
    try:
        fn = _resolve(spec["module"], spec["func"])
        line = "RESULT " + json.dumps(jsonable(fn(env, *spec["args"])))
    except BaseException:
        line = "ERROR " + json.dumps(traceback.format_exc())
    finally:
        env.reap()
    ctl.write(line + "\n")
    ctl.flush()


# -- the parent side --------------------------------------------------------------

def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def reap_stale() -> None:
    """Delete namespaces this harness made in processes that died before their
    ``finally`` ran (``du<pid>_...`` with no such pid)."""
    res = _run(["ip", "netns", "list"])
    for line in res.stdout.splitlines():
        m = re.match(r"du(\d+)_\S+", line)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            _run(["ip", "netns", "del", m.group(0)])


def live_unavailable() -> str | None:
    """Why namespaces cannot be made here, or None when they can (and clear
    what killed runs left behind)."""
    if os.environ.get("USERNET_DIFFERENTIAL") == "recorded":
        return "USERNET_DIFFERENTIAL=recorded"
    if os.geteuid() != 0:
        return "not root"
    if shutil.which("ip") is None:
        return "no ip (iproute2)"
    name = f"du{os.getpid()}_probe"
    res = _run(["ip", "netns", "add", name])
    if res.returncode != 0:
        return f"ip netns add failed: {res.stderr.strip()}"
    _run(["ip", "netns", "del", name])
    reap_stale()
    return None


def run_real(fn: Callable[..., Any], topology: str, timeout: float = 30.0) -> Any:
    """Run a case on the kernel: its JSON-normalised result, or HelperError."""
    prefix = f"du{os.getpid()}_{next(_serial)}"
    names = {role: prefix + role for role in roles(topology)}
    made: list[str] = []
    try:
        for line in commands(topology, names):
            argv = shlex.split(line)
            res = _run(argv)
            if res.returncode != 0:
                raise HelperError(f"topology {topology}: {line!r} failed: {res.stderr}")
            if argv[:3] == ["ip", "netns", "add"]:
                made.append(argv[3])
        with tempfile.TemporaryFile() as errlog:
            h = _start(names, addrs(topology), "da", fn, [], stderr=errlog)
            try:
                return h.result(timeout)
            except HelperError as exc:
                h.kill()
                errlog.seek(0)
                text = errlog.read().decode(errors="replace")[-4000:]
                raise HelperError(f"{exc}\nstderr:\n{text}") from None
            finally:
                h.kill()
    finally:
        for name in reversed(made):
            _run(["ip", "netns", "del", name])
