"""Small shell utilities a scenario may use: true, false, echo, sleep."""

from __future__ import annotations

from . import Proc, ToolExit


def true(proc: Proc, argv: list[str]) -> int:
    return 0


def false(proc: Proc, argv: list[str]) -> int:
    return 1


def echo(proc: Proc, argv: list[str]) -> int:
    newline = True
    if argv and argv[0] == "-n":
        newline = False
        argv = argv[1:]
    proc.out(" ".join(argv) + ("\n" if newline else ""))
    return 0


def sleep(proc: Proc, argv: list[str]) -> int:
    """coreutils sleep: virtual time passes, and with it everything due."""
    if not argv:
        raise ToolExit(1, "sleep: missing operand\nTry 'sleep --help' for more information.")
    total = 0.0
    for arg in argv:
        unit = arg[-1:] if arg[-1:] in _UNITS else "s"
        number = arg[:-1] if arg[-1:] in _UNITS else arg
        try:
            value = float(number or "x")
        except ValueError:
            raise ToolExit(1, f"sleep: invalid time interval '{arg}'\n"
                              "Try 'sleep --help' for more information.") from None
        if value < 0 or value != value:
            raise ToolExit(1, f"sleep: invalid time interval '{arg}'\n"
                              "Try 'sleep --help' for more information.")
        total += value * _UNITS[unit]
    # "inf" sleeps until nothing is left to happen
    ns = int(total * 1_000_000_000) if total < 1e9 else None
    sched = proc.kernel.sched
    sched.run_until(None if ns is None else sched.now + ns)
    return 0


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
