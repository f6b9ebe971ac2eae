"""Placeholder while being written."""

from __future__ import annotations

from . import Proc, ToolExit


def main(proc: Proc, argv: list[str]) -> int:
    raise ToolExit(1, "not written yet")
