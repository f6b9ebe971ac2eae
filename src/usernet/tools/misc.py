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
    """Advance nothing yet: configuration is synchronous, so there is nothing
    to wait for until the data path adds virtual time."""
    if not argv:
        raise ToolExit(1, "sleep: missing operand\nTry 'sleep --help' for more information.")
    for arg in argv:
        try:
            value = float(arg.rstrip("smhd") or "x")
        except ValueError:
            raise ToolExit(1, f"sleep: invalid time interval '{arg}'\n"
                              "Try 'sleep --help' for more information.") from None
        if value < 0:
            raise ToolExit(1, f"sleep: invalid time interval '{arg}'")
    return 0
