"""Command-line tools over the kernel API: ``ip``, ``bridge``, ``sysctl`` ...

Tools are thin: they parse argv the way the real program does, call the
kernel, and print what the real program prints.  They hold no state and no
networking logic.  Each runs as a task whose namespace is the caller's.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..task import current_task

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..net import Net


@dataclass
class Result:
    """What a command gave: exit status and its two output streams."""

    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def __str__(self) -> str:
        return self.stdout + self.stderr


class ToolExit(Exception):
    """Stop the tool with ``rc`` after writing ``message`` to stderr."""

    def __init__(self, rc: int, message: str = "") -> None:
        super().__init__(message)
        self.rc = rc
        self.message = message


class Proc:
    """A running tool: its kernel, namespace and output buffers."""

    __slots__ = ("_err", "_out", "argv0", "kernel", "net")

    def __init__(self, kernel: Kernel, net: Net, argv0: str) -> None:
        self.kernel = kernel
        self.net = net
        self.argv0 = argv0
        self._out: list[str] = []
        self._err: list[str] = []

    def out(self, text: str) -> None:
        self._out.append(text)

    def err(self, text: str) -> None:
        self._err.append(text)

    def result(self, rc: int) -> Result:
        return Result(rc, "".join(self._out), "".join(self._err))


ToolMain = Callable[[Proc, list[str]], int]


def _registry() -> dict[str, ToolMain]:
    from . import (
        bridge,
        conntrack,
        dmesg,
        ip,
        iptables,
        misc,
        netdb,
        nstat,
        ping,
        ss,
        sysctl,
        tcpdump,
    )

    return {
        "ip": ip.main,
        "bridge": bridge.main,
        "sysctl": sysctl.main,
        "true": misc.true,
        "false": misc.false,
        "echo": misc.echo,
        "sleep": misc.sleep,
        "ping": ping.main,
        "tcpdump": tcpdump.main,
        "ss": ss.main,
        "nstat": nstat.main,
        "hosts": netdb.hosts,
        "getent": netdb.getent,
        "hostname": netdb.hostname,
        "iptables": iptables.main,
        "iptables-nft": iptables.main,
        "iptables-save": iptables.save_main,
        "iptables-nft-save": iptables.save_main,
        "iptables-restore": iptables.restore_main,
        "iptables-nft-restore": iptables.restore_main,
        "dmesg": dmesg.main,
        "conntrack": conntrack.main,
    }


_TOOLS: dict[str, ToolMain] | None = None


def tools() -> dict[str, ToolMain]:
    global _TOOLS
    if _TOOLS is None:
        _TOOLS = _registry()
    return _TOOLS


def run_argv(kernel: Kernel, argv: list[str], net: Net | None = None) -> Result:
    """Run one tool; never raises for bad input (it is reported as the tool would)."""
    if net is None:
        net = current_task(kernel).net
    if not argv:
        return Result(0, "", "")
    name = argv[0].rsplit("/", 1)[-1]
    proc = Proc(kernel, net, name)
    main = tools().get(name)
    if main is None:
        return Result(127, "", f"usernet: {argv[0]}: command not found\n")
    try:
        with kernel.rtnl():
            rc = main(proc, argv[1:])
    except ToolExit as exc:
        if exc.message:
            proc.err(exc.message if exc.message.endswith("\n") else exc.message + "\n")
        rc = exc.rc
    except RecursionError:
        proc.err(f"{name}: command nests too deeply\n")
        rc = 255
    return proc.result(rc)


def run_line(kernel: Kernel, line: str | list[str]) -> Result:
    if isinstance(line, list):
        return run_argv(kernel, line)
    try:
        argv = shlex.split(line, comments=False)
    except ValueError as exc:
        return Result(2, "", f"usernet: syntax error: {exc}\n")
    return run_argv(kernel, argv)


def script_lines(text: str) -> list[tuple[int, str]]:
    """(line number, command) for every line that is not blank or a comment."""
    out = []
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append((i, line))
    return out


def run_script(kernel: Kernel, text: str) -> list[tuple[tuple[int, str], Result]]:
    return [((i, line), run_line(kernel, line)) for i, line in script_lines(text)]
